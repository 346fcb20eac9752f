//! What an orderly push consumer calls with messages, and what it returns (RocketMQ's
//! MessageListenerOrderly).
//!
//! An [`OrderlyListener`] gets the messages of one queue one batch at a time, in queue
//! order, and no other batch of that queue runs meanwhile. It answers
//! [`OrderlyResult::Success`] to move on, or [`OrderlyResult::SuspendCurrentQueueAMoment`]
//! to have the same batch again after a pause while the rest of the queue waits (other
//! queues go on). Like [`super::MessageListener`] it is async; closures returning a future
//! and [`super::Blocking`] work too.

use std::future::Future;

use fennec_protocol::message::MessageExt;
use futures_util::future::BoxFuture;

use super::listener::{catching, Blocking, ConsumeContext, DynListener, Panicked};

/// The outcome of consuming a batch in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderlyResult {
    /// Consumed; the queue's offset moves past the batch and the next batch follows.
    Success,
    /// Not consumed: the queue stops for the consumer's suspend time, then the same batch
    /// comes again (with `reconsume_times` one higher). Past the consumer's
    /// `max_reconsume_times` the message goes to the dead-letter queue `%DLQ%<group>`.
    SuspendCurrentQueueAMoment,
}

/// Application code that consumes the messages of each queue in order. A panic counts as
/// [`OrderlyResult::SuspendCurrentQueueAMoment`].
///
/// ```
/// use fennec_client::{ConsumeContext, MessageExt, OrderlyListener, OrderlyResult};
///
/// struct Ledger;
///
/// impl OrderlyListener for Ledger {
///     async fn consume(&self, msgs: &[MessageExt], ctx: &ConsumeContext) -> OrderlyResult {
///         for m in msgs {
///             println!("queue {} offset {}", ctx.message_queue.queue_id, m.queue_offset);
///         }
///         OrderlyResult::Success
///     }
/// }
/// ```
pub trait OrderlyListener: Send + Sync + 'static {
    fn consume(
        &self,
        msgs: &[MessageExt],
        context: &ConsumeContext,
    ) -> impl Future<Output = OrderlyResult> + Send;
}

/// A closure returning a future; it gets its own copy of the batch.
impl<F, Fut> OrderlyListener for F
where
    F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OrderlyResult> + Send,
{
    fn consume(
        &self,
        msgs: &[MessageExt],
        context: &ConsumeContext,
    ) -> impl Future<Output = OrderlyResult> + Send {
        self(msgs.to_vec(), context.clone())
    }
}

/// A synchronous orderly listener, run on tokio's blocking pool.
impl<F> OrderlyListener for Blocking<F>
where
    F: Fn(&[MessageExt], &ConsumeContext) -> OrderlyResult + Send + Sync + 'static,
{
    async fn consume(&self, msgs: &[MessageExt], context: &ConsumeContext) -> OrderlyResult {
        self.run_blocking(msgs, context)
            .await
            .unwrap_or(OrderlyResult::SuspendCurrentQueueAMoment)
    }
}

impl<L: OrderlyListener> DynListener<OrderlyResult> for L {
    fn run<'a>(
        &'a self,
        msgs: &'a [MessageExt],
        context: &'a ConsumeContext,
    ) -> BoxFuture<'a, Result<OrderlyResult, Panicked>> {
        catching(self.consume(msgs, context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::listener::tests::context;

    #[tokio::test]
    async fn closures_blocking_and_panics() {
        let msgs = vec![MessageExt::default(); 2];
        let closure = |msgs: Vec<MessageExt>, _: ConsumeContext| async move {
            if msgs.len() == 2 {
                OrderlyResult::Success
            } else {
                OrderlyResult::SuspendCurrentQueueAMoment
            }
        };
        let run = DynListener::<OrderlyResult>::run(&closure, &msgs, &context()).await;
        assert_eq!(run, Ok(OrderlyResult::Success));

        let blocking = Blocking::new(|_: &[MessageExt], _: &ConsumeContext| {
            OrderlyResult::SuspendCurrentQueueAMoment
        });
        let run = DynListener::<OrderlyResult>::run(&blocking, &msgs, &context()).await;
        assert_eq!(run, Ok(OrderlyResult::SuspendCurrentQueueAMoment));

        let panicking = |_: Vec<MessageExt>, _: ConsumeContext| async move {
            if true {
                panic!("listener bug");
            }
            OrderlyResult::Success
        };
        let run = DynListener::<OrderlyResult>::run(&panicking, &msgs, &context()).await;
        assert_eq!(run, Err(Panicked));
    }
}
