//! [`ExtFields`]: a command's custom header, field name to text value, sorted by name (the
//! order of Java's `TreeMap`, which both header forms and the ACL signature use).
//!
//! Every name and value lives in one text buffer, and a sorted vector of entries points into
//! it: decoding a header of n fields costs two allocations instead of 2n strings and a tree's
//! nodes, and a lookup is a binary search over a dozen entries. Replacing or removing a field
//! leaves its old text unused in the buffer until the command is dropped (a command carries a
//! few dozen fields at most, and lives for one request).

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Text buffer room reserved by the first field written into an empty `ExtFields`: enough
/// for a typical request or response header without growing.
const FIRST_TEXT_CAPACITY: usize = 256;
/// Entries reserved by the first field written into an empty `ExtFields`.
const FIRST_ENTRIES_CAPACITY: usize = 8;

/// One field: byte ranges of its name and value in the text buffer. `null` marks a null value
/// a decoder pushed, gone once it finishes.
#[derive(Clone, Copy, Debug)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
    null: bool,
}

/// The custom header fields of one command; see the module documentation.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    entries: Vec<Entry>,
}

impl ExtFields {
    pub const fn new() -> ExtFields {
        ExtFields {
            text: String::new(),
            entries: Vec::new(),
        }
    }

    /// An empty set with room for `fields` fields of `text` bytes in all (names and values).
    pub fn with_capacity(fields: usize, text: usize) -> ExtFields {
        ExtFields {
            text: String::with_capacity(text),
            entries: Vec::with_capacity(fields),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn slice(&self, (start, end): (u32, u32)) -> &str {
        &self.text[start as usize..end as usize]
    }

    fn name_bytes(&self, e: &Entry) -> &[u8] {
        range_bytes(self.text.as_bytes(), e.name)
    }

    /// Where `name` is, or where it would go. A typed header written in name order (the V2
    /// send header's `a`..`m`) inserts each field after the last one: that is tried first.
    /// (Decoders do not come here: they push and sort once, see `push_decoded`.)
    fn find(&self, name: &str) -> Result<usize, usize> {
        let name = name.as_bytes();
        let Some(last) = self.entries.last() else {
            return Err(0);
        };
        match name_order(self.name_bytes(last), name) {
            Ordering::Less => Err(self.entries.len()),
            Ordering::Equal => Ok(self.entries.len() - 1),
            Ordering::Greater => self
                .entries
                .binary_search_by(|e| name_order(self.name_bytes(e), name)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.find(name).ok()?;
        Some(self.slice(self.entries[i].value))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: &str, value: &str) {
        self.insert_with(name, |text| text.push_str(value));
    }

    /// Sets `name` to the text `write` appends to the buffer (numbers are written in place,
    /// without a string of their own), replacing an earlier value.
    pub fn insert_with(&mut self, name: &str, write: impl FnOnce(&mut String)) {
        if self.text.capacity() == 0 {
            self.text.reserve(FIRST_TEXT_CAPACITY);
            self.entries.reserve(FIRST_ENTRIES_CAPACITY);
        }
        match self.find(name) {
            Ok(i) => {
                let value = self.append(write);
                self.entries[i].value = value;
            }
            Err(i) => {
                let name = self.append(|text| text.push_str(name));
                let value = self.append(write);
                self.entries.insert(
                    i,
                    Entry {
                        name,
                        value,
                        null: false,
                    },
                );
            }
        }
    }

    /// Appends text with `write` and returns its range.
    fn append(&mut self, write: impl FnOnce(&mut String)) -> (u32, u32) {
        let start = self.text.len();
        write(&mut self.text);
        (offset(start), offset(self.text.len()))
    }

    /// Decoders: adds a field whose name and value the decoder has already appended to the
    /// text buffer (at `name` and `value`, which must lie on character boundaries of text
    /// appended through [`text_mut`](Self::text_mut)), in the order the peer sent it; `None`
    /// is a null value. [`finish_decoding`](Self::finish_decoding) must follow the last one.
    ///
    /// Fields are only pushed here and sorted once at the end: inserting each in place would
    /// cost a peer's reversed header of n fields n²/2 entry moves (a 16 MiB frame holds
    /// millions of empty fields).
    pub(crate) fn push_decoded(&mut self, name: Range<usize>, value: Option<Range<usize>>) {
        let name = (offset(name.start), offset(name.end));
        let (value, null) = match value {
            Some(v) => ((offset(v.start), offset(v.end)), false),
            None => ((0, 0), true),
        };
        self.entries.push(Entry { name, value, null });
    }

    /// Decoders: sorts the pushed fields by name in O(n log n) whatever their order, keeping
    /// the last value of a name sent twice, and dropping a name whose last value is null: what
    /// inserting them one by one into a map would leave.
    pub(crate) fn finish_decoding(&mut self) {
        let text = self.text.as_bytes();
        // Stable: fields of one name keep the order they came in.
        self.entries
            .sort_by(|a, b| name_order(range_bytes(text, a.name), range_bytes(text, b.name)));
        let n = self.entries.len();
        let mut kept = 0;
        for i in 0..n {
            let e = self.entries[i];
            let last_of_name = self.entries.get(i + 1).is_none_or(|next| {
                name_order(range_bytes(text, e.name), range_bytes(text, next.name))
                    != Ordering::Equal
            });
            if last_of_name && !e.null {
                self.entries[kept] = e;
                kept += 1;
            }
        }
        self.entries.truncate(kept);
    }

    /// Decoders: [`push_decoded`](Self::push_decoded) for a name and value the decoder
    /// holds as text: both are appended to the buffer first.
    pub(crate) fn push_decoded_text(&mut self, name: &str, value: Option<&str>) {
        let name = self.append(|text| text.push_str(name));
        let value = value.map(|v| self.append(|text| text.push_str(v)));
        let range = |(start, end): (u32, u32)| start as usize..end as usize;
        self.push_decoded(range(name), value.map(range));
    }

    /// Decoders: the text buffer, to append a field's name and value before
    /// [`push_decoded`](Self::push_decoded) records them.
    pub(crate) fn text_mut(&mut self) -> &mut String {
        &mut self.text
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.find(name).ok()?;
        let e = self.entries.remove(i);
        Some(self.slice(e.value).to_string())
    }

    /// Every field's name and value as bytes, sorted by name: no `str` slicing, for callers
    /// that only hash or copy them (the ACL signature).
    pub fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let text = self.text.as_bytes();
        self.entries
            .iter()
            .map(move |e| (range_bytes(text, e.name), range_bytes(text, e.value)))
    }

    /// Every field, sorted by name.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            fields: self,
            entries: self.entries.iter(),
        }
    }
}

/// The fields of an [`ExtFields`], sorted by name.
pub struct Iter<'a> {
    fields: &'a ExtFields,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let e = self.entries.next()?;
        Some((self.fields.slice(e.name), self.fields.slice(e.value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// The bytes of `text` at `range` (empty if it were out of bounds, which our own ranges
/// never are).
fn range_bytes(text: &[u8], (start, end): (u32, u32)) -> &[u8] {
    text.get(start as usize..end as usize).unwrap_or_default()
}

/// The byte order of two names, as `str::cmp`. Names are short and most differ in their
/// first byte, so a loop decides sooner than a call to memcmp (which `[u8]::cmp` makes, and
/// which took a tenth of the broker's time in lookups).
#[inline]
fn name_order(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// A text position as stored in an entry. Frames are far below 4 GiB (the frame decoder
/// bounds them), so this never saturates in practice; if it did, lookups would fail rather
/// than read out of bounds.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> ExtFields {
        let mut fields = ExtFields::new();
        fields.extend(iter);
        fields
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.as_ref(), v.as_ref());
        }
    }
}

/// Fields compare equal when they hold the same names and values, whatever unused text
/// their buffers keep.
impl PartialEq for ExtFields {
    fn eq(&self, other: &ExtFields) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Panics when `name` is absent, as a map's index does (tests and known-present fields).
impl std::ops::Index<&str> for ExtFields {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no extField {name:?}"),
        }
    }
}

