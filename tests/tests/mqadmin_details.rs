//! `mqadmin` details against one real nameserver and broker that the broader tests
//! (`mqadmin.rs`, `mqadmin_groups.rs`, `mqadmin_query.rs`) leave out: exact key matches
//! newest first, both id kinds and a missing id, people's output of lookups and progress,
//! tag expressions, an offline group's progress and reset to the future, topic and group
//! configuration echoes, the order configuration kept on the nameserver, and cluster
//! throughput columns.

use fennec_protocol::header::{GetKvConfigResponseHeader, KvConfigKeyRequestHeader};
use fennec_protocol::time::now_millis;
use fennec_remoting::{RemotingClient, RemotingCommand, RequestCode};
use fennec_tests::broker_api::commit_offset;
use fennec_tests::cluster::{Cluster, CLUSTER_NAME};
use fennec_tests::json::{array, int, items, text};
use fennec_tests::mqadmin::{words, Mqadmin, WAIT};
use fennec_tests::namesrv::REQUEST_TIMEOUT;
use fennec_tests::poll::poll_for;
use serde_json::{json, Value};

const TOPIC: &str = "DetailTopic";
const GROUP: &str = "DetailGroup";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqadmin_details_against_a_real_broker() {
    let cluster = Cluster::single();
    let admin = Mqadmin::new(&cluster.namesrv_addr());
    let addr = cluster.brokers[0].addr();
    admin.create_topic_on_cluster(TOPIC, 2, 1).await;
    let sent = send_three(&admin).await;
    admin.wait_dispatched(1).await;
    lookups(&admin, &sent).await;
    offline_group(&admin, &addr).await;
    topics_and_cluster(&admin, &cluster).await;
}

/// Three messages, keys k1 k2 k1, tags Tag0..Tag2, to queues 0 1 0, each stored in a later
/// millisecond than the one before (so "newest first" has one answer).
async fn send_three(admin: &Mqadmin) -> Vec<Value> {
    let mut sent = Vec::new();
    for (i, key) in ["k1", "k2", "k1"].iter().enumerate() {
        let line = format!(
            "sendMessage -t {TOPIC} -p body-{i} -k {key} -c Tag{i} -b broker-a -i {}",
            i % 2
        );
        let r = admin.json(&words(&line)).await;
        assert_eq!(text(&r, "sendStatus"), "SEND_OK", "{r}");
        sent.push(r);
        let acked = now_millis();
        poll_for("the clock to move on", WAIT, || async {
            (now_millis() > acked).then_some(())
        })
        .await;
    }
    assert_eq!(int(&sent[2], "queueOffset"), 1, "{}", sent[2]);
    sent
}

async fn lookups(admin: &Mqadmin, sent: &[Value]) {
    // Only exact key matches, newest first; -m keeps the newest.
    let found = admin
        .json(&["queryMsgByKey", "-t", TOPIC, "-k", "k1"])
        .await;
    let ids: Vec<&str> = array(&found, "messages")
        .iter()
        .map(|m| text(m, "msgId"))
        .collect();
    assert_eq!(ids, [text(&sent[2], "msgId"), text(&sent[0], "msgId")]);
    let table = admin
        .run(&words(&format!("queryMsgByKey -t {TOPIC} -k k1 -m 1")))
        .await;
    table.assert_success();
    assert_eq!(table.stdout.lines().count(), 2, "{table}");
    assert!(table.stdout.contains("body-2"), "{table}");

    // By offset msgId, by UNIQ_KEY, and an id that is neither.
    let by_offset = admin
        .json(&["queryMsgById", "-i", text(&sent[1], "offsetMsgId")])
        .await;
    assert_eq!(text(&array(&by_offset, "messages")[0], "body"), "body-1");
    let by_uniq = admin
        .json(&["queryMsgById", "-t", TOPIC, "-i", text(&sent[1], "msgId")])
        .await;
    assert_eq!(
        text(&array(&by_uniq, "messages")[0], "offsetMsgId"),
        text(&sent[1], "offsetMsgId")
    );
    admin
        .run(&words(&format!(
            "queryMsgById -t {TOPIC} -i 0A0000010000270F0000000000000000"
        )))
        .await
        .assert_failure_with("not found");
    let detail = admin
        .run(&["queryMsgById", "-t", TOPIC, "-i", text(&sent[0], "msgId")])
        .await;
    detail.assert_success();
    assert!(
        detail.stdout.contains("Keys:") && detail.stdout.contains("body-0"),
        "{detail}"
    );

    // A tag expression with alternatives.
    let printed = admin
        .json(&["printMsg", "-t", TOPIC, "-s", "Tag0||Tag2"])
        .await;
    let bodies: Vec<&str> = items(&printed).iter().map(|m| text(m, "body")).collect();
    assert_eq!(bodies, ["body-0", "body-2"]);

    admin
        .run(&["queryMsgByKey", "-t", "Nope", "-k", "k1"])
        .await
        .assert_failure_with("topic Nope does not exist (no route on the nameservers)");
}

