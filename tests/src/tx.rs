//! Transactions for tests: a [`Script`] says what each transaction (named by its body) does
//! locally and what a check answers, and counts what happened; every producer instance of a
//! group shares it, as instances share a database. [`OpReader`] reads the broker's op queue
//! to learn which half messages have an outcome.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ClientConfig, LocalTransactionState, Message, MessageExt, Producer, SendResult,
    TransactionListener, TransactionProducer,
};
use fennec_protocol::topic::TRANS_OP_HALF_TOPIC;
use fennec_remoting::RemotingClient;
use parking_lot::Mutex;

use crate::broker_api::{pull, PullSpec};
use crate::poll::wait_until;

/// What one transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// What the local transaction answers; `None`: it never returns (the producer dies).
    pub execute: Option<LocalTransactionState>,
    /// What a check answers.
    pub check: LocalTransactionState,
}

impl Plan {
    pub fn commit() -> Plan {
        Plan {
            execute: Some(LocalTransactionState::Commit),
            check: LocalTransactionState::Commit,
        }
    }

    pub fn rollback() -> Plan {
        Plan {
            execute: Some(LocalTransactionState::Rollback),
            check: LocalTransactionState::Rollback,
        }
    }

    /// Unknown at first; checks answer `check`.
    pub fn unknown_then(check: LocalTransactionState) -> Plan {
        Plan {
            execute: Some(LocalTransactionState::Unknown),
            check,
        }
    }

    /// A local transaction that never finishes; checks answer `check`.
    pub fn hang_then(check: LocalTransactionState) -> Plan {
        Plan {
            execute: None,
            check,
        }
    }
}

#[derive(Default)]
struct Book {
    plans: HashMap<String, Plan>,
    executed: HashSet<String>,
    checks: HashMap<String, usize>,
}

/// The plans of a group's transactions, by body, and what happened to them.
#[derive(Clone, Default)]
pub struct Script(Arc<Mutex<Book>>);

impl Script {
    /// Plans the transaction whose body is `body`.
    pub fn plan(&self, body: &str, plan: Plan) {
        self.0.lock().plans.insert(body.to_string(), plan);
    }

    /// Whether the local transaction of `body` started.
    pub fn executed(&self, body: &str) -> bool {
        self.0.lock().executed.contains(body)
    }

    /// Checks answered for `body`.
    pub fn checks(&self, body: &str) -> usize {
        self.0.lock().checks.get(body).copied().unwrap_or(0)
    }

    fn plan_of(&self, body: &[u8]) -> (String, Plan) {
        let body = String::from_utf8_lossy(body).into_owned();
        let plan = self.0.lock().plans.get(&body).copied();
        let plan = plan.unwrap_or_else(|| panic!("no plan for transaction {body:?}"));
        (body, plan)
    }
}

impl TransactionListener for Script {
    async fn execute_local_transaction(
        &self,
        msg: &Message,
        _: &SendResult,
    ) -> LocalTransactionState {
        let (body, plan) = self.plan_of(&msg.body);
        self.0.lock().executed.insert(body);
        match plan.execute {
            Some(state) => state,
            None => std::future::pending().await,
        }
    }

    async fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let (body, plan) = self.plan_of(&msg.body);
        *self.0.lock().checks.entry(body).or_insert(0) += 1;
        plan.check
    }
}

/// Client timers fast enough for a test to see a restarted broker within seconds.
pub fn fast_client_config(namesrv: &str) -> ClientConfig {
    let mut c = ClientConfig::default().with_namesrv_addr(namesrv);
    c.poll_namesrv_interval = Duration::from_millis(500);
    c.heartbeat_interval = Duration::from_millis(500);
    c
}

/// A started transaction producer of `group` whose listener is `script`.
///
/// # Panics
/// When the producer cannot be built or started.
pub async fn tx_producer(
    config: ClientConfig,
    group: &str,
    script: &Script,
) -> TransactionProducer {
    let p = Producer::builder(group)
        .client_config(config)
        .build_transactional(script.clone())
        .expect("transaction producer");
    p.start().await.expect("start transaction producer");
    p
}

/// Reads the op queue of a broker on from where it stopped: the half-queue offsets that have
/// an outcome.
#[derive(Debug, Default)]
pub struct OpReader {
    next: i64,
    closed: HashSet<i64>,
}

impl OpReader {
    /// Waits until the half messages at `offsets` all have an outcome.
    ///
    /// # Panics
    /// After `timeout`, or when the broker does not answer.
    pub async fn wait_closed(
        &mut self,
        admin: &RemotingClient,
        broker: &str,
        offsets: &[i64],
        timeout: Duration,
    ) {
        let reader = tokio::sync::Mutex::new(self);
        let what = format!("outcomes of {} half messages", offsets.len());
        wait_until(&what, timeout, || async {
            let mut reader = reader.lock().await;
            let closed = reader.closed(admin, broker).await;
            offsets.iter().all(|o| closed.contains(o))
        })
        .await;
    }

    /// Reads the ops stored since the last call; returns every half offset closed so far.
    pub async fn closed(&mut self, admin: &RemotingClient, broker: &str) -> &HashSet<i64> {
        loop {
            let spec = PullSpec {
                group: "TOOLS_CONSUMER",
                topic: TRANS_OP_HALF_TOPIC,
                queue_id: 0,
                offset: self.next,
                max: 32,
                suspend_ms: 0,
            };
            let p = pull(admin, broker, spec).await;
            if p.code != 0 {
                break;
            }
            self.next = p.next_begin_offset;
            for op in p.messages {
                let body = String::from_utf8_lossy(&op.body).into_owned();
                self.closed
                    .extend(body.split(',').filter_map(|o| o.trim().parse::<i64>().ok()));
            }
        }
        &self.closed
    }
}
