//! The SDK against an in-process mock name server and brokers (`support`): sends, push and
//! pull consumption, retries, rebalancing, offsets. End-to-end tests against the real
//! Fennec binaries live in the workspace's `tests` crate.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ClientConfig, ClientError, ConsumeContext, ConsumeFromWhere, ConsumeResult, Message,
    MessageExt, MessageListener, MessageModel, MessageQueue, Producer, PullConsumer, PushConsumer,
    SendStatus,
};
use parking_lot::Mutex;
use support::{eventually, Cluster};

fn config(cluster: &Cluster) -> ClientConfig {
    ClientConfig {
        namesrv_addrs: vec![cluster.namesrv.clone()],
        client_ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        ..Default::default()
    }
}

async fn producer(cluster: &Cluster) -> Producer {
    let p = Producer::builder("PG")
        .client_config(config(cluster))
        .build()
        .expect("valid producer settings");
    p.start().await.expect("producer starts");
    p
}

fn push_consumer(cluster: &Cluster, group: &str) -> PushConsumer {
    PushConsumer::builder(group)
        .client_config(config(cluster))
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(300))
        .build()
        .expect("valid consumer settings")
}

type Seen = Arc<Mutex<Vec<MessageExt>>>;

/// A listener that records every message and succeeds.
fn recorder(seen: &Seen) -> impl MessageListener {
    let seen = seen.clone();
    move |msgs: Vec<MessageExt>, _: ConsumeContext| {
        let seen = seen.clone();
        async move {
            seen.lock().extend(msgs);
            ConsumeResult::Success
        }
    }
}

/// A listener that records every message and asks for a first delivery to be retried.
fn fail_first(seen: &Seen) -> impl MessageListener {
    let seen = seen.clone();
    move |msgs: Vec<MessageExt>, _: ConsumeContext| {
        let seen = seen.clone();
        async move {
            let first = msgs[0].reconsume_times == 0;
            seen.lock().extend(msgs);
            if first {
                ConsumeResult::ReconsumeLater
            } else {
                ConsumeResult::Success
            }
        }
    }
}

fn queue_len(cluster: &Cluster, broker: &str, topic: &str, q: i32) -> i64 {
    cluster
        .broker(broker)
        .state
        .lock()
        .queues
        .get(&(topic.to_string(), q))
        .map_or(0, |v| v.len() as i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_then_push_consume_with_tag_filter() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 4)]).await;
    let producer = producer(&cluster).await;
    let mut sent = HashMap::new();
    for i in 0..10 {
        let tag = if i % 2 == 0 { "A" } else { "B" };
        let msg = Message::new("T", format!("m{i}"))
            .with_tags(tag)
            .with_keys(&[format!("k{i}")]);
        let r = producer.send(msg).await.unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        assert_eq!(r.message_queue.topic, "T");
        assert_eq!(r.transaction_id.as_deref(), Some(r.msg_id.as_str()));
        assert_eq!(r.offset_msg_id.len(), 32);
        sent.insert(r.msg_id.clone(), (i, tag));
    }
    // Round-robin spreads the sends over the four queues.
    for q in 0..4 {
        assert!((2..=3).contains(&queue_len(&cluster, "broker-a", "T", q)));
    }
    let headers = cluster.broker("broker-a").state.lock().send_headers.clone();
    assert!(headers.iter().all(|h| h.producer_group == "PG"
        && h.default_topic == "TBW102"
        && h.default_topic_queue_nums == 4
        && h.batch == Some(false)));

    let seen: Seen = Arc::default();
    let consumer = push_consumer(&cluster, "CG");
    consumer.subscribe("T", "A").unwrap();
    consumer.start(recorder(&seen)).await.unwrap();
    eventually("five tag-A messages", 10, || seen.lock().len() >= 5).await;
    for m in seen.lock().iter() {
        let (i, tag) = sent[m.id()];
        assert_eq!(tag, "A");
        assert_eq!(m.topic, "T");
        assert_eq!(m.body, format!("m{i}").as_bytes());
        assert_eq!(m.keys(), vec![format!("k{i}")]);
        assert_eq!(m.property("MIN_OFFSET"), Some("0"));
        assert!(m.property("MAX_OFFSET").is_some());
        assert!(m.property("CONSUME_START_TIME").is_some());
    }
    // The pulls carry the consumed offset to the broker (COMMIT_OFFSET), tag-B tails
    // included once nothing is in flight.
    eventually("offsets committed through pulls", 10, || {
        (0..4).all(|q| {
            cluster.broker("broker-a").offset("CG", "T", q)
                == Some(queue_len(&cluster, "broker-a", "T", q))
        })
    })
    .await;
    assert_eq!(seen.lock().len(), 5, "no B message and no duplicate");
    consumer.shutdown().await;
    assert!(
        cluster.broker("broker-a").members("CG").is_empty(),
        "unregistered"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconsume_later_comes_back_through_the_retry_topic() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 1)]).await;
    let producer = producer(&cluster).await;
    let sent = producer.send(Message::new("T", "once more")).await.unwrap();

    let seen: Seen = Arc::default();
    let consumer = push_consumer(&cluster, "CG");
    consumer.subscribe("T", "*").unwrap();
    consumer.start(fail_first(&seen)).await.unwrap();
    eventually("the redelivery", 10, || seen.lock().len() >= 2).await;
    let seen = seen.lock().clone();
    assert_eq!(seen[1].id(), sent.msg_id);
    assert_eq!(seen[1].topic, "T", "topic restored from RETRY_TOPIC");
    assert_eq!(seen[1].reconsume_times, 1);
    assert_eq!(cluster.broker("broker-a").state.lock().send_backs, 1);
    // The original queue's offset moved past the message that was sent back.
    eventually("offset committed", 10, || {
        cluster.broker("broker-a").offset("CG", "T", 0) == Some(1)
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_send_back_is_consumed_again_locally() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 1)]).await;
    cluster.broker("broker-a").state.lock().refuse_send_back = true;
    let producer = producer(&cluster).await;
    producer.send(Message::new("T", "stubborn")).await.unwrap();

    let seen: Seen = Arc::default();
    let consumer = push_consumer(&cluster, "CG");
    consumer.subscribe("T", "*").unwrap();
    consumer.start(fail_first(&seen)).await.unwrap();
    eventually("the first delivery", 10, || !seen.lock().is_empty()).await;
    // While the message waits for its local retry, the offset must not pass it.
    assert_ne!(cluster.broker("broker-a").offset("CG", "T", 0), Some(1));
    eventually("the local redelivery", 15, || seen.lock().len() >= 2).await;
    assert_eq!(seen.lock()[1].reconsume_times, 1);
    assert_eq!(cluster.broker("broker-a").state.lock().send_backs, 0);
    consumer.shutdown().await;
    assert_eq!(cluster.broker("broker-a").offset("CG", "T", 0), Some(1));
    producer.shutdown().await;
}

