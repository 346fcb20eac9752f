//! A slave whose CommitLog cannot continue its master's refuses to replicate, says why in
//! its runtime info, and keeps its log as it was: first ahead of a master that lost its
//! store, then diverged from it once the new master's log passes the slave's end.

use std::time::Duration;

use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::{create_topic, runtime_info, send_raw};
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::poll::poll_for;
use fennec_tests::replication::{commit_log_bytes, info_number, wait_caught_up, wait_slaves};

/// Waits until the slave at `slave` reports a replication error containing `needle`;
/// returns the error.
async fn refusal(admin: &RemotingClient, slave: &str, needle: &str) -> String {
    poll_for(
        &format!("slave {slave} refusing with \"{needle}\""),
        Duration::from_secs(30),
        || async {
            let info = runtime_info(admin, slave).await;
            let error = info.get("haLastError").cloned().unwrap_or_default();
            (error.contains(needle) && info.get("haConnected").map(String::as_str) == Some("false"))
                .then_some(error)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_ahead_of_or_diverged_from_its_master_refuses_and_keeps_its_log() {
    let mut cluster = Cluster::start(vec![
        BrokerSpec::master("broker-d", "ASYNC_MASTER"),
        // Retries a refused session every second instead of every 5.
        BrokerSpec::slave("broker-d", 1).with("haSendHeartbeatInterval", "1000"),
    ]);
    let admin = RemotingClient::default();
    let master = cluster.brokers[0].addr();
    let slave = cluster.brokers[1].addr();
    wait_slaves(&admin, &master, 1).await;
    create_topic(&admin, &master, "Diverge", 1).await;
    for i in 0..3 {
        assert_eq!(
            send_raw(&admin, &master, ("Diverge", 0), "k", &format!("old-{i}"))
                .await
                .code,
            0
        );
    }
    let end = wait_caught_up(&admin, &master, &slave).await;
    let held = commit_log_bytes(cluster.brokers[1].store_dir(), end);

    // The master loses its store and comes back empty: the slave is ahead of it.
    cluster.broker(0).crash();
    let store = cluster.brokers[0].store_dir().to_path_buf();
    std::fs::remove_dir_all(&store)
        .unwrap_or_else(|e| panic!("removing the master's store {}: {e}", store.display()));
    cluster.broker(0).restart();
    let master = cluster.brokers[0].addr();
    let why = refusal(&admin, &slave, "ahead of the master").await;
    assert!(
        why.contains(&end.to_string()),
        "the error names the slave's end {end}: {why}"
    );
    assert_eq!(info_number(&admin, &master, "haSlaveNum").await, 0);

    // The new master's log grows past the slave's end with entries of other sizes: the
    // slave's end falls inside one of them, where nothing can continue.
    create_topic(&admin, &master, "Diverge", 1).await;
    let big = "n".repeat(4096);
    for _ in 0..2 {
        assert_eq!(
            send_raw(&admin, &master, ("Diverge", 0), "k", &big)
                .await
                .code,
            0
        );
    }
    let master_end = info_number(&admin, &master, "commitLogMaxOffset").await;
    assert!(
        master_end > end,
        "the new master ({master_end}) passed the slave ({end})"
    );
    refusal(&admin, &slave, "diverged").await;
    assert_eq!(info_number(&admin, &master, "haSlaveNum").await, 0);

    // Nothing was appended or changed on the slave meanwhile.
    assert_eq!(info_number(&admin, &slave, "commitLogMaxOffset").await, end);
    assert!(
        commit_log_bytes(cluster.brokers[1].store_dir(), end) == held,
        "the refusing slave's CommitLog changed"
    );
}
