//! Errors of the remoting layer: reading frames off a socket, and request/response transport.

use std::io;
use std::time::Duration;

use fennec_protocol::FrameError;

/// Why reading a frame failed: the frame itself, or the socket. Either closes the
/// connection it came from, and only that connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Frame(#[from] FrameError),
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
    #[error("TLS handshake with {addr} failed: {source}")]
    Tls {
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
