//! [`GrowthSignal`]: wakes async tasks that wait for the CommitLog to grow (a master's
//! senders to its slaves). While nobody waits, an append pays one fence and one atomic load.

use std::sync::atomic::{fence, AtomicBool, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub(crate) struct GrowthSignal {
    /// Set by a waiter before it re-checks the log end; cleared by the append that wakes it.
    waiting: AtomicBool,
    notify: Notify,
}

impl GrowthSignal {
    /// Called after an append published its new end.
    pub(crate) fn notify(&self) {
        // Pairs with the fence in `wait_beyond`: either the appender sees the flag, or the
        // waiter sees the new end.
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed) && self.waiting.swap(false, Ordering::AcqRel) {
            self.notify.notify_waiters();
        }
    }

    /// Waits until `end()` passes `offset` or `timeout` elapses; returns whether it passed.
    pub(crate) async fn wait_beyond(
        &self,
        offset: i64,
        end: impl Fn() -> i64,
        timeout: std::time::Duration,
    ) -> bool {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        self.waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if end() > offset {
            return true;
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        end() > offset
    }
}
