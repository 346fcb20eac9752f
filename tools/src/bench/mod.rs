//! `mqbench`: producer and consumer load against any broker that speaks the RocketMQ
//! remoting protocol, with live TPS and latency lines, and an in-process echo baseline that
//! measures what the machine and network allow; `soak` runs many long-lived clients for a
//! long time and judges the broker's memory and sockets.

pub mod baseline;
pub mod cli;
pub mod consumer;
pub mod histogram;
pub mod payload;
pub mod producer;
pub mod report;
pub mod soak;
pub mod soak_verdict;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Client(#[from] fennec_client::ClientError),
    #[error("{0}")]
    Internal(String),
    /// Flags that do not go together.
    #[error("{0}")]
    Usage(String),
}
