//! [`ConsumeService`]: runs a push consumer's listener. Pulled messages are split into
//! batches of `consume_batch_max`; each batch waits for one of `consume_concurrency` permits
//! and then runs the (async) listener in its own task on the runtime; a blocking listener
//! wrapped in [`super::Blocking`] moves itself to the blocking pool.
//!
//! Before the listener sees a message from the group's retry topic, its original topic is
//! restored from RETRY_TOPIC. After it: Success removes the batch from the process queue,
//! which may move the offset. ReconsumeLater (or a panic) when clustering sends each message
//! back (CONSUMER_SEND_MSG_BACK, delay level 0 = the broker's 3 + reconsume times, the
//! consumer's max reconsume times if set, else the group's) so it returns through the retry
//! topic, or goes to the dead-letter queue; a message the broker does not take back stays in
//! the process queue and is delivered again here after 5 s, so the offset never passes it. When broadcasting a failed
//! message is dropped, as Java does.

use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::{MessageModel, MessageQueue};
use fennec_protocol::header::ConsumerSendMsgBackRequestHeader;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::MessageExt;
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::retry_topic;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::core::ConsumerCore;
use super::listener::{ConsumeContext, ConsumeResult, DynListener};
use super::process_queue::ProcessQueue;
use crate::error::ClientError;

/// Delay before a message the broker would not take back is consumed again.
pub(crate) const LOCAL_RETRY_DELAY: Duration = Duration::from_secs(5);

/// One batch for the listener.
struct ConsumeRequest {
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    epoch: u64,
    msgs: Vec<MessageExt>,
}

