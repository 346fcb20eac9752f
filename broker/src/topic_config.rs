//! Topic configurations of this broker: `config/topics.json`, system topics created at
//! start-up, auto-creation from TBW102, and the data version the nameservers see. Each
//! topic's entry also holds its traffic counters ([`TopicTraffic`]), handed out with its
//! layout under the same read lock.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use fennec_protocol::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use fennec_protocol::perm::{PERM_INHERIT, PERM_READ, PERM_WRITE};
use fennec_protocol::topic::{
    is_system_topic, AUTO_CREATE_TOPIC_KEY, DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX,
};
use parking_lot::RwLock;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::persist::{self, Persister};
use crate::traffic::TopicTraffic;

/// Settings that shape the topic table.
#[derive(Debug, Clone)]
pub struct TopicSettings {
    pub cluster_name: String,
    pub broker_name: String,
    pub auto_create_topic_enable: bool,
    pub default_topic_queue_nums: i32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
}

/// Permission and queue counts of a topic, and its traffic counters: what the hot paths
/// need, without copying the whole configuration.
#[derive(Debug, Clone)]
pub struct TopicLayout {
    pub perm: i32,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub traffic: Arc<TopicTraffic>,
}

/// The persisted table and the counters of its topics (one entry per topic in both).
#[derive(Default)]
struct Table {
    configs: TopicConfigSerializeWrapper,
    traffic: HashMap<String, Arc<TopicTraffic>>,
}

impl Table {
    fn insert(&mut self, config: TopicConfig) {
        if !self.traffic.contains_key(&config.topic_name) {
            self.traffic
                .insert(config.topic_name.clone(), Arc::default());
        }
        self.configs
            .topic_config_table
            .insert(config.topic_name.clone(), config);
    }

    fn layout(&self, topic: &str) -> Option<TopicLayout> {
        let c = self.configs.topic_config_table.get(topic)?;
        Some(TopicLayout {
            perm: c.perm,
            read_queue_nums: c.read_queue_nums,
            write_queue_nums: c.write_queue_nums,
            traffic: self.traffic.get(topic)?.clone(),
        })
    }
}

/// The topic table, persisted on every change.
pub struct TopicConfigManager {
    path: PathBuf,
    persister: Arc<Persister>,
    table: RwLock<Table>,
    version_tx: watch::Sender<i64>,
}

impl TopicConfigManager {
    /// Loads `path` (missing = empty) and makes sure the system topics exist.
    pub fn load(
        path: PathBuf,
        persister: Arc<Persister>,
        settings: &TopicSettings,
    ) -> std::io::Result<Self> {
        let mut table: TopicConfigSerializeWrapper = persist::load(&path)?.unwrap_or_default();
        if table.data_version.timestamp == 0 {
            table.data_version = DataVersion::now();
        }
        let mut system = vec![
            TopicConfig::new("SELF_TEST_TOPIC", 1),
            TopicConfig::new("OFFSET_MOVED_EVENT", 1),
        ];
        if settings.auto_create_topic_enable {
            let mut tbw =
                TopicConfig::new(AUTO_CREATE_TOPIC_KEY, settings.default_topic_queue_nums);
            tbw.perm = PERM_INHERIT | PERM_READ | PERM_WRITE;
            system.push(tbw);
        }
        let mut cluster = TopicConfig::new(&settings.cluster_name, 16);
        cluster.perm = PERM_INHERIT
            | if settings.cluster_topic_enable {
                PERM_READ | PERM_WRITE
            } else {
                0
            };
        system.push(cluster);
        let mut broker = TopicConfig::new(&settings.broker_name, 1);
        broker.perm = PERM_INHERIT
            | if settings.broker_topic_enable {
                PERM_READ | PERM_WRITE
            } else {
                0
            };
        system.push(broker);
        let mut changed = false;
        for t in system {
            if !table.topic_config_table.contains_key(&t.topic_name) {
                table.topic_config_table.insert(t.topic_name.clone(), t);
                changed = true;
            }
        }
        if !settings.auto_create_topic_enable {
            // TBW102 left over from an earlier configuration must not allow auto-creation.
            if let Some(tbw) = table.topic_config_table.get_mut(AUTO_CREATE_TOPIC_KEY) {
                if tbw.perm & PERM_INHERIT != 0 {
                    tbw.perm &= !PERM_INHERIT;
                    changed = true;
                }
            }
        }
        let (version_tx, _) = watch::channel(table.data_version.counter);
        let traffic = table
            .topic_config_table
            .keys()
            .map(|t| (t.clone(), Arc::default()))
            .collect();
        let manager = TopicConfigManager {
            path,
            persister,
            table: RwLock::new(Table {
                configs: table,
                traffic,
            }),
            version_tx,
        };
        if changed {
            manager.changed();
        }
        Ok(manager)
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table
            .read()
            .configs
            .topic_config_table
            .get(topic)
            .cloned()
    }

