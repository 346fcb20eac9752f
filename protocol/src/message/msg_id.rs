//! Message ids.
//!
//! * **Offset msgId** (broker-issued): `[store IP (4|16)][store port i32][commit log offset i64]`
//!   as uppercase hex: 32 digits for IPv4, 56 for IPv6.
//! * **UNIQ_KEY** (client-issued, the id users see):
//!   `[client IP (4|16)][pid i16][random i32][ms since the start of the month i32][counter i16]`
//!   as uppercase hex. The "classloader hash" of Java is a per-process random number here,
//!   and the month starts in UTC.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};

use super::record::host_bytes;
use crate::time::{now_millis, start_of_month_millis};

/// Why a string is not an offset msgId.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an offset message id (32 or 56 hex digits)")]
pub struct BadMsgId(pub String);

/// Uppercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xF) as usize] as char);
    }
    s
}

/// Bytes of a hex string (either case); `None` if it is not hex. Only the digits 0-9, a-f
/// and A-F count: `from_str_radix` would also take a sign (`"+F"`).
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digits = s.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |d: u8| char::from(d).to_digit(16).map(|v| v as u8);
    digits
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// The offset msgId of the record at `offset` in the commit log of `store_host`.
pub fn offset_msg_id(store_host: &SocketAddr, offset: i64) -> String {
    let mut b = host_bytes(store_host);
    b.extend_from_slice(&offset.to_be_bytes());
    to_hex(&b)
}

/// Decodes an offset msgId into the broker address and commit log offset.
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), BadMsgId> {
    let bad = || BadMsgId(id.to_string());
    let b = from_hex(id).ok_or_else(bad)?;
    let (ip, rest): (IpAddr, &[u8]) = match b.len() {
        16 => (IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])), &b[4..]),
        28 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[..16]);
            (IpAddr::V6(Ipv6Addr::from(o)), &b[16..])
        }
        _ => return Err(bad()),
    };
    let port = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let port = u16::try_from(port).map_err(|_| bad())?;
    let mut off = [0u8; 8];
    off.copy_from_slice(&rest[4..12]);
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(off)))
}

/// Generates UNIQ_KEYs for one process.
#[derive(Debug)]
pub struct UniqIdGenerator {
    prefix: String,
    month_start: AtomicI64,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// A generator for a client at `ip`, with the process id and a random discriminator.
    pub fn new(ip: IpAddr) -> Self {
        let mut prefix = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        prefix.extend_from_slice(&(std::process::id() as u16).to_be_bytes());
        prefix.extend_from_slice(&random_u32().to_be_bytes());
        UniqIdGenerator {
            prefix: to_hex(&prefix),
            month_start: AtomicI64::new(start_of_month_millis(now_millis())),
            counter: AtomicU16::new(0),
        }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        let now = now_millis();
        let mut start = self.month_start.load(Ordering::Relaxed);
        if now - start > 31 * 86_400_000 || now < start {
            start = start_of_month_millis(now);
            self.month_start.store(start, Ordering::Relaxed);
        }
        let mut tail = [0u8; 6];
        tail[..4].copy_from_slice(&((now - start) as i32).to_be_bytes());
        tail[4..].copy_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        id.push_str(&to_hex(&tail));
        id
    }
}

/// The approximate creation time encoded in a UNIQ_KEY (within the current or previous
/// month of `now`), used to narrow index queries by id.
pub fn uniq_key_time(id: &str, now: i64) -> Option<i64> {
    let b = from_hex(id)?;
    if b.len() != 16 && b.len() != 28 {
        return None;
    }
    let n = b.len();
    let delta = i64::from(u32::from_be_bytes([b[n - 6], b[n - 5], b[n - 4], b[n - 3]]));
    let this_month = start_of_month_millis(now);
    let candidate = this_month + delta;
    if candidate <= now + 60_000 {
        Some(candidate)
    } else {
        Some(start_of_month_millis(this_month - 1) + delta)
    }
}

/// A random number from the standard library's randomly seeded hasher (no extra crate).
pub fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_msg_id_reference() {
        let addr: SocketAddr = "192.168.0.2:10911".parse().unwrap();
        assert_eq!(offset_msg_id(&addr, 0), "C0A8000200002A9F0000000000000000");
        assert_eq!(
            decode_offset_msg_id("C0A8000200002A9F0000000000000000").unwrap(),
            (addr, 0)
        );
        assert_eq!(
            decode_offset_msg_id("c0a8000200002a9f00000000000000b3").unwrap(),
            (addr, 179)
        );
        let v6: SocketAddr = "[fe80::1]:10911".parse().unwrap();
        let id = offset_msg_id(&v6, 42);
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (v6, 42));
        assert!(decode_offset_msg_id("XYZ").is_err());
        // Found by the msg_id fuzz target: signs were taken as digits.
        assert_eq!(from_hex("+F+f"), None);
        assert!(decode_offset_msg_id("+0A8000200002A9F0000000000000000").is_err());
        assert!(decode_offset_msg_id("C0A80002").is_err());
    }

    #[test]
    fn uniq_ids_are_unique_and_timed() {
        let g = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 10)));
        let a = g.next_id();
        let b = g.next_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("C0A8000A"));
        let t = uniq_key_time(&a, now_millis()).unwrap();
        assert!((now_millis() - t).abs() < 5_000);
    }
}
