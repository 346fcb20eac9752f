//! The one configuration mechanism of the servers: a struct declared with
//! [`config_struct!`](crate::config_struct) lists every setting once — RocketMQ key, field,
//! type, default and doc — and gets `Default`, setting a key from text, and listing every key
//! with its value. A struct may embed others (the broker's configuration embeds the store's),
//! whose keys it then accepts.
//!
//! [`apply_file`] reads a properties file into such a struct and reports every problem of
//! the file at once, each with `file:line`: values that do not parse are errors; unknown keys
//! are warnings that suggest the nearest known key (RocketMQ ignores unknown keys too).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::properties_file::{self, PropertiesError};

/// A type a setting can have: parsed from and shown as properties text.
pub trait ConfigValue: Sized {
    /// Parses a value; the error says what was expected.
    fn parse_value(s: &str) -> Result<Self, String>;
    /// The value as it would be written in the file.
    fn show(&self) -> String;
}

macro_rules! from_str_value {
    ($($t:ty => $what:literal),* $(,)?) => {$(
        impl ConfigValue for $t {
            fn parse_value(s: &str) -> Result<Self, String> {
                s.trim().parse::<$t>().map_err(|_| format!("expected {}", $what))
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
from_str_value!(
    i32 => "an integer",
    i64 => "an integer",
    u16 => "an integer from 0 to 65535",
    u32 => "a non-negative integer",
    u64 => "a non-negative integer",
    usize => "a non-negative integer",
    IpAddr => "an IP address",
);

/// `true` or `false` in any case. (Java reads any other text as false; a typo here should
/// not silently turn a feature off.)
impl ConfigValue for bool {
    fn parse_value(s: &str) -> Result<Self, String> {
        match s.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(true),
            t if t.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err("expected true or false".to_string()),
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for String {
    fn parse_value(s: &str) -> Result<Self, String> {
        Ok(s.trim().to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
}

/// A path; a leading `~` is the home directory.
impl ConfigValue for PathBuf {
    fn parse_value(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("expected a path".to_string());
        }
        Ok(expand_home(s))
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
}

/// An optional path: empty means none.
impl ConfigValue for Option<PathBuf> {
    fn parse_value(s: &str) -> Result<Self, String> {
        let s = s.trim();
        Ok((!s.is_empty()).then(|| expand_home(s)))
    }
    fn show(&self) -> String {
        self.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// An optional port: empty means none (the key's documented default applies).
impl ConfigValue for Option<u16> {
    fn parse_value(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        u16::parse_value(s).map(Some)
    }
    fn show(&self) -> String {
        self.map(|p| p.to_string()).unwrap_or_default()
    }
}

/// A secret setting (a secret key): listings show `******` in its place, debug output never
/// shows it; [`Secret::expose`] gives the text to the code that uses it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret(******)"
        })
    }
}

impl ConfigValue for Secret {
    fn parse_value(s: &str) -> Result<Self, String> {
        Ok(Secret(s.trim().to_string()))
    }
    fn show(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            "******".to_string()
        }
    }
}

/// A duration written in milliseconds, as every RocketMQ interval key is.
impl ConfigValue for Duration {
    fn parse_value(s: &str) -> Result<Self, String> {
        s.trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| "expected a number of milliseconds".to_string())
    }
    fn show(&self) -> String {
        self.as_millis().to_string()
    }
}

/// Expands a leading `~` to `$HOME`.
pub fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest.trim_start_matches('/')),
        _ => PathBuf::from(s),
    }
}

/// What a [`config_struct!`](crate::config_struct) struct can do with its keys.
pub trait ConfigKeys {
    /// Sets `key` from text. `Ok(false)`: not a key of this struct.
    fn set(&mut self, key: &str, value: &str) -> Result<bool, String>;
    /// Every key with its current value, in declaration order.
    fn entries(&self) -> Vec<(&'static str, String)>;
    /// Every key.
    fn keys() -> Vec<&'static str>;

    /// Every key as `key=value` lines.
    fn to_properties(&self) -> String {
        self.entries()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }
}

/// Declares a configuration struct; see the module docs.
///
/// ```
/// use fennec_common::config::ConfigKeys;
///
/// fennec_common::config_struct! {
///     /// Example settings.
///     pub struct Example {
///         /// Port to listen on.
///         "listenPort" => listen_port: u16 = 9876,
///     }
/// }
///
/// let mut e = Example::default();
/// assert!(e.set("listenPort", "10").unwrap());
/// assert_eq!(e.listen_port, 10);
/// ```
#[macro_export]
macro_rules! config_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$doc:meta])* $key:literal => $field:ident : $ty:ty = $default:expr, )*
        }
        $( embeds { $( $(#[$edoc:meta])* $efield:ident : $ety:ty, )* } )?
        $( plain { $( $(#[$pdoc:meta])* $pfield:ident : $pty:ty = $pdefault:expr, )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $( $(#[$doc])* #[doc = concat!("\n\nKey `", $key, "`.")] pub $field: $ty, )*
            $( $( $(#[$edoc])* pub $efield: $ety, )* )?
            $( $( $(#[$pdoc])* pub $pfield: $pty, )* )?
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: $default, )*
                    $( $( $efield: <$ety>::default(), )* )?
                    $( $( $pfield: $pdefault, )* )?
                }
            }
        }

        impl $crate::config::ConfigKeys for $name {
            fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
                match key {
                    $( $key => {
                        self.$field = <$ty as $crate::config::ConfigValue>::parse_value(value)?;
                        return Ok(true);
                    } )*
                    _ => {}
                }
                $( $( if $crate::config::ConfigKeys::set(&mut self.$efield, key, value)? { return Ok(true); } )* )?
                Ok(false)
            }

            fn entries(&self) -> Vec<(&'static str, String)> {
                #[allow(unused_mut)]
                let mut out = vec![ $( ($key, $crate::config::ConfigValue::show(&self.$field)), )* ];
                $( $( out.extend($crate::config::ConfigKeys::entries(&self.$efield)); )* )?
                out
            }

            fn keys() -> Vec<&'static str> {
                #[allow(unused_mut)]
                let mut out = vec![ $( $key, )* ];
                $( $( out.extend(<$ety as $crate::config::ConfigKeys>::keys()); )* )?
                out
            }
        }
    };
}

/// One problem of a configuration file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file, or "command line".
    pub origin: String,
    /// 1-based; 0 when the problem has no line.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.origin, self.message),
            n => write!(f, "{}:{}: {}", self.origin, n, self.message),
        }
    }
}

/// Every problem that stopped a configuration from loading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl ConfigErrors {
    /// One problem without a line.
    pub fn one(origin: &str, message: impl Into<String>) -> Self {
        ConfigErrors(vec![ConfigProblem {
            origin: origin.to_string(),
            line: 0,
            message: message.into(),
        }])
    }
}

impl From<PropertiesError> for ConfigErrors {
    fn from(e: PropertiesError) -> Self {
        match e {
            PropertiesError::Read { path, source } => {
                ConfigErrors::one(&path, format!("cannot read: {source}"))
            }
            PropertiesError::Syntax {
                path,
                line,
                message,
            } => ConfigErrors(vec![ConfigProblem {
                origin: path,
                line,
                message,
            }]),
        }
    }
}

/// Reads the properties file at `path` into `config`. Returns the warnings (unknown keys,
/// with the nearest known key suggested); fails with every invalid value of the file.
pub fn apply_file<C: ConfigKeys>(
    config: &mut C,
    path: &Path,
) -> Result<Vec<ConfigProblem>, ConfigErrors> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PropertiesError::Read {
        path: origin.clone(),
        source,
    })?;
    apply_text(config, &text, &origin)
}

