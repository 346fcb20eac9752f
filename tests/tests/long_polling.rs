//! A pull that finds no message is held by the broker and answered as soon as a message
//! arrives on its queue (woken by the dispatcher, not by a polling loop).

use std::time::{Duration, Instant};

use fennec_client::{Message, Producer};
use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::{create_topic, pull, wait_for_route, PullSpec};
use fennec_tests::cluster::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn held_pull_returns_within_100ms_of_a_send() {
    let cluster = Cluster::single();
    let ns = cluster.namesrv_addr();
    let broker = cluster.brokers[0].addr();
    let admin = RemotingClient::default();
    create_topic(&admin, &broker, "Poll", 1).await;
    wait_for_route(&admin, &ns, "Poll", 1).await;
    let producer = Producer::builder("PollProducer")
        .namesrv_addr(&ns)
        .build()
        .expect("producer");
    producer.start().await.expect("start");

    for round in 0..3i64 {
        let (client, addr) = (admin.clone(), broker.clone());
        let mut held = tokio::spawn(async move {
            let spec = PullSpec {
                group: "PollGroup",
                topic: "Poll",
                queue_id: 0,
                offset: round,
                max: 32,
                suspend_ms: 15_000,
            };
            let p = pull(&client, &addr, spec).await;
            (p, Instant::now())
        });
        // Still unanswered after half a second: the broker is holding it.
        assert!(
            tokio::time::timeout(Duration::from_millis(500), &mut held)
                .await
                .is_err(),
            "pull was not held"
        );
        producer
            .send(Message::new("Poll", format!("wake-{round}")))
            .await
            .expect("send");
        let sent = Instant::now();
        let (pulled, answered) = held.await.expect("pull task");
        assert_eq!(pulled.code, 0, "held pull should find the message");
        assert_eq!(pulled.messages.len(), 1);
        assert_eq!(
            &pulled.messages[0].body[..],
            format!("wake-{round}").as_bytes()
        );
        let latency = answered.saturating_duration_since(sent);
        assert!(
            latency < Duration::from_millis(100),
            "held pull answered {latency:?} after the send"
        );
    }
    producer.shutdown().await;
}
