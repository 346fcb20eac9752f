//! Consumer group configurations: `config/subscriptionGroup.json`, auto-created on first
//! use when `autoCreateSubscriptionGroup` is on (the caller says whether it is).

use std::path::PathBuf;
use std::sync::Arc;

use fennec_protocol::body::{DataVersion, SubscriptionGroupConfig, SubscriptionGroupWrapper};
use parking_lot::RwLock;
use tracing::info;

use crate::persist::{self, Persister};

pub struct SubscriptionGroupManager {
    path: PathBuf,
    persister: Arc<Persister>,
    table: RwLock<SubscriptionGroupWrapper>,
}

impl SubscriptionGroupManager {
    pub fn load(path: PathBuf, persister: Arc<Persister>) -> std::io::Result<Self> {
        let mut table: SubscriptionGroupWrapper = persist::load(&path)?.unwrap_or_default();
        if table.data_version.timestamp == 0 {
            table.data_version = DataVersion::now();
        }
        Ok(SubscriptionGroupManager {
            path,
            persister,
            table: RwLock::new(table),
        })
    }

    /// The group's configuration, created with RocketMQ's defaults if `auto_create`.
    pub fn find_or_create(
        &self,
        group: &str,
        auto_create: bool,
    ) -> Option<SubscriptionGroupConfig> {
        if let Some(g) = self.get(group) {
            return Some(g);
        }
        if !auto_create {
            return None;
        }
        let config = SubscriptionGroupConfig::named(group);
        self.table
            .write()
            .subscription_group_table
            .entry(group.to_string())
            .or_insert_with(|| config.clone());
        info!(group, "auto-created subscription group");
        self.changed();
        Some(config)
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.table
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// Creates or replaces a group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).
    pub fn update(&self, config: SubscriptionGroupConfig) {
        info!(group = %config.group_name, "subscription group updated");
        self.table
            .write()
            .subscription_group_table
            .insert(config.group_name.clone(), config);
        self.changed();
    }

    pub fn delete(&self, group: &str) -> bool {
        let removed = self
            .table
            .write()
            .subscription_group_table
            .remove(group)
            .is_some();
        if removed {
            self.changed();
        }
        removed
    }

    /// A slave takes its master's groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG); returns
    /// whether anything changed.
    pub fn adopt(&self, master: SubscriptionGroupWrapper) -> bool {
        let content = {
            let mut t = self.table.write();
            if *t == master {
                return false;
            }
            *t = master;
            serde_json::to_vec_pretty(&*t).unwrap_or_default()
        };
        self.persister.submit(self.path.clone(), content);
        true
    }

    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        self.table.read().clone()
    }

    fn changed(&self) {
        let content = {
            let mut t = self.table.write();
            t.data_version.next();
            serde_json::to_vec_pretty(&*t).unwrap_or_default()
        };
        self.persister.submit(self.path.clone(), content);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_create_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        let p = Arc::new(Persister::start().unwrap());
        let m = SubscriptionGroupManager::load(path.clone(), p.clone()).unwrap();
        assert_eq!(m.find_or_create("G", true).unwrap().retry_max_times, 16);
        m.update(SubscriptionGroupConfig {
            consume_enable: false,
            ..SubscriptionGroupConfig::named("H")
        });
        p.sync();
        let again = SubscriptionGroupManager::load(path, p.clone()).unwrap();
        assert!(again.get("G").is_some());
        assert!(!again.get("H").unwrap().consume_enable);
        assert!(again.find_or_create("New", false).is_none());
        p.stop();
    }
}
