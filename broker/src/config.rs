//! Broker configuration: RocketMQ's `broker.conf` keys (BrokerConfig and MessageStoreConfig
//! share one flat file: the store's keys are [`StoreConfig`]'s, embedded here), with
//! RocketMQ's defaults, declared with the servers' one config mechanism
//! (`fennec_common::config_struct!`). Unknown keys are warned about with the nearest known
//! key; every invalid value of a file is reported at once, with file and line.

use std::path::{Path, PathBuf};

use fennec_common::config::{self, ConfigErrors, ConfigKeys, ConfigProblem, Secret};
use fennec_remoting::tls::{TlsClientSettings, TlsServerSettings};
pub use fennec_store::{BrokerRole, FlushDiskType, StoreConfig};

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Problems of the file (or command line), each with its place.
    #[error(transparent)]
    File(#[from] ConfigErrors),
    #[error("invalid value {value:?} for {key}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

fennec_common::config_struct! {
    /// Every setting of a broker, named as in RocketMQ's broker.conf.
    pub struct BrokerConfig {
        /// Cluster this broker belongs to.
        "brokerClusterName" => broker_cluster_name: String = "DefaultCluster".to_string(),
        /// Broker group name; a master and its slaves share it.
        "brokerName" => broker_name: String = "broker-a".to_string(),
        /// 0 for a master, >= 1 for slaves.
        "brokerId" => broker_id: i64 = 0,
        /// Nameservers, `;`-separated (overridden by `-n` and NAMESRV_ADDR).
        "namesrvAddr" => namesrv_addr: String = String::new(),
        /// Remoting port.
        "listenPort" => listen_port: u32 = 10911,
        /// Address the broker listens on (Fennec addition; RocketMQ binds 0.0.0.0).
        "bindAddress" => bind_address: String = "0.0.0.0".to_string(),
        /// Address advertised to nameservers and clients; empty = the first non-loopback IPv4.
        "brokerIP1" => broker_ip1: String = String::new(),
        /// HA address advertised to slaves; empty = brokerIP1.
        "brokerIP2" => broker_ip2: String = String::new(),
        /// Permission bits of the whole broker (6 = read and write). This and the other keys of
        /// `runtime_config::RUNTIME_KEYS` can change while the broker runs: read their live
        /// values from `Broker::runtime`.
        "brokerPermission" => broker_permission: i32 = 6,
        /// Create unknown topics on first send, from TBW102.
        "autoCreateTopicEnable" => auto_create_topic_enable: bool = true,
        /// Create unknown consumer groups on first heartbeat or pull.
        "autoCreateSubscriptionGroup" => auto_create_subscription_group: bool = true,
        /// Queues of TBW102 and the cap for auto-created topics.
        "defaultTopicQueueNums" => default_topic_queue_nums: i32 = 8,
        /// Register a topic named after the cluster.
        "clusterTopicEnable" => cluster_topic_enable: bool = true,
        /// Register a topic named after the broker.
        "brokerTopicEnable" => broker_topic_enable: bool = true,
        /// Nameserver registration period in ms (clamped to 10-60 s).
        "registerNameServerPeriod" => register_name_server_period: u64 = 30_000,
        /// Registration request timeout in ms.
        "registerBrokerTimeoutMills" => register_broker_timeout_mills: u64 = 6_000,
        /// Answer transactional (prepared) sends with NO_PERMISSION.
        "rejectTransactionMessage" => reject_transaction_message: bool = false,
        /// A half message with no outcome this many ms after it was stored gets checked back
        /// with a producer of its group.
        "transactionTimeOut" => transaction_time_out: u64 = 6_000,
        /// Checks of one half message before it is given up (moved to
        /// TRANS_CHECK_MAX_TIME_TOPIC).
        "transactionCheckMax" => transaction_check_max: u32 = 15,
        /// Ms between two check-back passes over the open half messages (RocketMQ 4.x: 60 s).
        "transactionCheckInterval" => transaction_check_interval: u64 = 60_000,
        /// Hold pulls that find no message (long polling).
        "longPollingEnable" => long_polling_enable: bool = true,
        /// Hold time in ms when long polling is off.
        "shortPollingTimeMills" => short_polling_time_mills: u64 = 1_000,
        /// Consumer offsets persisted every this many ms.
        "flushConsumerOffsetInterval" => flush_consumer_offset_interval: u64 = 5_000,
        /// A client not heard from for this many ms is dropped.
        "channelExpiredTimeout" => channel_expired_timeout: u64 = 120_000,
        /// A queue lock of ordered consumption (LOCK_BATCH_MQ) lapses this many ms after its
        /// holder last renewed it; another client of the group may then take the queue
        /// (RocketMQ's system property `rocketmq.broker.rebalance.lockMaxLiveTime`).
        "rebalanceLockMaxLiveTime" => rebalance_lock_max_live_time: u64 = 60_000,
        /// Notify consumers when their group's membership changes.
        "notifyConsumerIdsChangedEnable" => notify_consumer_ids_changed_enable: bool = true,
        /// Largest frame accepted from a client, in bytes.
        "maxFrameLength" => max_frame_length: usize = 16 * 1024 * 1024,
        /// Connections served at once; one more is accepted and closed at once (Fennec's key;
        /// RocketMQ has no limit).
        "serverMaxConnections" => server_max_connections: usize = fennec_remoting::DEFAULT_MAX_CONNECTIONS,
        /// A connection with nothing read or written and no request in flight for this many
        /// seconds, or with a frame unfinished this long after its first byte, is closed
        /// (0: never). Clients heartbeat every 30 s; a held pull counts as in flight.
        "serverChannelMaxIdleTimeSeconds" => server_channel_max_idle_time_seconds: u64 = 120,
        /// Request bytes read but not yet answered, across all connections (Fennec's key):
        /// beyond it readers wait (TCP back-pressure). Frames larger than this are refused.
        "serverMaxInFlightBytes" => server_max_in_flight_bytes: usize = fennec_remoting::DEFAULT_MAX_IN_FLIGHT_BYTES,
        /// Bytes and messages per pull served from memory.
        "maxTransferBytesOnMessageInMemory" => max_transfer_bytes_on_message_in_memory: usize = 256 * 1024,
        "maxTransferCountOnMessageInMemory" => max_transfer_count_on_message_in_memory: usize = 32,
        /// Share of RAM within which the commit log tail counts as "in memory"; a consumer
        /// further behind is told to read from a slave (with `slaveReadEnable`).
        "accessMessageInMemoryMaxRatio" => access_message_in_memory_max_ratio: u32 = 40,
        /// Let consumers read from slaves: a pull whose messages have fallen out of memory
        /// suggests the group's `whichBrokerWhenConsumeSlowly` (1), and a slave suggests the
        /// group's `brokerId` (0) again once the consumer has caught up. Consumers read from
        /// a slave whenever its master is down, whatever this says.
        "slaveReadEnable" => slave_read_enable: bool = false,
        /// How often, in ms, a slave copies its master's topics, subscription groups,
        /// consumer offsets and delay progress (Fennec's key; RocketMQ 4.x: every 10 s).
        "slaveSyncInterval" => slave_sync_interval: u64 = 10_000,
        /// Check every request against the accounts of `plain_acl.yml` (RocketMQ's plain ACL).
        "aclEnable" => acl_enable: bool = false,
        /// The ACL file; empty: `plain_acl.yml` beside broker.conf (`conf/plain_acl.yml`
        /// without `-c`). Fennec's key. Changes to the file apply without a restart.
        "aclFilePath" => acl_file_path: Option<PathBuf> = None,
        /// With `aclEnable`, the account the broker signs its own requests with
        /// (registrations, and requests to other servers). Fennec's key.
        "aclAccessKey" => acl_access_key: String = String::new(),
        /// The secret key of `aclAccessKey` (shown as `******`). Fennec's key.
        "aclSecretKey" => acl_secret_key: Secret = Secret::default(),
        /// HTTP port of the Prometheus endpoint (`/metrics`; with `--with-namesrv` also the
        /// dashboard): -1 = off (the default, except with `--with-namesrv`: 8080), 0 picks a
        /// free port. Fennec's key; it binds `bindAddress`.
        "metricsPort" => metrics_port: i32 = -1,
        /// Most per-queue consumer lag series exported (`fennec_consumer_lag_messages`); the
        /// per-group-and-topic totals are always exported. Fennec's key.
        "metricsMaxQueueSeries" => metrics_max_queue_series: usize = 1000,
    }
    embeds {
        /// The message store's keys.
        store: StoreConfig,
        /// `tls.server.*`: TLS of the broker's port.
        tls_server: TlsServerSettings,
        /// `tls.enable`, `tls.client.*`: TLS of the broker's connections to nameservers.
        tls_client: TlsClientSettings,
    }
}

impl BrokerConfig {
    /// Loads a properties file over the defaults; returns the warnings (unknown keys).
    pub fn load(path: &Path) -> Result<(BrokerConfig, Vec<ConfigProblem>), ConfigError> {
        let mut config = BrokerConfig::default();
        let warnings = config.apply_file(path)?;
        Ok((config, warnings))
    }

    /// Applies the keys of a properties file over the current values; returns the warnings
    /// (unknown keys, with file, line and the nearest known key). Every invalid value of
    /// the file is reported at once.
    pub fn apply_file(&mut self, path: &Path) -> Result<Vec<ConfigProblem>, ConfigError> {
        Ok(config::apply_file(self, path)?)
    }

    /// Sets one key; `Ok(false)` for a key this broker does not know.
    pub fn set_key(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        self.set(key, value).map_err(|reason| ConfigError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            reason,
        })
    }

    /// Nameserver addresses from `namesrvAddr` (checked by [`validate`](Self::validate)).
    pub fn namesrv_addrs(&self) -> Vec<String> {
        fennec_common::net::parse_addr_list(&self.namesrv_addr).unwrap_or_default()
    }

    /// The commit log directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store.commit_log_dir()
    }

    /// Adjusts values that Apache RocketMQ accepts but that cannot work as given, and says
    /// what was changed: a `maxMessageSize` that does not fit in a commit log file (with
    /// room for the record's other fields) is capped to what fits.
    pub fn normalize(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let file = self.store.mapped_file_size_commit_log;
        let fits = file.saturating_sub(64 * 1024).max(1024);
        if self.store.max_message_size > fits {
            notes.push(format!(
                "maxMessageSize {} does not fit in a commit log file of {file} bytes \
                 (mappedFileSizeCommitLog); messages are limited to {fits} bytes",
                self.store.max_message_size
            ));
            self.store.max_message_size = fits;
        }
        notes
    }

    /// The metrics port, or `None` when metrics are off.
    pub fn metrics_port(&self) -> Option<u16> {
        u16::try_from(self.metrics_port).ok()
    }

    /// Checks values that parse but cannot work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: String, reason: &str| ConfigError::Invalid {
            key: key.to_string(),
            value,
            reason: reason.to_string(),
        };
        if let Err(reason) = fennec_common::net::parse_addr_list(&self.namesrv_addr) {
            return Err(invalid("namesrvAddr", self.namesrv_addr.clone(), &reason));
        }
        if self.listen_port > u32::from(u16::MAX) {
            return Err(invalid(
                "listenPort",
                self.listen_port.to_string(),
                "not a TCP port",
            ));
        }
        if !(-1..=i32::from(u16::MAX)).contains(&self.metrics_port) {
            return Err(invalid(
                "metricsPort",
                self.metrics_port.to_string(),
                "not a TCP port (-1 turns metrics off, 0 picks a free port)",
            ));
        }
        if self.store.mapped_file_size_commit_log < 64 * 1024 {
            return Err(invalid(
                "mappedFileSizeCommitLog",
                self.store.mapped_file_size_commit_log.to_string(),
                "must be at least 65536",
            ));
        }
        if self.store.mapped_file_size_consume_queue < 20
            || !self.store.mapped_file_size_consume_queue.is_multiple_of(20)
        {
            return Err(invalid(
                "mappedFileSizeConsumeQueue",
                self.store.mapped_file_size_consume_queue.to_string(),
                "must be a positive multiple of 20",
            ));
        }
        if self.store.max_message_size == 0 {
            return Err(invalid(
                "maxMessageSize",
                "0".to_string(),
                "must be positive",
            ));
        }
        if let Err(reason) = self.store.validate() {
            return Err(ConfigError::File(ConfigErrors::one(
                "store configuration",
                reason,
            )));
        }
        let slave = self.store.broker_role.is_slave();
        if self.broker_id < 0 || (self.broker_id > 0) != slave {
            return Err(invalid(
                "brokerId",
                self.broker_id.to_string(),
                &format!(
                    "brokerRole is {}: a master has brokerId 0, a slave (brokerRole=SLAVE) \
                     brokerId 1 or more",
                    self.store.broker_role
                ),
            ));
        }
        if self.transaction_check_interval == 0 {
            return Err(invalid(
                "transactionCheckInterval",
                "0".to_string(),
                "must be positive",
            ));
        }
        if self.server_max_connections == 0 {
            return Err(invalid(
                "serverMaxConnections",
                "0".to_string(),
                "must be positive",
            ));
        }
        if self.server_max_in_flight_bytes < 64 * 1024 {
            return Err(invalid(
                "serverMaxInFlightBytes",
                self.server_max_in_flight_bytes.to_string(),
                "must be at least 65536",
            ));
        }
        for ratio in [
            (
                "diskMaxUsedSpaceRatio",
                self.store.disk_max_used_space_ratio,
            ),
            (
                "diskSpaceWarningLevelRatio",
                self.store.disk_space_warning_level_ratio,
            ),
        ] {
            if ratio.1 > 100 {
                return Err(invalid(ratio.0, ratio.1.to_string(), "is a percentage"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.listen_port, 10911);
        assert_eq!(c.store.flush_disk_type, FlushDiskType::AsyncFlush);
        assert!(c.set("flushDiskType", "SYNC_FLUSH").unwrap());
        assert_eq!(c.store.flush_disk_type, FlushDiskType::SyncFlush);
        assert!(c.set("autoCreateTopicEnable", "False").unwrap());
        assert!(!c.auto_create_topic_enable);
        assert!(!c.set("noSuchKey", "1").unwrap());
        let err = c.set_key("listenPort", "ten").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"ten\" for listenPort: expected a non-negative integer"
        );
        assert!(c.set("flushDiskType", "FAST").is_err());
        c.set("namesrvAddr", "a:1; b:2;").unwrap();
        assert_eq!(c.namesrv_addrs(), ["a:1", "b:2"]);
        assert!(c
            .entries()
            .iter()
            .any(|(k, v)| *k == "brokerName" && v == "broker-a"));
        c.validate().unwrap();
        c.set("mappedFileSizeConsumeQueue", "21").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn an_oversized_max_message_size_is_capped() {
        let mut c = BrokerConfig::default();
        c.set("mappedFileSizeCommitLog", "1048576").unwrap();
        let notes = c.normalize();
        assert_eq!(c.store.max_message_size, 1048576 - 65536);
        assert!(
            notes[0].contains("maxMessageSize 4194304 does not fit"),
            "{notes:?}"
        );
        c.validate().unwrap();
        assert!(c.normalize().is_empty());
    }

    #[test]
    fn loads_file_and_reports_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.conf");
        std::fs::write(
            &path,
            "brokerName=b1\nlistenPort=0\nstorePathRootDir=/tmp/x\nbogus=1\n",
        )
        .unwrap();
        let (c, unknown) = BrokerConfig::load(&path).unwrap();
        assert_eq!(
            unknown[0].to_string(),
            format!("{}:4: unknown key bogus, ignored", path.display())
        );
        assert_eq!(c.broker_name, "b1");
        assert_eq!(c.listen_port, 0);
        assert_eq!(c.commit_log_dir(), PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(unknown.len(), 1);
        std::fs::write(&path, "listenPort=-1\n").unwrap();
        assert!(BrokerConfig::load(&path).is_err());
    }
}
