//! [`CommitLog`]: every message of every topic, appended to one log of fixed-size files
//! (`mappedFileSizeCommitLog`). Record layout: `fennec_protocol::message::record`.
//!
//! Appends are serialized by one lock held only to assign offsets and copy bytes: the records
//! arrive encoded (see `message.rs`); under the lock the CommitLog looks up and bumps the
//! topic queue's next offset, patches QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP in
//! place, memcpys into the map and publishes the new write position. A record that does not
//! fit (`len + 8 > space left`) ends the file with the blank marker
//! `[i32 remaining][i32 BLANK_MAGIC]` and goes into the next file, which the allocation
//! thread has usually prepared already. If that file cannot be created because the disk is
//! full, the append fails, appends are refused and the allocation thread retries (see
//! `allocate.rs`); the log stays consistent (the old file ends with its blank marker).
//!
//! Files are sparse and bytes are written only where blocks are reserved (see
//! `mapped_file.rs`): before taking offsets an append makes sure its record and a blank marker
//! after it are reserved, which normally the allocation thread did ahead of it; an append
//! that leaves the window short wakes that thread. On a full disk the reservation fails
//! before anything is written or any queue offset taken, and appends are refused until the
//! thread manages to reserve again.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use crossbeam_utils::CachePadded;
use fennec_protocol::message::record::{
    parse_entry, Entry, BLANK_MAGIC, POS_PHYSICAL_OFFSET, POS_QUEUE_OFFSET,
};
use fennec_protocol::time::now_millis;
use parking_lot::Mutex;

use super::allocate::Allocator;
use super::error::StoreError;
use super::mapped_file::{MappedFile, MappedFileWriter};
use super::mapped_file_queue::MappedFileQueue;
use super::message::Encoded;
use super::put_result::AppendResult;
use super::queue_offsets::QueueOffsets;

/// Bytes kept free at the end of every file for the blank marker.
pub(crate) const END_FILE_MIN_BLANK_LENGTH: usize = 8;

#[derive(Debug, Default)]
struct AppendState {
    writer: Option<MappedFileWriter>,
    queue_offsets: QueueOffsets,
    /// Set at shutdown under the lock, so no append lands after the final flush.
    closed: bool,
    /// Appends, records and bytes so far (counted under the lock: no extra atomics).
    counters: AppendCounters,
}

/// Append counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppendCounters {
    pub appends: u64,
    pub records: u64,
    pub bytes: u64,
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppendError {
    #[error("the commit log is closed")]
    Closed,
    /// The records need the next file, which is not ready yet; nothing was written. Await
    /// [`CommitLog::wait_next_file`] and append again.
    #[error("the commit log file starting at {0} is being prepared")]
    RollPending(i64),
    #[error(transparent)]
    File(#[from] StoreError),
}

/// What an append does when its records need a file that is not ready yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Roll {
    /// Wait for it (synchronous callers, never a tokio worker).
    Wait,
    /// Return [`AppendError::RollPending`]; the async caller waits outside the lock.
    Defer,
}

#[derive(Debug)]
pub(crate) struct CommitLog {
    files: MappedFileQueue,
    allocator: Arc<Allocator>,
    /// On cache lines of its own, so that the dispatcher polling `max_offset` does not
    /// steal the line the appenders write (and the other way round).
    state: CachePadded<Mutex<AppendState>>,
    /// End of the last append, published after its bytes (Release).
    max_offset: CachePadded<AtomicI64>,
    /// STORETIMESTAMP of the last append.
    last_store_timestamp: AtomicI64,
}

impl CommitLog {
    pub(crate) fn new(files: MappedFileQueue, allocator: Arc<Allocator>) -> CommitLog {
        CommitLog {
            files,
            allocator,
            state: CachePadded::new(Mutex::new(AppendState::default())),
            max_offset: CachePadded::new(AtomicI64::new(0)),
            last_store_timestamp: AtomicI64::new(0),
        }
    }

    pub(crate) fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    pub(crate) fn file_size(&self) -> usize {
        self.files.file_size()
    }

