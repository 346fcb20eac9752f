//! The records transactions write (reference §6), built from what was sent or stored:
//! a prepared send turned into its half message, the committed message restored from a half
//! record, the op message that closes a half message, the copy of a given-up half message
//! for TRANS_CHECK_MAX_TIME_TOPIC, and the CHECK_TRANSACTION_STATE request for a half record.

use std::net::SocketAddr;

use bytes::Bytes;
use fennec_protocol::header::CheckTransactionStateRequestHeader;
use fennec_protocol::message::msg_id::offset_msg_id;
use fennec_protocol::message::properties::{iter_encoded, keys, push_encoded};
use fennec_protocol::message::record::RecordView;
use fennec_protocol::message::{sysflag, MessageExt};
use fennec_protocol::request::transaction::CheckTransactionState;
use fennec_protocol::topic::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use fennec_store::StoreMessage;

/// The half queue and the op queue (RocketMQ 4.x uses queue 0 of each topic).
pub(crate) const HALF_QUEUE_ID: i32 = 0;
/// Tag of op messages that close a half message (RocketMQ's REMOVETAG).
pub(crate) const OP_REMOVE_TAG: &str = "d";

/// Sets the transaction type bits of `sys_flag`.
fn with_transaction_type(sys_flag: i32, kind: i32) -> i32 {
    (sys_flag & !sysflag::TRANSACTION_MASK) | kind
}

/// Turns a prepared send into its half message: the real topic and queue go into
/// REAL_TOPIC and REAL_QID, the UNIQ_KEY into `__transactionId__`, the sender's group into
/// PGROUP when the client left it out; the message goes to the half queue as a plain
/// (NOT-type) record, so it has a consume-queue entry but no consumer sees it.
pub(crate) fn into_half(msg: &mut StoreMessage, producer_group: &str) {
    let (mut has_group, mut has_transaction_id, mut uniq) = (false, false, None);
    for (name, value) in iter_encoded(&msg.properties) {
        match name {
            keys::PRODUCER_GROUP => has_group = true,
            keys::TRANSACTION_ID => has_transaction_id = true,
            keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX => uniq = Some(value.to_string()),
            _ => {}
        }
    }
    let props = &mut msg.properties;
    push_encoded(props, keys::REAL_TOPIC, &msg.topic);
    push_encoded(props, keys::REAL_QUEUE_ID, &msg.queue_id.to_string());
    if !has_group {
        push_encoded(props, keys::PRODUCER_GROUP, producer_group);
    }
    if let (false, Some(uniq)) = (has_transaction_id, uniq) {
        push_encoded(props, keys::TRANSACTION_ID, &uniq);
    }
    msg.topic = TRANS_HALF_TOPIC.to_string();
    msg.queue_id = HALF_QUEUE_ID;
    msg.sys_flag = with_transaction_type(msg.sys_flag, sysflag::TRANSACTION_NOT_TYPE);
}

/// The real topic and queue a half record was sent to.
pub(crate) fn real_queue(half: &RecordView<'_>) -> Result<(String, i32), String> {
    let topic = half
        .property(keys::REAL_TOPIC)
        .ok_or("the half message has no REAL_TOPIC")?;
    let queue_id = half
        .property(keys::REAL_QUEUE_ID)
        .and_then(|q| q.trim().parse().ok())
        .ok_or("the half message has no valid REAL_QID")?;
    Ok((topic.to_string(), queue_id))
}

