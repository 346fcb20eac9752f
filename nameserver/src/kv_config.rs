//! The KV store (RocketMQ's KVConfigManager): namespaced key/value pairs set by admin tools,
//! the only nameserver state that survives a restart. Namespace `ORDER_TOPIC_CONFIG` maps a
//! topic to its `"broker-a:4;broker-b:4"` ordered-queue layout.
//!
//! Disk layout (`kvConfigPath`, default `~/namesrv/kvConfig.json`), as RocketMQ writes it:
//!
//! ```json
//! {"configTable":{"ORDER_TOPIC_CONFIG":{"TopicA":"broker-a:4"}}}
//! ```
//!
//! Every change is written before it is acknowledged: the whole table goes to `<path>.tmp`,
//! which is fsynced and renamed over the file, and then the directory is fsynced. Writing
//! runs on tokio's blocking pool, never on a worker thread. A writer takes the newest
//! snapshot under the file lock, so concurrent changes reach the disk in order and a writer
//! that finds its change already written by a later one does nothing.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use fennec_protocol::{decode_body, BodyError};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::NamesrvError;

/// Namespace holding the ordered-queue layout of ordered topics.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// namespace → key → value.
type Namespaces = BTreeMap<String, BTreeMap<String, String>>;

/// The persisted file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KvFile {
    #[serde(default)]
    config_table: Namespaces,
}

/// The KV store; cheap to clone.
#[derive(Debug, Clone)]
pub struct KvConfig {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    table: RwLock<Table>,
    /// Version of the table last written to disk. Held for the whole write.
    persisted: Mutex<u64>,
}

#[derive(Debug, Default)]
struct Table {
    /// Bumped on every change.
    version: u64,
    namespaces: Namespaces,
}

/// Parses the content of a KV file (fastjson quirks accepted) into namespace → key → value;
/// empty or blank content is an empty table. What `KvConfig::load` reads, and what the
/// `json_file` fuzz target feeds.
pub fn parse_kv_file(text: &[u8]) -> Result<BTreeMap<String, BTreeMap<String, String>>, BodyError> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Namespaces::new());
    }
    Ok(decode_body::<KvFile>(text)?.config_table)
}

impl KvConfig {
    /// Loads the store from `path`; a missing or empty file is an empty store, a file that
    /// does not parse is an error (and is left as it is).
    pub async fn load(path: PathBuf) -> Result<Self, NamesrvError> {
        let read_path = path.clone();
        let text = tokio::task::spawn_blocking(move || match fs::read(&read_path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(NamesrvError::KvLoad {
                path: read_path,
                source,
            }),
        })
        .await
        .map_err(NamesrvError::KvTask)??;
        let namespaces = parse_kv_file(&text).map_err(|source| NamesrvError::KvParse {
            path: path.clone(),
            source,
        })?;
        let pairs: usize = namespaces.values().map(BTreeMap::len).sum();
        tracing::info!(path = %path.display(), pairs, "KV config loaded");
        Ok(KvConfig {
            inner: Arc::new(Inner {
                path,
                table: RwLock::new(Table {
                    version: 0,
                    namespaces,
                }),
                persisted: Mutex::new(0),
            }),
        })
    }

    /// One value.
    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.inner
            .table
            .read()
            .namespaces
            .get(namespace)
            .and_then(|ns| ns.get(key))
            .cloned()
    }

    /// Every pair of a namespace, if it has any.
    pub fn namespace(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.inner.table.read().namespaces.get(namespace).cloned()
    }

    /// Sets a value and persists the store.
    pub async fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), NamesrvError> {
        {
            let mut table = self.inner.table.write();
            let ns = table.namespaces.entry(namespace.to_string()).or_default();
            let old = ns.insert(key.to_string(), value.to_string());
            if old.as_deref() != Some(value) {
                table.version += 1;
                tracing::info!(namespace, key, value, old = ?old, "KV config set");
            }
        }
        self.persist().await
    }

    /// Removes a value (and its namespace once empty) and persists the store.
    pub async fn delete(&self, namespace: &str, key: &str) -> Result<(), NamesrvError> {
        {
            let mut table = self.inner.table.write();
            let Some(ns) = table.namespaces.get_mut(namespace) else {
                return Ok(());
            };
            let old = ns.remove(key);
            if ns.is_empty() {
                table.namespaces.remove(namespace);
            }
            if old.is_some() {
                table.version += 1;
                tracing::info!(namespace, key, old = ?old, "KV config deleted");
            }
        }
        self.persist().await
    }

    /// Writes the current table unless a newer or equal one is already on disk.
    async fn persist(&self) -> Result<(), NamesrvError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.persist())
            .await
            .map_err(NamesrvError::KvTask)?
    }
}

