//! Nameserver request headers: PUT/GET/DELETE_KV_CONFIG (100-102), REGISTER_BROKER (103),
//! UNREGISTER_BROKER (104), GET_ROUTEINFO_BY_TOPIC (105), WIPE/ADD_WRITE_PERM_OF_BROKER
//! (205/327), DELETE_TOPIC_IN_NAMESRV (216), REGISTER_TOPIC_IN_NAMESRV (217),
//! GET_KVLIST_BY_NAMESPACE (219), GET_TOPICS_BY_CLUSTER (224), QUERY_DATA_VERSION (322),
//! BROKER_HEARTBEAT (904).

use crate::command_header;

command_header! {
    /// REGISTER_BROKER request; the body is a RegisterBrokerBody.
    pub struct RegisterBrokerRequestHeader {
        "brokerName" => broker_name: required String,
        "brokerAddr" => broker_addr: required String,
        "clusterName" => cluster_name: required String,
        "haServerAddr" => ha_server_addr: required String,
        "brokerId" => broker_id: required i64,
        "heartbeatTimeoutMillis" => heartbeat_timeout_millis: optional i64,
        "enableActingMaster" => enable_acting_master: optional bool,
        "compressed" => compressed: optional bool,
        /// CRC32 & 0x7FFFFFFF of the body; 0 = not checked.
        "bodyCrc32" => body_crc32: optional i32,
    }
}

command_header! {
    /// REGISTER_BROKER reply.
    pub struct RegisterBrokerResponseHeader {
        "haServerAddr" => ha_server_addr: optional String,
        "masterAddr" => master_addr: optional String,
    }
}

command_header! {
    /// UNREGISTER_BROKER request; QUERY_DATA_VERSION uses the same fields.
    pub struct UnregisterBrokerRequestHeader {
        "brokerName" => broker_name: required String,
        "brokerAddr" => broker_addr: required String,
        "clusterName" => cluster_name: required String,
        "brokerId" => broker_id: required i64,
    }
}

command_header! {
    /// QUERY_DATA_VERSION reply; the body is the nameserver's DataVersion of the broker.
    pub struct QueryDataVersionResponseHeader {
        "changed" => changed: required bool,
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC request.
    pub struct GetRouteInfoRequestHeader {
        "topic" => topic: required String,
        "acceptStandardJsonOnly" => accept_standard_json_only: optional bool,
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV request.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        "topic" => topic: required String,
        "clusterName" => cluster_name: optional String,
    }
}

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV request; the body is a TopicRouteData.
    pub struct RegisterTopicRequestHeader {
        "topic" => topic: required String,
    }
}

command_header! {
    /// PUT_KV_CONFIG request.
    pub struct PutKvConfigRequestHeader {
        "namespace" => namespace: required String,
        "key" => key: required String,
        "value" => value: required String,
    }
}

command_header! {
    /// GET_KV_CONFIG and DELETE_KV_CONFIG request.
    pub struct KvConfigKeyRequestHeader {
        "namespace" => namespace: required String,
        "key" => key: required String,
    }
}

command_header! {
    /// GET_KV_CONFIG reply.
    pub struct GetKvConfigResponseHeader {
        "value" => value: optional String,
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE request.
    pub struct GetKvListByNamespaceRequestHeader {
        "namespace" => namespace: required String,
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER and ADD_WRITE_PERM_OF_BROKER request.
    pub struct BrokerNameRequestHeader {
        "brokerName" => broker_name: required String,
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER reply.
    pub struct WipeWritePermResponseHeader {
        "wipeTopicCount" => wipe_topic_count: required i32,
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER reply.
    pub struct AddWritePermResponseHeader {
        "addTopicCount" => add_topic_count: required i32,
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER request.
    pub struct GetTopicsByClusterRequestHeader {
        "cluster" => cluster: required String,
    }
}

command_header! {
    /// BROKER_HEARTBEAT request (5.x controller mode).
    pub struct BrokerHeartbeatRequestHeader {
        "clusterName" => cluster_name: required String,
        "brokerAddr" => broker_addr: required String,
        "brokerName" => broker_name: required String,
        "brokerId" => broker_id: optional i64,
        "epoch" => epoch: optional i32,
        "maxOffset" => max_offset: optional i64,
        "confirmOffset" => confirm_offset: optional i64,
        "heartbeatTimeoutMills" => heartbeat_timeout_millis: optional i64,
        "electionPriority" => election_priority: optional i32,
    }
}
