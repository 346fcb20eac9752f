//! REGISTER_BROKER body (RegisterBrokerBody) and the topic configuration it carries.
//!
//! ```json
//! {"filterServerList":[],"topicConfigSerializeWrapper":{
//!   "dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},
//!   "topicConfigTable":{"T":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,
//!     "topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A broker's registration payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    #[serde(default)]
    pub filter_server_list: Vec<String>,
    #[serde(default)]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

/// Topic configs plus the data version they were taken at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default)]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
}

/// Version stamp of a broker's metadata; bumped on every change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    #[serde(default)]
    pub counter: i64,
    #[serde(default)]
    pub state_version: i64,
    #[serde(default)]
    pub timestamp: i64,
}

impl DataVersion {
    /// A new version stamped now.
    pub fn now() -> Self {
        DataVersion {
            counter: 0,
            state_version: 0,
            timestamp: crate::time::now_millis(),
        }
    }

    /// Bumps the counter and the timestamp.
    pub fn next(&mut self) {
        self.counter += 1;
        self.timestamp = crate::time::now_millis();
    }
}

/// One topic's configuration on a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub order: bool,
    pub perm: i32,
    pub read_queue_nums: i32,
    #[serde(default = "single_tag")]
    pub topic_filter_type: String,
    pub topic_name: String,
    #[serde(default, alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

fn single_tag() -> String {
    "SINGLE_TAG".to_string()
}

impl TopicConfig {
    /// A read-write topic with `queues` read and write queues.
    pub fn new(name: &str, queues: i32) -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: crate::perm::PERM_READ | crate::perm::PERM_WRITE,
            read_queue_nums: queues,
            topic_filter_type: single_tag(),
            topic_name: name.to_string(),
            topic_sys_flag: 0,
            write_queue_nums: queues,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_body;

    #[test]
    fn parses_java_body() {
        let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},
 "topicConfigTable":{"T":{"topicName":"T","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false,"attributes":{}}}},"topicQueueMappingInfoMap":{}}"#;
        let b: RegisterBrokerBody = decode_body(body).unwrap();
        assert_eq!(b.topic_config_serialize_wrapper.data_version.counter, 3);
        assert_eq!(
            b.topic_config_serialize_wrapper.topic_config_table["T"],
            TopicConfig::new("T", 4)
        );
    }
}
