//! The nameserver's lifecycle: load the KV store, serve the remoting protocol, scan for dead
//! brokers, and stop when the shutdown token fires.

use std::sync::Arc;

use fennec_remoting::RemotingServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::NamesrvConfig;
use crate::error::NamesrvError;
use crate::kv_config::KvConfig;
use crate::liveness::scan_not_active_brokers;
use crate::metrics::NamesrvCollector;
use crate::processor::NamesrvProcessor;
use crate::route_info::RouteInfo;

/// A nameserver whose state is loaded and which is ready to serve.
#[derive(Debug)]
pub struct Nameserver {
    config: NamesrvConfig,
    route: Arc<RouteInfo>,
    kv: KvConfig,
    connections: Arc<fennec_remoting::ServerCounters>,
    tls: Option<fennec_remoting::TlsServer>,
}

impl Nameserver {
    /// Loads the persisted KV store and the TLS files; fails on a store that cannot be read
    /// or parsed, or on TLS settings that cannot be used.
    pub async fn new(config: NamesrvConfig) -> Result<Self, NamesrvError> {
        let kv = KvConfig::load(config.kv_config_path.clone()).await?;
        let tls_settings = config.tls_server.clone();
        let tls = tokio::task::spawn_blocking(move || tls_settings.load())
            .await
            .map_err(NamesrvError::TlsTask)??;
        let route = Arc::new(RouteInfo::new(
            config.broker_channel_expired_time,
            config.route_limits,
        ));
        Ok(Nameserver {
            config,
            route,
            kv,
            connections: Arc::default(),
            tls,
        })
    }

    /// Adds the nameserver's metrics (brokers, topics, registration ages, connections) to
    /// `registry`. Process metrics are the caller's: a broker embedding a nameserver has them
    /// already.
    pub fn register_metrics(&self, registry: &mut fennec_metrics::Registry) {
        registry.register_collector(Box::new(NamesrvCollector {
            route: self.route.clone(),
            connections: self.connections.clone(),
        }));
    }

    /// Serves on `listener` until `shutdown` fires, then lets in-flight requests finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), NamesrvError> {
        let addr = listener
            .local_addr()
            .map_or_else(|e| format!("unknown ({e})"), |a| a.to_string());
        info!(%addr, kv_config = %self.config.kv_config_path.display(), "nameserver started");
        let scan = tokio::spawn(scan_not_active_brokers(
            self.route.clone(),
            self.config.scan_not_active_broker_interval,
            shutdown.clone(),
        ));
        let processor = Arc::new(NamesrvProcessor::new(self.route, self.kv, &self.config));
        let server_config = fennec_remoting::ServerConfig {
            counters: self.connections.clone(),
            ..self.config.server_config().with_tls(self.tls)
        };
        RemotingServer::serve(listener, processor, server_config, shutdown).await;
        // The token has fired, so the scan loop is ending.
        let _ = scan.await;
        info!("nameserver stopped");
        Ok(())
    }
}

