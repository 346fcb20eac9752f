//! Choosing the queue of a send: round-robin over the topic's writable queues, avoiding
//! brokers that just failed or answered slowly ([`LatencyFault`], RocketMQ's latency fault
//! tolerance), and on a retry a broker other than the one that just failed.
//!
//! After a send, its broker is unavailable for a time that grows with its latency:
//!
//! | latency | unavailable for |
//! |---|---|
//! | < 550 ms | 0 |
//! | >= 550 ms | 30 s |
//! | >= 1 s | 60 s |
//! | >= 2 s | 120 s |
//! | >= 3 s | 180 s |
//! | >= 15 s | 600 s |
//! | failed | 30 s |
//!
//! Unavailable brokers are only avoided, never excluded: when every broker is unavailable a
//! queue is still chosen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fennec_protocol::body::MessageQueue;
use parking_lot::Mutex;

/// (latency at least, unavailable for), longest first.
const LATENCY_STEPS: [(Duration, Duration); 5] = [
    (Duration::from_millis(15_000), Duration::from_secs(600)),
    (Duration::from_millis(3_000), Duration::from_secs(180)),
    (Duration::from_millis(2_000), Duration::from_secs(120)),
    (Duration::from_millis(1_000), Duration::from_secs(60)),
    (Duration::from_millis(550), Duration::from_secs(30)),
];

/// How long a broker is avoided after a failed send.
pub(crate) const FAILURE_ISOLATION: Duration = Duration::from_secs(30);

/// How long a send's outcome makes its broker unavailable.
pub(crate) fn isolation(latency: Duration, failed: bool) -> Duration {
    if failed {
        return FAILURE_ISOLATION;
    }
    LATENCY_STEPS
        .iter()
        .find(|(at_least, _)| latency >= *at_least)
        .map(|(_, d)| *d)
        .unwrap_or(Duration::ZERO)
}

/// Broker name to the instant it becomes available again.
#[derive(Debug, Default)]
pub(crate) struct LatencyFault {
    unavailable_until: Mutex<HashMap<String, Instant>>,
}

impl LatencyFault {
    /// Records the outcome of a send to `broker`.
    pub(crate) fn record(&self, broker: &str, latency: Duration, failed: bool) {
        self.record_at(broker, latency, failed, Instant::now());
    }

    fn record_at(&self, broker: &str, latency: Duration, failed: bool, now: Instant) {
        let d = isolation(latency, failed);
        let mut table = self.unavailable_until.lock();
        if d.is_zero() {
            table.remove(broker);
        } else {
            table.insert(broker.to_string(), now + d);
        }
    }

    pub(crate) fn is_available(&self, broker: &str) -> bool {
        self.is_available_at(broker, Instant::now())
    }

    fn is_available_at(&self, broker: &str, now: Instant) -> bool {
        self.unavailable_until
            .lock()
            .get(broker)
            .is_none_or(|until| now >= *until)
    }
}

/// Picks a queue starting the round-robin at `start`. Preference: an available broker that
/// is not `last_broker`, then any available broker, then a broker other than `last_broker`,
/// then the queue at `start`.
pub(crate) fn select_queue<'a>(
    queues: &'a [MessageQueue],
    start: usize,
    last_broker: Option<&str>,
    available: impl Fn(&str) -> bool,
) -> Option<&'a MessageQueue> {
    let n = queues.len();
    if n == 0 {
        return None;
    }
    let mut first_available = None;
    let mut first_other = None;
    for i in 0..n {
        let mq = &queues[start.wrapping_add(i) % n];
        let other = last_broker != Some(mq.broker_name.as_str());
        let ok = available(&mq.broker_name);
        if ok && other {
            return Some(mq);
        }
        if ok && first_available.is_none() {
            first_available = Some(mq);
        }
        if other && first_other.is_none() {
            first_other = Some(mq);
        }
    }
    first_available
        .or(first_other)
        .or_else(|| queues.get(start % n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<MessageQueue> {
        let mut v = Vec::new();
        for b in ["a", "b"] {
            for q in 0..2 {
                v.push(MessageQueue::new("T", b, q));
            }
        }
        v
    }

    fn pick(q: &[MessageQueue], start: usize, last: Option<&str>, down: &[&str]) -> (String, i32) {
        let mq = select_queue(q, start, last, |b| !down.contains(&b)).unwrap();
        (mq.broker_name.clone(), mq.queue_id)
    }

    #[test]
    fn round_robin_when_all_is_well() {
        let q = queues();
        let picks: Vec<_> = (0..5).map(|i| pick(&q, i, None, &[])).collect();
        assert_eq!(
            picks,
            vec![
                ("a".into(), 0),
                ("a".into(), 1),
                ("b".into(), 0),
                ("b".into(), 1),
                ("a".into(), 0)
            ]
        );
        // The counter may wrap.
        assert!(select_queue(&q, usize::MAX, None, |_| true).is_some());
        assert!(select_queue(&[], 0, None, |_| true).is_none());
    }

    #[test]
    fn avoids_unavailable_and_last_broker() {
        let q = queues();
        // Broker a is down: every pick lands on b.
        for start in 0..4 {
            assert_eq!(pick(&q, start, None, &["a"]).0, "b");
        }
        // A retry after a failure on a moves to b even from a's queue.
        assert_eq!(pick(&q, 0, Some("a"), &[]).0, "b");
        // Last was b and b is down: a.
        assert_eq!(pick(&q, 2, Some("b"), &["b"]).0, "a");
        // Only the last broker is available: it is preferred to an unavailable one.
        assert_eq!(pick(&q, 0, Some("a"), &["b"]).0, "a");
        // Everything is down: another broker than the last one, still a queue.
        assert_eq!(pick(&q, 0, Some("a"), &["a", "b"]).0, "b");
        assert_eq!(pick(&q, 1, None, &["a", "b"]), ("a".into(), 1));
        // A single broker: the same broker again.
        let one = vec![MessageQueue::new("T", "a", 0)];
        assert_eq!(pick(&one, 3, Some("a"), &["a"]).0, "a");
    }

    #[test]
    fn isolation_follows_latency() {
        assert_eq!(isolation(Duration::from_millis(10), false), Duration::ZERO);
        assert_eq!(isolation(Duration::from_millis(549), false), Duration::ZERO);
        assert_eq!(
            isolation(Duration::from_millis(550), false),
            Duration::from_secs(30)
        );
        assert_eq!(
            isolation(Duration::from_millis(2500), false),
            Duration::from_secs(120)
        );
        assert_eq!(
            isolation(Duration::from_secs(20), false),
            Duration::from_secs(600)
        );
        assert_eq!(isolation(Duration::from_millis(1), true), FAILURE_ISOLATION);

        let f = LatencyFault::default();
        let t0 = Instant::now();
        f.record_at("a", Duration::from_millis(5), true, t0);
        assert!(!f.is_available_at("a", t0 + Duration::from_secs(29)));
        assert!(f.is_available_at("a", t0 + FAILURE_ISOLATION));
        assert!(f.is_available_at("b", t0));
        // A fast send makes the broker available again at once.
        f.record_at("a", Duration::from_millis(5), false, t0);
        assert!(f.is_available_at("a", t0));
        f.record_at("b", Duration::from_millis(1200), false, t0);
        assert!(!f.is_available_at("b", t0 + Duration::from_secs(59)));
    }
}
