//! Broker configuration: RocketMQ's `broker.conf` keys (BrokerConfig and MessageStoreConfig
//! share one flat file), with RocketMQ's defaults. Unknown keys are warned about; a value
//! that does not parse is a start-up error naming the key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use fennec_common::properties_file::{self, PropertiesError};

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    AsyncFlush,
    SyncFlush,
}

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    AsyncMaster,
    SyncMaster,
    Slave,
}

macro_rules! enum_text {
    ($t:ty { $($v:ident = $s:literal),* }) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() {
                    $($s => Ok(<$t>::$v),)*
                    other => Err(format!("{other:?} is not one of {}", [$($s),*].join(", "))),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(<$t>::$v => $s,)* })
            }
        }
    };
}

enum_text!(FlushDiskType { AsyncFlush = "ASYNC_FLUSH", SyncFlush = "SYNC_FLUSH" });
enum_text!(BrokerRole { AsyncMaster = "ASYNC_MASTER", SyncMaster = "SYNC_MASTER", Slave = "SLAVE" });

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] PropertiesError),
    #[error("invalid value {value:?} for {key}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

/// Parses one value of a config field.
trait ConfigValue: Sized {
    fn parse_value(s: &str) -> Result<Self, String>;
    fn show(&self) -> String;
}

macro_rules! from_str_value {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            fn parse_value(s: &str) -> Result<Self, String> {
                s.trim().parse::<$t>().map_err(|e| e.to_string())
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
from_str_value!(i32, i64, u32, u64, usize, FlushDiskType, BrokerRole);

impl ConfigValue for bool {
    fn parse_value(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("{other:?} is not true or false")),
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for String {
    fn parse_value(s: &str) -> Result<Self, String> {
        Ok(s.trim().to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
}

impl ConfigValue for PathBuf {
    fn parse_value(s: &str) -> Result<Self, String> {
        Ok(expand_home(s.trim()))
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl ConfigValue for Option<PathBuf> {
    fn parse_value(s: &str) -> Result<Self, String> {
        let s = s.trim();
        Ok((!s.is_empty()).then(|| expand_home(s)))
    }
    fn show(&self) -> String {
        self.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// Expands a leading `~` to `$HOME`.
pub fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest.trim_start_matches('/')),
        _ => PathBuf::from(s),
    }
}

macro_rules! broker_config {
    ($( $(#[$doc:meta])* $key:literal => $field:ident : $ty:ty = $default:expr, )*) => {
        /// Every setting of a broker, named as in RocketMQ's broker.conf.
        #[derive(Debug, Clone, PartialEq)]
        pub struct BrokerConfig {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Default for BrokerConfig {
            fn default() -> Self {
                BrokerConfig { $( $field: $default, )* }
            }
        }

        impl BrokerConfig {
            /// Sets `key`. Returns `Ok(false)` for a key this broker does not know.
            pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
                match key {
                    $( $key => {
                        self.$field = <$ty as ConfigValue>::parse_value(value).map_err(|reason| ConfigError::Invalid {
                            key: key.to_string(),
                            value: value.to_string(),
                            reason,
                        })?;
                        Ok(true)
                    } )*
                    _ => Ok(false),
                }
            }

            /// Every key with its current value, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, String)> {
                vec![ $( ($key, ConfigValue::show(&self.$field)), )* ]
            }
        }
    };
}

broker_config! {
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
    "brokerRole" => broker_role: BrokerRole = BrokerRole::AsyncMaster,
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
    /// Hold pulls that find no message (long polling).
    "longPollingEnable" => long_polling_enable: bool = true,
    /// Hold time in ms when long polling is off.
    "shortPollingTimeMills" => short_polling_time_mills: u64 = 1_000,
    /// Consumer offsets persisted every this many ms.
    "flushConsumerOffsetInterval" => flush_consumer_offset_interval: u64 = 5_000,
    /// A client not heard from for this many ms is dropped.
    "channelExpiredTimeout" => channel_expired_timeout: u64 = 120_000,
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
    /// Share of RAM within which the commit log tail counts as "in memory".
    "accessMessageInMemoryMaxRatio" => access_message_in_memory_max_ratio: u32 = 40,
    /// Store root: commitlog/, consumequeue/, index/, config/, checkpoint, abort.
    "storePathRootDir" => store_path_root_dir: PathBuf = expand_home("~/store"),
    /// Commit log directory; empty = `<storePathRootDir>/commitlog`.
    "storePathCommitLog" => store_path_commit_log: Option<PathBuf> = None,
    /// Size of each commit log file in bytes.
    "mappedFileSizeCommitLog" => mapped_file_size_commit_log: usize = 1024 * 1024 * 1024,
    /// Size of each consume queue file in bytes (300,000 entries of 20 bytes).
    "mappedFileSizeConsumeQueue" => mapped_file_size_consume_queue: usize = 300_000 * 20,
    "flushDiskType" => flush_disk_type: FlushDiskType = FlushDiskType::AsyncFlush,
    /// SYNC_FLUSH wait limit in ms.
    "syncFlushTimeout" => sync_flush_timeout: u64 = 5_000,
    /// ASYNC_FLUSH period in ms.
    "flushIntervalCommitLog" => flush_interval_commit_log: u64 = 500,
    "flushCommitLogLeastPages" => flush_commit_log_least_pages: usize = 4,
    /// ASYNC_FLUSH: flush on the interval tick only, not whenever
    /// flushCommitLogLeastPages are dirty (Fennec default true, RocketMQ false).
    "flushCommitLogTimed" => flush_commit_log_timed: bool = true,
    "flushCommitLogThoroughInterval" => flush_commit_log_thorough_interval: u64 = 10_000,
    "flushIntervalConsumeQueue" => flush_interval_consume_queue: u64 = 1_000,
    "flushConsumeQueueLeastPages" => flush_consume_queue_least_pages: usize = 2,
    /// Largest message body accepted, in bytes.
    "maxMessageSize" => max_message_size: usize = 4 * 1024 * 1024,
    "messageIndexEnable" => message_index_enable: bool = true,
    "maxHashSlotNum" => max_hash_slot_num: usize = 5_000_000,
    "maxIndexNum" => max_index_num: usize = 20_000_000,
    /// Hours (`;`-separated) at which expired files are deleted.
    "deleteWhen" => delete_when: String = "04".to_string(),
    /// Hours a commit log file is kept.
    "fileReservedTime" => file_reserved_time: u64 = 72,
    "diskMaxUsedSpaceRatio" => disk_max_used_space_ratio: u32 = 75,
    "diskSpaceCleanForciblyRatio" => disk_space_clean_forcibly_ratio: u32 = 85,
    /// Above this disk usage (%) writes are refused.
    "diskSpaceWarningLevelRatio" => disk_space_warning_level_ratio: u32 = 90,
    "cleanResourceInterval" => clean_resource_interval: u64 = 10_000,
    /// Pre-fault the pages of each new commit log file (RocketMQ spells it "Maped").
    "warmMapedFileEnable" => warm_mapped_file_enable: bool = true,
    "checkCRCOnRecover" => check_crc_on_recover: bool = true,
}

impl BrokerConfig {
    /// Loads a properties file over the defaults. Unknown keys are returned for the caller to
    /// warn about.
    pub fn load(path: &Path) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
        let mut config = BrokerConfig::default();
        let unknown = config.apply_file(path)?;
        Ok((config, unknown))
    }

    /// Applies the keys of a properties file over the current values; returns the unknown
    /// keys (with file and line) for the caller to warn about.
    pub fn apply_file(&mut self, path: &Path) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for p in properties_file::read(path)? {
            if !self.set(&p.key, &p.value)? {
                unknown.push(format!(
                    "{}:{}: unknown key {}",
                    path.display(),
                    p.line,
                    p.key
                ));
            }
        }
        Ok(unknown)
    }

    /// Nameserver addresses from `namesrvAddr`.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The commit log directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// Checks values that parse but cannot work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: String, reason: &str| ConfigError::Invalid {
            key: key.to_string(),
            value,
            reason: reason.to_string(),
        };
        if self.listen_port > u32::from(u16::MAX) {
            return Err(invalid(
                "listenPort",
                self.listen_port.to_string(),
                "not a TCP port",
            ));
        }
        if self.mapped_file_size_commit_log < 64 * 1024 {
            return Err(invalid(
                "mappedFileSizeCommitLog",
                self.mapped_file_size_commit_log.to_string(),
                "must be at least 65536",
            ));
        }
        if self.mapped_file_size_consume_queue < 20
            || !self.mapped_file_size_consume_queue.is_multiple_of(20)
        {
            return Err(invalid(
                "mappedFileSizeConsumeQueue",
                self.mapped_file_size_consume_queue.to_string(),
                "must be a positive multiple of 20",
            ));
        }
        if self.max_message_size == 0
            || self.max_message_size + 64 * 1024 > self.mapped_file_size_commit_log
        {
            return Err(invalid(
                "maxMessageSize",
                self.max_message_size.to_string(),
                "must be positive and fit in a commit log file",
            ));
        }
        if self.broker_id != 0 || self.broker_role == BrokerRole::Slave {
            return Err(invalid(
                "brokerRole",
                self.broker_role.to_string(),
                "slaves are not supported yet; run a master (brokerId=0)",
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
            ("diskMaxUsedSpaceRatio", self.disk_max_used_space_ratio),
            (
                "diskSpaceWarningLevelRatio",
                self.disk_space_warning_level_ratio,
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
        assert_eq!(c.flush_disk_type, FlushDiskType::AsyncFlush);
        assert!(c.set("flushDiskType", "SYNC_FLUSH").unwrap());
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert!(c.set("autoCreateTopicEnable", "False").unwrap());
        assert!(!c.auto_create_topic_enable);
        assert!(!c.set("noSuchKey", "1").unwrap());
        let err = c.set("listenPort", "ten").unwrap_err();
        assert!(err.to_string().contains("listenPort"), "{err}");
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
    fn loads_file_and_reports_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.conf");
        std::fs::write(
            &path,
            "brokerName=b1\nlistenPort=0\nstorePathRootDir=/tmp/x\nbogus=1\n",
        )
        .unwrap();
        let (c, unknown) = BrokerConfig::load(&path).unwrap();
        assert_eq!(c.broker_name, "b1");
        assert_eq!(c.listen_port, 0);
        assert_eq!(c.commit_log_dir(), PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(unknown.len(), 1);
        std::fs::write(&path, "listenPort=-1\n").unwrap();
        assert!(BrokerConfig::load(&path).is_err());
    }
}
