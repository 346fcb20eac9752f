//! Subscription group configuration (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body,
//! `config/subscriptionGroup.json`, GET_ALL_SUBSCRIPTIONGROUP_CONFIG).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DataVersion;

/// One consumer group's settings on a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub group_name: String,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            group_name: String::new(),
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl SubscriptionGroupConfig {
    /// RocketMQ's defaults for a group named `name`.
    pub fn named(name: &str) -> Self {
        SubscriptionGroupConfig {
            group_name: name.to_string(),
            ..Default::default()
        }
    }
}

/// `{"subscriptionGroupTable":{g:SubscriptionGroupConfig},"forbiddenTable":{},"dataVersion":{}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default)]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    #[serde(default)]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// `{"offsetTable":{"topic@group":{queueId:offset}}}` (consumerOffset.json,
/// GET_ALL_CONSUMER_OFFSET).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOffsetWrapper {
    #[serde(default)]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// `{"offsetTable":{level:offset}}` (`config/delayOffset.json`, GET_ALL_DELAY_OFFSET): per
/// delay level, the next SCHEDULE_TOPIC_XXXX queue offset (queue = level - 1) to deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsetTable {
    #[serde(default)]
    pub offset_table: BTreeMap<i32, i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_body;

    #[test]
    fn defaults_and_legacy_offsets() {
        let g: SubscriptionGroupConfig =
            decode_body(br#"{"groupName":"G","retryMaxTimes":3}"#).unwrap();
        assert_eq!(g.retry_max_times, 3);
        assert!(g.consume_enable && g.consume_from_min_enable);
        assert_eq!(g.retry_queue_nums, 1);
        let o: ConsumerOffsetWrapper =
            decode_body(br#"{"offsetTable":{"T@G":{0:12,1:40}}}"#).unwrap();
        assert_eq!(o.offset_table["T@G"][&1], 40);
        let d: DelayOffsetTable = decode_body(br#"{"offsetTable":{1:0,2:5}}"#).unwrap();
        assert_eq!(d.offset_table[&2], 5);
    }
}
