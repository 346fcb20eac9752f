//! The `lock` and `abort` files. `lock` is held with an exclusive `flock` for the store's
//! life, so a second store (in this or another process) on the same directory fails at
//! open. `abort` holds the PID, is created at open and deleted on clean shutdown: finding it
//! at open means the previous run crashed.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::error::StoreError;

/// The held `lock` file; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct StoreLock {
    _lock: Flock<File>,
}

impl StoreLock {
    pub(crate) fn acquire(path: &Path) -> Result<StoreLock, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(StoreError::io("open", path))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(StoreLock { _lock: lock }),
            Err((_, errno)) => Err(StoreError::Locked {
                path: path.to_path_buf(),
                source: io::Error::from(errno),
            }),
        }
    }
}

/// The `abort` marker.
#[derive(Debug)]
pub(crate) struct AbortFile {
    path: PathBuf,
}

impl AbortFile {
    /// Whether the marker exists (the last run crashed).
    pub(crate) fn exists(path: &Path) -> bool {
        path.exists()
    }

    /// Creates the marker with this process's PID.
    pub(crate) fn create(path: &Path) -> Result<AbortFile, StoreError> {
        std::fs::write(path, std::process::id().to_string())
            .map_err(StoreError::io("create", path))?;
        if let Some(dir) = path.parent() {
            super::mapped_file::sync_dir(dir)?;
        }
        Ok(AbortFile {
            path: path.to_path_buf(),
        })
    }

    /// Deletes the marker after a clean shutdown.
    pub(crate) fn remove(&self) -> Result<(), StoreError> {
        std::fs::remove_file(&self.path).map_err(StoreError::io("delete", &self.path))?;
        if let Some(dir) = self.path.parent() {
            super::mapped_file::sync_dir(dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = StoreLock::acquire(&path).unwrap();
        assert!(matches!(
            StoreLock::acquire(&path),
            Err(StoreError::Locked { .. })
        ));
        drop(first);
        StoreLock::acquire(&path).unwrap();
    }

    #[test]
    fn abort_marker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abort");
        assert!(!AbortFile::exists(&path));
        let a = AbortFile::create(&path).unwrap();
        assert!(AbortFile::exists(&path));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::process::id().to_string()
        );
        a.remove().unwrap();
        assert!(!AbortFile::exists(&path));
    }
}
