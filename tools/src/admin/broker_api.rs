//! Broker administration requests of [`AdminClient`]: topics, configuration, runtime info,
//! subscription groups, consume statistics, consumer and producer connections and offset
//! resets. Each is one typed request (`fennec_protocol::request::admin`).

use fennec_protocol::body::{
    ConsumeStats, ConsumerConnection, KvTable, ProducerConnection, ResetOffsetBody,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicStatsTable,
};
use fennec_protocol::header::{
    CreateTopicRequestHeader, GetConsumeStatsRequestHeader, GetProducerConnectionListRequestHeader,
    ResetOffsetRequestHeader,
};
use fennec_protocol::request::admin::{
    CreateSubscriptionGroup, DeleteTopicInBroker, GetAllSubscriptionGroups, GetBrokerConfig,
    GetBrokerRuntimeInfo, GetConsumerConnections, GetTopicStats, UpdateBrokerConfig,
};

use super::client::{parse_properties, AdminClient};
use super::error::AdminError;

impl AdminClient {
    /// UPDATE_AND_CREATE_TOPIC.
    pub async fn create_topic(
        &self,
        addr: &str,
        header: &CreateTopicRequestHeader,
    ) -> Result<(), AdminError> {
        self.broker(addr, header).await
    }

    /// DELETE_TOPIC_IN_BROKER.
    pub async fn delete_topic_in_broker(&self, addr: &str, topic: &str) -> Result<(), AdminError> {
        let request = DeleteTopicInBroker {
            topic: topic.to_string(),
        };
        self.broker(addr, &request).await
    }

    /// GET_TOPIC_STATS_INFO.
    pub async fn topic_stats(
        &self,
        addr: &str,
        topic: &str,
    ) -> Result<TopicStatsTable, AdminError> {
        let request = GetTopicStats {
            topic: topic.to_string(),
        };
        self.broker(addr, &request).await
    }

    /// GET_BROKER_RUNTIME_INFO: the broker's statistics table.
    pub async fn broker_runtime_info(&self, addr: &str) -> Result<KvTable, AdminError> {
        self.broker(addr, &GetBrokerRuntimeInfo).await
    }

    /// GET_BROKER_CONFIG: the broker's `key=value` configuration.
    pub async fn broker_config(&self, addr: &str) -> Result<Vec<(String, String)>, AdminError> {
        let text = self.broker(addr, &GetBrokerConfig).await?;
        Ok(parse_properties(&text))
    }

    /// UPDATE_BROKER_CONFIG with one `key=value` line.
    pub async fn update_broker_config(
        &self,
        addr: &str,
        key: &str,
        value: &str,
    ) -> Result<(), AdminError> {
        let request = UpdateBrokerConfig {
            properties: format!("{key}={value}\n"),
        };
        self.broker(addr, &request).await
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
    pub async fn create_subscription_group(
        &self,
        addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<(), AdminError> {
        self.broker(addr, &CreateSubscriptionGroup(config.clone()))
            .await
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
    pub async fn subscription_groups(
        &self,
        addr: &str,
    ) -> Result<SubscriptionGroupWrapper, AdminError> {
        self.broker(addr, &GetAllSubscriptionGroups).await
    }

    /// GET_CONSUME_STATS of `group`, for one topic or every topic the group consumes.
    pub async fn consume_stats(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats, AdminError> {
        let request = GetConsumeStatsRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.map(str::to_string),
        };
        self.broker(addr, &request).await
    }

    /// GET_CONSUMER_CONNECTION_LIST; `None` when the group has no online consumer there
    /// (CONSUMER_NOT_ONLINE).
    pub async fn consumer_connection(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<Option<ConsumerConnection>, AdminError> {
        let request = GetConsumerConnections {
            group: group.to_string(),
        };
        self.broker(addr, &request).await
    }

    /// GET_PRODUCER_CONNECTION_LIST: the producers of `group` connected to the broker (an
    /// error when it has none).
    pub async fn producer_connection(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<ProducerConnection, AdminError> {
        let request = GetProducerConnectionListRequestHeader {
            producer_group: group.to_string(),
        };
        self.broker(addr, &request).await
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET: the broker computes the offsets for the timestamp and
    /// pushes them to the group's online consumers; the reply lists them.
    pub async fn reset_offset(
        &self,
        addr: &str,
        header: &ResetOffsetRequestHeader,
    ) -> Result<ResetOffsetBody, AdminError> {
        self.broker(addr, header).await
    }
}
