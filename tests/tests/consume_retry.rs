//! Consume retry and dead letters against a real nameserver and broker, with the SDK's push
//! consumer: a listener answering ReconsumeLater gets the message again through
//! `%RETRY%<group>` after the retry level's delay (3 + reconsume times), with reconsume
//! times counting up and the original topic restored; after `maxReconsumeTimes` (the
//! consumer's, else the group's `retryMaxTimes`) the message lands in the write-only
//! `%DLQ%<group>`, which mqadmin lists and re-sends from. The broker runs a short
//! `messageDelayLevel` (level 3 = 500 ms, level 4 = 1 s) so the retries take seconds.
//! Every flow is a scenario on one shared cluster with topics and groups of its own.

use std::sync::Arc;
use std::time::Duration;

use fennec_client::{ConsumeFromWhere, ConsumeResult, Message, MessageExt, PushConsumer};
use fennec_protocol::body::SubscriptionGroupConfig;
use fennec_protocol::header::PullMessageRequestHeader;
use fennec_protocol::message::properties::keys;
use fennec_protocol::request::admin::{CreateSubscriptionGroup, GetAllTopicConfig};
use fennec_remoting::ResponseCode;
use fennec_tests::broker_api::{call, query_offset, read_queue};
use fennec_tests::cluster::BrokerSpec;
use fennec_tests::mqadmin::Mqadmin;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::wait_until;
use fennec_tests::scenario::run_all;
use fennec_tests::scenarios;
use fennec_tests::sdk::{producer, Seen};

/// Delay levels 3 and 4 (the first two retries) are 500 ms and 1 s.
const LEVELS: &str = "1s 2s 500ms 1s 1500ms 2s 2500ms 3s 3s 3s 3s 3s 3s 3s 3s 3s 3s 3s";
/// Longest any wait here lasts (a failing test only).
const WAIT: Duration = Duration::from_secs(30);

type Env = Arc<OneBroker>;

/// A push consumer of `group` from the first offset, subscribed to `topic`.
fn consumer(env: &Env, group: &str, topic: &str, max_reconsume: Option<i32>) -> PushConsumer {
    let mut b = PushConsumer::builder(group)
        .namesrv_addr(&env.namesrv())
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(300));
    if let Some(n) = max_reconsume {
        b = b.max_reconsume_times(n);
    }
    let c = b.build().expect("valid consumer settings");
    c.subscribe(topic, "*").expect("subscribe");
    c
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_retry_and_dead_letters() {
    let env: Env = Arc::new(OneBroker::start(
        BrokerSpec::new("broker-a").with("messageDelayLevel", LEVELS),
    ));
    run_all(scenarios![env;
        reconsume_later_comes_back_through_the_retry_topic,
        failing_twice_then_succeeding_sees_reconsume_times_0_1_2_after_the_retry_delays,
        always_failing_ends_in_the_dead_letter_queue_which_mqadmin_lists_and_resends,
        the_group_retry_max_times_applies_when_the_consumer_sets_none,
        a_direct_send_to_the_retry_topic_past_the_limit_is_a_dead_letter,
    ])
    .await;
}

/// The CONSUME_START_TIME the client stamped on a delivery (ms).
fn consumed_at(m: &MessageExt) -> i64 {
    m.property(keys::CONSUME_START_TIME)
        .and_then(|v| v.parse().ok())
        .expect("CONSUME_START_TIME")
}

