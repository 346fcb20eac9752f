//! What an operator sees: start-up errors name the thing and keep the OS reason, readiness
//! lines appear only once the whole node serves, every problem of a config file is reported
//! at once, and a `--with-namesrv` node stops on SIGTERM without a warning.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use fennec_tests::process::{bin_path, ServerProcess};
use nix::sys::signal::Signal;

/// Runs a binary that is expected to fail at start; returns its output.
fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin_path(bin))
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_busy_port_is_named_and_nothing_is_announced() {
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let store = store.to_str().expect("utf-8");

    let broker = run(
        "mqbroker",
        &[
            "--with-namesrv",
            "--namesrv-port",
            "0",
            "--listen-port",
            &port,
            "--store-dir",
            store,
        ],
    );
    assert!(!broker.status.success());
    let err = stderr(&broker);
    assert!(
        err.contains(&format!(
            "mqbroker: cannot listen on 127.0.0.1:{port} (broker"
        )),
        "{err}"
    );
    assert!(err.contains("Address already in use"), "{err}");
    assert!(
        broker.stdout.is_empty(),
        "no readiness line: {:?}",
        broker.stdout
    );

    let namesrv_busy = run(
        "mqbroker",
        &[
            "--with-namesrv",
            "--namesrv-port",
            &port,
            "--listen-port",
            "0",
            "--store-dir",
            store,
        ],
    );
    let err = stderr(&namesrv_busy);
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port} (built-in nameserver; choose another port with --namesrv-port)"
        )),
        "{err}"
    );
    assert!(namesrv_busy.stdout.is_empty());

    let namesrv = run(
        "mqnamesrv",
        &["--bind", "127.0.0.1", "--listen-port", &port],
    );
    assert!(!namesrv.status.success());
    assert!(
        stderr(&namesrv).contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        stderr(&namesrv)
    );
}

#[test]
fn store_errors_keep_the_os_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let store = file.join("store");
    let o = run(
        "mqbroker",
        &[
            "--listen-port",
            "0",
            "--bind",
            "127.0.0.1",
            "--store-dir",
            store.to_str().expect("utf-8"),
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains(store.to_str().expect("utf-8")), "{err}");
    assert!(err.contains("Not a directory"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_addresses_and_config_files_are_refused_with_every_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = run("mqbroker", &["-n", "garbage", "--listen-port", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("invalid value \"garbage\" for namesrvAddr: \"garbage\" is not host:port"),
        "{}",
        stderr(&o)
    );

    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerNmae=b\nlistenPort=10x11\nflushDiskType=FAST\n",
    )
    .expect("write");
    let o = run("mqbroker", &["-c", conf.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let c = conf.display();
    for line in [
        format!("{c}:1: unknown key brokerNmae (did you mean brokerName?), ignored"),
        format!("{c}:2: invalid value \"10x11\" for listenPort"),
        format!(
            "{c}:3: invalid value \"FAST\" for flushDiskType: expected ASYNC_FLUSH or SYNC_FLUSH"
        ),
    ] {
        assert!(err.contains(&line), "{err} lacks {line}");
    }

    let admin = run("mqadmin", &["-n", "garbage", "clusterList"]);
    assert!(!admin.status.success());
    assert!(
        stderr(&admin).contains("\"garbage\" is not host:port"),
        "{}",
        stderr(&admin)
    );
}

#[test]
fn a_single_node_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let mut node = ServerProcess::start(
        "mqbroker",
        [
            "--with-namesrv",
            "--namesrv-port",
            "0",
            "--listen-port",
            "0",
            "--store-dir",
            store.to_str().expect("utf-8"),
        ],
    );
    node.signal(Signal::SIGTERM);
    let status = node.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let log = node.stderr_log();
    assert!(log.contains("ready on "), "{log}");
    assert!(!log.contains(" WARN ") && !log.contains(" ERROR "), "{log}");
}

#[test]
fn shipped_configuration_files_load_without_warnings() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    for conf in [
        "conf/single/broker.conf",
        "conf/2m/broker-a.conf",
        "conf/2m/broker-b.conf",
        "packaging/etc/broker.conf",
    ] {
        let path = root.join(conf);
        let o = run(
            "mqbroker",
            &["-c", path.to_str().expect("utf-8"), "--print-config"],
        );
        assert!(o.status.success(), "{conf}: {}", stderr(&o));
        assert!(!stderr(&o).contains("WARN"), "{conf}: {}", stderr(&o));
    }
    for conf in ["conf/2m/namesrv.conf", "packaging/etc/namesrv.conf"] {
        let text = std::fs::read_to_string(root.join(conf)).expect("read");
        let mut c = fennec_nameserver::NamesrvConfig::default();
        let warnings = c.apply_properties(&text, conf).expect("valid");
        assert!(warnings.is_empty(), "{conf}: {warnings:?}");
    }
}
