//! [`LiteShared`]: a running pull consumer. One pull task per owned queue ([`LiteQueues`],
//! run by the shared [`ConsumerRuntime`]) fills a bounded buffer of batches; `poll` drains it. Every queue has an epoch: a seek or an offset reset
//! restarts the queue's task under a new epoch, and `poll` discards batches of an older
//! epoch or of a queue no longer owned, so nothing from before a seek is returned.
//!
//! The consumed offset of a queue is the nextBeginOffset of the last batch `poll` returned:
//! batches of one queue arrive in order, so everything below it was returned or filtered
//! out. Commits copy consumed offsets into the offset store.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::{ConsumeType, MessageQueue, SubscriptionData, SUB_ALL};
use fennec_protocol::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::core::ConsumerCore;
use super::options::ConsumerSettings;
use super::pull::{PullSink, PullTask};
use super::rebalance;
use super::runtime::{ConsumerRuntime, QueueOwner};
use super::subscription::Subscriptions;
use crate::error::ClientError;

/// How a pull consumer chooses its queues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum QueueMode {
    #[default]
    Unset,
    /// Subscriptions and clustering rebalance.
    Subscribe,
    /// Queues the application assigned.
    Assign(BTreeSet<MessageQueue>),
}

/// Pull-consumer settings beyond [`ConsumerSettings`].
#[derive(Debug, Clone)]
pub(crate) struct LiteSettings {
    pub(crate) auto_commit: bool,
    pub(crate) auto_commit_interval: Duration,
    /// Messages buffered for `poll` across queues (`pullThresholdForAll`).
    pub(crate) buffered_messages: usize,
}

/// Pulled messages of one queue, waiting for `poll`.
struct Batch {
    mq: MessageQueue,
    epoch: u64,
    msgs: Vec<MessageExt>,
    next: i64,
}

/// What `poll` knows of an owned queue.
#[derive(Debug, Clone, Copy)]
struct QueueState {
    epoch: u64,
    consumed: Option<i64>,
}

type States = Arc<Mutex<HashMap<MessageQueue, QueueState>>>;

/// The owned queues' pull tasks and what starting one needs.
pub(crate) struct LiteQueues {
    tasks: HashMap<MessageQueue, PullTask>,
    states: States,
    next_epoch: u64,
    mode: Arc<Mutex<QueueMode>>,
    /// Assign mode: pull every tag, whatever the subscriptions say.
    pull_all: bool,
    core: Arc<ConsumerCore>,
    buffer: mpsc::Sender<Batch>,
    auto_commit: bool,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl QueueOwner for LiteQueues {
    fn owned(&self) -> Vec<MessageQueue> {
        self.tasks.keys().cloned().collect()
    }

    fn start_queue(&mut self, mq: MessageQueue, offset: i64) {
        self.next_epoch += 1;
        let epoch = self.next_epoch;
        self.states.lock().insert(
            mq.clone(),
            QueueState {
                epoch,
                consumed: None,
            },
        );
        let sink = LiteSink {
            mq: mq.clone(),
            epoch,
            buffer: self.buffer.clone(),
            fixed: self
                .pull_all
                .then(|| Arc::new(SubscriptionData::from_tag_expression(&mq.topic, SUB_ALL, 0))),
        };
        let task = PullTask::spawn(
            &self.tracker,
            &self.token,
            self.core.clone(),
            mq.clone(),
            offset,
            sink,
        );
        self.tasks.insert(mq, task);
    }

    async fn release_queue(&mut self, mq: &MessageQueue) {
        let state = self.states.lock().remove(mq);
        if let (
            true,
            Some(QueueState {
                consumed: Some(o), ..
            }),
        ) = (self.auto_commit, state)
        {
            self.core.offsets.update(mq, o, false);
        }
        if let Some(task) = self.tasks.remove(mq) {
            task.stop().await;
        }
    }

    fn drain(&mut self) -> Vec<PullTask> {
        self.tasks.drain().map(|(_, task)| task).collect()
    }

    /// Restarts `mq` at `offset` under a new epoch.
    async fn restart_queue(&mut self, mq: &MessageQueue, offset: i64) {
        let Some(task) = self.tasks.remove(mq) else {
            return;
        };
        task.stop().await;
        self.start_queue(mq.clone(), offset);
        if let Some(s) = self.states.lock().get_mut(mq) {
            s.consumed = Some(offset);
        }
    }

    /// Moves to the queues of the current mode: the assigned ones, or this consumer's share
    /// of the subscribed topics.
    async fn rebalance(&mut self, core: &ConsumerCore) {
        let mode = self.mode.lock().clone();
        match mode {
            QueueMode::Unset => {}
            QueueMode::Subscribe => rebalance::rebalance(core, self).await,
            QueueMode::Assign(target) => {
                self.pull_all = true;
                rebalance::apply(core, self, &target, |_| true).await;
            }
        }
    }

    /// Commits what `poll` returned, when auto-committing.
    async fn after_stop(&mut self) {
        if self.auto_commit {
            commit_consumed(&self.states, &self.core);
        }
    }
}

/// Copies the consumed offsets into the offset store.
fn commit_consumed(states: &States, core: &ConsumerCore) {
    for (mq, s) in states.lock().iter() {
        if let Some(o) = s.consumed {
            core.offsets.update(mq, o, false);
        }
    }
}

/// Puts one queue's pulls into the shared buffer.
struct LiteSink {
    mq: MessageQueue,
    epoch: u64,
    buffer: mpsc::Sender<Batch>,
    fixed: Option<Arc<SubscriptionData>>,
}

impl PullSink for LiteSink {
    fn subscription(&self, core: &ConsumerCore, topic: &str) -> Option<Arc<SubscriptionData>> {
        self.fixed.clone().or_else(|| core.subscriptions.get(topic))
    }

