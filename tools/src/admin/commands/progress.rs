//! `consumerProgress`. With `-g`: the group's offsets per queue, merged from GET_CONSUME_STATS
//! of every master that serves it (the masters of `%RETRY%<group>`'s route and of the
//! topic's, or every master when neither route exists). Without `-g`: one summary line per
//! consumer group found in the masters' subscription group configs, system groups left out.

use std::collections::{BTreeMap, BTreeSet};

use clap::Args;
use fennec_protocol::body::{ConsumeStats, ConsumeType, MessageModel, OffsetWrapper};
use fennec_protocol::topic::{retry_topic, TOOLS_CONSUMER_GROUP};
use fennec_remoting::ResponseCode;
use futures_util::future::join_all;
use serde::Serialize;

use super::target::require_some;
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::{Report, Table};
use crate::admin::route::{all_masters, route_masters, BrokerTarget};
use crate::admin::time::format_or_na;

/// Groups brokers create for themselves and tools; `CID_RMQ_SYS_*` is reserved as well.
const SYSTEM_GROUPS: &[&str] = &[
    TOOLS_CONSUMER_GROUP,
    "SCHEDULE_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "__MONITOR_CONSUMER",
];

/// Whether `group` belongs to the system rather than to an application.
pub fn is_system_group(group: &str) -> bool {
    group.starts_with("CID_RMQ_SYS_") || SYSTEM_GROUPS.contains(&group)
}

#[derive(Debug, Clone, Args)]
pub struct ConsumerProgressArgs {
    /// Consumer group; without it, every group is summarised.
    #[arg(short = 'g', long = "groupName")]
    pub group: Option<String>,
    /// Only this topic.
    #[arg(short = 't', long = "topicName", requires = "group")]
    pub topic: Option<String>,
}

/// Progress of the group on one queue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueueProgress {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    pub diff: i64,
    pub last_timestamp: i64,
}

/// `consumerProgress -g` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupProgress {
    pub group: String,
    pub consume_tps: f64,
    pub diff_total: i64,
    pub queues: Vec<QueueProgress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl GroupProgress {
    /// Merges the stats of several brokers, queues in RocketMQ's order.
    pub fn merge(group: &str, stats: Vec<ConsumeStats>, errors: Vec<String>) -> Self {
        let consume_tps = stats.iter().map(|s| s.consume_tps).sum();
        let mut rows: Vec<(_, OffsetWrapper)> =
            stats.into_iter().flat_map(|s| s.offset_table.0).collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.dedup_by(|a, b| a.0 == b.0);
        let queues: Vec<QueueProgress> = rows
            .into_iter()
            .map(|(mq, w)| QueueProgress {
                topic: mq.topic,
                broker_name: mq.broker_name,
                queue_id: mq.queue_id,
                broker_offset: w.broker_offset,
                consumer_offset: w.consumer_offset,
                diff: (w.broker_offset - w.consumer_offset).max(0),
                last_timestamp: w.last_timestamp,
            })
            .collect();
        GroupProgress {
            group: group.to_string(),
            consume_tps,
            diff_total: queues.iter().map(|q| q.diff).sum(),
            queues,
            errors,
        }
    }
}

/// One line of `consumerProgress` without `-g`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummary {
    pub group: String,
    /// Online clients.
    pub count: usize,
    /// `PUSH`, `PULL` or `POP`; empty when offline.
    pub consume_type: String,
    /// `CLUSTERING` or `BROADCASTING`; empty when offline.
    pub message_model: String,
    pub consume_tps: f64,
    pub diff_total: i64,
}

/// `consumerProgress` without `-g`: a JSON array of summaries.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct GroupSummaries {
    pub groups: Vec<GroupSummary>,
    /// Brokers that failed (printed on stderr; not part of the JSON array).
    #[serde(skip)]
    pub errors: Vec<String>,
}

/// `consumerProgress` result, one of the two forms.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ConsumerProgressReport {
    Group(GroupProgress),
    All(GroupSummaries),
}

/// `consumerProgress`.
pub async fn consumer_progress(
    client: &AdminClient,
    args: &ConsumerProgressArgs,
) -> Result<ConsumerProgressReport, AdminError> {
    match &args.group {
        Some(group) => group_progress(client, group, args.topic.as_deref())
            .await
            .map(ConsumerProgressReport::Group),
        None => all_groups(client).await.map(ConsumerProgressReport::All),
    }
}

