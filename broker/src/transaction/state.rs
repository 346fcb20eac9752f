//! [`TxState`]: which half messages are still open, as read from the log.
//!
//! The half queue (`RMQ_SYS_TRANS_HALF_TOPIC` queue 0) and the op queue
//! (`RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0, one op per resolved half-queue offset) are read
//! in order, each up to its own point (`half_next`, `op_next`). A half message is open once
//! it was read and no op for it was; an op read before its half message (the two queues are
//! read at different moments) is kept in `closed_ahead` until the half message is read. So
//! the persistent part ([`Progress`]) is a function of the two log prefixes plus a check
//! count per open message: saving it at any moment and reading both queues on from it after
//! a restart gives the same state as never stopping.
//!
//! `resolving` is this process's own knowledge, never saved: offsets whose op an
//! END_TRANSACTION (or a discard) has appended, or is appending, that the reader has not
//! reached yet. It makes a duplicate END_TRANSACTION harmless before its op is read; after a
//! restart the log itself says so (every op in the log is read before requests are served).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

/// A half message as read from the half queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HalfEntry {
    /// Its offset in the half queue (the `tranStateTableOffset` producers send back).
    pub offset: i64,
    pub commit_log_offset: i64,
    pub store_timestamp: i64,
}

/// An open half message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenHalf {
    pub offset: i64,
    pub commit_log_offset: i64,
    pub store_timestamp: i64,
    /// CHECK_TRANSACTION_STATE requests sent for it so far.
    pub checks: u32,
}

/// The saved form of a [`TxState`] (`config/transactionProgress.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Progress {
    /// Next half-queue offset to read.
    pub half_offset: i64,
    /// Next op-queue offset to read.
    pub op_offset: i64,
    pub open: Vec<OpenHalf>,
    /// Half-queue offsets at or after `half_offset` that already have an op.
    pub closed_ahead: Vec<i64>,
}

/// Open half messages and how far the two queues were read.
#[derive(Debug, Default)]
pub(crate) struct TxState {
    half_next: i64,
    op_next: i64,
    open: BTreeMap<i64, OpenHalf>,
    closed_ahead: BTreeSet<i64>,
    resolving: HashSet<i64>,
    /// Whether anything saved changed since [`TxState::take_changed`].
    changed: bool,
}

impl TxState {
    pub(crate) fn from_progress(p: Progress) -> Self {
        TxState {
            half_next: p.half_offset.max(0),
            op_next: p.op_offset.max(0),
            open: p.open.into_iter().map(|o| (o.offset, o)).collect(),
            closed_ahead: p.closed_ahead.into_iter().collect(),
            resolving: HashSet::new(),
            changed: false,
        }
    }

    pub(crate) fn progress(&self) -> Progress {
        Progress {
            half_offset: self.half_next,
            op_offset: self.op_next,
            open: self.open.values().copied().collect(),
            closed_ahead: self.closed_ahead.iter().copied().collect(),
        }
    }

    pub(crate) fn half_next(&self) -> i64 {
        self.half_next
    }

    pub(crate) fn op_next(&self) -> i64 {
        self.op_next
    }

    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Fits saved progress to queues that end at `half_max` and `op_max`: after a crash
    /// that lost the end of the log, what was read beyond it no longer exists (and those
    /// offsets will be used again by new messages).
    pub(crate) fn clamp(&mut self, half_max: i64, op_max: i64) {
        if self.half_next > half_max {
            self.half_next = half_max;
            self.open.retain(|&o, _| o < half_max);
            self.changed = true;
        }
        if self.closed_ahead.iter().any(|&o| o >= half_max) {
            self.closed_ahead.retain(|&o| o < half_max);
            self.changed = true;
        }
        if self.op_next > op_max {
            self.op_next = op_max;
            self.changed = true;
        }
    }

    /// Records the next half message of the queue (`h.offset >= half_next`; offsets in
    /// between are gone).
    pub(crate) fn add_half(&mut self, h: HalfEntry) {
        debug_assert!(h.offset >= self.half_next);
        self.half_next = h.offset + 1;
        self.changed = true;
        if !self.closed_ahead.remove(&h.offset) {
            self.open.insert(
                h.offset,
                OpenHalf {
                    offset: h.offset,
                    commit_log_offset: h.commit_log_offset,
                    store_timestamp: h.store_timestamp,
                    checks: 0,
                },
            );
        }
    }

    /// Moves the half reader to `next` over entries that cannot be read (deleted files).
    pub(crate) fn skip_halves_to(&mut self, next: i64) {
        if next > self.half_next {
            self.half_next = next;
            let ahead = self.closed_ahead.split_off(&next);
            self.closed_ahead = ahead;
            self.changed = true;
        }
    }

    /// Records the op at `op_offset`, which closes the half-queue offsets `closes`.
    pub(crate) fn add_op(&mut self, op_offset: i64, closes: impl IntoIterator<Item = i64>) {
        debug_assert!(op_offset >= self.op_next);
        self.op_next = op_offset + 1;
        self.changed = true;
        for half in closes {
            self.resolving.remove(&half);
            if self.open.remove(&half).is_none() && half >= self.half_next {
                self.closed_ahead.insert(half);
            }
        }
    }

    /// Moves the op reader to `next` over entries that cannot be read.
    pub(crate) fn skip_ops_to(&mut self, next: i64) {
        if next > self.op_next {
            self.op_next = next;
            self.changed = true;
        }
    }

    /// Whether the half message at `offset` has an outcome (or is getting one).
    pub(crate) fn is_resolved(&self, offset: i64) -> bool {
        self.resolving.contains(&offset)
            || self.closed_ahead.contains(&offset)
            || (offset < self.half_next && !self.open.contains_key(&offset))
    }

