//! Delivery later: delay levels (RocketMQ 4's `DELAY`) and timers due at any time (RocketMQ
//! 5's `TIMER_*` properties, on the 4.x protocol), delivered by one `fennec-schedule` thread.
//!
//! * `route.rs`: at put time a deferred message goes to a staging topic with its real topic
//!   in its properties; the dispatcher writes its due time into the consume-queue entry.
//! * `level_queues.rs`: `SCHEDULE_TOPIC_XXXX`, one queue per level, each in due order.
//! * `timer.rs`, `timer_wheel.rs`, `timer_log.rs`: `rmq_sys_wheel_timer`, linked into a
//!   timing wheel on disk, O(1) per timer.
//! * `redeliver.rs`: the append to the real topic, marked with its staging entry.
//! * `progress.rs`: `config/delayOffset.json` and `config/timercheck`.
//!
//! The thread sleeps until the next due time (a ready timer, the next occupied wheel slot,
//! the next due level entry) or until the dispatcher wakes it for a new staging entry;
//! nothing is polled. At start-up it resumes from the checkpoint and scans the CommitLog
//! written after it for delivery marks, so a crash neither loses nor repeats a delivery.

mod level_queues;
mod levels;
mod progress;
mod redeliver;
mod route;
mod timer;
mod timer_log;
mod timer_wheel;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fennec_protocol::body::DelayOffsetTable;
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::{SCHEDULE_TOPIC, TIMER_TOPIC};
use parking_lot::Mutex;

pub use levels::DelayLevels;
pub(crate) use route::{route, staging_tag_code};

use self::level_queues::LevelQueues;
use self::progress::{ProgressFiles, TimerCheckpoint};
use self::redeliver::{deliver, delivered_since, Outcome, Source};
use self::timer::{TimerProgress, Timers};
use crate::append::Appender;
use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::error::StoreError;
use crate::queue_table::ConsumeQueueTable;
use crate::wakeup::{spawn_service, ServiceControl};

/// How often progress is written while deliveries happen.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// Progress is also rewritten once the CommitLog grew this much since the last checkpoint,
/// to bound the scan a restart makes.
const CHECKPOINT_LOG_GROWTH: i64 = 64 << 20;
/// Pause after the store refused a delivery (a full disk, say).
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// Longest sleep with nothing due (a safety net; the dispatcher wakes the thread).
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// Most timers delivered per pass, so that levels and new timers get their turn.
const TIMER_PASS_LIMIT: usize = 4096;

/// What the dispatcher shares with the delivery thread: the level table (a level entry's due
/// time is its store time plus its level's delay) and the thread's wake-up.
#[derive(Debug, Default)]
pub(crate) struct StagingSignal {
    pub(crate) levels: DelayLevels,
    pub(crate) control: ServiceControl,
}

/// Where delivery stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Per delay level: the next `SCHEDULE_TOPIC_XXXX` offset to deliver and the queue's max.
    pub levels: BTreeMap<i32, (i64, i64)>,
    /// Delay-level messages delivered since start.
    pub level_messages_delivered: u64,
    /// Timer queue entries not yet linked into the wheel.
    pub timer_offset_behind: i64,
    /// Every timer linked so far and due before this time (ms since the epoch) is delivered.
    pub timer_progress_ms: i64,
    /// Timers gathered from the wheel and waiting for their due time.
    pub timers_ready: usize,
    /// Timers delivered since start.
    pub timers_delivered: u64,
}

/// The `fennec-schedule` thread and its state.
pub(crate) struct DeliveryService {
    signal: Arc<StagingSignal>,
    queues: Arc<ConsumeQueueTable>,
    published: Mutex<Published>,
    worker: Mutex<Option<Worker>>,
}

/// What the thread last published for readers.
#[derive(Debug, Clone, Default)]
struct Published {
    levels: DelayOffsetTable,
    level_messages_delivered: u64,
    timer_progress: Option<TimerProgress>,
    timers_ready: usize,
    timers_delivered: u64,
}

