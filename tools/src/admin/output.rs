//! How results reach the operator: aligned tables and `key: value` blocks for people, one
//! JSON document for scripts (`--json`), and message bodies rendered as text or hex.
//!
//! Every command result implements [`Report`] (serde for JSON plus a human rendering).
//! Commands that stream messages write them one at a time through [`Printer::item`]; in
//! JSON mode the items form one array.

use std::io::{self, Write};

use fennec_protocol::message::msg_id::to_hex;
use serde::Serialize;

/// Bodies longer than this (in characters of their rendering) are cut in list views.
pub const BODY_PREVIEW_CHARS: usize = 80;

/// Output format chosen by `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// A command result: serializable for `--json`, with a rendering for people.
pub trait Report: Serialize {
    /// Appends the human rendering (ending with a newline).
    fn human(&self, out: &mut String);

    /// Servers that failed while others answered: printed on stderr, and the exit code is
    /// non-zero. JSON objects also carry them in an `errors` field (JSON arrays cannot).
    fn errors(&self) -> &[String] {
        &[]
    }
}

/// The text a report prints in `format`.
pub fn render<R: Report + ?Sized>(report: &R, format: Format) -> String {
    match format {
        Format::Human => {
            let mut s = String::new();
            report.human(&mut s);
            s
        }
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)
                .unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()));
            s.push('\n');
            s
        }
    }
}

/// Writes reports, or a stream of list items, to `W`.
#[derive(Debug)]
pub struct Printer<W: Write> {
    w: W,
    format: Format,
    items: usize,
}

impl<W: Write> Printer<W> {
    pub fn new(w: W, format: Format) -> Self {
        Printer {
            w,
            format,
            items: 0,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Prints one whole result.
    pub fn report<R: Report + ?Sized>(&mut self, report: &R) -> io::Result<()> {
        self.w.write_all(render(report, self.format).as_bytes())
    }

    /// Prints one element of a streamed list (a compact line inside one JSON array).
    pub fn item<R: Report + ?Sized>(&mut self, item: &R) -> io::Result<()> {
        match self.format {
            Format::Human => {
                let mut s = String::new();
                item.human(&mut s);
                self.w.write_all(s.as_bytes())?;
            }
            Format::Json => {
                let json = serde_json::to_string(item)
                    .unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()));
                let sep = if self.items == 0 { "[\n" } else { ",\n" };
                self.w.write_all(sep.as_bytes())?;
                self.w.write_all(json.as_bytes())?;
            }
        }
        self.items += 1;
        Ok(())
    }

    /// Ends a streamed list (JSON: closes the array, or prints `[]` if it was empty).
    pub fn finish_list(&mut self) -> io::Result<()> {
        if self.format == Format::Json {
            let end = if self.items == 0 { "[]\n" } else { "\n]\n" };
            self.w.write_all(end.as_bytes())?;
        }
        self.w.flush()
    }

