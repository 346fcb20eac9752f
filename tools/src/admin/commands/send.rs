//! `sendMessage`: one SEND_MESSAGE_V2 with a fresh UNIQ_KEY and WAIT=true, to a chosen or
//! random writable queue. A topic without a route goes through TBW102, as producers do, so a
//! broker that auto-creates topics creates it. [`send_one`] is the same send for other
//! commands (re-sending a dead letter).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use bytes::Bytes;
use clap::Args;
use fennec_protocol::body::{MessageQueue, TopicRouteData};
use fennec_protocol::header::SendMessageRequestHeaderV2;
use fennec_protocol::message::msg_id::{random_u32, UniqIdGenerator};
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::{compression, sysflag, Properties};
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::{validate_topic, AUTO_CREATE_TOPIC_KEY};
use serde::Serialize;

use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::message_api::SendStatus;
use crate::admin::output::{Report, Table};
use crate::admin::route::writable_queues;

/// Producer group the tool sends as.
pub const TOOLS_PRODUCER_GROUP: &str = "TOOLS_PRODUCER";
/// Queues a producer asks the broker to auto-create (`defaultTopicQueueNums`).
const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

#[derive(Debug, Clone, Args)]
pub struct SendMessageArgs {
    /// Topic to send to.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Message body (UTF-8).
    #[arg(short = 'p', long = "body")]
    pub body: String,
    /// Keys, space-separated.
    #[arg(short = 'k', long = "key")]
    pub keys: Option<String>,
    /// Tag.
    #[arg(short = 'c', long = "tags")]
    pub tags: Option<String>,
    /// Broker name.
    #[arg(short = 'b', long = "broker")]
    pub broker_name: Option<String>,
    /// Queue id (with -b).
    #[arg(short = 'i', long = "qid", requires = "broker_name")]
    pub queue_id: Option<i32>,
}

/// `sendMessage` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendReport {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub send_status: SendStatus,
    /// The UNIQ_KEY.
    pub msg_id: String,
    pub offset_msg_id: String,
}

/// `sendMessage`.
pub async fn send_message(
    client: &AdminClient,
    args: &SendMessageArgs,
) -> Result<SendReport, AdminError> {
    let mut props = Properties::new();
    if let Some(t) = args.tags.as_deref().filter(|t| !t.is_empty()) {
        props.insert(keys::TAGS, t);
    }
    if let Some(k) = args.keys.as_deref().filter(|k| !k.trim().is_empty()) {
        props.insert(keys::KEYS, k.trim());
    }
    let place = Place {
        broker_name: args.broker_name.as_deref(),
        queue_id: args.queue_id,
    };
    send_one(client, &args.topic, place, args.body.as_bytes(), props).await
}

/// Where [`send_one`] sends: a broker and queue, or any writable queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Place<'a> {
    pub broker_name: Option<&'a str>,
    pub queue_id: Option<i32>,
}

/// Sends one message with `props` (a UNIQ_KEY is added unless present, and WAIT=true) to
/// `topic`, compressing a large body as Java producers do.
pub async fn send_one(
    client: &AdminClient,
    topic: &str,
    place: Place<'_>,
    body: &[u8],
    mut props: Properties,
) -> Result<SendReport, AdminError> {
    validate_topic(topic).map_err(AdminError::Usage)?;
    let (route, via_default) = match client.topic_route(topic).await {
        Ok(r) => (r, false),
        Err(AdminError::TopicNotExist(_)) => {
            match client.topic_route(AUTO_CREATE_TOPIC_KEY).await {
                Ok(r) => (r, true),
                Err(AdminError::TopicNotExist(_)) => {
                    return Err(AdminError::TopicNotExist(topic.to_string()))
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let mq = choose_queue(topic, &route, via_default, place)?;
    let addr = route
        .broker_datas
        .iter()
        .find(|bd| bd.broker_name == mq.broker_name)
        .and_then(|bd| bd.master_addr())
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "broker {} has no master to write to",
                mq.broker_name
            ))
        })?
        .to_string();

    let msg_id = match props.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) {
        Some(id) => id.to_string(),
        None => {
            let id = UniqIdGenerator::new(local_ip(&addr)).next_id();
            props.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id.as_str());
            id
        }
    };
    props.insert(keys::WAIT_STORE_MSG_OK, "true");
    let (body, sys_flag) = encode_body(body);
    let header = SendMessageRequestHeaderV2 {
        producer_group: TOOLS_PRODUCER_GROUP.to_string(),
        topic: topic.to_string(),
        default_topic: AUTO_CREATE_TOPIC_KEY.to_string(),
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id: mq.queue_id,
        sys_flag,
        born_timestamp: now_millis(),
        flag: 0,
        properties: Some(props.encode()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some(mq.broker_name.clone()),
    };
    let (status, reply) = client.send(&addr, &header, body).await?;
    Ok(SendReport {
        topic: topic.to_string(),
        broker_name: mq.broker_name,
        queue_id: reply.queue_id,
        queue_offset: reply.queue_offset,
        send_status: status,
        msg_id,
        offset_msg_id: reply.msg_id,
    })
}

