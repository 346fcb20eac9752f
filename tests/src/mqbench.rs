//! Running the real `mqbench` binary against a test cluster: [`mqbench`] captures its stdout
//! and stderr in temp files, kills it if it has not exited within [`BENCH_TIMEOUT`], requires
//! exit 0 and parses the `--json` summary it printed on stdout. It blocks: call it from
//! `spawn_blocking` in async tests.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::NamedTempFile;

use crate::poll::poll_blocking;
use crate::process::bin_path;

/// Longest a single mqbench run may take.
pub const BENCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `mqbench <args>` (which must include `--json`) with the extra environment `env` and
/// returns its JSON summary.
///
/// # Panics
/// When mqbench cannot start, runs longer than [`BENCH_TIMEOUT`], exits non-zero or prints
/// no JSON summary; the message holds its stdout and stderr.
pub fn mqbench(args: &[String], env: &[(&str, &str)]) -> Value {
    let out = NamedTempFile::new().expect("stdout file");
    let err = NamedTempFile::new().expect("stderr file");
    let mut child = Command::new(bin_path("mqbench"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen stdout"))
        .stderr(err.reopen().expect("reopen stderr"))
        .spawn()
        .expect("start mqbench");
    let status = poll_blocking(BENCH_TIMEOUT, || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = std::fs::read_to_string(out.path()).unwrap_or_default();
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "mqbench {args:?} ended with {status:?}\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
