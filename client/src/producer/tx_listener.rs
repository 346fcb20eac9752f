//! What a transaction producer calls: execute the local transaction of a half message that
//! was just stored, and check a local transaction when the broker asks for its outcome.
//!
//! Listeners are async-first, like the consumer's [`MessageListener`](crate::MessageListener):
//! a [`TransactionListener`] is a trait with `async fn`s run on the tokio runtime, so the
//! local transaction can await its database. Blocking code goes in
//! [`BlockingTransactionListener`], which runs it on tokio's blocking pool.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use fennec_protocol::message::{Message, MessageExt};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::SendResult;

/// The outcome of a local transaction (RocketMQ's LocalTransactionState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocalTransactionState {
    /// Committed: the message becomes visible to consumers.
    Commit,
    /// Rolled back: the message is dropped.
    Rollback,
    /// Not known yet: the broker asks again later (`check_local_transaction`).
    Unknown,
}

/// Application code that ties a message to a local transaction.
///
/// `execute_local_transaction` runs once the half message is stored, with the send's result
/// (its `msg_id` is the transaction id the broker will name in checks); it commits or rolls
/// back the local work and says which. `check_local_transaction` answers the broker's
/// question about a half message whose outcome it never got (an `Unknown`, a lost
/// END_TRANSACTION, a producer that died): it must look the outcome up (by
/// [`MessageExt::id`], say), never guess. Either may be called on any instance of the
/// producer group. A panic counts as [`LocalTransactionState::Unknown`].
///
/// ```
/// use fennec_client::{LocalTransactionState, Message, MessageExt, SendResult, TransactionListener};
///
/// struct Orders;
///
/// impl TransactionListener for Orders {
///     async fn execute_local_transaction(&self, msg: &Message, sent: &SendResult) -> LocalTransactionState {
///         // insert the order and record `sent.msg_id` in the same database transaction
///         LocalTransactionState::Commit
///     }
///     async fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
///         // look `msg.id()` up
///         LocalTransactionState::Rollback
///     }
/// }
/// ```
pub trait TransactionListener: Send + Sync + 'static {
    fn execute_local_transaction(
        &self,
        msg: &Message,
        sent: &SendResult,
    ) -> impl Future<Output = LocalTransactionState> + Send;

    fn check_local_transaction(
        &self,
        msg: &MessageExt,
    ) -> impl Future<Output = LocalTransactionState> + Send;
}

/// A synchronous transaction listener for blocking code (a blocking database driver), run
/// on tokio's blocking pool.
///
/// ```
/// use fennec_client::{BlockingTransactionListener, LocalTransactionState, Message, MessageExt, SendResult};
///
/// let listener = BlockingTransactionListener::new(
///     |_: &Message, _: &SendResult| LocalTransactionState::Commit,
///     |_: &MessageExt| LocalTransactionState::Commit,
/// );
/// # let _ = listener;
/// ```
pub struct BlockingTransactionListener<E, C> {
    execute: Arc<E>,
    check: Arc<C>,
}

impl<E, C> BlockingTransactionListener<E, C>
where
    E: Fn(&Message, &SendResult) -> LocalTransactionState + Send + Sync + 'static,
    C: Fn(&MessageExt) -> LocalTransactionState + Send + Sync + 'static,
{
    pub fn new(execute: E, check: C) -> Self {
        BlockingTransactionListener {
            execute: Arc::new(execute),
            check: Arc::new(check),
        }
    }
}

impl<E, C> std::fmt::Debug for BlockingTransactionListener<E, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingTransactionListener")
    }
}

impl<E, C> TransactionListener for BlockingTransactionListener<E, C>
where
    E: Fn(&Message, &SendResult) -> LocalTransactionState + Send + Sync + 'static,
    C: Fn(&MessageExt) -> LocalTransactionState + Send + Sync + 'static,
{
    async fn execute_local_transaction(
        &self,
        msg: &Message,
        sent: &SendResult,
    ) -> LocalTransactionState {
        let f = self.execute.clone();
        let (msg, sent) = (msg.clone(), sent.clone());
        // A panic in `f` surfaces as a join error.
        tokio::task::spawn_blocking(move || f(&msg, &sent))
            .await
            .unwrap_or(LocalTransactionState::Unknown)
    }

    async fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let f = self.check.clone();
        let msg = msg.clone();
        tokio::task::spawn_blocking(move || f(&msg))
            .await
            .unwrap_or(LocalTransactionState::Unknown)
    }
}

/// A listener behind a pointer, with panics caught: the form the producer holds.
pub(crate) trait DynTransactionListener: Send + Sync {
    fn execute<'a>(
        &'a self,
        msg: &'a Message,
        sent: &'a SendResult,
    ) -> BoxFuture<'a, LocalTransactionState>;
    fn check<'a>(&'a self, msg: &'a MessageExt) -> BoxFuture<'a, LocalTransactionState>;
}

impl<L: TransactionListener> DynTransactionListener for L {
    fn execute<'a>(
        &'a self,
        msg: &'a Message,
        sent: &'a SendResult,
    ) -> BoxFuture<'a, LocalTransactionState> {
        AssertUnwindSafe(self.execute_local_transaction(msg, sent))
            .catch_unwind()
            .map(|r| r.unwrap_or(LocalTransactionState::Unknown))
            .boxed()
    }

    fn check<'a>(&'a self, msg: &'a MessageExt) -> BoxFuture<'a, LocalTransactionState> {
        AssertUnwindSafe(self.check_local_transaction(msg))
            .catch_unwind()
            .map(|r| r.unwrap_or(LocalTransactionState::Unknown))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::SendStatus;
    use fennec_protocol::body::MessageQueue;

    fn sent() -> SendResult {
        SendResult {
            status: SendStatus::SendOk,
            msg_id: "U".into(),
            offset_msg_id: String::new(),
            message_queue: MessageQueue::new("T", "b", 0),
            queue_offset: 0,
            transaction_id: None,
            region_id: String::new(),
        }
    }

    struct Panicking;

    impl TransactionListener for Panicking {
        async fn execute_local_transaction(
            &self,
            _: &Message,
            _: &SendResult,
        ) -> LocalTransactionState {
            panic!("listener bug")
        }
        async fn check_local_transaction(&self, _: &MessageExt) -> LocalTransactionState {
            panic!("listener bug")
        }
    }

    #[tokio::test]
    async fn blocking_listeners_and_panics() {
        let msg = Message::new("T", "x");
        let blocking = BlockingTransactionListener::new(
            |m: &Message, s: &SendResult| {
                assert_eq!((m.topic.as_str(), s.msg_id.as_str()), ("T", "U"));
                LocalTransactionState::Commit
            },
            |_: &MessageExt| LocalTransactionState::Rollback,
        );
        assert_eq!(
            blocking.execute(&msg, &sent()).await,
            LocalTransactionState::Commit
        );
        assert_eq!(
            blocking.check(&MessageExt::default()).await,
            LocalTransactionState::Rollback
        );
        let panicking_blocking = BlockingTransactionListener::new(
            |_: &Message, _: &SendResult| -> LocalTransactionState { panic!("listener bug") },
            |_: &MessageExt| -> LocalTransactionState { panic!("listener bug") },
        );
        assert_eq!(
            panicking_blocking.execute(&msg, &sent()).await,
            LocalTransactionState::Unknown
        );
        assert_eq!(
            Panicking.execute(&msg, &sent()).await,
            LocalTransactionState::Unknown
        );
        assert_eq!(
            Panicking.check(&MessageExt::default()).await,
            LocalTransactionState::Unknown
        );
    }
}
