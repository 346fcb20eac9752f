//! [`ClientError`], every way a client call can fail, and the two questions an application
//! asks of a failure: may the message have been stored anyway ([`ClientError::may_be_stored`]),
//! and is a send worth retrying on another broker ([`ClientError::is_retriable_send`]).

use std::path::PathBuf;
use std::time::Duration;

use fennec_protocol::BodyError;
use fennec_remoting::{RemotingError, ResponseCode};

/// A failed client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The message was refused before sending: bad topic, empty or oversized body, a batch
    /// that mixes topics...
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// A setting or argument the call cannot work with.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The client was not started, or has been shut down.
    #[error("the client is not running")]
    NotRunning,
    /// Neither the name server nor the `TBW102` fallback gave a route.
    #[error("no route for topic {topic}")]
    NoRoute { topic: String },
    /// The route names a broker whose address is unknown (or that has no master).
    #[error("no address known for broker {broker_name}")]
    BrokerNotFound { broker_name: String },
    /// The peer answered with an error code.
    #[error("{addr} answered {} ({code}): {remark}", code_name(*.code))]
    Broker {
        code: i32,
        remark: String,
        /// Address of the broker or name server that answered.
        addr: String,
    },
    /// The request could not be sent, or no answer came.
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// The answer could not be understood.
    #[error("malformed {what} from {addr}: {reason}")]
    BadResponse {
        what: &'static str,
        addr: String,
        reason: String,
    },
    /// The call ran out of time before a request could be sent (a timeout while waiting
    /// for an answer is [`ClientError::Remoting`] instead).
    #[error("no result within {0:?}")]
    Timeout(Duration),
    /// Every send attempt failed.
    #[error("send failed after {attempts} attempt(s) to {brokers:?}: {last}")]
    SendFailed {
        attempts: u32,
        brokers: Vec<String>,
        /// Whether any attempt may have been stored.
        maybe_stored: bool,
        #[source]
        last: Box<ClientError>,
    },
    /// The local offset file of a broadcasting consumer cannot be read or written.
    #[error("offset file {path}: {source}")]
    OffsetFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The local offset file holds something other than an offset table.
    #[error("offset file {path} is not a valid offset table: {source}")]
    OffsetFileFormat {
        path: PathBuf,
        #[source]
        source: BodyError,
    },
}

fn code_name(code: i32) -> &'static str {
    ResponseCode::try_from(code)
        .map(ResponseCode::name)
        .unwrap_or("UNKNOWN")
}

/// Response codes after which a producer tries again on another broker (reference §2.2).
pub const RETRIABLE_SEND_CODES: [ResponseCode; 8] = [
    ResponseCode::TOPIC_NOT_EXIST,
    ResponseCode::SERVICE_NOT_AVAILABLE,
    ResponseCode::SYSTEM_ERROR,
    ResponseCode::SYSTEM_BUSY,
    ResponseCode::NO_PERMISSION,
    ResponseCode::NO_BUYER_ID,
    ResponseCode::NOT_IN_CURRENT_UNIT,
    ResponseCode::GO_AWAY,
];

/// Response codes of a send that mean the message was stored, with a caveat for all but 0.
pub const STORED_SEND_CODES: [ResponseCode; 4] = [
    ResponseCode::SUCCESS,
    ResponseCode::FLUSH_DISK_TIMEOUT,
    ResponseCode::SLAVE_NOT_AVAILABLE,
    ResponseCode::FLUSH_SLAVE_TIMEOUT,
];

impl ClientError {
    /// Whether the message of a failed send may nevertheless have been stored, so that a
    /// blind resend could duplicate it: true after a timeout waiting for the answer, a
    /// connection that closed after the request went out, or a stored-with-caveat code
    /// (FLUSH_DISK_TIMEOUT, SLAVE_NOT_AVAILABLE, FLUSH_SLAVE_TIMEOUT); false when the request
    /// never left or the broker refused it.
    pub fn may_be_stored(&self) -> bool {
        match self {
            ClientError::Remoting(e) => e.maybe_delivered(),
            ClientError::Broker { code, .. } => STORED_SEND_CODES
                .iter()
                .any(|c| i32::from(*c) == *code && *c != ResponseCode::SUCCESS),
            ClientError::SendFailed { maybe_stored, .. } => *maybe_stored,
            _ => false,
        }
    }

    /// Whether a failed send attempt should be retried, on another broker when possible:
    /// transport errors, an unknown broker, and the response codes of
    /// [`RETRIABLE_SEND_CODES`].
    pub fn is_retriable_send(&self) -> bool {
        match self {
            ClientError::Remoting(_) | ClientError::BrokerNotFound { .. } => true,
            ClientError::Broker { code, .. } => {
                RETRIABLE_SEND_CODES.iter().any(|c| i32::from(*c) == *code)
            }
            _ => false,
        }
    }

    /// The response code, when the peer answered with one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            ClientError::SendFailed { last, .. } => last.response_code(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(code: i32) -> ClientError {
        ClientError::Broker {
            code,
            remark: String::new(),
            addr: "b:1".into(),
        }
    }

    #[test]
    fn retriable_codes() {
        for code in [17, 14, 1, 2, 16, 204, 205, 1500] {
            assert!(broker(code).is_retriable_send(), "code {code}");
            assert!(!broker(code).may_be_stored(), "code {code}");
        }
        for code in [13, 15, 19, 22, 29, 3] {
            assert!(!broker(code).is_retriable_send(), "code {code}");
        }
        assert!(ClientError::BrokerNotFound {
            broker_name: "b".into()
        }
        .is_retriable_send());
        assert!(!ClientError::InvalidMessage("x".into()).is_retriable_send());
    }

    #[test]
    fn may_be_stored_by_cause() {
        for code in [10, 11, 12] {
            assert!(broker(code).may_be_stored(), "code {code}");
        }
        let timeout = ClientError::Remoting(RemotingError::Timeout {
            addr: "b:1".into(),
            timeout: Duration::from_secs(3),
            code: 310,
            opaque: 1,
        });
        assert!(timeout.may_be_stored() && timeout.is_retriable_send());
        let closed = ClientError::Remoting(RemotingError::ConnectionClosed { addr: "b:1".into() });
        assert!(closed.may_be_stored());
        let refused = ClientError::Remoting(RemotingError::Connect {
            addr: "b:1".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        });
        assert!(!refused.may_be_stored() && refused.is_retriable_send());
        assert!(!ClientError::Timeout(Duration::from_secs(3)).may_be_stored());
        let failed = |maybe_stored| ClientError::SendFailed {
            attempts: 3,
            brokers: vec![],
            maybe_stored,
            last: Box::new(broker(14)),
        };
        assert!(failed(true).may_be_stored());
        assert!(!failed(false).may_be_stored());
        assert_eq!(failed(false).response_code(), Some(14));
        assert!(broker(17).to_string().contains("TOPIC_NOT_EXIST (17)"));
    }
}
