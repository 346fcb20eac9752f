//! [`Timers`]: timer messages between their arrival in the timer queue and their delivery.
//!
//! * **Enqueue** (O(1) per timer): each new entry of the timer queue (in queue order) is
//!   linked at the head of its due slot's chain: its [`TimerLog`] entry points at the slot's
//!   previous head and the [`TimerWheel`] slot at it. A due time a whole lap or more ahead of
//!   the cursor waits in the queue until the cursor moves (the wheel spans two maximum
//!   delays, so this only happens when delivery lags by days). An entry whose slot was
//!   gathered already goes straight to the ready heap as well.
//! * **Gather** (O(timers in the slot)): when the cursor reaches an occupied slot (a little
//!   ahead of its start), its chain is walked into the ready heap; empty slots are skipped
//!   through the wheel's bitmap, so nothing runs while no timer is due.
//! * **Deliver**: the heap yields timers at their own due time; each delivered one is marked
//!   in the timer log.
//!
//! Recovery: the progress checkpoint holds the enqueue offset and the gather cursor, both
//! held back to cover every timer not yet delivered. A restart re-links from that offset
//! (linking is idempotent: a slot whose head is at or past an entry has it already),
//! re-gathers from that cursor, and skips timers marked delivered (marks of deliveries after
//! the checkpoint come from the CommitLog scan in `redeliver.rs`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::path::Path;

use super::timer_log::TimerLog;
use super::timer_wheel::TimerWheel;
use crate::consume_queue::ConsumeQueue;
use crate::error::StoreError;

/// How long before a slot starts it is gathered.
const GATHER_AHEAD_MS: i64 = 100;
/// Most queue entries linked per call of [`Timers::enqueue`].
const ENQUEUE_BATCH: i64 = 65_536;

/// A timer ready for delivery: due time, then timer queue offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Due {
    pub due: i64,
    pub index: i64,
}

/// Where the timers stand, for the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerProgress {
    /// Queue entries below this are linked (or delivered).
    pub enqueued: i64,
    /// Timers due before this are delivered, given that the entries below `enqueued` are
    /// all the timers.
    pub cursor: i64,
}

