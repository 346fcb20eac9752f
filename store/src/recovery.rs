//! Recovery at open: sets every file's write position so the CommitLog, the ConsumeQueues
//! and the IndexFiles agree, and says from where records must be dispatched again.
//!
//! * **Clean shutdown** (no `abort` file, intact checkpoint whose flushed and dispatched
//!   offsets agree): positions come from the checkpoint and a binary search of each queue's
//!   last file; nothing is scanned.
//! * **Crash**: the safe point `S = min(commitLogFlushedOffset, dispatchFlushedOffset)` (the
//!   oldest CommitLog offset if there is no checkpoint). Records from `S` are checked
//!   (magic, size, PHYSICALOFFSET = position, body CRC with `checkCRCOnRecover`); the log is
//!   cut at the first bad one and the bytes after it are zeroed so later scans stop there.
//!   ConsumeQueue entries at or past `S` are dropped, IndexFiles that may hold entries past
//!   `S` are deleted, and the caller re-dispatches from the earliest offset they covered.

use std::time::Duration;

use super::checkpoint::CheckpointData;
use super::commit_log::CommitLog;
use super::entry_check::{check_entry, Checked};
use super::error::StoreError;
use super::index::IndexService;
use super::queue_table::ConsumeQueueTable;

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The `abort` file was present: the last run did not shut down cleanly.
    pub crashed: bool,
    /// The checkpoint read at start, if intact.
    pub checkpoint: Option<CheckpointData>,
    /// Where the CommitLog scan started (`None` after a clean shutdown: no scan).
    pub scan_from: Option<i64>,
    /// Recovered end of the CommitLog.
    pub commit_log_end: i64,
    pub records_scanned: u64,
    /// Why the scan stopped before the end of the files, if it did.
    pub stopped_at: Option<String>,
    /// CommitLog files deleted because they lay past the recovered end.
    pub commit_log_files_deleted: usize,
    /// ConsumeQueue entries dropped because they pointed at or past the safe point.
    pub consume_queue_entries_dropped: u64,
    pub index_files_deleted: usize,
    /// Where re-dispatch started (the end of the log if nothing had to be redone).
    pub redispatch_from: i64,
    pub records_redispatched: u64,
    /// Time spent re-dispatching.
    pub redispatch_elapsed: Duration,
    /// Time the whole open took.
    pub elapsed: Duration,
}

/// One readable line: how the last run ended and what recovery did.
impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.crashed {
            "after a crash"
        } else {
            "after a clean shutdown"
        };
        write!(
            f,
            "opened {how}, commit log ends at {} ({} records scanned",
            self.commit_log_end, self.records_scanned
        )?;
        if self.records_redispatched > 0 {
            write!(f, ", {} re-dispatched", self.records_redispatched)?;
        }
        if self.consume_queue_entries_dropped > 0 {
            write!(
                f,
                ", {} consume queue entries dropped",
                self.consume_queue_entries_dropped
            )?;
        }
        if let Some(why) = &self.stopped_at {
            write!(f, ", scan stopped: {why}")?;
        }
        write!(f, ") in {} ms", self.elapsed.as_millis())
    }
}

/// Where the dispatcher must restart after recovery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resume {
    pub dispatch_from: i64,
    /// Records below this keep their index entries.
    pub index_from: i64,
}

