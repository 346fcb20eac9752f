//! The remoting layer on tokio, on top of `fennec-protocol`: connections (a reader and a
//! writer task per socket), the remoting client (one connection per address, typed calls) and
//! server (accept loop, limits on what peers may hold), and the tokio-util codec.
//!
//! A connection is symmetric: either side may send requests and responses. A reader task
//! decodes frames, completes pending requests with responses (matched by opaque), and hands
//! requests to a [`RequestProcessor`] in their own tasks; a writer task drains an outbound
//! queue, encoding everything already queued into one buffer per socket write.
//!
//! Connections run on plain TCP or TLS (`tls`: rustls, RocketMQ's disabled / permissive /
//! enforcing server modes); a client may pass every request it sends through an [`RpcHook`]
//! ([`AclRpcHook`] signs them for the servers' plain ACL).
//!
//! The protocol's command and code types are re-exported, so users of a connection need only
//! this crate.

mod call;
mod client;
pub mod codec;
mod connection;
mod counters;
mod driver;
mod error;
mod frame_reader;
mod hook;
pub mod log_limit;
mod server;
pub mod signal;
mod stream;
pub mod tls;

pub use call::CallError;
pub use client::{ClientConfig, RemotingClient};
pub use codec::RemotingCodec;
pub use connection::{not_supported, Channel, ConnectionConfig, NotSupported, RequestProcessor};
pub use counters::{ConnectionRefusal, ServerCounters};
pub use error::{CodecError, RemotingError};
pub use fennec_protocol::{
    describe_request_code, next_opaque, ExtFields, LanguageCode, RemotingCommand, RequestCode,
    ResponseCode, SerializeType, FLAG_ONEWAY, FLAG_RESPONSE,
};
pub use hook::{AclRpcHook, RpcHook};
pub use server::{
    RemotingServer, ServerConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_IN_FLIGHT_BYTES, HANDSHAKE_TIMEOUT,
};
pub use tls::{ClientAuth, TlsClient, TlsMode, TlsServer};
