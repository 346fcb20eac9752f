//! The RocketMQ 4.x remoting protocol, with no I/O: what a frame holds and how it is encoded
//! and decoded, the request and response codes, typed headers and JSON bodies (fastjson's
//! quirks included), one typed request per request code, and the stored-message format that
//! the CommitLog, pulls and queries share. Sockets, tasks and timeouts are `fennec-remoting`'s.
//!
//! | module | owns |
//! |---|---|
//! | [`frame`] | `[length][type+header length][header][body]`; both header forms |
//! | [`command`], [`code`] | [`RemotingCommand`] and the codes it carries |
//! | [`header`], [`body`] | typed `extFields` headers and JSON bodies per request family |
//! | [`request`] | one type per request code: builds the command, decodes the answer |
//! | [`message`] | records, batches, properties, message ids, compression |
//! | [`signature`] | plain-ACL request signatures (HMAC-SHA1 over extFields and body) |

pub mod body;
pub mod code;
pub mod command;
pub mod ext_fields;
pub mod fastjson;
pub mod frame;
pub mod hash;
pub mod header;
mod header_binary;
mod header_json;
mod json_body;
pub mod message;
pub mod perm;
pub mod request;
pub mod signature;
pub mod time;
pub mod topic;

pub use code::{describe_request_code, LanguageCode, RequestCode, ResponseCode, SerializeType};
pub use command::{next_opaque, RemotingCommand, FLAG_ONEWAY, FLAG_RESPONSE};
pub use ext_fields::ExtFields;
pub use frame::FrameError;
pub use json_body::{decode_body, encode_body, BodyError};

/// Version ordinal Fennec announces in every command it sends (RocketMQ 4.9.8 = 409).
///
/// Nameservers answer clients of version 401 or newer with standard JSON, which is what our
/// own SDK and tools parse most cheaply.
pub const FENNEC_VERSION: i32 = 409;

/// Human-readable version, shown by `mqadmin clusterList` and the runtime info.
pub const FENNEC_VERSION_DESC: &str = concat!("Fennec ", env!("CARGO_PKG_VERSION"), " (V4_9_8)");
