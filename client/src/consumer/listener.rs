//! What a push consumer calls with messages, and what it returns.
//!
//! Listeners are async-first: a [`MessageListener`] is a trait with an `async fn`, run on the
//! tokio runtime, so consuming code can await a database or a service without holding a
//! thread. Closures work too, as `|msgs: Vec<MessageExt>, ctx: ConsumeContext| async move
//! { .. }`. CPU-bound or blocking code goes in [`Blocking`], which runs it on tokio's
//! blocking pool.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use fennec_protocol::body::MessageQueue;
use fennec_protocol::message::MessageExt;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

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

/// Application code that consumes messages concurrently: at most `consume_concurrency` calls
/// run at once, on the runtime's workers. A panic counts as
/// [`ConsumeResult::ReconsumeLater`].
///
/// ```
/// use fennec_client::{ConsumeContext, ConsumeResult, MessageExt, MessageListener};
///
/// struct Audit;
///
/// impl MessageListener for Audit {
///     async fn consume(&self, msgs: &[MessageExt], _: &ConsumeContext) -> ConsumeResult {
///         for m in msgs {
///             println!("{} {} bytes", m.id(), m.body.len());
///         }
///         ConsumeResult::Success
///     }
/// }
/// ```
pub trait MessageListener: Send + Sync + 'static {
    fn consume(
        &self,
        msgs: &[MessageExt],
        context: &ConsumeContext,
    ) -> impl Future<Output = ConsumeResult> + Send;
}

/// A closure returning a future; it gets its own copy of the batch.
impl<F, Fut> MessageListener for F
where
    F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ConsumeResult> + Send,
{
    fn consume(
        &self,
        msgs: &[MessageExt],
        context: &ConsumeContext,
    ) -> impl Future<Output = ConsumeResult> + Send {
        self(msgs.to_vec(), context.clone())
    }
}

/// A synchronous listener for CPU-bound or blocking code, run on tokio's blocking pool.
///
/// ```
/// use fennec_client::{Blocking, ConsumeContext, ConsumeResult, MessageExt};
///
/// let listener = Blocking::new(|msgs: &[MessageExt], _: &ConsumeContext| {
///     std::thread::sleep(std::time::Duration::from_millis(msgs.len() as u64));
///     ConsumeResult::Success
/// });
/// # let _ = listener;
/// ```
pub struct Blocking<F> {
    f: Arc<F>,
}

impl<F> Blocking<F> {
    /// `f` as a listener: a concurrent [`MessageListener`] when it returns a
    /// [`ConsumeResult`], an [`super::OrderlyListener`] when it returns an
    /// [`super::OrderlyResult`].
    pub fn new(f: F) -> Self {
        Blocking { f: Arc::new(f) }
    }

    /// Runs `f` on the blocking pool with copies of the batch; `None` if it panicked.
    pub(crate) async fn run_blocking<R>(
        &self,
        msgs: &[MessageExt],
        context: &ConsumeContext,
    ) -> Option<R>
    where
        F: Fn(&[MessageExt], &ConsumeContext) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let f = self.f.clone();
        let (msgs, context) = (msgs.to_vec(), context.clone());
        // A panic in `f` surfaces as a join error.
        tokio::task::spawn_blocking(move || f(&msgs, &context))
            .await
            .ok()
    }
}

impl<F> std::fmt::Debug for Blocking<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blocking")
    }
}

impl<F> MessageListener for Blocking<F>
where
    F: Fn(&[MessageExt], &ConsumeContext) -> ConsumeResult + Send + Sync + 'static,
{
    async fn consume(&self, msgs: &[MessageExt], context: &ConsumeContext) -> ConsumeResult {
        self.run_blocking(msgs, context)
            .await
            .unwrap_or(ConsumeResult::ReconsumeLater)
    }
}

/// A listener behind a pointer: the object-safe form the consume services hold, for
/// listeners answering `R` ([`ConsumeResult`], or [`super::OrderlyResult`] for orderly ones).
pub(crate) trait DynListener<R = ConsumeResult>: Send + Sync {
    /// Runs the listener; a panic is reported as [`Panicked`].
    fn run<'a>(
        &'a self,
        msgs: &'a [MessageExt],
        context: &'a ConsumeContext,
    ) -> BoxFuture<'a, Result<R, Panicked>>;
}

/// The listener panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Panicked;

/// `consume` with its panic caught.
pub(crate) fn catching<'a, R>(
    consume: impl Future<Output = R> + Send + 'a,
) -> BoxFuture<'a, Result<R, Panicked>> {
    AssertUnwindSafe(consume)
        .catch_unwind()
        .map(|r| r.map_err(|_| Panicked))
        .boxed()
}

impl<L: MessageListener> DynListener for L {
    fn run<'a>(
        &'a self,
        msgs: &'a [MessageExt],
        context: &'a ConsumeContext,
    ) -> BoxFuture<'a, Result<ConsumeResult, Panicked>> {
        catching(self.consume(msgs, context))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The context of a batch of queue 0 of topic T.
    pub(crate) fn context() -> ConsumeContext {
        ConsumeContext {
            message_queue: MessageQueue::new("T", "b", 0),
        }
    }

    #[tokio::test]
    async fn closures_blocking_and_panics() {
        let msgs = vec![MessageExt::default(); 3];
        let closure = |msgs: Vec<MessageExt>, _: ConsumeContext| async move {
            if msgs.len() == 3 {
                ConsumeResult::Success
            } else {
                ConsumeResult::ReconsumeLater
            }
        };
        assert_eq!(
            closure.run(&msgs, &context()).await,
            Ok(ConsumeResult::Success)
        );

        let blocking = Blocking::new(|msgs: &[MessageExt], _: &ConsumeContext| {
            assert_eq!(msgs.len(), 3);
            ConsumeResult::ReconsumeLater
        });
        assert_eq!(
            blocking.run(&msgs, &context()).await,
            Ok(ConsumeResult::ReconsumeLater)
        );

        let panicking = |_: Vec<MessageExt>, _: ConsumeContext| async move {
            if true {
                panic!("listener bug");
            }
            ConsumeResult::Success
        };
        assert_eq!(panicking.run(&msgs, &context()).await, Err(Panicked));
        let blocking_panic =
            Blocking::new(|_: &[MessageExt], _: &ConsumeContext| -> ConsumeResult {
                panic!("listener bug")
            });
        assert_eq!(
            blocking_panic.run(&msgs, &context()).await,
            Ok(ConsumeResult::ReconsumeLater)
        );
    }
}
