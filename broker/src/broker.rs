//! `Broker`: the state every processor shares (configuration, store, metadata managers,
//! client registries, queue locks, long-polling waiters, statistics) and how it is opened and closed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use fennec_protocol::message::msg_id::UniqIdGenerator;
use fennec_remoting::{AclRpcHook, ClientConfig, NotSupported, RemotingClient, RpcHook};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::acl::Acl;
use crate::client::{ConsumerManager, ProducerManager};
use crate::config::BrokerConfig;
use crate::consumer_offset::ConsumerOffsetManager;
use crate::error::BrokerError;
use crate::ha::{Ha, HaMaster, HaSlave};
use crate::long_polling::PullWaiters;
use crate::persist::Persister;
use crate::queue_locks::QueueLocks;
use crate::runtime_config::RuntimeConfig;
use crate::stats::BrokerStats;
use crate::subscription_group::SubscriptionGroupManager;
use crate::topic_config::{TopicConfigManager, TopicSettings};
use crate::transaction::Transactions;
use fennec_store::MessageStore;

/// Shared broker state.
pub struct Broker {
    /// The configuration the broker started with.
    pub config: BrokerConfig,
    /// Live values of the keys UPDATE_BROKER_CONFIG may change.
    pub runtime: RuntimeConfig,
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigManager,
    pub groups: SubscriptionGroupManager,
    pub offsets: ConsumerOffsetManager,
    pub consumers: ConsumerManager,
    pub producers: ProducerManager,
    /// Queue locks of ordered consumption (LOCK_BATCH_MQ).
    pub queue_locks: QueueLocks,
    pub pull_waiters: Arc<PullWaiters>,
    /// Half messages, their outcomes and the check-back thread.
    pub transactions: Transactions,
    pub stats: BrokerStats,
    pub persister: Arc<Persister>,
    /// `ip:port` advertised to nameservers and clients.
    pub broker_addr: String,
    /// Store host written into records and offset msgIds.
    pub store_host: SocketAddr,
    /// HA address advertised to slaves (`haListenPort`, by default listen port + 1).
    pub ha_addr: String,
    /// Replication: the master's slaves, or the slave's master.
    pub ha: Ha,
    /// Wakes the registration task for a registration now (a slave looking for its master).
    pub register_now: Arc<Notify>,
    /// Generates UNIQ_KEYs for messages that arrive without one.
    pub uniq_ids: UniqIdGenerator,
    /// Outbound connections (nameservers), over TLS with `tls.enable` and signed with
    /// `aclAccessKey` when ACL is on.
    pub outbound: RemotingClient,
    /// The plain ACL every request is checked against (`aclEnable`).
    pub acl: Option<Arc<Acl>>,
    pub boot_timestamp: i64,
    /// Physical memory of the host, for RocketMQ's "message still in memory" estimate.
    pub total_memory: u64,
    /// Fires when the broker starts shutting down.
    pub shutdown: CancellationToken,
}

/// The first step of opening a broker: its configuration checked and its store open,
/// recovery included, before any port is bound (so nothing can connect to a broker whose
/// store is not ready). [`Broker::open`] completes it. Dropping it shuts the store down
/// (blocking).
pub struct OpenStore {
    config: BrokerConfig,
    store: Arc<MessageStore>,
}

impl OpenStore {
    /// The checked configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Shuts the store down on a blocking thread (the broker will not start after all).
    pub async fn close(self) {
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
    }
}

impl Broker {
    /// Checks `config` and opens the store (running recovery). Blocking: call from a
    /// blocking thread.
    pub fn open_store(config: BrokerConfig) -> Result<OpenStore, BrokerError> {
        let mut config = config;
        for note in config.normalize() {
            tracing::warn!("{note}");
        }
        config.validate()?;
        let store = MessageStore::open(config.store.clone()).map_err(BrokerError::Store)?;
        Ok(OpenStore { config, store })
    }

