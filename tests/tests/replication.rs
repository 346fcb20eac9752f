//! Master/slave replication with real processes: slaves keep byte-identical CommitLogs under
//! ASYNC_MASTER and SYNC_MASTER, build their own queues from them, catch up after a restart;
//! a SYNC_MASTER answers by whether a slave holds a send.

use std::collections::BTreeMap;
use std::sync::Arc;

use fennec_client::{Message, Producer, SendStatus};
use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::{
    create_topic, max_offset, query_by_key, runtime_info, send_raw, wait_for_route,
};
use fennec_tests::cluster::{BrokerSpec, Cluster, TestBroker};
use fennec_tests::replication::{
    commit_log_bytes, info_number, wait_caught_up, wait_slaves, wait_topic,
};
use fennec_tests::sdk::producer;
use nix::sys::signal::Signal;
use parking_lot::Mutex;

/// Concurrent senders per topic.
const SENDERS: usize = 8;

/// Sends `total` messages to `topic` from [`SENDERS`] producers at once; each must be
/// stored as SEND_OK. Every 1000th message has `KEYS` = `<topic>-key-<n>`.
async fn send_all(ns: &str, topic: &str, total: usize) {
    let mut tasks = Vec::new();
    for t in 0..SENDERS {
        let (ns, topic) = (ns.to_string(), topic.to_string());
        tasks.push(tokio::spawn(async move {
            let p = Producer::builder(format!("{topic}Producer{t}"))
                .namesrv_addr(&ns)
                .build()
                .expect("producer");
            p.start().await.expect("start");
            for i in (t..total).step_by(SENDERS) {
                let mut m = Message::new(&topic, format!("{topic}-{i:06}-{}", "x".repeat(100)));
                if i % 1000 == 0 {
                    m = m.with_keys(&[format!("{topic}-key-{i}")]);
                }
                let r = p.send(m).await.expect("send");
                assert_eq!(r.status, SendStatus::SendOk, "message {i} of {topic}");
            }
            p.shutdown().await;
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
}

/// Waits until `sent` reaches `n`.
async fn sent_at_least(sent: &Mutex<usize>, n: usize) {
    fennec_tests::poll::wait_until(
        &format!("{n} messages sent"),
        std::time::Duration::from_secs(60),
        || async { *sent.lock() >= n },
    )
    .await;
}

/// Messages in the queues of `topic` on the broker at `addr`.
async fn queue_total(admin: &RemotingClient, addr: &str, topic: &str) -> i64 {
    let mut total = 0;
    for q in 0..4 {
        total += max_offset(admin, addr, topic, q).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_and_sync_slaves_hold_byte_identical_commit_logs() {
    const MESSAGES: usize = 50_000;
    let cluster = Cluster::start(vec![
        BrokerSpec::master("broker-a", "ASYNC_MASTER"),
        BrokerSpec::slave("broker-a", 1),
        BrokerSpec::master("broker-b", "SYNC_MASTER"),
        BrokerSpec::slave("broker-b", 1),
    ]);
    let ns = cluster.namesrv_addr();
    let admin = RemotingClient::default();
    let addrs: Vec<String> = cluster.brokers.iter().map(|b| b.addr()).collect();
    wait_slaves(&admin, &addrs[0], 1).await;
    wait_slaves(&admin, &addrs[2], 1).await;
    create_topic(&admin, &addrs[0], "ReplAsync", 4).await;
    create_topic(&admin, &addrs[2], "ReplSync", 4).await;
    wait_for_route(&admin, &ns, "ReplAsync", 4).await;
    wait_for_route(&admin, &ns, "ReplSync", 4).await;

    tokio::join!(
        send_all(&ns, "ReplAsync", MESSAGES),
        send_all(&ns, "ReplSync", MESSAGES)
    );

    for (master, slave, topic) in [(0, 1, "ReplAsync"), (2, 3, "ReplSync")] {
        let end = wait_caught_up(&admin, &addrs[master], &addrs[slave]).await;
        let ours = commit_log_bytes(cluster.brokers[master].store_dir(), end);
        let theirs = commit_log_bytes(cluster.brokers[slave].store_dir(), end);
        assert!(
            ours == theirs,
            "{topic}: the slave's CommitLog differs from its master's below {end}"
        );
        // The slave built its own queues and index from the replicated log.
        wait_topic(&admin, &addrs[slave], topic).await;
        assert_eq!(
            queue_total(&admin, &addrs[slave], topic).await,
            MESSAGES as i64,
            "{topic}: messages in the slave's queues"
        );
        let key = format!("{topic}-key-42000");
        assert_eq!(
            query_by_key(&admin, &addrs[slave], topic, &key).await.len(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_master_answers_by_what_its_slave_holds() {
    let mut cluster = Cluster::start(vec![
        BrokerSpec::master("broker-s", "SYNC_MASTER").with("syncFlushTimeout", "500")
    ]);
    let admin = RemotingClient::default();
    let master = cluster.brokers[0].addr();
    create_topic(&admin, &master, "SyncAck", 4).await;
    let send = |body: &'static str| {
        let (admin, master) = (admin.clone(), master.clone());
        async move { send_raw(&admin, &master, ("SyncAck", 0), body, body).await }
    };
    // No slave: stored, but SLAVE_NOT_AVAILABLE.
    let r = send("alone").await;
    assert_eq!((r.code, r.queue_offset), (11, Some(0)), "{}", r.remark);

    let dir = cluster.dir().join("broker-s-1");
    std::fs::create_dir_all(&dir).expect("slave dir");
    let ns = cluster.namesrv.addr();
    let slave =
        fennec_tests::cluster::TestBroker::start(ns, &dir, BrokerSpec::slave("broker-s", 1));
    wait_slaves(&admin, &master, 1).await;
    assert_eq!(send("held").await.code, 0);

    // A slave that cannot answer (stopped): the send waits syncFlushTimeout, then
    // FLUSH_SLAVE_TIMEOUT; it was stored all the same.
    slave.process.freeze();
    let r = send("unacknowledged").await;
    slave.process.signal(Signal::SIGCONT);
    assert_eq!((r.code, r.queue_offset), (12, Some(2)), "{}", r.remark);
    assert_eq!(send("acknowledged again").await.code, 0);
    wait_caught_up(&admin, &master, &slave.addr()).await;
    cluster.brokers.push(slave);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_restarted_mid_stream_catches_up() {
    let mut cluster = Cluster::start(vec![
        BrokerSpec::master("broker-r", "ASYNC_MASTER"),
        BrokerSpec::slave("broker-r", 1),
    ]);
    let ns = cluster.namesrv_addr();
    let admin = RemotingClient::default();
    let master = cluster.brokers[0].addr();
    wait_slaves(&admin, &master, 1).await;
    create_topic(&admin, &master, "CatchUp", 4).await;
    wait_for_route(&admin, &ns, "CatchUp", 4).await;

    let sent = Arc::new(Mutex::new(0usize));
    let sender = {
        let (ns, sent) = (ns.clone(), sent.clone());
        tokio::spawn(async move {
            let p = producer(&ns, "CatchUpProducer").await;
            for i in 0..12_000 {
                p.send(Message::new("CatchUp", format!("c-{i}")))
                    .await
                    .expect("send");
                *sent.lock() = i + 1;
            }
            p.shutdown().await;
        })
    };
    sent_at_least(&sent, 3_000).await;
    cluster.broker(1).crash();
    let down_at = *sent.lock();
    sent_at_least(&sent, down_at + 3_000).await;
    cluster.broker(1).restart();
    sender.await.expect("sender");

    let slave = cluster.brokers[1].addr();
    let end = wait_caught_up(&admin, &master, &slave).await;
    assert!(
        commit_log_bytes(cluster.brokers[0].store_dir(), end)
            == commit_log_bytes(cluster.brokers[1].store_dir(), end),
        "the restarted slave's CommitLog differs from its master's"
    );
    wait_topic(&admin, &slave, "CatchUp").await;
    assert_eq!(queue_total(&admin, &slave, "CatchUp").await, 12_000);
    let mut per_queue = BTreeMap::new();
    for q in 0..4 {
        per_queue.insert(q, max_offset(&admin, &master, "CatchUp", q).await);
    }
    for (q, n) in per_queue {
        assert_eq!(
            max_offset(&admin, &slave, "CatchUp", q).await,
            n,
            "queue {q}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_uses_ha_master_address_when_it_is_set() {
    let mut cluster = Cluster::start(vec![BrokerSpec::master("broker-h", "ASYNC_MASTER")]);
    let admin = RemotingClient::default();
    let master = cluster.brokers[0].addr();
    let info = runtime_info(&admin, &master).await;
    let ha = info.get("haListenAddr").expect("haListenAddr").clone();
    let ns = cluster.namesrv.addr();
    let start_slave = |cluster: &Cluster, id: i64, address: &str| {
        let dir = cluster.dir().join(format!("broker-h-{id}"));
        std::fs::create_dir_all(&dir).expect("slave dir");
        let spec = BrokerSpec::slave("broker-h", id).with("haMasterAddress", address);
        TestBroker::start(ns, &dir, spec)
    };

    // Configured: it connects there, whatever the nameserver says.
    let good = start_slave(&cluster, 1, &ha);
    wait_slaves(&admin, &master, 1).await;
    let info = runtime_info(&admin, &good.addr()).await;
    assert_eq!(info.get("haMasterAddr"), Some(&ha));
    cluster.brokers.push(good);

    // A configured address where nothing listens (port 1) is not replaced by the
    // nameserver's.
    let dead_addr = "127.0.0.1:1".to_string();
    let lost = start_slave(&cluster, 2, &dead_addr);
    let lost_addr = lost.addr();
    cluster.brokers.push(lost);
    fennec_tests::poll::wait_until(
        "the slave with a dead haMasterAddress reporting it",
        std::time::Duration::from_secs(30),
        || async {
            let info = runtime_info(&admin, &lost_addr).await;
            info.get("haLastError")
                .is_some_and(|e| e.contains(&dead_addr))
        },
    )
    .await;
    let info = runtime_info(&admin, &lost_addr).await;
    assert_eq!(info.get("haConnected").map(String::as_str), Some("false"));
    assert_eq!(info_number(&admin, &master, "haSlaveNum").await, 1);
}
