//! [`SyncWaiters`]: the sends of a SYNC_MASTER waiting for a slave, grouped like the sync
//! flush. Each waiting send queues (end offset, oneshot) and awaits its receiver; the task
//! that reads a slave's reports advances the acknowledged offset and completes, in one pass,
//! every send it covers. No thread or task exists per send, and a report costs one lock.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Waiters queued beyond which the ones that gave up (timed out) are dropped.
const PRUNE_AT: usize = 4096;

#[derive(Debug, Default)]
pub struct SyncWaiters {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Highest CommitLog offset a slave has acknowledged.
    acked: i64,
    /// Waiting sends by (end offset, arrival).
    waiting: BTreeMap<(i64, u64), oneshot::Sender<()>>,
    seq: u64,
}

impl SyncWaiters {
    /// Highest offset a slave has acknowledged.
    pub fn acked(&self) -> i64 {
        self.inner.lock().acked
    }

    /// Queues a send ending at `end`; `None` when a slave already has it.
    pub fn register(&self, end: i64) -> Option<oneshot::Receiver<()>> {
        let mut inner = self.inner.lock();
        if inner.acked >= end {
            return None;
        }
        if inner.waiting.len() >= PRUNE_AT {
            inner.waiting.retain(|_, tx| !tx.is_closed());
        }
        let (tx, rx) = oneshot::channel();
        inner.seq += 1;
        let seq = inner.seq;
        inner.waiting.insert((end, seq), tx);
        Some(rx)
    }

    /// A slave acknowledged everything below `acked`: completes the sends it covers.
    pub fn advance(&self, acked: i64) {
        let done = {
            let mut inner = self.inner.lock();
            if acked <= inner.acked {
                return;
            }
            inner.acked = acked;
            let later = inner.waiting.split_off(&(acked + 1, 0));
            std::mem::replace(&mut inner.waiting, later)
        };
        for tx in done.into_values() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_covered_sends_in_one_pass() {
        let w = SyncWaiters::default();
        let mut a = w.register(100).unwrap();
        let mut b = w.register(200).unwrap();
        let mut c = w.register(150).unwrap();
        w.advance(150);
        assert!(a.try_recv().is_ok());
        assert!(c.try_recv().is_ok());
        assert!(b.try_recv().is_err());
        w.advance(120);
        assert_eq!(w.acked(), 150);
        assert!(w.register(150).is_none(), "already acknowledged");
        w.advance(200);
        assert!(b.try_recv().is_ok());
    }
}
