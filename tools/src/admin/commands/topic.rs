//! Topic commands: `updateTopic`, `deleteTopic`, `topicList`, `topicRoute`, `topicStatus`.

use clap::{ArgAction, Args};
use fennec_protocol::body::{TopicConfig, TopicOffset, TopicRouteData};
use fennec_protocol::header::CreateTopicRequestHeader;
use fennec_protocol::perm;
use fennec_protocol::topic::{
    validate_topic, AUTO_CREATE_TOPIC_KEY, DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX,
};
use futures_util::future::join_all;
use serde::Serialize;

use super::target::{all_ok, require_some, BrokerOrCluster};
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::{Report, Table};
use crate::admin::route::{cluster_masters, route_readers};
use crate::admin::time::format_millis;

/// KV namespace where ordered topics' queue layout is kept on the nameservers.
pub const ORDER_TOPIC_CONFIG_NAMESPACE: &str = "ORDER_TOPIC_CONFIG";

#[derive(Debug, Clone, Args)]
pub struct UpdateTopicArgs {
    #[command(flatten)]
    pub target: BrokerOrCluster,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Read queue count.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    pub read_queue_nums: i32,
    /// Write queue count.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    pub write_queue_nums: i32,
    /// Permission: 2 write, 4 read, 6 read+write.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    pub perm: i32,
    /// Ordered topic (also records the queue layout on the nameservers).
    #[arg(short = 'o', long = "order", num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", action = ArgAction::Set)]
    pub order: bool,
}

/// What `updateTopic` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTopicReport {
    pub brokers: Vec<String>,
    pub topic_config: TopicConfig,
    pub order_conf: Option<String>,
}

/// `updateTopic`: UPDATE_AND_CREATE_TOPIC to the broker or to every master of the cluster.
pub async fn update_topic(
    client: &AdminClient,
    args: &UpdateTopicArgs,
) -> Result<UpdateTopicReport, AdminError> {
    validate_topic(&args.topic).map_err(AdminError::Usage)?;
    if args.read_queue_nums <= 0 || args.write_queue_nums <= 0 {
        return Err(AdminError::Usage("queue counts must be positive".into()));
    }
    let config = TopicConfig {
        order: args.order,
        perm: args.perm,
        read_queue_nums: args.read_queue_nums,
        write_queue_nums: args.write_queue_nums,
        ..TopicConfig::new(&args.topic, args.read_queue_nums)
    };
    let header = CreateTopicRequestHeader {
        topic: config.topic_name.clone(),
        default_topic: AUTO_CREATE_TOPIC_KEY.to_string(),
        read_queue_nums: config.read_queue_nums,
        write_queue_nums: config.write_queue_nums,
        perm: config.perm,
        topic_filter_type: config.topic_filter_type.clone(),
        topic_sys_flag: Some(config.topic_sys_flag),
        order: config.order,
        attributes: None,
        force: None,
    };
    let mut targets = args.target.masters(client).await?;
    let results = join_all(
        targets
            .iter()
            .map(|t| client.create_topic(&t.addr, &header)),
    )
    .await;
    all_ok(results)?;
    let order_conf = if args.order {
        if targets.iter().any(|t| t.broker_name.is_empty()) {
            // -b: learn the broker's name from the cluster info.
            let info = client.cluster_info().await?;
            for t in &mut targets {
                t.broker_name = info
                    .broker_addr_table
                    .values()
                    .find(|bd| bd.broker_addrs.values().any(|a| *a == t.addr))
                    .map(|bd| bd.broker_name.clone())
                    .ok_or_else(|| {
                        AdminError::NotFound(format!(
                            "{} is not registered on the nameservers",
                            t.addr
                        ))
                    })?;
            }
        }
        let conf = order_conf(
            targets.iter().map(|t| t.broker_name.as_str()),
            args.write_queue_nums,
        );
        client
            .put_kv_config(ORDER_TOPIC_CONFIG_NAMESPACE, &args.topic, &conf)
            .await?;
        Some(conf)
    } else {
        None
    };
    Ok(UpdateTopicReport {
        brokers: targets.into_iter().map(|t| t.addr).collect(),
        topic_config: config,
        order_conf,
    })
}

