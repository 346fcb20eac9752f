//! `NamesrvConfig` and the RocketMQ properties file it is read from (`mqnamesrv -c FILE`).
//!
//! The file holds `key=value` lines with RocketMQ's key names; blank lines and lines starting
//! with `#` or `!` are comments, and whitespace around keys and values is ignored:
//!
//! ```text
//! # namesrv.conf
//! listenPort=9876
//! kvConfigPath=/data/namesrv/kvConfig.json
//! scanNotActiveBrokerInterval=5000
//! ```
//!
//! Unknown keys (other RocketMQ settings Fennec has no use for) are reported and ignored; a
//! value that does not parse stops startup with the file, line and key in the message.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fennec_remoting::{self as remoting, ServerConfig};

use crate::error::NamesrvError;
use crate::route_limits::RouteLimits;

/// Nameserver settings. Every field has RocketMQ's default unless noted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `listenPort`: TCP port to serve on. Default 9876.
    pub listen_port: u16,
    /// `bindAddress`: address to bind. Default `0.0.0.0` (RocketMQ 5.x's NettyServerConfig
    /// has the same key).
    pub bind_address: IpAddr,
    /// `kvConfigPath`: where the KV store is persisted. Default `~/namesrv/kvConfig.json`.
    pub kv_config_path: PathBuf,
    /// `scanNotActiveBrokerInterval` (ms): how often expired brokers are looked for.
    /// Default 5000 (RocketMQ 5.x).
    pub scan_not_active_broker_interval: Duration,
    /// `brokerChannelExpiredTime` (ms): a broker that has not registered for this long is
    /// dropped, unless its registration carried `heartbeatTimeoutMillis`. Default 120000.
    /// Fennec's key: RocketMQ hard-codes this value.
    pub broker_channel_expired_time: Duration,
    /// `orderMessageEnable`: whether routes carry `orderTopicConf` from the
    /// `ORDER_TOPIC_CONFIG` KV namespace. Default false.
    pub order_message_enable: bool,
    /// `serverMaxConnections`: connections served at once; one more is accepted and closed
    /// at once. Default 10000 (Fennec's key; RocketMQ has no limit).
    pub server_max_connections: usize,
    /// `serverChannelMaxIdleTimeSeconds`: a connection with nothing read or written and no
    /// request in flight this long, or with a frame unfinished this long after its first
    /// byte, is closed (0: never). Default 120 (RocketMQ's NettyServerConfig key).
    pub server_channel_max_idle_time_seconds: u64,
    /// `serverMaxInFlightBytes`: request bytes read but not yet answered across all
    /// connections; beyond it readers wait. Frames larger are refused. Default 268435456.
    pub server_max_in_flight_bytes: usize,
    /// `maxBrokers`, `maxTopics`, `maxClusters`: bounds of the route table; registrations
    /// beyond them are refused. Defaults 10000, 500000 and 1000 (Fennec's keys).
    pub route_limits: RouteLimits,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_port: 9876,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            kv_config_path: default_kv_config_path(),
            scan_not_active_broker_interval: Duration::from_millis(5_000),
            broker_channel_expired_time: Duration::from_millis(120_000),
            order_message_enable: false,
            server_max_connections: remoting::DEFAULT_MAX_CONNECTIONS,
            server_channel_max_idle_time_seconds: remoting::DEFAULT_IDLE_TIMEOUT.as_secs(),
            server_max_in_flight_bytes: remoting::DEFAULT_MAX_IN_FLIGHT_BYTES,
            route_limits: RouteLimits::default(),
        }
    }
}

/// `$HOME/namesrv/kvConfig.json`, or a path relative to the working directory without HOME.
fn default_kv_config_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join("namesrv").join("kvConfig.json")
}