/// A JSON object of string values, in name order.
impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    #[test]
    fn a_sorted_map_of_text() {
        let mut f = ExtFields::new();
        assert!(f.is_empty());
        f.insert("topic", "T");
        f.insert("queueId", "3");
        f.insert_with("offset", |t| t.push_str("-5"));
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [("offset", "-5"), ("queueId", "3"), ("topic", "T")]
        );
        assert_eq!(f.get("queueId"), Some("3"));
        assert_eq!(&f["topic"], "T");
        assert_eq!(f.get("missing"), None);
        f.insert("topic", "Other");
        assert_eq!(f.len(), 3);
        assert_eq!(f.get("topic"), Some("Other"));
        assert_eq!(f.remove("queueId").as_deref(), Some("3"));
        assert_eq!(f.remove("queueId"), None);
        assert!(!f.contains_key("queueId"));
        let same: ExtFields = [("topic", "Other"), ("offset", "-5")].into_iter().collect();
        assert_eq!(f, same, "unused text in the buffer does not matter");
        assert_eq!(format!("{f:?}"), r#"{"offset": "-5", "topic": "Other"}"#);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"offset":"-5","topic":"Other"}"#
        );
    }

    /// Pushes `fields` as a decoder would, then finishes.
    fn decode(fields: &[(&str, Option<&str>)]) -> ExtFields {
        let mut f = ExtFields::new();
        for (name, value) in fields {
            f.push_decoded_text(name, *value);
        }
        f.finish_decoding();
        f
    }

    #[test]
    fn decoders_leave_what_a_map_would() {
        let f = decode(&[
            ("b", Some("2")),
            ("a", Some("1")),
            ("b", Some("3")),
            ("a", None),
            ("c", None),
            ("c", Some("4")),
        ]);
        assert_eq!(f.iter().collect::<Vec<_>>(), [("b", "3"), ("c", "4")]);
    }

    /// A peer's header in reverse name order: sorted once, not shifted per field (n²/2 moves,
    /// minutes for this many fields, would make this test hang).
    #[test]
    fn many_fields_in_reverse_order_decode_in_one_sort() {
        let names: Vec<String> = (0..200_000).rev().map(|i| format!("{i:06}")).collect();
        let fields: Vec<(&str, Option<&str>)> =
            names.iter().map(|n| (n.as_str(), Some("v"))).collect();
        let f = decode(&fields);
        assert_eq!(f.len(), 200_000);
        assert_eq!(f.iter().next(), Some(("000000", "v")));
        assert_eq!(f.get("199999"), Some("v"));
    }

    proptest! {
        /// Any sequence of inserts and removes leaves the same fields, in the same order, as
        /// the same sequence on a `BTreeMap`.
        #[test]
        fn behaves_as_a_btree_map(ops in prop::collection::vec(
            (any::<bool>(), "[a-d]{0,2}", "\\PC{0,4}"), 0..40)) {
            let mut f = ExtFields::new();
            let mut m = BTreeMap::new();
            for (insert, k, v) in ops {
                if insert {
                    f.insert(&k, &v);
                    m.insert(k, v);
                } else {
                    prop_assert_eq!(f.remove(&k), m.remove(&k));
                }
                prop_assert_eq!(f.len(), m.len());
            }
            let want: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(f.iter().collect::<Vec<_>>(), want);
            for k in m.keys() {
                prop_assert_eq!(f.get(k), m.get(k).map(String::as_str));
            }
        }
    }
}