pub(crate) struct Timers {
    wheel: TimerWheel,
    log: TimerLog,
    /// Next timer queue offset to link.
    enqueued: i64,
    /// Slots starting before this are gathered.
    cursor: i64,
    ready: BinaryHeap<Reverse<Due>>,
    /// Ready timers that could not be linked (their slot was taken by a later lap): the
    /// checkpoint's enqueue offset stays at or below them until they are delivered.
    unlinked: BTreeSet<i64>,
    delivered_total: u64,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers")
            .field("enqueued", &self.enqueued)
            .field("cursor", &self.cursor)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Timers {
    /// Opens `timerwheel` and `timerlog/` under `root` and resumes from `progress`.
    pub(crate) fn open(
        root: &Path,
        precision_ms: i64,
        slots: usize,
        progress: TimerProgress,
    ) -> Result<Timers, StoreError> {
        let wheel = TimerWheel::open(
            &root.join("timerwheel"),
            precision_ms,
            slots,
            progress.cursor,
        )?;
        let log = TimerLog::open(&root.join("timerlog"))?;
        let cursor = wheel.slot_start(progress.cursor);
        Ok(Timers {
            wheel,
            log,
            enqueued: progress.enqueued,
            cursor,
            ready: BinaryHeap::new(),
            unlinked: BTreeSet::new(),
            delivered_total: 0,
        })
    }

    /// Links the timer queue's new entries into the wheel; true if more are waiting.
    pub(crate) fn enqueue(&mut self, cq: &ConsumeQueue) -> Result<bool, StoreError> {
        let max = cq.max_offset();
        self.enqueued = self.enqueued.max(cq.min_offset());
        let limit = max.min(self.enqueued.saturating_add(ENQUEUE_BATCH));
        while self.enqueued < limit {
            let i = self.enqueued;
            let Some(e) = cq.entry(i) else { break };
            if e.is_valid() {
                let slot = self.wheel.slot_start(e.tag_code);
                if slot >= self.cursor.saturating_add(self.wheel.span()) {
                    // A lap ahead: wait until the cursor gets closer.
                    return Ok(false);
                }
                let linked = self.link(i, slot)?;
                if slot < self.cursor && !self.log.delivered(i) {
                    if !linked {
                        self.unlinked.insert(i);
                    }
                    self.ready.push(Reverse(Due {
                        due: e.tag_code,
                        index: i,
                    }));
                }
            }
            self.enqueued = i + 1;
        }
        Ok(self.enqueued < max)
    }

    /// Links entry `i` into `slot` unless it is there already; false if the slot belongs
    /// to a later lap not gathered yet (then `i` is not linked).
    fn link(&mut self, i: i64, slot: i64) -> Result<bool, StoreError> {
        let head = self.wheel.head(slot);
        if head.is_some_and(|h| h >= i) {
            return Ok(true);
        }
        if head.is_none() {
            let occupant = self.wheel.occupant(slot);
            if occupant != slot && occupant >= self.cursor {
                // A later lap's timers, not gathered yet, hold the slot: leave them alone.
                return Ok(false);
            }
        }
        self.log.set_prev(i, head)?;
        self.wheel.set_head(slot, i);
        if slot < self.cursor {
            self.wheel.gathered(slot);
        }
        Ok(true)
    }

    /// Moves the timers of the slots starting by `now` (and a little ahead) into the ready
    /// heap, reading each timer's due time from the queue.
    pub(crate) fn gather(&mut self, cq: &ConsumeQueue, now: i64) {
        let horizon = self.wheel.slot_start(now.saturating_add(GATHER_AHEAD_MS));
        while self.cursor <= horizon {
            match self.wheel.next_occupied(self.cursor) {
                Some(slot) if slot <= horizon => {
                    self.gather_slot(cq, slot);
                    self.cursor = slot + self.wheel.precision();
                }
                _ => self.cursor = horizon + self.wheel.precision(),
            }
        }
    }

    fn gather_slot(&mut self, cq: &ConsumeQueue, slot: i64) {
        let mut next = self.wheel.head(slot);
        while let Some(i) = next {
            if !self.log.delivered(i) {
                if let Some(e) = cq.entry(i).filter(|e| e.is_valid()) {
                    self.ready.push(Reverse(Due {
                        due: e.tag_code,
                        index: i,
                    }));
                }
            }
            next = self.log.prev(i);
            if next.is_some_and(|p| p >= i) {
                tracing::error!(
                    slot,
                    index = i,
                    "timer chain does not descend; slot cut here"
                );
                break;
            }
        }
        self.wheel.gathered(slot);
    }

    /// The next ready timer due by `now`, not delivered yet.
    pub(crate) fn pop_due(&mut self, now: i64) -> Option<Due> {
        while let Some(Reverse(top)) = self.ready.peek().copied() {
            if top.due > now {
                return None;
            }
            self.ready.pop();
            if !self.log.delivered(top.index) {
                return Some(top);
            }
            self.unlinked.remove(&top.index);
        }
        None
    }

    /// Puts back a timer whose delivery failed (tried again later).
    pub(crate) fn retry(&mut self, due: Due) {
        self.ready.push(Reverse(due));
    }

    /// Records that timer `index` is delivered (or dropped).
    pub(crate) fn done(&mut self, index: i64, now: i64) -> Result<(), StoreError> {
        self.unlinked.remove(&index);
        self.delivered_total += 1;
        self.log.mark_delivered(index, now)
    }

    /// Marks a timer delivered before a crash (found in the CommitLog).
    pub(crate) fn mark_delivered(&mut self, index: i64, at: i64) -> Result<(), StoreError> {
        self.log.mark_delivered(index, at)
    }

    /// When the thread must next look at the timers: the first ready due time or the
    /// gathering of the next occupied slot.
    pub(crate) fn next_wake(&self) -> Option<i64> {
        let ready = self.ready.peek().map(|Reverse(d)| d.due);
        let gather = self
            .wheel
            .next_occupied(self.cursor)
            .map(|slot| slot - GATHER_AHEAD_MS);
        match (ready, gather) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn progress(&self) -> TimerProgress {
        let ready_slot = self
            .ready
            .peek()
            .map(|Reverse(d)| self.wheel.slot_start(d.due));
        TimerProgress {
            enqueued: self
                .unlinked
                .first()
                .map_or(self.enqueued, |u| self.enqueued.min(*u)),
            cursor: ready_slot.map_or(self.cursor, |s| s.min(self.cursor)),
        }
    }

    pub(crate) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    pub(crate) fn delivered_total(&self) -> u64 {
        self.delivered_total
    }

    /// msyncs the wheel and the log (before a checkpoint), and drops log files the queue
    /// no longer reaches.
    pub(crate) fn flush(&mut self, queue_min_offset: i64) -> Result<(), StoreError> {
        self.log
            .delete_below(queue_min_offset.min(self.progress().enqueued));
        self.wheel.flush()?;
        self.log.flush()
    }
}
