//! The flags both tools take for servers with ACL or TLS: `--access-key` / `--secret-key`
//! (or `ROCKETMQ_ACCESS_KEY` / `ROCKETMQ_SECRET_KEY`) sign every request with an account of
//! the servers' `plain_acl.yml`; `--tls` with `--tls-ca` connects over TLS, checking the
//! servers' certificates against that CA, and `--tls-cert` / `--tls-key` answer servers that
//! ask for a client certificate.

use std::path::PathBuf;
use std::sync::Arc;

use fennec_common::config::Secret;
use fennec_remoting::{AclRpcHook, RpcHook, TlsClient};

fn secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// Credentials and TLS, as flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SecurityArgs {
    /// Access key of a `plain_acl.yml` account: every request is signed with it.
    #[arg(long = "access-key", env = "ROCKETMQ_ACCESS_KEY", global = true)]
    pub access_key: Option<String>,
    /// Secret key of --access-key (the environment variable keeps it out of `ps`).
    #[arg(
        long = "secret-key",
        env = "ROCKETMQ_SECRET_KEY",
        hide_env_values = true,
        value_parser = secret,
        global = true
    )]
    pub secret_key: Option<Secret>,
    /// Connect over TLS (needs --tls-ca).
    #[arg(long, global = true)]
    pub tls: bool,
    /// PEM CA certificates the servers' certificates are checked against.
    #[arg(long = "tls-ca", value_name = "PEM", global = true)]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate chain, for servers that ask for one (with --tls-key).
    #[arg(long = "tls-cert", value_name = "PEM", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long = "tls-key", value_name = "PEM", global = true)]
    pub tls_key: Option<PathBuf>,
}

/// What the flags resolve to.
#[derive(Debug, Clone, Default)]
pub struct Security {
    pub hook: Option<Arc<dyn RpcHook>>,
    pub tls: Option<TlsClient>,
}

impl SecurityArgs {
    /// Checks the flags that go together and reads the TLS files.
    pub fn resolve(&self) -> Result<Security, String> {
        let hook = match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => {
                let hook: Arc<dyn RpcHook> = Arc::new(AclRpcHook::new(ak, sk.expose()));
                Some(hook)
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err("--access-key needs --secret-key (or ROCKETMQ_SECRET_KEY)".into())
            }
            (None, Some(_)) => {
                return Err("--secret-key needs --access-key (or ROCKETMQ_ACCESS_KEY)".into())
            }
        };
        let tls = match (self.tls, &self.tls_ca) {
            (false, None) if self.tls_cert.is_none() && self.tls_key.is_none() => None,
            (true, Some(ca)) => {
                let identity = match (&self.tls_cert, &self.tls_key) {
                    (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
                    (None, None) => None,
                    _ => return Err("--tls-cert and --tls-key go together".into()),
                };
                Some(TlsClient::from_pem_files(ca, identity).map_err(|e| format!("--tls: {e}"))?)
            }
            (true, None) => {
                return Err(
                    "--tls needs --tls-ca, the CA that signed the servers' certificates".into(),
                )
            }
            (false, _) => return Err("--tls-ca, --tls-cert and --tls-key need --tls".into()),
        };
        Ok(Security { hook, tls })
    }
}

impl Security {
    /// A remoting client configuration with these settings.
    pub fn remoting_config(&self) -> fennec_remoting::ClientConfig {
        fennec_remoting::ClientConfig {
            hook: self.hook.clone(),
            tls: self.tls.clone(),
            ..fennec_remoting::ClientConfig::default()
        }
    }

    /// An SDK configuration for `namesrv` with these settings.
    pub fn client_config(&self, namesrv: &str) -> fennec_client::ClientConfig {
        fennec_client::ClientConfig {
            rpc_hook: self.hook.clone(),
            tls: self.tls.clone(),
            ..fennec_client::ClientConfig::default()
        }
        .with_namesrv_addr(namesrv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        security: SecurityArgs,
    }

    fn resolve(args: &[&str]) -> Result<Security, String> {
        let cli = Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.security.resolve()
    }

    #[test]
    fn flags_that_go_together() {
        let s = resolve(&["--access-key", "ak", "--secret-key", "sk"]).unwrap();
        assert!(s.hook.is_some() && s.tls.is_none());
        assert!(!format!("{s:?}").contains("sk\""), "{s:?}");
        assert!(resolve(&[]).unwrap().hook.is_none());
        for (args, expected) in [
            (
                &["--access-key", "ak"][..],
                "--access-key needs --secret-key",
            ),
            (&["--tls"][..], "--tls needs --tls-ca"),
            (&["--tls-ca", "ca.pem"][..], "need --tls"),
            (
                &["--tls", "--tls-ca", "/nonexistent/ca.pem"][..],
                "--tls: cannot read the certificate chain from /nonexistent/ca.pem",
            ),
        ] {
            let err = resolve(args).unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }
}