/// Runs the listener of one push consumer.
pub(crate) struct ConsumeService {
    core: Arc<ConsumerCore>,
    listener: Arc<dyn DynListener>,
    permits: Arc<Semaphore>,
    batch_max: usize,
    max_reconsume_times: Option<i32>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl ConsumeService {
    pub(crate) fn new(
        core: Arc<ConsumerCore>,
        listener: Arc<dyn DynListener>,
        concurrency: usize,
        batch_max: usize,
        max_reconsume_times: Option<i32>,
    ) -> Self {
        ConsumeService {
            core,
            listener,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            batch_max: batch_max.max(1),
            max_reconsume_times,
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }
    }

    /// Queues `msgs` (just put into `pq` under `epoch`) for the listener.
    pub(crate) fn submit(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        epoch: u64,
        msgs: Vec<MessageExt>,
    ) {
        let mut msgs = msgs.into_iter().peekable();
        while msgs.peek().is_some() {
            let batch: Vec<MessageExt> = msgs.by_ref().take(self.batch_max).collect();
            self.spawn(
                ConsumeRequest {
                    mq: mq.clone(),
                    pq: pq.clone(),
                    epoch,
                    msgs: batch,
                },
                None,
            );
        }
    }

    fn spawn(self: &Arc<Self>, req: ConsumeRequest, delay: Option<Duration>) {
        let svc = self.clone();
        self.tracker.spawn(async move {
            if let Some(d) = delay {
                tokio::select! {
                    _ = svc.token.cancelled() => return,
                    _ = tokio::time::sleep(d) => {}
                }
            }
            svc.run(req).await
        });
    }

    async fn run(self: Arc<Self>, req: ConsumeRequest) {
        let permit = tokio::select! {
            biased;
            _ = self.token.cancelled() => return,
            p = self.permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let ConsumeRequest {
            mq,
            pq,
            epoch,
            mut msgs,
        } = req;
        if !pq.is_current(epoch) {
            return;
        }
        prepare_for_listener(&mut msgs, &self.core.group);
        let context = ConsumeContext {
            message_queue: mq.clone(),
        };
        let result = self.listener.run(&msgs, &context).await;
        drop(permit);
        let result = result.unwrap_or_else(|_| {
            warn!(%mq, "the message listener panicked; consuming the messages later");
            ConsumeResult::ReconsumeLater
        });
        self.finish(mq, pq, epoch, msgs, result).await;
    }

    async fn finish(
        self: &Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        epoch: u64,
        msgs: Vec<MessageExt>,
        result: ConsumeResult,
    ) {
        if !pq.is_current(epoch) {
            // The queue was taken away or reset meanwhile: its new owner or position
            // decides; sending back would only duplicate the message.
            return;
        }
        let mut done: Vec<i64> = Vec::with_capacity(msgs.len());
        let mut kept = Vec::new();
        match (result, self.core.settings.model) {
            (ConsumeResult::Success, _) => done.extend(msgs.iter().map(|m| m.queue_offset)),
            (ConsumeResult::ReconsumeLater, MessageModel::Broadcasting) => {
                for m in &msgs {
                    warn!(%mq, msg_id = m.id(), "broadcast message not consumed; dropping it");
                    done.push(m.queue_offset);
                }
            }
            (ConsumeResult::ReconsumeLater, MessageModel::Clustering) => {
                for m in msgs {
                    match self.send_back(&mq, &m).await {
                        Ok(()) => done.push(m.queue_offset),
                        Err(e) => {
                            debug!(%mq, msg_id = m.id(), "send-back refused, consuming again here later: {e}");
                            kept.push(m);
                        }
                    }
                }
            }
        }
        pq.remove(epoch, &done, |offset| {
            self.core.offsets.update(&mq, offset, true)
        });
        if !kept.is_empty() {
            for m in &mut kept {
                m.reconsume_times += 1;
            }
            self.spawn(
                ConsumeRequest {
                    mq,
                    pq,
                    epoch,
                    msgs: kept,
                },
                Some(LOCAL_RETRY_DELAY),
            );
        }
    }

    async fn send_back(&self, mq: &MessageQueue, msg: &MessageExt) -> Result<(), ClientError> {
        let addr = self.core.instance.master_addr(mq).await?;
        let header = send_back_header(&self.core.group, msg, self.max_reconsume_times);
        self.core.instance.api().send_back(&addr, &header).await
    }

    /// Drops batches still waiting, lets running listeners finish and waits for them.
    pub(crate) async fn shutdown(&self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// The CONSUMER_SEND_MSG_BACK header for `msg` (its topic already restored).
pub(crate) fn send_back_header(
    group: &str,
    msg: &MessageExt,
    max_reconsume_times: Option<i32>,
) -> ConsumerSendMsgBackRequestHeader {
    ConsumerSendMsgBackRequestHeader {
        offset: msg.commit_log_offset,
        group: group.to_string(),
        delay_level: 0,
        origin_msg_id: Some(msg.id().to_string()),
        origin_topic: Some(msg.topic.clone()),
        unit_mode: Some(false),
        max_reconsume_times,
    }
}

/// Restores the original topic of messages from `group`'s retry topic and stamps
/// CONSUME_START_TIME.
pub(crate) fn prepare_for_listener(msgs: &mut [MessageExt], group: &str) {
    let retry = retry_topic(group);
    let now = now_millis().to_string();
    for m in msgs {
        if m.topic == retry {
            if let Some(original) = m.properties.get(keys::RETRY_TOPIC) {
                m.topic = original.to_string();
            }
        }
        m.properties.insert(keys::CONSUME_START_TIME, now.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::header::CommandHeader;
    use fennec_remoting::ExtFields;

    #[test]
    fn retry_messages_get_their_topic_back() {
        let mut retried = MessageExt {
            topic: "%RETRY%G".into(),
            ..Default::default()
        };
        retried.properties.insert(keys::RETRY_TOPIC, "Orders");
        let mut other_group = MessageExt {
            topic: "%RETRY%H".into(),
            ..Default::default()
        };
        other_group.properties.insert(keys::RETRY_TOPIC, "Orders");
        let plain = MessageExt {
            topic: "Orders".into(),
            ..Default::default()
        };
        let mut msgs = vec![retried, other_group, plain];
        prepare_for_listener(&mut msgs, "G");
        assert_eq!(msgs[0].topic, "Orders");
        assert_eq!(msgs[1].topic, "%RETRY%H");
        assert_eq!(msgs[2].topic, "Orders");
        assert!(msgs
            .iter()
            .all(|m| m.property(keys::CONSUME_START_TIME).is_some()));
    }

    #[test]
    fn send_back_header_fields() {
        let mut m = MessageExt {
            topic: "Orders".into(),
            commit_log_offset: 4096,
            msg_id: "OFFSETID".into(),
            ..Default::default()
        };
        m.properties
            .insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "UNIQ");
        let mut f = ExtFields::new();
        send_back_header("G", &m, Some(16)).write_to(&mut f);
        let fields: Vec<(&str, &str)> = f.iter().collect();
        assert_eq!(
            fields,
            vec![
                ("delayLevel", "0"),
                ("group", "G"),
                ("maxReconsumeTimes", "16"),
                ("offset", "4096"),
                ("originMsgId", "UNIQ"),
                ("originTopic", "Orders"),
                ("unitMode", "false"),
            ]
        );
        let mut f = ExtFields::new();
        send_back_header("G", &m, None).write_to(&mut f);
        assert!(
            !f.contains_key("maxReconsumeTimes"),
            "the group's limit applies"
        );
    }
}
