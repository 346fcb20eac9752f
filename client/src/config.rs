//! [`ClientConfig`]: what producers and consumers share. Where the name servers are
//! (`;`-separated or a list, with the `NAMESRV_ADDR` environment variable as fallback), how
//! the client names itself, and the timers of the client instance.
//!
//! The client ID is `clientIP@instanceName` (reference §12). An unset instance name becomes
//! `pid#nanos`, so every producer and consumer of a process gets its own instance unless the
//! application gives two of them the same name, in which case they share one (one connection
//! pool, one route cache, one heartbeat).
//!
//! Security: [`ClientConfig::rpc_hook`] changes every request before it is sent
//! ([`AclRpcHook`] signs them for servers with ACL, as Java's `AclClientRPCHook`), and
//! [`ClientConfig::tls`] makes every connection TLS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fennec_protocol::topic::validate_topic;
use fennec_remoting::{AclRpcHook, RpcHook, SerializeType, TlsClient};

use crate::error::ClientError;

/// Environment variable read when no name server address is configured.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// Settings shared by every kind of client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name server addresses (`host:port`). Empty: `NAMESRV_ADDR` is read at start.
    pub namesrv_addrs: Vec<String>,
    /// Instance name; `None` becomes `pid#nanos` at start.
    pub instance_name: Option<String>,
    /// The IP written into the client ID and message ids; `None` detects it.
    pub client_ip: Option<IpAddr>,
    /// How often every used topic's route is fetched again (`pollNameServerInterval`).
    pub poll_namesrv_interval: Duration,
    /// How often every known broker gets a heartbeat (`heartbeatBrokerInterval`).
    pub heartbeat_interval: Duration,
    /// How often consumer offsets are committed (`persistConsumerOffsetInterval`).
    pub persist_offset_interval: Duration,
    /// How often consumers rebalance (`rocketmq.client.rebalance.waitInterval`).
    pub rebalance_interval: Duration,
    /// Timeout of route, offset, heartbeat and other management requests.
    pub request_timeout: Duration,
    /// Timeout for opening a TCP connection.
    pub connect_timeout: Duration,
    /// Header form of every request: the compact ROCKETMQ binary form (default; Fennec and
    /// Apache RocketMQ servers answer in kind, and it costs both sides far less than JSON)
    /// or JSON (what Java clients send by default).
    pub serialize_type: SerializeType,
    /// Applied to every request sent (Java's RPCHook); [`AclRpcHook`] signs them for
    /// servers with ACL.
    pub rpc_hook: Option<Arc<dyn RpcHook>>,
    /// Connect to name servers and brokers over TLS (`None`: plain TCP).
    pub tls: Option<TlsClient>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addrs: Vec::new(),
            instance_name: None,
            client_ip: None,
            poll_namesrv_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
            persist_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
            serialize_type: SerializeType::RocketMq,
            request_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            rpc_hook: None,
            tls: None,
        }
    }
}

impl ClientConfig {
    /// Sets the name servers from a `;`-separated list such as `10.0.0.1:9876;10.0.0.2:9876`.
    pub fn with_namesrv_addr(mut self, addrs: &str) -> Self {
        self.namesrv_addrs = fennec_common::net::split_addr_list(addrs);
        self
    }

    /// Signs every request with an account of the servers' `plain_acl.yml`.
    pub fn with_acl(mut self, access_key: &str, secret_key: &str) -> Self {
        self.rpc_hook = Some(Arc::new(AclRpcHook::new(access_key, secret_key)));
        self
    }

    /// The name server list to use: the configured one, else `NAMESRV_ADDR`.
    pub(crate) fn resolve_namesrv_addrs(&self) -> Result<Vec<String>, ClientError> {
        let invalid = |e: String| ClientError::Config(format!("name server address {e}"));
        if !self.namesrv_addrs.is_empty() {
            for a in &self.namesrv_addrs {
                fennec_common::net::parse_addr_list(a).map_err(invalid)?;
            }
            return Ok(self.namesrv_addrs.clone());
        }
        let from_env = std::env::var(NAMESRV_ADDR_ENV).unwrap_or_default();
        let addrs = fennec_common::net::parse_addr_list(&from_env)
            .map_err(|e| invalid(format!("{e} (from {NAMESRV_ADDR_ENV})")))?;
        if addrs.is_empty() {
            return Err(ClientError::Config(format!(
                "no name server address: set one on the client or in {NAMESRV_ADDR_ENV}"
            )));
        }
        Ok(addrs)
    }

    /// The configured client IP, or the detected one.
    pub(crate) fn resolve_client_ip(&self, namesrv_addrs: &[String]) -> IpAddr {
        self.client_ip
            .unwrap_or_else(|| detect_client_ip(namesrv_addrs))
    }

