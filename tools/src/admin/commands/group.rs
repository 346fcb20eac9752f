//! Consumer group commands that change state: `updateSubGroup`
//! (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP) and `resetOffsetByTime`
//! (INVOKE_BROKER_TO_RESET_OFFSET; for a group with no online consumer, the offsets are
//! searched by time and committed directly, as RocketMQ's tool does).

use clap::{ArgAction, Args};
use fennec_protocol::body::{MessageQueue, SubscriptionGroupConfig, TopicRouteData};
use fennec_protocol::header::{ResetOffsetRequestHeader, UpdateConsumerOffsetRequestHeader};
use fennec_remoting::ResponseCode;
use futures_util::future::join_all;
use serde::Serialize;

use super::target::{all_ok, partition, BrokerOrCluster};
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::{Report, Table};
use crate::admin::route::{route_masters, BrokerTarget};
use crate::admin::time::{format_millis, parse_timestamp};

#[derive(Debug, Clone, Args)]
pub struct UpdateSubGroupArgs {
    #[command(flatten)]
    pub target: BrokerOrCluster,
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    pub group: String,
    /// consumeEnable (default true).
    #[arg(short = 's', long = "consumeEnable", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub consume_enable: Option<bool>,
    /// consumeFromMinEnable (default true).
    #[arg(short = 'm', long = "consumeFromMinEnable", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub consume_from_min_enable: Option<bool>,
    /// consumeBroadcastEnable (default true).
    #[arg(short = 'd', long = "consumeBroadcastEnable", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub consume_broadcast_enable: Option<bool>,
    /// consumeMessageOrderly (default false).
    #[arg(short = 'o', long = "consumeMessageOrderly", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub consume_message_orderly: Option<bool>,
    /// retryQueueNums (default 1).
    #[arg(short = 'q', long = "retryQueueNums")]
    pub retry_queue_nums: Option<i32>,
    /// retryMaxTimes (default 16).
    #[arg(short = 'r', long = "retryMaxTimes")]
    pub retry_max_times: Option<i32>,
    /// brokerId to consume from (default 0, the master).
    #[arg(short = 'i', long = "brokerId")]
    pub broker_id: Option<i64>,
    /// whichBrokerWhenConsumeSlowly (default 1).
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    pub which_broker_when_consume_slowly: Option<i64>,
    /// notifyConsumerIdsChangedEnable (default true).
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub notify_consumer_ids_changed_enable: Option<bool>,
}

impl UpdateSubGroupArgs {
    /// RocketMQ's defaults with the given flags applied.
    pub fn config(&self) -> SubscriptionGroupConfig {
        let d = SubscriptionGroupConfig::named(&self.group);
        SubscriptionGroupConfig {
            consume_enable: self.consume_enable.unwrap_or(d.consume_enable),
            consume_from_min_enable: self
                .consume_from_min_enable
                .unwrap_or(d.consume_from_min_enable),
            consume_broadcast_enable: self
                .consume_broadcast_enable
                .unwrap_or(d.consume_broadcast_enable),
            consume_message_orderly: self
                .consume_message_orderly
                .unwrap_or(d.consume_message_orderly),
            retry_queue_nums: self.retry_queue_nums.unwrap_or(d.retry_queue_nums),
            retry_max_times: self.retry_max_times.unwrap_or(d.retry_max_times),
            broker_id: self.broker_id.unwrap_or(d.broker_id),
            which_broker_when_consume_slowly: self
                .which_broker_when_consume_slowly
                .unwrap_or(d.which_broker_when_consume_slowly),
            notify_consumer_ids_changed_enable: self
                .notify_consumer_ids_changed_enable
                .unwrap_or(d.notify_consumer_ids_changed_enable),
            ..d
        }
    }
}

/// What `updateSubGroup` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSubGroupReport {
    pub brokers: Vec<String>,
    pub config: SubscriptionGroupConfig,
}

