//! Admin requests that change or read broker metadata: UPDATE_AND_CREATE_TOPIC (17),
//! DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21), UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
//! (200), GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207),
//! GET_BROKER_CONFIG (26), UPDATE_BROKER_CONFIG (25, the keys of
//! [`crate::runtime_config`]) and INVOKE_BROKER_TO_RESET_OFFSET (222).

use std::collections::BTreeMap;

use fennec_protocol::body::{
    MessageQueue, MqMap, ResetOffsetBody, SubscriptionGroupConfig, TopicConfig,
};
use fennec_protocol::header::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader, ResetOffsetRequestHeader,
    TopicRequestHeader,
};
use fennec_protocol::request::client::ResetConsumerClientOffset;
use fennec_protocol::request::Request;
use fennec_protocol::topic::{is_system_topic, validate_topic};
use fennec_protocol::{decode_body, encode_body};
use fennec_remoting::{RemotingCommand, ResponseCode};
use tracing::{debug, info};

use crate::broker::Broker;
use crate::error::{Handled, Reject};
use crate::runtime_config::UpdateError;
use fennec_common::config::ConfigKeys;
use fennec_store::BoundaryType;

pub fn create_topic(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: CreateTopicRequestHeader = req.decode_header()?;
    validate_topic(&h.topic).map_err(|e| Reject::new(ResponseCode::INVALID_PARAMETER, e))?;
    if is_system_topic(&h.topic)
        || h.topic == b.config.broker_cluster_name
        || h.topic == b.config.broker_name
    {
        return Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    if h.read_queue_nums <= 0 || h.write_queue_nums <= 0 {
        return Err(Reject::new(
            ResponseCode::INVALID_PARAMETER,
            "read and write queue numbers must be positive",
        ));
    }
    let attributes: BTreeMap<String, String> = h
        .attributes
        .as_deref()
        .map(|a| {
            a.split(',')
                .filter_map(|kv| kv.trim().trim_start_matches(['+', '-']).split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    b.topics.update(TopicConfig {
        attributes,
        order: h.order,
        perm: h.perm,
        read_queue_nums: h.read_queue_nums,
        topic_filter_type: h.topic_filter_type.clone(),
        topic_name: h.topic.clone(),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        write_queue_nums: h.write_queue_nums,
    });
    Ok(RemotingCommand::success())
}

pub fn delete_topic(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: TopicRequestHeader = req.decode_header()?;
    if is_system_topic(&h.topic) {
        return Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    b.topics.delete(&h.topic);
    b.offsets.remove_topic(&h.topic);
    b.store.delete_topics(std::slice::from_ref(&h.topic));
    Ok(RemotingCommand::success())
}

pub fn all_topic_config(b: &Broker) -> Handled {
    Ok(RemotingCommand::success().with_body(encode_body(&b.topics.snapshot())))
}

pub fn create_group(b: &Broker, req: &RemotingCommand) -> Handled {
    let config: SubscriptionGroupConfig = decode_body(&req.body)
        .map_err(|e| Reject::bad_body("UPDATE_AND_CREATE_SUBSCRIPTIONGROUP", &e))?;
    if config.group_name.trim().is_empty() {
        return Err(Reject::new(
            ResponseCode::INVALID_PARAMETER,
            "groupName is empty",
        ));
    }
    b.groups.update(config);
    Ok(RemotingCommand::success())
}

pub fn all_group_config(b: &Broker) -> Handled {
    Ok(RemotingCommand::success().with_body(encode_body(&b.groups.snapshot())))
}

pub fn delete_group(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: DeleteSubscriptionGroupRequestHeader = req.decode_header()?;
    b.groups.delete(&h.group_name);
    if h.clean_offset == Some(true) {
        b.offsets.remove_group(&h.group_name);
    }
    Ok(RemotingCommand::success())
}

pub fn broker_config(b: &Broker) -> Handled {
    let mut text = String::new();
    for (k, v) in b.runtime.snapshot(&b.config).entries() {
        text.push_str(k);
        text.push('=');
        text.push_str(&v);
        text.push('\n');
    }
    let version = serde_json::to_string(&b.topics.snapshot().data_version).unwrap_or_default();
    Ok(RemotingCommand::success()
        .with_ext("version", version)
        .with_body(text.into_bytes()))
}

/// Applies `key=value` lines of runtime settings. A new broker permission is registered
/// with the nameservers at once, with every topic's permission masked by it.
pub fn update_broker_config(b: &Broker, req: &RemotingCommand) -> Handled {
    let text = std::str::from_utf8(&req.body).map_err(|e| {
        Reject::new(
            ResponseCode::INVALID_PARAMETER,
            format!("the body is not UTF-8 properties text: {e}"),
        )
    })?;
    let keys = b.runtime.update(text).map_err(|e| {
        let code = match e {
            UpdateError::NotRuntime(_) => ResponseCode::NO_PERMISSION,
            _ => ResponseCode::INVALID_PARAMETER,
        };
        Reject::new(code, e.to_string())
    })?;
    info!(
        ?keys,
        "broker config updated: {}",
        text.trim().replace('\n', ", ")
    );
    if keys.iter().any(|k| k == "brokerPermission") {
        b.topics.touch();
    }
    Ok(RemotingCommand::success())
}

/// Resets a group's offsets on a topic to the first message stored at or after `timestamp`
/// (-1: the end of each queue; an explicit `offset` with `queueId` resets one queue). The
/// new offsets are committed here and pushed to every online member of the group with
/// RESET_CONSUMER_CLIENT_OFFSET, so a live group re-consumes at once.
pub async fn reset_offset(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: ResetOffsetRequestHeader = req.decode_header()?;
    let topic = b.topics.get(&h.topic).ok_or_else(|| {
        Reject::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("[reset-offset] topic does not exist, {}", h.topic),
        )
    })?;
    let committed = b.offsets.queue_offsets(&h.group, &h.topic);
    let online = b.consumers.channels(&h.group);
    if committed.is_empty() && online.is_empty() {
        return Err(Reject::new(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!(
                "The consumer group <{}> has no offsets on topic <{}> and is not online",
                h.group, h.topic
            ),
        ));
    }
    let mut table = Vec::new();
    for queue_id in 0..topic.read_queue_nums.max(topic.write_queue_nums) {
        if h.queue_id.is_some_and(|q| q >= 0 && q != queue_id) {
            continue;
        }
        let target = match (h.queue_id, h.offset) {
            (Some(q), Some(o)) if q == queue_id && o >= 0 => o,
            _ if h.timestamp < 0 => b.store.max_offset_in_queue(&h.topic, queue_id),
            _ => b
                .store
                .offset_by_time(&h.topic, queue_id, h.timestamp, BoundaryType::Lower),
        };
        let current = committed.get(&queue_id).copied().unwrap_or(i64::MAX);
        let offset = if h.is_force || target < current {
            target
        } else {
            current
        };
        b.offsets.commit(&h.group, &h.topic, queue_id, offset);
        table.push((
            MessageQueue::new(&h.topic, &b.config.broker_name, queue_id),
            offset,
        ));
    }
    b.offsets.persist();
    let offsets = ResetOffsetBody {
        offset_table: MqMap(table),
    };
    let body = offsets.to_json();
    info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, clients = online.len(), "consumer offsets reset");
    for channel in online {
        let push = ResetConsumerClientOffset {
            header: h.clone(),
            offsets: offsets.clone(),
        }
        .to_command();
        if let Err(e) = channel.oneway(push).await {
            debug!(remote = %channel.remote_addr(), "cannot push offset reset: {e}");
        }
    }
    Ok(RemotingCommand::success().with_body(body.into_bytes()))
}
