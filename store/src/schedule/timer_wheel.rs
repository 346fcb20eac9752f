//! [`TimerWheel`]: the `timerwheel` file, a ring of due-time slots mapped read-write. Slot
//! `s` covers `[t, t + precision)` for every `t` with `t / precision % slots == s`; it holds
//! the start time of the slot it currently stands for and the newest timer linked into it
//! (its timer queue offset; older ones chain through the [`TimerLog`](super::timer_log)).
//! ```text
//! header (32 bytes)  "FNTW" | u32 version 1 | i64 precision ms | i64 slots | i64 reserved
//! slot s at 32+16s   i64 slot start time (ms since the epoch; 0 = never used)
//!                    i64 head: timer queue offset + 1 of the newest entry (0 = empty)
//! ```
//! A slot found holding another start time is from an earlier lap, long fired, and counts
//! as empty. The wheel spans two `timerMaxDelaySec`, so a lap never catches up with a slot
//! not yet fired. An existing wheel keeps the precision and size it was created with.
//!
//! An in-memory bitmap marks slots holding timers not yet gathered, so the delivery thread
//! sleeps until the next of them instead of waking at every slot.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::error::StoreError;
use crate::index_file::{i64_at, put_i64};
use crate::mapped_file::{create_reserved, map_mut};

const MAGIC: &[u8; 4] = b"FNTW";
const VERSION: u32 = 1;
const HEADER: usize = 32;
const SLOT: usize = 16;

/// The wheel file and its occupancy bitmap.
pub(crate) struct TimerWheel {
    path: PathBuf,
    map: MmapMut,
    precision: i64,
    slots: usize,
    /// Bit `s`: slot `s` holds timers of a time not gathered yet.
    occupied: Vec<u64>,
}

impl std::fmt::Debug for TimerWheel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerWheel")
            .field("path", &self.path)
            .field("precision", &self.precision)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

impl TimerWheel {
    /// Opens `path`, or creates it with `precision_ms` and `slots`. Slots holding a start
    /// time at or after `gathered_until` are marked occupied.
    pub(crate) fn open(
        path: &Path,
        precision_ms: i64,
        slots: usize,
        gathered_until: i64,
    ) -> Result<TimerWheel, StoreError> {
        let bad = |reason: String| StoreError::BadFile {
            path: path.to_path_buf(),
            reason,
        };
        let (map, precision, slots) = if path.exists() {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(StoreError::io("open", path))?;
            let map = map_mut(&file, path)?;
            if map.len() < HEADER || &map[0..4] != MAGIC {
                return Err(bad("not a timer wheel (bad magic)".into()));
            }
            let version = u32::from_be_bytes([map[4], map[5], map[6], map[7]]);
            if version != VERSION {
                return Err(bad(format!(
                    "timer wheel version {version}, expected {VERSION}"
                )));
            }
            let precision = i64_at(&map, 8);
            let slots = usize::try_from(i64_at(&map, 16)).unwrap_or(0);
            if precision <= 0 || slots == 0 || map.len() != HEADER + slots * SLOT {
                return Err(bad(format!(
                    "timer wheel header says {slots} slots of {precision} ms in {} bytes",
                    map.len()
                )));
            }
            if precision != precision_ms {
                tracing::warn!(path = %path.display(), precision, configured = precision_ms,
                    "the timer wheel keeps the precision it was created with");
            }
            (map, precision, slots)
        } else {
            let size = HEADER + slots * SLOT;
            let file = create_reserved(path, size, size)?;
            let mut map = map_mut(&file, path)?;
            map[0..4].copy_from_slice(MAGIC);
            map[4..8].copy_from_slice(&VERSION.to_be_bytes());
            put_i64(&mut map, 8, precision_ms);
            put_i64(&mut map, 16, slots as i64);
            map.flush().map_err(StoreError::io("msync", path))?;
            (map, precision_ms, slots)
        };
        let mut wheel = TimerWheel {
            path: path.to_path_buf(),
            map,
            precision,
            slots,
            occupied: vec![0; slots.div_ceil(64)],
        };
        for s in 0..slots {
            let (time, head) = wheel.raw(s);
            if head > 0 && time >= gathered_until {
                wheel.set_bit(s, true);
            }
        }
        Ok(wheel)
    }

    /// Slot width in ms.
    pub(crate) fn precision(&self) -> i64 {
        self.precision
    }

