//! The Fennec broker: the message store, the request processors that serve producers,
//! consumers and admin tools over the RocketMQ remoting protocol, and registration with the
//! nameservers. [`run`] serves one broker on a listener until its token is cancelled.

pub mod acl;
pub mod broker;
pub mod client;
pub mod config;
pub mod consumer_offset;
pub mod error;
pub mod ha;
pub mod long_polling;
pub mod metrics;
pub mod persist;
pub mod processor;
pub mod progress;
pub mod queue_locks;
pub mod registration;
pub mod runtime_config;
pub mod stats;
pub mod subscription_group;
pub mod topic_config;
pub mod traffic;
pub mod transaction;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fennec_remoting::{RemotingServer, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

pub use broker::{Broker, OpenStore};
pub use config::BrokerConfig;
pub use error::BrokerError;

/// Runs a broker on `listener` until `shutdown` fires (see [`BrokerServer`]). The listener
/// is bound by the caller, before the store opens; `mqbroker` binds only once the store is
/// open ([`BrokerServer::open_store`]).
pub async fn run(
    config: BrokerConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), BrokerError> {
    let store = BrokerServer::open_store(config).await?;
    BrokerServer::open(store, listener)
        .await?
        .serve(shutdown)
        .await
}

/// A broker that has opened its store and registered with its nameservers, ready to serve.
pub struct BrokerServer {
    broker: Arc<Broker>,
    listener: TcpListener,
    /// `tls.server.*` (`None`: plain TCP only).
    tls: Option<fennec_remoting::TlsServer>,
    broker_token: CancellationToken,
    /// Topic table changes since just before the first registration.
    topic_changes: watch::Receiver<i64>,
    /// Connection counts of the remoting server, for the metrics.
    connections: Arc<fennec_remoting::ServerCounters>,
    /// A master's listener for its slaves.
    ha_listener: Option<TcpListener>,
}

impl BrokerServer {
    /// Checks the configuration and opens the store (recovery included) on a blocking
    /// thread. Bind the broker's listener after this, so the port is open only once the
    /// store is, then [`open`](Self::open).
    pub async fn open_store(config: BrokerConfig) -> Result<OpenStore, BrokerError> {
        tokio::task::spawn_blocking(move || Broker::open_store(config))
            .await
            .map_err(|e| BrokerError::io("opening the store", std::io::Error::other(e)))?
    }

    /// Binds a master's HA listener, loads the metadata beside the open store and registers
    /// with every nameserver once, so that clients find the broker as soon as this returns.
    pub async fn open(store: OpenStore, listener: TcpListener) -> Result<Self, BrokerError> {
        let local = listener
            .local_addr()
            .map_err(|e| BrokerError::io("reading the listen address", e))?;
        let ha_listener = match store.config().store.broker_role.is_slave() {
            true => None,
            false => match ha_listen(store.config(), local).await {
                Ok(l) => Some(l),
                Err(e) => {
                    store.close().await;
                    return Err(e);
                }
            },
        };
        let ha_port = match &ha_listener {
            Some(l) => Some(
                l.local_addr()
                    .map_err(|e| BrokerError::io("reading the HA listen address", e))?
                    .port(),
            ),
            None => None,
        };
        let broker_token = CancellationToken::new();
        let token = broker_token.clone();
        let (broker, tls) = tokio::task::spawn_blocking(move || {
            let tls = store.config().tls_server.load()?;
            Broker::open(store, local, ha_port, token).map(|b| (b, tls))
        })
        .await
        .map_err(|e| BrokerError::io("opening the broker", std::io::Error::other(e)))??;
        let broker = Arc::new(broker);
        // Watch before registering: a topic created once clients can connect (before the
        // registration task first runs) must still trigger a registration.
        let topic_changes = broker.topics.watch();
        registration::register_all(&broker).await;
        info!(
            "The broker[{}, {}] boot success. serializeType=JSON and name server is {}",
            broker.config.broker_name, broker.broker_addr, broker.config.namesrv_addr
        );
        Ok(BrokerServer {
            broker,
            listener,
            tls,
            broker_token,
            topic_changes,
            connections: Arc::default(),
            ha_listener,
        })
    }

