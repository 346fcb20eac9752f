//! The offset file of a broadcasting consumer, by default
//! `~/.rocketmq_offsets/<clientId>/<group>/offsets.json`. Its content is what Java's
//! LocalFileOffsetStore writes, fastjson's object-key form:
//!
//! ```text
//! {"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:42}}
//! ```
//!
//! Writes are atomic: a temporary file is written and fsynced, renamed over the old one,
//! and the directory is fsynced. These functions block; callers run them off the async
//! workers.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use fennec_protocol::body::{MessageQueue, MqMap};
use fennec_protocol::{decode_body, BodyError};
use serde::Deserialize;

use crate::error::ClientError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OffsetTable {
    #[serde(default)]
    offset_table: MqMap<i64>,
}

/// `<home>/.rocketmq_offsets/<client_id>/<group>/offsets.json`.
pub(crate) fn default_path(client_id: &str, group: &str) -> PathBuf {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".rocketmq_offsets")
        .join(client_id)
        .join(group)
        .join("offsets.json")
}

/// Reads the offsets in `path`; a missing file holds none.
pub(crate) fn read(path: &Path) -> Result<HashMap<MessageQueue, i64>, ClientError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => {
            return Err(ClientError::OffsetFile {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(&bytes).map_err(|source| ClientError::OffsetFileFormat {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses the content of an offset file (what `read` reads, and what the `json_file` fuzz
/// target feeds).
pub fn parse(bytes: &[u8]) -> Result<HashMap<MessageQueue, i64>, BodyError> {
    let table: OffsetTable = decode_body(bytes)?;
    Ok(table.offset_table.0.into_iter().collect())
}

/// Replaces `path` with `offsets`, atomically.
pub(crate) fn write(path: &Path, offsets: &HashMap<MessageQueue, i64>) -> Result<(), ClientError> {
    let io_err = |source| ClientError::OffsetFile {
        path: path.to_path_buf(),
        source,
    };
    let mut entries: Vec<(MessageQueue, i64)> =
        offsets.iter().map(|(mq, o)| (mq.clone(), *o)).collect();
    entries.sort();
    let mut json = String::from("{\"offsetTable\":");
    MqMap(entries).write_json(&mut json);
    json.push('}');
    fennec_common::fs::write_atomically(path, json.as_bytes()).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c@1").join("G").join("offsets.json");
        assert!(read(&path).unwrap().is_empty());
        let mut offsets = HashMap::new();
        offsets.insert(MessageQueue::new("T", "broker-a", 1), 7);
        offsets.insert(MessageQueue::new("T", "broker-a", 0), 42);
        write(&path, &offsets).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:42,{"brokerName":"broker-a","queueId":1,"topic":"T"}:7}}"#
        );
        assert_eq!(read(&path).unwrap(), offsets);
        offsets.insert(MessageQueue::new("T", "broker-a", 0), 43);
        write(&path, &offsets).unwrap();
        assert_eq!(read(&path).unwrap(), offsets);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        fs::write(&path, b"{\"offsetTable\":{oops").unwrap();
        assert!(matches!(
            read(&path),
            Err(ClientError::OffsetFileFormat { .. })
        ));
        assert!(default_path("10.0.0.1@1#2", "G")
            .ends_with(".rocketmq_offsets/10.0.0.1@1#2/G/offsets.json"));
    }
}
