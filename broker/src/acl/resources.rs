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

/// A topic or a consumer group, named by the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    Topic(&'a str),
    Group(&'a str),
}

impl<'a> Resource<'a> {
    /// The resource a topic name stands for: `%RETRY%G` is the group `G`.
    fn topic(name: &'a str) -> Resource<'a> {
        match name.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
            Some(group) => Resource::Group(group),
            None => Resource::Topic(name),
        }
    }
}

impl std::fmt::Display for Resource<'_> {
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

/// Passes each permission `request` needs to `check`, in the order they are checked, and
/// stops at the first error. Names are borrowed from the request: nothing is copied.
pub fn needed<E>(
    code: RequestCode,
    request: &RemotingCommand,
    mut check: impl FnMut(Resource<'_>, Perm) -> Result<(), E>,
) -> Result<(), E> {
    use RequestCode::*;
    let field = |name: &str| request.ext(name);
    let check = &mut check;
    match code {
        // A send to a retry topic is a consumer handing a message back: SUB on its group.
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
            let name = field(if code == SEND_MESSAGE { "topic" } else { "b" });
            let perm = match name {
                Some(t) if t.starts_with(RETRY_GROUP_TOPIC_PREFIX) => Perm::SUB,
                _ => Perm::PUB,
            };
            topic(check, name, perm)
        }
        CONSUMER_SEND_MSG_BACK => {
            topic(check, field("originTopic"), Perm::PUB)?;
            group(check, field("group"))
        }
        PULL_MESSAGE | LITE_PULL_MESSAGE | UPDATE_CONSUMER_OFFSET | QUERY_CONSUMER_OFFSET => {
            topic(check, field("topic"), Perm::SUB)?;
            group(check, field("consumerGroup"))
        }
        QUERY_MESSAGE => topic(check, field("topic"), Perm::SUB),
        UNREGISTER_CLIENT | GET_CONSUMER_LIST_BY_GROUP => group(check, field("consumerGroup")),
        HEART_BEAT => {
            // An undecodable body is refused by the heartbeat handler itself.
            let Ok(heartbeat) = decode_body::<HeartbeatData>(&request.body) else {
                return Ok(());
            };
            for consumer in &heartbeat.consumer_data_set {
                group(check, Some(&consumer.group_name))?;
                for subscription in &consumer.subscription_data_set {
                    check(Resource::topic(&subscription.topic), Perm::SUB)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The topic `name` (a group when it is `%RETRY%<group>`), if the request names one.
fn topic<E>(
    check: &mut impl FnMut(Resource<'_>, Perm) -> Result<(), E>,
    name: Option<&str>,
    perm: Perm,
) -> Result<(), E> {
    name.map_or(Ok(()), |name| check(Resource::topic(name), perm))
}

/// SUB on the group `name`, if the request names one.
fn group<E>(
    check: &mut impl FnMut(Resource<'_>, Perm) -> Result<(), E>,
    name: Option<&str>,
) -> Result<(), E> {
    name.map_or(Ok(()), |name| check(Resource::Group(name), Perm::SUB))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `request` needs, as text.
    fn needs(request: &RemotingCommand) -> Vec<String> {
        let code = RequestCode::try_from(request.code).unwrap();
        let mut needs = Vec::new();
        let all: Result<(), ()> = needed(code, request, |resource, perm| {
            needs.push(format!("{perm} on {resource}"));
            Ok(())
        });
        assert_eq!(all, Ok(()));
        needs
    }

    #[test]
    fn sends_pulls_and_retry_topics() {
        let send = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_ext("b", "T");
        assert_eq!(needs(&send), ["PUB on topic T"]);
        let back = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_ext("b", "%RETRY%G");
        assert_eq!(needs(&back), ["SUB on group G"]);
        let pull = RemotingCommand::request(RequestCode::PULL_MESSAGE)
            .with_ext("topic", "T")
            .with_ext("consumerGroup", "G");
        assert_eq!(needs(&pull), ["SUB on topic T", "SUB on group G"]);
        let heartbeat = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(
            br#"{"clientID":"c","consumerDataSet":[{"groupName":"G","subscriptionDataSet":[{"topic":"T","subString":"*"},{"topic":"%RETRY%G","subString":"*"}]}]}"#.to_vec(),
        );
        assert_eq!(
            needs(&heartbeat),
            ["SUB on group G", "SUB on topic T", "SUB on group G"]
        );
        // The first refusal ends the walk.
        let mut seen = 0;
        let refused = needed(RequestCode::PULL_MESSAGE, &pull, |resource, _| {
            seen += 1;
            Err(resource.to_string())
        });
        assert_eq!((refused, seen), (Err("topic T".to_string()), 1));
        assert!(needs_admin(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET));
        assert!(!needs_admin(RequestCode::GET_BROKER_CONFIG));
    }
}
