//! [`ConsumeQueue`]: the index of one topic queue into the CommitLog, in
//! `consumequeue/<topic>/<queueId>/`, files of `mappedFileSizeConsumeQueue` bytes named by
//! their byte offset. Entry `i` (logical offset `i`) sits at byte `20 * i`:
//! ```text
//! i64 commit log offset | i32 record size | i64 tag hash
//! ```
//! An all-zero entry (size 0) was never written. A pre-blank entry (offset 0, size
//! `i32::MAX`) fills positions below the first real entry when a queue starts at a non-zero
//! offset (its earlier files were cleaned or lost), or a gap the dispatcher had to skip.
//! Only dispatch writes (one drainer at a time, see `dispatch.rs`); readers read published
//! entries.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::error::StoreError;
use super::mapped_file::{MappedFile, MappedFileWriter};
use super::mapped_file_queue::MappedFileQueue;

/// Bytes per entry.
pub const CQ_ENTRY_SIZE: usize = 20;
const BLANK_SIZE: i32 = i32::MAX;

/// One consume-queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    pub commit_log_offset: i64,
    pub size: i32,
    pub tag_code: i64,
}

impl CqEntry {
    pub(crate) fn decode(b: &[u8]) -> CqEntry {
        let mut o = [0u8; 8];
        o.copy_from_slice(&b[0..8]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&b[12..20]);
        CqEntry {
            commit_log_offset: i64::from_be_bytes(o),
            size: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            tag_code: i64::from_be_bytes(t),
        }
    }

    fn encode(&self) -> [u8; CQ_ENTRY_SIZE] {
        let mut b = [0u8; CQ_ENTRY_SIZE];
        b[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..20].copy_from_slice(&self.tag_code.to_be_bytes());
        b
    }

    /// A real entry (neither unwritten nor pre-blank).
    pub fn is_valid(&self) -> bool {
        self.size > 0 && self.size != BLANK_SIZE && self.commit_log_offset >= 0
    }

    const BLANK: CqEntry = CqEntry {
        commit_log_offset: 0,
        size: BLANK_SIZE,
        tag_code: 0,
    };
}

/// What [`ConsumeQueue::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutOutcome {
    Written,
    /// The entry was there already (idempotent re-dispatch).
    Present,
    /// Entries were missing before this one; they were filled with blanks.
    Gap {
        expected: i64,
    },
}

#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedFileQueue,
    writer: Mutex<Option<MappedFileWriter>>,
    /// Logical offset of the first entry still valid.
    min_offset: AtomicI64,
}

