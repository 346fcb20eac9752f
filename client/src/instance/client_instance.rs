//! [`ClientInstance`]: what the producers and consumers of one client ID share. One remoting
//! client (so one connection per broker), the route cache, the registered producer groups and
//! consumers, the UNIQ_KEY generator, and the background timers (see [`super::timers`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fennec_protocol::body::{HeartbeatData, MessageQueue, ProducerData, TopicRouteData, MASTER_ID};
use fennec_protocol::header::UnregisterClientRequestHeader;
use fennec_protocol::message::msg_id::{random_u32, UniqIdGenerator};
use fennec_protocol::topic::AUTO_CREATE_TOPIC_KEY;
use fennec_remoting::RemotingClient;
use futures_util::future::join_all;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::member::{CheckerRef, MemberRef};
use super::processor::InstanceProcessor;
use super::routes::RouteTable;
use crate::api::Api;
use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::route::{default_topic_route, TopicPublishInfo};

/// Producers and consumers registered with an instance.
#[derive(Default)]
struct Members {
    /// Producer groups, with the checker of a transaction producer's group.
    producers: BTreeMap<String, Option<CheckerRef>>,
    consumers: BTreeMap<String, MemberRef>,
}

/// The shared client instance (RocketMQ's MQClientInstance).
pub(crate) struct ClientInstance {
    client_id: String,
    config: ClientConfig,
    namesrv: Vec<String>,
    /// The name server last answered by; requests start there.
    namesrv_index: AtomicUsize,
    api: Api<InstanceProcessor>,
    routes: Mutex<RouteTable>,
    /// Topics whose route is being fetched in the background.
    refreshing: Mutex<BTreeSet<String>>,
    members: Mutex<Members>,
    uniq_ids: UniqIdGenerator,
    rebalance_now: Notify,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .field("namesrv", &self.namesrv)
            .finish()
    }
}

