//! [`PullConsumer`]: the consumer the application polls (RocketMQ's
//! DefaultLitePullConsumer). Queues come from subscriptions (clustering rebalance, as the
//! push consumer) or from [`PullConsumer::assign`]; background long-polling tasks fill a
//! bounded buffer that [`PullConsumer::poll`] drains.
//!
//! ```no_run
//! use std::time::Duration;
//! use fennec_client::PullConsumer;
//!
//! # async fn run() -> Result<(), fennec_client::ClientError> {
//! let consumer = PullConsumer::builder("Audit").namesrv_addr("127.0.0.1:9876").build()?;
//! consumer.subscribe("Orders", "*")?;
//! consumer.start().await?;
//! loop {
//!     for m in consumer.poll(Duration::from_secs(1)).await? {
//!         println!("{} at {}", m.id(), m.queue_offset);
//!     }
//! #   break;
//! }
//! consumer.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::MessageQueue;
use fennec_protocol::message::MessageExt;
use parking_lot::Mutex;

use super::lite_state::{LiteSettings, LiteShared, QueueMode};
use super::options::{consumer_setters, ConsumerSettings};
use super::subscription::Subscriptions;
use crate::config::client_setters;
use crate::error::ClientError;
use crate::lifecycle::{shutdown_on_drop, Lifecycle};

/// Builds a [`PullConsumer`]. Defaults: CLUSTERING, CONSUME_FROM_LAST_OFFSET, pull batch 10,
/// up to 10000 messages buffered, auto-commit every 5 s.
#[derive(Debug, Clone)]
pub struct PullConsumerBuilder {
    group: String,
    settings: ConsumerSettings,
    lite: LiteSettings,
}

impl PullConsumerBuilder {
    client_setters!();
    consumer_setters!();

    /// Whether `poll` commits, every `auto_commit_interval`, what earlier polls returned
    /// (default on). Off: only [`PullConsumer::commit_sync`] commits.
    pub fn auto_commit(mut self, on: bool) -> Self {
        self.lite.auto_commit = on;
        self
    }

    pub fn auto_commit_interval(mut self, every: Duration) -> Self {
        self.lite.auto_commit_interval = every;
        self
    }

    /// Most messages buffered for `poll` across all queues.
    pub fn buffered_messages(mut self, n: usize) -> Self {
        self.lite.buffered_messages = n;
        self
    }

    pub fn build(self) -> Result<PullConsumer, ClientError> {
        self.settings.validate(&self.group)?;
        if self.lite.buffered_messages == 0 {
            return Err(ClientError::Config(
                "the poll buffer must hold messages".into(),
            ));
        }
        Ok(PullConsumer {
            group: self.group,
            settings: self.settings,
            lite: self.lite,
            subscriptions: Arc::new(Subscriptions::default()),
            mode: Arc::new(Mutex::new(QueueMode::Unset)),
            lifecycle: Lifecycle::default(),
        })
    }
}

/// A polled consumer.
#[derive(Debug)]
pub struct PullConsumer {
    group: String,
    settings: ConsumerSettings,
    lite: LiteSettings,
    subscriptions: Arc<Subscriptions>,
    mode: Arc<Mutex<QueueMode>>,
    lifecycle: Lifecycle<LiteShared>,
}

impl PullConsumer {
    pub fn builder(group: impl Into<String>) -> PullConsumerBuilder {
        PullConsumerBuilder {
            group: group.into(),
            settings: ConsumerSettings::new(10),
            lite: LiteSettings {
                auto_commit: true,
                auto_commit_interval: Duration::from_secs(5),
                buffered_messages: 10_000,
            },
        }
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Subscribes to `topic` with a tag expression; queues then come from rebalancing.
    /// Cannot be mixed with [`PullConsumer::assign`].
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        {
            let mut mode = self.mode.lock();
            if matches!(*mode, QueueMode::Assign(_)) {
                return Err(ClientError::Config(
                    "subscribe cannot be used after assign".into(),
                ));
            }
            *mode = QueueMode::Subscribe;
        }
        self.subscriptions.subscribe(topic, expression)?;
        if let Ok(shared) = self.lifecycle.running() {
            shared.core().subscriptions_changed();
        }
        Ok(())
    }

    /// Reads exactly `queues` (all tags), replacing an earlier assignment. Cannot be mixed
    /// with [`PullConsumer::subscribe`].
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Result<(), ClientError> {
        if queues.is_empty() {
            return Err(ClientError::Config(
                "assign needs at least one queue".into(),
            ));
        }
        {
            let mut mode = self.mode.lock();
            if *mode == QueueMode::Subscribe {
                return Err(ClientError::Config(
                    "assign cannot be used after subscribe".into(),
                ));
            }
            *mode = QueueMode::Assign(queues.into_iter().collect());
        }
        if let Ok(shared) = self.lifecycle.running() {
            shared.rebalance().await;
        }
        Ok(())
    }

    /// Starts pulling.
    pub async fn start(&self) -> Result<(), ClientError> {
        self.lifecycle
            .start_with(LiteShared::start(
                &self.group,
                &self.settings,
                &self.lite,
                self.subscriptions.clone(),
                self.mode.clone(),
            ))
            .await
    }

    /// Stops pulling, commits and leaves the group.
    pub async fn shutdown(&self) {
        if let Some(shared) = self.lifecycle.begin_shutdown() {
            shared.shutdown().await;
        }
    }

    /// Waits up to `timeout` for messages; returns at most a pull batch, possibly none.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<MessageExt>, ClientError> {
        Ok(self.lifecycle.running()?.poll(timeout).await)
    }

    /// Continues `mq` from `offset` (within the queue's min and max offsets); messages of
    /// `mq` buffered but not yet polled are discarded.
    pub async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        self.lifecycle.running()?.seek(mq, offset).await
    }

    /// Continues `mq` from its oldest stored message.
    pub async fn seek_to_begin(&self, mq: &MessageQueue) -> Result<(), ClientError> {
        let shared = self.lifecycle.running()?;
        let offset = shared.core().min_offset(mq).await?;
        shared.seek(mq, offset).await
    }

    /// Continues `mq` after its newest message.
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<(), ClientError> {
        let shared = self.lifecycle.running()?;
        let offset = shared.core().max_offset(mq).await?;
        shared.seek(mq, offset).await
    }

    /// Commits the offsets of everything `poll` has returned, waiting for the brokers.
    pub async fn commit_sync(&self) -> Result<(), ClientError> {
        self.lifecycle.running()?.commit_sync().await
    }

    /// The committed offset of `mq` (`None`: the group has none).
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>, ClientError> {
        self.lifecycle.running()?.committed(mq).await
    }

    /// The readable queues of `topic`, from its route.
    pub async fn fetch_message_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        let shared = self.lifecycle.running()?;
        shared.core().instance.update_route(topic).await?;
        shared.core().topic_queues(topic).await
    }

    /// The queues currently read.
    pub async fn assignment(&self) -> BTreeSet<MessageQueue> {
        match self.lifecycle.running() {
            Ok(shared) => shared.assignment().await,
            Err(_) => BTreeSet::new(),
        }
    }
}

impl Drop for PullConsumer {
    fn drop(&mut self) {
        if let Some(shared) = self.lifecycle.begin_shutdown() {
            shutdown_on_drop("pull consumer", async move { shared.shutdown().await });
        }
    }
}
