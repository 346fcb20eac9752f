//! The producer against two real brokers whose answers a fault proxy in front of each
//! changes: retriable error codes send it to the other broker, a code that is not
//! retriable ends the send at once, a dropped connection is retried elsewhere and
//! reconnected later, a send that times out may still be stored, and a send with a queue
//! selector (ordered messages) is never retried on another queue. The sections run one
//! after another on one cluster (their faults are on the same request code), each with its
//! own topic and producer, and clear their faults when done.

use std::time::Duration;

use fennec_client::{ClientError, Message, MessageQueue, Producer, QueueSelector};
use fennec_protocol::message::properties::{keys, Properties};
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
    selector_send_fails_instead_of_moving_to_another_queue(&env).await;
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

async fn selector_send_fails_instead_of_moving_to_another_queue(env: &ProxiedCluster) {
    const TOPIC: &str = "FaultOrdered";
    env.create_topic(TOPIC, 2, &[A, B]).await;
    let producer = producer(&env.namesrv(), "FaultOrderedProducer").await;
    // The topic's queues in route order: broker-a's 0 and 1, then broker-b's.
    let on_a = QueueSelector::custom(|queues, _| {
        assert_eq!(queues.len(), 4, "writable queues of both brokers");
        1
    });
    let r = producer
        .send_with_selector(Message::new(TOPIC, "in order"), &on_a)
        .await
        .expect("send to broker-a queue 1");
    assert_eq!(r.message_queue, MessageQueue::new(TOPIC, env.name(A), 1));

    env.proxies[A].fail(SEND, ResponseCode::SYSTEM_BUSY, "busy (test proxy)");
    let before = (env.sends(A, TOPIC).len(), env.sends(B, TOPIC).len());
    let err = producer
        .send_with_selector(Message::new(TOPIC, "must wait"), &on_a)
        .await
        .expect_err("the selected queue refused");
    assert!(
        matches!(err, ClientError::Broker { code: 2, .. }),
        "the broker's refusal is returned as it is: {err:?}"
    );
    assert_eq!(env.sends(A, TOPIC).len() - before.0, 1, "one attempt");
    assert_eq!(env.sends(B, TOPIC).len(), before.1, "never on broker-b");
    clear_send_faults(env);

    // A hash selector records its key, and one key always lands in one queue.
    let by_key = QueueSelector::by_hash("order-7");
    let mut queues = Vec::new();
    for step in 0..3 {
        let r = producer
            .send_with_selector(Message::new(TOPIC, format!("order-7 step {step}")), &by_key)
            .await
            .expect("send by hash");
        queues.push(r.message_queue);
    }
    assert!(queues.windows(2).all(|w| w[0] == w[1]), "{queues:?}");
    let broker = if queues[0].broker_name == env.name(A) {
        A
    } else {
        B
    };
    let sent = env.sends(broker, TOPIC);
    let last = sent.last().expect("the broker saw the send");
    let props = Properties::decode(last.properties.as_deref().unwrap_or_default());
    assert_eq!(props.get(keys::SHARDING_KEY), Some("order-7"));
    producer.shutdown().await;
}
