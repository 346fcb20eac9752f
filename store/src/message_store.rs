//! [`MessageStore`]: opens (and recovers) a store directory, owns the CommitLog, the
//! ConsumeQueues and IndexFiles and the service threads (`fennec-alloc`, `fennec-flush`,
//! `fennec-cq-flush`, `fennec-dispatch`, `fennec-clean`, `fennec-schedule`), appends messages
//! (deferred ones to their staging topic, see `schedule/`), and shuts it all down. The read
//! methods live in `read.rs`, the append step in `append.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::Mutex;

use fennec_common::histogram::HistogramSnapshot;
use fennec_protocol::body::DelayOffsetTable;
use fennec_protocol::time::now_millis;

use super::allocate::Allocator;
use super::append::{Appended, Appender};
use super::checkpoint::Checkpoint;
use super::clean::Cleaner;
use super::commit_log::{CommitLog, Roll, END_FILE_MIN_BLANK_LENGTH};
use super::config::{FlushDiskType, StoreConfig};
use super::cq_flush::QueueFlusher;
use super::dispatch::{ArrivalListener, Dispatcher};
use super::error::StoreError;
use super::flush::Flusher;
use super::growth::GrowthSignal;
use super::health::StoreHealth;
use super::index::IndexService;
use super::message::Limits;
use super::message::{StoreBatch, StoreMessage};
use super::put_result::{PendingPut, PutMessageResult};
use super::queue_table::ConsumeQueueTable;
use super::recovery::RecoveryReport;
use super::schedule::{route, DeliveryService, DeliveryStats};
use super::stats::StoreStats;
use super::store_lock::{AbortFile, StoreLock};

/// The message store of one broker.
pub struct MessageStore {
    pub(crate) config: StoreConfig,
    appender: Arc<Appender>,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) queues: Arc<ConsumeQueueTable>,
    pub(crate) index: Option<Arc<IndexService>>,
    pub(crate) health: Arc<StoreHealth>,
    allocator: Arc<Allocator>,
    pub(crate) flusher: Arc<Flusher>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) growth: Arc<GrowthSignal>,
    queue_flusher: Arc<QueueFlusher>,
    cleaner: Arc<Cleaner>,
    delivery: Arc<DeliveryService>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    lock: Mutex<Option<StoreLock>>,
    abort: AbortFile,
    report: RecoveryReport,
    closed: AtomicBool,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("root", &self.config.store_path_root_dir)
            .finish_non_exhaustive()
    }
}

fn create_dir(path: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(path).map_err(StoreError::io("create directory", path))
}

impl MessageStore {
    /// Opens the store under `config.store_path_root_dir`: takes the lock, recovers the
    /// files (re-dispatching synchronously what a crash lost), writes a checkpoint and
    /// starts the service threads.
    pub fn open(config: StoreConfig) -> Result<Arc<MessageStore>, StoreError> {
        config.validate().map_err(StoreError::Config)?;
        let started = Instant::now();
        let root = config.store_path_root_dir.clone();
        create_dir(&root)?;
        create_dir(&root.join("config"))?;
        let lock = StoreLock::acquire(&root.join("lock"))?;
        let abort_path = root.join("abort");
        let crashed = AbortFile::exists(&abort_path);
        let checkpoint_data = Checkpoint::read(&root.join("checkpoint"));
        let abort = AbortFile::create(&abort_path)?;

        let cl_size = config.mapped_file_size_commit_log;
        let health = Arc::new(StoreHealth::default());
        let allocator = Allocator::new(
            config.commit_log_dir(),
            cl_size,
            config.warm_mapped_file_enable,
            config.commit_log_reserve_ahead,
            health.clone(),
        );
        let alloc_thread = allocator
            .spawn()
            .map_err(StoreError::io("spawn thread", &root))?;
        let parts = match super::open::recover_parts(
            &config,
            &allocator,
            &health,
            crashed,
            checkpoint_data,
        ) {
            Ok(p) => p,
            Err(e) => {
                allocator.stop();
                let _ = alloc_thread.join();
                return Err(e);
            }
        };
        let cleaner = Cleaner::new(
            &config,
            parts.commit_log.clone(),
            parts.queues.clone(),
            parts.index.clone(),
            parts.health.clone(),
            parts.dispatcher.clone(),
        );
        let mut report = parts.report;
        report.elapsed = started.elapsed();
        let shown = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        tracing::info!("message store {}: {report}", shown.display());
        tracing::debug!(?report, "recovery report");

        let growth = Arc::new(GrowthSignal::default());
        let appender = Arc::new(Appender {
            limits: Limits {
                max_body: config.max_message_size,
                max_append: cl_size - END_FILE_MIN_BLANK_LENGTH,
                read_wait: config.flush_disk_type == FlushDiskType::SyncFlush,
            },
            sync_flush_timeout: config.sync_flush_timeout,
            commit_log: parts.commit_log.clone(),
            health: parts.health.clone(),
            dispatcher: parts.dispatcher.clone(),
            flusher: parts.flusher.clone(),
            growth: growth.clone(),
            slave: config.broker_role.is_slave(),
        });
        let delivery = match DeliveryService::open(
            &config,
            parts.staging.clone(),
            appender.clone(),
            parts.queues.clone(),
        ) {
            Ok(d) => d,
            Err(e) => {
                allocator.stop();
                let _ = alloc_thread.join();
                return Err(e);
            }
        };
        let store = Arc::new(MessageStore {
            config,
            appender,
            commit_log: parts.commit_log,
            queues: parts.queues,
            index: parts.index,
            health: parts.health,
            allocator,
            flusher: parts.flusher,
            dispatcher: parts.dispatcher,
            growth,
            queue_flusher: parts.queue_flusher,
            cleaner,
            delivery,
            threads: Mutex::new(vec![alloc_thread]),
            lock: Mutex::new(Some(lock)),
            abort,
            report,
            closed: AtomicBool::new(false),
        });
        let spawned = [
            store.flusher.spawn().map(Some),
            store.dispatcher.spawn().map(Some),
            store.queue_flusher.spawn().map(Some),
            store.cleaner.spawn().map(Some),
            // A slave's master delivers delayed messages; the slave copies its progress.
            if store.config.broker_role.is_slave() {
                Ok(None)
            } else {
                store.delivery.spawn()
            },
        ];
        for handle in spawned {
            match handle {
                Ok(h) => store.threads.lock().extend(h),
                Err(e) => {
                    store.shutdown();
                    return Err(StoreError::io("spawn thread", store.root_dir())(e));
                }
            }
        }
        Ok(store)
    }

