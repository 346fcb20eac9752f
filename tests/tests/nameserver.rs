//! `mqnamesrv` as a process: brokers register over the protocol, clients read routes (JSON and
//! ROCKETMQ binary headers, new and old client versions), cluster info, topic lists and KV
//! config; brokers disappear when their connection closes or their heartbeat expires; a
//! malformed frame costs only its own connection; SIGTERM stops the server cleanly.

use std::path::PathBuf;
use std::time::Duration;

use fennec_protocol::body::{KvTable, TopicList, TopicRouteData};
use fennec_protocol::decode_body;
use fennec_protocol::header::{
    GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader, KvConfigKeyRequestHeader,
    PutKvConfigRequestHeader,
};
use fennec_remoting::{RemotingClient, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use fennec_tests::namesrv::{
    cluster_info, route_brokers, route_request, BrokerIdentity, REQUEST_TIMEOUT,
};
use fennec_tests::poll::wait_until;
use fennec_tests::process::{bin_path, ServerProcess};
use nix::sys::signal::Signal;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A broker whose connection closes must be gone this fast (RocketMQ drops it at once).
const CLOSE_DEADLINE: Duration = Duration::from_secs(1);

/// A nameserver process with its own temp dir (config file and KV store).
struct Namesrv {
    process: ServerProcess,
    addr: String,
    dir: TempDir,
}

impl Namesrv {
    /// Starts `mqnamesrv` on 127.0.0.1:0 with `extra` lines appended to its config file.
    fn start(extra: &str) -> Namesrv {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, extra)
    }

    fn start_in(dir: TempDir, extra: &str) -> Namesrv {
        let conf = dir.path().join("namesrv.conf");
        let kv = dir.path().join("kvConfig.json");
        std::fs::write(&conf, format!("kvConfigPath={}\n{extra}\n", kv.display()))
            .expect("write namesrv.conf");
        let process = ServerProcess::start(
            "mqnamesrv",
            [
                "--listen-port".as_ref(),
                "0".as_ref(),
                "--bind".as_ref(),
                "127.0.0.1".as_ref(),
                "-c".as_ref(),
                conf.as_os_str(),
            ],
        );
        let addr = process.addr().to_string();
        Namesrv { process, addr, dir }
    }

    fn kv_path(&self) -> PathBuf {
        self.dir.path().join("kvConfig.json")
    }

    async fn call(&self, client: &RemotingClient, cmd: RemotingCommand) -> RemotingCommand {
        client
            .invoke(&self.addr, cmd, REQUEST_TIMEOUT)
            .await
            .expect("nameserver request")
    }
}

fn broker_a() -> BrokerIdentity {
    BrokerIdentity::master("broker-a", "127.0.0.1:10911", &[("T", 4)])
}

fn broker_b() -> BrokerIdentity {
    BrokerIdentity::master("broker-b", "127.0.0.1:10921", &[("T", 2), ("U", 8)])
}

/// Registers broker-a and broker-b, each over its own connection.
async fn register_both(ns: &Namesrv) -> (RemotingClient, RemotingClient) {
    let (a, b) = (RemotingClient::default(), RemotingClient::default());
    broker_a().register(&a, &ns.addr).await;
    broker_b().register(&b, &ns.addr).await;
    (a, b)
}

fn body_text(response: &RemotingCommand) -> String {
    String::from_utf8(response.body.to_vec()).expect("UTF-8 body")
}

