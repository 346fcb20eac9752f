//! [`MappedFile`]: one fixed-size store file (CommitLog or ConsumeQueue) mapped shared into
//! memory, named by the 20-digit zero-padded offset of its first byte in its log.
//!
//! Positions inside a file:
//! ```text
//! 0 ............ flushed ............ wrote ............ size
//! |  durable      |  in page cache     |  not yet written  |
//! ```
//! * `wrote` is published with Release after the bytes below it are written; readers load it
//!   with Acquire and read only below it, so they never see a half-written record.
//! * Only the holder of the file's [`MappedFileWriter`] (at most one exists, enforced by
//!   ownership and a flag) writes, and only at or past `wrote`.
//! * `flushed` is the end of the last msync.
//!
//! Files are never truncated or unmapped while an `Arc<MappedFile>` is alive: deleting a file
//! unlinks it and the mapping lives until the last reader (e.g. a pull response body holding
//! [`MappedFile::bytes`]) drops. New files get their blocks reserved with `posix_fallocate`,
//! so a full disk shows up as an error here rather than as SIGBUS on a page write.
//!
//! This is the only module of the store that uses `unsafe`: raw-pointer access to the map.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapMut, MmapOptions, MmapRaw};

use super::error::StoreError;

const PAGE: usize = 4096;
/// Pages warmed between checks of whether the file is wanted urgently.
const WARM_CHUNK: usize = 1 << 20;

/// The file name of a store file starting at `offset`.
pub fn file_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// One mapped store file.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    start: i64,
    size: usize,
    map: MmapRaw,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    writer_taken: AtomicBool,
    _file: File,
}

/// Creates (or extends) `path` to `size` bytes with blocks reserved, and returns it open.
/// A file this call created is removed again if its blocks cannot be reserved (a full disk
/// must not leave a short file behind for the next start to trip over).
fn reserve(path: &Path, size: usize, create_new: bool) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create_new)
        .create_new(create_new)
        .open(path)
        .map_err(StoreError::io("open", path))?;
    let len = i64::try_from(size).map_err(|_| StoreError::Config(format!("file size {size}")))?;
    if let Err(e) = nix::fcntl::posix_fallocate(&file, 0, len) {
        if create_new {
            drop(file);
            if let Err(rm) = std::fs::remove_file(path) {
                tracing::warn!(path = %path.display(), error = %rm, "cannot remove a file whose blocks could not be reserved");
            }
        }
        return Err(StoreError::io("fallocate", path)(io::Error::from(e)));
    }
    Ok(file)
}

/// Fsyncs a directory so a created or deleted entry survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("fsync directory", dir))
}

/// Maps a whole file read-write (IndexFiles, which rewrite hash slots in place).
pub fn map_mut(file: &File, path: &Path) -> Result<MmapMut, StoreError> {
    // SAFETY: the store holds the directory's `lock` file exclusively, so no other process
    // resizes or writes this file; inside the process only the owner of the returned map
    // (an IndexFile, which guards it with a lock) writes it, and nobody truncates it while
    // mapped.
    unsafe { MmapOptions::new().map_mut(file) }.map_err(StoreError::io("mmap", path))
}

/// Creates `path` with `size` reserved bytes and maps it (IndexFiles).
pub fn create_reserved(path: &Path, size: usize) -> Result<File, StoreError> {
    let file = reserve(path, size, true)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(file)
}

impl MappedFile {
    /// Creates the file starting at `start` in `dir`, reserving `size` bytes. Nothing is
    /// written yet (`wrote` = 0).
    pub fn create(dir: &Path, start: i64, size: usize) -> Result<Arc<MappedFile>, StoreError> {
        let path = dir.join(file_name(start));
        let file = reserve(&path, size, true)?;
        sync_dir(dir)?;
        Self::map(path, file, start, size, 0)
    }

