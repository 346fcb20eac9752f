//! The store's side of master/slave replication (the network side is the broker's `ha/`).
//!
//! * A master reads raw CommitLog bytes from any offset ([`MessageStore::commit_log_data`])
//!   and waits for new ones ([`MessageStore::wait_for_growth`]).
//! * A slave appends the bytes its master sent, unchanged, at the end of its own log
//!   ([`MessageStore::append_replicated`]). Before anything is written the bytes are checked
//!   entry by entry with the same check crash recovery uses (`entry_check.rs`: magic, size,
//!   PHYSICALOFFSET equal to the position, room in the file, body CRC), so bytes that do not
//!   continue this log exactly are refused instead of stored. Only whole entries are
//!   appended; the caller keeps a partial one until the rest arrives. The dispatcher then
//!   builds the slave's ConsumeQueues and IndexFiles from them as from any append.

use std::time::Duration;

use bytes::Bytes;
use fennec_protocol::message::record::Entry;

use super::commit_log::{AppendError, Roll};
use super::entry_check::{check_entry, Checked, EntryProblem};
use super::message_store::MessageStore;

/// Why replicated bytes were not appended.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The bytes do not continue this log: another offset, or a damaged or foreign entry.
    #[error("replicated bytes do not continue this commit log at offset {offset}: {reason}")]
    Diverged { offset: i64, reason: String },
    /// The store refuses appends (shut down, poisoned, disk full).
    #[error("the store refuses replicated bytes: {0}")]
    Refused(String),
}

/// What [`MessageStore::append_replicated`] did with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicated {
    /// Bytes of the input consumed (whole entries; 0 = the first entry is incomplete).
    pub consumed: usize,
    /// Bytes after the consumed ones that fill the rest of a file ended by a blank marker:
    /// the master sends them, the slave's log already counts them, the caller skips them.
    pub skip: usize,
}

impl MessageStore {
    /// Up to `max` CommitLog bytes from `offset`, zero-copy, never past the end of the file
    /// holding `offset`; `None` when nothing is written there (yet), or the file is gone.
    pub fn commit_log_data(&self, offset: i64, max: usize) -> Option<Bytes> {
        // Only what the log has published: a file's write position moves just before the
        // log's end does, and a slave must never hold more than its master reports.
        let published = usize::try_from(self.commit_log.max_offset() - offset).ok()?;
        let file = self.commit_log.files().find(offset)?;
        let pos = usize::try_from(offset - file.start_offset()).ok()?;
        let len = file
            .wrote_position()
            .checked_sub(pos)?
            .min(max)
            .min(published);
        if len == 0 {
            return None;
        }
        file.bytes(pos, len)
    }

    /// Whether an entry (a record that says it sits at `offset`, or a blank marker) starts
    /// at `offset`: where a slave whose log ends there may continue from.
    pub fn is_entry_start(&self, offset: i64) -> bool {
        self.commit_log
            .with_entry(offset, |_, _, e| match e {
                Entry::Record(r) => r.physical_offset() == offset,
                Entry::Blank { .. } => true,
            })
            .unwrap_or(false)
    }

    /// Waits until the CommitLog ends past `offset` or `timeout` elapses; returns whether it
    /// does.
    pub async fn wait_for_growth(&self, offset: i64, timeout: Duration) -> bool {
        self.growth
            .wait_beyond(offset, || self.commit_log.max_offset(), timeout)
            .await
    }

    /// Appends the whole entries at the start of `data`, which a master sent for CommitLog
    /// `offset` (the end of this log), unchanged; see the module docs.
    pub async fn append_replicated(
        &self,
        offset: i64,
        data: &[u8],
    ) -> Result<Replicated, ReplicaError> {
        if let Some(why) = self.health.refusal() {
            return Err(ReplicaError::Refused(why));
        }
        let end = self.commit_log.max_offset();
        if offset != end {
            return Err(ReplicaError::Diverged {
                offset,
                reason: format!("this log ends at {end}"),
            });
        }
        let file_size = self.commit_log.file_size();
        let left = file_size - usize::try_from(offset.rem_euclid(file_size as i64)).unwrap_or(0);
        let check_crc = true;
        let mut whole = 0;
        let mut blank = None;
        while whole < data.len() {
            let at = offset + whole as i64;
            match check_entry(&data[whole..], at, left - whole, check_crc) {
                Ok(Checked::Record(size)) => whole += size,
                Ok(Checked::Blank(remaining)) => {
                    if whole == 0 {
                        blank = Some(remaining);
                    }
                    break;
                }
                Err(EntryProblem::Incomplete { .. }) => break,
                // Append the good entries first; the next call reports the bad one.
                Err(EntryProblem::Bad(_)) if whole > 0 => break,
                Err(EntryProblem::Bad(reason)) => {
                    return Err(ReplicaError::Diverged { offset: at, reason })
                }
            }
        }
        let (bytes, skip) = match blank {
            Some(remaining) => {
                let marker = super::commit_log::END_FILE_MIN_BLANK_LENGTH;
                (&data[..marker], remaining - marker)
            }
            None if whole == 0 => {
                return Ok(Replicated {
                    consumed: 0,
                    skip: 0,
                })
            }
            None => (&data[..whole], 0),
        };
        loop {
            match self
                .commit_log
                .append_raw(offset, bytes, blank.is_some(), Roll::Defer)
            {
                Ok(()) => break,
                Err(AppendError::RollPending(start)) => self.commit_log.wait_next_file(start).await,
                Err(AppendError::Closed) => {
                    return Err(ReplicaError::Refused("store is shut down".into()))
                }
                Err(AppendError::File(e)) => return Err(ReplicaError::Refused(e.with_cause())),
            }
        }
        let new_end = self.commit_log.max_offset();
        self.dispatcher.notify();
        let _ = self.flusher.after_append(new_end, false);
        self.growth.notify();
        Ok(Replicated {
            consumed: bytes.len(),
            skip,
        })
    }

    /// Makes an empty log start at `offset` (a file start) instead of 0: a new slave of a
    /// master whose oldest files are deleted. Blocking: call from a blocking thread.
    pub fn start_replica_at(&self, offset: i64) -> Result<(), ReplicaError> {
        self.commit_log
            .restart_at(offset)
            .map_err(|e| ReplicaError::Refused(e.with_cause()))
    }
}
