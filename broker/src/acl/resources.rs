//! What each request needs under ACL: the table of request code → admin account, or
//! permission on topics and groups, following RocketMQ 4.x's `PlainAccessValidator` (with
//! resetting offsets added to its admin codes). A group is checked as `%RETRY%<group>` is in
//! RocketMQ: a topic resource named `%RETRY%G` is the group `G`. Codes not listed need a
//! valid signature only.

use fennec_protocol::body::HeartbeatData;
use fennec_protocol::topic::RETRY_GROUP_TOPIC_PREFIX;
use fennec_protocol::{decode_body, RemotingCommand, RequestCode};

use super::perm::Perm;

/// Requests only an admin account may make.
pub const ADMIN_CODES: [RequestCode; 6] = [
    RequestCode::UPDATE_AND_CREATE_TOPIC,
    RequestCode::DELETE_TOPIC_IN_BROKER,
    RequestCode::UPDATE_BROKER_CONFIG,
    RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    RequestCode::DELETE_SUBSCRIPTIONGROUP,
    RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
];

/// A topic or a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Topic(String),
    Group(String),
}

impl Resource {
    /// The resource a topic name stands for: `%RETRY%G` is the group `G`.
    fn topic(name: &str) -> Resource {
        match name.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
            Some(group) => Resource::Group(group.to_string()),
            None => Resource::Topic(name.to_string()),
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Topic(t) => write!(f, "topic {t}"),
            Resource::Group(g) => write!(f, "group {g}"),
        }
    }
}

/// Whether `code` needs an admin account.
pub fn needs_admin(code: RequestCode) -> bool {
    ADMIN_CODES.contains(&code)
}

/// The permissions `request` needs, in the order they are checked.
pub fn needed(code: RequestCode, request: &RemotingCommand) -> Vec<(Resource, Perm)> {
    use RequestCode::*;
    let field = |name: &str| request.ext(name).map(str::to_string);
    let mut needs = Vec::new();
    let mut topic = |name: Option<String>, perm: Perm| {
        if let Some(name) = name {
            needs.push((Resource::topic(&name), perm));
        }
    };
    match code {
        // A send to a retry topic is a consumer handing a message back: SUB on its group.
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
            let name = if code == SEND_MESSAGE {
                field("topic")
            } else {
                field("b")
            };
            let perm = match &name {
                Some(t) if t.starts_with(RETRY_GROUP_TOPIC_PREFIX) => Perm::SUB,
                _ => Perm::PUB,
            };
            topic(name, perm);
        }
        CONSUMER_SEND_MSG_BACK => {
            topic(field("originTopic"), Perm::PUB);
            group(&mut needs, field("group"));
        }
        PULL_MESSAGE | LITE_PULL_MESSAGE | UPDATE_CONSUMER_OFFSET | QUERY_CONSUMER_OFFSET => {
            topic(field("topic"), Perm::SUB);
            group(&mut needs, field("consumerGroup"));
        }
        QUERY_MESSAGE => topic(field("topic"), Perm::SUB),
        UNREGISTER_CLIENT | GET_CONSUMER_LIST_BY_GROUP => group(&mut needs, field("consumerGroup")),
        HEART_BEAT => {
            // An undecodable body is refused by the heartbeat handler itself.
            if let Ok(heartbeat) = decode_body::<HeartbeatData>(&request.body) {
                for consumer in heartbeat.consumer_data_set {
                    group(&mut needs, Some(consumer.group_name));
                    for subscription in consumer.subscription_data_set {
                        needs.push((Resource::topic(&subscription.topic), Perm::SUB));
                    }
                }
            }
        }
        _ => {}
    }
    needs
}

fn group(needs: &mut Vec<(Resource, Perm)>, name: Option<String>) {
    if let Some(name) = name {
        needs.push((Resource::Group(name), Perm::SUB));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_pulls_and_retry_topics() {
        let send = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_ext("b", "T");
        assert_eq!(
            needed(RequestCode::SEND_MESSAGE_V2, &send),
            [(Resource::Topic("T".into()), Perm::PUB)]
        );
        let back = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_ext("b", "%RETRY%G");
        assert_eq!(
            needed(RequestCode::SEND_MESSAGE_V2, &back),
            [(Resource::Group("G".into()), Perm::SUB)]
        );
        let pull = RemotingCommand::request(RequestCode::PULL_MESSAGE)
            .with_ext("topic", "T")
            .with_ext("consumerGroup", "G");
        assert_eq!(
            needed(RequestCode::PULL_MESSAGE, &pull),
            [
                (Resource::Topic("T".into()), Perm::SUB),
                (Resource::Group("G".into()), Perm::SUB)
            ]
        );
        let heartbeat = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(
            br#"{"clientID":"c","consumerDataSet":[{"groupName":"G","subscriptionDataSet":[{"topic":"T","subString":"*"},{"topic":"%RETRY%G","subString":"*"}]}]}"#.to_vec(),
        );
        assert_eq!(
            needed(RequestCode::HEART_BEAT, &heartbeat),
            [
                (Resource::Group("G".into()), Perm::SUB),
                (Resource::Topic("T".into()), Perm::SUB),
                (Resource::Group("G".into()), Perm::SUB)
            ]
        );
        assert!(needs_admin(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET));
        assert!(!needs_admin(RequestCode::GET_BROKER_CONFIG));
    }
}
