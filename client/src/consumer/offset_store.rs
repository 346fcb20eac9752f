//! [`OffsetStore`]: a consumer group's consume offsets. The in-memory table moves as
//! messages are consumed; persisting writes it where the group's offsets live: the brokers
//! for clustering (UPDATE_CONSUMER_OFFSET to each queue's master, read back with
//! QUERY_CONSUMER_OFFSET), a local JSON file for broadcasting ([`super::offset_file`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use fennec_protocol::body::MessageQueue;
use futures_util::future::join_all;
use parking_lot::Mutex;

use super::offset_file;
use crate::error::ClientError;
use crate::instance::ClientInstance;

enum Backend {
    Remote {
        group: String,
        instance: Arc<ClientInstance>,
    },
    /// The path, locked while the file is written so that writes never interleave.
    Local { file: Arc<Mutex<PathBuf>> },
}

/// Offsets of one consumer group.
pub(crate) struct OffsetStore {
    table: Mutex<HashMap<MessageQueue, i64>>,
    backend: Backend,
}

impl std::fmt::Debug for OffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsetStore")
            .field("queues", &self.table.lock().len())
            .finish()
    }
}

impl OffsetStore {
    /// Offsets kept by the brokers (clustering).
    pub(crate) fn remote(group: &str, instance: Arc<ClientInstance>) -> Self {
        OffsetStore {
            table: Mutex::new(HashMap::new()),
            backend: Backend::Remote {
                group: group.to_string(),
                instance,
            },
        }
    }

    /// Offsets kept in the file at `path` (broadcasting), loaded now.
    pub(crate) async fn local(path: PathBuf) -> Result<Self, ClientError> {
        let read_path = path.clone();
        let loaded = tokio::task::spawn_blocking(move || offset_file::read(&read_path))
            .await
            .map_err(|e| ClientError::OffsetFile {
                path: path.clone(),
                source: std::io::Error::other(e),
            })??;
        Ok(OffsetStore {
            table: Mutex::new(loaded),
            backend: Backend::Local {
                file: Arc::new(Mutex::new(path)),
            },
        })
    }

    /// Sets the offset of `mq`; with `increase_only` an offset below the current one is
    /// ignored.
    pub(crate) fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut table = self.table.lock();
        let entry = table.entry(mq.clone()).or_insert(offset);
        if !increase_only || offset > *entry {
            *entry = offset;
        }
    }

    /// The offset held in memory.
    pub(crate) fn read(&self, mq: &MessageQueue) -> Option<i64> {
        self.table.lock().get(mq).copied()
    }

    /// The offset where the group's offsets live (the broker, or the loaded file);
    /// `Ok(None)` when the group has none for `mq`.
    pub(crate) async fn read_committed(
        &self,
        mq: &MessageQueue,
    ) -> Result<Option<i64>, ClientError> {
        match &self.backend {
            Backend::Local { .. } => Ok(self.read(mq)),
            Backend::Remote { group, instance } => {
                let addr = instance.read_addr(mq).await?;
                let offset = instance
                    .api()
                    .query_consumer_offset(&addr, group, mq)
                    .await?;
                if let Some(o) = offset {
                    self.update(mq, o, false);
                }
                Ok(offset)
            }
        }
    }

    /// Forgets `mq` (after a rebalance took it away).
    pub(crate) fn remove(&self, mq: &MessageQueue) {
        self.table.lock().remove(mq);
    }

    /// Persists every offset held: as oneway requests, or waiting for each answer
    /// (`wait`). Every offset is tried; the first failure is returned.
    pub(crate) async fn persist_all(&self, wait: bool) -> Result<(), ClientError> {
        let offsets: Vec<(MessageQueue, i64)> = self
            .table
            .lock()
            .iter()
            .map(|(mq, o)| (mq.clone(), *o))
            .collect();
        match &self.backend {
            Backend::Remote { group, instance } => {
                let sends = offsets
                    .iter()
                    .map(|(mq, offset)| commit_remote(instance, group, mq, *offset, !wait));
                join_all(sends).await.into_iter().collect()
            }
            Backend::Local { file } => self.write_file(file).await,
        }
    }

    /// Persists the offset of `mq`, waiting for the broker's answer.
    pub(crate) async fn persist(&self, mq: &MessageQueue) -> Result<(), ClientError> {
        let Some(offset) = self.read(mq) else {
            return Ok(());
        };
        match &self.backend {
            Backend::Remote { group, instance } => {
                commit_remote(instance, group, mq, offset, false).await
            }
            Backend::Local { file } => self.write_file(file).await,
        }
    }

    async fn write_file(&self, file: &Arc<Mutex<PathBuf>>) -> Result<(), ClientError> {
        let offsets = self.table.lock().clone();
        let file = file.clone();
        let path = file.lock().clone();
        tokio::task::spawn_blocking(move || {
            let path = file.lock();
            offset_file::write(&path, &offsets)
        })
        .await
        .map_err(|e| ClientError::OffsetFile {
            path,
            source: std::io::Error::other(e),
        })?
    }
}

async fn commit_remote(
    instance: &ClientInstance,
    group: &str,
    mq: &MessageQueue,
    offset: i64,
    oneway: bool,
) -> Result<(), ClientError> {
    let addr = instance.read_addr(mq).await?;
    instance
        .api()
        .update_consumer_offset(&addr, group, mq, offset, oneway)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_store_persists_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("G").join("offsets.json");
        let store = OffsetStore::local(path.clone()).await.unwrap();
        let q0 = MessageQueue::new("T", "b", 0);
        let q1 = MessageQueue::new("T", "b", 1);
        assert_eq!(store.read_committed(&q0).await.unwrap(), None);
        store.update(&q0, 10, true);
        store.update(&q0, 5, true);
        assert_eq!(
            store.read(&q0),
            Some(10),
            "increase-only ignores a smaller offset"
        );
        store.update(&q0, 5, false);
        assert_eq!(store.read(&q0), Some(5));
        store.update(&q1, 3, true);
        store.persist_all(true).await.unwrap();

        let reloaded = OffsetStore::local(path.clone()).await.unwrap();
        assert_eq!(reloaded.read_committed(&q0).await.unwrap(), Some(5));
        assert_eq!(reloaded.read(&q1), Some(3));

        reloaded.update(&q1, 4, true);
        reloaded.persist(&q1).await.unwrap();
        reloaded.remove(&q0);
        assert_eq!(reloaded.read(&q0), None);
        let again = OffsetStore::local(path).await.unwrap();
        assert_eq!(again.read(&q1), Some(4));
        assert_eq!(
            again.read(&q0),
            Some(5),
            "the file still held q0 at the last write"
        );
    }
}
