//! Ordered messages against a real nameserver and broker: the producer's hash selector puts
//! each key in one queue; orderly push consumers lock their queues on the broker and deliver
//! each key's messages in send order while members leave and join; a suspended queue waits
//! while the others go on; retries past the limit go to the dead-letter queue; the broker's
//! lock table grants only free queues and frees those of clients that leave; and, on a broker
//! whose locks lapse after 3 s, a consumer hung in its listener loses a queue it was asked
//! to give up once its lock lapses.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ClientConfig, ConsumeContext, Message, MessageExt, MessageQueue, OrderlyListener,
    OrderlyResult, Producer, PushConsumer, PushConsumerBuilder, QueueSelector,
};
use fennec_protocol::body::{
    ConsumeFromWhere as Cfw, ConsumeType, ConsumerData, HeartbeatData, LockBatchRequestBody,
    MessageModel,
};
use fennec_protocol::header::UnregisterClientRequestHeader;
use fennec_protocol::request::client::Heartbeat;
use fennec_protocol::request::lock::{LockBatchMq, UnlockBatchMq};
use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::call;
use fennec_tests::cluster::BrokerSpec;
use fennec_tests::mqadmin::Mqadmin;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::ordered::{body, orderly_consumer, Journal};
use fennec_tests::poll::wait_until;
use fennec_tests::scenario::run_all;
use fennec_tests::scenarios;
use fennec_tests::sdk::producer;
use futures_util::future::join_all;
use parking_lot::Mutex;

/// Longest any wait lasts (a failing test only).
const WAIT: Duration = Duration::from_secs(120);

type Env = Arc<OneBroker>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_messages() {
    let env: Env = Arc::new(OneBroker::start(BrokerSpec::new("broker-a")));
    run_all(scenarios![env;
        per_key_order_holds_while_consumers_leave_and_join,
        a_suspended_queue_waits_while_the_others_go_on,
        retries_past_the_limit_go_to_the_dead_letter_queue,
        the_lock_table_grants_free_queues_and_frees_departed_clients,
    ])
    .await;
}

/// Sends seqs `seqs` of every key, each key's messages in order with its hash selector;
/// ten keys at a time are sent concurrently.
async fn send_keyed(p: &Producer, topic: &str, keys: &[String], seqs: Range<u32>) {
    let lanes = keys.chunks(keys.len().div_ceil(10)).map(|lane| {
        let seqs = seqs.clone();
        async move {
            for seq in seqs {
                for key in lane {
                    let msg = Message::new(topic, body(key, seq));
                    p.send_with_selector(msg, &QueueSelector::by_hash(key.as_str()))
                        .await
                        .unwrap_or_else(|e| panic!("send {key} {seq}: {e}"));
                }
            }
        }
    });
    join_all(lanes).await;
}

async fn per_key_order_holds_while_consumers_leave_and_join(env: Env) {
    const TOPIC: &str = "OrderedKeys";
    const GROUP: &str = "OrderedKeysGroup";
    const KEYS: usize = 100;
    const PER_KEY: u32 = 100;
    env.create_topic(TOPIC, 8).await;
    let keys: Vec<String> = (0..KEYS).map(|k| format!("order-{k}")).collect();
    let journal = Journal::default();
    let mut consumers = Vec::new();
    for name in ["keys-c1", "keys-c2", "keys-c3"] {
        let c = orderly_consumer(&env.namesrv(), GROUP, name, TOPIC);
        c.start_orderly(journal.listener(name))
            .await
            .expect("start orderly consumer");
        consumers.push(c);
    }
    let producer = producer(&env.namesrv(), "OrderedKeysProducer").await;
    let received = |n: usize| {
        let journal = journal.clone();
        async move {
            wait_until(&format!("{n} distinct deliveries"), WAIT, || async {
                journal.distinct() >= n
            })
            .await;
        }
    };

    send_keyed(&producer, TOPIC, &keys, 0..40).await;
    received(2_000).await;
    // One member leaves mid-stream; the others take its queues over.
    consumers.remove(0).shutdown().await;
    send_keyed(&producer, TOPIC, &keys, 40..70).await;
    received(5_500).await;
    // Another joins: the others give it a share of their queues.
    let c4 = orderly_consumer(&env.namesrv(), GROUP, "keys-c4", TOPIC);
    c4.start_orderly(journal.listener("keys-c4"))
        .await
        .expect("start the fourth consumer");
    wait_until("the new member owning queues", WAIT, || async {
        c4.assignment().await.iter().any(|mq| mq.topic == TOPIC)
    })
    .await;
    send_keyed(&producer, TOPIC, &keys, 70..PER_KEY).await;
    received(KEYS * PER_KEY as usize).await;

    let v = journal.verdict(KEYS, PER_KEY);
    eprintln!(
        "ordered delivery: {} deliveries of {} messages, {} duplicates across rebalances, per consumer {:?}",
        v.deliveries, v.distinct, v.duplicates, v.per_consumer
    );
    assert!(
        v.violations.is_empty(),
        "{} order violations, first ones: {:#?}",
        v.violations.len(),
        &v.violations[..v.violations.len().min(20)]
    );
    assert!(
        v.per_consumer.get("keys-c4").is_some_and(|n| *n > 0),
        "the member that joined consumed: {:?}",
        v.per_consumer
    );
    c4.shutdown().await;
    for c in consumers {
        c.shutdown().await;
    }
    producer.shutdown().await;
}

