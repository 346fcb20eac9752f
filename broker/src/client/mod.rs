//! What the broker knows about connected clients: consumer groups with their members and
//! subscriptions (from heartbeats), and producer groups.

mod consumer_manager;
mod producer_manager;

pub use consumer_manager::{
    ClientChannelInfo, ConsumerGroupInfo, ConsumerManager, ConsumerMembership,
};
pub use producer_manager::ProducerManager;