async fn reconsume_later_comes_back_through_the_retry_topic(env: Env) {
    const TOPIC: &str = "RetryOnce";
    const GROUP: &str = "RetryOnceGroup";
    env.create_topic(TOPIC, 1).await;
    let producer = producer(&env.namesrv(), "RetryOnceProducer").await;
    let sent = producer
        .send(Message::new(TOPIC, "once more"))
        .await
        .expect("send");

    let seen = Seen::default();
    let consumer = consumer(&env, GROUP, TOPIC, None);
    consumer
        .start(seen.failing_first_delivery())
        .await
        .expect("start");
    seen.wait_for(2, WAIT).await;
    let seen = seen.messages();
    assert_eq!(seen[0].reconsume_times, 0);
    assert_eq!(seen[1].id(), sent.msg_id);
    assert_eq!(seen[1].topic, TOPIC, "topic restored from RETRY_TOPIC");
    assert_eq!(seen[1].reconsume_times, 1);
    assert_eq!(&seen[1].body[..], b"once more");
    assert_eq!(seen[1].property(keys::RETRY_TOPIC), Some(TOPIC));
    assert_eq!(seen[1].property(keys::RECONSUME_TIME), Some("1"));
    assert_eq!(
        seen[1].property(keys::ORIGIN_MESSAGE_ID),
        Some(sent.offset_msg_id.as_str())
    );
    assert_eq!(
        env.length("%RETRY%RetryOnceGroup").await,
        1,
        "it came back through the retry topic"
    );
    // The original queue's offset moved past the message that was sent back.
    wait_until("offset committed past the message", WAIT, || async {
        query_offset(&env.admin, &env.broker(), GROUP, TOPIC, 0).await == Some(1)
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
}

async fn failing_twice_then_succeeding_sees_reconsume_times_0_1_2_after_the_retry_delays(env: Env) {
    const TOPIC: &str = "RetryTwice";
    const GROUP: &str = "RetryTwiceGroup";
    env.create_topic(TOPIC, 1).await;
    let producer = producer(&env.namesrv(), "RetryTwiceProducer").await;
    producer
        .send(Message::new(TOPIC, "third time lucky"))
        .await
        .expect("send");
    let seen = Seen::default();
    let consumer = consumer(&env, GROUP, TOPIC, None);
    let listener = seen.listener(|msgs| {
        if msgs.iter().any(|m| m.reconsume_times < 2) {
            ConsumeResult::ReconsumeLater
        } else {
            ConsumeResult::Success
        }
    });
    consumer.start(listener).await.expect("start");
    seen.wait_for(3, WAIT).await;
    // Both retries are consumed from the retry topic: nothing is left to deliver.
    wait_until("retry topic consumed", WAIT, || async {
        query_offset(
            &env.admin,
            &env.broker(),
            GROUP,
            "%RETRY%RetryTwiceGroup",
            0,
        )
        .await
            == Some(2)
    })
    .await;
    let seen = seen.messages();
    let times: Vec<i32> = seen.iter().map(|m| m.reconsume_times).collect();
    assert_eq!(times, [0, 1, 2]);
    // The retries wait level 3 (500 ms) then level 4 (1 s) after the send-back. Each gap
    // can only be longer (send-back, delivery and the pull add to it); 1.5 s of slack
    // covers that on a loaded two-core CI box while still telling the levels apart from
    // the 10 s and 30 s of RocketMQ's default table and from no delay at all.
    let gaps = [
        consumed_at(&seen[1]) - consumed_at(&seen[0]),
        consumed_at(&seen[2]) - consumed_at(&seen[1]),
    ];
    assert!(
        (500..2000).contains(&gaps[0]) && (1000..2500).contains(&gaps[1]),
        "retry delays {gaps:?} ms, expected about 500 then 1000"
    );
    consumer.shutdown().await;
    producer.shutdown().await;
}

async fn always_failing_ends_in_the_dead_letter_queue_which_mqadmin_lists_and_resends(env: Env) {
    const TOPIC: &str = "RetryForever";
    const GROUP: &str = "RetryForeverGroup";
    const DLQ: &str = "%DLQ%RetryForeverGroup";
    env.create_topic(TOPIC, 1).await;
    let producer = producer(&env.namesrv(), "RetryForeverProducer").await;
    let sent = producer
        .send(
            Message::new(TOPIC, "hopeless")
                .with_tags("TagX")
                .with_keys(&["order-9"]),
        )
        .await
        .expect("send");
    let seen = Seen::default();
    let consumer = consumer(&env, GROUP, TOPIC, Some(2));
    consumer
        .start(seen.listener(|_| ConsumeResult::ReconsumeLater))
        .await
        .expect("start");
    wait_until("a dead letter", WAIT, || async {
        env.length(DLQ).await == 1
    })
    .await;
    consumer.shutdown().await;
    let times: Vec<i32> = seen.messages().iter().map(|m| m.reconsume_times).collect();
    assert_eq!(
        times,
        [0, 1, 2],
        "consumed max reconsume times (2) + 1 times"
    );

    // The dead-letter topic is write-only: no consumer pulls it by accident.
    let topics = call(&env.admin, &env.broker(), &GetAllTopicConfig).await;
    assert_eq!(topics.topic_config_table[DLQ].perm, 2);
    let pull = PullMessageRequestHeader {
        consumer_group: GROUP.to_string(),
        topic: DLQ.to_string(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 1,
        sys_flag: 0,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".to_string()),
        sub_version: 0,
        expression_type: None,
        max_msg_bytes: None,
        broker_name: None,
    };
    let refused = env
        .admin
        .call(&env.broker(), &pull, Duration::from_secs(5))
        .await
        .expect_err("pulling a dead-letter queue is refused");
    assert_eq!(refused.code(), Some(i32::from(ResponseCode::NO_PERMISSION)));

    let admin = Mqadmin::new(&env.namesrv());
    let listed = admin.json(&["queryDlqMsg", "-g", GROUP]).await;
    let dead = &listed["deadLetters"];
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(dead[0]["msgId"], sent.msg_id.as_str());
    assert_eq!(dead[0]["originTopic"], TOPIC);
    assert_eq!(dead[0]["reconsumeTimes"], 3);
    assert_eq!(dead[0]["body"], "hopeless");

    let resent = admin
        .json(&["resendDlqMsg", "-g", GROUP, "-i", &sent.msg_id])
        .await;
    assert_eq!(resent["topic"], TOPIC, "{resent}");
    wait_until("the message back in its topic", WAIT, || async {
        env.length(TOPIC).await == 2
    })
    .await;
    let again = read_queue(&env.admin, &env.broker(), TOPIC, 0).await;
    let m = &again[1];
    assert_eq!(
        (m.id(), &m.body[..]),
        (sent.msg_id.as_str(), &b"hopeless"[..])
    );
    assert_eq!((m.tags(), m.keys()), (Some("TagX"), vec!["order-9"]));
    assert_eq!(m.reconsume_times, 0);
    assert_eq!(m.property(keys::RETRY_TOPIC), None);
    assert_eq!(env.length(DLQ).await, 1, "the dead letter stays");
    producer.shutdown().await;
}

async fn the_group_retry_max_times_applies_when_the_consumer_sets_none(env: Env) {
    const TOPIC: &str = "RetryGroupLimit";
    const GROUP: &str = "RetryGroupLimitGroup";
    env.create_topic(TOPIC, 1).await;
    let mut group = SubscriptionGroupConfig::named(GROUP);
    group.retry_max_times = 1;
    call(&env.admin, &env.broker(), &CreateSubscriptionGroup(group)).await;
    let producer = producer(&env.namesrv(), "RetryGroupLimitProducer").await;
    producer
        .send(Message::new(TOPIC, "twice at most"))
        .await
        .expect("send");
    let seen = Seen::default();
    let consumer = consumer(&env, GROUP, TOPIC, None);
    consumer
        .start(seen.listener(|_| ConsumeResult::ReconsumeLater))
        .await
        .expect("start");
    wait_until("a dead letter", WAIT, || async {
        env.length("%DLQ%RetryGroupLimitGroup").await == 1
    })
    .await;
    consumer.shutdown().await;
    let times: Vec<i32> = seen.messages().iter().map(|m| m.reconsume_times).collect();
    assert_eq!(
        times,
        [0, 1],
        "retryMaxTimes 1: one retry, then the dead-letter queue"
    );
    producer.shutdown().await;
}

async fn a_direct_send_to_the_retry_topic_past_the_limit_is_a_dead_letter(env: Env) {
    // What Java consumers do when a send-back fails: send to the retry topic themselves,
    // with the reconsume count and limit in properties.
    const GROUP: &str = "RetryDirectGroup";
    let producer = producer(&env.namesrv(), "RetryDirectProducer").await;
    let retry = Message::new("%RETRY%RetryDirectGroup", "counted out")
        .with_property(keys::RECONSUME_TIME, "3")
        .with_property(keys::MAX_RECONSUME_TIMES, "2")
        .with_property(keys::RETRY_TOPIC, "Elsewhere");
    producer.send(retry).await.expect("send");
    wait_until("a dead letter", WAIT, || async {
        env.length(&format!("%DLQ%{GROUP}")).await == 1
    })
    .await;
    assert_eq!(env.length("%RETRY%RetryDirectGroup").await, 0);
    producer.shutdown().await;
}
