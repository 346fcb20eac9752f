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

/// Declares an enum that serializes as its Java name and deserializes from the name or from
/// the Java ordinal (the C++ client sends ordinals).
macro_rules! java_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($ordinal:expr, $text:literal),)* } default $default:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl $name {
            /// The Java constant name.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match JavaEnumValue::deserialize(d)? {
                    JavaEnumValue::Name(n) => match n.as_str() {
                        $($text => Ok($name::$variant),)*
                        other => Err(serde::de::Error::custom(format!("unknown {} {other:?}", stringify!($name)))),
                    },
                    JavaEnumValue::Ordinal(o) => match o {
                        $(x if x == $ordinal => Ok($name::$variant),)*
                        other => Err(serde::de::Error::custom(format!("unknown {} ordinal {other}", stringify!($name)))),
                    },
                }
            }
        }
    };
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JavaEnumValue {
    Name(String),
    Ordinal(i64),
}

java_enum! {
    /// How a consumer gets messages.
    pub enum ConsumeType {
        /// Pull consumer.
        ConsumeActively = (0, "CONSUME_ACTIVELY"),
        /// Push consumer.
        ConsumePassively = (1, "CONSUME_PASSIVELY"),
        ConsumePop = (2, "CONSUME_POP"),
    }
    default ConsumePassively
}

java_enum! {
    /// Whether a group shares the queues (clustering) or each member reads all (broadcasting).
    pub enum MessageModel {
        Broadcasting = (0, "BROADCASTING"),
        Clustering = (1, "CLUSTERING"),
    }
    default Clustering
}

java_enum! {
    /// Where a new group starts.
    pub enum ConsumeFromWhere {
        ConsumeFromLastOffset = (0, "CONSUME_FROM_LAST_OFFSET"),
        /// Deprecated names some clients still send.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = (1, "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST"),
        ConsumeFromMinOffset = (2, "CONSUME_FROM_MIN_OFFSET"),
        ConsumeFromMaxOffset = (3, "CONSUME_FROM_MAX_OFFSET"),
        ConsumeFromFirstOffset = (4, "CONSUME_FROM_FIRST_OFFSET"),
        ConsumeFromTimestamp = (5, "CONSUME_FROM_TIMESTAMP"),
    }
    default ConsumeFromLastOffset
}

/// An integer that some clients send as a JSON string (the C++ client's `subVersion`).
fn de_lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        Int(i64),
        Text(String),
    }
    match Num::deserialize(d)? {
        Num::Int(v) => Ok(v),
        Num::Text(t) => t.trim().parse().map_err(serde::de::Error::custom),
    }
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
    #[serde(default, deserialize_with = "de_lenient_i64")]
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

    /// Recomputes the code set from the tag set. Some clients (the C++ one) send a wrong code
    /// set; the tags are what they mean.
    pub fn normalize_codes(&mut self) {
        if !self.is_all() && !self.tags_set.is_empty() {
            self.code_set = self.tags_set.iter().map(|t| java_hash(t)).collect();
        }
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
    use crate::decode_body;

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
    fn parses_cpp_client_heartbeat() {
        let body = br#"{"clientID":"21576-127.0.0.1@DEFAULT","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"CompatGroup","messageModel":1,"subscriptionDataSet":[{"subString":"*","subVersion":"1795246943957","topic":"%RETRY%CompatGroup"},{"codeSet":[0],"subString":"TagA","subVersion":"1795246943957","tagsSet":["TagA"],"topic":"CompatTest"}]}]}"#;
        let hb: HeartbeatData = decode_body(body).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(c.message_model, MessageModel::Clustering);
        assert_eq!(
            c.consume_from_where,
            ConsumeFromWhere::ConsumeFromLastOffset
        );
        let mut sub = c.subscription_data_set[1].clone();
        assert_eq!(sub.sub_version, 1_795_246_943_957);
        assert!(!sub.matches_tag_code(2_598_919));
        sub.normalize_codes();
        assert!(sub.matches_tag_code(2_598_919));
        assert_eq!(
            serde_json::to_string(&ConsumeFromWhere::ConsumeFromFirstOffset).unwrap(),
            "\"CONSUME_FROM_FIRST_OFFSET\""
        );
        assert!(decode_body::<MessageModel>(b"7").is_err());
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
