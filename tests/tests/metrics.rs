//! Prometheus metrics of a real broker scraped during a run: per-topic and per-group counts
//! and bytes match what was sent and consumed exactly, the lag per queue equals `mqadmin
//! consumerProgress`, and refused requests are counted by response code. The per-queue cap
//! keeps group totals; the nameserver lists its brokers; `mqbroker --with-namesrv` serves
//! both on one port.

use std::time::Duration;

use fennec_client::{ClientConfig, ConsumeFromWhere, Producer, PushConsumer};
use fennec_protocol::request::admin::GetTopicStats;
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::json::{array, int, text};
use fennec_tests::mqadmin::Mqadmin;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::{poll_for, wait_until};
use fennec_tests::quick_start::quick_start;
use fennec_tests::scrape::Scrape;
use fennec_tests::sdk::{producer, send_each, Seen};

const TOPIC: &str = "MetricsTopic";
const GROUP: &str = "MetricsGroup";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scraped_metrics_match_what_was_sent_and_consumed() {
    let one = OneBroker::start(BrokerSpec::new("broker-m").with("metricsPort", "0"));
    let metrics = one.cluster.brokers[0]
        .process
        .announced("METRICS_LISTENING")
        .expect("the broker prints METRICS_LISTENING");
    one.create_topic(TOPIC, 4).await;
    let ns = one.namesrv();
    let admin = Mqadmin::new(&ns);

    // 40 messages, all consumed by the group, whose offsets are then committed.
    let p = Producer::builder("MetricsProducer")
        .client_config(quick(&ns))
        .build()
        .expect("producer");
    p.start().await.expect("start the producer");
    send_each(&p, TOPIC, (0..40).map(|i| format!("first-{i}"))).await;
    let seen = Seen::default();
    let consumer = start_consumer(&ns, &seen).await;
    seen.wait_for(40, WAIT).await;
    admin
        .progress_when(GROUP, "every offset committed", |v| {
            int(v, "diffTotal") == 0 && !array(v, "queues").is_empty()
        })
        .await;
    // Clients appear once their heartbeats reached the broker.
    wait_until("the producer and the consumer online", WAIT, || async {
        let s = Scrape::get(&metrics);
        s.value("fennec_consumers_online", &[("group", GROUP)]) == Some(1.0)
            && s.value("fennec_producers_online", &[("group", "MetricsProducer")]) == Some(1.0)
    })
    .await;
    consumer.shutdown().await;
    // Its held pulls end with its connections (or their suspend time): none may take the
    // messages below, or the group's counts would include messages nobody received.
    wait_until("no pull held", WAIT, || async {
        Scrape::get(&metrics).value("fennec_long_polling_waiters", &[]) == Some(0.0)
    })
    .await;

    // 15 more that nobody consumes: the group's lag.
    send_each(&p, TOPIC, (0..15).map(|i| format!("second-{i}"))).await;
    p.shutdown().await;
    let progress = admin
        .progress_when(GROUP, "a lag of 15", |v| int(v, "diffTotal") == 15)
        .await;

    // A refused request: stats of a topic the broker does not have.
    let refused = one
        .admin
        .call(
            &one.broker(),
            &GetTopicStats {
                topic: "NoSuchTopic".into(),
            },
            Duration::from_secs(5),
        )
        .await;
    assert!(refused.is_err());

    let s = Scrape::get(&metrics);
    let topic = [("topic", TOPIC)];
    let group = [("group", GROUP), ("topic", TOPIC)];
    assert_eq!(
        s.value("fennec_topic_messages_in_total", &topic),
        Some(55.0)
    );
    assert_eq!(s.value("fennec_messages_in_total", &[]), Some(55.0));
    assert_eq!(
        s.value("fennec_group_messages_out_total", &group),
        Some(40.0)
    );
    assert_eq!(
        s.value("fennec_send_latency_seconds_count", &[]),
        Some(55.0)
    );
    // Bytes are whole stored records: everything the commit log holds is this topic's, and
    // the group was delivered the records of the first 40.
    let bytes_in = s.value("fennec_topic_in_bytes_total", &topic);
    assert_eq!(bytes_in, s.value("fennec_commitlog_max_offset_bytes", &[]));
    let delivered: i64 = seen
        .messages()
        .iter()
        .map(|m| i64::from(m.store_size))
        .sum();
    assert_eq!(
        s.value("fennec_group_out_bytes_total", &group),
        Some(delivered as f64)
    );

    // Lag: per queue exactly consumerProgress's diff (the group's retry queue included),
    // and its total.
    let mut queues = 0;
    for q in array(&progress, "queues") {
        let queue = int(q, "queueId").to_string();
        let labels = [
            ("group", GROUP),
            ("topic", text(q, "topic")),
            ("queue", &queue),
        ];
        assert_eq!(
            s.value("fennec_consumer_lag_messages", &labels),
            Some(int(q, "diff") as f64),
            "queue {queue}: {}",
            s.text
        );
        queues += 1;
    }
    assert_eq!(queues, 4 + 1, "{progress}");
    assert_eq!(
        s.value("fennec_consumer_group_lag_messages", &group),
        Some(15.0)
    );
    assert_eq!(
        s.value(
            "fennec_rejected_requests_total",
            &[("reason", "TOPIC_NOT_EXIST")]
        ),
        Some(1.0)
    );
    assert_eq!(s.value("fennec_store_poisoned", &[]), Some(0.0));
    assert_eq!(s.value("fennec_store_writable", &[]), Some(1.0));
    assert!(s.value("process_resident_memory_bytes", &[]).unwrap_or(0.0) > 0.0);
    assert!(s.value("fennec_connections", &[]).unwrap_or(0.0) >= 1.0);
    assert!(
        s.value("fennec_store_dispatch_latency_seconds_count", &[]) >= Some(55.0),
        "{}",
        s.text
    );

    // The group comes back and consumes the rest: its lag falls to zero everywhere.
    let consumer = start_consumer(&ns, &seen).await;
    seen.wait_for(55, WAIT).await;
    wait_until("no lag left in the metrics", WAIT, || async {
        let s = Scrape::get(&metrics);
        s.value("fennec_consumer_group_lag_messages", &group) == Some(0.0)
            && s.all("fennec_consumer_lag_messages")
                .iter()
                .all(|(_, v)| *v == 0.0)
    })
    .await;
    let s = Scrape::get(&metrics);
    assert_eq!(
        s.value("fennec_group_messages_out_total", &group),
        Some(55.0)
    );
    consumer.shutdown().await;
}

