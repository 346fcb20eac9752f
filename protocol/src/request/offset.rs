//! Offset requests: consumer offsets, queue bounds, and searches by time.

use super::{done, header_requests, reply_header, reply_offset, success, ReplyError};
use crate::header::{
    GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::{RemotingCommand, ResponseCode};

header_requests! {
    // The group's committed offset; `None` when the broker has none.
    QueryConsumerOffsetRequestHeader => QUERY_CONSUMER_OFFSET, Option<i64>, |reply: RemotingCommand| {
        if reply.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
            return Ok(None);
        }
        reply_offset(reply).map(Some)
    };
    UpdateConsumerOffsetRequestHeader => UPDATE_CONSUMER_OFFSET, (), done;
    // The offset the next message of the queue will get.
    GetMaxOffsetRequestHeader => GET_MAX_OFFSET, i64, reply_offset;
    // The oldest offset still stored.
    GetMinOffsetRequestHeader => GET_MIN_OFFSET, i64, reply_offset;
    // The first offset stored at or after the timestamp (ms).
    SearchOffsetRequestHeader => SEARCH_OFFSET_BY_TIMESTAMP, i64, reply_offset;
    GetEarliestMsgStoretimeRequestHeader => GET_EARLIEST_MSG_STORETIME, i64, earliest;
}

fn earliest(reply: RemotingCommand) -> Result<i64, ReplyError> {
    let reply = success(reply)?;
    let h: GetEarliestMsgStoretimeResponseHeader = reply_header(&reply, "store time")?;
    Ok(h.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Request;

    #[test]
    fn offsets_and_not_found() {
        let ok = RemotingCommand::success().with_ext("offset", "42");
        assert_eq!(
            GetMaxOffsetRequestHeader::decode_reply(ok.clone()).unwrap(),
            42
        );
        assert_eq!(
            QueryConsumerOffsetRequestHeader::decode_reply(ok).unwrap(),
            Some(42)
        );
        let none = RemotingCommand::response(ResponseCode::QUERY_NOT_FOUND, None);
        assert_eq!(
            QueryConsumerOffsetRequestHeader::decode_reply(none.clone()).unwrap(),
            None
        );
        assert_eq!(
            GetMinOffsetRequestHeader::decode_reply(none)
                .unwrap_err()
                .code(),
            Some(22)
        );
        let req = SearchOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 2,
            timestamp: 5,
            boundary_type: None,
        };
        assert_eq!(req.to_command().code, 29);
    }
}
