//! [`Appender`]: the append step of a put, shared by [`MessageStore`](super::MessageStore)
//! and the store's own delivery thread: refuse when the store is unhealthy, encode into the
//! thread's reused buffer, append under the CommitLog lock, dispatch on the caller's thread
//! (see `dispatch.rs`), wake a master's senders to its slaves and register the durability
//! wait with the flusher. A slave's store refuses every put.

use std::sync::Arc;
use std::time::Duration;

use super::commit_log::{AppendError, CommitLog, Roll};
use super::dispatch::Dispatcher;
use super::flush::Flusher;
use super::growth::GrowthSignal;
use super::health::StoreHealth;
use super::message::{encode_batch, encode_message, with_buffer, Encoded, Limits};
use super::message::{StoreBatch, StoreMessage};
use super::put_result::{PendingPut, PutMessageResult, PutMessageStatus};

/// Why an append did not produce a pending put.
pub(crate) enum Appended {
    /// Refused, with the answer for the sender.
    Refused(PutMessageResult),
    /// The next commit log file (starting here) is being prepared; nothing was written.
    RollPending(i64),
}

impl Appended {
    pub(crate) fn into_result(self) -> PutMessageResult {
        match self {
            Appended::Refused(r) => r,
            // A waiting append never defers.
            Appended::RollPending(start) => PutMessageResult::failed(
                PutMessageStatus::ServiceNotAvailable,
                format!("commit log file {start} is not ready"),
            ),
        }
    }
}

/// Appends encoded records to the CommitLog.
pub(crate) struct Appender {
    pub(crate) limits: Limits,
    pub(crate) sync_flush_timeout: Duration,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) health: Arc<StoreHealth>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) flusher: Arc<Flusher>,
    pub(crate) growth: Arc<GrowthSignal>,
    /// A slave's store takes only replicated bytes (`replica.rs`).
    pub(crate) slave: bool,
}

impl Appender {
    /// Appends one message; `roll` says whether a roll to a file not ready yet waits.
    pub(crate) fn append_message(
        &self,
        msg: &StoreMessage,
        roll: Roll,
    ) -> Result<PendingPut, Appended> {
        self.append_with(
            |enc| encode_message(msg, &self.limits, enc),
            &msg.topic,
            msg.queue_id,
            roll,
        )
    }

    /// Appends a batch (one lock acquisition, consecutive queue offsets).
    pub(crate) fn append_batch(
        &self,
        batch: &StoreBatch,
        roll: Roll,
    ) -> Result<PendingPut, Appended> {
        self.append_with(
            |enc| encode_batch(batch, &self.limits, enc),
            &batch.topic,
            batch.queue_id,
            roll,
        )
    }

    fn append_with(
        &self,
        encode: impl FnOnce(&mut Encoded) -> Result<(), PutMessageResult>,
        topic: &str,
        queue_id: i32,
        roll: Roll,
    ) -> Result<PendingPut, Appended> {
        if let Some(why) = self.health.refusal() {
            return Err(Appended::Refused(PutMessageResult::failed(
                PutMessageStatus::ServiceNotAvailable,
                why,
            )));
        }
        if self.slave {
            return Err(Appended::Refused(PutMessageResult::failed(
                PutMessageStatus::ServiceNotAvailable,
                "this broker is a slave: it stores only what its master replicates to it".into(),
            )));
        }
        let (append, wait) = with_buffer(|enc| {
            encode(enc).map_err(Appended::Refused)?;
            match self.commit_log.append(enc, topic, queue_id, roll) {
                Ok(r) => Ok((r, enc.wait)),
                Err(AppendError::RollPending(start)) => Err(Appended::RollPending(start)),
                Err(e) => Err(Appended::Refused(self.append_failure(e))),
            }
        })?;
        self.dispatcher.after_append();
        self.growth.notify();
        let end = append.wrote_offset + append.wrote_bytes as i64;
        let flush = self.flusher.after_append(end, wait);
        Ok(PendingPut {
            append,
            flush,
            timeout: self.sync_flush_timeout,
        })
    }

    /// The answer to an append that failed.
    fn append_failure(&self, e: AppendError) -> PutMessageResult {
        match e {
            AppendError::Closed => PutMessageResult::failed(
                PutMessageStatus::ServiceNotAvailable,
                "store is shut down".into(),
            ),
            AppendError::File(e) if e.is_no_space() => PutMessageResult::failed(
                PutMessageStatus::ServiceNotAvailable,
                self.health.refusal().unwrap_or_else(|| e.with_cause()),
            ),
            AppendError::File(e) => {
                let why = format!(
                    "cannot create or reserve commit log file: {}",
                    e.with_cause()
                );
                self.health.poison(why.clone());
                PutMessageResult::failed(PutMessageStatus::CreateMappedFileFailed, why)
            }
            AppendError::RollPending(start) => PutMessageResult::failed(
                PutMessageStatus::ServiceNotAvailable,
                format!("commit log file {start} is not ready"),
            ),
        }
    }
}
