//! [`ProcessQueue`]: the messages of one assigned queue that a push consumer has pulled but
//! not finished consuming, keyed by queue offset.
//!
//! It answers two questions. How far may the group's offset move? To the smallest offset
//! still in flight, or past the largest ever pulled when nothing is in flight, so that the
//! offset never passes a message that has not been consumed, whatever order consumption
//! finishes in. And may the pull task fetch more? Only while the queue holds fewer messages,
//! bytes and offset span than the limits; when it does not, the pull task waits on a
//! [`Notify`] that every removal signals.
//!
//! A reset (offset moved, offsets reset by an admin) bumps the epoch: results of consumption
//! started before it no longer move the offset. A dropped queue (taken away by a rebalance)
//! moves no offset at all.

use std::collections::BTreeMap;

use fennec_protocol::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// When a queue's pull task must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlowLimits {
    /// `pullThresholdForQueue` (1000 messages).
    pub(crate) max_count: usize,
    /// `pullThresholdSizeForQueue` (100 MiB of bodies).
    pub(crate) max_bytes: usize,
    /// `consumeConcurrentlyMaxSpan` (2000): largest minus smallest offset in flight.
    pub(crate) max_span: i64,
}

#[derive(Debug, Default)]
struct State {
    /// Offset to body size of every message in flight.
    in_flight: BTreeMap<i64, usize>,
    bytes: usize,
    /// Largest offset ever put (-1: none).
    max_offset: i64,
    epoch: u64,
    dropped: bool,
}

/// Messages in flight of one queue.
#[derive(Debug)]
pub(crate) struct ProcessQueue {
    state: Mutex<State>,
    room: Notify,
}

impl Default for ProcessQueue {
    fn default() -> Self {
        ProcessQueue {
            state: Mutex::new(State {
                max_offset: -1,
                ..State::default()
            }),
            room: Notify::new(),
        }
    }
}

impl ProcessQueue {
    /// Adds pulled messages; returns the epoch their consumption belongs to.
    pub(crate) fn put(&self, msgs: &[MessageExt]) -> u64 {
        let mut s = self.state.lock();
        for m in msgs {
            if s.in_flight.insert(m.queue_offset, m.body.len()).is_none() {
                s.bytes += m.body.len();
            }
            s.max_offset = s.max_offset.max(m.queue_offset);
        }
        s.epoch
    }

    /// Removes consumed messages and, if `epoch` is current and the queue not dropped, calls
    /// `commit` with the offset the group may now commit. `commit` runs under the queue's
    /// lock, so that a reset cannot slip between the decision and the commit.
    pub(crate) fn remove(&self, epoch: u64, offsets: &[i64], commit: impl FnOnce(i64)) {
        {
            let mut s = self.state.lock();
            if s.dropped || s.epoch != epoch || s.in_flight.is_empty() {
                return;
            }
            for off in offsets {
                if let Some(size) = s.in_flight.remove(off) {
                    s.bytes -= size;
                }
            }
            let next = match s.in_flight.first_key_value() {
                Some((first, _)) => *first,
                None => s.max_offset + 1,
            };
            commit(next);
        }
        self.room.notify_waiters();
    }

    /// When nothing is in flight, lets the offset follow the pull position (messages
    /// skipped by the filter); `commit` runs under the lock as in [`ProcessQueue::remove`].
    pub(crate) fn commit_if_idle(&self, next: i64, commit: impl FnOnce(i64)) {
        let s = self.state.lock();
        if !s.dropped && s.in_flight.is_empty() {
            commit(next);
        }
    }

    /// Forgets every message in flight and starts a new epoch.
    pub(crate) fn reset(&self) {
        {
            let mut s = self.state.lock();
            s.in_flight.clear();
            s.bytes = 0;
            s.max_offset = -1;
            s.epoch += 1;
        }
        self.room.notify_waiters();
    }

    /// Marks the queue as no longer ours.
    pub(crate) fn drop_queue(&self) {
        self.state.lock().dropped = true;
        self.room.notify_waiters();
    }

    /// Whether consumption of `epoch` still counts.
    pub(crate) fn is_current(&self, epoch: u64) -> bool {
        let s = self.state.lock();
        !s.dropped && s.epoch == epoch
    }

    /// Messages and body bytes in flight.
    #[cfg(test)]
    fn load(&self) -> (usize, usize) {
        let s = self.state.lock();
        (s.in_flight.len(), s.bytes)
    }

