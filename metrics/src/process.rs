//! [`ProcessCollector`]: the standard process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
//! `process_start_time_seconds`), read at scrape time: CPU time from `getrusage`, memory from
//! `/proc/self/status`, descriptors from `/proc/self/fd`. A value the kernel does not give
//! (another OS, a failed read) is left out rather than reported as zero.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use crate::encode::{counter_f64, gauge, Encoded};

/// Process metrics of the current process.
#[derive(Debug)]
pub struct ProcessCollector {
    start_time: f64,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessCollector {
    /// Call at start-up: the time now is reported as the process start time.
    pub fn new() -> Self {
        let start_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        ProcessCollector { start_time }
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Encoded {
        if let Some(cpu) = cpu_seconds() {
            counter_f64(
                &mut e,
                "process_cpu",
                "Total user and system CPU time spent in seconds.",
                Some(Unit::Seconds),
                cpu,
            )?;
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(rss) = status_kib(&status, "VmRSS:") {
            gauge(
                &mut e,
                "process_resident_memory",
                "Resident memory size in bytes.",
                Some(Unit::Bytes),
                rss * 1024,
            )?;
        }
        if let Some(vm) = status_kib(&status, "VmSize:") {
            gauge(
                &mut e,
                "process_virtual_memory",
                "Virtual memory size in bytes.",
                Some(Unit::Bytes),
                vm * 1024,
            )?;
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            gauge(
                &mut e,
                "process_open_fds",
                "Number of open file descriptors.",
                None,
                fds.count() as u64,
            )?;
        }
        gauge(
            &mut e,
            "process_start_time",
            "Start time of the process since unix epoch in seconds.",
            Some(Unit::Seconds),
            self.start_time,
        )
    }
}

/// User plus system CPU time of this process.
fn cpu_seconds() -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(secs(usage.user_time()) + secs(usage.system_time()))
}

/// The kB figure of a `/proc/self/status` line such as `VmRSS:   1234 kB`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    #[test]
    fn reports_this_process() {
        assert_eq!(
            status_kib("Name: x\nVmRSS:\t  2048 kB\n", "VmRSS:"),
            Some(2048)
        );
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new()));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
        assert!(text.contains("process_open_fds "), "{text}");
    }
}