/// The committed message of a half record (`record` holds the record's bytes): its real
/// topic and queue, COMMIT type, the half record's offset as prepared-transaction offset,
/// without TRAN_MSG, REAL_TOPIC and REAL_QID. Born fields come from the half message.
pub(crate) fn committed(
    half: &RecordView<'_>,
    record: &Bytes,
    store_host: SocketAddr,
) -> Result<StoreMessage, String> {
    let (topic, queue_id) = real_queue(half)?;
    let mut properties = String::with_capacity(half.properties().len());
    for (name, value) in iter_encoded(half.properties()) {
        if ![
            keys::TRANSACTION_PREPARED,
            keys::REAL_TOPIC,
            keys::REAL_QUEUE_ID,
        ]
        .contains(&name)
        {
            push_encoded(&mut properties, name, value);
        }
    }
    Ok(StoreMessage {
        topic,
        queue_id,
        flag: half.flag(),
        body: record.slice_ref(half.body()),
        properties,
        sys_flag: with_transaction_type(half.sys_flag(), sysflag::TRANSACTION_COMMIT_TYPE),
        born_timestamp: half.born_timestamp(),
        born_host: half.born_host(),
        store_host,
        reconsume_times: half.reconsume_times(),
        prepared_transaction_offset: half.physical_offset(),
    })
}

