//! The long-polling pull loop that runs for every owned queue, for both consumer kinds.
//!
//! Each round waits until the consumer has room ([`PullSink::wait_for_room`]), sends
//! PULL_MESSAGE (the broker may hold it `broker_suspend`, 15 s; RPC timeout 30 s) and acts on
//! the answer:
//!
//! * FOUND: decode the records (decompressing bodies), keep those whose tag the subscription
//!   accepts, set MIN_OFFSET/MAX_OFFSET, hand them over, continue from nextBeginOffset;
//! * PULL_NOT_FOUND / PULL_RETRY_IMMEDIATELY: continue from nextBeginOffset at once;
//! * PULL_OFFSET_MOVED: adopt nextBeginOffset ([`PullSink::offset_moved`]);
//! * SUBSCRIPTION_NOT_EXIST / NOT_LATEST: heartbeat (the broker learns subscriptions from it)
//!   and retry; an unreachable master: refresh the route and pull from a slave of its group
//!   at once; any other error: retry after 1 s.
//!
//! Each answer names the broker of the group to pull from next (`suggestWhichBrokerId`: a
//! slave when the consumer lags far behind, the master again once it caught up); a group
//! whose master left the route is read from a slave. Pulls from a slave never commit
//! offsets.
//!
//! The push consumer pulls like Java's: SUSPEND, COMMIT_OFFSET when it has an offset to
//! commit, the subscription known from heartbeats. The pull consumer sends its subscription
//! with every pull (SUSPEND | SUBSCRIPTION | LITE_PULL).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::{ConsumeType, MessageQueue, SubscriptionData, MASTER_ID};
use fennec_protocol::header::{
    PullMessageRequestHeader, PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_LITE_PULL, PULL_FLAG_SUBSCRIPTION,
    PULL_FLAG_SUSPEND,
};
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::record::{decode_records, RecordError};
use fennec_protocol::message::MessageExt;
use fennec_remoting::ResponseCode;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::core::ConsumerCore;
use fennec_protocol::request::pull::{PullReply, PullStatus};

/// Wait after a failed pull (`pullTimeDelayMillsWhenException`).
pub(crate) const PULL_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Where a pull loop puts what it finds; one per queue.
pub(crate) trait PullSink: Send + Sync + 'static {
    /// The subscription to pull `topic` with; `None` pauses the queue.
    fn subscription(&self, core: &ConsumerCore, topic: &str) -> Option<Arc<SubscriptionData>>;
    /// Completes when the consumer may take more messages from this queue.
    fn wait_for_room(&self) -> impl Future<Output = ()> + Send;
    /// The offset to commit with the next pull, if any.
    fn commit_offset(&self) -> Option<i64>;
    /// Found messages (already filtered, not empty); the next pull starts at `next`.
    fn deliver(&self, msgs: Vec<MessageExt>, next: i64) -> impl Future<Output = ()> + Send;
    /// Nothing for this consumer below `next`.
    fn skipped(&self, next: i64);
    /// The broker moved the queue's offset to `next`.
    fn offset_moved(&self, next: i64) -> impl Future<Output = ()> + Send;
}

/// A running pull loop.
#[derive(Debug)]
pub(crate) struct PullTask {
    token: CancellationToken,
    handle: JoinHandle<()>,
}

impl PullTask {
    /// Starts the pull loop of `mq` at `offset`, stopped by `parent` or [`PullTask::stop`].
    pub(crate) fn spawn<S: PullSink>(
        tracker: &TaskTracker,
        parent: &CancellationToken,
        core: Arc<ConsumerCore>,
        mq: MessageQueue,
        offset: i64,
        sink: S,
    ) -> Self {
        let token = parent.child_token();
        let handle = tracker.spawn(pull_loop(core, mq, offset, sink, token.clone()));
        PullTask { token, handle }
    }

    /// Stops the loop and waits until it has ended.
    pub(crate) async fn stop(self) {
        self.token.cancel();
        let _ = self.handle.await;
    }
}

