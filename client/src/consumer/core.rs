//! [`ConsumerCore`]: what a started consumer of either kind has: its group and settings, the
//! client instance, its subscriptions and offset store; and what follows from them alone:
//! the heartbeat's ConsumerData and the start offset of a newly owned queue.

use std::sync::Arc;

use fennec_protocol::body::{ConsumeType, ConsumerData, MessageModel, MessageQueue};
use fennec_protocol::time::now_millis;

use tracing::{debug, warn};

use super::offset_file;
use super::offset_store::OffsetStore;
use super::options::ConsumerSettings;
use super::start_offset::{plan_start, StartPlan};
use super::subscription::Subscriptions;
use crate::error::ClientError;
use crate::instance::MemberRef;
use crate::instance::{self, ClientInstance};

/// CONSUME_FROM_TIMESTAMP's default: this long before start.
const DEFAULT_TIMESTAMP_LOOKBACK_MS: i64 = 30 * 60 * 1000;

/// The shared state of a started consumer.
#[derive(Debug)]
pub(crate) struct ConsumerCore {
    pub(crate) group: String,
    pub(crate) settings: ConsumerSettings,
    pub(crate) consume_type: ConsumeType,
    /// The resolved CONSUME_FROM_TIMESTAMP time.
    pub(crate) consume_timestamp: i64,
    pub(crate) instance: Arc<ClientInstance>,
    pub(crate) subscriptions: Arc<Subscriptions>,
    pub(crate) offsets: OffsetStore,
}

impl ConsumerCore {
    /// Joins (or starts) the client instance and opens the offset store.
    pub(crate) async fn start(
        group: &str,
        settings: &ConsumerSettings,
        consume_type: ConsumeType,
        subscriptions: Arc<Subscriptions>,
    ) -> Result<Self, ClientError> {
        settings.validate(group)?;
        let instance = instance::acquire(&settings.client)?;
        let offsets = match settings.model {
            MessageModel::Clustering => Ok(OffsetStore::remote(group, instance.clone())),
            MessageModel::Broadcasting => {
                let path = settings
                    .offset_file
                    .clone()
                    .unwrap_or_else(|| offset_file::default_path(instance.client_id(), group));
                OffsetStore::local(path).await
            }
        };
        let offsets = match offsets {
            Ok(o) => o,
            Err(e) => {
                instance::release(&instance).await;
                return Err(e);
            }
        };
        Ok(ConsumerCore {
            group: group.to_string(),
            consume_timestamp: settings
                .consume_timestamp
                .unwrap_or_else(|| now_millis() - DEFAULT_TIMESTAMP_LOOKBACK_MS),
            settings: settings.clone(),
            consume_type,
            instance,
            subscriptions,
            offsets,
        })
    }

    pub(crate) fn client_id(&self) -> &str {
        self.instance.client_id()
    }

    /// What heartbeats tell brokers about this consumer.
    pub(crate) fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.settings.consume_from,
            consume_type: self.consume_type,
            group_name: self.group.clone(),
            message_model: self.settings.model,
            subscription_data_set: self.subscriptions.all(),
            unit_mode: false,
        }
    }

    /// Where to start reading `mq`: the committed offset, else per `ConsumeFromWhere`.
    pub(crate) async fn start_offset(&self, mq: &MessageQueue) -> Result<i64, ClientError> {
        let committed = self.offsets.read_committed(mq).await?;
        let plan = plan_start(
            committed,
            self.settings.consume_from,
            self.consume_timestamp,
            &mq.topic,
        );
        match plan {
            StartPlan::At(offset) => Ok(offset),
            StartPlan::MaxOffset => self.max_offset(mq).await,
            StartPlan::Timestamp(ts) => {
                let addr = self.instance.read_addr(mq).await?;
                self.instance.api().search_offset(&addr, mq, ts).await
            }
        }
    }

    /// GET_MAX_OFFSET of `mq`.
    pub(crate) async fn max_offset(&self, mq: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.instance.read_addr(mq).await?;
        self.instance.api().max_offset(&addr, mq).await
    }

    /// GET_MIN_OFFSET of `mq`.
    pub(crate) async fn min_offset(&self, mq: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.instance.read_addr(mq).await?;
        self.instance.api().min_offset(&addr, mq).await
    }

    /// The readable queues of `topic`, fetching its route when it is not cached.
    pub(crate) async fn topic_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        if let Some(queues) = self.instance.subscribe_queues(topic) {
            return Ok(queues);
        }
        self.instance.update_route(topic).await?;
        self.instance
            .subscribe_queues(topic)
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_string(),
            })
    }

    /// Registers the started consumer with its instance, fetches the routes of its topics
    /// and heartbeats, so that brokers know its subscriptions before its first pull. On
    /// failure the instance is given back.
    pub(crate) async fn join(&self, member: MemberRef) -> Result<(), ClientError> {
        if let Err(e) = self.instance.register_consumer(&self.group, member) {
            self.release().await;
            return Err(e);
        }
        for topic in self.subscriptions.topics() {
            if let Err(e) = self.instance.update_route(&topic).await {
                debug!(%topic, "route fetch failed: {e}");
            }
        }
        self.instance.heartbeat_all().await;
        Ok(())
    }

    /// After a subscription changed on a running consumer: tell the brokers, rebalance.
    pub(crate) fn subscriptions_changed(&self) {
        let instance = self.instance.clone();
        self.instance.spawn(async move {
            instance.heartbeat_all().await;
            instance.rebalance_now();
        });
    }

    /// The end of a shutdown, once the queues are stopped: commits the offsets (waiting for
    /// the brokers), tells the brokers the consumer left, gives the instance back.
    pub(crate) async fn leave(&self) {
        if let Err(e) = self.offsets.persist_all(true).await {
            warn!(group = %self.group, "final offset commit failed: {e}");
        }
        self.instance
            .unregister_client(None, Some(&self.group))
            .await;
        self.release().await;
    }

    /// Gives the instance back (the last user stops it).
    pub(crate) async fn release(&self) {
        instance::release(&self.instance).await;
    }
}
