//! End-to-end messaging through real processes: producers and consumers of the SDK against
//! one `mqnamesrv` and one `mqbroker`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeResult, Message, MessageExt, MessageListener,
    PushConsumer,
};
use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::{create_topic, wait_for_route};
use fennec_tests::cluster::Cluster;
use fennec_tests::poll::wait_until;
use fennec_tests::sdk::producer;
use parking_lot::Mutex;

/// Bodies received per consumer, in arrival order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    fn listener(&self) -> impl MessageListener {
        let seen = self.0.clone();
        move |msgs: Vec<MessageExt>, _: ConsumeContext| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock();
                for m in &msgs {
                    seen.push(String::from_utf8_lossy(&m.body).into_owned());
                }
                ConsumeResult::Success
            }
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.0.lock().clone()
    }

    fn len(&self) -> usize {
        self.0.lock().len()
    }
}

async fn consumer(
    namesrv: &str,
    group: &str,
    instance: &str,
    topic: &str,
    expr: &str,
    received: &Received,
) -> PushConsumer {
    let c = PushConsumer::builder(group)
        .namesrv_addr(namesrv)
        .instance_name(instance)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("consumer");
    c.subscribe(topic, expr).expect("subscribe");
    c.start(received.listener()).await.expect("start consumer");
    c
}

async fn topic_with_queues(cluster: &Cluster, topic: &str, queues: i32) {
    let admin = RemotingClient::default();
    create_topic(&admin, &cluster.brokers[0].addr(), topic, queues).await;
    wait_for_route(&admin, &cluster.namesrv_addr(), topic, queues).await;
}