    async fn wait_for_room(&self) {}

    fn commit_offset(&self) -> Option<i64> {
        None
    }

    async fn deliver(&self, msgs: Vec<MessageExt>, next: i64) {
        let batch = Batch {
            mq: self.mq.clone(),
            epoch: self.epoch,
            msgs,
            next,
        };
        // Waits while the buffer is full; fails only once the consumer is gone.
        let _ = self.buffer.send(batch).await;
    }

    fn skipped(&self, _next: i64) {}

    async fn offset_moved(&self, _next: i64) {}
}

/// A running pull consumer.
pub(crate) struct LiteShared {
    runtime: Arc<ConsumerRuntime<LiteQueues>>,
    lite: LiteSettings,
    states: States,
    buffer: tokio::sync::Mutex<mpsc::Receiver<Batch>>,
    next_auto_commit: Mutex<Instant>,
}

impl LiteShared {
    pub(crate) async fn start(
        group: &str,
        settings: &ConsumerSettings,
        lite: &LiteSettings,
        subscriptions: Arc<Subscriptions>,
        mode: Arc<Mutex<QueueMode>>,
    ) -> Result<Arc<Self>, ClientError> {
        let core = Arc::new(
            ConsumerCore::start(group, settings, ConsumeType::ConsumeActively, subscriptions)
                .await?,
        );
        let batches = (lite.buffered_messages / settings.pull_batch_size.max(1) as usize).max(1);
        let (tx, rx) = mpsc::channel(batches);
        let states: States = Arc::default();
        let runtime = ConsumerRuntime::start(core.clone(), |token, tracker| LiteQueues {
            tasks: HashMap::new(),
            states: states.clone(),
            next_epoch: 0,
            mode,
            pull_all: false,
            core,
            buffer: tx,
            auto_commit: lite.auto_commit,
            token: token.clone(),
            tracker: tracker.clone(),
        })
        .await?;
        Ok(Arc::new(LiteShared {
            runtime,
            lite: lite.clone(),
            states,
            buffer: tokio::sync::Mutex::new(rx),
            next_auto_commit: Mutex::new(Instant::now() + lite.auto_commit_interval),
        }))
    }

    pub(crate) fn core(&self) -> &Arc<ConsumerCore> {
        self.runtime.core()
    }

    /// Moves to the queues of the current mode.
    pub(crate) async fn rebalance(&self) {
        self.runtime.rebalance_queues().await
    }

    /// Waits up to `timeout` for messages and returns those buffered (at most a pull
    /// batch), oldest first.
    pub(crate) async fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        if self.lite.auto_commit {
            self.maybe_auto_commit();
        }
        let deadline = Instant::now() + timeout;
        let limit = self.core().settings.pull_batch_size.max(1) as usize;
        let Ok(mut buffer) = tokio::time::timeout_at(deadline, self.buffer.lock()).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            // Only the first batch is awaited: once messages are taken, nothing awaits, so
            // a cancelled poll never loses taken messages.
            let batch = if out.is_empty() {
                match tokio::time::timeout_at(deadline, buffer.recv()).await {
                    Ok(Some(b)) => b,
                    _ => break,
                }
            } else {
                match buffer.try_recv() {
                    Ok(b) => b,
                    Err(_) => break,
                }
            };
            if self.take(&batch) {
                out.extend(batch.msgs);
                if out.len() >= limit {
                    break;
                }
            }
        }
        out
    }

    /// Accepts a batch of a current epoch, moving its queue's consumed offset.
    fn take(&self, batch: &Batch) -> bool {
        match self.states.lock().get_mut(&batch.mq) {
            Some(s) if s.epoch == batch.epoch => {
                s.consumed = Some(batch.next);
                true
            }
            _ => false,
        }
    }

    fn maybe_auto_commit(&self) {
        let now = Instant::now();
        {
            let mut next = self.next_auto_commit.lock();
            if now < *next {
                return;
            }
            *next = now + self.lite.auto_commit_interval;
        }
        commit_consumed(&self.states, self.core());
    }

    /// Commits what `poll` returned, waiting for the brokers (or the file).
    pub(crate) async fn commit_sync(&self) -> Result<(), ClientError> {
        commit_consumed(&self.states, self.core());
        self.core().offsets.persist_all(true).await
    }

    /// Pulls `mq` from `offset` next; buffered messages of `mq` are discarded.
    pub(crate) async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        let owned = self
            .runtime
            .with_owner(|q| q.tasks.contains_key(mq))
            .await
            .unwrap_or(false);
        if !owned {
            return Err(ClientError::Config(format!(
                "{mq} is not assigned to this consumer"
            )));
        }
        let core = self.core();
        let (min, max) = (core.min_offset(mq).await?, core.max_offset(mq).await?);
        if offset < min || offset > max {
            return Err(ClientError::Config(format!(
                "seek offset {offset} of {mq} is outside [{min}, {max}]"
            )));
        }
        self.runtime.move_queue(mq, offset).await;
        Ok(())
    }

    /// The offset committed for `mq`: the one held in memory, else the stored one.
    pub(crate) async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>, ClientError> {
        match self.core().offsets.read(mq) {
            Some(o) => Ok(Some(o)),
            None => self.core().offsets.read_committed(mq).await,
        }
    }

    pub(crate) async fn assignment(&self) -> BTreeSet<MessageQueue> {
        self.runtime.assignment().await
    }

    /// Stops pulling, commits (what `poll` returned, when auto-committing) and leaves the
    /// group.
    pub(crate) async fn shutdown(&self) {
        self.runtime.shutdown().await
    }
}
