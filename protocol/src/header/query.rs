//! Headers of QUERY_MESSAGE (12), VIEW_MESSAGE_BY_ID (33) and QUERY_CONSUME_QUEUE (321).

use crate::command_header;

/// extField set on QUERY_MESSAGE when the key is a UNIQ_KEY.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

command_header! {
    /// QUERY_MESSAGE request: messages of `topic` indexed under `key` in a time range.
    pub struct QueryMessageRequestHeader {
        "topic" => topic: required String,
        "key" => key: required String,
        "maxNum" => max_num: required i32,
        "beginTimestamp" => begin_timestamp: required i64,
        "endTimestamp" => end_timestamp: required i64,
    }
}

command_header! {
    /// QUERY_MESSAGE reply.
    pub struct QueryMessageResponseHeader {
        "indexLastUpdateTimestamp" => index_last_update_timestamp: required i64,
        "indexLastUpdatePhyoffset" => index_last_update_phyoffset: required i64,
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID request: the record at a commit log offset.
    pub struct ViewMessageRequestHeader {
        "offset" => offset: required i64,
        "topic" => topic: optional String,
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE request: `count` consume-queue entries of a queue from `index`
    /// (admin tools; read whatever the topic's permission).
    pub struct QueryConsumeQueueRequestHeader {
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
        "index" => index: required i64,
        "count" => count: required i32,
        "consumerGroup" => consumer_group: optional String,
    }
}
