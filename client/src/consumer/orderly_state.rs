//! The orderly push consumer's queues ([`OrderlyQueues`]), run by the shared
//! [`ConsumerRuntime`] like the concurrent ones, with three differences:
//!
//! * **Rebalance** locks each newly assigned queue on its broker before pulling it
//!   (LOCK_BATCH_MQ), and reads its start offset only then, after the previous owner
//!   committed and unlocked. Queues another client still holds are left out and tried again
//!   a second later.
//! * **Consumption** is one [`ConsumeTask`] per queue ([`super::orderly_consume`]); a lock
//!   keeper renews every owned queue's lock each `lock_renew_interval` and marks the
//!   refused ones lost, which stops their consumption until they are locked again.
//! * **Giving a queue up** stops its pull, lets the batch in hand finish (up to a second),
//!   commits the offset, then unlocks the queue so that its new owner starts right after
//!   the last message handled here. A batch still running then no longer counts; the queue
//!   is unlocked once it returns (or its lock lapses on the broker). Shutdown likewise
//!   waits for the batches in hand, commits, then unlocks everything.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::MessageQueue;
use fennec_protocol::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::core::ConsumerCore;
use super::listener::DynListener;
use super::options::ConsumerSettings;
use super::orderly_consume::{ConsumeTask, OrderlyConsume, LOCK_RETRY_DELAY};
use super::orderly_listener::OrderlyResult;
use super::orderly_queue::OrderlyQueue;
use super::process_queue::{FlowLimits, ProcessQueue};
use super::pull::PullTask;
use super::push_state::{start_core, Deliver, PushSettings, PushSink};
use super::queue_lock::{self, LockState};
use super::rebalance;
use super::runtime::{ConsumerRuntime, QueueOwner};
use super::subscription::Subscriptions;
use crate::error::ClientError;

/// How long giving a queue up waits for the batch in hand.
const RELEASE_WAIT: Duration = Duration::from_secs(1);

/// Orderly settings beyond [`PushSettings`].
#[derive(Debug, Clone)]
pub(crate) struct OrderlySettings {
    /// Pause of a queue after SuspendCurrentQueueAMoment (`suspendCurrentQueueTimeMillis`).
    pub(crate) suspend: Duration,
    /// How often owned queues' locks are renewed (RocketMQ: 20 s).
    pub(crate) lock_renew_interval: Duration,
}

impl Deliver for Arc<OrderlyQueue> {
    fn deliver(&self, _mq: &MessageQueue, _pq: &Arc<ProcessQueue>, msgs: Vec<MessageExt>) {
        self.put(msgs);
    }

    fn reset(&self, _pq: &ProcessQueue) {
        OrderlyQueue::reset(self);
    }
}

/// One owned queue.
struct Owned {
    queue: Arc<OrderlyQueue>,
    /// `None` once shutdown took it.
    pull: Option<PullTask>,
    consume: ConsumeTask,
}

/// The owned queues, as the lock keeper renews them.
#[derive(Default)]
struct HeldQueues {
    queues: Mutex<HashMap<MessageQueue, Arc<OrderlyQueue>>>,
    /// Held by the keeper during a renewal round, and by a queue's release while it leaves
    /// `queues`: a renewal never re-locks a queue after it was given up.
    round: tokio::sync::Mutex<()>,
}

type Held = Arc<HeldQueues>;

