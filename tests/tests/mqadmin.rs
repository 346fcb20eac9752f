//! `mqadmin` against real processes: one `mqnamesrv` and two `mqbroker`s (cluster
//! FennecTest). Every sub-command runs through the real binary and its `--json` output is
//! checked; then the heavy scenarios, each on its own cluster: queryMsgByKey and queryMsgById
//! among 100,000 messages, consumerProgress watching a live group's lag fall to zero, and
//! resetOffsetByTime making a live group consume everything again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fennec_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeResult, Message, MessageExt, Producer, PushConsumer,
};
use fennec_common::time::now_millis;
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::mqadmin::{words, Mqadmin};
use fennec_tests::poll::poll_for;
use fennec_tests::sdk::producer;
use fennec_tools::admin::time::format_millis;
use fennec_tools::admin::AdminClient;
use nix::sys::signal::Signal;
use parking_lot::{Condvar, Mutex};
use serde_json::Value;

const CLUSTER: &str = "FennecTest";
const BROKERS: [&str; 2] = ["broker-a", "broker-b"];
const WAIT: Duration = Duration::from_secs(60);

fn two_brokers() -> Cluster {
    Cluster::start(BROKERS.iter().map(|b| BrokerSpec::new(b)).collect())
}

/// A fresh two-broker cluster, mqadmin pointed at it, and `topic` with `queues` queues on
/// both brokers.
async fn cluster_with_topic(topic: &str, queues: i32) -> (Cluster, Mqadmin) {
    let cluster = two_brokers();
    let admin = Mqadmin::new(&cluster.namesrv_addr());
    create_topic_on_both(&admin, topic, queues).await;
    (cluster, admin)
}

/// A string field of a JSON value, or a panic naming it.
fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {v}"))
}

fn int(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer {field} in {v}"))
}

fn array<'a>(v: &'a Value, field: &str) -> &'a Vec<Value> {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array {field} in {v}"))
}

