//! Runs inputs through a fuzz target without AFL and reports the slowest:
//!
//! ```text
//! fuzz-replay TARGET PATH...     (files, or directories of files)
//! ```
//!
//! Each input runs three times and counts the least CPU time its thread used, so a busy
//! machine does not make a quick input look slow; AFL's own timeouts are wall-clock and
//! cannot tell the two apart.
//! Prints `inputs N slowest_us T over_limit K worst PATH` and exits 1 if an input panics or
//! takes more than `FUZZ_LIMIT_MS` (default 10) milliseconds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

use fennec_fuzz::{Target, TARGETS};

fn files(path: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            let mut v: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            v
        }
        Err(_) if path.is_file() => vec![path.to_path_buf()],
        Err(_) => Vec::new(),
    }
}

/// CPU time this thread has used.
fn cpu_time() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// The least CPU time of three runs, or `None` if the target panics.
fn time(target: &Target, data: &[u8]) -> Option<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = cpu_time();
        std::panic::catch_unwind(|| (target.run)(data)).ok()?;
        best = best.min(cpu_time().saturating_sub(started));
    }
    Some(best)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let Some(target) = TARGETS.iter().find(|t| t.name == name) else {
        eprintln!(
            "usage: fuzz-replay TARGET PATH...; targets: {:?}",
            TARGETS.iter().map(|t| t.name).collect::<Vec<_>>()
        );
        return ExitCode::from(2);
    };
    let limit_ms = std::env::var("FUZZ_LIMIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let limit = Duration::from_millis(limit_ms);
    let (mut count, mut over, mut panics) = (0usize, 0usize, 0usize);
    let mut worst = (Duration::ZERO, PathBuf::new());
    for path in args.flat_map(|a| files(Path::new(&a))) {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        count += 1;
        match time(target, &data) {
            None => {
                eprintln!("PANIC: {name} on {}", path.display());
                panics += 1;
            }
            Some(took) => {
                if took > limit {
                    eprintln!("SLOW: {name} takes {took:?} on {}", path.display());
                    over += 1;
                }
                if took > worst.0 {
                    worst = (took, path);
                }
            }
        }
    }
    println!(
        "inputs {count} slowest_us {} over_limit {over} panics {panics} worst {}",
        worst.0.as_micros(),
        worst.1.display()
    );
    if over + panics > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
