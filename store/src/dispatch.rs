//! [`Dispatcher`]: builds the ConsumeQueues and the IndexFile from the CommitLog (RocketMQ's
//! ReputMessageService). It tails the CommitLog from its last dispatched offset and for each
//! record
//! * writes the ConsumeQueue entry at the record's QUEUEOFFSET (NOT and COMMIT transaction
//!   types only; an entry already present is skipped, so dispatch is idempotent) with the
//!   tag hash, or the due time in the delay and timer staging topics (then it wakes the
//!   delivery thread),
//! * adds `topic#key` for its UNIQ_KEY and KEYS tokens to the IndexFile (not for ROLLBACK),
//! * calls the arrival listener with (topic, queue id, queue offset + 1).
//!
//! **Who dispatches.** One drainer at a time (the `draining` flag). After each append the
//! appender drains on its own thread ([`Dispatcher::after_append`]): under load a drainer
//! takes what several appends left, and no thread is woken per message. An appender never
//! does file I/O: at a record that needs a new consume queue or index file (or a queue gap)
//! it stops and hands over to the `fennec-dispatch` thread, which does everything, then
//! gives dispatch back to the appenders. The thread also runs at least every second and at
//! stop. An appender that finds another drainer at work leaves its record to it: a drainer
//! looks at the CommitLog's end again after letting go (see `after_append`).
//!
//! Recovery runs the thread's code synchronously to rebuild what a crash lost.
//!
//! The thread never skips a record it could not handle:
//! * a consume queue or index file that cannot be created because the disk is full marks
//!   the store out of space (appends refused) and the thread retries the same record on its
//!   next wake-up (at least every second) until it goes through;
//! * an unreadable record (bad magic, length or size) stops dispatch there for good: the
//!   error names the file and offset, shows in [`StoreStats`](super::StoreStats) and
//!   poisons the store; records before it stay readable;
//! * any other failure poisons the store and is retried the same way.

use std::sync::atomic::{fence, AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use fennec_common::histogram::{HistogramSnapshot, LatencyHistogram};
use fennec_protocol::hash::tag_hash;
use fennec_protocol::message::properties::{iter_encoded, keys};
use fennec_protocol::message::record::{parse_entry, Entry, RecordView};
use fennec_protocol::message::sysflag;
use parking_lot::{Mutex, RwLock};

use super::commit_log::CommitLog;
use super::consume_queue::{CqEntry, PutOutcome};
use super::error::StoreError;
use super::health::{SpaceUser, StoreHealth};
use super::index::IndexService;
use super::index_file::topic_key_hash;
use super::queue_table::ConsumeQueueTable;
use super::schedule::{staging_tag_code, StagingSignal};
use super::wakeup::{spawn_service, ServiceControl};

/// Called after each dispatched record with (topic, queue id, max offset of the queue).
/// Runs on an appender's thread (a tokio worker) or the dispatch thread: it must be cheap
/// and must not block.
pub type ArrivalListener = Arc<dyn Fn(&str, i32, i64) + Send + Sync>;

pub(crate) struct Dispatcher {
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    index: Option<Arc<IndexService>>,
    health: Arc<StoreHealth>,
    staging: Arc<StagingSignal>,
    dispatched: AtomicI64,
    /// Records below this offset are not indexed again (recovery kept their entries).
    index_from: i64,
    /// Why dispatch stopped at a record it cannot read, if it did.
    stopped: Mutex<Option<String>>,
    last_timestamp: AtomicI64,
    listener: RwLock<Option<ArrivalListener>>,
    /// Time from each record's store timestamp to its dispatch (millisecond resolution).
    latency: LatencyHistogram,
    /// Wake-up, stop and halt requests for the thread.
    pub(crate) control: ServiceControl,
    /// Held by the one drainer at work.
    draining: AtomicBool,
    /// A record needs file I/O: only the thread drains until it clears this.
    thread_needed: AtomicBool,
}

/// Where a drain runs: an appender's thread (no file I/O) or the dispatch thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Inline,
    Thread,
}

