//! A master that dies: what a SYNC_MASTER acknowledged is on its slave, and consumers go on
//! reading from the slave meanwhile (sends go to the other master), then return to the
//! restarted master where they were.

use std::time::Duration;

use fennec_client::{ClientConfig, ConsumeFromWhere, Message, Producer, PushConsumer};
use fennec_remoting::RemotingClient;
use fennec_tests::acked::{assert_acked_stored, send_until_failure, Acked};
use fennec_tests::broker_api::{create_topic, wait_for_route};
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::poll::wait_until;
use fennec_tests::replication::{
    info_number, wait_caught_up, wait_dispatched, wait_slaves, wait_topic,
};
use fennec_tests::sdk::Deliveries;

/// Client timers short enough that clients notice a route change within a test.
fn quick_client(ns: &str) -> ClientConfig {
    ClientConfig {
        poll_namesrv_interval: Duration::from_secs(1),
        persist_offset_interval: Duration::from_secs(1),
        rebalance_interval: Duration::from_secs(2),
        ..ClientConfig::default().with_namesrv_addr(ns)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_message_a_killed_sync_master_acknowledged_is_on_its_slave() {
    let mut cluster = Cluster::start(vec![
        BrokerSpec::master("broker-k", "SYNC_MASTER"),
        BrokerSpec::slave("broker-k", 1),
    ]);
    let ns = cluster.namesrv_addr();
    let admin = RemotingClient::default();
    let master = cluster.brokers[0].addr();
    let slave = cluster.brokers[1].addr();
    wait_slaves(&admin, &master, 1).await;
    create_topic(&admin, &master, "Acked", 4).await;
    wait_for_route(&admin, &ns, "Acked", 4).await;
    // The slave copies topics every 500 ms; without the topic it could not serve pulls.
    wait_topic(&admin, &slave, "Acked").await;

    let acked = Acked::default();
    let senders = send_until_failure(&ns, "Acked", 4, &acked);
    wait_until(
        "2,000 acknowledged sends",
        Duration::from_secs(60),
        || async { acked.lock().len() >= 2_000 },
    )
    .await;
    cluster.broker(0).crash();
    for s in senders {
        s.await.expect("sender");
    }

    // Everything acknowledged is on the slave, in queues without gaps.
    wait_dispatched(&admin, &slave).await;
    assert_acked_stored(&admin, &slave, ("Acked", 4), &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumers_read_from_the_slave_while_the_master_is_down() {
    let mut cluster = Cluster::start(vec![
        BrokerSpec::master("broker-f", "ASYNC_MASTER"),
        BrokerSpec::slave("broker-f", 1),
        BrokerSpec::new("broker-g"),
    ]);
    let ns = cluster.namesrv_addr();
    let admin = RemotingClient::default();
    let (master, slave) = (cluster.brokers[0].addr(), cluster.brokers[1].addr());
    wait_slaves(&admin, &master, 1).await;
    for b in [&master, &cluster.brokers[2].addr()] {
        create_topic(&admin, b, "Failover", 4).await;
    }
    wait_for_route(&admin, &ns, "Failover", 8).await;
    wait_topic(&admin, &slave, "Failover").await;

    // A consumer that takes one message per queue at a time and is held: most messages
    // stay on the brokers until the test lets it go.
    let deliveries = Deliveries::held();
    let consumer = PushConsumer::builder("FailoverGroup")
        .client_config(quick_client(&ns))
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .pull_batch_size(1)
        .pull_threshold_for_queue(1)
        .build()
        .expect("consumer");
    consumer.subscribe("Failover", "*").expect("subscribe");
    consumer
        .start(deliveries.listener())
        .await
        .expect("start consumer");
    let producer = Producer::builder("FailoverProducer")
        .client_config(quick_client(&ns))
        .build()
        .expect("producer");
    producer.start().await.expect("start producer");
    let send = |range: std::ops::Range<usize>| {
        let producer = &producer;
        async move {
            for i in range {
                producer
                    .send(Message::new("Failover", format!("f-{i}")))
                    .await
                    .expect("send");
            }
        }
    };
    let all_delivered = |upto: usize| {
        let deliveries = deliveries.clone();
        async move {
            wait_until(
                &format!("messages 0..{upto} consumed"),
                Duration::from_secs(60),
                || {
                    let seen = deliveries.snapshot();
                    async move { (0..upto).all(|i| seen.contains_key(&format!("f-{i}"))) }
                },
            )
            .await
        }
    };

    send(0..200).await;
    wait_caught_up(&admin, &master, &slave).await;
    cluster.broker(0).crash();
    deliveries.open_gate();
    // The master is down: its messages come from the slave; new sends go to broker-g.
    send(200..260).await;
    all_delivered(260).await;
    assert!(
        info_number(&admin, &slave, "msgGetTotalTodayNow").await > 0,
        "nothing was read from the slave"
    );

    cluster.broker(0).restart();
    let master = cluster.brokers[0].addr();
    wait_slaves(&admin, &master, 1).await;
    let before = deliveries.snapshot();
    send(260..400).await;
    all_delivered(400).await;
    // Back on the master where they were: nothing consumed before is delivered again.
    let after = deliveries.snapshot();
    for (body, n) in &before {
        assert_eq!(
            after.get(body),
            Some(n),
            "{body} delivered again after the master returned"
        );
    }
    producer.shutdown().await;
    consumer.shutdown().await;
}