fn count_by_body(all: &[String]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for b in all {
        *counts.entry(b.as_str()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_producers_two_consumers_exactly_once_then_rebalance_to_one() {
    let cluster = Cluster::single();
    let ns = cluster.namesrv_addr();
    topic_with_queues(&cluster, "Load", 8).await;

    let (ra, rb) = (Received::default(), Received::default());
    let a = consumer(&ns, "LoadGroup", "A", "Load", "*", &ra).await;
    let b = consumer(&ns, "LoadGroup", "B", "Load", "*", &rb).await;
    let load_queues = |set: std::collections::BTreeSet<fennec_client::MessageQueue>| {
        set.iter().filter(|q| q.topic == "Load").count()
    };
    wait_until(
        "both consumers own 4 queues of Load",
        Duration::from_secs(30),
        || async {
            load_queues(a.assignment().await) == 4 && load_queues(b.assignment().await) == 4
        },
    )
    .await;

    let mut sends = Vec::new();
    for p in 0..4 {
        let ns = ns.clone();
        sends.push(tokio::spawn(async move {
            let producer = producer(&ns, &format!("LoadProducer{p}")).await;
            for i in 0..2500 {
                producer
                    .send(Message::new("Load", format!("p{p}-{i}")))
                    .await
                    .expect("send");
            }
            producer.shutdown().await;
        }));
    }
    for s in sends {
        s.await.expect("producer task");
    }
    wait_until(
        "10,000 messages consumed",
        Duration::from_secs(60),
        || async { ra.len() + rb.len() >= 10_000 },
    )
    .await;
    assert!(
        ra.len() > 0 && rb.len() > 0,
        "both consumers should have consumed"
    );

    // One consumer leaves; the other takes over every queue and gets everything new.
    b.shutdown().await;
    wait_until(
        "consumer A owns all 8 queues",
        Duration::from_secs(30),
        || async { load_queues(a.assignment().await) == 8 },
    )
    .await;
    let producer = producer(&ns, "LoadProducerLate").await;
    for i in 0..2000 {
        producer
            .send(Message::new("Load", format!("late-{i}")))
            .await
            .expect("send");
    }
    wait_until(
        "late messages consumed by A",
        Duration::from_secs(60),
        || async {
            ra.bodies()
                .iter()
                .filter(|b| b.starts_with("late-"))
                .count()
                >= 2000
        },
    )
    .await;

    let mut all = ra.bodies();
    all.extend(rb.bodies());
    let counts = count_by_body(&all);
    assert_eq!(counts.len(), 12_000, "every message consumed");
    let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "consumed more than once: {:?}",
        &dups[..dups.len().min(10)]
    );
    a.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tag_filter_delivers_only_matching_messages() {
    let cluster = Cluster::single();
    let ns = cluster.namesrv_addr();
    topic_with_queues(&cluster, "Tagged", 4).await;
    let received = Received::default();
    let c = consumer(&ns, "TagGroup", "T", "Tagged", "TagA || TagC", &received).await;
    let p = producer(&ns, "TagProducer").await;
    for i in 0..300 {
        let tag = ["TagA", "TagB", "TagC"][i % 3];
        p.send(Message::new("Tagged", format!("{tag}-{i}")).with_tags(tag))
            .await
            .expect("send");
    }
    // A final matching message: once it is in, every earlier one has been filtered or delivered.
    p.send(Message::new("Tagged", "TagA-last").with_tags("TagA"))
        .await
        .expect("send");
    wait_until("200 matching messages", Duration::from_secs(30), || async {
        received.len() >= 201
    })
    .await;
    let bodies = received.bodies();
    assert!(
        bodies
            .iter()
            .all(|b| b.starts_with("TagA-") || b.starts_with("TagC-")),
        "unexpected tag delivered"
    );
    assert_eq!(count_by_body(&bodies).len(), 201);
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_consumer_resumes_from_its_committed_offset() {
    let cluster = Cluster::single();
    let ns = cluster.namesrv_addr();
    topic_with_queues(&cluster, "Resume", 4).await;
    let p = producer(&ns, "ResumeProducer").await;
    for i in 0..100 {
        p.send(Message::new("Resume", format!("first-{i}")))
            .await
            .expect("send");
    }
    let first = Received::default();
    let c = consumer(&ns, "ResumeGroup", "R", "Resume", "*", &first).await;
    wait_until("first 100 consumed", Duration::from_secs(30), || async {
        first.len() >= 100
    })
    .await;
    c.shutdown().await;

    for i in 0..50 {
        p.send(Message::new("Resume", format!("second-{i}")))
            .await
            .expect("send");
    }
    let second = Received::default();
    let c = consumer(&ns, "ResumeGroup", "R", "Resume", "*", &second).await;
    wait_until("next 50 consumed", Duration::from_secs(30), || async {
        second.len() >= 50
    })
    .await;
    // Give a wrong resume point time to show up: a marker sent now must be the only extra.
    p.send(Message::new("Resume", "marker"))
        .await
        .expect("send");
    wait_until("marker consumed", Duration::from_secs(30), || async {
        second.bodies().contains(&"marker".to_string())
    })
    .await;
    let bodies = second.bodies();
    assert!(
        bodies.iter().all(|b| !b.starts_with("first-")),
        "re-consumed messages before the committed offset"
    );
    assert_eq!(bodies.len(), 51);
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_and_oneway_sends_are_delivered() {
    let cluster = Cluster::single();
    let ns = cluster.namesrv_addr();
    topic_with_queues(&cluster, "Modes", 4).await;
    let p = producer(&ns, "ModesProducer").await;
    let acked = Arc::new(Mutex::new(0usize));
    for i in 0..200 {
        let acked = acked.clone();
        p.send_async(Message::new("Modes", format!("async-{i}")), move |r| {
            if r.is_ok() {
                *acked.lock() += 1;
            }
        });
    }
    for i in 0..200 {
        p.send_oneway(Message::new("Modes", format!("oneway-{i}")))
            .await
            .expect("oneway");
    }
    wait_until("200 async acks", Duration::from_secs(30), || async {
        *acked.lock() == 200
    })
    .await;
    let received = Received::default();
    let c = consumer(&ns, "ModesGroup", "M", "Modes", "*", &received).await;
    wait_until("400 messages consumed", Duration::from_secs(30), || async {
        received.len() >= 400
    })
    .await;
    let bodies = received.bodies();
    let counts = count_by_body(&bodies);
    assert_eq!(counts.len(), 400);
    assert_eq!(
        counts.keys().filter(|b| b.starts_with("oneway-")).count(),
        200
    );
    c.shutdown().await;
    p.shutdown().await;
}
