//! Batch body of SEND_BATCH_MESSAGE: inner messages back to back, each
//! `[i32 TOTALSIZE][i32 MAGIC=0][i32 BODYCRC=0][i32 FLAG][i32 bodyLen][body][i16 propsLen][props]`.

use bytes::Bytes;

use super::{Message, Properties};

/// One inner message of a batch body, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    /// The properties wire string.
    pub properties: &'a str,
}

/// Why a batch body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed batch body at byte {0}")]
pub struct BadBatch(pub usize);

/// Encodes messages (topic ignored: the batch header names it) into a batch body.
pub fn encode_batch(messages: &[Message]) -> Bytes {
    let mut out = Vec::new();
    for m in messages {
        let props = m.properties.encode();
        let total = 20 + m.body.len() + 2 + props.len();
        out.extend_from_slice(&(total as i32).to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&m.flag.to_be_bytes());
        out.extend_from_slice(&(m.body.len() as i32).to_be_bytes());
        out.extend_from_slice(&m.body);
        out.extend_from_slice(&(props.len() as i16).to_be_bytes());
        out.extend_from_slice(props.as_bytes());
    }
    Bytes::from(out)
}

/// Decodes a batch body.
pub fn decode_batch(body: &[u8]) -> Result<Vec<BatchItem<'_>>, BadBatch> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let rest = &body[pos..];
        if rest.len() < 22 {
            return Err(BadBatch(pos));
        }
        let i32_at =
            |p: usize| i32::from_be_bytes([rest[p], rest[p + 1], rest[p + 2], rest[p + 3]]);
        let total = usize::try_from(i32_at(0)).map_err(|_| BadBatch(pos))?;
        if total < 22 || total > rest.len() {
            return Err(BadBatch(pos));
        }
        let flag = i32_at(12);
        let body_len = usize::try_from(i32_at(16)).map_err(|_| BadBatch(pos))?;
        if 20 + body_len + 2 > total {
            return Err(BadBatch(pos));
        }
        let msg_body = &rest[20..20 + body_len];
        let p = 20 + body_len;
        let props_len = u16::from_be_bytes([rest[p], rest[p + 1]]) as usize;
        if p + 2 + props_len != total {
            return Err(BadBatch(pos));
        }
        let properties = std::str::from_utf8(&rest[p + 2..total]).map_err(|_| BadBatch(pos))?;
        items.push(BatchItem {
            flag,
            body: msg_body,
            properties,
        });
        pos += total;
    }
    Ok(items)
}

impl BatchItem<'_> {
    /// The inner message as a [`Message`] of `topic`.
    pub fn to_message(&self, topic: &str) -> Message {
        Message {
            topic: topic.to_string(),
            flag: self.flag,
            properties: Properties::decode(self.properties),
            body: Bytes::copy_from_slice(self.body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let msgs = vec![
            Message::new("T", "one").with_tags("A"),
            Message {
                flag: 7,
                ..Message::new("T", "")
            },
            Message::new("T", vec![0u8; 300]).with_keys(&["k"]),
        ];
        let body = encode_batch(&msgs);
        let items = decode_batch(&body).unwrap();
        assert_eq!(items.len(), 3);
        for (item, m) in items.iter().zip(&msgs) {
            assert_eq!(item.to_message("T"), *m);
        }
        for cut in 1..body.len() {
            if decode_batch(&body[..cut]).is_ok() {
                // Only cuts on message boundaries decode.
                let n = decode_batch(&body[..cut]).unwrap().len();
                assert!(n < 3);
            }
        }
        assert!(decode_batch(&[0xFF; 30]).is_err());
    }
}
