//! [`QueueSelector`]: how a send picks its queue itself, for ordered messages (RocketMQ's
//! MessageQueueSelector). Every message of one key must go to one queue, so that a consumer
//! that holds the queue sees them in the order they were sent; a send with a selector is
//! therefore tried on its queue only, never retried on another one.
//!
//! The selector sees the topic's writable queues in route order (brokers by name, then
//! queue id), the same list on every producer with the same route.

use std::fmt;
use std::sync::Arc;

use fennec_protocol::body::MessageQueue;
use fennec_protocol::hash::java_hash;
use fennec_protocol::message::msg_id::random_u32;
use fennec_protocol::message::Message;

use crate::error::ClientError;

type CustomFn = dyn Fn(&[MessageQueue], &Message) -> usize + Send + Sync;

#[derive(Clone)]
enum Kind {
    Hash(String),
    Random,
    Custom(Arc<CustomFn>),
}

/// Picks the queue of a send among the topic's writable queues.
///
/// ```
/// use fennec_client::producer::QueueSelector;
///
/// // Every message of order 42 goes to the same queue.
/// let by_order = QueueSelector::by_hash("order-42");
/// // The application decides: here, always the last queue.
/// let last = QueueSelector::custom(|queues, _msg| queues.len() - 1);
/// # let _ = (by_order, last, QueueSelector::random());
/// ```
#[derive(Clone)]
pub struct QueueSelector(Kind);

impl QueueSelector {
    /// The queue at `|javaHash(key) % n|` (RocketMQ's SelectMessageQueueByHash with a string
    /// argument, so Java producers pick the same queue for the same key); the key is also
    /// recorded as the message's sharding key (`__SHARDINGKEY`).
    pub fn by_hash(sharding_key: impl Into<String>) -> Self {
        QueueSelector(Kind::Hash(sharding_key.into()))
    }

    /// A random queue (SelectMessageQueueByRandom).
    pub fn random() -> Self {
        QueueSelector(Kind::Random)
    }

    /// The queue whose index in `queues` the function returns; an index past the end fails
    /// the send.
    pub fn custom(f: impl Fn(&[MessageQueue], &Message) -> usize + Send + Sync + 'static) -> Self {
        QueueSelector(Kind::Custom(Arc::new(f)))
    }

    /// The sharding key this selector records on the message, if any.
    pub(crate) fn sharding_key(&self) -> Option<&str> {
        match &self.0 {
            Kind::Hash(key) => Some(key),
            _ => None,
        }
    }

    /// The queue for `msg` among `queues`.
    pub(crate) fn select<'q>(
        &self,
        queues: &'q [MessageQueue],
        msg: &Message,
    ) -> Result<&'q MessageQueue, ClientError> {
        let n = queues.len();
        if n == 0 {
            return Err(ClientError::NoRoute {
                topic: msg.topic.clone(),
            });
        }
        let index = match &self.0 {
            Kind::Hash(key) => hash_index(key, n),
            Kind::Random => random_u32() as usize % n,
            Kind::Custom(f) => f(queues, msg),
        };
        queues.get(index).ok_or_else(|| {
            ClientError::InvalidMessage(format!(
                "the queue selector chose queue index {index} of topic {}, which has {n} writable queues",
                msg.topic
            ))
        })
    }
}

/// `|javaHash(key) % n|`, as Java computes it (the remainder keeps the hash's sign).
fn hash_index(key: &str, n: usize) -> usize {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let rem = i64::from(java_hash(key)) % n;
    usize::try_from(rem.abs()).unwrap_or(0)
}

impl fmt::Debug for QueueSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Hash(key) => f.debug_tuple("QueueSelector::by_hash").field(key).finish(),
            Kind::Random => f.write_str("QueueSelector::random"),
            Kind::Custom(_) => f.write_str("QueueSelector::custom"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    #[test]
    fn hash_matches_java() {
        // "order-1".hashCode() = -1207111310 in Java, % 4 = -2, made positive as Java's
        // Math.abs does; "a".hashCode() = 97.
        assert_eq!(java_hash("order-1"), -1_207_111_310);
        assert_eq!(hash_index("order-1", 4), 2);
        assert_eq!(hash_index("order-3", 5), 3);
        assert_eq!(hash_index("a", 8), 1);
        let q = queues(8);
        let msg = Message::new("T", "x");
        let by_key = QueueSelector::by_hash("a");
        assert_eq!(by_key.select(&q, &msg).unwrap().queue_id, 1);
        assert_eq!(by_key.sharding_key(), Some("a"));
    }

    #[test]
    fn random_custom_and_errors() {
        let q = queues(3);
        let msg = Message::new("T", "x");
        for _ in 0..20 {
            assert!(QueueSelector::random().select(&q, &msg).unwrap().queue_id < 3);
        }
        let last = QueueSelector::custom(|queues, _| queues.len() - 1);
        assert_eq!(last.select(&q, &msg).unwrap().queue_id, 2);
        assert_eq!(last.sharding_key(), None);
        let beyond = QueueSelector::custom(|queues, _| queues.len());
        let err = beyond.select(&q, &msg).unwrap_err().to_string();
        assert!(
            err.contains("index 3") && err.contains("3 writable queues"),
            "{err}"
        );
        assert!(matches!(
            QueueSelector::random().select(&[], &msg),
            Err(ClientError::NoRoute { .. })
        ));
    }
}
