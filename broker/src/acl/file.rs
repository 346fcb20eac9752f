//! `plain_acl.yml`, RocketMQ 4.x's format:
//!
//! ```yaml
//! globalWhiteRemoteAddresses:
//!   - 10.10.103.*
//! accounts:
//!   - accessKey: RocketMQ
//!     secretKey: "12345678"
//!     whiteRemoteAddress:
//!     admin: false
//!     defaultTopicPerm: DENY
//!     defaultGroupPerm: SUB
//!     topicPerms: [topicA=DENY, topicB=PUB|SUB]
//!     groupPerms: [groupA=DENY]
//! ```
//!
//! Scalars are taken as written (`secretKey: 0123` is the text `0123`, not a number). Keys
//! Fennec does not use (RocketMQ's `dataVersion`, say) are ignored. Errors name the line or
//! the account (by access key), never a secret key.

use std::collections::HashMap;
use std::fmt;

use fennec_protocol::signature::SigningKey;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::address::AddressPattern;
use super::perm::Perm;
use super::resources::Resource;

/// One account of the file.
#[derive(Clone)]
pub struct Account {
    pub access_key: String,
    /// HMAC-SHA1 keyed with the account's `secretKey` once, when the file is read: every
    /// request's signature is checked from a copy of it. The key text itself is not kept.
    pub signing_key: SigningKey,
    /// Requests from these addresses need neither signature nor permissions.
    pub white: Option<AddressPattern>,
    pub admin: bool,
    pub default_topic_perm: Perm,
    pub default_group_perm: Perm,
    pub topic_perms: HashMap<String, Perm>,
    /// By group name (RocketMQ checks them against `%RETRY%<group>`).
    pub group_perms: HashMap<String, Perm>,
}

/// Never shows the secret key.
impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("access_key", &self.access_key)
            .field("admin", &self.admin)
            .field("white", &self.white)
            .field("default_topic_perm", &self.default_topic_perm)
            .field("default_group_perm", &self.default_group_perm)
            .field("topic_perms", &self.topic_perms)
            .field("group_perms", &self.group_perms)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// The permission this account has on `resource`: its own entry, else the default.
    pub fn owns(&self, resource: Resource<'_>) -> Perm {
        let (own, default) = match resource {
            Resource::Topic(topic) => (self.topic_perms.get(topic), self.default_topic_perm),
            Resource::Group(group) => (self.group_perms.get(group), self.default_group_perm),
        };
        own.copied().unwrap_or(default)
    }
}

/// The whole file.
#[derive(Debug, Clone, Default)]
pub struct AclFile {
    pub global_white: Vec<AddressPattern>,
    pub accounts: HashMap<String, Account>,
}

/// A YAML value with scalars kept as written.
#[derive(Debug)]
enum Node {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Builds [`Node`]s from parser events.
#[derive(Default)]
struct TreeBuilder {
    /// Open collections; a map holds its pending key.
    stack: Vec<(Node, Option<String>)>,
    root: Option<Node>,
    error: Option<String>,
}

impl TreeBuilder {
    fn push_value(&mut self, value: Node, line: usize) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some((Node::Seq(items), _)) => items.push(value),
            Some((Node::Map(entries), pending)) => match pending.take() {
                Some(key) => entries.push((key, value)),
                None => match value {
                    Node::Scalar(key) => *pending = Some(key),
                    Node::Null => *pending = Some(String::new()),
                    _ => self.fail(format!("line {line}: a mapping key must be a plain value")),
                },
            },
            Some(_) => {}
        }
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Scalar(text, style, _, _) => {
                let null = style == TScalarStyle::Plain
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL");
                let node = if null { Node::Null } else { Node::Scalar(text) };
                self.push_value(node, line);
            }
            Event::SequenceStart(..) => self.stack.push((Node::Seq(Vec::new()), None)),
            Event::MappingStart(..) => self.stack.push((Node::Map(Vec::new()), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    self.push_value(node, line);
                }
            }
            Event::Alias(_) => self.fail(format!("line {line}: YAML aliases are not supported")),
            _ => {}
        }
    }
}

