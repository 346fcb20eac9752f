//! [`OrderlyConsume`]: runs an orderly consumer's listener, one task per queue
//! ([`ConsumeTask`]), so that each queue has at most one batch in the listener and batches
//! follow queue order. At most `consume_concurrency` listener calls run at once across
//! queues.
//!
//! A queue's task loops: wait for pulled messages; unless the queue's lock is held, lock it
//! again (every second until granted: another client has it meanwhile, and this queue waits
//! while the others go on); take the next batch; run the listener. Success commits the
//! batch's offsets. SuspendCurrentQueueAMoment (or a panic) puts the batch back, with
//! `reconsume_times` one higher, and pauses the queue for the suspend time; a message
//! already consumed `max_reconsume_times` times goes to the dead-letter queue instead
//! (CONSUMER_SEND_MSG_BACK with delay level -1, which the broker stores in `%DLQ%<group>`)
//! and counts as handled. If the broker does not take it, it is retried locally like any
//! other. Stopping the task lets the batch in hand finish and commit.

use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::MessageQueue;
use fennec_protocol::message::MessageExt;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::consume::{prepare_for_listener, send_back_header};
use super::core::ConsumerCore;
use super::listener::{ConsumeContext, DynListener};
use super::orderly_listener::OrderlyResult;
use super::orderly_queue::OrderlyQueue;
use super::queue_lock;
use crate::error::ClientError;

/// Pause between attempts to lock a queue whose lock was lost.
pub(crate) const LOCK_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Sleeps `d`; false if cancelled first.
async fn pause(token: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = token.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// The listener and the rules of an orderly consumer, shared by its queues' tasks.
pub(crate) struct OrderlyConsume {
    pub(crate) core: Arc<ConsumerCore>,
    pub(crate) listener: Arc<dyn DynListener<OrderlyResult>>,
    pub(crate) permits: Semaphore,
    pub(crate) batch_max: usize,
    /// Local retries of a message before the dead-letter queue; `None`: no limit.
    pub(crate) max_reconsume_times: Option<i32>,
    /// Pause of a queue after SuspendCurrentQueueAMoment.
    pub(crate) suspend: Duration,
}

/// The running consume loop of one queue.
#[derive(Debug)]
pub(crate) struct ConsumeTask {
    token: CancellationToken,
    handle: JoinHandle<()>,
}

impl ConsumeTask {
    /// Starts consuming `queue`, stopped by `parent` or [`ConsumeTask::stop`].
    pub(crate) fn spawn(
        tracker: &TaskTracker,
        parent: &CancellationToken,
        consume: Arc<OrderlyConsume>,
        mq: MessageQueue,
        queue: Arc<OrderlyQueue>,
    ) -> Self {
        let token = parent.child_token();
        let handle = tracker.spawn(consume_loop(consume, mq, queue, token.clone()));
        ConsumeTask { token, handle }
    }

    /// Asks the loop to stop once the batch in hand is done.
    pub(crate) fn stop(&self) {
        self.token.cancel();
    }

    /// Waits up to `wait` for the loop to end; false if it is still running (its batch still
    /// in the listener).
    pub(crate) async fn ended_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, &mut self.handle).await.is_ok()
    }

    /// Waits for the loop to end.
    pub(crate) async fn ended(self) {
        let _ = self.handle.await;
    }
}

