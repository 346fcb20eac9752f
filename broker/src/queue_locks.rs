//! [`QueueLocks`]: the queue locks of ordered consumption (RocketMQ's RebalanceLockManager).
//!
//! Per consumer group, a queue is locked by at most one client id. A lock request is granted
//! when the queue is free, when its lock expired (no renewal for `max_live`,
//! `rebalanceLockMaxLiveTime`), or when the requester already holds it, which renews it.
//! Unlocking releases only the requester's own locks. Locks live in memory and vanish with
//! the broker: orderly consumers renew theirs every 20 s, so they lock again after a
//! restart. A client's locks in a group are also released when it leaves the group
//! (UNREGISTER_CLIENT, its connection closing, or its heartbeats expiring), so that another
//! member can take its queues at once instead of after `max_live`.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use fennec_protocol::body::MessageQueue;
use parking_lot::Mutex;
use tracing::{debug, info};

/// Who holds a queue's lock, and since when it was last renewed.
#[derive(Debug, Clone)]
struct Holder {
    client_id: String,
    renewed: Instant,
}

/// Every group's queue locks.
#[derive(Debug)]
pub struct QueueLocks {
    max_live: Duration,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, Holder>>>,
}

impl QueueLocks {
    /// Locks that lapse `max_live` after their last renewal.
    pub fn new(max_live: Duration) -> Self {
        QueueLocks {
            max_live,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Locks (or renews) each of `mqs` for `client_id` where it can; returns the queues the
    /// client holds now.
    pub fn try_lock(
        &self,
        group: &str,
        client_id: &str,
        mqs: &BTreeSet<MessageQueue>,
    ) -> BTreeSet<MessageQueue> {
        self.try_lock_at(group, client_id, mqs, Instant::now())
    }

    fn try_lock_at(
        &self,
        group: &str,
        client_id: &str,
        mqs: &BTreeSet<MessageQueue>,
        now: Instant,
    ) -> BTreeSet<MessageQueue> {
        let mut groups = self.groups.lock();
        let table = groups.entry(group.to_string()).or_default();
        let mut granted = BTreeSet::new();
        for mq in mqs {
            match table.get_mut(mq) {
                Some(h) if h.client_id == client_id => h.renewed = now,
                Some(h) if now.duration_since(h.renewed) <= self.max_live => {
                    debug!(group, %mq, holder = %h.client_id, requester = client_id, "queue locked by another client");
                    continue;
                }
                Some(h) => {
                    info!(group, %mq, previous = %h.client_id, holder = client_id, "queue lock expired; taken over");
                    *h = Holder {
                        client_id: client_id.to_string(),
                        renewed: now,
                    };
                }
                None => {
                    debug!(group, %mq, holder = client_id, "queue locked");
                    table.insert(
                        mq.clone(),
                        Holder {
                            client_id: client_id.to_string(),
                            renewed: now,
                        },
                    );
                }
            }
            granted.insert(mq.clone());
        }
        if table.is_empty() {
            groups.remove(group);
        }
        granted
    }

    /// Releases those of `mqs` that `client_id` holds.
    pub fn unlock(&self, group: &str, client_id: &str, mqs: &BTreeSet<MessageQueue>) {
        let mut groups = self.groups.lock();
        let Some(table) = groups.get_mut(group) else {
            return;
        };
        for mq in mqs {
            match table.get(mq) {
                Some(h) if h.client_id == client_id => {
                    table.remove(mq);
                    debug!(group, %mq, holder = client_id, "queue unlocked");
                }
                Some(h) => {
                    debug!(group, %mq, holder = %h.client_id, requester = client_id, "unlock of a queue locked by another client ignored");
                }
                None => {}
            }
        }
        if table.is_empty() {
            groups.remove(group);
        }
    }

    /// Releases every lock `client_id` holds in `group`; returns how many there were.
    pub fn release_client(&self, group: &str, client_id: &str) -> usize {
        let mut groups = self.groups.lock();
        let Some(table) = groups.get_mut(group) else {
            return 0;
        };
        let before = table.len();
        table.retain(|_, h| h.client_id != client_id);
        let released = before - table.len();
        if table.is_empty() {
            groups.remove(group);
        }
        released
    }

    /// Forgets locks that expired (their holders stopped renewing without leaving).
    pub fn purge_expired(&self) {
        self.purge_expired_at(Instant::now());
    }

    fn purge_expired_at(&self, now: Instant) {
        let mut groups = self.groups.lock();
        for table in groups.values_mut() {
            table.retain(|_, h| now.duration_since(h.renewed) <= self.max_live);
        }
        groups.retain(|_, table| !table.is_empty());
    }

    /// The client holding an unexpired lock on `mq` in `group`.
    pub fn holder(&self, group: &str, mq: &MessageQueue) -> Option<String> {
        let now = Instant::now();
        self.groups
            .lock()
            .get(group)
            .and_then(|t| t.get(mq))
            .filter(|h| now.duration_since(h.renewed) <= self.max_live)
            .map(|h| h.client_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: Duration = Duration::from_secs(60);

    fn mqs(ids: &[i32]) -> BTreeSet<MessageQueue> {
        ids.iter()
            .map(|i| MessageQueue::new("T", "b", *i))
            .collect()
    }

    #[test]
    fn grants_free_own_and_expired_queues_only() {
        let locks = QueueLocks::new(LIVE);
        let t0 = Instant::now();
        assert_eq!(locks.try_lock_at("G", "a", &mqs(&[0, 1]), t0), mqs(&[0, 1]));
        // b gets only the free queue.
        assert_eq!(locks.try_lock_at("G", "b", &mqs(&[1, 2]), t0), mqs(&[2]));
        // Another group is independent.
        assert_eq!(locks.try_lock_at("H", "b", &mqs(&[0]), t0), mqs(&[0]));
        // a renews queue 0 at t0 + 50 s; queue 1 is left to lapse.
        let t50 = t0 + Duration::from_secs(50);
        assert_eq!(locks.try_lock_at("G", "a", &mqs(&[0]), t50), mqs(&[0]));
        // At exactly max_live the lock still holds; past it, it is taken over.
        assert!(locks
            .try_lock_at("G", "b", &mqs(&[1]), t0 + LIVE)
            .is_empty());
        let t61 = t0 + LIVE + Duration::from_secs(1);
        assert_eq!(locks.try_lock_at("G", "b", &mqs(&[0, 1]), t61), mqs(&[1]));
        assert_eq!(
            locks
                .holder("G", &MessageQueue::new("T", "b", 1))
                .as_deref(),
            Some("b")
        );
    }

    #[test]
    fn unlock_and_release_touch_only_the_clients_own_locks() {
        let locks = QueueLocks::new(LIVE);
        locks.try_lock("G", "a", &mqs(&[0, 1]));
        locks.try_lock("G", "b", &mqs(&[2, 3]));
        locks.unlock("G", "b", &mqs(&[0, 2]));
        assert_eq!(
            locks
                .holder("G", &MessageQueue::new("T", "b", 0))
                .as_deref(),
            Some("a")
        );
        assert_eq!(locks.holder("G", &MessageQueue::new("T", "b", 2)), None);
        assert_eq!(locks.release_client("G", "a"), 2);
        assert_eq!(locks.release_client("G", "a"), 0);
        assert_eq!(locks.release_client("nope", "a"), 0);
        assert_eq!(locks.try_lock("G", "c", &mqs(&[0, 1, 3])), mqs(&[0, 1]));
    }

    #[test]
    fn purge_forgets_only_expired_locks() {
        let locks = QueueLocks::new(LIVE);
        let t0 = Instant::now();
        locks.try_lock_at("G", "a", &mqs(&[0]), t0);
        locks.try_lock_at("G", "b", &mqs(&[1]), t0 + Duration::from_secs(30));
        locks.purge_expired_at(t0 + Duration::from_secs(70));
        let groups = locks.groups.lock();
        let table = &groups["G"];
        assert_eq!(table.len(), 1);
        assert_eq!(table[&MessageQueue::new("T", "b", 1)].client_id, "b");
    }
}