/// The PULL_MESSAGE header for `mq` at `offset`.
pub(crate) fn pull_header(
    core: &ConsumerCore,
    mq: &MessageQueue,
    offset: i64,
    sub: &SubscriptionData,
    commit_offset: Option<i64>,
) -> PullMessageRequestHeader {
    let lite = core.consume_type == ConsumeType::ConsumeActively;
    let mut sys_flag = PULL_FLAG_SUSPEND;
    if commit_offset.is_some() {
        sys_flag |= PULL_FLAG_COMMIT_OFFSET;
    }
    if lite {
        sys_flag |= PULL_FLAG_SUBSCRIPTION | PULL_FLAG_LITE_PULL;
    }
    PullMessageRequestHeader {
        consumer_group: core.group.clone(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        queue_offset: offset,
        max_msg_nums: core.settings.pull_batch_size,
        sys_flag,
        commit_offset: commit_offset.unwrap_or(0),
        suspend_timeout_millis: core.settings.broker_suspend.as_millis() as i64,
        subscription: lite.then(|| sub.sub_string.clone()),
        sub_version: if lite { 0 } else { sub.sub_version },
        expression_type: Some(sub.expression_type.clone()),
        max_msg_bytes: None,
        broker_name: None,
    }
}

/// The messages of a FOUND response this subscription wants, with MIN_OFFSET and
/// MAX_OFFSET set.
pub(crate) fn found_messages(
    resp: &PullReply,
    sub: &SubscriptionData,
) -> Result<Vec<MessageExt>, RecordError> {
    let mut msgs = decode_records(&resp.body, true)?;
    if !sub.is_all() && !sub.class_filter_mode {
        msgs.retain(|m| sub.matches_tag(m.tags()));
    }
    let min = resp.header.min_offset.to_string();
    let max = resp.header.max_offset.to_string();
    for m in &mut msgs {
        m.properties.insert(keys::MIN_OFFSET, min.clone());
        m.properties.insert(keys::MAX_OFFSET, max.clone());
    }
    Ok(msgs)
}

/// Sleeps `d`; false if cancelled first.
async fn pause(token: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = token.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

async fn pull_loop<S: PullSink>(
    core: Arc<ConsumerCore>,
    mq: MessageQueue,
    mut offset: i64,
    sink: S,
    token: CancellationToken,
) {
    let mut broker_id = MASTER_ID;
    let mut subscription_errors = 0u32;
    loop {
        tokio::select! {
            biased;
            _ = token.cancelled() => return,
            _ = sink.wait_for_room() => {}
        }
        let Some(sub) = sink.subscription(&core, &mq.topic) else {
            if !pause(&token, PULL_RETRY_DELAY).await {
                return;
            }
            continue;
        };
        let Some((addr, slave)) = core.instance.broker_addr(&mq.broker_name, broker_id) else {
            tokio::select! {
                _ = token.cancelled() => return,
                r = core.instance.update_route(&mq.topic) => if let Err(e) = r {
                    debug!(%mq, "route refresh failed: {e}");
                },
            }
            if !pause(&token, PULL_RETRY_DELAY).await {
                return;
            }
            continue;
        };
        let commit = if slave { None } else { sink.commit_offset() };
        let header = pull_header(&core, &mq, offset, &sub, commit);
        let result = tokio::select! {
            _ = token.cancelled() => return,
            r = core.instance.api().pull(&addr, &header, core.settings.pull_timeout) => r,
        };
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                let code = e.response_code();
                if code == Some(ResponseCode::SUBSCRIPTION_NOT_EXIST.into())
                    || code == Some(ResponseCode::SUBSCRIPTION_NOT_LATEST.into())
                {
                    subscription_errors += 1;
                    debug!(%mq, "broker lacks the subscription; sending a heartbeat: {e}");
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = core.instance.heartbeat_all() => {}
                    }
                    if subscription_errors == 1 {
                        continue;
                    }
                } else if code.is_none() {
                    // The broker is unreachable: learn whether it left the route, and read
                    // from a slave of the group meanwhile if the master is the one down.
                    warn!(%mq, %addr, "pull failed: {e}");
                    tokio::select! {
                        _ = token.cancelled() => return,
                        r = core.instance.update_route(&mq.topic) => if let Err(e) = r {
                            debug!(%mq, "route refresh failed: {e}");
                        },
                    }
                    if !slave {
                        if let Some(id) = core.instance.slave_id(&mq.broker_name) {
                            broker_id = id;
                            continue;
                        }
                    }
                } else {
                    warn!(%mq, %addr, "pull failed: {e}");
                }
                if !pause(&token, PULL_RETRY_DELAY).await {
                    return;
                }
                continue;
            }
        };
        subscription_errors = 0;
        broker_id = resp.header.suggest_which_broker_id;
        let next = resp.header.next_begin_offset;
        match resp.status {
            PullStatus::Found => match found_messages(&resp, &sub) {
                Ok(msgs) if msgs.is_empty() => {
                    offset = next;
                    sink.skipped(next);
                }
                Ok(msgs) => {
                    offset = next;
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = sink.deliver(msgs, next) => {}
                    }
                }
                Err(e) => {
                    warn!(%mq, offset, "undecodable pull response, pulling again: {e}");
                    if !pause(&token, PULL_RETRY_DELAY).await {
                        return;
                    }
                }
            },
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                offset = next;
                sink.skipped(next);
            }
            PullStatus::OffsetIllegal => {
                warn!(%mq, offset, next, "offset moved by the broker");
                offset = next;
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = sink.offset_moved(next) => {}
                }
            }
        }
    }
}
