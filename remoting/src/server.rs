//! The remoting server: an accept loop that starts a connection per socket and dispatches
//! requests to one [`RequestProcessor`], with graceful shutdown on a `CancellationToken`.
//!
//! The server's limits (see [`ServerConfig`]): connections beyond `max_connections` are
//! accepted and closed at once; request bytes in flight across all connections are bounded by
//! `max_in_flight_bytes` (readers wait for budget, see `frame_reader`); connections idle for
//! `connection.idle_timeout` are closed. Each refusal is logged at most once per 10 s per
//! kind, with a count of the ones not logged.
//!
//! With [`ServerConfig::tls`] a task per new connection reads its first byte (and performs
//! the TLS handshake) within [`HANDSHAKE_TIMEOUT`] before the connection starts; the accept
//! loop itself never waits on a peer.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::connection::{spawn_connection, ConnectionConfig, ConnectionContext, RequestProcessor};
use super::frame_reader::ConnectionGuards;
use super::stream::Stream;
use super::tls::{Accepted, TlsServer};
use crate::counters::{ConnectionRefusal, ServerCounters};
use crate::log_limit::LogLimiter;

/// How long a new connection may take to send its first byte and finish a TLS handshake
/// (when the server has TLS).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default `serverMaxConnections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default `serverChannelMaxIdleTimeSeconds` (RocketMQ's).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Default `serverMaxInFlightBytes`: request bytes held at once across all connections.
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: usize = 256 * 1024 * 1024;

/// Limits of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Limits of each connection; `idle_timeout` defaults to [`DEFAULT_IDLE_TIMEOUT`] here.
    pub connection: ConnectionConfig,
    /// Connections served at once; a client beyond this is accepted and closed at once.
    pub max_connections: usize,
    /// Request bytes (whole frames) read but not yet answered, across all connections.
    /// A frame larger than this is rejected like one over `connection.max_frame`.
    pub max_in_flight_bytes: usize,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub shutdown_grace: Duration,
    /// Connection counts, shared with whoever exports them.
    pub counters: Arc<ServerCounters>,
    /// TLS, permissive or enforcing (`None`: plain TCP only).
    pub tls: Option<TlsServer>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            connection: ConnectionConfig {
                idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
                ..ConnectionConfig::default()
            },
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            shutdown_grace: Duration::from_secs(10),
            counters: Arc::default(),
            tls: None,
        }
    }
}

impl ServerConfig {
    /// Defaults with the limits both servers read from their config files:
    /// `serverMaxConnections`, `serverChannelMaxIdleTimeSeconds` (0: never idle) and
    /// `serverMaxInFlightBytes`, and the largest frame.
    pub fn with_limits(
        max_connections: usize,
        idle_timeout_secs: u64,
        max_in_flight_bytes: usize,
        max_frame: usize,
    ) -> Self {
        let defaults = ServerConfig::default();
        ServerConfig {
            connection: ConnectionConfig {
                max_frame,
                idle_timeout: (idle_timeout_secs > 0)
                    .then(|| Duration::from_secs(idle_timeout_secs)),
                ..defaults.connection
            },
            max_connections,
            max_in_flight_bytes,
            ..defaults
        }
    }

    /// The same limits with TLS (`None`: plain TCP only).
    pub fn with_tls(mut self, tls: Option<TlsServer>) -> Self {
        self.tls = tls;
        self
    }
}

/// What every connection of one server shares.
struct Shared<P> {
    processor: Arc<P>,
    config: ServerConfig,
    guards: Arc<ConnectionGuards>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    log_handshake: LogLimiter,
}

