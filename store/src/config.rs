//! [`StoreConfig`]: every knob of the message store, the single source of its keys and
//! defaults (RocketMQ's `MessageStoreConfig` names), declared with the servers' one config
//! mechanism (`fennec_common::config_struct!`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fennec_common::config::{expand_home, ConfigValue};

pub use super::schedule::DelayLevels;

/// When an append counts as durable (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH`: a put completes once the record is in the page cache.
    AsyncFlush,
    /// `SYNC_FLUSH`: a put (with `WAIT=true`) completes once msync has covered it.
    SyncFlush,
}

impl ConfigValue for FlushDiskType {
    fn parse_value(s: &str) -> Result<Self, String> {
        match s.trim() {
            "ASYNC_FLUSH" => Ok(FlushDiskType::AsyncFlush),
            "SYNC_FLUSH" => Ok(FlushDiskType::SyncFlush),
            _ => Err("expected ASYNC_FLUSH or SYNC_FLUSH".to_string()),
        }
    }
    fn show(&self) -> String {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
        .to_string()
    }
}

/// `brokerRole`: what the store of a broker in a master/slave group does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// A master that acknowledges sends without waiting for a slave.
    AsyncMaster,
    /// A master that acknowledges a send only once a slave holds it.
    SyncMaster,
    /// Holds a copy of its master's CommitLog; refuses sends and delivers no delayed
    /// messages (its master does).
    Slave,
}

impl BrokerRole {
    pub fn is_slave(self) -> bool {
        self == BrokerRole::Slave
    }
}

impl ConfigValue for BrokerRole {
    fn parse_value(s: &str) -> Result<Self, String> {
        match s.trim() {
            "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
            "SLAVE" => Ok(BrokerRole::Slave),
            _ => Err("expected ASYNC_MASTER, SYNC_MASTER or SLAVE".to_string()),
        }
    }
    fn show(&self) -> String {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
        .to_string()
    }
}

impl fmt::Display for BrokerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.show())
    }
}

/// Measures the used share of the disk holding a path, in percent (0-100).
///
/// The store uses `statvfs` unless the configuration supplies another probe (tests simulate a
/// full disk with one).
#[derive(Clone)]
pub struct DiskUsageProbe(pub Arc<DiskUsageFn>);

/// The function behind a [`DiskUsageProbe`]: path in, used percent out.
pub type DiskUsageFn = dyn Fn(&Path) -> io::Result<f64> + Send + Sync;

impl fmt::Debug for DiskUsageProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DiskUsageProbe(..)")
    }
}

