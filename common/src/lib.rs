//! Code shared by every Fennec process: the RocketMQ 4.x remoting protocol (frames, headers,
//! request and response codes, typed headers and JSON bodies), the stored-message format, and
//! the async remoting client and server that the nameserver, broker and SDK are built on.

pub mod hash;
pub mod log_limit;
pub mod message;
pub mod net;
pub mod properties_file;
pub mod protocol;
pub mod remoting;
pub mod time;

/// Version ordinal Fennec announces in every command it sends (RocketMQ 4.9.8 = 409).
///
/// Nameservers answer clients of version 401 or newer with standard JSON, which is what our
/// own SDK and tools parse most cheaply.
pub const FENNEC_VERSION: i32 = 409;

/// Human-readable version, shown by `mqadmin clusterList` and the runtime info.
pub const FENNEC_VERSION_DESC: &str = concat!("Fennec ", env!("CARGO_PKG_VERSION"), " (V4_9_8)");
