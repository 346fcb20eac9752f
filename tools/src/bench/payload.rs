//! Message bodies that carry their own send time, so a consumer can measure end-to-end
//! latency with microsecond precision: `b"MQB1"`, the send time in µs since the epoch (u64
//! big-endian), then padding up to the requested size. Messages from other producers fall
//! back to their born timestamp (milliseconds).

use std::time::{SystemTime, UNIX_EPOCH};

use fennec_protocol::message::properties::keys;
use fennec_protocol::message::MessageExt;

const MAGIC: &[u8; 4] = b"MQB1";

/// Microseconds since the Unix epoch.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A body of `size` bytes (at least 12) stamped with the current time.
pub fn body(size: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(size.max(12));
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&now_micros().to_be_bytes());
    b.resize(size.max(12), b'x');
    b
}

/// Microseconds from the message's send time to now.
pub fn age_micros(m: &MessageExt) -> u64 {
    let sent = if m.body.len() >= 12 && &m.body[..4] == MAGIC {
        let mut t = [0u8; 8];
        t.copy_from_slice(&m.body[4..12]);
        u64::from_be_bytes(t)
    } else {
        u64::try_from(m.born_timestamp).unwrap_or(0) * 1000
    };
    now_micros().saturating_sub(sent)
}

/// The due time of a timer message (its TIMER_OUT_MS), in µs since the epoch.
pub fn due_micros(m: &MessageExt) -> Option<u64> {
    m.property(keys::TIMER_OUT_MS)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|ms| ms * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_bodies() {
        let b = body(1024);
        assert_eq!(b.len(), 1024);
        let m = MessageExt {
            body: b.into(),
            ..Default::default()
        };
        assert!(age_micros(&m) < 5_000_000);
        assert_eq!(body(3).len(), 12);
    }
}
