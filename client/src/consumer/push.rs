//! [`PushConsumer`]: the consumer that pulls in the background and calls a
//! [`MessageListener`] with what arrives (RocketMQ's DefaultMQPushConsumer with a concurrent
//! listener), or, started with [`PushConsumer::start_orderly`], an [`OrderlyListener`] with
//! each queue's messages in order (MessageListenerOrderly; see [`super::orderly_state`]).
//!
//! ```no_run
//! use fennec_client::{ConsumeContext, ConsumeResult, MessageExt, PushConsumer};
//!
//! # async fn run() -> Result<(), fennec_client::ClientError> {
//! let consumer = PushConsumer::builder("OrderConsumers")
//!     .namesrv_addr("127.0.0.1:9876")
//!     .build()?;
//! consumer.subscribe("Orders", "Created || Paid")?;
//! consumer
//!     .start(|msgs: Vec<MessageExt>, _: ConsumeContext| async move {
//!         for m in &msgs {
//!             println!("{} {:?}", m.id(), m.body);
//!         }
//!         ConsumeResult::Success
//!     })
//!     .await?;
//! // ...
//! consumer.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::MessageQueue;

use super::core::ConsumerCore;
use super::listener::MessageListener;
use super::options::{consumer_setters, ConsumerSettings};
use super::orderly_listener::OrderlyListener;
use super::orderly_state::{self, OrderlySettings, OrderlyShared};
use super::process_queue::FlowLimits;
use super::push_state::{self, PushSettings, PushShared};
use super::subscription::Subscriptions;
use crate::config::client_setters;
use crate::error::ClientError;
use crate::lifecycle::{shutdown_on_drop, Lifecycle};

/// Builds a [`PushConsumer`]. Defaults are RocketMQ's: CLUSTERING, CONSUME_FROM_LAST_OFFSET,
/// pull batch 32, consume batch 1, 20 concurrent listener calls, at most 1000 messages or
/// 100 MiB in flight per queue, the group's `retryMaxTimes` (16) redeliveries before the
/// dead-letter queue; when orderly, queues suspended for 1 s and locks renewed every 20 s.
#[derive(Debug, Clone)]
pub struct PushConsumerBuilder {
    group: String,
    settings: ConsumerSettings,
    push: PushSettings,
    orderly: OrderlySettings,
}

impl PushConsumerBuilder {
    client_setters!();
    consumer_setters!();

    /// Most messages per listener call.
    pub fn consume_batch_max(mut self, n: usize) -> Self {
        self.push.consume_batch_max = n;
        self
    }

    /// Most listener calls running at once.
    pub fn consume_concurrency(mut self, n: usize) -> Self {
        self.push.consume_concurrency = n;
        self
    }

    /// Most messages in flight per queue before pulling pauses.
    pub fn pull_threshold_for_queue(mut self, n: usize) -> Self {
        self.push.limits.max_count = n;
        self
    }

    /// Most body MiB in flight per queue before pulling pauses.
    pub fn pull_threshold_size_for_queue(mut self, mib: usize) -> Self {
        self.push.limits.max_bytes = mib.saturating_mul(1024 * 1024);
        self
    }

    /// Most redeliveries of a message before it goes to the dead-letter queue
    /// `%DLQ%<group>`. Unset, the group's `retryMaxTimes` applies (16 unless `mqadmin
    /// updateSubGroup -r` changed it); an orderly consumer then retries without limit.
    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.push.max_reconsume_times = Some(n);
        self
    }

    /// Orderly: how long a queue waits after its listener answered
    /// SuspendCurrentQueueAMoment (10 ms to 30 s; default 1 s).
    pub fn suspend_current_queue_time(mut self, pause: Duration) -> Self {
        self.orderly.suspend = pause;
        self
    }

    /// Orderly: how often the locks of the consumer's queues are renewed on the brokers
    /// (default 20 s; the broker keeps a lock `rebalanceLockMaxLiveTime`, 60 s, after its
    /// last renewal, so this must be well below that).
    pub fn lock_renew_interval(mut self, every: Duration) -> Self {
        self.orderly.lock_renew_interval = every;
        self
    }

    /// Checks the settings and creates the consumer (not started).
    pub fn build(self) -> Result<PushConsumer, ClientError> {
        self.settings.validate(&self.group)?;
        let p = &self.push;
        if !(1..=1024).contains(&p.consume_batch_max) {
            return Err(ClientError::Config(
                "consume batch max must be in 1..=1024".into(),
            ));
        }
        if !(1..=1000).contains(&p.consume_concurrency) {
            return Err(ClientError::Config(
                "consume concurrency must be in 1..=1000".into(),
            ));
        }
        if p.limits.max_count == 0 || p.limits.max_bytes == 0 {
            return Err(ClientError::Config(
                "pull thresholds must be positive".into(),
            ));
        }
        let o = &self.orderly;
        if !(Duration::from_millis(10)..=Duration::from_secs(30)).contains(&o.suspend) {
            return Err(ClientError::Config(
                "the suspend time must be in 10 ms..=30 s".into(),
            ));
        }
        if o.lock_renew_interval < Duration::from_millis(100) {
            return Err(ClientError::Config(
                "the lock renew interval must be at least 100 ms".into(),
            ));
        }
        Ok(PushConsumer {
            group: self.group,
            settings: self.settings,
            push: self.push,
            orderly: self.orderly,
            subscriptions: Arc::new(Subscriptions::default()),
            lifecycle: Lifecycle::default(),
        })
    }
}