impl NamesrvConfig {
    /// Defaults overridden by the properties file at `path`. Unknown keys are logged.
    pub fn load(path: &Path) -> Result<Self, NamesrvError> {
        let text = std::fs::read_to_string(path).map_err(|source| NamesrvError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = NamesrvConfig::default();
        let origin = path.display().to_string();
        for key in config.apply_properties(&text, &origin)? {
            tracing::warn!(file = %origin, "unknown config key {key:?} ignored");
        }
        Ok(config)
    }

    /// Applies every `key=value` line of `text`; returns the keys it does not know.
    pub fn apply_properties(
        &mut self,
        text: &str,
        origin: &str,
    ) -> Result<Vec<String>, NamesrvError> {
        let mut unknown = Vec::new();
        use fennec_common::properties_file::{parse, PropertiesError};
        let properties = parse(text, origin).map_err(|e| match e {
            PropertiesError::Syntax { line, text, .. } => NamesrvError::Config {
                origin: origin.to_string(),
                line,
                message: format!("expected key=value, found {text:?}"),
            },
            other => NamesrvError::Config {
                origin: origin.to_string(),
                line: 0,
                message: other.to_string(),
            },
        })?;
        for p in properties {
            match self.set(&p.key, &p.value) {
                Ok(true) => {}
                Ok(false) => unknown.push(p.key),
                Err(message) => {
                    return Err(NamesrvError::Config {
                        origin: origin.to_string(),
                        line: p.line,
                        message: format!("{}: {message}", p.key),
                    })
                }
            }
        }
        Ok(unknown)
    }

    /// Every setting as `key=value` lines, in the file's syntax (GET_NAMESRV_CONFIG's body).
    pub fn to_properties(&self) -> String {
        let ms = |d: Duration| d.as_millis().to_string();
        [
            ("listenPort", self.listen_port.to_string()),
            ("bindAddress", self.bind_address.to_string()),
            ("kvConfigPath", self.kv_config_path.display().to_string()),
            (
                "scanNotActiveBrokerInterval",
                ms(self.scan_not_active_broker_interval),
            ),
            (
                "brokerChannelExpiredTime",
                ms(self.broker_channel_expired_time),
            ),
            ("orderMessageEnable", self.order_message_enable.to_string()),
            (
                "serverMaxConnections",
                self.server_max_connections.to_string(),
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                self.server_channel_max_idle_time_seconds.to_string(),
            ),
            (
                "serverMaxInFlightBytes",
                self.server_max_in_flight_bytes.to_string(),
            ),
            ("maxBrokers", self.route_limits.max_brokers.to_string()),
            ("maxTopics", self.route_limits.max_topics.to_string()),
            ("maxClusters", self.route_limits.max_clusters.to_string()),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
    }

    /// The remoting server's settings.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::with_limits(
            self.server_max_connections,
            self.server_channel_max_idle_time_seconds,
            self.server_max_in_flight_bytes,
            ServerConfig::default().connection.max_frame,
        )
    }

    /// Sets one setting by its RocketMQ key. `Ok(false)` for an unknown key.
    fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            "listenPort" => self.listen_port = parse(value, "a port number (0-65535)")?,
            "bindAddress" => self.bind_address = parse(value, "an IP address")?,
            "kvConfigPath" => {
                if value.is_empty() {
                    return Err("expected a file path, found nothing".to_string());
                }
                self.kv_config_path = PathBuf::from(value);
            }
            "scanNotActiveBrokerInterval" => self.scan_not_active_broker_interval = millis(value)?,
            "brokerChannelExpiredTime" => self.broker_channel_expired_time = millis(value)?,
            "orderMessageEnable" => self.order_message_enable = boolean(value)?,
            "serverMaxConnections" => self.server_max_connections = positive(value)?,
            "serverChannelMaxIdleTimeSeconds" => {
                self.server_channel_max_idle_time_seconds = parse(value, "a number of seconds")?
            }
            "serverMaxInFlightBytes" => {
                self.server_max_in_flight_bytes = positive(value)?;
                if self.server_max_in_flight_bytes < 64 * 1024 {
                    return Err(format!("must be at least 65536, found {value:?}"));
                }
            }
            "maxBrokers" => self.route_limits.max_brokers = positive(value)?,
            "maxTopics" => self.route_limits.max_topics = positive(value)?,
            "maxClusters" => self.route_limits.max_clusters = positive(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A positive count.
fn positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number, found {value:?}")),
    }
}

