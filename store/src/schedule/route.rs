//! Put-time routing of delayed and timer messages: a message (NOT or COMMIT transaction type,
//! not to a staging or system-internal topic) asking to be delivered later is stored in a
//! staging topic instead of its own, with its real topic and queue in `REAL_TOPIC` and
//! `REAL_QID`:
//! * `DELAY` = level > 0 (clamped to the highest level): `SCHEDULE_TOPIC_XXXX`, queue
//!   level - 1, as RocketMQ 4 does;
//! * otherwise `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` (relative to now) or `TIMER_DELIVER_MS`
//!   (absolute), in that order of precedence as in RocketMQ 5: `rmq_sys_wheel_timer` queue 0
//!   with the due time in `TIMER_OUT_MS`. A due time in the past is delivered at once (the
//!   message stays where it was sent); one more than `timerMaxDelaySec` ahead is refused.
//!
//! The staging queues' consume-queue entries carry the due time in their tag field
//! ([`staging_tag_code`]), which the delivery service reads.

use fennec_protocol::message::properties::{iter_encoded, keys, Properties};
use fennec_protocol::message::sysflag;
use fennec_protocol::topic::{is_send_forbidden, SCHEDULE_TOPIC, TIMER_TOPIC};

use super::levels::DelayLevels;
use crate::message::StoreMessage;
use crate::put_result::{PutMessageResult, PutMessageStatus};

/// What a message's properties ask for.
#[derive(Debug, Default)]
struct Asked<'a> {
    delay: Option<&'a str>,
    deliver_ms: Option<&'a str>,
    delay_sec: Option<&'a str>,
    delay_ms: Option<&'a str>,
}

fn illegal(remark: String) -> PutMessageResult {
    PutMessageResult::failed(PutMessageStatus::MessageIllegal, remark)
}

fn number(key: &str, value: &str) -> Result<i64, PutMessageResult> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| illegal(format!("property {key}={value:?} is not a number")))
}

/// Whether the wire string `props` may hold one of the properties [`route`] looks for:
/// `DELAY`, `TIMER_DELIVER_MS`, `TIMER_DELAY_SEC` and `TIMER_DELAY_MS` each contain `DELAY`
/// or `TIMER_DELIVER`, and two substring searches cost a fraction of a pass that splits
/// every property (a third of an append's instructions went to such passes). A false
/// positive (a value containing them) only costs that pass.
fn may_ask_for_later(props: &str) -> bool {
    props.contains(keys::DELAY_TIME_LEVEL) || props.contains("TIMER_DELIVER")
}

/// The staged copy of `msg` if it must wait, `None` if it is stored as sent, or the refusal.
pub(crate) fn route(
    msg: &StoreMessage,
    levels: &DelayLevels,
    timer_max_delay_sec: u64,
    now: i64,
) -> Result<Option<StoreMessage>, PutMessageResult> {
    let tran = sysflag::transaction_type(msg.sys_flag);
    if (tran != sysflag::TRANSACTION_NOT_TYPE && tran != sysflag::TRANSACTION_COMMIT_TYPE)
        || !may_ask_for_later(&msg.properties)
        || is_send_forbidden(&msg.topic)
    {
        return Ok(None);
    }
    let mut asked = Asked::default();
    for (k, v) in iter_encoded(&msg.properties) {
        match k {
            keys::DELAY_TIME_LEVEL => asked.delay = Some(v),
            keys::TIMER_DELIVER_MS => asked.deliver_ms = Some(v),
            keys::TIMER_DELAY_SEC => asked.delay_sec = Some(v),
            keys::TIMER_DELAY_MS => asked.delay_ms = Some(v),
            _ => {}
        }
    }
    if let Some(v) = asked.delay {
        let level = number(keys::DELAY_TIME_LEVEL, v)?;
        if level > 0 {
            let level = levels.clamp(i32::try_from(level).unwrap_or(i32::MAX));
            let mut props = staged_properties(msg);
            props.insert(keys::DELAY_TIME_LEVEL, level.to_string());
            return Ok(Some(staged(msg, SCHEDULE_TOPIC, level - 1, props)));
        }
    }
    let due = if let Some(v) = asked.delay_sec {
        now.saturating_add(number(keys::TIMER_DELAY_SEC, v)?.saturating_mul(1000))
    } else if let Some(v) = asked.delay_ms {
        now.saturating_add(number(keys::TIMER_DELAY_MS, v)?)
    } else if let Some(v) = asked.deliver_ms {
        number(keys::TIMER_DELIVER_MS, v)?
    } else {
        return Ok(None);
    };
    if due <= now {
        return Ok(None);
    }
    let max_ms = i64::try_from(timer_max_delay_sec.saturating_mul(1000)).unwrap_or(i64::MAX);
    if due - now > max_ms {
        return Err(illegal(format!(
            "timer message is due in {} ms, beyond timerMaxDelaySec={timer_max_delay_sec} s",
            due - now
        )));
    }
    let mut props = staged_properties(msg);
    props.insert(keys::TIMER_OUT_MS, due.to_string());
    Ok(Some(staged(msg, TIMER_TOPIC, 0, props)))
}

fn staged_properties(msg: &StoreMessage) -> Properties {
    let mut props = Properties::decode(&msg.properties);
    props.insert(keys::REAL_TOPIC, msg.topic.as_str());
    props.insert(keys::REAL_QUEUE_ID, msg.queue_id.to_string());
    props
}

fn staged(msg: &StoreMessage, topic: &str, queue_id: i32, props: Properties) -> StoreMessage {
    StoreMessage {
        topic: topic.to_string(),
        queue_id,
        properties: props.encode(),
        ..msg.clone()
    }
}