/// The owned queues of an orderly consumer and what starting one needs.
pub(crate) struct OrderlyQueues {
    map: HashMap<MessageQueue, Owned>,
    held: Held,
    core: Arc<ConsumerCore>,
    consume: Arc<OrderlyConsume>,
    limits: FlowLimits,
    /// How long a lock counts locally after its last renewal.
    lock_lapse: Duration,
    /// Queues given up cleanly, to unlock once their offset is committed.
    to_unlock: BTreeSet<MessageQueue>,
    /// A rebalance is due soon, to lock queues that were refused.
    retry_due: Arc<AtomicBool>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl OrderlyQueues {
    fn spawn_pull(&self, mq: &MessageQueue, queue: &Arc<OrderlyQueue>, offset: i64) -> PullTask {
        let sink = PushSink {
            core: self.core.clone(),
            mq: mq.clone(),
            pq: queue.pq.clone(),
            to: queue.clone(),
            limits: self.limits,
        };
        PullTask::spawn(
            &self.tracker,
            &self.token,
            self.core.clone(),
            mq.clone(),
            offset,
            sink,
        )
    }

    /// Rebalances again in a moment (once, however many queues were refused).
    fn retry_soon(&self) {
        if self.retry_due.swap(true, Ordering::AcqRel) {
            return;
        }
        let (instance, due) = (self.core.instance.clone(), self.retry_due.clone());
        self.core.instance.spawn(async move {
            tokio::time::sleep(LOCK_RETRY_DELAY).await;
            due.store(false, Ordering::Release);
            instance.rebalance_now();
        });
    }
}

impl QueueOwner for OrderlyQueues {
    fn owned(&self) -> Vec<MessageQueue> {
        self.map.keys().cloned().collect()
    }

    /// Starts a queue just locked by [`OrderlyQueues::rebalance`].
    fn start_queue(&mut self, mq: MessageQueue, offset: i64) {
        let queue = Arc::new(OrderlyQueue::new(LockState::granted_now(self.lock_lapse)));
        let pull = self.spawn_pull(&mq, &queue, offset);
        let consume = ConsumeTask::spawn(
            &self.tracker,
            &self.token,
            self.consume.clone(),
            mq.clone(),
            queue.clone(),
        );
        self.held.queues.lock().insert(mq.clone(), queue.clone());
        self.map.insert(
            mq,
            Owned {
                queue,
                pull: Some(pull),
                consume,
            },
        );
    }

    async fn release_queue(&mut self, mq: &MessageQueue) {
        let Some(mut owned) = self.map.remove(mq) else {
            return;
        };
        {
            let _round = self.held.round.lock().await;
            self.held.queues.lock().remove(mq);
        }
        if let Some(pull) = owned.pull.take() {
            pull.stop().await;
        }
        owned.consume.stop();
        let ended = owned.consume.ended_within(RELEASE_WAIT).await;
        // From here on nothing this consumer does with the queue counts.
        owned.queue.pq.drop_queue();
        if ended {
            self.to_unlock.insert(mq.clone());
            return;
        }
        warn!(group = %self.core.group, %mq, "a batch of a queue given up is still in the listener; the queue is unlocked once it returns");
        let (core, held, mq) = (self.core.clone(), self.held.clone(), mq.clone());
        self.tracker.spawn(async move {
            owned.consume.ended().await;
            if !held.queues.lock().contains_key(&mq) {
                queue_lock::unlock(&core, &[mq].into(), false).await;
            }
        });
    }

    async fn released(&mut self, mq: &MessageQueue) {
        if self.to_unlock.remove(mq) {
            queue_lock::unlock(&self.core, &[mq.clone()].into(), false).await;
        }
    }

    fn drain(&mut self) -> Vec<PullTask> {
        self.map
            .values_mut()
            .filter_map(|o| o.pull.take())
            .collect()
    }

    /// Messages waiting or in the listener no longer move the offset.
    async fn restart_queue(&mut self, mq: &MessageQueue, offset: i64) {
        let Some(pull) = self.map.get_mut(mq).and_then(|o| o.pull.take()) else {
            return;
        };
        pull.stop().await;
        if let Some(queue) = self.map.get(mq).map(|o| o.queue.clone()) {
            OrderlyQueue::reset(&queue);
            let pull = self.spawn_pull(mq, &queue, offset);
            if let Some(o) = self.map.get_mut(mq) {
                o.pull = Some(pull);
            }
        }
    }

    /// Locks the queues newly assigned before starting them; keeps the others.
    async fn rebalance(&mut self, core: &ConsumerCore) {
        let mut plan = rebalance::plan(core).await;
        let owned: BTreeSet<MessageQueue> = self.map.keys().cloned().collect();
        let wanted: BTreeSet<MessageQueue> = plan.target.difference(&owned).cloned().collect();
        if !wanted.is_empty() {
            let granted = queue_lock::lock(core, &wanted).await;
            if granted.len() < wanted.len() {
                debug!(group = %core.group, refused = wanted.len() - granted.len(), "queues still locked by other clients; trying again shortly");
                self.retry_soon();
            }
            plan.target
                .retain(|mq| owned.contains(mq) || granted.contains(mq));
        }
        rebalance::apply(core, self, &plan.target, |mq| plan.may_drop(mq)).await;
    }

