//! The producer: [`Producer`] sends messages to the queues of their topic, choosing a queue
//! round-robin while avoiding brokers that just failed, and retrying on another broker, or
//! on the queue a [`QueueSelector`] picks (ordered messages), once.
//! [`TransactionProducer`] ties messages to local transactions ([`TransactionListener`]).

mod builder;
mod fault;
mod handle;
mod prepare;
mod result;
mod selector;
mod sender;
mod settings;
mod transactional;
mod tx_listener;

pub use builder::ProducerBuilder;
pub use handle::Producer;
pub use result::{SendResult, SendStatus};
pub use selector::QueueSelector;
pub use transactional::{TransactionProducer, TransactionSendResult};
pub use tx_listener::{BlockingTransactionListener, LocalTransactionState, TransactionListener};
