//! Delivery later against a real nameserver and broker with RocketMQ's default delay levels:
//! a delay-level-2 message arrives 5 to 6 s after it was sent, a 3.5 s timer between 3.5
//! and 3.7 s, `send_at` at its time, a timer beyond `timerMaxDelaySec` is refused, and the
//! progress shows in GET_ALL_DELAY_OFFSET and the runtime info. Times are wall-clock
//! milliseconds: the send time is taken before the send starts and the arrival is the
//! CONSUME_START_TIME the consumer stamps, so the lower bounds hold exactly; the upper bounds
//! are the windows (1 s and 200 ms), against a measured path of a few milliseconds.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fennec_client::{ConsumeFromWhere, Message, MessageExt, Producer, PushConsumer};
use fennec_protocol::message::properties::keys;
use fennec_protocol::request::admin::GetAllDelayOffset;
use fennec_protocol::time::now_millis;
use fennec_tests::broker_api::{call, runtime_info};
use fennec_tests::cluster::BrokerSpec;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::wait_until;
use fennec_tests::scenario::run_all;
use fennec_tests::scenarios;
use fennec_tests::sdk::{producer, Seen};

const WAIT: Duration = Duration::from_secs(30);

type Env = Arc<OneBroker>;

/// Creates `topic` (one queue) and starts a recording consumer of it, polling already.
async fn consumer(env: &Env, topic: &str) -> (PushConsumer, Seen) {
    env.create_topic(topic, 1).await;
    let c = PushConsumer::builder(format!("{topic}Group"))
        .namesrv_addr(&env.namesrv())
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("valid consumer settings");
    c.subscribe(topic, "*").expect("subscribe");
    let seen = Seen::default();
    c.start(seen.recorder()).await.expect("start");
    (c, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_levels_and_timers_arrive_on_time() {
    let env: Env = Arc::new(OneBroker::start(BrokerSpec::new("broker-a")));
    run_all(scenarios![env;
        delay_level_2_arrives_5_to_6_seconds_after_sending,
        a_3_5_second_timer_arrives_between_3_5_and_3_7_seconds,
        send_at_delivers_at_the_time_and_too_far_is_refused,
    ])
    .await;
}

/// Sends `msg` with `send` and waits for its one delivery; returns (sent at, message).
async fn sent_and_received<F, Fut>(seen: &Seen, send: F) -> (i64, MessageExt)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let sent_at = now_millis();
    send().await;
    seen.wait_for(1, WAIT).await;
    let got = seen.messages();
    assert_eq!(got.len(), 1, "delivered once");
    (sent_at, got[0].clone())
}

fn consumed_at(m: &MessageExt) -> i64 {
    m.property(keys::CONSUME_START_TIME)
        .and_then(|v| v.parse().ok())
        .expect("CONSUME_START_TIME")
}

async fn send_ok(p: &Producer, msg: Message) {
    p.send(msg).await.expect("send");
}

async fn delay_level_2_arrives_5_to_6_seconds_after_sending(env: Env) {
    const TOPIC: &str = "DelayLevel2";
    let (consumer, seen) = consumer(&env, TOPIC).await;
    let p = producer(&env.namesrv(), "DelayLevel2Producer").await;
    let (sent_at, m) = sent_and_received(&seen, || {
        send_ok(&p, Message::new(TOPIC, "five seconds").with_delay_level(2))
    })
    .await;
    let elapsed = consumed_at(&m) - sent_at;
    assert!(
        (5000..=6000).contains(&elapsed),
        "level 2 arrived after {elapsed} ms"
    );
    assert_eq!(
        (m.topic.as_str(), &m.body[..]),
        (TOPIC, &b"five seconds"[..])
    );
    assert_eq!(m.property(keys::DELAY_TIME_LEVEL), None);
    assert_eq!(m.property(keys::REAL_TOPIC), Some(TOPIC));
    // Progress: level 2's queue of SCHEDULE_TOPIC_XXXX is delivered up to its end (the
    // delivery thread publishes it after the append a consumer may see first).
    wait_until("level 2 progress at 1", Duration::from_secs(5), || async {
        let offsets = call(&env.admin, &env.broker(), &GetAllDelayOffset).await;
        offsets.offset_table.get(&2) == Some(&1)
    })
    .await;
    let info = runtime_info(&env.admin, &env.broker()).await;
    assert_eq!(
        info.get("scheduleMessageOffset_2").map(String::as_str),
        Some("1,1")
    );
    consumer.shutdown().await;
    p.shutdown().await;
}

async fn a_3_5_second_timer_arrives_between_3_5_and_3_7_seconds(env: Env) {
    const TOPIC: &str = "Timer3500";
    let (consumer, seen) = consumer(&env, TOPIC).await;
    let p = producer(&env.namesrv(), "Timer3500Producer").await;
    let (sent_at, m) = sent_and_received(&seen, || async {
        p.send_after(Message::new(TOPIC, "later"), Duration::from_millis(3500))
            .await
            .expect("send");
    })
    .await;
    let elapsed = consumed_at(&m) - sent_at;
    assert!(
        (3500..=3700).contains(&elapsed),
        "the 3.5 s timer arrived after {elapsed} ms"
    );
    let due: i64 = m
        .property(keys::TIMER_OUT_MS)
        .and_then(|v| v.parse().ok())
        .expect("TIMER_OUT_MS");
    assert!(consumed_at(&m) >= due);
    assert_eq!(m.property(keys::TIMER_DELAY_MS), None);
    consumer.shutdown().await;
    p.shutdown().await;
}

async fn send_at_delivers_at_the_time_and_too_far_is_refused(env: Env) {
    const TOPIC: &str = "TimerAt";
    let (consumer, seen) = consumer(&env, TOPIC).await;
    let p = producer(&env.namesrv(), "TimerAtProducer").await;
    let at = SystemTime::now() + Duration::from_millis(1500);
    let at_ms = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("after 1970");
    let (_, m) = sent_and_received(&seen, || async {
        p.send_at(Message::new(TOPIC, "at a time"), at)
            .await
            .expect("send");
    })
    .await;
    assert!(consumed_at(&m) >= at_ms, "arrived before its time");
    assert!(
        consumed_at(&m) <= at_ms + 200,
        "arrived {} ms late",
        consumed_at(&m) - at_ms
    );

    let too_far = p
        .send_after(
            Message::new(TOPIC, "never"),
            Duration::from_secs(4 * 86_400),
        )
        .await
        .expect_err("beyond timerMaxDelaySec");
    assert!(
        too_far.to_string().contains("timerMaxDelaySec=259200"),
        "{too_far}"
    );
    consumer.shutdown().await;
    p.shutdown().await;
}
