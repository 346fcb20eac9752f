//! HEART_BEAT body (HeartbeatData) and the subscription it carries.
//!
//! ```json
//! {"clientID":"10.0.0.5@4242#88123456789","heartbeatFingerprint":0,"withoutSub":false,
//!  "producerDataSet":[{"groupName":"PG"}],
//!  "consumerDataSet":[{"groupName":"CG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",
//!    "consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","unitMode":false,"subscriptionDataSet":[
//!    {"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":[2598919],"subVersion":1700000000000,
//!     "expressionType":"TAG","classFilterMode":false}]}]}
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::hash::java_hash;

/// Subscription expression meaning "every tag".
pub const SUB_ALL: &str = "*";

/// What a client tells a broker about itself every 30 s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default)]
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(default)]
    pub heartbeat_fingerprint: i32,
    #[serde(default)]
    pub producer_data_set: Vec<ProducerData>,
    #[serde(default)]
    pub without_sub: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    pub group_name: String,
}

/// A consumer group member's settings and subscriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    #[serde(default)]
    pub consume_from_where: ConsumeFromWhere,
    #[serde(default)]
    pub consume_type: ConsumeType,
    pub group_name: String,
    #[serde(default)]
    pub message_model: MessageModel,
    #[serde(default)]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(default)]
    pub unit_mode: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeType {
    /// Pull consumer.
    ConsumeActively,
    /// Push consumer.
    #[default]
    ConsumePassively,
    ConsumePop,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    Broadcasting,
    #[default]
    Clustering,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    #[default]
    ConsumeFromLastOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
    /// Deprecated names some clients still send.
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    ConsumeFromMinOffset,
    ConsumeFromMaxOffset,
}

/// One topic subscription with its tag filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionData {
    #[serde(default)]
    pub class_filter_mode: bool,
    /// Java hashes of the tags.
    #[serde(default)]
    pub code_set: BTreeSet<i32>,
    #[serde(default = "tag_type")]
    pub expression_type: String,
    /// `*`, or tags separated by `||`.
    pub sub_string: String,
    #[serde(default)]
    pub sub_version: i64,
    #[serde(default)]
    pub tags_set: BTreeSet<String>,
    pub topic: String,
}

fn tag_type() -> String {
    "TAG".to_string()
}

impl SubscriptionData {
    /// Parses a tag expression (`*`, `TagA`, `TagA || TagB`) into a subscription.
    pub fn from_tag_expression(topic: &str, expression: &str, sub_version: i64) -> Self {
        let expr = expression.trim();
        let mut sub = SubscriptionData {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: tag_type(),
            sub_string: if expr.is_empty() {
                SUB_ALL.to_string()
            } else {
                expr.to_string()
            },
            sub_version,
            tags_set: BTreeSet::new(),
            topic: topic.to_string(),
        };
        if !sub.is_all() {
            for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
                sub.code_set.insert(java_hash(tag));
                sub.tags_set.insert(tag.to_string());
            }
        }
        sub
    }

    /// Whether every message matches.
    pub fn is_all(&self) -> bool {
        self.sub_string.trim() == SUB_ALL || self.sub_string.trim().is_empty()
    }

    /// Broker-side match on a consume-queue tag hash.
    pub fn matches_tag_code(&self, tag_code: i64) -> bool {
        self.is_all() || i32::try_from(tag_code).is_ok_and(|c| self.code_set.contains(&c))
    }

    /// Client-side match on the tag string.
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        self.is_all() || tag.is_some_and(|t| self.tags_set.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::decode_body;

    #[test]
    fn parses_reference_heartbeat() {
        let body = br#"{"clientID":"10.0.0.5@4242#88123456789","heartbeatFingerprint":0,"withoutSub":false,
 "producerDataSet":[{"groupName":"PG"},{"groupName":"CLIENT_INNER_PRODUCER"}],
 "consumerDataSet":[{"groupName":"CG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",
   "consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","unitMode":false,"subscriptionDataSet":[
   {"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":[2598919],"subVersion":1700000000000,
    "expressionType":"TAG","classFilterMode":false},{"topic":"%RETRY%CG","subString":"*","tagsSet":[],"codeSet":[]}]}]}"#;
        let hb: HeartbeatData = decode_body(body).unwrap();
        assert_eq!(hb.client_id, "10.0.0.5@4242#88123456789");
        assert_eq!(hb.producer_data_set.len(), 2);
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.message_model, MessageModel::Clustering);
        assert_eq!(
            c.subscription_data_set[0],
            SubscriptionData::from_tag_expression("T", "TagA", 1_700_000_000_000)
        );
        assert!(c.subscription_data_set[1].is_all());
    }

    #[test]
    fn tag_expressions() {
        let s = SubscriptionData::from_tag_expression("T", " TagA || TagB ||", 1);
        assert_eq!(s.tags_set.len(), 2);
        assert!(s.matches_tag_code(i64::from(java_hash("TagB"))));
        assert!(!s.matches_tag_code(i64::from(java_hash("TagC"))));
        assert!(!s.matches_tag_code(0));
        assert!(s.matches_tag(Some("TagA")));
        assert!(!s.matches_tag(None));
        let all = SubscriptionData::from_tag_expression("T", "*", 1);
        assert!(all.matches_tag_code(0) && all.matches_tag(None));
    }
}