async fn consume_loop(
    svc: Arc<OrderlyConsume>,
    mq: MessageQueue,
    q: Arc<OrderlyQueue>,
    token: CancellationToken,
) {
    let context = ConsumeContext {
        message_queue: mq.clone(),
    };
    loop {
        tokio::select! {
            biased;
            _ = token.cancelled() => return,
            _ = q.wait_for_messages() => {}
        }
        if !q.lock.is_held() && !svc.relock(&mq, &q, &token).await {
            return;
        }
        let permit = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            p = svc.permits.acquire() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (epoch, mut msgs) = q.take(svc.batch_max);
        if msgs.is_empty() {
            continue;
        }
        prepare_for_listener(&mut msgs, &svc.core.group);
        let result = svc.listener.run(&msgs, &context).await;
        drop(permit);
        let result = result.unwrap_or_else(|_| {
            warn!(%mq, "the orderly listener panicked; suspending the queue");
            OrderlyResult::SuspendCurrentQueueAMoment
        });
        match result {
            OrderlyResult::Success => svc.commit(&mq, &q, epoch, &msgs),
            OrderlyResult::SuspendCurrentQueueAMoment => {
                if svc.suspend(&mq, &q, epoch, msgs).await && !pause(&token, svc.suspend).await {
                    return;
                }
            }
        }
    }
}

impl OrderlyConsume {
    /// Marks `msgs` handled; the offset may move past them.
    fn commit(&self, mq: &MessageQueue, q: &OrderlyQueue, epoch: u64, msgs: &[MessageExt]) {
        let offsets: Vec<i64> = msgs.iter().map(|m| m.queue_offset).collect();
        q.done(epoch, &offsets, |o| self.core.offsets.update(mq, o, true));
    }

    /// Locks `mq` again, retrying until granted; false if cancelled first.
    async fn relock(&self, mq: &MessageQueue, q: &OrderlyQueue, token: &CancellationToken) -> bool {
        let wanted = [mq.clone()].into();
        let mut attempts = 0u32;
        loop {
            let granted = tokio::select! {
                _ = token.cancelled() => return false,
                g = queue_lock::lock(&self.core, &wanted) => g,
            };
            if granted.contains(mq) {
                q.lock.renewed();
                if attempts > 0 {
                    info!(group = %self.core.group, %mq, "queue locked again; consuming");
                }
                return true;
            }
            if attempts == 0 {
                info!(group = %self.core.group, %mq, "queue lock lost; consuming it stops until it is locked again");
            }
            attempts += 1;
            if !pause(token, LOCK_RETRY_DELAY).await {
                return false;
            }
        }
    }

    /// Handles a suspended batch: messages past the reconsume limit go to the dead-letter
    /// queue, the others go back to be consumed again. True when some went back (the queue
    /// pauses); false when none did or the batch no longer counts.
    async fn suspend(
        &self,
        mq: &MessageQueue,
        q: &OrderlyQueue,
        epoch: u64,
        msgs: Vec<MessageExt>,
    ) -> bool {
        if !q.pq.is_current(epoch) {
            return false;
        }
        let limit = self.max_reconsume_times.unwrap_or(i32::MAX);
        let mut dead = Vec::new();
        let mut again = Vec::new();
        for mut m in msgs {
            if m.reconsume_times >= limit {
                match self.dead_letter(mq, &m).await {
                    Ok(()) => {
                        warn!(%mq, msg_id = m.id(), reconsumed = m.reconsume_times, "message moved to the dead-letter queue");
                        dead.push(m.queue_offset);
                        continue;
                    }
                    Err(e) => {
                        debug!(%mq, msg_id = m.id(), "dead-letter send refused, consuming again: {e}")
                    }
                }
            }
            m.reconsume_times += 1;
            again.push(m);
        }
        if !dead.is_empty() {
            q.done(epoch, &dead, |o| self.core.offsets.update(mq, o, true));
        }
        if again.is_empty() {
            return false;
        }
        q.put_back(epoch, again);
        true
    }

    /// Sends `msg` to the group's dead-letter queue.
    async fn dead_letter(&self, mq: &MessageQueue, msg: &MessageExt) -> Result<(), ClientError> {
        let addr = self.core.instance.master_addr(mq).await?;
        let mut header = send_back_header(&self.core.group, msg, self.max_reconsume_times);
        header.delay_level = -1;
        self.core.instance.api().send_back(&addr, &header).await
    }
}