    /// The broker at `addr` released this client's locks with the connection: the queues
    /// there wait until they are locked again.
    fn connection_closed(&mut self, core: &ConsumerCore, addr: &str) {
        for (mq, owned) in &self.map {
            let master = core.instance.known_master_addr(&mq.broker_name);
            if master.as_deref() == Some(addr) && owned.queue.lock.is_held() {
                info!(group = %core.group, %mq, %addr, "connection to the broker closed; the queue waits to be locked again");
                owned.queue.lock.lost();
            }
        }
    }

    /// Every consume task has ended (shutdown cancelled them after their batch in hand):
    /// commits the offsets, then unlocks the queues.
    async fn after_stop(&mut self) {
        if let Err(e) = self.core.offsets.persist_all(true).await {
            warn!(group = %self.core.group, "offset commit before unlocking failed: {e}");
        }
        let owned: BTreeSet<MessageQueue> = self.map.keys().cloned().collect();
        self.held.queues.lock().clear();
        self.map.clear();
        queue_lock::unlock(&self.core, &owned, false).await;
    }
}

/// Renews the locks of the owned queues every `interval`, marking those refused as lost.
async fn keep_locks(
    core: Arc<ConsumerCore>,
    held: Held,
    interval: Duration,
    token: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let _round = held.round.lock().await;
        let queues: Vec<(MessageQueue, Arc<OrderlyQueue>)> = held
            .queues
            .lock()
            .iter()
            .map(|(mq, q)| (mq.clone(), q.clone()))
            .collect();
        if queues.is_empty() {
            continue;
        }
        let wanted: BTreeSet<MessageQueue> = queues.iter().map(|(mq, _)| mq.clone()).collect();
        let granted = tokio::select! {
            _ = token.cancelled() => return,
            g = queue_lock::lock(&core, &wanted) => g,
        };
        for (mq, q) in &queues {
            if granted.contains(mq) {
                q.lock.renewed();
            } else if q.lock.is_held() {
                info!(group = %core.group, %mq, "queue lock not renewed: another client holds it");
                q.lock.lost();
            }
        }
    }
}

/// A running orderly push consumer.
pub(crate) type OrderlyShared = ConsumerRuntime<OrderlyQueues>;

/// Starts an orderly push consumer: joins the instance, locks and starts its share of the
/// queues, and keeps their locks.
pub(crate) async fn start(
    group: &str,
    settings: &ConsumerSettings,
    push: &PushSettings,
    orderly: &OrderlySettings,
    subscriptions: Arc<Subscriptions>,
    listener: Arc<dyn DynListener<OrderlyResult>>,
) -> Result<Arc<OrderlyShared>, ClientError> {
    let core = start_core(group, settings, subscriptions).await?;
    let consume = Arc::new(OrderlyConsume {
        core: core.clone(),
        listener,
        permits: Semaphore::new(push.consume_concurrency.max(1)),
        batch_max: push.consume_batch_max.max(1),
        max_reconsume_times: push.max_reconsume_times,
        suspend: orderly.suspend,
    });
    let interval = orderly.lock_renew_interval;
    ConsumerRuntime::start(core.clone(), |token, tracker| {
        let held = Held::default();
        tracker.spawn(keep_locks(
            core.clone(),
            held.clone(),
            interval,
            token.clone(),
        ));
        OrderlyQueues {
            map: HashMap::new(),
            held,
            core,
            consume,
            limits: FlowLimits {
                max_span: i64::MAX,
                ..push.limits
            },
            lock_lapse: interval + interval / 2,
            to_unlock: BTreeSet::new(),
            retry_due: Arc::default(),
            token: token.clone(),
            tracker: tracker.clone(),
        }
    })
    .await
}
