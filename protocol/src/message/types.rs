//! [`Message`], what a producer sends, and [`MessageExt`], a stored message as a consumer or
//! admin tool receives it.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;

use super::properties::{keys, Properties};
use super::record::{RecordFields, RecordView};
use super::{compression, msg_id, sysflag};

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    /// User flag, stored as-is.
    pub flag: i32,
    pub properties: Properties,
    pub body: Bytes,
}

impl Message {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            flag: 0,
            properties: Properties::new(),
            body: body.into(),
        }
    }

    /// Sets the tag (one tag; the broker filters on its hash).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.properties.insert(keys::TAGS, tags);
        self
    }

    /// Sets the indexed keys (space-separated in the KEYS property).
    pub fn with_keys<S: AsRef<str>>(mut self, keys: &[S]) -> Self {
        let joined: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
        self.properties.insert(keys::KEYS, joined.join(" "));
        self
    }

    /// Sets a user property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name, value);
        self
    }

    /// Delivers the message after delay level `level` of the broker's `messageDelayLevel`
    /// (`DELAY`; by default level 1 is 1 s, 2 is 5 s, 3 is 10 s, ... 18 is 2 h).
    pub fn with_delay_level(self, level: i32) -> Self {
        self.with_property(keys::DELAY_TIME_LEVEL, level.to_string())
    }

    /// Delivers the message at `ms` since the epoch (`TIMER_DELIVER_MS`, by the broker's
    /// clock).
    pub fn with_deliver_time_ms(self, ms: i64) -> Self {
        self.with_property(keys::TIMER_DELIVER_MS, ms.to_string())
    }

    /// Delivers the message `ms` after the broker stores it (`TIMER_DELAY_MS`).
    pub fn with_delay_ms(self, ms: i64) -> Self {
        self.with_property(keys::TIMER_DELAY_MS, ms.to_string())
    }

    /// Whether the message asks to be delivered later (a delay level or a timer).
    pub fn is_deferred(&self) -> bool {
        self.properties
            .get(keys::DELAY_TIME_LEVEL)
            .is_some_and(|v| v.trim().parse::<i32>().unwrap_or(0) > 0)
            || [
                keys::TIMER_DELIVER_MS,
                keys::TIMER_DELAY_SEC,
                keys::TIMER_DELAY_MS,
            ]
            .iter()
            .any(|k| self.properties.get(k).is_some())
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS)
    }

    /// The KEYS property split on spaces.
    pub fn keys(&self) -> Vec<&str> {
        split_keys(self.properties.get(keys::KEYS))
    }

    /// The client-assigned unique id (UNIQ_KEY).
    pub fn uniq_key(&self) -> Option<&str> {
        self.properties.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }

    /// Whether the sender waits for the store (WAIT, default true).
    pub fn wait_store_msg_ok(&self) -> bool {
        self.properties
            .get(keys::WAIT_STORE_MSG_OK)
            .is_none_or(|v| v != "false")
    }
}

