//! Per-topic and per-consumer-group traffic counters: messages and stored bytes in (appended
//! for a topic) and out (delivered by pulls to a group). These are the counters that
//! GET_BROKER_RUNTIME_INFO, GET_CONSUME_STATS (a group's TPS) and the Prometheus metrics all
//! read; requests bump them with relaxed atomic adds.
//!
//! Lookups: a topic's [`TopicTraffic`] sits in its entry of the topic table
//! (`topic_config.rs`) and comes back with the topic's layout under the read lock the send
//! path takes anyway. A group's [`GroupTraffic`] per topic is found under a read lock of
//! [`GroupTrafficTable`] once per pull request (not per message); only the first pull of a
//! new (group, topic) pair takes the write lock.
//!
//! Bytes are whole stored records, as RocketMQ's TOPIC_PUT_SIZE and GROUP_GET_SIZE count
//! them: what the commit log grows by, and what a pull carries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

/// Messages and stored bytes counted by one counter pair.
#[derive(Debug, Default)]
pub struct Traffic {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Traffic {
    pub fn add(&self, messages: u64, bytes: u64) {
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// (messages, bytes) counted since start.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// Traffic into one topic (appended).
pub type TopicTraffic = Traffic;

/// Traffic out of one topic to one consumer group (delivered).
pub type GroupTraffic = Traffic;

/// group → topic → counters.
type GroupMap = HashMap<String, HashMap<String, Arc<GroupTraffic>>>;

/// Delivery counters of every (group, topic) pair seen since start.
#[derive(Debug, Default)]
pub struct GroupTrafficTable {
    groups: RwLock<GroupMap>,
}

impl GroupTrafficTable {
    /// The counters of `group` on `topic`, created on first use.
    pub fn of(&self, group: &str, topic: &str) -> Arc<GroupTraffic> {
        if let Some(t) = self.groups.read().get(group).and_then(|g| g.get(topic)) {
            return t.clone();
        }
        self.groups
            .write()
            .entry(group.to_string())
            .or_default()
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    /// Messages delivered to each group, over all its topics.
    pub fn messages_by_group(&self) -> HashMap<String, u64> {
        self.groups
            .read()
            .iter()
            .map(|(g, topics)| (g.clone(), topics.values().map(|t| t.totals().0).sum()))
            .collect()
    }

    /// `(group, topic, messages, bytes)` of every pair, sorted.
    pub fn snapshot(&self) -> Vec<(String, String, u64, u64)> {
        let mut rows: Vec<_> = self
            .groups
            .read()
            .iter()
            .flat_map(|(g, topics)| {
                topics.iter().map(move |(t, c)| {
                    let (m, b) = c.totals();
                    (g.clone(), t.clone(), m, b)
                })
            })
            .collect();
        rows.sort();
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_group_and_topic() {
        let table = GroupTrafficTable::default();
        table.of("G", "T").add(3, 300);
        table.of("G", "T").add(1, 100);
        table.of("G", "%RETRY%G").add(1, 50);
        table.of("H", "T").add(2, 20);
        assert_eq!(table.of("G", "T").totals(), (4, 400));
        assert_eq!(table.messages_by_group()["G"], 5);
        assert_eq!(
            table.snapshot(),
            vec![
                ("G".into(), "%RETRY%G".into(), 1, 50),
                ("G".into(), "T".into(), 4, 400),
                ("H".into(), "T".into(), 2, 20),
            ]
        );
    }
}
