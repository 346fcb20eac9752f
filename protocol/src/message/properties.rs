//! Message properties and their wire string: `name 0x01 value 0x02` per property.
//!
//! [`Properties`] keeps insertion order, so a message we encode is byte-identical to the
//! properties string a client sent, and small (a handful of entries) lookups stay linear.

use std::collections::HashMap;

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends each property.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Well-known property names (reference §3.6).
pub mod keys {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT_STORE_MSG_OK: &str = "WAIT";
    pub const DELAY_TIME_LEVEL: &str = "DELAY";
    /// Timer messages (RocketMQ 5, on the 4.x protocol): absolute due time, ms since the epoch.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// Timer messages: due this many seconds after the broker receives them.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// Timer messages: due this many ms after the broker receives them.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// Set by the broker on a timer message: its due time, ms since the epoch.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// Fennec: set by the broker on a delayed or timer message it delivered to its real
    /// topic, naming the staging entry (`<topic>:<queueId>:<queueOffset>`); a restart uses it
    /// to deliver each message exactly once.
    pub const DELIVERED_FROM: &str = "__DELIVERED_FROM";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_SWITCH: &str = "TRACE_ON";
    pub const CLUSTER: &str = "CLUSTER";
    pub const BORN_HOST: &str = "__BORNHOST";
}

/// Ordered name/value pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(String, String)>);

