//! Message lookups: `queryMsgByKey` (QUERY_MESSAGE on every broker group of the topic,
//! filtered to exact key matches, merged newest first), `queryMsgById` (offset msgId via
//! VIEW_MESSAGE_BY_ID, else the UNIQ_KEY index) and `queryMsgByOffset` (a one-message pull).

use clap::Args;
use fennec_protocol::body::ClusterInfo;
use fennec_protocol::header::QueryMessageRequestHeader;
use fennec_protocol::message::msg_id::{decode_offset_msg_id, uniq_key_time};
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::MessageExt;
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::TOOLS_CONSUMER_GROUP;
use futures_util::future::join_all;
use serde::Serialize;

use super::pull::{pull_header, SUB_ALL};
use super::target::require_some;
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::message_api::PullStatus;
use crate::admin::message_view::{BodyMode, MessageView, MESSAGE_TABLE_HEADER};
use crate::admin::output::{Report, Table};
use crate::admin::route::{find_broker_addr, route_reader, route_readers};
use crate::admin::time::parse_timestamp;

/// How far before a UNIQ_KEY's encoded time the index is searched.
const UNIQ_KEY_SLACK_MS: i64 = 3_600_000;
/// Most index hits asked of each broker for a UNIQ_KEY.
const UNIQ_KEY_MAX_HITS: i32 = 32;

#[derive(Debug, Clone, Args)]
pub struct QueryMsgByKeyArgs {
    /// Topic the messages belong to.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Message key (one of the KEYS tokens, or a UNIQ_KEY).
    #[arg(short = 'k', long = "msgKey")]
    pub key: String,
    /// Begin timestamp: ms, `now`, or yyyy-MM-dd#HH:mm:ss:SSS (default 0).
    #[arg(short = 'b', long = "beginTimestamp", value_parser = parse_timestamp)]
    pub begin: Option<i64>,
    /// End timestamp (default now).
    #[arg(short = 'e', long = "endTimestamp", value_parser = parse_timestamp)]
    pub end: Option<i64>,
    /// Most messages to show.
    #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
    pub max: usize,
    /// Show whole bodies.
    #[arg(long = "full-body")]
    pub full_body: bool,
}

/// Messages found by key or id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesReport {
    pub messages: Vec<MessageView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Single-message views print every field.
    #[serde(skip)]
    pub detail: bool,
}

/// `queryMsgByKey`.
pub async fn query_msg_by_key(
    client: &AdminClient,
    args: &QueryMsgByKeyArgs,
) -> Result<MessagesReport, AdminError> {
    let query = QueryMessageRequestHeader {
        topic: args.topic.clone(),
        key: args.key.clone(),
        max_num: i32::try_from(args.max).unwrap_or(i32::MAX),
        begin_timestamp: args.begin.unwrap_or(0),
        end_timestamp: args.end.unwrap_or_else(now_millis),
    };
    let (hits, errors) = query_index(client, &query, false).await?;
    let key = args.key.as_str();
    let hits = merge_hits(hits, &args.topic, |m| matches_key(m, key), args.max);
    let mode = if args.full_body {
        BodyMode::Full
    } else {
        BodyMode::Preview
    };
    Ok(MessagesReport {
        messages: hits
            .iter()
            .map(|(b, m)| MessageView::new(m, b, mode))
            .collect(),
        errors,
        detail: false,
    })
}

/// QUERY_MESSAGE on every broker group serving the topic (master, else lowest-id slave).
async fn query_index(
    client: &AdminClient,
    query: &QueryMessageRequestHeader,
    unique_key: bool,
) -> Result<(Vec<(String, Vec<MessageExt>)>, Vec<String>), AdminError> {
    let route = client.topic_route(&query.topic).await?;
    let targets = route_readers(&route);
    let results = join_all(targets.iter().map(|t| async move {
        let msgs = client.query_message(&t.addr, query, unique_key).await?;
        Ok((t.broker_name.clone(), msgs))
    }))
    .await;
    require_some(results)
}

/// Whether `key` is one of the message's KEYS or its UNIQ_KEY (the index also returns
/// messages that merely share the key's hash slot).
pub fn matches_key(msg: &MessageExt, key: &str) -> bool {
    msg.keys().contains(&key) || msg.property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == Some(key)
}

/// Keeps matching messages of `topic`, drops duplicates (same offset msgId), sorts newest
/// first by store time and keeps at most `max`.
pub fn merge_hits(
    per_broker: Vec<(String, Vec<MessageExt>)>,
    topic: &str,
    keep: impl Fn(&MessageExt) -> bool,
    max: usize,
) -> Vec<(String, MessageExt)> {
    let mut all: Vec<(String, MessageExt)> = per_broker
        .into_iter()
        .flat_map(|(b, msgs)| msgs.into_iter().map(move |m| (b.clone(), m)))
        .filter(|(_, m)| m.topic == topic && keep(m))
        .collect();
    all.sort_by(|a, b| {
        b.1.store_timestamp
            .cmp(&a.1.store_timestamp)
            .then_with(|| a.1.msg_id.cmp(&b.1.msg_id))
    });
    all.dedup_by(|a, b| a.1.msg_id == b.1.msg_id);
    all.truncate(max);
    all
}