    /// Makes the log appendable after recovery set every file's position: the last file's
    /// writer is taken (unless it is full) and the next file is requested ahead of need. An
    /// empty log gets its first file from the (running) allocation thread, warmed.
    pub(crate) fn resume(&self) -> Result<(), StoreError> {
        let mut st = self.state.lock();
        st.writer = None;
        match self.files.last() {
            None => {
                self.allocator.request(0);
                let first = self.allocator.take_warm(0);
                st.writer = Some(self.roll_with(0, first, Roll::Wait)?);
            }
            Some(last) => {
                if !last.is_full() {
                    st.writer = last.writer();
                    self.allocator.set_active(last.clone());
                }
                self.allocator.request(last.end_offset());
            }
        }
        self.max_offset
            .store(self.files.max_offset(), Ordering::Release);
        Ok(())
    }

    /// Sets the next queue offset of every queue (rebuilt from the consume queues).
    pub(crate) fn set_queue_offsets(&self, queue_offsets: QueueOffsets) {
        self.state.lock().queue_offsets = queue_offsets;
    }

    /// Appends the encoded records under the lock. With [`Roll::Wait`] a roll to a file that
    /// is not ready yet waits for it (synchronous callers only); with [`Roll::Defer`] it
    /// returns [`AppendError::RollPending`] instead, having written nothing.
    pub(crate) fn append(
        &self,
        enc: &mut Encoded,
        topic: &str,
        queue_id: i32,
        roll: Roll,
    ) -> Result<AppendResult, AppendError> {
        let len = enc.buf.len();
        let mut guard = self.state.lock();
        let AppendState {
            writer,
            queue_offsets,
            closed,
            counters,
        } = &mut *guard;
        if *closed {
            return Err(AppendError::Closed);
        }
        let w = self.writer_with_room(writer, len, roll)?;
        let phys = w.file().start_offset() + w.position() as i64;
        let n = enc.records.len() as i64;
        // One lookup: read and bump the queue's next offset together.
        let queue_offset = if enc.assign_queue_offset {
            queue_offsets.bump(topic, queue_id, n)
        } else {
            0
        };
        let now = now_millis();
        for (i, slot) in enc.records.iter().enumerate() {
            let qo = if enc.assign_queue_offset {
                queue_offset + i as i64
            } else {
                0
            };
            let start = slot.start;
            enc.buf[start + POS_QUEUE_OFFSET..start + POS_QUEUE_OFFSET + 8]
                .copy_from_slice(&qo.to_be_bytes());
            enc.buf[start + POS_PHYSICAL_OFFSET..start + POS_PHYSICAL_OFFSET + 8]
                .copy_from_slice(&(phys + start as i64).to_be_bytes());
            enc.buf[slot.store_timestamp_pos..slot.store_timestamp_pos + 8]
                .copy_from_slice(&now.to_be_bytes());
        }
        // `writer_with_room` guaranteed the space and reserved its blocks: this cannot fail.
        let _ = w.append(&enc.buf);
        if self.allocator.window_short(w) {
            self.allocator.want_ahead();
        }
        counters.appends += 1;
        counters.records += enc.records.len() as u64;
        counters.bytes += len as u64;
        self.last_store_timestamp.store(now, Ordering::Relaxed);
        self.max_offset.store(phys + len as i64, Ordering::Release);
        drop(guard);
        Ok(AppendResult {
            wrote_offset: phys,
            wrote_bytes: len,
            store_timestamp: now,
            queue_offset,
            msg_num: enc.records.len(),
            later_offsets: enc
                .records
                .iter()
                .skip(1)
                .map(|s| phys + s.start as i64)
                .collect(),
        })
    }

