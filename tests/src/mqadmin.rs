//! Running the real `mqadmin` binary against a test cluster: [`Mqadmin`] adds `-n <namesrv>`
//! to every command line, captures stdout and stderr in temp files, and kills the tool (by
//! PID) if it has not exited within [`ADMIN_TIMEOUT`]. [`AdminRun`] holds the outcome;
//! [`Mqadmin::json`] runs with `--json`, requires exit 0 and parses the document; [`words`]
//! splits a command line written as one string. The `Mqadmin` methods after `json` wait for
//! cluster states through mqadmin itself (a topic on every broker, dispatch caught up, a
//! group's progress), polling with a deadline of [`WAIT`].

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::NamedTempFile;

use crate::cluster::CLUSTER_NAME;
use crate::json::{array, text};
use crate::poll::{poll_blocking, poll_for};
use crate::process::bin_path;

/// Longest a single mqadmin run may take (its own requests time out after 3 s each).
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the waiting helpers wait for a cluster state.
pub const WAIT: Duration = Duration::from_secs(60);

/// What one mqadmin run printed and how it exited.
#[derive(Debug, Clone)]
pub struct AdminRun {
    /// The command line after `-n <namesrv>`, for failure messages.
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl AdminRun {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with the whole run unless it exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "mqadmin failed: {self}");
        self
    }

    /// Panics unless it exited non-zero with `needle` on stderr.
    pub fn assert_failure_with(&self, needle: &str) -> &Self {
        assert!(
            !self.success() && self.stderr.contains(needle),
            "expected mqadmin to fail with {needle:?}: {self}"
        );
        self
    }

    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("mqadmin printed no JSON document ({e}): {self}"))
    }
}

impl std::fmt::Display for AdminRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`mqadmin {}` exited {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.args.join(" "),
            self.status,
            self.stdout,
            self.stderr
        )
    }
}

/// The mqadmin binary, pointed at one nameserver.
#[derive(Debug, Clone)]
pub struct Mqadmin {
    namesrv: String,
    /// Environment variables of every run, besides the test's own.
    envs: Vec<(String, String)>,
}

impl Mqadmin {
    pub fn new(namesrv: &str) -> Self {
        Mqadmin {
            namesrv: namesrv.to_string(),
            envs: Vec::new(),
        }
    }

    /// Sets environment variable `key` for every run (e.g. `ROCKETMQ_ACCESS_KEY`).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs `mqadmin -n <namesrv> <args>` and waits for it (blocking).
    ///
    /// # Panics
    /// When the tool cannot start or runs longer than [`ADMIN_TIMEOUT`].
    pub fn run_blocking(&self, args: &[&str]) -> AdminRun {
        let stdout = NamedTempFile::new().expect("temp file for stdout");
        let stderr = NamedTempFile::new().expect("temp file for stderr");
        let mut child = Command::new(bin_path("mqadmin"))
            .arg("-n")
            .arg(&self.namesrv)
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout.reopen().expect("reopen stdout file"))
            .stderr(stderr.reopen().expect("reopen stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mqadmin: {e}"));
        let status = poll_blocking(ADMIN_TIMEOUT, || child.try_wait().ok().flatten());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let Some(status) = status else {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.wait();
            panic!(
                "mqadmin {} still running after {ADMIN_TIMEOUT:?}; killed. stderr:\n{}",
                args.join(" "),
                read_all(&stderr)
            );
        };
        AdminRun {
            args,
            status,
            stdout: read_all(&stdout),
            stderr: read_all(&stderr),
        }
    }

    /// [`Mqadmin::run_blocking`] on the blocking pool, for async tests.
    pub async fn run(&self, args: &[&str]) -> AdminRun {
        let this = self.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            this.run_blocking(&args)
        })
        .await
        .expect("mqadmin runner")
    }

    /// Runs `mqadmin --json <args>`, requires exit 0 and returns the parsed output.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        self.run(&full).await.assert_success().json()
    }

    /// `updateTopic -c FennecTest` with `queues` read and write queues, then waits until
    /// `topicRoute` lists the topic on `brokers` brokers; returns that route.
    pub async fn create_topic_on_cluster(&self, topic: &str, queues: i32, brokers: usize) -> Value {
        let created = self
            .json(&words(&format!(
                "updateTopic -c {CLUSTER_NAME} -t {topic} -r {queues} -w {queues}"
            )))
            .await;
        assert_eq!(array(&created, "brokers").len(), brokers, "{created}");
        poll_for(
            &format!("route of {topic} on {brokers} brokers"),
            WAIT,
            || async {
                let run = self.run(&["--json", "topicRoute", "-t", topic]).await;
                if !run.success() {
                    return None;
                }
                let route = run.json();
                let names: BTreeSet<&str> = array(&route, "queueDatas")
                    .iter()
                    .map(|q| text(q, "brokerName"))
                    .collect();
                (names.len() == brokers).then(|| route.clone())
            },
        )
        .await
    }

    /// Waits until the cluster's `brokers` brokers have dispatched everything they stored: a
    /// send is acknowledged once it is in the commit log; the consume queues and the index
    /// follow.
    pub async fn wait_dispatched(&self, brokers: usize) {
        poll_for("the brokers to dispatch what they stored", WAIT, || async {
            let v = self.json(&["brokerStatus", "-c", CLUSTER_NAME]).await;
            let tables = array(&v, "brokers");
            (tables.len() == brokers
                && tables
                    .iter()
                    .all(|b| text(&b["table"], "dispatchBehindBytes") == "0"))
            .then_some(())
        })
        .await
    }

    /// `consumerProgress -g <group> --json`, once it succeeds and `ready` accepts it.
    pub async fn progress_when(
        &self,
        group: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        poll_for(what, WAIT, || async {
            let run = self.run(&["--json", "consumerProgress", "-g", group]).await;
            let v = run.success().then(|| run.json())?;
            ready(&v).then_some(v)
        })
        .await
    }

    /// The row of `group` in `consumerProgress --json` without `-g`.
    pub async fn group_summary(&self, group: &str) -> Value {
        let all = self.json(&["consumerProgress"]).await;
        all.as_array()
            .and_then(|rows| rows.iter().find(|g| text(g, "group") == group))
            .cloned()
            .unwrap_or_else(|| panic!("{group} missing from {all}"))
    }
}

/// The arguments of a command line written as one string (none may contain a space).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn read_all(file: &NamedTempFile) -> String {
    let mut text = String::new();
    if let Ok(mut f) = file.reopen() {
        let _ = f.rewind();
        let _ = f.read_to_string(&mut text);
    }
    text
}
