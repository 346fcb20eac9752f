//! `NamesrvError`: everything that can go wrong in the nameserver, from startup (config file,
//! KV store) to a single request. [`NamesrvError::to_response`] is the one place that maps an
//! error to the response code and remark a RocketMQ peer expects.

use std::io;
use std::path::PathBuf;

use fennec_protocol::header::HeaderError;
use fennec_protocol::BodyError;
use fennec_remoting::{RemotingCommand, ResponseCode};

/// Where RocketMQ's nameserver points users whose topic has no route.
const APPLY_TOPIC_HINT: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// A nameserver error.
#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    /// Every problem of the configuration file (or command line).
    #[error("{0}")]
    Config(#[from] fennec_common::config::ConfigErrors),
    #[error("TLS: {0}")]
    Tls(#[from] fennec_remoting::tls::TlsError),
    #[error("TLS set-up task failed: {0}")]
    TlsTask(#[source] tokio::task::JoinError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot read KV config {path}: {source}")]
    KvLoad {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "KV config {path} is not valid JSON ({source}); fix or move it away, it was left untouched"
    )]
    KvParse {
        path: PathBuf,
        #[source]
        source: BodyError,
    },
    #[error("cannot persist KV config to {path}: {source}")]
    KvPersist {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("KV config persistence task failed: {0}")]
    KvTask(#[source] tokio::task::JoinError),
    #[error("{0}")]
    Header(#[from] HeaderError),
    /// `what` names the request, e.g. "REGISTER_BROKER".
    #[error("{what} body: {source}")]
    Body {
        what: &'static str,
        #[source]
        source: BodyError,
    },
    #[error("crc32 not match: header bodyCrc32 {expected}, body has {actual}")]
    BodyCrc { expected: i32, actual: i32 },
    #[error("compressed broker registration (compressed=true) is not supported by this name server; set compressedRegister=false on the broker")]
    CompressedRegistration,
    #[error("No topic route info in name server for the topic: {0}{APPLY_TOPIC_HINT}")]
    TopicNotExist(String),
    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvKeyNotFound { namespace: String, key: String },
    #[error("No config item, Namespace: {0}")]
    KvNamespaceNotFound(String),
    #[error("cannot register topic {topic}: broker {broker_name} is not registered")]
    UnknownBroker { topic: String, broker_name: String },
    #[error("{0}")]
    RouteLimit(#[from] crate::route_limits::LimitExceeded),
}

impl NamesrvError {
    /// The response code a RocketMQ peer expects for this error.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            NamesrvError::TopicNotExist(_) => ResponseCode::TOPIC_NOT_EXIST,
            NamesrvError::KvKeyNotFound { .. } | NamesrvError::KvNamespaceNotFound(_) => {
                ResponseCode::QUERY_NOT_FOUND
            }
            _ => ResponseCode::SYSTEM_ERROR,
        }
    }

    /// The error as a response: its code, and its text as the remark (every variant's text
    /// already names its cause).
    pub fn to_response(&self) -> RemotingCommand {
        RemotingCommand::response(self.response_code(), Some(self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codes_and_remarks() {
        let e = NamesrvError::TopicNotExist("T".into());
        let r = e.to_response();
        assert_eq!(r.code, i32::from(ResponseCode::TOPIC_NOT_EXIST));
        assert!(r
            .remark_str()
            .starts_with("No topic route info in name server for the topic: T\nSee "));

        let r = NamesrvError::from(HeaderError::Missing("topic")).to_response();
        assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
        assert_eq!(r.remark_str(), "the custom field <topic> is null");

        let r = NamesrvError::KvKeyNotFound {
            namespace: "N".into(),
            key: "K".into(),
        }
        .to_response();
        assert_eq!(r.code, i32::from(ResponseCode::QUERY_NOT_FOUND));
        assert_eq!(r.remark_str(), "No config item, Namespace: N Key: K");
    }
}