/// The consume-queue tag field of a staging entry: its due time (ms since the epoch).
/// `None` for other topics (their tag field is the tag hash).
pub(crate) fn staging_tag_code(
    topic: &str,
    queue_id: i32,
    store_timestamp: i64,
    timer_out_ms: Option<&str>,
    levels: &DelayLevels,
) -> Option<i64> {
    if topic == SCHEDULE_TOPIC {
        Some(store_timestamp.saturating_add(levels.delay_ms(queue_id.saturating_add(1))))
    } else if topic == TIMER_TOPIC {
        // A record without a readable due time is delivered at once rather than never.
        Some(
            timer_out_ms
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(store_timestamp),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::msg;

    const NOW: i64 = 1_700_000_000_000;

    fn routed(props: &str) -> Result<Option<StoreMessage>, PutMessageResult> {
        route(&msg(3, props), &DelayLevels::default(), 259_200, NOW)
    }

    fn prop(m: &StoreMessage, k: &str) -> Option<String> {
        Properties::decode(&m.properties).get(k).map(str::to_string)
    }

    #[test]
    fn the_quick_check_finds_every_routed_key() {
        for key in [
            keys::DELAY_TIME_LEVEL,
            keys::TIMER_DELIVER_MS,
            keys::TIMER_DELAY_SEC,
            keys::TIMER_DELAY_MS,
        ] {
            assert!(
                may_ask_for_later(&format!("TAGS\u{1}A\u{2}{key}\u{1}1\u{2}")),
                "{key}"
            );
        }
        assert!(!may_ask_for_later(
            "UNIQ_KEY\u{1}7F00\u{2}WAIT\u{1}true\u{2}TAGS\u{1}A\u{2}"
        ));
    }

    #[test]
    fn delay_levels_go_to_the_schedule_topic() {
        let m = routed("DELAY\u{1}2\u{2}TAGS\u{1}A\u{2}").unwrap().unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 1));
        assert_eq!(prop(&m, keys::REAL_TOPIC).as_deref(), Some("T"));
        assert_eq!(prop(&m, keys::REAL_QUEUE_ID).as_deref(), Some("1"));
        assert_eq!(prop(&m, "TAGS").as_deref(), Some("A"));
        let m = routed("DELAY\u{1}99\u{2}").unwrap().unwrap();
        assert_eq!(m.queue_id, 17, "clamped to level 18");
        assert_eq!(prop(&m, keys::DELAY_TIME_LEVEL).as_deref(), Some("18"));
        assert!(routed("DELAY\u{1}0\u{2}").unwrap().is_none());
        assert!(routed("TAGS\u{1}A\u{2}").unwrap().is_none());
        assert!(routed("DELAY\u{1}x\u{2}").is_err());
        let mut prepared = msg(1, "DELAY\u{1}2\u{2}");
        prepared.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
        assert!(route(&prepared, &DelayLevels::default(), 1, NOW)
            .unwrap()
            .is_none());
    }

    #[test]
    fn timers_go_to_the_timer_topic_or_are_refused() {
        let m = routed("TIMER_DELAY_MS\u{1}3500\u{2}").unwrap().unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(prop(&m, keys::TIMER_OUT_MS), Some((NOW + 3500).to_string()));
        let m = routed("TIMER_DELAY_SEC\u{1}2\u{2}TIMER_DELIVER_MS\u{1}1\u{2}")
            .unwrap()
            .unwrap();
        assert_eq!(prop(&m, keys::TIMER_OUT_MS), Some((NOW + 2000).to_string()));
        let at = format!("TIMER_DELIVER_MS\u{1}{}\u{2}", NOW + 10);
        assert_eq!(
            prop(&routed(&at).unwrap().unwrap(), keys::TIMER_OUT_MS),
            Some((NOW + 10).to_string())
        );
        let past = format!("TIMER_DELIVER_MS\u{1}{}\u{2}", NOW - 10);
        assert!(
            routed(&past).unwrap().is_none(),
            "due already: delivered at once"
        );
        let far = routed("TIMER_DELAY_SEC\u{1}259201\u{2}").unwrap_err();
        assert_eq!(far.status, PutMessageStatus::MessageIllegal);
        assert!(
            far.remark
                .as_deref()
                .is_some_and(|r| r.contains("timerMaxDelaySec=259200")),
            "{far:?}"
        );
        assert!(routed("TIMER_DELAY_SEC\u{1}259200\u{2}").unwrap().is_some());
        assert!(routed("TIMER_DELAY_MS\u{1}soon\u{2}").is_err());
        let both = routed("DELAY\u{1}1\u{2}TIMER_DELAY_MS\u{1}10\u{2}")
            .unwrap()
            .unwrap();
        assert_eq!(both.topic, SCHEDULE_TOPIC, "a delay level wins");
    }

    #[test]
    fn staging_entries_carry_their_due_time() {
        let levels = DelayLevels::default();
        assert_eq!(
            staging_tag_code(SCHEDULE_TOPIC, 1, NOW, None, &levels),
            Some(NOW + 5000)
        );
        assert_eq!(
            staging_tag_code(TIMER_TOPIC, 0, NOW, Some("123"), &levels),
            Some(123)
        );
        assert_eq!(
            staging_tag_code(TIMER_TOPIC, 0, NOW, Some("x"), &levels),
            Some(NOW)
        );
        assert_eq!(staging_tag_code("T", 0, NOW, None, &levels), None);
    }
}
