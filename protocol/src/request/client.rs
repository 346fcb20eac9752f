//! Client management: heartbeats, unregistration, the members of a consumer group, handing a
//! message back for redelivery; and what brokers push to clients (membership changes, offset
//! resets).

use super::{done, header_requests, reply_body, with_header, ReplyError, Request};
use crate::body::{ConsumerListBody, HeartbeatData, ResetOffsetBody};
use crate::encode_body;
use crate::header::{
    ConsumerGroupRequestHeader, ConsumerSendMsgBackRequestHeader, ResetOffsetRequestHeader,
    UnregisterClientRequestHeader,
};
use crate::{RemotingCommand, RequestCode};

/// HEART_BEAT: the client's producer groups and consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat(pub HeartbeatData);

impl Request for Heartbeat {
    const CODE: RequestCode = RequestCode::HEART_BEAT;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        RemotingCommand::request(Self::CODE).with_body(encode_body(&self.0))
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group's live members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetConsumerList {
    pub group: String,
}

impl Request for GetConsumerList {
    const CODE: RequestCode = RequestCode::GET_CONSUMER_LIST_BY_GROUP;
    type Reply = Vec<String>;
    fn to_command(&self) -> RemotingCommand {
        with_header(
            Self::CODE,
            &ConsumerGroupRequestHeader {
                consumer_group: self.group.clone(),
            },
        )
    }
    fn decode_reply(reply: RemotingCommand) -> Result<Vec<String>, ReplyError> {
        reply_body::<ConsumerListBody>(reply, "consumer list").map(|b| b.consumer_id_list)
    }
}

/// NOTIFY_CONSUMER_IDS_CHANGED (broker to client, oneway): the group's members changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConsumerIdsChanged {
    pub group: String,
}

impl Request for NotifyConsumerIdsChanged {
    const CODE: RequestCode = RequestCode::NOTIFY_CONSUMER_IDS_CHANGED;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        with_header(
            Self::CODE,
            &ConsumerGroupRequestHeader {
                consumer_group: self.group.clone(),
            },
        )
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

/// RESET_CONSUMER_CLIENT_OFFSET (broker to client, oneway): move the group's offsets of the
/// header's topic to those in the body.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetConsumerClientOffset {
    pub header: ResetOffsetRequestHeader,
    pub offsets: ResetOffsetBody,
}

impl Request for ResetConsumerClientOffset {
    const CODE: RequestCode = RequestCode::RESET_CONSUMER_CLIENT_OFFSET;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.header).with_body(self.offsets.to_json())
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

header_requests! {
    UnregisterClientRequestHeader => UNREGISTER_CLIENT, (), done;
    // Hands a message back for redelivery through the group's retry topic.
    ConsumerSendMsgBackRequestHeader => CONSUMER_SEND_MSG_BACK, (), done;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResponseCode;

    #[test]
    fn consumer_list() {
        let reply = RemotingCommand::success().with_body(&br#"{"consumerIdList":["a","b"]}"#[..]);
        assert_eq!(GetConsumerList::decode_reply(reply).unwrap(), ["a", "b"]);
        let none = RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some("no".into()));
        assert_eq!(
            GetConsumerList::decode_reply(none).unwrap_err().code(),
            Some(1)
        );
    }
}
