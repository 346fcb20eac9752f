//! Queue locks of ordered consumption: LOCK_BATCH_MQ (41) answers the queues granted,
//! UNLOCK_BATCH_MQ (42) gives queues back. Both carry only a JSON body
//! ([`crate::body::LockBatchRequestBody`]).

use std::collections::BTreeSet;

use super::{done, reply_body, ReplyError, Request};
use crate::body::{
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody,
};
use crate::encode_body;
use crate::{RemotingCommand, RequestCode};

/// LOCK_BATCH_MQ: lock the body's queues for its client; the answer is the subset now
/// held by that client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockBatchMq(pub LockBatchRequestBody);

impl Request for LockBatchMq {
    const CODE: RequestCode = RequestCode::LOCK_BATCH_MQ;
    type Reply = BTreeSet<MessageQueue>;
    fn to_command(&self) -> RemotingCommand {
        RemotingCommand::request(Self::CODE).with_body(encode_body(&self.0))
    }
    fn decode_reply(reply: RemotingCommand) -> Result<Self::Reply, ReplyError> {
        reply_body::<LockBatchResponseBody>(reply, "lock batch").map(|b| b.lock_ok_mq_set)
    }
}

/// UNLOCK_BATCH_MQ: release the body's queues held by its client (locks of other clients
/// are left alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlockBatchMq(pub UnlockBatchRequestBody);

impl Request for UnlockBatchMq {
    const CODE: RequestCode = RequestCode::UNLOCK_BATCH_MQ;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        RemotingCommand::request(Self::CODE).with_body(encode_body(&self.0))
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_body;
    use crate::request::tests::over_the_wire;
    use crate::ResponseCode;

    #[test]
    fn lock_round_trip() {
        let body = LockBatchRequestBody {
            client_id: "c".into(),
            consumer_group: "CG".into(),
            mq_set: [MessageQueue::new("T", "b", 2)].into(),
            only_this_broker: false,
        };
        let cmd = over_the_wire(&LockBatchMq(body.clone()).to_command());
        assert_eq!(cmd.code, 41);
        assert_eq!(
            decode_body::<LockBatchRequestBody>(&cmd.body).unwrap(),
            body
        );
        let reply = RemotingCommand::success()
            .with_body(&br#"{"lockOKMQSet":[{"brokerName":"b","queueId":2,"topic":"T"}]}"#[..]);
        assert_eq!(
            LockBatchMq::decode_reply(reply).unwrap(),
            BTreeSet::from([MessageQueue::new("T", "b", 2)])
        );
        let refused = RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some("no".into()));
        assert_eq!(
            LockBatchMq::decode_reply(refused).unwrap_err().code(),
            Some(1)
        );
        let unlock = over_the_wire(&UnlockBatchMq(body).to_command());
        assert_eq!(unlock.code, 42);
        assert!(UnlockBatchMq::decode_reply(RemotingCommand::success()).is_ok());
    }
}
