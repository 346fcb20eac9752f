//! [`ConsumerSettings`], the settings push and pull consumers share, and the builder
//! setters for them (one macro, so that both builders offer the same names).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{validate_group, ClientConfig};
use crate::error::ClientError;
use fennec_protocol::body::{ConsumeFromWhere, MessageModel};

/// Settings of a consumer, whichever kind.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerSettings {
    pub(crate) client: ClientConfig,
    pub(crate) model: MessageModel,
    pub(crate) consume_from: ConsumeFromWhere,
    /// For CONSUME_FROM_TIMESTAMP (ms); `None`: 30 minutes before start.
    pub(crate) consume_timestamp: Option<i64>,
    /// Messages asked for per pull (`pullBatchSize`).
    pub(crate) pull_batch_size: i32,
    /// How long the broker may hold a pull (`brokerSuspendMaxTimeMillis`).
    pub(crate) broker_suspend: Duration,
    /// RPC timeout of a pull (`consumerTimeoutMillisWhenSuspend`).
    pub(crate) pull_timeout: Duration,
    /// Offset file of a broadcasting consumer; `None`: the default path.
    pub(crate) offset_file: Option<PathBuf>,
}

impl ConsumerSettings {
    pub(crate) fn new(pull_batch_size: i32) -> Self {
        ConsumerSettings {
            client: ClientConfig::default(),
            model: MessageModel::Clustering,
            consume_from: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp: None,
            pull_batch_size,
            broker_suspend: Duration::from_secs(15),
            pull_timeout: Duration::from_secs(30),
            offset_file: None,
        }
    }

    /// Checks the group name and the numbers.
    pub(crate) fn validate(&self, group: &str) -> Result<(), ClientError> {
        validate_group(group)?;
        if !(1..=1024).contains(&self.pull_batch_size) {
            return Err(ClientError::Config(format!(
                "pull batch size {} is outside 1..=1024",
                self.pull_batch_size
            )));
        }
        if self.pull_timeout <= self.broker_suspend {
            return Err(ClientError::Config(
                "the pull timeout must exceed the broker suspend time".into(),
            ));
        }
        Ok(())
    }
}

/// The builder setters shared by the push and the pull consumer builders (besides
/// [`crate::config::client_setters`]); the builder keeps its [`ConsumerSettings`] in a field
/// named `settings`.
macro_rules! consumer_setters {
    () => {
        /// CLUSTERING (default: the group shares the queues) or BROADCASTING (every member
        /// reads every queue, offsets in a local file).
        pub fn message_model(mut self, model: fennec_protocol::body::MessageModel) -> Self {
            self.settings.model = model;
            self
        }

        /// Where a queue without a committed offset starts (default: the last offset).
        pub fn consume_from(mut self, from: fennec_protocol::body::ConsumeFromWhere) -> Self {
            self.settings.consume_from = from;
            self
        }

        /// The time (ms since the epoch) CONSUME_FROM_TIMESTAMP starts at (default: 30
        /// minutes before start).
        pub fn consume_timestamp(mut self, millis: i64) -> Self {
            self.settings.consume_timestamp = Some(millis);
            self
        }

        /// Messages asked for per pull.
        pub fn pull_batch_size(mut self, n: u32) -> Self {
            self.settings.pull_batch_size = i32::try_from(n).unwrap_or(i32::MAX);
            self
        }

        /// How long a broker may hold a pull while waiting for messages (default 15 s);
        /// the pull's timeout is this plus 15 s.
        pub fn broker_suspend(mut self, hold: std::time::Duration) -> Self {
            self.settings.broker_suspend = hold;
            self.settings.pull_timeout = hold + std::time::Duration::from_secs(15);
            self
        }

        /// The offset file of a broadcasting consumer (default
        /// `~/.rocketmq_offsets/<clientId>/<group>/offsets.json`).
        pub fn offset_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.settings.offset_file = Some(path.into());
            self
        }
    };
}

pub(crate) use consumer_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_groups_and_numbers() {
        let s = ConsumerSettings::new(32);
        assert!(s.validate("CG_1").is_ok());
        assert!(s.validate("").is_err());
        assert!(s.validate("bad group").is_err());
        let mut big = s.clone();
        big.pull_batch_size = 2000;
        assert!(big.validate("G").is_err());
        let mut short = s;
        short.pull_timeout = short.broker_suspend;
        assert!(short.validate("G").is_err());
    }
}
