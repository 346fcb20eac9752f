//! [`MessageView`]: a stored message as the admin tool shows it. JSON carries every field
//! (times as epoch ms and as local text, the whole body as text or hex); people get a
//! `key: value` block for one message, a one-line form for streamed lists, or a table row.

use std::collections::BTreeMap;

use bytes::Bytes;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::MessageExt;
use serde::Serialize;

use super::output::{body_preview, body_text, key_values, BodyEncoding, Report};
use super::time::format_millis;

/// How much of the body a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyMode {
    /// Left out (printMsg `-d false`).
    Hidden,
    /// Cut to a preview in human output (JSON always has the whole body).
    #[default]
    Preview,
    /// Shown whole.
    Full,
}

/// One message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// The id users see: UNIQ_KEY, or the offset msgId when there is none.
    pub msg_id: String,
    pub offset_msg_id: String,
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub born_timestamp: i64,
    pub born_time: String,
    pub born_host: String,
    pub store_timestamp: i64,
    pub store_time: String,
    pub store_host: String,
    pub reconsume_times: i32,
    pub sys_flag: i32,
    pub flag: i32,
    pub store_size: i32,
    pub properties: BTreeMap<String, String>,
    pub body_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<BodyEncoding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip)]
    raw_body: Bytes,
    #[serde(skip)]
    body_mode: BodyMode,
}

impl MessageView {
    /// A view of `msg`, stored on broker group `broker_name` (empty if unknown).
    pub fn new(msg: &MessageExt, broker_name: &str, body_mode: BodyMode) -> Self {
        let (encoding, body) = match body_mode {
            BodyMode::Hidden => (None, None),
            _ => {
                let (e, b) = body_text(&msg.body);
                (Some(e), Some(b))
            }
        };
        MessageView {
            msg_id: msg.id().to_string(),
            offset_msg_id: msg.msg_id.clone(),
            topic: msg.topic.clone(),
            broker_name: broker_name.to_string(),
            queue_id: msg.queue_id,
            queue_offset: msg.queue_offset,
            commit_log_offset: msg.commit_log_offset,
            tags: msg.tags().map(str::to_string),
            keys: msg.properties.get(keys::KEYS).map(str::to_string),
            born_timestamp: msg.born_timestamp,
            born_time: format_millis(msg.born_timestamp),
            born_host: msg.born_host.to_string(),
            store_timestamp: msg.store_timestamp,
            store_time: format_millis(msg.store_timestamp),
            store_host: msg.store_host.to_string(),
            reconsume_times: msg.reconsume_times,
            sys_flag: msg.sys_flag,
            flag: msg.flag,
            store_size: msg.store_size,
            properties: msg
                .properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body_size: msg.body.len(),
            body_encoding: encoding,
            body,
            raw_body: msg.body.clone(),
            body_mode,
        }
    }

    /// The body as human output shows it (empty when hidden).
    pub fn shown_body(&self) -> String {
        match self.body_mode {
            BodyMode::Hidden => String::new(),
            BodyMode::Preview => body_preview(&self.raw_body, false),
            BodyMode::Full => body_preview(&self.raw_body, true),
        }
    }

    /// The cells of a message table row; see [`MESSAGE_TABLE_HEADER`].
    pub fn table_row(&self) -> Vec<String> {
        vec![
            self.msg_id.clone(),
            self.offset_msg_id.clone(),
            self.broker_name.clone(),
            self.queue_id.to_string(),
            self.queue_offset.to_string(),
            self.store_time.clone(),
            self.tags.clone().unwrap_or_default(),
            self.keys.clone().unwrap_or_default(),
            self.shown_body(),
        ]
    }

    /// Every field as a `key: value` block, body last and whole.
    pub fn detail(&self, out: &mut String) {
        let props: Vec<String> = self
            .properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let mut pairs: Vec<(&str, String)> = vec![
            ("Msg Id", self.msg_id.clone()),
            ("Offset Msg Id", self.offset_msg_id.clone()),
            ("Topic", self.topic.clone()),
            ("Broker Name", self.broker_name.clone()),
            ("Tags", opt(&self.tags)),
            ("Keys", opt(&self.keys)),
            ("Queue Id", self.queue_id.to_string()),
            ("Queue Offset", self.queue_offset.to_string()),
            ("CommitLog Offset", self.commit_log_offset.to_string()),
            ("Reconsume Times", self.reconsume_times.to_string()),
            ("Born Timestamp", self.born_time.clone()),
            ("Store Timestamp", self.store_time.clone()),
            ("Born Host", self.born_host.clone()),
            ("Store Host", self.store_host.clone()),
            ("System Flag", self.sys_flag.to_string()),
            ("Flag", self.flag.to_string()),
            ("Properties", props.join(", ")),
            ("Body Size", self.body_size.to_string()),
        ];
        if let (Some(enc), Some(body)) = (self.body_encoding, &self.body) {
            let label = match enc {
                BodyEncoding::Text => "Body",
                BodyEncoding::Hex => "Body (hex)",
            };
            pairs.push((label, body.clone()));
        }
        key_values(&pairs, out);
    }
}

