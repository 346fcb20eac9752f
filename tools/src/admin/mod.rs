//! `mqadmin`: RocketMQ's admin sub-commands over the remoting protocol.
//!
//! * [`client`]: [`AdminClient`], one typed async method per request (nameserver requests in
//!   `client.rs`, broker administration in `broker_api.rs`, messages and offsets in
//!   `message_api.rs`), failures as [`AdminError`].
//! * [`route`]: which broker address to ask (masters, readers, cluster members).
//! * [`commands`]: one module per command family; each command is an async function from its
//!   clap arguments to a report (or a stream of messages).
//! * [`output`], [`message_view`], [`time`]: tables, JSON, bodies and timestamps.
//! * [`cli`]: the clap command line and the dispatcher the binary calls.

mod broker_api;
pub mod cli;
pub mod client;
pub mod commands;
pub mod error;
mod message_api;
pub mod message_view;
pub mod output;
pub mod route;
pub mod time;

pub use client::AdminClient;
pub use error::AdminError;
pub use message_api::{PullResult, PullStatus, SendStatus};