fn split_keys(keys: Option<&str>) -> Vec<&str> {
    keys.map(|k| k.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// A stored message with everything the broker recorded about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    pub flag: i32,
    pub properties: Properties,
    /// Decompressed if it was compressed and decompression was asked for.
    pub body: Bytes,
    pub queue_id: i32,
    pub store_size: i32,
    pub queue_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    /// The offset msgId (store host + commit log offset).
    pub msg_id: String,
    pub commit_log_offset: i64,
    pub body_crc: i32,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl Default for MessageExt {
    fn default() -> Self {
        let unspecified = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        MessageExt {
            topic: String::new(),
            flag: 0,
            properties: Properties::new(),
            body: Bytes::new(),
            queue_id: 0,
            store_size: 0,
            queue_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            msg_id: String::new(),
            commit_log_offset: 0,
            body_crc: 0,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

impl MessageExt {
    /// Builds a message from a parsed record. `record` is the record's own bytes when the
    /// caller holds them as `Bytes`, which lets the body be shared instead of copied.
    pub fn from_view(view: &RecordView<'_>, record: Option<Bytes>, decompress: bool) -> Self {
        let raw_body = match &record {
            Some(rec) => {
                let start = view.body().as_ptr() as usize - view.bytes().as_ptr() as usize;
                rec.slice(start..start + view.body().len())
            }
            None => Bytes::copy_from_slice(view.body()),
        };
        let mut sys_flag = view.sys_flag();
        let body = if decompress && sys_flag & sysflag::COMPRESSED != 0 {
            match compression::decompress(&raw_body, sys_flag) {
                Ok(b) => {
                    sys_flag &= !sysflag::COMPRESSED;
                    Bytes::from(b)
                }
                Err(e) => {
                    tracing::warn!(topic = view.topic(), "cannot decompress message body: {e}");
                    raw_body
                }
            }
        } else {
            raw_body
        };
        let store_host = view.store_host();
        let commit_log_offset = view.physical_offset();
        MessageExt {
            topic: view.topic().to_string(),
            flag: view.flag(),
            properties: Properties::decode(view.properties()),
            body,
            queue_id: view.queue_id(),
            store_size: view.total_size() as i32,
            queue_offset: view.queue_offset(),
            sys_flag,
            born_timestamp: view.born_timestamp(),
            born_host: view.born_host(),
            store_timestamp: view.store_timestamp(),
            store_host,
            msg_id: msg_id::offset_msg_id(&store_host, commit_log_offset),
            commit_log_offset,
            body_crc: view.body_crc(),
            reconsume_times: view.reconsume_times(),
            prepared_transaction_offset: view.prepared_transaction_offset(),
        }
    }

    /// Encodes this message as a stored record (tools, tests, and re-puts).
    pub fn encode(&self) -> Result<Vec<u8>, super::record::RecordError> {
        let props = self.properties.encode();
        let mut out = Vec::new();
        super::record::encode_record(
            &RecordFields {
                queue_id: self.queue_id,
                flag: self.flag,
                queue_offset: self.queue_offset,
                physical_offset: self.commit_log_offset,
                sys_flag: self.sys_flag,
                born_timestamp: self.born_timestamp,
                born_host: self.born_host,
                store_timestamp: self.store_timestamp,
                store_host: self.store_host,
                reconsume_times: self.reconsume_times,
                prepared_transaction_offset: self.prepared_transaction_offset,
                body: &self.body,
                topic: &self.topic,
                properties: props.as_bytes(),
            },
            &mut out,
        )?;
        Ok(out)
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS)
    }

    pub fn keys(&self) -> Vec<&str> {
        split_keys(self.properties.get(keys::KEYS))
    }

    /// The id users see: UNIQ_KEY when present, else the offset msgId.
    pub fn id(&self) -> &str {
        self.properties
            .get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or(&self.msg_id)
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::record::parse_record;

    #[test]
    fn message_builders() {
        let m = Message::new("T", "b")
            .with_tags("A")
            .with_keys(&["k1", "k2"])
            .with_property("WAIT", "false");
        assert_eq!(m.tags(), Some("A"));
        assert_eq!(m.keys(), vec!["k1", "k2"]);
        assert!(!m.wait_store_msg_ok());
        assert!(Message::new("T", "").wait_store_msg_ok());
    }

    #[test]
    fn message_ext_round_trips_through_record() {
        let mut props = Properties::new();
        props.insert(keys::TAGS, "TagA");
        props.insert(keys::KEYS, "a b");
        props.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "AB");
        let ext = MessageExt {
            topic: "T".into(),
            properties: props,
            body: Bytes::from_static(b"hello"),
            queue_id: 2,
            queue_offset: 5,
            commit_log_offset: 1000,
            born_host: "10.0.0.1:5000".parse().unwrap(),
            store_host: "10.0.0.2:10911".parse().unwrap(),
            born_timestamp: 1,
            store_timestamp: 2,
            reconsume_times: 1,
            ..Default::default()
        };
        let bytes = Bytes::from(ext.encode().unwrap());
        let back = MessageExt::from_view(&parse_record(&bytes).unwrap(), Some(bytes.clone()), true);
        assert_eq!(back.body, ext.body);
        assert_eq!(back.keys(), vec!["a", "b"]);
        assert_eq!(back.id(), "AB");
        assert_eq!(back.msg_id, "0A00000200002A9F00000000000003E8");
        assert_eq!(back.store_size as usize, bytes.len());
        assert_eq!(
            (back.queue_id, back.queue_offset, back.reconsume_times),
            (2, 5, 1)
        );
    }
}
