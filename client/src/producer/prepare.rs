//! Turning messages into what goes on the wire ([`Outgoing`]), after checking them: a
//! valid topic that is not a system topic, a body of 1 byte to `max_message_size`, property
//! names and values without the separator characters. A single message gets a UNIQ_KEY and
//! WAIT=true unless it has them, and a body of `compress_over` bytes or more is ZLIB-
//! compressed with sysflag COMPRESSED. A batch (one topic, no DELAY or timer, not a retry
//! topic, one WAIT for all) gives every inner message its own UNIQ_KEY and gets one of its
//! own.

use bytes::Bytes;
use fennec_protocol::body::MessageQueue;
use fennec_protocol::header::SendMessageRequestHeaderV2;
use fennec_protocol::message::batch::encode_batch;
use fennec_protocol::message::properties::{is_valid_property_text, keys};
use fennec_protocol::message::{compression, sysflag, Message, Properties};
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::{
    is_retry_topic, is_send_forbidden, validate_topic, AUTO_CREATE_TOPIC_KEY,
};

use crate::error::ClientError;

/// A message (or batch) ready to send to any queue of its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub(crate) topic: String,
    pub(crate) flag: i32,
    pub(crate) sys_flag: i32,
    /// The properties wire string.
    pub(crate) properties: String,
    pub(crate) body: Bytes,
    /// The UNIQ_KEY, or the comma-joined UNIQ_KEYs of a batch.
    pub(crate) msg_id: String,
    pub(crate) batch: bool,
    /// From RECONSUME_TIME / MAX_RECONSUME_TIMES, for sends to a retry topic.
    pub(crate) reconsume_times: i32,
    pub(crate) max_reconsume_times: Option<i32>,
}

impl Outgoing {
    /// The SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE header for a send to `mq`.
    pub(crate) fn header(
        &self,
        group: &str,
        mq: &MessageQueue,
        default_topic_queue_nums: i32,
    ) -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            producer_group: group.to_string(),
            topic: self.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.to_string(),
            default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: now_millis(),
            flag: self.flag,
            properties: Some(self.properties.clone()),
            reconsume_times: Some(self.reconsume_times),
            unit_mode: Some(false),
            max_reconsume_times: self.max_reconsume_times,
            batch: Some(self.batch),
            broker_name: None,
        }
    }
}

/// Limits the checks apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageLimits {
    pub(crate) max_message_size: usize,
    pub(crate) compress_over: usize,
}

fn invalid(msg: impl Into<String>) -> ClientError {
    ClientError::InvalidMessage(msg.into())
}

/// Checks one message (of a batch or alone).
pub(crate) fn check_message(msg: &Message, limits: &MessageLimits) -> Result<(), ClientError> {
    validate_topic(&msg.topic).map_err(invalid)?;
    if is_send_forbidden(&msg.topic) {
        return Err(invalid(format!(
            "sending to the system topic {} is not allowed",
            msg.topic
        )));
    }
    if msg.body.is_empty() {
        return Err(invalid("the message body is empty"));
    }
    if msg.body.len() > limits.max_message_size {
        return Err(invalid(format!(
            "the message body is {} bytes, more than the maximum of {}",
            msg.body.len(),
            limits.max_message_size
        )));
    }
    if let Some((k, _)) = msg
        .properties
        .iter()
        .find(|(k, v)| !is_valid_property_text(k) || !is_valid_property_text(v))
    {
        return Err(invalid(format!(
            "property {k:?} contains a separator character"
        )));
    }
    Ok(())
}

/// Adds UNIQ_KEY and WAIT=true unless present; returns the UNIQ_KEY.
fn stamp(properties: &mut Properties, uniq_id: &mut impl FnMut() -> String) -> String {
    let id = match properties.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) {
        Some(id) => id.to_string(),
        None => {
            let id = uniq_id();
            properties.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id.clone());
            id
        }
    };
    if properties.get(keys::WAIT_STORE_MSG_OK).is_none() {
        properties.insert(keys::WAIT_STORE_MSG_OK, "true");
    }
    id
}