    /// The client ID, `clientIP@instanceName`, with the default instance name when unset.
    pub(crate) fn client_id(&self, ip: IpAddr) -> String {
        let instance = self
            .instance_name
            .clone()
            .unwrap_or_else(default_instance_name);
        format!("{ip}@{instance}")
    }
}

/// Group names follow the topic-name rules and must not be blank.
pub(crate) fn validate_group(group: &str) -> Result<(), ClientError> {
    validate_topic(group)
        .map_err(|e| ClientError::Config(format!("invalid group name {group:?}: {e}")))
}

/// The [`ClientConfig`] setters every client builder offers; the builder keeps its settings
/// in a field `settings` with the [`ClientConfig`] in `settings.client`.
macro_rules! client_setters {
    () => {
        /// Name server addresses, `;`-separated (default: the `NAMESRV_ADDR` variable).
        pub fn namesrv_addr(mut self, addrs: &str) -> Self {
            self.settings.client = self.settings.client.with_namesrv_addr(addrs);
            self
        }

        /// Every client setting at once (name servers, instance name, IP, timers).
        pub fn client_config(mut self, config: $crate::config::ClientConfig) -> Self {
            self.settings.client = config;
            self
        }

        /// Signs every request with this account of the servers' `plain_acl.yml`
        /// (Java: `new AclClientRPCHook(new SessionCredentials(accessKey, secretKey))`).
        pub fn acl(mut self, access_key: &str, secret_key: &str) -> Self {
            self.settings.client = self.settings.client.with_acl(access_key, secret_key);
            self
        }

        /// Passes every request through `hook` before it is sent (Java's RPCHook).
        pub fn rpc_hook(mut self, hook: std::sync::Arc<dyn fennec_remoting::RpcHook>) -> Self {
            self.settings.client.rpc_hook = Some(hook);
            self
        }

        /// Connects to name servers and brokers over TLS.
        pub fn tls(mut self, tls: fennec_remoting::TlsClient) -> Self {
            self.settings.client.tls = Some(tls);
            self
        }

        /// The instance name in the client ID (default `pid#nanos`). Clients with the same
        /// ID share connections, routes and heartbeats.
        pub fn instance_name(mut self, name: impl Into<String>) -> Self {
            self.settings.client.instance_name = Some(name.into());
            self
        }
    };
}

pub(crate) use client_setters;

/// `pid#nanos`, what RocketMQ 4.9 makes of the instance name `DEFAULT`. The number is the
/// wall clock in nanoseconds, bumped when needed so that two calls never return the same name.
pub(crate) fn default_instance_name() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let prev = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(0);
    format!("{}#{}", std::process::id(), now.max(prev + 1))
}

/// The local address other hosts most likely see: the source address of the route to a
/// public address, else of the route to the first name server, else 127.0.0.1. Connecting
/// a UDP socket only looks the route up; nothing is sent.
pub(crate) fn detect_client_ip(namesrv_addrs: &[String]) -> IpAddr {
    let public = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 9));
    if let Some(ip) = route_source_ip(public).filter(|ip| !ip.is_loopback()) {
        return ip;
    }
    namesrv_addrs
        .iter()
        .filter_map(|a| a.parse::<SocketAddr>().ok())
        .find_map(route_source_ip)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn route_source_ip(target: SocketAddr) -> Option<IpAddr> {
    let bind: SocketAddr = if target.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_lists_are_split_and_checked() {
        let c = ClientConfig::default().with_namesrv_addr(" 10.0.0.1:9876; ;10.0.0.2:9876;");
        assert_eq!(
            c.resolve_namesrv_addrs().unwrap(),
            vec!["10.0.0.1:9876", "10.0.0.2:9876"]
        );
        let bad = ClientConfig::default().with_namesrv_addr("garbage");
        let e = bad.resolve_namesrv_addrs().unwrap_err().to_string();
        assert!(e.contains("\"garbage\" is not host:port"), "{e}");
    }

    #[test]
    fn client_id_has_ip_and_instance() {
        let c = ClientConfig {
            client_ip: Some("10.0.0.5".parse().unwrap()),
            instance_name: Some("app".into()),
            ..Default::default()
        };
        let ip = c.resolve_client_ip(&[]);
        assert_eq!(c.client_id(ip), "10.0.0.5@app");

        let default_id = ClientConfig::default().client_id(ip);
        let instance = default_id.strip_prefix("10.0.0.5@").unwrap();
        let (pid, nanos) = instance.split_once('#').unwrap();
        assert_eq!(pid, std::process::id().to_string());
        assert!(nanos.parse::<u128>().unwrap() > 0);
        assert_ne!(default_instance_name(), default_instance_name());
    }

    #[test]
    fn detected_ip_is_specified() {
        let ip = detect_client_ip(&["127.0.0.1:9876".to_string()]);
        assert!(!ip.is_unspecified());
    }
}
