//! Broker requests for tests, sent with the typed requests of `fennec-common` exactly as a
//! client or admin tool would: create a topic, wait for its route, read and commit offsets,
//! queue lengths, a group's members, raw pulls, raw sends that report the broker's code and
//! remark, key queries and the runtime info.

use std::collections::BTreeMap;
use std::time::Duration;

use fennec_protocol::body::TopicRouteData;
use fennec_protocol::header::{
    CreateTopicRequestHeader, GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader,
    PullMessageRequestHeader, QueryConsumerOffsetRequestHeader, QueryMessageRequestHeader,
    SendMessageRequestHeaderV2, UpdateConsumerOffsetRequestHeader, PULL_FLAG_SUBSCRIPTION,
    PULL_FLAG_SUSPEND,
};
use fennec_protocol::message::record::decode_records;
use fennec_protocol::message::MessageExt;
use fennec_protocol::request::admin::GetBrokerRuntimeInfo;
use fennec_protocol::request::client::GetConsumerList;
use fennec_protocol::request::pull::PullStatus;
use fennec_protocol::request::query::QueryMessage;
use fennec_protocol::request::send::SendMessage;
use fennec_protocol::request::{ReplyError, Request};
use fennec_remoting::{CallError, RemotingClient, ResponseCode};

use crate::namesrv::REQUEST_TIMEOUT;
use crate::poll::poll_for;

/// Sends `request` and returns its decoded answer; panics on any failure, naming the request.
pub async fn call<R: Request>(client: &RemotingClient, addr: &str, request: &R) -> R::Reply {
    call_within(client, addr, request, REQUEST_TIMEOUT).await
}

async fn call_within<R: Request>(
    client: &RemotingClient,
    addr: &str,
    request: &R,
    timeout: Duration,
) -> R::Reply {
    client
        .call(addr, request, timeout)
        .await
        .unwrap_or_else(|e| panic!("{} to {addr} failed: {e}", R::CODE.name()))
}

/// Creates (or updates) `topic` with `queues` read and write queues on the broker at `addr`.
pub async fn create_topic(client: &RemotingClient, addr: &str, topic: &str, queues: i32) {
    call(client, addr, &create_topic_request(topic, queues)).await;
}

/// UPDATE_AND_CREATE_TOPIC of `topic` with `queues` read and write queues.
pub fn create_topic_request(topic: &str, queues: i32) -> CreateTopicRequestHeader {
    CreateTopicRequestHeader {
        topic: topic.to_string(),
        default_topic: "TBW102".to_string(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".to_string(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: None,
        force: None,
    }
}

/// The route of `topic`, once the nameserver at `namesrv` has one with at least
/// `queues` write queues in total.
pub async fn wait_for_route(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
    queues: i32,
) -> TopicRouteData {
    poll_for(
        &format!("route of {topic} with {queues} queues"),
        Duration::from_secs(20),
        || async {
            let request = GetRouteInfoRequestHeader {
                topic: topic.to_string(),
                accept_standard_json_only: None,
            };
            let route = client
                .call(namesrv, &request, REQUEST_TIMEOUT)
                .await
                .ok()??;
            let total: i32 = route.queue_datas.iter().map(|q| q.write_queue_nums).sum();
            (total >= queues).then_some(route)
        },
    )
    .await
}

/// The committed offset of `group` on a queue, `None` if the broker has none.
pub async fn query_offset(
    client: &RemotingClient,
    addr: &str,
    group: &str,
    topic: &str,
    queue_id: i32,
) -> Option<i64> {
    let request = QueryConsumerOffsetRequestHeader {
        consumer_group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
        set_zero_if_not_found: Some(false),
    };
    call(client, addr, &request).await
}

/// Commits an offset with a request that waits for the broker's answer.
pub async fn commit_offset(
    client: &RemotingClient,
    addr: &str,
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
) {
    let request = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
        commit_offset: offset,
    };
    call(client, addr, &request).await
}

/// The max offset (the number of messages ever stored) of one queue (GET_MAX_OFFSET).
pub async fn max_offset(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> i64 {
    let request = GetMaxOffsetRequestHeader {
        topic: topic.to_string(),
        queue_id,
        committed: None,
    };
    call(client, addr, &request).await
}

/// The client ids of `group`'s consumers connected to the broker, sorted; empty when it
/// has none (GET_CONSUMER_LIST_BY_GROUP answers that with an error code).
pub async fn consumer_ids(client: &RemotingClient, addr: &str, group: &str) -> Vec<String> {
    let request = GetConsumerList {
        group: group.to_string(),
    };
    match client.call(addr, &request, REQUEST_TIMEOUT).await {
        Ok(mut ids) => {
            ids.sort();
            ids
        }
        Err(e) if e.code().is_some() => Vec::new(),
        Err(e) => panic!("GET_CONSUMER_LIST_BY_GROUP to {addr} failed: {e}"),
    }
}

/// The answer to one raw pull.
#[derive(Debug)]
pub struct Pulled {
    /// The pull response code (0 found, 19, 20 or 21).
    pub code: i32,
    pub next_begin_offset: i64,
    pub max_offset: i64,
    pub messages: Vec<MessageExt>,
}

/// One raw pull: up to `max` messages of every tag from `offset`; `suspend_ms` > 0 lets the
/// broker hold the request (long polling).
#[derive(Debug, Clone)]
pub struct PullSpec<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub queue_id: i32,
    pub offset: i64,
    pub max: i32,
    pub suspend_ms: i64,
}