/// Prepares one message.
pub(crate) fn prepare_message(
    mut msg: Message,
    limits: &MessageLimits,
    mut uniq_id: impl FnMut() -> String,
) -> Result<Outgoing, ClientError> {
    check_message(&msg, limits)?;
    let msg_id = stamp(&mut msg.properties, &mut uniq_id);
    let mut sys_flag = 0;
    let mut body = msg.body;
    if body.len() >= limits.compress_over {
        if let Ok(compressed) = compression::compress(&body) {
            body = Bytes::from(compressed);
            sys_flag |= sysflag::COMPRESSED;
        }
    }
    let (mut reconsume_times, mut max_reconsume_times) = (0, None);
    if is_retry_topic(&msg.topic) {
        if let Some(v) = msg.properties.remove(keys::RECONSUME_TIME) {
            reconsume_times = v.trim().parse().unwrap_or(0);
        }
        if let Some(v) = msg.properties.remove(keys::MAX_RECONSUME_TIMES) {
            max_reconsume_times = v.trim().parse().ok();
        }
    }
    Ok(Outgoing {
        topic: msg.topic,
        flag: msg.flag,
        sys_flag,
        properties: msg.properties.encode(),
        body,
        msg_id,
        batch: false,
        reconsume_times,
        max_reconsume_times,
    })
}

