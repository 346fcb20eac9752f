//! The stored-message record (RocketMQ's MessageDecoder layout), shared by the CommitLog,
//! pull and query responses and transaction checks. Big-endian throughout.
//!
//! ```text
//! off  size  field
//!   0     4  TOTALSIZE            whole record
//!   4     4  MAGICCODE            v1 0xDAA320A7, v2 0xDAA320AB (2-byte topic length)
//!   8     4  BODYCRC              CRC32(body) & 0x7FFFFFFF
//!  12     4  QUEUEID
//!  16     4  FLAG
//!  20     8  QUEUEOFFSET          index in the consume queue
//!  28     8  PHYSICALOFFSET       commit log offset of this record
//!  36     4  SYSFLAG
//!  40     8  BORNTIMESTAMP
//!  48  8/20  BORNHOST             IPv4 (or IPv6 if SYSFLAG 0x10) + i32 port
//!   .     8  STORETIMESTAMP
//!   .  8/20  STOREHOST            IPv4 (or IPv6 if SYSFLAG 0x20) + i32 port
//!   .     4  RECONSUMETIMES
//!   .     8  PREPARED TRANSACTION OFFSET
//!   .   4+n  BODY                 i32 length + bytes
//!   . 1/2+t  TOPIC                u8 (v1) or i16 (v2) length + bytes
//!   .   2+p  PROPERTIES           i16 length (<= 32767) + bytes
//! ```
//! A v1 record with IPv4 hosts is `91 + n + t + p` bytes. At the end of a CommitLog file a
//! blank marker `[i32 remaining][i32 0xCBD43194]` fills the space a record did not fit in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::sysflag;
use crate::hash::body_crc;

pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Marks the unused tail of a CommitLog file.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;

pub const POS_TOTAL_SIZE: usize = 0;
pub const POS_MAGIC: usize = 4;
pub const POS_BODY_CRC: usize = 8;
pub const POS_QUEUE_ID: usize = 12;
pub const POS_FLAG: usize = 16;
pub const POS_QUEUE_OFFSET: usize = 20;
pub const POS_PHYSICAL_OFFSET: usize = 28;
pub const POS_SYS_FLAG: usize = 36;
pub const POS_BORN_TIMESTAMP: usize = 40;
pub const POS_BORN_HOST: usize = 48;

/// Longest properties string a record can hold.
pub const MAX_PROPERTIES_LENGTH: usize = i16::MAX as usize;

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("bad magic code {0:#010x}")]
    BadMagic(u32),
    #[error("record size {0} is invalid")]
    BadSize(i32),
    #[error("field {0} overruns the record")]
    FieldOverrun(&'static str),
    #[error("body CRC mismatch: stored {stored:#x}, computed {computed:#x}")]
    BodyCrc { stored: i32, computed: i32 },
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("properties are {0} bytes, more than the 32767 a record can hold")]
    PropertiesTooLong(usize),
    #[error("topic is {0} bytes, longer than a record can hold")]
    TopicTooLong(usize),
}

/// Every field of a record, for encoding.
#[derive(Debug, Clone)]
pub struct RecordFields<'a> {
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    /// Host bits (0x10, 0x20) are set from the addresses by [`encode_record`].
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub topic: &'a str,
    /// The properties string as bytes.
    pub properties: &'a [u8],
}

/// Where the fields the store patches at append time live in an encoded record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLayout {
    pub total_size: usize,
    pub store_timestamp_pos: usize,
}

fn host_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

/// Size in bytes of the record `f` encodes to.
pub fn record_size(f: &RecordFields) -> usize {
    let topic_len_size = if f.topic.len() > i8::MAX as usize {
        2
    } else {
        1
    };
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(&f.born_host)
        + 8
        + host_len(&f.store_host)
        + 4
        + 8
        + 4
        + f.body.len()
        + topic_len_size
        + f.topic.len()
        + 2
        + f.properties.len()
}

