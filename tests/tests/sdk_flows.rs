//! The SDK's flows against a real nameserver and ONE real broker behind a fault proxy:
//! sends (single, batch, async, oneway, through TBW102), push consumption with tag filters,
//! rebalancing, broadcasting, a refused send-back, a broker-driven offset reset, requests
//! the client does not serve, and the pull consumer. Every flow is a scenario on one shared
//! cluster (distinct topics and groups; only the send-back scenario injects a fault, on the
//! one code no other scenario sends); broker state is read with real requests straight to
//! the broker, and what the clients sent from the proxy's log.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ClientError, ConsumeFromWhere, Message, MessageExt, MessageModel, MessageQueue, Producer,
    PullConsumer, PushConsumer, SendStatus,
};
use fennec_protocol::body::HeartbeatData;
use fennec_protocol::decode_body;
use fennec_protocol::header::{ConsumerSendMsgBackRequestHeader, ResetOffsetRequestHeader};
use fennec_remoting::{RemotingCommand, RequestCode, ResponseCode};
use fennec_tests::broker_api::read_queue;
use fennec_tests::poll::{poll_for, wait_until};
use fennec_tests::proxied::{ProxiedCluster, WAIT};
use fennec_tests::scenario::run_all;
use fennec_tests::scenarios;
use fennec_tests::sdk::{producer, Seen};
use fennec_tools::admin::AdminClient;
use parking_lot::Mutex;

/// The one broker.
const BROKER: usize = 0;

type Env = Arc<ProxiedCluster>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_flows_against_a_real_broker_behind_a_proxy() {
    let env: Env = Arc::new(ProxiedCluster::start(&["broker-a"]));
    run_all(scenarios![env;
        send_then_push_consume_with_tag_filter,
        refused_send_back_is_consumed_again_locally,
        group_members_share_queues_and_rebalance_when_one_leaves,
        broadcasting_consumers_each_get_everything_and_keep_offsets_locally,
        unknown_topic_is_created_through_tbw102,
        batch_async_and_oneway_sends,
        broker_reset_moves_a_push_consumer_back,
        clients_refuse_requests_they_do_not_serve,
        pull_consumer_assign_poll_seek_commit,
        pull_consumer_subscribes_with_tag_filter,
    ])
    .await;
}

/// A push consumer of `group` from the first offset, with a short broker hold so that
/// shutdowns and rebalances do not wait on held pulls.
fn push_consumer(env: &Env, group: &str) -> PushConsumer {
    PushConsumer::builder(group)
        .namesrv_addr(&env.namesrv())
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(300))
        .build()
        .expect("valid consumer settings")
}

fn pull_consumer(env: &Env, group: &str, auto_commit: bool) -> PullConsumer {
    PullConsumer::builder(group)
        .namesrv_addr(&env.namesrv())
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(300))
        .auto_commit(auto_commit)
        .build()
        .expect("valid consumer settings")
}

fn topic_queues(queues: &BTreeSet<MessageQueue>, topic: &str) -> BTreeSet<i32> {
    queues
        .iter()
        .filter(|q| q.topic == topic)
        .map(|q| q.queue_id)
        .collect()
}

/// Polls `consumer` until it returned `n` messages in all.
async fn poll_n(consumer: &PullConsumer, n: usize) -> Vec<MessageExt> {
    let got = Mutex::new(Vec::new());
    poll_for(&format!("{n} polled messages"), WAIT, || async {
        let batch = consumer
            .poll(Duration::from_millis(200))
            .await
            .expect("poll");
        let mut got = got.lock();
        got.extend(batch);
        (got.len() >= n).then_some(())
    })
    .await;
    got.into_inner()
}

async fn send_bodies(p: &Producer, topic: &str, prefix: &str, n: usize) {
    for i in 0..n {
        p.send(Message::new(topic, format!("{prefix}{i}")))
            .await
            .expect("send");
    }
}

