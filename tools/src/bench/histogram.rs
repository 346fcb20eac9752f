//! Latency recording for the bench: an HDR histogram (`hdrhistogram`, 3 significant digits)
//! of microseconds behind a short lock, drained once per report interval.

use hdrhistogram::Histogram as Hdr;
use parking_lot::Mutex;

/// Largest latency tracked: an hour, in microseconds.
const MAX_US: u64 = 3_600_000_000;

fn empty() -> Hdr<u64> {
    Hdr::new_with_bounds(1, MAX_US, 3).expect("constant bounds within hdrhistogram's limits")
}

/// Concurrent recorder.
pub struct Histogram {
    current: Mutex<Hdr<u64>>,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            current: Mutex::new(empty()),
        }
    }

    /// Records one value in microseconds (values past an hour count as an hour).
    pub fn record(&self, micros: u64) {
        self.current
            .lock()
            .saturating_record(micros.clamp(1, MAX_US));
    }

    /// Moves everything recorded so far into a snapshot and starts over.
    pub fn drain(&self) -> Snapshot {
        Snapshot(std::mem::replace(&mut *self.current.lock(), empty()))
    }
}

/// Recorded values of one interval (or, merged, of a whole run).
#[derive(Debug, Clone)]
pub struct Snapshot(Hdr<u64>);

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot(empty())
    }
}

impl Snapshot {
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn max_us(&self) -> u64 {
        self.0.max()
    }

    pub fn mean_us(&self) -> f64 {
        self.0.mean()
    }

    /// The value at quantile `q` (0..=1).
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    /// Adds another snapshot into this one.
    pub fn merge(&mut self, other: &Snapshot) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_merge() {
        let h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        let s = h.drain();
        assert_eq!(s.count(), 1000);
        assert_eq!(s.max_us(), 1000);
        assert!((s.mean_us() - 500.5).abs() < 0.5);
        let p50 = s.quantile_us(0.5);
        assert!((499..=501).contains(&p50), "{p50}");
        let p99 = s.quantile_us(0.99);
        assert!((989..=991).contains(&p99), "{p99}");
        assert_eq!(h.drain().count(), 0);
        let mut total = Snapshot::default();
        total.merge(&s);
        total.merge(&s);
        assert_eq!(total.count(), 2000);
    }
}
