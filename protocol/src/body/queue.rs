//! MessageQueue, the address of one queue of a topic on one broker, and [`MqMap`], a map keyed
//! by it that reads and writes fastjson's object-key form:
//! `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}` (ConsumeStats, TopicStatsTable,
//! ResetOffsetBody). Java tools expect exactly that form, which serde cannot produce, so
//! [`MqMap::write_json`] writes it by hand.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One queue: topic, broker name and queue id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }
}

/// RocketMQ's order: topic, then broker name, then queue id (allocation depends on it).
impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.topic
            .cmp(&other.topic)
            .then_with(|| self.broker_name.cmp(&other.broker_name))
            .then_with(|| self.queue_id.cmp(&other.queue_id))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}

/// A map keyed by [`MessageQueue`], in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct MqMap<V>(pub Vec<(MessageQueue, V)>);

impl<V> Default for MqMap<V> {
    fn default() -> Self {
        MqMap(Vec::new())
    }
}

impl<V: Serialize> MqMap<V> {
    /// Appends fastjson's object-key form to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (mq, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(mq).unwrap_or_default());
            out.push(':');
            out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()));
        }
        out.push('}');
    }
}

impl<V> MqMap<V> {
    pub fn get(&self, mq: &MessageQueue) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == mq).map(|(_, v)| v)
    }
}

/// Reads the map after [`crate::fastjson::to_standard`] turned each object key into
/// a string holding the key's JSON.
impl<'de, V: Deserialize<'de>> Deserialize<'de> for MqMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = MqMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map keyed by MessageQueue")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MqMap<V>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    let mq: MessageQueue = serde_json::from_str(&k).map_err(|e| {
                        de::Error::custom(format!("bad MessageQueue key {k:?}: {e}"))
                    })?;
                    out.push((mq, v));
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(MqMap(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_body;

    #[test]
    fn object_key_round_trip() {
        let map = MqMap(vec![
            (MessageQueue::new("T", "b", 0), 5i64),
            (MessageQueue::new("T", "b", 1), 7),
        ]);
        let mut s = String::new();
        map.write_json(&mut s);
        assert_eq!(
            s,
            r#"{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}"#
        );
        let back: MqMap<i64> = decode_body(s.as_bytes()).unwrap();
        assert_eq!(back, map);
    }

    #[test]
    fn ordering_matches_rocketmq() {
        let mut v = [
            MessageQueue::new("B", "a", 0),
            MessageQueue::new("A", "b", 1),
            MessageQueue::new("A", "b", 0),
            MessageQueue::new("A", "a", 3),
        ];
        v.sort();
        let keys: Vec<_> = v
            .iter()
            .map(|m| (m.topic.as_str(), m.broker_name.as_str(), m.queue_id))
            .collect();
        assert_eq!(
            keys,
            [("A", "a", 3), ("A", "b", 0), ("A", "b", 1), ("B", "a", 0)]
        );
    }
}