/// Heartbeats and offset commits every 100 ms, so the broker sees clients at once.
fn quick(ns: &str) -> ClientConfig {
    ClientConfig {
        heartbeat_interval: Duration::from_millis(100),
        persist_offset_interval: Duration::from_millis(100),
        ..ClientConfig::default()
    }
    .with_namesrv_addr(ns)
}

/// A push consumer of [`GROUP`] on [`TOPIC`] from its first offset, recording into `seen`.
async fn start_consumer(ns: &str, seen: &Seen) -> PushConsumer {
    let consumer = PushConsumer::builder(GROUP)
        .client_config(quick(ns))
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("consumer");
    consumer.subscribe(TOPIC, "*").expect("subscribe");
    consumer.start(seen.recorder()).await.expect("start");
    consumer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lag_cap_keeps_group_totals() {
    let one = OneBroker::start(
        BrokerSpec::new("broker-cap")
            .with("metricsPort", "0")
            .with("metricsMaxQueueSeries", "2"),
    );
    let metrics = one.cluster.brokers[0]
        .process
        .announced("METRICS_LISTENING")
        .expect("METRICS_LISTENING");
    one.create_topic("CapTopic", 4).await;
    let ns = one.namesrv();
    let p = producer(&ns, "CapProducer").await;
    send_each(&p, "CapTopic", (0..8).map(|i| format!("m{i}"))).await;
    p.shutdown().await;
    // Commit offset 0 of one queue so the group has progress (and a lag of 8) on this broker.
    one.admin
        .call(
            &one.broker(),
            &fennec_protocol::header::UpdateConsumerOffsetRequestHeader {
                consumer_group: "CapGroup".into(),
                topic: "CapTopic".into(),
                queue_id: 0,
                commit_offset: 0,
            },
            Duration::from_secs(5),
        )
        .await
        .expect("commit an offset");
    wait_until("a lag of 8 in the metrics", WAIT, || async {
        Scrape::get(&metrics).value(
            "fennec_consumer_group_lag_messages",
            &[("group", "CapGroup"), ("topic", "CapTopic")],
        ) == Some(8.0)
    })
    .await;
    let s = Scrape::get(&metrics);
    assert_eq!(s.all("fennec_consumer_lag_messages").len(), 2, "{}", s.text);
    assert_eq!(
        s.value("fennec_consumer_lag_series_dropped", &[]),
        Some(2.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nameserver_metrics_list_the_brokers() {
    let cluster = Cluster::start_with_namesrv(
        &[("metricsPort", "0")],
        vec![BrokerSpec::new("broker-n1"), BrokerSpec::new("broker-n2")],
    );
    let metrics = cluster
        .namesrv
        .announced("METRICS_LISTENING")
        .expect("the nameserver prints METRICS_LISTENING");
    let s = poll_for("both brokers registered", WAIT, || async {
        let s = Scrape::get(&metrics);
        (s.value("fennec_namesrv_brokers", &[]) == Some(2.0)).then_some(s)
    })
    .await;
    for b in &cluster.brokers {
        let age = s
            .value(
                "fennec_namesrv_broker_registration_age_seconds",
                &[("broker", b.spec.name.as_str()), ("addr", &b.addr())],
            )
            .unwrap_or_else(|| panic!("no registration age of {}: {}", b.spec.name, s.text));
        assert!((0.0..30.0).contains(&age), "{age}");
    }
    // Every broker registers its own topic, TBW102 and the system topics.
    assert!(
        s.value("fennec_namesrv_topics", &[]).unwrap_or(0.0) >= 4.0,
        "{}",
        s.text
    );
    assert!(s.value("fennec_namesrv_connections", &[]).unwrap_or(0.0) >= 2.0);
    assert!(s.value("process_resident_memory_bytes", &[]).unwrap_or(0.0) > 0.0);
}

/// `mqbroker --with-namesrv` serves the broker's and its nameserver's metrics on one port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_serves_broker_and_nameserver_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = quick_start(dir.path());
    let metrics = node
        .announced("METRICS_LISTENING")
        .expect("the node prints METRICS_LISTENING");
    let s = poll_for("the broker registered", WAIT, || async {
        let s = Scrape::get(&metrics);
        (s.value("fennec_namesrv_brokers", &[]) == Some(1.0)).then_some(s)
    })
    .await;
    assert_eq!(
        s.value("fennec_store_writable", &[]),
        Some(1.0),
        "{}",
        s.text
    );
    assert_eq!(s.value("fennec_messages_in_total", &[]), Some(0.0));
    // One process: its process metrics appear once.
    assert!(
        s.value("process_resident_memory_bytes", &[]).is_some(),
        "{}",
        s.text
    );
}
