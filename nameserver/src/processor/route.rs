//! Route requests: GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO,
//! GET_ALL_TOPIC_LIST_FROM_NAMESERVER, DELETE_TOPIC_IN_NAMESRV, GET_TOPICS_BY_CLUSTER and
//! REGISTER_TOPIC_IN_NAMESRV.
//!
//! Routes and cluster info hold maps keyed by broker id. Clients of version 4.9.4 (401) and
//! newer, and any client that sets `acceptStandardJsonOnly=true`, get standard JSON with quoted
//! keys (`"brokerAddrs":{"0":"10.0.0.2:10911"}`); older clients get fastjson's unquoted form
//! (`"brokerAddrs":{0:"10.0.0.2:10911"}`), which the C++ client and ali-ons rely on.

use fennec_protocol::body::{BrokerData, ClusterInfo, TopicRouteData};
use fennec_protocol::header::{
    DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader,
    GetTopicsByClusterRequestHeader, RegisterTopicRequestHeader,
};
use fennec_protocol::{decode_body, encode_body, fastjson};
use fennec_remoting::RemotingCommand;
use serde::Serialize;
use tracing::debug;

use super::NamesrvProcessor;
use crate::error::NamesrvError;
use crate::kv_config::ORDER_TOPIC_CONFIG;

/// Version ordinal of RocketMQ 4.9.4, the first client that reads standard JSON routes.
const V4_9_4: i32 = 401;

impl NamesrvProcessor {
    pub(super) fn route_by_topic(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: GetRouteInfoRequestHeader = request.decode_header()?;
        let Some(mut route) = self.route.topic_route(&header.topic) else {
            return Err(NamesrvError::TopicNotExist(header.topic));
        };
        if self.order_message_enable {
            route.order_topic_conf = self.kv.get(ORDER_TOPIC_CONFIG, &header.topic);
        }
        let standard = wants_standard_json(request.version, header.accept_standard_json_only);
        debug!(
            topic = %header.topic, version = request.version, standard_json = standard,
            brokers = route.broker_datas.len(), "route served"
        );
        Ok(RemotingCommand::success().with_body(route_body(&route, standard)))
    }

    pub(super) fn cluster_info(&self, request: &RemotingCommand) -> RemotingCommand {
        let info = self.route.cluster_info();
        let body = if wants_standard_json(request.version, None) {
            encode_body(&info).to_vec()
        } else {
            legacy_cluster_info(&info).into_bytes()
        };
        RemotingCommand::success().with_body(body)
    }

    pub(super) fn all_topic_list(&self) -> RemotingCommand {
        RemotingCommand::success().with_body(encode_body(&self.route.topic_list()))
    }

    pub(super) fn delete_topic(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
        let cluster = header.cluster_name.as_deref().filter(|c| !c.is_empty());
        self.route.delete_topic(&header.topic, cluster);
        Ok(RemotingCommand::success())
    }

    pub(super) fn topics_by_cluster(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: GetTopicsByClusterRequestHeader = request.decode_header()?;
        let topics = self.route.topics_by_cluster(&header.cluster);
        Ok(RemotingCommand::success().with_body(encode_body(&topics)))
    }

    /// Sets a topic's queues on registered brokers; the body is a TopicRouteData of which
    /// only `queueDatas` is used.
    pub(super) fn register_topic(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: RegisterTopicRequestHeader = request.decode_header()?;
        let route: TopicRouteData =
            decode_body(&request.body).map_err(|source| NamesrvError::Body {
                what: "REGISTER_TOPIC_IN_NAMESRV",
                source,
            })?;
        if !route.queue_datas.is_empty() {
            self.route
                .register_topic(&header.topic, route.queue_datas)?;
        }
        Ok(RemotingCommand::success())
    }
}

/// RocketMQ's rule: standard JSON for 4.9.4+ clients or on request.
fn wants_standard_json(version: i32, accept_standard_json_only: Option<bool>) -> bool {
    version >= V4_9_4 || accept_standard_json_only == Some(true)
}