impl std::fmt::Debug for DeliveryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryService").finish_non_exhaustive()
    }
}

/// The state the thread owns.
struct Worker {
    signal: Arc<StagingSignal>,
    appender: Arc<Appender>,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    levels: LevelQueues,
    timers: Timers,
    files: ProgressFiles,
    /// The last progress written: levels, timers, CommitLog offset.
    written: Option<(DelayOffsetTable, TimerProgress, i64)>,
    last_checkpoint: Instant,
    /// No delivery before this after a refused append.
    paused_until: Option<Instant>,
}

impl DeliveryService {
    /// Loads the progress files, the wheel and the timer log, and marks what was delivered
    /// after the last checkpoint (a scan of the CommitLog from the checkpoint's offset).
    pub(crate) fn open(
        config: &StoreConfig,
        signal: Arc<StagingSignal>,
        appender: Arc<Appender>,
        queues: Arc<ConsumeQueueTable>,
    ) -> Result<Arc<DeliveryService>, StoreError> {
        let root = &config.store_path_root_dir;
        let commit_log = appender.commit_log.clone();
        let mut files = ProgressFiles::new(&root.join("config"));
        let now = now_millis();
        let checkpoint = match files.load_timer()? {
            Some(c) => c,
            None => {
                // A new store (or one from before delivery existed): nothing was delivered
                // yet, so the first checkpoint says so before anything is.
                let first = TimerCheckpoint {
                    commit_log_offset: commit_log.max_offset(),
                    cursor_ms: now,
                    enqueue_offset: 0,
                };
                let levels = DelayOffsetTable {
                    offset_table: files.load_levels()?,
                };
                files.write(&levels, &first)?;
                first
            }
        };
        let mut levels = LevelQueues::new(files.load_levels()?);
        let mut timers = Timers::open(
            root,
            i64::try_from(config.timer_precision_ms).unwrap_or(1000),
            usize::try_from(config.timer_wheel_slots()).unwrap_or(1 << 20),
            TimerProgress {
                enqueued: checkpoint.enqueue_offset,
                cursor: checkpoint.cursor_ms,
            },
        )?;
        let started = Instant::now();
        let found = delivered_since(&commit_log, checkpoint.commit_log_offset);
        for (topic, queue_id, offset) in &found {
            if topic == SCHEDULE_TOPIC {
                levels.note_delivered(queue_id + 1, *offset);
            } else if topic == TIMER_TOPIC {
                timers.mark_delivered(*offset, now)?;
            }
        }
        tracing::info!(
            from = checkpoint.commit_log_offset,
            deliveries = found.len(),
            elapsed = ?started.elapsed(),
            "delivery progress recovered"
        );
        let worker = Worker {
            signal: signal.clone(),
            appender,
            commit_log,
            queues: queues.clone(),
            levels,
            timers,
            files,
            written: None,
            last_checkpoint: Instant::now(),
            paused_until: None,
        };
        let service = Arc::new(DeliveryService {
            signal,
            queues,
            published: Mutex::new(Published::default()),
            worker: Mutex::new(None),
        });
        service.publish(&worker);
        *service.worker.lock() = Some(worker);
        Ok(service)
    }

    /// Starts the thread (once).
    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<Option<JoinHandle<()>>> {
        let Some(mut worker) = self.worker.lock().take() else {
            return Ok(None);
        };
        let me = self.clone();
        spawn_service("fennec-schedule", move || {
            worker.run(&me);
        })
        .map(Some)
    }

    pub(crate) fn control(&self) -> &ServiceControl {
        &self.signal.control
    }

    fn publish(&self, w: &Worker) {
        *self.published.lock() = Published {
            levels: w.levels.table(),
            level_messages_delivered: w.levels.delivered_total(),
            timer_progress: Some(w.timers.progress()),
            timers_ready: w.timers.ready_len(),
            timers_delivered: w.timers.delivered_total(),
        };
    }

