//! [`MappedFileQueue`]: the ordered, contiguous files of one log (the CommitLog, or one
//! ConsumeQueue) in one directory, each `file_size` bytes and named by its start offset:
//! `00000000000000000000`, `00000000001073741824`, ...
//!
//! New files are reserved whole, unless the queue was made [`sparse`](MappedFileQueue::sparse)
//! (the CommitLog: see `mapped_file.rs`).
//!
//! The list is behind a `RwLock` that is held only to clone an `Arc` out or to push/remove
//! one; reads and writes of file contents happen outside it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::error::StoreError;
use super::mapped_file::{sync_dir, MappedFile};

#[derive(Debug)]
pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: usize,
    /// Bytes reserved in a new file: all of it, or this many for a sparse queue.
    reserve_on_create: Option<usize>,
    files: RwLock<Vec<Arc<MappedFile>>>,
}

impl MappedFileQueue {
    /// Opens the files in `dir` (creating the directory). Names that are not 20 digits are
    /// ignored with a warning; a gap between files is an error.
    pub fn load(dir: &Path, file_size: usize) -> Result<MappedFileQueue, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::io("create directory", dir))?;
        let mut starts = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(StoreError::io("list", dir))? {
            let entry = entry.map_err(StoreError::io("list", dir))?;
            let name = entry.file_name();
            let parsed = name
                .to_str()
                .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<i64>().ok());
            match parsed {
                Some(start) => starts.push(start),
                None => tracing::warn!(path = %entry.path().display(), "ignoring unknown file"),
            }
        }
        starts.sort_unstable();
        let mut files: Vec<Arc<MappedFile>> = Vec::with_capacity(starts.len());
        for start in starts {
            let path = dir.join(super::mapped_file::file_name(start));
            if start % file_size as i64 != 0 {
                return Err(StoreError::BadFile {
                    path,
                    reason: format!("start offset is not a multiple of the file size {file_size}"),
                });
            }
            if let Some(prev) = files.last() {
                if prev.end_offset() != start {
                    return Err(StoreError::BadFile {
                        path,
                        reason: format!("gap: previous file ends at {}", prev.end_offset()),
                    });
                }
            }
            files.push(MappedFile::open(&path, start, file_size)?);
        }
        Ok(MappedFileQueue {
            dir: dir.to_path_buf(),
            file_size,
            reserve_on_create: None,
            files: RwLock::new(files),
        })
    }

    /// Files this queue creates are sparse, with only their first `reserve` bytes reserved.
    pub fn sparse(mut self, reserve: usize) -> MappedFileQueue {
        self.reserve_on_create = Some(reserve);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// A snapshot of the files, oldest first.
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    pub fn first(&self) -> Option<Arc<MappedFile>> {
        self.files.read().first().cloned()
    }

    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }

    /// The file holding `offset` (or, for the end offset of the last file, that file).
    pub fn find(&self, offset: i64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let first = files.first()?;
        if offset < first.start_offset() {
            return None;
        }
        let idx = usize::try_from((offset - first.start_offset()) / self.file_size as i64).ok()?;
        match files.get(idx) {
            Some(f) => Some(f.clone()),
            None if idx == files.len() && offset == files.last()?.end_offset() => {
                files.last().cloned()
            }
            None => None,
        }
    }

    /// Offset of the first byte still kept (0 when there are no files).
    pub fn min_offset(&self) -> i64 {
        self.first().map_or(0, |f| f.start_offset())
    }

    /// Offset just past the last written byte (0 when there are no files).
    pub fn max_offset(&self) -> i64 {
        self.last()
            .map_or(0, |f| f.start_offset() + f.wrote_position() as i64)
    }

    /// Offset up to which the log is flushed (files are flushed front to back, so every
    /// file before the last one with flushed bytes is fully flushed).
    pub fn flushed_offset(&self) -> i64 {
        let files = self.files.read();
        for f in files.iter().rev() {
            if f.flushed_position() > 0 {
                return f.start_offset() + f.flushed_position() as i64;
            }
        }
        files.first().map_or(0, |f| f.start_offset())
    }

    /// Creates the file starting at `start` and appends it to the queue.
    pub fn create_file(&self, start: i64) -> Result<Arc<MappedFile>, StoreError> {
        let expected = self.last().map(|f| f.end_offset());
        if expected.is_some_and(|e| e != start) {
            return Err(StoreError::BadFile {
                path: self.dir.join(super::mapped_file::file_name(start)),
                reason: format!("does not follow the last file (expected start {expected:?})"),
            });
        }
        let f = match self.reserve_on_create {
            None => MappedFile::create(&self.dir, start, self.file_size)?,
            Some(reserve) => {
                MappedFile::create_sparse(&self.dir, start, self.file_size, reserve, false, || {
                    false
                })?
            }
        };
        self.push(f.clone())?;
        Ok(f)
    }

    /// Appends a file created elsewhere (the allocation thread); it must follow the last.
    pub fn push(&self, file: Arc<MappedFile>) -> Result<(), StoreError> {
        let mut files = self.files.write();
        let expected = files.last().map(|f| f.end_offset());
        if expected.is_some_and(|e| e != file.start_offset()) || file.size() != self.file_size {
            return Err(StoreError::BadFile {
                path: file.path().to_path_buf(),
                reason: format!("does not follow the last file (expected start {expected:?})"),
            });
        }
        files.push(file);
        Ok(())
    }

    /// Msyncs every file with unflushed bytes, oldest first; returns how many msyncs were
    /// issued. The error names the file.
    pub fn flush(&self) -> Result<u64, StoreError> {
        self.flush_with(MappedFile::flush)
    }

    /// Like [`flush`](Self::flush) but leaves the partly written last page dirty (see
    /// [`MappedFile::flush_whole_pages`]).
    pub fn flush_whole_pages(&self) -> Result<u64, StoreError> {
        self.flush_with(MappedFile::flush_whole_pages)
    }

    fn flush_with(
        &self,
        flush: impl Fn(&MappedFile) -> std::io::Result<bool>,
    ) -> Result<u64, StoreError> {
        let files = self.files();
        let pending = files
            .iter()
            .rev()
            .take_while(|f| f.flushed_position() < f.size())
            .count();
        let mut msyncs = 0;
        for f in &files[files.len() - pending..] {
            if flush(f).map_err(StoreError::io("msync", f.path()))? {
                msyncs += 1;
            }
        }
        Ok(msyncs)
    }

    /// Bytes written but not yet flushed.
    pub fn dirty_bytes(&self) -> i64 {
        self.max_offset() - self.flushed_offset()
    }

    /// Removes and deletes the files starting after `offset` (recovery). Such files hold no
    /// recovered data (usually the next file, prepared before a clean shutdown), so this is
    /// logged at debug level; the recovery report counts them.
    pub fn delete_after(&self, offset: i64) -> usize {
        let removed: Vec<_> = {
            let mut files = self.files.write();
            let keep = files
                .iter()
                .take_while(|f| f.start_offset() <= offset)
                .count();
            files.split_off(keep)
        };
        self.unlink(&removed, tracing::Level::DEBUG);
        removed.len()
    }

    /// Removes and deletes up to `max` files from the front while `pred` holds, never the
    /// last file. Returns the removed files.
    pub fn delete_front_while(
        &self,
        max: usize,
        mut pred: impl FnMut(&MappedFile) -> bool,
    ) -> Vec<Arc<MappedFile>> {
        let removed: Vec<_> = {
            let mut files = self.files.write();
            let candidates = files.len().saturating_sub(1).min(max);
            let n = files[..candidates].iter().take_while(|f| pred(f)).count();
            files.drain(..n).collect()
        };
        self.unlink(&removed, tracing::Level::INFO);
        removed
    }

    /// Removes every file (and the directory if it ends up empty).
    pub fn delete_all(&self) {
        let removed = std::mem::take(&mut *self.files.write());
        self.unlink(&removed, tracing::Level::INFO);
        let _ = std::fs::remove_dir(&self.dir);
    }

    fn unlink(&self, files: &[Arc<MappedFile>], level: tracing::Level) {
        for f in files {
            match std::fs::remove_file(f.path()) {
                Ok(()) if level == tracing::Level::INFO => {
                    tracing::info!(path = %f.path().display(), "deleted store file")
                }
                Ok(()) => tracing::debug!(path = %f.path().display(), "deleted store file"),
                Err(e) => {
                    tracing::warn!(path = %f.path().display(), error = %e, "cannot delete store file")
                }
            }
        }
        if !files.is_empty() {
            if let Err(e) = sync_dir(&self.dir) {
                tracing::warn!(error = %e, "cannot fsync directory after deleting files");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_roll_find_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::load(dir.path(), 4096).unwrap();
        assert!(q.is_empty());
        assert_eq!((q.min_offset(), q.max_offset()), (0, 0));
        for start in [0, 4096, 8192] {
            let f = q.create_file(start).unwrap();
            let mut w = f.writer().unwrap();
            w.append(&[1u8; 100]).unwrap().unwrap();
            if start < 8192 {
                w.fill_to_end(&[0; 8]);
            }
        }
        assert!(q.create_file(4096 * 5).is_err(), "files must be contiguous");
        assert_eq!(q.max_offset(), 8192 + 100);
        assert_eq!(q.find(5000).unwrap().start_offset(), 4096);
        assert_eq!(q.find(12288).unwrap().start_offset(), 8192);
        assert!(q.find(12289).is_none());
        assert_eq!(q.dirty_bytes(), 8192 + 100);
        assert_eq!(q.flush().unwrap(), 3);
        assert_eq!(q.flushed_offset(), 8192 + 100);
        std::fs::write(dir.path().join("junk"), b"x").unwrap();
        drop(q);

        let q = MappedFileQueue::load(dir.path(), 4096).unwrap();
        assert_eq!(q.files().len(), 3);
        let removed = q.delete_front_while(10, |_| true);
        assert_eq!(removed.len(), 2, "the last file is never deleted");
        assert_eq!(q.min_offset(), 8192);
        assert!(!dir.path().join("00000000000000000000").exists());
        assert_eq!(q.delete_after(0), 1);
        assert!(q.is_empty());
    }

    #[test]
    fn gaps_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        MappedFile::create(dir.path(), 0, 4096).unwrap();
        MappedFile::create(dir.path(), 8192, 4096).unwrap();
        assert!(matches!(
            MappedFileQueue::load(dir.path(), 4096),
            Err(StoreError::BadFile { .. })
        ));
    }
}
