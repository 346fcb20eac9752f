//! Typed requests over the remoting client: one method per request the SDK sends (route,
//! send, pull, offsets, heartbeat, consumer list, send-back, unregister). Each builds the
//! command from common's typed header, sends it, and turns the answer into a value or a
//! [`ClientError`]. Building and decoding are plain functions ([`send_request`],
//! [`decode_send_response`], [`pull_request`], [`decode_pull_response`]) so that they are
//! tested without a socket.

use std::time::Duration;

use bytes::Bytes;
use fennec_common::protocol::body::{
    ConsumerListBody, HeartbeatData, MessageQueue, TopicRouteData,
};
use fennec_common::protocol::header::{
    ConsumerGroupRequestHeader, ConsumerSendMsgBackRequestHeader, GetMaxOffsetRequestHeader,
    GetMinOffsetRequestHeader, GetRouteInfoRequestHeader, OffsetResponseHeader,
    PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
    UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use fennec_common::protocol::{decode_body, encode_body};
use fennec_common::remoting::{
    RemotingClient, RemotingCommand, RequestCode, RequestProcessor, ResponseCode, SerializeType,
};

use crate::error::ClientError;
use crate::producer::{SendResult, SendStatus};

/// Region reported when the broker names none.
const DEFAULT_REGION: &str = "DefaultRegion";

/// What a pull found (the pull response codes 0, 19, 20, 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullStatus {
    /// Messages are in the body.
    Found,
    /// Nothing new past the offset (the long poll ran out).
    NoNewMsg,
    /// Messages exist but none matched the filter; continue from nextBeginOffset.
    NoMatchedMsg,
    /// The offset is outside the queue; nextBeginOffset is where to go.
    OffsetIllegal,
}

