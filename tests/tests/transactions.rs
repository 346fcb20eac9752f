//! Transactional messages through the SDK's transaction producer against a real broker
//! that checks back every second: commit, rollback, an unknown outcome settled by a check,
//! a check answered by another instance of the group after the sender died, a transaction
//! nobody settles given up after `transactionCheckMax` checks, a thousand concurrent
//! transactions with random outcomes, and pending transactions that survive a broker
//! SIGKILL and a graceful restart. What consumers can see is read straight from the real
//! queue (one queue per topic) once the broker's op queue says every half message has its
//! outcome, besides a push consumer that must receive the committed messages.

use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    LocalTransactionState, Message, PushConsumer, TransactionProducer, TransactionSendResult,
};
use fennec_protocol::header::EndTransactionRequestHeader;
use fennec_protocol::message::msg_id::decode_offset_msg_id;
use fennec_protocol::topic::TRANS_CHECK_MAX_TIME_TOPIC;
use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::{call, create_topic, read_queue, wait_for_route};
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::poll::wait_until;
use fennec_tests::scenario::run_all;
use fennec_tests::scenarios;
use fennec_tests::sdk::{push_consumer, Deliveries};
use fennec_tests::tx::{fast_client_config, tx_producer, OpReader, Plan, Script};
use futures_util::future::join_all;

use LocalTransactionState::{Commit, Rollback, Unknown};

/// Checks before a transaction is given up, in these tests.
const CHECK_MAX: usize = 3;
/// How long a failing wait lasts.
const WAIT: Duration = Duration::from_secs(60);

/// A broker that checks half messages one second old, every second.
fn fast_checking(name: &str) -> BrokerSpec {
    BrokerSpec::new(name)
        .with("transactionCheckInterval", "1000")
        .with("transactionTimeOut", "1000")
        .with("transactionCheckMax", &CHECK_MAX.to_string())
}

struct Env {
    cluster: Cluster,
    admin: RemotingClient,
}

impl Env {
    fn ns(&self) -> String {
        self.cluster.namesrv_addr()
    }

    fn broker(&self) -> String {
        self.cluster.brokers[0].addr()
    }
}

/// One scenario's topic (one queue), push consumer, script and transaction producer.
struct Lane {
    topic: String,
    deliveries: Deliveries,
    _consumer: PushConsumer,
    script: Script,
    producer: TransactionProducer,
    ops: OpReader,
}

async fn lane(env: &Env, name: &str) -> Lane {
    let topic = format!("Tx{name}");
    create_topic(&env.admin, &env.broker(), &topic, 1).await;
    wait_for_route(&env.admin, &env.ns(), &topic, 1).await;
    let deliveries = Deliveries::open();
    let consumer = push_consumer(&env.ns(), &format!("{name}Consumers"), &topic, &deliveries).await;
    let script = Script::default();
    let producer = tx_producer(
        fast_client_config(&env.ns()),
        &format!("{name}Producers"),
        &script,
    )
    .await;
    Lane {
        topic,
        deliveries,
        _consumer: consumer,
        script,
        producer,
        ops: OpReader::default(),
    }
}

impl Lane {
    async fn send(&self, body: &str, plan: Plan) -> TransactionSendResult {
        self.script.plan(body, plan);
        self.producer
            .send_in_transaction(Message::new(&self.topic, body.to_string()))
            .await
            .unwrap_or_else(|e| panic!("transactional send of {body}: {e}"))
    }

    /// Waits until the broker has an outcome for the half messages at `offsets`.
    async fn wait_settled(&mut self, admin: &RemotingClient, broker: &str, offsets: &[i64]) {
        self.ops.wait_closed(admin, broker, offsets, WAIT).await;
    }

    /// Waits until the push consumer got every one of `bodies`.
    async fn wait_delivered(&self, bodies: &[String]) {
        wait_until("committed messages delivered", WAIT, || async {
            let got = self.deliveries.snapshot();
            bodies.iter().all(|b| got.contains_key(b))
        })
        .await;
    }