fennec_common::config_struct! {
    /// The message store configuration: RocketMQ's `MessageStoreConfig` keys, with its
    /// defaults unless noted. The broker's configuration embeds it, so these keys go in
    /// broker.conf.
    pub struct StoreConfig {
        /// Holds `commitlog/`, `consumequeue/`, `index/`, `config/`, `checkpoint`, `abort`
        /// and `lock`. Default `~/store`.
        "storePathRootDir" => store_path_root_dir: PathBuf = expand_home("~/store"),
        /// The CommitLog directory; empty = `<storePathRootDir>/commitlog`.
        "storePathCommitLog" => store_path_commit_log: Option<PathBuf> = None,
        /// Bytes per CommitLog file (1 GiB).
        "mappedFileSizeCommitLog" => mapped_file_size_commit_log: usize = 1 << 30,
        /// Bytes per ConsumeQueue file (300,000 entries of 20 bytes); rounded down to a
        /// multiple of 20.
        "mappedFileSizeConsumeQueue" => mapped_file_size_consume_queue: usize = 300_000 * 20,
        /// `ASYNC_FLUSH` or `SYNC_FLUSH` (group commit: acknowledged means on disk).
        "flushDiskType" => flush_disk_type: FlushDiskType = FlushDiskType::AsyncFlush,
        /// How long (ms) a SYNC_FLUSH put waits before FLUSH_DISK_TIMEOUT (5000).
        "syncFlushTimeout" => sync_flush_timeout: Duration = Duration::from_secs(5),
        /// ASYNC_FLUSH flusher period in ms (500).
        "flushIntervalCommitLog" => flush_interval_commit_log: Duration = Duration::from_millis(500),
        /// Dirty 4 KiB pages that trigger an async flush (4).
        "flushCommitLogLeastPages" => flush_commit_log_least_pages: usize = 4,
        /// With ASYNC_FLUSH, flush only on the `flushIntervalCommitLog` tick (when at least
        /// `flushCommitLogLeastPages` are dirty) instead of also waking the flusher whenever
        /// that many pages are dirty. Fennec defaults to true (RocketMQ: false): one msync
        /// per 500 ms instead of one per 16 KiB appended cut the broker's send latency at a
        /// steady 21k msg/s from p50 1.4 ms / p99 7.7 ms to p50 0.42 ms / p99 3.5 ms on the
        /// benchmark machine (msync write-protects the pages just written and interrupts the
        /// appending threads).
        "flushCommitLogTimed" => flush_commit_log_timed: bool = true,
        /// Flush everything at least this often, in ms (10000).
        "flushCommitLogThoroughInterval" => flush_commit_log_thorough_interval: Duration = Duration::from_secs(10),
        /// ConsumeQueue/index flusher period in ms (1000).
        "flushIntervalConsumeQueue" => flush_interval_consume_queue: Duration = Duration::from_secs(1),
        /// Dirty pages that trigger a ConsumeQueue flush (2).
        "flushConsumeQueueLeastPages" => flush_consume_queue_least_pages: usize = 2,
        /// Flush all queues and the index, then write the checkpoint, at least this often,
        /// in ms (60000).
        "flushConsumeQueueThoroughInterval" => flush_consume_queue_thorough_interval: Duration = Duration::from_secs(60),
        /// Largest message body in bytes (4 MiB); larger sends get MESSAGE_ILLEGAL.
        "maxMessageSize" => max_message_size: usize = 4 << 20,
        /// Build IndexFiles from KEYS and UNIQ_KEY (lookup by key and by id).
        "messageIndexEnable" => message_index_enable: bool = true,
        /// Hash slots per IndexFile (5,000,000).
        "maxHashSlotNum" => max_hash_slot_num: usize = 5_000_000,
        /// Entries per IndexFile (20,000,000).
        "maxIndexNum" => max_index_num: usize = 20_000_000,
        /// Most messages one key query returns (64).
        "maxMsgsNumBatch" => max_msgs_num_batch: usize = 64,
        /// Local hours (`;`-separated) at which expired files are deleted ("04").
        "deleteWhen" => delete_when: String = "04".to_string(),
        /// Hours a CommitLog file is kept after its last write (72).
        "fileReservedTime" => file_reserved_time_hours: u64 = 72,
        /// Above this disk usage (%) expired files are deleted at any hour (75).
        "diskMaxUsedSpaceRatio" => disk_max_used_space_ratio: u32 = 75,
        /// Above this (%) files are deleted even if unexpired (85).
        "diskSpaceCleanForciblyRatio" => disk_space_clean_forcibly_ratio: u32 = 85,
        /// Above this (%) appends are refused; reads go on (90).
        "diskSpaceWarningLevelRatio" => disk_space_warning_level_ratio: u32 = 90,
        /// The cleaner's period in ms (10000).
        "cleanResourceInterval" => clean_resource_interval: Duration = Duration::from_secs(10),
        /// Most CommitLog files one cleaner pass deletes (10).
        "deleteFileBatchMax" => delete_file_batch_max: usize = 10,
        /// Fault in the pages of the CommitLog ahead of the writer (`commitLogReserveAhead`)
        /// on the allocation thread so appends do not page-fault. RocketMQ defaults to false
        /// and then touches whole files; Fennec to true, because its allocator does it ahead
        /// of need off the append path, a window at a time. (RocketMQ spells it "Maped".)
        "warmMapedFileEnable" => warm_mapped_file_enable: bool = true,
        /// Bytes of the CommitLog the allocation thread keeps reserved (fallocate, so a full
        /// disk refuses appends instead of crashing the broker) and faulted in ahead of the
        /// write position, starting with the first bytes of the next file (16 MiB; Fennec
        /// key). CommitLog files are otherwise sparse: a new file costs no time and no disk.
        /// Between 64 KiB and 1 GiB.
        "commitLogReserveAhead" => commit_log_reserve_ahead: usize = 16 << 20,
        /// Verify body CRCs when scanning the log after a crash (true).
        "checkCRCOnRecover" => check_crc_on_recover: bool = true,
        /// The delay of each delay level, level 1 first (the `DELAY` property; consume
        /// retries use level 3 + reconsume times): numbers with a unit `s`, `m`, `h` or `d`
        /// (Fennec also takes `ms`), space-separated.
        "messageDelayLevel" => message_delay_level: DelayLevels = DelayLevels::default(),
        /// `ASYNC_MASTER`, `SYNC_MASTER` or `SLAVE` (brokerId > 0). A SYNC_MASTER
        /// acknowledges a send once a slave holds it.
        "brokerRole" => broker_role: BrokerRole = BrokerRole::AsyncMaster,
        /// Port a master listens on for its slaves; empty = listenPort + 1 (RocketMQ's
        /// default, 10912).
        "haListenPort" => ha_listen_port: Option<u16> = None,
        /// `host:port` of the master's HA port for a slave; empty = the address the
        /// nameserver returns when the slave registers.
        "haMasterAddress" => ha_master_address: String = String::new(),
        /// A slave reports its offset, and a master sends an empty frame, after this many
        /// ms of silence (5000).
        "haSendHeartbeatInterval" => ha_send_heartbeat_interval: Duration = Duration::from_secs(5),
        /// Either side closes an HA connection that stayed silent this many ms (20000).
        "haHousekeepingInterval" => ha_housekeeping_interval: Duration = Duration::from_secs(20),
        /// Most CommitLog bytes a master sends a slave in one frame (32768).
        "haTransferBatchSize" => ha_transfer_batch_size: usize = 32 * 1024,
        /// A SYNC_MASTER answers SLAVE_NOT_AVAILABLE instead of waiting when its best slave
        /// is this many bytes behind or more (256 MiB).
        "haSlaveFallbehindMax" => ha_slave_fallbehind_max: i64 = 256 << 20,
        /// Farthest ahead, in seconds, a timer message (TIMER_DELIVER_MS, TIMER_DELAY_SEC,
        /// TIMER_DELAY_MS) may be due (259200, 3 days); later ones are refused with
        /// MESSAGE_ILLEGAL.
        "timerMaxDelaySec" => timer_max_delay_sec: u64 = 259_200,
        /// Width of a timing-wheel slot in ms (1000). Timers are delivered at their own due
        /// time, not at a slot boundary; an existing wheel keeps the width it was created with.
        "timerPrecisionMs" => timer_precision_ms: u64 = 1000,
    }
    plain {
        /// Replaces the `statvfs` disk-usage measurement (tests).
        disk_usage_probe: Option<DiskUsageProbe> = None,
    }
}

