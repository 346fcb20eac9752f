//! TopicRouteData: the GET_ROUTEINFO_BY_TOPIC answer.
//!
//! ```json
//! {"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.2:10911"},"brokerName":"broker-a",
//!   "cluster":"DefaultCluster","enableActingMaster":false}],
//!  "filterServerTable":{},
//!  "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Broker id of a master.
pub const MASTER_ID: i64 = 0;

/// Route of one topic: which brokers hold it and with how many queues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    #[serde(default)]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `"broker-a:4;broker-b:4"` for ordered topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
}

/// One broker group (a master and its slaves).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    /// brokerId to address; 0 is the master.
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    #[serde(default)]
    pub cluster: String,
    /// Always written: the rocketmq-rust client fails without it.
    #[serde(default)]
    pub enable_acting_master: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// The master's address, if a master is registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }

    /// The master's address, or else the lowest-id slave's (for reads when the master is
    /// down).
    pub fn any_addr(&self) -> Option<&str> {
        self.master_addr()
            .or_else(|| self.broker_addrs.values().next().map(String::as_str))
    }
}

/// Queues of a topic on one broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    pub broker_name: String,
    pub perm: i32,
    pub read_queue_nums: i32,
    /// Spelled `topicSynFlag` before 4.9.0; both are accepted.
    #[serde(default, alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_body, fastjson};

    #[test]
    fn standard_and_legacy_forms() {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([
                    (0, "10.0.0.2:10911".into()),
                    (1, "10.0.0.3:10911".into()),
                ]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                enable_acting_master: false,
                zone_name: None,
            }],
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
        };
        let standard = serde_json::to_string(&route).unwrap();
        assert_eq!(
            standard,
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.2:10911","1":"10.0.0.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        let legacy = fastjson::to_legacy(&standard);
        assert!(legacy.contains(r#"{0:"10.0.0.2:10911",1:"10.0.0.3:10911"}"#));
        assert_eq!(
            decode_body::<TopicRouteData>(legacy.as_bytes()).unwrap(),
            route
        );
        assert_eq!(
            decode_body::<TopicRouteData>(standard.as_bytes()).unwrap(),
            route
        );
    }

    #[test]
    fn accepts_old_flag_spelling() {
        let q: QueueData = decode_body(
            br#"{"brokerName":"b","perm":6,"readQueueNums":1,"writeQueueNums":1,"topicSynFlag":3}"#,
        )
        .unwrap();
        assert_eq!(q.topic_sys_flag, 3);
    }
}
