//! [`OneBroker`]: a real nameserver and one broker (no proxy), with a connection for the
//! test's own requests straight to the broker: topics created and routed, queue lengths.

use fennec_remoting::RemotingClient;

use crate::broker_api::{create_topic, max_offset, wait_for_route};
use crate::cluster::{BrokerSpec, Cluster};

pub struct OneBroker {
    pub cluster: Cluster,
    /// Connections for the test's own requests.
    pub admin: RemotingClient,
}

impl OneBroker {
    /// A nameserver and one broker configured by `spec`.
    pub fn start(spec: BrokerSpec) -> OneBroker {
        OneBroker {
            cluster: Cluster::start(vec![spec]),
            admin: RemotingClient::default(),
        }
    }

    /// The nameserver address for clients.
    pub fn namesrv(&self) -> String {
        self.cluster.namesrv_addr()
    }

    /// The broker's address (it changes when the broker restarts).
    pub fn broker(&self) -> String {
        self.cluster.brokers[0].addr()
    }

    /// Creates `topic` with `queues` queues and waits until the nameserver routes it.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        create_topic(&self.admin, &self.broker(), topic, queues).await;
        wait_for_route(&self.admin, &self.namesrv(), topic, queues).await;
    }

    /// The max offset (messages stored) of queue 0 of `topic`.
    pub async fn length(&self, topic: &str) -> i64 {
        max_offset(&self.admin, &self.broker(), topic, 0).await
    }
}