async fn send_then_push_consume_with_tag_filter(env: Env) {
    const TOPIC: &str = "FlowTagged";
    const GROUP: &str = "FlowTaggedGroup";
    const PRODUCER: &str = "FlowTaggedProducer";
    env.create_topic(TOPIC, 4, &[BROKER]).await;
    let producer = producer(&env.namesrv(), PRODUCER).await;
    let mut sent = HashMap::new();
    for i in 0..10 {
        let tag = if i % 2 == 0 { "A" } else { "B" };
        let msg = Message::new(TOPIC, format!("m{i}"))
            .with_tags(tag)
            .with_keys(&[format!("k{i}")]);
        let r = producer.send(msg).await.expect("send");
        assert_eq!(r.status, SendStatus::SendOk);
        assert_eq!(r.message_queue.topic, TOPIC);
        assert_eq!(r.transaction_id.as_deref(), Some(r.msg_id.as_str()));
        assert_eq!(r.offset_msg_id.len(), 32);
        sent.insert(r.msg_id.clone(), (i, tag));
    }
    // Round-robin spreads the sends over the four queues.
    let lengths = env.stored(BROKER, TOPIC, 4, 10).await;
    assert!(lengths.iter().all(|n| (2..=3).contains(n)), "{lengths:?}");
    let headers = env.sends(BROKER, TOPIC);
    assert_eq!(headers.len(), 10);
    assert!(
        headers.iter().all(|h| h.producer_group == PRODUCER
            && h.default_topic == "TBW102"
            && h.default_topic_queue_nums == 4
            && h.batch == Some(false)),
        "{headers:?}"
    );

    let seen = Seen::default();
    let consumer = push_consumer(&env, GROUP);
    consumer.subscribe(TOPIC, "A").expect("subscribe");
    consumer.start(seen.recorder()).await.expect("start");
    seen.wait_for(5, WAIT).await;
    for m in seen.messages() {
        let (i, tag) = sent[m.id()];
        assert_eq!(tag, "A");
        assert_eq!(m.topic, TOPIC);
        assert_eq!(m.body, format!("m{i}").as_bytes());
        assert_eq!(m.keys(), vec![format!("k{i}")]);
        assert_eq!(m.property("MIN_OFFSET"), Some("0"));
        assert!(m.property("MAX_OFFSET").is_some());
        assert!(m.property("CONSUME_START_TIME").is_some());
    }
    // The consumed offsets reach the broker, tag-B tails included once nothing is in flight.
    wait_until("offsets committed to the queue ends", WAIT, || async {
        let mut committed = Vec::new();
        for q in 0..4 {
            committed.push(env.committed(BROKER, GROUP, TOPIC, q).await.unwrap_or(-1));
        }
        committed == lengths
    })
    .await;
    assert_eq!(seen.len(), 5, "no B message and no duplicate");
    consumer.shutdown().await;
    assert!(env.members(BROKER, GROUP).await.is_empty(), "unregistered");
    producer.shutdown().await;
}

async fn refused_send_back_is_consumed_again_locally(env: Env) {
    const TOPIC: &str = "FlowSendBack";
    const GROUP: &str = "FlowSendBackGroup";
    // The broker stores send-backs (tests/tests/consume_retry.rs); the proxy refuses them
    // here so that the consumer's local retry runs.
    let proxy = &env.proxies[BROKER];
    proxy.fail(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        ResponseCode::SYSTEM_ERROR,
        "send-back refused by the test proxy",
    );
    env.create_topic(TOPIC, 1, &[BROKER]).await;
    let producer = producer(&env.namesrv(), "FlowSendBackProducer").await;
    producer
        .send(Message::new(TOPIC, "stubborn"))
        .await
        .expect("send");

    let seen = Seen::default();
    let consumer = push_consumer(&env, GROUP);
    consumer.subscribe(TOPIC, "*").expect("subscribe");
    consumer
        .start(seen.failing_first_delivery())
        .await
        .expect("start");
    seen.wait_for(1, WAIT).await;
    // While the message waits for its local retry, the offset must not pass it.
    assert_ne!(env.committed(BROKER, GROUP, TOPIC, 0).await, Some(1));
    seen.wait_for(2, WAIT).await;
    assert_eq!(seen.messages()[1].reconsume_times, 1);
    let backs: Vec<_> = proxy
        .requests_of(RequestCode::CONSUMER_SEND_MSG_BACK)
        .into_iter()
        .filter(|r| {
            r.header::<ConsumerSendMsgBackRequestHeader>()
                .expect("a send-back header")
                .group
                == GROUP
        })
        .collect();
    assert!(
        !backs.is_empty(),
        "the client tried to send the message back"
    );
    assert!(
        backs.iter().all(|r| r.fault.is_some()),
        "no send-back reached the broker"
    );
    consumer.shutdown().await;
    assert_eq!(env.committed(BROKER, GROUP, TOPIC, 0).await, Some(1));
    producer.shutdown().await;
}