/// Appends the encoded record to `out`. BODYCRC is computed here.
pub fn encode_record(f: &RecordFields, out: &mut Vec<u8>) -> Result<RecordLayout, RecordError> {
    if f.properties.len() > MAX_PROPERTIES_LENGTH {
        return Err(RecordError::PropertiesTooLong(f.properties.len()));
    }
    if f.topic.len() > i16::MAX as usize {
        return Err(RecordError::TopicTooLong(f.topic.len()));
    }
    let v2 = f.topic.len() > i8::MAX as usize;
    let mut sys_flag = f.sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
    if f.born_host.is_ipv6() {
        sys_flag |= sysflag::BORNHOST_V6;
    }
    if f.store_host.is_ipv6() {
        sys_flag |= sysflag::STOREHOST_V6;
    }
    let total = record_size(f);
    out.reserve(total);
    let start = out.len();
    // The fixed fields go through two stack buffers: a handful of copies instead of one
    // capacity-checked push per field (this runs for every stored message).
    let mut head = [0u8; POS_BORN_HOST + 20 + 8 + 20 + 4 + 8 + 4];
    head[0..4].copy_from_slice(&(total as i32).to_be_bytes());
    head[4..8].copy_from_slice(&(if v2 { MAGIC_V2 } else { MAGIC_V1 }).to_be_bytes());
    head[8..12].copy_from_slice(&body_crc(f.body).to_be_bytes());
    head[12..16].copy_from_slice(&f.queue_id.to_be_bytes());
    head[16..20].copy_from_slice(&f.flag.to_be_bytes());
    head[20..28].copy_from_slice(&f.queue_offset.to_be_bytes());
    head[28..36].copy_from_slice(&f.physical_offset.to_be_bytes());
    head[36..40].copy_from_slice(&sys_flag.to_be_bytes());
    head[40..48].copy_from_slice(&f.born_timestamp.to_be_bytes());
    let mut pos = POS_BORN_HOST + write_host(&mut head[POS_BORN_HOST..], &f.born_host);
    let store_timestamp_pos = pos;
    head[pos..pos + 8].copy_from_slice(&f.store_timestamp.to_be_bytes());
    pos += 8;
    pos += write_host(&mut head[pos..], &f.store_host);
    head[pos..pos + 4].copy_from_slice(&f.reconsume_times.to_be_bytes());
    head[pos + 4..pos + 12].copy_from_slice(&f.prepared_transaction_offset.to_be_bytes());
    head[pos + 12..pos + 16].copy_from_slice(&(f.body.len() as i32).to_be_bytes());
    out.extend_from_slice(&head[..pos + 16]);
    out.extend_from_slice(f.body);
    if v2 {
        out.extend_from_slice(&(f.topic.len() as i16).to_be_bytes());
    } else {
        out.push(f.topic.len() as u8);
    }
    out.extend_from_slice(f.topic.as_bytes());
    out.extend_from_slice(&(f.properties.len() as i16).to_be_bytes());
    out.extend_from_slice(f.properties);
    debug_assert_eq!(out.len() - start, total);
    Ok(RecordLayout {
        total_size: total,
        store_timestamp_pos,
    })
}

/// Writes a host at the start of `buf`; returns the bytes written (8 or 20).
fn write_host(buf: &mut [u8], addr: &SocketAddr) -> usize {
    let n = match addr.ip() {
        IpAddr::V4(ip) => {
            buf[..4].copy_from_slice(&ip.octets());
            4
        }
        IpAddr::V6(ip) => {
            buf[..16].copy_from_slice(&ip.octets());
            16
        }
    };
    buf[n..n + 4].copy_from_slice(&i32::from(addr.port()).to_be_bytes());
    n + 4
}

fn put_host(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

/// Encodes a host as the record (and offset msgId) does: IP octets then i32 port.
pub fn host_bytes(addr: &SocketAddr) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    put_host(&mut v, addr);
    v
}

/// What sits at a position of the CommitLog.
#[derive(Debug)]
pub enum Entry<'a> {
    /// A well-formed record.
    Record(RecordView<'a>),
    /// The end-of-file blank marker: the rest of the file (`remaining` bytes) is unused.
    Blank { remaining: usize },
}

