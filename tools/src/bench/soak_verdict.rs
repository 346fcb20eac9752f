//! What `mqbench soak` measures of the broker process and how it judges a run: samples of
//! `/proc/<pid>` (resident memory, open file descriptors) and the verdict that they stay
//! flat.
//!
//! The criterion: the samples are cut in thirds; the first is warm-up. A series is flat when
//! the mean of the last third is at most the mean of the middle third plus a tolerance
//! (anonymous memory: 10 % + 8 MiB; sockets: 2 % + 5). Anonymous memory (heap), not VmRSS,
//! is judged because VmRSS also counts the page cache of the memory-mapped store, which grows
//! with the commit log by design; sockets, not all descriptors, because store files add
//! descriptors as the log rolls. Both totals are still printed.

use std::path::PathBuf;

/// One look at the broker process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// VmRSS, KiB.
    pub rss_kib: u64,
    /// RssAnon, KiB.
    pub anon_kib: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Of which sockets.
    pub sockets: u64,
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/fd`.
pub fn sample(pid: u32) -> std::io::Result<ProcSample> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let status = std::fs::read_to_string(proc_dir.join("status"))?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut s = ProcSample {
        rss_kib: kib("VmRSS:"),
        anon_kib: kib("RssAnon:"),
        ..ProcSample::default()
    };
    for entry in std::fs::read_dir(proc_dir.join("fd"))? {
        // A descriptor closed while we list is simply not counted.
        let Ok(entry) = entry else { continue };
        s.fds += 1;
        if std::fs::read_link(entry.path())
            .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        {
            s.sockets += 1;
        }
    }
    Ok(s)
}

/// Whether a series stays flat after warm-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Trend {
    /// Fewer than 6 samples: no judgement.
    TooShort,
    Flat {
        middle: f64,
        last: f64,
    },
    Growing {
        middle: f64,
        last: f64,
        allowed: f64,
    },
}

impl Trend {
    /// Judges `series` with an allowance of `relative` (fraction) plus `absolute`.
    pub fn of(series: &[u64], relative: f64, absolute: f64) -> Trend {
        if series.len() < 6 {
            return Trend::TooShort;
        }
        let third = series.len() / 3;
        let mean = |s: &[u64]| s.iter().map(|&v| v as f64).sum::<f64>() / s.len() as f64;
        let middle = mean(&series[third..2 * third]);
        let last = mean(&series[series.len() - third..]);
        let allowed = middle * (1.0 + relative) + absolute;
        if last <= allowed {
            Trend::Flat { middle, last }
        } else {
            Trend::Growing {
                middle,
                last,
                allowed,
            }
        }
    }

    pub fn is_growing(&self) -> bool {
        matches!(self, Trend::Growing { .. })
    }

    /// One line for the report; `unit` divides the values (1024 for KiB → MiB).
    pub fn describe(&self, what: &str, unit: f64, suffix: &str) -> String {
        match self {
            Trend::TooShort => format!("{what}: too few samples to judge a trend"),
            Trend::Flat { middle, last } => format!(
                "{what}: flat (middle third {:.1}{suffix}, last third {:.1}{suffix})",
                middle / unit,
                last / unit
            ),
            Trend::Growing {
                middle,
                last,
                allowed,
            } => format!(
                "{what}: GROWING (middle third {:.1}{suffix}, last third {:.1}{suffix}, allowed {:.1}{suffix})",
                middle / unit,
                last / unit,
                allowed / unit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirds_decide() {
        assert_eq!(Trend::of(&[1, 2, 3], 0.1, 0.0), Trend::TooShort);
        // Warm-up growth in the first third is ignored.
        let flat = [10, 50, 100, 100, 101, 100, 102, 101, 100];
        assert!(!Trend::of(&flat, 0.02, 0.0).is_growing());
        let leak = [100, 110, 120, 130, 140, 150, 160, 170, 180];
        assert!(Trend::of(&leak, 0.1, 5.0).is_growing());
        assert!(Trend::of(&leak, 0.1, 5.0)
            .describe("x", 1.0, "")
            .contains("GROWING"));
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kib > 0 && s.fds >= 3, "{s:?}");
    }
}