async fn group_members_share_queues_and_rebalance_when_one_leaves(env: Env) {
    const TOPIC: &str = "FlowShared";
    const GROUP: &str = "FlowSharedGroup";
    env.create_topic(TOPIC, 4, &[BROKER]).await;
    let seen = Seen::default();
    let c1 = push_consumer(&env, GROUP);
    c1.subscribe(TOPIC, "*").expect("subscribe");
    c1.start(seen.recorder()).await.expect("start");
    assert_eq!(topic_queues(&c1.assignment().await, TOPIC).len(), 4);

    let c2 = push_consumer(&env, GROUP);
    c2.subscribe(TOPIC, "*").expect("subscribe");
    c2.start(seen.recorder()).await.expect("start");
    // c2's heartbeat makes the broker notify c1, which rebalances at once.
    let split = poll_for("two queues each", WAIT, || async {
        let split = (
            topic_queues(&c1.assignment().await, TOPIC),
            topic_queues(&c2.assignment().await, TOPIC),
        );
        (split.0.len() == 2 && split.1.len() == 2).then_some(split)
    })
    .await;
    assert!(split.0.is_disjoint(&split.1), "{split:?}");
    assert_eq!(env.members(BROKER, GROUP).await.len(), 2);

    c2.shutdown().await;
    wait_until("c1 owns all four queues again", WAIT, || async {
        topic_queues(&c1.assignment().await, TOPIC).len() == 4
    })
    .await;
    c1.shutdown().await;
}

async fn broadcasting_consumers_each_get_everything_and_keep_offsets_locally(env: Env) {
    const TOPIC: &str = "FlowBroadcast";
    const GROUP: &str = "FlowBroadcastGroup";
    env.create_topic(TOPIC, 2, &[BROKER]).await;
    let producer = producer(&env.namesrv(), "FlowBroadcastProducer").await;
    send_bodies(&producer, TOPIC, "b", 4).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut consumers = Vec::new();
    let mut seen = Vec::new();
    for n in 0..2 {
        let s = Seen::default();
        let c = PushConsumer::builder(GROUP)
            .namesrv_addr(&env.namesrv())
            .message_model(MessageModel::Broadcasting)
            .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
            .broker_suspend(Duration::from_millis(300))
            .offset_file(dir.path().join(format!("c{n}.json")))
            .build()
            .expect("valid consumer settings");
        c.subscribe(TOPIC, "*").expect("subscribe");
        c.start(s.recorder()).await.expect("start");
        consumers.push(c);
        seen.push(s);
    }
    for s in &seen {
        s.wait_for(4, WAIT).await;
    }
    for c in &consumers {
        c.shutdown().await;
    }
    for s in &seen {
        assert_eq!(s.len(), 4);
    }
    let lengths = env.stored(BROKER, TOPIC, 2, 4).await;
    for n in 0..2 {
        let text = std::fs::read_to_string(dir.path().join(format!("c{n}.json")))
            .expect("offset file written");
        for (q, len) in lengths.iter().enumerate() {
            let entry = format!(
                r#"{{"brokerName":"{}","queueId":{q},"topic":"{TOPIC}"}}:{len}"#,
                env.name(BROKER)
            );
            assert!(text.contains(&entry), "{text} lacks {entry}");
        }
    }
    for q in 0..2 {
        assert_eq!(
            env.committed(BROKER, GROUP, TOPIC, q).await,
            None,
            "never to the broker"
        );
    }
    producer.shutdown().await;
}

async fn unknown_topic_is_created_through_tbw102(env: Env) {
    const TOPIC: &str = "FlowFresh";
    let producer = producer(&env.namesrv(), "FlowFreshProducer").await;
    let r = producer
        .send(Message::new(TOPIC, "first"))
        .await
        .expect("send");
    assert_eq!(r.message_queue.topic, TOPIC);
    // The broker created the topic with the producer's default queue count.
    let admin = AdminClient::new(vec![env.namesrv()], WAIT);
    let stats = admin
        .topic_stats(&env.direct(BROKER), TOPIC)
        .await
        .expect("the broker serves the new topic");
    assert_eq!(stats.offset_table.0.len(), 4, "{stats:?}");
    admin.shutdown().await;
    let headers = env.sends(BROKER, TOPIC);
    assert_eq!(headers[0].default_topic, "TBW102");
    producer.shutdown().await;
}

