//! Errors of the remoting layer: frame decoding and request/response transport.

use std::io;
use std::time::Duration;

/// A frame that cannot be decoded. Any of these closes the connection it came from, and only
/// that connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("frame length {len} exceeds the maximum of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("invalid frame length {0}")]
    InvalidFrameLength(i32),
    #[error("header length {header} does not fit in a frame of {total} bytes")]
    HeaderLength { header: usize, total: usize },
    #[error("unknown header serialize type {0}")]
    SerializeType(u8),
    #[error("unparseable JSON header: {0}")]
    JsonHeader(#[source] serde_json::Error),
    #[error("malformed ROCKETMQ binary header: {0}")]
    BinaryHeader(&'static str),
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
}

/// A failed remote call.
#[derive(Debug, thiserror::Error)]
pub enum RemotingError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    #[error("no response from {addr} within {timeout:?} (code {code}, opaque {opaque})")]
    Timeout {
        addr: String,
        timeout: Duration,
        code: i32,
        opaque: i32,
    },
    #[error("connection to {addr} closed")]
    ConnectionClosed { addr: String },
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
}

impl RemotingError {
    /// Whether the request may have reached the peer (a timeout or a connection that closed
    /// after sending), as opposed to a failure before anything was sent.
    pub fn maybe_delivered(&self) -> bool {
        matches!(
            self,
            RemotingError::Timeout { .. } | RemotingError::ConnectionClosed { .. }
        )
    }
}
