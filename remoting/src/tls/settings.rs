//! The TLS keys of the servers' configuration files, with RocketMQ's names: `tls.server.*`
//! (broker.conf and the nameserver's file) for what a server accepts, and `tls.enable` plus
//! `tls.client.*` (broker.conf) for the connections a broker opens to other servers. Each
//! turns into the [`TlsServer`] or [`TlsClient`] it describes, or an error naming the key or
//! the file.

use std::path::PathBuf;

use fennec_common::config::ConfigValue;

use super::{ClientAuth, TlsClient, TlsError, TlsMode, TlsServer};

impl ConfigValue for TlsMode {
    fn parse_value(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(TlsMode::Disabled),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err("expected disabled, permissive or enforcing".to_string()),
        }
    }
    fn show(&self) -> String {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        }
        .to_string()
    }
}

impl ConfigValue for ClientAuth {
    fn parse_value(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(ClientAuth::None),
            "optional" => Ok(ClientAuth::Optional),
            "require" => Ok(ClientAuth::Require),
            _ => Err("expected none, optional or require".to_string()),
        }
    }
    fn show(&self) -> String {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Optional => "optional",
            ClientAuth::Require => "require",
        }
        .to_string()
    }
}

fennec_common::config_struct! {
    /// What a server accepts: plain TCP, TLS, or both on one port.
    #[derive(PartialEq, Eq)]
    pub struct TlsServerSettings {
        /// `disabled` (plain TCP only; Fennec's default), `permissive` (TLS and plain on the
        /// same port, told apart by the first byte; RocketMQ's default) or `enforcing` (TLS
        /// only).
        "tls.server.mode" => mode: TlsMode = TlsMode::Disabled,
        /// PEM certificate chain of the server (required unless disabled).
        "tls.server.certPath" => cert_path: Option<PathBuf> = None,
        /// PEM private key of the server, unencrypted PKCS#8, PKCS#1 or SEC1 (required
        /// unless disabled).
        "tls.server.keyPath" => key_path: Option<PathBuf> = None,
        /// PEM CA certificates client certificates are checked against (required when
        /// clients authenticate).
        "tls.server.trustCertPath" => trust_cert_path: Option<PathBuf> = None,
        /// Client certificates: `none`, `optional` (checked when given) or `require`.
        "tls.server.need.client.auth" => need_client_auth: ClientAuth = ClientAuth::None,
    }
}

fennec_common::config_struct! {
    /// How a broker connects to other servers (its nameservers).
    #[derive(PartialEq, Eq)]
    pub struct TlsClientSettings {
        /// Connect to other servers over TLS.
        "tls.enable" => enable: bool = false,
        /// PEM CA certificates the servers' certificates are checked against (required with
        /// `tls.enable`).
        "tls.client.trustCertPath" => trust_cert_path: Option<PathBuf> = None,
        /// PEM certificate chain presented to servers that ask for one.
        "tls.client.certPath" => cert_path: Option<PathBuf> = None,
        /// PEM private key of `tls.client.certPath`.
        "tls.client.keyPath" => key_path: Option<PathBuf> = None,
    }
}

impl TlsServerSettings {
    /// The TLS side of a server, or `None` when the mode is `disabled`. Reads the files.
    pub fn load(&self) -> Result<Option<TlsServer>, TlsError> {
        if self.mode == TlsMode::Disabled {
            return Ok(None);
        }
        let required = |value: &Option<PathBuf>, key: &'static str| {
            value.clone().ok_or(TlsError::Missing {
                key,
                because: format!("tls.server.mode is {}", self.mode.show()),
            })
        };
        let cert = required(&self.cert_path, "tls.server.certPath")?;
        let key = required(&self.key_path, "tls.server.keyPath")?;
        let trust = match self.need_client_auth {
            ClientAuth::None => None,
            auth => Some(self.trust_cert_path.clone().ok_or(TlsError::Missing {
                key: "tls.server.trustCertPath",
                because: format!("tls.server.need.client.auth is {}", auth.show()),
            })?),
        };
        TlsServer::from_pem_files(
            self.mode,
            &cert,
            &key,
            trust.as_deref(),
            self.need_client_auth,
        )
        .map(Some)
    }
}

impl TlsClientSettings {
    /// The TLS side of outbound connections, or `None` without `tls.enable`. Reads the files.
    pub fn load(&self) -> Result<Option<TlsClient>, TlsError> {
        if !self.enable {
            return Ok(None);
        }
        let ca = self.trust_cert_path.clone().ok_or(TlsError::Missing {
            key: "tls.client.trustCertPath",
            because: "tls.enable is true".to_string(),
        })?;
        let identity = match (&self.cert_path, &self.key_path) {
            (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(TlsError::Missing {
                    key: "tls.client.keyPath",
                    because: "tls.client.certPath is set".to_string(),
                })
            }
            (None, Some(_)) => {
                return Err(TlsError::Missing {
                    key: "tls.client.certPath",
                    because: "tls.client.keyPath is set".to_string(),
                })
            }
        };
        TlsClient::from_pem_files(&ca, identity).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_common::config::ConfigKeys;

    #[test]
    fn keys_parse_and_missing_files_are_named() {
        let mut s = TlsServerSettings::default();
        assert!(s.load().unwrap().is_none(), "disabled by default");
        assert!(s.set("tls.server.mode", "Enforcing").unwrap());
        assert_eq!(s.mode, TlsMode::Enforcing);
        let err = s.load().unwrap_err().to_string();
        assert_eq!(
            err,
            "tls.server.certPath is required: tls.server.mode is enforcing"
        );
        assert!(s.set("tls.server.need.client.auth", "sometimes").is_err());
        s.set("tls.server.certPath", "/nonexistent/cert.pem")
            .unwrap();
        s.set("tls.server.keyPath", "/nonexistent/key.pem").unwrap();
        let err = s.load().unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read the certificate chain from /nonexistent/cert.pem"),
            "{err}"
        );
        s.set("tls.server.need.client.auth", "require").unwrap();
        let err = s.load().unwrap_err().to_string();
        assert!(
            err.contains("tls.server.trustCertPath is required"),
            "{err}"
        );

        let mut c = TlsClientSettings::default();
        assert!(c.load().unwrap().is_none());
        c.set("tls.enable", "true").unwrap();
        let err = c.load().unwrap_err().to_string();
        assert!(
            err.contains("tls.client.trustCertPath is required"),
            "{err}"
        );
        assert!(TlsServerSettings::keys().contains(&"tls.server.need.client.auth"));
    }
}
