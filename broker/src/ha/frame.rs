//! The HA wire format (RocketMQ's classic master/slave protocol, on its own port):
//!
//! ```text
//! slave -> master   [i64 max CommitLog offset]                 8 bytes, big-endian
//! master -> slave   [i64 offset][i32 size][size CommitLog bytes]
//! ```
//!
//! The slave reports on connect (its first report is where the master starts: 0 for an
//! empty slave), after every append and after `haSendHeartbeatInterval` of silence; a report
//! is also the acknowledgement a SYNC_MASTER waits for. The master sends CommitLog bytes
//! from that offset on, cut anywhere (a frame need not end on a record boundary), and a
//! frame of size 0 as a heartbeat.

/// Bytes of a slave's report.
pub const REPORT_LEN: usize = 8;
/// Bytes of a master frame's header.
pub const HEADER_LEN: usize = 12;
/// Largest frame body a slave accepts (RocketMQ's masters send at most
/// `haTransferBatchSize`, 32 KiB by default).
pub const MAX_BODY: usize = 64 << 20;

/// A master frame's header.
pub fn header(offset: i64, size: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&offset.to_be_bytes());
    h[8..].copy_from_slice(&(size as i32).to_be_bytes());
    h
}

/// `(offset, size)` of the frame whose header starts `buf`, if it holds a whole header.
pub fn parse_header(buf: &[u8]) -> Option<(i64, i32)> {
    let offset = i64::from_be_bytes(buf.get(..8)?.try_into().ok()?);
    let size = i32::from_be_bytes(buf.get(8..HEADER_LEN)?.try_into().ok()?);
    Some((offset, size))
}

/// A slave's report.
pub fn report(offset: i64) -> [u8; REPORT_LEN] {
    offset.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = header(1 << 33, 32768);
        assert_eq!(parse_header(&h), Some((1 << 33, 32768)));
        assert_eq!(parse_header(&h[..11]), None);
        assert_eq!(report(258), [0, 0, 0, 0, 0, 0, 1, 2]);
    }
}
