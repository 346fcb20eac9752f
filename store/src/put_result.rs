//! The outcome of a put: [`PutMessageStatus`] (RocketMQ's names), [`AppendResult`] (where the
//! records went) and [`PendingPut`], the durability wait that follows an append.
//!
//! A put is two steps: the append (encode, lock, memcpy) returns a [`PendingPut`] at once;
//! [`PendingPut::wait_flush`] then waits, without blocking a tokio worker, for the flush
//! thread's group commit when SYNC_FLUSH asks for it. A later replication step can wait for
//! a slave the same way and merge its status with [`PutMessageResult::merge`].

use std::time::Duration;

use tokio::sync::oneshot;

/// RocketMQ's PutMessageStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMessageStatus {
    PutOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
    ServiceNotAvailable,
    CreateMappedFileFailed,
    MessageIllegal,
    PropertiesSizeExceeded,
    OsPageCacheBusy,
    UnknownError,
}

/// Where an append put its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// CommitLog offset of the first record.
    pub wrote_offset: i64,
    pub wrote_bytes: usize,
    pub store_timestamp: i64,
    /// Queue offset of the first record (0 for prepared/rollback records, which get none).
    pub queue_offset: i64,
    pub msg_num: usize,
    /// CommitLog offsets of the second and later records of a batch (empty for one message,
    /// so that single appends allocate nothing); see [`AppendResult::record_offsets`].
    pub later_offsets: Vec<i64>,
}

impl AppendResult {
    /// CommitLog offset of each record, in order.
    pub fn record_offsets(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.wrote_offset).chain(self.later_offsets.iter().copied())
    }
}

/// What a put returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMessageResult {
    pub status: PutMessageStatus,
    pub remark: Option<String>,
    /// Set whenever the records were appended, even if a durability wait then failed.
    pub append: Option<AppendResult>,
}

impl PutMessageResult {
    /// A put that appended nothing.
    pub fn failed(status: PutMessageStatus, remark: String) -> PutMessageResult {
        PutMessageResult {
            status,
            remark: Some(remark),
            append: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == PutMessageStatus::PutOk
    }

    /// Combines the outcome of a second durability wait (e.g. a slave acknowledgement):
    /// the first failure wins.
    pub fn merge(mut self, status: PutMessageStatus, remark: Option<String>) -> Self {
        if self.is_ok() && status != PutMessageStatus::PutOk {
            self.status = status;
            self.remark = remark;
        }
        self
    }
}

/// An appended put whose durability wait has not run yet.
#[derive(Debug)]
pub struct PendingPut {
    pub(crate) append: AppendResult,
    pub(crate) flush: Option<oneshot::Receiver<bool>>,
    pub(crate) timeout: Duration,
}

impl PendingPut {
    pub fn append_result(&self) -> &AppendResult {
        &self.append
    }

    /// Waits for the group commit when the put needs one (SYNC_FLUSH and WAIT=true), giving
    /// FlushDiskTimeout after `syncFlushTimeout` or if the flush failed.
    pub async fn wait_flush(self) -> PutMessageResult {
        let (status, remark) = match self.flush {
            None => (PutMessageStatus::PutOk, None),
            Some(rx) => match tokio::time::timeout(self.timeout, rx).await {
                Ok(Ok(true)) => (PutMessageStatus::PutOk, None),
                Ok(Ok(false)) => (
                    PutMessageStatus::FlushDiskTimeout,
                    Some("flush failed; the store is poisoned".to_string()),
                ),
                Ok(Err(_)) => (
                    PutMessageStatus::FlushDiskTimeout,
                    Some("flush service stopped before the flush".to_string()),
                ),
                Err(_) => (
                    PutMessageStatus::FlushDiskTimeout,
                    Some(format!("not flushed within {:?}", self.timeout)),
                ),
            },
        };
        PutMessageResult {
            status,
            remark,
            append: Some(self.append),
        }
    }
}
