//! Dead letters of a consumer group (`%DLQ%<group>`): `queryDlqMsg` lists them and
//! `resendDlqMsg` sends one back to its original topic.
//!
//! Dead-letter topics are write-only (nothing consumes them by accident), so they are read
//! with QUERY_CONSUME_QUEUE (the queue's entries) and VIEW_MESSAGE_BY_ID (each record), on
//! every broker of the topic's route. A re-sent message is a new message of the original
//! topic (`RETRY_TOPIC`) with the dead letter's body, tags, keys, user properties, UNIQ_KEY
//! (the id the application saw) and `ORIGIN_MESSAGE_ID`, and a reconsume count of 0; the
//! dead letter itself stays where it is.

use clap::Args;
use fennec_protocol::header::QueryConsumeQueueRequestHeader;
use fennec_protocol::message::properties::{keys, Properties};
use fennec_protocol::message::MessageExt;
use fennec_protocol::topic::dlq_topic;
use serde::Serialize;

use super::send::{send_one, Place, SendReport};
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::{body_preview, Report, Table};
use crate::admin::route::route_readers;
use crate::admin::time::format_millis;

/// Entries asked of a broker per QUERY_CONSUME_QUEUE.
const PAGE: i32 = 256;

/// Properties a re-sent dead letter does not carry: how it was routed, delivered and
/// consumed before (the broker and the consumer set them afresh).
const DROPPED_ON_RESEND: &[&str] = &[
    keys::RETRY_TOPIC,
    keys::REAL_TOPIC,
    keys::REAL_QUEUE_ID,
    keys::DELAY_TIME_LEVEL,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
    keys::TIMER_OUT_MS,
    keys::DELIVERED_FROM,
    keys::RECONSUME_TIME,
    keys::MAX_RECONSUME_TIMES,
    keys::CONSUME_START_TIME,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    keys::CLUSTER,
    keys::WAIT_STORE_MSG_OK,
];

#[derive(Debug, Clone, Args)]
pub struct QueryDlqMsgArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    pub group: String,
    /// Most dead letters to show (oldest first).
    #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
    pub max: usize,
    /// Show whole bodies.
    #[arg(long = "full-body")]
    pub full_body: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ResendDlqMsgArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    pub group: String,
    /// The dead letter's id as `queryDlqMsg` lists it (UNIQ_KEY or offset msgId).
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
}

/// One dead letter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub broker_name: String,
    pub queue_offset: i64,
    /// UNIQ_KEY (the id the application saw), else the offset msgId.
    pub msg_id: String,
    pub offset_msg_id: String,
    /// The topic it was consumed from (`RETRY_TOPIC`).
    pub origin_topic: Option<String>,
    pub origin_msg_id: Option<String>,
    pub reconsume_times: i32,
    pub store_timestamp: i64,
    pub store_time: String,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub body: String,
    #[serde(skip)]
    full_body: bool,
    #[serde(skip)]
    raw: MessageExt,
}

impl DeadLetter {
    fn new(broker_name: &str, m: MessageExt, full_body: bool) -> Self {
        DeadLetter {
            broker_name: broker_name.to_string(),
            queue_offset: m.queue_offset,
            msg_id: m.id().to_string(),
            offset_msg_id: m.msg_id.clone(),
            origin_topic: m.property(keys::RETRY_TOPIC).map(str::to_string),
            origin_msg_id: m.property(keys::ORIGIN_MESSAGE_ID).map(str::to_string),
            reconsume_times: m.reconsume_times,
            store_timestamp: m.store_timestamp,
            store_time: format_millis(m.store_timestamp),
            tags: m.tags().map(str::to_string),
            keys: m.property(keys::KEYS).map(str::to_string),
            body: String::from_utf8_lossy(&m.body).into_owned(),
            full_body,
            raw: m,
        }
    }
}

/// `queryDlqMsg` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DlqReport {
    pub topic: String,
    pub dead_letters: Vec<DeadLetter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Up to `max` dead letters of `group`, oldest first per broker, and the brokers that failed.
async fn dead_letters(
    client: &AdminClient,
    group: &str,
    max: usize,
    full_body: bool,
) -> Result<(String, Vec<DeadLetter>, Vec<String>), AdminError> {
    let topic = dlq_topic(group);
    let route = client.topic_route(&topic).await?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for target in route_readers(&route) {
        let queues = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == target.broker_name)
            .map_or(1, |q| q.read_queue_nums.max(q.write_queue_nums));
        for queue_id in 0..queues {
            if found.len() >= max {
                break;
            }
            let wanted = max - found.len();
            match read_queue(client, &target.addr, &topic, queue_id, wanted).await {
                Ok(msgs) => found.extend(
                    msgs.into_iter()
                        .map(|m| DeadLetter::new(&target.broker_name, m, full_body)),
                ),
                Err(e) => errors.push(format!("{}: {e}", target.broker_name)),
            }
        }
    }
    Ok((topic, found, errors))
}

