//! Message lookups: QUERY_MESSAGE (by index key or UNIQ_KEY) and VIEW_MESSAGE_BY_ID (by
//! commit log offset), both answering raw records as stored; and QUERY_CONSUME_QUEUE (the
//! entries of a queue, for admin tools).

use bytes::Bytes;

use super::{header_requests, reply_body, success, with_header, ReplyError, Request};
use crate::body::QueryConsumeQueueResponseBody;
use crate::header::{
    QueryConsumeQueueRequestHeader, QueryMessageRequestHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use crate::{RemotingCommand, RequestCode, ResponseCode};

/// QUERY_MESSAGE: records of the topic whose index key hashes like `key` (the broker may
/// return hash-slot neighbours; callers filter). `unique_key` marks `key` as a UNIQ_KEY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryMessage {
    pub header: QueryMessageRequestHeader,
    pub unique_key: bool,
}

impl Request for QueryMessage {
    const CODE: RequestCode = RequestCode::QUERY_MESSAGE;
    /// Raw records, empty when nothing matched (QUERY_NOT_FOUND).
    type Reply = Bytes;
    fn to_command(&self) -> RemotingCommand {
        let cmd = with_header(Self::CODE, &self.header);
        if self.unique_key {
            cmd.with_ext(UNIQUE_KEY_QUERY, "true")
        } else {
            cmd
        }
    }
    fn decode_reply(reply: RemotingCommand) -> Result<Bytes, ReplyError> {
        if reply.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
            return Ok(Bytes::new());
        }
        Ok(success(reply)?.body)
    }
}

header_requests! {
    // The record at a commit log offset.
    ViewMessageRequestHeader => VIEW_MESSAGE_BY_ID, Bytes, |r| success(r).map(|r| r.body);
    // Consume-queue entries of one queue.
    QueryConsumeQueueRequestHeader => QUERY_CONSUME_QUEUE, QueryConsumeQueueResponseBody, |r| reply_body(r, "QueryConsumeQueueResponseBody");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_key_queries_are_marked() {
        let q = QueryMessage {
            header: QueryMessageRequestHeader {
                topic: "T".into(),
                key: "K".into(),
                max_num: 64,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
            },
            unique_key: true,
        };
        assert_eq!(q.to_command().ext(UNIQUE_KEY_QUERY), Some("true"));
        let none = RemotingCommand::response(ResponseCode::QUERY_NOT_FOUND, None);
        assert!(QueryMessage::decode_reply(none).unwrap().is_empty());
    }
}
