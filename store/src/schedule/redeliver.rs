//! Delivering a staged message to its real topic, and finding at start-up what was delivered
//! after the last progress checkpoint.
//!
//! The delivered record is the staged one with its topic and queue from `REAL_TOPIC` and
//! `REAL_QID` (both kept, as RocketMQ does), `DELAY` and the `TIMER_*` requests removed
//! (`TIMER_OUT_MS`, the due time, stays), `WAIT=false`, and [`keys::DELIVERED_FROM`] naming
//! the staging entry (`<topic>:<queueId>:<queueOffset>`). Body, flag, sysflag, born time and
//! host and reconsume times are kept. Because the marker travels inside the delivered record,
//! "delivered" means "in the CommitLog": a scan of the log from the checkpoint's offset tells
//! a restart exactly which entries were delivered after it.

use bytes::Bytes;
use fennec_protocol::message::properties::{keys, Properties};
use fennec_protocol::message::record::{parse_record, Entry};

use crate::append::Appender;
use crate::commit_log::{CommitLog, Roll};
use crate::consume_queue::CqEntry;
use crate::message::StoreMessage;

/// A staging entry: topic, queue and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Source<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub offset: i64,
}

impl Source<'_> {
    fn marker(&self) -> String {
        format!("{}:{}:{}", self.topic, self.queue_id, self.offset)
    }
}

/// Parses a [`keys::DELIVERED_FROM`] value.
pub(crate) fn parse_marker(value: &str) -> Option<Source<'_>> {
    let mut parts = value.rsplitn(3, ':');
    let offset = parts.next()?.parse().ok()?;
    let queue_id = parts.next()?.parse().ok()?;
    let topic = parts.next()?;
    Some(Source {
        topic,
        queue_id,
        offset,
    })
}

/// What became of a due entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Its message is in its real topic now.
    Delivered,
    /// Nothing can be delivered (the record was deleted by retention, or names no real
    /// topic); the entry is done.
    Dropped(String),
}

/// Appends the message of `entry` (staged at `source`) to its real topic. `Err` when the
/// store refused the append (full disk, shutting down): try again later.
pub(crate) fn deliver(
    appender: &Appender,
    commit_log: &CommitLog,
    entry: &CqEntry,
    source: Source<'_>,
) -> Result<Outcome, String> {
    let Some(record) = (entry.commit_log_offset >= commit_log.min_offset())
        .then(|| commit_log.record_bytes_sized(entry.commit_log_offset, entry.size as usize))
        .flatten()
    else {
        return Ok(Outcome::Dropped(format!(
            "its record at commit log offset {} is gone",
            entry.commit_log_offset
        )));
    };
    let msg = match real_message(&record, source) {
        Ok(m) => m,
        Err(why) => return Ok(Outcome::Dropped(why)),
    };
    match appender.append_message(&msg, Roll::Wait) {
        // WAIT=false: no flush to wait for.
        Ok(_) => Ok(Outcome::Delivered),
        Err(refused) => Err(refused
            .into_result()
            .remark
            .unwrap_or_else(|| "append refused".to_string())),
    }
}

/// The message to append for the staged `record`.
fn real_message(record: &Bytes, source: Source<'_>) -> Result<StoreMessage, String> {
    let view = parse_record(record).map_err(|e| format!("unreadable record: {e}"))?;
    let mut props = Properties::decode(view.properties());
    let topic = props
        .get(keys::REAL_TOPIC)
        .ok_or_else(|| "the record has no REAL_TOPIC".to_string())?
        .to_string();
    let queue_id = props
        .get(keys::REAL_QUEUE_ID)
        .and_then(|q| q.trim().parse::<i32>().ok())
        .filter(|q| *q >= 0)
        .unwrap_or(0);
    for k in [
        keys::DELAY_TIME_LEVEL,
        keys::TIMER_DELIVER_MS,
        keys::TIMER_DELAY_SEC,
        keys::TIMER_DELAY_MS,
    ] {
        props.remove(k);
    }
    props.insert(keys::WAIT_STORE_MSG_OK, "false");
    props.insert(keys::DELIVERED_FROM, source.marker());
    Ok(StoreMessage {
        topic,
        queue_id,
        properties: props.encode(),
        ..StoreMessage::copy_of(record, &view)
    })
}

