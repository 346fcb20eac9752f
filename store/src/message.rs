//! What the broker hands the store to append ([`StoreMessage`], [`StoreBatch`]), and their
//! encoding into CommitLog records before the append lock is taken ([`Encoded`]). The fields
//! only known under the lock (QUEUEOFFSET, PHYSICALOFFSET, STORETIMESTAMP) are written as
//! zero here and patched in place by the CommitLog.

use std::cell::RefCell;
use std::net::SocketAddr;

use bytes::Bytes;
use fennec_protocol::message::properties::{find_encoded, keys};
use fennec_protocol::message::record::{
    encode_record, RecordFields, RecordView, MAX_PROPERTIES_LENGTH,
};
use fennec_protocol::message::sysflag;

use super::put_result::{PutMessageResult, PutMessageStatus};

/// One message to append.
#[derive(Debug, Clone)]
pub struct StoreMessage {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub body: Bytes,
    /// The properties wire string (the broker has already added CLUSTER and UNIQ_KEY).
    pub properties: String,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl StoreMessage {
    /// A copy of the stored record `view` (whose bytes are `record`) to append elsewhere:
    /// same topic, queue, flag, body (shared, not copied), properties, sysflag, born time
    /// and host, store host, reconsume times and prepared offset; callers change what the
    /// copy changes.
    pub fn copy_of(record: &Bytes, view: &RecordView<'_>) -> StoreMessage {
        StoreMessage {
            topic: view.topic().to_string(),
            queue_id: view.queue_id(),
            flag: view.flag(),
            body: record.slice_ref(view.body()),
            properties: view.properties().to_string(),
            sys_flag: view.sys_flag(),
            born_timestamp: view.born_timestamp(),
            born_host: view.born_host(),
            store_host: view.store_host(),
            reconsume_times: view.reconsume_times(),
            prepared_transaction_offset: view.prepared_transaction_offset(),
        }
    }
}

/// Messages of one topic queue appended together, with consecutive queue offsets.
#[derive(Debug, Clone)]
pub struct StoreBatch {
    pub topic: String,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub items: Vec<BatchEntry>,
}

/// One message of a [`StoreBatch`].
#[derive(Debug, Clone)]
pub struct BatchEntry {
    pub flag: i32,
    pub body: Bytes,
    pub properties: String,
}

/// Where a record sits in an [`Encoded`] buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordSlot {
    pub start: usize,
    pub store_timestamp_pos: usize,
}

/// Records encoded back to back, ready for the CommitLog.
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    pub buf: Vec<u8>,
    pub records: Vec<RecordSlot>,
    /// Whether the records get consume-queue offsets (NOT and COMMIT transaction types).
    pub assign_queue_offset: bool,
    /// WAIT property: whether a SYNC_FLUSH put waits for the flush.
    pub wait: bool,
}

/// Limits checked while encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_body: usize,
    /// Largest encoded append: the CommitLog file size less the 8-byte end-of-file blank.
    pub max_append: usize,
    /// Whether the WAIT property matters (SYNC_FLUSH); otherwise it is not parsed.
    pub read_wait: bool,
}

thread_local! {
    /// Reused encode buffer: appends allocate nothing in the steady state.
    static BUFFER: RefCell<Encoded> = RefCell::new(Encoded::default());
}

/// Runs `f` with this thread's (cleared) encode buffer.
pub(crate) fn with_buffer<R>(f: impl FnOnce(&mut Encoded) -> R) -> R {
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut enc) => {
            enc.buf.clear();
            enc.records.clear();
            let r = f(&mut enc);
            if enc.buf.capacity() > 8 << 20 {
                enc.buf = Vec::new();
            }
            r
        }
        // Re-entered on the same thread (cannot happen today): use a fresh buffer.
        Err(_) => f(&mut Encoded::default()),
    })
}

fn illegal(status: PutMessageStatus, remark: String) -> PutMessageResult {
    PutMessageResult::failed(status, remark)
}

