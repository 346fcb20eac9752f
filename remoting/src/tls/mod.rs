//! TLS with rustls (ring provider, no OpenSSL), in RocketMQ's server modes:
//!
//! * `disabled`: plain TCP only;
//! * `permissive`: TLS and plain TCP on the same port — a connection whose first byte is 0x16
//!   (a TLS handshake record) gets TLS, any other byte means plain TCP;
//! * `enforcing`: TLS only; a connection that starts with anything else is closed.
//!
//! [`TlsServer`] is a server's side (certificate, key, and client certificates checked
//! against a CA when asked: `none`, `optional`, `require`); [`TlsClient`] is a client's (CA
//! to check server certificates against, optionally a client certificate). Server
//! certificates are checked against the name or IP address the client connects to, so a
//! broker's certificate must name the address it advertises. `settings` holds the
//! configuration keys that build both.

mod settings;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

pub use settings::{TlsClientSettings, TlsServerSettings};

/// The first byte of a TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disabled,
    Permissive,
    Enforcing,
}

/// `tls.server.need.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Optional,
    Require,
}

/// Why TLS cannot be set up from the given settings or files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key} is required: {because}")]
    Missing { key: &'static str, because: String },
    #[error("cannot read the {what} from {}: {source}", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{} holds no {what}", path.display())]
    Empty { what: &'static str, path: PathBuf },
    #[error("{what}: {source}")]
    Rustls {
        what: String,
        #[source]
        source: rustls::Error,
    },
    #[error("cannot check client certificates against {}: {source}", path.display())]
    Verifier {
        path: PathBuf,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
}

/// The ring provider. rustls 0.23.48 deprecates it for lacking post-quantum key exchange
/// (its classic X25519 / ECDHE suites are unchanged); aws-lc-rs, the alternative, is a large
/// C build on every machine and CI run. Revisit when rustls 0.24 settles its providers.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn rustls_error(what: impl Into<String>) -> impl FnOnce(rustls::Error) -> TlsError {
    let what = what.into();
    move |source| TlsError::Rustls { what, source }
}

/// Every certificate of a PEM file (at least one).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let what = "certificate chain";
    let pem_error = |source| TlsError::Pem {
        what,
        path: path.to_path_buf(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The private key of a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| match source {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::Empty {
            what: "private key",
            path: path.to_path_buf(),
        },
        source => TlsError::Pem {
            what: "private key",
            path: path.to_path_buf(),
            source,
        },
    })
}

/// The CA certificates of a PEM file as trust anchors.
fn read_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certificates(path)? {
        roots.add(cert).map_err(rustls_error(format!(
            "{} holds a CA certificate rustls cannot use",
            path.display()
        )))?;
    }
    Ok(roots)
}

/// A server's TLS: its mode and acceptor.
#[derive(Clone)]
pub struct TlsServer {
    mode: TlsMode,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// What the first bytes of an accepted connection made of it.
pub(crate) enum Accepted {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl TlsServer {
    /// A server in `mode` (permissive or enforcing) with a ready rustls configuration.
    pub fn new(mode: TlsMode, config: Arc<ServerConfig>) -> Self {
        TlsServer {
            mode,
            acceptor: TlsAcceptor::from(config),
        }
    }

    /// Reads the certificate chain, the key and, when clients authenticate, their CA.
    pub fn from_pem_files(
        mode: TlsMode,
        cert: &Path,
        key: &Path,
        trust: Option<&Path>,
        client_auth: ClientAuth,
    ) -> Result<Self, TlsError> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(rustls_error("TLS protocol versions"))?;
        let builder = match (client_auth, trust) {
            (ClientAuth::None, _) => builder.with_no_client_auth(),
            (auth, None) => {
                return Err(TlsError::Missing {
                    key: "tls.server.trustCertPath",
                    because: format!("tls.server.need.client.auth is {auth:?}"),
                })
            }
            (auth, Some(trust)) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    read_roots(trust)?.into(),
                    provider(),
                );
                let verifier = if auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier.build().map_err(|source| TlsError::Verifier {
                    path: trust.to_path_buf(),
                    source,
                })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(read_certificates(cert)?, read_private_key(key)?)
            .map_err(rustls_error(format!(
                "the key {} does not fit the certificate {}",
                key.display(),
                cert.display()
            )))?;
        Ok(TlsServer::new(mode, Arc::new(config)))
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Reads the first byte of `stream` without consuming it and, for a TLS handshake,
    /// performs it; both within `timeout`. A plain connection is refused in enforcing mode.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        timeout: Duration,
    ) -> Result<Accepted, io::Error> {
        let work = async {
            let mut first = [0u8; 1];
            if stream.peek(&mut first).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before sending anything",
                ));
            }
            if first[0] == TLS_HANDSHAKE_RECORD {
                let tls = self.acceptor.accept(stream).await?;
                return Ok(Accepted::Tls(Box::new(tls.into())));
            }
            match self.mode {
                TlsMode::Enforcing => Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "plain connection refused: tls.server.mode is enforcing",
                )),
                TlsMode::Permissive | TlsMode::Disabled => Ok(Accepted::Plain(stream)),
            }
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no TLS handshake or request within {timeout:?}"),
                ))
            })
    }
}

/// A client's TLS: the CA it trusts and the certificate it shows, if any.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient").finish_non_exhaustive()
    }
}

impl TlsClient {
    /// A client with a ready rustls configuration.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        TlsClient {
            connector: TlsConnector::from(config),
        }
    }

    /// Trusts the CA certificates of `ca`; shows `identity` (certificate chain and key files)
    /// to servers that ask for a client certificate.
    pub fn from_pem_files(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<Self, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(rustls_error("TLS protocol versions"))?
            .with_root_certificates(read_roots(ca)?);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => builder
                .with_client_auth_cert(read_certificates(cert)?, read_private_key(key)?)
                .map_err(rustls_error(format!(
                    "the key {} does not fit the certificate {}",
                    key.display(),
                    cert.display()
                )))?,
        };
        Ok(TlsClient::new(Arc::new(config)))
    }

    /// Performs the handshake on `stream`, checking the server's certificate against the host
    /// part of `addr` (`host:port`).
    pub(crate) async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        let host = addr
            .rsplit_once(':')
            .map_or(addr, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(self.connector.connect(name, stream).await?.into())
    }
}