    /// What recovery at open found and did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// Appends one message and waits (without blocking the thread) for the flush when
    /// SYNC_FLUSH and WAIT=true ask for it. A message asking for later delivery (`DELAY`,
    /// `TIMER_*`) is stored in its staging topic, or refused if it asks for too late.
    ///
    /// When the message needs the next commit log file and it is not ready yet, this waits
    /// for the allocation thread outside the append lock and appends again; no tokio worker
    /// ever blocks on a file roll.
    pub async fn put_message(&self, msg: StoreMessage) -> PutMessageResult {
        let msg = match self.route(&msg) {
            Ok(staged) => staged.unwrap_or(msg),
            Err(refused) => return refused,
        };
        let pending = loop {
            match self.appender.append_message(&msg, Roll::Defer) {
                Ok(p) => break p,
                Err(Appended::RollPending(start)) => self.commit_log.wait_next_file(start).await,
                Err(Appended::Refused(r)) => return r,
            }
        };
        drop(msg);
        pending.wait_flush().await
    }

    /// Appends a batch (one lock acquisition, consecutive queue offsets) and waits like
    /// [`put_message`](Self::put_message). Batches are stored as sent (never deferred).
    pub async fn put_messages(&self, batch: StoreBatch) -> PutMessageResult {
        let pending = loop {
            match self.appender.append_batch(&batch, Roll::Defer) {
                Ok(p) => break p,
                Err(Appended::RollPending(start)) => self.commit_log.wait_next_file(start).await,
                Err(Appended::Refused(r)) => return r,
            }
        };
        drop(batch);
        pending.wait_flush().await
    }

    /// The append step of [`put_message`](Self::put_message), for synchronous callers: the
    /// records are in the log when this returns; the durability wait is the returned
    /// [`PendingPut`]. A roll to a file that is not ready yet blocks the calling thread, so
    /// never call this on a tokio worker.
    pub fn append_message(&self, msg: &StoreMessage) -> Result<PendingPut, PutMessageResult> {
        let staged = self.route(msg)?;
        self.appender
            .append_message(staged.as_ref().unwrap_or(msg), Roll::Wait)
            .map_err(Appended::into_result)
    }

    /// The append step of [`put_messages`](Self::put_messages), for synchronous callers.
    pub fn append_messages(&self, batch: &StoreBatch) -> Result<PendingPut, PutMessageResult> {
        self.appender
            .append_batch(batch, Roll::Wait)
            .map_err(Appended::into_result)
    }

    /// The staged copy of a message asking for later delivery, if it does.
    fn route(&self, msg: &StoreMessage) -> Result<Option<StoreMessage>, PutMessageResult> {
        route(
            msg,
            &self.config.message_delay_level,
            self.config.timer_max_delay_sec,
            now_millis(),
        )
    }

    /// Per delay level, the next `SCHEDULE_TOPIC_XXXX` offset to deliver
    /// (`config/delayOffset.json`, GET_ALL_DELAY_OFFSET).
    pub fn delay_offsets(&self) -> DelayOffsetTable {
        self.delivery.delay_offsets()
    }

