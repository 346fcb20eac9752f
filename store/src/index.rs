//! [`IndexService`]: the IndexFiles of `index/`, oldest first. The dispatcher adds
//! `topic#key` for every KEYS token and the UNIQ_KEY of each record; a new file (named by the
//! local creation time, `yyyyMMddHHmmssSSS`) starts when the newest is full. Queries walk the
//! files newest first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::error::StoreError;
use super::index_file::IndexFile;

#[derive(Debug)]
pub(crate) struct IndexService {
    dir: PathBuf,
    slots: usize,
    max_index: usize,
    files: RwLock<Vec<Arc<IndexFile>>>,
}

/// Local time as IndexFile names spell it.
fn name_for(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y%m%d%H%M%S%3f").to_string(),
        None => fennec_protocol::time::compact_utc(ms),
    }
}

impl IndexService {
    pub(crate) fn load(dir: &Path, slots: usize, max_index: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::io("create directory", dir))?;
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).map_err(StoreError::io("list", dir))? {
            let e = e.map_err(StoreError::io("list", dir))?;
            match e.file_name().to_str() {
                Some(n) if n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()) => {
                    names.push(n.to_string())
                }
                _ => tracing::warn!(path = %e.path().display(), "ignoring unknown index file"),
            }
        }
        names.sort();
        let mut files = Vec::new();
        for n in names {
            files.push(Arc::new(IndexFile::open(&dir.join(n), slots, max_index)?));
        }
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slots,
            max_index,
            files: RwLock::new(files),
        })
    }

    pub(crate) fn files(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().clone()
    }

    /// Indexes one record under every key hash of `hashes` (see `index_file::key_hash`).
    pub(crate) fn put(
        &self,
        hashes: impl Iterator<Item = i32>,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<(), StoreError> {
        for hash in hashes {
            let mut file = self.writable()?;
            if !file.put(hash, phy_offset, store_timestamp)? {
                file = self.roll(&file)?;
                file.put(hash, phy_offset, store_timestamp)?;
            }
        }
        Ok(())
    }

    /// Whether the newest file takes `count` more entries, so that [`put`](Self::put) of
    /// that many needs no file I/O.
    pub(crate) fn has_room(&self, count: usize) -> bool {
        count == 0 || self.files.read().last().is_some_and(|f| f.room() >= count)
    }

    fn writable(&self) -> Result<Arc<IndexFile>, StoreError> {
        match self.files.read().last() {
            Some(f) if !f.is_full() => return Ok(f.clone()),
            _ => {}
        }
        let last = self.files.read().last().cloned();
        match last {
            Some(f) => self.roll(&f),
            None => self.create(),
        }
    }

    fn roll(&self, full: &Arc<IndexFile>) -> Result<Arc<IndexFile>, StoreError> {
        if let Err(e) = full.flush() {
            tracing::warn!(path = %full.path().display(), error = %e, "cannot flush full index file");
        }
        self.create()
    }

    fn create(&self) -> Result<Arc<IndexFile>, StoreError> {
        let mut ms = fennec_protocol::time::now_millis();
        let mut path = self.dir.join(name_for(ms));
        let last_name = self.files.read().last().map(|f| f.path().to_path_buf());
        // Names must be unique and increase even if the clock does not.
        while path.exists() || last_name.as_ref().is_some_and(|l| path <= *l) {
            ms += 1;
            path = self.dir.join(name_for(ms));
        }
        let f = Arc::new(IndexFile::create(&path, self.slots, self.max_index)?);
        tracing::debug!(path = %path.display(), "created index file");
        self.files.write().push(f.clone());
        Ok(f)
    }

    /// Commit log offsets stored for `key` (`topic#key`) within `[begin, end]`, newest first,
    /// at most `max`, deduplicated. Also returns the newest file's end timestamp and offset.
    pub(crate) fn lookup(
        &self,
        key: &str,
        begin: i64,
        end: i64,
        max: usize,
    ) -> (Vec<i64>, i64, i64) {
        let files = self.files();
        let mut out = Vec::new();
        let (mut last_ts, mut last_phy) = (0, 0);
        if let Some(f) = files.last() {
            let h = f.header();
            (last_ts, last_phy) = (h.end_timestamp, h.end_phy_offset);
        }
        for f in files.iter().rev() {
            if out.len() >= max {
                break;
            }
            let h = f.header();
            if h.index_count <= 1 || h.end_timestamp < begin || h.begin_timestamp > end {
                continue;
            }
            let mut found = Vec::new();
            f.lookup(key, begin, end, max, &mut found);
            for off in found {
                if !out.contains(&off) && out.len() < max {
                    out.push(off);
                }
            }
        }
        (out, last_ts, last_phy)
    }

    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        for f in self.files() {
            f.flush().map_err(StoreError::io("msync", f.path()))?;
        }
        Ok(())
    }

    /// Deletes files whose entries all point below `commit_log_min`, never the newest.
    pub(crate) fn delete_expired(&self, commit_log_min: i64) -> usize {
        let removed: Vec<_> = {
            let mut files = self.files.write();
            let candidates = files.len().saturating_sub(1);
            let n = files[..candidates]
                .iter()
                .take_while(|f| f.header().end_phy_offset < commit_log_min)
                .count();
            files.drain(..n).collect()
        };
        for f in &removed {
            Self::unlink(f);
        }
        removed.len()
    }

    /// Crash recovery: keeps the oldest files whose header is sane and whose entries all
    /// lie below `safe_end`, deletes the rest. Returns (files deleted, the CommitLog offset
    /// of the last record the kept files index, or `None` when no file is left); records
    /// after it must be indexed again.
    pub(crate) fn truncate_unsafe(&self, safe_end: i64) -> (usize, Option<i64>) {
        let mut files = self.files.write();
        let keep = files
            .iter()
            .take_while(|f| f.header_is_sane() && f.header().end_phy_offset < safe_end)
            .count();
        let removed: Vec<_> = files.drain(keep..).collect();
        for f in &removed {
            Self::unlink(f);
        }
        let from = files.last().map(|f| f.header().end_phy_offset);
        (removed.len(), from)
    }

    fn unlink(f: &IndexFile) {
        match std::fs::remove_file(f.path()) {
            Ok(()) => tracing::info!(path = %f.path().display(), "deleted index file"),
            Err(e) => {
                tracing::warn!(path = %f.path().display(), error = %e, "cannot delete index file")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_files_and_queries_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let idx = IndexService::load(dir.path(), 8, 4).unwrap();
        for i in 0..7i64 {
            let key = format!("T#k{}", i % 2);
            idx.put(
                [crate::index_file::key_hash(&key)].into_iter(),
                i * 10,
                1000 + i,
            )
            .unwrap();
        }
        assert_eq!(idx.files().len(), 3, "3 entries per file");
        let (offs, _, last_phy) = idx.lookup("T#k0", 0, i64::MAX, 10);
        assert_eq!(offs, vec![60, 40, 20, 0]);
        assert_eq!(last_phy, 60);
        assert_eq!(idx.lookup("T#k1", 0, i64::MAX, 2).0, vec![50, 30]);
        drop(idx);
        let idx = IndexService::load(dir.path(), 8, 4).unwrap();
        assert_eq!(idx.delete_expired(35), 1);
        assert_eq!(idx.truncate_unsafe(45), (2, None));
        assert!(idx.files().is_empty());
    }
}
