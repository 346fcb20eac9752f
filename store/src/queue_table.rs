//! [`ConsumeQueueTable`]: every [`ConsumeQueue`] by topic and queue id, loaded from
//! `consumequeue/<topic>/<queueId>/` and created by the dispatcher on first use. Dispatch
//! looks a queue up for every record, so the maps hash with [`SeededState`] (as the
//! append path's queue offsets do) instead of SipHash.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::consume_queue::ConsumeQueue;
use super::error::StoreError;
use super::queue_offsets::SeededState;

type Queues = HashMap<String, HashMap<i32, Arc<ConsumeQueue>, SeededState>, SeededState>;

#[derive(Debug)]
pub(crate) struct ConsumeQueueTable {
    root: PathBuf,
    file_size: usize,
    queues: RwLock<Queues>,
}

impl ConsumeQueueTable {
    /// Opens every queue directory under `root`.
    pub(crate) fn load(root: &Path, file_size: usize) -> Result<ConsumeQueueTable, StoreError> {
        std::fs::create_dir_all(root).map_err(StoreError::io("create directory", root))?;
        let mut queues = Queues::default();
        for topic_dir in std::fs::read_dir(root).map_err(StoreError::io("list", root))? {
            let topic_dir = topic_dir.map_err(StoreError::io("list", root))?;
            let path = topic_dir.path();
            let Some(topic) = topic_dir.file_name().to_str().map(str::to_string) else {
                tracing::warn!(path = %path.display(), "ignoring non-UTF-8 topic directory");
                continue;
            };
            if !path.is_dir() {
                continue;
            }
            for q in std::fs::read_dir(&path).map_err(StoreError::io("list", &path))? {
                let q = q.map_err(StoreError::io("list", &path))?;
                let Some(queue_id) = q.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
                else {
                    tracing::warn!(path = %q.path().display(), "ignoring unknown queue directory");
                    continue;
                };
                let cq = ConsumeQueue::load(&q.path(), &topic, queue_id, file_size)?;
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::new(cq));
            }
        }
        Ok(ConsumeQueueTable {
            root: root.to_path_buf(),
            file_size,
            queues: RwLock::new(queues),
        })
    }

    pub(crate) fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    /// The queue, created (directory and all) if missing.
    pub(crate) fn get_or_create(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = self.get(topic, queue_id) {
            return Ok(q);
        }
        let mut queues = self.queues.write();
        if let Some(q) = queues.get(topic).and_then(|t| t.get(&queue_id)) {
            return Ok(q.clone());
        }
        let dir = self.root.join(topic).join(queue_id.to_string());
        let cq = Arc::new(ConsumeQueue::load(&dir, topic, queue_id, self.file_size)?);
        queues
            .entry(topic.to_string())
            .or_default()
            .insert(queue_id, cq.clone());
        Ok(cq)
    }

    /// Every queue.
    pub(crate) fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .values()
            .flat_map(|t| t.values().cloned())
            .collect()
    }

    /// Queue ids of `topic`, sorted.
    pub(crate) fn queue_ids(&self, topic: &str) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .queues
            .read()
            .get(topic)
            .map(|t| t.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Drops the queues of `topic` and deletes their files.
    pub(crate) fn remove_topic(&self, topic: &str) {
        let removed = self.queues.write().remove(topic);
        if let Some(queues) = removed {
            for q in queues.values() {
                q.destroy();
            }
            let _ = std::fs::remove_dir(self.root.join(topic));
            tracing::info!(
                topic,
                queues = queues.len(),
                "deleted consume queues of topic"
            );
        }
    }
}
