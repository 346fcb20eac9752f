//! A slave's copy of its master's metadata (RocketMQ's SlaveSynchronize): every
//! `slaveSyncInterval` it asks the master for GET_ALL_TOPIC_CONFIG, GET_ALL_CONSUMER_OFFSET,
//! GET_ALL_DELAY_OFFSET and GET_ALL_SUBSCRIPTIONGROUP_CONFIG and keeps what it gets, so that
//! consumers reading from the slave find their topics, groups and committed offsets, and
//! the delay progress survives the master.

use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::request::admin::{
    GetAllConsumerOffset, GetAllDelayOffset, GetAllSubscriptionGroups, GetAllTopicConfig,
};
use tracing::{debug, info, warn};

use super::slave::HaSlave;
use crate::broker::Broker;

/// Timeout of each request to the master.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Copies the master's metadata at start and then every `slaveSyncInterval`, until the
/// broker shuts down.
pub async fn run(b: Arc<Broker>, slave: Arc<HaSlave>) {
    let every = Duration::from_millis(b.config.slave_sync_interval.max(100));
    let mut tick = tokio::time::interval(every);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = b.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(master) = slave.master_remoting_addr() else {
            continue;
        };
        match sync_once(&b, &master).await {
            Ok(()) if failing => {
                info!(%master, "copying the master's metadata works again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if failing => debug!(%master, "copying the master's metadata failed: {e}"),
            Err(e) => {
                warn!(%master, "copying the master's metadata failed: {e}");
                failing = true;
            }
        }
    }
}

/// One round of copies; the first failure ends it.
pub async fn sync_once(b: &Arc<Broker>, master: &str) -> Result<(), String> {
    let call_failed = |what: &str| {
        let what = what.to_string();
        move |e: fennec_remoting::CallError| format!("{what} from {master}: {e}")
    };
    let topics = b
        .outbound
        .call(master, &GetAllTopicConfig, CALL_TIMEOUT)
        .await
        .map_err(call_failed("GET_ALL_TOPIC_CONFIG"))?;
    if b.topics.adopt(topics) {
        debug!(%master, "topics copied from the master");
    }
    let offsets = b
        .outbound
        .call(master, &GetAllConsumerOffset, CALL_TIMEOUT)
        .await
        .map_err(call_failed("GET_ALL_CONSUMER_OFFSET"))?;
    b.offsets.adopt(offsets);
    let delay = b
        .outbound
        .call(master, &GetAllDelayOffset, CALL_TIMEOUT)
        .await
        .map_err(call_failed("GET_ALL_DELAY_OFFSET"))?;
    let store = b.store.clone();
    tokio::task::spawn_blocking(move || store.adopt_delay_offsets(&delay))
        .await
        .map_err(|e| format!("keeping the delay offsets: {e}"))?
        .map_err(|e| format!("keeping the delay offsets: {}", e.with_cause()))?;
    let groups = b
        .outbound
        .call(master, &GetAllSubscriptionGroups, CALL_TIMEOUT)
        .await
        .map_err(call_failed("GET_ALL_SUBSCRIPTIONGROUP_CONFIG"))?;
    b.groups.adopt(groups);
    Ok(())
}
