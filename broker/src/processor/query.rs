//! QUERY_MESSAGE (12), lookup by key through the IndexFile, and VIEW_MESSAGE_BY_ID (33),
//! lookup by commit log offset.

use bytes::BytesMut;
use fennec_protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use fennec_remoting::{RemotingCommand, ResponseCode};

use crate::broker::Broker;
use crate::error::{Handled, Reject};

/// Results per query (RocketMQ's `maxMsgsNumBatch`).
const MAX_QUERY_RESULTS: i32 = 64;
/// Results for a UNIQ_KEY query (RocketMQ's `defaultQueryMaxNum`).
const UNIQUE_KEY_QUERY_MAX: i32 = 32;

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
