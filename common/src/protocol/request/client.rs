//! Client management: heartbeats, unregistration, the members of a consumer group, and
//! handing a message back for redelivery.

use super::{done, header_requests, reply_body, with_header, ReplyError, Request};
use crate::protocol::body::{ConsumerListBody, HeartbeatData};
use crate::protocol::encode_body;
use crate::protocol::header::{
    ConsumerGroupRequestHeader, ConsumerSendMsgBackRequestHeader, UnregisterClientRequestHeader,
};
use crate::remoting::{RemotingCommand, RequestCode};

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

header_requests! {
    UnregisterClientRequestHeader => UNREGISTER_CLIENT, (), done;
    // Hands a message back for redelivery through the group's retry topic.
    ConsumerSendMsgBackRequestHeader => CONSUMER_SEND_MSG_BACK, (), done;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::ResponseCode;

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
