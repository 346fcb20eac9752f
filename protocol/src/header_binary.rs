//! The compact ROCKETMQ binary header form, serialize type 1.
//!
//! ```text
//! code i16 | language u8 | version i16 | opaque i32 | flag i32
//! remark:    i32 len (0 = null) + UTF-8 bytes
//! extFields: i32 total len, then repeated { i16 keyLen, key, i32 valLen, val }
//! ```
//! All integers are big-endian.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::code::{LanguageCode, SerializeType};
use crate::command::RemotingCommand;
use crate::frame::FrameError;
use crate::ExtFields;

/// Appends the binary header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut BytesMut) {
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language as i32 as u8);
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    match &cmd.remark {
        Some(r) if !r.is_empty() => {
            out.put_i32(r.len() as i32);
            out.put_slice(r.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    out.put_i32(ext_len as i32);
    for (k, v) in &cmd.ext_fields {
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
}

/// Parses a binary header; the body is attached by the caller.
pub fn decode(bytes: &[u8]) -> Result<RemotingCommand, FrameError> {
    let mut buf = bytes;
    need(buf, 13, "fixed fields")?;
    let code = i32::from(buf.get_i16());
    let language = LanguageCode::from_byte(buf.get_u8());
    let version = i32::from(buf.get_i16());
    let opaque = buf.get_i32();
    let flag = buf.get_i32();
    let remark_len = read_len(&mut buf, "remark length")?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(read_str(&mut buf, remark_len, "remark")?.to_string())
    };
    let ext_len = read_len(&mut buf, "extFields length")?;
    need(buf, ext_len, "extFields")?;
    let mut ext = &buf[..ext_len];
    // The names and values take fewer bytes than their encoding (which adds lengths).
    let mut ext_fields = ExtFields::with_capacity(16, ext_len);
    while ext.has_remaining() {
        need(ext, 2, "extFields key length")?;
        let key_len = ext.get_i16();
        let key_len = usize::try_from(key_len)
            .map_err(|_| FrameError::BinaryHeader("negative key length"))?;
        let key = read_str(&mut ext, key_len, "extFields key")?;
        let val_len = read_len(&mut ext, "extFields value length")?;
        let val = read_str(&mut ext, val_len, "extFields value")?;
        ext_fields.push_decoded_text(key, Some(val));
    }
    ext_fields.finish_decoding();
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
}

fn need(buf: &[u8], n: usize, what: &'static str) -> Result<(), FrameError> {
    if buf.len() < n {
        Err(FrameError::BinaryHeader(what))
    } else {
        Ok(())
    }
}

fn read_len(buf: &mut &[u8], what: &'static str) -> Result<usize, FrameError> {
    need(buf, 4, what)?;
    usize::try_from(buf.get_i32()).map_err(|_| FrameError::BinaryHeader(what))
}

/// The next `len` bytes of `buf` as UTF-8 text.
fn read_str<'a>(buf: &mut &'a [u8], len: usize, what: &'static str) -> Result<&'a str, FrameError> {
    need(buf, len, what)?;
    let (text, rest) = buf.split_at(len);
    let s = std::str::from_utf8(text).map_err(|_| FrameError::BinaryHeader(what))?;
    *buf = rest;
    Ok(s)
}
