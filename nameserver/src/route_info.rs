//! `RouteInfo`: the nameserver's routing tables (RocketMQ's RouteInfoManager), rebuilt from
//! broker registrations alone, so any number of nameservers can run side by side.
//!
//! * `topicQueueTable`: topic → brokerName → QueueData (the queues a master reported).
//! * `brokerAddrTable`: brokerName → BrokerData (cluster and brokerId → address).
//! * `clusterAddrTable`: cluster → brokerNames.
//! * `brokerLiveTable`: (cluster, brokerAddr) → last registration, heartbeat timeout, the
//!   broker's dataVersion and HA address, and the connection it registered over.
//!
//! A broker leaves every table when its connection closes, when it has not registered for its
//! heartbeat timeout, or when it unregisters. When a broker group loses its last address its
//! queues go from every topic, topics left without queues go, and the group leaves its
//! cluster. All tables sit behind one `RwLock`, never held across an `.await`.
//!
//! Not built: filter servers (the route's `filterServerTable` is always empty), slave acting
//! master (`enableActingMaster` is always false in answers) and static topics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use fennec_common::protocol::body::{
    BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfigSerializeWrapper, TopicList,
    TopicRouteData, MASTER_ID,
};
use fennec_common::protocol::perm::PERM_WRITE;
use fennec_common::remoting::Channel;
use parking_lot::RwLock;
use tracing::{info, warn};

/// The routing tables.
#[derive(Debug)]
pub struct RouteInfo {
    tables: RwLock<Tables>,
    /// Heartbeat timeout of brokers that do not send `heartbeatTimeoutMillis`.
    default_timeout: Duration,
}

#[derive(Debug, Default)]
struct Tables {
    topic_queue_table: HashMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: HashMap<BrokerAddrKey, BrokerLiveInfo>,
}

/// A broker address within a cluster: the key of `brokerLiveTable`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BrokerAddrKey {
    cluster: String,
    addr: String,
}

impl BrokerAddrKey {
    fn new(cluster: &str, addr: &str) -> Self {
        BrokerAddrKey {
            cluster: cluster.to_string(),
            addr: addr.to_string(),
        }
    }
}

#[derive(Debug)]
struct BrokerLiveInfo {
    broker_name: String,
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    channel: Channel,
    ha_server_addr: String,
}

/// One REGISTER_BROKER request.
#[derive(Debug)]
pub struct BrokerRegistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    /// `__ZONE_NAME`, shown in routes.
    pub zone_name: Option<String>,
    /// The broker's own heartbeat timeout, if it sent one.
    pub heartbeat_timeout: Option<Duration>,
    pub topic_config: TopicConfigSerializeWrapper,
    pub channel: Channel,
}

/// What a registering slave learns about its master.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

impl RouteInfo {
    pub fn new(default_timeout: Duration) -> Self {
        RouteInfo {
            tables: RwLock::new(Tables::default()),
            default_timeout,
        }
    }