impl Report for MessagesReport {
    fn human(&self, out: &mut String) {
        if self.detail {
            for (i, m) in self.messages.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                m.detail(out);
            }
            return;
        }
        let mut t = Table::new(&MESSAGE_TABLE_HEADER);
        for m in &self.messages {
            t.push(m.table_row());
        }
        t.render(out);
    }

    fn errors(&self) -> &[String] {
        &self.errors
    }
}

#[derive(Debug, Clone, Args)]
pub struct QueryMsgByIdArgs {
    /// Offset msgId or UNIQ_KEY.
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    /// Topic; needed to look the id up as a UNIQ_KEY.
    #[arg(short = 't', long = "topic")]
    pub topic: Option<String>,
}

/// The broker address and commit log offset an id points at, when it is an offset msgId of
/// a broker registered in the cluster; `None` means: look it up as a UNIQ_KEY.
pub fn offset_id_target(id: &str, info: &ClusterInfo) -> Option<(String, i64)> {
    let (addr, offset) = decode_offset_msg_id(id).ok()?;
    find_broker_addr(info, &addr).map(|a| (a, offset))
}

/// `queryMsgById`.
pub async fn query_msg_by_id(
    client: &AdminClient,
    args: &QueryMsgByIdArgs,
) -> Result<MessagesReport, AdminError> {
    let id = args.msg_id.trim();
    let info = client.cluster_info().await?;
    let why_not_offset = match offset_id_target(id, &info) {
        Some((addr, offset)) => match client
            .view_message(&addr, offset, args.topic.as_deref())
            .await
        {
            Ok(msg) if msg.commit_log_offset == offset => {
                let broker = info
                    .broker_addr_table
                    .values()
                    .find(|bd| bd.broker_addrs.values().any(|a| *a == addr))
                    .map(|bd| bd.broker_name.clone())
                    .unwrap_or_default();
                return Ok(detail_report(vec![(broker, msg)]));
            }
            Ok(_) => format!("{addr} holds no message at commit log offset {offset}"),
            Err(e) => e.to_string(),
        },
        None => "it is not an offset msgId of a broker in this cluster".to_string(),
    };
    let Some(topic) = &args.topic else {
        return Err(AdminError::NotFound(format!(
            "message {id} not found by offset msgId ({why_not_offset}); pass -t <topic> to look it up as a UNIQ_KEY"
        )));
    };
    let now = now_millis();
    let mut ranges = vec![(0, now)];
    if let Some(t) = uniq_key_time(id, now) {
        ranges.insert(0, (t - UNIQ_KEY_SLACK_MS, now));
    }
    let mut errors = Vec::new();
    for (begin, end) in ranges {
        let query = QueryMessageRequestHeader {
            topic: topic.clone(),
            key: id.to_string(),
            max_num: UNIQ_KEY_MAX_HITS,
            begin_timestamp: begin,
            end_timestamp: end,
        };
        let (hits, errs) = query_index(client, &query, true).await?;
        errors = errs;
        let hits = merge_hits(
            hits,
            topic,
            |m| m.property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == Some(id),
            usize::MAX,
        );
        if !hits.is_empty() {
            let mut report = detail_report(hits);
            report.errors = errors;
            return Ok(report);
        }
    }
    errors.insert(
        0,
        format!("message {id} not found: not by offset msgId ({why_not_offset}), nor as a UNIQ_KEY of topic {topic}"),
    );
    Err(AdminError::NotFound(errors.join("; ")))
}

fn detail_report(hits: Vec<(String, MessageExt)>) -> MessagesReport {
    MessagesReport {
        messages: hits
            .iter()
            .map(|(b, m)| MessageView::new(m, b, BodyMode::Full))
            .collect(),
        errors: Vec::new(),
        detail: true,
    }
}

#[derive(Debug, Clone, Args)]
pub struct QueryMsgByOffsetArgs {
    /// Topic of the queue.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Broker name.
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: String,
    /// Queue id.
    #[arg(short = 'i', long = "queueId")]
    pub queue_id: i32,
    /// Queue offset.
    #[arg(short = 'o', long = "offset")]
    pub offset: i64,
}

