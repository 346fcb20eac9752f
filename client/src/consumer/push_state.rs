//! [`PushShared`]: a running push consumer. Its owned queues, each with a
//! [`ProcessQueue`] and a pull task that feeds the [`ConsumeService`]; what the client
//! instance asks of it (rebalance, offset commits, offset resets); and its orderly shutdown.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use fennec_common::message::MessageExt;
use fennec_common::protocol::body::{ConsumeType, MessageModel, MessageQueue, SubscriptionData};
use fennec_common::protocol::topic::retry_topic;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::consume::ConsumeService;
use super::core::ConsumerCore;
use super::listener::MessageListener;
use super::member::ConsumerRef;
use super::options::ConsumerSettings;
use super::process_queue::{FlowLimits, ProcessQueue};
use super::pull::{PullSink, PullTask};
use super::rebalance::{self, QueueOwner};
use super::subscription::Subscriptions;
use crate::error::ClientError;

/// Push-consumer settings beyond [`ConsumerSettings`].
#[derive(Debug, Clone)]
pub(crate) struct PushSettings {
    pub(crate) consume_batch_max: usize,
    pub(crate) consume_concurrency: usize,
    pub(crate) limits: FlowLimits,
    pub(crate) max_reconsume_times: i32,
}

/// One owned queue.
struct PushQueue {
    pq: Arc<ProcessQueue>,
    task: PullTask,
}

/// The owned queues and what starting one needs.
struct PushQueues {
    map: HashMap<MessageQueue, PushQueue>,
    core: Arc<ConsumerCore>,
    consume: Arc<ConsumeService>,
    limits: FlowLimits,
    token: CancellationToken,
    tracker: TaskTracker,
    /// Set by shutdown: no queue starts any more.
    closed: bool,
}

impl PushQueues {
    fn spawn(&mut self, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) {
        let sink = PushSink {
            core: self.core.clone(),
            mq: mq.clone(),
            pq: pq.clone(),
            consume: self.consume.clone(),
            limits: self.limits,
        };
        let task = PullTask::spawn(
            &self.tracker,
            &self.token,
            self.core.clone(),
            mq.clone(),
            offset,
            sink,
        );
        self.map.insert(mq, PushQueue { pq, task });
    }
}

impl QueueOwner for PushQueues {
    fn owned(&self) -> Vec<MessageQueue> {
        self.map.keys().cloned().collect()
    }

    fn start_queue(&mut self, mq: MessageQueue, offset: i64) {
        self.spawn(mq, Arc::new(ProcessQueue::default()), offset);
    }

    fn take_queue(&mut self, mq: &MessageQueue) -> Option<PullTask> {
        let q = self.map.remove(mq)?;
        q.pq.drop_queue();
        Some(q.task)
    }
}

/// Feeds one queue's pulls into its process queue and the listener.
struct PushSink {
    core: Arc<ConsumerCore>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    consume: Arc<ConsumeService>,
    limits: FlowLimits,
}

impl PullSink for PushSink {
    fn subscription(&self, core: &ConsumerCore, topic: &str) -> Option<Arc<SubscriptionData>> {
        core.subscriptions.get(topic)
    }

    async fn wait_for_room(&self) {
        self.pq.wait_for_room(&self.limits).await
    }

    fn commit_offset(&self) -> Option<i64> {
        match self.core.settings.model {
            MessageModel::Clustering => self.core.offsets.read(&self.mq).filter(|o| *o > 0),
            MessageModel::Broadcasting => None,
        }
    }

    async fn deliver(&self, msgs: Vec<MessageExt>, _next: i64) {
        let epoch = self.pq.put(&msgs);
        self.consume.submit(&self.mq, &self.pq, epoch, msgs);
    }

    fn skipped(&self, next: i64) {
        self.pq
            .commit_if_idle(next, |o| self.core.offsets.update(&self.mq, o, true));
    }

