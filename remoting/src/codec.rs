//! [`RemotingCodec`]: the protocol's frames ([`fennec_protocol::frame`]) as a tokio-util
//! `Decoder`/`Encoder`, for code that reads a socket with `FramedRead` (tests, tools, the
//! fault proxy). Servers and clients read through `frame_reader` instead, which
//! also applies the server's limits.

use bytes::BytesMut;
use fennec_protocol::frame::{self, DEFAULT_MAX_FRAME};
use fennec_protocol::RemotingCommand;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::CodecError;

/// Encodes and decodes [`RemotingCommand`] frames.
#[derive(Debug, Clone)]
pub struct RemotingCodec {
    max_frame: usize,
}

impl RemotingCodec {
    /// A codec that rejects frames whose `length` field exceeds `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        RemotingCodec { max_frame }
    }
}

impl Default for RemotingCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, CodecError> {
        Ok(frame::decode(src, self.max_frame)?)
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        frame::encode_into(&cmd, dst);
        Ok(())
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        frame::encode_into(cmd, dst);
        Ok(())
    }
}
