//! Broker errors: start-up failures and request failures mapped to response codes.

use fennec_protocol::header::HeaderError;
use fennec_protocol::BodyError;
use fennec_remoting::{RemotingCommand, ResponseCode};

use crate::config::ConfigError;
use fennec_store::StoreError;

/// Why the broker could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[source] StoreError),
    #[error("ACL: {0}")]
    Acl(#[from] crate::acl::AclError),
    #[error("TLS: {0}")]
    Tls(#[from] fennec_remoting::tls::TlsError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl BrokerError {
    pub fn io(context: &str, source: std::io::Error) -> Self {
        BrokerError::Io {
            context: context.to_string(),
            source,
        }
    }
}

/// A request that cannot be served: the response code and a remark saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub code: ResponseCode,
    pub remark: String,
}

impl Reject {
    pub fn new(code: ResponseCode, remark: impl Into<String>) -> Self {
        Reject {
            code,
            remark: remark.into(),
        }
    }

    /// A request body that does not decode, e.g. "HEART_BEAT body: JSON nested deeper than
    /// 64 levels".
    pub fn bad_body(request: &str, e: &BodyError) -> Self {
        Reject::new(ResponseCode::SYSTEM_ERROR, format!("{request} body: {e}"))
    }

    pub fn into_response(self) -> RemotingCommand {
        RemotingCommand::response(self.code, Some(self.remark))
    }
}

/// A missing or malformed header field is a SYSTEM_ERROR, as in Java RocketMQ.
impl From<HeaderError> for Reject {
    fn from(e: HeaderError) -> Self {
        Reject::new(ResponseCode::SYSTEM_ERROR, e.to_string())
    }
}

/// Result of a request handler.
pub type Handled = Result<RemotingCommand, Reject>;