/// A JSON array document, or a panic showing what came instead.
fn items(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// `updateTopic -c FennecTest` with `queues` read and write queues, then waits until
/// `topicRoute` lists the topic on both brokers; returns that route.
async fn create_topic_on_both(admin: &Mqadmin, topic: &str, queues: i32) -> Value {
    let created = admin
        .json(&words(&format!(
            "updateTopic -c {CLUSTER} -t {topic} -r {queues} -w {queues}"
        )))
        .await;
    assert_eq!(array(&created, "brokers").len(), 2, "{created}");
    poll_for(
        &format!("route of {topic} on both brokers"),
        WAIT,
        || async {
            let run = admin.run(&["--json", "topicRoute", "-t", topic]).await;
            if !run.success() {
                return None;
            }
            let route = run.json();
            let names: BTreeSet<&str> = array(&route, "queueDatas")
                .iter()
                .map(|q| text(q, "brokerName"))
                .collect();
            (names.len() == 2).then(|| route.clone())
        },
    )
    .await
}

/// `brokerPermission` of broker-a and broker-b, from `getBrokerConfig -c FennecTest`.
async fn broker_permissions(admin: &Mqadmin) -> Vec<i64> {
    let configs = admin.json(&["getBrokerConfig", "-c", CLUSTER]).await;
    let by_name: BTreeMap<String, i64> = items(&configs)
        .iter()
        .map(|c| {
            let perm = text(&c["config"], "brokerPermission");
            (
                text(&c["config"], "brokerName").to_string(),
                perm.parse()
                    .unwrap_or_else(|_| panic!("brokerPermission {perm}")),
            )
        })
        .collect();
    assert_eq!(by_name.len(), 2, "{configs}");
    by_name.into_values().collect()
}

/// Waits until `topicRoute` shows each broker's queues of `topic` with the given permission.
async fn route_permissions_become(admin: &Mqadmin, topic: &str, expected: [(&str, i64); 2]) {
    poll_for(&format!("route permissions {expected:?}"), WAIT, || async {
        let route = admin.json(&["topicRoute", "-t", topic]).await;
        let perms: Vec<(&str, i64)> = sorted(
            array(&route, "queueDatas")
                .iter()
                .map(|q| (text(q, "brokerName"), int(q, "perm")))
                .collect(),
        );
        (perms == expected).then_some(())
    })
    .await
}

/// `consumerProgress -g <group> --json` once it succeeds and `ready` accepts it.
async fn progress_when(
    admin: &Mqadmin,
    group: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    poll_for(what, WAIT, || async {
        let run = admin
            .run(&["--json", "consumerProgress", "-g", group])
            .await;
        let v = run.success().then(|| run.json())?;
        ready(&v).then_some(v)
    })
    .await
}

/// The row of `group` in `consumerProgress --json` without `-g`.
async fn group_summary(admin: &Mqadmin, group: &str) -> Value {
    let all = admin.json(&["consumerProgress"]).await;
    all.as_array()
        .and_then(|rows| rows.iter().find(|g| text(g, "group") == group))
        .cloned()
        .unwrap_or_else(|| panic!("{group} missing from {all}"))
}

/// Waits until both brokers have dispatched everything they stored: a send is acknowledged
/// once it is in the commit log, and the consume queues and the index follow.
async fn wait_dispatched(admin: &Mqadmin) {
    poll_for(
        "both brokers to dispatch what they stored",
        WAIT,
        || async {
            let v = admin.json(&["brokerStatus", "-c", CLUSTER]).await;
            let brokers = array(&v, "brokers");
            (brokers.len() == 2
                && brokers
                    .iter()
                    .all(|b| text(&b["table"], "dispatchBehindBytes") == "0"))
            .then_some(())
        },
    )
    .await
}

/// Deliveries per body, and a gate that holds the listener until opened (open on drop, so
/// that a failing test never leaves listener threads blocked).
#[derive(Clone, Default)]
struct Deliveries {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl Deliveries {
    /// Deliveries whose listener runs at once.
    fn open() -> Self {
        let d = Deliveries::default();
        d.open_gate();
        d
    }

    fn open_gate(&self) {
        *self.gate.0.lock() = true;
        self.gate.1.notify_all();
    }

    fn listener(
        &self,
    ) -> impl Fn(&[MessageExt], &ConsumeContext) -> ConsumeResult + Send + Sync + 'static {
        let this = self.clone();
        move |msgs: &[MessageExt], _: &ConsumeContext| {
            let mut open = this.gate.0.lock();
            while !*open {
                this.gate.1.wait(&mut open);
            }
            drop(open);
            let mut counts = this.counts.lock();
            for m in msgs {
                *counts
                    .entry(String::from_utf8_lossy(&m.body).into_owned())
                    .or_insert(0) += 1;
            }
            ConsumeResult::Success
        }
    }

    fn snapshot(&self) -> HashMap<String, usize> {
        self.counts.lock().clone()
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        self.open_gate();
    }
}

async fn push_consumer(
    namesrv: &str,
    group: &str,
    topic: &str,
    deliveries: &Deliveries,
) -> PushConsumer {
    let c = PushConsumer::builder(group)
        .namesrv_addr(namesrv)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("consumer");
    c.subscribe(topic, "*").expect("subscribe");
    c.start(deliveries.listener())
        .await
        .expect("start consumer");
    c
}

/// Sends `bodies` one by one; returns the queue each went to.
async fn send_each(
    p: &Producer,
    topic: &str,
    bodies: impl Iterator<Item = String>,
) -> Vec<(String, String, i32)> {
    let mut out = Vec::new();
    for body in bodies {
        let r = p
            .send(Message::new(topic, body.clone()))
            .await
            .expect("send");
        out.push((body, r.message_queue.broker_name, r.message_queue.queue_id));
    }
    out
}

/// The cheap sub-commands, one after another on one cluster, in the order an operator would
/// use them: inspect the cluster, create a topic, send, look messages up, manage a group,
/// read configuration, delete the topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_against_a_two_broker_cluster() {
    const TOPIC: &str = "AdminTopic";
    const GROUP: &str = "AdminGroup";
    let cluster = two_brokers();
    let ns = cluster.namesrv_addr();
    let admin = Mqadmin::new(&ns);
    let addrs: Vec<String> = cluster.brokers.iter().map(|b| b.addr()).collect();
    let addr_of = |name: &str| addrs[BROKERS.iter().position(|b| *b == name).unwrap()].clone();

    // clusterList: both masters with their addresses and versions.
    let listed = admin.json(&["clusterList"]).await;
    let rows: Vec<(&str, &str, &str, &str, i64)> = array(&listed, "brokers")
        .iter()
        .map(|r| {
            assert!(r.get("error").is_none(), "{r}");
            assert!(text(r, "version").contains("V4_9_8"), "{r}");
            (
                text(r, "cluster"),
                text(r, "brokerName"),
                text(r, "addr"),
                text(r, "role"),
                int(r, "brokerId"),
            )
        })
        .collect();
    assert_eq!(
        sorted(rows),
        vec![
            (CLUSTER, "broker-a", addrs[0].as_str(), "MASTER", 0),
            (CLUSTER, "broker-b", addrs[1].as_str(), "MASTER", 0),
        ]
    );
    admin
        .run(&["clusterList", "-c", "NoSuchCluster"])
        .await
        .assert_failure_with("cluster NoSuchCluster does not exist");

    // brokerStatus: the runtime table of one broker, or of every broker of the cluster.
    let status = admin.json(&["brokerStatus", "-b", &addrs[0]]).await;
    let table = &array(&status, "brokers")[0]["table"];
    assert_eq!(text(table, "brokerName"), "broker-a");
    assert_eq!(text(table, "brokerAddr"), addrs[0]);
    for key in [
        "brokerVersionDesc",
        "msgPutTotalTodayNow",
        "msgGetTotalTodayNow",
        "putTps",
        "getTransferredTps",
        "commitLogMaxOffset",
        "bootTimestamp",
        "runtime",
    ] {
        assert!(
            table.get(key).is_some(),
            "brokerStatus lacks {key}: {table}"
        );
    }
    let status = admin.json(&["brokerStatus", "-c", CLUSTER]).await;
    let status_addrs: Vec<&str> = array(&status, "brokers")
        .iter()
        .map(|b| text(b, "addr"))
        .collect();
    assert_eq!(
        sorted(status_addrs),
        sorted(vec![addrs[0].as_str(), addrs[1].as_str()])
    );

    // updateTopic on the cluster: both brokers serve it, as topicRoute and topicList show.
    let route = create_topic_on_both(&admin, TOPIC, 4).await;
    for q in array(&route, "queueDatas") {
        assert_eq!(
            (
                int(q, "readQueueNums"),
                int(q, "writeQueueNums"),
                int(q, "perm")
            ),
            (4, 4, 6),
            "{q}"
        );
    }
    let route_addrs: Vec<(&str, &str)> = array(&route, "brokerDatas")
        .iter()
        .map(|bd| (text(bd, "brokerName"), text(&bd["brokerAddrs"], "0")))
        .collect();
    assert_eq!(
        sorted(route_addrs),
        vec![
            ("broker-a", addrs[0].as_str()),
            ("broker-b", addrs[1].as_str())
        ]
    );
    let topics = admin.json(&["topicList"]).await;
    assert!(
        items(&topics).contains(&serde_json::json!({"topic": TOPIC})),
        "{topics}"
    );
    let topics = admin.json(&["topicList", "-c"]).await;
    assert!(
        items(&topics).contains(&serde_json::json!({"topic": TOPIC, "cluster": CLUSTER})),
        "{topics}"
    );

    // sendMessage: three to broker-a queue 1, two to broker-b queue 2, one anywhere.
    let mut sent = Vec::new();
    for i in 0..6 {
        let body = format!("body-{i}");
        let keys = format!("key-{i} common");
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let mut args = vec![
            "sendMessage",
            "-t",
            TOPIC,
            "-p",
            &body,
            "-k",
            &keys,
            "-c",
            tag,
        ];
        match i {
            0..=2 => args.extend(["-b", "broker-a", "-i", "1"]),
            3..=4 => args.extend(["-b", "broker-b", "-i", "2"]),
            _ => {}
        }
        let r = admin.json(&args).await;
        assert_eq!(text(&r, "sendStatus"), "SEND_OK", "{r}");
        assert_eq!(text(&r, "topic"), TOPIC);
        match i {
            0..=2 => assert_eq!(
                (
                    text(&r, "brokerName"),
                    int(&r, "queueId"),
                    int(&r, "queueOffset")
                ),
                ("broker-a", 1, i)
            ),
            3..=4 => assert_eq!(
                (
                    text(&r, "brokerName"),
                    int(&r, "queueId"),
                    int(&r, "queueOffset")
                ),
                ("broker-b", 2, i - 3)
            ),
            _ => assert!(BROKERS.contains(&text(&r, "brokerName")), "{r}"),
        }
        assert_ne!(text(&r, "msgId"), text(&r, "offsetMsgId"));
        sent.push(r);
    }
    wait_dispatched(&admin).await;

    // topicStatus: the max offsets account for every message sent.
    let status = admin.json(&["topicStatus", "-t", TOPIC]).await;
    let queues = array(&status, "queues");
    assert_eq!(queues.len(), 8, "{status}");
    let max_of = |broker: &str, qid: i64| {
        queues
            .iter()
            .find(|q| text(q, "brokerName") == broker && int(q, "queueId") == qid)
            .map(|q| int(q, "maxOffset"))
            .unwrap_or_else(|| panic!("no queue {broker}/{qid} in {status}"))
    };
    assert!(max_of("broker-a", 1) >= 3 && max_of("broker-b", 2) >= 2);
    assert_eq!(queues.iter().map(|q| int(q, "maxOffset")).sum::<i64>(), 6);
    assert!(queues.iter().all(|q| int(q, "minOffset") == 0));
    let a1 = queues
        .iter()
        .find(|q| text(q, "brokerName") == "broker-a" && int(q, "queueId") == 1)
        .unwrap();
    assert!(int(a1, "lastUpdateTimestamp") > 0, "{a1}");

    // queryMsgByOffset finds each message where sendMessage put it.
    for (i, s) in sent.iter().enumerate() {
        let line = format!(
            "queryMsgByOffset -t {TOPIC} -b {} -i {} -o {}",
            text(s, "brokerName"),
            int(s, "queueId"),
            int(s, "queueOffset")
        );
        let found = admin.json(&words(&line)).await;
        let m = &array(&found, "messages")[0];
        assert_eq!(text(m, "msgId"), text(s, "msgId"));
        assert_eq!(text(m, "offsetMsgId"), text(s, "offsetMsgId"));
        assert_eq!(text(m, "body"), format!("body-{i}"));
        assert_eq!(text(m, "keys"), format!("key-{i} common"));
    }
    admin
        .run(&words(&format!(
            "queryMsgByOffset -t {TOPIC} -b broker-a -i 1 -o 9"
        )))
        .await
        .assert_failure_with("no message at offset 9");

    // queryMsgById: by the offset msgId and by the UNIQ_KEY, on each broker.
    for s in [&sent[0], &sent[3]] {
        for args in [
            vec!["queryMsgById", "-i", text(s, "offsetMsgId")],
            vec!["queryMsgById", "-i", text(s, "msgId"), "-t", TOPIC],
        ] {
            let found = admin.json(&args).await;
            let msgs = array(&found, "messages");
            assert_eq!(msgs.len(), 1, "{found}");
            assert_eq!(text(&msgs[0], "msgId"), text(s, "msgId"));
            assert_eq!(text(&msgs[0], "brokerName"), text(s, "brokerName"));
            assert_eq!(text(&msgs[0], "storeHost"), addr_of(text(s, "brokerName")));
        }
    }
    admin
        .run(&["queryMsgById", "-i", text(&sent[0], "msgId")])
        .await
        .assert_failure_with("pass -t <topic>");

    // queryMsgByKey: a unique key finds one message, a shared key all of them, up to -m.
    let found = admin
        .json(&["queryMsgByKey", "-t", TOPIC, "-k", "key-3"])
        .await;
    let msgs = array(&found, "messages");
    assert_eq!(msgs.len(), 1, "{found}");
    assert_eq!(
        (text(&msgs[0], "brokerName"), text(&msgs[0], "body")),
        ("broker-b", "body-3")
    );
    let found = admin
        .json(&["queryMsgByKey", "-t", TOPIC, "-k", "common"])
        .await;
    let bodies: Vec<&str> = array(&found, "messages")
        .iter()
        .map(|m| text(m, "body"))
        .collect();
    assert_eq!(
        sorted(bodies),
        (0..6).map(|i| format!("body-{i}")).collect::<Vec<_>>()
    );
    let found = admin
        .json(&["queryMsgByKey", "-t", TOPIC, "-k", "common", "-m", "2"])
        .await;
    assert_eq!(array(&found, "messages").len(), 2, "{found}");
    let found = admin
        .json(&["queryMsgByKey", "-t", TOPIC, "-k", "nokey"])
        .await;
    assert!(array(&found, "messages").is_empty(), "{found}");

    // consumeMessage: a queue range, then everything.
    let pulled = admin
        .json(&words(&format!(
            "consumeMessage -t {TOPIC} -b broker-a -i 1 -o 1 -c 10"
        )))
        .await;
    let got: Vec<(i64, &str)> = items(&pulled)
        .iter()
        .map(|m| (int(m, "queueOffset"), text(m, "body")))
        .collect();
    assert!(got.starts_with(&[(1, "body-1"), (2, "body-2")]), "{pulled}");
    let pulled = admin
        .json(&["consumeMessage", "-t", TOPIC, "-c", "100"])
        .await;
    assert_eq!(items(&pulled).len(), 6, "{pulled}");
    let pulled = admin
        .json(&["consumeMessage", "-t", TOPIC, "-c", "4"])
        .await;
    assert_eq!(items(&pulled).len(), 4, "{pulled}");

    // printMsg: every message of the topic, by tag, without bodies.
    let printed = admin.json(&["printMsg", "-t", TOPIC]).await;
    assert_eq!(items(&printed).len(), 6, "{printed}");
    let printed = admin.json(&["printMsg", "-t", TOPIC, "-s", "TagB"]).await;
    let bodies: Vec<&str> = items(&printed).iter().map(|m| text(m, "body")).collect();
    assert_eq!(sorted(bodies), vec!["body-1", "body-3", "body-5"]);
    let printed = admin.json(&["printMsg", "-t", TOPIC, "-d", "false"]).await;
    assert!(items(&printed)
        .iter()
        .all(|m| m.get("body").is_none() && m.get("msgId").is_some()));

    // updateSubGroup on the cluster: both brokers hold the new configuration.
    let updated = admin
        .json(&words(&format!(
            "updateSubGroup -c {CLUSTER} -g {GROUP} -r 5 -q 2 -o"
        )))
        .await;
    assert_eq!(array(&updated, "brokers").len(), 2, "{updated}");
    let client = AdminClient::new(vec![ns.clone()], Duration::from_secs(5));
    for addr in &addrs {
        let groups = client
            .subscription_groups(addr)
            .await
            .expect("group configs");
        let g = groups
            .subscription_group_table
            .get(GROUP)
            .unwrap_or_else(|| panic!("{GROUP} not on {addr}"));
        assert_eq!((g.retry_max_times, g.retry_queue_nums), (5, 2));
        assert!(g.consume_message_orderly && g.consume_enable);
    }
    client.shutdown().await;

    // consumerProgress: the group is listed, offline and without offsets.
    let row = group_summary(&admin, GROUP).await;
    assert_eq!(
        (int(&row, "count"), int(&row, "diffTotal")),
        (0, 0),
        "{row}"
    );
    admin
        .run(&["consumerProgress", "-g", GROUP])
        .await
        .assert_failure_with("has no consume stats");

    // resetOffsetByTime on an offline group commits the offsets directly; consumerProgress
    // then shows the whole topic as lag.
    let reset = admin
        .json(&["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", "0"])
        .await;
    let offline: Vec<&str> = array(&reset, "offlineBrokers")
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(sorted(offline), BROKERS.to_vec());
    let reset_queues = array(&reset, "queues");
    assert_eq!(reset_queues.len(), 8, "{reset}");
    assert!(
        reset_queues.iter().all(|q| int(q, "offset") == 0),
        "{reset}"
    );
    let progress = admin.json(&["consumerProgress", "-g", GROUP]).await;
    assert_eq!(int(&progress, "diffTotal"), 6, "{progress}");
    let lagging: Vec<(&str, i64, i64)> = array(&progress, "queues")
        .iter()
        .filter(|q| text(q, "topic") == TOPIC && int(q, "diff") > 0)
        .map(|q| (text(q, "brokerName"), int(q, "queueId"), int(q, "diff")))
        .collect();
    assert!(lagging.contains(&("broker-a", 1, max_of("broker-a", 1))));
    assert!(lagging.contains(&("broker-b", 2, max_of("broker-b", 2))));
    let row = group_summary(&admin, GROUP).await;
    assert_eq!(int(&row, "diffTotal"), 6, "{row}");

    // getBrokerConfig: key=value per broker, for people and as JSON.
    let human = admin.run(&["getBrokerConfig", "-b", &addrs[1]]).await;
    human.assert_success();
    assert!(
        human.stdout.lines().any(|l| {
            l.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "brokerName" && v.trim() == "broker-b")
        }),
        "{human}"
    );
    let configs = admin.json(&["getBrokerConfig", "-c", CLUSTER]).await;
    let names: BTreeMap<&str, &str> = items(&configs)
        .iter()
        .map(|c| (text(c, "addr"), text(&c["config"], "brokerName")))
        .collect();
    assert_eq!(
        names,
        BTreeMap::from([
            (addrs[0].as_str(), "broker-a"),
            (addrs[1].as_str(), "broker-b")
        ])
    );
    assert!(items(&configs)
        .iter()
        .all(|c| text(&c["config"], "brokerClusterName") == CLUSTER));

    // updateBrokerConfig: broker-b turns read-only, which its configuration and the route
    // show, so mqadmin has no queue there to send to; write-only, it refuses pulls; then
    // the whole cluster is readable and writable again.
    let b = &addrs[1];
    let updated = admin
        .json(&words(&format!(
            "updateBrokerConfig -b {b} -k brokerPermission -v 4"
        )))
        .await;
    assert_eq!(updated["brokers"], serde_json::json!([b]), "{updated}");
    assert_eq!(broker_permissions(&admin).await, [6, 4]);
    route_permissions_become(&admin, TOPIC, [("broker-a", 6), ("broker-b", 4)]).await;
    admin
        .run(&words(&format!("sendMessage -t {TOPIC} -p no -b broker-b")))
        .await
        .assert_failure_with("has no writable queue on broker broker-b");
    admin
        .json(&words(&format!(
            "updateBrokerConfig -b {b} -k brokerPermission -v 2"
        )))
        .await;
    admin
        .run(&words(&format!(
            "queryMsgByOffset -t {TOPIC} -b broker-b -i 2 -o 0"
        )))
        .await
        .assert_failure_with("refused PULL_MESSAGE: NO_PERMISSION");
    let updated = admin
        .json(&words(&format!(
            "updateBrokerConfig -c {CLUSTER} -k brokerPermission -v 6"
        )))
        .await;
    assert_eq!(array(&updated, "brokers").len(), 2, "{updated}");
    assert_eq!(broker_permissions(&admin).await, [6, 6]);
    route_permissions_become(&admin, TOPIC, [("broker-a", 6), ("broker-b", 6)]).await;
    let r = admin
        .json(&words(&format!(
            "sendMessage -t {TOPIC} -p again -b broker-b"
        )))
        .await;
    assert_eq!(text(&r, "sendStatus"), "SEND_OK", "{r}");
    // Start-up settings and unknown keys are refused by name, and change nothing.
    admin
        .run(&words(&format!(
            "updateBrokerConfig -b {b} -k listenPort -v 1"
        )))
        .await
        .assert_failure_with("listenPort cannot change while the broker runs");
    admin
        .run(&words(&format!(
            "updateBrokerConfig -b {b} -k noSuchKey -v 1"
        )))
        .await
        .assert_failure_with("unknown broker config key noSuchKey");
    admin
        .run(&words(&format!(
            "updateBrokerConfig -b {b} -k brokerPermission -v 7"
        )))
        .await
        .assert_failure_with("INVALID_PARAMETER");
    assert_eq!(broker_permissions(&admin).await, [6, 6]);

    // getNamesrvConfig: the nameserver's settings as it was started.
    let configs = admin.json(&["getNamesrvConfig"]).await;
    let c = &items(&configs)[0];
    assert_eq!((items(&configs).len(), text(c, "addr")), (1, ns.as_str()));
    let kv_path = cluster.dir().join("kvConfig.json");
    assert_eq!(
        text(&c["config"], "kvConfigPath"),
        kv_path.to_str().unwrap()
    );
    assert_eq!(text(&c["config"], "bindAddress"), "127.0.0.1");
    assert_eq!(text(&c["config"], "orderMessageEnable"), "false");

    // A broker that does not answer: results from the other one are printed, the silent
    // one is named on stderr, and the exit code is non-zero.
    cluster.brokers[1].process.signal(Signal::SIGSTOP);
    let quick = ["--json", "--timeout-ms", "300"];
    let run = admin.run(&[&quick[..], &["clusterList"]].concat()).await;
    assert!(!run.success() && run.stderr.contains(&addrs[1]), "{run}");
    let rows = run.json();
    let errors: Vec<(&str, bool)> = array(&rows, "brokers")
        .iter()
        .map(|r| (text(r, "brokerName"), r.get("error").is_some()))
        .collect();
    assert_eq!(
        sorted(errors),
        vec![("broker-a", false), ("broker-b", true)]
    );
    let run = admin
        .run(&[&quick[..], &["queryMsgByKey", "-t", TOPIC, "-k", "common"]].concat())
        .await;
    assert!(!run.success() && run.stderr.contains(&addrs[1]), "{run}");
    let found = run.json();
    let msgs = array(&found, "messages");
    assert!(msgs.len() >= 3, "{found}");
    assert!(
        msgs.iter().all(|m| text(m, "brokerName") == "broker-a"),
        "{found}"
    );
    assert_eq!(array(&found, "errors").len(), 1, "{found}");
    let run = admin
        .run(&[&quick[..], &["getBrokerConfig", "-c", CLUSTER]].concat())
        .await;
    assert!(!run.success() && run.stderr.contains(&addrs[1]), "{run}");
    cluster.brokers[1].process.signal(Signal::SIGCONT);

    // deleteTopic: gone from both brokers and from the nameserver.
    let deleted = admin
        .json(&["deleteTopic", "-t", TOPIC, "-c", CLUSTER])
        .await;
    let from: Vec<&str> = array(&deleted, "brokers")
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(
        sorted(from),
        sorted(vec![addrs[0].as_str(), addrs[1].as_str()])
    );
    admin
        .run(&["topicRoute", "-t", TOPIC])
        .await
        .assert_failure_with(&format!("topic {TOPIC} does not exist"));
    let topics = admin.json(&["topicList"]).await;
    assert!(
        !items(&topics).contains(&serde_json::json!({"topic": TOPIC})),
        "{topics}"
    );
    for addr in &addrs {
        let client = AdminClient::new(vec![ns.clone()], Duration::from_secs(5));
        let stats = client.topic_stats(addr, TOPIC).await;
        assert!(stats.is_err(), "{addr} still serves {TOPIC}: {stats:?}");
        client.shutdown().await;
    }
}

