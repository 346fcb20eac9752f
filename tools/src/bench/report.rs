//! Live report lines (one per second) and the final summary of a benchmark run.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::histogram::{Histogram, Snapshot};

/// What the workers record: successes (messages), failures and latencies.
#[derive(Default)]
pub struct Meter {
    ok: AtomicU64,
    failed: AtomicU64,
    latency: Histogram,
}

impl Meter {
    /// Counts `messages` delivered or acknowledged with one latency sample.
    pub fn success(&self, messages: u64, latency: Duration) {
        self.ok.fetch_add(messages, Ordering::Relaxed);
        self.latency.record(latency.as_micros() as u64);
    }

    pub fn failure(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages counted so far.
    pub fn messages(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }
}

/// Final figures of a run; `--json` prints this.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub messages: u64,
    pub failures: u64,
    pub seconds: f64,
    /// Messages per second.
    pub tps: f64,
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Header form of the requests (`json` or `binary`), for producer runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<&'static str>,
    /// What the baseline was (`echo-baseline`, or `plain-sync-baseline` for `--tx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Baseline throughput measured in the same run, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_tps: Option<f64>,
    /// p99 latency of that baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_p99_ms: Option<f64>,
    /// `tps / baseline_tps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
}

impl Summary {
    fn new(
        scenario: &str,
        messages: u64,
        failures: u64,
        elapsed: Duration,
        lat: &Snapshot,
    ) -> Summary {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            scenario: scenario.to_string(),
            messages,
            failures,
            seconds,
            tps: messages as f64 / seconds,
            avg_ms: lat.mean_us() / 1000.0,
            p50_ms: ms(lat.quantile_us(0.50)),
            p99_ms: ms(lat.quantile_us(0.99)),
            p999_ms: ms(lat.quantile_us(0.999)),
            max_ms: ms(lat.max_us()),
            header: None,
            baseline: None,
            baseline_tps: None,
            baseline_p99_ms: None,
            ratio: None,
        }
    }

    /// Records the baseline this run is compared with.
    pub fn with_baseline(mut self, baseline: &Summary) -> Summary {
        self.baseline = Some(baseline.scenario.clone());
        self.baseline_tps = Some(baseline.tps);
        self.baseline_p99_ms = Some(baseline.p99_ms);
        self.ratio = (baseline.tps > 0.0).then(|| self.tps / baseline.tps);
        self
    }

    /// The human summary line.
    pub fn line(&self) -> String {
        let mut s = format!(
            "[{}] {} messages in {:.1} s: {:.0} msg/s, avg {:.3} ms, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms, failures {}",
            self.scenario, self.messages, self.seconds, self.tps, self.avg_ms, self.p50_ms, self.p99_ms, self.p999_ms, self.max_ms, self.failures
        );
        if let (Some(b), Some(r)) = (self.baseline_tps, self.ratio) {
            let name = self.baseline.as_deref().unwrap_or("baseline");
            s.push_str(&format!(" | {name} {b:.0} msg/s, ratio {:.1} %", r * 100.0));
        }
        s
    }
}

/// Where the per-second lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Stdout,
    /// Keeps stdout for the JSON summary.
    Stderr,
    Off,
}

/// Prints one line per second until `stop` fires, then returns the run's summary. `what`
/// names the measured quantity ("send" or "e2e").
pub async fn report(
    meter: &Meter,
    scenario: &str,
    what: &str,
    live: Live,
    stop: CancellationToken,
) -> Summary {
    let start = Instant::now();
    let mut total = Snapshot::default();
    let mut last_ok = 0;
    let mut last_failed = 0;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut second = 0;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.cancelled() => true,
        };
        let snap = meter.latency.drain();
        total.merge(&snap);
        let ok = meter.ok.load(Ordering::Relaxed);
        let failed = meter.failed.load(Ordering::Relaxed);
        if !stopping {
            second += 1;
            if live != Live::Off {
                let line = format!(
                    "[{second:>4}s] {what} TPS: {:>8}  avg: {:>7.3} ms  p50: {:>7.3} ms  p99: {:>7.3} ms  max: {:>8.3} ms  failures: {}",
                    ok - last_ok,
                    snap.mean_us() / 1000.0,
                    snap.quantile_us(0.5) as f64 / 1000.0,
                    snap.quantile_us(0.99) as f64 / 1000.0,
                    snap.max_us() as f64 / 1000.0,
                    failed - last_failed
                );
                if live == Live::Stdout {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                } else {
                    eprintln!("{line}");
                }
            }
            last_ok = ok;
            last_failed = failed;
        } else {
            return Summary::new(scenario, ok, failed, start.elapsed(), &total);
        }
    }
}
