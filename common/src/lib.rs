//! Small std-only helpers that servers, the SDK and the tools share and that are not
//! protocol: the configuration mechanism and `key=value` files, atomic file writes, error
//! chains and log setup for binaries, and local address discovery. No tokio here.

pub mod config;
pub mod error;
pub mod fs;
pub mod logging;
pub mod net;
pub mod properties_file;
