//! Hostile frames against real `mqnamesrv` and `mqbroker` processes: each is answered with an
//! error that names the problem or costs only its own connection, and both servers keep
//! serving other clients afterwards. The first two are the frames that used to kill the
//! servers: a HEART_BEAT (broker) and a REGISTER_BROKER (nameserver) whose body is 1 MiB of `{`.

use std::time::Duration;

use bytes::BytesMut;
use fennec_protocol::frame::encode_into;
use fennec_remoting::{RemotingClient, RemotingCodec, RemotingCommand, RequestCode, ResponseCode};
use fennec_tests::cluster::Cluster;
use fennec_tests::namesrv::{cluster_info, BrokerIdentity, REQUEST_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

/// How long a server may take to answer or close; far above what any of these needs, it only
/// keeps a broken server from hanging the test.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a server did with a frame.
#[derive(Debug)]
enum Outcome {
    Answered(RemotingCommand),
    Closed,
}

/// Sends `frame` on a fresh connection and waits for a response or the connection's end.
async fn exchange(addr: &str, frame: &[u8]) -> Outcome {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may close before reading everything; a failed write is one outcome.
    let _ = stream.write_all(frame).await;
    let mut buf = BytesMut::new();
    let mut codec = RemotingCodec::default();
    let read = async {
        loop {
            if let Ok(Some(cmd)) = codec.decode(&mut buf) {
                return Outcome::Answered(cmd);
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return Outcome::Closed,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(VERDICT_TIMEOUT, read)
        .await
        .expect("the server neither answered nor closed the connection")
}

fn frame_of(cmd: &RemotingCommand) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode_into(cmd, &mut buf);
    buf.to_vec()
}

/// A raw frame: length word, header-length word (serialize type in the high byte), header,
/// body.
fn raw_frame(serialize: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&((u32::from(serialize) << 24) | header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

fn open_braces() -> Vec<u8> {
    vec![b'{'; 1 << 20]
}

fn deep_objects() -> Vec<u8> {
    br#"{"a":"#.repeat(10_000)
}

/// Frames no server may crash or hang on, whatever the request.
fn generic_hostile_frames() -> Vec<(&'static str, Vec<u8>)> {
    let json_header = br#"{"code":34,"language":"JAVA","version":401,"opaque":7,"flag":0}"#;
    let mut binary_overrun = vec![0, 34, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0];
    binary_overrun.extend_from_slice(&0i32.to_be_bytes());
    binary_overrun.extend_from_slice(&0x7FFF_FFFFi32.to_be_bytes());
    vec![
        (
            "negative frame length",
            vec![0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1],
        ),
        (
            "frame length 2^31-1",
            vec![0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0],
        ),
        ("header longer than the frame", {
            let mut f = raw_frame(0, json_header, b"");
            f[4..8].copy_from_slice(&0x00FF_FFFFu32.to_be_bytes());
            f
        }),
        ("unknown serialize type", raw_frame(9, json_header, b"")),
        (
            "JSON header nested 1 MiB deep",
            raw_frame(0, &vec![b'['; 1 << 20], b""),
        ),
        ("JSON header of braces", raw_frame(0, &open_braces(), b"")),
        (
            "binary header with an overrunning extFields length",
            raw_frame(1, &binary_overrun, b""),
        ),
        ("binary header of 0xFF", raw_frame(1, &[0xFF; 4096], b"")),
        (
            "JSON header not UTF-8",
            raw_frame(0, &[0xC3, 0x28, 0xFF, 0xFE], b""),
        ),
    ]
}

/// Asserts `outcome` is an error answer whose remark contains `needle`.
fn assert_refused(outcome: Outcome, needle: &str) {
    match outcome {
        Outcome::Answered(r) => {
            assert_eq!(r.code, i32::from(ResponseCode::SYSTEM_ERROR), "{r:?}");
            assert!(
                r.remark_str().contains(needle),
                "remark {:?} should contain {needle:?}",
                r.remark_str()
            );
        }
        Outcome::Closed => panic!("expected an error answer containing {needle:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_cost_only_their_own_connection() {
    let mut cluster = Cluster::single();
    let namesrv = cluster.namesrv_addr();
    let broker = cluster.broker(0).addr();
    let client = RemotingClient::default();

    // The broker: a HEART_BEAT whose body is 1 MiB of `{`, then one nested too deeply.
    let heartbeat = |body: Vec<u8>| {
        frame_of(&RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body))
    };
    assert_refused(
        exchange(&broker, &heartbeat(open_braces())).await,
        "HEART_BEAT body",
    );
    assert_refused(
        exchange(&broker, &heartbeat(deep_objects())).await,
        "HEART_BEAT body: JSON nested deeper than 64 levels",
    );

    // The nameserver: the same bodies in REGISTER_BROKER.
    let register = |body: Vec<u8>| {
        let mut cmd = BrokerIdentity::master("evil", "127.0.0.1:1", &[]).register_request();
        cmd.ext_fields.remove("bodyCrc32");
        frame_of(&cmd.with_body(body))
    };
    assert_refused(
        exchange(&namesrv, &register(open_braces())).await,
        "REGISTER_BROKER body",
    );
    assert_refused(
        exchange(&namesrv, &register(deep_objects())).await,
        "REGISTER_BROKER body: JSON nested deeper than 64 levels",
    );

    for (what, frame) in generic_hostile_frames() {
        for addr in [&namesrv, &broker] {
            let outcome = exchange(addr, &frame).await;
            if let Outcome::Answered(r) = &outcome {
                assert_ne!(r.code, 0, "{what} to {addr} succeeded: {r:?}");
            }
        }
    }

    // Both servers are alive and serve other clients: the broker is still registered and
    // answers a well-formed heartbeat.
    let info = cluster_info(&client, &namesrv).await;
    assert!(info.broker_addr_table.contains_key("broker-a"), "{info:?}");
    let ok = client
        .invoke(
            &broker,
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(
                br#"{"clientID":"probe","consumerDataSet":[],"producerDataSet":[]}"#.to_vec(),
            ),
            REQUEST_TIMEOUT,
        )
        .await
        .expect("broker still serves");
    assert_eq!(ok.code, 0, "{}", ok.remark_str());
    for process in [&mut cluster.namesrv, &mut cluster.brokers[0].process] {
        assert!(
            process.wait_exit(Duration::ZERO).is_none(),
            "a server exited"
        );
    }
}