/// Bodies delivered, in order, and the reconsume times of every call for one message.
#[derive(Clone, Default)]
struct Script {
    delivered: Arc<Mutex<Vec<String>>>,
    attempts: Arc<Mutex<Vec<i32>>>,
    released: Arc<AtomicBool>,
}

impl Script {
    /// Suspends `stuck` (recording each attempt) until released; records the rest.
    fn listener(&self, stuck: &'static str) -> impl OrderlyListener {
        let script = self.clone();
        move |msgs: Vec<MessageExt>, _: ConsumeContext| {
            let script = script.clone();
            async move {
                for m in &msgs {
                    let text = String::from_utf8_lossy(&m.body).into_owned();
                    if text == stuck {
                        script.attempts.lock().push(m.reconsume_times);
                        if !script.released.load(Ordering::SeqCst) {
                            return OrderlyResult::SuspendCurrentQueueAMoment;
                        }
                    }
                    script.delivered.lock().push(text);
                }
                OrderlyResult::Success
            }
        }
    }

    /// Builds `consumer` (from the first offset), subscribes it to `topic` and starts it
    /// with this script's listener, `stuck` suspending.
    async fn start(
        &self,
        env: &Env,
        consumer: PushConsumerBuilder,
        topic: &str,
        stuck: &'static str,
    ) -> PushConsumer {
        let consumer = consumer
            .namesrv_addr(&env.namesrv())
            .consume_from(Cfw::ConsumeFromFirstOffset)
            .build()
            .expect("valid consumer settings");
        consumer.subscribe(topic, "*").expect("subscribe");
        consumer
            .start_orderly(self.listener(stuck))
            .await
            .expect("start");
        consumer
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().clone()
    }

    fn of_queue(&self, q: usize) -> Vec<String> {
        let prefix = format!("q{q} ");
        self.delivered()
            .into_iter()
            .filter(|b| b.starts_with(&prefix))
            .collect()
    }
}

/// The selector that sends `"q<N> ..."` to queue N.
fn by_body_prefix() -> QueueSelector {
    QueueSelector::custom(|queues, msg| {
        let text = String::from_utf8_lossy(&msg.body);
        let n: usize = text
            .strip_prefix('q')
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        n % queues.len()
    })
}

async fn send_bodies(p: &Producer, topic: &str, bodies: impl IntoIterator<Item = String>) {
    for b in bodies {
        p.send_with_selector(Message::new(topic, b.clone()), &by_body_prefix())
            .await
            .unwrap_or_else(|e| panic!("send {b}: {e}"));
    }
}

