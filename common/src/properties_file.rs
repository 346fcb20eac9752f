//! Java `.properties` text, as RocketMQ's `broker.conf` and `namesrv.conf` are written: one
//! entry per logical line, `key=value`, `key:value` or `key value`; lines starting with `#`
//! or `!` are comments; a line ending in an odd number of backslashes continues on the next
//! line; `\t`, `\n`, `\r`, `\f` and `\uXXXX` are escapes and any other escaped character
//! stands for itself (so `\=` and `\:` put separators into keys). Parsing is one linear pass.

use std::path::Path;

/// A file that cannot be read, or a line that cannot be parsed.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
}

/// One entry and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses properties text; `origin` names it in errors (a path, or "command line").
pub fn parse(text: &str, origin: &str) -> Result<Vec<Property>, PropertiesError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let start = first.trim_start();
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes escapes the newline.
        let mut logical = String::from(start);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let line = index + 1;
        let syntax = |message: String| PropertiesError::Syntax {
            path: origin.to_string(),
            line,
            message,
        };
        let (key, rest) = split_key(&logical);
        let key = unescape(key).map_err(&syntax)?;
        if key.is_empty() {
            return Err(syntax(format!("expected key=value, found {logical:?}")));
        }
        let value = unescape(rest.trim_end()).map_err(&syntax)?;
        out.push(Property { key, value, line });
    }
    Ok(out)
}

/// Reads and parses the properties file at `path`.
pub fn read(path: &Path) -> Result<Vec<Property>, PropertiesError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PropertiesError::Read {
        path: display.clone(),
        source,
    })?;
    parse(&text, &display)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Splits a logical line into its raw key and raw value: the key ends at the first
/// unescaped `=`, `:` or whitespace; then whitespace and at most one `=` or `:` are skipped.
fn split_key(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r;
    }
    (key, rest.trim_start_matches([' ', '\t', '\x0c']))
}

/// Resolves escapes.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("malformed \\u escape \\u{hex}"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text, "f")
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    #[test]
    fn rocketmq_files_parse() {
        let text = "# comment\n! also\n\nbrokerName = broker-a\nlistenPort:10911\nnamesrvAddr=a:1;b:2\nempty=\n";
        let p = parse(text, "broker.conf").unwrap();
        let pairs: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("brokerName", "broker-a"),
                ("listenPort", "10911"),
                ("namesrvAddr", "a:1;b:2"),
                ("empty", "")
            ]
        );
        assert_eq!(p[1].line, 5);
    }

    #[test]
    fn java_forms_escapes_and_continuations() {
        assert_eq!(
            kv("a b c\n  spaced\t=\tv \nflag\nk\\=x=1\npath=C:\\\\dir\nu=\\u0041\\t\nlong = one, \\\n    two\n"),
            [
                ("a".into(), "b c".into()),
                ("spaced".into(), "v".into()),
                ("flag".into(), String::new()),
                ("k=x".into(), "1".into()),
                ("path".into(), "C:\\dir".into()),
                ("u".into(), "A\t".into()),
                ("long".into(), "one, two".into()),
            ]
        );
        let err = parse("ok=1\n=novalue\n", "f").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f:2: expected key=value, found \"=novalue\""
        );
        assert!(parse("x=\\u12\n", "f").is_err());
    }
}
