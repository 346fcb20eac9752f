//! JSON bodies on the wire: standard JSON out, any RocketMQ peer's JSON (fastjson quirks
//! included) in, with the nesting and time bounds of [`crate::fastjson`].

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Serializes a body as standard JSON.
pub fn encode_body<T: Serialize>(value: &T) -> Bytes {
    match serde_json::to_vec(value) {
        Ok(v) => Bytes::from(v),
        Err(e) => {
            // Our body types contain only strings, numbers, maps with string or integer keys
            // and vectors, none of which can fail to serialize.
            tracing::error!("body serialization failed: {e}");
            Bytes::new()
        }
    }
}

/// Why a JSON body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Shape(#[from] crate::fastjson::ScanError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Parses a JSON body written by any RocketMQ peer, fastjson quirks included, in time linear
/// in its length and with nesting limited to [`crate::fastjson::MAX_DEPTH`].
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    Ok(serde_json::from_slice(&crate::fastjson::to_standard(
        body,
    )?)?)
}