/// The op message that closes the half message at `half_offset` of the half queue: tag `d`,
/// the offset in decimal as body (the 4.x form). It has no UNIQ_KEY: nobody looks an op
/// up, so it costs the index nothing.
pub(crate) fn op(half_offset: i64, store_host: SocketAddr) -> StoreMessage {
    let mut properties = String::new();
    push_encoded(&mut properties, keys::TAGS, OP_REMOVE_TAG);
    push_encoded(&mut properties, keys::WAIT_STORE_MSG_OK, "false");
    StoreMessage {
        topic: TRANS_OP_HALF_TOPIC.to_string(),
        queue_id: HALF_QUEUE_ID,
        flag: 0,
        body: Bytes::from(half_offset.to_string()),
        properties,
        sys_flag: 0,
        born_timestamp: fennec_protocol::time::now_millis(),
        born_host: store_host,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// A given-up half message as stored in TRANS_CHECK_MAX_TIME_TOPIC (queue 0), with the
/// number of checks it got in TRANSACTION_CHECK_TIMES.
pub(crate) fn given_up(
    half: &RecordView<'_>,
    record: &Bytes,
    checks: u32,
    store_host: SocketAddr,
) -> StoreMessage {
    let mut properties = half.properties().to_string();
    push_encoded(
        &mut properties,
        keys::TRANSACTION_CHECK_TIMES,
        &checks.to_string(),
    );
    StoreMessage {
        topic: TRANS_CHECK_MAX_TIME_TOPIC.to_string(),
        queue_id: 0,
        flag: half.flag(),
        body: record.slice_ref(half.body()),
        properties,
        sys_flag: half.sys_flag(),
        born_timestamp: half.born_timestamp(),
        born_host: half.born_host(),
        store_host,
        reconsume_times: half.reconsume_times(),
        prepared_transaction_offset: 0,
    }
}

/// CHECK_TRANSACTION_STATE for the half record `half` (read from `record`): the header
/// names the half message by its half-queue and commit log offsets, which the producer
/// sends back in END_TRANSACTION; the body is the record with its real topic and queue.
pub(crate) fn check_request(
    half: &RecordView<'_>,
    record: &Bytes,
    broker_name: &str,
) -> Result<CheckTransactionState, String> {
    let (topic, queue_id) = real_queue(half)?;
    let mut msg = MessageExt::from_view(half, Some(record.clone()), false);
    msg.topic = topic;
    msg.queue_id = queue_id;
    let uniq = msg
        .property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .map(str::to_string);
    let transaction_id = msg
        .property(keys::TRANSACTION_ID)
        .map(str::to_string)
        .or_else(|| uniq.clone());
    let body = msg
        .encode()
        .map_err(|e| format!("cannot encode the half message: {e}"))?;
    Ok(CheckTransactionState {
        header: CheckTransactionStateRequestHeader {
            topic: Some(msg.topic.clone()),
            tran_state_table_offset: half.queue_offset(),
            commit_log_offset: half.physical_offset(),
            msg_id: uniq,
            transaction_id,
            offset_msg_id: Some(offset_msg_id(&half.store_host(), half.physical_offset())),
            broker_name: Some(broker_name.to_string()),
        },
        record: Bytes::from(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::message::properties::find_encoded;
    use fennec_protocol::message::record::{encode_record, parse_record, RecordFields};
    use fennec_protocol::message::Properties;

    fn host() -> SocketAddr {
        "127.0.0.1:10911".parse().unwrap()
    }

    /// A half message as the send path makes it, encoded as stored at `offset`.
    fn stored_half() -> Bytes {
        let mut msg = StoreMessage {
            topic: "Orders".into(),
            queue_id: 3,
            flag: 5,
            body: Bytes::from_static(b"pay"),
            properties: "TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}U1\u{2}".into(),
            sys_flag: sysflag::TRANSACTION_PREPARED_TYPE,
            born_timestamp: 1_000,
            born_host: "10.0.0.1:5000".parse().unwrap(),
            store_host: host(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        into_half(&mut msg, "PG");
        let mut out = Vec::new();
        encode_record(
            &RecordFields {
                queue_id: msg.queue_id,
                flag: msg.flag,
                queue_offset: 7,
                physical_offset: 4096,
                sys_flag: msg.sys_flag,
                born_timestamp: msg.born_timestamp,
                born_host: msg.born_host,
                store_timestamp: 2_000,
                store_host: msg.store_host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: &msg.body,
                topic: &msg.topic,
                properties: msg.properties.as_bytes(),
            },
            &mut out,
        )
        .unwrap();
        Bytes::from(out)
    }

    #[test]
    fn half_message_keeps_its_real_queue_and_commits_back_to_it() {
        let rec = stored_half();
        let half = parse_record(&rec).unwrap();
        assert_eq!((half.topic(), half.queue_id()), (TRANS_HALF_TOPIC, 0));
        assert_eq!(half.sys_flag() & sysflag::TRANSACTION_MASK, 0);
        assert_eq!(half.property("REAL_TOPIC"), Some("Orders"));
        assert_eq!(half.property("REAL_QID"), Some("3"));
        assert_eq!(half.property("PGROUP"), Some("PG"));
        assert_eq!(half.property("__transactionId__"), Some("U1"));

        let c = committed(&half, &rec, host()).unwrap();
        assert_eq!((c.topic.as_str(), c.queue_id, c.flag), ("Orders", 3, 5));
        assert_eq!(&c.body[..], b"pay");
        assert_eq!(c.sys_flag, sysflag::TRANSACTION_COMMIT_TYPE);
        assert_eq!(c.prepared_transaction_offset, 4096);
        assert_eq!(c.born_timestamp, 1_000);
        let props = Properties::decode(&c.properties);
        assert_eq!(props.get("TRAN_MSG"), None);
        assert_eq!(props.get("REAL_TOPIC"), None);
        assert_eq!(props.get("UNIQ_KEY"), Some("U1"));
        assert_eq!(props.get("PGROUP"), Some("PG"));
    }

    #[test]
    fn op_check_and_given_up_records() {
        let op = op(17, host());
        assert_eq!((op.topic.as_str(), op.queue_id), (TRANS_OP_HALF_TOPIC, 0));
        assert_eq!(&op.body[..], b"17");
        assert_eq!(find_encoded(&op.properties, "TAGS"), Some("d"));

        let rec = stored_half();
        let half = parse_record(&rec).unwrap();
        let check = check_request(&half, &rec, "broker-a").unwrap();
        assert_eq!(check.header.tran_state_table_offset, 7);
        assert_eq!(check.header.commit_log_offset, 4096);
        assert_eq!(check.header.msg_id.as_deref(), Some("U1"));
        assert_eq!(check.header.transaction_id.as_deref(), Some("U1"));
        let body = parse_record(&check.record).unwrap();
        assert_eq!((body.topic(), body.queue_id()), ("Orders", 3));
        assert_eq!(body.property("PGROUP"), Some("PG"));

        let g = given_up(&half, &rec, 15, host());
        assert_eq!(g.topic, TRANS_CHECK_MAX_TIME_TOPIC);
        assert_eq!(
            find_encoded(&g.properties, "TRANSACTION_CHECK_TIMES"),
            Some("15")
        );
        assert_eq!(find_encoded(&g.properties, "REAL_TOPIC"), Some("Orders"));
    }
}