/// `updateSubGroup`: the group's configuration to one broker or every master of a cluster.
pub async fn update_sub_group(
    client: &AdminClient,
    args: &UpdateSubGroupArgs,
) -> Result<UpdateSubGroupReport, AdminError> {
    if args.group.is_empty() || args.group.len() > 120 {
        return Err(AdminError::Usage(
            "the group name must be 1 to 120 characters".into(),
        ));
    }
    let config = args.config();
    let targets = args.target.masters(client).await?;
    let results = join_all(
        targets
            .iter()
            .map(|t| client.create_subscription_group(&t.addr, &config)),
    )
    .await;
    all_ok(results)?;
    Ok(UpdateSubGroupReport {
        brokers: targets.into_iter().map(|t| t.addr).collect(),
        config,
    })
}

impl Report for UpdateSubGroupReport {
    fn human(&self, out: &mut String) {
        for b in &self.brokers {
            out.push_str(&format!("create subscription group to {b} success.\n"));
        }
        let c = &self.config;
        out.push_str(&format!(
            "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, consumeMessageOrderly={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]\n",
            c.group_name, c.consume_enable, c.consume_from_min_enable, c.consume_broadcast_enable,
            c.consume_message_orderly, c.retry_queue_nums, c.retry_max_times, c.broker_id,
            c.which_broker_when_consume_slowly, c.notify_consumer_ids_changed_enable
        ));
    }
}

#[derive(Debug, Clone, Args)]
pub struct ResetOffsetByTimeArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "group")]
    pub group: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Timestamp: `now`, ms since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS (local time).
    #[arg(short = 's', long = "timestamp", value_parser = parse_timestamp)]
    pub timestamp: i64,
    /// Also move offsets forward (default true).
    #[arg(short = 'f', long = "force", num_args = 0..=1, default_value_t = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub force: bool,
}

/// The new offset of one queue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueueOffset {
    pub broker_name: String,
    pub queue_id: i32,
    pub offset: i64,
}

/// `resetOffsetByTime` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetReport {
    pub group: String,
    pub topic: String,
    pub timestamp: i64,
    pub force: bool,
    pub queues: Vec<QueueOffset>,
    /// Brokers where the group had no online consumer, so offsets were committed directly.
    pub offline_brokers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `resetOffsetByTime`: INVOKE_BROKER_TO_RESET_OFFSET to every master of the topic.
pub async fn reset_offset_by_time(
    client: &AdminClient,
    args: &ResetOffsetByTimeArgs,
) -> Result<ResetOffsetReport, AdminError> {
    let route = client.topic_route(&args.topic).await?;
    let masters = route_masters(&route);
    if masters.is_empty() {
        return Err(AdminError::NotFound(format!(
            "topic {} has no master broker",
            args.topic
        )));
    }
    let results = join_all(masters.iter().map(|t| reset_on(client, args, &route, t))).await;
    let (done, errors) = partition(results);
    if done.is_empty() {
        return Err(AdminError::NotFound(errors.join("; ")));
    }
    let mut queues = Vec::new();
    let mut offline_brokers = Vec::new();
    for (target, offline, table) in done {
        if offline {
            offline_brokers.push(target.broker_name);
        }
        queues.extend(table.into_iter().map(|(mq, offset)| QueueOffset {
            broker_name: mq.broker_name,
            queue_id: mq.queue_id,
            offset,
        }));
    }
    queues.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
    Ok(ResetOffsetReport {
        group: args.group.clone(),
        topic: args.topic.clone(),
        timestamp: args.timestamp,
        force: args.force,
        queues,
        offline_brokers,
        errors,
    })
}

type BrokerReset = (BrokerTarget, bool, Vec<(MessageQueue, i64)>);

async fn reset_on(
    client: &AdminClient,
    args: &ResetOffsetByTimeArgs,
    route: &TopicRouteData,
    target: &BrokerTarget,
) -> Result<BrokerReset, AdminError> {
    let header = ResetOffsetRequestHeader {
        topic: args.topic.clone(),
        group: args.group.clone(),
        timestamp: args.timestamp,
        is_force: args.force,
        queue_id: None,
        offset: None,
    };
    match client.reset_offset(&target.addr, &header).await {
        Ok(body) => Ok((target.clone(), false, body.offset_table.0)),
        Err(e) if e.response_code() == Some(i32::from(ResponseCode::CONSUMER_NOT_ONLINE)) => {
            let table = commit_directly(client, args, route, target).await?;
            Ok((target.clone(), true, table))
        }
        Err(e) => Err(e),
    }
}

