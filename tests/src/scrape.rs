//! HTTP for tests, without an HTTP client crate: [`http_get`] sends one GET over a plain
//! socket and returns status and body; [`Scrape`] parses Prometheus text format into
//! samples that tests look up by name and labels.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `GET path` on `addr` (`ip:port`) with `Connection: close`: (status code, body).
///
/// # Panics
/// When the server cannot be reached or answers something that is not HTTP/1.1.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, "")
}

/// `POST path` with a form body (`a=b&c=d`): (status code, body).
///
/// # Panics
/// As [`http_get`].
pub fn http_post_form(addr: &str, path: &str, form: &str) -> (u16, String) {
    http_request(addr, "POST", path, form)
}

fn http_request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let form = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/x-www-form-urlencoded\r\n".to_string()
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{form}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap_or_else(|e| panic!("send to {addr}: {e}"));
    let mut reply = Vec::new();
    s.read_to_end(&mut reply)
        .unwrap_or_else(|e| panic!("read from {addr}: {e}"));
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header end in {reply:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// The payload of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// One scrape of a `/metrics` endpoint.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Scrapes `http://addr/metrics`.
    ///
    /// # Panics
    /// When the endpoint does not answer 200.
    pub fn get(addr: &str) -> Scrape {
        let (status, text) = http_get(addr, "/metrics");
        assert_eq!(status, 200, "GET /metrics on {addr}: {text}");
        Scrape::parse(text)
    }

    /// Parses Prometheus text format (comments skipped; label values must not contain `,`
    /// or `}`, which Fennec's names and numbers do not).
    pub fn parse(text: String) -> Scrape {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            samples.push((name.to_string(), labels, value));
        }
        Scrape { text, samples }
    }

    /// The value of the sample `name` whose labels include `labels`, if exactly one does.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = self.samples.iter().filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
        });
        let first = found.next()?;
        found.next().is_none().then_some(first.2)
    }

    /// Every sample called `name`: (labels, value).
    pub fn all(&self, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone(), *v))
            .collect()
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim().to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples() {
        let s = Scrape::parse(
            "# HELP x X.\nx_total{topic=\"T\",group=\"G\"} 3\ny 1.5\nz{le=\"+Inf\"} 2\n".into(),
        );
        assert_eq!(s.value("x_total", &[("topic", "T")]), Some(3.0));
        assert_eq!(
            s.value("x_total", &[("group", "G"), ("topic", "T")]),
            Some(3.0)
        );
        assert_eq!(s.value("y", &[]), Some(1.5));
        assert_eq!(s.value("z", &[("le", "+Inf")]), Some(2.0));
        assert_eq!(s.value("x_total", &[("topic", "U")]), None);
        assert_eq!(dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
    }
}
