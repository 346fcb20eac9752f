//! Helpers for master/slave tests: a master's view of its slaves, waiting for a slave to
//! catch up or to learn a topic, and a CommitLog's bytes read from its files.

use std::path::Path;
use std::time::Duration;

use fennec_protocol::request::admin::GetAllTopicConfig;
use fennec_remoting::RemotingClient;

use crate::broker_api::{call, runtime_info};
use crate::poll::wait_until;

/// How long a slave may take to catch up with what its master holds.
pub const CATCH_UP: Duration = Duration::from_secs(60);

/// A runtime-info number (-1 when missing).
pub async fn info_number(admin: &RemotingClient, addr: &str, key: &str) -> i64 {
    runtime_info(admin, addr)
        .await
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// Waits until the master at `master` has `n` slaves connected.
pub async fn wait_slaves(admin: &RemotingClient, master: &str, n: i64) {
    wait_until(
        &format!("{n} slaves connected to {master}"),
        Duration::from_secs(30),
        || async { info_number(admin, master, "haSlaveNum").await == n },
    )
    .await;
}

/// Waits until the slave's CommitLog ends where the master's does and the slave has
/// dispatched all of it to its queues and index; returns that end.
pub async fn wait_caught_up(admin: &RemotingClient, master: &str, slave: &str) -> i64 {
    let end = info_number(admin, master, "commitLogMaxOffset").await;
    wait_until(
        &format!("slave {slave} at the master's end {end}"),
        CATCH_UP,
        || async { info_number(admin, slave, "commitLogMaxOffset").await == end },
    )
    .await;
    wait_dispatched(admin, slave).await;
    end
}

/// Waits until the broker at `addr` has dispatched its whole CommitLog to its queues and
/// index (a slave acknowledges bytes once appended, before they are dispatched).
pub async fn wait_dispatched(admin: &RemotingClient, addr: &str) {
    wait_until(
        &format!("{addr} to dispatch its CommitLog"),
        CATCH_UP,
        || async { info_number(admin, addr, "dispatchBehindBytes").await == 0 },
    )
    .await;
}

/// Waits until the broker at `addr` knows `topic` (a slave copies it from its master).
pub async fn wait_topic(admin: &RemotingClient, addr: &str, topic: &str) {
    wait_until(
        &format!("topic {topic} on {addr}"),
        Duration::from_secs(30),
        || async {
            call(admin, addr, &GetAllTopicConfig)
                .await
                .topic_config_table
                .contains_key(topic)
        },
    )
    .await;
}

/// The bytes of the CommitLog under `store` from its first file's start up to `end`.
///
/// # Panics
/// When the files cannot be read or end before `end`.
pub fn commit_log_bytes(store: &Path, end: i64) -> Vec<u8> {
    let dir = store.join("commitlog");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let start: i64 = names
        .first()
        .and_then(|n| n.parse().ok())
        .expect("a commit log file");
    let want = usize::try_from(end - start).expect("end past the first file");
    let mut out = Vec::with_capacity(want);
    for name in names {
        if out.len() >= want {
            break;
        }
        let path = dir.join(name);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        out.extend_from_slice(&bytes);
    }
    assert!(
        out.len() >= want,
        "the commit log under {} ends before {end}",
        store.display()
    );
    out.truncate(want);
    out
}
