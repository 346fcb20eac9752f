//! The typed request layer: one type per request code that a client of a server sends (the
//! SDK, mqadmin, mqbench, a broker registering with nameservers, the test harness). A
//! request type is the one place that builds its command — header fields and body — and the
//! one place that decodes the answer into a value. Servers decode the same header types
//! ([`super::header`]) and bodies ([`super::body`]).
//!
//! Where a header type belongs to one request code, that header type is the request
//! (`GetMaxOffsetRequestHeader` is GET_MAX_OFFSET); where several codes share a header, or a
//! body travels too, a small request type wraps them. Sending is the remoting layer's job:
//! `RemotingClient::call(addr, &request, timeout)`.
//!
//! Families: [`namesrv`] (routes, registration, KV), [`send`], [`pull`], [`offset`], [`query`], [`client`]
//! (heartbeats and consumer groups), [`lock`] (queue locks of ordered consumption), [`transaction`] (ending and checking half messages),
//! [`admin`] (broker administration).

pub mod admin;
pub mod client;
pub mod lock;
pub mod namesrv;
pub mod offset;
pub mod pull;
pub mod query;
pub mod send;
pub mod transaction;

use serde::de::DeserializeOwned;

use super::header::{CommandHeader, HeaderError};
use super::{decode_body, BodyError};
use crate::{RemotingCommand, RequestCode, ResponseCode};

/// A request of one code with its typed answer.
pub trait Request {
    /// The request code.
    const CODE: RequestCode;
    /// What an answer decodes to.
    type Reply;
    /// The command to send.
    fn to_command(&self) -> RemotingCommand;
    /// Decodes the answer. Codes the request treats as outcomes (QUERY_NOT_FOUND for an
    /// offset, TOPIC_NOT_EXIST for a route) become values; other codes are refusals.
    fn decode_reply(reply: RemotingCommand) -> Result<Self::Reply, ReplyError>;
}

/// Why an answer is not what the request needed.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The server answered with a code that is not an outcome of the request.
    #[error("{} ({code}): {remark}", code_name(*code))]
    Refused { code: i32, remark: String },
    #[error("unreadable {what} header: {source}")]
    Header {
        what: &'static str,
        #[source]
        source: HeaderError,
    },
    #[error("unreadable {what} body: {source}")]
    Body {
        what: &'static str,
        #[source]
        source: BodyError,
    },
}

impl ReplyError {
    /// The refusal's response code.
    pub fn code(&self) -> Option<i32> {
        match self {
            ReplyError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The refusal of `reply`.
    pub fn refused(reply: &RemotingCommand) -> Self {
        ReplyError::Refused {
            code: reply.code,
            remark: reply.remark_str().to_string(),
        }
    }
}

fn code_name(code: i32) -> &'static str {
    ResponseCode::try_from(code).map_or("unknown code", ResponseCode::name)
}

/// A request command of `code` with `header` in its extFields.
pub(crate) fn with_header<H: CommandHeader>(code: RequestCode, header: &H) -> RemotingCommand {
    RemotingCommand::request_with_header(code, header)
}

/// Passes a SUCCESS answer through.
pub(crate) fn success(reply: RemotingCommand) -> Result<RemotingCommand, ReplyError> {
    if reply.code == i32::from(ResponseCode::SUCCESS) {
        Ok(reply)
    } else {
        Err(ReplyError::refused(&reply))
    }
}

/// A SUCCESS answer that carries nothing.
pub(crate) fn done(reply: RemotingCommand) -> Result<(), ReplyError> {
    success(reply).map(drop)
}

/// The typed header of an answer.
pub(crate) fn reply_header<H: CommandHeader>(
    reply: &RemotingCommand,
    what: &'static str,
) -> Result<H, ReplyError> {
    reply
        .decode_header()
        .map_err(|source| ReplyError::Header { what, source })
}

/// The JSON body of a SUCCESS answer.
pub(crate) fn reply_body<T: DeserializeOwned>(
    reply: RemotingCommand,
    what: &'static str,
) -> Result<T, ReplyError> {
    let reply = success(reply)?;
    decode_body(&reply.body).map_err(|source| ReplyError::Body { what, source })
}

/// The `offset` header of a SUCCESS answer.
pub(crate) fn reply_offset(reply: RemotingCommand) -> Result<i64, ReplyError> {
    let reply = success(reply)?;
    reply_header::<super::header::OffsetResponseHeader>(&reply, "offset").map(|h| h.offset)
}

/// Declares requests whose header is the whole request: the header type implements
/// [`Request`] with the given code and reply decoder.
macro_rules! header_requests {
    ($($header:ty => $code:ident, $reply:ty, $decode:expr;)*) => {$(
        impl $crate::request::Request for $header {
            const CODE: $crate::RequestCode = $crate::RequestCode::$code;
            type Reply = $reply;
            fn to_command(&self) -> $crate::RemotingCommand {
                $crate::request::with_header(Self::CODE, self)
            }
            fn decode_reply(
                reply: $crate::RemotingCommand,
            ) -> Result<$reply, $crate::request::ReplyError> {
                ($decode)(reply)
            }
        }
    )*};
}
pub(crate) use header_requests;

#[cfg(test)]
pub(crate) mod tests {
    use bytes::BytesMut;

    use crate::frame::{decode, encode_into};
    use crate::RemotingCommand;

    /// Encodes `cmd` as a frame and decodes it again, as it would arrive from a socket.
    pub(crate) fn over_the_wire(cmd: &RemotingCommand) -> RemotingCommand {
        let mut buf = BytesMut::new();
        encode_into(cmd, &mut buf);
        decode(&mut buf, 1 << 24)
            .expect("valid frame")
            .expect("whole frame")
    }

    /// A command's extFields as pairs.
    pub(crate) fn fields(cmd: &RemotingCommand) -> Vec<(&str, &str)> {
        cmd.ext_fields.iter().collect()
    }
}