    /// Loads the metadata files beside the open store. `local_addr` is the address the
    /// broker's listener bound, `ha_port` the port a master's HA listener bound. Blocking:
    /// call from a blocking thread.
    pub fn open(
        open: OpenStore,
        local_addr: SocketAddr,
        ha_port: Option<u16>,
        shutdown: CancellationToken,
    ) -> Result<Broker, BrokerError> {
        let OpenStore { config, store } = open;
        let ip: IpAddr = if config.broker_ip1.is_empty() {
            if local_addr.ip().is_loopback() {
                local_addr.ip()
            } else {
                fennec_common::net::local_ip()
            }
        } else {
            config.broker_ip1.parse().map_err(|_| {
                BrokerError::Config(crate::config::ConfigError::Invalid {
                    key: "brokerIP1".into(),
                    value: config.broker_ip1.clone(),
                    reason: "not an IP address".into(),
                })
            })?
        };
        let store_host = SocketAddr::new(ip, local_addr.port());
        let ha_ip = if config.broker_ip2.is_empty() {
            ip.to_string()
        } else {
            config.broker_ip2.clone()
        };
        let ha_port = ha_port
            .or(config.store.ha_listen_port)
            .unwrap_or_else(|| local_addr.port().wrapping_add(1));
        let ha_addr = format!("{ha_ip}:{ha_port}");

        let config_dir = config.store.store_path_root_dir.join("config");
        let persister = Arc::new(
            Persister::start().map_err(|e| BrokerError::io("starting the metadata writer", e))?,
        );
        let topics = TopicConfigManager::load(
            config_dir.join("topics.json"),
            persister.clone(),
            &TopicSettings {
                cluster_name: config.broker_cluster_name.clone(),
                broker_name: config.broker_name.clone(),
                auto_create_topic_enable: config.auto_create_topic_enable,
                default_topic_queue_nums: config.default_topic_queue_nums,
                cluster_topic_enable: config.cluster_topic_enable,
                broker_topic_enable: config.broker_topic_enable,
            },
        )
        .map_err(|e| BrokerError::io("loading config/topics.json", e))?;
        let groups = SubscriptionGroupManager::load(
            config_dir.join("subscriptionGroup.json"),
            persister.clone(),
        )
        .map_err(|e| BrokerError::io("loading config/subscriptionGroup.json", e))?;
        let offsets =
            ConsumerOffsetManager::load(config_dir.join("consumerOffset.json"), persister.clone())
                .map_err(|e| BrokerError::io("loading config/consumerOffset.json", e))?;

        let transactions = Transactions::open(
            config_dir.join("transactionProgress.json"),
            &store,
            persister.clone(),
        )
        .map_err(|e| BrokerError::io("loading config/transactionProgress.json", e))?;

        let acl = if config.acl_enable {
            let acl = Acl::load(acl_file_path(&config))?;
            info!(file = %acl.path().display(), accounts = acl.accounts(), "ACL enabled");
            Some(Arc::new(acl))
        } else {
            None
        };
        let outbound = outbound_client(&config)?;

        let pull_waiters = Arc::new(PullWaiters::new());
        let waiters = pull_waiters.clone();
        store.set_arrival_listener(Arc::new(
            move |topic: &str, queue_id: i32, max_offset: i64| {
                waiters.notify(topic, queue_id, max_offset)
            },
        ));
        let register_now = Arc::new(Notify::new());
        let ha = if config.store.broker_role.is_slave() {
            Ha::Slave(HaSlave::new(
                store.clone(),
                &config.store,
                register_now.clone(),
            ))
        } else {
            Ha::Master(HaMaster::new(store.clone(), &config.store))
        };
        info!(broker = %config.broker_name, role = %config.store.broker_role, addr = %store_host, store = %config.store.store_path_root_dir.display(), "broker opened");
        Ok(Broker {
            broker_addr: store_host.to_string(),
            store_host,
            ha_addr,
            ha,
            register_now,
            uniq_ids: UniqIdGenerator::new(ip),
            store,
            topics,
            groups,
            offsets,
            consumers: ConsumerManager::new(),
            producers: ProducerManager::new(),
            queue_locks: QueueLocks::new(std::time::Duration::from_millis(
                config.rebalance_lock_max_live_time,
            )),
            pull_waiters,
            transactions,
            stats: BrokerStats::new(),
            persister,
            outbound,
            acl,
            boot_timestamp: fennec_protocol::time::now_millis(),
            total_memory: total_memory_bytes(),
            shutdown,
            runtime: RuntimeConfig::new(&config),
            config,
        })
    }

    /// Flushes offsets and metadata and closes the store. Blocking.
    pub fn close(&self) {
        self.offsets.persist();
        self.persister.sync();
        self.persister.stop();
        self.store.shutdown();
        info!("broker closed");
    }

    pub fn is_writeable(&self) -> bool {
        fennec_protocol::perm::is_writeable(self.runtime.broker_permission())
    }

    /// Whether the CommitLog at `offset` is still "in memory" by RocketMQ's estimate: within
    /// `accessMessageInMemoryMaxRatio` percent of RAM of the log's end.
    pub fn in_memory(&self, offset: i64) -> bool {
        let behind = self.store.commit_log_max_offset() - offset;
        let memory =
            self.total_memory / 100 * u64::from(self.config.access_message_in_memory_max_ratio);
        behind <= i64::try_from(memory).unwrap_or(i64::MAX)
    }

    pub fn is_readable(&self) -> bool {
        fennec_protocol::perm::is_readable(self.runtime.broker_permission())
    }
}

/// `aclFilePath`, or `conf/plain_acl.yml` (mqbroker sets it beside `-c broker.conf`).
fn acl_file_path(config: &BrokerConfig) -> PathBuf {
    config
        .acl_file_path
        .clone()
        .unwrap_or_else(|| PathBuf::from("conf").join("plain_acl.yml"))
}

/// The client of the broker's own requests: see [`outbound_config`].
fn outbound_client(config: &BrokerConfig) -> Result<RemotingClient, BrokerError> {
    Ok(RemotingClient::new(
        Arc::new(NotSupported),
        outbound_config(config)?,
    ))
}

/// Settings of the broker's own requests (and of the dashboard `--with-namesrv` serves): TLS
/// with `tls.enable`, signed with `aclAccessKey` when ACL is on. Reads the TLS files:
/// blocking.
pub fn outbound_config(config: &BrokerConfig) -> Result<ClientConfig, BrokerError> {
    let hook = (config.acl_enable && !config.acl_access_key.is_empty()).then(|| {
        let hook: Arc<dyn RpcHook> = Arc::new(AclRpcHook::new(
            config.acl_access_key.clone(),
            config.acl_secret_key.expose(),
        ));
        hook
    });
    Ok(ClientConfig {
        tls: config.tls_client.load()?,
        hook,
        ..ClientConfig::default()
    })
}

/// MemTotal from /proc/meminfo (8 GiB when unreadable).
fn total_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(8 << 30)
}
