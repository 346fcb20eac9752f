//! Reloading `plain_acl.yml` when it changes: a small thread (`fennec-acl-watch`; file I/O
//! stays off the tokio workers) compares the file's modification time, size and inode every
//! [`RELOAD_CHECK_INTERVAL`], as RocketMQ's FileWatchService does, and reloads on a change.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Acl;

/// How often the file is looked at (RocketMQ: 500 ms).
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// What identifies one version of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(acl: &Acl) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(acl.path())?;
    Ok(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

/// Starts the thread; it ends when `shutdown` fires.
pub fn spawn_watcher(acl: Arc<Acl>, shutdown: CancellationToken) -> std::io::Result<()> {
    let mut last = stamp(&acl).ok();
    std::thread::Builder::new()
        .name("fennec-acl-watch".into())
        .spawn(move || {
            let mut unreadable_logged = false;
            while !shutdown.is_cancelled() {
                std::thread::sleep(RELOAD_CHECK_INTERVAL);
                let now = match stamp(&acl) {
                    Ok(s) => s,
                    Err(e) => {
                        if !unreadable_logged {
                            warn!(
                                "cannot read {} ({e}); keeping the previous {} ACL accounts",
                                acl.path().display(),
                                acl.accounts()
                            );
                            unreadable_logged = true;
                        }
                        continue;
                    }
                };
                unreadable_logged = false;
                if last.as_ref() == Some(&now) {
                    continue;
                }
                last = Some(now);
                match acl.reload() {
                    Ok(n) => info!("{} reloaded: {n} ACL accounts", acl.path().display()),
                    Err(e) => warn!("{e}; keeping the previous {} ACL accounts", acl.accounts()),
                }
            }
        })
        .map(drop)
}
