//! Transactional messages (reference §6), as RocketMQ 4.x stores them: one commit log, no
//! side tables.
//!
//! * A prepared send is stored as a **half message** in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0
//!   with its real topic and queue in REAL_TOPIC/REAL_QID (`records::into_half`, called by
//!   the send processor). Consumers never see it.
//! * END_TRANSACTION (`processor/transaction.rs`) commits (the message is stored again in its
//!   real queue, COMMIT type) or rolls back, and in both cases appends an **op message** to
//!   `RMQ_SYS_TRANS_OP_HALF_TOPIC` naming the half message's queue offset. A half message
//!   with an op is resolved; a second END_TRANSACTION for it changes nothing.
//! * The **check-back** thread `fennec-tx-check` (`check`) reads both queues
//!   (`reader`) into `state::TxState` and, every `transactionCheckInterval`, sends
//!   CHECK_TRANSACTION_STATE for each half message older than `transactionTimeOut` without
//!   an op to a live producer of its group; after `transactionCheckMax` checks the message
//!   is copied to `TRANS_CHECK_MAX_TIME_TOPIC`, closed with an op, and logged.
//! * Where the reading stopped and the check counts are saved in
//!   `config/transactionProgress.json` (through the broker's persister); at start-up both
//!   queues are read on from there before any request is served, so a restart neither
//!   forgets a half message nor checks a resolved one.

mod check;
mod reader;
pub(crate) mod records;
mod state;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use fennec_protocol::topic::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use fennec_store::MessageStore;
use parking_lot::Mutex;
use tracing::info;

use crate::broker::Broker;
use crate::persist::{self, Persister};
use crate::topic_config::TopicConfigManager;
use state::{Progress, TxState};

/// The broker's transaction bookkeeping and its check-back thread.
pub struct Transactions {
    state: Mutex<TxState>,
    /// `config/transactionProgress.json`.
    path: PathBuf,
    persister: Arc<Persister>,
    /// Dropping the sender stops the thread.
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Transactions {
    /// Loads the saved progress and reads both queues to their ends. Blocking: call while
    /// the broker opens, before requests are served.
    pub(crate) fn open(
        path: PathBuf,
        store: &MessageStore,
        persister: Arc<Persister>,
    ) -> io::Result<Self> {
        let saved: Progress = persist::load(&path)?.unwrap_or_default();
        let mut state = TxState::from_progress(saved);
        state.clamp(
            store.max_offset_in_queue(TRANS_HALF_TOPIC, records::HALF_QUEUE_ID),
            store.max_offset_in_queue(TRANS_OP_HALF_TOPIC, records::HALF_QUEUE_ID),
        );
        let state = Mutex::new(state);
        reader::catch_up(store, &state);
        let open = state.lock().open_count();
        if open > 0 {
            info!(open, "half messages waiting for their outcome");
        }
        Ok(Transactions {
            state,
            path,
            persister,
            stop: Mutex::new(None),
            thread: Mutex::new(None),
        })
    }

    /// Starts the check-back thread; `handle` sends its requests.
    pub(crate) fn start(b: &Arc<Broker>, handle: tokio::runtime::Handle) -> io::Result<()> {
        let (tx, rx) = crossbeam_channel::bounded(0);
        let thread = check::spawn(b.clone(), rx, handle)?;
        *b.transactions.stop.lock() = Some(tx);
        *b.transactions.thread.lock() = Some(thread);
        Ok(())
    }

    /// Stops the check-back thread; it saves the progress on its way out. Blocking.
    pub(crate) fn stop(&self) {
        drop(self.stop.lock().take());
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }

    /// Claims the outcome of the half message at `half_offset`; false when it already has
    /// one (the caller then writes nothing).
    pub(crate) fn begin_resolve(&self, half_offset: i64) -> bool {
        self.state.lock().begin_resolve(half_offset)
    }

    /// Gives back a claim whose records could not be stored.
    pub(crate) fn abort_resolve(&self, half_offset: i64) {
        self.state.lock().abort_resolve(half_offset);
    }

    /// Half messages read and still without an outcome.
    pub fn open_count(&self) -> usize {
        self.state.lock().open_count()
    }

    /// Queues the progress for writing when it changed.
    fn save(&self) {
        let progress = {
            let mut s = self.state.lock();
            if !s.take_changed() {
                return;
            }
            s.progress()
        };
        match serde_json::to_vec(&progress) {
            Ok(bytes) => self.persister.submit(self.path.clone(), bytes),
            Err(e) => tracing::error!("cannot encode the transaction progress: {e}"),
        }
    }
}

/// Creates the half and op topics (one queue each) the first time a half message comes.
pub(crate) fn ensure_topics(topics: &TopicConfigManager) {
    for topic in [TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC] {
        if !topics.contains(topic) {
            topics.ensure_system_topic(topic, 1);
        }
    }
}