    /// Records a registration (a broker's periodic heartbeat). Only a master updates queue
    /// data: fully when it registers first or its dataVersion changed (topics it no longer
    /// reports lose its queues), otherwise only for reported topics that lack its queues.
    pub fn register(&self, reg: BrokerRegistration, now: Instant) -> RegisterResult {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        t.cluster_addr_table
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut register_first = false;
        let group = t
            .broker_addr_table
            .entry(reg.broker_name.clone())
            .or_insert_with(|| {
                register_first = true;
                BrokerData {
                    broker_addrs: BTreeMap::new(),
                    broker_name: reg.broker_name.clone(),
                    cluster: reg.cluster_name.clone(),
                    enable_acting_master: false,
                    zone_name: None,
                }
            });
        if reg.zone_name.is_some() {
            group.zone_name.clone_from(&reg.zone_name);
        }
        // One address holds one id: a slave promoted to master re-registers as id 0.
        group
            .broker_addrs
            .retain(|id, addr| *id == reg.broker_id || *addr != reg.broker_addr);
        let old_addr = group
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= old_addr.is_none();
        let master_addr = group.master_addr().map(str::to_string);

        let key = BrokerAddrKey::new(&reg.cluster_name, &reg.broker_addr);
        let version = &reg.topic_config.data_version;
        if reg.broker_id == MASTER_ID {
            let version_changed = t
                .broker_live_table
                .get(&key)
                .is_none_or(|live| live.data_version != *version);
            t.update_queue_data(
                &reg.broker_name,
                &reg.topic_config,
                register_first || version_changed,
            );
        }

        let live = BrokerLiveInfo {
            broker_name: reg.broker_name.clone(),
            last_update: now,
            timeout: reg.heartbeat_timeout.unwrap_or(self.default_timeout),
            data_version: version.clone(),
            channel: reg.channel,
            ha_server_addr: reg.ha_server_addr,
        };
        if t.broker_live_table.insert(key, live).is_none() {
            info!(
                cluster = %reg.cluster_name, broker = %reg.broker_name, id = reg.broker_id,
                addr = %reg.broker_addr, "new broker registered"
            );
        }

        let mut result = RegisterResult::default();
        if reg.broker_id != MASTER_ID {
            if let Some(master) = master_addr {
                if let Some(live) = t
                    .broker_live_table
                    .get(&BrokerAddrKey::new(&reg.cluster_name, &master))
                {
                    result.ha_server_addr = Some(live.ha_server_addr.clone());
                    result.master_addr = Some(master);
                }
            }
        }
        result
    }

    /// Removes the broker at `addr` (UNREGISTER_BROKER). Returns whether it was registered.
    pub fn unregister(&self, cluster: &str, addr: &str, broker_name: &str) -> bool {
        let key = BrokerAddrKey::new(cluster, addr);
        let mut t = self.tables.write();
        let known = t.broker_live_table.remove(&key).is_some();
        t.remove_address(&key, broker_name);
        info!(
            cluster,
            broker = broker_name,
            addr,
            known,
            "broker unregistered"
        );
        known
    }

