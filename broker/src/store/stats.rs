//! [`StoreStats`]: counters and positions of the store, for the broker's runtime info and
//! for tests and benchmarks (e.g. appends per msync under group commit).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the store's counters and positions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreStats {
    /// Successful appends (a batch counts once).
    pub put_count: u64,
    /// Records appended.
    pub put_message_count: u64,
    /// Bytes appended to the CommitLog.
    pub put_bytes: u64,
    /// msync calls on the CommitLog.
    pub msync_count: u64,
    /// msync calls on ConsumeQueues.
    pub consume_queue_msync_count: u64,
    pub commit_log_min_offset: i64,
    pub commit_log_max_offset: i64,
    pub commit_log_flushed_offset: i64,
    pub dispatched_offset: i64,
    pub dispatch_behind_bytes: i64,
    pub consume_queue_count: usize,
    /// Last measured disk usage of the CommitLog partition, in percent.
    pub disk_used_ratio: f64,
    /// Appends are refused because the disk is over `diskSpaceWarningLevelRatio`.
    pub disk_full: bool,
    /// Appends are refused after an I/O error; the reason.
    pub poisoned: Option<String>,
}

/// Put counters, bumped after each append.
#[derive(Debug, Default)]
pub(crate) struct PutCounters {
    puts: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl PutCounters {
    pub(crate) fn record(&self, messages: usize, bytes: usize) {
        self.puts.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(messages as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// (puts, messages, bytes).
    pub(crate) fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.puts.load(Ordering::Relaxed),
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}
