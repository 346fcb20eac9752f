//! What a push consumer calls with messages: a [`MessageListener`] (any
//! `Fn(&[MessageExt], &ConsumeContext) -> ConsumeResult` closure is one) and what it returns.

use fennec_common::message::MessageExt;
use fennec_common::protocol::body::MessageQueue;

/// The outcome of consuming a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeResult {
    /// Consumed; the offset may move past these messages.
    Success,
    /// Not consumed; deliver again later (through the retry topic when clustering).
    ReconsumeLater,
}

/// Where a batch came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeContext {
    pub message_queue: MessageQueue,
}

/// Application code that consumes messages concurrently. It runs on tokio's blocking
/// thread pool, at most `consume_concurrency` calls at a time, so it may block. A panic
/// counts as [`ConsumeResult::ReconsumeLater`].
pub trait MessageListener: Send + Sync + 'static {
    fn consume(&self, msgs: &[MessageExt], context: &ConsumeContext) -> ConsumeResult;
}

impl<F> MessageListener for F
where
    F: Fn(&[MessageExt], &ConsumeContext) -> ConsumeResult + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[MessageExt], context: &ConsumeContext) -> ConsumeResult {
        self(msgs, context)
    }
}