    /// Removes every broker that registered over `channel`, which has closed.
    pub fn on_channel_close(&self, channel: &Channel) {
        let mut t = self.tables.write();
        let keys: Vec<BrokerAddrKey> = t
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.channel == *channel)
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            if let Some(live) = t.broker_live_table.remove(&key) {
                t.remove_address(&key, &live.broker_name);
                info!(
                    cluster = %key.cluster, broker = %live.broker_name, addr = %key.addr,
                    "broker connection closed, broker removed"
                );
            }
        }
    }

    /// Removes brokers whose last registration is older than their timeout and closes their
    /// connections (so they reconnect and register afresh). Returns how many were removed.
    pub fn scan_not_active(&self, now: Instant) -> usize {
        let mut expired = Vec::new();
        {
            let mut t = self.tables.write();
            let keys: Vec<BrokerAddrKey> = t
                .broker_live_table
                .iter()
                .filter(|(_, live)| now.saturating_duration_since(live.last_update) > live.timeout)
                .map(|(key, _)| key.clone())
                .collect();
            for key in keys {
                if let Some(live) = t.broker_live_table.remove(&key) {
                    t.remove_address(&key, &live.broker_name);
                    warn!(
                        cluster = %key.cluster, broker = %live.broker_name, addr = %key.addr,
                        timeout = ?live.timeout, "broker expired: no registration within its timeout"
                    );
                    expired.push(live.channel);
                }
            }
        }
        for channel in &expired {
            channel.close();
        }
        expired.len()
    }

    /// QUERY_DATA_VERSION: whether `version` differs from the one last registered from
    /// `addr`, and that one. Counts as a heartbeat.
    pub fn query_data_version(
        &self,
        cluster: &str,
        addr: &str,
        version: &DataVersion,
        now: Instant,
    ) -> (bool, Option<DataVersion>) {
        let key = BrokerAddrKey::new(cluster, addr);
        let mut t = self.tables.write();
        match t.broker_live_table.get_mut(&key) {
            Some(live) => {
                live.last_update = now;
                (
                    live.data_version != *version,
                    Some(live.data_version.clone()),
                )
            }
            None => (true, None),
        }
    }

    /// BROKER_HEARTBEAT: refreshes a registered broker's liveness.
    pub fn heartbeat(&self, cluster: &str, addr: &str, now: Instant) {
        let key = BrokerAddrKey::new(cluster, addr);
        if let Some(live) = self.tables.write().broker_live_table.get_mut(&key) {
            live.last_update = now;
        }
    }

    /// The route of `topic`: its queues and the groups hosting them, `None` if none.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let t = self.tables.read();
        let queues = t.topic_queue_table.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| t.broker_addr_table.get(name).cloned())
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        Some(TopicRouteData {
            broker_datas,
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
        })
    }

    /// Every broker group and every cluster.
    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.tables.read();
        ClusterInfo {
            broker_addr_table: t.broker_addr_table.clone(),
            cluster_addr_table: t.cluster_addr_table.clone(),
        }
    }

    /// Every topic with queues.
    pub fn topic_list(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self
                .tables
                .read()
                .topic_queue_table
                .keys()
                .cloned()
                .collect(),
        }
    }

    /// Topics with queues on a broker group of `cluster`.
    pub fn topics_by_cluster(&self, cluster: &str) -> TopicList {
        let t = self.tables.read();
        let topic_list = match t.cluster_addr_table.get(cluster) {
            Some(names) => t
                .topic_queue_table
                .iter()
                .filter(|(_, queues)| queues.keys().any(|name| names.contains(name)))
                .map(|(topic, _)| topic.clone())
                .collect(),
            None => BTreeSet::new(),
        };
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// Removes `topic`, from the groups of `cluster` only if given. Returns whether any
    /// queues were removed.
    pub fn delete_topic(&self, topic: &str, cluster: Option<&str>) -> bool {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        let removed = match cluster {
            None => t.topic_queue_table.remove(topic).is_some(),
            Some(cluster) => {
                let (Some(names), Some(queues)) = (
                    t.cluster_addr_table.get(cluster),
                    t.topic_queue_table.get_mut(topic),
                ) else {
                    return false;
                };
                let before = queues.len();
                queues.retain(|name, _| !names.contains(name));
                let removed = queues.len() != before;
                if queues.is_empty() {
                    t.topic_queue_table.remove(topic);
                }
                removed
            }
        };
        info!(topic, cluster = ?cluster, removed, "topic deleted from name server");
        removed
    }

    /// REGISTER_TOPIC_IN_NAMESRV: sets `topic`'s queues on the given groups. Every group must
    /// be registered; otherwise nothing changes and the unknown group's name is returned.
    pub fn register_topic(&self, topic: &str, queue_datas: Vec<QueueData>) -> Result<(), String> {
        let mut t = self.tables.write();
        if let Some(unknown) = queue_datas
            .iter()
            .find(|q| !t.broker_addr_table.contains_key(&q.broker_name))
        {
            return Err(unknown.broker_name.clone());
        }
        let queues = t.topic_queue_table.entry(topic.to_string()).or_default();
        for q in queue_datas {
            queues.insert(q.broker_name.clone(), q);
        }
        info!(topic, "topic registered by request");
        Ok(())
    }

    /// Clears (`add == false`) or sets the WRITE permission of every topic's queues on
    /// `broker_name`. Returns how many topics it touched.
    pub fn set_write_perm(&self, broker_name: &str, add: bool) -> i32 {
        let mut t = self.tables.write();
        let mut count = 0;
        for queue in t
            .topic_queue_table
            .values_mut()
            .filter_map(|queues| queues.get_mut(broker_name))
        {
            if add {
                queue.perm |= PERM_WRITE;
            } else {
                queue.perm &= !PERM_WRITE;
            }
            count += 1;
        }
        info!(
            broker = broker_name,
            add,
            topics = count,
            "write permission changed"
        );
        count
    }
}

