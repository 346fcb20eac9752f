//! [`OrderlyQueue`]: one queue of an orderly consumer: the messages pulled and waiting for
//! the listener, in offset order, and the queue's lock.
//!
//! The queue's [`ProcessQueue`] does the accounting as for a concurrent consumer: every
//! pulled message is in flight until it is done, the committable offset is the smallest one
//! in flight, and pulling pauses while the queue is full. Since the consume task takes
//! messages strictly in offset order and finishes a batch before taking the next, the
//! committable offset only ever passes messages handled in order. A batch that must wait
//! goes back to the front ([`OrderlyQueue::put_back`]). A reset (an offset moved) empties
//! the queue and starts a new epoch: batches of an older epoch neither commit nor return.

use std::collections::BTreeMap;
use std::sync::Arc;

use fennec_protocol::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::process_queue::ProcessQueue;
use super::queue_lock::LockState;

#[derive(Debug, Default)]
struct Waiting {
    /// The epoch of the messages in `msgs`.
    epoch: u64,
    msgs: BTreeMap<i64, MessageExt>,
}

/// One queue of an orderly consumer.
#[derive(Debug)]
pub(crate) struct OrderlyQueue {
    pub(crate) pq: Arc<ProcessQueue>,
    pub(crate) lock: LockState,
    waiting: Mutex<Waiting>,
    arrived: Notify,
}

impl OrderlyQueue {
    pub(crate) fn new(lock: LockState) -> Self {
        OrderlyQueue {
            pq: Arc::new(ProcessQueue::default()),
            lock,
            waiting: Mutex::new(Waiting::default()),
            arrived: Notify::new(),
        }
    }

    /// Adds pulled messages.
    pub(crate) fn put(&self, msgs: Vec<MessageExt>) {
        let epoch = self.pq.put(&msgs);
        {
            let mut w = self.waiting.lock();
            if w.epoch != epoch {
                w.msgs.clear();
                w.epoch = epoch;
            }
            w.msgs.extend(msgs.into_iter().map(|m| (m.queue_offset, m)));
        }
        self.arrived.notify_one();
    }

    /// Completes once a message is waiting.
    pub(crate) async fn wait_for_messages(&self) {
        loop {
            if !self.waiting.lock().msgs.is_empty() {
                return;
            }
            // notify_one keeps a permit when no one waits, so a put between the check and
            // this await is not missed.
            self.arrived.notified().await;
        }
    }

    /// Takes up to `max` waiting messages, lowest offsets first, with their epoch.
    pub(crate) fn take(&self, max: usize) -> (u64, Vec<MessageExt>) {
        let mut w = self.waiting.lock();
        let mut batch = Vec::with_capacity(max.min(w.msgs.len()));
        while batch.len() < max {
            match w.msgs.pop_first() {
                Some((_, m)) => batch.push(m),
                None => break,
            }
        }
        (w.epoch, batch)
    }

    /// Returns a batch taken under `epoch` to be consumed again first; dropped when the
    /// queue was reset or given up meanwhile.
    pub(crate) fn put_back(&self, epoch: u64, msgs: Vec<MessageExt>) {
        if !self.pq.is_current(epoch) {
            return;
        }
        let mut w = self.waiting.lock();
        if w.epoch == epoch {
            w.msgs.extend(msgs.into_iter().map(|m| (m.queue_offset, m)));
        }
    }

    /// Marks the messages at `offsets` (of `epoch`) handled and calls `commit` with the
    /// offset the group may commit now (see [`ProcessQueue::remove`]).
    pub(crate) fn done(&self, epoch: u64, offsets: &[i64], commit: impl FnOnce(i64)) {
        self.pq.remove(epoch, offsets, commit);
    }

    /// Forgets every message (the offset moved) and starts a new epoch.
    pub(crate) fn reset(&self) {
        self.pq.reset();
        self.waiting.lock().msgs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn msgs(offsets: std::ops::Range<i64>) -> Vec<MessageExt> {
        offsets
            .map(|o| MessageExt {
                queue_offset: o,
                ..Default::default()
            })
            .collect()
    }

    fn offsets(batch: &[MessageExt]) -> Vec<i64> {
        batch.iter().map(|m| m.queue_offset).collect()
    }

    fn queue() -> OrderlyQueue {
        OrderlyQueue::new(LockState::granted_now(Duration::from_secs(30)))
    }

    #[test]
    fn batches_come_in_offset_order_and_commit_only_what_was_handled() {
        let q = queue();
        q.put(msgs(3..6));
        q.put(msgs(0..3));
        let (e, first) = q.take(2);
        assert_eq!(offsets(&first), [0, 1]);
        // Suspended: the same batch comes first again.
        q.put_back(e, first);
        let (e, again) = q.take(2);
        assert_eq!(offsets(&again), [0, 1]);
        let mut committed = None;
        q.done(e, &offsets(&again), |o| committed = Some(o));
        assert_eq!(committed, Some(2));
        let (e, rest) = q.take(10);
        assert_eq!(offsets(&rest), [2, 3, 4, 5]);
        q.done(e, &offsets(&rest), |o| committed = Some(o));
        assert_eq!(committed, Some(6));
        assert!(q.take(1).1.is_empty());
    }

    #[test]
    fn a_reset_drops_old_batches() {
        let q = queue();
        q.put(msgs(0..4));
        let (old, batch) = q.take(1);
        q.reset();
        q.put_back(old, batch);
        assert!(q.take(10).1.is_empty(), "the old batch is not returned");
        q.put(msgs(10..12));
        let mut committed = None;
        q.done(old, &[0], |o| committed = Some(o));
        assert_eq!(committed, None, "nor does it commit");
        let (new, batch) = q.take(10);
        assert_ne!(old, new);
        assert_eq!(offsets(&batch), [10, 11]);
    }

    #[tokio::test]
    async fn waiting_wakes_on_put() {
        let q = Arc::new(queue());
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.wait_for_messages().await }
        });
        tokio::task::yield_now().await;
        q.put(msgs(0..1));
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the put")
            .expect("no panic");
    }
}