/// For an offline group: per queue, the offset at the timestamp (kept at the current offset
/// when that is earlier and `force` is off), committed with UPDATE_CONSUMER_OFFSET.
async fn commit_directly(
    client: &AdminClient,
    args: &ResetOffsetByTimeArgs,
    route: &TopicRouteData,
    target: &BrokerTarget,
) -> Result<Vec<(MessageQueue, i64)>, AdminError> {
    let queue_count = route
        .queue_datas
        .iter()
        .find(|q| q.broker_name == target.broker_name)
        .map_or(0, |q| q.read_queue_nums.max(q.write_queue_nums));
    let mut out = Vec::new();
    for queue_id in 0..queue_count {
        let at_time = client
            .search_offset(&target.addr, &args.topic, queue_id, args.timestamp)
            .await?;
        let current = client
            .consumer_offset(&target.addr, &args.group, &args.topic, queue_id)
            .await?;
        let offset = reset_target(at_time, current, args.force);
        client
            .update_consumer_offset(
                &target.addr,
                &UpdateConsumerOffsetRequestHeader {
                    consumer_group: args.group.clone(),
                    topic: args.topic.clone(),
                    queue_id,
                    commit_offset: offset,
                },
            )
            .await?;
        out.push((
            MessageQueue::new(&args.topic, &target.broker_name, queue_id),
            offset,
        ));
    }
    Ok(out)
}

/// Without `force`, a reset only moves an offset back.
fn reset_target(at_time: i64, current: Option<i64>, force: bool) -> i64 {
    match current {
        Some(c) if !force && at_time > c => c,
        _ => at_time,
    }
}

impl Report for ResetOffsetReport {
    fn human(&self, out: &mut String) {
        out.push_str(&format!(
            "rollback consumer offset by specified consumerGroup[{}], topic[{}], force[{}], timestamp[{}] ({})\n",
            self.group, self.topic, self.force, self.timestamp, format_millis(self.timestamp)
        ));
        if !self.offline_brokers.is_empty() {
            out.push_str(&format!(
                "group has no online consumer on {}: offsets committed directly on the broker\n",
                self.offline_brokers.join(", ")
            ));
        }
        let mut t = Table::new(&["#brokerName", "#queueId", "#offset"]);
        for q in &self.queues {
            t.push(vec![
                q.broker_name.clone(),
                q.queue_id.to_string(),
                q.offset.to_string(),
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
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        args: UpdateSubGroupArgs,
    }

    #[test]
    fn sub_group_flags_override_defaults() {
        let p = Probe::try_parse_from([
            "x", "-c", "C", "-g", "G", "-s", "false", "-o", "-r", "3", "-w", "2",
        ])
        .unwrap();
        let c = p.args.config();
        assert_eq!(c.group_name, "G");
        assert!(!c.consume_enable);
        assert!(c.consume_message_orderly);
        assert_eq!((c.retry_max_times, c.retry_queue_nums), (3, 1));
        assert_eq!(c.which_broker_when_consume_slowly, 2);
        assert!(c.consume_from_min_enable && c.notify_consumer_ids_changed_enable);
        assert!(
            Probe::try_parse_from(["x", "-g", "G"]).is_err(),
            "-b or -c is required"
        );
        assert!(Probe::try_parse_from(["x", "-b", "a:1", "-c", "C", "-g", "G"]).is_err());
    }

    #[test]
    fn reset_only_moves_back_without_force() {
        assert_eq!(reset_target(10, Some(20), false), 10);
        assert_eq!(reset_target(30, Some(20), false), 20);
        assert_eq!(reset_target(30, Some(20), true), 30);
        assert_eq!(reset_target(30, None, false), 30);
    }
}
