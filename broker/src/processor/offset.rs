//! Offset requests: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29) and
//! GET_EARLIEST_MSG_STORETIME (32).

use fennec_protocol::header::{
    GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use fennec_remoting::{RemotingCommand, ResponseCode};

use crate::broker::Broker;
use crate::config::FlushDiskType;
use crate::error::{Handled, Reject};
use fennec_store::BoundaryType;

fn offset_reply(offset: i64) -> Handled {
    Ok(RemotingCommand::success().with_header(&OffsetResponseHeader { offset }))
}

/// The committed offset; for a group without one, 0 when the queue still starts at 0 and its
/// head is recent enough to be in memory (what Apache RocketMQ does, and what the C++ client's
/// CONSUME_FROM_LAST_OFFSET relies on for new groups), QUERY_NOT_FOUND otherwise.
pub fn query_consumer_offset(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: QueryConsumerOffsetRequestHeader = req.decode_header()?;
    if let Some(offset) = b.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
        return offset_reply(offset);
    }
    let min = b.store.min_offset_in_queue(&h.topic, h.queue_id);
    if min <= 0
        && h.set_zero_if_not_found != Some(false)
        && queue_head_in_memory(b, &h.topic, h.queue_id)
    {
        return offset_reply(0);
    }
    Err(Reject::new(
        ResponseCode::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

/// Whether the first message of a queue lies within the part of the commit log that fits in
/// `accessMessageInMemoryMaxRatio` % of RAM (RocketMQ's "still in memory" test). An empty
/// queue counts as in memory.
fn queue_head_in_memory(b: &Broker, topic: &str, queue_id: i32) -> bool {
    let Some(first) = b
        .store
        .get_messages(topic, queue_id, 0, 1, usize::MAX, &|_| true)
        .messages
        .into_iter()
        .next()
    else {
        return true;
    };
    let Ok(view) = fennec_protocol::message::record::parse_record(&first) else {
        return true;
    };
    b.in_memory(view.physical_offset())
}

/// Records a committed offset. Under SYNC_FLUSH an acknowledged (not oneway) commit is
/// written to disk before the answer, so a crash cannot lose it.
pub async fn update_consumer_offset(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: UpdateConsumerOffsetRequestHeader = req.decode_header()?;
    if !b.topics.contains(&h.topic) {
        return Err(Reject::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    }
    b.offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    if b.config.store.flush_disk_type == FlushDiskType::SyncFlush && !req.is_oneway() {
        b.offsets.persist_durably().await;
    }
    Ok(RemotingCommand::success())
}

pub fn max_offset(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: GetMaxOffsetRequestHeader = req.decode_header()?;
    offset_reply(b.store.max_offset_in_queue(&h.topic, h.queue_id))
}

pub fn min_offset(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: GetMinOffsetRequestHeader = req.decode_header()?;
    offset_reply(b.store.min_offset_in_queue(&h.topic, h.queue_id))
}

pub fn search_offset(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: SearchOffsetRequestHeader = req.decode_header()?;
    let boundary = match h
        .boundary_type
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("LOWER") => BoundaryType::Lower,
        Some("UPPER") => BoundaryType::Upper,
        Some(other) => {
            return Err(Reject::new(
                ResponseCode::INVALID_PARAMETER,
                format!("unknown boundaryType {other}, expected LOWER or UPPER"),
            ))
        }
    };
    offset_reply(
        b.store
            .offset_by_time(&h.topic, h.queue_id, h.timestamp, boundary),
    )
}

pub fn earliest_store_time(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: GetEarliestMsgStoretimeRequestHeader = req.decode_header()?;
    match b.store.earliest_message_time(&h.topic, h.queue_id) {
        Some(timestamp) => Ok(RemotingCommand::success()
            .with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp })),
        None => Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("no message in queue {}:{}", h.topic, h.queue_id),
        )),
    }
}