    /// The topic's permission, queue counts and traffic counters.
    pub fn layout(&self, topic: &str) -> Option<TopicLayout> {
        self.table.read().layout(topic)
    }

    /// The traffic counters of an existing topic.
    pub fn traffic(&self, topic: &str) -> Option<Arc<TopicTraffic>> {
        self.table.read().traffic.get(topic).cloned()
    }

    /// `(topic, counters)` of every topic, sorted by name.
    pub fn all_traffic(&self) -> Vec<(String, Arc<TopicTraffic>)> {
        let mut all: Vec<_> = self
            .table
            .read()
            .traffic
            .iter()
            .map(|(t, c)| (t.clone(), c.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.table
            .read()
            .configs
            .topic_config_table
            .contains_key(topic)
    }

    /// Auto-creates `topic` on a send, as RocketMQ does: only if `default_topic` exists with
    /// the INHERIT bit, with min(client queue count, template write queues) queues and the
    /// template's permission minus INHERIT. Returns the topic's configuration if it exists now.
    pub fn create_topic_in_send(
        &self,
        topic: &str,
        default_topic: &str,
        client_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Option<TopicConfig> {
        let created = {
            let mut table = self.table.write();
            if let Some(existing) = table.configs.topic_config_table.get(topic) {
                return Some(existing.clone());
            }
            let template = table.configs.topic_config_table.get(default_topic)?.clone();
            if template.perm & PERM_INHERIT == 0 {
                warn!(%topic, %default_topic, "cannot auto-create topic: the default topic is not inheritable");
                return None;
            }
            let queues = client_queue_nums.min(template.write_queue_nums).max(1);
            let mut config = TopicConfig::new(topic, queues);
            config.perm = template.perm & !PERM_INHERIT;
            config.topic_sys_flag = topic_sys_flag;
            table.insert(config.clone());
            config
        };
        info!(
            topic,
            queues = created.write_queue_nums,
            "auto-created topic"
        );
        self.changed();
        Some(created)
    }

    /// Creates a topic the broker itself writes to if missing, with `queue_nums` queues,
    /// read-write: a group's retry topic, or a transaction topic.
    pub fn ensure_system_topic(&self, topic: &str, queue_nums: i32) -> TopicConfig {
        self.ensure_group_topic(topic, queue_nums, PERM_READ | PERM_WRITE)
    }

    /// Creates a broker-written topic (retry, dead-letter, transaction) if missing, with
    /// `queue_nums` queues and `perm` (dead-letter topics are write-only, so nothing consumes
    /// them by accident).
    pub fn ensure_group_topic(&self, topic: &str, queue_nums: i32, perm: i32) -> TopicConfig {
        debug_assert!(
            topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
                || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
                || is_system_topic(topic)
        );
        if let Some(t) = self.get(topic) {
            return t;
        }
        let mut config = TopicConfig::new(topic, queue_nums.max(1));
        config.perm = perm;
        info!(
            topic,
            queues = config.write_queue_nums,
            perm,
            "created system topic"
        );
        {
            let mut table = self.table.write();
            if !table.configs.topic_config_table.contains_key(topic) {
                table.insert(config.clone());
            }
        }
        self.changed();
        config
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC).
    pub fn update(&self, config: TopicConfig) {
        info!(topic = %config.topic_name, read = config.read_queue_nums, write = config.write_queue_nums, perm = config.perm, "topic updated");
        self.table.write().insert(config);
        self.changed();
    }

    /// Removes a topic; false if it did not exist.
    pub fn delete(&self, topic: &str) -> bool {
        let removed = {
            let mut table = self.table.write();
            table.traffic.remove(topic);
            table.configs.topic_config_table.remove(topic).is_some()
        };
        if removed {
            info!(topic, "topic deleted");
            self.changed();
        }
        removed
    }

    /// Every topic with the current data version (registration and GET_ALL_TOPIC_CONFIG).
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        self.table.read().configs.clone()
    }

    /// A slave takes its master's topics (GET_ALL_TOPIC_CONFIG) when their data version
    /// differs from the one held; returns whether anything changed.
    pub fn adopt(&self, master: TopicConfigSerializeWrapper) -> bool {
        let content = {
            let mut table = self.table.write();
            if table.configs.data_version == master.data_version
                && table.configs.topic_config_table == master.topic_config_table
            {
                return false;
            }
            let Table { configs, traffic } = &mut *table;
            *configs = master;
            // Traffic counters follow the topics: kept for those still there, new for the rest.
            traffic.retain(|topic, _| configs.topic_config_table.contains_key(topic));
            for topic in configs.topic_config_table.keys() {
                traffic.entry(topic.clone()).or_default();
            }
            serde_json::to_vec_pretty(configs).unwrap_or_default()
        };
        self.persister.submit(self.path.clone(), content);
        true
    }

    /// All topic names.
    pub fn topic_names(&self) -> Vec<String> {
        self.table
            .read()
            .configs
            .topic_config_table
            .keys()
            .cloned()
            .collect()
    }

    /// A receiver that sees the data version counter change on every update.
    pub fn watch(&self) -> watch::Receiver<i64> {
        self.version_tx.subscribe()
    }

    /// Bumps the data version without changing a topic, so that the nameservers get a fresh
    /// registration (the broker's permission, which masks every topic's, changed).
    pub fn touch(&self) {
        self.changed();
    }

    fn changed(&self) {
        let (content, counter) = {
            let mut table = self.table.write();
            let configs = &mut table.configs;
            configs.data_version.next();
            (
                serde_json::to_vec_pretty(&*configs).unwrap_or_default(),
                configs.data_version.counter,
            )
        };
        self.persister.submit(self.path.clone(), content);
        self.version_tx.send_replace(counter);
    }

    /// The topics as a map (tests and admin).
    pub fn table(&self) -> BTreeMap<String, TopicConfig> {
        self.table.read().configs.topic_config_table.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(auto: bool) -> TopicSettings {
        TopicSettings {
            cluster_name: "C".into(),
            broker_name: "b".into(),
            auto_create_topic_enable: auto,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
        }
    }

    #[test]
    fn system_topics_auto_create_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        let persister = Arc::new(Persister::start().unwrap());
        let m = TopicConfigManager::load(path.clone(), persister.clone(), &settings(true)).unwrap();
        assert_eq!(m.get("TBW102").unwrap().perm, 7);
        assert_eq!(m.get("C").unwrap().perm, 7);
        let mut watch = m.watch();
        let t = m.create_topic_in_send("T", "TBW102", 4, 0).unwrap();
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 4, 6));
        assert!(watch.has_changed().unwrap());
        watch.mark_unchanged();
        assert_eq!(
            m.create_topic_in_send("T", "TBW102", 16, 0)
                .unwrap()
                .write_queue_nums,
            4
        );
        assert!(!watch.has_changed().unwrap());
        assert_eq!(
            m.create_topic_in_send("Big", "TBW102", 16, 0)
                .unwrap()
                .write_queue_nums,
            8
        );
        assert!(m
            .create_topic_in_send("X", "NoSuchTemplate", 4, 0)
            .is_none());
        assert!(
            m.create_topic_in_send("Y", "T", 4, 0).is_none(),
            "T is not inheritable"
        );
        persister.sync();

        let reloaded =
            TopicConfigManager::load(path.clone(), persister.clone(), &settings(false)).unwrap();
        assert!(reloaded.contains("T"));
        assert!(
            reloaded.create_topic_in_send("Z", "TBW102", 4, 0).is_none(),
            "auto-create disabled"
        );
        assert!(reloaded.delete("T"));
        assert!(!reloaded.delete("T"));
        persister.stop();
    }
}
