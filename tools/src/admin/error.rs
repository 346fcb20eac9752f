//! [`AdminError`]: why an admin request or command failed. Every variant renders as the one
//! line `mqadmin` prints on stderr, naming the server involved.

use fennec_protocol::header::HeaderError;
use fennec_protocol::message::record::RecordError;
use fennec_protocol::BodyError;
use fennec_remoting::{RemotingError, ResponseCode};

/// A failed admin operation.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Neither `-n` nor `NAMESRV_ADDR` named a nameserver.
    #[error("no nameserver address: pass -n host:port[;host:port] or set NAMESRV_ADDR")]
    NoNamesrv,
    /// Connecting to or hearing back from a server failed.
    #[error("cannot reach {role} {addr}: {reason}")]
    Unreachable {
        role: &'static str,
        addr: String,
        reason: String,
        #[source]
        source: RemotingError,
    },
    /// The server answered with a non-success code.
    #[error("{addr} refused {request}: {} ({code}){}", code_name(*.code), remark_suffix(.remark))]
    Response {
        addr: String,
        request: String,
        code: i32,
        remark: String,
    },
    /// The server answered REQUEST_CODE_NOT_SUPPORTED to `request`, sent for `command`.
    #[error("{addr} does not support {}", match .command {
        Some(c) => format!("{c} ({request})"),
        None => request.clone(),
    })]
    NotSupported {
        addr: String,
        request: String,
        command: Option<String>,
    },
    #[error("topic {0} does not exist (no route on the nameservers)")]
    TopicNotExist(String),
    #[error("cluster {0} does not exist (not in the nameservers' cluster info)")]
    ClusterNotExist(String),
    #[error("broker {broker} does not serve topic {topic}")]
    BrokerNotInRoute { broker: String, topic: String },
    /// A reply body that does not parse.
    #[error("{addr} sent an unreadable {what} body: {source}")]
    BadBody {
        addr: String,
        what: &'static str,
        #[source]
        source: BodyError,
    },
    /// A reply header that does not parse.
    #[error("{addr} sent an unreadable {what} header: {source}")]
    BadHeader {
        addr: String,
        what: &'static str,
        #[source]
        source: HeaderError,
    },
    /// Message records in a reply that do not parse.
    #[error("{addr} sent unreadable message records: {source}")]
    BadRecords {
        addr: String,
        #[source]
        source: RecordError,
    },
    /// Arguments that parse but do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// Nothing matched (a message id, a group's statistics).
    #[error("{0}")]
    NotFound(String),
    /// Writing the result failed (a closed pipe, a full disk).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// Several servers failed; each reason is listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Many(Vec<AdminError>),
}

impl AdminError {
    /// The response code, when the error is a server's refusal.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            AdminError::Response { code, .. } => Some(*code),
            AdminError::NotSupported { .. } => {
                Some(i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED))
            }
            _ => None,
        }
    }

    /// Names the mqadmin command in "does not support" errors, which the client can only
    /// phrase in terms of the request it sent.
    pub fn in_command(self, command: &str) -> AdminError {
        match self {
            AdminError::NotSupported { addr, request, .. } => AdminError::NotSupported {
                addr,
                request,
                command: Some(command.to_string()),
            },
            AdminError::Many(v) => {
                AdminError::Many(v.into_iter().map(|e| e.in_command(command)).collect())
            }
            other => other,
        }
    }

    /// One error from many: the only one, or [`AdminError::Many`].
    pub fn from_many(mut errors: Vec<AdminError>) -> AdminError {
        if errors.len() == 1 {
            if let Some(e) = errors.pop() {
                return e;
            }
        }
        AdminError::Many(errors)
    }
}

/// Why a remote call failed, without the address (the error names it already).
pub fn remoting_reason(e: &RemotingError) -> String {
    match e {
        RemotingError::Connect { source, .. } => source.to_string(),
        RemotingError::Tls { source, .. } => format!("TLS handshake failed: {source}"),
        RemotingError::ConnectTimeout { timeout, .. } => {
            format!("connect timed out after {} ms", timeout.as_millis())
        }
        RemotingError::Timeout { timeout, .. } => {
            format!("no response within {} ms", timeout.as_millis())
        }
        RemotingError::ConnectionClosed { .. } => "connection closed".to_string(),
        RemotingError::InvalidAddress(a) => format!("invalid address {a:?}"),
    }
}

fn code_name(code: i32) -> String {
    match ResponseCode::try_from(code) {
        Ok(c) => c.name().to_string(),
        Err(n) => format!("code {n}"),
    }
}

fn remark_suffix(remark: &str) -> String {
    let r = remark.trim();
    if r.is_empty() {
        String::new()
    } else {
        format!(": {}", r.replace('\n', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_server() {
        let e = AdminError::Unreachable {
            role: "nameserver",
            addr: "127.0.0.1:9876".into(),
            reason: remoting_reason(&RemotingError::Connect {
                addr: "127.0.0.1:9876".into(),
                source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            }),
            source: RemotingError::ConnectionClosed {
                addr: "127.0.0.1:9876".into(),
            },
        };
        assert!(e
            .to_string()
            .starts_with("cannot reach nameserver 127.0.0.1:9876: "));
        let e = AdminError::Response {
            addr: "b:1".into(),
            request: "UPDATE_AND_CREATE_TOPIC".into(),
            code: 1,
            remark: "boom\nstack".into(),
        };
        assert_eq!(
            e.to_string(),
            "b:1 refused UPDATE_AND_CREATE_TOPIC: SYSTEM_ERROR (1): boom stack"
        );
        let e = AdminError::NotSupported {
            addr: "n:1".into(),
            request: "GET_NAMESRV_CONFIG".into(),
            command: None,
        };
        assert_eq!(e.to_string(), "n:1 does not support GET_NAMESRV_CONFIG");
        let e = e.in_command("getNamesrvConfig");
        assert_eq!(
            e.to_string(),
            "n:1 does not support getNamesrvConfig (GET_NAMESRV_CONFIG)"
        );
        assert_eq!(e.response_code(), Some(3));
        assert_eq!(
            AdminError::TopicNotExist("X".into()).to_string(),
            "topic X does not exist (no route on the nameservers)"
        );
    }
}
