//! Reserved topic and group names and topic-name validation (reference §12 and §2.3).

/// Template topic for auto-creation.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
/// Prefix of a group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Delay-level staging topic.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Timer messages waiting for their due time (RocketMQ 5's name).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Half (prepared) transactional messages.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Transaction op messages.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Transactions that exhausted their checks.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Default consumer group used by admin tools.
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// Producer group used by clients internally (send-back).
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";
/// The default cluster name.
pub const DEFAULT_CLUSTER: &str = "DefaultCluster";

/// Topics reserved by the system: an admin may not create or delete them.
pub const SYSTEM_TOPICS: &[&str] = &[
    AUTO_CREATE_TOPIC_KEY,
    SCHEDULE_TOPIC,
    TIMER_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "BenchmarkTest",
    "RMQ_SYS_TRACE_TOPIC",
];

/// System topics no client may send to (RocketMQ's NOT_ALLOWED_SEND_TOPIC_SET); the
/// benchmark and trace topics stay open to producers.
pub const SEND_FORBIDDEN_TOPICS: &[&str] = &[
    SCHEDULE_TOPIC,
    TIMER_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Longest ordinary topic name.
pub const MAX_TOPIC_LENGTH: usize = 127;
/// Longest retry or DLQ topic name.
pub const MAX_SYSTEM_TOPIC_LENGTH: usize = 255;

/// The retry topic of a consumer group.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// The dead-letter topic of a consumer group.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}

pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// Whether `topic` is reserved by the system (not created or deleted by admins).
pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic)
}

/// Whether a send to `topic` must be refused.
pub fn is_send_forbidden(topic: &str) -> bool {
    SEND_FORBIDDEN_TOPICS.contains(&topic)
}

/// Checks a topic name: `[%|a-zA-Z0-9_-]`, at most 127 bytes (255 for retry and DLQ
/// topics). Returns a message fit for a response remark when it is not valid.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("the specified topic is blank".to_string());
    }
    let max = if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
        || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    {
        MAX_SYSTEM_TOPIC_LENGTH
    } else {
        MAX_TOPIC_LENGTH
    };
    if topic.len() > max {
        return Err(format!(
            "the specified topic is longer than topic max length {max}"
        ));
    }
    if let Some(c) = topic
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')))
    {
        return Err(format!("the specified topic[{topic}] contains illegal characters ({c:?}), allowing only ^[%|a-zA-Z0-9_-]+$"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_topics() {
        assert!(validate_topic("Topic_A-1%|x").is_ok());
        assert!(validate_topic("").is_err());
        assert!(validate_topic("a b").is_err());
        assert!(validate_topic(&"a".repeat(127)).is_ok());
        assert!(validate_topic(&"a".repeat(128)).is_err());
        assert!(validate_topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(is_system_topic("SCHEDULE_TOPIC_XXXX"));
        assert!(is_system_topic("BenchmarkTest") && !is_send_forbidden("BenchmarkTest"));
        assert!(is_send_forbidden("RMQ_SYS_TRANS_HALF_TOPIC"));
        assert_eq!(retry_topic("G"), "%RETRY%G");
    }
}
