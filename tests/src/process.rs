//! [`ServerProcess`]: one Fennec server binary running as a child process.
//!
//! The binary is looked up next to the test executable (`target/<profile>/<name>`). It must
//! print `LISTENING <ip:port>` on stdout once it serves; the harness waits for that line
//! instead of reserving ports. Its stderr goes to a temp file that is printed when the test
//! fails. Dropping the handle kills the process with SIGKILL (by PID) and reaps it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Seek};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::NamedTempFile;

use crate::poll::poll_blocking;

/// How long a server may take to print its `LISTENING` line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running server binary.
#[derive(Debug)]
pub struct ServerProcess {
    name: String,
    child: Child,
    addr: SocketAddr,
    stderr: NamedTempFile,
    exited: Option<ExitStatus>,
    /// The stdout lines printed before `LISTENING` (e.g. `METRICS_LISTENING <addr>`).
    announced: Vec<String>,
}

/// Path of workspace binary `name` in the cargo target directory this test was built into.
///
/// # Panics
/// When the binary has not been built.
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join(&file))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "binary {file} not found above {}: run `cargo build --workspace --bins` first \
                 (scripts/test.sh does)",
                exe.display()
            )
        })
}

impl ServerProcess {
    /// Starts binary `name` with `args` and waits for its `LISTENING` line.
    ///
    /// # Panics
    /// When the binary is missing, cannot start, exits or stays silent for
    /// [`STARTUP_TIMEOUT`]; the message includes its stderr.
    pub fn start<I, S>(name: &str, args: I) -> ServerProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let stderr = NamedTempFile::new().expect("temp file for stderr");
        let stderr_handle = stderr.reopen().expect("reopen stderr temp file");
        let mut child = Command::new(bin_path(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr_handle)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut before = Vec::new();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send((addr.trim().to_string(), before));
                    break;
                }
                before.push(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let mut process = ServerProcess {
            name: name.to_string(),
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            stderr,
            exited: None,
            announced: Vec::new(),
        };
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok((line, before)) => {
                process.announced = before;
                line
            }
            Err(e) => {
                let status = process.kill();
                panic!(
                    "{name} did not print LISTENING ({e:?}, exit {status:?}); stderr:\n{}",
                    process.stderr_log()
                );
            }
        };
        process.addr = line
            .parse()
            .unwrap_or_else(|e| panic!("{name} printed a bad address {line:?}: {e}"));
        process
    }

    /// The address the server bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value of a `<KEY> <value>` line printed before `LISTENING`, such as
    /// `METRICS_LISTENING 127.0.0.1:8080`.
    pub fn announced(&self, key: &str) -> Option<String> {
        self.announced.iter().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|v| v.trim().to_string())
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr_log(&self) -> String {
        let mut file = match self.stderr.reopen() {
            Ok(f) => f,
            Err(e) => return format!("<cannot read stderr log: {e}>"),
        };
        let mut text = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut text);
        text
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.pid()).expect("pid fits in i32"));
        kill(pid, signal).unwrap_or_else(|e| panic!("cannot signal {}: {e}", self.name));
    }

    /// Sends SIGSTOP and returns once every thread of the server is stopped. `kill` only
    /// wakes one thread to start the group stop; on a loaded machine the others can run on
    /// (and answer a peer) for a while after it returns.
    pub fn freeze(&self) {
        self.signal(Signal::SIGSTOP);
        let tasks = format!("/proc/{}/task", self.pid());
        let all_stopped = || {
            let entries = std::fs::read_dir(&tasks).ok()?;
            for entry in entries {
                let stat = std::fs::read_to_string(entry.ok()?.path().join("stat")).ok()?;
                // The state follows the command name, which is in parentheses.
                let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
                if state != "T" && state != "t" {
                    return None;
                }
            }
            Some(())
        };
        poll_blocking(Duration::from_secs(10), all_stopped)
            .unwrap_or_else(|| panic!("{} did not stop within 10 s of SIGSTOP", self.name));
    }

    /// Waits up to `timeout` for the server to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exited.is_none() {
            let child = &mut self.child;
            self.exited = poll_blocking(timeout, || child.try_wait().ok().flatten());
        }
        self.exited
    }

    /// Kills the server with SIGKILL unless it has exited, and reaps it.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            if let Ok(None) = self.child.try_wait() {
                if let Ok(pid) = i32::try_from(self.child.id()) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            self.exited = self.child.wait().ok();
        }
        self.exited
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- {} (pid {}) stderr ----\n{}---- end of {} stderr ----",
                self.name,
                self.child.id(),
                self.stderr_log(),
                self.name
            );
        }
    }
}