/// [`apply_file`] for text already in hand; `origin` names it in messages.
pub fn apply_text<C: ConfigKeys>(
    config: &mut C,
    text: &str,
    origin: &str,
) -> Result<Vec<ConfigProblem>, ConfigErrors> {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for p in properties_file::parse(text, origin)? {
        let problem = |message: String| ConfigProblem {
            origin: origin.to_string(),
            line: p.line,
            message,
        };
        match config.set(&p.key, &p.value) {
            Ok(true) => {}
            Ok(false) => warnings.push(problem(unknown_key_message::<C>(&p.key))),
            Err(reason) => errors.push(problem(format!(
                "invalid value {:?} for {}: {reason}",
                p.value, p.key
            ))),
        }
    }
    if errors.is_empty() {
        Ok(warnings)
    } else {
        // Unknown keys are often the cause of what follows (a misspelt key keeps a default):
        // show them with the errors, in file order.
        errors.extend(warnings);
        errors.sort_by_key(|p| p.line);
        Err(ConfigErrors(errors))
    }
}

/// "unknown key brokerNmae (did you mean brokerName?), ignored".
pub fn unknown_key_message<C: ConfigKeys>(key: &str) -> String {
    match nearest(key, &C::keys()) {
        Some(known) => format!("unknown key {key} (did you mean {known}?), ignored"),
        None => format!("unknown key {key}, ignored"),
    }
}

