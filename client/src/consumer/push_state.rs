//! The push consumer's queues ([`PushQueues`]): each owned queue has a [`ProcessQueue`] and
//! a pull task that feeds the [`ConsumeService`]. Start, rebalance, resets and shutdown are
//! the shared [`ConsumerRuntime`]'s. [`PushSink`] feeds a pull into a [`Deliver`]: the
//! concurrent consume service here, an orderly queue in [`super::orderly_state`].

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
            to: self.consume.clone(),
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

    async fn release_queue(&mut self, mq: &MessageQueue) {
        if let Some(q) = self.map.remove(mq) {
            q.pq.drop_queue();
            q.task.stop().await;
        }
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

/// Where a push consumer's pulled messages go.
pub(crate) trait Deliver: Send + Sync + 'static {
    /// Hands over `msgs` of `mq`, whose in-flight accounting is `pq`.
    fn deliver(&self, mq: &MessageQueue, pq: &Arc<ProcessQueue>, msgs: Vec<MessageExt>);
    /// Forgets every message in flight (the broker moved the offset).
    fn reset(&self, pq: &ProcessQueue) {
        pq.reset();
    }
}

impl Deliver for Arc<ConsumeService> {
    fn deliver(&self, mq: &MessageQueue, pq: &Arc<ProcessQueue>, msgs: Vec<MessageExt>) {
        let epoch = pq.put(&msgs);
        self.submit(mq, pq, epoch, msgs);
    }
}

/// Feeds one queue's pulls into its process queue and on to `to`.
pub(crate) struct PushSink<D> {
    pub(crate) core: Arc<ConsumerCore>,
    pub(crate) mq: MessageQueue,
    pub(crate) pq: Arc<ProcessQueue>,
    pub(crate) to: D,
    pub(crate) limits: FlowLimits,
}

impl<D: Deliver> PullSink for PushSink<D> {
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
        self.to.deliver(&self.mq, &self.pq, msgs);
    }

    fn skipped(&self, next: i64) {
        self.pq
            .commit_if_idle(next, |o| self.core.offsets.update(&self.mq, o, true));
    }

    async fn offset_moved(&self, next: i64) {
        self.to.reset(&self.pq);
        self.core.offsets.update(&self.mq, next, false);
        if let Err(e) = self.core.offsets.persist(&self.mq).await {
            warn!(mq = %self.mq, "commit of the moved offset failed: {e}");
        }
    }
}

/// A running push consumer.
pub(crate) type PushShared = ConsumerRuntime<PushQueues>;

/// The core of a push consumer of either kind: subscribed to its retry topic when
/// clustering, its client instance joined.
pub(crate) async fn start_core(
    group: &str,
    settings: &ConsumerSettings,
    subscriptions: Arc<Subscriptions>,
) -> Result<Arc<ConsumerCore>, ClientError> {
    if settings.model == MessageModel::Clustering {
        subscriptions.subscribe(&retry_topic(group), "*")?;
    }
    Ok(Arc::new(
        ConsumerCore::start(
            group,
            settings,
            ConsumeType::ConsumePassively,
            subscriptions,
        )
        .await?,
    ))
}

/// Starts a push consumer: subscribes it to its retry topic when clustering, joins the
/// instance and does the first rebalance.
pub(crate) async fn start(
    group: &str,
    settings: &ConsumerSettings,
    push: &PushSettings,
    subscriptions: Arc<Subscriptions>,
    listener: Arc<dyn DynListener>,
) -> Result<Arc<PushShared>, ClientError> {
    let core = start_core(group, settings, subscriptions).await?;
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
