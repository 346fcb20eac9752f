//! Typed calls over a [`RemotingClient`]: send a [`Request`] and decode its answer with the
//! request's own decoder. Callers that need their own error type (the SDK, mqadmin) map
//! [`CallError`]; the address is always named.

use std::time::Duration;

use super::client::RemotingClient;
use super::connection::RequestProcessor;
use super::error::RemotingError;
use fennec_protocol::request::{ReplyError, Request};
use fennec_protocol::SerializeType;

/// Why a typed call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request did not get an answer (connection, timeout).
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// The answer was not what the request needed.
    #[error("{request} to {addr}: {source}")]
    Reply {
        addr: String,
        request: &'static str,
        #[source]
        source: ReplyError,
    },
}

impl CallError {
    /// The server's response code, when it refused.
    pub fn code(&self) -> Option<i32> {
        match self {
            CallError::Reply { source, .. } => source.code(),
            CallError::Remoting(_) => None,
        }
    }
}

impl<P: RequestProcessor> RemotingClient<P> {
    /// Sends `request` to `addr` with a JSON header and decodes the answer.
    pub async fn call<R: Request>(
        &self,
        addr: &str,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Reply, CallError> {
        self.call_as(addr, request, SerializeType::Json, timeout)
            .await
    }

    /// [`call`](Self::call) with the header in `serialize_type` form.
    pub async fn call_as<R: Request>(
        &self,
        addr: &str,
        request: &R,
        serialize_type: SerializeType,
        timeout: Duration,
    ) -> Result<R::Reply, CallError> {
        let mut cmd = request.to_command();
        cmd.serialize_type = serialize_type;
        let reply = self.invoke(addr, cmd, timeout).await?;
        R::decode_reply(reply).map_err(|source| CallError::Reply {
            addr: addr.to_string(),
            request: R::CODE.name(),
            source,
        })
    }

    /// Sends `request` to `addr` as a oneway request.
    pub async fn call_oneway<R: Request>(
        &self,
        addr: &str,
        request: &R,
        serialize_type: SerializeType,
    ) -> Result<(), RemotingError> {
        let mut cmd = request.to_command();
        cmd.serialize_type = serialize_type;
        self.invoke_oneway(addr, cmd).await
    }
}