/// The merged progress of one group.
pub async fn group_progress(
    client: &AdminClient,
    group: &str,
    topic: Option<&str>,
) -> Result<GroupProgress, AdminError> {
    let mut targets = Vec::new();
    match client.topic_route(&retry_topic(group)).await {
        Ok(route) => targets.extend(route_masters(&route)),
        Err(AdminError::TopicNotExist(_)) => {}
        Err(e) => return Err(e),
    }
    if let Some(t) = topic {
        targets.extend(route_masters(&client.topic_route(t).await?));
    }
    if targets.is_empty() {
        targets = all_masters(&client.cluster_info().await?);
    }
    targets.sort();
    targets.dedup_by(|a, b| a.addr == b.addr);
    let results = join_all(
        targets
            .iter()
            .map(|t| stats_on(client, &t.addr, group, topic)),
    )
    .await;
    let (stats, errors) = require_some(results)?;
    let progress = GroupProgress::merge(group, stats, errors);
    if progress.queues.is_empty() && progress.errors.is_empty() {
        return Err(AdminError::NotFound(format!(
            "consumer group {group} has no consume stats: no broker holds offsets for it{}",
            topic.map(|t| format!(" on topic {t}")).unwrap_or_default()
        )));
    }
    Ok(progress)
}

/// GET_CONSUME_STATS, where "this broker does not know the group" is an empty answer.
async fn stats_on(
    client: &AdminClient,
    addr: &str,
    group: &str,
    topic: Option<&str>,
) -> Result<ConsumeStats, AdminError> {
    const EMPTY: [ResponseCode; 4] = [
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
        ResponseCode::TOPIC_NOT_EXIST,
        ResponseCode::QUERY_NOT_FOUND,
        ResponseCode::CONSUMER_NOT_ONLINE,
    ];
    match client.consume_stats(addr, group, topic).await {
        Err(e)
            if EMPTY
                .iter()
                .any(|c| e.response_code() == Some(i32::from(*c))) =>
        {
            Ok(ConsumeStats::default())
        }
        other => other,
    }
}

/// Every application group with its clients and lag.
async fn all_groups(client: &AdminClient) -> Result<GroupSummaries, AdminError> {
    let masters = all_masters(&client.cluster_info().await?);
    let configs = join_all(
        masters
            .iter()
            .map(|t| async move { client.subscription_groups(&t.addr).await.map(|w| (t, w)) }),
    )
    .await;
    let (configs, mut errors) = require_some(configs)?;
    // Which masters hold each group's configuration.
    let mut groups: BTreeMap<String, BTreeSet<&BrokerTarget>> = BTreeMap::new();
    for (target, wrapper) in &configs {
        for name in wrapper.subscription_group_table.keys() {
            if !is_system_group(name) {
                groups.entry(name.clone()).or_default().insert(*target);
            }
        }
    }
    let summaries = join_all(groups.iter().map(|(group, brokers)| async move {
        let addrs: Vec<&str> = brokers.iter().map(|t| t.addr.as_str()).collect();
        summarise(client, group, &addrs).await
    }))
    .await;
    let mut groups = Vec::new();
    for (summary, errs) in summaries {
        groups.push(summary);
        errors.extend(errs);
    }
    Ok(GroupSummaries { groups, errors })
}

/// One group's summary, and the errors of brokers that did not answer.
async fn summarise(
    client: &AdminClient,
    group: &str,
    addrs: &[&str],
) -> (GroupSummary, Vec<String>) {
    let stats = join_all(addrs.iter().map(|a| stats_on(client, a, group, None))).await;
    let (stats, errors) = super::target::partition(stats);
    let progress = GroupProgress::merge(group, stats, Vec::new());
    let mut summary = GroupSummary {
        group: group.to_string(),
        count: 0,
        consume_type: String::new(),
        message_model: String::new(),
        consume_tps: progress.consume_tps,
        diff_total: progress.diff_total,
    };
    for addr in addrs {
        if let Ok(Some(conn)) = client.consumer_connection(addr, group).await {
            if conn.connection_set.is_empty() {
                continue;
            }
            summary.count = conn.connection_set.len();
            summary.consume_type = match conn.consume_type {
                ConsumeType::ConsumeActively => "PULL",
                ConsumeType::ConsumePassively => "PUSH",
                ConsumeType::ConsumePop => "POP",
            }
            .to_string();
            summary.message_model = match conn.message_model {
                MessageModel::Clustering => "CLUSTERING",
                MessageModel::Broadcasting => "BROADCASTING",
            }
            .to_string();
            break;
        }
    }
    (summary, errors)
}

