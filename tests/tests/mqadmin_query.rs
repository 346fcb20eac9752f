//! `queryMsgByKey` and `queryMsgById` through the real `mqadmin` binary among 100,000
//! messages spread over two real brokers: a unique key finds exactly its message whatever
//! broker holds it, a shared key finds every message carrying it (up to `-m`), and both id
//! kinds find their message.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use fennec_client::Message;
use fennec_tests::cluster::Cluster;
use fennec_tests::json::{array, text};
use fennec_tests::mqadmin::{words, Mqadmin};
use fennec_tests::sdk::producer;

const BROKERS: [&str; 2] = ["broker-a", "broker-b"];

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
    let cluster = Cluster::pair();
    let admin = Mqadmin::new(&cluster.namesrv_addr());
    admin.create_topic_on_cluster(KEY_TOPIC, 4, 2).await;
    let ns = cluster.namesrv_addr();
    let started = Instant::now();
    let stored = load_key_store(&ns).await;
    eprintln!("sent {KEY_MESSAGES} messages in {:?}", started.elapsed());
    assert_eq!(stored.len(), KEY_MESSAGES);
    admin.wait_dispatched(2).await;
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