    /// Claims the outcome of the half message at `offset`; false when it already has one
    /// (a duplicate or late END_TRANSACTION).
    pub(crate) fn begin_resolve(&mut self, offset: i64) -> bool {
        !self.is_resolved(offset) && self.resolving.insert(offset)
    }

    /// Gives back a claim whose records could not be stored.
    pub(crate) fn abort_resolve(&mut self, offset: i64) {
        self.resolving.remove(&offset);
    }

    /// Open half messages stored at least `timeout_ms` before `now` that nobody is
    /// resolving, in half-queue order.
    pub(crate) fn due(&self, now: i64, timeout_ms: i64) -> Vec<OpenHalf> {
        self.open
            .values()
            .filter(|o| {
                o.store_timestamp.saturating_add(timeout_ms) <= now
                    && !self.resolving.contains(&o.offset)
            })
            .copied()
            .collect()
    }

    /// Counts one more check of the half message at `offset`.
    pub(crate) fn checked(&mut self, offset: i64) {
        if let Some(o) = self.open.get_mut(&offset) {
            o.checks += 1;
            self.changed = true;
        }
    }

    /// Forgets an open half message whose record is gone (retention) or unreadable.
    pub(crate) fn forget(&mut self, offset: i64) {
        if self.open.remove(&offset).is_some() {
            self.changed = true;
        }
    }

    /// Whether the saved part changed since the last call.
    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

/// The half-queue offsets an op message body closes: one decimal offset (4.x) or
/// comma-terminated offsets (5.x). Anything else is skipped.
pub(crate) fn op_offsets(body: &[u8]) -> impl Iterator<Item = i64> + '_ {
    body.split(|&b| b == b',')
        .filter_map(|part| std::str::from_utf8(part).ok()?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half(offset: i64, ts: i64) -> HalfEntry {
        HalfEntry {
            offset,
            commit_log_offset: offset * 100,
            store_timestamp: ts,
        }
    }

    #[test]
    fn ops_close_halves_read_before_or_after_them() {
        let mut s = TxState::default();
        s.add_half(half(0, 10));
        s.add_half(half(1, 10));
        // An op for a half message not read yet.
        s.add_op(0, [2]);
        assert!(s.is_resolved(2));
        s.add_half(half(2, 10));
        s.add_op(1, [0]);
        assert_eq!(s.open_count(), 1);
        assert!(s.is_resolved(0) && s.is_resolved(2) && !s.is_resolved(1));
        assert!(!s.is_resolved(3), "not read yet, no op: open");
        assert_eq!(s.due(1_000, 500).len(), 1);
        assert!(s.due(100, 500).is_empty(), "too young");
    }

    #[test]
    fn claims_make_duplicates_harmless_until_the_op_is_read() {
        let mut s = TxState::default();
        s.add_half(half(0, 10));
        assert!(s.begin_resolve(0));
        assert!(!s.begin_resolve(0), "duplicate");
        assert!(s.due(1_000, 0).is_empty(), "being resolved: not checked");
        s.add_op(0, [0]);
        assert!(!s.begin_resolve(0), "late");
        // A claim on a half message the reader has not reached yet.
        assert!(s.begin_resolve(5));
        s.abort_resolve(5);
        assert!(s.begin_resolve(5));
        s.add_op(1, [5]);
        s.add_half(half(1, 10));
        s.add_half(half(5, 10));
        assert!(s.is_resolved(5));
        assert_eq!(s.open_count(), 1);
    }

    #[test]
    fn progress_round_trips_and_resumes_like_never_stopping() {
        let mut s = TxState::default();
        s.add_half(half(0, 10));
        s.add_half(half(1, 10));
        s.add_op(0, [3]);
        s.checked(1);
        assert!(s.begin_resolve(0));
        assert!(s.take_changed());
        assert!(!s.take_changed());
        let saved = s.progress();
        let json = serde_json::to_string(&saved).unwrap();
        let mut r = TxState::from_progress(serde_json::from_str(&json).unwrap());
        assert_eq!(r.progress(), saved);
        // The claim was not saved: the op in the log says it after the restart.
        assert!(!r.is_resolved(0));
        r.add_op(r.op_next(), [0]);
        r.add_half(half(2, 10));
        r.add_half(half(3, 10));
        assert!(r.is_resolved(3));
        assert_eq!(
            r.due(1_000, 0)
                .iter()
                .map(|o| (o.offset, o.checks))
                .collect::<Vec<_>>(),
            [(1, 1), (2, 0)]
        );
    }

    #[test]
    fn clamping_and_skipping() {
        let mut s = TxState::default();
        for o in 0..4 {
            s.add_half(half(o, 10));
        }
        s.add_op(0, [6]);
        s.clamp(2, 0);
        assert_eq!((s.half_next(), s.op_next(), s.open_count()), (2, 0, 2));
        assert!(!s.is_resolved(6), "closed-ahead beyond the log is dropped");
        s.add_op(0, [9]);
        s.skip_halves_to(10);
        assert_eq!(s.half_next(), 10);
        assert!(s.is_resolved(9), "below the reader and not open");
        s.forget(0);
        assert!(s.is_resolved(0));
        s.skip_ops_to(7);
        assert_eq!(s.op_next(), 7);
    }

    #[test]
    fn op_bodies_of_both_versions() {
        assert_eq!(op_offsets(b"17").collect::<Vec<_>>(), [17]);
        assert_eq!(op_offsets(b"17,18,").collect::<Vec<_>>(), [17, 18]);
        assert_eq!(op_offsets(b"x,").count(), 0);
    }
}
