//! [`SendResult`] and [`SendStatus`]: what a successful send reports.

use fennec_protocol::body::MessageQueue;
use fennec_remoting::ResponseCode;

/// How a stored message was stored (the send response codes 0, 10, 12, 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored as requested.
    SendOk,
    /// Stored, but the synchronous flush to disk timed out.
    FlushDiskTimeout,
    /// Stored on the master, but the slave did not confirm in time.
    FlushSlaveTimeout,
    /// Stored on the master; no slave was available to replicate to.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status a send response code stands for; `None` when the code is an error.
    pub fn from_code(code: i32) -> Option<SendStatus> {
        match ResponseCode::try_from(code).ok()? {
            ResponseCode::SUCCESS => Some(SendStatus::SendOk),
            ResponseCode::FLUSH_DISK_TIMEOUT => Some(SendStatus::FlushDiskTimeout),
            ResponseCode::FLUSH_SLAVE_TIMEOUT => Some(SendStatus::FlushSlaveTimeout),
            ResponseCode::SLAVE_NOT_AVAILABLE => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }
}

/// The outcome of a send that the broker stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The message's UNIQ_KEY, the id applications see; comma-joined for a batch.
    pub msg_id: String,
    /// The broker's offset msgId (store host + commit log offset); comma-joined for a batch.
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub message_queue: MessageQueue,
    /// Its offset in the queue (the first one, for a batch).
    pub queue_offset: i64,
    /// The broker's `transactionId` (the UNIQ_KEY on every success).
    pub transaction_id: Option<String>,
    /// `MSG_REGION` of the broker, `DefaultRegion` unless configured.
    pub region_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes_map_to_statuses() {
        assert_eq!(SendStatus::from_code(0), Some(SendStatus::SendOk));
        assert_eq!(
            SendStatus::from_code(10),
            Some(SendStatus::FlushDiskTimeout)
        );
        assert_eq!(
            SendStatus::from_code(11),
            Some(SendStatus::SlaveNotAvailable)
        );
        assert_eq!(
            SendStatus::from_code(12),
            Some(SendStatus::FlushSlaveTimeout)
        );
        for code in [1, 2, 13, 14, 17, 9999] {
            assert_eq!(SendStatus::from_code(code), None);
        }
    }
}
