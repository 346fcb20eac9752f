//! Headers of client management and broker-to-client requests: UNREGISTER_CLIENT (35),
//! GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! GET_CONSUME_STATS (208), RESET_CONSUMER_CLIENT_OFFSET (220),
//! GET_CONSUMER_STATUS_FROM_CLIENT (221), INVOKE_BROKER_TO_RESET_OFFSET (222),
//! GET_CONSUMER_RUNNING_INFO (307), CONSUME_MESSAGE_DIRECTLY (309).
//! HEART_BEAT, LOCK_BATCH_MQ and UNLOCK_BATCH_MQ carry only a JSON body.

use crate::command_header;

command_header! {
    /// UNREGISTER_CLIENT request.
    pub struct UnregisterClientRequestHeader {
        "clientID" => client_id: required String,
        "producerGroup" => producer_group: optional String,
        "consumerGroup" => consumer_group: optional String,
    }
}

command_header! {
    /// Requests naming only a consumer group: GET_CONSUMER_LIST_BY_GROUP,
    /// NOTIFY_CONSUMER_IDS_CHANGED, GET_CONSUMER_CONNECTION_LIST.
    pub struct ConsumerGroupRequestHeader {
        "consumerGroup" => consumer_group: required String,
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST request.
    pub struct GetProducerConnectionListRequestHeader {
        "producerGroup" => producer_group: required String,
    }
}

command_header! {
    /// GET_CONSUME_STATS request; without `topic` every subscribed topic is reported.
    pub struct GetConsumeStatsRequestHeader {
        "consumerGroup" => consumer_group: required String,
        "topic" => topic: optional String,
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (admin to broker) and RESET_CONSUMER_CLIENT_OFFSET
    /// (broker to client).
    pub struct ResetOffsetRequestHeader {
        "topic" => topic: required String,
        "group" => group: required String,
        "timestamp" => timestamp: required i64,
        "isForce" => is_force: required bool,
        "queueId" => queue_id: optional i32,
        "offset" => offset: optional i64,
    }
}

command_header! {
    /// GET_CONSUMER_STATUS_FROM_CLIENT request.
    pub struct GetConsumerStatusRequestHeader {
        "topic" => topic: required String,
        "group" => group: required String,
        "clientAddr" => client_addr: optional String,
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO request.
    pub struct GetConsumerRunningInfoRequestHeader {
        "consumerGroup" => consumer_group: required String,
        "clientId" => client_id: required String,
        "jstackEnable" => jstack_enable: optional bool,
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY request.
    pub struct ConsumeMessageDirectlyRequestHeader {
        "consumerGroup" => consumer_group: required String,
        "clientId" => client_id: optional String,
        "msgId" => msg_id: optional String,
        "brokerName" => broker_name: optional String,
        "topic" => topic: optional String,
    }
}
