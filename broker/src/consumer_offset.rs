//! Committed consumer offsets per `topic@group` and queue: `config/consumerOffset.json`,
//! snapshotted every `flushConsumerOffsetInterval` and at shutdown.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fennec_protocol::body::ConsumerOffsetWrapper;
use parking_lot::RwLock;

use crate::persist::{self, Persister};

/// Separator of the `topic@group` key.
pub const TOPIC_GROUP_SEPARATOR: char = '@';

pub struct ConsumerOffsetManager {
    path: PathBuf,
    persister: Arc<Persister>,
    table: RwLock<HashMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

impl ConsumerOffsetManager {
    pub fn load(path: PathBuf, persister: Arc<Persister>) -> std::io::Result<Self> {
        let wrapper: ConsumerOffsetWrapper = persist::load(&path)?.unwrap_or_default();
        Ok(ConsumerOffsetManager {
            path,
            persister,
            table: RwLock::new(wrapper.offset_table.into_iter().collect()),
            dirty: AtomicBool::new(false),
        })
    }

    /// Records a committed offset.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let k = key(topic, group);
        let mut table = self.table.write();
        match table.get_mut(&k) {
            Some(queues) => {
                queues.insert(queue_id, offset);
            }
            None => {
                table.insert(k, BTreeMap::from([(queue_id, offset)]));
            }
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// The committed offset, if any.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .read()
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
    }

    /// Every queue offset of a group on a topic.
    pub fn queue_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .read()
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Topics a group has committed offsets for.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        self.table
            .read()
            .keys()
            .filter_map(|k| k.rsplit_once(TOPIC_GROUP_SEPARATOR))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_string())
            .collect()
    }

    /// Every group with committed offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.table
            .read()
            .keys()
            .filter_map(|k| k.rsplit_once(TOPIC_GROUP_SEPARATOR))
            .filter(|(t, _)| *t == topic)
            .map(|(_, g)| g.to_string())
            .collect()
    }

    /// All groups with committed offsets.
    pub fn groups(&self) -> Vec<String> {
        let mut g: Vec<String> = self
            .table
            .read()
            .keys()
            .filter_map(|k| k.rsplit_once(TOPIC_GROUP_SEPARATOR))
            .map(|(_, g)| g.to_string())
            .collect();
        g.sort();
        g.dedup();
        g
    }

    /// Forgets the offsets of `topic` (topic deletion).
    pub fn remove_topic(&self, topic: &str) {
        self.table.write().retain(|k, _| {
            k.rsplit_once(TOPIC_GROUP_SEPARATOR)
                .is_none_or(|(t, _)| t != topic)
        });
        self.dirty.store(true, Ordering::Release);
    }

    /// Forgets the offsets of `group`.
    pub fn remove_group(&self, group: &str) {
        self.table.write().retain(|k, _| {
            k.rsplit_once(TOPIC_GROUP_SEPARATOR)
                .is_none_or(|(_, g)| g != group)
        });
        self.dirty.store(true, Ordering::Release);
    }

    /// A slave takes its master's offsets (GET_ALL_CONSUMER_OFFSET): every queue the master
    /// knows gets the master's offset; queues only the slave knows (committed to it while
    /// the master was down) keep theirs.
    pub fn adopt(&self, master: ConsumerOffsetWrapper) {
        let mut table = self.table.write();
        for (k, queues) in master.offset_table {
            let mine = table.entry(k).or_default();
            for (queue_id, offset) in queues {
                if mine.insert(queue_id, offset) != Some(offset) {
                    self.dirty.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Writes a snapshot now and completes once it is on disk (acknowledged commits under
    /// SYNC_FLUSH).
    pub async fn persist_durably(&self) {
        self.dirty.store(true, Ordering::Release);
        self.persist();
        self.persister.written().await;
    }

    /// Hands a snapshot to the persister if anything changed since the last one.
    pub fn persist(&self) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let wrapper = ConsumerOffsetWrapper {
            offset_table: self
                .table
                .read()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        self.persister.submit(
            self.path.clone(),
            serde_json::to_vec_pretty(&wrapper).unwrap_or_default(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_persist_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        let p = Arc::new(Persister::start().unwrap());
        let m = ConsumerOffsetManager::load(path.clone(), p.clone()).unwrap();
        m.commit("G", "T", 0, 5);
        m.commit("G", "T", 1, 7);
        m.commit("G", "T@x", 0, 1);
        m.commit("H", "U", 3, 9);
        assert_eq!(m.query("G", "T", 1), Some(7));
        assert_eq!(m.query("G", "T", 2), None);
        assert_eq!(m.groups(), ["G", "H"]);
        let mut topics = m.topics_of_group("G");
        topics.sort();
        assert_eq!(topics, ["T", "T@x"]);
        m.persist();
        p.sync();
        let again = ConsumerOffsetManager::load(path, p.clone()).unwrap();
        assert_eq!(
            again.queue_offsets("G", "T"),
            BTreeMap::from([(0, 5), (1, 7)])
        );
        again.remove_topic("T");
        assert_eq!(again.query("G", "T", 0), None);
        assert_eq!(again.query("H", "U", 3), Some(9));
        p.stop();
    }
}
