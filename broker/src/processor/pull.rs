//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! A pull that finds nothing new (PULL_NOT_FOUND) and may be suspended registers a waiter
//! for its queue, re-checks the queue, and waits until the store's dispatcher reports a new
//! message there (or the suspend time runs out, or the broker shuts down); then it pulls once
//! more and answers. No timer polls the queue. A held pull whose connection closes ends
//! without reading: nobody would receive the messages, and they must not count as delivered.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fennec_protocol::body::{SubscriptionData, SubscriptionGroupConfig, MASTER_ID};
use fennec_protocol::header::{
    PullMessageRequestHeader, PullMessageResponseHeader, PULL_FLAG_COMMIT_OFFSET,
    PULL_FLAG_SUBSCRIPTION, PULL_FLAG_SUSPEND,
};
use fennec_protocol::message::record::parse_record;
use fennec_protocol::perm;
use fennec_remoting::{Channel, RemotingCommand, ResponseCode};
use tokio::time::Instant;

use crate::broker::Broker;
use crate::error::{Handled, Reject};
use fennec_store::{GetMessageResult, GetMessageStatus};

pub async fn pull(b: &Broker, channel: &Channel, req: &RemotingCommand) -> Handled {
    let h: PullMessageRequestHeader = req.decode_header()?;
    let (subscription, group) = check_pull(b, &h)?;
    // A slave keeps the offsets it copies from its master, not those of pulls.
    let slave = b.config.store.broker_role.is_slave();
    if h.sys_flag & PULL_FLAG_COMMIT_OFFSET != 0 && h.commit_offset >= 0 && !slave {
        b.offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    let max_count = usize::try_from(h.max_msg_nums)
        .unwrap_or(1)
        .clamp(1, b.config.max_transfer_count_on_message_in_memory.max(1));
    let max_bytes = h
        .max_msg_bytes
        .and_then(|v| usize::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(usize::MAX)
        .min(b.config.max_transfer_bytes_on_message_in_memory);
    let filter = |code: i64| subscription.matches_tag_code(code);

    let suspend = h.sys_flag & PULL_FLAG_SUSPEND != 0;
    let hold = if b.runtime.long_polling_enable() {
        Duration::from_millis(u64::try_from(h.suspend_timeout_millis).unwrap_or(0))
    } else {
        Duration::from_millis(b.config.short_polling_time_mills)
    };
    // Moved forward by the time the pull is held, so that latency leaves the hold out.
    let mut started = Instant::now();
    let deadline = started + hold;
    let look = || {
        let result = b.store.get_messages(
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max_count,
            max_bytes,
            &filter,
        );
        let code = response_code(&result, h.queue_offset);
        (result, code)
    };
    loop {
        let (result, code) = look();
        if code != ResponseCode::PULL_NOT_FOUND
            || !suspend
            || hold.is_zero()
            || b.shutdown.is_cancelled()
        {
            b.stats.pull_latency.observe(started.elapsed());
            return Ok(respond(b, &h, &group, result, code));
        }
        // Register before the final check so a message dispatched in between still wakes us.
        let woken = b
            .pull_waiters
            .register(&h.topic, h.queue_id, h.queue_offset);
        if b.store.max_offset_in_queue(&h.topic, h.queue_id) > h.queue_offset {
            continue;
        }
        let held = Instant::now();
        let holding = b.pull_waiters.hold();
        tokio::select! {
            _ = woken => {
                started += held.elapsed();
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => {}
            _ = b.shutdown.cancelled() => {}
            _ = channel.closed() => {
                return Ok(RemotingCommand::response(
                    ResponseCode::PULL_NOT_FOUND,
                    Some("connection closed while the pull was held".into()),
                ));
            }
        }
        drop(holding);
        // Held long enough: one last look, then answer whatever it finds.
        started += held.elapsed();
        let (result, code) = look();
        b.stats.pull_latency.observe(started.elapsed());
        return Ok(respond(b, &h, &group, result, code));
    }
}

/// Permissions, group, topic, queue id and subscription, in RocketMQ's order.
fn check_pull(
    b: &Broker,
    h: &PullMessageRequestHeader,
) -> Result<(SubscriptionData, SubscriptionGroupConfig), Reject> {
    if !b.is_readable() {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                b.config.broker_name
            ),
        ));
    }
    let group = b
        .groups
        .find_or_create(
            &h.consumer_group,
            b.runtime.auto_create_subscription_group(),
        )
        .ok_or_else(|| {
            Reject::new(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{}] does not exist", h.consumer_group),
            )
        })?;
    if !group.consume_enable {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let topic = b.topics.get(&h.topic).ok_or_else(|| {
        Reject::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        )
    })?;
    if !perm::is_readable(topic.perm) {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        ));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id, h.topic, topic.read_queue_nums, h.consumer_group
            ),
        ));
    }
    if h.sys_flag & PULL_FLAG_SUBSCRIPTION != 0 {
        if h.expression_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("TAG"))
        {
            return Err(Reject::new(
                ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                "only TAG expressions are supported",
            ));
        }
        let expr = h.subscription.as_deref().unwrap_or("*");
        let sub = SubscriptionData::from_tag_expression(&h.topic, expr, h.sub_version);
        return Ok((sub, group));
    }
    let Some(info) = b.consumers.group(&h.consumer_group) else {
        return Err(Reject::new(
            ResponseCode::SUBSCRIPTION_NOT_EXIST,
            format!(
                "the consumer's group info not exist, group: {}",
                h.consumer_group
            ),
        ));
    };
    let Some(sub) = info.subscriptions.get(&h.topic) else {
        return Err(Reject::new(
            ResponseCode::SUBSCRIPTION_NOT_EXIST,
            format!(
                "the consumer's subscription not exist, group: {} topic: {}",
                h.consumer_group, h.topic
            ),
        ));
    };
    if sub.sub_version < h.sub_version {
        return Err(Reject::new(
            ResponseCode::SUBSCRIPTION_NOT_LATEST,
            "the consumer's subscription not latest",
        ));
    }
    Ok((sub.clone(), group))
}

