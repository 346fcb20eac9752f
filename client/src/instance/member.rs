//! [`GroupMember`]: a running consumer as its client instance sees it, whatever its kind:
//! what the instance's timers and the brokers' requests ask of it. The instance holds members
//! as trait objects, so it knows nothing of the consumer kinds.

use std::sync::Arc;

use fennec_protocol::body::{ConsumerData, MessageQueue};
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
}

/// How the instance holds a member.
pub(crate) type MemberRef = Arc<dyn GroupMember>;
