//! Frames of the remoting protocol, encoded and decoded without I/O.
//!
//! ```text
//! [i32 length][u8 serializeType | u24 headerLength][header][body]
//! length = 4 + headerLength + bodyLength (it does not count itself)
//! ```
//! [`decode`] returns `Ok(None)` on a partial frame and validates the announced lengths
//! before growing the buffer, which grows only as bytes arrive, so a hostile length cannot
//! make it allocate the announced size. `fennec-remoting` wraps it in a tokio-util codec.

use bytes::{Buf, BufMut, BytesMut};

use crate::code::SerializeType;
use crate::command::RemotingCommand;
use crate::{header_binary, header_json};

/// RocketMQ's default `com.rocketmq.remoting.frameMaxLength`.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// A frame that cannot be decoded. Any of these closes the connection it came from, and only
/// that connection.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {len} exceeds the maximum of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("invalid frame length {0}")]
    InvalidFrameLength(i32),
    #[error("header length {header} does not fit in a frame of {total} bytes")]
    HeaderLength { header: usize, total: usize },
    #[error("unknown header serialize type {0}")]
    SerializeType(u8),
    #[error("unparseable JSON header: {0}")]
    JsonHeader(#[source] serde_json::Error),
    #[error("malformed ROCKETMQ binary header: {0}")]
    BinaryHeader(&'static str),
}

/// Takes the first whole frame off `src`; `Ok(None)` while it is incomplete (the buffer is
/// asked to grow by at most 64 KiB per call). Frames announcing more than `max_frame` bytes
/// are refused before their body arrives.
pub fn decode(src: &mut BytesMut, max_frame: usize) -> Result<Option<RemotingCommand>, FrameError> {
    let Some(total) = announced_length(src, max_frame)? else {
        return Ok(None);
    };
    if src.len() < 4 + total {
        // Grow as bytes arrive: a peer that announces a large frame and sends nothing more
        // must not make us allocate the announced size.
        src.reserve((4 + total - src.len()).min(READ_CHUNK));
        return Ok(None);
    }
    src.advance(4);
    let frame = src.split_to(total).freeze();
    decode_frame(frame).map(Some)
}

/// Bytes the decoder asks the buffer to grow by at most, per call.
const READ_CHUNK: usize = 64 * 1024;

/// The length field at the start of `src` (what follows it), once its 4 bytes are there;
/// rejects a negative, too-small or larger-than-`max_frame` length.
pub fn announced_length(src: &[u8], max_frame: usize) -> Result<Option<usize>, FrameError> {
    let Some(word) = src.first_chunk::<4>() else {
        return Ok(None);
    };
    let announced = i32::from_be_bytes(*word);
    if announced < 4 {
        return Err(FrameError::InvalidFrameLength(announced));
    }
    let total = announced as usize;
    if total > max_frame {
        return Err(FrameError::FrameTooLarge {
            len: total,
            max: max_frame,
        });
    }
    Ok(Some(total))
}

/// Decodes one frame without its leading length field.
pub fn decode_frame(mut frame: bytes::Bytes) -> Result<RemotingCommand, FrameError> {
    let total = frame.len();
    let word = frame.get_u32();
    let serialize = (word >> 24) as u8;
    let header_len = (word & 0x00FF_FFFF) as usize;
    if header_len > total - 4 {
        return Err(FrameError::HeaderLength {
            header: header_len,
            total,
        });
    }
    let header = frame.split_to(header_len);
    let mut cmd = match SerializeType::from_code(serialize) {
        Some(SerializeType::Json) => header_json::decode(&header)?,
        Some(SerializeType::RocketMq) => header_binary::decode(&header)?,
        None => return Err(FrameError::SerializeType(serialize)),
    };
    cmd.body = frame;
    Ok(cmd)
}

/// Appends the whole frame of `cmd` to `dst`.
pub fn encode_into(cmd: &RemotingCommand, dst: &mut BytesMut) {
    dst.reserve(8 + 256 + cmd.body.len());
    encode_head_into(cmd, dst);
    dst.put_slice(&cmd.body);
}

/// Appends the frame of `cmd` without its body to `dst`: what goes on the wire before the
/// body's bytes, which the caller writes after it (from where they are, without a copy).
pub fn encode_head_into(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let start = dst.len();
    dst.put_u64(0); // length and header-length words, patched below
    match cmd.serialize_type {
        SerializeType::Json => header_json::encode(cmd, dst),
        SerializeType::RocketMq => header_binary::encode(cmd, dst),
    }
    let header_len = dst.len() - start - 8;
    let total = (header_len + 4 + cmd.body.len()) as u32;
    let word = (u32::from(cmd.serialize_type.code()) << 24) | (header_len as u32 & 0x00FF_FFFF);
    dst[start..start + 4].copy_from_slice(&total.to_be_bytes());
    dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
}

/// Encodes `cmd` into a new buffer (tests and tools).
pub fn encode_to_vec(cmd: &RemotingCommand) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode_into(cmd, &mut buf);
    buf.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{LanguageCode, RequestCode};
    use crate::ExtFields;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<RemotingCommand>, FrameError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(c) = decode(&mut buf, DEFAULT_MAX_FRAME)? {
            out.push(c);
        }
        Ok(out)
    }

    const SEND_V2_HEADER: &str = r#"{"code":310,"extFields":{"a":"PG","b":"T","c":"TBW102","d":"4","e":"0","f":"0","g":"1700000000000","h":"0","i":"UNIQ_KEY\u0001C0A8000A1F9012345678000000640001\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    fn reference_send_v2() -> RemotingCommand {
        let mut ext = ExtFields::new();
        for (k, v) in [
            ("a", "PG"),
            ("b", "T"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "0"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ] {
            ext.insert(k, v);
        }
        RemotingCommand {
            code: 310,
            language: LanguageCode::JAVA,
            version: 479,
            opaque: 1,
            flag: 0,
            remark: None,
            ext_fields: ext,
            body: Bytes::from_static(b"Hi"),
            serialize_type: SerializeType::Json,
        }
    }

    #[test]
    fn json_send_v2_matches_reference_bytes() {
        assert_eq!(SEND_V2_HEADER.len(), 339);
        let mut expected = unhex("00000159 00000153");
        expected.extend_from_slice(SEND_V2_HEADER.as_bytes());
        expected.extend_from_slice(b"Hi");
        assert_eq!(expected.len(), 349);

        let encoded = encode_to_vec(&reference_send_v2());
        assert_eq!(encoded, expected);

        let decoded = decode_all(&expected).unwrap();
        assert_eq!(decoded, vec![reference_send_v2()]);
    }

    #[test]
    fn binary_route_request_matches_reference_bytes() {
        let wire = unhex(
            "00000025 01000021 0069 00 01df 00000002 00000000 00000000 0000000c 0005 746f706963 00000001 54",
        );
        let decoded = decode_all(&wire).unwrap();
        assert_eq!(decoded.len(), 1);
        let cmd = &decoded[0];
        assert_eq!(cmd.code, i32::from(RequestCode::GET_ROUTEINFO_BY_TOPIC));
        assert_eq!(cmd.language, LanguageCode::JAVA);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.opaque, 2);
        assert_eq!(cmd.flag, 0);
        assert_eq!(cmd.remark, None);
        assert_eq!(cmd.ext("topic"), Some("T"));
        assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
        assert!(cmd.body.is_empty());
        assert_eq!(encode_to_vec(cmd), wire);
    }

    #[test]
    fn json_input_is_lenient() {
        let header = br#"{"code":105,"language":1,"opaque":7,"flag":0,"extFields":{"topic":"T","n":5,"b":true,"z":null},"extra":[1,2]}"#;
        let mut wire = Vec::new();
        wire.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
        wire.extend_from_slice(&(header.len() as u32).to_be_bytes());
        wire.extend_from_slice(header);
        let cmd = decode_all(&wire).unwrap().remove(0);
        assert_eq!(cmd.language, LanguageCode::CPP);
        assert_eq!(cmd.ext("n"), Some("5"));
        assert_eq!(cmd.ext("b"), Some("true"));
        assert_eq!(cmd.ext("z"), None);
    }

    #[test]
    fn partial_input_at_every_split_point() {
        let mut wire = encode_to_vec(&reference_send_v2());
        wire.extend(encode_to_vec(&reference_send_v2().binary()));
        for split in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..split]);
            let mut got = Vec::new();
            while let Some(c) = decode(&mut buf, DEFAULT_MAX_FRAME).unwrap() {
                got.push(c);
            }
            buf.extend_from_slice(&wire[split..]);
            while let Some(c) = decode(&mut buf, DEFAULT_MAX_FRAME).unwrap() {
                got.push(c);
            }
            assert_eq!(got.len(), 2, "split at {split}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn rejects_bad_lengths_and_headers() {
        // Negative and too-small lengths.
        assert!(matches!(
            decode_all(&unhex("ffffffff 00000000")),
            Err(FrameError::InvalidFrameLength(-1))
        ));
        assert!(matches!(
            decode_all(&unhex("00000003 000000")),
            Err(FrameError::InvalidFrameLength(3))
        ));
        // Oversized: rejected before the body arrives.
        let mut buf = BytesMut::from(&unhex("00000401 00000000")[..]);
        assert!(matches!(
            decode(&mut buf, 1024),
            Err(FrameError::FrameTooLarge {
                len: 1025,
                max: 1024
            })
        ));
        // Header longer than the frame.
        assert!(matches!(
            decode_all(&unhex("00000005 00000010 00")),
            Err(FrameError::HeaderLength { .. })
        ));
        // Unknown serialize type.
        assert!(matches!(
            decode_all(&unhex("00000005 07000001 00")),
            Err(FrameError::SerializeType(7))
        ));
        // Garbage JSON and truncated binary headers.
        assert!(matches!(
            decode_all(&unhex("00000007 00000003 7b7b7b")),
            Err(FrameError::JsonHeader(_))
        ));
        assert!(matches!(
            decode_all(&unhex("00000007 01000003 000000")),
            Err(FrameError::BinaryHeader(_))
        ));
        // Binary extFields whose inner lengths overrun.
        let mut bad = vec![0u8; 13];
        bad.extend_from_slice(&0u32.to_be_bytes());
        bad.extend_from_slice(&8u32.to_be_bytes());
        bad.extend_from_slice(&unhex("0100 41 7fffffff 42"));
        bad.extend_from_slice(&[0]);
        let mut wire = ((4 + bad.len()) as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(&(0x0100_0000u32 | bad.len() as u32).to_be_bytes());
        wire.extend_from_slice(&bad);
        assert!(matches!(
            decode_all(&wire),
            Err(FrameError::BinaryHeader(_))
        ));
    }

    fn arb_command() -> impl Strategy<Value = RemotingCommand> {
        (
            any::<i16>(),
            0i32..14,
            any::<i16>(),
            any::<i32>(),
            0i32..4,
            proptest::option::of("[^\u{0}]{1,20}"),
            proptest::collection::btree_map("[a-zA-Z_]{1,12}", "\\PC{0,30}", 0..8),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>(),
        )
            .prop_map(
                |(code, lang, version, opaque, flag, remark, ext, body, binary)| RemotingCommand {
                    code: i32::from(code),
                    language: LanguageCode::try_from(lang).unwrap(),
                    version: i32::from(version),
                    opaque,
                    flag,
                    remark,
                    ext_fields: ext.into_iter().collect(),
                    body: Bytes::from(body),
                    serialize_type: if binary {
                        SerializeType::RocketMq
                    } else {
                        SerializeType::Json
                    },
                },
            )
    }

    proptest! {
        #[test]
        fn any_command_round_trips(cmd in arb_command()) {
            let wire = encode_to_vec(&cmd);
            let decoded = decode_all(&wire).unwrap();
            prop_assert_eq!(decoded, vec![cmd]);
        }

        #[test]
        fn head_then_body_is_the_whole_frame(cmd in arb_command()) {
            let mut head = BytesMut::new();
            encode_head_into(&cmd, &mut head);
            head.extend_from_slice(&cmd.body);
            prop_assert_eq!(&head[..], &encode_to_vec(&cmd)[..]);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&bytes);
        }

        #[test]
        fn truncated_frames_wait_for_more(cmd in arb_command(), cut in 0usize..1000) {
            let wire = encode_to_vec(&cmd);
            let cut = cut % wire.len();
            let mut buf = BytesMut::from(&wire[..cut]);
            prop_assert!(decode(&mut buf, DEFAULT_MAX_FRAME).unwrap().is_none());
        }
    }
}
