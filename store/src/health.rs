//! [`StoreHealth`]: whether the store accepts appends. Reads keep working in every case.
//!
//! * **Poisoned** for good (until restart): a failed msync or fsync (the kernel may have
//!   dropped the dirty pages and reports the error only once, so memory no longer matches
//!   the disk), a file that cannot be created for another reason than space, or an
//!   unreadable record the dispatcher stopped at.
//! * **Out of space** while a file cannot be created or extended because the file system is
//!   full (ENOSPC): the commit log (its next file) and the dispatcher (a consume queue or
//!   index file) each keep their own reason, and each clears it once a retry succeeds.
//! * **Disk full** while usage is above `diskSpaceWarningLevelRatio` (measured by the
//!   cleaner).
//! * **Shut down**.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

/// Which writer ran out of space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpaceUser {
    /// Creating the next commit log file.
    CommitLog = 0,
    /// Creating a consume queue or index file while dispatching.
    Dispatch = 1,
}

#[derive(Debug, Default)]
pub(crate) struct StoreHealth {
    poisoned: OnceLock<String>,
    /// Bit `SpaceUser as u8` is set while that writer is out of space (read on every put).
    out_of_space: AtomicU8,
    no_space_reasons: Mutex<[Option<String>; 2]>,
    disk_full: AtomicBool,
    disk_ratio_bits: AtomicU64,
    shut_down: AtomicBool,
}

impl StoreHealth {
    /// Why appends are refused, or `None` when they are accepted.
    pub(crate) fn refusal(&self) -> Option<String> {
        if let Some(why) = self.poisoned.get() {
            return Some(format!(
                "store poisoned (appends refused until restart): {why}"
            ));
        }
        if let Some(why) = self.out_of_space() {
            return Some(why);
        }
        if self.disk_full.load(Ordering::Relaxed) {
            return Some(format!(
                "disk full: {:.1}% used, over diskSpaceWarningLevelRatio",
                self.disk_ratio()
            ));
        }
        if self.shut_down.load(Ordering::Relaxed) {
            return Some("store is shut down".to_string());
        }
        None
    }

    /// Refuses appends from now on; the first reason is kept.
    pub(crate) fn poison(&self, why: String) {
        if self.poisoned.set(why.clone()).is_ok() {
            tracing::error!(reason = %why, "store poisoned: appends refused until restart");
        }
    }

    pub(crate) fn poisoned(&self) -> Option<&str> {
        self.poisoned.get().map(String::as_str)
    }

    /// Refuses appends because `user` cannot get disk space; `why` names the file.
    pub(crate) fn set_no_space(&self, user: SpaceUser, why: String) {
        let mut reasons = self.no_space_reasons.lock();
        let slot = &mut reasons[user as usize];
        if slot.is_none() {
            tracing::error!(?user, reason = %why, "disk full: appends refused until space is freed");
        }
        *slot = Some(why);
        self.out_of_space
            .fetch_or(1 << user as u8, Ordering::Release);
    }

    /// `user` got the space it needed.
    pub(crate) fn clear_no_space(&self, user: SpaceUser) {
        if self.out_of_space.load(Ordering::Acquire) & (1 << user as u8) == 0 {
            return;
        }
        let mut reasons = self.no_space_reasons.lock();
        if reasons[user as usize].take().is_some() {
            tracing::info!(?user, "disk space available again");
        }
        self.out_of_space
            .fetch_and(!(1 << user as u8), Ordering::Release);
    }

    /// The first out-of-space reason, if any writer is out of space.
    pub(crate) fn out_of_space(&self) -> Option<String> {
        if self.out_of_space.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.no_space_reasons
            .lock()
            .iter()
            .flatten()
            .next()
            .cloned()
    }

    pub(crate) fn set_disk(&self, ratio_percent: f64, full: bool) {
        self.disk_ratio_bits
            .store(ratio_percent.to_bits(), Ordering::Relaxed);
        if self.disk_full.swap(full, Ordering::Relaxed) != full {
            if full {
                tracing::error!(ratio_percent, "disk full: appends refused");
            } else {
                tracing::info!(
                    ratio_percent,
                    "disk usage back under the limit: appends accepted"
                );
            }
        }
    }

    pub(crate) fn disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Relaxed)
    }

    /// Last measured disk usage of the commit log partition, in percent.
    pub(crate) fn disk_ratio(&self) -> f64 {
        f64::from_bits(self.disk_ratio_bits.load(Ordering::Relaxed))
    }

    pub(crate) fn set_shut_down(&self) {
        self.shut_down.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_space_is_per_writer_and_clears() {
        let h = StoreHealth::default();
        assert_eq!(h.refusal(), None);
        h.set_no_space(SpaceUser::Dispatch, "disk full: cq".into());
        h.set_no_space(SpaceUser::CommitLog, "disk full: log".into());
        assert_eq!(h.refusal().as_deref(), Some("disk full: log"));
        h.clear_no_space(SpaceUser::CommitLog);
        assert_eq!(h.refusal().as_deref(), Some("disk full: cq"));
        h.clear_no_space(SpaceUser::Dispatch);
        assert_eq!(h.refusal(), None);
        h.poison("msync failed".into());
        h.set_no_space(SpaceUser::Dispatch, "disk full: cq".into());
        assert!(h.refusal().is_some_and(|r| r.contains("poisoned")));
    }
}
