//! `consumerProgress` and `resetOffsetByTime` through the real `mqadmin` binary against a
//! live push consumer group on two real brokers: the lag is the whole topic while the
//! group's listener is held and falls to zero once it runs; a reset to a point in time makes
//! the live group consume again exactly the messages stored from then on.

use std::collections::BTreeMap;

use fennec_protocol::time::now_millis;
use fennec_tests::cluster::Cluster;
use fennec_tests::json::{array, int, text};
use fennec_tests::mqadmin::{words, Mqadmin, WAIT};
use fennec_tests::poll::poll_for;
use fennec_tests::sdk::{producer, push_consumer, send_each, Deliveries};
use fennec_tools::admin::time::format_millis;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumer_progress_shows_a_live_groups_lag_falling_to_zero() {
    const TOPIC: &str = "ProgressTopic";
    const GROUP: &str = "ProgressGroup";
    const N: usize = 400;
    let cluster = Cluster::pair();
    let admin = Mqadmin::new(&cluster.namesrv_addr());
    admin.create_topic_on_cluster(TOPIC, 2, 2).await;
    let ns = cluster.namesrv_addr();
    let p = producer(&ns, "ProgressProducer").await;
    send_each(&p, TOPIC, (0..N).map(|i| format!("p-{i}"))).await;
    p.shutdown().await;

    // The group comes online but its listener is held: the lag is the whole topic.
    let deliveries = Deliveries::held();
    let consumer = push_consumer(&ns, GROUP, TOPIC, &deliveries).await;
    let topic_rows = |v: &Value| -> Vec<(String, i64, i64, i64)> {
        array(v, "queues")
            .iter()
            .filter(|q| text(q, "topic") == TOPIC)
            .map(|q| {
                (
                    text(q, "brokerName").to_string(),
                    int(q, "brokerOffset"),
                    int(q, "consumerOffset"),
                    int(q, "diff"),
                )
            })
            .collect()
    };
    let before = admin
        .progress_when(GROUP, "the lag of every queue on both brokers", |v| {
            topic_rows(v).len() == 4
        })
        .await;
    let rows = topic_rows(&before);
    assert_eq!(int(&before, "diffTotal"), N as i64, "{before}");
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), N as i64);
    assert!(rows.iter().all(|r| r.2 == 0 && r.3 == r.1), "{before}");
    let row = admin.group_summary(GROUP).await;
    assert_eq!(
        (
            int(&row, "count"),
            text(&row, "consumeType"),
            text(&row, "messageModel"),
            int(&row, "diffTotal")
        ),
        (1, "PUSH", "CLUSTERING", N as i64)
    );

    // Released, the group consumes everything and commits: the lag goes to zero.
    deliveries.open_gate();
    let after = admin
        .progress_when(GROUP, "the lag to reach zero", |v| int(v, "diffTotal") == 0)
        .await;
    let rows = topic_rows(&after);
    assert_eq!(rows.len(), 4, "{after}");
    assert!(rows.iter().all(|r| r.1 == r.2), "{after}");
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), N as i64);
    let counts = deliveries.snapshot();
    assert_eq!(counts.len(), N);
    consumer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_offset_by_time_makes_a_live_group_consume_again() {
    const TOPIC: &str = "ResetTopic";
    const GROUP: &str = "ResetGroup";
    const N: usize = 200;
    let cluster = Cluster::pair();
    let admin = Mqadmin::new(&cluster.namesrv_addr());
    admin.create_topic_on_cluster(TOPIC, 2, 2).await;
    let ns = cluster.namesrv_addr();
    let deliveries = Deliveries::open();
    let consumer = push_consumer(&ns, GROUP, TOPIC, &deliveries).await;
    poll_for("the group to own all 4 queues", WAIT, || async {
        let owned = consumer.assignment().await;
        (owned.iter().filter(|q| q.topic == TOPIC).count() == 4).then_some(())
    })
    .await;

    // Half the messages before `mid`, half after it.
    let before_send = now_millis();
    let p = producer(&ns, "ResetProducer").await;
    let first = send_each(&p, TOPIC, (0..N / 2).map(|i| format!("r-{i}"))).await;
    let mid = now_millis() + 1;
    poll_for("the clock to pass the mid point", WAIT, || async {
        (now_millis() >= mid).then_some(())
    })
    .await;
    send_each(&p, TOPIC, (N / 2..N).map(|i| format!("r-{i}"))).await;
    p.shutdown().await;
    poll_for("every message consumed", WAIT, || async {
        (deliveries.snapshot().len() == N).then_some(())
    })
    .await;
    // Wait for the commits, so that only a reset can bring messages back.
    admin
        .progress_when(GROUP, "the group to commit everything", |v| {
            int(v, "diffTotal") == 0
        })
        .await;
    assert!(deliveries.snapshot().values().all(|n| *n == 1));

    // Back to `mid`, given as RocketMQ's yyyy-MM-dd#HH:mm:ss:SSS in local time: each queue
    // restarts after its first-half messages, and only the second half comes again.
    let mid_arg = format_millis(mid).replace(' ', "#").replace(',', ":");
    let reset = admin
        .json(&words(&format!(
            "resetOffsetByTime -g {GROUP} -t {TOPIC} -s {mid_arg}"
        )))
        .await;
    assert_eq!(int(&reset, "timestamp"), mid, "{reset}");
    assert!(array(&reset, "offlineBrokers").is_empty(), "{reset}");
    let offsets: BTreeMap<(String, i64), i64> = array(&reset, "queues")
        .iter()
        .map(|q| {
            (
                (text(q, "brokerName").to_string(), int(q, "queueId")),
                int(q, "offset"),
            )
        })
        .collect();
    let mut expected: BTreeMap<(String, i64), i64> =
        offsets.keys().map(|k| (k.clone(), 0)).collect();
    for (_, broker, qid) in &first {
        *expected
            .entry((broker.clone(), i64::from(*qid)))
            .or_default() += 1;
    }
    assert_eq!(offsets.len(), 4, "{reset}");
    assert_eq!(offsets, expected, "{reset}");
    poll_for("the second half consumed again", WAIT, || async {
        let counts = deliveries.snapshot();
        (N / 2..N)
            .all(|i| counts.get(&format!("r-{i}")).is_some_and(|n| *n >= 2))
            .then_some(())
    })
    .await;
    admin
        .progress_when(GROUP, "the group to commit again", |v| {
            int(v, "diffTotal") == 0
        })
        .await;
    let counts = deliveries.snapshot();
    assert!(
        (0..N / 2).all(|i| counts[&format!("r-{i}")] == 1),
        "first half consumed again"
    );

    // Back to before the first send: everything comes again.
    let ts = before_send.to_string();
    let reset = admin
        .json(&["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", &ts])
        .await;
    assert!(array(&reset, "offlineBrokers").is_empty(), "{reset}");
    let queues = array(&reset, "queues");
    assert_eq!(queues.len(), 4, "{reset}");
    assert!(queues.iter().all(|q| int(q, "offset") == 0), "{reset}");
    poll_for("every message consumed again", WAIT, || async {
        let counts = deliveries.snapshot();
        (counts.len() == N && (0..N / 2).all(|i| counts[&format!("r-{i}")] >= 2)).then_some(())
    })
    .await;
    consumer.shutdown().await;
}