fn check_common(topic: &str, queue_id: i32) -> Result<(), PutMessageResult> {
    // RocketMQ's topic rule `^[%|a-zA-Z0-9_-]+$`; it also keeps topics safe as directory names.
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || b"%|_-".contains(&b);
    if topic.is_empty() || topic.len() > i16::MAX as usize || !topic.bytes().all(valid_char) {
        return Err(illegal(
            PutMessageStatus::MessageIllegal,
            format!("topic {topic:?} is not a valid topic name"),
        ));
    }
    if queue_id < 0 {
        return Err(illegal(
            PutMessageStatus::MessageIllegal,
            format!("queue id {queue_id} is negative"),
        ));
    }
    Ok(())
}

fn check_item(body: &[u8], properties: &str, limits: &Limits) -> Result<(), PutMessageResult> {
    if body.len() > limits.max_body {
        return Err(illegal(
            PutMessageStatus::MessageIllegal,
            format!(
                "body is {} bytes, over maxMessageSize {}",
                body.len(),
                limits.max_body
            ),
        ));
    }
    if properties.len() > MAX_PROPERTIES_LENGTH {
        return Err(illegal(
            PutMessageStatus::PropertiesSizeExceeded,
            format!(
                "properties are {} bytes, over {MAX_PROPERTIES_LENGTH}",
                properties.len()
            ),
        ));
    }
    Ok(())
}

fn too_big(len: usize, limits: &Limits) -> PutMessageResult {
    illegal(
        PutMessageStatus::MessageIllegal,
        format!(
            "{len} bytes do not fit in a commit log file ({} usable)",
            limits.max_append
        ),
    )
}

fn check_size(enc: &Encoded, limits: &Limits) -> Result<(), PutMessageResult> {
    if enc.buf.len() > limits.max_append {
        return Err(too_big(enc.buf.len(), limits));
    }
    Ok(())
}

fn push(enc: &mut Encoded, f: &RecordFields) -> Result<(), PutMessageResult> {
    let start = enc.buf.len();
    match encode_record(f, &mut enc.buf) {
        Ok(layout) => {
            enc.records.push(RecordSlot {
                start,
                store_timestamp_pos: start + layout.store_timestamp_pos,
            });
            Ok(())
        }
        Err(e) => Err(illegal(PutMessageStatus::MessageIllegal, e.to_string())),
    }
}

fn waits(properties: &str, limits: &Limits) -> bool {
    !limits.read_wait || find_encoded(properties, keys::WAIT_STORE_MSG_OK) != Some("false")
}

/// Encodes one message into `enc`.
pub(crate) fn encode_message(
    msg: &StoreMessage,
    limits: &Limits,
    enc: &mut Encoded,
) -> Result<(), PutMessageResult> {
    check_common(&msg.topic, msg.queue_id)?;
    check_item(&msg.body, &msg.properties, limits)?;
    let least = msg.body.len() + msg.properties.len() + msg.topic.len();
    if least > limits.max_append {
        return Err(too_big(least, limits));
    }
    let tran = sysflag::transaction_type(msg.sys_flag);
    enc.assign_queue_offset =
        tran == sysflag::TRANSACTION_NOT_TYPE || tran == sysflag::TRANSACTION_COMMIT_TYPE;
    enc.wait = waits(&msg.properties, limits);
    push(
        enc,
        &RecordFields {
            queue_id: msg.queue_id,
            flag: msg.flag,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            born_host: msg.born_host,
            store_timestamp: 0,
            store_host: msg.store_host,
            reconsume_times: msg.reconsume_times,
            prepared_transaction_offset: msg.prepared_transaction_offset,
            body: &msg.body,
            topic: &msg.topic,
            properties: msg.properties.as_bytes(),
        },
    )?;
    check_size(enc, limits)
}

