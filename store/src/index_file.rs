//! [`IndexFile`]: one hash index file of message keys, RocketMQ's layout, in `index/`, named
//! by its creation time (local time, `yyyyMMddHHmmssSSS`):
//! ```text
//! header (40 bytes)  i64 beginTimestamp @0 | i64 endTimestamp @8 | i64 beginPhyOffset @16
//!                    i64 endPhyOffset @24 | i32 hashSlotCount @32 | i32 indexCount @36
//! slots              maxHashSlotNum x i32: newest entry index of the slot (0 = empty)
//! entries            maxIndexNum x 20 bytes at 40 + slots*4 + 20*i:
//!                    i32 keyHash | i64 phyOffset | i32 timeDiff (s) | i32 prevIndex
//! ```
//! keyHash = |java_hash(key)| (MIN -> 0), slot = keyHash % slots, indexCount starts at 1 so
//! entry 0 is never used. Slots are rewritten in place, so the map is a `MmapMut` behind a
//! lock (no unsafe here).
//!
//! A new file (420 MB by default) is sparse: only the header and slots, written anywhere, have
//! their blocks reserved at creation; entries, written in order, get theirs reserved 1 MiB
//! at a time as they fill up (`fallocate`, no data written), so the file takes disk in
//! proportion to its entries. Reserving before writing keeps a full disk an ENOSPC error,
//! which the dispatcher retries, instead of a SIGBUS on a write into a hole.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fennec_protocol::hash::{java_hash, java_hash_parts};
use memmap2::MmapMut;
use parking_lot::RwLock;

use super::error::StoreError;
use super::mapped_file::{create_reserved, map_mut, reserve_blocks, RESERVE_CHUNK};

pub(crate) const HEADER_SIZE: usize = 40;
const ENTRY_SIZE: usize = 20;

/// The header fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

fn i32_at(b: &[u8], p: usize) -> i32 {
    i32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
}

/// The big-endian i64 at `p` (shared by the store's other in-place files).
pub(crate) fn i64_at(b: &[u8], p: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[p..p + 8]);
    i64::from_be_bytes(a)
}