/// `broker-a:8;broker-b:8`.
fn order_conf<'a>(names: impl Iterator<Item = &'a str>, queues: i32) -> String {
    names
        .map(|n| format!("{n}:{queues}"))
        .collect::<Vec<_>>()
        .join(";")
}

impl Report for UpdateTopicReport {
    fn human(&self, out: &mut String) {
        for b in &self.brokers {
            out.push_str(&format!("create topic to {b} success.\n"));
        }
        if let Some(conf) = &self.order_conf {
            out.push_str(&format!(
                "set orderConf. isOrder=true, orderConf=[{conf}]\n"
            ));
        }
        let c = &self.topic_config;
        out.push_str(&format!(
            "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}]\n",
            c.topic_name, c.read_queue_nums, c.write_queue_nums, perm::describe(c.perm),
            c.topic_filter_type, c.topic_sys_flag, c.order
        ));
    }
}

#[derive(Debug, Clone, Args)]
pub struct DeleteTopicArgs {
    /// Topic to delete.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Cluster whose masters and nameservers drop it.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: String,
}

/// What `deleteTopic` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTopicReport {
    pub topic: String,
    pub cluster: String,
    pub brokers: Vec<String>,
    pub namesrvs: Vec<String>,
}

/// `deleteTopic`: DELETE_TOPIC_IN_BROKER on every master of the cluster, then
/// DELETE_TOPIC_IN_NAMESRV on every nameserver.
pub async fn delete_topic(
    client: &AdminClient,
    args: &DeleteTopicArgs,
) -> Result<DeleteTopicReport, AdminError> {
    let masters = cluster_masters(&client.cluster_info().await?, &args.cluster)?;
    let results = join_all(
        masters
            .iter()
            .map(|t| client.delete_topic_in_broker(&t.addr, &args.topic)),
    )
    .await;
    all_ok(results)?;
    client
        .delete_topic_in_namesrv(&args.topic, Some(&args.cluster))
        .await?;
    Ok(DeleteTopicReport {
        topic: args.topic.clone(),
        cluster: args.cluster.clone(),
        brokers: masters.into_iter().map(|t| t.addr).collect(),
        namesrvs: client.namesrv_addrs().to_vec(),
    })
}

impl Report for DeleteTopicReport {
    fn human(&self, out: &mut String) {
        for b in &self.brokers {
            out.push_str(&format!(
                "delete topic [{}] from broker {b} success.\n",
                self.topic
            ));
        }
        out.push_str(&format!(
            "delete topic [{}] from cluster [{}] success.\n",
            self.topic, self.cluster
        ));
        out.push_str(&format!(
            "delete topic [{}] from NameServer success.\n",
            self.topic
        ));
    }
}

#[derive(Debug, Clone, Args)]
pub struct TopicListArgs {
    /// Also show the cluster of each topic (retry and DLQ topics are left out).
    #[arg(short = 'c', long = "clusterModel")]
    pub cluster: bool,
}

/// One topic of `topicList`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopicEntry {
    pub topic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// `topicList` result: a JSON array.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct TopicListReport(pub Vec<TopicEntry>);

/// `topicList`: every topic the nameservers know, optionally with its cluster.
pub async fn topic_list(
    client: &AdminClient,
    args: &TopicListArgs,
) -> Result<TopicListReport, AdminError> {
    let topics = client.topic_list().await?.topic_list;
    if !args.cluster {
        return Ok(TopicListReport(
            topics
                .into_iter()
                .map(|topic| TopicEntry {
                    topic,
                    cluster: None,
                })
                .collect(),
        ));
    }
    let mut out = Vec::new();
    for topic in topics {
        if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
        {
            continue;
        }
        let cluster = match client.topic_route(&topic).await {
            Ok(route) => route.broker_datas.first().map(|bd| bd.cluster.clone()),
            Err(AdminError::TopicNotExist(_)) => None,
            Err(e) => return Err(e),
        };
        out.push(TopicEntry {
            topic,
            cluster: Some(cluster.unwrap_or_default()),
        });
    }
    Ok(TopicListReport(out))
}