#[tokio::test]
async fn routes_in_every_wire_form() {
    let ns = Namesrv::start("");
    let (a, _b) = register_both(&ns).await;

    // JSON header, version 409 (4.9.8): standard JSON with quoted broker ids.
    let json = ns.call(&a, route_request("T")).await;
    assert_eq!(json.code, 0, "{json:?}");
    let text = body_text(&json);
    assert!(
        text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
        "{text}"
    );
    assert!(text.contains(r#""enableActingMaster":false"#), "{text}");
    let route: TopicRouteData = decode_body(&json.body).unwrap();
    let queues: Vec<(&str, i32)> = route
        .queue_datas
        .iter()
        .map(|q| (q.broker_name.as_str(), q.write_queue_nums))
        .collect();
    assert_eq!(queues, vec![("broker-a", 4), ("broker-b", 2)]);
    assert_eq!(route.broker_datas.len(), 2);
    assert!(route.filter_server_table.is_empty());

    // ROCKETMQ binary header: the reply comes back in the same form with the same route.
    let binary = ns.call(&a, route_request("T").binary()).await;
    assert_eq!(binary.serialize_type, SerializeType::RocketMq);
    assert_eq!(decode_body::<TopicRouteData>(&binary.body).unwrap(), route);

    // Version 399 (4.9.3): fastjson's unquoted integer keys, in both header forms.
    for request in [route_request("U"), route_request("U").binary()] {
        let mut request = request;
        request.version = 399;
        let legacy = ns.call(&a, request).await;
        let text = body_text(&legacy);
        assert!(
            text.contains(r#""brokerAddrs":{0:"127.0.0.1:10921"}"#),
            "{text}"
        );
        let route: TopicRouteData = decode_body(&legacy.body).unwrap();
        assert_eq!(route.broker_datas.len(), 1, "only brokers hosting U");
        assert_eq!(route.broker_datas[0].broker_name, "broker-b");
    }
    // An old client may still ask for standard JSON.
    let mut request = route_request("U").with_ext("acceptStandardJsonOnly", "true");
    request.version = 399;
    let text = body_text(&ns.call(&a, request).await);
    assert!(text.contains(r#"{"0":"127.0.0.1:10921"}"#), "{text}");

    let missing = ns.call(&a, route_request("NoSuchTopic")).await;
    assert_eq!(missing.code, i32::from(ResponseCode::TOPIC_NOT_EXIST));
    assert!(missing
        .remark_str()
        .starts_with("No topic route info in name server for the topic: NoSuchTopic"));
}

#[tokio::test]
async fn cluster_info_topic_list_and_kv() {
    let ns = Namesrv::start("");
    let (a, _b) = register_both(&ns).await;

    let info = cluster_info(&a, &ns.addr).await;
    let names: Vec<&String> = info.cluster_addr_table["DefaultCluster"].iter().collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
    assert_eq!(
        info.broker_addr_table["broker-b"].master_addr(),
        Some("127.0.0.1:10921")
    );
    let mut old = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
    old.version = 373;
    let text = body_text(&ns.call(&a, old).await);
    assert!(text.contains(r#"{0:"127.0.0.1:10911"}"#), "{text}");

    let list = ns
        .call(
            &a,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
        )
        .await;
    let topics: TopicList = decode_body(&list.body).unwrap();
    assert_eq!(
        topics.topic_list.into_iter().collect::<Vec<_>>(),
        ["T", "U"]
    );

    let put = |key: &str, value: &str| {
        RemotingCommand::request_with_header(
            RequestCode::PUT_KV_CONFIG,
            &PutKvConfigRequestHeader {
                namespace: "NS".into(),
                key: key.into(),
                value: value.into(),
            },
        )
    };
    let key_request = |code, key: &str| {
        RemotingCommand::request_with_header(
            code,
            &KvConfigKeyRequestHeader {
                namespace: "NS".into(),
                key: key.into(),
            },
        )
    };
    assert_eq!(ns.call(&a, put("k1", "v1")).await.code, 0);
    assert_eq!(ns.call(&a, put("k2", "v2")).await.code, 0);
    // Acknowledged means on disk.
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ns.kv_path()).unwrap()).unwrap();
    assert_eq!(on_disk["configTable"]["NS"]["k1"], "v1");

    let got = ns
        .call(&a, key_request(RequestCode::GET_KV_CONFIG, "k1"))
        .await;
    let header: GetKvConfigResponseHeader = got.decode_header().unwrap();
    assert_eq!(header.value.as_deref(), Some("v1"));
    let list = ns
        .call(
            &a,
            RemotingCommand::request_with_header(
                RequestCode::GET_KVLIST_BY_NAMESPACE,
                &GetKvListByNamespaceRequestHeader {
                    namespace: "NS".into(),
                },
            ),
        )
        .await;
    assert_eq!(decode_body::<KvTable>(&list.body).unwrap().table.len(), 2);

    let deleted = ns
        .call(&a, key_request(RequestCode::DELETE_KV_CONFIG, "k1"))
        .await;
    assert_eq!(deleted.code, 0);
    let gone = ns
        .call(&a, key_request(RequestCode::GET_KV_CONFIG, "k1"))
        .await;
    assert_eq!(gone.code, i32::from(ResponseCode::QUERY_NOT_FOUND));
    assert_eq!(gone.remark_str(), "No config item, Namespace: NS Key: k1");

    // The KV store survives a restart; routes do not (brokers register again).
    let Namesrv {
        mut process, dir, ..
    } = ns;
    process.signal(Signal::SIGTERM);
    assert!(process.wait_exit(REQUEST_TIMEOUT).unwrap().success());
    let ns = Namesrv::start_in(dir, "");
    let client = RemotingClient::default();
    let got = ns
        .call(&client, key_request(RequestCode::GET_KV_CONFIG, "k2"))
        .await;
    let header: GetKvConfigResponseHeader = got.decode_header().unwrap();
    assert_eq!(header.value.as_deref(), Some("v2"));
    let gone = ns
        .call(&client, key_request(RequestCode::GET_KV_CONFIG, "k1"))
        .await;
    assert_eq!(gone.code, i32::from(ResponseCode::QUERY_NOT_FOUND));
    assert!(route_brokers(&client, &ns.addr, "T").await.is_empty());
}

#[tokio::test]
async fn broker_is_dropped_when_its_connection_closes() {
    let ns = Namesrv::start("");
    let (a, b) = register_both(&ns).await;
    assert_eq!(
        route_brokers(&a, &ns.addr, "T").await,
        ["broker-a", "broker-b"]
    );

    b.shutdown().await;
    wait_until("broker-b to leave every table", CLOSE_DEADLINE, || async {
        route_brokers(&a, &ns.addr, "T").await == ["broker-a"]
            && route_brokers(&a, &ns.addr, "U").await.is_empty()
            && !cluster_info(&a, &ns.addr)
                .await
                .broker_addr_table
                .contains_key("broker-b")
    })
    .await;
    let info = cluster_info(&a, &ns.addr).await;
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 1);
}

#[tokio::test]
async fn silent_broker_expires_while_its_connection_stays_open() {
    let ns = Namesrv::start("brokerChannelExpiredTime=1500\nscanNotActiveBrokerInterval=200");
    let (a, b) = register_both(&ns).await;
    // broker-a keeps sending heartbeats (RocketMQ brokers do every 30 s); broker-b does not.
    let heartbeats = {
        let (a, addr) = (a.clone(), ns.addr.clone());
        tokio::spawn(async move {
            loop {
                broker_a().register(&a, &addr).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    assert_eq!(route_brokers(&a, &ns.addr, "U").await, ["broker-b"]);
    wait_until(
        "silent broker-b to expire",
        Duration::from_secs(10),
        || async { route_brokers(&a, &ns.addr, "U").await.is_empty() },
    )
    .await;
    assert_eq!(route_brokers(&a, &ns.addr, "T").await, ["broker-a"]);
    // Like RocketMQ, the nameserver closes the expired broker's connection.
    wait_until(
        "the expired connection to close",
        REQUEST_TIMEOUT,
        || async { b.connected_addrs().is_empty() },
    )
    .await;
    heartbeats.abort();
}

#[tokio::test]
async fn malformed_frame_closes_only_its_connection() {
    let ns = Namesrv::start("");
    let (a, b) = register_both(&ns).await;

    let mut raw = TcpStream::connect(&ns.addr).await.unwrap();
    // Frame length -1: not a frame.
    raw.write_all(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, b'{'])
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(REQUEST_TIMEOUT, raw.read(&mut buf))
        .await
        .expect("the server closes a connection that sent a bad frame")
        .unwrap_or(0);
    assert_eq!(n, 0, "no reply to a malformed frame");

    assert_eq!(
        route_brokers(&a, &ns.addr, "T").await,
        ["broker-a", "broker-b"]
    );
    assert_eq!(b.connected_addrs(), std::slice::from_ref(&ns.addr));
    broker_b().register(&b, &ns.addr).await;
}

#[tokio::test]
async fn signals_stop_the_server_cleanly() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let mut ns = Namesrv::start("");
        let client = RemotingClient::default();
        broker_a().register(&client, &ns.addr).await;
        ns.process.signal(signal);
        let status = ns.process.wait_exit(Duration::from_secs(15));
        assert!(
            status.is_some_and(|s| s.success()),
            "{signal}: exit status {status:?}"
        );
    }
}

#[test]
fn bad_config_value_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, "listenPort=0\nscanNotActiveBrokerInterval=soon\n").unwrap();
    let output = std::process::Command::new(bin_path("mqnamesrv"))
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing is LISTENING");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:2: invalid value \"soon\" for scanNotActiveBrokerInterval: expected a number of milliseconds",
            conf.display()
        )),
        "{stderr}"
    );
}