/// Reference §2.4 "Status mapping".
fn response_code(result: &GetMessageResult, requested: i64) -> ResponseCode {
    match result.status {
        GetMessageStatus::Found => ResponseCode::SUCCESS,
        GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::OffsetOverflowOne | GetMessageStatus::OffsetFoundNull => {
            ResponseCode::PULL_NOT_FOUND
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if requested != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
            ResponseCode::PULL_OFFSET_MOVED
        }
    }
}

/// Which broker of the group the consumer should pull from next (RocketMQ's rule): with
/// `slaveReadEnable`, the group's `whichBrokerWhenConsumeSlowly` when the messages pulled
/// have fallen out of memory, else the group's `brokerId`; without it, the master.
fn suggest_broker(b: &Broker, group: &SubscriptionGroupConfig, result: &GetMessageResult) -> i64 {
    if !b.config.slave_read_enable {
        return MASTER_ID;
    }
    let slow = result
        .messages
        .last()
        .and_then(|m| parse_record(m).ok())
        .is_some_and(|r| !b.in_memory(r.physical_offset()));
    if slow {
        group.which_broker_when_consume_slowly
    } else {
        group.broker_id
    }
}

fn respond(
    b: &Broker,
    h: &PullMessageRequestHeader,
    group: &SubscriptionGroupConfig,
    result: GetMessageResult,
    code: ResponseCode,
) -> RemotingCommand {
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest_broker(b, group, &result),
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: None,
    };
    let mut resp = RemotingCommand::response(code, None).with_header(&header);
    if code == ResponseCode::SUCCESS {
        b.stats.add_get(
            &h.consumer_group,
            &h.topic,
            result.messages.len() as u64,
            result.total_bytes as u64,
        );
        resp.body = concat(result.messages, result.total_bytes);
    }
    resp
}

fn concat(parts: Vec<Bytes>, total: usize) -> Bytes {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    let mut buf = BytesMut::with_capacity(total);
    for p in parts {
        buf.extend_from_slice(&p);
    }
    buf.freeze()
}