/// A parsed record that borrows its bytes; accessors read fields in place.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    buf: &'a [u8],
    born_host_len: usize,
    store_host_len: usize,
    body_start: usize,
    body_len: usize,
    /// Validated as UTF-8 once, by [`parse_entry`].
    topic: &'a str,
    properties: &'a str,
}

fn i32_at(b: &[u8], pos: usize) -> i32 {
    i32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]])
}

fn i64_at(b: &[u8], pos: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[pos..pos + 8]);
    i64::from_be_bytes(a)
}

fn host_at(b: &[u8], pos: usize, v6: bool) -> SocketAddr {
    if v6 {
        let mut o = [0u8; 16];
        o.copy_from_slice(&b[pos..pos + 16]);
        SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), i32_at(b, pos + 16) as u16)
    } else {
        let ip = Ipv4Addr::new(b[pos], b[pos + 1], b[pos + 2], b[pos + 3]);
        SocketAddr::new(IpAddr::V4(ip), i32_at(b, pos + 4) as u16)
    }
}

/// Parses whatever starts at `buf[0]`: a record (checked for consistent lengths and valid
/// UTF-8 topic and properties, but not CRC) or a blank marker.
pub fn parse_entry(buf: &[u8]) -> Result<Entry<'_>, RecordError> {
    if buf.len() < 8 {
        return Err(RecordError::Truncated {
            need: 8,
            have: buf.len(),
        });
    }
    let size = i32_at(buf, POS_TOTAL_SIZE);
    let magic = i32_at(buf, POS_MAGIC);
    if magic == BLANK_MAGIC {
        let remaining = usize::try_from(size).map_err(|_| RecordError::BadSize(size))?;
        return Ok(Entry::Blank { remaining });
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError::BadMagic(magic as u32));
    }
    let total = usize::try_from(size).map_err(|_| RecordError::BadSize(size))?;
    if total < 91 {
        return Err(RecordError::BadSize(size));
    }
    if buf.len() < total {
        return Err(RecordError::Truncated {
            need: total,
            have: buf.len(),
        });
    }
    let b = &buf[..total];
    let sys_flag = i32_at(b, POS_SYS_FLAG);
    let born_host_len = if sys_flag & sysflag::BORNHOST_V6 != 0 {
        20
    } else {
        8
    };
    let store_host_len = if sys_flag & sysflag::STOREHOST_V6 != 0 {
        20
    } else {
        8
    };
    let body_len_pos = POS_BORN_HOST + born_host_len + 8 + store_host_len + 4 + 8;
    let need = |pos: usize, n: usize, what: &'static str| {
        if pos + n > total {
            Err(RecordError::FieldOverrun(what))
        } else {
            Ok(())
        }
    };
    need(body_len_pos, 4, "body length")?;
    let body_len = usize::try_from(i32_at(b, body_len_pos))
        .map_err(|_| RecordError::FieldOverrun("body length"))?;
    let body_start = body_len_pos + 4;
    need(body_start, body_len, "body")?;
    let topic_len_pos = body_start + body_len;
    let (topic_len, topic_start) = if magic == MAGIC_V2 {
        need(topic_len_pos, 2, "topic length")?;
        (
            u16::from_be_bytes([b[topic_len_pos], b[topic_len_pos + 1]]) as usize,
            topic_len_pos + 2,
        )
    } else {
        need(topic_len_pos, 1, "topic length")?;
        (b[topic_len_pos] as usize, topic_len_pos + 1)
    };
    need(topic_start, topic_len, "topic")?;
    let props_len_pos = topic_start + topic_len;
    need(props_len_pos, 2, "properties length")?;
    let props_len = u16::from_be_bytes([b[props_len_pos], b[props_len_pos + 1]]) as usize;
    let props_start = props_len_pos + 2;
    if props_start + props_len != total {
        return Err(RecordError::FieldOverrun("properties"));
    }
    let topic = std::str::from_utf8(&b[topic_start..topic_start + topic_len])
        .map_err(|_| RecordError::NotUtf8("topic"))?;
    let properties = std::str::from_utf8(&b[props_start..props_start + props_len])
        .map_err(|_| RecordError::NotUtf8("properties"))?;
    Ok(Entry::Record(RecordView {
        buf: b,
        born_host_len,
        store_host_len,
        body_start,
        body_len,
        topic,
        properties,
    }))
}

