//! Fennec client SDK: producers and consumers for any broker that speaks the Apache
//! RocketMQ 4.x remoting protocol (Fennec's, or RocketMQ 4.9).
//!
//! * [`Producer`]: `send`, `send_async`, `send_oneway`, `send_batch`, `send_to_queue`,
//!   `send_with_selector` (ordered messages, [`QueueSelector`]).
//! * [`TransactionProducer`]: `send_in_transaction`, with a [`TransactionListener`] that
//!   executes and checks local transactions.
//! * [`PushConsumer`]: subscribe with tag expressions, start with a [`MessageListener`], or
//!   with an [`OrderlyListener`] to consume each queue in order under a broker lock.
//! * [`PullConsumer`]: subscribe or assign queues, `poll`, `seek`, `commit_sync`.
//!
//! Clients find brokers through the name servers (`namesrv_addr`, or the `NAMESRV_ADDR`
//! environment variable). Everything is async on tokio; listeners and send callbacks run on
//! tokio's blocking pool. Clients with the same client ID (`clientIP@instanceName`) share
//! one client instance: connections, route cache, heartbeats and timers.
//!
//! Against servers with ACL, give the client an account ([`AclRpcHook`], the builders'
//! `acl(access_key, secret_key)`): every request is then signed. Against servers with TLS,
//! give it a [`TlsClient`] (`tls(...)`, e.g. `TlsClient::from_pem_files(ca, None)`).

mod api;
pub mod config;
pub mod consumer;
pub mod error;
mod instance;
mod lifecycle;
pub mod producer;
mod route;

pub use config::ClientConfig;
pub use consumer::{
    Blocking, ConsumeContext, ConsumeResult, MessageListener, OrderlyListener, OrderlyResult,
    PullConsumer, PullConsumerBuilder, PushConsumer, PushConsumerBuilder,
};
pub use error::ClientError;
pub use fennec_protocol::body::{ConsumeFromWhere, MessageModel, MessageQueue};
pub use fennec_protocol::message::{Message, MessageExt, Properties};
pub use fennec_remoting::{AclRpcHook, RpcHook, TlsClient};
pub use producer::{
    BlockingTransactionListener, LocalTransactionState, Producer, ProducerBuilder, QueueSelector,
    SendResult, SendStatus, TransactionListener, TransactionProducer, TransactionSendResult,
};
