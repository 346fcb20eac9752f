//! The push consumer's queues ([`PushQueues`]): each owned queue has a [`ProcessQueue`] and
//! a pull task that feeds the [`ConsumeService`]. Start, rebalance, resets and shutdown are
//! the shared [`ConsumerRuntime`]'s.

use std::collections::HashMap;
use std::sync::Arc;

use fennec_protocol::body::{ConsumeType, MessageModel, MessageQueue, SubscriptionData};
use fennec_protocol::message::MessageExt;
use fennec_protocol::topic::retry_topic;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use super::consume::ConsumeService;
use super::core::ConsumerCore;
use super::listener::DynListener;
use super::options::ConsumerSettings;
use super::process_queue::{FlowLimits, ProcessQueue};
use super::pull::{PullSink, PullTask};
use super::rebalance;
use super::runtime::{ConsumerRuntime, QueueOwner};
use super::subscription::Subscriptions;
use crate::error::ClientError;

/// Push-consumer settings beyond [`ConsumerSettings`].
#[derive(Debug, Clone)]
pub(crate) struct PushSettings {
    pub(crate) consume_batch_max: usize,
    pub(crate) consume_concurrency: usize,
    pub(crate) limits: FlowLimits,
    /// `None`: the group's `retryMaxTimes` on the broker.
    pub(crate) max_reconsume_times: Option<i32>,
}

/// One owned queue.
struct PushQueue {
    pq: Arc<ProcessQueue>,
    task: PullTask,
}

/// The owned queues and what starting one needs.
pub(crate) struct PushQueues {
    map: HashMap<MessageQueue, PushQueue>,
    core: Arc<ConsumerCore>,
    consume: Arc<ConsumeService>,
    limits: FlowLimits,
    token: CancellationToken,
    tracker: TaskTracker,
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

    fn drain(&mut self) -> Vec<PullTask> {
        self.map.drain().map(|(_, q)| q.task).collect()
    }

    /// Messages in flight no longer move the offset.
    async fn restart_queue(&mut self, mq: &MessageQueue, offset: i64) {
        if let Some(q) = self.map.remove(mq) {
            q.task.stop().await;
            q.pq.reset();
            self.spawn(mq.clone(), q.pq, offset);
        }
    }

    async fn rebalance(&mut self, core: &ConsumerCore) {
        rebalance::rebalance(core, self).await
    }

    /// Lets running listener calls finish, so their offsets are committed.
    async fn after_stop(&mut self) {
        self.consume.shutdown().await;
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
pub(crate) type PushShared = ConsumerRuntime<PushQueues>;

/// Starts a push consumer: subscribes it to its retry topic when clustering, joins the
/// instance and does the first rebalance.
pub(crate) async fn start(
    group: &str,
    settings: &ConsumerSettings,
    push: &PushSettings,
    subscriptions: Arc<Subscriptions>,
    listener: Arc<dyn DynListener>,
) -> Result<Arc<PushShared>, ClientError> {
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
    ConsumerRuntime::start(core.clone(), |token, tracker| PushQueues {
        map: HashMap::new(),
        core,
        consume,
        limits: push.limits,
        token: token.clone(),
        tracker: tracker.clone(),
    })
    .await
}
