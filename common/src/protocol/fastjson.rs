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

use std::borrow::Cow;

/// Rewrites fastjson's unquoted and object keys into standard JSON. Input that is already
/// standard is returned borrowed. Malformed input is passed through for serde to reject.
pub fn to_standard(input: &[u8]) -> Cow<'_, [u8]> {
    if !needs_rewrite(input) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut stack: Vec<u8> = Vec::new();
    let mut expecting_key = false;
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        match c {
            b'"' => {
                let end = string_end(input, i);
                out.extend_from_slice(&input[i..end]);
                expecting_key = false;
                i = end;
                continue;
            }
            b'{' if expecting_key => {
                // An object used as a map key: emit it as a string holding its JSON text.
                let end = value_end(input, i);
                let inner = to_standard(&input[i..end]).into_owned();
                let text = String::from_utf8_lossy(&inner);
                out.extend_from_slice(
                    serde_json::Value::String(text.into_owned())
                        .to_string()
                        .as_bytes(),
                );
                expecting_key = false;
                i = end;
                continue;
            }
            b'{' => {
                stack.push(b'{');
                expecting_key = true;
            }
            b'[' => {
                stack.push(b'[');
                expecting_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expecting_key = false;
            }
            b',' => expecting_key = stack.last() == Some(&b'{'),
            c if c.is_ascii_whitespace() => {}
            _ if expecting_key => {
                // An unquoted key runs up to the colon.
                let start = i;
                while i < input.len() && input[i] != b':' {
                    i += 1;
                }
                let key = String::from_utf8_lossy(&input[start..i]);
                out.extend_from_slice(
                    serde_json::Value::String(key.trim().to_string())
                        .to_string()
                        .as_bytes(),
                );
                expecting_key = false;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

/// Rewrites standard JSON so that object keys consisting only of an optional minus sign and
/// digits are unquoted, as fastjson writes `Map<Integer|Long, _>`.
pub fn to_legacy(json: &str) -> String {
    let input = json.as_bytes();
    let mut out = Vec::with_capacity(input.len());
    let mut stack: Vec<u8> = Vec::new();
    let mut expecting_key = false;
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        match c {
            b'"' => {
                let end = string_end(input, i);
                let inner = &input[i + 1..end.saturating_sub(1).max(i + 1)];
                if expecting_key && is_integer(inner) {
                    out.extend_from_slice(inner);
                } else {
                    out.extend_from_slice(&input[i..end]);
                }
                expecting_key = false;
                i = end;
                continue;
            }
            b'{' => {
                stack.push(b'{');
                expecting_key = true;
            }
            b'[' => {
                stack.push(b'[');
                expecting_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expecting_key = false;
            }
            b',' => expecting_key = stack.last() == Some(&b'{'),
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    // Only whole ASCII tokens were removed or kept, so the output is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn is_integer(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// Cheap pre-check: does any key position hold something other than a quoted string?
fn needs_rewrite(input: &[u8]) -> bool {
    let mut stack: Vec<u8> = Vec::new();
    let mut expecting_key = false;
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        match c {
            b'"' => {
                i = string_end(input, i);
                expecting_key = false;
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            b'}' if expecting_key => {
                stack.pop();
                expecting_key = false;
            }
            _ if expecting_key => return true,
            b'{' => {
                stack.push(b'{');
                expecting_key = true;
            }
            b'[' => stack.push(b'['),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => expecting_key = stack.last() == Some(&b'{'),
            _ => {}
        }
        i += 1;
    }
    false
}

/// Index just past the string literal starting at `start` (which holds `"`).
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

/// Index just past the balanced object or array starting at `start`.
fn value_end(input: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < input.len() {
        match input[i] {
            b'"' => {
                i = string_end(input, i);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    input.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_str(s: &str) -> String {
        String::from_utf8(to_standard(s.as_bytes()).into_owned()).unwrap()
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
        assert!(matches!(to_standard(s), Cow::Borrowed(_)));
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
    fn legacy_unquotes_only_integer_keys() {
        let s = r#"{"brokerDatas":[{"brokerAddrs":{"0":"a:1","12":"b:2"},"brokerName":"0x"}],"t":{"-3":"x","3a":"y"},"v":"0"}"#;
        assert_eq!(
            to_legacy(s),
            r#"{"brokerDatas":[{"brokerAddrs":{0:"a:1",12:"b:2"},"brokerName":"0x"}],"t":{-3:"x","3a":"y"},"v":"0"}"#
        );
        assert_eq!(std_str(&to_legacy(s)), s);
    }
}
