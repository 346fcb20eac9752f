//! [`MappedFile`]: one fixed-size store file (CommitLog or ConsumeQueue) mapped shared into
//! memory, named by the 20-digit zero-padded offset of its first byte in its log.
//!
//! Positions inside a file:
//! ```text
//! 0 ....... flushed ....... wrote ........... reserved .......... size
//! |  durable  | in page cache |  blocks reserved  |  hole (sparse)   |
//! ```
//! * `wrote` is published with Release after the bytes below it are written; readers load it
//!   with Acquire and read only below it, so they never see a half-written record.
//! * Only the holder of the file's [`MappedFileWriter`] (at most one exists, enforced by
//!   ownership and a flag) writes, and only at or past `wrote` and below `reserved`.
//! * `flushed` is the end of the last msync.
//! * `reserved` is the end of the prefix whose blocks are reserved with `posix_fallocate`
//!   (unwritten extents: allocated, not written, reading as zeros).
//!
//! Files are created sparse (`set_len`), so a new 1 GiB CommitLog file costs no time and no
//! disk. Writing a page of a mapped hole allocates its block at fault time, and on a full
//! file system that fault is a SIGBUS; reserving the blocks first turns a full disk into an
//! ENOSPC error here, which the store answers by refusing appends while reads go on. So
//! nothing is written past `reserved`: [`MappedFileWriter::append`] reserves synchronously
//! what is not reserved yet. ConsumeQueue files ([`MappedFile::create`], 6 MB) are reserved
//! whole at creation; CommitLog files ([`MappedFile::create_sparse`]) a window at a time, kept
//! ahead of the writer by the allocation thread (see `allocate.rs`) with [`MappedFile::reserve_to`],
//! which also faults the new pages in so that appends do not.
//!
//! Files are never truncated or unmapped while an `Arc<MappedFile>` is alive: deleting a file
//! unlinks it and the mapping lives until the last reader (e.g. a pull response body holding
//! [`MappedFile::bytes`]) drops.
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
use parking_lot::Mutex;

use super::error::StoreError;

const PAGE: usize = 4096;
/// Bytes reserved and faulted in per step of [`MappedFile::reserve_to`]: the longest a writer
/// reserving for itself waits for the allocation thread, and the granularity of its urgent
/// stop; also what [`MappedFileWriter::reserve`] rounds a synchronous reservation up to.
pub(crate) const RESERVE_CHUNK: usize = 1 << 20;

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
    /// End of the reserved prefix, published (Release) once its blocks are reserved and its
    /// pages faulted in; the writer writes only below it. Changed only under `reserving`.
    reserved: AtomicUsize,
    /// Held while the reserved prefix is extended: extensions (the allocation thread's and
    /// the writer's) run one at a time, so a page past it is touched by one thread only,
    /// before anybody may write it.
    reserving: Mutex<()>,
    writer_taken: AtomicBool,
    file: File,
}

/// Reserves the blocks of `[from, to)` of `file` without writing them: `posix_fallocate`
/// (through `nix`, already the store's way to the libc calls it needs) makes unwritten
/// extents on ext4, xfs and tmpfs, and glibc emulates it on file systems without fallocate
/// by writing one byte per block where the file reads zero.
pub(crate) fn reserve_blocks(
    file: &File,
    path: &Path,
    from: usize,
    to: usize,
) -> Result<(), StoreError> {
    if to <= from {
        return Ok(());
    }
    let bad = |n: usize| StoreError::Config(format!("file offset {n} of {}", path.display()));
    let offset = i64::try_from(from).map_err(|_| bad(from))?;
    let len = i64::try_from(to - from).map_err(|_| bad(to))?;
    nix::fcntl::posix_fallocate(file, offset, len)
        .map_err(|e| StoreError::io("fallocate", path)(io::Error::from(e)))
}

/// Creates `path` (it must not exist) as a sparse file of `size` bytes with the blocks of its
/// first `reserve` bytes reserved, and returns it open. The file is removed again if that
/// fails (a full disk must not leave a short file behind for the next start to trip over).
pub(crate) fn create_sparse_file(
    path: &Path,
    size: usize,
    reserve: usize,
) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(StoreError::io("create", path))?;
    let sized = file
        .set_len(size as u64)
        .map_err(StoreError::io("set length of", path))
        .and_then(|()| reserve_blocks(&file, path, 0, reserve.min(size)));
    if let Err(e) = sized {
        drop(file);
        remove_unusable(path);
        return Err(e);
    }
    Ok(file)
}

/// Removes a file just created that cannot be used.
fn remove_unusable(path: &Path) {
    if let Err(rm) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %rm, "cannot remove a file whose blocks could not be reserved");
    }
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