impl ConsumeQueue {
    /// Opens (or creates) the queue's directory. Positions stay "whole file" until
    /// recovery sets them.
    pub(crate) fn load(
        dir: &Path,
        topic: &str,
        queue_id: i32,
        file_size: usize,
    ) -> Result<ConsumeQueue, StoreError> {
        Ok(ConsumeQueue {
            topic: topic.to_string(),
            queue_id,
            files: MappedFileQueue::load(dir, file_size)?,
            writer: Mutex::new(None),
            min_offset: AtomicI64::new(0),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    #[cfg(test)]
    pub(crate) fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    fn entries_per_file(&self) -> i64 {
        (self.files.file_size() / CQ_ENTRY_SIZE) as i64
    }

    /// Next logical offset (entries written).
    pub fn max_offset(&self) -> i64 {
        self.files.max_offset() / CQ_ENTRY_SIZE as i64
    }

    pub fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    /// The entry at `logic`, if written.
    pub fn entry(&self, logic: i64) -> Option<CqEntry> {
        let (file, pos) = self.locate(logic)?;
        file.read(pos, CQ_ENTRY_SIZE).map(CqEntry::decode)
    }

    /// Up to `max` consecutive written entries from `logic`, all from one file.
    pub(crate) fn entries(&self, logic: i64, max: usize) -> Vec<CqEntry> {
        let Some((file, pos)) = self.locate(logic) else {
            return Vec::new();
        };
        let Some(buf) = file.read_from(pos) else {
            return Vec::new();
        };
        buf.chunks_exact(CQ_ENTRY_SIZE)
            .take(max)
            .map(CqEntry::decode)
            .collect()
    }

    fn locate(&self, logic: i64) -> Option<(Arc<MappedFile>, usize)> {
        let byte = logic.checked_mul(CQ_ENTRY_SIZE as i64)?;
        let file = self.files.find(byte)?;
        let pos = usize::try_from(byte - file.start_offset()).ok()?;
        Some((file, pos))
    }

    /// Writes the entry for logical offset `logic` (dispatcher only), creating files and
    /// filling gaps as needed.
    pub(crate) fn put(&self, logic: i64, entry: CqEntry) -> Result<PutOutcome, StoreError> {
        let max = self.max_offset();
        if logic < max {
            return Ok(PutOutcome::Present);
        }
        let mut outcome = PutOutcome::Written;
        if self.files.is_empty() {
            let base = logic / self.entries_per_file() * self.entries_per_file();
            self.files.create_file(base * CQ_ENTRY_SIZE as i64)?;
            self.min_offset.store(logic, Ordering::Release);
            if logic > base {
                self.fill_blanks(base, logic)?;
            }
        } else if logic > max {
            outcome = PutOutcome::Gap { expected: max };
            self.fill_blanks(max, logic)?;
        }
        self.write(entry)?;
        Ok(outcome)
    }

    /// [`put`](Self::put) without file I/O, for dispatch on an appender's thread: `None`
    /// (nothing written) when the entry needs a new file, reserved blocks or fills a gap.
    pub(crate) fn try_put(&self, logic: i64, entry: CqEntry) -> Option<PutOutcome> {
        let max = self.max_offset();
        if logic < max {
            return Some(PutOutcome::Present);
        }
        if logic > max || self.files.is_empty() {
            return None;
        }
        let mut slot = self.writer.lock();
        if !self.ensure_writer(&mut slot) {
            return None;
        }
        let writer = slot.as_mut()?;
        // Blocks not reserved yet (a file reopened after a restart): reserving is file I/O.
        if writer.reserved_ahead() < CQ_ENTRY_SIZE {
            return None;
        }
        writer.append(&entry.encode()).ok()??;
        Some(PutOutcome::Written)
    }

    fn fill_blanks(&self, from: i64, to: i64) -> Result<(), StoreError> {
        for _ in from..to {
            self.write(CqEntry::BLANK)?;
        }
        Ok(())
    }

    fn write(&self, entry: CqEntry) -> Result<(), StoreError> {
        let mut slot = self.writer.lock();
        if !self.ensure_writer(&mut slot) {
            let start = self.files.last().map_or(0, |f| f.end_offset());
            *slot = self.files.create_file(start)?.writer();
        }
        if let Some(w) = slot.as_mut() {
            // Room was checked above; a file reopened after a restart may still need its
            // blocks reserved, which fails on a full disk (the dispatcher retries).
            w.append(&entry.encode())?;
        }
        Ok(())
    }

    /// Makes `slot` hold a writer with room for one entry, in an existing file; false when
    /// that needs a new file.
    fn ensure_writer(&self, slot: &mut Option<MappedFileWriter>) -> bool {
        if slot
            .as_ref()
            .is_some_and(|w| w.remaining() >= CQ_ENTRY_SIZE)
        {
            return true;
        }
        *slot = None;
        match self.files.last() {
            Some(f) if f.wrote_position() + CQ_ENTRY_SIZE <= f.size() => {
                *slot = f.writer();
                slot.is_some()
            }
            _ => false,
        }
    }

    /// Recovery after a clean shutdown: the last file's entries end at the first unwritten
    /// entry (found by binary search: entries are written in order and the tail is zero).
    pub(crate) fn recover_clean(&self, commit_log_min: i64) {
        let files = self.files.files();
        for (i, f) in files.iter().enumerate() {
            let end = if i + 1 == files.len() {
                let n = f.size() / CQ_ENTRY_SIZE;
                let (mut lo, mut hi) = (0, n);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let written = f
                        .read(mid * CQ_ENTRY_SIZE, CQ_ENTRY_SIZE)
                        .is_some_and(|b| CqEntry::decode(b).size != 0);
                    if written {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo * CQ_ENTRY_SIZE
            } else {
                f.size()
            };
            self.set_file_position(f, end, false);
        }
        self.correct_min_offset(commit_log_min);
    }

    /// Recovery after a crash: keeps the entries (in file order) that are valid, increasing
    /// and point below `safe_end`; zeroes the rest. Returns how many entries were dropped.
    pub(crate) fn recover_crash(&self, safe_end: i64, commit_log_min: i64) -> u64 {
        let files = self.files.files();
        // Start from the newest file whose first entry is durable.
        let from = files
            .iter()
            .rposition(|f| {
                f.read(0, CQ_ENTRY_SIZE)
                    .map(CqEntry::decode)
                    .is_some_and(|e| e.size != 0 && e.commit_log_offset < safe_end)
            })
            .unwrap_or(0);
        let mut dropped = 0u64;
        let mut prev = -1i64;
        let mut cut = false;
        for (i, f) in files.iter().enumerate() {
            if i < from {
                self.set_file_position(f, f.size(), false);
                continue;
            }
            let mut end = 0;
            let buf = f.read(0, f.size()).unwrap_or(&[]);
            for chunk in buf.chunks_exact(CQ_ENTRY_SIZE) {
                let e = CqEntry::decode(chunk);
                let blank = e == CqEntry::BLANK;
                let ok = !cut
                    && (blank
                        || (e.is_valid()
                            && e.commit_log_offset > prev
                            && e.commit_log_offset < safe_end));
                if ok {
                    if !blank {
                        prev = e.commit_log_offset;
                    }
                    end += CQ_ENTRY_SIZE;
                } else {
                    cut = true;
                    if e.size != 0 {
                        dropped += 1;
                    }
                }
            }
            self.set_file_position(f, end, true);
        }
        // Drop files that hold nothing, but keep the first so the queue keeps its offsets.
        if let Some(keep) = files.iter().position(|f| f.wrote_position() == 0) {
            let keep_start = files[keep].start_offset();
            if keep > 0 {
                self.files.delete_after(keep_start - 1);
            } else {
                self.files.delete_after(keep_start);
            }
        }
        self.correct_min_offset(commit_log_min);
        dropped
    }

    fn set_file_position(&self, f: &Arc<MappedFile>, end: usize, zero_tail: bool) {
        let Some(mut w) = f.writer() else { return };
        if zero_tail {
            if let Err(e) = w.truncate(end) {
                tracing::error!(path = %f.path().display(), error = %e, "cannot zero queue tail");
            }
        } else {
            w.set_position(end, true);
        }
    }

    /// Moves the min offset to the first entry pointing at or past `commit_log_min`.
    pub(crate) fn correct_min_offset(&self, commit_log_min: i64) {
        let Some(first) = self.files.first() else {
            self.min_offset.store(0, Ordering::Release);
            return;
        };
        let base = first.start_offset() / CQ_ENTRY_SIZE as i64;
        let n = first.wrote_position() / CQ_ENTRY_SIZE;
        let at = |i: usize| {
            first
                .read(i * CQ_ENTRY_SIZE, CQ_ENTRY_SIZE)
                .map(CqEntry::decode)
        };
        // Skip leading pre-blanks, then binary search: real entries are ordered by commit
        // log offset; a rare gap blank is probed through to the next real entry.
        let mut lo = (0..n)
            .find(|&i| at(i).is_some_and(|e| e.is_valid()))
            .unwrap_or(n);
        let mut hi = n;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let next_real = (mid..n).find_map(|i| at(i).filter(CqEntry::is_valid));
            if next_real.is_some_and(|e| e.commit_log_offset < commit_log_min) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.min_offset.store(base + lo as i64, Ordering::Release);
    }

    /// Deletes files whose entries all point below `commit_log_min` (never the last file)
    /// and moves the min offset. Returns the number of files deleted.
    pub(crate) fn delete_expired(&self, commit_log_min: i64) -> usize {
        let removed = self.files.delete_front_while(usize::MAX, |f| {
            let last = f.wrote_position() / CQ_ENTRY_SIZE;
            last > 0
                && f.read((last - 1) * CQ_ENTRY_SIZE, CQ_ENTRY_SIZE)
                    .map(CqEntry::decode)
                    .is_some_and(|e| e.commit_log_offset < commit_log_min)
        });
        self.correct_min_offset(commit_log_min);
        removed.len()
    }

    /// Flushes dirty files when at least `least_bytes` are dirty (0: always).
    pub(crate) fn flush(&self, least_bytes: i64) -> Result<u64, StoreError> {
        if self.files.dirty_bytes() > 0 && self.files.dirty_bytes() >= least_bytes {
            self.files.flush()
        } else {
            Ok(0)
        }
    }

    /// Deletes all files of the queue.
    pub(crate) fn destroy(&self) {
        *self.writer.lock() = None;
        self.files.delete_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(off: i64) -> CqEntry {
        CqEntry {
            commit_log_offset: off,
            size: 100,
            tag_code: off * 7,
        }
    }

    #[test]
    fn put_read_roll_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::load(dir.path(), "T", 0, 5 * CQ_ENTRY_SIZE).unwrap();
        for i in 0..12 {
            assert_eq!(cq.put(i, e(i * 100)).unwrap(), PutOutcome::Written);
        }
        assert_eq!(cq.put(3, e(300)).unwrap(), PutOutcome::Present);
        assert_eq!(cq.max_offset(), 12);
        assert_eq!(cq.files().files().len(), 3);
        assert_eq!(cq.entry(7), Some(e(700)));
        assert_eq!(cq.entry(12), None);
        assert_eq!(
            cq.entries(3, 10),
            vec![e(300), e(400)],
            "one file at a time"
        );
        drop(cq);

        let cq = ConsumeQueue::load(dir.path(), "T", 0, 5 * CQ_ENTRY_SIZE).unwrap();
        cq.recover_clean(0);
        assert_eq!((cq.min_offset(), cq.max_offset()), (0, 12));
        let cq2 = ConsumeQueue::load(dir.path(), "T", 0, 5 * CQ_ENTRY_SIZE).unwrap();
        drop(cq);
        assert_eq!(cq2.recover_crash(650, 250), 5);
        assert_eq!((cq2.min_offset(), cq2.max_offset()), (3, 7));
        assert_eq!(cq2.put(7, e(700)).unwrap(), PutOutcome::Written);
        assert_eq!(cq2.delete_expired(500), 1);
        assert_eq!((cq2.min_offset(), cq2.max_offset()), (5, 8));
    }

    #[test]
    fn starts_late_and_fills_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::load(dir.path(), "T", 0, 4 * CQ_ENTRY_SIZE).unwrap();
        cq.put(6, e(1000)).unwrap();
        assert_eq!(cq.files().min_offset(), 4 * CQ_ENTRY_SIZE as i64);
        assert_eq!((cq.min_offset(), cq.max_offset()), (6, 7));
        assert_eq!(cq.put(9, e(2000)).unwrap(), PutOutcome::Gap { expected: 7 });
        assert_eq!(cq.entry(8), Some(CqEntry::BLANK));
        assert!(!cq.entry(8).unwrap().is_valid());
        drop(cq);
        let cq = ConsumeQueue::load(dir.path(), "T", 0, 4 * CQ_ENTRY_SIZE).unwrap();
        cq.recover_clean(0);
        assert_eq!((cq.min_offset(), cq.max_offset()), (6, 10));
    }
}
