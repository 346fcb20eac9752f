//! [`Flusher`]: the `fennec-flush` thread that msyncs the CommitLog.
//!
//! * ASYNC_FLUSH (RocketMQ's FlushRealTimeService): flush every `flushIntervalCommitLog`
//!   when at least `flushCommitLogLeastPages` pages are dirty, at once when an append
//!   crosses that threshold (the appender wakes the thread), and everything every
//!   `flushCommitLogThoroughInterval`. Regular flushes stop at the last whole page so the
//!   page the appender is filling stays dirty (see `MappedFile::flush_whole_pages`).
//! * SYNC_FLUSH (GroupCommitService): each waiting put queues `(end offset, oneshot)`; the
//!   thread drains all queued requests, does one flush up to the current write position and
//!   completes every request it covers. A put with WAIT=false only wakes the thread.
//!
//! A failed msync poisons the store and fails every waiter; a poisoned store flushes no more
//! (its flushed offset, which the checkpoint records, stays below the failure).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fennec_common::histogram::{HistogramSnapshot, LatencyHistogram};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::commit_log::CommitLog;
use super::config::{FlushDiskType, StoreConfig, PAGE_SIZE};
use super::health::StoreHealth;
use super::wakeup::{spawn_service, ServiceControl};

struct FlushRequest {
    end: i64,
    done: oneshot::Sender<bool>,
}

pub(crate) struct Flusher {
    mode: FlushDiskType,
    interval: Duration,
    thorough: Duration,
    least_bytes: i64,
    /// ASYNC_FLUSH only on the interval tick (`flushCommitLogTimed`).
    timed: bool,
    commit_log: Arc<CommitLog>,
    health: Arc<StoreHealth>,
    /// Wake-up, stop and halt requests for the thread.
    pub(crate) control: ServiceControl,
    requests: Mutex<Vec<FlushRequest>>,
    kicked: AtomicBool,
    flushed: AtomicI64,
    msyncs: AtomicU64,
    /// How long each flush that wrote something took.
    latency: LatencyHistogram,
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher")
            .field("mode", &self.mode)
            .field("flushed", &self.flushed)
            .finish_non_exhaustive()
    }
}

impl Flusher {
    pub(crate) fn new(
        config: &StoreConfig,
        commit_log: Arc<CommitLog>,
        health: Arc<StoreHealth>,
    ) -> Arc<Flusher> {
        let flushed = commit_log.files().flushed_offset();
        Arc::new(Flusher {
            mode: config.flush_disk_type,
            interval: if config.flush_disk_type == FlushDiskType::SyncFlush {
                // Group commit is woken by requests; the period only bounds how long data
                // appended with WAIT=false stays unflushed.
                Duration::from_millis(10)
            } else {
                config.flush_interval_commit_log
            },
            thorough: config.flush_commit_log_thorough_interval,
            least_bytes: (config.flush_commit_log_least_pages * PAGE_SIZE) as i64,
            timed: config.flush_commit_log_timed,
            commit_log,
            health,
            control: ServiceControl::default(),
            requests: Mutex::new(Vec::new()),
            kicked: AtomicBool::new(false),
            flushed: AtomicI64::new(flushed),
            msyncs: AtomicU64::new(0),
            latency: LatencyHistogram::new(),
        })
    }

    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = self.clone();
        spawn_service("fennec-flush", move || me.run())
    }

    /// Called after an append ending at `end`; returns the receiver to wait on when the put
    /// must wait for the flush.
    pub(crate) fn after_append(&self, end: i64, wait: bool) -> Option<oneshot::Receiver<bool>> {
        match self.mode {
            FlushDiskType::SyncFlush if wait => {
                let (tx, rx) = oneshot::channel();
                self.requests.lock().push(FlushRequest { end, done: tx });
                self.control.notify();
                Some(rx)
            }
            FlushDiskType::SyncFlush => {
                self.control.notify();
                None
            }
            FlushDiskType::AsyncFlush if self.timed => None,
            FlushDiskType::AsyncFlush => {
                let dirty = end - self.flushed.load(Ordering::Relaxed);
                if dirty >= self.least_bytes
                    && !self.kicked.load(Ordering::Relaxed)
                    && !self.kicked.swap(true, Ordering::AcqRel)
                {
                    self.control.notify();
                }
                None
            }
        }
    }

    /// Offset up to which the CommitLog is flushed.
    pub(crate) fn flushed_offset(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// msync calls issued on the CommitLog.
    pub(crate) fn msync_count(&self) -> u64 {
        self.msyncs.load(Ordering::Relaxed)
    }

    /// Durations of the flushes that wrote something.
    pub(crate) fn latency(&self) -> HistogramSnapshot {
        self.latency.snapshot()
    }

    /// Flushes everything written so far; returns false (and poisons the store) on error.
    pub(crate) fn flush_all(&self) -> bool {
        self.flush(false)
    }

    fn flush(&self, whole_pages_only: bool) -> bool {
        // Once an msync failed, a later one may succeed although the kernel dropped the
        // pages that failed (the error is reported once): nothing counts as flushed anymore.
        if self.health.poisoned().is_some() {
            return false;
        }
        let files = self.commit_log.files();
        let started = Instant::now();
        let result = if whole_pages_only {
            files.flush_whole_pages()
        } else {
            files.flush()
        };
        match result {
            Ok(n) => {
                if n > 0 {
                    self.latency.observe(started.elapsed());
                }
                self.msyncs.fetch_add(n, Ordering::Relaxed);
                self.flushed
                    .store(self.commit_log.files().flushed_offset(), Ordering::Release);
                true
            }
            Err(e) => {
                self.health
                    .poison(format!("commit log msync failed: {}", e.with_cause()));
                false
            }
        }
    }

    fn run(&self) {
        let mut last_thorough = Instant::now();
        loop {
            let stopping = self.control.stopping();
            if !stopping {
                self.control.wait(self.interval);
            }
            if self.control.halted() {
                return;
            }
            let stopping = self.control.stopping();
            match self.mode {
                FlushDiskType::SyncFlush => self.group_commit(),
                FlushDiskType::AsyncFlush => {
                    let dirty = self.commit_log.max_offset() - self.flushed_offset();
                    let thorough = last_thorough.elapsed() >= self.thorough;
                    if dirty > 0 && (dirty >= self.least_bytes || thorough || stopping) {
                        self.kicked.store(false, Ordering::Release);
                        self.flush(!(thorough || stopping));
                    }
                    if thorough {
                        last_thorough = Instant::now();
                    }
                }
            }
            if stopping {
                self.flush_all();
                self.group_commit();
                return;
            }
        }
    }

    fn group_commit(&self) {
        let requests = std::mem::take(&mut *self.requests.lock());
        let dirty = self.commit_log.max_offset() > self.flushed_offset();
        if requests.is_empty() && !dirty {
            return;
        }
        let ok = self.flush_all();
        let flushed = self.flushed_offset();
        let mut pending = Vec::new();
        for r in requests {
            if !ok {
                let _ = r.done.send(false);
            } else if r.end <= flushed {
                let _ = r.done.send(true);
            } else {
                pending.push(r);
            }
        }
        if !pending.is_empty() {
            self.requests.lock().extend(pending);
            self.control.notify();
        }
    }
}