    /// Every body in the topic's queue, sorted: what any consumer can ever see.
    async fn stored(&self, admin: &RemotingClient, broker: &str) -> Vec<String> {
        stored_bodies(admin, broker, &self.topic).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_against_a_real_broker() {
    let env = Arc::new(Env {
        cluster: Cluster::start(vec![fast_checking("broker-a")]),
        admin: RemotingClient::default(),
    });
    run_all(scenarios![env;
        commit_is_stored_once_however_often_it_is_ended,
        rollback_is_never_stored,
        unknown_is_settled_by_a_check,
        another_instance_answers_for_a_dead_sender,
        unanswered_is_given_up_after_the_max_checks,
        a_thousand_concurrent_random_outcomes,
    ])
    .await;
}

async fn commit_is_stored_once_however_often_it_is_ended(env: Arc<Env>) {
    let (admin, broker) = (&env.admin, env.broker());
    let mut lane = lane(&env, "Commit").await;
    let r = lane.send("commit-1", Plan::commit()).await;
    assert_eq!(r.local_state, Commit);
    lane.wait_settled(admin, &broker, &[r.send_result.queue_offset])
        .await;
    // The same outcome again, the opposite one, and one as if from a check: no effect.
    let (_, commit_log_offset) =
        decode_offset_msg_id(&r.send_result.offset_msg_id).expect("offset msgId");
    for (code, from_check) in [(8, false), (12, false), (8, true)] {
        let end = EndTransactionRequestHeader {
            topic: Some(lane.topic.clone()),
            producer_group: lane.producer.group().to_string(),
            tran_state_table_offset: r.send_result.queue_offset,
            commit_log_offset,
            commit_or_rollback: code,
            from_transaction_check: Some(from_check),
            msg_id: r.send_result.msg_id.clone(),
            transaction_id: r.send_result.transaction_id.clone(),
        };
        // As a request, so that the broker has handled it when the answer comes.
        call(admin, &broker, &end).await;
    }
    lane.wait_delivered(&["commit-1".to_string()]).await;
    assert_eq!(lane.stored(admin, &broker).await, ["commit-1"]);
    assert_eq!(lane.deliveries.snapshot().get("commit-1"), Some(&1));
}

async fn rollback_is_never_stored(env: Arc<Env>) {
    let (admin, broker) = (&env.admin, env.broker());
    let mut lane = lane(&env, "Rollback").await;
    let rolled = lane.send("rollback-1", Plan::rollback()).await;
    assert_eq!(rolled.local_state, Rollback);
    let kept = lane.send("commit-after-rollback", Plan::commit()).await;
    lane.wait_settled(
        admin,
        &broker,
        &[
            rolled.send_result.queue_offset,
            kept.send_result.queue_offset,
        ],
    )
    .await;
    lane.wait_delivered(&["commit-after-rollback".to_string()])
        .await;
    assert_eq!(lane.stored(admin, &broker).await, ["commit-after-rollback"]);
    assert!(!lane.deliveries.snapshot().contains_key("rollback-1"));
    assert_eq!(lane.script.checks("rollback-1"), 0);
}

async fn unknown_is_settled_by_a_check(env: Arc<Env>) {
    let (admin, broker) = (&env.admin, env.broker());
    let mut lane = lane(&env, "Unknown").await;
    let commit = lane
        .send("unknown-commit", Plan::unknown_then(Commit))
        .await;
    let rollback = lane
        .send("unknown-rollback", Plan::unknown_then(Rollback))
        .await;
    assert_eq!(commit.local_state, Unknown);
    lane.wait_settled(
        admin,
        &broker,
        &[
            commit.send_result.queue_offset,
            rollback.send_result.queue_offset,
        ],
    )
    .await;
    lane.wait_delivered(&["unknown-commit".to_string()]).await;
    assert_eq!(lane.stored(admin, &broker).await, ["unknown-commit"]);
    assert!(lane.script.checks("unknown-commit") >= 1);
    assert!(lane.script.checks("unknown-rollback") >= 1);
}

async fn another_instance_answers_for_a_dead_sender(env: Arc<Env>) {
    let (admin, broker) = (&env.admin, env.broker());
    // The lane's producer is the surviving instance of the group.
    let lane = lane(&env, "Survivor").await;
    lane.script.plan("orphan", Plan::hang_then(Commit));
    // The sender runs on a runtime of its own, killed while its local transaction runs:
    // its connections close without a word to the broker, as when a process dies.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("sender runtime");
    let (ns, group, script, topic) = (
        env.ns(),
        lane.producer.group().to_string(),
        lane.script.clone(),
        lane.topic.clone(),
    );
    runtime.spawn(async move {
        let sender = tx_producer(fast_client_config(&ns), &group, &script).await;
        let _ = sender
            .send_in_transaction(Message::new(topic, "orphan"))
            .await;
    });
    wait_until("the half message stored", WAIT, || async {
        lane.script.executed("orphan")
    })
    .await;
    runtime.shutdown_background();
    lane.wait_delivered(&["orphan".to_string()]).await;
    assert!(lane.script.checks("orphan") >= 1);
    assert_eq!(lane.stored(admin, &broker).await, ["orphan"]);
}

async fn unanswered_is_given_up_after_the_max_checks(env: Arc<Env>) {
    let (admin, broker) = (&env.admin, env.broker());
    let mut lane = lane(&env, "Unanswered").await;
    let r = lane.send("never-known", Plan::unknown_then(Unknown)).await;
    lane.wait_settled(admin, &broker, &[r.send_result.queue_offset])
        .await;
    wait_for_route(admin, &env.ns(), TRANS_CHECK_MAX_TIME_TOPIC, 1).await;
    let given_up = read_queue(admin, &broker, TRANS_CHECK_MAX_TIME_TOPIC, 0).await;
    let copy = given_up
        .iter()
        .find(|m| &m.body[..] == b"never-known")
        .expect("the given-up message in TRANS_CHECK_MAX_TIME_TOPIC");
    assert_eq!(
        copy.property("TRANSACTION_CHECK_TIMES"),
        Some(CHECK_MAX.to_string().as_str())
    );
    assert_eq!(copy.property("REAL_TOPIC"), Some(lane.topic.as_str()));
    wait_until("the last check answered", WAIT, || async {
        lane.script.checks("never-known") >= CHECK_MAX
    })
    .await;
    assert_eq!(lane.script.checks("never-known"), CHECK_MAX);
    assert!(lane.stored(admin, &broker).await.is_empty());
}

async fn a_thousand_concurrent_random_outcomes(env: Arc<Env>) {
    let (admin, broker) = (&env.admin, env.broker());
    let mut lane = lane(&env, "Thousand").await;
    let plans = [
        Plan::commit(),
        Plan::rollback(),
        Plan::unknown_then(Commit),
        Plan::unknown_then(Rollback),
    ];
    // A fixed pseudo-random sequence (xorshift), so that a failure can be replayed.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut committed = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..1000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let plan = plans[(seed % 4) as usize];
        let body = format!("tx-{i}");
        if plan.check == Commit {
            committed.push(body.clone());
        }
        lane.script.plan(&body, plan);
        bodies.push(body);
    }
    let sends = bodies.iter().map(|body| {
        lane.producer
            .send_in_transaction(Message::new(&lane.topic, body.clone()))
    });
    let offsets: Vec<i64> = join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("transactional send").send_result.queue_offset)
        .collect();
    lane.wait_settled(admin, &broker, &offsets).await;
    lane.wait_delivered(&committed).await;
    committed.sort();
    assert_eq!(lane.stored(admin, &broker).await, committed);
    let delivered = lane.deliveries.snapshot();
    assert!(
        delivered.keys().all(|b| committed.binary_search(b).is_ok()),
        "a rolled-back message was delivered"
    );
}

