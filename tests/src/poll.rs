//! Waiting for a condition: check, and if it does not hold yet, check again a little later,
//! until a deadline. The deadline only bounds a failing test; a passing one returns as soon as
//! the condition holds.

use std::future::Future;
use std::time::{Duration, Instant};

/// Pause between two checks.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Awaits `check` until it yields `Some`, and returns that value. Panics with `what` after
/// `timeout`.
pub async fn poll_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Awaits `check` until it is true. Panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_for(what, timeout, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await
}

/// Calls `check` until it yields `Some` (for code outside a runtime, such as `Drop`).
/// Returns `None` after `timeout`.
pub fn poll_blocking<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_once_the_condition_holds() {
        let calls = AtomicU32::new(0);
        let n = poll_for("third call", Duration::from_secs(5), || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move { (n == 3).then_some(n) }
        })
        .await;
        assert_eq!(n, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out after 50ms waiting for never")]
    async fn panics_at_the_deadline() {
        wait_until("never", Duration::from_millis(50), || async { false }).await;
    }

    #[test]
    fn blocking_variant_gives_up() {
        assert_eq!(
            poll_blocking(Duration::from_millis(30), || None::<()>),
            None
        );
        assert_eq!(
            poll_blocking(Duration::from_millis(30), || Some(1)),
            Some(1)
        );
    }
}
