//! The `checkpoint` file: 4 KiB, big-endian longs, rewritten in place and fdatasync'd.
//! ```text
//! @0   physicMsgTimestamp     STORETIMESTAMP of the last message before the log flush point
//! @8   logicsMsgTimestamp     STORETIMESTAMP of the last message dispatched and flushed
//! @16  indexMsgTimestamp      same, for the IndexFiles
//! @24  masterFlushedOffset    (RocketMQ HA; 0 until replication exists)
//! @32  confirmPhyOffset       the flushed commit log offset
//! Fennec fields:
//! @40  commitLogFlushedOffset commit log bytes below this are msync'd
//! @48  dispatchFlushedOffset  records below this are in the consume queues and IndexFiles,
//!                             and those were msync'd before this was written
//! @56  u32 magic "FNC1"       marks the Fennec fields as present
//! @60  u32 CRC32 of bytes 0..60
//! ```
//! A missing file, a wrong magic or a bad CRC reads as "no checkpoint": recovery then
//! scans from the start of the oldest CommitLog file.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use fennec_protocol::hash::crc32;

use super::error::StoreError;

const SIZE: usize = 4096;
const MAGIC: u32 = u32::from_be_bytes(*b"FNC1");

/// The checkpoint fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointData {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
    pub master_flushed_offset: i64,
    pub confirm_phy_offset: i64,
    pub commit_log_flushed_offset: i64,
    pub dispatch_flushed_offset: i64,
}

impl CheckpointData {
    fn encode(&self) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        let longs = [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
            self.commit_log_flushed_offset,
            self.dispatch_flushed_offset,
        ];
        for (i, v) in longs.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        b[56..60].copy_from_slice(&MAGIC.to_be_bytes());
        let crc = crc32(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<CheckpointData> {
        if b.len() < 64 {
            return None;
        }
        let u32_at = |p: usize| u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]);
        if u32_at(56) != MAGIC || u32_at(60) != crc32(&b[..60]) {
            return None;
        }
        let l = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i * 8..i * 8 + 8]);
            i64::from_be_bytes(a)
        };
        Some(CheckpointData {
            physic_msg_timestamp: l(0),
            logics_msg_timestamp: l(1),
            index_msg_timestamp: l(2),
            master_flushed_offset: l(3),
            confirm_phy_offset: l(4),
            commit_log_flushed_offset: l(5),
            dispatch_flushed_offset: l(6),
        })
    }
}

/// The open checkpoint file.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    path: PathBuf,
    file: File,
}

impl Checkpoint {
    /// Reads the checkpoint at `path`, if present and intact.
    pub(crate) fn read(path: &Path) -> Option<CheckpointData> {
        let bytes = std::fs::read(path).ok()?;
        CheckpointData::decode(&bytes)
    }

    pub(crate) fn open(path: &Path) -> Result<Checkpoint, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(StoreError::io("open", path))?;
        Ok(Checkpoint {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes and fdatasyncs the checkpoint.
    pub(crate) fn write(&self, data: &CheckpointData) -> Result<(), StoreError> {
        self.file
            .write_all_at(&data.encode(), 0)
            .and_then(|()| self.file.sync_data())
            .map_err(StoreError::io("write checkpoint", &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::read(&path), None);
        let cp = Checkpoint::open(&path).unwrap();
        let data = CheckpointData {
            physic_msg_timestamp: 1,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            master_flushed_offset: 0,
            confirm_phy_offset: 5,
            commit_log_flushed_offset: 5,
            dispatch_flushed_offset: 4,
        };
        cp.write(&data).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        assert_eq!(Checkpoint::read(&path), Some(data));
        let mut bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], &1i64.to_be_bytes());
        bytes[41] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Checkpoint::read(&path), None);
    }
}
