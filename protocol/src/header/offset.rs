//! Headers of the offset requests: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! GET_EARLIEST_MSG_STORETIME (32).

use crate::command_header;

command_header! {
    /// QUERY_CONSUMER_OFFSET request.
    pub struct QueryConsumerOffsetRequestHeader {
        "consumerGroup" => consumer_group: required String,
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
        "setZeroIfNotFound" => set_zero_if_not_found: optional bool,
    }
}

command_header! {
    /// Reply carrying one offset (QUERY_CONSUMER_OFFSET, GET_MAX/MIN_OFFSET, SEARCH_OFFSET).
    pub struct OffsetResponseHeader {
        "offset" => offset: required i64,
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET request.
    pub struct UpdateConsumerOffsetRequestHeader {
        "consumerGroup" => consumer_group: required String,
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
        "commitOffset" => commit_offset: required i64,
    }
}

command_header! {
    /// GET_MAX_OFFSET request.
    pub struct GetMaxOffsetRequestHeader {
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
        /// Default true: only offsets the dispatcher has committed.
        "committed" => committed: optional bool,
    }
}

command_header! {
    /// GET_MIN_OFFSET request.
    pub struct GetMinOffsetRequestHeader {
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP request.
    pub struct SearchOffsetRequestHeader {
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
        "timestamp" => timestamp: required i64,
        /// `LOWER` (default) or `UPPER`, any case.
        "boundaryType" => boundary_type: optional String,
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME request.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        "topic" => topic: required String,
        "queueId" => queue_id: required i32,
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME reply.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        "timestamp" => timestamp: required i64,
    }
}
