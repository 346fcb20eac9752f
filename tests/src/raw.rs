//! [`RawConn`]: a plain blocking TCP connection to a server, for tests that misbehave on
//! purpose (partial frames, silence, many connections) or need to see exactly when the
//! server closes a connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use fennec_protocol::frame::encode_to_vec;
use fennec_remoting::{RemotingCodec, RemotingCommand};
use tokio_util::codec::Decoder;

/// How long a read for a response may block before the test fails.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One raw connection.
#[derive(Debug)]
pub struct RawConn {
    stream: TcpStream,
}

impl RawConn {
    /// Connects to `addr`; panics when the connection cannot be made.
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream.set_nodelay(true).expect("TCP_NODELAY");
        RawConn { stream }
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.set_nonblocking(false).expect("blocking mode");
        self.stream.write_all(bytes).expect("write to the server");
    }

    /// Sends `cmd` and reads one frame back; `None` when the server closed the connection.
    pub fn try_request(&mut self, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        self.stream.set_nonblocking(false).expect("blocking mode");
        self.stream.write_all(&encode_to_vec(cmd)).ok()?;
        self.try_read_frame()
    }

    /// Sends `cmd` and reads its response; panics when the connection closes first.
    pub fn request(&mut self, cmd: &RemotingCommand) -> RemotingCommand {
        self.try_request(cmd)
            .expect("the server closed the connection instead of answering")
    }

    /// Reads one frame (blocking up to 30 s); `None` when the connection closed.
    pub fn try_read_frame(&mut self) -> Option<RemotingCommand> {
        self.stream.set_nonblocking(false).expect("blocking mode");
        self.stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let total = u32::from_be_bytes(len) as usize;
        let mut frame = vec![0u8; 4 + total];
        frame[..4].copy_from_slice(&len);
        self.stream.read_exact(&mut frame[4..]).ok()?;
        let mut buf = BytesMut::from(&frame[..]);
        RemotingCodec::new(usize::MAX)
            .decode(&mut buf)
            .expect("a well-formed frame from the server")
    }

    /// Whether the server has closed the connection (EOF or reset), without waiting.
    /// Panics if the server sent data.
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_nonblocking(true)
            .expect("non-blocking mode");
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => panic!("unexpected data from the server"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(_) => true,
        }
    }
}

/// The first `sent` bytes of a frame whose length field announces `announced` bytes.
pub fn partial_frame(announced: u32, sent: usize) -> Vec<u8> {
    let mut bytes = announced.to_be_bytes().to_vec();
    bytes.resize(4 + sent, 0);
    bytes
}
