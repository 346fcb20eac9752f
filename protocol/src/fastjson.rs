//! fastjson's non-standard JSON, which Java RocketMQ writes and reads, mapped to and from the
//! standard JSON that serde handles.
//!
//! * Maps with integer keys are written with **unquoted** keys: `{"brokerAddrs":{0:"h:p"}}`.
//! * Maps keyed by an object (MessageQueue) use the object itself as key:
//!   `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}}`.
//!
//! [`to_standard`] rewrites both forms into standard JSON (an object key becomes a string that
//! holds the object's JSON text), so any body from a Java peer parses with serde.
//! [`to_legacy`] turns standard JSON with integer-looking keys into the unquoted form that
//! old clients (C++, ali-ons) require in route answers.
//!
//! Both run on one `Scanner`: a single forward pass over the bytes with an explicit stack,
//! so time is linear in the input and no input can exhaust the call stack. Peer input is
//! refused beyond [`MAX_DEPTH`] levels of nesting (real RocketMQ bodies nest fewer than 10),
//! which also keeps serde_json, which parses the result recursively, far from its own limit.
//! Other malformed input is passed through for serde to reject with its own message.

use std::borrow::Cow;

/// Deepest nesting of objects and arrays accepted from a peer.
pub const MAX_DEPTH: usize = 64;

/// Why a body cannot be read as fastjson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("an object used as a map key holds another object used as a key")]
    NestedObjectKey,
}

/// One lexical token and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `{` or `[`.
    Open,
    /// `}` or `]`.
    Close,
    /// A quoted string, quotes included.
    Str,
    /// Anything unquoted: numbers, literals, fastjson's unquoted keys (trimmed), stray bytes.
    Bare,
    /// `:` `,` and whitespace, copied as they are.
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a [u8],
    /// The token stands where an object key belongs.
    key: bool,
    /// Nesting depth after the token (an `Open` counts itself).
    depth: usize,
}

/// Whether a container expects a key next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Object { key_next: bool },
    Array,
}

/// Iterates the tokens of (possibly fastjson) JSON with an explicit nesting stack.
struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Frame>,
    max_depth: usize,
}

impl<'a> Scanner<'a> {
    fn new(input: &'a [u8], max_depth: usize) -> Self {
        Scanner {
            input,
            pos: 0,
            stack: Vec::new(),
            max_depth,
        }
    }

    fn at_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Object { key_next: true }))
    }

    /// Marks the key of the innermost object as consumed.
    fn key_taken(&mut self) {
        if let Some(Frame::Object { key_next }) = self.stack.last_mut() {
            *key_next = false;
        }
    }

    fn next_token(&mut self) -> Option<Result<Token<'a>, ScanError>> {
        let input = self.input;
        let start = self.pos;
        let c = *input.get(start)?;
        let key = self.at_key();
        let kind = match c {
            b'"' => {
                self.pos = string_end(input, start);
                self.key_taken();
                Kind::Str
            }
            b'{' | b'[' => {
                if self.stack.len() >= self.max_depth {
                    return Some(Err(ScanError::TooDeep));
                }
                self.key_taken();
                self.stack.push(if c == b'{' {
                    Frame::Object { key_next: true }
                } else {
                    Frame::Array
                });
                self.pos += 1;
                Kind::Open
            }
            b'}' | b']' => {
                self.stack.pop();
                self.pos += 1;
                Kind::Close
            }
            b',' => {
                if let Some(Frame::Object { key_next }) = self.stack.last_mut() {
                    *key_next = true;
                }
                self.pos += 1;
                Kind::Punct
            }
            b':' => {
                self.pos += 1;
                Kind::Punct
            }
            c if c.is_ascii_whitespace() => {
                self.pos += input[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                Kind::Punct
            }
            _ => {
                // A bare key runs up to its colon (fastjson: `{ -1 :5}`); a bare value up to
                // the next structural byte or whitespace.
                let stop = |b: &u8| {
                    matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'"')
                        || (!key && b.is_ascii_whitespace())
                };
                self.pos += input[start..].iter().take_while(|b| !stop(b)).count();
                self.key_taken();
                let text = &input[start..self.pos];
                let text = if key { text.trim_ascii() } else { text };
                return Some(Ok(Token {
                    kind: Kind::Bare,
                    text,
                    key,
                    depth: self.stack.len(),
                }));
            }
        };
        Some(Ok(Token {
            kind,
            text: &input[start..self.pos],
            key,
            depth: self.stack.len(),
        }))
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Result<Token<'a>, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        let token = self.next_token();
        if matches!(token, Some(Err(_))) {
            self.pos = self.input.len();
        }
        token
    }
}

