//! `mqadmin` against real processes: one `mqnamesrv` and two `mqbroker`s (cluster
//! FennecTest). Every sub-command runs through the real binary, in the order an operator
//! would use them, and its `--json` output is checked. The heavy scenarios are in
//! `mqadmin_query.rs` (lookups among 100,000 messages) and `mqadmin_groups.rs` (a live
//! group's progress and offset reset).

use std::collections::BTreeMap;
use std::time::Duration;

use fennec_tests::cluster::{Cluster, CLUSTER_NAME};
use fennec_tests::json::{array, int, items, text};
use fennec_tests::mqadmin::{words, Mqadmin, WAIT};
use fennec_tests::poll::poll_for;
use fennec_tools::admin::AdminClient;
use nix::sys::signal::Signal;

const BROKERS: [&str; 2] = ["broker-a", "broker-b"];

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// `brokerPermission` of broker-a and broker-b, from `getBrokerConfig -c FennecTest`.
async fn broker_permissions(admin: &Mqadmin) -> Vec<i64> {
    let configs = admin.json(&["getBrokerConfig", "-c", CLUSTER_NAME]).await;
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

/// The cheap sub-commands, one after another on one cluster, in the order an operator would
/// use them: inspect the cluster, create a topic, send, look messages up, manage a group,
/// read configuration, delete the topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_against_a_two_broker_cluster() {
    const TOPIC: &str = "AdminTopic";
    const GROUP: &str = "AdminGroup";
    let cluster = Cluster::pair();
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
            (CLUSTER_NAME, "broker-a", addrs[0].as_str(), "MASTER", 0),
            (CLUSTER_NAME, "broker-b", addrs[1].as_str(), "MASTER", 0),
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
    let status = admin.json(&["brokerStatus", "-c", CLUSTER_NAME]).await;
    let status_addrs: Vec<&str> = array(&status, "brokers")
        .iter()
        .map(|b| text(b, "addr"))
        .collect();
    assert_eq!(
        sorted(status_addrs),
        sorted(vec![addrs[0].as_str(), addrs[1].as_str()])
    );

    // updateTopic on the cluster: both brokers serve it, as topicRoute and topicList show.
    let route = admin.create_topic_on_cluster(TOPIC, 4, 2).await;
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
        items(&topics).contains(&serde_json::json!({"topic": TOPIC, "cluster": CLUSTER_NAME})),
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
    admin.wait_dispatched(2).await;

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
            "updateSubGroup -c {CLUSTER_NAME} -g {GROUP} -r 5 -q 2 -o"
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
    let row = admin.group_summary(GROUP).await;
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
    let row = admin.group_summary(GROUP).await;
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
    let configs = admin.json(&["getBrokerConfig", "-c", CLUSTER_NAME]).await;
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
        .all(|c| text(&c["config"], "brokerClusterName") == CLUSTER_NAME));

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
            "updateBrokerConfig -c {CLUSTER_NAME} -k brokerPermission -v 6"
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
    cluster.brokers[1].process.freeze();
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
        .run(&[&quick[..], &["getBrokerConfig", "-c", CLUSTER_NAME]].concat())
        .await;
    assert!(!run.success() && run.stderr.contains(&addrs[1]), "{run}");
    cluster.brokers[1].process.signal(Signal::SIGCONT);

    // deleteTopic: gone from both brokers and from the nameserver.
    let deleted = admin
        .json(&["deleteTopic", "-t", TOPIC, "-c", CLUSTER_NAME])
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
