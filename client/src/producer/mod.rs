//! The producer: [`Producer`] sends messages to the queues of their topic, choosing a queue
//! round-robin while avoiding brokers that just failed, and retrying on another broker.

mod builder;
mod fault;
mod handle;
mod prepare;
mod result;
mod sender;
mod settings;

pub use builder::ProducerBuilder;
pub use handle::Producer;
pub use result::{SendResult, SendStatus};
