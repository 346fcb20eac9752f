//! Broker-side queue locks as an orderly consumer sees them: locking and unlocking queues on
//! their brokers' masters (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ, one request per broker), and
//! [`LockState`], what the consumer knows of one queue's lock.
//!
//! The consumer renews its locks every `lock_renew_interval` (20 s by default; the broker
//! lets a lock lapse 60 s after its last renewal). Locally a lock counts only until
//! 1.5 × that interval after its last successful renewal (30 s by default, RocketMQ's
//! `rocketmq.client.rebalance.lockMaxLiveTime`), well before the broker could give the queue
//! to another client.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fennec_protocol::body::{LockBatchRequestBody, MessageModel, MessageQueue};
use futures_util::future::join_all;
use parking_lot::Mutex;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::core::ConsumerCore;

/// Queues grouped by broker name.
fn by_broker(mqs: &BTreeSet<MessageQueue>) -> BTreeMap<&str, BTreeSet<MessageQueue>> {
    let mut out: BTreeMap<&str, BTreeSet<MessageQueue>> = BTreeMap::new();
    for mq in mqs {
        out.entry(mq.broker_name.as_str())
            .or_default()
            .insert(mq.clone());
    }
    out
}

fn body(core: &ConsumerCore, mq_set: BTreeSet<MessageQueue>) -> LockBatchRequestBody {
    LockBatchRequestBody {
        client_id: core.client_id().to_string(),
        consumer_group: core.group.clone(),
        mq_set,
        only_this_broker: false,
    }
}

/// Locks (or renews) `mqs` on their brokers; returns those granted. A broker that cannot be
/// asked grants nothing. A broadcasting consumer needs no locks: everything is granted.
pub(crate) async fn lock(
    core: &ConsumerCore,
    mqs: &BTreeSet<MessageQueue>,
) -> BTreeSet<MessageQueue> {
    if core.settings.model == MessageModel::Broadcasting {
        return mqs.clone();
    }
    let asks = by_broker(mqs).into_iter().map(|(broker, set)| async move {
        let Some(any) = set.first() else {
            return BTreeSet::new();
        };
        let addr = match core.instance.master_addr(any).await {
            Ok(addr) => addr,
            Err(e) => {
                debug!(group = %core.group, broker, "cannot lock queues: {e}");
                return BTreeSet::new();
            }
        };
        match core.instance.api().lock_batch(&addr, body(core, set)).await {
            Ok(granted) => granted,
            Err(e) => {
                warn!(group = %core.group, broker, %addr, "LOCK_BATCH_MQ failed: {e}");
                BTreeSet::new()
            }
        }
    });
    let mut granted = BTreeSet::new();
    for g in join_all(asks).await {
        granted.extend(g.into_iter().filter(|mq| mqs.contains(mq)));
    }
    granted
}

/// Releases `mqs` on their brokers, as oneway requests or waiting for the answers.
pub(crate) async fn unlock(core: &ConsumerCore, mqs: &BTreeSet<MessageQueue>, oneway: bool) {
    if core.settings.model == MessageModel::Broadcasting {
        return;
    }
    let sends = by_broker(mqs).into_iter().map(|(broker, set)| async move {
        let Some(any) = set.first() else {
            return;
        };
        let result = match core.instance.master_addr(any).await {
            Ok(addr) => {
                core.instance
                    .api()
                    .unlock_batch(&addr, body(core, set), oneway)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            debug!(group = %core.group, broker, "UNLOCK_BATCH_MQ failed (the lock will lapse): {e}");
        }
    });
    join_all(sends).await;
}

/// What the consumer knows of one queue's lock.
#[derive(Debug)]
pub(crate) struct LockState {
    /// How long a lock counts after its last successful renewal.
    lapse: Duration,
    /// When the broker last granted it; `None`: not held.
    granted: Mutex<Option<Instant>>,
}

impl LockState {
    /// A lock granted just now, counting for `lapse` after each renewal.
    pub(crate) fn granted_now(lapse: Duration) -> Self {
        LockState {
            lapse,
            granted: Mutex::new(Some(Instant::now())),
        }
    }

    /// The broker granted (or renewed) the lock.
    pub(crate) fn renewed(&self) {
        *self.granted.lock() = Some(Instant::now());
    }

    /// The broker refused the lock: another client holds it.
    pub(crate) fn lost(&self) {
        *self.granted.lock() = None;
    }

    /// Whether the queue may be consumed now.
    pub(crate) fn is_held(&self) -> bool {
        self.granted
            .lock()
            .is_some_and(|at| at.elapsed() < self.lapse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_broker() {
        let mqs: BTreeSet<MessageQueue> = [
            MessageQueue::new("T", "b", 1),
            MessageQueue::new("T", "a", 0),
            MessageQueue::new("U", "a", 3),
        ]
        .into();
        let groups = by_broker(&mqs);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups["a"].len(), 2);
        assert_eq!(groups["b"].len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_lapses_unless_renewed() {
        let lock = LockState::granted_now(Duration::from_secs(30));
        assert!(lock.is_held());
        tokio::time::advance(Duration::from_secs(29)).await;
        lock.renewed();
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(lock.is_held());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!lock.is_held(), "30 s after the last renewal");
        lock.renewed();
        assert!(lock.is_held());
        lock.lost();
        assert!(!lock.is_held());
    }
}
