//! The producer against two real brokers whose answers a fault proxy in front of each
//! changes: retriable error codes send it to the other broker, a code that is not
//! retriable ends the send at once, a dropped connection is retried elsewhere and
//! reconnected later, and a send that times out may still be stored. The sections run one
//! after another on one cluster (their faults are on the same request code), each with its
//! own topic and producer, and clear their faults when done.

use std::time::Duration;

use fennec_client::{ClientError, Message, MessageQueue, Producer};
use fennec_remoting::{RequestCode, ResponseCode};
use fennec_tests::proxied::ProxiedCluster;
use fennec_tests::proxy::Fault;
use fennec_tests::sdk::producer;

const A: usize = 0;
const B: usize = 1;
const SEND: RequestCode = RequestCode::SEND_MESSAGE_V2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_faults_against_two_real_brokers_behind_proxies() {
    let env = ProxiedCluster::start(&["broker-a", "broker-b"]);
    sends_retry_on_another_broker(&env).await;
    dropped_connection_is_retried_elsewhere_and_reconnected(&env).await;
    timed_out_send_may_still_be_stored(&env).await;
}

fn clear_send_faults(env: &ProxiedCluster) {
    for proxy in &env.proxies {
        proxy.clear_fault(SEND);
    }
}

/// Sends of `topic` that reached either proxy.
fn send_count(env: &ProxiedCluster, topic: &str) -> usize {
    env.sends(A, topic).len() + env.sends(B, topic).len()
}

async fn sends_retry_on_another_broker(env: &ProxiedCluster) {
    const TOPIC: &str = "FaultRetry";
    env.create_topic(TOPIC, 2, &[A, B]).await;
    env.proxies[A].fail(SEND, ResponseCode::SYSTEM_BUSY, "busy (test proxy)");
    let producer = producer(&env.namesrv(), "FaultRetryProducer").await;
    for _ in 0..6 {
        let r = producer
            .send(Message::new(TOPIC, "x"))
            .await
            .expect("send retried on broker-b");
        assert_eq!(r.message_queue.broker_name, env.name(B));
    }
    assert_eq!(env.stored(B, TOPIC, 2, 6).await.iter().sum::<i64>(), 6);
    assert_eq!(env.queue_lengths(A, TOPIC, 2).await, [0, 0]);

    env.proxies[B].fail(
        SEND,
        ResponseCode::SERVICE_NOT_AVAILABLE,
        "unavailable (test proxy)",
    );
    match producer.send(Message::new(TOPIC, "x")).await {
        Err(e @ ClientError::SendFailed { attempts: 3, .. }) => {
            assert!(!e.may_be_stored());
            assert!(e.response_code().is_some());
        }
        other => panic!("expected three failed attempts, got {other:?}"),
    }

    // MESSAGE_ILLEGAL is not worth another attempt.
    for proxy in &env.proxies {
        proxy.fail(SEND, ResponseCode::MESSAGE_ILLEGAL, "illegal (test proxy)");
    }
    let before = send_count(env, TOPIC);
    let err = producer
        .send(Message::new(TOPIC, "x"))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ClientError::Broker { code: 13, .. }),
        "{err:?}"
    );
    assert_eq!(send_count(env, TOPIC) - before, 1);
    clear_send_faults(env);
    producer.shutdown().await;
}

async fn dropped_connection_is_retried_elsewhere_and_reconnected(env: &ProxiedCluster) {
    const TOPIC: &str = "FaultDrop";
    env.create_topic(TOPIC, 2, &[A, B]).await;
    env.proxies[A].set_fault(SEND, Fault::DropConnection);
    let producer = producer(&env.namesrv(), "FaultDropProducer").await;
    for _ in 0..4 {
        let r = producer
            .send(Message::new(TOPIC, "x"))
            .await
            .expect("send retried on broker-b");
        assert_eq!(r.message_queue.broker_name, env.name(B));
    }
    assert!(
        !env.sends(A, TOPIC).is_empty(),
        "the producer tried broker-a"
    );
    assert_eq!(env.queue_lengths(A, TOPIC, 2).await, [0, 0]);

    // Once broker-a's proxy forwards again, the producer connects anew and is served.
    env.proxies[A].clear_fault(SEND);
    let mq = MessageQueue::new(TOPIC, env.name(A), 0);
    let r = producer
        .send_to_queue(Message::new(TOPIC, "after"), &mq)
        .await
        .expect("broker-a reachable again");
    assert_eq!(r.message_queue, mq);
    env.stored(A, TOPIC, 2, 1).await;
    producer.shutdown().await;
}

async fn timed_out_send_may_still_be_stored(env: &ProxiedCluster) {
    const TOPIC: &str = "FaultSlow";
    env.create_topic(TOPIC, 1, &[A]).await;
    // The broker gets the request long after the producer gave up on it.
    env.proxies[A].set_fault(SEND, Fault::Delay(Duration::from_secs(3)));
    let producer = Producer::builder("FaultSlowProducer")
        .namesrv_addr(&env.namesrv())
        .send_timeout(Duration::from_millis(500))
        .build()
        .expect("valid producer settings");
    producer.start().await.expect("start");
    let err = producer
        .send(Message::new(TOPIC, "late"))
        .await
        .expect_err("no answer in time");
    assert!(err.may_be_stored(), "{err:?}");
    clear_send_faults(env);
    // And so it is.
    env.stored(A, TOPIC, 1, 1).await;
    producer.shutdown().await;
}