/// Encodes every message of a batch into `enc`, back to back.
pub(crate) fn encode_batch(
    batch: &StoreBatch,
    limits: &Limits,
    enc: &mut Encoded,
) -> Result<(), PutMessageResult> {
    check_common(&batch.topic, batch.queue_id)?;
    let tran = sysflag::transaction_type(batch.sys_flag);
    if batch.items.is_empty()
        || (tran != sysflag::TRANSACTION_NOT_TYPE && tran != sysflag::TRANSACTION_COMMIT_TYPE)
    {
        return Err(illegal(
            PutMessageStatus::MessageIllegal,
            "a batch must hold messages and cannot be a prepared or rollback transaction".into(),
        ));
    }
    enc.assign_queue_offset = true;
    enc.wait = batch.items.iter().all(|i| waits(&i.properties, limits));
    for item in &batch.items {
        check_item(&item.body, &item.properties, limits)?;
        push(
            enc,
            &RecordFields {
                queue_id: batch.queue_id,
                flag: item.flag,
                queue_offset: 0,
                physical_offset: 0,
                sys_flag: batch.sys_flag,
                born_timestamp: batch.born_timestamp,
                born_host: batch.born_host,
                store_timestamp: 0,
                store_host: batch.store_host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: &item.body,
                topic: &batch.topic,
                properties: item.properties.as_bytes(),
            },
        )?;
        check_size(enc, limits)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use fennec_protocol::message::record::parse_record;

    const LIMITS: Limits = Limits {
        max_body: 1000,
        max_append: 4096,
        read_wait: true,
    };

    /// A message of topic "T", queue 1, with a `body`-byte body (shared with other tests).
    pub(crate) fn msg(body: usize, props: &str) -> StoreMessage {
        StoreMessage {
            topic: "T".into(),
            queue_id: 1,
            flag: 0,
            body: Bytes::from(vec![b'x'; body]),
            properties: props.into(),
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    #[test]
    fn encodes_and_validates() {
        let mut enc = Encoded::default();
        encode_message(&msg(10, "WAIT\u{1}false\u{2}"), &LIMITS, &mut enc).unwrap();
        assert!(!enc.wait);
        assert!(enc.assign_queue_offset);
        let r = parse_record(&enc.buf).unwrap();
        assert_eq!((r.topic(), r.queue_id(), r.body().len()), ("T", 1, 10));
        assert_eq!(enc.records[0].store_timestamp_pos, 56);

        let status = |m: &StoreMessage| {
            encode_message(m, &LIMITS, &mut Encoded::default())
                .err()
                .map(|r| r.status)
        };
        assert_eq!(
            status(&msg(1001, "")),
            Some(PutMessageStatus::MessageIllegal)
        );
        let long = format!("K\u{1}{}\u{2}", "v".repeat(40000));
        assert_eq!(
            status(&msg(1, &long)),
            Some(PutMessageStatus::PropertiesSizeExceeded)
        );
        let mut m = msg(1, "");
        m.queue_id = -1;
        assert_eq!(status(&m), Some(PutMessageStatus::MessageIllegal));
        let big = Limits {
            max_body: 1 << 20,
            ..LIMITS
        };
        let r = encode_message(&msg(5000, ""), &big, &mut Encoded::default());
        assert_eq!(
            r.err().map(|r| r.status),
            Some(PutMessageStatus::MessageIllegal)
        );
        let mut m = msg(1, "");
        m.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
        let mut enc = Encoded::default();
        encode_message(&m, &LIMITS, &mut enc).unwrap();
        assert!(!enc.assign_queue_offset);
    }

    #[test]
    fn encodes_batches() {
        let m = msg(0, "");
        let batch = StoreBatch {
            topic: "T".into(),
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: m.born_host,
            store_host: m.store_host,
            items: (0..3)
                .map(|i| BatchEntry {
                    flag: i,
                    body: Bytes::from(vec![b'a'; 10 * i as usize]),
                    properties: String::new(),
                })
                .collect(),
        };
        let mut enc = Encoded::default();
        encode_batch(&batch, &LIMITS, &mut enc).unwrap();
        assert_eq!(enc.records.len(), 3);
        for (i, slot) in enc.records.iter().enumerate() {
            let r = parse_record(&enc.buf[slot.start..]).unwrap();
            assert_eq!(r.flag(), i as i32);
            assert_eq!(r.body().len(), 10 * i);
        }
        let empty = StoreBatch {
            items: vec![],
            ..batch
        };
        assert!(encode_batch(&empty, &LIMITS, &mut Encoded::default()).is_err());
    }
}
