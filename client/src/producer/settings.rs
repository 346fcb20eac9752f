//! [`ProducerSettings`]: everything a producer is configured with.

use std::time::Duration;

use super::prepare::MessageLimits;
use crate::config::ClientConfig;

/// Everything a producer is configured with.
#[derive(Debug, Clone)]
pub(crate) struct ProducerSettings {
    pub(crate) group: String,
    pub(crate) client: ClientConfig,
    /// Time for a whole send, retries included (`sendMsgTimeout`).
    pub(crate) send_timeout: Duration,
    /// Attempts after the first (`retryTimesWhenSendFailed`).
    pub(crate) retry_times: u32,
    pub(crate) limits: MessageLimits,
    /// Queues per broker asked for when the broker creates a topic (`defaultTopicQueueNums`).
    pub(crate) default_topic_queue_nums: i32,
}
