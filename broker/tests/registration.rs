//! Registration with an in-process nameserver. A broker prints `LISTENING` as soon as it has
//! opened and registered once, so a client may create a topic before the broker's
//! registration task has first run; that change must still reach the nameserver at once,
//! not a registration period later.

use std::time::{Duration, Instant};

use fennec_broker::{BrokerConfig, BrokerServer};
use fennec_nameserver::NamesrvConfig;
use fennec_protocol::body::TopicConfig;
use fennec_protocol::header::GetRouteInfoRequestHeader;
use fennec_remoting::{RemotingClient, RemotingCommand, RequestCode};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_created_before_the_registration_task_runs_is_registered_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let token = CancellationToken::new();
    let ns_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ns_addr = ns_listener.local_addr().unwrap().to_string();
    let ns_config = NamesrvConfig {
        kv_config_path: dir.path().join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    let namesrv = tokio::spawn(fennec_nameserver::run(
        ns_config,
        ns_listener,
        token.clone(),
    ));

    let mut config = BrokerConfig::default();
    let store = dir.path().join("store");
    for (k, v) in [
        ("namesrvAddr", ns_addr.as_str()),
        ("brokerIP1", "127.0.0.1"),
        ("storePathRootDir", store.to_str().unwrap()),
        ("mappedFileSizeCommitLog", "8388608"),
        ("maxHashSlotNum", "64"),
        ("maxIndexNum", "256"),
        // The longest period: a change left to the timer would not show for a minute.
        ("registerNameServerPeriod", "60000"),
    ] {
        assert!(config.set_key(k, v).unwrap(), "{k}");
    }
    let store = BrokerServer::open_store(config).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = BrokerServer::open(store, listener).await.unwrap();
    // A topic created between the first registration and the registration task's start.
    server.broker().topics.update(TopicConfig::new("Early", 4));
    let serving = tokio::spawn(server.serve(token.clone()));

    let client = RemotingClient::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let header = GetRouteInfoRequestHeader {
            topic: "Early".to_string(),
            accept_standard_json_only: None,
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let reply = client
            .invoke(&ns_addr, cmd, Duration::from_secs(3))
            .await
            .unwrap();
        if reply.code == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "topic Early never reached the nameserver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.shutdown().await;
    token.cancel();
    serving.await.unwrap().unwrap();
    namesrv.await.unwrap().unwrap();
}