    /// Time covered by one lap, in ms.
    pub(crate) fn span(&self) -> i64 {
        self.precision.saturating_mul(self.slots as i64)
    }

    /// Start of the slot holding `due`.
    pub(crate) fn slot_start(&self, due: i64) -> i64 {
        due - due.rem_euclid(self.precision)
    }

    fn index(&self, slot_start: i64) -> usize {
        (slot_start.div_euclid(self.precision)).rem_euclid(self.slots as i64) as usize
    }

    fn raw(&self, s: usize) -> (i64, i64) {
        let p = HEADER + s * SLOT;
        (i64_at(&self.map, p), i64_at(&self.map, p + 8))
    }

    fn set_bit(&mut self, s: usize, on: bool) {
        let (w, b) = (s / 64, s % 64);
        if on {
            self.occupied[w] |= 1 << b;
        } else {
            self.occupied[w] &= !(1 << b);
        }
    }

    /// The newest timer queue offset linked into the slot starting at `slot_start`.
    pub(crate) fn head(&self, slot_start: i64) -> Option<i64> {
        let (time, head) = self.raw(self.index(slot_start));
        (time == slot_start && head > 0).then_some(head - 1)
    }

    /// The slot start time the slot of `slot_start` currently stands for (0 if never used).
    pub(crate) fn occupant(&self, slot_start: i64) -> i64 {
        self.raw(self.index(slot_start)).0
    }

    /// Makes `index` the newest entry of the slot starting at `slot_start` (a slot of an
    /// earlier lap is taken over) and marks it occupied.
    pub(crate) fn set_head(&mut self, slot_start: i64, index: i64) {
        let s = self.index(slot_start);
        let p = HEADER + s * SLOT;
        put_i64(&mut self.map, p, slot_start);
        put_i64(&mut self.map, p + 8, index + 1);
        self.set_bit(s, true);
    }

    /// Marks the slot starting at `slot_start` gathered (its content stays for recovery).
    pub(crate) fn gathered(&mut self, slot_start: i64) {
        let s = self.index(slot_start);
        self.set_bit(s, false);
    }

    /// Start of the first occupied slot at or after `from` (a slot start) within one lap.
    pub(crate) fn next_occupied(&self, from: i64) -> Option<i64> {
        let start = self.index(from);
        // Walk the bitmap once around, from `start`, a word (or the rest of one) at a time.
        let mut offset = 0usize;
        while offset < self.slots {
            let s = (start + offset) % self.slots;
            let (w, b) = (s / 64, s % 64);
            let bits = self.occupied[w] >> b;
            if bits != 0 {
                // Bits past the last slot are never set.
                let found = offset + bits.trailing_zeros() as usize;
                return (found < self.slots).then(|| from + found as i64 * self.precision);
            }
            offset += (64 - b).min(self.slots - s);
        }
        None
    }

    /// msyncs the wheel.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.map
            .flush()
            .map_err(StoreError::io("msync", &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_heads_laps_and_the_bitmap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timerwheel");
        let mut w = TimerWheel::open(&path, 1000, 100, 0).unwrap();
        assert_eq!(w.slot_start(12_345), 12_000);
        assert_eq!(w.span(), 100_000);
        assert_eq!(w.head(12_000), None);
        assert_eq!(w.next_occupied(0), None);
        w.set_head(12_000, 0);
        w.set_head(12_000, 7);
        w.set_head(99_000, 3);
        assert_eq!(w.head(12_000), Some(7));
        assert_eq!(w.head(112_000), None, "another lap of the same slot");
        assert_eq!(w.next_occupied(5_000), Some(12_000));
        assert_eq!(w.next_occupied(13_000), Some(99_000));
        assert_eq!(w.next_occupied(100_000), Some(112_000), "wraps around");
        w.gathered(12_000);
        assert_eq!(w.next_occupied(5_000), Some(99_000));
        assert_eq!(w.head(12_000), Some(7), "gathered slots keep their chain");
        w.flush().unwrap();
        drop(w);
        // Reopened with another precision: the file's wins; gathered slots stay unmarked.
        let w = TimerWheel::open(&path, 10, 5, 50_000).unwrap();
        assert_eq!(w.precision(), 1000);
        assert_eq!(w.next_occupied(50_000), Some(99_000));
        assert_eq!(w.head(99_000), Some(3));
        std::fs::write(&path, b"garbage").unwrap();
        assert!(TimerWheel::open(&path, 1000, 100, 0).is_err());
    }
}
