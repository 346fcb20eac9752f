//! Broker administration: topics, broker configuration and runtime info, subscription groups,
//! consume statistics, consumer and producer connections and offset resets.

use super::namesrv::{bare_requests, properties_text};
use super::{done, header_requests, reply_body, success, with_header, ReplyError, Request};
use crate::body::{
    ConsumeStats, ConsumerConnection, ConsumerOffsetWrapper, DelayOffsetTable, KvTable,
    ProducerConnection, ResetOffsetBody, SubscriptionGroupConfig, SubscriptionGroupWrapper,
    TopicConfigSerializeWrapper, TopicStatsTable,
};
use crate::decode_body;
use crate::encode_body;
use crate::header::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetConsumeStatsRequestHeader, GetProducerConnectionListRequestHeader, ResetOffsetRequestHeader,
    TopicRequestHeader,
};
use crate::{RemotingCommand, RequestCode, ResponseCode};

header_requests! {
    CreateTopicRequestHeader => UPDATE_AND_CREATE_TOPIC, (), done;
    GetConsumeStatsRequestHeader => GET_CONSUME_STATS, ConsumeStats, |r| reply_body(r, "ConsumeStats");
    DeleteSubscriptionGroupRequestHeader => DELETE_SUBSCRIPTIONGROUP, (), done;
    // A group without producers on the broker answers SYSTEM_ERROR ("not exist"), as in
    // RocketMQ.
    GetProducerConnectionListRequestHeader => GET_PRODUCER_CONNECTION_LIST, ProducerConnection, |r| reply_body(r, "ProducerConnection");
    // The broker computes the offsets for the timestamp and pushes them to the group's
    // online consumers; the answer lists them.
    ResetOffsetRequestHeader => INVOKE_BROKER_TO_RESET_OFFSET, ResetOffsetBody, |r: RemotingCommand| {
        let r = success(r)?;
        if r.body.is_empty() {
            return Ok(ResetOffsetBody::default());
        }
        decode_body(&r.body).map_err(|source| ReplyError::Body { what: "ResetOffsetBody", source })
    };
}

bare_requests! {
    /// GET_BROKER_RUNTIME_INFO: the broker's statistics table.
    GetBrokerRuntimeInfo => GET_BROKER_RUNTIME_INFO, KvTable, |r| reply_body(r, "KVTable");
    /// GET_BROKER_CONFIG: the configuration as `key=value` lines.
    GetBrokerConfig => GET_BROKER_CONFIG, String, properties_text;
    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
    GetAllSubscriptionGroups => GET_ALL_SUBSCRIPTIONGROUP_CONFIG, SubscriptionGroupWrapper, |r| reply_body(r, "SubscriptionGroupWrapper");
    /// GET_ALL_TOPIC_CONFIG.
    GetAllTopicConfig => GET_ALL_TOPIC_CONFIG, TopicConfigSerializeWrapper, |r| reply_body(r, "TopicConfigSerializeWrapper");
    /// GET_ALL_DELAY_OFFSET: per delay level, the next SCHEDULE_TOPIC_XXXX offset to deliver.
    GetAllDelayOffset => GET_ALL_DELAY_OFFSET, DelayOffsetTable, |r| reply_body(r, "delay offset table");
    /// GET_ALL_CONSUMER_OFFSET: every group's committed offsets (a slave copies them).
    GetAllConsumerOffset => GET_ALL_CONSUMER_OFFSET, ConsumerOffsetWrapper, |r| reply_body(r, "ConsumerOffsetSerializeWrapper");
}

/// Declares requests whose only field is a topic (they share [`TopicRequestHeader`]).
macro_rules! topic_requests {
    ($($(#[$meta:meta])* $name:ident => $code:ident, $reply:ty, $decode:expr;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            pub topic: String,
        }

        impl Request for $name {
            const CODE: RequestCode = RequestCode::$code;
            type Reply = $reply;
            fn to_command(&self) -> RemotingCommand {
                with_header(Self::CODE, &TopicRequestHeader { topic: self.topic.clone() })
            }
            fn decode_reply(reply: RemotingCommand) -> Result<$reply, ReplyError> {
                ($decode)(reply)
            }
        }
    )*};
}

topic_requests! {
    /// DELETE_TOPIC_IN_BROKER.
    DeleteTopicInBroker => DELETE_TOPIC_IN_BROKER, (), done;
    /// GET_TOPIC_STATS_INFO: every queue's offsets.
    GetTopicStats => GET_TOPIC_STATS_INFO, TopicStatsTable, |r| reply_body(r, "TopicStatsTable");
}

/// UPDATE_BROKER_CONFIG: `key=value` lines to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateBrokerConfig {
    pub properties: String,
}

impl Request for UpdateBrokerConfig {
    const CODE: RequestCode = RequestCode::UPDATE_BROKER_CONFIG;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        RemotingCommand::request(Self::CODE).with_body(self.properties.clone())
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSubscriptionGroup(pub SubscriptionGroupConfig);

impl Request for CreateSubscriptionGroup {
    const CODE: RequestCode = RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        RemotingCommand::request(Self::CODE).with_body(encode_body(&self.0))
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

/// GET_CONSUMER_CONNECTION_LIST; `None` when the group has no online consumer there
/// (CONSUMER_NOT_ONLINE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetConsumerConnections {
    pub group: String,
}

impl Request for GetConsumerConnections {
    const CODE: RequestCode = RequestCode::GET_CONSUMER_CONNECTION_LIST;
    type Reply = Option<ConsumerConnection>;
    fn to_command(&self) -> RemotingCommand {
        with_header(
            Self::CODE,
            &ConsumerGroupRequestHeader {
                consumer_group: self.group.clone(),
            },
        )
    }
    fn decode_reply(reply: RemotingCommand) -> Result<Option<ConsumerConnection>, ReplyError> {
        if reply.code == i32::from(ResponseCode::CONSUMER_NOT_ONLINE) {
            return Ok(None);
        }
        reply_body(reply, "ConsumerConnection").map(Some)
    }
}