/// Runs a nameserver on `listener` until `shutdown` fires: [`Nameserver::new`] then
/// [`Nameserver::serve`]. This is what `mqbroker --with-namesrv` embeds.
pub async fn run(
    config: NamesrvConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), NamesrvError> {
    Nameserver::new(config)
        .await?
        .serve(listener, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fennec_protocol::body::{
        DataVersion, KvTable, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
    };
    use fennec_protocol::hash::body_crc;
    use fennec_protocol::header::{
        BrokerNameRequestHeader, PutKvConfigRequestHeader, QueryDataVersionResponseHeader,
        RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
        WipeWritePermResponseHeader,
    };
    use fennec_protocol::{decode_body, encode_body};
    use fennec_remoting::{RemotingClient, RemotingCommand, RequestCode, ResponseCode};

    use super::*;
    use crate::kv_config::ORDER_TOPIC_CONFIG;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// A nameserver on 127.0.0.1:0 in this process.
    struct InProcess {
        addr: String,
        client: RemotingClient,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<Result<(), NamesrvError>>,
        _dir: tempfile::TempDir,
    }

    impl InProcess {
        async fn start() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let config = NamesrvConfig {
                kv_config_path: dir.path().join("kvConfig.json"),
                ..NamesrvConfig::default()
            };
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let shutdown = CancellationToken::new();
            let task = tokio::spawn(run(config, listener, shutdown.clone()));
            InProcess {
                addr,
                client: RemotingClient::default(),
                shutdown,
                task,
                _dir: dir,
            }
        }

        async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
            self.client.invoke(&self.addr, cmd, TIMEOUT).await.unwrap()
        }

        async fn stop(self) {
            self.shutdown.cancel();
            self.task.await.unwrap().unwrap();
        }
    }

    fn register_header(id: i64, addr: &str) -> RegisterBrokerRequestHeader {
        RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: addr.into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: format!("{addr}-ha"),
            broker_id: id,
            ..Default::default()
        }
    }

    fn body(counter: i64) -> Vec<u8> {
        let body = encode_body(&RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version: DataVersion {
                    counter,
                    state_version: 0,
                    timestamp: 1,
                },
                topic_config_table: [("T".to_string(), TopicConfig::new("T", 4))].into(),
            },
        });
        body.to_vec()
    }

    fn register(header: &RegisterBrokerRequestHeader, body: Vec<u8>) -> RemotingCommand {
        RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, header).with_body(body)
    }

    #[tokio::test]
    async fn registration_checks_and_replies() {
        let ns = InProcess::start().await;
        let mut header = register_header(0, "h:1");
        header.body_crc32 = Some(body_crc(&body(1)) ^ 1);
        let r = ns.call(register(&header, body(1))).await;
        assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
        assert!(r.remark_str().starts_with("crc32 not match"), "{r:?}");

        header.body_crc32 = None;
        header.compressed = Some(true);
        let r = ns.call(register(&header, body(1))).await;
        assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
        assert!(r.remark_str().contains("compressed"), "{r:?}");

        let r = ns
            .call(
                register(&header, body(1))
                    .with_ext("compressed", "false")
                    .with_ext("brokerId", "x"),
            )
            .await;
        assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
        assert!(r.remark_str().contains("<brokerId>"), "{r:?}");

        let mut missing = register(&register_header(0, "h:1"), body(1));
        missing.ext_fields.remove("brokerName");
        let r = ns.call(missing).await;
        assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
        assert_eq!(r.remark_str(), "the custom field <brokerName> is null");

        let put = PutKvConfigRequestHeader {
            namespace: ORDER_TOPIC_CONFIG.into(),
            key: "T".into(),
            value: "broker-a:4".into(),
        };
        let r = ns
            .call(RemotingCommand::request_with_header(
                RequestCode::PUT_KV_CONFIG,
                &put,
            ))
            .await;
        assert_eq!(r.code, 0, "{r:?}");

        let mut master = register_header(0, "h:1");
        master.body_crc32 = Some(body_crc(&body(1)));
        let r = ns.call(register(&master, body(1))).await;
        assert_eq!(r.code, 0, "{r:?}");
        let reply: RegisterBrokerResponseHeader = r.decode_header().unwrap();
        assert_eq!(reply, RegisterBrokerResponseHeader::default());
        let table: KvTable = decode_body(&r.body).unwrap();
        assert_eq!(table.table["T"], "broker-a:4");

        let r = ns.call(register(&register_header(1, "h:2"), body(1))).await;
        let reply: RegisterBrokerResponseHeader = r.decode_header().unwrap();
        assert_eq!(reply.master_addr.as_deref(), Some("h:1"));
        assert_eq!(reply.ha_server_addr.as_deref(), Some("h:1-ha"));
        ns.stop().await;
    }

    #[tokio::test]
    async fn data_version_perm_and_unknown_codes() {
        let ns = InProcess::start().await;
        ns.call(register(&register_header(0, "h:1"), body(7))).await;
        let query_header = UnregisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "h:1".into(),
            cluster_name: "DefaultCluster".into(),
            broker_id: 0,
        };
        let version = |counter| DataVersion {
            counter,
            state_version: 0,
            timestamp: 1,
        };
        for (counter, changed) in [(7, false), (8, true)] {
            let r = ns
                .call(
                    RemotingCommand::request_with_header(
                        RequestCode::QUERY_DATA_VERSION,
                        &query_header,
                    )
                    .with_body(encode_body(&version(counter))),
                )
                .await;
            let h: QueryDataVersionResponseHeader = r.decode_header().unwrap();
            assert_eq!(h.changed, changed);
            assert_eq!(decode_body::<DataVersion>(&r.body).unwrap(), version(7));
        }

        let wipe = RemotingCommand::request_with_header(
            RequestCode::WIPE_WRITE_PERM_OF_BROKER,
            &BrokerNameRequestHeader {
                broker_name: "broker-a".into(),
            },
        );
        let h: WipeWritePermResponseHeader = ns.call(wipe).await.decode_header().unwrap();
        assert_eq!(h.wipe_topic_count, 1);

        let r = ns
            .call(RemotingCommand::request(RequestCode::SEND_MESSAGE_V2))
            .await;
        assert_eq!(r.code, i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED));
        assert_eq!(r.remark_str(), " request type 310 not supported");
        let r = ns.call(RemotingCommand::request_code(4242)).await;
        assert_eq!(r.code, i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED));

        let unregister =
            RemotingCommand::request_with_header(RequestCode::UNREGISTER_BROKER, &query_header);
        assert_eq!(ns.call(unregister).await.code, 0);
        let r = ns
            .call(
                RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
                    .with_ext("topic", "T"),
            )
            .await;
        assert_eq!(r.code, i32::from(ResponseCode::TOPIC_NOT_EXIST));
        ns.stop().await;
    }
}