/// A running push consumer.
enum Running {
    Concurrent(Arc<PushShared>),
    Orderly(Arc<OrderlyShared>),
}

impl Running {
    fn core(&self) -> &Arc<ConsumerCore> {
        match self {
            Running::Concurrent(r) => r.core(),
            Running::Orderly(r) => r.core(),
        }
    }

    async fn shutdown(&self) {
        match self {
            Running::Concurrent(r) => r.shutdown().await,
            Running::Orderly(r) => r.shutdown().await,
        }
    }

    async fn assignment(&self) -> BTreeSet<MessageQueue> {
        match self {
            Running::Concurrent(r) => r.assignment().await,
            Running::Orderly(r) => r.assignment().await,
        }
    }
}

/// A push consumer: subscribe, start with a listener, shut down.
#[derive(Debug)]
pub struct PushConsumer {
    group: String,
    settings: ConsumerSettings,
    push: PushSettings,
    orderly: OrderlySettings,
    subscriptions: Arc<Subscriptions>,
    lifecycle: Lifecycle<Running>,
}

impl PushConsumer {
    /// A builder for a consumer of `group`.
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder {
            group: group.into(),
            settings: ConsumerSettings::new(32),
            push: PushSettings {
                consume_batch_max: 1,
                consume_concurrency: 20,
                limits: FlowLimits {
                    max_count: 1000,
                    max_bytes: 100 * 1024 * 1024,
                    max_span: 2000,
                },
                max_reconsume_times: None,
            },
            orderly: OrderlySettings {
                suspend: Duration::from_secs(1),
                lock_renew_interval: Duration::from_secs(20),
            },
        }
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Subscribes to `topic` with a tag expression (`*`, `TagA`, `TagA || TagB`). Allowed
    /// before and after start.
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        self.subscriptions.subscribe(topic, expression)?;
        self.after_subscription_change();
        Ok(())
    }

    /// Drops the subscription to `topic`; its queues are released at the next rebalance.
    pub fn unsubscribe(&self, topic: &str) {
        if self.subscriptions.unsubscribe(topic) {
            self.after_subscription_change();
        }
    }

    fn after_subscription_change(&self) {
        if let Ok(shared) = self.lifecycle.running() {
            shared.core().subscriptions_changed();
        }
    }

    /// Starts consuming: every message of the subscriptions goes to `listener`. Returns once
    /// the first rebalance is done.
    pub async fn start<L: MessageListener>(&self, listener: L) -> Result<(), ClientError> {
        self.lifecycle
            .start_with(async {
                let shared = push_state::start(
                    &self.group,
                    &self.settings,
                    &self.push,
                    self.subscriptions.clone(),
                    Arc::new(listener),
                )
                .await?;
                Ok(Arc::new(Running::Concurrent(shared)))
            })
            .await
    }

    /// Starts consuming in order: each queue's messages go to `listener` one batch at a
    /// time, in queue order, only while this consumer holds the queue's lock on its broker
    /// (so one member of the group at a time). Returns once the first rebalance is done.
    /// Messages sent with one [`crate::QueueSelector::by_hash`] key arrive in send order.
    pub async fn start_orderly<L: OrderlyListener>(&self, listener: L) -> Result<(), ClientError> {
        self.lifecycle
            .start_with(async {
                let shared = orderly_state::start(
                    &self.group,
                    &self.settings,
                    &self.push,
                    &self.orderly,
                    self.subscriptions.clone(),
                    Arc::new(listener),
                )
                .await?;
                Ok(Arc::new(Running::Orderly(shared)))
            })
            .await
    }

    /// Stops pulling, waits for running listener calls, commits offsets and leaves the
    /// group. Messages pulled but not yet given to the listener are delivered again later.
    pub async fn shutdown(&self) {
        if let Some(shared) = self.lifecycle.begin_shutdown() {
            shared.shutdown().await;
        }
    }

    /// The client ID, once started.
    pub fn client_id(&self) -> Option<String> {
        self.lifecycle
            .running()
            .ok()
            .map(|s| s.core().client_id().to_string())
    }

    /// The queues this consumer currently owns.
    pub async fn assignment(&self) -> BTreeSet<MessageQueue> {
        match self.lifecycle.running() {
            Ok(shared) => shared.assignment().await,
            Err(_) => BTreeSet::new(),
        }
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        if let Some(shared) = self.lifecycle.begin_shutdown() {
            shutdown_on_drop("push consumer", async move { shared.shutdown().await });
        }
    }
}
