//! Loading a store directory at open: every file is mapped, recovery sets the positions, the
//! records a crash lost are re-dispatched synchronously, the queue offsets are rebuilt from
//! the consume queues, and the recovered state is flushed and checkpointed before the
//! service threads start (see `message_store.rs`).

use std::sync::Arc;
use std::time::Instant;

use super::allocate::Allocator;
use super::checkpoint::{Checkpoint, CheckpointData};
use super::commit_log::CommitLog;
use super::config::StoreConfig;
use super::cq_flush::{QueueFlusher, QueueFlusherParts};
use super::dispatch::Dispatcher;
use super::error::StoreError;
use super::flush::Flusher;
use super::health::StoreHealth;
use super::index::IndexService;
use super::mapped_file_queue::MappedFileQueue;
use super::queue_offsets::QueueOffsets;
use super::queue_table::ConsumeQueueTable;
use super::recovery::{recover, RecoveryReport};
use super::schedule::StagingSignal;

/// The components recovery produced, before the store is assembled.
pub(crate) struct Parts {
    pub commit_log: Arc<CommitLog>,
    pub queues: Arc<ConsumeQueueTable>,
    pub index: Option<Arc<IndexService>>,
    pub health: Arc<StoreHealth>,
    pub flusher: Arc<Flusher>,
    pub dispatcher: Arc<Dispatcher>,
    pub queue_flusher: Arc<QueueFlusher>,
    pub staging: Arc<StagingSignal>,
    pub report: RecoveryReport,
}

/// Loads every file, recovers and re-dispatches (the allocation thread already runs).
pub(crate) fn recover_parts(
    config: &StoreConfig,
    allocator: &Arc<Allocator>,
    health: &Arc<StoreHealth>,
    crashed: bool,
    checkpoint_data: Option<CheckpointData>,
) -> Result<Parts, StoreError> {
    let root = &config.store_path_root_dir;
    let cl_size = config.mapped_file_size_commit_log;
    let health = health.clone();
    let commit_log = Arc::new(CommitLog::new(
        MappedFileQueue::load(&config.commit_log_dir(), cl_size)?
            .sparse(config.commit_log_reserve_ahead),
        allocator.clone(),
    ));
    let queues = Arc::new(ConsumeQueueTable::load(
        &root.join("consumequeue"),
        config.consume_queue_file_size(),
    )?);
    let index = match config.message_index_enable {
        true => Some(Arc::new(IndexService::load(
            &root.join("index"),
            config.max_hash_slot_num,
            config.max_index_num,
        )?)),
        false => None,
    };
    let mut report = RecoveryReport::default();
    let resume = recover(
        &commit_log,
        &queues,
        index.as_deref(),
        crashed,
        checkpoint_data,
        config.check_crc_on_recover,
        &mut report,
    )?;
    commit_log.resume()?;
    let staging = Arc::new(StagingSignal {
        levels: config.message_delay_level.clone(),
        control: Default::default(),
    });
    let dispatcher = Dispatcher::new(
        commit_log.clone(),
        queues.clone(),
        index.clone(),
        health.clone(),
        staging.clone(),
        (resume.dispatch_from, resume.index_from),
    );
    let redispatch_started = Instant::now();
    report.records_redispatched = dispatcher.dispatch_available();
    report.redispatch_elapsed = redispatch_started.elapsed();
    if let Some(cp) = checkpoint_data {
        dispatcher.note_timestamp(cp.logics_msg_timestamp);
        commit_log.note_store_timestamp(cp.physic_msg_timestamp);
    }
    commit_log.note_store_timestamp(dispatcher.last_timestamp());
    let mut offsets = QueueOffsets::default();
    for q in queues.all() {
        offsets.set(q.topic(), q.queue_id(), q.max_offset());
    }
    commit_log.set_queue_offsets(offsets);

    // Recovered bytes may be only in the page cache: make them durable before the
    // checkpoint says so.
    // (Unless re-dispatch stopped at an unreadable record: the store then opens poisoned,
    // serving reads, and keeps its old checkpoint.)
    let flusher = Flusher::new(config, commit_log.clone(), health.clone());
    let poisoned = health.poisoned().is_some();
    if !poisoned && !flusher.flush_all() {
        return Err(StoreError::Config(format!(
            "cannot msync the recovered commit log: {}",
            health.poisoned().unwrap_or_default()
        )));
    }
    let queue_flusher = QueueFlusher::new(
        config,
        QueueFlusherParts {
            commit_log: commit_log.clone(),
            queues: queues.clone(),
            index: index.clone(),
            dispatcher: dispatcher.clone(),
            flusher: flusher.clone(),
            health: health.clone(),
            checkpoint: Checkpoint::open(&root.join("checkpoint"))?,
        },
    );
    if !poisoned {
        queue_flusher.flush(true)?;
    }
    Ok(Parts {
        commit_log,
        queues,
        index,
        health,
        flusher,
        dispatcher,
        queue_flusher,
        staging,
        report,
    })
}