/// `queryMsgByOffset`: pulls the one message at a queue offset as TOOLS_CONSUMER.
pub async fn query_msg_by_offset(
    client: &AdminClient,
    args: &QueryMsgByOffsetArgs,
) -> Result<MessagesReport, AdminError> {
    let route = client.topic_route(&args.topic).await?;
    let target =
        route_reader(&route, &args.broker_name).ok_or_else(|| AdminError::BrokerNotInRoute {
            broker: args.broker_name.clone(),
            topic: args.topic.clone(),
        })?;
    let mq =
        fennec_protocol::body::MessageQueue::new(&args.topic, &args.broker_name, args.queue_id);
    let header = pull_header(TOOLS_CONSUMER_GROUP, &mq, args.offset, 1, SUB_ALL);
    let result = client.pull(&target.addr, &header).await?;
    match result
        .messages
        .into_iter()
        .find(|m| m.queue_offset == args.offset)
    {
        Some(msg) => Ok(detail_report(vec![(target.broker_name, msg)])),
        None => Err(AdminError::NotFound(format!(
            "no message at offset {} of {} queue {} on {} ({}; queue holds {}..{})",
            args.offset,
            args.topic,
            args.queue_id,
            args.broker_name,
            match result.status {
                PullStatus::Found | PullStatus::NoMatchedMsg => "not returned",
                PullStatus::NoNewMsg => "not written yet",
                PullStatus::OffsetIllegal => "offset out of range",
            },
            result.min_offset,
            result.max_offset
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::body::BrokerData;
    use fennec_protocol::message::msg_id::offset_msg_id;
    use fennec_protocol::message::Properties;
    use std::collections::{BTreeMap, BTreeSet};

    fn msg(topic: &str, keys_prop: &str, uniq: &str, store: i64, offset: i64) -> MessageExt {
        let mut props = Properties::new();
        if !keys_prop.is_empty() {
            props.insert(keys::KEYS, keys_prop);
        }
        props.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, uniq);
        let host = "10.0.0.1:10911".parse().unwrap();
        MessageExt {
            topic: topic.into(),
            properties: props,
            store_timestamp: store,
            store_host: host,
            commit_log_offset: offset,
            msg_id: offset_msg_id(&host, offset),
            ..Default::default()
        }
    }

    #[test]
    fn merge_filters_dedupes_sorts_and_truncates() {
        let a = vec![
            msg("T", "order-1 x", "U1", 100, 0),
            msg("T", "order-10", "U2", 300, 200), // same hash slot, different key
            msg("T", "order-1", "U3", 200, 400),
            msg("Other", "order-1", "U4", 500, 600), // another topic in the slot
        ];
        let b = vec![
            msg("T", "", "order-1", 250, 800),
            msg("T", "order-1", "U3", 200, 400),
        ];
        let hits = merge_hits(
            vec![("a".into(), a), ("b".into(), b)],
            "T",
            |m| matches_key(m, "order-1"),
            10,
        );
        let order: Vec<(i64, &str)> = hits
            .iter()
            .map(|(_, m)| (m.store_timestamp, m.id()))
            .collect();
        assert_eq!(order, vec![(250, "order-1"), (200, "U3"), (100, "U1")]);
        assert_eq!(hits[0].0, "b");
        let limited = merge_hits(
            vec![(
                "a".into(),
                vec![msg("T", "k", "1", 1, 0), msg("T", "k", "2", 2, 100)],
            )],
            "T",
            |m| matches_key(m, "k"),
            1,
        );
        assert_eq!(limited.len(), 1);
        assert_eq!(limited[0].1.store_timestamp, 2);
    }

    #[test]
    fn id_classification() {
        let info = ClusterInfo {
            broker_addr_table: BTreeMap::from([(
                "broker-a".to_string(),
                BrokerData {
                    broker_addrs: BTreeMap::from([(0, "192.168.0.2:10911".to_string())]),
                    broker_name: "broker-a".into(),
                    ..Default::default()
                },
            )]),
            cluster_addr_table: BTreeMap::from([(
                "C".to_string(),
                BTreeSet::from(["broker-a".to_string()]),
            )]),
        };
        // An offset msgId of a cluster broker: view it there.
        assert_eq!(
            offset_id_target("C0A8000200002A9F00000000000000B3", &info),
            Some(("192.168.0.2:10911".to_string(), 179))
        );
        // Decodes, but the address is not a broker of this cluster: UNIQ_KEY fallback.
        assert_eq!(
            offset_id_target("0A00000100002A9F0000000000000000", &info),
            None
        );
        // A UNIQ_KEY whose "port" does not fit: UNIQ_KEY fallback.
        assert_eq!(
            offset_id_target("C0A8000A1F9012345678000000640001", &info),
            None
        );
        assert_eq!(offset_id_target("not-hex", &info), None);
    }

    #[test]
    fn report_json_shape() {
        let r = MessagesReport {
            messages: vec![MessageView::new(
                &msg("T", "k", "U", 1, 0),
                "a",
                BodyMode::Preview,
            )],
            errors: Vec::new(),
            detail: false,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["messages"][0]["msgId"], "U");
        assert_eq!(v["messages"][0]["brokerName"], "a");
        assert_eq!(v["messages"][0]["keys"], "k");
        assert!(v.get("detail").is_none());
        let mut s = String::new();
        r.human(&mut s);
        assert!(s.starts_with("#Msg Id  #Offset Msg Id"));
    }
}
