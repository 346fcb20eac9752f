//! The dashboard's JSON endpoints against real processes: a real `mqdashboard -n` in front
//! of a real nameserver and broker, and the same endpoints on `mqbroker --with-namesrv`'s
//! metrics port. A topic is created and deleted (only once confirmed), a group's lag equals
//! `mqadmin consumerProgress` and falls to zero after a reset to now, and messages are found
//! by key and by id with their properties and body.

use std::time::Duration;

use fennec_client::{Message, Producer};
use fennec_tests::cluster::{start_dashboard, BrokerSpec, CLUSTER_NAME};
use fennec_tests::json::{array, int, items, text};
use fennec_tests::mqadmin::Mqadmin;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::{poll_for, wait_until};
use fennec_tests::quick_start::quick_start;
use fennec_tests::scrape::{http_get, http_post_form};
use fennec_tests::sdk::{push_consumer, Deliveries};
use fennec_tests::tx::fast_client_config;
use serde_json::Value;

const TOPIC: &str = "DashTopic";
const GROUP: &str = "DashGroup";
const WAIT: Duration = Duration::from_secs(30);

/// `GET path` answered 200 with JSON.
fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = http_get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// `POST path` with `form`: status and JSON body.
fn post_json(addr: &str, path: &str, form: &str) -> (u16, Value) {
    let (status, body) = http_post_form(addr, path, form);
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("POST {path}: {e}: {body}"));
    (status, v)
}

