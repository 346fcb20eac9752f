//! The JSON (fastjson-compatible) header form, serialize type 0.
//!
//! Java writes object fields in alphabetical order and leaves nulls out; we do the same, so a
//! request we encode is byte-identical to the JVM's (see the reference's worked example).
//! On input we are lenient: unknown keys are ignored, `language` may be a name or a number, and
//! extFields values may be strings, numbers, booleans or null (null drops the key).

use std::fmt::{self, Write};
use std::ops::Range;

use bytes::{BufMut, BytesMut};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::code::{LanguageCode, SerializeType};
use crate::command::RemotingCommand;
use crate::frame::FrameError;
use crate::ExtFields;

#[derive(Serialize)]
struct JsonHeaderOut<'a> {
    code: i32,
    #[serde(rename = "extFields", skip_serializing_if = "ExtFields::is_empty")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'static str,
    version: i32,
}

#[derive(Deserialize)]
struct JsonHeaderIn {
    code: i32,
    #[serde(default, deserialize_with = "de_language")]
    language: Option<LanguageCode>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields", deserialize_with = "de_ext_fields")]
    ext_fields: ExtFields,
}

/// Appends the JSON header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut BytesMut) {
    let header = JsonHeaderOut {
        code: cmd.code,
        ext_fields: &cmd.ext_fields,
        flag: cmd.flag,
        language: cmd.language.name(),
        opaque: cmd.opaque,
        remark: cmd.remark.as_deref(),
        serialize_type: SerializeType::Json.name(),
        version: cmd.version,
    };
    // Serializing plain strings and integers into a Vec cannot fail.
    if let Err(e) = serde_json::to_writer(out.writer(), &header) {
        tracing::error!("JSON header serialization failed: {e}");
    }
}

/// Parses a JSON header; the body is attached by the caller.
pub fn decode(bytes: &[u8]) -> Result<RemotingCommand, FrameError> {
    let h: JsonHeaderIn = serde_json::from_slice(bytes).map_err(FrameError::JsonHeader)?;
    Ok(RemotingCommand {
        code: h.code,
        language: h.language.unwrap_or(LanguageCode::OTHER),
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields,
        body: bytes::Bytes::new(),
        serialize_type: SerializeType::Json,
    })
}

fn de_language<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LanguageCode>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lang {
        Name(String),
        Number(i64),
        Null,
    }
    Ok(match Lang::deserialize(d)? {
        Lang::Name(n) => Some(LanguageCode::from_name(&n)),
        Lang::Number(n) => Some(LanguageCode::from_byte(u8::try_from(n).unwrap_or(7))),
        Lang::Null => None,
    })
}

/// Text buffer room reserved for a JSON header's extFields: a send request's fit.
const EXT_TEXT_CAPACITY: usize = 512;

/// Appends one extFields name to the fields' text buffer; the value is its range there.
struct NameInto<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for NameInto<'_> {
    type Value = Range<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Range<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameInto<'_> {
    type Value = Range<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Range<usize>, E> {
        let start = self.0.len();
        self.0.push_str(v);
        Ok(start..self.0.len())
    }
}

/// Appends one extFields value, a string, number or boolean, as text to the fields' text
/// buffer; the value is its range there, or `None` for null (which drops the field).
struct ScalarInto<'a>(&'a mut String);

impl ScalarInto<'_> {
    fn push(self, write: impl FnOnce(&mut String)) -> Option<Range<usize>> {
        let start = self.0.len();
        write(self.0);
        Some(start..self.0.len())
    }
}

impl<'de> DeserializeSeed<'de> for ScalarInto<'_> {
    type Value = Option<Range<usize>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarInto<'_> {
    type Value = Option<Range<usize>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.push(|out| out.push_str(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.push(|out| out.push_str(itoa::Buffer::new().format(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.push(|out| out.push_str(itoa::Buffer::new().format(v))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.push(|out| {
            let _ = write!(out, "{v}");
        }))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.push(|out| out.push_str(if v { "true" } else { "false" })))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// extFields straight into an [`ExtFields`] buffer: no string per name or value.
fn de_ext_fields<'de, D: Deserializer<'de>>(d: D) -> Result<ExtFields, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = ExtFields;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of string values")
        }
        fn visit_unit<E: de::Error>(self) -> Result<ExtFields, E> {
            Ok(ExtFields::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
            let mut out = ExtFields::with_capacity(16, EXT_TEXT_CAPACITY);
            while let Some(name) = map.next_key_seed(NameInto(out.text_mut()))? {
                let value = map.next_value_seed(ScalarInto(out.text_mut()))?;
                out.push_decoded(name, value);
            }
            out.finish_decoding();
            Ok(out)
        }
    }
    d.deserialize_any(V)
}
