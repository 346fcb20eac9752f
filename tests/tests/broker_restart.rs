//! A broker restarted on its store keeps every acknowledged message and consumer offset:
//! after a graceful stop (SIGTERM) and after SIGKILL under SYNC_FLUSH.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fennec_client::Message;
use fennec_remoting::RemotingClient;
use fennec_tests::acked::{assert_acked_stored, send_until_failure, Acked};
use fennec_tests::broker_api::{commit_offset, create_topic, query_offset, wait_for_route};
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::poll::wait_until;
use fennec_tests::sdk::producer;
use parking_lot::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graceful_restart_keeps_messages_and_offsets() {
    let mut cluster = Cluster::single();
    let ns = cluster.namesrv_addr();
    let admin = RemotingClient::default();
    create_topic(&admin, &cluster.brokers[0].addr(), "Durable", 4).await;
    wait_for_route(&admin, &ns, "Durable", 4).await;
    let p = producer(&ns, "DurableProducer").await;
    let acked: Acked = Arc::default();
    for i in 0..1000 {
        let r = p
            .send(Message::new("Durable", format!("m-{i}")))
            .await
            .expect("send");
        acked
            .lock()
            .insert((r.message_queue.queue_id, r.queue_offset), format!("m-{i}"));
    }
    p.shutdown().await;
    let broker = cluster.brokers[0].addr();
    for q in 0..4 {
        commit_offset(
            &admin,
            &broker,
            "DurableGroup",
            "Durable",
            q,
            10 + i64::from(q),
        )
        .await;
    }

    cluster.broker(0).stop();
    cluster.broker(0).restart();
    let broker = cluster.brokers[0].addr();
    assert_acked_stored(&admin, &broker, ("Durable", 4), &acked).await;
    for q in 0..4 {
        assert_eq!(
            query_offset(&admin, &broker, "DurableGroup", "Durable", q).await,
            Some(10 + i64::from(q))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_sync_flush_loses_nothing_acknowledged() {
    let mut cluster = Cluster::start(vec![BrokerSpec::new("broker-a").sync_flush()]);
    let ns = cluster.namesrv_addr();
    let admin = RemotingClient::default();
    create_topic(&admin, &cluster.brokers[0].addr(), "Crash", 4).await;
    wait_for_route(&admin, &ns, "Crash", 4).await;
    let broker = cluster.brokers[0].addr();

    let acked: Acked = Arc::default();
    let senders = send_until_failure(&ns, "Crash", 4, &acked);
    // Acknowledged offset commits while the producers run.
    let commits = Arc::new(Mutex::new(BTreeMap::new()));
    let committer = {
        let (admin, broker, commits) = (admin.clone(), broker.clone(), commits.clone());
        tokio::spawn(async move {
            for round in 1..i64::MAX {
                for q in 0..4 {
                    let header_ok = tokio::time::timeout(
                        Duration::from_secs(2),
                        commit_offset_checked(&admin, &broker, q, round),
                    )
                    .await;
                    if !matches!(header_ok, Ok(true)) {
                        return;
                    }
                    commits.lock().insert(q, round);
                }
            }
        })
    };
    wait_until(
        "1,500 acknowledged sends",
        Duration::from_secs(60),
        || async { acked.lock().len() >= 1500 },
    )
    .await;
    cluster.broker(0).crash();
    for s in senders {
        s.await.expect("sender");
    }
    committer.await.expect("committer");

    cluster.broker(0).restart();
    let broker = cluster.brokers[0].addr();
    assert_acked_stored(&admin, &broker, ("Crash", 4), &acked).await;
    let commits = commits.lock().clone();
    for (q, round) in commits {
        let stored = query_offset(&admin, &broker, "CrashGroup", "Crash", q).await;
        assert!(
            stored.is_some_and(|o| o >= round),
            "acknowledged offset {round} of queue {q} lost (found {stored:?})"
        );
    }
}

/// Commits `offset` for CrashGroup; false when the broker did not acknowledge it.
async fn commit_offset_checked(
    admin: &RemotingClient,
    broker: &str,
    queue_id: i32,
    offset: i64,
) -> bool {
    use fennec_protocol::header::UpdateConsumerOffsetRequestHeader;
    use fennec_remoting::{RemotingCommand, RequestCode};
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: "CrashGroup".to_string(),
        topic: "Crash".to_string(),
        queue_id,
        commit_offset: offset,
    };
    let cmd = RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
    matches!(admin.invoke(broker, cmd, Duration::from_secs(2)).await, Ok(r) if r.code == 0)
}
