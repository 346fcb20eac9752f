//! Delayed and timer messages survive a broker SIGKILL and arrive exactly once: some are
//! delivered before the crash, some fall due while the broker is down, some after it is
//! back. Once the broker reports every staging entry delivered, the topic holds each message
//! exactly once and a consumer reads each once.

use std::collections::BTreeMap;
use std::time::Duration;

use fennec_client::{ConsumeFromWhere, Message, PushConsumer};
use fennec_protocol::time::now_millis;
use fennec_tests::broker_api::runtime_info;
use fennec_tests::cluster::BrokerSpec;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::wait_until;
use fennec_tests::sdk::{producer, Seen};

const TOPIC: &str = "Survivor";
/// Messages per kind (delay level 2, timers).
const N: usize = 30;
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_and_timer_messages_survive_a_sigkill_and_arrive_exactly_once() {
    let mut env =
        OneBroker::start(BrokerSpec::new("broker-a").with("messageDelayLevel", "1s 2s 3s"));
    let namesrv = env.namesrv();
    env.create_topic(TOPIC, 1).await;
    let p = producer(&namesrv, "SurvivorProducer").await;
    let mut last_due = 0;
    for i in 0..N {
        p.send(Message::new(TOPIC, format!("level-{i}")).with_delay_level(2))
            .await
            .expect("send");
        // Timers due from 0.5 s to 4.3 s from now: before, during and after the outage.
        let due = now_millis() + 500 + 130 * i as i64;
        last_due = due;
        p.send(Message::new(TOPIC, format!("timer-{i}")).with_deliver_time_ms(due))
            .await
            .expect("send");
    }
    p.shutdown().await;
    wait_until("deliveries before the crash", WAIT, || async {
        env.length(TOPIC).await >= 5
    })
    .await;
    env.cluster.broker(0).crash();
    env.cluster.broker(0).restart();
    let broker = env.broker();

    // The broker says it delivered every staging entry and every timer due so far.
    wait_until("delivery progress past every message", WAIT, || async {
        let info = runtime_info(&env.admin, &broker).await;
        let get = |k: &str| info.get(k).cloned().unwrap_or_default();
        get("scheduleMessageOffset_2") == format!("{N},{N}")
            && get("timerOffsetBehind") == "0"
            && get("timerProgressMs").parse::<i64>().unwrap_or(0) > last_due
    })
    .await;
    assert_eq!(
        env.length(TOPIC).await,
        2 * N as i64,
        "each message stored once in its topic"
    );
    let seen = Seen::default();
    let consumer = PushConsumer::builder("SurvivorGroup")
        .namesrv_addr(&namesrv)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("valid consumer settings");
    consumer.subscribe(TOPIC, "*").expect("subscribe");
    consumer.start(seen.recorder()).await.expect("start");
    seen.wait_for(2 * N, WAIT).await;
    consumer.shutdown().await;
    let mut counts = BTreeMap::new();
    for m in seen.messages() {
        *counts
            .entry(String::from_utf8_lossy(&m.body).into_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 2 * N, "every message arrived");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}