/// The bodies stored in the one queue of `topic`, sorted.
async fn stored_bodies(admin: &RemotingClient, broker: &str, topic: &str) -> Vec<String> {
    let mut bodies: Vec<String> = read_queue(admin, broker, topic, 0)
        .await
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    bodies.sort();
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_transactions_survive_a_sigkill_and_a_restart() {
    // Enough checks for a transaction to stay pending across both restarts.
    let spec = fast_checking("broker-a").with("transactionCheckMax", "100");
    let mut cluster = Cluster::start(vec![spec]);
    let admin = RemotingClient::default();
    let ns = cluster.namesrv_addr();
    let topic = "TxCrash";
    create_topic(&admin, &cluster.brokers[0].addr(), topic, 1).await;
    wait_for_route(&admin, &ns, topic, 1).await;
    let script = Script::default();
    let producer = tx_producer(fast_client_config(&ns), "CrashProducers", &script).await;
    let mut offsets = std::collections::HashMap::new();
    // Settled at once; then three pending (checks answer Unknown for now).
    for (body, plan) in [
        ("done-commit", Plan::commit()),
        ("done-rollback", Plan::rollback()),
        ("pending-commit", Plan::unknown_then(Unknown)),
        ("pending-rollback", Plan::unknown_then(Unknown)),
        ("pending-late", Plan::unknown_then(Unknown)),
    ] {
        script.plan(body, plan);
        let r = producer
            .send_in_transaction(Message::new(topic, body))
            .await
            .expect("send");
        offsets.insert(body, r.send_result.queue_offset);
    }
    let of = |bodies: &[&str]| bodies.iter().map(|b| offsets[b]).collect::<Vec<i64>>();
    OpReader::default()
        .wait_closed(
            &admin,
            &cluster.brokers[0].addr(),
            &of(&["done-commit", "done-rollback"]),
            WAIT,
        )
        .await;

    // SIGKILL: whatever progress was saved, the log tells the rest.
    cluster.broker(0).crash();
    script.plan("pending-commit", Plan::unknown_then(Commit));
    script.plan("pending-rollback", Plan::unknown_then(Rollback));
    cluster.broker(0).restart();
    let broker = cluster.brokers[0].addr();
    OpReader::default()
        .wait_closed(
            &admin,
            &broker,
            &of(&["pending-commit", "pending-rollback"]),
            WAIT,
        )
        .await;
    assert_eq!(
        stored_bodies(&admin, &broker, topic).await,
        ["done-commit", "pending-commit"]
    );

    // A graceful restart resumes from the saved progress.
    cluster.broker(0).stop();
    let progress = cluster.brokers[0]
        .store_dir()
        .join("config/transactionProgress.json");
    assert!(progress.is_file(), "no {}", progress.display());
    let checks_before = script.checks("pending-commit") + script.checks("pending-rollback");
    script.plan("pending-late", Plan::unknown_then(Commit));
    cluster.broker(0).restart();
    let broker = cluster.brokers[0].addr();
    OpReader::default()
        .wait_closed(&admin, &broker, &of(&["pending-late"]), WAIT)
        .await;
    assert_eq!(
        stored_bodies(&admin, &broker, topic).await,
        ["done-commit", "pending-commit", "pending-late"]
    );
    assert_eq!(
        script.checks("done-commit"),
        0,
        "a settled transaction was checked"
    );
    assert_eq!(
        script.checks("done-rollback"),
        0,
        "a settled transaction was checked"
    );
    assert_eq!(
        script.checks("pending-commit") + script.checks("pending-rollback"),
        checks_before,
        "a settled transaction was checked after the restart"
    );
    let deliveries = Deliveries::open();
    let _consumer = push_consumer(&ns, "CrashConsumers", topic, &deliveries).await;
    wait_until("the commits delivered", WAIT, || async {
        let got = deliveries.snapshot();
        ["done-commit", "pending-commit", "pending-late"]
            .iter()
            .all(|b| got.contains_key(*b))
    })
    .await;
    producer.shutdown().await;
}
