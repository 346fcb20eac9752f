//! Limits under abuse, against real servers: idle and stalled connections are closed after
//! `serverChannelMaxIdleTimeSeconds` (a held pull is not), connections beyond
//! `serverMaxConnections` are refused, request bytes in flight are bounded by
//! `serverMaxInFlightBytes`, and the nameserver's route table by `maxTopics`/`maxBrokers`.

use std::net::SocketAddr;
use std::time::Duration;

use fennec_remoting::{RemotingClient, RemotingCommand, RequestCode, ResponseCode};
use fennec_tests::broker_api::{create_topic, pull, wait_for_route, PullSpec};
use fennec_tests::cluster::{start_namesrv, BrokerSpec, Cluster};
use fennec_tests::namesrv::{cluster_info, BrokerIdentity, REQUEST_TIMEOUT};
use fennec_tests::poll::{poll_for, wait_until};
use fennec_tests::process::ServerProcess;
use fennec_tests::raw::{partial_frame, RawConn};

/// Bound of every wait here: only a failing test waits this long.
const WAIT: Duration = Duration::from_secs(30);
const KIB: usize = 1024;

/// A request every server answers (the broker with its runtime info, the nameserver with
/// its cluster info), with `body` bytes of padding it ignores.
fn ping(broker: bool, body: usize) -> RemotingCommand {
    let code = if broker {
        RequestCode::GET_BROKER_RUNTIME_INFO
    } else {
        RequestCode::GET_BROKER_CLUSTER_INFO
    };
    RemotingCommand::request(code).with_body(vec![0u8; body])
}

/// Connects to `addr` and sends `frame` from another thread (the server may not read it
/// all until budget frees up, so the write may block); the thread yields the connection.
fn send_in_background(addr: SocketAddr, frame: Vec<u8>) -> std::thread::JoinHandle<RawConn> {
    std::thread::spawn(move || {
        let mut conn = RawConn::connect(addr);
        conn.send(&frame);
        conn
    })
}

/// A fresh connection to `addr` is answered.
fn served(addr: SocketAddr, broker: bool) -> bool {
    RawConn::connect(addr)
        .try_request(&ping(broker, 0))
        .is_some_and(|r| r.code == i32::from(ResponseCode::SUCCESS))
}