    async fn offset_moved(&self, next: i64) {
        self.pq.reset();
        self.core.offsets.update(&self.mq, next, false);
        if let Err(e) = self.core.offsets.persist(&self.mq).await {
            warn!(mq = %self.mq, "commit of the moved offset failed: {e}");
        }
    }
}

/// A running push consumer.
pub(crate) struct PushShared {
    core: Arc<ConsumerCore>,
    consume: Arc<ConsumeService>,
    queues: tokio::sync::Mutex<PushQueues>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl PushShared {
    /// Starts: joins the instance, registers, fetches routes, heartbeats, and does the
    /// first rebalance.
    pub(crate) async fn start(
        group: &str,
        settings: &ConsumerSettings,
        push: &PushSettings,
        subscriptions: Arc<Subscriptions>,
        listener: Arc<dyn MessageListener>,
    ) -> Result<Arc<Self>, ClientError> {
        if settings.model == MessageModel::Clustering {
            subscriptions.subscribe(&retry_topic(group), "*")?;
        }
        let core = Arc::new(
            ConsumerCore::start(
                group,
                settings,
                ConsumeType::ConsumePassively,
                subscriptions,
            )
            .await?,
        );
        let consume = Arc::new(ConsumeService::new(
            core.clone(),
            listener,
            push.consume_concurrency,
            push.consume_batch_max,
            push.max_reconsume_times,
        ));
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let shared = Arc::new(PushShared {
            queues: tokio::sync::Mutex::new(PushQueues {
                map: HashMap::new(),
                core: core.clone(),
                consume: consume.clone(),
                limits: push.limits,
                token: token.clone(),
                tracker: tracker.clone(),
                closed: false,
            }),
            core: core.clone(),
            consume,
            token,
            tracker,
        });
        core.join(ConsumerRef::Push(shared.clone())).await?;
        shared.rebalance().await;
        info!(%group, client_id = core.client_id(), "push consumer started");
        Ok(shared)
    }

    pub(crate) fn core(&self) -> &Arc<ConsumerCore> {
        &self.core
    }

    pub(crate) async fn rebalance(&self) {
        let mut queues = self.queues.lock().await;
        if !queues.closed {
            rebalance::rebalance(&self.core, &mut *queues).await;
        }
    }

    pub(crate) async fn persist_offsets(&self) {
        if let Err(e) = self.core.offsets.persist_all(false).await {
            debug!(group = %self.core.group, "offset commit failed: {e}");
        }
    }

    /// Moves the owned queues of `topic` listed in `offsets` to their new offsets and pulls
    /// again from there; messages in flight no longer move the offset.
    pub(crate) async fn reset_offsets(&self, topic: &str, offsets: &[(MessageQueue, i64)]) {
        let mut queues = self.queues.lock().await;
        for (mq, offset) in offsets.iter().filter(|(mq, _)| mq.topic == topic) {
            let Some(q) = queues.map.remove(mq) else {
                continue;
            };
            q.task.stop().await;
            q.pq.reset();
            self.core.offsets.update(mq, *offset, false);
            if let Err(e) = self.core.offsets.persist(mq).await {
                warn!(%mq, "commit of the reset offset failed: {e}");
            }
            info!(%mq, offset, "offset reset");
            if !queues.closed {
                queues.spawn(mq.clone(), q.pq, *offset);
            }
        }
    }

    pub(crate) async fn assignment(&self) -> BTreeSet<MessageQueue> {
        self.queues.lock().await.map.keys().cloned().collect()
    }

    /// Stops pulling, lets running listeners finish, commits offsets (waiting for the
    /// brokers), and leaves the group.
    pub(crate) async fn shutdown(&self) {
        let group = self.core.group.clone();
        self.core.instance.unregister_consumer(&group);
        {
            let mut queues = self.queues.lock().await;
            queues.closed = true;
            self.token.cancel();
            for (_, q) in queues.map.drain() {
                q.task.stop().await;
            }
        }
        self.tracker.close();
        self.tracker.wait().await;
        self.consume.shutdown().await;
        self.core.leave().await;
        info!(%group, "push consumer stopped");
    }
}
