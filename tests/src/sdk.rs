//! SDK clients for tests: a started [`Producer`], sends that report where each message went,
//! a [`PushConsumer`] whose listener counts deliveries per body behind a gate the test
//! opens ([`Deliveries`]), and listeners that keep every delivered message ([`Seen`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    Blocking, ConsumeContext, ConsumeFromWhere, ConsumeResult, Message, MessageExt,
    MessageListener, Producer, PushConsumer,
};
use parking_lot::{Condvar, Mutex};

use crate::poll::wait_until;

/// A producer of `group`, started against the nameserver at `namesrv`.
///
/// # Panics
/// When the producer cannot be built or started.
pub async fn producer(namesrv: &str, group: &str) -> Producer {
    let p = Producer::builder(group)
        .namesrv_addr(namesrv)
        .build()
        .expect("producer");
    p.start().await.expect("start producer");
    p
}

/// Where a sent message went: body, broker name, queue id.
pub type Sent = (String, String, i32);

/// Sends `bodies` one by one to `topic`; returns where each went.
///
/// # Panics
/// When a send fails.
pub async fn send_each(
    p: &Producer,
    topic: &str,
    bodies: impl Iterator<Item = String>,
) -> Vec<Sent> {
    let mut out = Vec::new();
    for body in bodies {
        let r = p
            .send(Message::new(topic, body.clone()))
            .await
            .expect("send");
        out.push((body, r.message_queue.broker_name, r.message_queue.queue_id));
    }
    out
}

/// Deliveries per body, and a gate that holds the listener until opened. Dropping any
/// handle opens the gate, so a failing test never leaves listener threads blocked.
#[derive(Clone, Default)]
pub struct Deliveries {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl Deliveries {
    /// Deliveries whose listener is held until [`Deliveries::open_gate`].
    pub fn held() -> Self {
        Deliveries::default()
    }

    /// Deliveries whose listener runs at once.
    pub fn open() -> Self {
        let d = Deliveries::default();
        d.open_gate();
        d
    }

    pub fn open_gate(&self) {
        *self.gate.0.lock() = true;
        self.gate.1.notify_all();
    }

    /// A listener that waits for the gate, then counts every message by body.
    /// It blocks, so it runs on the blocking pool.
    pub fn listener(&self) -> impl MessageListener {
        let this = self.clone();
        Blocking::new(move |msgs: &[MessageExt], _: &ConsumeContext| {
            let mut open = this.gate.0.lock();
            while !*open {
                this.gate.1.wait(&mut open);
            }
            drop(open);
            let mut counts = this.counts.lock();
            for m in msgs {
                *counts
                    .entry(String::from_utf8_lossy(&m.body).into_owned())
                    .or_insert(0) += 1;
            }
            ConsumeResult::Success
        })
    }

    /// Deliveries so far, per body.
    pub fn snapshot(&self) -> HashMap<String, usize> {
        self.counts.lock().clone()
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        self.open_gate();
    }
}

/// A started push consumer of `group` on every tag of `topic`, from the first offset, whose
/// listener is `deliveries`'.
///
/// # Panics
/// When the consumer cannot be built, subscribed or started.
pub async fn push_consumer(
    namesrv: &str,
    group: &str,
    topic: &str,
    deliveries: &Deliveries,
) -> PushConsumer {
    let c = PushConsumer::builder(group)
        .namesrv_addr(namesrv)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("consumer");
    c.subscribe(topic, "*").expect("subscribe");
    c.start(deliveries.listener())
        .await
        .expect("start consumer");
    c
}

/// The listener behind [`Seen`]: keeps the batch, then answers what `verdict` says.
struct Keep<V> {
    seen: Arc<Mutex<Vec<MessageExt>>>,
    verdict: V,
}

impl<V> MessageListener for Keep<V>
where
    V: Fn(&[MessageExt]) -> ConsumeResult + Send + Sync + 'static,
{
    async fn consume(&self, msgs: &[MessageExt], _: &ConsumeContext) -> ConsumeResult {
        let result = (self.verdict)(msgs);
        self.seen.lock().extend(msgs.iter().cloned());
        result
    }
}

/// Every message a listener was given, in delivery order.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<MessageExt>>>);

impl Seen {
    /// A listener that keeps every message and succeeds.
    pub fn recorder(&self) -> impl MessageListener {
        self.listener(|_| ConsumeResult::Success)
    }

    /// A listener that keeps every message and asks for a batch to be consumed again later
    /// when its first message is on its first delivery.
    pub fn failing_first_delivery(&self) -> impl MessageListener {
        self.listener(|msgs| {
            if msgs.first().is_some_and(|m| m.reconsume_times == 0) {
                ConsumeResult::ReconsumeLater
            } else {
                ConsumeResult::Success
            }
        })
    }

    /// A listener that keeps every message and answers what `verdict` says of the batch.
    pub fn listener(
        &self,
        verdict: impl Fn(&[MessageExt]) -> ConsumeResult + Send + Sync + 'static,
    ) -> impl MessageListener {
        Keep {
            seen: self.0.clone(),
            verdict,
        }
    }

    /// The messages so far.
    pub fn messages(&self) -> Vec<MessageExt> {
        self.0.lock().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least `n` messages came.
    pub async fn wait_for(&self, n: usize, timeout: Duration) {
        wait_until(&format!("{n} deliveries"), timeout, || async {
            self.len() >= n
        })
        .await;
    }
}