/// Longest `timerMaxDelaySec` (a year).
const MAX_TIMER_DELAY_SEC: u64 = 366 * 86_400;
/// Largest timing wheel (256 MiB of slots).
const MAX_TIMER_WHEEL_SLOTS: u64 = 16 << 20;

/// Size of an OS page, the unit of the least-pages flush thresholds.
pub(crate) const PAGE_SIZE: usize = 4096;

impl StoreConfig {
    /// The CommitLog directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// Slots of a new timing wheel: two maximum delays, so that a slot is reused only long
    /// after it fired.
    pub(crate) fn timer_wheel_slots(&self) -> u64 {
        (self.timer_max_delay_sec * 1000 * 2).div_ceil(self.timer_precision_ms.max(1)) + 2
    }

    /// ConsumeQueue file size rounded down to whole 20-byte entries.
    pub(crate) fn consume_queue_file_size(&self) -> usize {
        self.mapped_file_size_consume_queue / 20 * 20
    }

    /// Checks the knobs that would otherwise fail later in confusing ways.
    pub fn validate(&self) -> Result<(), String> {
        let cl = self.mapped_file_size_commit_log;
        if !(4096..=i32::MAX as usize).contains(&cl) {
            return Err(format!(
                "mappedFileSizeCommitLog {cl} must be between 4096 and {}",
                i32::MAX
            ));
        }
        let ahead = self.commit_log_reserve_ahead;
        if !((64 << 10)..=(1 << 30)).contains(&ahead) {
            return Err(format!(
                "commitLogReserveAhead {ahead} must be between {} and {}",
                64 << 10,
                1 << 30
            ));
        }
        if self.consume_queue_file_size() < 20 {
            return Err("mappedFileSizeConsumeQueue must hold at least one entry".into());
        }
        if self.max_hash_slot_num == 0 || self.max_hash_slot_num > i32::MAX as usize / 4 {
            return Err(format!(
                "maxHashSlotNum {} is out of range",
                self.max_hash_slot_num
            ));
        }
        if self.max_index_num < 2 || self.max_index_num > i32::MAX as usize / 20 {
            return Err(format!(
                "maxIndexNum {} is out of range",
                self.max_index_num
            ));
        }
        if self.max_message_size == 0 {
            return Err("maxMessageSize must be positive".into());
        }
        if !(10..=60_000).contains(&self.timer_precision_ms) {
            return Err(format!(
                "timerPrecisionMs {} must be between 10 and 60000",
                self.timer_precision_ms
            ));
        }
        if !(1..=MAX_TIMER_DELAY_SEC).contains(&self.timer_max_delay_sec) {
            return Err(format!(
                "timerMaxDelaySec {} must be between 1 and {MAX_TIMER_DELAY_SEC}",
                self.timer_max_delay_sec
            ));
        }
        if self.timer_wheel_slots() > MAX_TIMER_WHEEL_SLOTS {
            return Err(format!(
                "timerMaxDelaySec {} at timerPrecisionMs {} needs a wheel of {} slots, more than \
                 {MAX_TIMER_WHEEL_SLOTS}",
                self.timer_max_delay_sec,
                self.timer_precision_ms,
                self.timer_wheel_slots()
            ));
        }
        if !(1..=(64 << 20)).contains(&self.ha_transfer_batch_size) {
            return Err(format!(
                "haTransferBatchSize {} must be between 1 and {}",
                self.ha_transfer_batch_size,
                64 << 20
            ));
        }
        if self.ha_send_heartbeat_interval.is_zero()
            || self.ha_housekeeping_interval <= self.ha_send_heartbeat_interval
        {
            return Err(format!(
                "haHousekeepingInterval {:?} must be longer than haSendHeartbeatInterval {:?} \
                 (and both positive)",
                self.ha_housekeeping_interval, self.ha_send_heartbeat_interval
            ));
        }
        if self.delete_hours().is_none() {
            return Err(format!(
                "deleteWhen {:?} is not a ;-list of hours",
                self.delete_when
            ));
        }
        Ok(())
    }

    /// The hours of `deleteWhen`, or `None` if it does not parse.
    pub(crate) fn delete_hours(&self) -> Option<Vec<u32>> {
        self.delete_when
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u32>().ok().filter(|h| *h < 24))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmq_defaults() {
        let c = StoreConfig::default();
        assert_eq!(c.mapped_file_size_commit_log, 1_073_741_824);
        assert_eq!(c.consume_queue_file_size(), 6_000_000);
        assert_eq!(c.delete_hours(), Some(vec![4]));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn rejects_bad_knobs() {
        let c = StoreConfig {
            delete_when: "04;xx".into(),
            ..StoreConfig::default()
        };
        assert!(c.validate().is_err());
        let c = StoreConfig {
            delete_when: "01; 02;".into(),
            ..StoreConfig::default()
        };
        assert_eq!(c.delete_hours(), Some(vec![1, 2]));
        let c = StoreConfig {
            mapped_file_size_commit_log: 100,
            ..StoreConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
