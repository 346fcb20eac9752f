//! [`LogLimiter`]: rate limiting for warnings that a peer can trigger at will (refused
//! connections, idle or oversized frames, refused registrations), so that abuse costs a log
//! line per period instead of filling the disk.
//!
//! ```
//! # use fennec_remoting::log_limit::LogLimiter;
//! # use std::time::Duration;
//! let refused = LogLimiter::new(Duration::from_secs(10));
//! if let Some(suppressed) = refused.allow() {
//!     tracing::warn!(suppressed, "connection refused: limit reached");
//! }
//! ```

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Default period of the servers' limiters: one warning per kind per 10 s.
pub const DEFAULT_LOG_PERIOD: Duration = Duration::from_secs(10);

/// Lets one event per period through and counts the ones it holds back.
#[derive(Debug)]
pub struct LogLimiter {
    period: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter that lets the first event through, then one per `period`.
    pub fn new(period: Duration) -> Self {
        LogLimiter {
            period,
            state: Mutex::new(State::default()),
        }
    }

    /// Records an event. `Some(n)`: log it, saying that `n` events were held back since the
    /// last one logged; `None`: stay silent.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock();
        match state.last {
            Some(last) if now.saturating_duration_since(last) < self.period => {
                state.suppressed += 1;
                None
            }
            _ => {
                state.last = Some(now);
                Some(std::mem::take(&mut state.suppressed))
            }
        }
    }
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(DEFAULT_LOG_PERIOD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_period_with_a_count_of_the_rest() {
        let limiter = LogLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limiter.allow_at(t0), Some(0));
        for s in 1..5 {
            assert_eq!(limiter.allow_at(t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(limiter.allow_at(t0 + Duration::from_secs(10)), Some(4));
        assert_eq!(limiter.allow_at(t0 + Duration::from_secs(11)), None);
        assert_eq!(limiter.allow_at(t0 + Duration::from_secs(30)), Some(1));
    }
}