/// Parses a record at `buf[0]`, rejecting a blank marker.
pub fn parse_record(buf: &[u8]) -> Result<RecordView<'_>, RecordError> {
    match parse_entry(buf)? {
        Entry::Record(r) => Ok(r),
        Entry::Blank { .. } => Err(RecordError::BadMagic(BLANK_MAGIC as u32)),
    }
}

impl<'a> RecordView<'a> {
    /// The record's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
    pub fn total_size(&self) -> usize {
        self.buf.len()
    }
    pub fn body_crc(&self) -> i32 {
        i32_at(self.buf, POS_BODY_CRC)
    }
    pub fn queue_id(&self) -> i32 {
        i32_at(self.buf, POS_QUEUE_ID)
    }
    pub fn flag(&self) -> i32 {
        i32_at(self.buf, POS_FLAG)
    }
    pub fn queue_offset(&self) -> i64 {
        i64_at(self.buf, POS_QUEUE_OFFSET)
    }
    pub fn physical_offset(&self) -> i64 {
        i64_at(self.buf, POS_PHYSICAL_OFFSET)
    }
    pub fn sys_flag(&self) -> i32 {
        i32_at(self.buf, POS_SYS_FLAG)
    }
    pub fn born_timestamp(&self) -> i64 {
        i64_at(self.buf, POS_BORN_TIMESTAMP)
    }
    pub fn born_host(&self) -> SocketAddr {
        host_at(self.buf, POS_BORN_HOST, self.born_host_len == 20)
    }
    fn store_timestamp_pos(&self) -> usize {
        POS_BORN_HOST + self.born_host_len
    }
    pub fn store_timestamp(&self) -> i64 {
        i64_at(self.buf, self.store_timestamp_pos())
    }
    pub fn store_host(&self) -> SocketAddr {
        host_at(
            self.buf,
            self.store_timestamp_pos() + 8,
            self.store_host_len == 20,
        )
    }
    fn reconsume_pos(&self) -> usize {
        self.store_timestamp_pos() + 8 + self.store_host_len
    }
    pub fn reconsume_times(&self) -> i32 {
        i32_at(self.buf, self.reconsume_pos())
    }
    pub fn prepared_transaction_offset(&self) -> i64 {
        i64_at(self.buf, self.reconsume_pos() + 4)
    }
    pub fn body(&self) -> &'a [u8] {
        &self.buf[self.body_start..self.body_start + self.body_len]
    }
    pub fn topic(&self) -> &'a str {
        self.topic
    }
    /// The properties wire string.
    pub fn properties(&self) -> &'a str {
        self.properties
    }
    /// One property, without building a map.
    pub fn property(&self, name: &str) -> Option<&'a str> {
        super::properties::find_encoded(self.properties(), name)
    }
    /// Checks BODYCRC against the body.
    pub fn verify_crc(&self) -> Result<(), RecordError> {
        let computed = body_crc(self.body());
        let stored = self.body_crc();
        if computed == stored {
            Ok(())
        } else {
            Err(RecordError::BodyCrc { stored, computed })
        }
    }
}

