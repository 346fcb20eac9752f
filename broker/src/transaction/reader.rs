//! Reading the half queue and the op queue on from where [`TxState`] stopped, in chunks,
//! outside the state's lock (only the appends to the state take it). Runs on the check
//! thread and, once, at start-up before requests are served.

use bytes::Bytes;
use fennec_protocol::message::record::parse_record;
use fennec_protocol::topic::{TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC};
use fennec_store::MessageStore;
use parking_lot::Mutex;
use tracing::warn;

use super::records::{HALF_QUEUE_ID, OP_REMOVE_TAG};
use super::state::{op_offsets, HalfEntry, TxState};

/// Records per read.
const CHUNK_RECORDS: usize = 256;
/// Bytes per read (at least one record is returned).
const CHUNK_BYTES: usize = 4 << 20;

/// Reads both queues to their current ends.
pub(crate) fn catch_up(store: &MessageStore, state: &Mutex<TxState>) {
    loop {
        let from = state.lock().half_next();
        let Some((records, next)) = read_chunk(store, TRANS_HALF_TOPIC, from) else {
            break;
        };
        let entries: Vec<HalfEntry> = records.iter().filter_map(half_entry).collect();
        let mut s = state.lock();
        for e in entries.into_iter().filter(|e| e.offset >= from) {
            s.add_half(e);
        }
        s.skip_halves_to(next);
    }
    loop {
        let from = state.lock().op_next();
        let Some((records, next)) = read_chunk(store, TRANS_OP_HALF_TOPIC, from) else {
            break;
        };
        let mut s = state.lock();
        for record in &records {
            let Ok(op) = parse_record(record) else {
                warn!(topic = TRANS_OP_HALF_TOPIC, "unreadable op record skipped");
                continue;
            };
            if op.queue_offset() < from {
                continue;
            }
            let closes: Vec<i64> = if op.property("TAGS") == Some(OP_REMOVE_TAG) {
                op_offsets(op.body()).collect()
            } else {
                Vec::new()
            };
            s.add_op(op.queue_offset(), closes);
        }
        s.skip_ops_to(next);
    }
}

/// The records of `topic`'s queue 0 from `from`, and the offset after them; `None` at the
/// end of the queue.
fn read_chunk(store: &MessageStore, topic: &str, from: i64) -> Option<(Vec<Bytes>, i64)> {
    let r = store.get_messages(
        topic,
        HALF_QUEUE_ID,
        from,
        CHUNK_RECORDS,
        CHUNK_BYTES,
        &|_| true,
    );
    (r.next_begin_offset > from).then_some((r.messages, r.next_begin_offset))
}

fn half_entry(record: &Bytes) -> Option<HalfEntry> {
    match parse_record(record) {
        Ok(h) => Some(HalfEntry {
            offset: h.queue_offset(),
            commit_log_offset: h.physical_offset(),
            store_timestamp: h.store_timestamp(),
        }),
        Err(e) => {
            warn!(
                topic = TRANS_HALF_TOPIC,
                "unreadable half record skipped: {e}"
            );
            None
        }
    }
}