/// Header of [`MessageView::table_row`].
pub const MESSAGE_TABLE_HEADER: [&str; 9] = [
    "#Msg Id",
    "#Offset Msg Id",
    "#Broker",
    "#QID",
    "#Queue Offset",
    "#Store Time",
    "#Tags",
    "#Keys",
    "#Body",
];

/// Streamed lists print one line per message.
impl Report for MessageView {
    fn human(&self, out: &mut String) {
        out.push_str(&format!(
            "MSGID: {} OFFSET_MSGID: {} BROKER: {} QUEUE: {} QUEUE_OFFSET: {} STORE_TIME: {} TAGS: {} KEYS: {}",
            self.msg_id,
            self.offset_msg_id,
            self.broker_name,
            self.queue_id,
            self.queue_offset,
            self.store_time,
            self.tags.as_deref().unwrap_or(""),
            self.keys.as_deref().unwrap_or(""),
        ));
        if self.body_mode != BodyMode::Hidden {
            out.push_str(" BODY: ");
            out.push_str(&self.shown_body());
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::message::record::decode_records;
    use fennec_protocol::message::{compression, sysflag, Properties};

    /// A record with a ZLIB-compressed body, as a Java producer stores a large message.
    fn compressed_record(text: &str) -> Bytes {
        let mut props = Properties::new();
        props.insert("UNIQ_KEY", "C0A8000A1F9012345678000000640001");
        props.insert("KEYS", "k1 k2");
        props.insert("TAGS", "TagA");
        let msg = MessageExt {
            topic: "T".into(),
            properties: props,
            body: Bytes::from(compression::compress(text.as_bytes()).unwrap()),
            sys_flag: sysflag::COMPRESSED,
            store_host: "192.168.0.2:10911".parse().unwrap(),
            store_timestamp: 1_700_000_000_123,
            ..Default::default()
        };
        Bytes::from(msg.encode().unwrap())
    }

    #[test]
    fn compressed_bodies_show_as_text() {
        let text = "hello ".repeat(1000);
        let records = compressed_record(&text);
        let msgs = decode_records(&records, true).unwrap();
        let v = MessageView::new(&msgs[0], "broker-a", BodyMode::Preview);
        assert_eq!(v.body_encoding, Some(BodyEncoding::Text));
        assert_eq!(v.body.as_deref(), Some(text.as_str()));
        assert_eq!(v.body_size, 6000);
        assert!(v
            .shown_body()
            .ends_with("(truncated, 6000 bytes; --full-body to show all)"));
        assert_eq!(v.msg_id, "C0A8000A1F9012345678000000640001");
        assert_eq!(v.offset_msg_id, "C0A8000200002A9F0000000000000000");
        assert_eq!(v.keys.as_deref(), Some("k1 k2"));

        let mut line = String::new();
        v.human(&mut line);
        assert!(line.starts_with("MSGID: C0A8000A1F9012345678000000640001 OFFSET_MSGID: "));
        assert!(line.contains(" TAGS: TagA KEYS: k1 k2 BODY: hello hello"));

        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["bodyEncoding"], "text");
        assert_eq!(json["storeTimestamp"], 1_700_000_000_123_i64);
        assert_eq!(json["properties"]["TAGS"], "TagA");

        let hidden = MessageView::new(&msgs[0], "broker-a", BodyMode::Hidden);
        let json = serde_json::to_value(&hidden).unwrap();
        assert!(json.get("body").is_none());
        let mut line = String::new();
        hidden.human(&mut line);
        assert!(!line.contains("BODY"));

        let mut detail = String::new();
        MessageView::new(&msgs[0], "broker-a", BodyMode::Full).detail(&mut detail);
        assert!(detail.contains("Store Host:       192.168.0.2:10911\n"));
        assert!(detail.trim_end().ends_with(text.trim_end()));
    }
}