/// A route as standard or legacy (unquoted broker-id keys) JSON. The only integer-keyed map
/// in a route is `brokerAddrs`; every other key is a field name or a `host:port`.
fn route_body(route: &TopicRouteData, standard: bool) -> Vec<u8> {
    if standard {
        encode_body(route).to_vec()
    } else {
        fastjson::to_legacy(&json_text(route)).into_bytes()
    }
}

/// ClusterInfo in fastjson's form: broker-id keys unquoted, broker-name keys quoted even when
/// a broker is named with digits only.
fn legacy_cluster_info(info: &ClusterInfo) -> String {
    let mut out = String::from(r#"{"brokerAddrTable":{"#);
    for (i, (name, group)) in info.broker_addr_table.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_text(name));
        out.push(':');
        out.push_str(&fastjson::to_legacy(&json_text::<BrokerData>(group)));
    }
    out.push_str(r#"},"clusterAddrTable":"#);
    out.push_str(&json_text(&info.cluster_addr_table));
    out.push('}');
    out
}

fn json_text<T: Serialize>(value: &T) -> String {
    String::from_utf8_lossy(&encode_body(value)).into_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fennec_protocol::body::QueueData;

    use super::*;

    fn group(name: &str) -> BrokerData {
        BrokerData {
            broker_addrs: BTreeMap::from([
                (0, "10.0.0.2:10911".into()),
                (1, "10.0.0.3:10911".into()),
            ]),
            broker_name: name.into(),
            cluster: "DefaultCluster".into(),
            enable_acting_master: false,
            zone_name: None,
        }
    }

    #[test]
    fn standard_json_rule() {
        assert!(wants_standard_json(401, None));
        assert!(wants_standard_json(479, Some(false)));
        assert!(!wants_standard_json(399, None));
        assert!(!wants_standard_json(399, Some(false)));
        assert!(wants_standard_json(399, Some(true)));
    }

    #[test]
    fn route_forms() {
        let route = TopicRouteData {
            broker_datas: vec![group("broker-a")],
            filter_server_table: BTreeMap::new(),
            order_topic_conf: Some("broker-a:4".into()),
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
        };
        let standard = String::from_utf8(route_body(&route, true)).unwrap();
        assert_eq!(
            standard,
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.2:10911","1":"10.0.0.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"orderTopicConf":"broker-a:4","queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        let legacy = String::from_utf8(route_body(&route, false)).unwrap();
        assert_eq!(
            legacy,
            standard.replace(r#""0":"#, "0:").replace(r#""1":"#, "1:")
        );
        assert_eq!(
            decode_body::<TopicRouteData>(legacy.as_bytes()).unwrap(),
            route
        );
    }

    #[test]
    fn legacy_cluster_info_keeps_broker_names_quoted() {
        let info = ClusterInfo {
            broker_addr_table: BTreeMap::from([
                ("7".to_string(), group("7")),
                ("broker-a".to_string(), group("broker-a")),
            ]),
            cluster_addr_table: BTreeMap::from([(
                "DefaultCluster".to_string(),
                BTreeSet::from(["7".to_string(), "broker-a".to_string()]),
            )]),
        };
        let legacy = legacy_cluster_info(&info);
        assert!(legacy.starts_with(
            r#"{"brokerAddrTable":{"7":{"brokerAddrs":{0:"10.0.0.2:10911",1:"10.0.0.3:10911"},"brokerName":"7","#
        ));
        assert!(legacy.ends_with(r#""clusterAddrTable":{"DefaultCluster":["7","broker-a"]}}"#));
        assert_eq!(decode_body::<ClusterInfo>(legacy.as_bytes()).unwrap(), info);
        let standard: ClusterInfo = decode_body(&encode_body(&info)).unwrap();
        assert_eq!(standard, info);
    }
}
