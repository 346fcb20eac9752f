//! Long polling: pulls that find no new message wait here until the dispatcher reports a
//! message on their queue (or their suspend time runs out).
//!
//! A waiter registers `(topic, queue, offset)` and gets a oneshot receiver. The store's
//! dispatcher thread calls [`PullWaiters::notify`] after every message it indexes; that wakes
//! every waiter of the queue whose offset is below the new max offset. To avoid a lost wake-up
//! a puller must register *before* its final check of the queue's max offset.
//!
//! [`PullWaiters::hold`] counts pulls while they are held (a guard, dropped when the pull
//! answers or its connection closes): the exact figure the metrics report, unlike the
//! registrations, which are cleaned up lazily.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::oneshot;

struct Waiter {
    offset: i64,
    wake: oneshot::Sender<()>,
}

/// Held pulls by topic and queue.
#[derive(Default)]
pub struct PullWaiters {
    by_topic: Mutex<HashMap<String, HashMap<i32, Vec<Waiter>>>>,
    count: AtomicUsize,
    held: AtomicUsize,
}

/// One pull being held; counted in [`PullWaiters::held`] until dropped.
#[must_use = "the pull counts as held only while the guard lives"]
pub struct Held<'a>(&'a AtomicUsize);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PullWaiters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers interest in messages at or after `offset`.
    pub fn register(&self, topic: &str, queue_id: i32, offset: i64) -> oneshot::Receiver<()> {
        let (wake, rx) = oneshot::channel();
        let mut map = self.by_topic.lock();
        let queues = match map.get_mut(topic) {
            Some(q) => q,
            None => map.entry(topic.to_string()).or_default(),
        };
        let waiters = queues.entry(queue_id).or_default();
        // Drop waiters whose pull already ended (timed out or connection gone).
        let before = waiters.len();
        waiters.retain(|w| !w.wake.is_closed());
        let dropped = before - waiters.len();
        waiters.push(Waiter { offset, wake });
        self.count.fetch_add(1, Ordering::AcqRel);
        self.count.fetch_sub(dropped, Ordering::AcqRel);
        rx
    }

    /// Wakes the waiters of `topic`/`queue_id` that wait for offsets below `max_offset`.
    /// Called on the dispatcher thread: cheap when nobody waits.
    pub fn notify(&self, topic: &str, queue_id: i32, max_offset: i64) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut map = self.by_topic.lock();
        let Some(queues) = map.get_mut(topic) else {
            return;
        };
        let Some(waiters) = queues.get_mut(&queue_id) else {
            return;
        };
        let before = waiters.len();
        let mut kept = Vec::with_capacity(waiters.len());
        for w in waiters.drain(..) {
            if w.offset < max_offset {
                let _ = w.wake.send(());
            } else if !w.wake.is_closed() {
                kept.push(w);
            }
        }
        let removed = before - kept.len();
        *waiters = kept;
        if waiters.is_empty() {
            queues.remove(&queue_id);
            if queues.is_empty() {
                map.remove(topic);
            }
        }
        self.count.fetch_sub(removed, Ordering::Release);
    }

    /// Wakes everybody (shutdown).
    pub fn wake_all(&self) {
        let mut map = self.by_topic.lock();
        for (_, queues) in map.drain() {
            for (_, waiters) in queues {
                for w in waiters {
                    let _ = w.wake.send(());
                }
            }
        }
        self.count.store(0, Ordering::Release);
    }

    /// Counts a pull as held until the guard is dropped.
    pub fn hold(&self) -> Held<'_> {
        self.held.fetch_add(1, Ordering::Relaxed);
        Held(&self.held)
    }

    /// Pulls held right now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Waiters currently registered (including some whose pull already ended).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_only_matching_waiters() {
        let w = PullWaiters::new();
        let mut a = w.register("T", 0, 5);
        let mut b = w.register("T", 0, 9);
        let mut c = w.register("T", 1, 0);
        assert_eq!(w.len(), 3);
        w.notify("T", 0, 6);
        assert!(a.try_recv().is_ok());
        assert!(b.try_recv().is_err());
        assert!(c.try_recv().is_err());
        assert_eq!(w.len(), 2);
        w.notify("U", 0, 100);
        w.notify("T", 0, 10);
        assert!(b.try_recv().is_ok());
        drop(c);
        w.notify("T", 1, 0);
        assert_eq!(w.len(), 0);
        let mut d = w.register("X", 3, 1);
        w.wake_all();
        assert!(d.try_recv().is_ok());
        assert!(w.is_empty());
    }

    #[test]
    fn counts_held_pulls_while_guards_live() {
        let w = PullWaiters::new();
        let a = w.hold();
        let b = w.hold();
        assert_eq!(w.held(), 2);
        drop(a);
        assert_eq!(w.held(), 1);
        drop(b);
        assert_eq!(w.held(), 0);
    }
}