/// Creates `path` with `size` bytes, the first `reserve` of them reserved (timer and index
/// files, which map it with [`map_mut`]).
pub fn create_reserved(path: &Path, size: usize, reserve: usize) -> Result<File, StoreError> {
    let file = create_sparse_file(path, size, reserve)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(file)
}

impl MappedFile {
    /// Creates the file starting at `start` in `dir` with every block reserved (ConsumeQueue
    /// files: small, and written through). Nothing is written yet (`wrote` = 0).
    pub fn create(dir: &Path, start: i64, size: usize) -> Result<Arc<MappedFile>, StoreError> {
        let path = dir.join(file_name(start));
        let file = create_sparse_file(&path, size, size)?;
        sync_dir(dir)?;
        Self::map(path, file, start, size, 0, size)
    }

    /// Creates the file starting at `start` in `dir` sparse, with the blocks of its first
    /// `reserve` bytes reserved and, with `prefault`, their pages faulted in (CommitLog files;
    /// see [`reserve_to`](Self::reserve_to), which `stop` cuts short). The file is removed
    /// again if its first chunk cannot be reserved.
    pub fn create_sparse(
        dir: &Path,
        start: i64,
        size: usize,
        reserve: usize,
        prefault: bool,
        stop: impl Fn() -> bool,
    ) -> Result<Arc<MappedFile>, StoreError> {
        let path = dir.join(file_name(start));
        let file = create_sparse_file(&path, size, 0)?;
        let reserved = Self::map(path.clone(), file, start, size, 0, 0)
            .and_then(|f| f.reserve_to(reserve, prefault, stop).map(|_| f));
        match reserved {
            Ok(f) => {
                sync_dir(dir)?;
                Ok(f)
            }
            Err(e) => {
                remove_unusable(&path);
                Err(e)
            }
        }
    }

