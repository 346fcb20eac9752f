//! [`ConsumerRuntime`]: the start, rebalance, offset-reset and shutdown path that every
//! consumer kind shares. A kind supplies only a [`QueueOwner`]: how one queue starts and
//! stops, and what to do once pulling has stopped.
//!
//! Start: join the client instance (register as a [`GroupMember`], fetch routes, heartbeat),
//! then rebalance once. Shutdown: leave the instance's member table, stop every pull task,
//! wait for the tasks, let the owner finish (listeners, buffered commits), then commit offsets
//! and unregister from the brokers ([`ConsumerCore::leave`]).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use fennec_protocol::body::{ConsumerData, MessageQueue};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::core::ConsumerCore;
use super::pull::PullTask;
use crate::error::ClientError;
use crate::instance::GroupMember;

/// The queues of a consumer and how they start and stop.
pub(crate) trait QueueOwner: Send + 'static {
    /// The queues currently owned.
    fn owned(&self) -> Vec<MessageQueue>;
    /// Starts reading `mq` at `offset`.
    fn start_queue(&mut self, mq: MessageQueue, offset: i64);
    /// Gives `mq` up (a rebalance took it away): stops its pull task, and whatever else
    /// works on it, before its offset is committed.
    fn release_queue(&mut self, mq: &MessageQueue) -> impl Future<Output = ()> + Send;
    /// Runs once the offset of a queue given up is committed.
    fn released(&mut self, _mq: &MessageQueue) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Every pull task, for shutdown: the queues stay as they are, so work in flight
    /// still completes.
    fn drain(&mut self) -> Vec<PullTask>;
    /// Restarts owned `mq` at `offset` (an offset reset or a seek); messages from before
    /// no longer count.
    fn restart_queue(&mut self, mq: &MessageQueue, offset: i64) -> impl Future<Output = ()> + Send;
    /// Moves to the queues the consumer should own now (usually
    /// [`super::rebalance::rebalance`]: its share of the subscribed topics).
    fn rebalance(&mut self, core: &ConsumerCore) -> impl Future<Output = ()> + Send;
    /// Runs once every pull task has stopped during shutdown.
    fn after_stop(&mut self) -> impl Future<Output = ()> + Send;
    /// The connection to the broker at `addr` closed.
    fn connection_closed(&mut self, _core: &ConsumerCore, _addr: &str) {}
}

struct Queues<Q> {
    owner: Q,
    /// Set by shutdown: no queue starts any more.
    closed: bool,
}

/// A running consumer of any kind.
pub(crate) struct ConsumerRuntime<Q> {
    core: Arc<ConsumerCore>,
    queues: tokio::sync::Mutex<Queues<Q>>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl<Q: QueueOwner> ConsumerRuntime<Q> {
    /// Starts a consumer whose queues `owner` builds, given the token and tracker its pull
    /// tasks must run under; joins the instance and rebalances once.
    pub(crate) async fn start(
        core: Arc<ConsumerCore>,
        owner: impl FnOnce(&CancellationToken, &TaskTracker) -> Q,
    ) -> Result<Arc<Self>, ClientError> {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let runtime = Arc::new(ConsumerRuntime {
            queues: tokio::sync::Mutex::new(Queues {
                owner: owner(&token, &tracker),
                closed: false,
            }),
            core: core.clone(),
            token,
            tracker,
        });
        if let Err(e) = core.join(runtime.clone()).await {
            // Whatever `owner` started stops.
            runtime.token.cancel();
            return Err(e);
        }
        runtime.rebalance_queues().await;
        info!(group = %core.group, client_id = core.client_id(), "consumer started");
        Ok(runtime)
    }

    pub(crate) fn core(&self) -> &Arc<ConsumerCore> {
        &self.core
    }

    pub(crate) async fn rebalance_queues(&self) {
        let mut queues = self.queues.lock().await;
        if !queues.closed {
            queues.owner.rebalance(&self.core).await;
        }
    }

    /// Runs `f` on the queue owner under its lock; `None` once shut down.
    pub(crate) async fn with_owner<R>(&self, f: impl FnOnce(&mut Q) -> R) -> Option<R> {
        let mut queues = self.queues.lock().await;
        (!queues.closed).then(|| f(&mut queues.owner))
    }

    /// Moves owned `mq` to `offset`; false when `mq` is not owned.
    pub(crate) async fn move_queue(&self, mq: &MessageQueue, offset: i64) -> bool {
        let mut queues = self.queues.lock().await;
        if queues.closed || !queues.owner.owned().contains(mq) {
            return false;
        }
        // The offset moves before the queue restarts, so its first pull cannot commit the
        // old one.
        self.core.offsets.update(mq, offset, false);
        queues.owner.restart_queue(mq, offset).await;
        true
    }

    pub(crate) async fn assignment(&self) -> BTreeSet<MessageQueue> {
        self.queues.lock().await.owner.owned().into_iter().collect()
    }

    /// Stops pulling, lets the owner finish, commits offsets (waiting for the brokers) and
    /// leaves the group.
    pub(crate) async fn shutdown(&self) {
        let group = self.core.group.clone();
        self.core.instance.unregister_consumer(&group);
        let mut queues = self.queues.lock().await;
        queues.closed = true;
        self.token.cancel();
        for task in queues.owner.drain() {
            task.stop().await;
        }
        self.tracker.close();
        self.tracker.wait().await;
        queues.owner.after_stop().await;
        drop(queues);
        self.core.leave().await;
        info!(%group, "consumer stopped");
    }
}

impl<Q: QueueOwner> GroupMember for ConsumerRuntime<Q> {
    fn consumer_data(&self) -> ConsumerData {
        self.core.consumer_data()
    }

    fn topics(&self) -> Vec<String> {
        self.core.subscriptions.topics()
    }

    fn rebalance(&self) -> BoxFuture<'_, ()> {
        self.rebalance_queues().boxed()
    }

    fn persist_offsets(&self) -> BoxFuture<'_, ()> {
        async move {
            if let Err(e) = self.core.offsets.persist_all(false).await {
                debug!(group = %self.core.group, "offset commit failed: {e}");
            }
        }
        .boxed()
    }

    fn reset_offsets<'a>(
        &'a self,
        topic: &'a str,
        offsets: &'a [(MessageQueue, i64)],
    ) -> BoxFuture<'a, ()> {
        async move {
            for (mq, offset) in offsets.iter().filter(|(mq, _)| mq.topic == topic) {
                if self.move_queue(mq, *offset).await {
                    if let Err(e) = self.core.offsets.persist(mq).await {
                        warn!(%mq, "commit of the reset offset failed: {e}");
                    }
                    info!(%mq, offset, "offset reset");
                }
            }
        }
        .boxed()
    }

    fn connection_closed<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, ()> {
        async move {
            self.with_owner(|owner| owner.connection_closed(&self.core, addr))
                .await;
        }
        .boxed()
    }
}
