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
//! cluster. All tables sit behind one `RwLock`, never held across an `.await`. Their sizes
//! are bounded by [`RouteLimits`] (see `route_limits`).
//!
//! Not built: filter servers (the route's `filterServerTable` is always empty), slave acting
//! master (`enableActingMaster` is always false in answers) and static topics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use fennec_protocol::body::{
    BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfigSerializeWrapper, TopicList,
    TopicRouteData, MASTER_ID,
};
use fennec_protocol::perm::PERM_WRITE;
use fennec_remoting::log_limit::LogLimiter;
use fennec_remoting::Channel;
use parking_lot::RwLock;
use tracing::{info, warn};

use crate::error::NamesrvError;
use crate::route_limits::{LimitExceeded, RouteLimits, RouteTable};

/// The routing tables.
#[derive(Debug)]
pub struct RouteInfo {
    tables: RwLock<Tables>,
    /// Heartbeat timeout of brokers that do not send `heartbeatTimeoutMillis`.
    default_timeout: Duration,
    limits: RouteLimits,
    /// Registrations refused for a full table.
    log_refused: LogLimiter,
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

/// A live broker address as [`RouteInfo::liveness`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    pub cluster: String,
    pub broker_name: String,
    pub addr: String,
    pub since_registration: Duration,
}

/// What a registering slave learns about its master, and the topics left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
    /// Topics not registered because the topic table is full.
    pub topics_refused: Option<LimitExceeded>,
}

impl RouteInfo {
    pub fn new(default_timeout: Duration, limits: RouteLimits) -> Self {
        RouteInfo {
            tables: RwLock::new(Tables::default()),
            default_timeout,
            limits,
            log_refused: LogLimiter::default(),
        }
    }

    /// Logs a refusal, at most once per period.
    fn refused(&self, e: LimitExceeded) -> LimitExceeded {
        if let Some(suppressed) = self.log_refused.allow() {
            warn!(suppressed, "{e}");
        }
        e
    }

    /// Records a registration (a broker's periodic heartbeat). Only a master updates queue
    /// data: fully when it registers first or its dataVersion changed (topics it no longer
    /// reports lose its queues), otherwise only for reported topics that lack its queues.
    /// A new broker or cluster beyond its limit is refused whole; new topics beyond
    /// `maxTopics` are left out and listed in the result.
    pub fn register(
        &self,
        reg: BrokerRegistration,
        now: Instant,
    ) -> Result<RegisterResult, LimitExceeded> {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        let key = BrokerAddrKey::new(&reg.cluster_name, &reg.broker_addr);
        let limits = &self.limits;
        if !t.broker_live_table.contains_key(&key)
            && t.broker_live_table.len() >= limits.max_brokers
        {
            let mut e = LimitExceeded::new(RouteTable::Brokers, limits.max_brokers);
            e.refuse(&format!("{}@{}", reg.broker_name, reg.broker_addr));
            return Err(self.refused(e));
        }
        if !t.cluster_addr_table.contains_key(&reg.cluster_name)
            && t.cluster_addr_table.len() >= limits.max_clusters
        {
            let mut e = LimitExceeded::new(RouteTable::Clusters, limits.max_clusters);
            e.refuse(&reg.cluster_name);
            return Err(self.refused(e));
        }
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

        let mut version = reg.topic_config.data_version.clone();
        let mut topics_refused = LimitExceeded::new(RouteTable::Topics, limits.max_topics);
        if reg.broker_id == MASTER_ID {
            let version_changed = t
                .broker_live_table
                .get(&key)
                .is_none_or(|live| live.data_version != version);
            t.update_queue_data(
                &reg.broker_name,
                &reg.topic_config,
                register_first || version_changed,
                &mut topics_refused,
            );
        }
        if topics_refused.count > 0 {
            // A version the broker never has: it registers in full again next time.
            version = DataVersion::default();
        }

        let live = BrokerLiveInfo {
            broker_name: reg.broker_name.clone(),
            last_update: now,
            timeout: reg.heartbeat_timeout.unwrap_or(self.default_timeout),
            data_version: version,
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
        if topics_refused.count > 0 {
            result.topics_refused = Some(self.refused(topics_refused));
        }
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
        Ok(result)
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

    /// Every live broker address with the time since its last registration, sorted, and
    /// the number of topics routed (the metrics).
    pub fn liveness(&self, now: Instant) -> (Vec<LiveBroker>, usize) {
        let t = self.tables.read();
        let mut brokers: Vec<LiveBroker> = t
            .broker_live_table
            .iter()
            .map(|(key, live)| LiveBroker {
                cluster: key.cluster.clone(),
                broker_name: live.broker_name.clone(),
                addr: key.addr.clone(),
                since_registration: now.saturating_duration_since(live.last_update),
            })
            .collect();
        brokers.sort_by(|a, b| (&a.cluster, &a.addr).cmp(&(&b.cluster, &b.addr)));
        (brokers, t.topic_queue_table.len())
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
    /// be registered and a new topic must fit in `maxTopics`; otherwise nothing changes.
    pub fn register_topic(
        &self,
        topic: &str,
        queue_datas: Vec<QueueData>,
    ) -> Result<(), NamesrvError> {
        let mut t = self.tables.write();
        if let Some(unknown) = queue_datas
            .iter()
            .find(|q| !t.broker_addr_table.contains_key(&q.broker_name))
        {
            return Err(NamesrvError::UnknownBroker {
                topic: topic.to_string(),
                broker_name: unknown.broker_name.clone(),
            });
        }
        if !t.topic_queue_table.contains_key(topic)
            && t.topic_queue_table.len() >= self.limits.max_topics
        {
            let mut e = LimitExceeded::new(RouteTable::Topics, self.limits.max_topics);
            e.refuse(topic);
            return Err(self.refused(e).into());
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
    /// New topics that do not fit go to `refused`.
    fn update_queue_data(
        &mut self,
        broker_name: &str,
        topics: &TopicConfigSerializeWrapper,
        full: bool,
        refused: &mut LimitExceeded,
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
            if !self.topic_queue_table.contains_key(&tc.topic_name)
                && self.topic_queue_table.len() >= refused.limit
            {
                refused.refuse(&tc.topic_name);
                continue;
            }
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
mod tests;
