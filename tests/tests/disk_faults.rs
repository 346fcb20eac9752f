//! Disk faults against a real broker (root only: each test mounts its own small file system
//! and says why it skipped when it cannot):
//! * a full disk (a tmpfs filled with a ballast file) refuses sends with
//!   SERVICE_NOT_AVAILABLE and a remark naming the file that could not be created or get
//!   blocks reserved, whether the commit log (a new file or the window reserved ahead of its
//!   writer) or a consume queue needed it, while pulls and key queries keep working;
//!   deleting the ballast lets sends through again without a restart (or, deleted while the
//!   broker is stopped, the restart dispatches what the full disk held up), and a restart on
//!   the same store finds every acknowledged message, intact, at contiguous queue offsets;
//! * a failed msync (ext4 on a loop device whose backing tmpfs is full) poisons the store:
//!   sends are refused, reads are served, and after a restart every acknowledged message is
//!   there although the kernel dropped the pages it could not write.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fennec_protocol::hash::body_crc;
use fennec_remoting::{RemotingClient, ResponseCode};
use fennec_tests::broker_api::{
    create_topic, query_by_key, read_queue, runtime_info, send_raw, SendReply,
};
use fennec_tests::cluster::{BrokerSpec, Cluster, TestBroker};
use fennec_tests::mount::{FailingExt4, Tmpfs};
use fennec_tests::poll::{poll_for, wait_until};

const TOPIC: &str = "DiskFault";
/// Bound on the sends that fill the reserved space; far more than the tests need.
const MAX_SENDS: usize = 5_000;
/// Bounds only a failing test: how long a refused broker may take to accept sends again.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Queue offset -> body of every acknowledged send to queue 0.
type Acked = BTreeMap<i64, String>;

fn body(i: usize, len: usize) -> String {
    let head = format!("m-{i}-");
    format!("{head}{}", "x".repeat(len.saturating_sub(head.len())))
}

fn key(body: &str) -> String {
    format!("k-{}", body.split('-').nth(1).unwrap_or("?"))
}

/// A broker with small store files whose store is `store` (its broker.conf stays off the
/// faulty file system); the cleaner runs once at start only, so the refusals seen come from
/// failed writes, not from measured usage.
fn start_broker(cluster: &mut Cluster, store: &Path, spec: BrokerSpec) -> String {
    let spec = spec
        .with("mappedFileSizeCommitLog", &(4 << 20).to_string())
        .with("maxMessageSize", "1048576")
        .with("maxHashSlotNum", "1000")
        .with("maxIndexNum", "20000")
        .with("cleanResourceInterval", "3600000");
    let broker = TestBroker::start_with_store(cluster.namesrv.addr(), cluster.dir(), store, spec);
    let addr = broker.addr();
    cluster.brokers.push(broker);
    addr
}

/// Sends message `i`; records it when acknowledged.
async fn send(
    admin: &RemotingClient,
    addr: &str,
    acked: &mut Acked,
    i: usize,
    len: usize,
) -> SendReply {
    let b = body(i, len);
    let r = send_raw(admin, addr, (TOPIC, 0), &key(&b), &b).await;
    if r.code == 0 {
        let offset = r.queue_offset.expect("offset of an acknowledged send");
        assert!(
            acked.insert(offset, b).is_none(),
            "queue offset {offset} given twice"
        );
    }
    r
}

/// Sends until the broker answers something else than SUCCESS; returns that answer.
async fn send_until_refused(
    admin: &RemotingClient,
    addr: &str,
    acked: &mut Acked,
    len: usize,
) -> SendReply {
    for i in acked.len()..acked.len() + MAX_SENDS {
        let r = send(admin, addr, acked, i, len).await;
        if r.code != 0 {
            return r;
        }
    }
    panic!("{MAX_SENDS} sends were all accepted on a full disk");
}

/// Checks the records of queue 0 against what was acknowledged: contiguous offsets from 0,
/// every body intact (CRC) and a sent message, every acknowledged one unchanged at its
/// offset. Returns how many records the queue holds.
async fn check_stored(admin: &RemotingClient, addr: &str, acked: &Acked) -> usize {
    let stored = read_queue(admin, addr, TOPIC, 0).await;
    for (i, m) in stored.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64, "queue offsets are contiguous");
        assert_eq!(m.body_crc, body_crc(&m.body), "corrupt record at {i}");
        let text = String::from_utf8_lossy(&m.body);
        assert!(
            text.starts_with("m-"),
            "record at {i} is not a sent message"
        );
        if let Some(b) = acked.get(&m.queue_offset) {
            assert_eq!(&text, b, "acknowledged message at {i} changed");
        }
    }
    stored.len()
}