    fn has_room(&self, limits: &FlowLimits) -> bool {
        let s = self.state.lock();
        if s.dropped {
            return true;
        }
        let span = match (s.in_flight.first_key_value(), s.in_flight.last_key_value()) {
            (Some((lo, _)), Some((hi, _))) => hi - lo,
            _ => 0,
        };
        s.in_flight.len() < limits.max_count
            && s.bytes < limits.max_bytes
            && span <= limits.max_span
    }

    /// Waits until the queue is below every limit (or dropped).
    pub(crate) async fn wait_for_room(&self, limits: &FlowLimits) {
        loop {
            // Registered before the check, so a removal between the check and the await
            // still wakes us.
            let notified = self.room.notified();
            if self.has_room(limits) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::Arc;
    use std::time::Duration;

    fn msgs(offsets: std::ops::Range<i64>, size: usize) -> Vec<MessageExt> {
        offsets
            .map(|o| MessageExt {
                queue_offset: o,
                body: Bytes::from(vec![0u8; size]),
                ..Default::default()
            })
            .collect()
    }

    fn remove(pq: &ProcessQueue, epoch: u64, offsets: &[i64]) -> Option<i64> {
        let mut out = None;
        pq.remove(epoch, offsets, |o| out = Some(o));
        out
    }

    #[test]
    fn committable_offset_with_out_of_order_completion() {
        let pq = ProcessQueue::default();
        let e = pq.put(&msgs(10..16, 1));
        assert_eq!(remove(&pq, e, &[12]), Some(10));
        assert_eq!(remove(&pq, e, &[10]), Some(11));
        assert_eq!(remove(&pq, e, &[11]), Some(13));
        assert_eq!(remove(&pq, e, &[15, 14]), Some(13));
        assert_eq!(remove(&pq, e, &[13]), Some(16));
        assert_eq!(pq.load(), (0, 0));
        // Nothing in flight: nothing to commit.
        assert_eq!(remove(&pq, e, &[13]), None);
        // A later pull continues past the largest offset seen.
        let e = pq.put(&msgs(16..18, 1));
        assert_eq!(remove(&pq, e, &[17]), Some(16));
        assert_eq!(remove(&pq, e, &[16]), Some(18));
    }

    #[test]
    fn reset_and_drop_stop_old_results() {
        let pq = ProcessQueue::default();
        let old = pq.put(&msgs(0..3, 1));
        pq.reset();
        assert_eq!(pq.load(), (0, 0));
        let new = pq.put(&msgs(100..102, 1));
        assert_ne!(old, new);
        assert!(!pq.is_current(old) && pq.is_current(new));
        assert_eq!(remove(&pq, old, &[0, 1, 2]), None);
        assert_eq!(remove(&pq, new, &[100]), Some(101));
        let mut idle = None;
        pq.commit_if_idle(500, |o| idle = Some(o));
        assert_eq!(idle, None, "a message is still in flight");
        pq.drop_queue();
        assert!(!pq.is_current(new));
        assert_eq!(remove(&pq, new, &[101]), None);
        pq.commit_if_idle(500, |o| idle = Some(o));
        assert_eq!(idle, None);
    }

    #[test]
    fn limits_by_count_bytes_and_span() {
        let limits = FlowLimits {
            max_count: 3,
            max_bytes: 100,
            max_span: 10,
        };
        let pq = ProcessQueue::default();
        pq.put(&msgs(0..2, 10));
        assert!(pq.has_room(&limits));
        pq.put(&msgs(2..3, 10));
        assert!(!pq.has_room(&limits), "count");
        let pq = ProcessQueue::default();
        pq.put(&msgs(0..1, 100));
        assert!(!pq.has_room(&limits), "bytes");
        let pq = ProcessQueue::default();
        pq.put(&msgs(0..1, 1));
        pq.put(&msgs(11..12, 1));
        assert!(!pq.has_room(&limits), "span");
        let e = pq.put(&[]);
        pq.remove(e, &[0], |_| {});
        assert!(pq.has_room(&limits));
    }

    #[tokio::test]
    async fn waiting_pull_wakes_when_consumption_drains() {
        let limits = FlowLimits {
            max_count: 2,
            max_bytes: usize::MAX,
            max_span: i64::MAX,
        };
        let pq = Arc::new(ProcessQueue::default());
        let e = pq.put(&msgs(0..2, 1));
        let waiter = tokio::spawn({
            let pq = pq.clone();
            async move { pq.wait_for_room(&limits).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        pq.remove(e, &[0], |_| {});
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the removal")
            .unwrap();
        // A dropped queue never blocks.
        pq.put(&msgs(5..7, 1));
        pq.drop_queue();
        pq.wait_for_room(&limits).await;
    }
}