    /// The shared broker state.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Adds this broker's metrics and the process metrics to `registry` (served by
    /// `fennec_metrics::serve`; see `metrics.rs`).
    pub fn register_metrics(&self, registry: &mut fennec_metrics::Registry) {
        registry.register_collector(Box::new(metrics::BrokerCollector::new(
            self.broker.clone(),
            self.connections.clone(),
        )));
        registry.register_collector(Box::new(fennec_metrics::process::ProcessCollector::new()));
    }

    /// Serves until `shutdown` fires, then shuts down gracefully: unregister from the
    /// nameservers, stop accepting, finish in-flight requests (held pulls are answered at
    /// once), persist offsets and metadata, flush and close the store.
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), BrokerError> {
        let BrokerServer {
            broker,
            listener,
            tls,
            broker_token,
            topic_changes,
            connections,
            ha_listener,
        } = self;
        let tasks = TaskTracker::new();
        tasks.spawn(registration::run(broker.clone(), topic_changes));
        tasks.spawn(housekeeping(broker.clone()));
        match (&broker.ha, ha_listener) {
            (ha::Ha::Master(master), Some(listener)) => {
                tasks.spawn(master.clone().serve(listener, broker_token.clone()));
                transaction::Transactions::start(&broker, tokio::runtime::Handle::current())
                    .map_err(|e| BrokerError::io("starting the transaction check thread", e))?;
            }
            (ha::Ha::Slave(slave), _) => {
                tasks.spawn(slave.clone().run(broker_token.clone()));
                tasks.spawn(ha::metadata_sync(broker.clone(), slave.clone()));
            }
            (ha::Ha::Master(_), None) => {}
        }
        if let Some(acl) = &broker.acl {
            acl::spawn_watcher(acl.clone(), broker_token.clone())
                .map_err(|e| BrokerError::io("starting the ACL file watcher thread", e))?;
        }
        let server_token = CancellationToken::new();
        let c = &broker.config;
        let server_config = ServerConfig {
            counters: connections,
            ..ServerConfig::with_limits(
                c.server_max_connections,
                c.server_channel_max_idle_time_seconds,
                c.server_max_in_flight_bytes,
                c.max_frame_length,
            )
            .with_tls(tls)
        };
        let server = tokio::spawn(RemotingServer::serve(
            listener,
            Arc::new(processor::BrokerProcessor::new(broker.clone())),
            server_config,
            server_token.clone(),
        ));

        shutdown.cancelled().await;
        info!("broker shutting down");
        broker_token.cancel();
        broker.pull_waiters.wake_all();
        registration::unregister_all(&broker).await;
        server_token.cancel();
        let _ = server.await;
        tasks.close();
        tasks.wait().await;
        broker.outbound.shutdown().await;
        let closing = broker.clone();
        tokio::task::spawn_blocking(move || {
            closing.transactions.stop();
            closing.close()
        })
        .await
        .map_err(|e| BrokerError::io("closing the store", std::io::Error::other(e)))?;
        info!("broker stopped");
        Ok(())
    }
}

/// Binds a master's HA listener: `haListenPort`, or the listen port + 1 (an ephemeral
/// port when the broker's own is).
async fn ha_listen(config: &BrokerConfig, local: SocketAddr) -> Result<TcpListener, BrokerError> {
    let port = config
        .store
        .ha_listen_port
        .unwrap_or(match config.listen_port {
            0 => 0,
            _ => local.port().wrapping_add(1),
        });
    let ip = local.ip();
    let listener = TcpListener::bind((ip, port)).await.map_err(|e| {
        BrokerError::io(
            &format!("listening for slaves on {ip}:{port} (haListenPort)"),
            e,
        )
    })?;
    info!(addr = %listener.local_addr().map_or_else(|_| format!("{ip}:{port}"), |a| a.to_string()), "listening for slaves");
    Ok(listener)
}

/// Periodic chores: stats samples every second, consumer offsets every
/// `flushConsumerOffsetInterval`, expired clients and queue locks every 10 s.
async fn housekeeping(b: Arc<Broker>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let offsets_every = (b.config.flush_consumer_offset_interval / 1000).max(1);
    let mut seconds: u64 = 0;
    loop {
        tokio::select! {
            _ = b.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        seconds += 1;
        b.stats.sample();
        if seconds.is_multiple_of(offsets_every) {
            b.offsets.persist();
        }
        if seconds.is_multiple_of(10) {
            processor::remove_expired_clients(&b);
            b.queue_locks.purge_expired();
        }
    }
}