/// Recovers the files in place; the caller then resumes the log and re-dispatches.
pub(crate) fn recover(
    commit_log: &CommitLog,
    queues: &ConsumeQueueTable,
    index: Option<&IndexService>,
    crashed: bool,
    checkpoint: Option<CheckpointData>,
    check_crc: bool,
    report: &mut RecoveryReport,
) -> Result<Resume, StoreError> {
    report.crashed = crashed;
    report.checkpoint = checkpoint;
    let files = commit_log.files();
    let cl_min = files.min_offset();
    if let Some(cp) = checkpoint
        .filter(|cp| !crashed && cp.commit_log_flushed_offset == cp.dispatch_flushed_offset)
    {
        let end = cp.commit_log_flushed_offset;
        let covered = files.is_empty() && end == 0 || (files.find(end).is_some() && end >= cl_min);
        if covered {
            report.commit_log_files_deleted = set_positions(commit_log, end, end, false)?;
            report.commit_log_end = end;
            for q in queues.all() {
                q.recover_clean(cl_min);
            }
            report.redispatch_from = end;
            return Ok(Resume {
                dispatch_from: end,
                index_from: end,
            });
        }
        tracing::warn!(
            end,
            "checkpoint does not match the commit log files; scanning"
        );
    }

    let mut safe = checkpoint.map_or(cl_min, |cp| {
        cp.commit_log_flushed_offset.min(cp.dispatch_flushed_offset)
    });
    if safe < cl_min || files.find(safe).is_none() {
        safe = cl_min;
    }
    report.scan_from = Some(safe);
    let end = scan(commit_log, safe, check_crc, report);
    report.commit_log_end = end;
    report.commit_log_files_deleted = set_positions(commit_log, end, safe, true)?;
    let cl_min = files.min_offset();
    for q in queues.all() {
        report.consume_queue_entries_dropped += q.recover_crash(safe, cl_min);
    }
    let (mut dispatch_from, mut index_from) = (safe, safe);
    if let Some(index) = index {
        let (deleted, last_indexed) = index.truncate_unsafe(safe);
        report.index_files_deleted = deleted;
        // Re-dispatch from a record start: the last indexed record (or the oldest one), and
        // index only the records after it.
        (dispatch_from, index_from) = match last_indexed {
            Some(last) if last >= cl_min => (last.min(safe), last + 1),
            _ => (cl_min, cl_min),
        };
    }
    report.redispatch_from = dispatch_from;
    Ok(Resume {
        dispatch_from,
        index_from,
    })
}

/// Scans records from `from`; returns the offset just past the last good one.
fn scan(commit_log: &CommitLog, from: i64, check_crc: bool, report: &mut RecoveryReport) -> i64 {
    let files = commit_log.files();
    let mut offset = from;
    while let Some(file) = files.find(offset) {
        if offset == file.end_offset() {
            break; // end of the last file
        }
        let pos = (offset - file.start_offset()) as usize;
        let left = file.size() - pos;
        let Some(buf) = file.read_from(pos) else {
            break;
        };
        let bad = match check_entry(buf, offset, left, check_crc) {
            Ok(Checked::Blank(_)) => {
                offset = file.end_offset();
                continue;
            }
            Ok(Checked::Record(size)) => {
                report.records_scanned += 1;
                offset += size as i64;
                continue;
            }
            Err(problem) => problem.to_string(),
        };
        // A zeroed tail is the normal end of the log, not damage.
        if !buf.iter().take(8).all(|b| *b == 0) {
            tracing::warn!(offset, reason = %bad, "commit log cut at a bad record");
            report.stopped_at = Some(format!("offset {offset}: {bad}"));
        }
        break;
    }
    offset
}

/// Sets every CommitLog file's position for a log ending at `end` and deletes the files
/// past it. Bytes below `durable_below` are known to be flushed; with `zero_tail` the bytes
/// after `end` are zeroed (crash case).
fn set_positions(
    commit_log: &CommitLog,
    end: i64,
    durable_below: i64,
    zero_tail: bool,
) -> Result<usize, StoreError> {
    let files = commit_log.files();
    for f in files.files() {
        let Some(mut w) = f.writer() else { continue };
        if f.end_offset() <= end {
            w.set_position(f.size(), f.end_offset() <= durable_below);
        } else if f.start_offset() <= end {
            let pos = (end - f.start_offset()) as usize;
            if zero_tail {
                w.truncate(pos)
                    .map_err(StoreError::io("zero commit log tail", f.path()))?;
            }
            w.set_position(pos, end <= durable_below);
        }
    }
    Ok(files.delete_after(end))
}
