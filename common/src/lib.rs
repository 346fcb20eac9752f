//! Small std-only helpers that servers, the SDK and the tools share and that are not
//! protocol: `key=value` configuration files, and local address discovery. No tokio here.

pub mod net;
pub mod properties_file;
