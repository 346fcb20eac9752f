//! Delivery progress on disk, written by the delivery thread every second and at shutdown
//! with `fennec_common::fs::write_atomically` (a crash leaves the old or the new file whole,
//! with a `.bak` to fall back to):
//! * `config/delayOffset.json`: `{"offsetTable":{level:offset}}` as RocketMQ writes it;
//! * `config/timercheck` (Fennec's, `key=value` lines): the timer enqueue offset and gather
//!   cursor, and the CommitLog offset from which a restart scans for deliveries made after
//!   this checkpoint.
//!
//! `delayOffset.json` is written first: a crash between the two leaves newer level offsets
//! with an older scan offset, and the scan then finds a superset of the deliveries since.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use fennec_common::fs::{backup_path, write_atomically};
use fennec_common::properties_file;
use fennec_protocol::body::DelayOffsetTable;
use fennec_protocol::{decode_body, encode_body};

use crate::error::StoreError;

/// `config/timercheck`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerCheckpoint {
    /// Deliveries at or after this CommitLog offset are found by scanning.
    pub commit_log_offset: i64,
    /// Timers due before this (ms since the epoch) are delivered.
    pub cursor_ms: i64,
    /// Timer queue entries below this are linked into the wheel.
    pub enqueue_offset: i64,
}

impl TimerCheckpoint {
    fn encode(&self) -> Vec<u8> {
        format!(
            "commitLogOffset={}\ncursorMs={}\nenqueueOffset={}\n",
            self.commit_log_offset, self.cursor_ms, self.enqueue_offset
        )
        .into_bytes()
    }

    fn decode(bytes: &[u8]) -> Result<TimerCheckpoint, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        let props = properties_file::parse(text, "timercheck").map_err(|e| e.to_string())?;
        let field = |key: &str| {
            props
                .iter()
                .find(|p| p.key == key)
                .ok_or_else(|| format!("{key} is missing"))?
                .value
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("{key} is not a number"))
        };
        Ok(TimerCheckpoint {
            commit_log_offset: field("commitLogOffset")?,
            cursor_ms: field("cursorMs")?,
            enqueue_offset: field("enqueueOffset")?,
        })
    }
}

/// What was last written, to skip unchanged rewrites.
#[derive(Debug)]
pub(crate) struct ProgressFiles {
    delay_path: PathBuf,
    timer_path: PathBuf,
    written: Option<(Vec<u8>, Vec<u8>)>,
}

/// Reads a file with `decode`, falling back to its `.bak`; `None` when neither exists.
fn load<T>(
    path: &Path,
    decode: impl Fn(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, StoreError> {
    for candidate in [path.to_path_buf(), backup_path(path)] {
        match std::fs::read(&candidate) {
            Ok(bytes) => match decode(&bytes) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => {
                    tracing::warn!(path = %candidate.display(), "unreadable progress file, trying its backup: {e}")
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("read", &candidate)(e)),
        }
    }
    Ok(None)
}

impl ProgressFiles {
    pub(crate) fn new(config_dir: &Path) -> ProgressFiles {
        ProgressFiles {
            delay_path: config_dir.join("delayOffset.json"),
            timer_path: config_dir.join("timercheck"),
            written: None,
        }
    }

    /// The saved level offsets (none when the file is missing).
    pub(crate) fn load_levels(&self) -> Result<BTreeMap<i32, i64>, StoreError> {
        let decode = |b: &[u8]| decode_body::<DelayOffsetTable>(b).map_err(|e| e.to_string());
        Ok(load(&self.delay_path, decode)?
            .map(|t| t.offset_table)
            .unwrap_or_default())
    }

    /// The saved timer checkpoint, if any.
    pub(crate) fn load_timer(&self) -> Result<Option<TimerCheckpoint>, StoreError> {
        load(&self.timer_path, TimerCheckpoint::decode)
    }

    /// Writes only the level offsets (a slave, which delivers nothing itself).
    pub(crate) fn write_levels(&mut self, levels: &DelayOffsetTable) -> Result<(), StoreError> {
        write_atomically(&self.delay_path, &encode_body(levels))
            .map_err(StoreError::io("write", &self.delay_path))?;
        self.written = None;
        Ok(())
    }

    /// Writes both files (level offsets first) unless they hold this content already.
    pub(crate) fn write(
        &mut self,
        levels: &DelayOffsetTable,
        timer: &TimerCheckpoint,
    ) -> Result<(), StoreError> {
        let content = (encode_body(levels).to_vec(), timer.encode());
        if self.written.as_ref() == Some(&content) {
            return Ok(());
        }
        write_atomically(&self.delay_path, &content.0)
            .map_err(StoreError::io("write", &self.delay_path))?;
        write_atomically(&self.timer_path, &content.1)
            .map_err(StoreError::io("write", &self.timer_path))?;
        self.written = Some(content);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reads_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = ProgressFiles::new(dir.path());
        assert!(files.load_levels().unwrap().is_empty());
        assert_eq!(files.load_timer().unwrap(), None);
        let levels = DelayOffsetTable {
            offset_table: BTreeMap::from([(1, 4), (3, 9)]),
        };
        let timer = TimerCheckpoint {
            commit_log_offset: 100,
            cursor_ms: 5000,
            enqueue_offset: 7,
        };
        files.write(&levels, &timer).unwrap();
        files.write(&levels, &timer).unwrap();
        let again = ProgressFiles::new(dir.path());
        assert_eq!(again.load_levels().unwrap(), levels.offset_table);
        assert_eq!(again.load_timer().unwrap(), Some(timer));
        // RocketMQ's own form of delayOffset.json reads too.
        std::fs::write(
            dir.path().join("delayOffset.json"),
            b"{\"offsetTable\":{2:5}}",
        )
        .unwrap();
        assert_eq!(again.load_levels().unwrap()[&2], 5);
        std::fs::write(dir.path().join("timercheck"), b"{torn").unwrap();
        std::fs::write(dir.path().join("timercheck.bak"), timer.encode()).unwrap();
        assert_eq!(again.load_timer().unwrap(), Some(timer));
    }
}
