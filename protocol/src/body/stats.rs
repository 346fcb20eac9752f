//! Statistics bodies keyed by MessageQueue (written in fastjson's object-key form):
//! GET_CONSUME_STATS (ConsumeStats), GET_TOPIC_STATS_INFO (TopicStatsTable), and the
//! ResetOffsetBody of INVOKE_BROKER_TO_RESET_OFFSET / RESET_CONSUMER_CLIENT_OFFSET.

use serde::{Deserialize, Serialize};

use super::MqMap;

/// Progress of a consumer group on one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetWrapper {
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// Store time of the last consumed message (0 when unknown).
    #[serde(default)]
    pub last_timestamp: i64,
    #[serde(default)]
    pub pull_offset: i64,
}

/// `{"consumeTps":d,"offsetTable":{MQ:{brokerOffset,consumerOffset,pullOffset,lastTimestamp}}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeStats {
    #[serde(default)]
    pub consume_tps: f64,
    #[serde(default)]
    pub offset_table: MqMap<OffsetWrapper>,
}

impl ConsumeStats {
    /// fastjson text, object keys included.
    pub fn to_json(&self) -> String {
        let mut s = format!(
            "{{\"consumeTps\":{},\"offsetTable\":",
            json_f64(self.consume_tps)
        );
        self.offset_table.write_json(&mut s);
        s.push('}');
        s
    }

    /// Sum of broker offset minus consumer offset over every queue.
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .0
            .iter()
            .map(|(_, w)| (w.broker_offset - w.consumer_offset).max(0))
            .sum()
    }
}

/// Offsets of one queue of a topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffset {
    /// Store time of the newest message (0 when the queue is empty).
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

/// `{"offsetTable":{MQ:{minOffset,maxOffset,lastUpdateTimestamp}},"topicPutTps":d}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatsTable {
    #[serde(default)]
    pub offset_table: MqMap<TopicOffset>,
    #[serde(default)]
    pub topic_put_tps: f64,
}

impl TopicStatsTable {
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\"offsetTable\":");
        self.offset_table.write_json(&mut s);
        s.push_str(&format!(
            ",\"topicPutTps\":{}}}",
            json_f64(self.topic_put_tps)
        ));
        s
    }
}

/// `{"offsetTable":{MQ:offset}}`: offsets a consumer group is reset to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetBody {
    #[serde(default)]
    pub offset_table: MqMap<i64>,
}

impl ResetOffsetBody {
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\"offsetTable\":");
        self.offset_table.write_json(&mut s);
        s.push('}');
        s
    }
}

fn json_f64(v: f64) -> String {
    if v.is_finite() {
        format!("{v:?}")
    } else {
        "0.0".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::MessageQueue;
    use crate::decode_body;

    #[test]
    fn consume_stats_round_trip() {
        let stats = ConsumeStats {
            consume_tps: 1.5,
            offset_table: MqMap(vec![(
                MessageQueue::new("T", "broker-a", 0),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: 4,
                    last_timestamp: 99,
                    pull_offset: 6,
                },
            )]),
        };
        let json = stats.to_json();
        assert!(json.starts_with(r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"#));
        let back: ConsumeStats = decode_body(json.as_bytes()).unwrap();
        assert_eq!(back, stats);
        assert_eq!(back.total_diff(), 6);
        let t = TopicStatsTable {
            offset_table: MqMap::default(),
            topic_put_tps: 0.0,
        };
        assert_eq!(t.to_json(), r#"{"offsetTable":{},"topicPutTps":0.0}"#);
        let r: ResetOffsetBody =
            decode_body(ResetOffsetBody::default().to_json().as_bytes()).unwrap();
        assert!(r.offset_table.0.is_empty());
    }
}
