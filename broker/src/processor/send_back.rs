//! CONSUMER_SEND_MSG_BACK (36): a consumer hands back a message it could not consume. The
//! broker copies the stored record into the group's retry topic `%RETRY%<group>` with delay
//! level `3 + reconsumeTimes` (10 s, 30 s, 1 m, ... with the default levels) unless the
//! request asks for a level, or into the dead-letter topic `%DLQ%<group>` (one queue,
//! write-only) once the message was consumed `maxReconsumeTimes` times or a negative level
//! asks for it. The limit is the request's `maxReconsumeTimes`, else the group's
//! `retryMaxTimes` (16 by default).
//!
//! The copy keeps body, flag, born time and host and properties, counts one more reconsume
//! (record field and `RECONSUME_TIME`), and records the original topic in `RETRY_TOPIC` and
//! the first offset msgId in `ORIGIN_MESSAGE_ID` (both only if not set by an earlier round).
//!
//! Sends straight to a retry topic (Java clients do that when a send-back fails) follow the
//! same dead-letter rule: [`divert_exhausted_retry`].

use fennec_protocol::header::{ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader};
use fennec_protocol::message::msg_id::{offset_msg_id, random_u32};
use fennec_protocol::message::properties::{keys, Properties};
use fennec_protocol::message::record::parse_record;
use fennec_protocol::perm::{self, PERM_READ, PERM_WRITE};
use fennec_protocol::topic::{dlq_topic, retry_topic, RETRY_GROUP_TOPIC_PREFIX};
use fennec_remoting::{RemotingCommand, ResponseCode};
use fennec_store::{PutMessageStatus, StoreMessage};

use crate::broker::Broker;
use crate::error::{Handled, Reject};

/// Properties a copy must not inherit: what routed or delivered the original.
const ROUTING_KEYS: &[&str] = &[
    keys::DELAY_TIME_LEVEL,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
    keys::TIMER_OUT_MS,
    keys::REAL_TOPIC,
    keys::REAL_QUEUE_ID,
    keys::DELIVERED_FROM,
];

fn system_error(remark: impl Into<String>) -> Reject {
    Reject::new(ResponseCode::SYSTEM_ERROR, remark)
}

pub async fn send_back(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: ConsumerSendMsgBackRequestHeader = req.decode_header()?;
    super::send::check_writeable(b)?;
    let group = b
        .groups
        .find_or_create(&h.group, b.runtime.auto_create_subscription_group())
        .ok_or_else(|| {
            Reject::new(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {}", h.group),
            )
        })?;
    if group.retry_queue_nums <= 0 {
        // The group does not retry: the message is dropped, as RocketMQ does.
        return Ok(RemotingCommand::success());
    }
    let record = b
        .store
        .message_at(h.offset)
        .ok_or_else(|| system_error(format!("look message by offset failed, {}", h.offset)))?;
    let view = parse_record(&record).map_err(|e| {
        system_error(format!(
            "the record at commit log offset {} is unreadable: {e}",
            h.offset
        ))
    })?;
    let reconsumed = view.reconsume_times();
    let max = h
        .max_reconsume_times
        .filter(|m| *m >= 0)
        .unwrap_or(group.retry_max_times);
    let mut props = Properties::decode(view.properties());
    for k in ROUTING_KEYS {
        props.remove(k);
    }
    if props.get(keys::RETRY_TOPIC).is_none() {
        props.insert(keys::RETRY_TOPIC, view.topic());
    }
    if props.get(keys::ORIGIN_MESSAGE_ID).is_none() {
        props.insert(
            keys::ORIGIN_MESSAGE_ID,
            offset_msg_id(&view.store_host(), h.offset),
        );
    }
    props.insert(keys::RECONSUME_TIME, (reconsumed + 1).to_string());
    props.insert(keys::WAIT_STORE_MSG_OK, "false");
    let (topic, queue_id) = if reconsumed >= max || h.delay_level < 0 {
        let topic = dlq_topic(&h.group);
        b.topics.ensure_group_topic(&topic, 1, PERM_WRITE);
        (topic, 0)
    } else {
        let topic = retry_topic(&h.group);
        let config =
            b.topics
                .ensure_group_topic(&topic, group.retry_queue_nums, PERM_READ | PERM_WRITE);
        if !perm::is_writeable(config.perm) {
            return Err(Reject::new(
                ResponseCode::NO_PERMISSION,
                format!("the topic[{topic}] sending message is forbidden"),
            ));
        }
        let level = if h.delay_level == 0 {
            3 + reconsumed
        } else {
            h.delay_level
        };
        props.insert(keys::DELAY_TIME_LEVEL, level.to_string());
        let queues = config.write_queue_nums.max(1) as u32;
        (topic, (random_u32() % queues) as i32)
    };
    let copy = StoreMessage {
        topic,
        queue_id,
        properties: props.encode(),
        store_host: b.store_host,
        reconsume_times: reconsumed + 1,
        ..StoreMessage::copy_of(&record, &view)
    };
    let copy_topic = copy.topic.clone();
    let wait = crate::ha::waits(&copy.properties);
    let result = b.replicated(b.store.put_message(copy).await, wait).await;
    if result.status != PutMessageStatus::PutOk {
        return Err(system_error(
            result
                .remark
                .unwrap_or_else(|| format!("{:?}", result.status)),
        ));
    }
    if let (Some(append), Some(traffic)) = (&result.append, b.topics.traffic(&copy_topic)) {
        b.stats.add_put(&traffic, 1, append.wrote_bytes as u64);
    }
    Ok(RemotingCommand::success())
}

/// A send to `%RETRY%<group>` of a message already consumed more than the limit (the
/// header's `maxReconsumeTimes`, else the group's `retryMaxTimes`) goes to the group's
/// dead-letter topic instead, without a delay.
pub fn divert_exhausted_retry(b: &Broker, h: &mut SendMessageRequestHeader) {
    let Some(group) = h.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return;
    };
    let reconsumed = h.reconsume_times.unwrap_or(0);
    let max = match h.max_reconsume_times.filter(|m| *m >= 0) {
        Some(m) => m,
        None => match b.groups.get(group) {
            Some(g) => g.retry_max_times,
            None => return,
        },
    };
    if reconsumed <= max {
        return;
    }
    let topic = dlq_topic(group);
    b.topics.ensure_group_topic(&topic, 1, PERM_WRITE);
    if let Some(p) = h.properties.as_mut() {
        let mut props = Properties::decode(p);
        props.remove(keys::DELAY_TIME_LEVEL);
        *p = props.encode();
    }
    h.topic = topic;
    h.queue_id = 0;
}
