//! JSON bodies, as serde types with RocketMQ's field names. Fields are declared in
//! alphabetical order, which is the order fastjson writes them in.

mod cluster;
mod register;
mod route;

pub use cluster::*;
pub use register::*;
pub use route::*;