impl Node {
    fn what(&self) -> &'static str {
        match self {
            Node::Null => "nothing",
            Node::Scalar(_) => "a value",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// A scalar's text, `None` for null.
    fn text(&self, key: &str) -> Result<Option<&str>, String> {
        match self {
            Node::Null => Ok(None),
            Node::Scalar(s) => Ok(Some(s)),
            other => Err(format!("{key} must be a value, found {}", other.what())),
        }
    }

    /// A list of scalars; a single scalar is a list of one, null an empty list.
    fn texts(&self, key: &str) -> Result<Vec<&str>, String> {
        match self {
            Node::Null => Ok(Vec::new()),
            Node::Scalar(s) => Ok(vec![s]),
            Node::Seq(items) => items
                .iter()
                .filter_map(|item| item.text(key).transpose())
                .collect(),
            Node::Map(_) => Err(format!("{key} must be a list, found a mapping")),
        }
    }
}

impl AclFile {
    /// Parses the text of a `plain_acl.yml`.
    pub fn parse(text: &str) -> Result<AclFile, String> {
        let mut builder = TreeBuilder::default();
        Parser::new_from_str(text)
            .load(&mut builder, false)
            .map_err(|e| format!("not YAML: {e}"))?;
        if let Some(error) = builder.error {
            return Err(error);
        }
        let entries = match builder.root {
            None | Some(Node::Null) => return Ok(AclFile::default()),
            Some(Node::Map(entries)) => entries,
            Some(other) => return Err(format!("expected a mapping, found {}", other.what())),
        };
        let mut file = AclFile::default();
        for (key, value) in &entries {
            match key.as_str() {
                "globalWhiteRemoteAddresses" => {
                    for entry in value.texts(key)? {
                        let pattern = AddressPattern::parse(entry)
                            .map_err(|e| format!("globalWhiteRemoteAddresses: {e}"))?;
                        file.global_white.extend(pattern);
                    }
                }
                "accounts" => {
                    let accounts = match value {
                        Node::Null => &[][..],
                        Node::Seq(items) => items,
                        other => {
                            return Err(format!("accounts must be a list, found {}", other.what()))
                        }
                    };
                    for (i, node) in accounts.iter().enumerate() {
                        let account = parse_account(node).map_err(|e| match e {
                            (Some(ak), e) => format!("account {} (accessKey {ak}): {e}", i + 1),
                            (None, e) => format!("account {}: {e}", i + 1),
                        })?;
                        if file.accounts.contains_key(&account.access_key) {
                            return Err(format!(
                                "accessKey {} is listed twice",
                                account.access_key
                            ));
                        }
                        file.accounts.insert(account.access_key.clone(), account);
                    }
                }
                _ => {}
            }
        }
        Ok(file)
    }
}

/// One account; the error carries the access key when it is known.
fn parse_account(node: &Node) -> Result<Account, (Option<String>, String)> {
    let Node::Map(entries) = node else {
        return Err((None, format!("expected a mapping, found {}", node.what())));
    };
    let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let access_key = match get("accessKey").map(|n| n.text("accessKey")) {
        Some(Ok(Some(ak))) if !ak.trim().is_empty() => ak.trim().to_string(),
        Some(Err(e)) => return Err((None, e)),
        _ => return Err((None, "accessKey is missing".to_string())),
    };
    let named = |e: String| (Some(access_key.clone()), e);
    let secret_key = match get("secretKey").map(|n| n.text("secretKey")) {
        Some(Ok(Some(sk))) if !sk.is_empty() => sk.to_string(),
        Some(Err(e)) => return Err(named(e)),
        _ => return Err(named("secretKey is missing".to_string())),
    };
    let mut white = Vec::new();
    if let Some(node) = get("whiteRemoteAddress") {
        for entry in node.texts("whiteRemoteAddress").map_err(named)? {
            white.extend(
                AddressPattern::parse(entry)
                    .map_err(|e| named(format!("whiteRemoteAddress: {e}")))?,
            );
        }
    }
    let white = match white.len() {
        0 => None,
        1 => white.pop(),
        _ => Some(AddressPattern::AnyOf(white)),
    };
    let admin = match get("admin")
        .map(|n| n.text("admin"))
        .transpose()
        .map_err(named)?
    {
        None | Some(None) => false,
        Some(Some(text)) => match text.trim() {
            t if t.eq_ignore_ascii_case("true") => true,
            t if t.eq_ignore_ascii_case("false") => false,
            other => {
                return Err(named(format!(
                    "admin must be true or false, found {other:?}"
                )))
            }
        },
    };
    let perm = |key: &str| -> Result<Perm, (Option<String>, String)> {
        match get(key).map(|n| n.text(key)).transpose().map_err(named)? {
            None | Some(None) => Ok(Perm::DENY),
            Some(Some(text)) => Perm::parse(text).map_err(|e| named(format!("{key}: {e}"))),
        }
    };
    let perm_list = |key: &str| -> Result<HashMap<String, Perm>, (Option<String>, String)> {
        let mut perms = HashMap::new();
        let Some(node) = get(key) else {
            return Ok(perms);
        };
        for entry in node.texts(key).map_err(named)? {
            let (name, perm) = entry
                .split_once('=')
                .ok_or_else(|| named(format!("{key}: {entry:?} is not name=PERM")))?;
            let perm = Perm::parse(perm).map_err(|e| named(format!("{key}: {entry:?}: {e}")))?;
            perms.insert(name.trim().to_string(), perm);
        }
        Ok(perms)
    };
    Ok(Account {
        white,
        admin,
        default_topic_perm: perm("defaultTopicPerm")?,
        default_group_perm: perm("defaultGroupPerm")?,
        topic_perms: perm_list("topicPerms")?,
        group_perms: perm_list("groupPerms")?,
        signing_key: SigningKey::new(&secret_key),
        access_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::{signature, RemotingCommand, RequestCode};

    /// Whether `account` accepts a request signed with `secret_key`.
    fn keyed_with(account: &Account, secret_key: &str) -> bool {
        let mut request = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
            .with_ext("b", "topic")
            .with_body(b"body".to_vec());
        signature::sign(&mut request, &account.access_key, secret_key);
        account.signing_key.verify(&request)
    }

    /// RocketMQ 4.9's distribution/conf/plain_acl.yml.
    const ROCKETMQ_SAMPLE: &str = r#"
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
"#;

    #[test]
    fn reads_the_rocketmq_sample() {
        let file = AclFile::parse(ROCKETMQ_SAMPLE).unwrap();
        assert_eq!(file.global_white.len(), 2);
        assert!(file.global_white[0].matches("10.10.103.7".parse().unwrap()));
        let a = &file.accounts["RocketMQ"];
        assert!(keyed_with(a, "12345678") && !keyed_with(a, "1234567"));
        assert!(!a.admin && a.white.is_none());
        assert_eq!(a.default_group_perm, Perm::SUB);
        assert_eq!(a.topic_perms["topicB"], Perm::PUB_SUB);
        assert_eq!(a.group_perms["groupA"], Perm::DENY);
        let admin = &file.accounts["rocketmq2"];
        assert!(admin.admin);
        assert_eq!(admin.default_topic_perm, Perm::DENY);
        assert!(admin
            .white
            .as_ref()
            .unwrap()
            .matches("192.168.1.9".parse().unwrap()));
        assert!(!format!("{admin:?}").contains("12345678"));
    }

    #[test]
    fn scalars_stay_as_written_and_errors_name_the_place() {
        let file = AclFile::parse("accounts:\n  - {accessKey: ak1, secretKey: 0x1F}\n").unwrap();
        let ak1 = &file.accounts["ak1"];
        assert!(keyed_with(ak1, "0x1F") && !keyed_with(ak1, "31"));
        let empty = AclFile::parse("").unwrap();
        assert!(empty.accounts.is_empty() && empty.global_white.is_empty());
        for (text, expected) in [
            (
                "accounts: [{accessKey: a, secretKey: s, topicPerms: [t=ALL]}]",
                "account 1 (accessKey a): topicPerms: \"t=ALL\": unknown permission",
            ),
            (
                "accounts: [{secretKey: hidden}]",
                "account 1: accessKey is missing",
            ),
            (
                "accounts: [{accessKey: a, secretKey: s}, {accessKey: a, secretKey: t}]",
                "accessKey a is listed twice",
            ),
            (
                "globalWhiteRemoteAddresses: [1.2.3]",
                "globalWhiteRemoteAddresses: \"1.2.3\"",
            ),
            (
                "accounts: [{accessKey: a, secretKey: hidden, admin: yes}]",
                "admin must be true or false",
            ),
            ("accounts:\n  - accessKey: [a\n", "not YAML"),
            ("- a\n- b\n", "expected a mapping, found a list"),
        ] {
            let err = AclFile::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(!err.contains("hidden"), "{err}");
        }
    }
}
