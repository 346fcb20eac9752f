//! The SDK's view of the typed request layer (`fennec_protocol::request`): one remoting
//! client, the SDK's header form and default timeout, and the mapping of failures to
//! [`ClientError`]. Requests are built and answers decoded by the request types themselves;
//! the few methods here add what only the SDK knows (a send's result, a queue's offsets).

use std::collections::BTreeSet;
use std::time::Duration;

use fennec_protocol::body::{
    HeartbeatData, LockBatchRequestBody, MessageQueue, TopicRouteData, UnlockBatchRequestBody,
};
use fennec_protocol::header::{
    ConsumerSendMsgBackRequestHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader,
    GetRouteInfoRequestHeader, PullMessageRequestHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, SendMessageRequestHeaderV2, UnregisterClientRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use fennec_protocol::request::client::{GetConsumerList, Heartbeat};
use fennec_protocol::request::lock::{LockBatchMq, UnlockBatchMq};
use fennec_protocol::request::pull::PullReply;
use fennec_protocol::request::send::{SendBatch, SendMessage, SendReply};
use fennec_protocol::request::{ReplyError, Request};
use fennec_remoting::{CallError, Channel, RemotingClient, RequestProcessor, SerializeType};

use crate::error::ClientError;
use crate::producer::{SendResult, SendStatus};

/// Region reported when the broker names none.
const DEFAULT_REGION: &str = "DefaultRegion";

/// The typed request layer over one remoting client.
pub(crate) struct Api<P: RequestProcessor> {
    remoting: RemotingClient<P>,
    timeout: Duration,
    serialize_type: SerializeType,
}

impl<P: RequestProcessor> std::fmt::Debug for Api<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<P: RequestProcessor> Api<P> {
    /// `timeout` applies to every request but sends and pulls, which take their own; every
    /// request uses the `serialize_type` header form.
    pub(crate) fn new(
        remoting: RemotingClient<P>,
        timeout: Duration,
        serialize_type: SerializeType,
    ) -> Self {
        Api {
            remoting,
            timeout,
            serialize_type,
        }
    }

    pub(crate) fn remoting(&self) -> &RemotingClient<P> {
        &self.remoting
    }

    /// Sends `request` to `addr`, waiting up to `timeout`.
    pub(crate) async fn call_within<R: Request>(
        &self,
        addr: &str,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Reply, ClientError> {
        self.remoting
            .call_as(addr, request, self.serialize_type, timeout)
            .await
            .map_err(client_error)
    }

    /// Sends `request` to `addr` with the default request timeout.
    pub(crate) async fn call<R: Request>(
        &self,
        addr: &str,
        request: &R,
    ) -> Result<R::Reply, ClientError> {
        self.call_within(addr, request, self.timeout).await
    }

    /// Sends `request` to `addr` as a oneway request.
    pub(crate) async fn call_oneway<R: Request>(
        &self,
        addr: &str,
        request: &R,
    ) -> Result<(), ClientError> {
        Ok(self
            .remoting
            .call_oneway(addr, request, self.serialize_type)
            .await?)
    }

    /// GET_ROUTEINFO_BY_TOPIC to a name server; `None` when the topic does not exist.
    pub(crate) async fn route(
        &self,
        namesrv: &str,
        topic: &str,
    ) -> Result<Option<TopicRouteData>, ClientError> {
        let request = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: None,
        };
        self.call(namesrv, &request).await
    }

    /// SEND_MESSAGE_V2, or SEND_BATCH_MESSAGE when the header says batch, waiting for the
    /// answer. `msg_id` is the UNIQ_KEY (or the comma-joined UNIQ_KEYs of a batch).
    pub(crate) async fn send(
        &self,
        addr: &str,
        mq: &MessageQueue,
        header: SendMessageRequestHeaderV2,
        body: bytes::Bytes,
        msg_id: String,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let reply = if header.batch == Some(true) {
            self.call_within(addr, &SendBatch { header, body }, timeout)
                .await?
        } else {
            self.call_within(addr, &SendMessage { header, body }, timeout)
                .await?
        };
        Ok(send_result(reply, mq, msg_id))
    }

    /// A send without an answer.
    pub(crate) async fn send_oneway(
        &self,
        addr: &str,
        header: SendMessageRequestHeaderV2,
        body: bytes::Bytes,
    ) -> Result<(), ClientError> {
        if header.batch == Some(true) {
            self.call_oneway(addr, &SendBatch { header, body }).await
        } else {
            self.call_oneway(addr, &SendMessage { header, body }).await
        }
    }

    /// PULL_MESSAGE.
    pub(crate) async fn pull(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullReply, ClientError> {
        self.call_within(addr, header, timeout).await
    }

    /// QUERY_CONSUMER_OFFSET; `None` when the broker has no offset for the group.
    pub(crate) async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
    ) -> Result<Option<i64>, ClientError> {
        let request = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        self.call(addr, &request).await
    }

    /// UPDATE_CONSUMER_OFFSET, as a oneway request or waiting for the answer.
    pub(crate) async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
        oneway: bool,
    ) -> Result<(), ClientError> {
        let request = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        if oneway {
            self.call_oneway(addr, &request).await
        } else {
            self.call(addr, &request).await
        }
    }

    /// GET_MAX_OFFSET: the offset the next message of the queue will get.
    pub(crate) async fn max_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
    ) -> Result<i64, ClientError> {
        let request = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
        };
        self.call(addr, &request).await
    }

    /// GET_MIN_OFFSET: the oldest offset still stored.
    pub(crate) async fn min_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
    ) -> Result<i64, ClientError> {
        let request = GetMinOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
        };
        self.call(addr, &request).await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp` (ms).
    pub(crate) async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64, ClientError> {
        let request = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp,
            boundary_type: None,
        };
        self.call(addr, &request).await
    }

    /// HEART_BEAT.
    pub(crate) async fn heartbeat(
        &self,
        addr: &str,
        data: &HeartbeatData,
    ) -> Result<(), ClientError> {
        self.call(addr, &Heartbeat(data.clone())).await
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group's live members.
    pub(crate) async fn consumer_ids(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<Vec<String>, ClientError> {
        let request = GetConsumerList {
            group: group.to_string(),
        };
        self.call(addr, &request).await
    }

    /// CONSUMER_SEND_MSG_BACK: hands a message back for redelivery through the retry topic.
    pub(crate) async fn send_back(
        &self,
        addr: &str,
        header: &ConsumerSendMsgBackRequestHeader,
    ) -> Result<(), ClientError> {
        self.call(addr, header).await
    }

    /// LOCK_BATCH_MQ: the queues of `body` the broker now holds for its client.
    pub(crate) async fn lock_batch(
        &self,
        addr: &str,
        body: LockBatchRequestBody,
    ) -> Result<BTreeSet<MessageQueue>, ClientError> {
        self.call(addr, &LockBatchMq(body)).await
    }

    /// UNLOCK_BATCH_MQ, as a oneway request or waiting for the answer.
    pub(crate) async fn unlock_batch(
        &self,
        addr: &str,
        body: UnlockBatchRequestBody,
        oneway: bool,
    ) -> Result<(), ClientError> {
        let request = UnlockBatchMq(body);
        if oneway {
            self.call_oneway(addr, &request).await
        } else {
            self.call(addr, &request).await
        }
    }

    /// UNREGISTER_CLIENT.
    pub(crate) async fn unregister_client(
        &self,
        addr: &str,
        header: &UnregisterClientRequestHeader,
    ) -> Result<(), ClientError> {
        self.call(addr, header).await
    }
}

/// Sends `request` oneway on `channel`, a connection a broker sent a request on (the answer
/// to a transaction check goes back where the check came from).
pub(crate) async fn oneway_on<R: Request>(
    channel: &Channel,
    request: &R,
    serialize_type: SerializeType,
) -> Result<(), ClientError> {
    let mut cmd = request.to_command();
    cmd.serialize_type = serialize_type;
    Ok(channel.oneway(cmd).await?)
}

/// A failed typed call as a [`ClientError`] naming the peer.
fn client_error(e: CallError) -> ClientError {
    match e {
        CallError::Remoting(e) => ClientError::Remoting(e),
        CallError::Reply {
            addr,
            request,
            source,
        } => match source {
            ReplyError::Refused { code, remark } => ClientError::Broker { code, remark, addr },
            other => ClientError::BadResponse {
                what: request,
                addr,
                reason: other.to_string(),
            },
        },
    }
}

/// The SDK's result of a stored send to `mq`.
fn send_result(reply: SendReply, mq: &MessageQueue, msg_id: String) -> SendResult {
    SendResult {
        // decode_reply lets only the stored codes through.
        status: SendStatus::from_code(i32::from(reply.code)).unwrap_or(SendStatus::SendOk),
        msg_id,
        offset_msg_id: reply.header.msg_id,
        message_queue: MessageQueue::new(&mq.topic, &mq.broker_name, reply.header.queue_id),
        queue_offset: reply.header.queue_offset,
        transaction_id: reply.header.transaction_id,
        region_id: reply
            .header
            .msg_region
            .unwrap_or_else(|| DEFAULT_REGION.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_remoting::{RemotingCommand, RemotingError, ResponseCode};

    #[test]
    fn send_results_and_errors() {
        let reply = SendReply {
            code: ResponseCode::FLUSH_DISK_TIMEOUT,
            header: fennec_protocol::header::SendMessageResponseHeader {
                msg_id: "C0A8000200002A9F0000000000000000".into(),
                queue_id: 3,
                queue_offset: 42,
                transaction_id: Some("UNIQ".into()),
                ..Default::default()
            },
        };
        let mq = MessageQueue::new("T", "broker-a", 0);
        let r = send_result(reply, &mq, "UNIQ".into());
        assert_eq!(r.status, SendStatus::FlushDiskTimeout);
        assert_eq!(r.message_queue, MessageQueue::new("T", "broker-a", 3));
        assert_eq!(r.queue_offset, 42);
        assert_eq!(r.region_id, "DefaultRegion");

        let refused = CallError::Reply {
            addr: "b:1".into(),
            request: "SEND_MESSAGE_V2",
            source: ReplyError::refused(&RemotingCommand::response(
                ResponseCode::TOPIC_NOT_EXIST,
                Some("no topic".into()),
            )),
        };
        let err = client_error(refused);
        assert!(
            matches!(&err, ClientError::Broker { code: 17, remark, addr } if remark == "no topic" && addr == "b:1")
        );
        assert!(err.is_retriable_send());
        let closed = client_error(CallError::Remoting(RemotingError::ConnectionClosed {
            addr: "b:1".into(),
        }));
        assert!(closed.is_retriable_send());
    }
}