impl Inner {
    fn persist(&self) -> Result<(), NamesrvError> {
        let mut persisted = self.persisted.lock();
        let (version, json) = {
            let table = self.table.read();
            if table.version <= *persisted {
                return Ok(());
            }
            let file = KvFileRef {
                config_table: &table.namespaces,
            };
            (table.version, serde_json::to_vec_pretty(&file))
        };
        let error = |source| NamesrvError::KvPersist {
            path: self.path.clone(),
            source,
        };
        let json = json.map_err(|e| error(io::Error::other(e)))?;
        fennec_common::fs::write_atomically(&self.path, &json).map_err(error)?;
        *persisted = version;
        Ok(())
    }
}

/// [`KvFile`] borrowing the table, so a snapshot is serialized without a copy.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KvFileRef<'a> {
    config_table: &'a Namespaces,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("kvConfig.json");
        let kv = KvConfig::load(path.clone()).await.unwrap();
        assert_eq!(kv.get(ORDER_TOPIC_CONFIG, "T"), None);

        kv.put(ORDER_TOPIC_CONFIG, "T", "broker-a:4").await.unwrap();
        kv.put("NS", "k1", "v1").await.unwrap();
        kv.put("NS", "k2", "v2").await.unwrap();
        kv.delete("NS", "k1").await.unwrap();
        kv.delete("NS", "missing").await.unwrap();
        kv.delete("NO_SUCH_NS", "k").await.unwrap();

        let on_disk: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            on_disk,
            serde_json::json!({"configTable": {
                "NS": {"k2": "v2"},
                "ORDER_TOPIC_CONFIG": {"T": "broker-a:4"},
            }})
        );
        assert!(!dir.path().join("sub").join("kvConfig.json.tmp").exists());

        let reloaded = KvConfig::load(path.clone()).await.unwrap();
        assert_eq!(
            reloaded.get(ORDER_TOPIC_CONFIG, "T").as_deref(),
            Some("broker-a:4")
        );
        assert_eq!(
            reloaded.namespace("NS"),
            Some(BTreeMap::from([("k2".to_string(), "v2".to_string())]))
        );
        reloaded.delete("NS", "k2").await.unwrap();
        assert_eq!(reloaded.namespace("NS"), None);
        let again = KvConfig::load(path).await.unwrap();
        assert_eq!(again.namespace("NS"), None);
    }

    #[tokio::test]
    async fn concurrent_puts_all_reach_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        let kv = KvConfig::load(path.clone()).await.unwrap();
        let puts: Vec<_> = (0..20)
            .map(|i| {
                let kv = kv.clone();
                tokio::spawn(async move { kv.put("NS", &format!("k{i}"), "v").await })
            })
            .collect();
        for p in puts {
            p.await.unwrap().unwrap();
        }
        let reloaded = KvConfig::load(path).await.unwrap();
        assert_eq!(reloaded.namespace("NS").unwrap().len(), 20);
    }

    #[tokio::test]
    async fn corrupt_file_is_an_error_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        fs::write(&path, b"{\"configTable\":{\"NS\":").unwrap();
        let err = KvConfig::load(path.clone()).await.unwrap_err();
        assert!(matches!(err, NamesrvError::KvParse { .. }), "{err:?}");
        assert!(err.to_string().contains("kvConfig.json"));
        assert_eq!(fs::read(&path).unwrap(), b"{\"configTable\":{\"NS\":");
    }

    #[tokio::test]
    async fn reads_java_written_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        fs::write(
            &path,
            "{\n\t\"configTable\":{\n\t\t\"ORDER_TOPIC_CONFIG\":{\n\t\t\t\"T\":\"broker-a:8\"\n\t\t}\n\t}\n}",
        )
        .unwrap();
        let kv = KvConfig::load(path).await.unwrap();
        assert_eq!(
            kv.get(ORDER_TOPIC_CONFIG, "T").as_deref(),
            Some("broker-a:8")
        );
    }

    #[tokio::test]
    async fn persist_failure_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        let kv = KvConfig::load(sub.join("kvConfig.json")).await.unwrap();
        // The parent "directory" is a regular file, so the write cannot succeed.
        fs::write(&sub, b"x").unwrap();
        let err = kv.put("NS", "k", "v").await.unwrap_err();
        assert!(matches!(err, NamesrvError::KvPersist { .. }), "{err:?}");
        // The value stays in memory, and the next change retries the write.
        assert_eq!(kv.get("NS", "k").as_deref(), Some("v"));
        fs::remove_file(&sub).unwrap();
        kv.put("NS", "k2", "v2").await.unwrap();
        let reloaded = KvConfig::load(sub.join("kvConfig.json")).await.unwrap();
        assert_eq!(reloaded.namespace("NS").unwrap().len(), 2);
    }
}