/// Sends one raw pull to the broker at `addr`.
pub async fn pull(client: &RemotingClient, addr: &str, spec: PullSpec<'_>) -> Pulled {
    let PullSpec {
        group,
        topic,
        queue_id,
        offset,
        max,
        suspend_ms,
    } = spec;
    let mut sys_flag = PULL_FLAG_SUBSCRIPTION;
    if suspend_ms > 0 {
        sys_flag |= PULL_FLAG_SUSPEND;
    }
    let request = PullMessageRequestHeader {
        consumer_group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: max,
        sys_flag,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some("*".to_string()),
        sub_version: 0,
        expression_type: Some("TAG".to_string()),
        max_msg_bytes: None,
        broker_name: None,
    };
    let timeout = REQUEST_TIMEOUT + Duration::from_millis(u64::try_from(suspend_ms).unwrap_or(0));
    let reply = call_within(client, addr, &request, timeout).await;
    let code = match reply.status {
        PullStatus::Found => ResponseCode::SUCCESS,
        PullStatus::NoNewMsg => ResponseCode::PULL_NOT_FOUND,
        PullStatus::NoMatchedMsg => ResponseCode::PULL_RETRY_IMMEDIATELY,
        PullStatus::OffsetIllegal => ResponseCode::PULL_OFFSET_MOVED,
    };
    Pulled {
        code: i32::from(code),
        next_begin_offset: reply.header.next_begin_offset,
        max_offset: reply.header.max_offset,
        messages: decode_records(&reply.body, true).expect("records"),
    }
}

/// Every message of a queue from offset 0 to its end.
pub async fn read_queue(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let spec = PullSpec {
            group: "TOOLS_CONSUMER",
            topic,
            queue_id,
            offset,
            max: 32,
            suspend_ms: 0,
        };
        let p = pull(client, addr, spec).await;
        if p.code != 0 {
            return out;
        }
        offset = p.next_begin_offset;
        out.extend(p.messages);
    }
}

/// The broker's answer to one raw send.
#[derive(Debug, Clone)]
pub struct SendReply {
    pub code: i32,
    pub remark: String,
    /// Queue offset of the stored message, when the send succeeded.
    pub queue_offset: Option<i64>,
}

/// Sends one message with `KEYS` = `key` to queue `queue_id` of `topic` as SEND_MESSAGE_V2,
/// and returns the broker's code and remark whatever they are.
pub async fn send_raw(
    client: &RemotingClient,
    addr: &str,
    (topic, queue_id): (&str, i32),
    key: &str,
    body: &str,
) -> SendReply {
    let request = SendMessage {
        header: SendMessageRequestHeaderV2 {
            producer_group: "RAW_PRODUCER".to_string(),
            topic: topic.to_string(),
            default_topic: "TBW102".to_string(),
            default_topic_queue_nums: 4,
            queue_id,
            sys_flag: 0,
            born_timestamp: fennec_protocol::time::now_millis(),
            flag: 0,
            properties: Some(format!("KEYS\u{1}{key}\u{2}")),
            reconsume_times: None,
            unit_mode: None,
            max_reconsume_times: None,
            batch: None,
            broker_name: None,
        },
        body: body.to_string().into(),
    };
    match client.call(addr, &request, REQUEST_TIMEOUT).await {
        Ok(reply) => SendReply {
            code: i32::from(reply.code),
            remark: String::new(),
            queue_offset: Some(reply.header.queue_offset),
        },
        Err(CallError::Reply {
            source: ReplyError::Refused { code, remark },
            ..
        }) => SendReply {
            code,
            remark,
            queue_offset: None,
        },
        Err(e) => panic!("SEND_MESSAGE_V2 to {addr} failed: {e}"),
    }
}

/// The messages of `topic` whose `KEYS` is `key` (QUERY_MESSAGE, filtered).
pub async fn query_by_key(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    key: &str,
) -> Vec<MessageExt> {
    let request = QueryMessage {
        header: QueryMessageRequestHeader {
            topic: topic.to_string(),
            key: key.to_string(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
        },
        unique_key: false,
    };
    let records = call(client, addr, &request).await;
    decode_records(&records, true)
        .expect("records")
        .into_iter()
        .filter(|m| m.properties.get("KEYS") == Some(key))
        .collect()
}

/// GET_BROKER_RUNTIME_INFO as a map.
pub async fn runtime_info(client: &RemotingClient, addr: &str) -> BTreeMap<String, String> {
    call(client, addr, &GetBrokerRuntimeInfo).await.table
}
