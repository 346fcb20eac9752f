//! Broker requests for tests, sent with `fennec-common` types exactly as a client or admin
//! tool would: create a topic, wait for its route, read and commit offsets, queue lengths,
//! a group's members, and raw pulls.

use std::time::Duration;

use fennec_common::message::record::decode_records;
use fennec_common::message::MessageExt;
use fennec_common::protocol::body::{ConsumerListBody, TopicRouteData};
use fennec_common::protocol::decode_body;
use fennec_common::protocol::header::{
    CommandHeader, ConsumerGroupRequestHeader, CreateTopicRequestHeader, GetMaxOffsetRequestHeader,
    GetRouteInfoRequestHeader, OffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
    PULL_FLAG_SUBSCRIPTION, PULL_FLAG_SUSPEND,
};
use fennec_common::remoting::{RemotingClient, RemotingCommand, RequestCode, ResponseCode};

use crate::namesrv::REQUEST_TIMEOUT;
use crate::poll::poll_for;

/// Sends one request with a typed header to `addr` and waits for the answer.
///
/// # Panics
/// When no answer comes within [`REQUEST_TIMEOUT`].
async fn call<H: CommandHeader>(
    client: &RemotingClient,
    addr: &str,
    code: RequestCode,
    header: &H,
) -> RemotingCommand {
    client
        .invoke(
            addr,
            RemotingCommand::request_with_header(code, header),
            REQUEST_TIMEOUT,
        )
        .await
        .unwrap_or_else(|e| panic!("{code:?} to {addr}: {e}"))
}

/// Creates (or updates) `topic` with `queues` read and write queues on the broker at `addr`.
pub async fn create_topic(client: &RemotingClient, addr: &str, topic: &str, queues: i32) {
    let header = CreateTopicRequestHeader {
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
    };
    let resp = call(client, addr, RequestCode::UPDATE_AND_CREATE_TOPIC, &header).await;
    assert_eq!(resp.code, 0, "create topic {topic}: {}", resp.remark_str());
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
            let header = GetRouteInfoRequestHeader {
                topic: topic.to_string(),
                accept_standard_json_only: None,
            };
            let resp = client
                .invoke(
                    namesrv,
                    RemotingCommand::request_with_header(
                        RequestCode::GET_ROUTEINFO_BY_TOPIC,
                        &header,
                    ),
                    REQUEST_TIMEOUT,
                )
                .await
                .ok()?;
            if resp.code != 0 {
                return None;
            }
            let route: TopicRouteData = decode_body(&resp.body).ok()?;
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
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
        set_zero_if_not_found: Some(false),
    };
    let resp = call(client, addr, RequestCode::QUERY_CONSUMER_OFFSET, &header).await;
    if resp.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
        return None;
    }
    assert_eq!(resp.code, 0, "query offset: {}", resp.remark_str());
    Some(
        resp.decode_header::<OffsetResponseHeader>()
            .expect("offset header")
            .offset,
    )
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
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
        commit_offset: offset,
    };
    let resp = call(client, addr, RequestCode::UPDATE_CONSUMER_OFFSET, &header).await;
    assert_eq!(resp.code, 0, "commit offset: {}", resp.remark_str());
}

/// The answer to one raw pull.
#[derive(Debug)]
pub struct Pulled {
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
    let header = PullMessageRequestHeader {
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
    let resp = client
        .invoke(
            addr,
            RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header),
            timeout,
        )
        .await
        .expect("PULL_MESSAGE");
    let h: PullMessageResponseHeader = resp.decode_header().expect("pull response header");
    let messages = if resp.code == 0 {
        decode_records(&resp.body, true).expect("records")
    } else {
        Vec::new()
    };
    Pulled {
        code: resp.code,
        next_begin_offset: h.next_begin_offset,
        max_offset: h.max_offset,
        messages,
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

/// The max offset (the number of messages ever stored) of one queue (GET_MAX_OFFSET).
pub async fn max_offset(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> i64 {
    let header = GetMaxOffsetRequestHeader {
        topic: topic.to_string(),
        queue_id,
        committed: None,
    };
    let resp = call(client, addr, RequestCode::GET_MAX_OFFSET, &header).await;
    assert_eq!(resp.code, 0, "max offset: {}", resp.remark_str());
    resp.decode_header::<OffsetResponseHeader>()
        .expect("offset header")
        .offset
}

/// The client ids of `group`'s consumers connected to the broker, sorted; empty when it
/// has none (GET_CONSUMER_LIST_BY_GROUP answers that with an error code).
pub async fn consumer_ids(client: &RemotingClient, addr: &str, group: &str) -> Vec<String> {
    let header = ConsumerGroupRequestHeader {
        consumer_group: group.to_string(),
    };
    let resp = call(
        client,
        addr,
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        &header,
    )
    .await;
    if resp.code != 0 {
        return Vec::new();
    }
    let mut ids = decode_body::<ConsumerListBody>(&resp.body)
        .expect("consumer list body")
        .consumer_id_list;
    ids.sort();
    ids
}
