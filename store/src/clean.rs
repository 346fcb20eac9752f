//! [`Cleaner`]: the `fennec-clean` thread (RocketMQ's CleanCommitLogService and
//! CleanConsumeQueueService). Every `cleanResourceInterval` it
//! * measures disk usage of the CommitLog partition (statvfs, or the configured probe) and
//!   refuses appends above `diskSpaceWarningLevelRatio`;
//! * deletes up to `deleteFileBatchMax` CommitLog files, oldest first, older than
//!   `fileReservedTime` when the local hour is in `deleteWhen` or usage is above
//!   `diskMaxUsedSpaceRatio`; above `diskSpaceCleanForciblyRatio` unexpired files too. The
//!   file being written and files not yet dispatched are never deleted;
//! * then deletes ConsumeQueue and IndexFiles wholly below the new CommitLog min offset and
//!   moves each queue's min offset.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use chrono::Timelike;

use super::commit_log::CommitLog;
use super::config::{DiskUsageProbe, StoreConfig};
use super::dispatch::Dispatcher;
use super::health::StoreHealth;
use super::index::IndexService;
use super::queue_table::ConsumeQueueTable;
use super::wakeup::{spawn_service, ServiceControl};

/// Used share of the file system holding `path`, in percent.
pub(crate) fn disk_usage_percent(path: &Path) -> std::io::Result<f64> {
    let st = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    let total = st.blocks() as f64;
    if total <= 0.0 {
        return Ok(0.0);
    }
    Ok((total - st.blocks_free() as f64) / total * 100.0)
}

pub(crate) struct Cleaner {
    hours: Vec<u32>,
    reserved: Duration,
    max_used: f64,
    forcibly: f64,
    warning: f64,
    batch: usize,
    interval: Duration,
    probe: Option<DiskUsageProbe>,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    index: Option<Arc<IndexService>>,
    health: Arc<StoreHealth>,
    dispatcher: Arc<Dispatcher>,
    last_min: AtomicI64,
    /// Wake-up, stop and halt requests for the thread.
    pub(crate) control: ServiceControl,
}

impl std::fmt::Debug for Cleaner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleaner").finish_non_exhaustive()
    }
}

impl Cleaner {
    pub(crate) fn new(
        config: &StoreConfig,
        commit_log: Arc<CommitLog>,
        queues: Arc<ConsumeQueueTable>,
        index: Option<Arc<IndexService>>,
        health: Arc<StoreHealth>,
        dispatcher: Arc<Dispatcher>,
    ) -> Arc<Cleaner> {
        Arc::new(Cleaner {
            hours: config.delete_hours().unwrap_or_default(),
            reserved: Duration::from_secs(config.file_reserved_time_hours * 3600),
            max_used: f64::from(config.disk_max_used_space_ratio),
            forcibly: f64::from(config.disk_space_clean_forcibly_ratio),
            warning: f64::from(config.disk_space_warning_level_ratio),
            batch: config.delete_file_batch_max,
            interval: config.clean_resource_interval,
            probe: config.disk_usage_probe.clone(),
            last_min: AtomicI64::new(commit_log.min_offset()),
            commit_log,
            queues,
            index,
            health,
            dispatcher,
            control: ServiceControl::default(),
        })
    }

    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = self.clone();
        spawn_service("fennec-clean", move || {
            while !me.control.stopping() {
                me.pass();
                me.control.wait(me.interval);
            }
        })
    }

    fn disk_ratio(&self) -> f64 {
        let dir = self.commit_log.files().dir();
        let measured = match &self.probe {
            Some(p) => (p.0)(dir),
            None => disk_usage_percent(dir),
        };
        measured.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot measure disk usage");
            0.0
        })
    }

    /// One pass; returns the number of CommitLog files deleted.
    pub(crate) fn pass(&self) -> usize {
        let ratio = self.disk_ratio();
        self.health.set_disk(ratio, ratio >= self.warning);
        let hour = chrono::Local::now().hour();
        let at_hour = self.hours.contains(&hour);
        let space = ratio > self.max_used;
        let force = ratio > self.forcibly;
        let mut deleted = 0;
        if at_hour || space || force {
            let now = SystemTime::now();
            let dispatched = self.dispatcher.dispatched();
            let removed = self.commit_log.files().delete_front_while(self.batch, |f| {
                let expired = f
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age >= self.reserved);
                f.end_offset() <= dispatched && (expired || force)
            });
            deleted = removed.len();
            if deleted > 0 {
                tracing::info!(deleted, ratio, force, "deleted commit log files");
            }
        }
        let min = self.commit_log.min_offset();
        if self.last_min.swap(min, Ordering::AcqRel) != min {
            let mut cq_files = 0;
            for q in self.queues.all() {
                cq_files += q.delete_expired(min);
            }
            let index_files = self.index.as_ref().map_or(0, |i| i.delete_expired(min));
            tracing::info!(
                min,
                cq_files,
                index_files,
                "cleaned queues below commit log min"
            );
        }
        deleted
    }
}