    /// A slave takes its master's delay-level progress (GET_ALL_DELAY_OFFSET) and keeps it
    /// in `config/delayOffset.json`.
    pub fn adopt_delay_offsets(&self, table: &DelayOffsetTable) -> Result<(), StoreError> {
        self.delivery.adopt_levels(table)
    }

    /// Where delivery of delayed and timer messages stands.
    pub fn delivery_stats(&self) -> DeliveryStats {
        self.delivery.stats()
    }

    pub fn commit_log_min_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    /// Offset just past the last appended byte.
    pub fn commit_log_max_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    /// Bytes appended but not yet dispatched to the queues and index.
    pub fn dispatch_behind_bytes(&self) -> i64 {
        (self.commit_log.max_offset() - self.dispatcher.dispatched()).max(0)
    }

    /// Sets the listener called after each dispatched record (long polling).
    pub fn set_arrival_listener(&self, listener: ArrivalListener) {
        self.dispatcher.set_listener(listener);
    }

    /// Drops the consume queues (and files) of `topics` and forgets their queue offsets.
    pub fn delete_topics(&self, topics: &[String]) {
        self.commit_log.remove_topics(topics);
        for t in topics {
            self.queues.remove_topic(t);
        }
    }

    /// Queue ids of `topic` that have a consume queue, sorted.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        self.queues.queue_ids(topic)
    }

    pub fn stats(&self) -> StoreStats {
        let counters = self.commit_log.counters();
        let max = self.commit_log.max_offset();
        let dispatched = self.dispatcher.dispatched();
        StoreStats {
            put_count: counters.appends,
            put_message_count: counters.records,
            put_bytes: counters.bytes,
            msync_count: self.flusher.msync_count(),
            consume_queue_msync_count: self.queue_flusher.msync_count(),
            commit_log_min_offset: self.commit_log.min_offset(),
            commit_log_max_offset: max,
            commit_log_flushed_offset: self.flusher.flushed_offset(),
            dispatched_offset: dispatched,
            dispatch_behind_bytes: (max - dispatched).max(0),
            consume_queue_count: self.queues.all().len(),
            next_file_ready: self.commit_log.next_file_ready(),
            disk_used_ratio: self.health.disk_ratio(),
            disk_full: self.health.disk_full(),
            poisoned: self.health.poisoned().map(str::to_string),
            out_of_space: self.health.out_of_space(),
            dispatch_stopped: self.dispatcher.stopped(),
        }
    }

    /// Durations of the CommitLog flushes (msync) that wrote something.
    pub fn flush_latency(&self) -> HistogramSnapshot {
        self.flusher.latency()
    }

    /// Time from append to dispatch (ConsumeQueue entry written) of each record.
    pub fn dispatch_latency(&self) -> HistogramSnapshot {
        self.dispatcher.latency()
    }

    /// Why appends are refused right now, if they are.
    pub fn refusal(&self) -> Option<String> {
        self.health.refusal()
    }

    pub fn root_dir(&self) -> &Path {
        &self.config.store_path_root_dir
    }

    /// Stops the threads after a final flush of the log, queues and index, writes the
    /// checkpoint, deletes `abort` and releases the lock. Idempotent.
    pub fn shutdown(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.health.set_shut_down();
        self.commit_log.close();
        self.stop_threads(false);
        if let Err(e) = self.queue_flusher.flush(true) {
            tracing::error!(error = %e, "final flush failed; the next start recovers as after a crash");
        } else if let Err(e) = self.abort.remove() {
            tracing::error!(error = %e, "cannot delete the abort file");
        }
        *self.lock.lock() = None;
        tracing::info!(root = %self.root_dir().display(), "message store shut down");
    }

    /// Stops the threads without flushing or checkpointing and keeps the `abort` file, as
    /// if the process had died; releases the lock so the directory can be reopened.
    #[doc(hidden)]
    pub fn halt_for_crash_test(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.health.set_shut_down();
        self.commit_log.close();
        self.stop_threads(true);
        *self.lock.lock() = None;
    }

    fn stop_threads(&self, halt: bool) {
        // The delivery thread writes its final progress while the others still run.
        if halt {
            self.delivery.control().halt();
        } else {
            self.delivery.control().stop();
        }
        if halt {
            self.dispatcher.control.halt();
            self.flusher.control.halt();
        } else {
            self.dispatcher.control.stop();
            self.flusher.control.stop();
        }
        // The final queue flush and checkpoint run on the caller after the others stopped.
        self.queue_flusher.control.halt();
        self.cleaner.control.stop();
        self.allocator.stop();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            let name = t.thread().name().unwrap_or("?").to_string();
            if t.join().is_err() {
                tracing::error!(thread = name, "store thread panicked");
            }
        }
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}
