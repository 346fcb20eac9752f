//! [`Stream`]: what a connection runs on — plain TCP, or TLS over TCP — split into the
//! halves its reader and writer tasks own. The connection code is generic over it.

use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::TlsStream;

/// A connected byte stream over TCP.
pub(crate) trait Stream: Send + 'static {
    type Read: AsyncRead + Send + Unpin + 'static;
    type Write: AsyncWrite + Send + Unpin + 'static;

    /// The TCP socket underneath (addresses, socket options).
    fn tcp(&self) -> &TcpStream;

    /// The read and write halves.
    fn into_halves(self) -> (Self::Read, Self::Write);
}

impl Stream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;

    fn tcp(&self) -> &TcpStream {
        self
    }

    fn into_halves(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl Stream for TlsStream<TcpStream> {
    type Read = ReadHalf<TlsStream<TcpStream>>;
    type Write = WriteHalf<TlsStream<TcpStream>>;

    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }

    fn into_halves(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}
