//! JSON bodies, as serde types with RocketMQ's field names. Fields are declared in
//! alphabetical order, which is the order fastjson writes them in.

mod cluster;
mod consume_queue;
mod consumer;
mod group;
mod heartbeat;
mod lock;
mod queue;
mod register;
mod route;
mod stats;

pub use cluster::*;
pub use consume_queue::*;
pub use consumer::*;
pub use group::*;
pub use heartbeat::*;
pub use lock::*;
pub use queue::*;
pub use register::*;
pub use route::*;
pub use stats::*;