/// A decoded pull response.
#[derive(Debug, Clone)]
pub(crate) struct PullResponse {
    pub(crate) status: PullStatus,
    pub(crate) header: PullMessageResponseHeader,
    /// Raw records, back to back (only with [`PullStatus::Found`]).
    pub(crate) body: Bytes,
}

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

    async fn call(
        &self,
        addr: &str,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        cmd.serialize_type = self.serialize_type;
        Ok(self.remoting.invoke(addr, cmd, timeout).await?)
    }

    /// GET_ROUTEINFO_BY_TOPIC to a name server; `None` when the topic does not exist.
    pub(crate) async fn route(
        &self,
        namesrv: &str,
        topic: &str,
    ) -> Result<Option<TopicRouteData>, ClientError> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: None,
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let resp = self.call(namesrv, cmd, self.timeout).await?;
        match resp.response_code() {
            Some(ResponseCode::TOPIC_NOT_EXIST) => Ok(None),
            Some(ResponseCode::SUCCESS) => decode_body(&resp.body)
                .map(Some)
                .map_err(|e| ClientError::bad_body("route", namesrv, e)),
            _ => Err(response_error(&resp, namesrv)),
        }
    }

    /// SEND_MESSAGE_V2 or SEND_BATCH_MESSAGE, waiting for the answer.
    pub(crate) async fn send(
        &self,
        addr: &str,
        mq: &MessageQueue,
        request: RemotingCommand,
        msg_id: String,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let resp = self.call(addr, request, timeout).await?;
        decode_send_response(&resp, mq, msg_id, addr)
    }

    /// A send without an answer.
    pub(crate) async fn send_oneway(
        &self,
        addr: &str,
        mut request: RemotingCommand,
    ) -> Result<(), ClientError> {
        request.serialize_type = self.serialize_type;
        Ok(self.remoting.invoke_oneway(addr, request).await?)
    }

    /// PULL_MESSAGE.
    pub(crate) async fn pull(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullResponse, ClientError> {
        let resp = self.call(addr, pull_request(header), timeout).await?;
        decode_pull_response(resp, addr)
    }

    /// QUERY_CONSUMER_OFFSET; `None` when the broker has no offset for the group.
    pub(crate) async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
    ) -> Result<Option<i64>, ClientError> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        let cmd = RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, &header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        if resp.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
            return Ok(None);
        }
        offset_from(&resp, addr).map(Some)
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
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        if oneway {
            return Ok(self.remoting.invoke_oneway(addr, cmd).await?);
        }
        let resp = self.call(addr, cmd, self.timeout).await?;
        expect_success(&resp, addr)
    }

    /// GET_MAX_OFFSET: the offset the next message of the queue will get.
    pub(crate) async fn max_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
    ) -> Result<i64, ClientError> {
        let header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
        };
        let cmd = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        offset_from(&resp, addr)
    }

    /// GET_MIN_OFFSET: the oldest offset still stored.
    pub(crate) async fn min_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
    ) -> Result<i64, ClientError> {
        let header = GetMinOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
        };
        let cmd = RemotingCommand::request_with_header(RequestCode::GET_MIN_OFFSET, &header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        offset_from(&resp, addr)
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp` (ms).
    pub(crate) async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64, ClientError> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp,
            boundary_type: None,
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        offset_from(&resp, addr)
    }

    /// HEART_BEAT.
    pub(crate) async fn heartbeat(
        &self,
        addr: &str,
        data: &HeartbeatData,
    ) -> Result<(), ClientError> {
        let cmd = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(encode_body(data));
        let resp = self.call(addr, cmd, self.timeout).await?;
        expect_success(&resp, addr)
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group's live members.
    pub(crate) async fn consumer_ids(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<Vec<String>, ClientError> {
        let header = ConsumerGroupRequestHeader {
            consumer_group: group.to_string(),
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        expect_success(&resp, addr)?;
        let body: ConsumerListBody =
            decode_body(&resp.body).map_err(|e| ClientError::bad_body("consumer list", addr, e))?;
        Ok(body.consumer_id_list)
    }

    /// CONSUMER_SEND_MSG_BACK: hands a message back for redelivery through the retry topic.
    pub(crate) async fn send_back(
        &self,
        addr: &str,
        header: &ConsumerSendMsgBackRequestHeader,
    ) -> Result<(), ClientError> {
        let cmd = RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        expect_success(&resp, addr)
    }

    /// UNREGISTER_CLIENT.
    pub(crate) async fn unregister_client(
        &self,
        addr: &str,
        header: &UnregisterClientRequestHeader,
    ) -> Result<(), ClientError> {
        let cmd = RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, header);
        let resp = self.call(addr, cmd, self.timeout).await?;
        expect_success(&resp, addr)
    }
}

/// The error for a response whose code is not what the request expects.
pub(crate) fn response_error(resp: &RemotingCommand, addr: &str) -> ClientError {
    ClientError::Broker {
        code: resp.code,
        remark: resp.remark_str().to_string(),
        addr: addr.to_string(),
    }
}

fn expect_success(resp: &RemotingCommand, addr: &str) -> Result<(), ClientError> {
    if resp.code == i32::from(ResponseCode::SUCCESS) {
        Ok(())
    } else {
        Err(response_error(resp, addr))
    }
}

fn offset_from(resp: &RemotingCommand, addr: &str) -> Result<i64, ClientError> {
    expect_success(resp, addr)?;
    let header: OffsetResponseHeader = resp
        .decode_header()
        .map_err(|e| ClientError::bad_header("offset response", addr, e))?;
    Ok(header.offset)
}

/// The send command: SEND_BATCH_MESSAGE when the header says batch, else SEND_MESSAGE_V2.
pub(crate) fn send_request(header: &SendMessageRequestHeaderV2, body: Bytes) -> RemotingCommand {
    let code = if header.batch == Some(true) {
        RequestCode::SEND_BATCH_MESSAGE
    } else {
        RequestCode::SEND_MESSAGE_V2
    };
    RemotingCommand::request_with_header(code, header).with_body(body)
}

/// Turns a send response into a [`SendResult`]; `msg_id` is the UNIQ_KEY (or the
/// comma-joined UNIQ_KEYs of a batch) of what was sent to `mq`.
pub(crate) fn decode_send_response(
    resp: &RemotingCommand,
    mq: &MessageQueue,
    msg_id: String,
    addr: &str,
) -> Result<SendResult, ClientError> {
    let status = SendStatus::from_code(resp.code).ok_or_else(|| response_error(resp, addr))?;
    let header: SendMessageResponseHeader = resp
        .decode_header()
        .map_err(|e| ClientError::bad_header("send response", addr, e))?;
    Ok(SendResult {
        status,
        msg_id,
        offset_msg_id: header.msg_id,
        message_queue: MessageQueue::new(&mq.topic, &mq.broker_name, header.queue_id),
        queue_offset: header.queue_offset,
        transaction_id: header.transaction_id,
        region_id: header
            .msg_region
            .unwrap_or_else(|| DEFAULT_REGION.to_string()),
    })
}

/// The PULL_MESSAGE command.
pub(crate) fn pull_request(header: &PullMessageRequestHeader) -> RemotingCommand {
    RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, header)
}

/// Turns a pull response into a [`PullResponse`]; codes other than 0, 19, 20 and 21 are
/// errors.
pub(crate) fn decode_pull_response(
    resp: RemotingCommand,
    addr: &str,
) -> Result<PullResponse, ClientError> {
    let status = match resp.response_code() {
        Some(ResponseCode::SUCCESS) => PullStatus::Found,
        Some(ResponseCode::PULL_NOT_FOUND) => PullStatus::NoNewMsg,
        Some(ResponseCode::PULL_RETRY_IMMEDIATELY) => PullStatus::NoMatchedMsg,
        Some(ResponseCode::PULL_OFFSET_MOVED) => PullStatus::OffsetIllegal,
        _ => return Err(response_error(&resp, addr)),
    };
    let header: PullMessageResponseHeader = resp
        .decode_header()
        .map_err(|e| ClientError::bad_header("pull response", addr, e))?;
    let body = if status == PullStatus::Found {
        resp.body
    } else {
        Bytes::new()
    };
    Ok(PullResponse {
        status,
        header,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use fennec_common::message::record::decode_records;
    use fennec_common::message::{MessageExt, Properties};
    use fennec_common::protocol::header::{PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUSPEND};
    use fennec_common::remoting::codec::encode_into;
    use fennec_common::remoting::RemotingCodec;
    use tokio_util::codec::Decoder;

    /// Encodes `cmd` as a frame and decodes it again, as it would arrive from a socket.
    fn over_the_wire(cmd: &RemotingCommand) -> RemotingCommand {
        let mut buf = BytesMut::new();
        encode_into(cmd, &mut buf);
        RemotingCodec::new(1 << 24)
            .decode(&mut buf)
            .unwrap()
            .unwrap()
    }

    fn fields(cmd: &RemotingCommand) -> Vec<(&str, &str)> {
        cmd.ext_fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn send_request_uses_v2_keys() {
        let header = SendMessageRequestHeaderV2 {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: None,
        };
        let cmd = over_the_wire(&send_request(&header, Bytes::from_static(b"Hi")));
        assert_eq!(cmd.code, 310);
        assert_eq!(
            fields(&cmd),
            vec![
                ("a", "PG"),
                ("b", "T"),
                ("c", "TBW102"),
                ("d", "4"),
                ("e", "0"),
                ("f", "0"),
                ("g", "1700000000000"),
                ("h", "0"),
                ("i", "UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"),
                ("j", "0"),
                ("k", "false"),
                ("m", "false"),
            ]
        );
        assert_eq!(&cmd.body[..], b"Hi");
        let batch = SendMessageRequestHeaderV2 {
            batch: Some(true),
            ..header
        };
        assert_eq!(send_request(&batch, Bytes::new()).code, 320);
    }

    #[test]
    fn decodes_send_responses() {
        let resp = RemotingCommand::success()
            .with_ext("msgId", "C0A8000200002A9F0000000000000000")
            .with_ext("queueId", "3")
            .with_ext("queueOffset", "42")
            .with_ext("transactionId", "UNIQ")
            .with_ext("MSG_REGION", "DefaultRegion")
            .with_ext("TRACE_ON", "true");
        let mq = MessageQueue::new("T", "broker-a", 0);
        let r = decode_send_response(&over_the_wire(&resp), &mq, "UNIQ".into(), "b:1").unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        assert_eq!(r.msg_id, "UNIQ");
        assert_eq!(r.offset_msg_id, "C0A8000200002A9F0000000000000000");
        assert_eq!(r.message_queue, MessageQueue::new("T", "broker-a", 3));
        assert_eq!(r.queue_offset, 42);
        assert_eq!(r.transaction_id.as_deref(), Some("UNIQ"));
        assert_eq!(r.region_id, "DefaultRegion");

        let mut slow = resp.clone();
        slow.code = 10;
        slow.ext_fields.remove("MSG_REGION");
        let r = decode_send_response(&over_the_wire(&slow), &mq, "U".into(), "b:1").unwrap();
        assert_eq!(r.status, SendStatus::FlushDiskTimeout);
        assert_eq!(r.region_id, "DefaultRegion");

        let refused =
            RemotingCommand::response(ResponseCode::TOPIC_NOT_EXIST, Some("no topic".to_string()));
        let err =
            decode_send_response(&over_the_wire(&refused), &mq, "U".into(), "b:1").unwrap_err();
        assert!(
            matches!(&err, ClientError::Broker { code: 17, remark, addr } if remark == "no topic" && addr == "b:1")
        );
        assert!(err.is_retriable_send());

        let mut no_header = resp;
        no_header.ext_fields.remove("queueOffset");
        assert!(matches!(
            decode_send_response(&no_header, &mq, "U".into(), "b:1"),
            Err(ClientError::BadResponse { .. })
        ));
    }

    #[test]
    fn pull_request_fields() {
        let header = PullMessageRequestHeader {
            consumer_group: "CG".into(),
            topic: "T".into(),
            queue_id: 1,
            queue_offset: 100,
            max_msg_nums: 32,
            sys_flag: PULL_FLAG_SUSPEND | PULL_FLAG_COMMIT_OFFSET,
            commit_offset: 90,
            suspend_timeout_millis: 15_000,
            subscription: None,
            sub_version: 1_700_000_000_000,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            broker_name: None,
        };
        let cmd = over_the_wire(&pull_request(&header));
        assert_eq!(cmd.code, 11);
        assert_eq!(
            fields(&cmd),
            vec![
                ("commitOffset", "90"),
                ("consumerGroup", "CG"),
                ("expressionType", "TAG"),
                ("maxMsgNums", "32"),
                ("queueId", "1"),
                ("queueOffset", "100"),
                ("subVersion", "1700000000000"),
                ("suspendTimeoutMillis", "15000"),
                ("sysFlag", "3"),
                ("topic", "T"),
            ]
        );
    }

    fn stored(offset: i64, tag: &str) -> MessageExt {
        let mut properties = Properties::new();
        properties.insert("TAGS", tag);
        MessageExt {
            topic: "T".into(),
            properties,
            body: Bytes::from(format!("m{offset}")),
            queue_id: 1,
            queue_offset: offset,
            commit_log_offset: 1000 + offset,
            store_host: "10.0.0.2:10911".parse().unwrap(),
            born_host: "10.0.0.5:4000".parse().unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_pull_responses() {
        let mut body = Vec::new();
        for (off, tag) in [(5, "A"), (6, "B")] {
            body.extend(stored(off, tag).encode().unwrap());
        }
        let found = RemotingCommand::success()
            .with_ext("suggestWhichBrokerId", "0")
            .with_ext("nextBeginOffset", "7")
            .with_ext("minOffset", "0")
            .with_ext("maxOffset", "7")
            .with_body(body);
        let r = decode_pull_response(over_the_wire(&found), "b:1").unwrap();
        assert_eq!(r.status, PullStatus::Found);
        assert_eq!(
            (
                r.header.next_begin_offset,
                r.header.min_offset,
                r.header.max_offset
            ),
            (7, 0, 7)
        );
        let msgs = decode_records(&r.body, true).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].queue_offset, 6);
        assert_eq!(msgs[1].tags(), Some("B"));

        for (code, status) in [
            (19, PullStatus::NoNewMsg),
            (20, PullStatus::NoMatchedMsg),
            (21, PullStatus::OffsetIllegal),
        ] {
            let mut resp = found.clone();
            resp.code = code;
            let r = decode_pull_response(over_the_wire(&resp), "b:1").unwrap();
            assert_eq!(r.status, status);
            assert!(r.body.is_empty());
        }
        let mut missing = found.clone();
        missing.ext_fields.remove("nextBeginOffset");
        assert!(matches!(
            decode_pull_response(missing, "b:1"),
            Err(ClientError::BadResponse { .. })
        ));
        let sub = RemotingCommand::response(ResponseCode::SUBSCRIPTION_NOT_EXIST, None);
        assert!(matches!(
            decode_pull_response(sub, "b:1"),
            Err(ClientError::Broker { code: 24, .. })
        ));
    }
}
