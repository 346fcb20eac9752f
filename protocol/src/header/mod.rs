//! Typed request and response headers, converted to and from a command's `extFields`.
//!
//! Each header is a plain struct declared with [`command_header!`](crate::command_header):
//! every field names its wire key, and is either `required` (a missing key is an error, like
//! Java's `@CFNotNull`) or `optional`. Values travel as strings: decimal numbers,
//! `true`/`false`, or enum names. Unknown keys are ignored on input. One file per request
//! family.

mod admin;
mod client;
mod namesrv;
mod offset;
mod pull;
mod query;
mod send;
mod transaction;

pub use admin::*;
pub use client::*;
pub use namesrv::*;
pub use offset::*;
pub use pull::*;
pub use query::*;
pub use send::*;
pub use transaction::*;

use crate::ExtFields;

/// A header that maps to and from `extFields`.
pub trait CommandHeader: Sized {
    /// Writes every present field.
    fn write_to(&self, fields: &mut ExtFields);
    /// Reads the header, failing on a missing required field or an unparseable value.
    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError>;
}

/// Why a header could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the custom field <{0}> is null")]
    Missing(&'static str),
    #[error("the custom field <{field}> has an invalid value {value:?}")]
    Invalid { field: &'static str, value: String },
}

/// A value type that can travel in `extFields`.
pub trait HeaderValue: Sized {
    /// Appends the value's text to `out`.
    fn write_header(&self, out: &mut String);
    fn from_header(s: &str) -> Option<Self>;
}

impl HeaderValue for String {
    fn write_header(&self, out: &mut String) {
        out.push_str(self);
    }
    fn from_header(s: &str) -> Option<Self> {
        Some(s.to_string())
    }
}

macro_rules! int_header_value {
    ($($t:ty),*) => {$(
        impl HeaderValue for $t {
            fn write_header(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
            fn from_header(s: &str) -> Option<Self> {
                s.trim().parse().ok()
            }
        }
    )*};
}
int_header_value!(i32, i64);

impl HeaderValue for bool {
    fn write_header(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
    /// Java's `Boolean.parseBoolean`: `true` in any case is true, anything else false.
    fn from_header(s: &str) -> Option<Self> {
        Some(s.trim().eq_ignore_ascii_case("true"))
    }
}

/// Reads one field: `Ok(None)` if absent, an error if present but unparseable.
pub fn read_field<T: HeaderValue>(
    fields: &ExtFields,
    key: &'static str,
) -> Result<Option<T>, HeaderError> {
    match fields.get(key) {
        None => Ok(None),
        Some(v) => T::from_header(v)
            .map(Some)
            .ok_or_else(|| HeaderError::Invalid {
                field: key,
                value: v.to_string(),
            }),
    }
}

/// Declares a header struct and its [`CommandHeader`] implementation.
///
/// ```ignore
/// command_header! {
///     /// Doc.
///     pub struct GetRouteInfoRequestHeader {
///         "topic" => topic: required String,
///         "acceptStandardJsonOnly" => accept_standard_json_only: optional bool,
///     }
/// }
/// ```
#[macro_export]
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $key:literal => $field:ident : $kind:ident $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $crate::command_header!(@type $kind $ty), )*
        }

        impl $crate::header::CommandHeader for $name {
            #[allow(unused_variables)]
            fn write_to(&self, fields: &mut $crate::ExtFields) {
                $( $crate::command_header!(@write $kind fields, $key, self.$field); )*
            }

            #[allow(unused_variables)]
            fn read_from(
                fields: &$crate::ExtFields,
            ) -> Result<Self, $crate::header::HeaderError> {
                Ok($name {
                    $( $field: $crate::command_header!(@read $kind fields, $key, $ty), )*
                })
            }
        }
    };
    (@type required $ty:ty) => { $ty };
    (@type optional $ty:ty) => { Option<$ty> };
    (@write required $fields:ident, $key:literal, $value:expr) => {
        $fields.insert_with($key, |out| $crate::header::HeaderValue::write_header(&$value, out));
    };
    (@write optional $fields:ident, $key:literal, $value:expr) => {
        if let Some(v) = &$value {
            $fields.insert_with($key, |out| $crate::header::HeaderValue::write_header(v, out));
        }
    };
    (@read required $fields:ident, $key:literal, $ty:ty) => {
        $crate::header::read_field::<$ty>($fields, $key)?
            .ok_or($crate::header::HeaderError::Missing($key))?
    };
    (@read optional $fields:ident, $key:literal, $ty:ty) => {
        $crate::header::read_field::<$ty>($fields, $key)?
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    command_header! {
        /// A test header.
        pub struct Probe {
            "topic" => topic: required String,
            "queueId" => queue_id: required i32,
            "offset" => offset: optional i64,
            "flag" => flag: optional bool,
        }
    }

    #[test]
    fn round_trip_and_errors() {
        let h = Probe {
            topic: "T".into(),
            queue_id: 3,
            offset: Some(-5),
            flag: None,
        };
        let mut f = ExtFields::new();
        h.write_to(&mut f);
        assert_eq!(f.len(), 3);
        assert_eq!(&f["queueId"], "3");
        assert_eq!(Probe::read_from(&f), Ok(h));

        f.remove("topic");
        assert_eq!(Probe::read_from(&f), Err(HeaderError::Missing("topic")));
        f.insert("topic", "T");
        f.insert("offset", "x1");
        assert!(matches!(
            Probe::read_from(&f),
            Err(HeaderError::Invalid {
                field: "offset",
                ..
            })
        ));
        f.insert("offset", " 12 ");
        f.insert("flag", "TRUE");
        f.insert("unknown", "ignored");
        let p = Probe::read_from(&f).unwrap();
        assert_eq!((p.offset, p.flag), (Some(12), Some(true)));
    }
}