/// How far a drain got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// Up to the end it saw.
    Done,
    /// Stopped at a record that needs the thread.
    NeedsThread,
    /// Stopped at a failure (reported); the thread retries.
    Failed,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("dispatched", &self.dispatched)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher from commit log offset `from`, indexing records from `index_from`.
    pub(crate) fn new(
        commit_log: Arc<CommitLog>,
        queues: Arc<ConsumeQueueTable>,
        index: Option<Arc<IndexService>>,
        health: Arc<StoreHealth>,
        staging: Arc<StagingSignal>,
        (from, index_from): (i64, i64),
    ) -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            commit_log,
            queues,
            index,
            health,
            staging,
            dispatched: AtomicI64::new(from),
            index_from,
            stopped: Mutex::new(None),
            last_timestamp: AtomicI64::new(0),
            listener: RwLock::new(None),
            latency: LatencyHistogram::new(),
            control: ServiceControl::default(),
            draining: AtomicBool::new(false),
            thread_needed: AtomicBool::new(false),
        })
    }

    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = self.clone();
        spawn_service("fennec-dispatch", move || me.run())
    }

    pub(crate) fn set_listener(&self, listener: ArrivalListener) {
        *self.listener.write() = Some(listener);
    }

    /// Time from append to dispatch of the records dispatched so far.
    pub(crate) fn latency(&self) -> HistogramSnapshot {
        self.latency.snapshot()
    }

    /// Wakes the thread (after a replicated append).
    pub(crate) fn notify(&self) {
        self.control.notify();
    }

    /// Dispatches on the caller's thread what the CommitLog holds beyond the dispatched
    /// offset, unless another drainer is at work (it will see the caller's record) or the
    /// thread has taken over (it is woken).
    pub(crate) fn after_append(&self) {
        // Pairs with the fences below and in `drain_as_thread`: the appender published its
        // record's end before this fence, the drainer lets go before its fence, so either the
        // appender sees the flag free or the drainer sees the new end.
        fence(Ordering::SeqCst);
        loop {
            if self.thread_needed.load(Ordering::Relaxed) {
                self.control.notify();
                return;
            }
            if self
                .draining
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return;
            }
            let drained = self.drain(Mode::Inline).1;
            let hand_over = drained != Drained::Done;
            if hand_over {
                self.thread_needed.store(true, Ordering::Relaxed);
            }
            self.draining.store(false, Ordering::Release);
            if hand_over {
                self.control.notify();
                return;
            }
            fence(Ordering::SeqCst);
            if !self.behind() {
                return;
            }
        }
    }

    /// Whether the CommitLog holds records not dispatched yet.
    fn behind(&self) -> bool {
        self.commit_log.max_offset() > self.dispatched() && !self.control.halted()
    }

    /// CommitLog offset up to which everything is dispatched.
    pub(crate) fn dispatched(&self) -> i64 {
        self.dispatched.load(Ordering::Acquire)
    }

    /// Why dispatch stopped at an unreadable record, if it did.
    pub(crate) fn stopped(&self) -> Option<String> {
        self.stopped.lock().clone()
    }

    /// Seeds the last dispatched timestamp after a restart.
    pub(crate) fn note_timestamp(&self, ts: i64) {
        self.last_timestamp.fetch_max(ts, Ordering::Relaxed);
    }

    /// STORETIMESTAMP of the last dispatched record.
    pub(crate) fn last_timestamp(&self) -> i64 {
        self.last_timestamp.load(Ordering::Relaxed)
    }

    fn run(&self) {
        loop {
            if self.control.halted() {
                return;
            }
            let stopping = self.control.stopping();
            self.drain_as_thread();
            if stopping {
                return;
            }
            self.control.wait(Duration::from_secs(1));
        }
    }

    /// The thread's turn: drains with file I/O allowed, then gives dispatch back to the
    /// appenders. When an appender is draining and nothing needs the thread, that appender
    /// does the work; otherwise the thread waits for it to let go (briefly: with
    /// `thread_needed` set no other appender starts, and at stop the drainer finishes).
    fn drain_as_thread(&self) {
        loop {
            while self
                .draining
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                if !self.thread_needed.load(Ordering::Relaxed) && !self.control.stopping() {
                    return;
                }
                std::thread::yield_now();
            }
            let drained = self.drain(Mode::Thread).1;
            self.thread_needed.store(false, Ordering::Relaxed);
            self.draining.store(false, Ordering::Release);
            // An appender that saw `thread_needed` left its record to this thread.
            fence(Ordering::SeqCst);
            if drained != Drained::Done || !self.behind() {
                return;
            }
        }
    }

    /// Dispatches from the dispatched offset to the CommitLog's max offset, stopping early at
    /// a record it cannot dispatch (see the module docs). Returns the number of records
    /// dispatched. For recovery, before the thread and the appenders run.
    pub(crate) fn dispatch_available(&self) -> u64 {
        self.drain(Mode::Thread).0
    }

    /// Dispatches what is available (the caller is the one drainer); returns the number of
    /// records dispatched and how it stopped.
    fn drain(&self, mode: Mode) -> (u64, Drained) {
        let listener = self.listener.read().clone();
        let max = self.commit_log.max_offset();
        let mut offset = self.dispatched();
        let mut records = 0;
        let mut drained = Drained::Done;
        let mut file: Option<Arc<super::mapped_file::MappedFile>> = None;
        while offset < max && !self.control.halted() {
            if file.as_ref().is_none_or(|f| offset >= f.end_offset()) {
                file = self.commit_log.files().find(offset);
                if file.is_none() {
                    let min = self.commit_log.min_offset();
                    if offset < min {
                        tracing::warn!(offset, min, "dispatch behind deleted files; skipping");
                        offset = min;
                        continue;
                    }
                    break;
                }
            }
            let Some(current) = file.as_ref() else { break };
            let pos = (offset - current.start_offset()) as usize;
            let next = match current.read_from(pos).map(parse_entry) {
                Some(Ok(Entry::Blank { .. })) => current.end_offset(),
                Some(Ok(Entry::Record(r))) => match self.apply(&r, offset, listener.as_ref(), mode)
                {
                    Ok(true) => {
                        records += 1;
                        offset + r.total_size() as i64
                    }
                    Ok(false) => {
                        drained = Drained::NeedsThread;
                        break;
                    }
                    Err(e) => {
                        self.failed(&e, offset);
                        drained = Drained::Failed;
                        break;
                    }
                },
                Some(Err(e)) => {
                    self.stop_at(format!(
                        "unreadable record in commit log file {} at position {pos} (offset {offset}): {e}",
                        current.path().display()
                    ));
                    drained = Drained::Failed;
                    break;
                }
                None => break,
            };
            offset = next;
            self.dispatched.store(offset, Ordering::Release);
        }
        if records > 0 && mode == Mode::Thread {
            self.health.clear_no_space(SpaceUser::Dispatch);
        }
        (records, drained)
    }

    /// A record at `offset` could not be dispatched: out of space (retried later) or worse.
    fn failed(&self, e: &StoreError, offset: i64) {
        let why = format!(
            "cannot dispatch the record at commit log offset {offset}: {}",
            e.with_cause()
        );
        if e.is_no_space() {
            self.health
                .set_no_space(SpaceUser::Dispatch, format!("disk full: {why}"));
        } else {
            self.health.poison(why);
        }
    }

    /// Stops at an unreadable record: reported once, kept for the stats, store poisoned.
    fn stop_at(&self, why: String) {
        let mut stopped = self.stopped.lock();
        if stopped.is_none() {
            tracing::error!(reason = %why, "dispatch stopped at an unreadable record");
            self.health.poison(format!("dispatch stopped: {why}"));
            *stopped = Some(why);
        }
    }

    /// Dispatches one record; false (nothing done) when `mode` is inline and the record
    /// needs file I/O.
    fn apply(
        &self,
        r: &RecordView<'_>,
        offset: i64,
        listener: Option<&ArrivalListener>,
        mode: Mode,
    ) -> Result<bool, StoreError> {
        let tran = sysflag::transaction_type(r.sys_flag());
        let topic = r.topic();
        // One pass over the properties for everything dispatch needs.
        let (mut tags, mut uniq, mut user_keys, mut timer_out) = (None, None, None, None);
        for (name, value) in iter_encoded(r.properties()) {
            match name {
                keys::TAGS => tags = Some(value),
                keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX => uniq = Some(value),
                keys::KEYS => user_keys = Some(value),
                keys::TIMER_OUT_MS => timer_out = Some(value),
                _ => {}
            }
        }
        let queued =
            tran == sysflag::TRANSACTION_NOT_TYPE || tran == sysflag::TRANSACTION_COMMIT_TYPE;
        let index = self
            .index
            .as_ref()
            .filter(|_| offset >= self.index_from && tran != sysflag::TRANSACTION_ROLLBACK_TYPE);
        // The keys to index; counted for `has_room` without hashing them.
        let index_keys = || {
            uniq.into_iter()
                .chain(user_keys.into_iter().flat_map(|k| k.split(' ')))
                .filter(|k| !k.is_empty())
        };
        let inline = mode == Mode::Inline;
        // Inline, everything this record needs must exist before anything is written.
        let cq = match (queued, inline) {
            (false, _) => None,
            (true, true) => match self.queues.get(topic, r.queue_id()) {
                Some(cq) => Some(cq),
                None => return Ok(false),
            },
            (true, false) => Some(self.queues.get_or_create(topic, r.queue_id())?),
        };
        if let (Some(index), true) = (index, inline) {
            if !index.has_room(index_keys().count()) {
                return Ok(false);
            }
        }
        if let Some(cq) = cq {
            let due = staging_tag_code(
                topic,
                r.queue_id(),
                r.store_timestamp(),
                timer_out,
                &self.staging.levels,
            );
            let entry = CqEntry {
                commit_log_offset: offset,
                size: r.total_size() as i32,
                tag_code: due.unwrap_or_else(|| tag_hash(tags)),
            };
            let outcome = if inline {
                match cq.try_put(r.queue_offset(), entry) {
                    Some(outcome) => outcome,
                    None => return Ok(false),
                }
            } else {
                cq.put(r.queue_offset(), entry)?
            };
            if let PutOutcome::Gap { expected } = outcome {
                tracing::error!(
                    topic,
                    queue_id = r.queue_id(),
                    expected,
                    got = r.queue_offset(),
                    offset,
                    "consume queue gap: entries are missing before this record"
                );
            }
            if due.is_some() {
                self.staging.control.notify();
            }
            if let Some(l) = listener {
                l(topic, r.queue_id(), r.queue_offset() + 1);
            }
        }
        if let Some(index) = index {
            // Inline, `has_room` above guaranteed the newest file takes every hash.
            index.put(
                index_keys().map(|k| topic_key_hash(topic, k)),
                offset,
                r.store_timestamp(),
            )?;
        }
        self.last_timestamp
            .store(r.store_timestamp(), Ordering::Relaxed);
        let behind_ms = fennec_protocol::time::now_millis() - r.store_timestamp();
        self.latency
            .observe_micros(u64::try_from(behind_ms).unwrap_or(0).saturating_mul(1000));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;
    use crate::allocate::Allocator;
    use crate::commit_log::tests::encoded;
    use crate::mapped_file_queue::MappedFileQueue;

    #[test]
    fn stops_at_an_unreadable_record_and_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let health = Arc::new(StoreHealth::default());
        let alloc = Allocator::new(dir.path().join("cl"), 4096, false, 4096, health.clone());
        let thread = alloc.spawn().unwrap();
        let files = MappedFileQueue::load(&dir.path().join("cl"), 4096).unwrap();
        let cl = Arc::new(CommitLog::new(files, alloc.clone()));
        cl.resume().unwrap();
        let queues = Arc::new(ConsumeQueueTable::load(&dir.path().join("cq"), 400).unwrap());
        let staging = Arc::new(StagingSignal::default());
        let d = Dispatcher::new(
            cl.clone(),
            queues.clone(),
            None,
            health.clone(),
            staging,
            (0, 0),
        );
        let offsets: Vec<i64> = (0..4)
            .map(|_| {
                cl.append(&mut encoded(0, 100), "T", 0, crate::commit_log::Roll::Wait)
                    .unwrap()
                    .wrote_offset
            })
            .collect();
        // Damage the MAGICCODE of the third record through the file (the map is shared).
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("cl").join("00000000000000000000"))
            .unwrap();
        file.write_all_at(&[0xde, 0xad, 0xbe, 0xef], offsets[2] as u64 + 4)
            .unwrap();

        assert_eq!(d.dispatch_available(), 2);
        assert_eq!(d.dispatched(), offsets[2], "stopped at the bad record");
        let why = d.stopped().unwrap();
        assert!(why.contains("00000000000000000000"), "{why}");
        assert!(why.contains(&format!("offset {}", offsets[2])), "{why}");
        assert!(health.poisoned().is_some_and(|p| p.contains(&why)));
        let cq = queues.get("T", 0).unwrap();
        assert_eq!(cq.max_offset(), 2);
        assert!(cq
            .entry(1)
            .is_some_and(|e| e.commit_log_offset == offsets[1]));
        // Later passes stay there instead of skipping the rest of the file.
        assert_eq!(d.dispatch_available(), 0);
        assert_eq!(d.dispatched(), offsets[2]);
        alloc.stop();
        thread.join().unwrap();
    }
}