fn parse<T: std::str::FromStr>(value: &str, expected: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("expected {expected}, found {value:?}"))
}

/// A positive number of milliseconds.
fn millis(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "expected a positive number of milliseconds, found {value:?}"
        )),
    }
}

/// `true` or `false`, in any case. (Java would read any other text as false; a typo here
/// should not silently disable a feature.)
fn boolean(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("expected true or false, found {value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_properties() {
        let mut c = NamesrvConfig::default();
        let unknown = c
            .apply_properties(
                "# comment\n! also a comment\n\n listenPort = 19876\nbindAddress=127.0.0.1\n\
                 kvConfigPath=/tmp/kv.json\nscanNotActiveBrokerInterval=200\n\
                 brokerChannelExpiredTime=1500\norderMessageEnable=TRUE\n\
                 rocketmqHome=/opt/rocketmq\nserverWorkerThreads=8\n",
                "namesrv.conf",
            )
            .unwrap();
        assert_eq!(unknown, vec!["rocketmqHome", "serverWorkerThreads"]);
        assert_eq!(
            c,
            NamesrvConfig {
                listen_port: 19876,
                bind_address: "127.0.0.1".parse().unwrap(),
                kv_config_path: "/tmp/kv.json".into(),
                scan_not_active_broker_interval: Duration::from_millis(200),
                broker_channel_expired_time: Duration::from_millis(1500),
                order_message_enable: true,
                ..NamesrvConfig::default()
            }
        );
    }

    #[test]
    fn properties_round_trip() {
        let config = NamesrvConfig {
            listen_port: 0,
            kv_config_path: PathBuf::from("/data/kv.json"),
            order_message_enable: true,
            server_max_connections: 7,
            server_channel_max_idle_time_seconds: 0,
            route_limits: RouteLimits {
                max_brokers: 1,
                max_topics: 2,
                max_clusters: 3,
            },
            ..NamesrvConfig::default()
        };
        let text = config.to_properties();
        assert!(text.contains("kvConfigPath=/data/kv.json\n"), "{text}");
        let mut back = NamesrvConfig::default();
        assert!(back.apply_properties(&text, "t").unwrap().is_empty());
        assert_eq!(back, config);
    }

    #[test]
    fn defaults_match_rocketmq() {
        let c = NamesrvConfig::default();
        assert_eq!(c.listen_port, 9876);
        assert_eq!(c.scan_not_active_broker_interval, Duration::from_secs(5));
        assert_eq!(c.broker_channel_expired_time, Duration::from_secs(120));
        assert!(c.kv_config_path.ends_with("namesrv/kvConfig.json"));
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        for (text, expected) in [
            (
                "listenPort=98760",
                "f.conf line 1: listenPort: expected a port number",
            ),
            (
                "\nscanNotActiveBrokerInterval=0",
                "f.conf line 2: scanNotActiveBrokerInterval: expected a positive",
            ),
            (
                "orderMessageEnable=yes",
                "f.conf line 1: orderMessageEnable: expected true or false",
            ),
            (
                "bindAddress=localhost",
                "bindAddress: expected an IP address",
            ),
            ("listenPort", "f.conf line 1: expected key=value"),
            ("maxTopics=0", "maxTopics: expected a positive number"),
            (
                "serverMaxInFlightBytes=100",
                "serverMaxInFlightBytes: must be at least",
            ),
        ] {
            let err = NamesrvConfig::default()
                .apply_properties(text, "f.conf")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }

    #[test]
    fn load_reports_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.conf");
        let err = NamesrvConfig::load(&missing).unwrap_err();
        assert!(matches!(err, NamesrvError::ConfigRead { .. }));
        assert!(err.to_string().contains("nope.conf"));

        let file = dir.path().join("namesrv.conf");
        std::fs::write(&file, "listenPort=1234\nunknownKey=1\n").unwrap();
        assert_eq!(NamesrvConfig::load(&file).unwrap().listen_port, 1234);
    }
}
