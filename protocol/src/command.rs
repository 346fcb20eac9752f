//! `RemotingCommand`: one request or response of the remoting protocol, header fields plus an
//! opaque body. Typed headers convert to and from its `ext_fields`
//! ([`crate::header::CommandHeader`]).

use std::sync::atomic::{AtomicI32, Ordering};

use bytes::Bytes;

use crate::code::{LanguageCode, RequestCode, ResponseCode, SerializeType};
use crate::header::{CommandHeader, HeaderError};
use crate::{ExtFields, FENNEC_VERSION};

/// Flag bit 0: this command is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: this request expects no response.
pub const FLAG_ONEWAY: i32 = 2;

static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);

/// Next request id of this process, as RocketMQ's per-process counter (starts at 0).
pub fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

/// One frame's worth of command: header fields and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code, or the result code of a response.
    pub code: i32,
    pub language: LanguageCode,
    /// Version ordinal of the sender (see [`crate::FENNEC_VERSION`]).
    pub version: i32,
    /// Correlation id; a response echoes its request's.
    pub opaque: i32,
    /// Bit 0 response, bit 1 oneway.
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// Header serialization; a response uses its request's.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with a fresh opaque.
    pub fn request(code: RequestCode) -> Self {
        Self::request_code(i32::from(code))
    }

    /// A new request with a raw code (used to send codes a peer may not know).
    pub fn request_code(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::RUST,
            version: FENNEC_VERSION,
            opaque: next_opaque(),
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A new request carrying a typed header.
    pub fn request_with_header<H: CommandHeader>(code: RequestCode, header: &H) -> Self {
        let mut cmd = Self::request(code);
        header.write_to(&mut cmd.ext_fields);
        cmd
    }

    /// A response with `code` and an optional remark. Its opaque and serialize type are set
    /// from the request by [`RemotingCommand::answer`] or by the server.
    pub fn response(code: ResponseCode, remark: impl Into<Option<String>>) -> Self {
        RemotingCommand {
            code: i32::from(code),
            language: LanguageCode::RUST,
            version: FENNEC_VERSION,
            opaque: 0,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A SUCCESS response with no remark.
    pub fn success() -> Self {
        Self::response(ResponseCode::SUCCESS, None)
    }

    /// Adds a typed header's fields.
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        header.write_to(&mut self.ext_fields);
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets one extension field.
    pub fn with_ext(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.ext_fields.insert(key, value.as_ref());
        self
    }

    /// Marks the request as oneway.
    pub fn oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Uses the ROCKETMQ binary header form.
    pub fn binary(mut self) -> Self {
        self.serialize_type = SerializeType::RocketMq;
        self
    }

    /// Makes `self` the response to `request`: same opaque and serialize type.
    pub fn answer(mut self, request: &RemotingCommand) -> Self {
        self.opaque = request.opaque;
        self.serialize_type = request.serialize_type;
        self.flag |= FLAG_RESPONSE;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The response code, when it is one the protocol defines.
    pub fn response_code(&self) -> Option<ResponseCode> {
        ResponseCode::try_from(self.code).ok()
    }

    /// The request code, when it is one the protocol defines.
    pub fn request_code_enum(&self) -> Option<RequestCode> {
        RequestCode::try_from(self.code).ok()
    }

    /// Decodes the typed header from `ext_fields`.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::read_from(&self.ext_fields)
    }

    /// One extension field.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }

    /// `remark`, or an empty string.
    pub fn remark_str(&self) -> &str {
        self.remark.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_copies_correlation() {
        let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .binary()
            .oneway();
        let resp = RemotingCommand::success().answer(&req);
        assert_eq!(resp.opaque, req.opaque);
        assert_eq!(resp.serialize_type, SerializeType::RocketMq);
        assert!(resp.is_response());
        assert!(req.is_oneway());
        assert!(!req.is_response());
    }

    #[test]
    fn opaques_increase() {
        let a = RemotingCommand::request(RequestCode::HEART_BEAT).opaque;
        let b = RemotingCommand::request(RequestCode::HEART_BEAT).opaque;
        assert!(b > a);
    }
}