impl Tables {
    /// Applies a master's topic configs. `full`: its reported topic set replaces the old one.
    fn update_queue_data(
        &mut self,
        broker_name: &str,
        topics: &TopicConfigSerializeWrapper,
        full: bool,
    ) {
        if full {
            let reported: BTreeSet<&str> = topics
                .topic_config_table
                .values()
                .map(|tc| tc.topic_name.as_str())
                .collect();
            self.topic_queue_table.retain(|topic, queues| {
                if !reported.contains(topic.as_str()) && queues.remove(broker_name).is_some() {
                    info!(topic, broker = broker_name, "topic no longer on broker");
                }
                !queues.is_empty()
            });
        }
        for tc in topics.topic_config_table.values() {
            let queues = self
                .topic_queue_table
                .entry(tc.topic_name.clone())
                .or_default();
            if !full && queues.contains_key(broker_name) {
                continue;
            }
            let queue = QueueData {
                broker_name: broker_name.to_string(),
                perm: tc.perm,
                read_queue_nums: tc.read_queue_nums,
                topic_sys_flag: tc.topic_sys_flag,
                write_queue_nums: tc.write_queue_nums,
            };
            if queues.get(broker_name) != Some(&queue) {
                info!(topic = %tc.topic_name, broker = broker_name, ?queue, "topic queues registered");
                queues.insert(broker_name.to_string(), queue);
            }
        }
    }

    /// Drops `key`'s address from `broker_name`'s group. A group left without addresses
    /// leaves its cluster and takes its queues with it.
    fn remove_address(&mut self, key: &BrokerAddrKey, broker_name: &str) {
        let Some(group) = self.broker_addr_table.get_mut(broker_name) else {
            return;
        };
        group.broker_addrs.retain(|_, addr| *addr != key.addr);
        if !group.broker_addrs.is_empty() {
            return;
        }
        self.broker_addr_table.remove(broker_name);
        if let Some(names) = self.cluster_addr_table.get_mut(&key.cluster) {
            names.remove(broker_name);
            if names.is_empty() {
                self.cluster_addr_table.remove(&key.cluster);
            }
        }
        self.topic_queue_table.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
        info!(cluster = %key.cluster, broker = broker_name, "broker group gone, its queues removed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_common::protocol::body::TopicConfig;
    use fennec_common::remoting::RemotingClient;
    use tokio::net::TcpListener;

    /// A real connection's channel (the tables only compare and close channels). The
    /// client must outlive the channel: dropping it closes the connection.
    async fn channel() -> (Channel, RemotingClient, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let client = RemotingClient::default();
        let channel = client.channel(&addr).await.unwrap();
        (channel, client, listener)
    }

    fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: topics
                .iter()
                .map(|(t, q)| (t.to_string(), TopicConfig::new(t, *q)))
                .collect(),
        }
    }

