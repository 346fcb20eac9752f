//! [`QueueFlusher`]: the `fennec-cq-flush` thread (RocketMQ's FlushConsumeQueueService).
//! Every `flushIntervalConsumeQueue` it msyncs the ConsumeQueues with at least
//! `flushConsumeQueueLeastPages` dirty pages; every `flushConsumeQueueThoroughInterval` (and
//! at shutdown) it msyncs every queue and the IndexFiles and then writes the checkpoint, whose
//! dispatch offset was read *before* those flushes, so everything below it is durable.
//! A failed msync or checkpoint write poisons the store; a poisoned store writes no more
//! checkpoints (and keeps its `abort` file at shutdown), so the next start recovers by
//! scanning the log as after a crash.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::checkpoint::{Checkpoint, CheckpointData};
use super::commit_log::CommitLog;
use super::config::{StoreConfig, PAGE_SIZE};
use super::dispatch::Dispatcher;
use super::error::StoreError;
use super::flush::Flusher;
use super::health::StoreHealth;
use super::index::IndexService;
use super::queue_table::ConsumeQueueTable;
use super::wakeup::{spawn_service, ServiceControl};

pub(crate) struct QueueFlusher {
    interval: Duration,
    thorough: Duration,
    least_bytes: i64,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    index: Option<Arc<IndexService>>,
    dispatcher: Arc<Dispatcher>,
    flusher: Arc<Flusher>,
    health: Arc<StoreHealth>,
    checkpoint: Checkpoint,
    msyncs: AtomicU64,
    /// Wake-up, stop and halt requests for the thread.
    pub(crate) control: ServiceControl,
}

impl std::fmt::Debug for QueueFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueFlusher").finish_non_exhaustive()
    }
}

/// The pieces the queue flusher works on.
pub(crate) struct QueueFlusherParts {
    pub commit_log: Arc<CommitLog>,
    pub queues: Arc<ConsumeQueueTable>,
    pub index: Option<Arc<IndexService>>,
    pub dispatcher: Arc<Dispatcher>,
    pub flusher: Arc<Flusher>,
    pub health: Arc<StoreHealth>,
    pub checkpoint: Checkpoint,
}

impl QueueFlusher {
    pub(crate) fn new(config: &StoreConfig, p: QueueFlusherParts) -> Arc<QueueFlusher> {
        Arc::new(QueueFlusher {
            interval: config.flush_interval_consume_queue,
            thorough: config.flush_consume_queue_thorough_interval,
            least_bytes: (config.flush_consume_queue_least_pages * PAGE_SIZE) as i64,
            commit_log: p.commit_log,
            queues: p.queues,
            index: p.index,
            dispatcher: p.dispatcher,
            flusher: p.flusher,
            health: p.health,
            checkpoint: p.checkpoint,
            msyncs: AtomicU64::new(0),
            control: ServiceControl::default(),
        })
    }

    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = self.clone();
        spawn_service("fennec-cq-flush", move || me.run())
    }

    pub(crate) fn msync_count(&self) -> u64 {
        self.msyncs.load(Ordering::Relaxed)
    }

    fn run(&self) {
        let mut last_thorough = Instant::now();
        loop {
            if !self.control.stopping() {
                self.control.wait(self.interval);
            }
            if self.control.halted() {
                return;
            }
            let stopping = self.control.stopping();
            let thorough = stopping || last_thorough.elapsed() >= self.thorough;
            match self.flush(thorough) {
                Ok(()) | Err(StoreError::Poisoned(_)) => {}
                Err(e) => self.health.poison(e.with_cause()),
            }
            if thorough {
                last_thorough = Instant::now();
            }
            if stopping {
                return;
            }
        }
    }

    /// Flushes the queues (all of them, the IndexFiles and the checkpoint when `thorough`).
    pub(crate) fn flush(&self, thorough: bool) -> Result<(), StoreError> {
        let dispatched = self.dispatcher.dispatched();
        let logics_ts = self.dispatcher.last_timestamp();
        let least = if thorough { 0 } else { self.least_bytes };
        for q in self.queues.all() {
            let n = q.flush(least)?;
            self.msyncs.fetch_add(n, Ordering::Relaxed);
        }
        if !thorough {
            return Ok(());
        }
        if let Some(index) = &self.index {
            index.flush()?;
        }
        // After a failed msync the commit log's flushed offset may claim bytes the kernel
        // dropped: the checkpoint keeps its last good state so the next start scans.
        if let Some(why) = self.health.poisoned() {
            return Err(StoreError::Poisoned(why.to_string()));
        }
        let physic_ts = self.commit_log.last_store_timestamp();
        let flushed = self.flusher.flushed_offset();
        self.checkpoint.write(&CheckpointData {
            physic_msg_timestamp: physic_ts,
            logics_msg_timestamp: logics_ts,
            index_msg_timestamp: logics_ts,
            master_flushed_offset: 0,
            confirm_phy_offset: flushed,
            commit_log_flushed_offset: flushed,
            dispatch_flushed_offset: dispatched,
        })
    }
}
