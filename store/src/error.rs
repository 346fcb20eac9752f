//! [`StoreError`]: why the store could not open, load or change its files. Every I/O failure
//! keeps its cause together with the path it concerns.

use std::io;
use std::path::{Path, PathBuf};

/// The errno values [`StoreError::is_no_space`] recognizes.
mod libc_errno {
    pub const ENOSPC: i32 = nix::errno::Errno::ENOSPC as i32;
    pub const EDQUOT: i32 = nix::errno::Errno::EDQUOT as i32;
}

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
    /// The store refuses to record progress after an earlier I/O failure.
    #[error("store poisoned: {0}")]
    Poisoned(String),
    /// The configuration cannot work.
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// Whether the file system is out of space (ENOSPC) or quota (EDQUOT): a condition that
    /// clears when space is freed, unlike other I/O failures.
    pub fn is_no_space(&self) -> bool {
        let errno = match self {
            StoreError::Io { source, .. } | StoreError::Locked { source, .. } => {
                source.raw_os_error()
            }
            _ => None,
        };
        errno.is_some_and(|e| e == libc_errno::ENOSPC || e == libc_errno::EDQUOT)
    }

    /// The error with its cause, on one line (`Display` alone omits the OS error).
    pub fn with_cause(&self) -> String {
        match std::error::Error::source(self) {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }

    /// A closure turning an `io::Error` of `op` on `path` into a [`StoreError::Io`].
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { op, path, source }
    }
}
