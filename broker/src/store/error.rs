//! [`StoreError`]: why the store could not open, load or change its files. Every I/O failure
//! keeps its cause together with the path it concerns.

use std::io;
use std::path::{Path, PathBuf};

/// An error of the message store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system call failed.
    #[error("{op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another store (in this or another process) holds the `lock` file.
    #[error("store directory {} is in use by another broker (lock file held)", path.display())]
    Locked {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A store file does not have the size or name the configuration implies.
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    /// The configuration cannot work.
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// A closure turning an `io::Error` of `op` on `path` into a [`StoreError::Io`].
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { op, path, source }
    }
}