/// Index just past the string literal starting at `start` (which holds `"`); the input's end
/// for an unterminated string.
fn string_end(input: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < input.len() {
        match input[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    input.len()
}

/// Rewrites fastjson's unquoted and object keys into standard JSON. Input that is already
/// standard is returned borrowed. Nesting beyond [`MAX_DEPTH`] is an error; other malformed
/// input is passed through for serde to reject.
pub fn to_standard(input: &[u8]) -> Result<Cow<'_, [u8]>, ScanError> {
    if !needs_rewrite(input)? {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(input.len() + 16);
    // Output position and depth of the object key being collected, if any.
    let mut key_object: Option<(usize, usize)> = None;
    for token in Scanner::new(input, MAX_DEPTH) {
        let token = token?;
        match token.kind {
            Kind::Open if token.key && token.text == b"{" => {
                if key_object.is_some() {
                    return Err(ScanError::NestedObjectKey);
                }
                key_object = Some((out.len(), token.depth));
                out.extend_from_slice(token.text);
            }
            Kind::Close => {
                out.extend_from_slice(token.text);
                if let Some((start, depth)) = key_object {
                    if token.depth + 1 == depth {
                        // The object used as a key is complete: emit it as a string holding
                        // its JSON text.
                        let text = String::from_utf8_lossy(&out[start..]).into_owned();
                        out.truncate(start);
                        push_json_string(&mut out, &text);
                        key_object = None;
                    }
                }
            }
            Kind::Bare if token.key => {
                push_json_string(&mut out, &String::from_utf8_lossy(token.text));
            }
            _ => out.extend_from_slice(token.text),
        }
    }
    Ok(Cow::Owned(out))
}

/// Rewrites standard JSON so that object keys consisting only of an optional minus sign and
/// digits are unquoted, as fastjson writes `Map<Integer|Long, _>`. Meant for JSON this
/// process serialized, so nesting is not limited.
pub fn to_legacy(json: &str) -> String {
    let mut out = Vec::with_capacity(json.len());
    for token in Scanner::new(json.as_bytes(), usize::MAX).flatten() {
        match token.kind {
            Kind::Str if token.key && token.text.len() >= 2 => {
                let inner = &token.text[1..token.text.len() - 1];
                if is_integer(inner) && token.text.ends_with(b"\"") {
                    out.extend_from_slice(inner);
                } else {
                    out.extend_from_slice(token.text);
                }
            }
            _ => out.extend_from_slice(token.text),
        }
    }
    // Only whole ASCII quote bytes were removed, so the output is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether any key position holds something other than a quoted string.
fn needs_rewrite(input: &[u8]) -> Result<bool, ScanError> {
    for token in Scanner::new(input, MAX_DEPTH) {
        let token = token?;
        if token.key && matches!(token.kind, Kind::Bare | Kind::Open) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(
        serde_json::Value::String(text.to_string())
            .to_string()
            .as_bytes(),
    );
}

fn is_integer(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_str(s: &str) -> String {
        String::from_utf8(to_standard(s.as_bytes()).unwrap().into_owned()).unwrap()
    }

    #[test]
    fn quotes_unquoted_integer_keys() {
        assert_eq!(
            std_str(r#"{"brokerAddrs":{0:"10.0.0.2:10911",1:"10.0.0.3:10911"},"n":[1,2]}"#),
            r#"{"brokerAddrs":{"0":"10.0.0.2:10911","1":"10.0.0.3:10911"},"n":[1,2]}"#
        );
        assert_eq!(
            std_str(r#"{"offsetTable":{"T@G":{ 0 :12, -1:40}}}"#),
            r#"{"offsetTable":{"T@G":{ "0":12, "-1":40}}}"#
        );
    }

    #[test]
    fn standard_input_is_borrowed() {
        let s = br#"{"a":[1,2,{"b":"c,{d"}],"e":{"0":1}}"#;
        assert!(matches!(to_standard(s), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn object_keys_become_strings() {
        let s = std_str(
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":5}}}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let (k, val) = v["offsetTable"].as_object().unwrap().iter().next().unwrap();
        let key: serde_json::Value = serde_json::from_str(k).unwrap();
        assert_eq!(key["topic"], "T");
        assert_eq!(val["brokerOffset"], 5);
    }

    #[test]
    fn object_keys_with_unquoted_inner_keys_and_several_entries() {
        let s = std_str(r#"{"t":{{"q":0,1:"x"}:1,{"q":1}:[{2:3}]}}"#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let t = v["t"].as_object().unwrap();
        assert_eq!(t.len(), 2);
        let first: serde_json::Value = serde_json::from_str(t.keys().next().unwrap()).unwrap();
        assert_eq!(first["1"], "x");
        assert_eq!(t[r#"{"q":1}"#][0]["2"], 3);
    }

    #[test]
    fn legacy_unquotes_only_integer_keys() {
        let s = r#"{"brokerDatas":[{"brokerAddrs":{"0":"a:1","12":"b:2"},"brokerName":"0x"}],"t":{"-3":"x","3a":"y"},"v":"0"}"#;
        assert_eq!(
            to_legacy(s),
            r#"{"brokerDatas":[{"brokerAddrs":{0:"a:1",12:"b:2"},"brokerName":"0x"}],"t":{-3:"x","3a":"y"},"v":"0"}"#
        );
        assert_eq!(std_str(&to_legacy(s)), s);
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        // The crash frame of the hardening issue: 1 MiB of `{`.
        let body = vec![b'{'; 1 << 20];
        assert_eq!(to_standard(&body), Err(ScanError::NestedObjectKey));
        let objects = r#"{"a":"#.repeat(100_000);
        assert_eq!(to_standard(objects.as_bytes()), Err(ScanError::TooDeep));
        let arrays = vec![b'['; 1 << 20];
        assert_eq!(to_standard(&arrays), Err(ScanError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(to_standard(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(to_standard(deep.as_bytes()), Err(ScanError::TooDeep));
        assert_eq!(to_legacy(&"{".repeat(10_000)).len(), 10_000);
    }

    #[test]
    fn object_keys_do_not_nest() {
        assert_eq!(
            to_standard(br#"{{{"a":1}:2}:3}"#),
            Err(ScanError::NestedObjectKey)
        );
    }

    #[test]
    fn malformed_input_passes_through() {
        for bad in [
            &b"}}]]{"[..],
            b"\"unterminated",
            b"{1",
            b"{:}",
            b"\xff\xfe{0:\xff}",
        ] {
            assert!(to_standard(bad).is_ok(), "{bad:?}");
        }
    }
}
