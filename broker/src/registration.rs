//! Registration with the nameservers: REGISTER_BROKER to every nameserver at start, every
//! `registerNameServerPeriod` (clamped to 10-60 s) and whenever the topic table changes;
//! UNREGISTER_BROKER on graceful shutdown. A slave also registers when it looks for its
//! master, and takes the master's addresses from the answer. A broker that is not both readable and writable
//! registers every topic with its permission masked by the broker's (as RocketMQ does), so
//! clients stop sending to a read-only broker.

use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::RegisterBrokerBody;
use fennec_protocol::header::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use fennec_protocol::perm;
use fennec_protocol::request::namesrv::RegisterBroker;
use futures_util::future::join_all;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::broker::Broker;

fn period(b: &Broker) -> Duration {
    Duration::from_millis(b.config.register_name_server_period.clamp(10_000, 60_000))
}

fn timeout(b: &Broker) -> Duration {
    Duration::from_millis(b.config.register_broker_timeout_mills.max(1_000))
}

/// Registers with every nameserver at once; failures are logged and retried next period.
pub async fn register_all(b: &Broker) {
    let mut topics = b.topics.snapshot();
    let broker_perm = b.runtime.broker_permission();
    if !perm::is_readable(broker_perm) || !perm::is_writeable(broker_perm) {
        for t in topics.topic_config_table.values_mut() {
            t.perm &= broker_perm;
        }
    }
    let request = RegisterBroker {
        header: RegisterBrokerRequestHeader {
            broker_name: b.config.broker_name.clone(),
            broker_addr: b.broker_addr.clone(),
            cluster_name: b.config.broker_cluster_name.clone(),
            ha_server_addr: b.ha_addr.clone(),
            broker_id: b.config.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: Some(false),
            body_crc32: None,
        },
        body: RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: topics,
        },
    };
    let request = &request;
    let calls = b.config.namesrv_addrs().into_iter().map(|addr| async move {
        match b.outbound.call(&addr, request, timeout(b)).await {
            Ok(reply) => {
                debug!(namesrv = %addr, "registered");
                Some(reply)
            }
            Err(e) => {
                warn!(namesrv = %addr, "registration failed: {e}");
                None
            }
        }
    });
    let replies = join_all(calls).await;
    // A slave learns where its master is (RocketMQ's BrokerController does the same).
    if let Some(slave) = b.ha.slave() {
        let master = replies
            .into_iter()
            .flatten()
            .find(|r| r.master_addr.as_deref().is_some_and(|a| !a.is_empty()));
        match master {
            Some(r) => slave.set_master(r.ha_server_addr, r.master_addr),
            None => debug!("no nameserver knows this slave's master yet"),
        }
    }
}

/// Unregisters from every nameserver (graceful shutdown).
pub async fn unregister_all(b: &Broker) {
    let header = UnregisterBrokerRequestHeader {
        broker_name: b.config.broker_name.clone(),
        broker_addr: b.broker_addr.clone(),
        cluster_name: b.config.broker_cluster_name.clone(),
        broker_id: b.config.broker_id,
    };
    let header = &header;
    let calls = b.config.namesrv_addrs().into_iter().map(|addr| async move {
        match b.outbound.call(&addr, header, Duration::from_secs(3)).await {
            Ok(()) => info!(namesrv = %addr, "unregistered"),
            Err(e) => warn!(namesrv = %addr, "unregistration failed: {e}"),
        }
    });
    join_all(calls).await;
}

/// Registers every period and after every topic change `topics` reports, until shutdown.
/// The first registration happens when the broker opens; `topics` must be subscribed before
/// it, so that a change made before this task first runs is not taken as already seen.
pub async fn run(b: Arc<Broker>, mut topics: watch::Receiver<i64>) {
    if b.config.namesrv_addrs().is_empty() {
        warn!("no nameserver configured (namesrvAddr, -n or NAMESRV_ADDR): clients cannot find this broker");
        return;
    }
    loop {
        tokio::select! {
            _ = b.shutdown.cancelled() => return,
            _ = tokio::time::sleep(period(&b)) => {}
            _ = b.register_now.notified() => {}
            changed = topics.changed() => if changed.is_err() { return },
        }
        topics.mark_unchanged();
        register_all(&b).await;
    }
}
