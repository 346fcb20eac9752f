//! [`Producer`]: sends messages (RocketMQ's DefaultMQProducer).
//!
//! ```no_run
//! use fennec_client::{Message, Producer};
//!
//! # async fn run() -> Result<(), fennec_client::ClientError> {
//! let producer = Producer::builder("OrderProducers").namesrv_addr("127.0.0.1:9876").build()?;
//! producer.start().await?;
//! let msg = Message::new("Orders", "order 42").with_tags("Created").with_keys(&["42"]);
//! let result = producer.send(msg).await?;
//! println!("stored as {} at offset {}", result.msg_id, result.queue_offset);
//! producer.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fennec_protocol::body::MessageQueue;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::Message;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::prepare::{check_message, prepare_batch, prepare_message, Outgoing};
use super::selector::QueueSelector;
use super::sender::Sender;
use super::settings::ProducerSettings;
use super::SendResult;
use crate::error::ClientError;
use crate::instance::CheckerRef;
use crate::lifecycle::{shutdown_on_drop, Lifecycle};

/// A producer: build, start, send, shut down.
pub struct Producer {
    settings: ProducerSettings,
    /// Answers transaction checks for a transaction producer's group.
    checker: Option<CheckerRef>,
    lifecycle: Lifecycle<Sender>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("settings", &self.settings)
            .field("transactional", &self.checker.is_some())
            .field("lifecycle", &self.lifecycle)
            .finish()
    }
}

impl Producer {
    pub(super) fn new(settings: ProducerSettings, checker: Option<CheckerRef>) -> Self {
        Producer {
            settings,
            checker,
            lifecycle: Lifecycle::default(),
        }
    }

    pub(super) fn settings(&self) -> &ProducerSettings {
        &self.settings
    }

    /// The running state.
    pub(super) fn sender(&self) -> Result<std::sync::Arc<Sender>, ClientError> {
        self.lifecycle.running()
    }

    pub fn group(&self) -> &str {
        &self.settings.group
    }

    /// The client ID, once started.
    pub fn client_id(&self) -> Option<String> {
        self.lifecycle
            .running()
            .ok()
            .map(|s| s.instance.client_id().to_string())
    }

    /// Connects to the name servers' world: joins (or starts) the client instance.
    pub async fn start(&self) -> Result<(), ClientError> {
        self.lifecycle
            .start_with(Sender::start(self.settings.clone(), self.checker.clone()))
            .await
    }

    /// Waits for asynchronous sends in flight, then leaves the group.
    pub async fn shutdown(&self) {
        if let Some(sender) = self.lifecycle.begin_shutdown() {
            sender.shutdown().await;
        }
    }

    pub(super) fn prepare(&self, sender: &Sender, msg: Message) -> Result<Outgoing, ClientError> {
        prepare_message(msg, &self.settings.limits, || {
            sender.instance.next_uniq_id()
        })
    }

    /// Sends and waits until the broker stored the message, retrying on other brokers.
    /// On error, [`ClientError::may_be_stored`] tells whether it may be stored anyway.
    pub async fn send(&self, msg: Message) -> Result<SendResult, ClientError> {
        let sender = self.lifecycle.running()?;
        let out = self.prepare(&sender, msg)?;
        sender.send(&out).await
    }

    /// Sends `msg` to become visible to consumers at `at` (`TIMER_DELIVER_MS`, by the
    /// broker's clock), like [`send`](Self::send) otherwise. A time already past is
    /// delivered at once; one further ahead than the broker's `timerMaxDelaySec` (3 days by
    /// default) is refused with MESSAGE_ILLEGAL.
    pub async fn send_at(&self, msg: Message, at: SystemTime) -> Result<SendResult, ClientError> {
        let ms = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.send(msg.with_deliver_time_ms(ms)).await
    }

    /// Sends `msg` to become visible to consumers `delay` after the broker stores it
    /// (`TIMER_DELAY_MS`), like [`send_at`](Self::send_at).
    pub async fn send_after(
        &self,
        msg: Message,
        delay: Duration,
    ) -> Result<SendResult, ClientError> {
        let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        self.send(msg.with_delay_ms(ms)).await
    }