/// A silent connection and one stalled in the middle of a frame are both closed, while
/// fresh clients keep being served.
async fn idle_connections_are_closed(server: &ServerProcess, broker: bool) {
    let addr = server.addr();
    let mut silent = RawConn::connect(addr);
    let mut stalled = RawConn::connect(addr);
    stalled.send(&partial_frame(1000, 10));
    wait_until(
        "the silent and the stalled connection to be closed",
        WAIT,
        || {
            assert!(served(addr, broker), "a normal client was not served");
            let closed = silent.is_closed() && stalled.is_closed();
            async move { closed }
        },
    )
    .await;
    assert!(
        server
            .stderr_log()
            .contains("serverChannelMaxIdleTimeSeconds"),
        "the idle close was not logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_servers_close_idle_and_stalled_connections() {
    let cluster = Cluster::start(vec![
        BrokerSpec::new("broker-a").with("serverChannelMaxIdleTimeSeconds", "1")
    ]);
    idle_connections_are_closed(&cluster.brokers[0].process, true).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let namesrv = start_namesrv(dir.path(), &[("serverChannelMaxIdleTimeSeconds", "1")]);
    idle_connections_are_closed(&namesrv, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_pull_outlives_the_idle_timeout() {
    let cluster = Cluster::start(vec![
        BrokerSpec::new("broker-a").with("serverChannelMaxIdleTimeSeconds", "1")
    ]);
    let broker = cluster.brokers[0].addr();
    // Fresh clients: a connection left unused for a second may be closed by the broker.
    create_topic(&RemotingClient::default(), &broker, "Held", 1).await;
    wait_for_route(
        &RemotingClient::default(),
        &cluster.namesrv_addr(),
        "Held",
        1,
    )
    .await;
    let spec = PullSpec {
        group: "HeldGroup",
        topic: "Held",
        queue_id: 0,
        offset: 0,
        max: 32,
        suspend_ms: 3_000,
    };
    // Held three times the idle timeout with no traffic, then answered on its connection.
    let pulled = pull(&RemotingClient::default(), &broker, spec).await;
    assert_eq!(pulled.code, i32::from(ResponseCode::PULL_NOT_FOUND));
}

/// With a limit of 5, a sixth connection is closed at once; after one closes, a new one is
/// served.
fn connection_limit_is_enforced(server: &ServerProcess, broker: bool) {
    let addr = server.addr();
    let mut held: Vec<RawConn> = (0..5)
        .map(|_| {
            let mut conn = RawConn::connect(addr);
            assert_eq!(conn.request(&ping(broker, 0)).code, 0);
            conn
        })
        .collect();
    let mut refused = RawConn::connect(addr);
    assert!(
        refused.try_request(&ping(broker, 0)).is_none(),
        "a sixth connection was served"
    );
    assert_eq!(held[0].request(&ping(broker, 0)).code, 0);
    drop(held.pop());
    wait_served(addr, broker);
    assert!(
        server.stderr_log().contains("serverMaxConnections"),
        "the refusal was not logged"
    );
}

/// Waits until a new connection is served (the server notices a close asynchronously).
fn wait_served(addr: SocketAddr, broker: bool) {
    let served_again =
        fennec_tests::poll::poll_blocking(WAIT, || served(addr, broker).then_some(()));
    assert!(
        served_again.is_some(),
        "no connection served after one closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_servers_refuse_connections_beyond_the_limit() {
    let cluster = Cluster::start(vec![
        BrokerSpec::new("broker-a").with("serverMaxConnections", "5")
    ]);
    connection_limit_is_enforced(&cluster.brokers[0].process, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let namesrv = start_namesrv(dir.path(), &[("serverMaxConnections", "5")]);
    connection_limit_is_enforced(&namesrv, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nameserver_refuses_registrations_beyond_its_route_limits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let namesrv = start_namesrv(dir.path(), &[("maxTopics", "3"), ("maxBrokers", "2")]);
    let ns = namesrv.addr().to_string();
    let client = RemotingClient::default();
    let register = |identity: BrokerIdentity| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            client
                .invoke(&ns, identity.register_request(), REQUEST_TIMEOUT)
                .await
                .expect("REGISTER_BROKER answered")
        }
    };
    BrokerIdentity::master("a", "127.0.0.1:1", &[("T1", 1), ("T2", 1), ("T3", 1)])
        .register(&client, &ns)
        .await;

    let r = register(BrokerIdentity::master("b", "127.0.0.1:2", &[("T4", 1)])).await;
    assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
    assert!(
        r.remark_str().contains("T4") && r.remark_str().contains("maxTopics"),
        "{}",
        r.remark_str()
    );
    // The broker itself is registered; only the topic is left out.
    let info = cluster_info(&client, &ns).await;
    assert!(info.broker_addr_table.contains_key("b"));
    assert!(fennec_tests::namesrv::topic_route(&client, &ns, "T4")
        .await
        .is_none());

    let r = register(BrokerIdentity::master("c", "127.0.0.1:3", &[])).await;
    assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR));
    assert!(r.remark_str().contains("maxBrokers"), "{}", r.remark_str());
    assert!(!cluster_info(&client, &ns)
        .await
        .broker_addr_table
        .contains_key("c"));
    assert!(namesrv.stderr_log().contains("route table full"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bytes_in_flight_are_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let namesrv = start_namesrv(dir.path(), &[("serverMaxInFlightBytes", "1048576")]);
    let addr = namesrv.addr();

    // A frame larger than the whole budget can never be admitted: refused.
    let mut oversized = RawConn::connect(addr);
    oversized.send(&partial_frame(2 * 1024 * 1024, 100));
    assert!(oversized.try_read_frame().is_none(), "connection kept open");

    // Two partial 700 KiB frames: whichever is read first takes its budget, the other one
    // does not fit and its reader waits (and says so, once).
    let big = fennec_protocol::frame::encode_to_vec(&ping(false, 700 * KIB));
    let (mut first, mut second) = (RawConn::connect(addr), RawConn::connect(addr));
    first.send(&big[..1000]);
    second.send(&big[..1000]);
    wait_until("a reader to wait for budget", WAIT, || {
        let waiting = namesrv.stderr_log().contains("serverMaxInFlightBytes");
        async move { waiting }
    })
    .await;
    // Once the admitted frame is complete and answered, the other is admitted and answered.
    // (The writes go from threads: the waiting reader does not read until then.)
    let rest = big[1000..].to_vec();
    let senders: Vec<_> = [first, second]
        .into_iter()
        .map(|mut conn| {
            let rest = rest.clone();
            std::thread::spawn(move || {
                conn.send(&rest);
                conn.try_read_frame().map(|r| r.code)
            })
        })
        .collect();
    for sender in senders {
        assert_eq!(sender.join().expect("sender thread"), Some(0));
    }
    assert!(served(addr, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_frees_the_budget_of_a_stalled_frame() {
    let dir = tempfile::tempdir().expect("temp dir");
    let namesrv = start_namesrv(
        dir.path(),
        &[
            ("serverMaxInFlightBytes", "1048576"),
            ("serverChannelMaxIdleTimeSeconds", "1"),
        ],
    );
    let addr = namesrv.addr();
    let big = fennec_protocol::frame::encode_to_vec(&ping(false, 700 * KIB));
    let mut holder = RawConn::connect(addr);
    holder.send(&big[..1000]);
    assert!(served(addr, false));
    let waiter = send_in_background(addr, big);
    // The stalled frame is dropped at the idle timeout, and the waiting one goes through.
    let mut waiter = waiter.join().expect("sender thread");
    assert_eq!(waiter.try_read_frame().map(|r| r.code), Some(0));
    poll_for("the stalled connection to be closed", WAIT, || {
        let closed = holder.is_closed();
        async move { closed.then_some(()) }
    })
    .await;
}
