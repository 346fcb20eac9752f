//! Broker administration requests of [`AdminClient`]: topics, configuration, runtime info,
//! subscription groups, consume statistics, consumer connections and offset resets.

use fennec_common::protocol::body::{
    ConsumeStats, ConsumerConnection, KvTable, ResetOffsetBody, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicStatsTable,
};
use fennec_common::protocol::encode_body;
use fennec_common::protocol::header::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, GetConsumeStatsRequestHeader,
    ResetOffsetRequestHeader, TopicRequestHeader,
};
use fennec_common::remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::client::{body, check, parse_properties, AdminClient};
use super::error::AdminError;

impl AdminClient {
    /// Sends a request to a broker and requires SUCCESS.
    async fn broker_ok(
        &self,
        addr: &str,
        code: RequestCode,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        let reply = self.call_broker(addr, cmd).await?;
        check(addr, code, reply)
    }

    /// UPDATE_AND_CREATE_TOPIC.
    pub async fn create_topic(
        &self,
        addr: &str,
        header: &CreateTopicRequestHeader,
    ) -> Result<(), AdminError> {
        let code = RequestCode::UPDATE_AND_CREATE_TOPIC;
        let cmd = RemotingCommand::request_with_header(code, header);
        self.broker_ok(addr, code, cmd).await.map(drop)
    }

    /// DELETE_TOPIC_IN_BROKER.
    pub async fn delete_topic_in_broker(&self, addr: &str, topic: &str) -> Result<(), AdminError> {
        let code = RequestCode::DELETE_TOPIC_IN_BROKER;
        let cmd = RemotingCommand::request_with_header(code, &topic_header(topic));
        self.broker_ok(addr, code, cmd).await.map(drop)
    }

    /// GET_TOPIC_STATS_INFO.
    pub async fn topic_stats(
        &self,
        addr: &str,
        topic: &str,
    ) -> Result<TopicStatsTable, AdminError> {
        let code = RequestCode::GET_TOPIC_STATS_INFO;
        let cmd = RemotingCommand::request_with_header(code, &topic_header(topic));
        let reply = self.broker_ok(addr, code, cmd).await?;
        body(addr, "TopicStatsTable", &reply)
    }

    /// GET_BROKER_RUNTIME_INFO: the broker's statistics table.
    pub async fn broker_runtime_info(&self, addr: &str) -> Result<KvTable, AdminError> {
        let code = RequestCode::GET_BROKER_RUNTIME_INFO;
        let reply = self
            .broker_ok(addr, code, RemotingCommand::request(code))
            .await?;
        body(addr, "KVTable", &reply)
    }

    /// GET_BROKER_CONFIG: the broker's `key=value` configuration.
    pub async fn broker_config(&self, addr: &str) -> Result<Vec<(String, String)>, AdminError> {
        let code = RequestCode::GET_BROKER_CONFIG;
        let reply = self
            .broker_ok(addr, code, RemotingCommand::request(code))
            .await?;
        Ok(parse_properties(&String::from_utf8_lossy(&reply.body)))
    }

    /// UPDATE_BROKER_CONFIG with one `key=value` line.
    pub async fn update_broker_config(
        &self,
        addr: &str,
        key: &str,
        value: &str,
    ) -> Result<(), AdminError> {
        let code = RequestCode::UPDATE_BROKER_CONFIG;
        let cmd = RemotingCommand::request(code).with_body(format!("{key}={value}\n"));
        self.broker_ok(addr, code, cmd).await.map(drop)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
    pub async fn create_subscription_group(
        &self,
        addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<(), AdminError> {
        let code = RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP;
        let cmd = RemotingCommand::request(code).with_body(encode_body(config));
        self.broker_ok(addr, code, cmd).await.map(drop)
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
    pub async fn subscription_groups(
        &self,
        addr: &str,
    ) -> Result<SubscriptionGroupWrapper, AdminError> {
        let code = RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG;
        let reply = self
            .broker_ok(addr, code, RemotingCommand::request(code))
            .await?;
        body(addr, "SubscriptionGroupWrapper", &reply)
    }

    /// GET_CONSUME_STATS of `group`, for one topic or every topic the group consumes.
    pub async fn consume_stats(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats, AdminError> {
        let code = RequestCode::GET_CONSUME_STATS;
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.map(str::to_string),
        };
        let cmd = RemotingCommand::request_with_header(code, &header);
        let reply = self.broker_ok(addr, code, cmd).await?;
        body(addr, "ConsumeStats", &reply)
    }

    /// GET_CONSUMER_CONNECTION_LIST; `None` when the group has no online consumer there
    /// (CONSUMER_NOT_ONLINE).
    pub async fn consumer_connection(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<Option<ConsumerConnection>, AdminError> {
        let code = RequestCode::GET_CONSUMER_CONNECTION_LIST;
        let header = ConsumerGroupRequestHeader {
            consumer_group: group.to_string(),
        };
        let cmd = RemotingCommand::request_with_header(code, &header);
        let reply = self.call_broker(addr, cmd).await?;
        if reply.code == i32::from(ResponseCode::CONSUMER_NOT_ONLINE) {
            return Ok(None);
        }
        let reply = check(addr, code, reply)?;
        body(addr, "ConsumerConnection", &reply).map(Some)
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET: the broker computes the offsets for the timestamp and
    /// pushes them to the group's online consumers; the reply lists them.
    pub async fn reset_offset(
        &self,
        addr: &str,
        header: &ResetOffsetRequestHeader,
    ) -> Result<ResetOffsetBody, AdminError> {
        let code = RequestCode::INVOKE_BROKER_TO_RESET_OFFSET;
        let cmd = RemotingCommand::request_with_header(code, header);
        let reply = self.broker_ok(addr, code, cmd).await?;
        if reply.body.is_empty() {
            return Ok(ResetOffsetBody::default());
        }
        body(addr, "ResetOffsetBody", &reply)
    }
}

fn topic_header(topic: &str) -> TopicRequestHeader {
    TopicRequestHeader {
        topic: topic.to_string(),
    }
}
