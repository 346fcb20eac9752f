//! A lock-free latency histogram: log-linear buckets over microseconds (32 linear steps per
//! power of two, so every bucket is within ~3 % of its values), recorded with one atomic add
//! and drained once per report interval.

use std::sync::atomic::{AtomicU64, Ordering};

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for values up to 2^40 µs.
const BUCKETS: usize = ((40 - SUB_BITS as usize) + 1) * SUB as usize;

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let k = 63 - v.leading_zeros();
    let sub = (v >> (k - SUB_BITS)) & (SUB - 1);
    (((k - SUB_BITS + 1) as u64 * SUB + sub) as usize).min(BUCKETS - 1)
}

/// The smallest value that falls in bucket `i`.
fn lower_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let k = i / SUB + u64::from(SUB_BITS) - 1;
    let sub = i % SUB;
    (1 << k) | (sub << (k - u64::from(SUB_BITS)))
}

/// Concurrent recorder.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
    max: AtomicU64,
    sum: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one value in microseconds.
    pub fn record(&self, micros: u64) {
        self.buckets[index(micros)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(micros, Ordering::Relaxed);
        self.sum.fetch_add(micros, Ordering::Relaxed);
    }

    /// Moves everything recorded so far into a snapshot and starts over.
    pub fn drain(&self) -> Snapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.swap(0, Ordering::Relaxed))
            .collect();
        Snapshot {
            counts,
            max: self.max.swap(0, Ordering::Relaxed),
            sum: self.sum.swap(0, Ordering::Relaxed),
        }
    }
}

/// Recorded values of one interval (or, merged, of a whole run).
#[derive(Debug, Clone)]
pub struct Snapshot {
    counts: Vec<u64>,
    max: u64,
    sum: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            counts: vec![0; BUCKETS],
            max: 0,
            sum: 0,
        }
    }
}

impl Snapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn max_us(&self) -> u64 {
        self.max
    }

    pub fn mean_us(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            self.sum as f64 / n as f64
        }
    }

    /// The value at quantile `q` (0..=1), as the lower bound of its bucket.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return lower_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// Adds another snapshot into this one.
    pub fn merge(&mut self, other: &Snapshot) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_tight_and_ordered() {
        let mut last = 0;
        for v in [0u64, 1, 31, 32, 33, 63, 64, 100, 1000, 12_345, 1 << 30] {
            let i = index(v);
            assert!(i >= last);
            last = i;
            let lb = lower_bound(i);
            assert!(lb <= v, "{v}: lower bound {lb}");
            assert!(
                (v - lb) as f64 <= v as f64 * 0.032 + 1.0,
                "{v}: bucket too wide ({lb})"
            );
        }
    }

    #[test]
    fn quantiles_and_merge() {
        let h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        let s = h.drain();
        assert_eq!(s.count(), 1000);
        assert_eq!(s.max_us(), 1000);
        assert!((s.mean_us() - 500.5).abs() < 1e-9);
        let p50 = s.quantile_us(0.5);
        assert!((480..=500).contains(&p50), "{p50}");
        let p99 = s.quantile_us(0.99);
        assert!((960..=990).contains(&p99), "{p99}");
        assert_eq!(h.drain().count(), 0);
        let mut total = Snapshot::default();
        total.merge(&s);
        total.merge(&s);
        assert_eq!(total.count(), 2000);
    }
}