/// The staging entries delivered by records from commit log offset `from` to the end.
pub(crate) fn delivered_since(commit_log: &CommitLog, from: i64) -> Vec<(String, i32, i64)> {
    let mut found = Vec::new();
    let end = commit_log.max_offset();
    let mut offset = from.max(commit_log.min_offset());
    while offset < end {
        let step = commit_log.with_entry(offset, |file, _, e| match e {
            Entry::Blank { .. } => (file.end_offset(), None),
            Entry::Record(r) => {
                let source = r
                    .property(keys::DELIVERED_FROM)
                    .and_then(parse_marker)
                    .map(|s| (s.topic.to_string(), s.queue_id, s.offset));
                (offset + r.total_size() as i64, source)
            }
        });
        let Some((next, source)) = step else {
            tracing::warn!(
                offset,
                end,
                "cannot read the commit log here; delivery scan stops"
            );
            break;
        };
        found.extend(source);
        offset = next;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::message::record::{encode_record, RecordFields};

    #[test]
    fn markers_round_trip() {
        let s = Source {
            topic: "SCHEDULE_TOPIC_XXXX",
            queue_id: 2,
            offset: 17,
        };
        assert_eq!(parse_marker(&s.marker()), Some(s));
        assert_eq!(parse_marker("a:b:c"), None);
        assert_eq!(parse_marker("7"), None);
    }

    #[test]
    fn the_real_message_comes_back_without_the_requests() {
        let props = "TAGS\u{1}A\u{2}DELAY\u{1}2\u{2}REAL_TOPIC\u{1}Orders\u{2}REAL_QID\u{1}3\u{2}\
                     TIMER_OUT_MS\u{1}99\u{2}TIMER_DELAY_MS\u{1}5\u{2}WAIT\u{1}true\u{2}";
        let host = "127.0.0.1:1".parse().unwrap();
        let mut buf = Vec::new();
        encode_record(
            &RecordFields {
                queue_id: 1,
                flag: 7,
                queue_offset: 4,
                physical_offset: 0,
                sys_flag: 1,
                born_timestamp: 11,
                born_host: host,
                store_timestamp: 12,
                store_host: host,
                reconsume_times: 2,
                prepared_transaction_offset: 0,
                body: b"payload",
                topic: "SCHEDULE_TOPIC_XXXX",
                properties: props.as_bytes(),
            },
            &mut buf,
        )
        .unwrap();
        let source = Source {
            topic: "SCHEDULE_TOPIC_XXXX",
            queue_id: 1,
            offset: 4,
        };
        let m = real_message(&Bytes::from(buf), source).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id, m.flag), ("Orders", 3, 7));
        assert_eq!(
            (m.sys_flag, m.born_timestamp, m.reconsume_times),
            (1, 11, 2)
        );
        assert_eq!(&m.body[..], b"payload");
        let p = Properties::decode(&m.properties);
        assert_eq!(p.get("TAGS"), Some("A"));
        assert_eq!(p.get(keys::DELAY_TIME_LEVEL), None);
        assert_eq!(p.get(keys::TIMER_DELAY_MS), None);
        assert_eq!(p.get(keys::TIMER_OUT_MS), Some("99"));
        assert_eq!(p.get(keys::WAIT_STORE_MSG_OK), Some("false"));
        assert_eq!(p.get(keys::DELIVERED_FROM), Some("SCHEDULE_TOPIC_XXXX:1:4"));
        assert_eq!(p.get(keys::REAL_TOPIC), Some("Orders"));
    }
}