async fn a_suspended_queue_waits_while_the_others_go_on(env: Env) {
    const TOPIC: &str = "OrderedSuspend";
    env.create_topic(TOPIC, 4).await;
    let producer = producer(&env.namesrv(), "OrderedSuspendProducer").await;
    let script = Script::default();
    let consumer = PushConsumer::builder("OrderedSuspendGroup")
        .instance_name("suspend-c1")
        .suspend_current_queue_time(Duration::from_millis(100));
    let consumer = script.start(&env, consumer, TOPIC, "q0 1").await;
    send_bodies(&producer, TOPIC, (0..4).map(|i| format!("q0 {i}"))).await;
    wait_until("queue 0 stuck on its second message", WAIT, || async {
        script.attempts.lock().len() >= 2
    })
    .await;

    send_bodies(
        &producer,
        TOPIC,
        (1..4).flat_map(|q| (0..4).map(move |i| format!("q{q} {i}"))),
    )
    .await;
    wait_until("every message of queues 1 to 3", WAIT, || async {
        (1..4).all(|q| script.of_queue(q).len() == 4)
    })
    .await;
    for q in 1..4 {
        let expected: Vec<String> = (0..4).map(|i| format!("q{q} {i}")).collect();
        assert_eq!(script.of_queue(q), expected, "queue {q} in order");
    }
    assert_eq!(
        script.of_queue(0),
        ["q0 0"],
        "queue 0 waits behind its suspended message"
    );

    script.released.store(true, Ordering::SeqCst);
    wait_until("the rest of queue 0", WAIT, || async {
        script.of_queue(0).len() == 4
    })
    .await;
    let expected: Vec<String> = (0..4).map(|i| format!("q0 {i}")).collect();
    assert_eq!(script.of_queue(0), expected);
    let attempts = script.attempts.lock().clone();
    let counted: Vec<i32> = (0..).take(attempts.len()).collect();
    assert_eq!(attempts, counted, "each retry counts one more reconsume");
    consumer.shutdown().await;
    producer.shutdown().await;
}

async fn retries_past_the_limit_go_to_the_dead_letter_queue(env: Env) {
    const TOPIC: &str = "OrderedDead";
    const GROUP: &str = "OrderedDeadGroup";
    env.create_topic(TOPIC, 1).await;
    let producer = producer(&env.namesrv(), "OrderedDeadProducer").await;
    send_bodies(&producer, TOPIC, ["q0 0", "q0 1", "q0 2"].map(String::from)).await;
    let script = Script::default();
    let consumer = PushConsumer::builder(GROUP)
        .instance_name("dead-c1")
        .suspend_current_queue_time(Duration::from_millis(50))
        .max_reconsume_times(2);
    let consumer = script.start(&env, consumer, TOPIC, "q0 1").await;
    wait_until("the message after the dead one", WAIT, || async {
        script.delivered().len() == 2
    })
    .await;
    assert_eq!(script.delivered(), ["q0 0", "q0 2"]);
    assert_eq!(
        *script.attempts.lock(),
        [0, 1, 2],
        "1 + max reconsume times"
    );
    let dlq = format!("%DLQ%{GROUP}");
    wait_until("a dead letter", WAIT, || async {
        env.length(&dlq).await == 1
    })
    .await;
    let listed = Mqadmin::new(&env.namesrv())
        .json(&["queryDlqMsg", "-g", GROUP])
        .await;
    let dead = &listed["deadLetters"];
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(dead[0]["originTopic"], TOPIC, "{listed}");
    assert_eq!(dead[0]["body"], "q0 1", "{listed}");
    consumer.shutdown().await;
    producer.shutdown().await;
}

/// A raw lock request of client `client` for `queues` of `topic` in `group`.
fn lock_body(group: &str, client: &str, topic: &str, queues: &[i32]) -> LockBatchRequestBody {
    LockBatchRequestBody {
        client_id: client.to_string(),
        consumer_group: group.to_string(),
        mq_set: queues
            .iter()
            .map(|q| MessageQueue::new(topic, "broker-a", *q))
            .collect(),
        only_this_broker: false,
    }
}

