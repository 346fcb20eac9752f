//! Targets for JSON: the fastjson rewriter, request and response bodies, and the JSON files
//! the broker, nameserver and SDK read at start.

use std::borrow::Cow;
use std::fmt::Debug;

use fennec_protocol::body::*;
use fennec_protocol::fastjson::{to_legacy, to_standard};
use fennec_protocol::{decode_body, encode_body};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;

use crate::{select, Target};

/// `to_standard` is idempotent, leaves standard JSON alone, and its output keeps the values
/// of the input: writing them back in the legacy form and rewriting again gives them back.
pub fn fastjson(data: &[u8]) {
    let Ok(standard) = to_standard(data) else {
        return;
    };
    let again = to_standard(&standard).map(Cow::into_owned);
    assert_eq!(
        again.as_deref(),
        Ok(&*standard),
        "to_standard is not idempotent"
    );
    if serde_json::from_slice::<IgnoredAny>(data).is_ok() {
        assert!(
            matches!(standard, Cow::Borrowed(_)),
            "standard JSON was rewritten"
        );
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&standard) {
        // Compared as text: both rewriters work on text and must give the same text back.
        let text = value.to_string();
        let legacy = to_legacy(&text);
        let back = to_standard(legacy.as_bytes()).map(Cow::into_owned);
        assert_eq!(
            back.as_deref(),
            Ok(text.as_bytes()),
            "legacy form {legacy:?} reads differently"
        );
    }
}

/// A body that decodes re-encodes (standard and legacy JSON) to one that decodes the same.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(json: &[u8]) {
    if let Ok(value) = decode_body::<T>(json) {
        let standard = encode_body(&value);
        assert_decodes_to(&standard, &value);
        if let Ok(text) = std::str::from_utf8(&standard) {
            assert_decodes_to(to_legacy(text).as_bytes(), &value);
        }
    }
}

/// Like [`round_trip`], for bodies written only in fastjson's object-key form.
fn object_key_round_trip<T: DeserializeOwned + PartialEq + Debug>(
    json: &[u8],
    write: fn(&T) -> String,
) {
    if let Ok(value) = decode_body::<T>(json) {
        assert_decodes_to(write(&value).as_bytes(), &value);
    }
}

fn assert_decodes_to<T: DeserializeOwned + PartialEq + Debug>(json: &[u8], expected: &T) {
    let again = decode_body::<T>(json);
    assert!(
        matches!(&again, Ok(v) if v == expected),
        "{} re-encoded as {:?} decodes to {again:?}, not {expected:?}",
        std::any::type_name::<T>(),
        String::from_utf8_lossy(json),
    );
}

/// Bodies a peer sends, by name; the first byte of an input picks one.
pub(crate) const BODIES: &[Target] = targets![
    "HeartbeatData" => round_trip::<HeartbeatData>,
    "RegisterBrokerBody" => round_trip::<RegisterBrokerBody>,
    "TopicRouteData" => round_trip::<TopicRouteData>,
    "ClusterInfo" => round_trip::<ClusterInfo>,
    "TopicList" => round_trip::<TopicList>,
    "KvTable" => round_trip::<KvTable>,
    "ConsumerListBody" => round_trip::<ConsumerListBody>,
    "LockBatchRequestBody" => round_trip::<LockBatchRequestBody>,
    "LockBatchResponseBody" => round_trip::<LockBatchResponseBody>,
    "ConsumerConnection" => round_trip::<ConsumerConnection>,
    "ProducerConnection" => round_trip::<ProducerConnection>,
    "SubscriptionGroupConfig" => round_trip::<SubscriptionGroupConfig>,
    "DataVersion" => round_trip::<DataVersion>,
    "QueueData" => round_trip::<QueueData>,
    "ConsumeStats" => |j| object_key_round_trip(j, ConsumeStats::to_json),
    "TopicStatsTable" => |j| object_key_round_trip(j, TopicStatsTable::to_json),
    "ResetOffsetBody" => |j| object_key_round_trip(j, ResetOffsetBody::to_json),
    "MqMap" => |j| {
        object_key_round_trip::<MqMap<i64>>(j, |m| {
            let mut s = String::new();
            m.write_json(&mut s);
            s
        })
    },
];

/// A request or response body: the first byte picks the type, the rest is its JSON.
pub fn body(data: &[u8]) {
    if let Some((i, json)) = select(data, BODIES.len()) {
        (BODIES[i].run)(json);
    }
}

/// The broker's `topics.json`, `subscriptionGroup.json`, `consumerOffset.json`, the
/// nameserver's `kvConfig.json` and a broadcasting consumer's `offsets.json`, by name; the
/// first byte of an input picks one.
pub(crate) const FILES: &[Target] = targets![
    "topics.json" => round_trip::<TopicConfigSerializeWrapper>,
    "subscriptionGroup.json" => round_trip::<SubscriptionGroupWrapper>,
    "consumerOffset.json" => round_trip::<ConsumerOffsetWrapper>,
    "kvConfig.json" => kv_config_file,
    "offsets.json" => offset_file,
];

fn kv_config_file(text: &[u8]) {
    if let Ok(table) = fennec_nameserver::parse_kv_file(text) {
        let written = serde_json::json!({ "configTable": table }).to_string();
        let again = fennec_nameserver::parse_kv_file(written.as_bytes());
        assert_eq!(again.ok(), Some(table), "kvConfig.json does not round-trip");
    }
}

fn offset_file(text: &[u8]) {
    if let Ok(offsets) = fennec_client::consumer::parse_offset_file(text) {
        let mut entries: Vec<(MessageQueue, i64)> = offsets.clone().into_iter().collect();
        entries.sort();
        let mut written = String::from("{\"offsetTable\":");
        MqMap(entries).write_json(&mut written);
        written.push('}');
        let again = fennec_client::consumer::parse_offset_file(written.as_bytes());
        assert_eq!(
            again.ok(),
            Some(offsets),
            "offsets.json does not round-trip"
        );
    }
}

/// A JSON file read at start: the first byte picks the file, the rest is its content.
pub fn json_file(data: &[u8]) {
    if let Some((i, text)) = select(data, FILES.len()) {
        (FILES[i].run)(text);
    }
}