impl ClientInstance {
    /// A new instance; its timers start with [`ClientInstance::start`].
    pub(crate) fn new(
        client_id: String,
        ip: IpAddr,
        config: ClientConfig,
        namesrv: Vec<String>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|weak| {
            let processor = Arc::new(InstanceProcessor::new(weak.clone()));
            let remoting_config = fennec_remoting::ClientConfig {
                connect_timeout: config.connect_timeout,
                tls: config.tls.clone(),
                hook: config.rpc_hook.clone(),
                ..Default::default()
            };
            let remoting = RemotingClient::new(processor, remoting_config);
            ClientInstance {
                client_id,
                api: Api::new(remoting, config.request_timeout, config.serialize_type),
                namesrv_index: AtomicUsize::new(random_u32() as usize % namesrv.len().max(1)),
                namesrv,
                config,
                routes: Mutex::new(RouteTable::default()),
                refreshing: Mutex::new(BTreeSet::new()),
                members: Mutex::new(Members::default()),
                uniq_ids: UniqIdGenerator::new(ip),
                rebalance_now: Notify::new(),
                token: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }
        })
    }

    /// Starts the timers.
    pub(crate) fn start(self: &Arc<Self>) {
        info!(client_id = %self.client_id, namesrv = ?self.namesrv, "client instance started");
        super::timers::spawn(self);
    }

    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn api(&self) -> &Api<InstanceProcessor> {
        &self.api
    }

    /// A fresh UNIQ_KEY.
    pub(crate) fn next_uniq_id(&self) -> String {
        self.uniq_ids.next_id()
    }

    /// Runs `fut` in the background until the instance shuts down.
    pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        let token = self.token.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = fut => {}
            }
        });
    }

    // ----- routes -----

    /// Asks a name server for the route of `topic`, trying each in turn on transport errors.
    async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>, ClientError> {
        let n = self.namesrv.len();
        let start = self.namesrv_index.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let idx = (start + i) % n;
            match self.api.route(&self.namesrv[idx], topic).await {
                Ok(route) => {
                    self.namesrv_index.store(idx, Ordering::Relaxed);
                    return Ok(route);
                }
                Err(e @ ClientError::Remoting(_)) => {
                    debug!(namesrv = %self.namesrv[idx], "route request failed: {e}");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Config("no name server address".into())))
    }

    /// Fetches the route of `topic` and caches it. `Ok(false)`: the topic does not exist
    /// (any route held so far is kept).
    pub(crate) async fn update_route(&self, topic: &str) -> Result<bool, ClientError> {
        match self.fetch_route(topic).await? {
            Some(route) => {
                if self.routes.lock().update(topic, route) {
                    info!(%topic, "topic route changed");
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Caches for `topic` the route of `TBW102`, with at most `queue_nums` queues per broker,
    /// so that the first send makes the broker create the topic. `Ok(false)` when there is no
    /// `TBW102` either.
    pub(crate) async fn update_route_from_default(
        &self,
        topic: &str,
        queue_nums: i32,
    ) -> Result<bool, ClientError> {
        match self.fetch_route(AUTO_CREATE_TOPIC_KEY).await? {
            Some(template) => {
                let route = default_topic_route(&template, queue_nums);
                if self.routes.lock().update(topic, route) {
                    info!(%topic, "no route yet; using the route of {AUTO_CREATE_TOPIC_KEY}");
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Fetches the route of `topic` in the background (after a failed send), unless a
    /// fetch for it is already under way.
    pub(crate) fn refresh_route_soon(self: &Arc<Self>, topic: &str) {
        if !self.refreshing.lock().insert(topic.to_string()) {
            return;
        }
        let instance = self.clone();
        let topic = topic.to_string();
        self.spawn(async move {
            if let Err(e) = instance.update_route(&topic).await {
                debug!(%topic, "route refresh failed: {e}");
            }
            instance.refreshing.lock().remove(&topic);
        });
    }

    /// Refreshes the route of every topic in use.
    pub(crate) async fn update_all_routes(&self) {
        let mut topics: BTreeSet<String> = self.routes.lock().topics().into_iter().collect();
        for c in self.consumers() {
            topics.extend(c.topics());
        }
        for topic in topics {
            if let Err(e) = self.update_route(&topic).await {
                debug!(%topic, "route refresh failed: {e}");
            }
        }
    }

    pub(crate) fn publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.routes.lock().publish_info(topic)
    }

    pub(crate) fn subscribe_queues(&self, topic: &str) -> Option<Vec<MessageQueue>> {
        self.routes.lock().subscribe_queues(topic)
    }

    /// The master address of broker group `broker_name`, if the routes know it.
    pub(crate) fn known_master_addr(&self, broker_name: &str) -> Option<String> {
        self.routes.lock().master_addr(broker_name)
    }

    /// The master of `mq`'s broker, refreshing the route of `mq`'s topic once if unknown.
    pub(crate) async fn master_addr(&self, mq: &MessageQueue) -> Result<String, ClientError> {
        self.group_addr(mq, RouteTable::master_addr).await
    }

    /// Where to read `mq`'s offsets and bounds: its master, or a slave while the route lists
    /// no master (RocketMQ's clients fall back the same way).
    pub(crate) async fn read_addr(&self, mq: &MessageQueue) -> Result<String, ClientError> {
        self.group_addr(mq, RouteTable::read_addr).await
    }

    /// The master of `mq`'s broker group when the routes know it; else, after refreshing the
    /// route of `mq`'s topic once, what `pick` finds for the group.
    async fn group_addr(
        &self,
        mq: &MessageQueue,
        pick: fn(&RouteTable, &str) -> Option<String>,
    ) -> Result<String, ClientError> {
        if let Some(addr) = self.routes.lock().master_addr(&mq.broker_name) {
            return Ok(addr);
        }
        if let Err(e) = self.update_route(&mq.topic).await {
            debug!(topic = %mq.topic, "route refresh failed: {e}");
        }
        pick(&self.routes.lock(), &mq.broker_name).ok_or_else(|| ClientError::BrokerNotFound {
            broker_name: mq.broker_name.clone(),
        })
    }

    /// The id of a slave of `broker_name`, if its route lists one.
    pub(crate) fn slave_id(&self, broker_name: &str) -> Option<i64> {
        self.routes.lock().slave_id(broker_name)
    }

    /// The address to pull `mq` from (broker `id` when known), with whether it is a slave.
    pub(crate) fn broker_addr(&self, broker_name: &str, id: i64) -> Option<(String, bool)> {
        self.routes.lock().broker_addr(broker_name, id)
    }

    /// Some broker hosting `topic`.
    pub(crate) fn any_broker_addr(&self, topic: &str) -> Option<String> {
        self.routes.lock().any_broker_addr(topic)
    }

    // ----- members -----

    /// Registers a producer group, with the checker that answers the brokers' transaction
    /// checks for a transaction producer; a group may be registered once per instance.
    pub(crate) fn register_producer(
        &self,
        group: &str,
        checker: Option<CheckerRef>,
    ) -> Result<(), ClientError> {
        let mut m = self.members.lock();
        if m.producers.contains_key(group) {
            return Err(ClientError::Config(format!(
                "producer group {group} is already running in client {}",
                self.client_id
            )));
        }
        m.producers.insert(group.to_string(), checker);
        Ok(())
    }

    /// The checker of transaction producer group `group`, if this instance runs one.
    pub(crate) fn transaction_checker(&self, group: &str) -> Option<CheckerRef> {
        self.members.lock().producers.get(group).cloned().flatten()
    }

    pub(crate) fn unregister_producer(&self, group: &str) {
        self.members.lock().producers.remove(group);
    }

    /// Registers a consumer; a group may be registered once per instance.
    pub(crate) fn register_consumer(&self, group: &str, c: MemberRef) -> Result<(), ClientError> {
        let mut m = self.members.lock();
        if m.consumers.contains_key(group) {
            return Err(ClientError::Config(format!(
                "consumer group {group} is already running in client {}",
                self.client_id
            )));
        }
        m.consumers.insert(group.to_string(), c);
        Ok(())
    }

    pub(crate) fn unregister_consumer(&self, group: &str) {
        self.members.lock().consumers.remove(group);
    }

    pub(crate) fn consumer(&self, group: &str) -> Option<MemberRef> {
        self.members.lock().consumers.get(group).cloned()
    }

    fn consumers(&self) -> Vec<MemberRef> {
        self.members.lock().consumers.values().cloned().collect()
    }

    // ----- heartbeats and unregistration -----

    /// The HEART_BEAT body: every producer group and consumer of the instance.
    pub(crate) fn heartbeat_data(&self) -> HeartbeatData {
        let m = self.members.lock();
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: m.consumers.values().map(|c| c.consumer_data()).collect(),
            heartbeat_fingerprint: 0,
            producer_data_set: m
                .producers
                .keys()
                .map(|g| ProducerData {
                    group_name: g.clone(),
                })
                .collect(),
            without_sub: false,
        }
    }

    /// Sends a heartbeat to every known broker: masters only when the instance has no
    /// consumer, since only consumers may read from slaves.
    pub(crate) async fn heartbeat_all(&self) {
        let data = self.heartbeat_data();
        if data.producer_data_set.is_empty() && data.consumer_data_set.is_empty() {
            return;
        }
        let with_slaves = !data.consumer_data_set.is_empty();
        let brokers = self.routes.lock().all_brokers();
        let sends = brokers
            .iter()
            .filter(|(_, id, _)| with_slaves || *id == MASTER_ID)
            .map(|(name, _, addr)| {
                let data = &data;
                async move {
                    if let Err(e) = self.api.heartbeat(addr, data).await {
                        warn!(broker = %name, %addr, "heartbeat failed: {e}");
                    }
                }
            });
        join_all(sends).await;
    }

    /// Tells every known broker that this client left `producer_group` / `consumer_group`.
    pub(crate) async fn unregister_client(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_string),
            consumer_group: consumer_group.map(str::to_string),
        };
        let brokers = self.routes.lock().all_brokers();
        let sends = brokers.iter().map(|(name, _, addr)| {
            let header = &header;
            async move {
                if let Err(e) = self.api.unregister_client(addr, header).await {
                    debug!(broker = %name, %addr, "unregister failed: {e}");
                }
            }
        });
        join_all(sends).await;
    }

    // ----- consumer timers -----

    /// Wakes the rebalance timer at once (NOTIFY_CONSUMER_IDS_CHANGED, new subscriptions).
    pub(crate) fn rebalance_now(&self) {
        self.rebalance_now.notify_one();
    }

    pub(crate) async fn rebalance_requested(&self) {
        self.rebalance_now.notified().await
    }

    pub(crate) async fn rebalance_all(&self) {
        for c in self.consumers() {
            c.rebalance().await;
        }
    }

    /// Tells every consumer that the connection to the broker at `addr` closed.
    pub(crate) fn connection_closed(self: &Arc<Self>, addr: String) {
        let instance = self.clone();
        self.spawn(async move {
            for c in instance.consumers() {
                c.connection_closed(&addr).await;
            }
        });
    }

    pub(crate) async fn persist_all_offsets(&self) {
        for c in self.consumers() {
            c.persist_offsets().await;
        }
    }

    /// Stops the timers and closes every connection.
    pub(crate) async fn shutdown(&self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        self.api.remoting().shutdown().await;
        info!(client_id = %self.client_id, "client instance stopped");
    }
}