    /// Sends in the background and calls `callback` with the outcome, on a blocking-pool
    /// thread. Returns at once. Must be called within a tokio runtime.
    pub fn send_async<F>(&self, msg: Message, callback: F)
    where
        F: FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    {
        let prepared = self
            .lifecycle
            .running()
            .and_then(|sender| self.prepare(&sender, msg).map(|out| (sender, out)));
        let (sender, out) = match prepared {
            Ok(p) => p,
            Err(e) => {
                complete_in_background(callback, Err(e));
                return;
            }
        };
        let tracker = sender.tracker.clone();
        tracker.spawn(async move {
            let result = sender.send(&out).await;
            if tokio::task::spawn_blocking(move || callback(result))
                .await
                .is_err()
            {
                warn!("a send callback panicked");
            }
        });
    }

    /// Sends once without waiting for the broker; nothing tells whether it was stored.
    pub async fn send_oneway(&self, msg: Message) -> Result<(), ClientError> {
        let sender = self.lifecycle.running()?;
        let out = self.prepare(&sender, msg)?;
        sender.send_oneway(&out).await
    }

    /// Sends messages of one topic as one SEND_BATCH_MESSAGE; they are stored with
    /// consecutive offsets in one queue. `msg_id` and `offset_msg_id` of the result list
    /// every message, comma-separated.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult, ClientError> {
        let sender = self.lifecycle.running()?;
        let out = prepare_batch(msgs, &self.settings.limits, || {
            sender.instance.next_uniq_id()
        })?;
        sender.send(&out).await
    }

    /// Sends to the queue the caller chose, once (no retry on another queue).
    pub async fn send_to_queue(
        &self,
        msg: Message,
        mq: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        if msg.topic != mq.topic {
            return Err(ClientError::InvalidMessage(format!(
                "the message's topic {} is not the queue's topic {}",
                msg.topic, mq.topic
            )));
        }
        let sender = self.lifecycle.running()?;
        let out = self.prepare(&sender, msg)?;
        let timeout = self.settings.send_timeout;
        let deadline = Instant::now() + timeout;
        tokio::time::timeout_at(deadline, sender.send_to(mq, &out, timeout))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }

    /// Sends to the queue `selector` picks among the topic's writable queues, for ordered
    /// messages: messages with one sharding key sent with [`QueueSelector::by_hash`] land in
    /// one queue in send order. The send is tried once, on that queue only: retrying on
    /// another queue could break the order, so a failure is returned (within the send
    /// timeout). `by_hash` records its key as the message's sharding key (`__SHARDINGKEY`).
    pub async fn send_with_selector(
        &self,
        mut msg: Message,
        selector: &QueueSelector,
    ) -> Result<SendResult, ClientError> {
        if let Some(key) = selector.sharding_key() {
            msg.properties.insert(keys::SHARDING_KEY, key);
        }
        check_message(&msg, &self.settings.limits)?;
        let sender = self.lifecycle.running()?;
        let timeout = self.settings.send_timeout;
        let deadline = Instant::now() + timeout;
        let send = async {
            let info = sender.publish_info(&msg.topic).await?;
            let mq = selector.select(&info.queues, &msg)?.clone();
            let out = self.prepare(&sender, msg)?;
            let result = sender.send_to(&mq, &out, timeout).await;
            if let Err(e) = &result {
                if e.is_retriable_send() {
                    sender.instance.refresh_route_soon(&out.topic);
                }
                debug!(%mq, "send with a queue selector failed: {e}");
            }
            result
        };
        tokio::time::timeout_at(deadline, send)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }
}

/// Runs a callback off the async workers; inline when there is no runtime to protect.
fn complete_in_background<F>(callback: F, result: Result<SendResult, ClientError>)
where
    F: FnOnce(Result<SendResult, ClientError>) + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn_blocking(move || callback(result));
        }
        Err(_) => callback(result),
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(sender) = self.lifecycle.begin_shutdown() {
            shutdown_on_drop("producer", async move { sender.shutdown().await });
        }
    }
}