/// While sends are refused: pulls serve intact records and the first message is found by
/// key.
async fn assert_reads_served(admin: &RemotingClient, addr: &str, acked: &Acked) {
    assert!(
        check_stored(admin, addr, acked).await > 0,
        "pulls return nothing"
    );
    let first = &acked[&0];
    let found = query_by_key(admin, addr, TOPIC, &key(first)).await;
    assert_eq!(found.len(), 1, "query by key {}", key(first));
    assert_eq!(&found[0].body[..], first.as_bytes());
}

/// After a restart: the stored records check out and none acknowledged is missing. Returns
/// how many records the queue holds.
async fn assert_acked_stored(admin: &RemotingClient, addr: &str, acked: &Acked) -> usize {
    let stored = check_stored(admin, addr, acked).await;
    let last = acked.keys().next_back().copied().unwrap_or(-1);
    assert!(
        stored as i64 > last,
        "acknowledged messages lost: {stored} stored, last acknowledged offset {last}"
    );
    stored
}

/// When the ballast goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FreeSpace {
    /// While the broker runs: it must accept sends again by itself.
    Running,
    /// While it is stopped: the restart must complete what the full disk held up.
    Stopped,
}

/// Fills the disk under a running broker until sends are refused because `blocked_dir`
/// (under the store) cannot get a new file or blocks in one, frees it (see [`FreeSpace`]),
/// and restarts. `reserve_ahead` is the broker's `commitLogReserveAhead`.
async fn disk_full_case(
    cq_file_size: usize,
    body_len: usize,
    blocked_dir: &str,
    free: FreeSpace,
    reserve_ahead: usize,
) {
    let fs = match Tmpfs::mount(32) {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let mut cluster = Cluster::start(Vec::new());
    let spec = BrokerSpec::new("broker-a")
        .with("mappedFileSizeConsumeQueue", &cq_file_size.to_string())
        .with("commitLogReserveAhead", &reserve_ahead.to_string());
    let addr = start_broker(&mut cluster, &fs.path().join("store"), spec);
    let admin = RemotingClient::default();
    create_topic(&admin, &addr, TOPIC, 1).await;
    let mut acked = Acked::new();
    for i in 0..20 {
        assert_eq!(send(&admin, &addr, &mut acked, i, body_len).await.code, 0);
    }

    let ballast = fs.fill();
    let refused = send_until_refused(&admin, &addr, &mut acked, body_len).await;
    assert_eq!(
        refused.code,
        i32::from(ResponseCode::SERVICE_NOT_AVAILABLE),
        "{}",
        refused.remark
    );
    let blocked = cluster.brokers[0].store_dir().join(blocked_dir);
    assert!(refused.remark.contains("disk full"), "{}", refused.remark);
    assert!(
        refused.remark.contains(&*blocked.to_string_lossy()),
        "remark names a file in {}: {}",
        blocked.display(),
        refused.remark
    );
    let again = send(&admin, &addr, &mut acked, MAX_SENDS * 2, body_len).await;
    assert_eq!(again.code, i32::from(ResponseCode::SERVICE_NOT_AVAILABLE));
    let info = runtime_info(&admin, &addr).await;
    assert!(info["storeRefusal"].contains("disk full"), "{info:?}");
    assert_reads_served(&admin, &addr, &acked).await;

    if free == FreeSpace::Stopped {
        cluster.broker(0).stop();
        std::fs::remove_file(&ballast).expect("delete ballast");
        cluster.broker(0).restart();
    } else {
        std::fs::remove_file(&ballast).expect("delete ballast");
    }
    let addr = cluster.brokers[0].addr();
    let mut i = MAX_SENDS * 3;
    let accepted = poll_for("sends accepted again", RECOVERY_TIMEOUT, || {
        i += 1;
        let b = body(i, body_len);
        let (admin, addr) = (&admin, &addr);
        async move {
            let r = send_raw(admin, addr, (TOPIC, 0), &key(&b), &b).await;
            (r.code == 0).then_some((r, b))
        }
    })
    .await;
    acked.insert(accepted.0.queue_offset.expect("offset"), accepted.1);
    for i in MAX_SENDS * 4..MAX_SENDS * 4 + 10 {
        assert_eq!(send(&admin, &addr, &mut acked, i, body_len).await.code, 0);
    }
    wait_until("dispatch caught up", RECOVERY_TIMEOUT, || async {
        read_queue(&admin, &addr, TOPIC, 0).await.len() == acked.len()
    })
    .await;

    cluster.broker(0).stop();
    cluster.broker(0).restart();
    let addr = cluster.brokers[0].addr();
    let stored = assert_acked_stored(&admin, &addr, &acked).await;
    assert_eq!(stored, acked.len(), "refused sends stored nothing");
    assert_eq!(
        send(&admin, &addr, &mut acked, MAX_SENDS * 5, body_len)
            .await
            .code,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_at_commit_log_roll_refuses_sends_until_space_is_freed() {
    // Consume queue files outlast the test; two 4 MiB commit log files hold ~500 messages,
    // each reserved whole when it is created.
    disk_full_case(60_000, 16 << 10, "commitlog", FreeSpace::Running, 4 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_inside_a_commit_log_file_refuses_sends_until_space_is_freed() {
    // Commit log files reserved 256 KiB (16 messages) ahead of the writer: the full disk
    // stops the window (or the next file's first one) instead of a whole file, and no write
    // lands in a block that was not reserved (that would be a SIGBUS on tmpfs).
    disk_full_case(60_000, 16 << 10, "commitlog", FreeSpace::Running, 256 << 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_at_consume_queue_roll_refuses_sends_until_space_is_freed() {
    // 100 entries per consume queue file: one rolls long before the commit log fills.
    disk_full_case(2_000, 1 << 10, "consumequeue", FreeSpace::Running, 4 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_a_full_disk_rebuilds_the_held_up_consume_queue() {
    disk_full_case(2_000, 1 << 10, "consumequeue", FreeSpace::Stopped, 4 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_msync_poisons_the_store_and_restart_keeps_acknowledged_messages() {
    let fs = match FailingExt4::mount(64, 40) {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let mut cluster = Cluster::start(Vec::new());
    // Unwarmed files: the first bytes written to each page are new blocks for the device.
    let spec = BrokerSpec::new("broker-a")
        .sync_flush()
        .with("warmMapedFileEnable", "false");
    let addr = start_broker(&mut cluster, &fs.path().join("store"), spec);
    let admin = RemotingClient::default();
    create_topic(&admin, &addr, TOPIC, 1).await;
    let mut acked = Acked::new();
    for i in 0..20 {
        assert_eq!(send(&admin, &addr, &mut acked, i, 1 << 10).await.code, 0);
    }

    let ballast = fs.break_device();
    let failed = send_until_refused(&admin, &addr, &mut acked, 1 << 10).await;
    assert_eq!(
        failed.code,
        i32::from(ResponseCode::FLUSH_DISK_TIMEOUT),
        "the put whose msync failed: {}",
        failed.remark
    );
    let refused = send(&admin, &addr, &mut acked, MAX_SENDS * 2, 1 << 10).await;
    assert_eq!(
        refused.code,
        i32::from(ResponseCode::SERVICE_NOT_AVAILABLE),
        "{}",
        refused.remark
    );
    assert!(
        refused.remark.contains("poisoned") && refused.remark.contains("msync"),
        "{}",
        refused.remark
    );
    let info = runtime_info(&admin, &addr).await;
    assert!(info["storeRefusal"].contains("poisoned"), "{info:?}");
    wait_until(
        "acknowledged messages dispatched",
        RECOVERY_TIMEOUT,
        || async { read_queue(&admin, &addr, TOPIC, 0).await.len() >= acked.len() },
    )
    .await;
    assert_reads_served(&admin, &addr, &acked).await;

    cluster.broker(0).stop();
    std::fs::remove_file(&ballast).expect("delete ballast");
    fs.remount().expect("remount to drop the page cache");
    cluster.broker(0).restart();
    let addr = cluster.brokers[0].addr();
    assert_acked_stored(&admin, &addr, &acked).await;
    let after = send(&admin, &addr, &mut acked, MAX_SENDS * 3, 1 << 10).await;
    assert_eq!(
        after.code, 0,
        "a restart clears the poison: {}",
        after.remark
    );
}