/// One message of the key store: where it went and its two ids.
#[derive(Debug, Clone)]
struct Stored {
    index: usize,
    broker: String,
    uniq_key: String,
    offset_msg_id: String,
}

const KEY_TOPIC: &str = "KeyTopic";
const KEY_MESSAGES: usize = 100_000;
const BATCH: usize = 100;
/// Every this-many-th message also carries the shared key.
const SHARED_EVERY: usize = 5_000;
const SHARED_KEY: &str = "shared-key";

/// Sends `KEY_MESSAGES` messages in batches from a few concurrent tasks; message `i` has body
/// `m-<i>`, key `key-<i>`, and every `SHARED_EVERY`-th also `SHARED_KEY`.
async fn load_key_store(namesrv: &str) -> Vec<Stored> {
    let producer = Arc::new(producer(namesrv, "KeyProducer").await);
    let batches = KEY_MESSAGES / BATCH;
    let tasks = 4;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let producer = producer.clone();
        handles.push(tokio::spawn(async move {
            let mut stored = Vec::new();
            for b in (t..batches).step_by(tasks) {
                let range = b * BATCH..(b + 1) * BATCH;
                let msgs: Vec<Message> = range
                    .clone()
                    .map(|i| {
                        let key = format!("key-{i}");
                        let keys: Vec<&str> = if i % SHARED_EVERY == 0 {
                            vec![&key, SHARED_KEY]
                        } else {
                            vec![&key]
                        };
                        Message::new(KEY_TOPIC, format!("m-{i}")).with_keys(&keys)
                    })
                    .collect();
                let r = producer.send_batch(msgs).await.expect("send batch");
                let uniq: Vec<&str> = r.msg_id.split(',').collect();
                let offsets: Vec<&str> = r.offset_msg_id.split(',').collect();
                assert_eq!((uniq.len(), offsets.len()), (BATCH, BATCH), "{r:?}");
                for (j, i) in range.enumerate() {
                    stored.push(Stored {
                        index: i,
                        broker: r.message_queue.broker_name.clone(),
                        uniq_key: uniq[j].to_string(),
                        offset_msg_id: offsets[j].to_string(),
                    });
                }
            }
            stored
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("sender task"));
    }
    producer.shutdown().await;
    all.sort_by_key(|s| s.index);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn query_by_key_and_id_among_100k_messages_on_two_brokers() {
    let (cluster, admin) = cluster_with_topic(KEY_TOPIC, 4).await;
    let ns = cluster.namesrv_addr();
    let started = Instant::now();
    let stored = load_key_store(&ns).await;
    eprintln!("sent {KEY_MESSAGES} messages in {:?}", started.elapsed());
    assert_eq!(stored.len(), KEY_MESSAGES);
    wait_dispatched(&admin).await;
    let per_broker: BTreeMap<&str, usize> = stored.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.broker.as_str()).or_default() += 1;
        m
    });
    assert_eq!(
        per_broker.len(),
        2,
        "messages on both brokers: {per_broker:?}"
    );

    // A sample of unique keys on each broker, from the start, middle and end of the load.
    let mut sample = Vec::new();
    for broker in BROKERS {
        let on: Vec<&Stored> = stored.iter().filter(|s| s.broker == broker).collect();
        let step = on.len() / 5;
        sample.extend((0..5).map(|k| on[k * step]));
        sample.push(on[on.len() - 1]);
    }
    for s in &sample {
        let key = format!("key-{}", s.index);
        let found = admin
            .json(&["queryMsgByKey", "-t", KEY_TOPIC, "-k", &key])
            .await;
        let msgs = array(&found, "messages");
        assert_eq!(msgs.len(), 1, "key {key}: {found}");
        let m = &msgs[0];
        assert_eq!(text(m, "body"), format!("m-{}", s.index));
        assert_eq!(text(m, "brokerName"), s.broker);
        assert_eq!(text(m, "msgId"), s.uniq_key);
        assert_eq!(text(m, "offsetMsgId"), s.offset_msg_id);
        assert!(text(m, "keys").split(' ').any(|k| k == key), "{m}");
    }

    // The shared key: every message carrying it, on both brokers, and -m caps the answer.
    let sharing: BTreeSet<String> = stored
        .iter()
        .filter(|s| s.index % SHARED_EVERY == 0)
        .map(|s| format!("m-{}", s.index))
        .collect();
    let found = admin
        .json(&["queryMsgByKey", "-t", KEY_TOPIC, "-k", SHARED_KEY])
        .await;
    let bodies: BTreeSet<String> = array(&found, "messages")
        .iter()
        .map(|m| text(m, "body").to_string())
        .collect();
    assert_eq!(bodies, sharing);
    let brokers: BTreeSet<&str> = array(&found, "messages")
        .iter()
        .map(|m| text(m, "brokerName"))
        .collect();
    assert_eq!(
        brokers.len(),
        2,
        "shared key found on both brokers: {brokers:?}"
    );
    let found = admin
        .json(&words(&format!(
            "queryMsgByKey -t {KEY_TOPIC} -k {SHARED_KEY} -m 7"
        )))
        .await;
    assert_eq!(array(&found, "messages").len(), 7);

    // queryMsgById by both id kinds, for messages on each broker.
    for s in sample.iter().step_by(2) {
        for args in [
            vec!["queryMsgById", "-i", s.offset_msg_id.as_str()],
            vec!["queryMsgById", "-i", s.uniq_key.as_str(), "-t", KEY_TOPIC],
        ] {
            let found = admin.json(&args).await;
            let msgs = array(&found, "messages");
            assert_eq!(msgs.len(), 1, "{args:?}: {found}");
            assert_eq!(text(&msgs[0], "body"), format!("m-{}", s.index));
            assert_eq!(text(&msgs[0], "brokerName"), s.broker);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumer_progress_shows_a_live_groups_lag_falling_to_zero() {
    const TOPIC: &str = "ProgressTopic";
    const GROUP: &str = "ProgressGroup";
    const N: usize = 400;
    let (cluster, admin) = cluster_with_topic(TOPIC, 2).await;
    let ns = cluster.namesrv_addr();
    let p = producer(&ns, "ProgressProducer").await;
    send_each(&p, TOPIC, (0..N).map(|i| format!("p-{i}"))).await;
    p.shutdown().await;

    // The group comes online but its listener is held: the lag is the whole topic.
    let deliveries = Deliveries::default();
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
    let before = progress_when(
        &admin,
        GROUP,
        "the lag of every queue on both brokers",
        |v| topic_rows(v).len() == 4,
    )
    .await;
    let rows = topic_rows(&before);
    assert_eq!(int(&before, "diffTotal"), N as i64, "{before}");
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), N as i64);
    assert!(rows.iter().all(|r| r.2 == 0 && r.3 == r.1), "{before}");
    let row = group_summary(&admin, GROUP).await;
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
    let after = progress_when(&admin, GROUP, "the lag to reach zero", |v| {
        int(v, "diffTotal") == 0
    })
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
    let (cluster, admin) = cluster_with_topic(TOPIC, 2).await;
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
    progress_when(&admin, GROUP, "the group to commit everything", |v| {
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
    progress_when(&admin, GROUP, "the group to commit again", |v| {
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
