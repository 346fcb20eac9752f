//! Nameserver requests for tests: register a (fake) broker, ask for routes and cluster info.
//! Requests are the typed requests of `fennec-common`, as a broker or client sends them.

use std::time::Duration;

use fennec_protocol::body::{
    ClusterInfo, DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
    TopicRouteData,
};
use fennec_protocol::header::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use fennec_protocol::request::namesrv::{GetBrokerClusterInfo, RegisterBroker};
use fennec_protocol::request::Request;
use fennec_remoting::{RemotingClient, RemotingCommand};

/// Timeout of one request in tests.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A broker as the nameserver sees it: who it is and which topics it hosts.
#[derive(Debug, Clone)]
pub struct BrokerIdentity {
    pub cluster: String,
    pub name: String,
    pub id: i64,
    pub addr: String,
    /// Topic name and queue count.
    pub topics: Vec<(String, i32)>,
    /// dataVersion counter sent with the topics.
    pub version: i64,
}

impl BrokerIdentity {
    /// A master of `DefaultCluster`.
    pub fn master(name: &str, addr: &str, topics: &[(&str, i32)]) -> Self {
        BrokerIdentity {
            cluster: "DefaultCluster".to_string(),
            name: name.to_string(),
            id: 0,
            addr: addr.to_string(),
            topics: topics.iter().map(|(t, q)| (t.to_string(), *q)).collect(),
            version: 1,
        }
    }

    /// Its REGISTER_BROKER request (the typed request sets `bodyCrc32`).
    pub fn registration(&self) -> RegisterBroker {
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version: DataVersion {
                    counter: self.version,
                    state_version: 0,
                    timestamp: 1_700_000_000_000,
                },
                topic_config_table: self
                    .topics
                    .iter()
                    .map(|(t, q)| (t.clone(), TopicConfig::new(t, *q)))
                    .collect(),
            },
        };
        let header = RegisterBrokerRequestHeader {
            broker_name: self.name.clone(),
            broker_addr: self.addr.clone(),
            cluster_name: self.cluster.clone(),
            ha_server_addr: String::new(),
            broker_id: self.id,
            ..Default::default()
        };
        RegisterBroker { header, body }
    }

    /// The REGISTER_BROKER command, as it goes on the wire.
    pub fn register_request(&self) -> RemotingCommand {
        self.registration().to_command()
    }

    /// Registers over `client`'s connection to `namesrv`; panics unless it succeeds.
    pub async fn register(&self, client: &RemotingClient, namesrv: &str) {
        client
            .call(namesrv, &self.registration(), REQUEST_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("REGISTER_BROKER {} failed: {e}", self.name));
    }
}

fn route_header(topic: &str) -> GetRouteInfoRequestHeader {
    GetRouteInfoRequestHeader {
        topic: topic.to_string(),
        accept_standard_json_only: None,
    }
}

/// A GET_ROUTEINFO_BY_TOPIC command, for tests that look at the raw answer.
pub fn route_request(topic: &str) -> RemotingCommand {
    route_header(topic).to_command()
}

/// The route of `topic`, `None` on TOPIC_NOT_EXIST; panics on anything else.
pub async fn topic_route(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
) -> Option<TopicRouteData> {
    client
        .call(namesrv, &route_header(topic), REQUEST_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("GET_ROUTEINFO_BY_TOPIC {topic} failed: {e}"))
}

/// Names of the brokers hosting `topic` (sorted), empty when it has no route.
pub async fn route_brokers(client: &RemotingClient, namesrv: &str, topic: &str) -> Vec<String> {
    let mut names: Vec<String> = topic_route(client, namesrv, topic)
        .await
        .map(|r| r.queue_datas.into_iter().map(|q| q.broker_name).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// GET_BROKER_CLUSTER_INFO.
pub async fn cluster_info(client: &RemotingClient, namesrv: &str) -> ClusterInfo {
    client
        .call(namesrv, &GetBrokerClusterInfo, REQUEST_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("GET_BROKER_CLUSTER_INFO failed: {e}"))
}
