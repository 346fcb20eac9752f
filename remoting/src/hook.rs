//! [`RpcHook`]: a change made to every request a client sends, as Java's `RPCHook`
//! `doBeforeRequest`; [`AclRpcHook`] signs requests for RocketMQ's plain ACL (Java's
//! `AclClientRPCHook`). A [`crate::RemotingClient`] applies its hook to every request and
//! oneway request on its connections (responses are not signed), so the SDK, the tools and
//! a broker's outbound requests share it.

use std::fmt;
use std::net::SocketAddr;

use fennec_protocol::signature::SigningKey;
use fennec_protocol::RemotingCommand;

/// Changes every request before it is sent.
pub trait RpcHook: Send + Sync + fmt::Debug + 'static {
    /// Called with each request to `remote` just before it is queued.
    fn before_request(&self, remote: SocketAddr, request: &mut RemotingCommand);
}

/// Signs every request with an account of the servers' `plain_acl.yml`: adds `AccessKey`
/// and `Signature` (HMAC-SHA1 of the sorted extField values and the body). The secret key is
/// kept only as an HMAC state keyed once, here.
#[derive(Clone)]
pub struct AclRpcHook {
    access_key: String,
    key: SigningKey,
}

impl AclRpcHook {
    pub fn new(access_key: impl Into<String>, secret_key: impl AsRef<str>) -> Self {
        AclRpcHook {
            access_key: access_key.into(),
            key: SigningKey::new(secret_key.as_ref()),
        }
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }
}

/// Shows the access key only, never the secret.
impl fmt::Debug for AclRpcHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AclRpcHook")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl RpcHook for AclRpcHook {
    fn before_request(&self, _remote: SocketAddr, request: &mut RemotingCommand) {
        self.key.sign(request, &self.access_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::{signature, RequestCode};

    #[test]
    fn signs_and_never_shows_the_secret() {
        let hook = AclRpcHook::new("ak", "very-secret");
        assert!(!format!("{hook:?}").contains("very-secret"));
        let mut cmd = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(b"{}".to_vec());
        hook.before_request(([127, 0, 0, 1], 10911).into(), &mut cmd);
        assert!(signature::verify(&cmd, "very-secret"));
        assert_eq!(cmd.ext(signature::ACCESS_KEY), Some("ak"));
    }
}