/// The queue given by -b/-i, or a random writable one (on the -b broker if given).
fn choose_queue(
    topic: &str,
    route: &TopicRouteData,
    via_default: bool,
    args: Place<'_>,
) -> Result<MessageQueue, AdminError> {
    let candidates: Vec<MessageQueue> = writable_queues(topic, route)
        .into_iter()
        .filter(|q| !via_default || q.queue_id < DEFAULT_TOPIC_QUEUE_NUMS)
        .filter(|q| args.broker_name.is_none_or(|b| b == q.broker_name))
        .collect();
    if let (Some(b), Some(i)) = (args.broker_name, args.queue_id) {
        return candidates
            .into_iter()
            .find(|q| q.queue_id == i)
            .ok_or_else(|| {
                AdminError::NotFound(format!(
                    "topic {topic} has no writable queue {i} on broker {b}"
                ))
            });
    }
    if candidates.is_empty() {
        return Err(AdminError::NotFound(match args.broker_name {
            Some(b) => format!("topic {topic} has no writable queue on broker {b}"),
            None => format!("topic {topic} has no writable queue"),
        }));
    }
    let pick = random_u32() as usize % candidates.len();
    Ok(candidates.into_iter().nth(pick).unwrap_or_default())
}

/// Compresses bodies as Java producers do (ZLIB from 4 KiB).
fn encode_body(body: &[u8]) -> (Bytes, i32) {
    if body.len() >= compression::COMPRESS_OVER {
        if let Ok(c) = compression::compress(body) {
            return (Bytes::from(c), sysflag::COMPRESSED);
        }
    }
    (Bytes::copy_from_slice(body), 0)
}

/// The local address used to reach `broker` (for the UNIQ_KEY); a connected UDP socket
/// reveals it without sending anything.
fn local_ip(broker: &str) -> IpAddr {
    let fallback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Ok(target) = broker.parse::<SocketAddr>() else {
        return fallback;
    };
    let bind: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    UdpSocket::bind(bind)
        .and_then(|s| s.connect(target).and_then(|()| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(fallback)
}

impl Report for SendReport {
    fn human(&self, out: &mut String) {
        let mut t = Table::new(&[
            "#Broker Name",
            "#QID",
            "#Queue Offset",
            "#Send Result",
            "#MsgId",
            "#OffsetMsgId",
        ]);
        let status = serde_json::to_value(self.send_status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        t.push(vec![
            self.broker_name.clone(),
            self.queue_id.to_string(),
            self.queue_offset.to_string(),
            status,
            self.msg_id.clone(),
            self.offset_msg_id.clone(),
        ]);
        t.render(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::body::QueueData;

    fn args(broker: Option<&str>, qid: Option<i32>) -> Place<'_> {
        Place {
            broker_name: broker,
            queue_id: qid,
        }
    }

    #[test]
    fn queue_choice() {
        let route = TopicRouteData {
            queue_datas: vec![QueueData {
                broker_name: "a".into(),
                perm: 6,
                read_queue_nums: 8,
                write_queue_nums: 8,
                topic_sys_flag: 0,
            }],
            ..Default::default()
        };
        let q = choose_queue("T", &route, false, args(Some("a"), Some(5))).unwrap();
        assert_eq!(
            (q.broker_name.as_str(), q.queue_id, q.topic.as_str()),
            ("a", 5, "T")
        );
        assert!(choose_queue("T", &route, false, args(Some("a"), Some(9))).is_err());
        assert!(choose_queue("T", &route, false, args(Some("z"), None)).is_err());
        for _ in 0..20 {
            assert!(
                choose_queue("T", &route, true, args(None, None))
                    .unwrap()
                    .queue_id
                    < 4
            );
        }
    }

    #[test]
    fn large_bodies_are_compressed() {
        let (b, f) = encode_body(b"small");
        assert_eq!((b.as_ref(), f), (&b"small"[..], 0));
        let big = vec![b'a'; 5000];
        let (b, f) = encode_body(&big);
        assert_eq!(f, sysflag::COMPRESSED);
        assert_eq!(compression::decompress(&b, f).unwrap(), big);
        assert!(local_ip("127.0.0.1:10911").is_loopback());
    }
}