/// The known key closest to `key`, if it is close enough to be a typo.
fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.len() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, with a transposition counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::config_struct! {
        /// Inner settings.
        pub struct Inner {
            /// A directory.
            "storePathRootDir" => root: PathBuf = PathBuf::from("/s"),
        }
    }

    crate::config_struct! {
        /// Outer settings.
        pub struct Outer {
            "brokerName" => broker_name: String = "broker-a".to_string(),
            "listenPort" => listen_port: u16 = 10911,
            "syncFlushTimeout" => sync_flush_timeout: Duration = Duration::from_secs(5),
            "autoCreateTopicEnable" => auto_create: bool = true,
        }
        embeds {
            inner: Inner,
        }
        plain {
            /// Not a key.
            note: Option<String> = None,
        }
    }

    #[test]
    fn keys_defaults_embedding_and_listing() {
        let mut c = Outer::default();
        assert_eq!(c.listen_port, 10911);
        assert!(c.set("storePathRootDir", "/data").unwrap());
        assert_eq!(c.inner.root, PathBuf::from("/data"));
        assert!(c.set("syncFlushTimeout", "250").unwrap());
        assert_eq!(c.sync_flush_timeout, Duration::from_millis(250));
        assert!(!c.set("nope", "1").unwrap());
        assert_eq!(
            c.set("autoCreateTopicEnable", "yes").unwrap_err(),
            "expected true or false"
        );
        assert_eq!(
            Outer::keys(),
            [
                "brokerName",
                "listenPort",
                "syncFlushTimeout",
                "autoCreateTopicEnable",
                "storePathRootDir"
            ]
        );
        assert!(c.to_properties().contains("storePathRootDir=/data\n"));
        assert!(c.note.is_none());
    }

    #[test]
    fn every_problem_of_a_file_is_reported_with_its_line() {
        let mut c = Outer::default();
        let text =
            "brokerNmae=x\nlistenPort=10x11\nautoCreateTopicEnable=maybe\nrocketmqHome=/opt\n";
        let errors = apply_text(&mut c, text, "broker.conf").unwrap_err();
        assert_eq!(
            errors.to_string(),
            "broker.conf:1: unknown key brokerNmae (did you mean brokerName?), ignored\n\
             broker.conf:2: invalid value \"10x11\" for listenPort: expected an integer from 0 to 65535\n\
             broker.conf:3: invalid value \"maybe\" for autoCreateTopicEnable: expected true or false\n\
             broker.conf:4: unknown key rocketmqHome, ignored"
        );
        let warnings = apply_text(&mut c, "brokerNmae=x\nrocketmqHome=/opt\n", "b.conf").unwrap();
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "b.conf:1: unknown key brokerNmae (did you mean brokerName?), ignored",
                "b.conf:2: unknown key rocketmqHome, ignored"
            ]
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("brokernmae", "brokername"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("listenport", "listenport"), 0);
        assert_eq!(
            nearest("listenprot", &["listenPort", "bindAddress"]),
            Some("listenPort")
        );
        assert_eq!(nearest("zzz", &["listenPort"]), None);
    }
}