impl Report for ConsumerProgressReport {
    fn human(&self, out: &mut String) {
        match self {
            ConsumerProgressReport::Group(p) => {
                let mut t = Table::new(&[
                    "#Topic",
                    "#Broker Name",
                    "#QID",
                    "#Broker Offset",
                    "#Consumer Offset",
                    "#Diff",
                    "#LastTime",
                ]);
                for q in &p.queues {
                    t.push(vec![
                        q.topic.clone(),
                        q.broker_name.clone(),
                        q.queue_id.to_string(),
                        q.broker_offset.to_string(),
                        q.consumer_offset.to_string(),
                        q.diff.to_string(),
                        format_or_na(q.last_timestamp),
                    ]);
                }
                t.render(out);
                out.push('\n');
                out.push_str(&format!("Consume TPS: {:.2}\n", p.consume_tps));
                out.push_str(&format!("Consume Diff Total: {}\n", p.diff_total));
            }
            ConsumerProgressReport::All(summaries) => {
                let mut t =
                    Table::new(&["#Group", "#Count", "#Type", "#Model", "#TPS", "#Diff Total"]);
                for g in &summaries.groups {
                    t.push(vec![
                        g.group.clone(),
                        g.count.to_string(),
                        g.consume_type.clone(),
                        g.message_model.clone(),
                        format!("{:.0}", g.consume_tps),
                        g.diff_total.to_string(),
                    ]);
                }
                t.render(out);
            }
        }
    }

    fn errors(&self) -> &[String] {
        match self {
            ConsumerProgressReport::Group(p) => &p.errors,
            ConsumerProgressReport::All(s) => &s.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::body::{MessageQueue, MqMap};

    fn stats(tps: f64, rows: &[(&str, &str, i32, i64, i64)]) -> ConsumeStats {
        ConsumeStats {
            consume_tps: tps,
            offset_table: MqMap(
                rows.iter()
                    .map(|(t, b, q, bo, co)| {
                        let w = OffsetWrapper {
                            broker_offset: *bo,
                            consumer_offset: *co,
                            last_timestamp: 0,
                            pull_offset: 0,
                        };
                        (MessageQueue::new(*t, *b, *q), w)
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn merges_brokers_in_queue_order() {
        let p = GroupProgress::merge(
            "G",
            vec![
                stats(
                    1.5,
                    &[
                        ("T", "broker-b", 0, 10, 4),
                        ("%RETRY%G", "broker-b", 0, 0, 0),
                    ],
                ),
                stats(
                    2.0,
                    &[("T", "broker-a", 1, 7, 7), ("T", "broker-a", 0, 5, 6)],
                ),
            ],
            Vec::new(),
        );
        let order: Vec<_> = p
            .queues
            .iter()
            .map(|q| (q.topic.as_str(), q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(
            order,
            vec![
                ("%RETRY%G", "broker-b", 0),
                ("T", "broker-a", 0),
                ("T", "broker-a", 1),
                ("T", "broker-b", 0)
            ]
        );
        assert_eq!(p.consume_tps, 3.5);
        assert_eq!(p.diff_total, 6, "negative lag counts as zero");

        let report = ConsumerProgressReport::Group(p);
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["group"], "G");
        assert_eq!(v["diffTotal"], 6);
        assert_eq!(v["queues"][3]["diff"], 6);
        let mut s = String::new();
        report.human(&mut s);
        assert!(s.contains("Consume Diff Total: 6\n"));
        assert!(s
            .lines()
            .next()
            .unwrap()
            .starts_with("#Topic    #Broker Name  #QID"));
    }

    #[test]
    fn summary_shape_and_system_groups() {
        assert!(is_system_group("TOOLS_CONSUMER"));
        assert!(is_system_group("CID_RMQ_SYS_TRANS"));
        assert!(!is_system_group("orders"));
        let r = ConsumerProgressReport::All(GroupSummaries {
            groups: vec![GroupSummary {
                group: "G".into(),
                count: 0,
                consume_type: String::new(),
                message_model: String::new(),
                consume_tps: 0.0,
                diff_total: 3,
            }],
            errors: vec!["b:1 is down".into()],
        });
        assert_eq!(r.errors(), ["b:1 is down".to_string()]);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!([{"group": "G", "count": 0, "consumeType": "", "messageModel": "",
                "consumeTps": 0.0, "diffTotal": 3}])
        );
    }
}