    /// Maps an existing file. Everything in it counts as written until recovery sets the real
    /// position with `MappedFileWriter::set_position`. A file shorter than `size` (cut by a
    /// crash or an operator) is extended with zeros; a longer one is an error.
    pub fn open(path: &Path, start: i64, size: usize) -> Result<Arc<MappedFile>, StoreError> {
        let len = std::fs::metadata(path)
            .map_err(StoreError::io("stat", path))?
            .len();
        if len > size as u64 {
            return Err(StoreError::BadFile {
                path: path.to_path_buf(),
                reason: format!("file is {len} bytes, larger than the configured {size}"),
            });
        }
        if len < size as u64 {
            tracing::warn!(path = %path.display(), len, size, "store file is short; extending");
        }
        let file = reserve(path, size, false)?;
        Self::map(path.to_path_buf(), file, start, size, size)
    }

    fn map(
        path: PathBuf,
        file: File,
        start: i64,
        size: usize,
        wrote: usize,
    ) -> Result<Arc<MappedFile>, StoreError> {
        let map = MmapOptions::new()
            .len(size)
            .map_raw(&file)
            .map_err(StoreError::io("mmap", &path))?;
        Ok(Arc::new(MappedFile {
            path,
            start,
            size,
            map,
            wrote: AtomicUsize::new(wrote),
            flushed: AtomicUsize::new(wrote),
            writer_taken: AtomicBool::new(false),
            _file: file,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Log offset of the file's first byte.
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// Log offset just past the file.
    pub fn end_offset(&self) -> i64 {
        self.start + self.size as i64
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes readers may read (Acquire).
    pub fn wrote_position(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    pub fn flushed_position(&self) -> usize {
        self.flushed.load(Ordering::Acquire)
    }

    /// Whether every byte of the file is written.
    pub fn is_full(&self) -> bool {
        self.wrote_position() == self.size
    }

    /// `len` bytes at `pos`, if all lie below the write position.
    pub fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        // SAFETY: `pos..end` lies inside the map (wrote <= size) and below the write
        // position loaded with Acquire, so the writer finished writing these bytes before
        // publishing and never writes below the published position again (truncation only
        // happens during recovery, before any reader exists). The slice borrows `self`,
        // which keeps the map alive.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Everything written from `pos` on.
    pub fn read_from(&self, pos: usize) -> Option<&[u8]> {
        let wrote = self.wrote_position();
        self.read(pos, wrote.checked_sub(pos)?)
    }

    /// A zero-copy [`Bytes`] of `len` bytes at `pos` that keeps this file mapped.
    pub fn bytes(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        self.read(pos, len)?;
        Some(Bytes::from_owner(MappedSlice {
            file: self.clone(),
            pos,
            len,
        }))
    }

    /// Msyncs `[flushed, wrote)`. Returns whether an msync was issued.
    pub fn flush(&self) -> io::Result<bool> {
        self.flush_upto(usize::MAX)
    }

    /// Msyncs `[flushed, min(wrote, limit))`. Returns whether an msync was issued.
    pub fn flush_upto(&self, limit: usize) -> io::Result<bool> {
        let wrote = self.wrote_position().min(limit);
        let flushed = self.flushed_position();
        if wrote <= flushed {
            return Ok(false);
        }
        self.map.flush_range(flushed, wrote - flushed)?;
        self.flushed.fetch_max(wrote, Ordering::AcqRel);
        Ok(true)
    }

    /// Msyncs only whole pages below the write position, leaving the page being filled
    /// dirty: writing to a page cleaned by writeback would fault again (and on ext4 may wait
    /// for the journal), so the async flusher never cleans the page the appender is in.
    pub fn flush_whole_pages(&self) -> io::Result<bool> {
        let wrote = self.wrote_position();
        let limit = if wrote == self.size {
            wrote
        } else {
            wrote / PAGE * PAGE
        };
        self.flush_upto(limit)
    }

    /// Last modification time of the file on disk.
    pub fn modified(&self) -> io::Result<std::time::SystemTime> {
        std::fs::metadata(&self.path)?.modified()
    }

    /// The file's single writer, unless one is alive already.
    pub fn writer(self: &Arc<Self>) -> Option<MappedFileWriter> {
        if self.writer_taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(MappedFileWriter { file: self.clone() })
    }
}

/// The owner of a [`Bytes`] that borrows a mapped file.
struct MappedSlice {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for MappedSlice {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `MappedFile::bytes` checked that `pos..pos + len` lies below the published
        // write position; those bytes are never rewritten (see `MappedFile::read`) and the
        // `Arc` keeps the map alive as long as this owner.
        unsafe { std::slice::from_raw_parts(self.file.map.as_ptr().add(self.pos), self.len) }
    }
}

/// The only handle that writes a [`MappedFile`]. Not `Clone`; dropping it lets
/// [`MappedFile::writer`] hand out a new one.
#[derive(Debug)]
pub struct MappedFileWriter {
    file: Arc<MappedFile>,
}

impl Drop for MappedFileWriter {
    fn drop(&mut self) {
        self.file.writer_taken.store(false, Ordering::Release);
    }
}

impl MappedFileWriter {
    pub fn file(&self) -> &Arc<MappedFile> {
        &self.file
    }

    /// Current write position (no other thread moves it).
    pub fn position(&self) -> usize {
        self.file.wrote.load(Ordering::Relaxed)
    }

    /// Bytes left after the write position.
    pub fn remaining(&self) -> usize {
        self.file.size - self.position()
    }

    /// Copies `data` at the write position and publishes it. Returns the position written
    /// at, or `None` (writing nothing) if it does not fit.
    pub fn append(&mut self, data: &[u8]) -> Option<usize> {
        let pos = self.position();
        if data.len() > self.file.size - pos {
            return None;
        }
        // SAFETY: `pos..pos + data.len()` lies inside the map (checked above) and at or past
        // the published write position, which no reader reads; this handle is the only
        // writer (enforced by `writer_taken`), and `data` cannot alias the map because the
        // map is only reachable as shared slices below the write position.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.file.map.as_mut_ptr().add(pos),
                data.len(),
            );
        }
        self.file.wrote.store(pos + data.len(), Ordering::Release);
        Some(pos)
    }

    /// Writes `marker` at the write position and marks the whole file written (the rest of
    /// the file is unused: CommitLog end-of-file blank).
    pub fn fill_to_end(&mut self, marker: &[u8]) {
        let pos = self.position();
        let n = marker.len().min(self.file.size - pos);
        // SAFETY: as in `append`: inside the map, past the published position, sole writer.
        unsafe {
            std::ptr::copy_nonoverlapping(marker.as_ptr(), self.file.map.as_mut_ptr().add(pos), n);
        }
        self.file.wrote.store(self.file.size, Ordering::Release);
    }

    /// Recovery only, hence crate-private (moving the position down while readers hold
    /// slices would let the writer overwrite bytes they read): declares the first `pos`
    /// bytes written, without touching the data; `durable` says whether they are known to
    /// be on disk (otherwise the next flush msyncs them all).
    pub(crate) fn set_position(&mut self, pos: usize, durable: bool) {
        let pos = pos.min(self.file.size);
        self.file.wrote.store(pos, Ordering::Release);
        self.file
            .flushed
            .store(if durable { pos } else { 0 }, Ordering::Release);
    }

    /// Recovery only, hence crate-private (see `set_position`): cuts the file at `pos`,
    /// zeroing every non-zero page after it and msyncing them, so a later scan stops at
    /// `pos`.
    pub(crate) fn truncate(&mut self, pos: usize) -> io::Result<()> {
        let pos = pos.min(self.file.size);
        self.file.wrote.store(pos, Ordering::Release);
        let base = self.file.map.as_mut_ptr();
        let mut at = pos;
        let mut dirty_from = None;
        while at < self.file.size {
            let end = ((at / PAGE + 1) * PAGE).min(self.file.size);
            // SAFETY: `at..end` lies inside the map and past the write position just lowered
            // to `pos`; recovery runs before any reader exists and this is the sole writer.
            let chunk = unsafe { std::slice::from_raw_parts_mut(base.add(at), end - at) };
            if chunk.iter().any(|b| *b != 0) {
                chunk.fill(0);
                dirty_from.get_or_insert(at);
            }
            at = end;
        }
        if let Some(from) = dirty_from {
            self.file.map.flush_range(from, self.file.size - from)?;
        }
        self.file.flushed.store(pos, Ordering::Release);
        Ok(())
    }

    /// Faults in every page after the write position (on the allocation thread) so appends
    /// do not. Stops early, returning false, when `stop()` says the file is wanted now.
    ///
    /// Pages are touched one by one rather than with `MADV_POPULATE_WRITE`: that call holds
    /// the process's mmap lock for the whole range, stalling any thread that mmaps, munmaps
    /// or mprotects meanwhile (malloc growing or trimming a heap does), and every fault
    /// queued behind it.
    pub fn warm(&mut self, stop: impl Fn() -> bool) -> bool {
        let mut at = self.position().div_ceil(PAGE) * PAGE;
        while at < self.file.size {
            if stop() {
                return false;
            }
            let end = (at + WARM_CHUNK).min(self.file.size);
            for page in (at..end).step_by(PAGE) {
                // SAFETY: `page` lies inside the map, past the write position, and this is
                // the sole writer; the byte is zero already (fresh reserved file), so the
                // write only faults the page in.
                unsafe { self.file.map.as_mut_ptr().add(page).write_volatile(0) };
            }
            at = end;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_flush_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let f = MappedFile::create(dir.path(), 8192, 8192).unwrap();
        assert_eq!(f.path().file_name().unwrap(), "00000000000000008192");
        assert_eq!(std::fs::metadata(f.path()).unwrap().len(), 8192);
        let mut w = f.writer().unwrap();
        assert!(f.writer().is_none(), "one writer at a time");
        assert!(w.warm(|| false));
        assert_eq!(w.append(b"hello"), Some(0));
        assert_eq!(w.append(b" world"), Some(5));
        assert_eq!(f.read(0, 11), Some(&b"hello world"[..]));
        assert_eq!(f.read(6, 6), None, "past the write position");
        assert_eq!(f.read_from(6), Some(&b"world"[..]));
        let b = f.bytes(6, 5).unwrap();
        assert!(f.flush().unwrap());
        assert!(!f.flush().unwrap(), "nothing new to flush");
        assert_eq!(f.flushed_position(), 11);
        assert_eq!(w.append(&vec![1u8; 8192]), None);
        w.fill_to_end(&[9, 9]);
        assert!(f.is_full());
        drop(w);
        assert!(f.writer().is_some(), "writer can be taken again after drop");
        let path = f.path().to_path_buf();
        drop(f);
        assert_eq!(&b[..], b"world", "bytes keep the map alive");
        let g = MappedFile::open(&path, 8192, 8192).unwrap();
        assert_eq!(g.read(0, 13), Some(&b"hello world\x09\x09"[..]));
        assert_eq!(g.end_offset(), 16384);
    }

    #[test]
    fn truncate_zeroes_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let f = MappedFile::create(dir.path(), 0, 3 * PAGE).unwrap();
        let mut w = f.writer().unwrap();
        w.append(&vec![7u8; 2 * PAGE + 100]).unwrap();
        w.truncate(10).unwrap();
        assert_eq!(w.position(), 10);
        w.set_position(3 * PAGE, true);
        let all = f.read(0, 3 * PAGE).unwrap();
        assert!(all[..10].iter().all(|b| *b == 7));
        assert!(all[10..].iter().all(|b| *b == 0));
    }

    #[test]
    fn open_extends_short_files_and_rejects_long_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        std::fs::write(&path, b"abc").unwrap();
        let f = MappedFile::open(&path, 0, 4096).unwrap();
        assert_eq!(f.wrote_position(), 4096);
        assert_eq!(&f.read(0, 4).unwrap(), b"abc\0");
        std::fs::write(&path, vec![0u8; 5000]).unwrap();
        assert!(matches!(
            MappedFile::open(&path, 0, 4096),
            Err(StoreError::BadFile { .. })
        ));
    }
}
