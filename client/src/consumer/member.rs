//! [`ConsumerRef`]: a running consumer as its client instance sees it, whichever kind, with
//! what the instance's timers and the broker's requests ask of it.

use std::sync::Arc;

use fennec_common::protocol::body::{ConsumerData, MessageQueue};

use super::lite_state::LiteShared;
use super::push_state::PushShared;

/// A registered consumer.
#[derive(Clone)]
pub(crate) enum ConsumerRef {
    Push(Arc<PushShared>),
    Lite(Arc<LiteShared>),
}

impl ConsumerRef {
    /// The heartbeat's description of the consumer.
    pub(crate) fn consumer_data(&self) -> ConsumerData {
        match self {
            ConsumerRef::Push(p) => p.core().consumer_data(),
            ConsumerRef::Lite(l) => l.core().consumer_data(),
        }
    }

    /// Subscribed topics, whose routes the instance keeps fresh.
    pub(crate) fn topics(&self) -> Vec<String> {
        match self {
            ConsumerRef::Push(p) => p.core().subscriptions.topics(),
            ConsumerRef::Lite(l) => l.core().subscriptions.topics(),
        }
    }

    pub(crate) async fn rebalance(&self) {
        match self {
            ConsumerRef::Push(p) => p.rebalance().await,
            ConsumerRef::Lite(l) => l.rebalance().await,
        }
    }

    pub(crate) async fn persist_offsets(&self) {
        match self {
            ConsumerRef::Push(p) => p.persist_offsets().await,
            ConsumerRef::Lite(l) => l.persist_offsets().await,
        }
    }

    /// RESET_CONSUMER_CLIENT_OFFSET: move the group's offsets of `topic`.
    pub(crate) async fn reset_offsets(&self, topic: &str, offsets: &[(MessageQueue, i64)]) {
        match self {
            ConsumerRef::Push(p) => p.reset_offsets(topic, offsets).await,
            ConsumerRef::Lite(l) => l.reset_offsets(topic, offsets).await,
        }
    }
}
