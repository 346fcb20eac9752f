//! [`GroupMember`]: a running consumer as its client instance sees it, whatever its kind:
//! what the instance's timers and the brokers' requests ask of it; and
//! [`TransactionChecker`]: what a transaction producer's group answers CHECK_TRANSACTION_STATE
//! with. The instance holds both as trait objects, so it knows nothing of their kinds.

use std::sync::Arc;

use fennec_protocol::body::{ConsumerData, MessageQueue};
use fennec_protocol::header::CheckTransactionStateRequestHeader;
use fennec_protocol::message::MessageExt;
use fennec_remoting::Channel;
use futures_util::future::BoxFuture;

/// A registered consumer.
pub(crate) trait GroupMember: Send + Sync + 'static {
    /// The heartbeat's description of the consumer.
    fn consumer_data(&self) -> ConsumerData;
    /// Subscribed topics, whose routes the instance keeps fresh.
    fn topics(&self) -> Vec<String>;
    fn rebalance(&self) -> BoxFuture<'_, ()>;
    /// Commits offsets in the background (no waiting for brokers).
    fn persist_offsets(&self) -> BoxFuture<'_, ()>;
    /// RESET_CONSUMER_CLIENT_OFFSET: move the group's offsets of `topic`.
    fn reset_offsets<'a>(
        &'a self,
        topic: &'a str,
        offsets: &'a [(MessageQueue, i64)],
    ) -> BoxFuture<'a, ()>;
    /// The connection to the broker at `addr` closed (the broker dropped this client's
    /// membership and queue locks there).
    fn connection_closed<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, ()>;
}

/// How the instance holds a member.
pub(crate) type MemberRef = Arc<dyn GroupMember>;

/// Answers the brokers' CHECK_TRANSACTION_STATE for one producer group.
pub(crate) trait TransactionChecker: Send + Sync + 'static {
    /// Starts checking `msg` (the half message, with its real topic) in the background and
    /// answers with END_TRANSACTION on `channel`, the connection the check came on.
    fn check(&self, channel: Channel, header: CheckTransactionStateRequestHeader, msg: MessageExt);
}

/// How the instance holds a producer group's checker.
pub(crate) type CheckerRef = Arc<dyn TransactionChecker>;