    /// A slave's copy of its master's level progress (the thread does not run on a slave):
    /// kept in memory for GET_ALL_DELAY_OFFSET and written to `config/delayOffset.json`.
    pub(crate) fn adopt_levels(&self, table: &DelayOffsetTable) -> Result<(), StoreError> {
        let mut guard = self.worker.lock();
        let Some(worker) = guard.as_mut() else {
            return Err(StoreError::Config(
                "the delivery thread runs: only a slave adopts its master's progress".into(),
            ));
        };
        if worker.levels.table() == *table {
            return Ok(());
        }
        worker.levels = LevelQueues::new(table.offset_table.clone());
        worker.files.write_levels(table)?;
        self.publish(worker);
        Ok(())
    }

    /// Per delay level, the next offset to deliver (GET_ALL_DELAY_OFFSET).
    pub(crate) fn delay_offsets(&self) -> DelayOffsetTable {
        self.published.lock().levels.clone()
    }

    pub(crate) fn stats(&self) -> DeliveryStats {
        let p = self.published.lock().clone();
        let levels = self
            .queues
            .queue_ids(SCHEDULE_TOPIC)
            .into_iter()
            .map(|q| {
                let level = q + 1;
                let max = self
                    .queues
                    .get(SCHEDULE_TOPIC, q)
                    .map_or(0, |cq| cq.max_offset());
                let next = p.levels.offset_table.get(&level).copied().unwrap_or(0);
                (level, (next.min(max), max))
            })
            .collect();
        let timer_max = self
            .queues
            .get(TIMER_TOPIC, 0)
            .map_or(0, |cq| cq.max_offset());
        let progress = p.timer_progress.unwrap_or(TimerProgress {
            enqueued: 0,
            cursor: 0,
        });
        DeliveryStats {
            levels,
            level_messages_delivered: p.level_messages_delivered,
            timer_offset_behind: (timer_max - progress.enqueued).max(0),
            timer_progress_ms: progress.cursor,
            timers_ready: p.timers_ready,
            timers_delivered: p.timers_delivered,
        }
    }
}

