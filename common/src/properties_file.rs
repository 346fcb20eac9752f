//! RocketMQ-style properties files (`broker.conf`, `namesrv.properties`): `key=value` lines,
//! `#` or `!` comments, blank lines ignored, `:` accepted as separator, surrounding spaces
//! trimmed. Values are returned as text; each configuration type parses its own.

use std::path::Path;

/// A malformed line or an unreadable file.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected key=value, found {text:?}")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
}

/// One `key=value` entry with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses properties text; `origin` names the source in error messages.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Property>, PropertiesError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let sep = line
            .find(['=', ':'])
            .ok_or_else(|| PropertiesError::Syntax {
                path: origin.to_string(),
                line: i + 1,
                text: line.to_string(),
            })?;
        let key = line[..sep].trim();
        if key.is_empty() {
            return Err(PropertiesError::Syntax {
                path: origin.to_string(),
                line: i + 1,
                text: line.to_string(),
            });
        }
        out.push(Property {
            key: key.to_string(),
            value: line[sep + 1..].trim().to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// Reads and parses a properties file.
pub fn read(path: &Path) -> Result<Vec<Property>, PropertiesError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PropertiesError::Read {
        path: display.clone(),
        source,
    })?;
    parse(&text, &display)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_style() {
        let text = "# comment\n! also\n\nbrokerName = broker-a\nlistenPort:10911\nnamesrvAddr=a:1;b:2\nempty=\n";
        let p = parse(text, "broker.conf").unwrap();
        let kv: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            [
                ("brokerName", "broker-a"),
                ("listenPort", "10911"),
                ("namesrvAddr", "a:1;b:2"),
                ("empty", "")
            ]
        );
        assert_eq!(p[1].line, 5);
        let err = parse("ok=1\njunk line\n", "f").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f:2: expected key=value, found \"junk line\""
        );
    }
}