    /// Items written so far.
    pub fn items(&self) -> usize {
        self.items
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

/// A table whose columns are padded to their widest cell, separated by two spaces.
/// Columns holding only numbers are right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: AsRef<str>>(header: &[S]) -> Self {
        Table {
            header: header.iter().map(|h| h.as_ref().to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells print empty, extra cells are dropped.
    pub fn push(&mut self, mut row: Vec<String>) {
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the table, one line per row after the header.
    pub fn render(&self, out: &mut String) {
        let n = self.header.len();
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain([self.header[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..n).map(width).collect();
        let numeric: Vec<bool> = (0..n)
            .map(|i| {
                let mut cells = self
                    .rows
                    .iter()
                    .map(|r| r[i].as_str())
                    .filter(|c| !c.is_empty());
                let mut any = false;
                let all = cells.all(|c| {
                    any = true;
                    c.parse::<f64>().is_ok()
                });
                any && all
            })
            .collect();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i] - cell.chars().count();
                if numeric[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < n {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// Appends `key: value` lines with the keys padded to the longest.
pub fn key_values<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)], out: &mut String) {
    let width = pairs
        .iter()
        .map(|(k, _)| k.as_ref().chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in pairs {
        let k = k.as_ref();
        out.push_str(k);
        out.push(':');
        out.extend(std::iter::repeat_n(' ', width - k.chars().count() + 1));
        out.push_str(v.as_ref());
        out.push('\n');
    }
}

/// How a body is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    /// UTF-8 text without control characters (tab, CR and LF allowed).
    Text,
    /// Anything else, as uppercase hex.
    Hex,
}

/// The whole body as text or hex.
pub fn body_text(body: &[u8]) -> (BodyEncoding, String) {
    match std::str::from_utf8(body) {
        Ok(s)
            if !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
        {
            (BodyEncoding::Text, s.to_string())
        }
        _ => (BodyEncoding::Hex, to_hex(body)),
    }
}

/// The body on one line: text with tab/CR/LF escaped, or `0x` + hex; cut to
/// [`BODY_PREVIEW_CHARS`] characters with a note unless `full`.
pub fn body_preview(body: &[u8], full: bool) -> String {
    let shown = match body_text(body) {
        (BodyEncoding::Text, s) => s
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t"),
        (BodyEncoding::Hex, h) => format!("0x{h}"),
    };
    if full || shown.chars().count() <= BODY_PREVIEW_CHARS {
        return shown;
    }
    let cut: String = shown.chars().take(BODY_PREVIEW_CHARS).collect();
    format!(
        "{cut}… (truncated, {} bytes; --full-body to show all)",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_and_right_aligns_numbers() {
        let mut t = Table::new(&["#Topic", "#QID", "#Last"]);
        t.push(vec!["TopicA".into(), "0".into(), "x".into()]);
        t.push(vec!["T".into(), "12".into()]);
        let mut s = String::new();
        t.render(&mut s);
        assert_eq!(
            s,
            "#Topic  #QID  #Last\n\
             TopicA     0  x\n\
             T         12\n"
        );
        assert!(!t.is_empty());
        let mut kv = String::new();
        key_values(&[("a", "1"), ("long key", "2")], &mut kv);
        assert_eq!(kv, "a:        1\nlong key: 2\n");
    }

    #[derive(Serialize)]
    struct Item {
        n: i32,
    }

    impl Report for Item {
        fn human(&self, out: &mut String) {
            out.push_str(&format!("item {}\n", self.n));
        }
    }

    #[test]
    fn json_documents_and_streams() {
        assert_eq!(render(&Item { n: 1 }, Format::Human), "item 1\n");
        let v: serde_json::Value =
            serde_json::from_str(&render(&Item { n: 1 }, Format::Json)).unwrap();
        assert_eq!(v["n"], 1);

        let mut p = Printer::new(Vec::new(), Format::Json);
        p.item(&Item { n: 1 }).unwrap();
        p.item(&Item { n: 2 }).unwrap();
        p.finish_list().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&p.into_inner()).unwrap();
        assert_eq!(v, serde_json::json!([{"n": 1}, {"n": 2}]));

        let mut empty = Printer::new(Vec::new(), Format::Json);
        empty.finish_list().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&empty.into_inner()).unwrap();
        assert_eq!(v, serde_json::json!([]));

        let mut human = Printer::new(Vec::new(), Format::Human);
        human.item(&Item { n: 3 }).unwrap();
        human.finish_list().unwrap();
        assert_eq!(human.items(), 1);
        assert_eq!(human.into_inner(), b"item 3\n");
    }

    #[test]
    fn bodies_render_as_text_or_hex_and_truncate() {
        assert_eq!(
            body_text(b"hi\tthere\n"),
            (BodyEncoding::Text, "hi\tthere\n".into())
        );
        assert_eq!(body_text(&[0x00, 0xFF]), (BodyEncoding::Hex, "00FF".into()));
        assert_eq!(
            body_text(b"bell\x07"),
            (BodyEncoding::Hex, "62656C6C07".into())
        );
        assert_eq!(body_text("héllo".as_bytes()).0, BodyEncoding::Text);
        assert_eq!(body_preview(b"a\nb", false), "a\\nb");
        assert_eq!(body_preview(&[1, 2], false), "0x0102");

        let long = "x".repeat(200);
        let p = body_preview(long.as_bytes(), false);
        assert!(p.starts_with(&"x".repeat(80)));
        assert!(p.ends_with("… (truncated, 200 bytes; --full-body to show all)"));
        assert_eq!(body_preview(long.as_bytes(), true), long);
        // Exactly at the limit: shown whole.
        assert_eq!(
            body_preview("y".repeat(80).as_bytes(), false),
            "y".repeat(80)
        );
        // Multi-byte text is cut on characters, not bytes.
        let wide = "é".repeat(100);
        assert!(body_preview(wide.as_bytes(), false).starts_with(&"é".repeat(80)));
        assert!(body_preview(wide.as_bytes(), false).contains("200 bytes"));
    }
}
