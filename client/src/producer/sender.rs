//! [`Sender`]: a running producer. Finds a topic's queues (its route; for an unknown topic
//! the route of `TBW102`, so that the broker creates the topic on the first send), picks a
//! queue, sends, and retries.
//!
//! A send makes up to 1 + `retry_times` attempts within `send_timeout` in all. An attempt
//! that fails with a transport error or a retriable response code (see
//! [`ClientError::is_retriable_send`]) marks its broker unavailable for a while, has the
//! topic's route fetched again in the background, and the next attempt goes to another
//! broker when there is one; any other error ends the send.

use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::body::MessageQueue;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use tracing::{debug, info};

use super::fault::{select_queue, LatencyFault};
use super::prepare::Outgoing;
use super::settings::ProducerSettings;
use super::SendResult;
use crate::error::ClientError;
use crate::instance::{self, CheckerRef, ClientInstance};
use crate::route::TopicPublishInfo;

/// A running producer.
pub(crate) struct Sender {
    pub(crate) settings: ProducerSettings,
    pub(crate) instance: Arc<ClientInstance>,
    fault: LatencyFault,
    /// Asynchronous sends in flight.
    pub(crate) tracker: TaskTracker,
}

impl Sender {
    /// Joins the client instance and registers the producer group, with the checker of a
    /// transaction producer.
    pub(crate) async fn start(
        settings: ProducerSettings,
        checker: Option<CheckerRef>,
    ) -> Result<Arc<Self>, ClientError> {
        let instance = instance::acquire(&settings.client)?;
        if let Err(e) = instance.register_producer(&settings.group, checker) {
            instance::release(&instance).await;
            return Err(e);
        }
        instance.heartbeat_all().await;
        info!(group = %settings.group, client_id = instance.client_id(), "producer started");
        Ok(Arc::new(Sender {
            settings,
            instance,
            fault: LatencyFault::default(),
            tracker: TaskTracker::new(),
        }))
    }

    /// The queues to send `topic` to.
    pub(crate) async fn publish_info(
        &self,
        topic: &str,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        if let Some(info) = self.instance.publish_info(topic).filter(|i| i.ok()) {
            return Ok(info);
        }
        if !self.instance.update_route(topic).await? {
            self.instance
                .update_route_from_default(topic, self.settings.default_topic_queue_nums)
                .await?;
        }
        self.instance
            .publish_info(topic)
            .filter(|i| i.ok())
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_string(),
            })
    }

    /// Sends with retries.
    pub(crate) async fn send(&self, out: &Outgoing) -> Result<SendResult, ClientError> {
        let start = Instant::now();
        let timeout = self.settings.send_timeout;
        let info = tokio::time::timeout(timeout, self.publish_info(&out.topic))
            .await
            .map_err(|_| ClientError::Timeout(timeout))??;
        let mut brokers: Vec<String> = Vec::new();
        let mut maybe_stored = false;
        let mut last_error = None;
        for attempt in 0..=self.settings.retry_times {
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                last_error = Some(ClientError::Timeout(timeout));
                break;
            }
            let last_broker = brokers.last().map(String::as_str);
            let Some(mq) = select_queue(&info.queues, info.next_index(), last_broker, |b| {
                self.fault.is_available(b)
            }) else {
                break;
            };
            brokers.push(mq.broker_name.clone());
            let begin = Instant::now();
            let result = self.send_to(mq, out, timeout - elapsed).await;
            let latency = begin.elapsed();
            match result {
                Ok(r) => {
                    self.fault.record(&mq.broker_name, latency, false);
                    return Ok(r);
                }
                Err(e) if e.is_retriable_send() => {
                    self.fault.record(&mq.broker_name, latency, true);
                    self.instance.refresh_route_soon(&out.topic);
                    maybe_stored |= e.may_be_stored();
                    debug!(%mq, attempt, "send attempt failed: {e}");
                    last_error = Some(e);
                }
                Err(e) if attempt == 0 || !maybe_stored => return Err(e),
                Err(e) => {
                    last_error = Some(e);
                    break;
                }
            }
        }
        let last = last_error.unwrap_or_else(|| ClientError::NoRoute {
            topic: out.topic.clone(),
        });
        Err(ClientError::SendFailed {
            attempts: brokers.len() as u32,
            brokers,
            maybe_stored: maybe_stored || last.may_be_stored(),
            last: Box::new(last),
        })
    }

    /// One attempt to `mq`, waiting up to `timeout`.
    pub(crate) async fn send_to(
        &self,
        mq: &MessageQueue,
        out: &Outgoing,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let addr = self.instance.master_addr(mq).await?;
        let header = out.header(
            &self.settings.group,
            mq,
            self.settings.default_topic_queue_nums,
        );
        self.instance
            .api()
            .send(
                &addr,
                mq,
                header,
                out.body.clone(),
                out.msg_id.clone(),
                timeout,
            )
            .await
    }

    /// One oneway send to a queue of the topic.
    pub(crate) async fn send_oneway(&self, out: &Outgoing) -> Result<(), ClientError> {
        let info = self.publish_info(&out.topic).await?;
        let mq = select_queue(&info.queues, info.next_index(), None, |b| {
            self.fault.is_available(b)
        })
        .ok_or_else(|| ClientError::NoRoute {
            topic: out.topic.clone(),
        })?;
        let addr = self.instance.master_addr(mq).await?;
        let header = out.header(
            &self.settings.group,
            mq,
            self.settings.default_topic_queue_nums,
        );
        self.instance
            .api()
            .send_oneway(&addr, header, out.body.clone())
            .await
    }

    /// Waits for asynchronous sends, leaves the group, gives the instance back.
    pub(crate) async fn shutdown(&self) {
        self.tracker.close();
        self.tracker.wait().await;
        let group = &self.settings.group;
        self.instance.unregister_producer(group);
        self.instance.unregister_client(Some(group), None).await;
        instance::release(&self.instance).await;
        info!(%group, "producer stopped");
    }
}