impl Report for TopicListReport {
    fn human(&self, out: &mut String) {
        if self.0.iter().all(|e| e.cluster.is_none()) {
            for e in &self.0 {
                out.push_str(&e.topic);
                out.push('\n');
            }
            return;
        }
        let mut t = Table::new(&["#Cluster Name", "#Topic"]);
        for e in &self.0 {
            t.push(vec![e.cluster.clone().unwrap_or_default(), e.topic.clone()]);
        }
        t.render(out);
    }
}

#[derive(Debug, Clone, Args)]
pub struct TopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

/// `topicRoute` result: the route itself.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct TopicRouteReport(pub TopicRouteData);

/// `topicRoute`: GET_ROUTEINFO_BY_TOPIC.
pub async fn topic_route(
    client: &AdminClient,
    args: &TopicArgs,
) -> Result<TopicRouteReport, AdminError> {
    client.topic_route(&args.topic).await.map(TopicRouteReport)
}

impl Report for TopicRouteReport {
    fn human(&self, out: &mut String) {
        out.push_str(&serde_json::to_string_pretty(&self.0).unwrap_or_default());
        out.push('\n');
    }
}

/// One queue of `topicStatus`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    pub broker_name: String,
    pub queue_id: i32,
    pub min_offset: i64,
    pub max_offset: i64,
    pub last_update_timestamp: i64,
}

/// `topicStatus` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatusReport {
    pub topic: String,
    pub queues: Vec<QueueStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `topicStatus`: GET_TOPIC_STATS_INFO from every broker group of the route.
pub async fn topic_status(
    client: &AdminClient,
    args: &TopicArgs,
) -> Result<TopicStatusReport, AdminError> {
    let route = client.topic_route(&args.topic).await?;
    let targets = route_readers(&route);
    let results = join_all(
        targets
            .iter()
            .map(|t| client.topic_stats(&t.addr, &args.topic)),
    )
    .await;
    let (tables, errors) = require_some(results)?;
    let mut rows: Vec<(_, TopicOffset)> =
        tables.into_iter().flat_map(|t| t.offset_table.0).collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(TopicStatusReport {
        topic: args.topic.clone(),
        queues: rows
            .into_iter()
            .map(|(mq, o)| QueueStatus {
                broker_name: mq.broker_name,
                queue_id: mq.queue_id,
                min_offset: o.min_offset,
                max_offset: o.max_offset,
                last_update_timestamp: o.last_update_timestamp,
            })
            .collect(),
        errors,
    })
}

impl Report for TopicStatusReport {
    fn human(&self, out: &mut String) {
        let mut t = Table::new(&[
            "#Broker Name",
            "#QID",
            "#Min Offset",
            "#Max Offset",
            "#Last Updated",
        ]);
        for q in &self.queues {
            let last = if q.last_update_timestamp > 0 {
                format_millis(q.last_update_timestamp)
            } else {
                String::new()
            };
            t.push(vec![
                q.broker_name.clone(),
                q.queue_id.to_string(),
                q.min_offset.to_string(),
                q.max_offset.to_string(),
                last,
            ]);
        }
        t.render(out);
    }

    fn errors(&self) -> &[String] {
        &self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_conf_lists_brokers() {
        assert_eq!(order_conf(["a", "b"].into_iter(), 8), "a:8;b:8");
    }

    #[test]
    fn status_json_shape() {
        let r = TopicStatusReport {
            topic: "T".into(),
            queues: vec![QueueStatus {
                broker_name: "a".into(),
                queue_id: 0,
                min_offset: 0,
                max_offset: 5,
                last_update_timestamp: 0,
            }],
            errors: Vec::new(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["queues"][0]["maxOffset"], 5);
        assert!(v.get("errors").is_none());
        let list = TopicListReport(vec![TopicEntry {
            topic: "T".into(),
            cluster: None,
        }]);
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            serde_json::json!([{"topic": "T"}])
        );
    }
}
