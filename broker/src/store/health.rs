//! [`StoreHealth`]: whether the store accepts appends. A failed msync, file creation or
//! fallocate poisons the store for good (its on-disk state is no longer known to match
//! memory); a disk above `diskSpaceWarningLevelRatio` refuses appends until space is freed;
//! shutdown refuses them too. Reads keep working in every case.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

#[derive(Debug, Default)]
pub(crate) struct StoreHealth {
    poisoned: OnceLock<String>,
    disk_full: AtomicBool,
    disk_ratio_bits: AtomicU64,
    shut_down: AtomicBool,
}

impl StoreHealth {
    /// Why appends are refused, or `None` when they are accepted.
    pub(crate) fn refusal(&self) -> Option<String> {
        if let Some(why) = self.poisoned.get() {
            return Some(format!("store poisoned after an I/O error: {why}"));
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
