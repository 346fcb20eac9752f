//! [`LatencyHistogram`]: a fixed-bucket latency histogram made of atomics, for hot paths
//! (a send, a pull, an msync, a dispatched record). Recording is a short scan of the bucket
//! bounds and two relaxed atomic adds: no lock, no allocation. Readers (a metrics scrape)
//! take a [`HistogramSnapshot`] with cumulative counts, the shape Prometheus expects.
//!
//! Counts of different buckets are read one after the other, so a snapshot taken while
//! values are recorded may be off by those few values; each count is monotonic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets in microseconds: 100 µs to 10 s (the last bucket, +Inf, is
/// implicit).
pub const LATENCY_BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

const BUCKETS: usize = LATENCY_BOUNDS_MICROS.len() + 1;

/// Latencies counted per bucket, plus their sum.
#[derive(Debug)]
pub struct LatencyHistogram {
    /// Non-cumulative: `counts[i]` holds values in `(bound[i-1], bound[i]]`; the last is +Inf.
    counts: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }
}

/// Cumulative counts of a [`LatencyHistogram`] at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, values at or below it)`, ascending, without +Inf.
    pub buckets: Vec<(f64, u64)>,
    /// Every value recorded (the +Inf bucket).
    pub count: u64,
    /// Sum of the values in seconds.
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one latency.
    pub fn observe(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.observe_micros(micros);
    }

    /// Records one latency given in microseconds.
    pub fn observe_micros(&self, micros: u64) {
        let i = LATENCY_BOUNDS_MICROS
            .iter()
            .position(|b| micros <= *b)
            .unwrap_or(BUCKETS - 1);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The cumulative counts now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0u64;
        let mut buckets = Vec::with_capacity(LATENCY_BOUNDS_MICROS.len());
        for (i, bound) in LATENCY_BOUNDS_MICROS.iter().enumerate() {
            running += self.counts[i].load(Ordering::Relaxed);
            buckets.push((*bound as f64 / 1e6, running));
        }
        running += self.counts[BUCKETS - 1].load(Ordering::Relaxed);
        HistogramSnapshot {
            buckets,
            count: running,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let h = LatencyHistogram::new();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.buckets[0], (0.0001, 2));
        assert_eq!(s.buckets[4], (0.0025, 2));
        assert_eq!(s.buckets[5], (0.005, 3));
        assert_eq!(s.buckets.last().map(|b| b.1), Some(3));
        assert!((s.sum_seconds - 60.00315).abs() < 1e-9, "{}", s.sum_seconds);
    }
}