/// Prepares a batch.
pub(crate) fn prepare_batch(
    mut msgs: Vec<Message>,
    limits: &MessageLimits,
    mut uniq_id: impl FnMut() -> String,
) -> Result<Outgoing, ClientError> {
    let Some(first) = msgs.first() else {
        return Err(invalid("a batch needs at least one message"));
    };
    let topic = first.topic.clone();
    let wait = first.wait_store_msg_ok();
    let mut ids = Vec::with_capacity(msgs.len());
    for m in &mut msgs {
        check_message(m, limits)?;
        if m.topic != topic {
            return Err(invalid("every message of a batch must have the same topic"));
        }
        if is_retry_topic(&m.topic) {
            return Err(invalid("a batch cannot be sent to a retry topic"));
        }
        if m.is_deferred() {
            return Err(invalid("delayed and timer messages cannot be batched"));
        }
        if m.wait_store_msg_ok() != wait {
            return Err(invalid("every message of a batch must have the same WAIT"));
        }
        ids.push(stamp(&mut m.properties, &mut uniq_id));
    }
    let body = encode_batch(&msgs);
    if body.len() > limits.max_message_size {
        return Err(invalid(format!(
            "the batch is {} bytes, more than the maximum of {}",
            body.len(),
            limits.max_message_size
        )));
    }
    let mut properties = Properties::new();
    properties.insert(keys::WAIT_STORE_MSG_OK, wait.to_string());
    properties.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, uniq_id());
    Ok(Outgoing {
        topic,
        flag: 0,
        sys_flag: 0,
        properties: properties.encode(),
        body,
        msg_id: ids.join(","),
        batch: true,
        reconsume_times: 0,
        max_reconsume_times: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::message::batch::decode_batch;

    const LIMITS: MessageLimits = MessageLimits {
        max_message_size: 4 * 1024 * 1024,
        compress_over: 4096,
    };

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("ID{n}")
        }
    }

    #[test]
    fn single_message_is_stamped() {
        let msg = Message::new("T", "hello")
            .with_tags("TagA")
            .with_keys(&["k1"]);
        let out = prepare_message(msg, &LIMITS, ids()).unwrap();
        assert_eq!(out.msg_id, "ID1");
        assert_eq!(
            out.properties,
            "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ID1\u{2}WAIT\u{1}true\u{2}"
        );
        assert_eq!((out.sys_flag, out.batch), (0, false));
        assert_eq!(&out.body[..], b"hello");

        // An existing UNIQ_KEY and WAIT are kept.
        let msg = Message::new("T", "x")
            .with_property("UNIQ_KEY", "MINE")
            .with_property("WAIT", "false");
        let out = prepare_message(msg, &LIMITS, ids()).unwrap();
        assert_eq!(out.msg_id, "MINE");
        assert_eq!(out.properties, "UNIQ_KEY\u{1}MINE\u{2}WAIT\u{1}false\u{2}");
    }

    #[test]
    fn large_bodies_are_compressed() {
        let body = vec![b'z'; 4096];
        let out = prepare_message(Message::new("T", body.clone()), &LIMITS, ids()).unwrap();
        assert_eq!(out.sys_flag, sysflag::COMPRESSED);
        assert!(out.body.len() < 100);
        assert_eq!(
            compression::decompress(&out.body, out.sys_flag).unwrap(),
            body
        );
        let small = prepare_message(Message::new("T", vec![b'z'; 4095]), &LIMITS, ids()).unwrap();
        assert_eq!(small.sys_flag, 0);
    }

    #[test]
    fn invalid_messages_are_refused() {
        let bad = |m: Message| prepare_message(m, &LIMITS, ids()).unwrap_err();
        assert!(matches!(
            bad(Message::new("", "x")),
            ClientError::InvalidMessage(_)
        ));
        assert!(matches!(
            bad(Message::new("a b", "x")),
            ClientError::InvalidMessage(_)
        ));
        assert!(matches!(
            bad(Message::new("SCHEDULE_TOPIC_XXXX", "x")),
            ClientError::InvalidMessage(_)
        ));
        assert!(matches!(
            bad(Message::new("T", "")),
            ClientError::InvalidMessage(_)
        ));
        assert!(matches!(
            bad(Message::new("T", vec![0u8; 4 * 1024 * 1024 + 1])),
            ClientError::InvalidMessage(_)
        ));
        assert!(prepare_message(
            Message::new("T", vec![0u8; 4 * 1024 * 1024]),
            &LIMITS,
            ids()
        )
        .is_ok());
        assert!(matches!(
            bad(Message::new("T", "x").with_property("a\u{2}", "v")),
            ClientError::InvalidMessage(_)
        ));
    }

    #[test]
    fn retry_topic_sends_carry_reconsume_counts() {
        let msg = Message::new("%RETRY%G", "x")
            .with_property("RECONSUME_TIME", "3")
            .with_property("MAX_RECONSUME_TIMES", "16");
        let out = prepare_message(msg, &LIMITS, ids()).unwrap();
        assert_eq!(
            (out.reconsume_times, out.max_reconsume_times),
            (3, Some(16))
        );
        assert!(!out.properties.contains("RECONSUME_TIME"));
        let h = out.header("PG", &MessageQueue::new("%RETRY%G", "b", 0), 4);
        assert_eq!(
            (h.reconsume_times, h.max_reconsume_times),
            (Some(3), Some(16))
        );
    }

    #[test]
    fn batches() {
        let msgs = vec![
            Message::new("T", "one").with_tags("A"),
            Message::new("T", "two").with_keys(&["k"]),
        ];
        let out = prepare_batch(msgs, &LIMITS, ids()).unwrap();
        assert!(out.batch);
        assert_eq!(out.msg_id, "ID1,ID2");
        assert_eq!(out.properties, "WAIT\u{1}true\u{2}UNIQ_KEY\u{1}ID3\u{2}");
        let items = decode_batch(&out.body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].to_message("T").uniq_key(), Some("ID1"));
        assert_eq!(items[1].to_message("T").uniq_key(), Some("ID2"));
        assert_eq!(items[1].to_message("T").keys(), vec!["k"]);
        let h = out.header("PG", &MessageQueue::new("T", "b", 2), 4);
        assert_eq!(
            (h.batch, h.queue_id, h.default_topic.as_str()),
            (Some(true), 2, "TBW102")
        );

        let err = |m: Vec<Message>| prepare_batch(m, &LIMITS, ids()).unwrap_err().to_string();
        assert!(err(vec![]).contains("at least one"));
        assert!(err(vec![Message::new("T", "a"), Message::new("U", "b")]).contains("same topic"));
        assert!(err(vec![Message::new("%RETRY%G", "a")]).contains("retry topic"));
        assert!(err(vec![Message::new("T", "a").with_property("DELAY", "3")]).contains("delayed"));
        assert!(err(vec![
            Message::new("T", "a"),
            Message::new("T", "b").with_property("WAIT", "false")
        ])
        .contains("same WAIT"));
        let big = vec![
            Message::new("T", vec![0u8; 3 * 1024 * 1024]),
            Message::new("T", vec![0u8; 3 * 1024 * 1024]),
        ];
        assert!(err(big).contains("batch is"));
    }
}