fn topics(addr: &str) -> Vec<String> {
    items(&get_json(addr, "/api/topics"))
        .iter()
        .map(|t| text(t, "topic").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_endpoints_show_and_change_a_real_cluster() {
    let one = OneBroker::start(BrokerSpec::new("broker-d"));
    let ns = one.namesrv();
    let dash = start_dashboard(&ns, &[]);
    let web = dash.addr().to_string();

    // The page and its assets are served by the binary.
    let (status, page) = http_get(&web, "/");
    assert_eq!(status, 200);
    assert!(page.contains("Fennec dashboard"), "{page}");
    assert!(page.contains("app.js"));
    assert_eq!(http_get(&web, "/app.js").0, 200);
    assert_eq!(http_get(&web, "/app.css").0, 200);

    // Cluster: the broker, its role and version.
    let cluster = get_json(&web, "/api/cluster");
    let brokers = array(&cluster, "brokers");
    assert_eq!(brokers.len(), 1, "{cluster}");
    assert_eq!(text(&brokers[0], "brokerName"), "broker-d");
    assert_eq!(text(&brokers[0], "role"), "MASTER");
    assert_eq!(text(&brokers[0], "addr"), one.broker());
    assert!(!text(&brokers[0], "version").is_empty(), "{cluster}");
    assert!(brokers[0]["diskUsedPercent"].is_number(), "{cluster}");

    // Topics: created through the dashboard, with 4 queues.
    let (status, created) = post_json(
        &web,
        "/api/topic/create",
        &format!("topic={TOPIC}&cluster={CLUSTER_NAME}&queues=4"),
    );
    assert_eq!(status, 200, "{created}");
    wait_until("the topic routed", WAIT, || async {
        topics(&web).iter().any(|t| t == TOPIC)
    })
    .await;
    let detail = get_json(&web, &format!("/api/topic?topic={TOPIC}"));
    assert_eq!(array(&detail["status"], "queues").len(), 4, "{detail}");
    assert_eq!(
        int(&array(&detail["route"], "queueDatas")[0], "writeQueueNums"),
        4
    );

    // 10 messages with keys, consumed by the group; then 5 more nobody consumes.
    let p = Producer::builder("DashProducer")
        .client_config(fast_client_config(&ns))
        .build()
        .expect("producer");
    p.start().await.expect("start the producer");
    let mut sent = Vec::new();
    for i in 0..15 {
        let msg = Message::new(TOPIC, format!("body-{i}")).with_keys(&[format!("key-{i}")]);
        sent.push(p.send(msg).await.expect("send"));
        if i == 9 {
            consume_all(&ns, 10).await;
        }
    }
    // The producer is online on the topic's master (its heartbeat may take a moment).
    let online = poll_for("the producer online", WAIT, || async {
        let (status, body) = http_get(
            &web,
            &format!("/api/producers?group=DashProducer&topic={TOPIC}"),
        );
        (status == 200).then_some(body)
    })
    .await;
    assert!(online.contains("\"brokerName\":\"broker-d\""), "{online}");
    let (status, none) = http_get(&web, &format!("/api/producers?group=Nobody&topic={TOPIC}"));
    assert_eq!(status, 404, "{none}");
    p.shutdown().await;
    let admin = Mqadmin::new(&ns);
    let progress = admin
        .progress_when(GROUP, "a lag of 5", |v| int(v, "diffTotal") == 5)
        .await;
    let group = get_json(&web, &format!("/api/group?group={GROUP}"));
    assert_eq!(group["progress"], progress, "{group}");
    let summaries = get_json(&web, "/api/groups");
    let row = items(&summaries)
        .iter()
        .find(|g| text(g, "group") == GROUP)
        .cloned()
        .unwrap_or_else(|| panic!("{GROUP} missing from {summaries}"));
    assert_eq!(int(&row, "diffTotal"), 5, "{row}");

    // Reset to now: the group skips what is stored, its lag falls to zero.
    let (status, reset) = post_json(
        &web,
        "/api/group/reset",
        &format!("group={GROUP}&topic={TOPIC}&timestamp=now"),
    );
    assert_eq!(status, 200, "{reset}");
    poll_for("no lag after the reset", WAIT, || async {
        let g = get_json(&web, &format!("/api/group?group={GROUP}"));
        (int(&g["progress"], "diffTotal") == 0).then_some(())
    })
    .await;

    // Messages by key and by id, with properties and body.
    let found = get_json(&web, &format!("/api/message/key?topic={TOPIC}&key=key-3"));
    let messages = array(&found, "messages");
    assert_eq!(messages.len(), 1, "{found}");
    assert_eq!(text(&messages[0], "body"), "body-3");
    assert_eq!(text(&messages[0]["properties"], "KEYS"), "key-3");
    let by_id = get_json(
        &web,
        &format!("/api/message/id?id={}", sent[12].offset_msg_id),
    );
    assert_eq!(
        text(&array(&by_id, "messages")[0], "body"),
        "body-12",
        "{by_id}"
    );
    // By time: everything stored until now, and a range that ends before the first send.
    let all = get_json(&web, &format!("/api/message/range?topic={TOPIC}&end=now"));
    let mut bodies: Vec<String> = array(&all, "messages")
        .iter()
        .map(|m| text(m, "body").to_string())
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..15).map(|i| format!("body-{i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    let none = get_json(&web, &format!("/api/message/range?topic={TOPIC}&end=1000"));
    assert!(array(&none, "messages").is_empty(), "{none}");
    let (status, bad) = http_get(
        &web,
        &format!("/api/message/range?topic={TOPIC}&begin=soon"),
    );
    assert_eq!(status, 400, "{bad}");
    let (status, missing) = http_get(&web, "/api/topic?topic=NoSuchTopic");
    assert_eq!(status, 404, "{missing}");

    // Deleting needs the name typed again.
    let (status, refused) = post_json(
        &web,
        "/api/topic/delete",
        &format!("topic={TOPIC}&cluster={CLUSTER_NAME}&confirm=nope"),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(topics(&web).iter().any(|t| t == TOPIC));
    let (status, deleted) = post_json(
        &web,
        "/api/topic/delete",
        &format!("topic={TOPIC}&cluster={CLUSTER_NAME}&confirm={TOPIC}"),
    );
    assert_eq!(status, 200, "{deleted}");
    assert!(!topics(&web).iter().any(|t| t == TOPIC));
}

/// Runs a push consumer of [`GROUP`] until it got `n` distinct messages, then stops it (which
/// commits its offsets).
async fn consume_all(ns: &str, n: usize) {
    let deliveries = Deliveries::open();
    let consumer = push_consumer(ns, GROUP, TOPIC, &deliveries).await;
    wait_until("every message delivered", WAIT, || async {
        deliveries.snapshot().len() >= n
    })
    .await;
    consumer.shutdown().await;
}

/// `mqbroker --with-namesrv` serves the dashboard on its metrics port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_serves_the_dashboard() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = quick_start(dir.path());
    let web = node
        .announced("METRICS_LISTENING")
        .expect("the node prints METRICS_LISTENING");
    assert!(http_get(&web, "/").1.contains("Fennec dashboard"));
    let cluster = get_json(&web, "/api/cluster");
    assert_eq!(
        text(&array(&cluster, "brokers")[0], "addr"),
        node.addr().to_string(),
        "{cluster}"
    );
    assert_eq!(http_get(&web, "/metrics").0, 200);
}

/// With ACL on, mqdashboard signs its requests with `--access-key`/`--secret-key` (as
/// mqadmin); without them the broker refuses what needs an account, and the endpoint says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_its_requests_for_a_cluster_with_acl() {
    const ACL: &str =
        "accounts:\n  - accessKey: admin1\n    secretKey: admin-secret-1\n    admin: true\n";
    let one = OneBroker::start(
        BrokerSpec::new("broker-acl")
            .with("aclEnable", "true")
            .with("aclAccessKey", "admin1")
            .with("aclSecretKey", "admin-secret-1")
            .with_file("plain_acl.yml", ACL),
    );
    let ns = one.namesrv();
    let create = format!("topic=AclDash&cluster={CLUSTER_NAME}&queues=2");

    let anonymous = start_dashboard(&ns, &[]);
    let (status, refused) = post_json(&anonymous.addr().to_string(), "/api/topic/create", &create);
    assert_eq!(status, 502, "{refused}");
    assert!(
        text(&refused, "error").contains("NO_PERMISSION"),
        "{refused}"
    );

    let signed = start_dashboard(
        &ns,
        &["--access-key", "admin1", "--secret-key", "admin-secret-1"],
    );
    let web = signed.addr().to_string();
    let (status, created) = post_json(&web, "/api/topic/create", &create);
    assert_eq!(status, 200, "{created}");
    let cluster = get_json(&web, "/api/cluster");
    let broker = &array(&cluster, "brokers")[0];
    assert!(broker.get("error").is_none(), "{cluster}");
    assert!(!text(broker, "version").is_empty(), "{cluster}");
}
