//! Waking and stopping the store's service threads. [`Wakeup`] wakes a thread when producers
//! have work for it, without a syscall per notification: producers only take the mutex when
//! the consumer has consumed the last notification, so a busy consumer costs each producer
//! one atomic swap. [`ServiceControl`] adds the stop (after final work) and halt (at once,
//! as in a crash) requests every service thread obeys.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

#[derive(Debug, Default)]
pub(crate) struct Wakeup {
    pending: AtomicBool,
    flag: Mutex<bool>,
    cv: Condvar,
}

impl Wakeup {
    /// Wakes the waiter (or makes its next [`wait`](Self::wait) return at once).
    pub(crate) fn notify(&self) {
        // AcqRel pairs with the swap in `wait`: whatever the producer published before this
        // call is visible to the consumer once it has observed (and cleared) the flag.
        // A plain load first: while the flag is already set (the consumer has not run yet),
        // producers only share its cache line instead of taking it exclusively on every call.
        if !self.pending.load(Ordering::Acquire) && !self.pending.swap(true, Ordering::AcqRel) {
            let mut flag = self.flag.lock();
            *flag = true;
            self.cv.notify_one();
        }
    }

    /// Waits until notified or `timeout` passes; returns whether it was notified.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let mut flag = self.flag.lock();
        if !*flag {
            self.cv.wait_for(&mut flag, timeout);
        }
        let woken = std::mem::replace(&mut *flag, false);
        self.pending.swap(false, Ordering::AcqRel);
        woken
    }
}

/// Starts a named service thread.
pub(crate) fn spawn_service(
    name: &str,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(body)
}

/// Wake-up plus stop/halt requests for one service thread.
#[derive(Debug, Default)]
pub(crate) struct ServiceControl {
    wake: Wakeup,
    stop: AtomicBool,
    halt: AtomicBool,
}

impl ServiceControl {
    pub(crate) fn notify(&self) {
        self.wake.notify();
    }

    /// Waits for a notification or `timeout`; returns at once when stopping.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        if self.stopping() {
            return true;
        }
        self.wake.wait(timeout)
    }

    /// Asks the thread to stop after its final work (flush, drain).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake.notify();
    }

    /// Asks the thread to stop at once, skipping its final work (crash simulation).
    pub(crate) fn halt(&self) {
        self.halt.store(true, Ordering::Release);
        self.stop();
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub(crate) fn halted(&self) -> bool {
        self.halt.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn notify_before_wait_is_not_lost() {
        let w = Wakeup::default();
        w.notify();
        w.notify();
        assert!(w.wait(Duration::from_secs(5)));
        assert!(!w.wait(Duration::from_millis(10)));
    }

    #[test]
    fn wakes_a_sleeping_thread() {
        let w = Arc::new(Wakeup::default());
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            let start = Instant::now();
            let woken = w2.wait(Duration::from_secs(10));
            (woken, start.elapsed())
        });
        // Notify repeatedly until the thread has returned: it must see at least one.
        while !t.is_finished() {
            w.notify();
            std::thread::yield_now();
        }
        let (woken, elapsed) = t.join().unwrap();
        assert!(woken);
        assert!(elapsed < Duration::from_secs(10));
    }
}