    /// Appends bytes replicated from a master, unchanged, at `offset`, which must be the end
    /// of the log; the caller has checked that they are whole entries of one file (see
    /// `replica.rs`). `blank` says they are that file's end-of-file marker: the file is then
    /// full and the log ends at its end. The lock is held for the memcpy only.
    pub(crate) fn append_raw(
        &self,
        offset: i64,
        data: &[u8],
        blank: bool,
        roll: Roll,
    ) -> Result<(), AppendError> {
        let mut guard = self.state.lock();
        let AppendState {
            writer,
            closed,
            counters,
            ..
        } = &mut *guard;
        if *closed {
            return Err(AppendError::Closed);
        }
        let max = self.max_offset();
        if offset != max {
            return Err(AppendError::File(StoreError::Config(format!(
                "replicated bytes at offset {offset}, but the commit log ends at {max}"
            ))));
        }
        let current = writer.as_ref().is_some_and(|w| {
            w.file().start_offset() + w.position() as i64 == offset
                && offset < w.file().end_offset()
        });
        if !current {
            // The last file is full (it ended with a blank marker): the next one starts here.
            let taken = match roll {
                Roll::Wait => self.allocator.take(offset),
                Roll::Defer => match self.allocator.try_take(offset) {
                    Some(taken) => Some(taken),
                    None => return Err(AppendError::RollPending(offset)),
                },
            };
            *writer = Some(self.roll_with(offset, taken, roll)?);
        }
        let w = writer
            .as_mut()
            .ok_or_else(|| AppendError::File(StoreError::Config("no commit log writer".into())))?;
        self.reserve(w, data.len())?;
        let end = if blank {
            w.fill_to_end(data);
            w.file().end_offset()
        } else {
            if w.append(data)?.is_none() {
                return Err(AppendError::File(StoreError::Config(format!(
                    "{} replicated bytes at offset {offset} overrun the commit log file",
                    data.len()
                ))));
            }
            counters.appends += 1;
            counters.bytes += data.len() as u64;
            offset + data.len() as i64
        };
        if self.allocator.window_short(w) {
            self.allocator.want_ahead();
        }
        self.max_offset.store(end, Ordering::Release);
        Ok(())
    }