impl<P: RequestProcessor> Shared<P> {
    /// Starts a connection on `stream`; it holds `permit` (its connection slot) until closed.
    fn start<S: Stream>(
        &self,
        stream: S,
        peer: std::net::SocketAddr,
        permit: OwnedSemaphorePermit,
    ) {
        let ctx = ConnectionContext {
            processor: self.processor.clone(),
            config: &self.config.connection,
            guards: self.guards.clone(),
            shutdown: self.shutdown.clone(),
            tracker: &self.tracker,
            hook: None,
        };
        match spawn_connection(stream, ctx) {
            Ok(channel) => {
                tracing::debug!(remote = %peer, "connection accepted");
                let counters = self.config.counters.clone();
                counters.opened();
                self.tracker.spawn(async move {
                    channel.closed().await;
                    counters.closed();
                    drop(permit);
                });
            }
            Err(e) => warn!(remote = %peer, "cannot set up connection: {e}"),
        }
    }

    /// Tells TLS from plain by the first byte, handshakes, then starts the connection.
    async fn start_tls(
        &self,
        tls: &TlsServer,
        stream: TcpStream,
        peer: std::net::SocketAddr,
        permit: OwnedSemaphorePermit,
    ) {
        if let Err(e) = stream.set_nodelay(true) {
            warn!(remote = %peer, "cannot set up connection: {e}");
            return;
        }
        let accepted = tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => return,
            a = tls.accept(stream, HANDSHAKE_TIMEOUT) => a,
        };
        match accepted {
            Ok(Accepted::Plain(stream)) => self.start(stream, peer, permit),
            Ok(Accepted::Tls(stream)) => self.start(*stream, peer, permit),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                tracing::debug!(remote = %peer, "connection closed before it started: {e}");
            }
            Err(e) => {
                if let Some(suppressed) = self.log_handshake.allow() {
                    warn!(remote = %peer, suppressed, "connection closed before it started: {e}");
                }
            }
        }
    }
}

/// Serves the remoting protocol on a listener.
#[derive(Debug)]
pub struct RemotingServer;

impl RemotingServer {
    /// Accepts connections on `listener` until `shutdown` fires, then stops accepting, lets
    /// in-flight requests finish (up to `shutdown_grace`) and returns.
    pub async fn serve<P: RequestProcessor>(
        listener: TcpListener,
        processor: Arc<P>,
        config: ServerConfig,
        shutdown: CancellationToken,
    ) {
        let tracker = TaskTracker::new();
        let slots = Arc::new(Semaphore::new(
            config.max_connections.min(Semaphore::MAX_PERMITS),
        ));
        let counters = config.counters.clone();
        let tls = config.tls.clone();
        let shared = Arc::new(Shared {
            processor,
            guards: Arc::new(
                ConnectionGuards::with_budget(config.max_in_flight_bytes)
                    .counting(counters.clone()),
            ),
            shutdown,
            tracker: tracker.clone(),
            log_handshake: LogLimiter::default(),
            config,
        });
        let log_refused = LogLimiter::default();
        let log_accept_error = LogLimiter::default();
        loop {
            let accepted = tokio::select! {
                biased;
                _ = shared.shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    if let Some(suppressed) = log_accept_error.allow() {
                        warn!(suppressed, "accept failed: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                counters.refuse(ConnectionRefusal::MaxConnections);
                if let Some(suppressed) = log_refused.allow() {
                    warn!(
                        remote = %peer, limit = shared.config.max_connections, suppressed,
                        "connection refused: the server has its maximum number of connections \
                         (serverMaxConnections)"
                    );
                }
                drop(stream);
                continue;
            };
            match &tls {
                None => shared.start(stream, peer, permit),
                Some(tls) => {
                    let (shared, tls) = (shared.clone(), tls.clone());
                    tracker
                        .spawn(async move { shared.start_tls(&tls, stream, peer, permit).await });
                }
            }
        }
        drop(listener);
        tracker.close();
        if tokio::time::timeout(shared.config.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            warn!(
                "shutdown grace period of {:?} elapsed with requests still running",
                shared.config.shutdown_grace
            );
        } else {
            info!("all connections closed");
        }
    }
}