fn topic_queues(queues: &BTreeSet<MessageQueue>, topic: &str) -> BTreeSet<i32> {
    queues
        .iter()
        .filter(|q| q.topic == topic)
        .map(|q| q.queue_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_share_queues_and_rebalance_when_one_leaves() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 4)]).await;
    let seen: Seen = Arc::default();
    let c1 = push_consumer(&cluster, "CG");
    c1.subscribe("T", "*").unwrap();
    c1.start(recorder(&seen)).await.unwrap();
    assert_eq!(topic_queues(&c1.assignment().await, "T").len(), 4);

    let c2 = push_consumer(&cluster, "CG");
    c2.subscribe("T", "*").unwrap();
    c2.start(recorder(&seen)).await.unwrap();
    // c2's heartbeat makes the broker notify c1, which rebalances at once.
    let mut split = (BTreeSet::new(), BTreeSet::new());
    for _ in 0..500 {
        split = (
            topic_queues(&c1.assignment().await, "T"),
            topic_queues(&c2.assignment().await, "T"),
        );
        if split.0.len() == 2 && split.1.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((split.0.len(), split.1.len()), (2, 2), "{split:?}");
    assert!(split.0.is_disjoint(&split.1));

    c2.shutdown().await;
    let mut owned = BTreeSet::new();
    for _ in 0..500 {
        owned = topic_queues(&c1.assignment().await, "T");
        if owned.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(owned.len(), 4);
    c1.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_consumers_each_get_everything_and_keep_offsets_locally() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 2)]).await;
    let producer = producer(&cluster).await;
    for i in 0..4 {
        producer
            .send(Message::new("T", format!("b{i}")))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut consumers = Vec::new();
    let mut seen = Vec::new();
    for n in 0..2 {
        let s: Seen = Arc::default();
        let c = PushConsumer::builder("BG")
            .client_config(config(&cluster))
            .message_model(MessageModel::Broadcasting)
            .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
            .broker_suspend(Duration::from_millis(300))
            .offset_file(dir.path().join(format!("c{n}.json")))
            .build()
            .unwrap();
        c.subscribe("T", "*").unwrap();
        c.start(recorder(&s)).await.unwrap();
        consumers.push(c);
        seen.push(s);
    }
    for s in &seen {
        eventually("every message", 10, || s.lock().len() >= 4).await;
    }
    for c in &consumers {
        c.shutdown().await;
    }
    for s in &seen {
        assert_eq!(s.lock().len(), 4);
    }
    for n in 0..2 {
        let text = std::fs::read_to_string(dir.path().join(format!("c{n}.json"))).unwrap();
        for q in 0..2 {
            let len = queue_len(&cluster, "broker-a", "T", q);
            let entry = format!(r#"{{"brokerName":"broker-a","queueId":{q},"topic":"T"}}:{len}"#);
            assert!(text.contains(&entry), "{text} lacks {entry}");
        }
    }
    assert_eq!(
        cluster.broker("broker-a").offset("BG", "T", 0),
        None,
        "never to the broker"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_created_through_tbw102() {
    let cluster = Cluster::start(&["broker-a"], &[]).await;
    cluster.broker("broker-a").state.lock().auto_create = true;
    let producer = producer(&cluster).await;
    let r = producer.send(Message::new("Fresh", "first")).await.unwrap();
    assert_eq!(r.message_queue.topic, "Fresh");
    {
        let state = cluster.broker("broker-a").state.lock();
        assert_eq!(state.topics.get("Fresh"), Some(&4));
        assert_eq!(state.send_headers[0].default_topic, "TBW102");
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_retry_on_another_broker() {
    let cluster = Cluster::start(&["broker-a", "broker-b"], &[("T", 2)]).await;
    cluster.broker("broker-a").state.lock().fail_sends = Some(2); // SYSTEM_BUSY
    let producer = producer(&cluster).await;
    for _ in 0..6 {
        let r = producer.send(Message::new("T", "x")).await.unwrap();
        assert_eq!(r.message_queue.broker_name, "broker-b");
    }
    assert_eq!(cluster.broker("broker-b").messages("T"), 6);

    cluster.broker("broker-b").state.lock().fail_sends = Some(14); // SERVICE_NOT_AVAILABLE
    match producer.send(Message::new("T", "x")).await {
        Err(e @ ClientError::SendFailed { attempts: 3, .. }) => {
            assert!(!e.may_be_stored());
            assert!(e.response_code().is_some());
        }
        other => panic!("expected three failed attempts, got {other:?}"),
    }

    for b in ["broker-a", "broker-b"] {
        cluster.broker(b).state.lock().fail_sends = Some(13); // MESSAGE_ILLEGAL: not retried
    }
    let before = cluster.broker("broker-a").state.lock().send_headers.len()
        + cluster.broker("broker-b").state.lock().send_headers.len();
    let err = producer.send(Message::new("T", "x")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Broker { code: 13, .. }),
        "{err:?}"
    );
    let after = cluster.broker("broker-a").state.lock().send_headers.len()
        + cluster.broker("broker-b").state.lock().send_headers.len();
    assert_eq!(after - before, 1);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_async_and_oneway_sends() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 1)]).await;
    let producer = producer(&cluster).await;
    let batch = vec![
        Message::new("T", "b0").with_tags("A"),
        Message::new("T", "b1"),
        Message::new("T", "b2"),
    ];
    let r = producer.send_batch(batch).await.unwrap();
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3);
    assert_eq!(r.offset_msg_id.split(',').count(), 3);
    assert_eq!(r.queue_offset, 0);

    let (tx, rx) = tokio::sync::oneshot::channel();
    producer.send_async(Message::new("T", "async"), move |res| {
        let _ = tx.send(res);
    });
    let res = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.unwrap().queue_offset, 3);

    producer
        .send_oneway(Message::new("T", "oneway"))
        .await
        .unwrap();
    eventually("the oneway message", 5, || {
        cluster.broker("broker-a").messages("T") == 5
    })
    .await;

    let stored = cluster.broker("broker-a").state.lock().queues[&("T".to_string(), 0)].clone();
    let stored_ids: Vec<&str> = stored[..3].iter().map(|m| m.id()).collect();
    assert_eq!(stored_ids, ids, "each batch member keeps its own UNIQ_KEY");

    // A closed producer refuses, and says so to the callback.
    producer.shutdown().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer.send_async(Message::new("T", "late"), move |res| {
        let _ = tx.send(res);
    });
    assert!(matches!(rx.await.unwrap(), Err(ClientError::NotRunning)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_reset_moves_a_push_consumer_back() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 1)]).await;
    let producer = producer(&cluster).await;
    for i in 0..3 {
        producer
            .send(Message::new("T", format!("r{i}")))
            .await
            .unwrap();
    }
    let seen: Seen = Arc::default();
    let consumer = push_consumer(&cluster, "CG");
    consumer.subscribe("T", "*").unwrap();
    consumer.start(recorder(&seen)).await.unwrap();
    eventually("first pass", 10, || seen.lock().len() == 3).await;
    cluster
        .broker("broker-a")
        .reset_offsets("CG", "T", vec![(MessageQueue::new("T", "broker-a", 0), 1)])
        .await;
    eventually("redelivery from offset 1", 10, || seen.lock().len() == 5).await;
    // Listeners run concurrently: order within each pass is free.
    let mut offsets: Vec<i64> = seen.lock().iter().map(|m| m.queue_offset).collect();
    offsets[..3].sort_unstable();
    offsets[3..].sort_unstable();
    assert_eq!(offsets, vec![0, 1, 2, 1, 2]);
    consumer.shutdown().await;
    assert_eq!(cluster.broker("broker-a").offset("CG", "T", 0), Some(3));
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_refuse_requests_they_do_not_serve() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 1)]).await;
    let consumer = push_consumer(&cluster, "CG");
    consumer.subscribe("T", "*").unwrap();
    consumer.start(recorder(&Seen::default())).await.unwrap();
    let running_info = fennec_common::remoting::RemotingCommand::request(
        fennec_common::remoting::RequestCode::GET_CONSUMER_RUNNING_INFO,
    );
    let resp = cluster
        .broker("broker-a")
        .ask_member("CG", running_info)
        .await;
    assert_eq!(resp.code, 3, "REQUEST_CODE_NOT_SUPPORTED");
    assert_eq!(resp.remark_str(), " request type 307 not supported");
    consumer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_assign_poll_seek_commit() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 2)]).await;
    let producer = producer(&cluster).await;
    for i in 0..6 {
        producer
            .send(Message::new("T", format!("p{i}")))
            .await
            .unwrap();
    }
    let consumer = PullConsumer::builder("LG")
        .client_config(config(&cluster))
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(300))
        .auto_commit(false)
        .build()
        .unwrap();
    assert!(matches!(
        consumer.poll(Duration::from_millis(10)).await,
        Err(ClientError::NotRunning)
    ));
    consumer.start().await.unwrap();
    let queues = consumer.fetch_message_queues("T").await.unwrap();
    assert_eq!(queues.len(), 2);
    consumer.assign(queues.clone()).await.unwrap();
    assert!(consumer.subscribe("T", "*").is_err(), "modes do not mix");

    let mut got = Vec::new();
    for _ in 0..100 {
        got.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
        if got.len() >= 6 {
            break;
        }
    }
    assert_eq!(got.len(), 6);

    let q0 = &queues[0];
    let q0_len = queue_len(&cluster, "broker-a", "T", q0.queue_id);
    consumer.seek_to_begin(q0).await.unwrap();
    let mut again = Vec::new();
    for _ in 0..100 {
        again.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
        if again.len() as i64 >= q0_len {
            break;
        }
    }
    assert_eq!(again.len() as i64, q0_len);
    assert!(again.iter().all(|m| m.queue_id == q0.queue_id));
    assert!(
        consumer.seek(q0, q0_len + 1).await.is_err(),
        "beyond the max offset"
    );

    assert_eq!(cluster.broker("broker-a").offset("LG", "T", 0), None);
    consumer.commit_sync().await.unwrap();
    for q in &queues {
        let len = queue_len(&cluster, "broker-a", "T", q.queue_id);
        assert_eq!(
            cluster.broker("broker-a").offset("LG", "T", q.queue_id),
            Some(len)
        );
        assert_eq!(consumer.committed(q).await.unwrap(), Some(len));
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_subscribes_with_tag_filter() {
    let cluster = Cluster::start(&["broker-a"], &[("T", 2)]).await;
    let producer = producer(&cluster).await;
    for i in 0..6 {
        let tag = if i < 3 { "keep" } else { "skip" };
        producer
            .send(Message::new("T", format!("s{i}")).with_tags(tag))
            .await
            .unwrap();
    }
    let consumer = PullConsumer::builder("SG")
        .client_config(config(&cluster))
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(300))
        .build()
        .unwrap();
    consumer.subscribe("T", "keep").unwrap();
    consumer.start().await.unwrap();
    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|m| m.tags() == Some("keep")));
    assert_eq!(topic_queues(&consumer.assignment().await, "T").len(), 2);
    consumer.shutdown().await;
    producer.shutdown().await;
}
