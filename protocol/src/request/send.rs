//! Sends: SEND_MESSAGE_V2 (one message) and SEND_BATCH_MESSAGE (messages of one topic in one
//! body), both with the one-letter V2 header keys Java clients send by default.

use bytes::Bytes;

use super::{reply_header, with_header, ReplyError, Request};
use crate::header::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use crate::{RemotingCommand, RequestCode, ResponseCode};

/// A stored send's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReply {
    /// SUCCESS, or one of the codes that still mean "stored": FLUSH_DISK_TIMEOUT,
    /// FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE.
    pub code: ResponseCode,
    pub header: SendMessageResponseHeader,
}

/// SEND_MESSAGE_V2: one message; `body` is compressed when sysFlag says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    pub header: SendMessageRequestHeaderV2,
    pub body: Bytes,
}

/// SEND_BATCH_MESSAGE: the header describes the batch, `body` holds the encoded messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBatch {
    pub header: SendMessageRequestHeaderV2,
    pub body: Bytes,
}

impl Request for SendMessage {
    const CODE: RequestCode = RequestCode::SEND_MESSAGE_V2;
    type Reply = SendReply;
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.header).with_body(self.body.clone())
    }
    fn decode_reply(reply: RemotingCommand) -> Result<SendReply, ReplyError> {
        decode_send_reply(reply)
    }
}

impl Request for SendBatch {
    const CODE: RequestCode = RequestCode::SEND_BATCH_MESSAGE;
    type Reply = SendReply;
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.header).with_body(self.body.clone())
    }
    fn decode_reply(reply: RemotingCommand) -> Result<SendReply, ReplyError> {
        decode_send_reply(reply)
    }
}

/// The answer to either send: a stored status and its header, or a refusal.
fn decode_send_reply(reply: RemotingCommand) -> Result<SendReply, ReplyError> {
    let code = match reply.response_code() {
        Some(
            c @ (ResponseCode::SUCCESS
            | ResponseCode::FLUSH_DISK_TIMEOUT
            | ResponseCode::FLUSH_SLAVE_TIMEOUT
            | ResponseCode::SLAVE_NOT_AVAILABLE),
        ) => c,
        _ => return Err(ReplyError::refused(&reply)),
    };
    let header = reply_header(&reply, "send response")?;
    Ok(SendReply { code, header })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{fields, over_the_wire};

    fn header() -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some(
                "UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"
                    .into(),
            ),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: None,
        }
    }

    #[test]
    fn send_uses_v2_keys_and_batches_their_own_code() {
        let cmd = over_the_wire(
            &SendMessage {
                header: header(),
                body: Bytes::from_static(b"Hi"),
            }
            .to_command(),
        );
        assert_eq!(cmd.code, 310);
        assert_eq!(
            fields(&cmd),
            [
                ("a", "PG"),
                ("b", "T"),
                ("c", "TBW102"),
                ("d", "4"),
                ("e", "0"),
                ("f", "0"),
                ("g", "1700000000000"),
                ("h", "0"),
                ("i", "UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"),
                ("j", "0"),
                ("k", "false"),
                ("m", "false"),
            ]
        );
        assert_eq!(&cmd.body[..], b"Hi");
        let batch = SendBatch {
            header: SendMessageRequestHeaderV2 {
                batch: Some(true),
                ..header()
            },
            body: Bytes::new(),
        };
        assert_eq!(batch.to_command().code, 320);
    }

    #[test]
    fn stored_codes_and_refusals() {
        let ok = RemotingCommand::success()
            .with_ext("msgId", "C0A8000200002A9F0000000000000000")
            .with_ext("queueId", "3")
            .with_ext("queueOffset", "42")
            .with_ext("transactionId", "UNIQ");
        let r = SendMessage::decode_reply(over_the_wire(&ok)).unwrap();
        assert_eq!(r.code, ResponseCode::SUCCESS);
        assert_eq!((r.header.queue_id, r.header.queue_offset), (3, 42));
        let mut slow = ok.clone();
        slow.code = 10;
        assert_eq!(
            SendMessage::decode_reply(slow).unwrap().code,
            ResponseCode::FLUSH_DISK_TIMEOUT
        );
        let refused =
            RemotingCommand::response(ResponseCode::TOPIC_NOT_EXIST, Some("no topic".into()));
        assert_eq!(
            SendMessage::decode_reply(refused).unwrap_err().code(),
            Some(17)
        );
        let mut no_offset = ok;
        no_offset.ext_fields.remove("queueOffset");
        assert!(matches!(
            SendBatch::decode_reply(no_offset),
            Err(ReplyError::Header { .. })
        ));
    }
}
