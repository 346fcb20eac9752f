//! PULL_MESSAGE: what a pull found, with the records as they are stored.

use bytes::Bytes;

use super::{header_requests, reply_header, ReplyError};
use crate::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use crate::{RemotingCommand, ResponseCode};

/// What a pull found (the pull response codes 0, 19, 20, 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages are in the body.
    Found,
    /// Nothing new past the offset (the long poll ran out).
    NoNewMsg,
    /// Messages exist but none matched the filter; continue from nextBeginOffset.
    NoMatchedMsg,
    /// The offset is outside the queue; nextBeginOffset is where to go.
    OffsetIllegal,
}

/// A pull's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullReply {
    pub status: PullStatus,
    pub header: PullMessageResponseHeader,
    /// Raw records, back to back (only with [`PullStatus::Found`]).
    pub body: Bytes,
}

header_requests! {
    PullMessageRequestHeader => PULL_MESSAGE, PullReply, decode_pull_reply;
}

fn decode_pull_reply(reply: RemotingCommand) -> Result<PullReply, ReplyError> {
    let status = match reply.response_code() {
        Some(ResponseCode::SUCCESS) => PullStatus::Found,
        Some(ResponseCode::PULL_NOT_FOUND) => PullStatus::NoNewMsg,
        Some(ResponseCode::PULL_RETRY_IMMEDIATELY) => PullStatus::NoMatchedMsg,
        Some(ResponseCode::PULL_OFFSET_MOVED) => PullStatus::OffsetIllegal,
        _ => return Err(ReplyError::refused(&reply)),
    };
    let header = reply_header(&reply, "pull response")?;
    let body = if status == PullStatus::Found {
        reply.body
    } else {
        Bytes::new()
    };
    Ok(PullReply {
        status,
        header,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUSPEND};
    use crate::request::tests::{fields, over_the_wire};
    use crate::request::Request;

    #[test]
    fn pull_request_fields() {
        let header = PullMessageRequestHeader {
            consumer_group: "CG".into(),
            topic: "T".into(),
            queue_id: 1,
            queue_offset: 100,
            max_msg_nums: 32,
            sys_flag: PULL_FLAG_SUSPEND | PULL_FLAG_COMMIT_OFFSET,
            commit_offset: 90,
            suspend_timeout_millis: 15_000,
            subscription: None,
            sub_version: 1_700_000_000_000,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            broker_name: None,
        };
        let cmd = over_the_wire(&header.to_command());
        assert_eq!(cmd.code, 11);
        assert_eq!(
            fields(&cmd),
            [
                ("commitOffset", "90"),
                ("consumerGroup", "CG"),
                ("expressionType", "TAG"),
                ("maxMsgNums", "32"),
                ("queueId", "1"),
                ("queueOffset", "100"),
                ("subVersion", "1700000000000"),
                ("suspendTimeoutMillis", "15000"),
                ("sysFlag", "3"),
                ("topic", "T"),
            ]
        );
    }

    #[test]
    fn pull_statuses() {
        let found = RemotingCommand::success()
            .with_ext("suggestWhichBrokerId", "0")
            .with_ext("nextBeginOffset", "7")
            .with_ext("minOffset", "0")
            .with_ext("maxOffset", "7")
            .with_body(&b"records"[..]);
        let r = PullMessageRequestHeader::decode_reply(over_the_wire(&found)).unwrap();
        assert_eq!(r.status, PullStatus::Found);
        assert_eq!(r.header.next_begin_offset, 7);
        assert_eq!(&r.body[..], b"records");
        for (code, status) in [
            (19, PullStatus::NoNewMsg),
            (20, PullStatus::NoMatchedMsg),
            (21, PullStatus::OffsetIllegal),
        ] {
            let mut resp = found.clone();
            resp.code = code;
            let r = PullMessageRequestHeader::decode_reply(resp).unwrap();
            assert_eq!(r.status, status);
            assert!(r.body.is_empty());
        }
        let mut missing = found;
        missing.ext_fields.remove("nextBeginOffset");
        assert!(matches!(
            PullMessageRequestHeader::decode_reply(missing),
            Err(ReplyError::Header { .. })
        ));
        let sub = RemotingCommand::response(ResponseCode::SUBSCRIPTION_NOT_EXIST, None);
        assert_eq!(
            PullMessageRequestHeader::decode_reply(sub)
                .unwrap_err()
                .code(),
            Some(24)
        );
    }
}
