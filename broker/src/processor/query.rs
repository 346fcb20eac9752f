//! QUERY_MESSAGE (12), lookup by key through the IndexFile; VIEW_MESSAGE_BY_ID (33), lookup
//! by commit log offset; QUERY_CONSUME_QUEUE (321), the entries of a queue (whatever the
//! topic's permission: admin tools read dead-letter queues with it).

use bytes::BytesMut;
use fennec_protocol::body::{ConsumeQueueData, QueryConsumeQueueResponseBody};
use fennec_protocol::encode_body;
use fennec_protocol::header::{
    QueryConsumeQueueRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
    ViewMessageRequestHeader, UNIQUE_KEY_QUERY,
};
use fennec_remoting::{RemotingCommand, ResponseCode};

use crate::broker::Broker;
use crate::error::{Handled, Reject};

/// Results per query (RocketMQ's `maxMsgsNumBatch`).
const MAX_QUERY_RESULTS: i32 = 64;
/// Results for a UNIQ_KEY query (RocketMQ's `defaultQueryMaxNum`).
const UNIQUE_KEY_QUERY_MAX: i32 = 32;
/// Most entries one QUERY_CONSUME_QUEUE returns.
const MAX_QUEUE_ENTRIES: i32 = 1024;

pub fn query_message(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: QueryMessageRequestHeader = req.decode_header()?;
    let max = if req.ext(UNIQUE_KEY_QUERY) == Some("true") {
        UNIQUE_KEY_QUERY_MAX
    } else {
        h.max_num.clamp(1, MAX_QUERY_RESULTS)
    };
    let result = b.store.query_messages(
        &h.topic,
        &h.key,
        max as usize,
        h.begin_timestamp,
        h.end_timestamp,
    );
    if result.messages.is_empty() {
        return Err(Reject::new(
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let mut body = BytesMut::with_capacity(result.messages.iter().map(|m| m.len()).sum());
    for m in &result.messages {
        body.extend_from_slice(m);
    }
    Ok(RemotingCommand::success()
        .with_header(&QueryMessageResponseHeader {
            index_last_update_timestamp: result.index_last_update_timestamp,
            index_last_update_phyoffset: result.index_last_update_phy_offset,
        })
        .with_body(body.freeze()))
}

pub fn view_message(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: ViewMessageRequestHeader = req.decode_header()?;
    match b.store.message_at(h.offset) {
        Some(record) => Ok(RemotingCommand::success().with_body(record)),
        None => Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("can not find message by the offset, {}", h.offset),
        )),
    }
}

pub fn query_consume_queue(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: QueryConsumeQueueRequestHeader = req.decode_header()?;
    let count = h.count.clamp(0, MAX_QUEUE_ENTRIES) as usize;
    let (min, max, entries) = b
        .store
        .consume_queue_entries(&h.topic, h.queue_id, h.index, count)
        .ok_or_else(|| {
            Reject::new(
                ResponseCode::SYSTEM_ERROR,
                format!("{},{} not exist!", h.topic, h.queue_id),
            )
        })?;
    let body = QueryConsumeQueueResponseBody {
        max_queue_index: max,
        min_queue_index: min,
        queue_data: entries
            .into_iter()
            .map(|e| ConsumeQueueData {
                physic_offset: e.commit_log_offset,
                physic_size: e.size,
                tags_code: e.tag_code,
                ..ConsumeQueueData::default()
            })
            .collect(),
    };
    Ok(RemotingCommand::success().with_body(encode_body(&body)))
}
