//! [`Browser`]: headless Chromium for the dashboard's real-browser test. Each call is one
//! `chromium --headless` run that loads a page, lets its scripts fetch and render (virtual
//! time budget), and prints the DOM or saves a screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

/// Names Debian and others give the binary; `CHROMIUM` overrides.
const CANDIDATES: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "chrome"];

/// Milliseconds of virtual time a page gets to load, fetch and render.
const BUDGET_MS: u32 = 5000;

/// A headless Chromium with a profile of its own.
pub struct Browser {
    binary: PathBuf,
    profile: TempDir,
}

impl Browser {
    /// The first Chromium found (`CHROMIUM`, then the usual names on `PATH`), or `None`.
    pub fn find() -> Option<Browser> {
        let named = std::env::var_os("CHROMIUM").map(PathBuf::from);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let binary = named.or_else(|| {
            std::env::split_paths(&path)
                .flat_map(|dir| CANDIDATES.iter().map(move |n| dir.join(n)))
                .find(|p| p.is_file())
        })?;
        Some(Browser {
            binary,
            profile: tempfile::tempdir().expect("browser profile dir"),
        })
    }

    fn run(&self, extra: &[&str], url: &str) -> std::process::Output {
        let mut cmd = Command::new(&self.binary);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1200,900",
        ])
        .arg(format!("--user-data-dir={}", self.profile.path().display()))
        .arg(format!("--virtual-time-budget={BUDGET_MS}"))
        .args(extra)
        .arg(url);
        let out = run_with_timeout(cmd, Duration::from_secs(60), &self.binary);
        assert!(
            out.status.success(),
            "{} {url}: {}\n{}",
            self.binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The DOM of `url` once its scripts ran, as HTML.
    pub fn dom(&self, url: &str) -> String {
        String::from_utf8_lossy(&self.run(&["--dump-dom"], url).stdout).into_owned()
    }

    /// Saves a PNG screenshot of `url` at `path`.
    pub fn screenshot(&self, url: &str, path: &Path) {
        let arg = format!("--screenshot={}", path.display());
        self.run(&[&arg], url);
        assert!(path.is_file(), "no screenshot at {}", path.display());
    }
}

/// Runs `cmd`, killing it after `timeout`.
fn run_with_timeout(cmd: Command, timeout: Duration, what: &Path) -> std::process::Output {
    use std::process::Stdio;
    let mut cmd = cmd;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", what.display()));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits in i32"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if rx.recv_timeout(timeout).is_err() {
            // Still running: end it (only this child, by its pid).
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {}: {e}", what.display()));
    let _ = tx.send(());
    out
}