async fn batch_async_and_oneway_sends(env: Env) {
    const TOPIC: &str = "FlowModes";
    env.create_topic(TOPIC, 1, &[BROKER]).await;
    let producer = producer(&env.namesrv(), "FlowModesProducer").await;
    let batch = vec![
        Message::new(TOPIC, "b0").with_tags("A"),
        Message::new(TOPIC, "b1"),
        Message::new(TOPIC, "b2"),
    ];
    let r = producer.send_batch(batch).await.expect("batch send");
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3);
    assert_eq!(r.offset_msg_id.split(',').count(), 3);
    assert_eq!(r.queue_offset, 0);

    let (tx, rx) = tokio::sync::oneshot::channel();
    producer.send_async(Message::new(TOPIC, "async"), move |res| {
        let _ = tx.send(res);
    });
    let res = tokio::time::timeout(WAIT, rx)
        .await
        .expect("the callback ran")
        .expect("the callback sent its result");
    assert_eq!(res.expect("async send").queue_offset, 3);

    producer
        .send_oneway(Message::new(TOPIC, "oneway"))
        .await
        .expect("oneway send");
    env.stored(BROKER, TOPIC, 1, 5).await;

    let stored = read_queue(&env.admin, &env.direct(BROKER), TOPIC, 0).await;
    let stored_ids: Vec<&str> = stored[..3].iter().map(|m| m.id()).collect();
    assert_eq!(stored_ids, ids, "each batch member keeps its own UNIQ_KEY");

    // A closed producer refuses, and says so to the callback.
    producer.shutdown().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer.send_async(Message::new(TOPIC, "late"), move |res| {
        let _ = tx.send(res);
    });
    assert!(matches!(
        rx.await.expect("the callback ran"),
        Err(ClientError::NotRunning)
    ));
}

async fn broker_reset_moves_a_push_consumer_back(env: Env) {
    const TOPIC: &str = "FlowReset";
    const GROUP: &str = "FlowResetGroup";
    env.create_topic(TOPIC, 1, &[BROKER]).await;
    let producer = producer(&env.namesrv(), "FlowResetProducer").await;
    send_bodies(&producer, TOPIC, "r", 3).await;
    let seen = Seen::default();
    let consumer = push_consumer(&env, GROUP);
    consumer.subscribe(TOPIC, "*").expect("subscribe");
    consumer.start(seen.recorder()).await.expect("start");
    seen.wait_for(3, WAIT).await;
    // INVOKE_BROKER_TO_RESET_OFFSET: the broker commits offset 1 and pushes it to the group.
    let admin = AdminClient::new(vec![env.namesrv()], WAIT);
    let reset = ResetOffsetRequestHeader {
        topic: TOPIC.to_string(),
        group: GROUP.to_string(),
        timestamp: 0,
        is_force: true,
        queue_id: Some(0),
        offset: Some(1),
    };
    let table = admin
        .reset_offset(&env.direct(BROKER), &reset)
        .await
        .expect("reset accepted");
    admin.shutdown().await;
    assert_eq!(
        table.offset_table.0,
        vec![(MessageQueue::new(TOPIC, env.name(BROKER), 0), 1)]
    );
    wait_until("redelivery from offset 1", WAIT, || async {
        seen.len() >= 5
    })
    .await;
    // Listeners run concurrently: order within each pass is free.
    let mut offsets: Vec<i64> = seen.messages().iter().map(|m| m.queue_offset).collect();
    offsets[..3].sort_unstable();
    offsets[3..].sort_unstable();
    assert_eq!(offsets, vec![0, 1, 2, 1, 2]);
    consumer.shutdown().await;
    assert_eq!(env.committed(BROKER, GROUP, TOPIC, 0).await, Some(3));
    producer.shutdown().await;
}