    /// A log with nothing in it starts at `start` instead of 0 (a new slave of a master
    /// that has deleted its oldest files): the empty files are deleted and the writer
    /// moves to a new file at `start`. Blocking (creates a file).
    pub(crate) fn restart_at(&self, start: i64) -> Result<(), StoreError> {
        let mut st = self.state.lock();
        if self.max_offset() != 0 || start % self.file_size() as i64 != 0 {
            return Err(StoreError::Config(format!(
                "cannot start the commit log at {start}: it is not empty or not a file start"
            )));
        }
        st.writer = None;
        // The file after the first one was prepared ahead of need: it is not wanted.
        if let Some(Ok(next)) = self.allocator.take(self.file_size() as i64) {
            let path = next.file().path().to_path_buf();
            drop(next);
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete an unused commit log file");
            }
        }
        self.files.delete_after(-1);
        st.writer = Some(self.roll_with(start, None, Roll::Wait)?);
        self.max_offset.store(start, Ordering::Release);
        Ok(())
    }

    /// The current writer if `len` bytes fit in its file, else ends that file with the blank
    /// marker and rolls to the next one. The old file is closed only once the next one is in
    /// hand, so a deferred roll leaves everything as it was. The blocks of the `len` bytes
    /// and of a blank marker after them are reserved.
    fn writer_with_room<'a>(
        &self,
        writer: &'a mut Option<MappedFileWriter>,
        len: usize,
        roll: Roll,
    ) -> Result<&'a mut MappedFileWriter, AppendError> {
        let fits = writer
            .as_ref()
            .is_some_and(|w| len + END_FILE_MIN_BLANK_LENGTH <= w.remaining());
        if !fits {
            if let Some(w) = writer.as_mut() {
                // The blank marker's blocks, before anything changes.
                self.reserve(w, END_FILE_MIN_BLANK_LENGTH)?;
            }
            let next = match writer.as_ref() {
                Some(w) => w.file().end_offset(),
                None => self.files.last().map_or(0, |f| f.end_offset()),
            };
            let taken = match roll {
                Roll::Wait => self.allocator.take(next),
                Roll::Defer => match self.allocator.try_take(next) {
                    Some(taken) => Some(taken),
                    None => return Err(AppendError::RollPending(next)),
                },
            };
            let new_writer = self.roll_with(next, taken, roll)?;
            if let Some(mut w) = writer.take() {
                let mut marker = [0u8; END_FILE_MIN_BLANK_LENGTH];
                marker[..4].copy_from_slice(&(w.remaining() as i32).to_be_bytes());
                marker[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
                w.fill_to_end(&marker);
                self.max_offset
                    .store(w.file().end_offset(), Ordering::Release);
            }
            *writer = Some(new_writer);
        }
        let w = writer
            .as_mut()
            .ok_or_else(|| AppendError::File(StoreError::Config("no commit log writer".into())))?;
        self.reserve(w, len + END_FILE_MIN_BLANK_LENGTH)?;
        Ok(w)
    }

    /// Makes sure the next `len` bytes of `w` have their blocks reserved (see
    /// [`MappedFileWriter::reserve`]); on a full disk marks the commit log out of space,
    /// naming the file, until the allocation thread reserves them.
    fn reserve(&self, w: &mut MappedFileWriter, len: usize) -> Result<(), AppendError> {
        w.reserve(len).map_err(|e| {
            if e.is_no_space() {
                self.allocator.reserve_failed(&e);
            }
            AppendError::File(e)
        })
    }

    /// Completes once the file starting at `start` is ready, for an append that got
    /// [`AppendError::RollPending`].
    pub(crate) async fn wait_next_file(&self, start: i64) {
        self.allocator.wait_ready(start).await
    }

    /// Installs the file starting at `start`: the prepared one, or (when the allocator had
    /// none and `roll` may wait) one created here. A preparation that failed is retried here
    /// only when `roll` may wait; a deferring append gets the error.
    fn roll_with(
        &self,
        start: i64,
        taken: Option<Result<MappedFileWriter, StoreError>>,
        roll: Roll,
    ) -> Result<MappedFileWriter, StoreError> {
        let prepared = match taken {
            Some(Ok(w)) => Some(w),
            Some(Err(e)) if roll == Roll::Defer => {
                if e.is_no_space() {
                    let why = format!(
                        "disk full: cannot create commit log file: {}",
                        e.with_cause()
                    );
                    self.allocator.retry_after_no_space(start, why);
                } else {
                    self.allocator.request(start);
                }
                return Err(e);
            }
            Some(Err(e)) => {
                tracing::warn!(start, error = %e, "prepared file failed; creating it inline");
                None
            }
            None => None,
        };
        let w = match prepared {
            Some(w) => {
                self.files.push(w.file().clone())?;
                w
            }
            None => match self.files.create_file(start) {
                Ok(f) => f.writer().ok_or_else(|| StoreError::BadFile {
                    path: f.path().to_path_buf(),
                    reason: "new file already has a writer".into(),
                })?,
                Err(e) if e.is_no_space() => {
                    let why = format!(
                        "disk full: cannot create commit log file: {}",
                        e.with_cause()
                    );
                    self.allocator.retry_after_no_space(start, why);
                    return Err(e);
                }
                Err(e) => return Err(e),
            },
        };
        self.allocator.set_active(w.file().clone());
        self.allocator.request(start + self.file_size() as i64);
        tracing::debug!(start, "commit log rolled to a new file");
        Ok(w)
    }

    /// End of the last append (Acquire).
    pub(crate) fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    pub(crate) fn min_offset(&self) -> i64 {
        self.files.min_offset()
    }

    /// Whether the allocation thread has the next file ready.
    pub(crate) fn next_file_ready(&self) -> bool {
        self.allocator.is_ready()
    }

    /// Seeds the last store timestamp after a restart (from the checkpoint or re-dispatch).
    pub(crate) fn note_store_timestamp(&self, ts: i64) {
        self.last_store_timestamp.fetch_max(ts, Ordering::Relaxed);
    }

    pub(crate) fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp.load(Ordering::Relaxed)
    }

    pub(crate) fn counters(&self) -> AppendCounters {
        self.state.lock().counters
    }

    /// Refuses appends from now on; returns once in-flight appends have finished.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
    }

    /// Forgets the queue offsets of deleted topics.
    pub(crate) fn remove_topics(&self, topics: &[String]) {
        let mut st = self.state.lock();
        for t in topics {
            st.queue_offsets.remove_topic(t);
        }
    }

    /// Runs `f` on whatever sits at `offset` (a record or a blank) with its file.
    pub(crate) fn with_entry<R>(
        &self,
        offset: i64,
        f: impl FnOnce(&Arc<MappedFile>, usize, Entry<'_>) -> R,
    ) -> Option<R> {
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start_offset()).ok()?;
        let buf = file.read_from(pos)?;
        let entry = parse_entry(buf).ok()?;
        Some(f(&file, pos, entry))
    }

    /// The whole record at `offset`, zero-copy.
    pub(crate) fn record_bytes(&self, offset: i64) -> Option<Bytes> {
        self.with_entry(offset, |file, pos, e| match e {
            Entry::Record(r) => file.bytes(pos, r.total_size()),
            Entry::Blank { .. } => None,
        })
        .flatten()
    }

    /// The record at `offset` as a zero-copy [`Bytes`], if it is exactly `size` bytes.
    pub(crate) fn record_bytes_sized(&self, offset: i64, size: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start_offset()).ok()?;
        file.bytes(pos, size)
    }

    /// STORETIMESTAMP of the record at `offset`.
    pub(crate) fn store_timestamp_at(&self, offset: i64) -> Option<i64> {
        self.with_entry(offset, |_, _, e| match e {
            Entry::Record(r) => Some(r.store_timestamp()),
            Entry::Blank { .. } => None,
        })
        .flatten()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::{encode_message, Limits, StoreMessage};
    use fennec_protocol::message::record::parse_record;

    /// One encoded message of topic `T` with a body of `body_len` bytes.
    pub(crate) fn encoded(queue_id: i32, body_len: usize) -> Encoded {
        let msg = StoreMessage {
            queue_id,
            ..crate::message::tests::msg(body_len, "")
        };
        let limits = Limits {
            max_body: 1 << 20,
            max_append: 4096 - END_FILE_MIN_BLANK_LENGTH,
            read_wait: false,
        };
        let mut enc = Encoded::default();
        encode_message(&msg, &limits, &mut enc).unwrap();
        enc
    }

    #[test]
    fn appends_roll_over_with_a_blank_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let alloc = Allocator::new(dir.path().to_path_buf(), 4096, false, 4096, Arc::default());
        let thread = alloc.spawn().unwrap();
        let files = MappedFileQueue::load(dir.path(), 4096).unwrap();
        let cl = CommitLog::new(files, alloc.clone());
        cl.resume().unwrap();
        let mut offsets = Vec::new();
        for i in 0..10 {
            let a = cl
                .append(&mut encoded(i % 2, 900), "T", i % 2, Roll::Wait)
                .unwrap();
            assert_eq!(a.queue_offset, i64::from(i / 2));
            // A record never straddles two files.
            assert_eq!(
                a.wrote_offset / 4096,
                (a.wrote_offset + a.wrote_bytes as i64 - 1) / 4096
            );
            offsets.push(a.wrote_offset);
        }
        assert_eq!(
            cl.files().files().len(),
            3,
            "4 records of 992 bytes per file"
        );
        // The first file ends with a blank marker covering the rest of it.
        let end_of_first = offsets[3] + 992;
        let blank = cl.with_entry(end_of_first, |_, pos, e| match e {
            Entry::Blank { remaining } => pos + remaining,
            Entry::Record(_) => 0,
        });
        assert_eq!(blank, Some(4096));
        for (i, off) in offsets.iter().enumerate() {
            let b = cl.record_bytes(*off).unwrap();
            let r = parse_record(&b).unwrap();
            assert_eq!(
                (r.physical_offset(), r.queue_offset()),
                (*off, i as i64 / 2)
            );
            assert!(cl.store_timestamp_at(*off).unwrap() > 0);
        }
        assert_eq!(cl.counters().records, 10);
        assert_eq!(cl.max_offset(), offsets[9] + 992);
        cl.close();
        assert!(matches!(
            cl.append(&mut encoded(0, 10), "T", 0, Roll::Wait),
            Err(AppendError::Closed)
        ));
        alloc.stop();
        thread.join().unwrap();
    }
}
