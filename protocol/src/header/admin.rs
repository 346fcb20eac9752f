//! Broker admin request headers: UPDATE_AND_CREATE_TOPIC (17), GET_BROKER_CONFIG (26),
//! GET_TOPIC_STATS_INFO (202), DELETE_SUBSCRIPTIONGROUP (207), DELETE_TOPIC_IN_BROKER (215).
//! GET_ALL_TOPIC_CONFIG, UPDATE_BROKER_CONFIG, GET_BROKER_RUNTIME_INFO and the GET_ALL_*
//! requests carry no header.

use crate::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC request.
    pub struct CreateTopicRequestHeader {
        "topic" => topic: required String,
        "defaultTopic" => default_topic: required String,
        "readQueueNums" => read_queue_nums: required i32,
        "writeQueueNums" => write_queue_nums: required i32,
        "perm" => perm: required i32,
        /// `SINGLE_TAG` or `MULTI_TAG`.
        "topicFilterType" => topic_filter_type: required String,
        "topicSysFlag" => topic_sys_flag: optional i32,
        "order" => order: required bool,
        "attributes" => attributes: optional String,
        "force" => force: optional bool,
    }
}

command_header! {
    /// Requests naming only a topic: DELETE_TOPIC_IN_BROKER, GET_TOPIC_STATS_INFO.
    pub struct TopicRequestHeader {
        "topic" => topic: required String,
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP request.
    pub struct DeleteSubscriptionGroupRequestHeader {
        "groupName" => group_name: required String,
        "cleanOffset" => clean_offset: optional bool,
    }
}

command_header! {
    /// GET_BROKER_CONFIG reply; the body is the configuration as `key=value` lines.
    pub struct GetBrokerConfigResponseHeader {
        "version" => version: optional String,
    }
}