    fn reg(
        name: &str,
        id: i64,
        addr: &str,
        topics: TopicConfigSerializeWrapper,
        channel: &Channel,
    ) -> BrokerRegistration {
        BrokerRegistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            zone_name: None,
            heartbeat_timeout: None,
            topic_config: topics,
            channel: channel.clone(),
        }
    }

    fn queue_nums(route: &RouteInfo, topic: &str) -> Vec<(String, i32)> {
        route
            .topic_route(topic)
            .map(|r| {
                r.queue_datas
                    .iter()
                    .map(|q| (q.broker_name.clone(), q.write_queue_nums))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn addrs(route: &RouteInfo, broker_name: &str) -> Vec<(i64, String)> {
        route
            .cluster_info()
            .broker_addr_table
            .get(broker_name)
            .map(|b| b.broker_addrs.clone().into_iter().collect())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn registration_builds_every_table() {
        let (ch, _c, _l) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let now = Instant::now();
        route.register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch), now);
        route.register(
            reg("b", 0, "h:2", wrapper(1, &[("T", 2), ("U", 8)]), &ch),
            now,
        );

        let t = route.topic_route("T").unwrap();
        assert_eq!(
            queue_nums(&route, "T"),
            vec![("a".into(), 4), ("b".into(), 2)]
        );
        assert_eq!(t.broker_datas.len(), 2);
        assert_eq!(t.broker_datas[0].master_addr(), Some("h:1"));
        let u = route.topic_route("U").unwrap();
        assert_eq!(u.broker_datas.len(), 1, "only brokers hosting the topic");
        assert_eq!(u.broker_datas[0].broker_name, "b");
        assert!(route.topic_route("V").is_none());

        let info = route.cluster_info();
        assert_eq!(
            info.cluster_addr_table["DefaultCluster"],
            BTreeSet::from(["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            route.topic_list().topic_list,
            BTreeSet::from(["T".to_string(), "U".to_string()])
        );
        assert_eq!(
            route.topics_by_cluster("DefaultCluster").topic_list.len(),
            2
        );
        assert!(route.topics_by_cluster("Other").topic_list.is_empty());
    }

    #[tokio::test]
    async fn only_the_master_updates_queues() {
        let (ch, _c, _l) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let now = Instant::now();
        route.register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        );
        let slave = route.register(
            reg("a", 1, "h:2", wrapper(9, &[("T", 1), ("S", 1)]), &ch),
            now,
        );
        assert_eq!(
            slave,
            RegisterResult {
                ha_server_addr: Some("h:1-ha".into()),
                master_addr: Some("h:1".into()),
            }
        );
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
        assert!(route.topic_route("S").is_none());
        assert_eq!(
            addrs(&route, "a"),
            vec![(0, "h:1".into()), (1, "h:2".into())]
        );

        // Same dataVersion: the queue config is taken as unchanged.
        route.register(reg("a", 0, "h:1", wrapper(1, &[("T", 16)]), &ch), now);
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
        assert!(route.topic_route("U").is_some());

        // New dataVersion: the body replaces the broker's topics; U is gone.
        route.register(reg("a", 0, "h:1", wrapper(2, &[("T", 16)]), &ch), now);
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 16)]);
        assert!(route.topic_route("U").is_none());

        // A topic deleted here comes back with the next heartbeat, even at the same version.
        assert!(route.delete_topic("T", None));
        assert!(route.topic_route("T").is_none());
        route.register(reg("a", 0, "h:1", wrapper(2, &[("T", 16)]), &ch), now);
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 16)]);
    }

    #[tokio::test]
    async fn an_address_holds_one_id() {
        let (ch, _c, _l) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let now = Instant::now();
        route.register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch), now);
        route.register(reg("a", 1, "h:2", wrapper(1, &[]), &ch), now);
        // The slave at h:2 is promoted: it registers as the master.
        route.register(reg("a", 0, "h:2", wrapper(3, &[("T", 4)]), &ch), now);
        assert_eq!(addrs(&route, "a"), vec![(0, "h:2".into())]);
    }

    #[tokio::test]
    async fn unregister_removes_group_when_last_address_goes() {
        let (ch, _c, _l) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let now = Instant::now();
        route.register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        );
        route.register(reg("a", 1, "h:2", wrapper(1, &[]), &ch), now);
        route.register(reg("b", 0, "h:3", wrapper(1, &[("T", 4)]), &ch), now);

        assert!(route.unregister("DefaultCluster", "h:1", "a"));
        // The slave keeps the group (and its queues) alive for readers.
        assert_eq!(addrs(&route, "a"), vec![(1, "h:2".into())]);
        assert_eq!(queue_nums(&route, "U"), vec![("a".into(), 4)]);

        assert!(route.unregister("DefaultCluster", "h:2", "a"));
        assert!(addrs(&route, "a").is_empty());
        assert!(
            route.topic_route("U").is_none(),
            "topic left without queues"
        );
        assert_eq!(queue_nums(&route, "T"), vec![("b".into(), 4)]);
        assert_eq!(
            route.cluster_info().cluster_addr_table["DefaultCluster"],
            BTreeSet::from(["b".to_string()])
        );
        assert!(!route.unregister("DefaultCluster", "h:2", "a"));

        assert!(route.unregister("DefaultCluster", "h:3", "b"));
        assert_eq!(route.cluster_info(), ClusterInfo::default());
        assert!(route.topic_list().topic_list.is_empty());
    }

    #[tokio::test]
    async fn closed_channel_removes_its_brokers_only() {
        let (ch1, _c1, _l1) = channel().await;
        let (ch2, _c2, _l2) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let now = Instant::now();
        route.register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch1), now);
        route.register(
            reg("b", 0, "h:2", wrapper(1, &[("T", 4), ("U", 4)]), &ch2),
            now,
        );
        route.on_channel_close(&ch2);
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
        assert!(route.topic_route("U").is_none());
        assert!(addrs(&route, "b").is_empty());

        // A broker that re-registered over a new connection survives the old one's close.
        route.register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch2), now);
        route.on_channel_close(&ch1);
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
    }

    #[tokio::test]
    async fn expiry_uses_each_brokers_timeout_and_closes_its_channel() {
        let (ch1, _c1, _l1) = channel().await;
        let (ch2, _c2, _l2) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let start = Instant::now();
        route.register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch1), start);
        let mut short = reg("b", 0, "h:2", wrapper(1, &[("T", 4)]), &ch2);
        short.heartbeat_timeout = Some(Duration::from_secs(10));
        route.register(short, start);

        assert_eq!(route.scan_not_active(start + Duration::from_secs(10)), 0);
        assert_eq!(route.scan_not_active(start + Duration::from_secs(11)), 1);
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
        assert!(ch2.is_closed());
        assert!(!ch1.is_closed());

        // QUERY_DATA_VERSION counts as a heartbeat.
        let later = start + Duration::from_secs(100);
        let (changed, known) = route.query_data_version(
            "DefaultCluster",
            "h:1",
            &wrapper(1, &[]).data_version,
            later,
        );
        assert!(!changed);
        assert_eq!(known.map(|v| v.counter), Some(1));
        assert_eq!(route.scan_not_active(start + Duration::from_secs(150)), 0);
        route.heartbeat("DefaultCluster", "h:1", start + Duration::from_secs(200));
        assert_eq!(route.scan_not_active(start + Duration::from_secs(300)), 0);
        assert_eq!(route.scan_not_active(start + Duration::from_secs(321)), 1);
        assert!(route.topic_list().topic_list.is_empty());

        let (changed, known) =
            route.query_data_version("DefaultCluster", "h:1", &DataVersion::default(), later);
        assert!(changed);
        assert!(known.is_none());
    }

    #[tokio::test]
    async fn delete_topic_by_cluster_and_perm_changes() {
        let (ch, _c, _l) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        let now = Instant::now();
        route.register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        );
        let mut other = reg("c", 0, "h:9", wrapper(1, &[("T", 4)]), &ch);
        other.cluster_name = "Other".into();
        route.register(other, now);

        assert_eq!(route.set_write_perm("a", false), 2);
        assert_eq!(route.topic_route("U").unwrap().queue_datas[0].perm, 4);
        assert_eq!(route.set_write_perm("a", true), 2);
        assert_eq!(route.topic_route("U").unwrap().queue_datas[0].perm, 6);
        assert_eq!(route.set_write_perm("nobody", false), 0);

        assert!(route.delete_topic("T", Some("Other")));
        assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
        assert!(!route.delete_topic("T", Some("NoCluster")));
        assert!(route.delete_topic("T", Some("DefaultCluster")));
        assert!(route.topic_route("T").is_none());
        assert!(route.delete_topic("U", None));
        assert!(!route.delete_topic("U", None));
    }

    #[tokio::test]
    async fn register_topic_needs_known_brokers() {
        let (ch, _c, _l) = channel().await;
        let route = RouteInfo::new(Duration::from_secs(120));
        route.register(reg("a", 0, "h:1", wrapper(1, &[]), &ch), Instant::now());
        let q = |name: &str| QueueData {
            broker_name: name.into(),
            perm: 6,
            read_queue_nums: 2,
            topic_sys_flag: 0,
            write_queue_nums: 2,
        };
        assert_eq!(
            route.register_topic("N", vec![q("a"), q("x")]),
            Err("x".into())
        );
        assert!(route.topic_route("N").is_none());
        route.register_topic("N", vec![q("a")]).unwrap();
        assert_eq!(queue_nums(&route, "N"), vec![("a".into(), 2)]);
    }
}
