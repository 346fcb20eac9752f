//! Consumer groups: members (one entry per connection) and the group's subscriptions, as
//! declared by heartbeats. Membership changes are reported to the caller, which pushes
//! NOTIFY_CONSUMER_IDS_CHANGED to the group so its members rebalance.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use fennec_protocol::body::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use fennec_remoting::{Channel, LanguageCode};
use parking_lot::RwLock;
use tracing::info;

/// One client connection of a group.
#[derive(Debug, Clone)]
pub struct ClientChannelInfo {
    pub channel: Channel,
    pub client_id: String,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update: Instant,
}

/// A consumer group as seen by this broker.
#[derive(Debug, Clone)]
pub struct ConsumerGroupInfo {
    pub group: String,
    /// Keyed by channel id.
    pub members: HashMap<u64, ClientChannelInfo>,
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
}

impl ConsumerGroupInfo {
    /// Client ids of the members, sorted and de-duplicated.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.members.values().map(|m| m.client_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.members.values().map(|m| m.channel.clone()).collect()
    }
}

/// What a heartbeat says about one consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerMembership {
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscriptions: Vec<SubscriptionData>,
    /// The heartbeat carries no subscriptions (keep the known ones).
    pub without_sub: bool,
}

/// Every consumer group with live members.
pub struct ConsumerManager {
    groups: RwLock<HashMap<String, ConsumerGroupInfo>>,
}

impl Default for ConsumerManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsumerManager {
    pub fn new() -> Self {
        ConsumerManager {
            groups: RwLock::new(HashMap::new()),
        }
    }

    /// Records a heartbeat of `client` in `group`. Returns true when the group's members or
    /// subscriptions changed.
    pub fn register(&self, group: &str, client: ClientChannelInfo, m: ConsumerMembership) -> bool {
        let ConsumerMembership {
            consume_type,
            message_model,
            consume_from_where,
            subscriptions,
            without_sub,
        } = m;
        let mut groups = self.groups.write();
        let info = groups
            .entry(group.to_string())
            .or_insert_with(|| ConsumerGroupInfo {
                group: group.to_string(),
                members: HashMap::new(),
                subscriptions: BTreeMap::new(),
                consume_type,
                message_model,
                consume_from_where,
            });
        info.consume_type = consume_type;
        info.message_model = message_model;
        info.consume_from_where = consume_from_where;
        let channel_id = client.channel.id();
        let mut changed = match info.members.get_mut(&channel_id) {
            Some(existing) if existing.client_id == client.client_id => {
                existing.last_update = client.last_update;
                false
            }
            _ => {
                info!(group, client_id = %client.client_id, remote = %client.channel.remote_addr(), "consumer joined");
                info.members.insert(channel_id, client);
                true
            }
        };
        if !without_sub {
            changed |= update_subscriptions(&mut info.subscriptions, subscriptions);
        }
        changed
    }

    /// Removes one member; true if it was there.
    pub fn unregister(&self, group: &str, channel: &Channel) -> bool {
        let mut groups = self.groups.write();
        let Some(info) = groups.get_mut(group) else {
            return false;
        };
        let removed = info.members.remove(&channel.id()).is_some();
        if info.members.is_empty() {
            groups.remove(group);
        }
        removed
    }

    /// Removes a closed connection from every group; returns (group, client id) of each
    /// member it was.
    pub fn channel_closed(&self, channel: &Channel) -> Vec<(String, String)> {
        let mut groups = self.groups.write();
        let mut changed = Vec::new();
        for (name, info) in groups.iter_mut() {
            if let Some(m) = info.members.remove(&channel.id()) {
                info!(group = %name, client_id = %m.client_id, "consumer left (connection closed)");
                changed.push((name.clone(), m.client_id));
            }
        }
        groups.retain(|_, info| !info.members.is_empty());
        changed
    }

    /// Drops members not heard from within `timeout`; returns (group, member) of each.
    pub fn remove_expired(&self, timeout: Duration) -> Vec<(String, ClientChannelInfo)> {
        let now = Instant::now();
        let mut groups = self.groups.write();
        let mut expired = Vec::new();
        for (name, info) in groups.iter_mut() {
            info.members.retain(|_, m| {
                let alive = now.duration_since(m.last_update) < timeout;
                if !alive {
                    expired.push((name.clone(), m.clone()));
                }
                alive
            });
        }
        groups.retain(|_, info| !info.members.is_empty());
        expired
    }

    pub fn group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.groups.read().get(group).cloned()
    }

    /// The group's subscription to `topic`, if a member declared one.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.groups
            .read()
            .get(group)
            .and_then(|g| g.subscriptions.get(topic).cloned())
    }

    pub fn client_ids(&self, group: &str) -> Vec<String> {
        self.groups
            .read()
            .get(group)
            .map(ConsumerGroupInfo::client_ids)
            .unwrap_or_default()
    }

    pub fn channels(&self, group: &str) -> Vec<Channel> {
        self.groups
            .read()
            .get(group)
            .map(ConsumerGroupInfo::channels)
            .unwrap_or_default()
    }

    /// `(group, connections)` of every consumer group online, sorted.
    pub fn member_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<_> = self
            .groups
            .read()
            .iter()
            .map(|(g, info)| (g.clone(), info.members.len()))
            .collect();
        counts.sort();
        counts
    }

    /// Groups with live members.
    pub fn groups(&self) -> Vec<String> {
        let mut g: Vec<String> = self.groups.read().keys().cloned().collect();
        g.sort();
        g
    }

    /// Groups subscribed to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        self.groups
            .read()
            .values()
            .filter(|g| g.subscriptions.contains_key(topic))
            .map(|g| g.group.clone())
            .collect()
    }
}

/// RocketMQ's rule: new topics are added, a newer subVersion replaces, topics no longer
/// declared are removed.
fn update_subscriptions(
    current: &mut BTreeMap<String, SubscriptionData>,
    declared: Vec<SubscriptionData>,
) -> bool {
    let mut changed = false;
    let declared_topics: Vec<String> = declared.iter().map(|s| s.topic.clone()).collect();
    for sub in declared {
        match current.get(&sub.topic) {
            None => {
                current.insert(sub.topic.clone(), sub);
                changed = true;
            }
            Some(old) if sub.sub_version > old.sub_version => {
                if old.sub_string != sub.sub_string {
                    changed = true;
                }
                current.insert(sub.topic.clone(), sub);
            }
            Some(_) => {}
        }
    }
    let before = current.len();
    current.retain(|topic, _| declared_topics.contains(topic));
    changed || current.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_updates_follow_versions() {
        let mut current = BTreeMap::new();
        let a1 = SubscriptionData::from_tag_expression("A", "x", 1);
        assert!(update_subscriptions(&mut current, vec![a1.clone()]));
        assert!(!update_subscriptions(&mut current, vec![a1.clone()]));
        let a0 = SubscriptionData::from_tag_expression("A", "y", 0);
        assert!(
            !update_subscriptions(&mut current, vec![a0]),
            "older version ignored"
        );
        let a2 = SubscriptionData::from_tag_expression("A", "y", 2);
        assert!(update_subscriptions(&mut current, vec![a2.clone()]));
        assert_eq!(current["A"].sub_string, "y");
        let b = SubscriptionData::from_tag_expression("B", "*", 1);
        assert!(update_subscriptions(&mut current, vec![b]));
        assert!(!current.contains_key("A"));
    }
}
