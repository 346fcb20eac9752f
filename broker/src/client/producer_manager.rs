//! Producer groups and their connections (GET_PRODUCER_CONNECTION_LIST).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fennec_remoting::Channel;
use parking_lot::RwLock;

use super::ClientChannelInfo;

pub struct ProducerManager {
    groups: RwLock<HashMap<String, HashMap<u64, ClientChannelInfo>>>,
}

impl Default for ProducerManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ProducerManager {
    pub fn new() -> Self {
        ProducerManager {
            groups: RwLock::new(HashMap::new()),
        }
    }

    /// `(group, connections)` of every producer group online, sorted.
    pub fn member_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<_> = self
            .groups
            .read()
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(g, m)| (g.clone(), m.len()))
            .collect();
        counts.sort();
        counts
    }

    pub fn register(&self, group: &str, client: ClientChannelInfo) {
        let mut groups = self.groups.write();
        let members = groups.entry(group.to_string()).or_default();
        match members.get_mut(&client.channel.id()) {
            Some(existing) => existing.last_update = client.last_update,
            None => {
                members.insert(client.channel.id(), client);
            }
        }
    }

    pub fn unregister(&self, group: &str, channel: &Channel) {
        let mut groups = self.groups.write();
        if let Some(members) = groups.get_mut(group) {
            members.remove(&channel.id());
            if members.is_empty() {
                groups.remove(group);
            }
        }
    }

    pub fn channel_closed(&self, channel: &Channel) {
        let mut groups = self.groups.write();
        for members in groups.values_mut() {
            members.remove(&channel.id());
        }
        groups.retain(|_, m| !m.is_empty());
    }

    pub fn remove_expired(&self, timeout: Duration) -> Vec<Channel> {
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut groups = self.groups.write();
        for members in groups.values_mut() {
            members.retain(|_, m| {
                let alive = now.duration_since(m.last_update) < timeout;
                if !alive {
                    expired.push(m.channel.clone());
                }
                alive
            });
        }
        groups.retain(|_, m| !m.is_empty());
        expired
    }

    pub fn members(&self, group: &str) -> Vec<ClientChannelInfo> {
        self.groups
            .read()
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}