/// A heartbeat making `client` a member of `group`.
fn member(group: &str, client: &str) -> Heartbeat {
    Heartbeat(HeartbeatData {
        client_id: client.to_string(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: Cfw::ConsumeFromFirstOffset,
            consume_type: ConsumeType::ConsumePassively,
            group_name: group.to_string(),
            message_model: MessageModel::Clustering,
            subscription_data_set: Vec::new(),
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    })
}

async fn the_lock_table_grants_free_queues_and_frees_departed_clients(env: Env) {
    const TOPIC: &str = "OrderedLocks";
    const GROUP: &str = "OrderedLocksGroup";
    let broker = env.broker();
    let x = &env.admin;
    let lock = |client: &RemotingClient, who: &'static str, queues: &'static [i32]| {
        let request = LockBatchMq(lock_body(GROUP, who, TOPIC, queues));
        let (client, broker) = (client.clone(), broker.clone());
        async move {
            let granted = call(&client, &broker, &request).await;
            granted.iter().map(|mq| mq.queue_id).collect::<Vec<_>>()
        }
    };
    let y = RemotingClient::default();
    call(&y, &broker, &member(GROUP, "client-y")).await;
    assert_eq!(lock(&y, "client-y", &[0, 1]).await, [0, 1]);
    assert_eq!(
        lock(x, "client-x", &[1, 2]).await,
        [2],
        "only the free queue"
    );
    assert_eq!(lock(&y, "client-y", &[0, 1]).await, [0, 1], "renewed");
    // Unlocking someone else's queue does nothing.
    call(
        x,
        &broker,
        &UnlockBatchMq(lock_body(GROUP, "client-x", TOPIC, &[1])),
    )
    .await;
    assert!(lock(x, "client-x", &[1]).await.is_empty());
    // Another group has its own locks.
    let other = LockBatchMq(lock_body("OtherGroup", "client-x", TOPIC, &[1]));
    assert_eq!(call(x, &broker, &other).await.len(), 1);

    // A client that unregisters gives its queues up.
    let leave = UnregisterClientRequestHeader {
        client_id: "client-y".to_string(),
        producer_group: None,
        consumer_group: Some(GROUP.to_string()),
    };
    call(&y, &broker, &leave).await;
    assert_eq!(lock(x, "client-x", &[0, 1]).await, [0, 1]);

    // So does one whose connection closes.
    call(&y, &broker, &member(GROUP, "client-y")).await;
    assert_eq!(lock(&y, "client-y", &[3]).await, [3]);
    assert!(lock(x, "client-x", &[3]).await.is_empty());
    y.shutdown().await;
    wait_until("the closed client's lock gone", WAIT, || async {
        lock(x, "client-x", &[3]).await == [3]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_consumer_loses_a_queue_it_gave_up_once_its_lock_lapses() {
    const TOPIC: &str = "OrderedHang";
    const GROUP: &str = "OrderedHangGroup";
    let env =
        OneBroker::start(BrokerSpec::new("broker-a").with("rebalanceLockMaxLiveTime", "3000"));
    env.create_topic(TOPIC, 2).await;
    let producer = producer(&env.namesrv(), "OrderedHangProducer").await;
    send_bodies(&producer, TOPIC, ["q1 0", "q1 1"].map(String::from)).await;

    // Consumer a owns both queues and hangs in the listener on queue 1's first message.
    let hung = Arc::new(AtomicUsize::new(0));
    let unblock = Arc::new(tokio::sync::Notify::new());
    let a = orderly_builder(&env, GROUP, "hang-a");
    a.subscribe(TOPIC, "*").expect("subscribe");
    let (h, u) = (hung.clone(), unblock.clone());
    a.start_orderly(move |msgs: Vec<MessageExt>, _: ConsumeContext| {
        let (h, u) = (h.clone(), u.clone());
        async move {
            if msgs.iter().any(|m| &m.body[..] == b"q1 0") {
                h.fetch_add(1, Ordering::SeqCst);
                u.notified().await;
            }
            OrderlyResult::Success
        }
    })
    .await
    .expect("start a");
    wait_until("a hung on queue 1", WAIT, || async {
        hung.load(Ordering::SeqCst) == 1
    })
    .await;

    // Consumer b joins: the split gives it queue 1, which a cannot unlock while it hangs.
    let journal = Journal::default();
    let b = orderly_builder(&env, GROUP, "hang-b");
    b.subscribe(TOPIC, "*").expect("subscribe");
    b.start_orderly(journal.listener("hang-b"))
        .await
        .expect("start b");
    wait_until(
        "b consuming queue 1 after a's lock lapsed",
        WAIT,
        || async { journal.len() == 2 },
    )
    .await;
    let got: Vec<(String, u32)> = journal
        .deliveries()
        .into_iter()
        .map(|d| (d.key, d.seq))
        .collect();
    assert_eq!(got, [("q1".to_string(), 0), ("q1".to_string(), 1)]);
    assert_eq!(hung.load(Ordering::SeqCst), 1, "a is still in its listener");
    assert_eq!(
        b.assignment()
            .await
            .into_iter()
            .filter(|mq| mq.topic == TOPIC)
            .map(|mq| mq.queue_id)
            .collect::<Vec<_>>(),
        [1]
    );
    unblock.notify_one();
    b.shutdown().await;
    a.shutdown().await;
    producer.shutdown().await;
}

/// An orderly consumer named `name` that renews its locks every 500 ms (the broker keeps
/// them 3 s).
fn orderly_builder(env: &OneBroker, group: &str, name: &str) -> PushConsumer {
    let config = ClientConfig::default().with_namesrv_addr(&env.namesrv());
    PushConsumer::builder(group)
        .client_config(config)
        .instance_name(name)
        .consume_from(Cfw::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(500))
        .lock_renew_interval(Duration::from_millis(500))
        .build()
        .expect("valid consumer settings")
}