/// A configured group that has committed offsets but no consumer online.
async fn offline_group(admin: &Mqadmin, addr: &str) {
    let updated = admin
        .json(&words(&format!(
            "updateSubGroup -c {CLUSTER_NAME} -g {GROUP} -r 3"
        )))
        .await;
    assert_eq!(int(&updated["config"], "retryMaxTimes"), 3, "{updated}");
    assert_eq!(updated["brokers"], json!([addr]), "{updated}");
    let client = RemotingClient::default();
    commit_offset(&client, addr, GROUP, TOPIC, 0, 1).await;
    // Queue 0 holds two messages, queue 1 one; the group is one into queue 0 and has no
    // offset on queue 1.
    let progress = admin.json(&["consumerProgress", "-g", GROUP]).await;
    assert_eq!(int(&progress, "diffTotal"), 2, "{progress}");
    assert!(progress["consumeTps"].is_number(), "{progress}");
    let q0 = array(&progress, "queues")
        .iter()
        .find(|q| int(q, "queueId") == 0)
        .unwrap_or_else(|| panic!("no queue 0 in {progress}"));
    assert_eq!(int(q0, "diff"), 1, "{progress}");
    let human = admin
        .run(&["consumerProgress", "-g", GROUP, "-t", TOPIC])
        .await;
    human.assert_success();
    assert!(human.stdout.contains("Consume Diff Total: 2"), "{human}");
    let row = admin.group_summary(GROUP).await;
    assert_eq!(
        row,
        json!({"group": GROUP, "count": 0, "consumeType": "", "messageModel": "",
            "consumeTps": row["consumeTps"], "diffTotal": 2})
    );

    // The broker knows the group by its offsets, so it resets them itself; 2100-01-01 is
    // after every message: each queue's end.
    let reset = admin
        .json(&words(&format!(
            "resetOffsetByTime -g {GROUP} -t {TOPIC} -s 4102444800000"
        )))
        .await;
    assert_eq!(reset["offlineBrokers"], json!([]), "{reset}");
    assert_eq!(
        reset["queues"],
        json!([
            {"brokerName": "broker-a", "queueId": 0, "offset": 2},
            {"brokerName": "broker-a", "queueId": 1, "offset": 1}
        ])
    );
    let progress = admin.json(&["consumerProgress", "-g", GROUP]).await;
    assert_eq!(int(&progress, "diffTotal"), 0, "{progress}");

    client.shutdown().await;
}

async fn topics_and_cluster(admin: &Mqadmin, cluster: &Cluster) {
    let addr = cluster.brokers[0].addr();
    let created = admin
        .json(&words(&format!(
            "updateTopic -c {CLUSTER_NAME} -t DetailT2 -r 4 -w 4"
        )))
        .await;
    assert_eq!(
        int(&created["topicConfig"], "readQueueNums"),
        4,
        "{created}"
    );
    admin
        .run(&words("updateTopic -c NoSuchCluster -t DetailT2"))
        .await
        .assert_failure_with("NoSuchCluster");

    // An order topic: its order configuration goes to the nameserver's KV store.
    let ordered = admin
        .json(&words(&format!(
            "updateTopic -b {addr} -t DetailT3 -w 2 -o"
        )))
        .await;
    assert_eq!(text(&ordered, "orderConf"), "broker-a:2", "{ordered}");
    let client = RemotingClient::default();
    let header = KvConfigKeyRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".to_string(),
        key: "DetailT3".to_string(),
    };
    let kv = client
        .invoke(
            &cluster.namesrv_addr(),
            RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &header),
            REQUEST_TIMEOUT,
        )
        .await
        .expect("GET_KV_CONFIG");
    let value = kv
        .decode_header::<GetKvConfigResponseHeader>()
        .expect("kv header")
        .value;
    assert_eq!(value.as_deref(), Some("broker-a:2"), "{kv:?}");
    client.shutdown().await;

    let deleted = admin
        .run(&["deleteTopic", "-t", "DetailT2", "-c", CLUSTER_NAME])
        .await;
    deleted.assert_success();
    assert!(
        deleted.stdout.contains(&format!(
            "delete topic [DetailT2] from cluster [{CLUSTER_NAME}] success."
        )),
        "{deleted}"
    );

    let listed = admin.json(&["clusterList"]).await;
    let row = &array(&listed, "brokers")[0];
    assert!(
        row["inTps"].is_number() && row["outTps"].is_number(),
        "{row}"
    );
    let human = admin.run(&["clusterList"]).await;
    human.assert_success();
    assert!(human.stdout.contains("V4_9_8"), "{human}");
}
