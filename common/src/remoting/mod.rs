//! The remoting layer: frames ([`codec`]), commands ([`RemotingCommand`]), both header
//! serializations, and the connection machinery shared by clients and servers.
//!
//! A connection is symmetric: either side may send requests and responses. A reader task
//! decodes frames, completes pending requests with responses (matched by opaque), and hands
//! requests to a [`RequestProcessor`] in their own tasks; a writer task drains an outbound
//! queue, encoding everything already queued into one buffer per socket write.

mod call;
mod client;
pub mod code;
pub mod codec;
mod command;
mod connection;
mod error;
mod frame_reader;
mod header_binary;
mod header_json;
mod server;

pub use call::CallError;
pub use client::{ClientConfig, RemotingClient};
pub use code::{LanguageCode, RequestCode, ResponseCode, SerializeType};
pub use codec::RemotingCodec;
pub use command::{next_opaque, ExtFields, RemotingCommand, FLAG_ONEWAY, FLAG_RESPONSE};
pub use connection::{not_supported, Channel, ConnectionConfig, NotSupported, RequestProcessor};
pub use error::{CodecError, RemotingError};
pub use server::{
    RemotingServer, ServerConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_IN_FLIGHT_BYTES,
};