async fn clients_refuse_requests_they_do_not_serve(env: Env) {
    const TOPIC: &str = "FlowRefuse";
    const GROUP: &str = "FlowRefuseGroup";
    env.create_topic(TOPIC, 1, &[BROKER]).await;
    let consumer = push_consumer(&env, GROUP);
    consumer.subscribe(TOPIC, "*").expect("subscribe");
    consumer
        .start(Seen::default().recorder())
        .await
        .expect("start");
    let proxy = &env.proxies[BROKER];
    let connection = poll_for(
        "the consumer's heartbeat through the proxy",
        WAIT,
        || async {
            proxy.connection_that_sent(|r| {
                r.is(RequestCode::HEART_BEAT)
                    && decode_body::<HeartbeatData>(&r.body)
                        .is_ok_and(|hb| hb.consumer_data_set.iter().any(|c| c.group_name == GROUP))
            })
        },
    )
    .await;
    let running_info = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO);
    let resp = proxy
        .ask_client(connection, running_info, WAIT)
        .await
        .expect("an answer from the client");
    assert_eq!(resp.code, 3, "REQUEST_CODE_NOT_SUPPORTED");
    assert_eq!(resp.remark_str(), " request type 307 not supported");
    consumer.shutdown().await;
}

async fn pull_consumer_assign_poll_seek_commit(env: Env) {
    const TOPIC: &str = "FlowPull";
    const GROUP: &str = "FlowPullGroup";
    env.create_topic(TOPIC, 2, &[BROKER]).await;
    let producer = producer(&env.namesrv(), "FlowPullProducer").await;
    send_bodies(&producer, TOPIC, "p", 6).await;
    let consumer = pull_consumer(&env, GROUP, false);
    assert!(matches!(
        consumer.poll(Duration::from_millis(10)).await,
        Err(ClientError::NotRunning)
    ));
    consumer.start().await.expect("start");
    let queues = consumer
        .fetch_message_queues(TOPIC)
        .await
        .expect("queues of the topic");
    assert_eq!(queues.len(), 2);
    consumer.assign(queues.clone()).await.expect("assign");
    assert!(consumer.subscribe(TOPIC, "*").is_err(), "modes do not mix");
    assert_eq!(poll_n(&consumer, 6).await.len(), 6);

    let q0 = &queues[0];
    let lengths = env.stored(BROKER, TOPIC, 2, 6).await;
    let q0_len = lengths[usize::try_from(q0.queue_id).expect("queue id")];
    consumer.seek_to_begin(q0).await.expect("seek to begin");
    let again = poll_n(&consumer, usize::try_from(q0_len).expect("length")).await;
    assert_eq!(again.len() as i64, q0_len);
    assert!(again.iter().all(|m| m.queue_id == q0.queue_id));
    assert!(
        consumer.seek(q0, q0_len + 1).await.is_err(),
        "beyond the max offset"
    );

    assert_eq!(env.committed(BROKER, GROUP, TOPIC, 0).await, None);
    consumer.commit_sync().await.expect("commit");
    for q in &queues {
        let len = lengths[usize::try_from(q.queue_id).expect("queue id")];
        assert_eq!(
            env.committed(BROKER, GROUP, TOPIC, q.queue_id).await,
            Some(len)
        );
        assert_eq!(consumer.committed(q).await.expect("committed"), Some(len));
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}

async fn pull_consumer_subscribes_with_tag_filter(env: Env) {
    const TOPIC: &str = "FlowPullTagged";
    env.create_topic(TOPIC, 2, &[BROKER]).await;
    let producer = producer(&env.namesrv(), "FlowPullTaggedProducer").await;
    for i in 0..6 {
        let tag = if i < 3 { "keep" } else { "skip" };
        producer
            .send(Message::new(TOPIC, format!("s{i}")).with_tags(tag))
            .await
            .expect("send");
    }
    // A last matching message on each queue: once both are polled, everything before them
    // has been delivered or filtered out.
    for q in 0..2 {
        let mq = MessageQueue::new(TOPIC, env.name(BROKER), q);
        producer
            .send_to_queue(
                Message::new(TOPIC, format!("last{q}")).with_tags("keep"),
                &mq,
            )
            .await
            .expect("send to queue");
    }
    let consumer = pull_consumer(&env, "FlowPullTaggedGroup", true);
    consumer.subscribe(TOPIC, "keep").expect("subscribe");
    consumer.start().await.expect("start");
    let got = poll_n(&consumer, 5).await;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|m| m.tags() == Some("keep")));
    let bodies: BTreeSet<&[u8]> = got.iter().map(|m| &m.body[..]).collect();
    assert_eq!(
        bodies,
        BTreeSet::from([&b"s0"[..], b"s1", b"s2", b"last0", b"last1"])
    );
    assert_eq!(topic_queues(&consumer.assignment().await, TOPIC).len(), 2);
    consumer.shutdown().await;
    producer.shutdown().await;
}
