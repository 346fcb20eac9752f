//! Fennec's nameserver (`mqnamesrv`): the RocketMQ name server. Brokers register their topics
//! every 30 s; producers, consumers and admin tools ask it for topic routes and cluster
//! layout. Several nameservers may run side by side: each learns everything from broker
//! registrations and none talks to another. Only the KV store is persisted.
//!
//! * `config`: [`NamesrvConfig`], settings and the RocketMQ properties file;
//! * `route_info`: the routing tables; `route_limits`: their bounds; `liveness`: the expiry
//!   scan;
//! * `kv_config`: the persisted KV store;
//! * `metrics`: what `/metrics` shows of the route table (`Nameserver::register_metrics`);
//! * `processor`: one handler file per request family;
//! * `server`: [`run`], which the `mqnamesrv` binary and an embedding broker call.

mod config;
mod error;
mod kv_config;
mod liveness;
mod metrics;
mod processor;
mod route_info;
mod route_limits;
mod server;

pub use config::NamesrvConfig;
pub use error::NamesrvError;
pub use kv_config::parse_kv_file;
pub use route_limits::RouteLimits;
pub use server::{run, Nameserver};