impl Worker {
    fn run(&mut self, service: &DeliveryService) {
        loop {
            if self.signal.control.halted() {
                return;
            }
            if self.signal.control.stopping() {
                // The CommitLog is closed by now: record where delivery stands and stop.
                self.checkpoint(true);
                return;
            }
            let (more, wake_at) = self.pass();
            service.publish(self);
            if more {
                continue;
            }
            let now = now_millis();
            let wait = wake_at.map_or(IDLE_WAIT, |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(IDLE_WAIT)
            });
            if !wait.is_zero() {
                self.signal.control.wait(wait);
            }
        }
    }

    /// One round: link new timers, gather due slots, deliver what is due, checkpoint.
    /// Returns whether work is left at once and when to look again.
    fn pass(&mut self) -> (bool, Option<i64>) {
        let now = now_millis();
        let mut more = false;
        let timer_queue = self.queues.get(TIMER_TOPIC, 0);
        if let Some(cq) = &timer_queue {
            match self.timers.enqueue(cq) {
                Ok(left) => more |= left,
                Err(e) => {
                    tracing::error!(error = %e.with_cause(), "cannot link timers into the wheel")
                }
            }
            self.timers.gather(cq, now);
        }
        let mut wake_at: Option<i64> = None;
        let mut wake = |at: Option<i64>| {
            if let Some(at) = at {
                wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
            }
        };
        let paused = self.paused_until.is_some_and(|t| Instant::now() < t);
        if paused {
            wake(Some(now + RETRY_DELAY.as_millis() as i64));
        } else {
            self.paused_until = None;
            if let Some(cq) = &timer_queue {
                more |= self.deliver_timers(cq, now);
            }
            let (appender, commit_log) = (&self.appender, &self.commit_log);
            let pass = self.levels.deliver_due(
                &self.queues,
                &self.signal.levels,
                now,
                &mut |e, source| deliver(appender, commit_log, e, source),
            );
            more |= pass.more;
            wake(pass.next_due);
            if let Some(why) = pass.failed {
                self.pause(&why);
            }
        }
        wake(self.timers.next_wake());
        let dirty = !self.written.as_ref().is_some_and(|w| self.is_current(w));
        if dirty {
            let since = self.last_checkpoint.elapsed();
            if since >= CHECKPOINT_INTERVAL {
                self.checkpoint(false);
            } else {
                wake(Some(now + (CHECKPOINT_INTERVAL - since).as_millis() as i64));
            }
        }
        (more, wake_at)
    }

    /// Delivers due timers; true if the pass limit left some for the next pass.
    fn deliver_timers(&mut self, cq: &crate::consume_queue::ConsumeQueue, now: i64) -> bool {
        let mut delivered = 0;
        while let Some(due) = self.timers.pop_due(now) {
            if delivered == TIMER_PASS_LIMIT {
                self.timers.retry(due);
                return true;
            }
            let outcome = match cq.entry(due.index).filter(|e| e.is_valid()) {
                None => Ok(Outcome::Dropped("its queue entry is gone".to_string())),
                Some(e) => deliver(
                    &self.appender,
                    &self.commit_log,
                    &e,
                    Source {
                        topic: TIMER_TOPIC,
                        queue_id: 0,
                        offset: due.index,
                    },
                ),
            };
            match outcome {
                Ok(outcome) => {
                    if let Outcome::Dropped(why) = outcome {
                        tracing::warn!(offset = due.index, "timer message dropped: {why}");
                    }
                    if let Err(e) = self.timers.done(due.index, now) {
                        tracing::error!(error = %e.with_cause(), "cannot mark a timer delivered");
                    }
                    delivered += 1;
                }
                Err(why) => {
                    self.timers.retry(due);
                    self.pause(&why);
                    return false;
                }
            }
        }
        false
    }

    fn pause(&mut self, why: &str) {
        tracing::warn!(
            "the store refused a delivery ({why}); trying again in {:?}",
            RETRY_DELAY
        );
        self.paused_until = Some(Instant::now() + RETRY_DELAY);
    }

    /// Whether `written` still describes the progress (the CommitLog may have grown a
    /// little since without deliveries).
    fn is_current(&self, written: &(DelayOffsetTable, TimerProgress, i64)) -> bool {
        written.0 == self.levels.table()
            && written.1 == self.timers.progress()
            && self.commit_log.max_offset() - written.2 < CHECKPOINT_LOG_GROWTH
    }

    /// Writes the progress if it changed (always when `final_write`): msyncs the wheel and
    /// the timer log, then the files.
    fn checkpoint(&mut self, final_write: bool) {
        self.last_checkpoint = Instant::now();
        if !final_write && self.written.as_ref().is_some_and(|w| self.is_current(w)) {
            return;
        }
        // Every delivery so far is below this offset; later ones are found by the scan.
        let log_offset = self.commit_log.max_offset();
        let queue_min = self
            .queues
            .get(TIMER_TOPIC, 0)
            .map_or(0, |cq| cq.min_offset());
        if let Err(e) = self.timers.flush(queue_min) {
            tracing::error!(error = %e.with_cause(), "cannot flush the timer wheel; progress not written");
            return;
        }
        let levels = self.levels.table();
        let progress = self.timers.progress();
        let timer = TimerCheckpoint {
            commit_log_offset: log_offset,
            cursor_ms: progress.cursor,
            enqueue_offset: progress.enqueued,
        };
        match self.files.write(&levels, &timer) {
            Ok(()) => self.written = Some((levels, progress, log_offset)),
            Err(e) => tracing::error!(error = %e.with_cause(), "cannot write delivery progress"),
        }
    }
}