/// Decodes every record in a pull/query body (records back to back). `source` keeps the
/// bodies zero-copy; `decompress` inflates compressed bodies as a consumer needs them.
pub fn decode_records(
    source: &Bytes,
    decompress: bool,
) -> Result<Vec<super::MessageExt>, RecordError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < source.len() {
        let view = parse_record(&source[pos..])?;
        let size = view.total_size();
        out.push(super::MessageExt::from_view(
            &view,
            Some(source.slice(pos..pos + size)),
            decompress,
        ));
        pos += size;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const REFERENCE_RECORD: &str = "
        00 00 00 b3 da a3 20 a7 4d 17 0e 0e 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 01 8b cf e5 68 00
        c0 a8 00 0a 00 00 d4 31 00 00 01 8b cf e5 68 7b
        c0 a8 00 02 00 00 2a 9f 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 02 48 69 01 54 00 55 55 4e
        49 51 5f 4b 45 59 01 43 30 41 38 30 30 30 41 31
        46 39 30 31 32 33 34 35 36 37 38 30 30 30 30 30
        30 36 34 30 30 30 31 02 57 41 49 54 01 74 72 75
        65 02 54 41 47 53 01 54 61 67 41 02 43 4c 55 53
        54 45 52 01 44 65 66 61 75 6c 74 43 6c 75 73 74
        65 72 02";

    const PROPS: &str = "UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}CLUSTER\u{1}DefaultCluster\u{2}";

    fn reference_fields() -> RecordFields<'static> {
        RecordFields {
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "192.168.0.10:54321".parse().unwrap(),
            store_timestamp: 1_700_000_000_123,
            store_host: "192.168.0.2:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: b"Hi",
            topic: "T",
            properties: PROPS.as_bytes(),
        }
    }

    #[test]
    fn encodes_reference_record() {
        let mut out = Vec::new();
        let layout = encode_record(&reference_fields(), &mut out).unwrap();
        assert_eq!(out, unhex(REFERENCE_RECORD));
        assert_eq!(
            layout,
            RecordLayout {
                total_size: 179,
                store_timestamp_pos: 56
            }
        );
    }

    #[test]
    fn parses_reference_record() {
        let bytes = unhex(REFERENCE_RECORD);
        let r = parse_record(&bytes).unwrap();
        assert_eq!(r.total_size(), 179);
        assert_eq!(r.body(), b"Hi");
        assert_eq!(r.topic(), "T");
        assert_eq!(r.properties(), PROPS);
        assert_eq!(r.property("TAGS"), Some("TagA"));
        assert_eq!(r.born_host(), "192.168.0.10:54321".parse().unwrap());
        assert_eq!(r.store_host(), "192.168.0.2:10911".parse().unwrap());
        assert_eq!(r.store_timestamp(), 1_700_000_000_123);
        assert_eq!(r.born_timestamp(), 1_700_000_000_000);
        r.verify_crc().unwrap();
    }

    #[test]
    fn ipv6_hosts_and_long_topics() {
        let topic = "t".repeat(200);
        let f = RecordFields {
            born_host: "[::1]:1234".parse().unwrap(),
            store_host: "[fe80::2]:10911".parse().unwrap(),
            topic: &topic,
            queue_offset: 77,
            physical_offset: 1 << 40,
            reconsume_times: 3,
            prepared_transaction_offset: 9,
            ..reference_fields()
        };
        let mut out = Vec::new();
        let layout = encode_record(&f, &mut out).unwrap();
        assert_eq!(layout.total_size, 91 + 24 + 2 + 1 + 200 + PROPS.len());
        let r = parse_record(&out).unwrap();
        assert_eq!(i32_at(&out, POS_MAGIC), MAGIC_V2);
        assert_eq!(
            r.sys_flag() & (sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6),
            0x30
        );
        assert_eq!(r.topic(), topic);
        assert_eq!(r.born_host(), f.born_host);
        assert_eq!(r.store_host(), f.store_host);
        assert_eq!((r.queue_offset(), r.physical_offset()), (77, 1 << 40));
        assert_eq!(
            (r.reconsume_times(), r.prepared_transaction_offset()),
            (3, 9)
        );
    }

    #[test]
    fn rejects_damage() {
        let bytes = unhex(REFERENCE_RECORD);
        for cut in 0..bytes.len() {
            assert!(parse_record(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[0x58] ^= 0xFF; // first body byte
        assert!(matches!(
            parse_record(&flipped).unwrap().verify_crc(),
            Err(RecordError::BodyCrc { .. })
        ));
        let mut bad_len = bytes.clone();
        bad_len[0x57] = 0x70; // body length overruns
        assert!(parse_record(&bad_len).is_err());
        let mut blank = vec![0u8; 8];
        blank[..4].copy_from_slice(&100i32.to_be_bytes());
        blank[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
        assert!(matches!(
            parse_entry(&blank),
            Ok(Entry::Blank { remaining: 100 })
        ));
        assert!(matches!(
            parse_entry(&[0u8; 8]),
            Err(RecordError::BadMagic(0))
        ));
    }
}
