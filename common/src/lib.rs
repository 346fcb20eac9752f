//! Small std-only helpers that servers, the SDK and the tools share and that are not
//! protocol: the configuration mechanism and `key=value` files, atomic file writes, error
//! chains and log setup for binaries, local address discovery, and the atomic latency
//! histogram hot paths record into. No tokio here.

pub mod config;
pub mod error;
pub mod fs;
pub mod histogram;
pub mod logging;
pub mod net;
pub mod properties_file;