    /// Maps an existing file. Everything in it counts as written until recovery sets the real
    /// position with `MappedFileWriter::set_position` (which also counts the bytes below it
    /// as reserved). A file shorter than `size` (cut by a crash or an operator) is extended,
    /// sparse; a longer one is an error.
    pub fn open(path: &Path, start: i64, size: usize) -> Result<Arc<MappedFile>, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(StoreError::io("open", path))?;
        let len = file.metadata().map_err(StoreError::io("stat", path))?.len();
        if len > size as u64 {
            return Err(StoreError::BadFile {
                path: path.to_path_buf(),
                reason: format!("file is {len} bytes, larger than the configured {size}"),
            });
        }
        if len < size as u64 {
            tracing::warn!(path = %path.display(), len, size, "store file is short; extending");
            file.set_len(size as u64)
                .map_err(StoreError::io("extend", path))?;
        }
        Self::map(path.to_path_buf(), file, start, size, size, 0)
    }

    fn map(
        path: PathBuf,
        file: File,
        start: i64,
        size: usize,
        wrote: usize,
        reserved: usize,
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
            reserved: AtomicUsize::new(reserved),
            reserving: Mutex::new(()),
            writer_taken: AtomicBool::new(false),
            file,
        }))
    }

    /// End of the prefix whose blocks are reserved (Acquire).
    pub fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }

    /// Extends the reserved prefix to `end` (at most the file size): reserves the blocks,
    /// with `prefault` faults the new pages in, then publishes the new end. With `prefault`
    /// it goes one `RESERVE_CHUNK` at a time, checking `stop()` before each and returning
    /// `Ok(false)` when that cut it short. Any thread may call it: extensions are serialized,
    /// and pages are touched only past both the reserved prefix and the write position,
    /// where nobody reads or writes yet. A failure (ENOSPC on a full disk) leaves what was
    /// reserved before.
    ///
    /// Pages are touched one by one rather than with `MADV_POPULATE_WRITE`: that call holds
    /// the process's mmap lock for the whole range, stalling any thread that mmaps, munmaps
    /// or mprotects meanwhile (malloc growing or trimming a heap does), and every fault
    /// queued behind it.
    pub fn reserve_to(
        &self,
        end: usize,
        prefault: bool,
        stop: impl Fn() -> bool,
    ) -> Result<bool, StoreError> {
        let end = end.min(self.size);
        loop {
            if self.reserved() >= end {
                return Ok(true);
            }
            if prefault && stop() {
                return Ok(false);
            }
            let _reserving = self.reserving.lock();
            let from = self.reserved.load(Ordering::Relaxed);
            if from >= end {
                continue;
            }
            let to = match prefault {
                true => ((from / RESERVE_CHUNK + 1) * RESERVE_CHUNK).min(end),
                false => end,
            };
            reserve_blocks(&self.file, &self.path, from, to)?;
            if prefault {
                let first = from.max(self.wrote_position()).div_ceil(PAGE) * PAGE;
                for page in (first..to).step_by(PAGE) {
                    // SAFETY: `page` lies inside the map, at or past both the published
                    // reserved end (`from`: the writer writes only below it, readers only
                    // below the write position, which is lower) and the write position; the
                    // `reserving` lock keeps every other extender away. Past the write
                    // position the file reads zero (a new file, or a tail never written or
                    // zeroed by recovery), so writing a zero only faults the page in,
                    // writable.
                    unsafe { self.map.as_mut_ptr().add(page).write_volatile(0) };
                }
            }
            self.reserved.store(to, Ordering::Release);
        }
    }

    /// Recovery: the first `pos` bytes are the written data, so their blocks exist; nothing
    /// past them counts as reserved.
    fn set_reserved(&self, pos: usize) {
        let _reserving = self.reserving.lock();
        self.reserved.store(pos, Ordering::Release);
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

    /// Bytes after the write position whose blocks are reserved.
    pub fn reserved_ahead(&self) -> usize {
        self.file.reserved().saturating_sub(self.position())
    }

    /// Makes sure the blocks of the `len` bytes after the write position (up to the end of
    /// the file) are reserved. If the allocation thread has not reserved them yet, reserves
    /// them here, rounded up to a `RESERVE_CHUNK` and without faulting pages in: one
    /// `fallocate`, the price of having caught up with the thread. Writes nothing; an error
    /// (ENOSPC) leaves the file as it was.
    pub fn reserve(&mut self, len: usize) -> Result<(), StoreError> {
        let end = self.position().saturating_add(len).min(self.file.size);
        if end <= self.file.reserved() {
            return Ok(());
        }
        self.file
            .reserve_to(end.next_multiple_of(RESERVE_CHUNK), false, || false)
            .map(|_| ())
    }

    /// Copies `data` at the write position and publishes it. Returns the position written
    /// at; `Ok(None)` if it does not fit in the file; an error if its blocks could not be
    /// reserved ([`reserve`](Self::reserve)). Nothing is written unless it returns a position.
    pub fn append(&mut self, data: &[u8]) -> Result<Option<usize>, StoreError> {
        let pos = self.position();
        if data.len() > self.file.size - pos {
            return Ok(None);
        }
        self.reserve(data.len())?;
        // SAFETY: `pos..pos + data.len()` lies inside the map (checked above), at or past
        // the published write position, which no reader reads, and below the reserved end
        // (just made sure of), which no extender touches; this handle is the only writer
        // (enforced by `writer_taken`), and `data` cannot alias the map because the map is
        // only reachable as shared slices below the write position.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.file.map.as_mut_ptr().add(pos),
                data.len(),
            );
        }
        self.file.wrote.store(pos + data.len(), Ordering::Release);
        Ok(Some(pos))
    }

    /// Writes `marker` at the write position and marks the whole file written (the rest of
    /// the file is unused: CommitLog end-of-file blank). The marker's blocks must have been
    /// reserved ([`reserve`](Self::reserve)): a part of it past the reserved end is not
    /// written (it would risk a SIGBUS on a full disk), and the file reads zero there.
    pub fn fill_to_end(&mut self, marker: &[u8]) {
        let pos = self.position();
        let n = marker
            .len()
            .min(self.file.size - pos)
            .min(self.reserved_ahead());
        debug_assert_eq!(
            n,
            marker.len().min(self.file.size - pos),
            "marker not reserved"
        );
        // SAFETY: as in `append`: inside the map, past the published position, below the
        // reserved end, sole writer.
        unsafe {
            std::ptr::copy_nonoverlapping(marker.as_ptr(), self.file.map.as_mut_ptr().add(pos), n);
        }
        self.file.wrote.store(self.file.size, Ordering::Release);
    }

    /// Recovery only, hence crate-private (moving the position down while readers hold
    /// slices would let the writer overwrite bytes they read): declares the first `pos`
    /// bytes written (and so their blocks allocated), without touching the data; `durable`
    /// says whether they are known to be on disk (otherwise the next flush msyncs them all).
    pub(crate) fn set_position(&mut self, pos: usize, durable: bool) {
        let pos = pos.min(self.file.size);
        self.file.wrote.store(pos, Ordering::Release);
        self.file
            .flushed
            .store(if durable { pos } else { 0 }, Ordering::Release);
        self.file.set_reserved(pos);
    }

    /// Recovery only, hence crate-private (see `set_position`): cuts the file at `pos`,
    /// zeroing every non-zero page after it and msyncing them, so a later scan stops at
    /// `pos`. Reading a hole allocates no block and only non-zero pages, whose blocks
    /// exist, are written, so this needs no reservation.
    pub(crate) fn truncate(&mut self, pos: usize) -> io::Result<()> {
        let pos = pos.min(self.file.size);
        self.file.wrote.store(pos, Ordering::Release);
        self.file.set_reserved(pos);
        let base = self.file.map.as_mut_ptr();
        let mut at = pos;
        let mut dirty_from = None;
        while at < self.file.size {
            let end = ((at / PAGE + 1) * PAGE).min(self.file.size);
            // SAFETY: `at..end` lies inside the map and past the write position just lowered
            // to `pos`; recovery runs before any reader or extender exists and this is the
            // sole writer.
            let chunk = unsafe { std::slice::from_raw_parts_mut(base.add(at), end - at) };
            if chunk.iter().any(|b| *b != 0) {
                // Non-zero bytes were written, so their blocks exist.
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

    /// Reserves every block after the write position and faults every page in (benchmark
    /// baselines; the store keeps only a window ahead, see [`MappedFile::reserve_to`]).
    /// Returns false if `stop()` cut it short.
    pub fn warm(&mut self, stop: impl Fn() -> bool) -> Result<bool, StoreError> {
        self.file.reserve_to(self.file.size, true, stop)
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
        assert!(w.warm(|| false).unwrap());
        assert_eq!(w.append(b"hello").unwrap(), Some(0));
        assert_eq!(w.append(b" world").unwrap(), Some(5));
        assert_eq!(f.read(0, 11), Some(&b"hello world"[..]));
        assert_eq!(f.read(6, 6), None, "past the write position");
        assert_eq!(f.read_from(6), Some(&b"world"[..]));
        let b = f.bytes(6, 5).unwrap();
        assert!(f.flush().unwrap());
        assert!(!f.flush().unwrap(), "nothing new to flush");
        assert_eq!(f.flushed_position(), 11);
        assert_eq!(w.append(&vec![1u8; 8192]).unwrap(), None);
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
        w.append(&vec![7u8; 2 * PAGE + 100]).unwrap().unwrap();
        w.truncate(10).unwrap();
        assert_eq!(f.reserved(), 10, "nothing past the cut counts as reserved");
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

    /// Bytes of `path` the file system has allocated (what `du` counts).
    fn allocated(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn sparse_files_are_reserved_a_window_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let size = 8 * RESERVE_CHUNK;
        let f = MappedFile::create_sparse(dir.path(), 0, size, 2 * RESERVE_CHUNK, true, || false)
            .unwrap();
        assert_eq!(std::fs::metadata(f.path()).unwrap().len(), size as u64);
        assert_eq!(f.reserved(), 2 * RESERVE_CHUNK);
        let used = allocated(f.path());
        assert!(
            (2 * RESERVE_CHUNK as u64..4 * RESERVE_CHUNK as u64).contains(&used),
            "{used} bytes allocated"
        );
        let mut w = f.writer().unwrap();
        // Past the window the writer reserves a chunk for itself.
        let big = vec![5u8; 2 * RESERVE_CHUNK + 10];
        assert_eq!(w.append(&big).unwrap(), Some(0));
        assert_eq!(f.reserved(), 3 * RESERVE_CHUNK);
        // The thread's extension faults in pages past the write position only.
        assert!(f.reserve_to(5 * RESERVE_CHUNK, true, || false).unwrap());
        assert_eq!(w.reserved_ahead(), 5 * RESERVE_CHUNK - big.len());
        assert!(f.read(0, big.len()).unwrap().iter().all(|b| *b == 5));
        assert!(
            !f.reserve_to(size, true, || true).unwrap(),
            "stopped before the next chunk"
        );
        w.reserve(8).unwrap();
        w.fill_to_end(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let path = f.path().to_path_buf();
        drop((w, f));

        // Reopened: the written bytes count as reserved once recovery sets the position.
        let g = MappedFile::open(&path, 0, size).unwrap();
        assert_eq!(g.reserved(), 0);
        let mut w = g.writer().unwrap();
        w.set_position(big.len() + 8, true);
        assert_eq!(g.reserved(), big.len() + 8);
        assert!(g.reserve_to(size, true, || false).unwrap());
        assert_eq!(g.read(big.len(), 8).unwrap(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(allocated(&path) >= size as u64);
    }

    #[test]
    fn a_file_whose_blocks_cannot_be_reserved_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir");
        assert!(MappedFile::create_sparse(&missing, 0, 4096, 4096, true, || false).is_err());
        // A size the file system cannot hold fails (EFBIG), naming the file, and the file does
        // not stay behind.
        let e = MappedFile::create_sparse(dir.path(), 0, 1 << 62, 1 << 62, false, || false)
            .unwrap_err();
        assert!(e.to_string().contains(dir.path().to_str().unwrap()), "{e}");
        assert!(!dir.path().join(file_name(0)).exists());
    }
}