impl Properties {
    pub fn new() -> Self {
        Properties(Vec::new())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name`, replacing an existing value in place.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let idx = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(idx).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The wire string.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(self.0.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (k, v) in &self.0 {
            push_encoded(&mut s, k, v);
        }
        s
    }

    /// Parses a wire string. Segments with an empty name or value, or without a separator,
    /// are dropped, as Java does; a later duplicate name wins. Linear in the length of `s`:
    /// duplicates are found through a hash map once there are more than a few properties.
    pub fn decode(s: &str) -> Self {
        const LINEAR_UP_TO: usize = 16;
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (k, v) in iter_encoded(s) {
            if pairs.len() == LINEAR_UP_TO && index.is_empty() {
                index.extend(pairs.iter().enumerate().map(|(i, (name, _))| (*name, i)));
            }
            let found = if index.is_empty() {
                pairs.iter().position(|(name, _)| *name == k)
            } else {
                index.get(k).copied()
            };
            match found {
                Some(i) => pairs[i].1 = v,
                None => {
                    if !index.is_empty() {
                        index.insert(k, pairs.len());
                    }
                    pairs.push((k, v));
                }
            }
        }
        Properties(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

/// Iterates the name/value pairs of a wire string without allocating: what
/// `s.split(PROPERTY_SEPARATOR)` then `split_once(NAME_VALUE_SEPARATOR)` would give, with
/// the same segments dropped as [`Properties::decode`] drops. It scans bytes: both
/// separators are ASCII, so every cut is a char boundary, and for properties (a few dozen
/// bytes each) a byte loop costs a third of `split`'s instructions per segment.
pub fn iter_encoded(s: &str) -> impl Iterator<Item = (&str, &str)> {
    EncodedPairs { rest: s }
}

/// The iterator of [`iter_encoded`].
struct EncodedPairs<'a> {
    rest: &'a str,
}

impl<'a> Iterator for EncodedPairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        const PROPERTY: u8 = PROPERTY_SEPARATOR as u8;
        const NAME_VALUE: u8 = NAME_VALUE_SEPARATOR as u8;
        while !self.rest.is_empty() {
            let bytes = self.rest.as_bytes();
            let end = bytes
                .iter()
                .position(|&b| b == PROPERTY)
                .unwrap_or(bytes.len());
            let (seg, rest) = self.rest.split_at(end);
            self.rest = rest.get(1..).unwrap_or("");
            if let Some(at) = seg.bytes().position(|b| b == NAME_VALUE) {
                let (k, v) = (&seg[..at], &seg[at + 1..]);
                if !k.is_empty() && !v.is_empty() {
                    return Some((k, v));
                }
            }
        }
        None
    }
}

/// Appends one property to a wire string (after a missing final separator, if any), so that
/// what is already there keeps its order and bytes. A name already present is not replaced:
/// readers take the last value, so the appended one wins.
pub fn push_encoded(s: &mut String, name: &str, value: &str) {
    if !s.is_empty() && !s.ends_with(PROPERTY_SEPARATOR) {
        s.push(PROPERTY_SEPARATOR);
    }
    s.push_str(name);
    s.push(NAME_VALUE_SEPARATOR);
    s.push_str(value);
    s.push(PROPERTY_SEPARATOR);
}

/// Finds one property in a wire string without building a map (dispatch hot path).
pub fn find_encoded<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for (k, v) in iter_encoded(s) {
        if k == name {
            found = Some(v);
        }
    }
    found
}

/// Whether a name or value can be stored (no separator characters).
pub fn is_valid_property_text(s: &str) -> bool {
    !s.contains(NAME_VALUE_SEPARATOR) && !s.contains(PROPERTY_SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `iter_encoded` must give: the two splits it replaces.
    fn by_splits(s: &str) -> Vec<(&str, &str)> {
        s.split(PROPERTY_SEPARATOR)
            .filter_map(|seg| {
                let (k, v) = seg.split_once(NAME_VALUE_SEPARATOR)?;
                (!k.is_empty() && !v.is_empty()).then_some((k, v))
            })
            .collect()
    }

    #[test]
    fn iter_encoded_gives_what_the_splits_give() {
        for s in [
            "",
            "\u{2}",
            "A\u{1}1",
            "A\u{1}1\u{2}\u{2}B\u{1}2\u{2}",
            "A\u{1}\u{1}x\u{2}\u{1}B\u{2}C\u{1}\u{2}junk\u{2}é\u{1}ü\u{2}",
        ] {
            assert_eq!(iter_encoded(s).collect::<Vec<_>>(), by_splits(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn iter_encoded_matches_the_splits(s in "[AB\u{1}\u{2}é]{0,24}") {
            prop_assert_eq!(iter_encoded(&s).collect::<Vec<_>>(), by_splits(&s));
        }
    }

    #[test]
    fn encode_keeps_order_and_decode_drops_empty() {
        let mut p = Properties::new();
        p.insert("UNIQ_KEY", "X");
        p.insert("WAIT", "true");
        p.insert("TAGS", "TagA");
        p.insert("WAIT", "false");
        assert_eq!(
            p.encode(),
            "UNIQ_KEY\u{1}X\u{2}WAIT\u{1}false\u{2}TAGS\u{1}TagA\u{2}"
        );
        assert_eq!(Properties::decode(&p.encode()), p);
        let q = Properties::decode("A\u{1}\u{2}\u{1}B\u{2}C\u{1}D\u{2}junk\u{2}C\u{1}E\u{2}");
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![("C", "E")]);
        assert_eq!(
            find_encoded("A\u{1}1\u{2}KEYS\u{1}k1 k2\u{2}", "KEYS"),
            Some("k1 k2")
        );
        assert_eq!(p.remove("WAIT").as_deref(), Some("false"));
        let mut wire = "A\u{1}1".to_string();
        push_encoded(&mut wire, "A", "2");
        assert_eq!(wire, "A\u{1}1\u{2}A\u{1}2\u{2}");
        assert_eq!(find_encoded(&wire, "A"), Some("2"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn decode_is_linear_and_keeps_first_position_last_value() {
        // 200,000 distinct names plus a late duplicate of an early one: a quadratic decoder
        // would take minutes here.
        let mut s = String::new();
        for i in 0..200_000 {
            s.push_str(&format!("k{i}\u{1}v\u{2}"));
        }
        s.push_str("k3\u{1}late\u{2}");
        let p = Properties::decode(&s);
        assert_eq!(p.len(), 200_000);
        assert_eq!(p.get("k3"), Some("late"));
        assert_eq!(p.iter().nth(3), Some(("k3", "late")));
    }
}
