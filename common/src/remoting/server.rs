//! The remoting server: an accept loop that starts a connection per socket and dispatches
//! requests to one [`RequestProcessor`], with graceful shutdown on a `CancellationToken`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::connection::{spawn_connection, ConnectionConfig, RequestProcessor};

/// Limits of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub connection: ConnectionConfig,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            connection: ConnectionConfig::default(),
            max_connections: 65_536,
            shutdown_grace: Duration::from_secs(10),
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
        let slots = Arc::new(Semaphore::new(config.max_connections));
        loop {
            let permit = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            let accepted = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match spawn_connection(
                stream,
                processor.clone(),
                &config.connection,
                shutdown.clone(),
                &tracker,
            ) {
                Ok(channel) => {
                    tracing::debug!(remote = %peer, "connection accepted");
                    tracker.spawn(async move {
                        channel.closed().await;
                        drop(permit);
                    });
                }
                Err(e) => warn!(remote = %peer, "cannot set up connection: {e}"),
            }
        }
        drop(listener);
        tracker.close();
        if tokio::time::timeout(config.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            warn!(
                "shutdown grace period of {:?} elapsed with requests still running",
                config.shutdown_grace
            );
        } else {
            info!("all connections closed");
        }
    }
}