fn put_i32(b: &mut [u8], p: usize, v: i32) {
    b[p..p + 4].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` big-endian at `p`.
pub(crate) fn put_i64(b: &mut [u8], p: usize, v: i64) {
    b[p..p + 8].copy_from_slice(&v.to_be_bytes());
}

/// The index key hash of `key`: |java hash|, with `i32::MIN` mapped to 0.
pub(crate) fn key_hash(key: &str) -> i32 {
    slot_hash(java_hash(key))
}

/// The index key hash of `topic#key`, computed without building the string.
pub(crate) fn topic_key_hash(topic: &str, key: &str) -> i32 {
    slot_hash(java_hash_parts(&[topic, "#", key]))
}

fn slot_hash(h: i32) -> i32 {
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    slots: usize,
    max_index: usize,
    map: RwLock<MmapMut>,
    /// End of the prefix whose blocks are reserved; changed only under the map's write lock.
    reserved: AtomicUsize,
    file: File,
}

impl IndexFile {
    fn size(slots: usize, max_index: usize) -> usize {
        HEADER_SIZE + slots * 4 + max_index * ENTRY_SIZE
    }

    pub(crate) fn create(path: &Path, slots: usize, max_index: usize) -> Result<Self, StoreError> {
        let size = Self::size(slots, max_index);
        let reserved = (HEADER_SIZE + slots * 4 + RESERVE_CHUNK).min(size);
        let file = create_reserved(path, size, reserved)?;
        let mut map = map_mut(&file, path)?;
        put_i32(&mut map, 36, 1);
        Ok(IndexFile {
            path: path.to_path_buf(),
            slots,
            max_index,
            map: RwLock::new(map),
            reserved: AtomicUsize::new(reserved),
            file,
        })
    }

    pub(crate) fn open(path: &Path, slots: usize, max_index: usize) -> Result<Self, StoreError> {
        let expected = Self::size(slots, max_index) as u64;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(StoreError::io("open", path))?;
        let len = file.metadata().map_err(StoreError::io("stat", path))?.len();
        if len != expected {
            return Err(StoreError::BadFile {
                path: path.to_path_buf(),
                reason: format!(
                    "index file is {len} bytes; maxHashSlotNum/maxIndexNum imply {expected}"
                ),
            });
        }
        let map = map_mut(&file, path)?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            slots,
            max_index,
            map: RwLock::new(map),
            // Unknown: the first put reserves everything up to its entry (a no-op where blocks
            // exist).
            reserved: AtomicUsize::new(0),
            file,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn header(&self) -> IndexHeader {
        let m = self.map.read();
        IndexHeader {
            begin_timestamp: i64_at(&m, 0),
            end_timestamp: i64_at(&m, 8),
            begin_phy_offset: i64_at(&m, 16),
            end_phy_offset: i64_at(&m, 24),
            hash_slot_count: i32_at(&m, 32),
            index_count: i32_at(&m, 36),
        }
    }

    /// Whether the header is plausible (a torn or foreign file is not).
    pub(crate) fn header_is_sane(&self) -> bool {
        let h = self.header();
        h.index_count >= 1
            && h.index_count as usize <= self.max_index
            && h.begin_phy_offset <= h.end_phy_offset
            && h.begin_timestamp <= h.end_timestamp
    }

    pub(crate) fn is_full(&self) -> bool {
        self.header().index_count as usize >= self.max_index
    }

    /// How many more entries [`put`](Self::put) accepts without reserving blocks (no file
    /// I/O; 0 after a reopen, until a put has reserved).
    pub(crate) fn room(&self) -> usize {
        let count = i32_at(&self.map.read(), 36).max(1) as usize;
        let entries_start = HEADER_SIZE + self.slots * 4;
        let reserved = self.reserved.load(Ordering::Relaxed);
        let reserved_entries = reserved.saturating_sub(entries_start) / ENTRY_SIZE;
        self.max_index.min(reserved_entries).saturating_sub(count)
    }

    /// Adds an entry for a key whose [`key_hash`] is `hash`, for the record at `phy_offset`
    /// stored at `store_timestamp`; false when the file is full. An error (ENOSPC) when the
    /// entry's blocks cannot be reserved; nothing is written then.
    pub(crate) fn put(
        &self,
        hash: i32,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<bool, StoreError> {
        let mut m = self.map.write();
        let count = i32_at(&m, 36).max(1);
        if count as usize >= self.max_index {
            return Ok(false);
        }
        let entry = HEADER_SIZE + self.slots * 4 + count as usize * ENTRY_SIZE;
        let reserved = self.reserved.load(Ordering::Relaxed);
        if entry + ENTRY_SIZE > reserved {
            let to = (entry + ENTRY_SIZE)
                .next_multiple_of(RESERVE_CHUNK)
                .min(m.len());
            reserve_blocks(&self.file, &self.path, reserved, to)?;
            self.reserved.store(to, Ordering::Relaxed);
        }
        let slot_pos = HEADER_SIZE + (hash as usize % self.slots) * 4;
        let mut prev = i32_at(&m, slot_pos);
        if prev <= 0 || prev >= count {
            prev = 0;
        }
        let first = count == 1;
        let begin_ts = if first {
            store_timestamp
        } else {
            i64_at(&m, 0)
        };
        let diff = ((store_timestamp - begin_ts) / 1000).clamp(0, i64::from(i32::MAX)) as i32;
        put_i32(&mut m, entry, hash);
        put_i64(&mut m, entry + 4, phy_offset);
        put_i32(&mut m, entry + 12, diff);
        put_i32(&mut m, entry + 16, prev);
        put_i32(&mut m, slot_pos, count);
        if first {
            put_i64(&mut m, 0, store_timestamp);
            put_i64(&mut m, 16, phy_offset);
        }
        if prev == 0 {
            let slots_used = i32_at(&m, 32);
            put_i32(&mut m, 32, slots_used + 1);
        }
        put_i64(&mut m, 8, store_timestamp);
        put_i64(&mut m, 24, phy_offset);
        put_i32(&mut m, 36, count + 1);
        Ok(true)
    }

    /// Commit log offsets of entries for `key` stored in `[begin, end]` (ms), newest first,
    /// appended to `out` until it holds `max` offsets.
    pub(crate) fn lookup(&self, key: &str, begin: i64, end: i64, max: usize, out: &mut Vec<i64>) {
        let m = self.map.read();
        // A damaged header must not send the walk outside the file.
        let count = i32_at(&m, 36).min(self.max_index as i32);
        let begin_ts = i64_at(&m, 0);
        let hash = key_hash(key);
        let mut idx = i32_at(&m, HEADER_SIZE + (hash as usize % self.slots) * 4);
        let mut steps = 0;
        while idx > 0 && idx < count && out.len() < max && steps < self.max_index {
            steps += 1;
            let entry = HEADER_SIZE + self.slots * 4 + idx as usize * ENTRY_SIZE;
            let ts = begin_ts + i64::from(i32_at(&m, entry + 12)) * 1000;
            if i32_at(&m, entry) == hash && ts >= begin - 999 && ts <= end {
                out.push(i64_at(&m, entry + 4));
            }
            let prev = i32_at(&m, entry + 16);
            // Chains only point backwards; anything else is damage.
            if prev >= idx {
                break;
            }
            idx = prev;
        }
    }

    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.map.read().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_entry_layout() {
        // Reference §15.2: key T#C0A8000A1F9012345678000000640001 with the full-size slot count.
        let key = "T#C0A8000A1F9012345678000000640001";
        assert_eq!(key_hash(key), 786_444_077);
        assert_eq!(key_hash(key) as usize % 5_000_000, 1_444_077);
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::create(&dir.path().join("i"), 5_000_000, 4).unwrap();
        assert!(f.put(key_hash(key), 0, 1_700_000_000_123).unwrap());
        let m = f.map.read();
        assert_eq!(i32_at(&m, 5_776_348), 1);
        assert_eq!(
            &m[20_000_060..20_000_080],
            &[0x2e, 0xe0, 0x2f, 0x2d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn put_lookup_full_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20240101000000000");
        let f = IndexFile::create(&path, 4, 6).unwrap();
        assert_eq!(f.header().index_count, 1);
        for (i, k) in ["a", "b", "a", "c", "a"].iter().enumerate() {
            assert!(f
                .put(
                    topic_key_hash("T", k),
                    i as i64 * 100,
                    10_000 + i as i64 * 1000
                )
                .unwrap());
        }
        assert!(f.is_full());
        assert!(!f.put(key_hash("T#z"), 1, 1).unwrap());
        let mut out = Vec::new();
        f.lookup("T#a", 0, i64::MAX, 10, &mut out);
        assert_eq!(out, vec![400, 200, 0], "newest first");
        out.clear();
        f.lookup("T#a", 11_000, 13_000, 10, &mut out);
        assert_eq!(out, vec![200]);
        let h = f.header();
        assert_eq!(
            (h.begin_phy_offset, h.end_phy_offset, h.index_count),
            (0, 400, 6)
        );
        assert!(f.header_is_sane());
        f.flush().unwrap();
        drop(f);
        let g = IndexFile::open(&path, 4, 6).unwrap();
        assert_eq!(g.header(), h);
        assert!(IndexFile::open(&path, 8, 6).is_err());
    }
}
