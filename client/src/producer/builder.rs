//! [`ProducerBuilder`]: how a [`Producer`] (or a [`TransactionProducer`]) is made, with
//! RocketMQ's defaults.

use std::sync::Arc;
use std::time::Duration;

use fennec_protocol::message::compression::COMPRESS_OVER;

use super::handle::Producer;
use super::prepare::MessageLimits;
use super::settings::ProducerSettings;
use super::transactional::TransactionProducer;
use super::tx_listener::TransactionListener;
use crate::config::{client_setters, validate_group, ClientConfig};
use crate::error::ClientError;

/// Builds a [`Producer`]. Defaults: send timeout 3 s, 2 retries, 4 MiB bodies at most,
/// bodies of 4 KiB or more compressed, 4 queues per broker for topics created on first send.
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    settings: ProducerSettings,
}

impl Producer {
    /// A builder for a producer of `group`.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder::new(group.into())
    }
}

impl ProducerBuilder {
    fn new(group: String) -> Self {
        ProducerBuilder {
            settings: ProducerSettings {
                group,
                client: ClientConfig::default(),
                send_timeout: Duration::from_secs(3),
                retry_times: 2,
                limits: MessageLimits {
                    max_message_size: 4 * 1024 * 1024,
                    compress_over: COMPRESS_OVER,
                },
                default_topic_queue_nums: 4,
            },
        }
    }

    client_setters!();

    /// Time for a whole send, retries included.
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.settings.send_timeout = timeout;
        self
    }

    /// Attempts after the first when a send fails.
    pub fn retry_times(mut self, n: u32) -> Self {
        self.settings.retry_times = n;
        self
    }

    /// Largest body accepted.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.settings.limits.max_message_size = bytes;
        self
    }

    /// Bodies of at least this size are compressed.
    pub fn compress_over(mut self, bytes: usize) -> Self {
        self.settings.limits.compress_over = bytes;
        self
    }

    /// Queues per broker for topics the broker creates on first send.
    pub fn default_topic_queue_nums(mut self, n: i32) -> Self {
        self.settings.default_topic_queue_nums = n;
        self
    }

    /// Checks the settings and creates the producer (not started).
    pub fn build(self) -> Result<Producer, ClientError> {
        Ok(Producer::new(self.checked()?, None))
    }

    /// Checks the settings and creates a transaction producer (not started) whose
    /// `listener` executes and checks its local transactions.
    pub fn build_transactional<L: TransactionListener>(
        self,
        listener: L,
    ) -> Result<TransactionProducer, ClientError> {
        Ok(TransactionProducer::new(
            self.checked()?,
            Arc::new(listener),
        ))
    }

    fn checked(self) -> Result<ProducerSettings, ClientError> {
        let s = &self.settings;
        validate_group(&s.group)?;
        if s.send_timeout.is_zero() {
            return Err(ClientError::Config(
                "the send timeout must be positive".into(),
            ));
        }
        if s.default_topic_queue_nums < 1 {
            return Err(ClientError::Config(
                "default topic queue nums must be positive".into(),
            ));
        }
        Ok(self.settings)
    }
}
