//! [`TimerLog`]: per timer, its link in its wheel slot's chain and whether it was delivered.
//! Entry `i` belongs to the message at offset `i` of the timer queue (`rmq_sys_wheel_timer`
//! queue 0, whose consume-queue entry holds the record's place and due time), in files
//! `timerlog/<20-digit first offset>` of 2^20 entries mapped read-write:
//! ```text
//! entry i at 16 * (i % 2^20)   i64 previous offset + 1 in the same slot (0 = none)
//!                              i64 delivered at, ms since the epoch (0 = not yet)
//! ```
//! Files are created on first use and deleted once the timer queue no longer reaches them.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::error::StoreError;
use crate::index_file::{i64_at, put_i64};
use crate::mapped_file::{create_reserved, file_name, map_mut};

const ENTRY: usize = 16;
/// Entries per file (16 MiB files).
const PER_FILE: i64 = 1 << 20;

pub(crate) struct TimerLog {
    dir: PathBuf,
    /// Mapped files by their first entry.
    files: BTreeMap<i64, MmapMut>,
}

impl std::fmt::Debug for TimerLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerLog")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .finish()
    }
}

impl TimerLog {
    /// Maps every file in `dir` (created if missing).
    pub(crate) fn open(dir: &Path) -> Result<TimerLog, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::io("create directory", dir))?;
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(StoreError::io("list", dir))? {
            let entry = entry.map_err(StoreError::io("list", dir))?;
            let path = entry.path();
            let Some(first) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| n % PER_FILE == 0)
            else {
                tracing::warn!(path = %path.display(), "ignoring unknown file in timerlog/");
                continue;
            };
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(StoreError::io("open", &path))?;
            let map = map_mut(&file, &path)?;
            if map.len() != PER_FILE as usize * ENTRY {
                return Err(StoreError::BadFile {
                    path,
                    reason: format!("timer log file is {} bytes", map.len()),
                });
            }
            files.insert(first, map);
        }
        Ok(TimerLog {
            dir: dir.to_path_buf(),
            files,
        })
    }

    fn locate(index: i64) -> (i64, usize) {
        let first = index - index.rem_euclid(PER_FILE);
        (first, (index - first) as usize * ENTRY)
    }

    fn read(&self, index: i64, field: usize) -> i64 {
        let (first, pos) = Self::locate(index);
        self.files
            .get(&first)
            .map_or(0, |map| i64_at(map, pos + field))
    }

    fn write(&mut self, index: i64, field: usize, value: i64) -> Result<(), StoreError> {
        let (first, pos) = Self::locate(index);
        if !self.files.contains_key(&first) {
            let path = self.dir.join(file_name(first));
            let size = PER_FILE as usize * ENTRY;
            let file = create_reserved(&path, size, size)?;
            self.files.insert(first, map_mut(&file, &path)?);
        }
        if let Some(map) = self.files.get_mut(&first) {
            put_i64(map, pos + field, value);
        }
        Ok(())
    }

    /// The timer linked before `index` in its slot.
    pub(crate) fn prev(&self, index: i64) -> Option<i64> {
        let v = self.read(index, 0);
        (v > 0).then_some(v - 1)
    }

    pub(crate) fn set_prev(&mut self, index: i64, prev: Option<i64>) -> Result<(), StoreError> {
        self.write(index, 0, prev.map_or(0, |p| p + 1))
    }

    pub(crate) fn delivered(&self, index: i64) -> bool {
        self.read(index, 8) != 0
    }

    pub(crate) fn mark_delivered(&mut self, index: i64, at: i64) -> Result<(), StoreError> {
        self.write(index, 8, at.max(1))
    }

    /// Deletes the files whose entries all lie below `index`.
    pub(crate) fn delete_below(&mut self, index: i64) {
        let doomed: Vec<i64> = self
            .files
            .keys()
            .copied()
            .take_while(|first| first + PER_FILE <= index)
            .collect();
        for first in doomed {
            self.files.remove(&first);
            let path = self.dir.join(file_name(first));
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(path = %path.display(), "deleted timer log file"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot delete timer log file")
                }
            }
        }
    }

    /// msyncs every file.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        for (first, map) in &self.files {
            map.flush()
                .map_err(StoreError::io("msync", &self.dir.join(file_name(*first))))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_marks_reopens_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TimerLog::open(dir.path()).unwrap();
        assert_eq!(log.prev(5), None);
        assert!(!log.delivered(5));
        log.set_prev(5, Some(0)).unwrap();
        log.set_prev(6, None).unwrap();
        log.mark_delivered(6, 1234).unwrap();
        log.set_prev(PER_FILE + 1, Some(5)).unwrap();
        assert_eq!(log.prev(5), Some(0));
        assert_eq!(log.prev(6), None);
        assert!(log.delivered(6) && !log.delivered(5));
        log.flush().unwrap();
        drop(log);
        let mut log = TimerLog::open(dir.path()).unwrap();
        assert_eq!(log.prev(PER_FILE + 1), Some(5));
        assert!(log.delivered(6));
        log.delete_below(PER_FILE + 3);
        assert_eq!(log.prev(5), None, "first file deleted");
        assert_eq!(log.prev(PER_FILE + 1), Some(5));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
