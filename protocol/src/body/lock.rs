//! Queue-lock bodies of ordered consumption: LOCK_BATCH_MQ (41) asks a broker to lock a
//! set of queues for one client of a consumer group and is answered with the subset
//! granted; UNLOCK_BATCH_MQ (42) gives queues back (always SUCCESS, no body).
//!
//! ```text
//! request  {"clientId":"cid","consumerGroup":"CG","mqSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}
//! answer   {"lockOKMQSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}
//! ```
//!
//! RocketMQ 4.9 has exactly these fields; 5.x adds `onlyThisBroker` (false unless a proxy
//! sets it), which is read when present and written only when true.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::MessageQueue;

/// LOCK_BATCH_MQ request body: lock `mq_set` for `client_id` of `consumer_group`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub consumer_group: String,
    #[serde(default)]
    pub mq_set: BTreeSet<MessageQueue>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_this_broker: bool,
}

/// UNLOCK_BATCH_MQ request body: the same fields as a lock request (Java declares a twin
/// class, UnlockBatchRequestBody; whether the request is oneway is the sender's choice,
/// not a body field).
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// LOCK_BATCH_MQ answer body: the queues now locked by the requesting client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", default)]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_body, encode_body};

    #[test]
    fn rocketmq_shapes() {
        let body = LockBatchRequestBody {
            client_id: "127.0.0.1@a".into(),
            consumer_group: "CG".into(),
            mq_set: [
                MessageQueue::new("T", "b", 1),
                MessageQueue::new("T", "b", 0),
            ]
            .into(),
            only_this_broker: false,
        };
        let json = encode_body(&body);
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"clientId":"127.0.0.1@a","consumerGroup":"CG","mqSet":[{"brokerName":"b","queueId":0,"topic":"T"},{"brokerName":"b","queueId":1,"topic":"T"}]}"#
        );
        assert_eq!(decode_body::<LockBatchRequestBody>(&json).unwrap(), body);
        // A 5.x client's body, fields in any order.
        let v5: UnlockBatchRequestBody = decode_body(
            br#"{"mqSet":[{"topic":"T","brokerName":"b","queueId":3}],"onlyThisBroker":true,"consumerGroup":"CG","clientId":"c"}"#,
        )
        .unwrap();
        assert!(v5.only_this_broker);
        assert_eq!(v5.mq_set.len(), 1);
        let answer: LockBatchResponseBody =
            decode_body(br#"{"lockOKMQSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}"#)
                .unwrap();
        assert!(answer
            .lock_ok_mq_set
            .contains(&MessageQueue::new("T", "b", 0)));
        let empty: LockBatchResponseBody = decode_body(b"{}").unwrap();
        assert!(empty.lock_ok_mq_set.is_empty());
    }
}
