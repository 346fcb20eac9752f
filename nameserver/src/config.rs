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

use fennec_common::config::{self, ConfigErrors, ConfigProblem};
use fennec_remoting::tls::TlsServerSettings;
use fennec_remoting::{self as remoting, ServerConfig};

use crate::error::NamesrvError;
use crate::route_limits::RouteLimits;

fennec_common::config_struct! {
    /// Nameserver settings. Every field has RocketMQ's default unless noted.
    #[derive(PartialEq, Eq)]
    pub struct NamesrvConfig {
        /// TCP port to serve on. Default 9876.
        "listenPort" => listen_port: u16 = 9876,
        /// Address to bind. Default `0.0.0.0` (RocketMQ 5.x's NettyServerConfig has the same
        /// key).
        "bindAddress" => bind_address: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        /// Where the KV store is persisted. Default `~/namesrv/kvConfig.json`.
        "kvConfigPath" => kv_config_path: PathBuf = config::expand_home("~/namesrv/kvConfig.json"),
        /// How often (ms) expired brokers are looked for. Default 5000 (RocketMQ 5.x).
        "scanNotActiveBrokerInterval" => scan_not_active_broker_interval: Duration = Duration::from_millis(5_000),
        /// A broker that has not registered for this long (ms) is dropped, unless its
        /// registration carried `heartbeatTimeoutMillis`. Default 120000. Fennec's key:
        /// RocketMQ hard-codes this value.
        "brokerChannelExpiredTime" => broker_channel_expired_time: Duration = Duration::from_millis(120_000),
        /// Whether routes carry `orderTopicConf` from the `ORDER_TOPIC_CONFIG` KV namespace.
        "orderMessageEnable" => order_message_enable: bool = false,
        /// Connections served at once; one more is accepted and closed at once. Default
        /// 10000 (Fennec's key; RocketMQ has no limit).
        "serverMaxConnections" => server_max_connections: usize = remoting::DEFAULT_MAX_CONNECTIONS,
        /// A connection with nothing read or written and no request in flight this long, or
        /// with a frame unfinished this long after its first byte, is closed (0: never).
        /// Default 120 (RocketMQ's NettyServerConfig key).
        "serverChannelMaxIdleTimeSeconds" => server_channel_max_idle_time_seconds: u64 = remoting::DEFAULT_IDLE_TIMEOUT.as_secs(),
        /// Request bytes read but not yet answered across all connections; beyond it
        /// readers wait. Frames larger are refused. Default 268435456.
        "serverMaxInFlightBytes" => server_max_in_flight_bytes: usize = remoting::DEFAULT_MAX_IN_FLIGHT_BYTES,
        /// HTTP port of the Prometheus endpoint (`/metrics`): -1 = off (the default), 0
        /// picks a free port. Fennec's key; it binds `bindAddress`.
        "metricsPort" => metrics_port: i32 = -1,
    }
    embeds {
        /// `maxBrokers`, `maxTopics`, `maxClusters`: bounds of the route table.
        route_limits: RouteLimits,
        /// `tls.server.*`: TLS of the nameserver's port.
        tls_server: TlsServerSettings,
    }
}

impl NamesrvConfig {
    /// Defaults overridden by the properties file at `path`. Unknown keys are logged; every
    /// invalid value of the file is reported at once.
    pub fn load(path: &Path) -> Result<Self, NamesrvError> {
        let mut config = NamesrvConfig::default();
        for warning in config::apply_file(&mut config, path)? {
            tracing::warn!("{warning}");
        }
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// Applies properties text (`origin` names it); returns the warnings for unknown keys.
    pub fn apply_properties(
        &mut self,
        text: &str,
        origin: &str,
    ) -> Result<Vec<ConfigProblem>, NamesrvError> {
        let warnings = config::apply_text(self, text, origin)?;
        self.validate(origin)?;
        Ok(warnings)
    }

    /// The metrics port, or `None` when metrics are off.
    pub fn metrics_port(&self) -> Option<u16> {
        u16::try_from(self.metrics_port).ok()
    }

    /// Checks values that parse but cannot work.
    fn validate(&self, origin: &str) -> Result<(), ConfigErrors> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, message: String| {
            if !ok {
                problems.push(ConfigProblem {
                    origin: origin.to_string(),
                    line: 0,
                    message,
                });
            }
        };
        check(
            !self.scan_not_active_broker_interval.is_zero(),
            "scanNotActiveBrokerInterval must be a positive number of milliseconds".into(),
        );
        check(
            !self.broker_channel_expired_time.is_zero(),
            "brokerChannelExpiredTime must be a positive number of milliseconds".into(),
        );
        check(
            (-1..=i32::from(u16::MAX)).contains(&self.metrics_port),
            format!(
                "metricsPort must be -1 (off), 0 (a free port) or a TCP port, found {}",
                self.metrics_port
            ),
        );
        check(
            self.server_max_connections > 0,
            "serverMaxConnections must be positive".into(),
        );
        check(
            self.server_max_in_flight_bytes >= 64 * 1024,
            format!(
                "serverMaxInFlightBytes must be at least 65536, found {}",
                self.server_max_in_flight_bytes
            ),
        );
        let l = &self.route_limits;
        for (key, v) in [
            ("maxBrokers", l.max_brokers),
            ("maxTopics", l.max_topics),
            ("maxClusters", l.max_clusters),
        ] {
            check(v > 0, format!("{key} must be positive"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(problems))
        }
    }

    /// The remoting server's settings (TLS aside: see `tls_server`).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::with_limits(
            self.server_max_connections,
            self.server_channel_max_idle_time_seconds,
            self.server_max_in_flight_bytes,
            ServerConfig::default().connection.max_frame,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_common::config::ConfigKeys;

    #[test]
    fn parses_rocketmq_properties() {
        let mut c = NamesrvConfig::default();
        let unknown: Vec<String> = c
            .apply_properties(
                "# comment\n! also a comment\n\n listenPort = 19876\nbindAddress=127.0.0.1\n\
                 kvConfigPath=/tmp/kv.json\nscanNotActiveBrokerInterval=200\n\
                 brokerChannelExpiredTime=1500\norderMessageEnable=TRUE\n\
                 rocketmqHome=/opt/rocketmq\nserverWorkerThreads=8\n",
                "namesrv.conf",
            )
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            unknown,
            [
                "namesrv.conf:10: unknown key rocketmqHome, ignored",
                "namesrv.conf:11: unknown key serverWorkerThreads, ignored"
            ]
        );
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
                "f.conf:1: invalid value \"98760\" for listenPort: expected an integer from 0 to 65535",
            ),
            (
                "\nscanNotActiveBrokerInterval=0",
                "scanNotActiveBrokerInterval must be a positive",
            ),
            (
                "orderMessageEnable=yes",
                "f.conf:1: invalid value \"yes\" for orderMessageEnable: expected true or false",
            ),
            ("bindAddress=localhost", "bindAddress: expected an IP address"),
            ("=1", "f.conf:1: expected key=value"),
            ("maxTopics=0", "maxTopics must be positive"),
            (
                "serverMaxInFlightBytes=100",
                "serverMaxInFlightBytes must be at least 65536, found 100",
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
        assert!(matches!(err, NamesrvError::Config(_)));
        assert!(err.to_string().contains("nope.conf: cannot read"), "{err}");

        let file = dir.path().join("namesrv.conf");
        std::fs::write(&file, "listenPort=1234\nunknownKey=1\n").unwrap();
        assert_eq!(NamesrvConfig::load(&file).unwrap().listen_port, 1234);
    }
}
