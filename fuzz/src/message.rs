//! Targets for the message formats: stored records and pull bodies, batch bodies, properties
//! strings, message ids and compressed bodies.

use bytes::Bytes;
use fennec_protocol::message::batch::{decode_batch, encode_batch};
use fennec_protocol::message::compression::{compress, decompress};
use fennec_protocol::message::msg_id::{
    decode_offset_msg_id, from_hex, offset_msg_id, to_hex, uniq_key_time,
};
use fennec_protocol::message::properties::{find_encoded, iter_encoded};
use fennec_protocol::message::record::{
    decode_records, encode_record, parse_entry, parse_record, Entry, RecordFields, RecordView,
};
use fennec_protocol::message::{sysflag, Message, Properties};

use crate::select;

/// Every field of a parsed record, as the encoder takes them.
fn fields_of<'a>(view: &RecordView<'a>) -> RecordFields<'a> {
    RecordFields {
        queue_id: view.queue_id(),
        flag: view.flag(),
        queue_offset: view.queue_offset(),
        physical_offset: view.physical_offset(),
        sys_flag: view.sys_flag(),
        born_timestamp: view.born_timestamp(),
        born_host: view.born_host(),
        store_timestamp: view.store_timestamp(),
        store_host: view.store_host(),
        reconsume_times: view.reconsume_times(),
        prepared_transaction_offset: view.prepared_transaction_offset(),
        body: view.body(),
        topic: view.topic(),
        properties: view.properties().as_bytes(),
    }
}

/// A CommitLog entry (record or blank marker), then the same bytes as a pull body (records
/// back to back, compressed bodies inflated). A record re-encodes to one with the same fields.
pub fn record(data: &[u8]) {
    if let Ok(Entry::Record(view)) = parse_entry(data) {
        let _ = view.verify_crc();
        let _ = view.property(fennec_protocol::message::properties::keys::TAGS);
        let fields = fields_of(&view);
        let mut encoded = Vec::new();
        if encode_record(&fields, &mut encoded).is_ok() {
            let again = parse_record(&encoded).map(|v| format!("{:?}", fields_of(&v)));
            assert_eq!(
                again,
                Ok(format!("{fields:?}")),
                "record does not round-trip"
            );
        }
    }
    let _ = decode_records(&Bytes::copy_from_slice(data), true);
}

/// A SEND_BATCH_MESSAGE body; the messages it holds re-encode to a body holding the same.
pub fn batch(data: &[u8]) {
    let Ok(items) = decode_batch(data) else {
        return;
    };
    let messages: Vec<Message> = items.iter().map(|item| item.to_message("T")).collect();
    let encoded = encode_batch(&messages);
    let again = decode_batch(&encoded).map(|items| {
        items
            .iter()
            .map(|item| item.to_message("T"))
            .collect::<Vec<_>>()
    });
    assert_eq!(again, Ok(messages), "batch does not round-trip");
}

/// A properties string: decoding is idempotent through encoding, and the map agrees with the
/// allocation-free lookups on the same string.
pub fn properties(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let decoded = Properties::decode(&text);
    assert_eq!(
        Properties::decode(&decoded.encode()),
        decoded,
        "properties do not round-trip"
    );
    assert!(iter_encoded(&text).count() >= decoded.len());
    // A few lookups suffice: each scans the whole string, so all of them would be quadratic.
    for (name, value) in decoded.iter().take(8) {
        assert_eq!(
            find_encoded(&text, name),
            Some(value),
            "find_encoded disagrees on {name:?}"
        );
    }
}

/// A message id as a client sends it (offset msgId or UNIQ_KEY): what decodes re-encodes to
/// the same id, in uppercase.
pub fn msg_id(data: &[u8]) {
    let Ok(id) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(bytes) = from_hex(id) {
        assert_eq!(
            to_hex(&bytes),
            id.to_ascii_uppercase(),
            "hex does not round-trip"
        );
    }
    if let Ok((addr, offset)) = decode_offset_msg_id(id) {
        assert_eq!(
            offset_msg_id(&addr, offset),
            id.to_ascii_uppercase(),
            "offset msgId does not round-trip"
        );
    }
    // A fixed "now" (2023-11-14) keeps runs reproducible.
    let _ = uniq_key_time(id, 1_700_000_000_000);
}

/// Bodies larger than this are not re-compressed by the target (it would dominate the time).
const RECOMPRESS_UP_TO: usize = 1 << 20;

/// A compressed body: the first byte picks the compression-type bits of the sysflag; what
/// inflates deflates and inflates back to the same bytes.
pub fn compression(data: &[u8]) {
    let Some((kind, body)) = select(data, 4) else {
        return;
    };
    let sys_flag = sysflag::COMPRESSED | ((kind as i32) << 8);
    if let Ok(inflated) = decompress(body, sys_flag) {
        if inflated.len() <= RECOMPRESS_UP_TO {
            let again = compress(&inflated).and_then(|c| decompress(&c, sys_flag));
            assert!(
                matches!(&again, Ok(b) if *b == inflated),
                "body does not round-trip"
            );
        }
    }
}