/// Up to `max` messages of one queue, from its min offset.
async fn read_queue(
    client: &AdminClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
    max: usize,
) -> Result<Vec<MessageExt>, AdminError> {
    let mut out = Vec::new();
    let mut index = 0;
    loop {
        let header = QueryConsumeQueueRequestHeader {
            topic: topic.to_string(),
            queue_id,
            index,
            count: PAGE.min(i32::try_from(max - out.len()).unwrap_or(PAGE)),
            consumer_group: None,
        };
        let page = client.broker(addr, &header).await?;
        if page.queue_data.is_empty() {
            return Ok(out);
        }
        index = index.max(page.min_queue_index) + page.queue_data.len() as i64;
        for entry in page.queue_data {
            let m = client
                .view_message(addr, entry.physic_offset, Some(topic))
                .await?;
            if m.topic == topic {
                out.push(m);
            }
            if out.len() >= max {
                return Ok(out);
            }
        }
        if index >= page.max_queue_index {
            return Ok(out);
        }
    }
}

/// `queryDlqMsg`.
pub async fn query_dlq_msg(
    client: &AdminClient,
    args: &QueryDlqMsgArgs,
) -> Result<DlqReport, AdminError> {
    let (topic, dead_letters, errors) =
        dead_letters(client, &args.group, args.max, args.full_body).await?;
    Ok(DlqReport {
        topic,
        dead_letters,
        errors,
    })
}

/// The properties a re-sent dead letter carries.
pub fn resend_properties(dead: &MessageExt) -> Properties {
    let mut props = dead.properties.clone();
    for k in DROPPED_ON_RESEND {
        props.remove(k);
    }
    props
}

/// `resendDlqMsg`.
pub async fn resend_dlq_msg(
    client: &AdminClient,
    args: &ResendDlqMsgArgs,
) -> Result<SendReport, AdminError> {
    let id = args.msg_id.trim();
    let (topic, letters, errors) = dead_letters(client, &args.group, usize::MAX, false).await?;
    let Some(dead) = letters
        .into_iter()
        .find(|d| d.msg_id == id || d.offset_msg_id == id)
    else {
        let mut why = format!("no dead letter {id} in {topic}");
        if !errors.is_empty() {
            why.push_str(&format!(" (unreadable: {})", errors.join("; ")));
        }
        return Err(AdminError::NotFound(why));
    };
    let origin = dead.origin_topic.clone().ok_or_else(|| {
        AdminError::NotFound(format!(
            "dead letter {id} does not say its original topic (no RETRY_TOPIC)"
        ))
    })?;
    let props = resend_properties(&dead.raw);
    send_one(client, &origin, Place::default(), &dead.raw.body, props).await
}

impl Report for DlqReport {
    fn human(&self, out: &mut String) {
        let mut t = Table::new(&[
            "#Msg Id",
            "#Broker",
            "#Queue Offset",
            "#Origin Topic",
            "#Reconsumed",
            "#Store Time",
            "#Body",
        ]);
        for d in &self.dead_letters {
            t.push(vec![
                d.msg_id.clone(),
                d.broker_name.clone(),
                d.queue_offset.to_string(),
                d.origin_topic.clone().unwrap_or_default(),
                d.reconsume_times.to_string(),
                d.store_time.clone(),
                body_preview(d.raw.body.as_ref(), d.full_body),
            ]);
        }
        t.render(out);
    }

    fn errors(&self) -> &[String] {
        &self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resent_dead_letters_keep_what_the_application_set() {
        let mut m = MessageExt {
            topic: "%DLQ%G".into(),
            ..Default::default()
        };
        for (k, v) in [
            ("TAGS", "A"),
            ("KEYS", "k1 k2"),
            ("color", "red"),
            ("UNIQ_KEY", "U1"),
            ("ORIGIN_MESSAGE_ID", "O1"),
            ("RETRY_TOPIC", "Orders"),
            ("RECONSUME_TIME", "3"),
            ("CLUSTER", "C"),
            ("WAIT", "false"),
        ] {
            m.properties.insert(k, v);
        }
        let p = resend_properties(&m);
        let kept: Vec<(&str, &str)> = p.iter().collect();
        assert_eq!(
            kept,
            [
                ("TAGS", "A"),
                ("KEYS", "k1 k2"),
                ("color", "red"),
                ("UNIQ_KEY", "U1"),
                ("ORIGIN_MESSAGE_ID", "O1")
            ]
        );
        let d = DeadLetter::new("broker-a", m, false);
        assert_eq!(d.origin_topic.as_deref(), Some("Orders"));
        assert_eq!(d.msg_id, "U1");
    }
}
