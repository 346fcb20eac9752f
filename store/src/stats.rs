//! [`StoreStats`]: counters and positions of the store, for the broker's runtime info and
//! for tests and benchmarks (e.g. appends per msync under group commit).

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
    /// The allocation thread has the next CommitLog file created and warmed.
    pub next_file_ready: bool,
    /// Last measured disk usage of the CommitLog partition, in percent.
    pub disk_used_ratio: f64,
    /// Appends are refused because the disk is over `diskSpaceWarningLevelRatio`.
    pub disk_full: bool,
    /// Appends are refused until restart (after an msync error, say); the reason.
    pub poisoned: Option<String>,
    /// Appends are refused because a file could not be created on a full disk; the reason
    /// (names the file). Clears by itself once a retry finds space.
    pub out_of_space: Option<String>,
    /// The dispatcher stopped at an unreadable record; names the file and offset.
    pub dispatch_stopped: Option<String>,
}
