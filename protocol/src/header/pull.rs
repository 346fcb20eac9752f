//! Headers of PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).

use crate::command_header;

/// Pull sysFlag bit: store `commitOffset` as the group's offset.
pub const PULL_FLAG_COMMIT_OFFSET: i32 = 0x1;
/// Pull sysFlag bit: the broker may hold the request (long polling).
pub const PULL_FLAG_SUSPEND: i32 = 0x2;
/// Pull sysFlag bit: the `subscription` field is present and authoritative.
pub const PULL_FLAG_SUBSCRIPTION: i32 = 0x4;
/// Pull sysFlag bit: class filter mode.
pub const PULL_FLAG_CLASS_FILTER: i32 = 0x8;
/// Pull sysFlag bit: lite pull consumer.
pub const PULL_FLAG_LITE_PULL: i32 = 0x10;

command_header! {
    /// PULL_MESSAGE request.
    pub struct PullMessageRequestHeader {
        "consumerGroup" => consumer_group: required String,
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
        "queueOffset" => queue_offset: required i64,
        "maxMsgNums" => max_msg_nums: required i32,
        "sysFlag" => sys_flag: required i32,
        "commitOffset" => commit_offset: required i64,
        "suspendTimeoutMillis" => suspend_timeout_millis: required i64,
        "subscription" => subscription: optional String,
        "subVersion" => sub_version: required i64,
        /// `TAG` or `SQL92`.
        "expressionType" => expression_type: optional String,
        "maxMsgBytes" => max_msg_bytes: optional i32,
        "bname" => broker_name: optional String,
    }
}

command_header! {
    /// PULL_MESSAGE response.
    pub struct PullMessageResponseHeader {
        "suggestWhichBrokerId" => suggest_which_broker_id: required i64,
        "nextBeginOffset" => next_begin_offset: required i64,
        "minOffset" => min_offset: required i64,
        "maxOffset" => max_offset: required i64,
        "offsetDelta" => offset_delta: optional i64,
        "topicSysFlag" => topic_sys_flag: optional i32,
        "groupSysFlag" => group_sys_flag: optional i32,
        "forbiddenType" => forbidden_type: optional i32,
    }
}
