//! [`ProxiedCluster`]: a real nameserver and brokers, each broker behind a [`FaultProxy`] of
//! its own, so SDK clients (which follow the routes) go through the proxies while the test
//! observes the brokers directly (queue lengths, committed offsets, group members), without
//! adding to the proxies' request logs.

use std::time::Duration;

use fennec_protocol::header::SendMessageRequestHeaderV2;
use fennec_remoting::{RemotingClient, RequestCode};

use crate::broker_api::{consumer_ids, create_topic, max_offset, query_offset, wait_for_route};
use crate::cluster::{BrokerSpec, Cluster};
use crate::poll::poll_for;
use crate::proxy::FaultProxy;

/// Longest [`ProxiedCluster::stored`] waits.
pub const WAIT: Duration = Duration::from_secs(30);

/// Brokers behind proxies; broker `i` is behind `proxies[i]`.
pub struct ProxiedCluster {
    pub cluster: Cluster,
    pub proxies: Vec<FaultProxy>,
    /// Connections for the test's own requests, straight to the brokers.
    pub admin: RemotingClient,
}

impl ProxiedCluster {
    /// A nameserver and one broker per name (in that order), each behind its own proxy.
    ///
    /// # Panics
    /// When a process does not start or a broker does not listen where its proxy forwards.
    pub fn start(names: &[&str]) -> ProxiedCluster {
        let proxies: Vec<FaultProxy> = names.iter().map(|_| FaultProxy::start()).collect();
        let specs = names
            .iter()
            .zip(&proxies)
            .map(|(name, proxy)| BrokerSpec::new(name).behind(proxy))
            .collect();
        let cluster = Cluster::start(specs);
        for (broker, proxy) in cluster.brokers.iter().zip(&proxies) {
            assert_eq!(
                broker.process.addr(),
                proxy.upstream(),
                "{} listens elsewhere",
                broker.spec.name
            );
        }
        ProxiedCluster {
            cluster,
            proxies,
            admin: RemotingClient::default(),
        }
    }

    /// The nameserver address for clients.
    pub fn namesrv(&self) -> String {
        self.cluster.namesrv_addr()
    }

    /// Broker `i`'s own address (not its proxy's).
    pub fn direct(&self, i: usize) -> String {
        self.cluster.brokers[i].addr()
    }

    /// Broker `i`'s name.
    pub fn name(&self, i: usize) -> &str {
        &self.cluster.brokers[i].spec.name
    }

    /// Creates `topic` with `queues` queues on each of `brokers`, then waits until the
    /// nameserver routes all of them.
    pub async fn create_topic(&self, topic: &str, queues: i32, brokers: &[usize]) {
        for &i in brokers {
            create_topic(&self.admin, &self.direct(i), topic, queues).await;
        }
        let total = queues * i32::try_from(brokers.len()).expect("a few brokers");
        wait_for_route(&self.admin, &self.namesrv(), topic, total).await;
    }

    /// The max offset of each of the first `queues` queues of `topic` on broker `i`.
    pub async fn queue_lengths(&self, i: usize, topic: &str, queues: i32) -> Vec<i64> {
        let mut lengths = Vec::new();
        for q in 0..queues {
            lengths.push(max_offset(&self.admin, &self.direct(i), topic, q).await);
        }
        lengths
    }

    /// [`ProxiedCluster::queue_lengths`] once they add up to `total`: a send is answered
    /// once the commit log has the message, the queues' max offsets follow with dispatch.
    pub async fn stored(&self, i: usize, topic: &str, queues: i32, total: i64) -> Vec<i64> {
        poll_for(
            &format!("{total} messages of {topic} dispatched on broker {i}"),
            WAIT,
            || async {
                let lengths = self.queue_lengths(i, topic, queues).await;
                (lengths.iter().sum::<i64>() == total).then_some(lengths)
            },
        )
        .await
    }

    /// `group`'s committed offset of one queue of `topic` on broker `i`.
    pub async fn committed(
        &self,
        i: usize,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Option<i64> {
        query_offset(&self.admin, &self.direct(i), group, topic, queue_id).await
    }

    /// The client ids of `group` on broker `i`.
    pub async fn members(&self, i: usize, group: &str) -> Vec<String> {
        consumer_ids(&self.admin, &self.direct(i), group).await
    }

    /// The headers of every SEND_MESSAGE_V2 for `topic` that reached proxy `i`.
    ///
    /// # Panics
    /// When a client sent a SEND_MESSAGE_V2 without a valid header.
    pub fn sends(&self, i: usize, topic: &str) -> Vec<SendMessageRequestHeaderV2> {
        self.proxies[i]
            .requests_of(RequestCode::SEND_MESSAGE_V2)
            .iter()
            .map(|r| {
                r.header::<SendMessageRequestHeaderV2>()
                    .unwrap_or_else(|e| panic!("a send with a bad header ({e}): {r:?}"))
            })
            .filter(|h| h.topic == topic)
            .collect()
    }
}
