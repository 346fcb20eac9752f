//! A test cluster: one real `mqnamesrv` and any number of real `mqbroker` processes on
//! ephemeral loopback ports, each broker with its own temporary store and small file sizes
//! (so file rolling happens in tests). Brokers can be stopped and restarted on their store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tempfile::TempDir;

use crate::process::ServerProcess;
use crate::proxy::FaultProxy;

/// `brokerClusterName` of every test broker.
pub const CLUSTER_NAME: &str = "FennecTest";

/// How one broker is configured.
#[derive(Debug, Clone)]
pub struct BrokerSpec {
    pub name: String,
    /// 0 for a master; a slave (see [`BrokerSpec::slave`]) has 1 or more.
    pub broker_id: i64,
    pub sync_flush: bool,
    /// Extra `key=value` lines for broker.conf.
    pub extra: Vec<(String, String)>,
    /// Files written beside broker.conf before the broker starts (name, contents).
    pub files: Vec<(String, String)>,
}

impl BrokerSpec {
    /// An ASYNC_FLUSH master named `name`.
    pub fn new(name: &str) -> Self {
        BrokerSpec {
            name: name.to_string(),
            broker_id: 0,
            sync_flush: false,
            extra: Vec::new(),
            files: Vec::new(),
        }
    }

    /// A master with `brokerRole` `role` (`ASYNC_MASTER` or `SYNC_MASTER`) that lets
    /// consumers read from its slaves, which copy its metadata every 500 ms.
    pub fn master(name: &str, role: &str) -> Self {
        BrokerSpec::new(name)
            .with("brokerRole", role)
            .with("slaveReadEnable", "true")
    }

    /// Slave `broker_id` (1 or more) of the master named `name`; it finds the master
    /// through the nameserver and copies its metadata every 500 ms.
    pub fn slave(name: &str, broker_id: i64) -> Self {
        BrokerSpec {
            broker_id,
            ..BrokerSpec::new(name)
        }
        .with("brokerRole", "SLAVE")
        .with("slaveReadEnable", "true")
        .with("slaveSyncInterval", "500")
    }

    /// The directory of this broker's files in a cluster.
    pub fn dir_name(&self) -> String {
        match self.broker_id {
            0 => self.name.clone(),
            id => format!("{}-{id}", self.name),
        }
    }

    pub fn sync_flush(mut self) -> Self {
        self.sync_flush = true;
        self
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_string(), value.to_string()));
        self
    }

    /// Writes file `name` (e.g. `plain_acl.yml`) beside broker.conf before starting.
    pub fn with_file(mut self, name: &str, contents: &str) -> Self {
        self.files.push((name.to_string(), contents.to_string()));
        self
    }

    /// A broker clients reach only through `proxy`: it listens on the proxy's upstream
    /// address and advertises the proxy's (`brokerIP1` and `listenPort` make the address it
    /// registers, so routes and message ids name the proxy).
    pub fn behind(self, proxy: &FaultProxy) -> Self {
        let (addr, upstream) = (proxy.addr(), proxy.upstream());
        assert_eq!(
            addr.port(),
            upstream.port(),
            "a proxy forwards to its own port"
        );
        self.with("bindAddress", &upstream.ip().to_string())
            .with("listenPort", &upstream.port().to_string())
            .with("brokerIP1", &addr.ip().to_string())
    }
}

/// A broker process and the store it owns.
pub struct TestBroker {
    pub spec: BrokerSpec,
    pub process: ServerProcess,
    conf: PathBuf,
    store: PathBuf,
}

impl TestBroker {
    /// Writes broker.conf under `dir` and starts the broker with its store in `dir/store`.
    pub fn start(namesrv: SocketAddr, dir: &Path, spec: BrokerSpec) -> TestBroker {
        TestBroker::start_with_store(namesrv, dir, &dir.join("store"), spec)
    }

    /// Writes broker.conf under `dir` and starts the broker with its store in `store`.
    pub fn start_with_store(
        namesrv: SocketAddr,
        dir: &Path,
        store: &Path,
        spec: BrokerSpec,
    ) -> TestBroker {
        let store = store.to_path_buf();
        let conf = dir.join("broker.conf");
        let mut text = format!(
            "brokerClusterName={CLUSTER_NAME}\nbrokerName={}\nbrokerId={}\nnamesrvAddr={namesrv}\n\
             listenPort=0\nbindAddress=127.0.0.1\nbrokerIP1=127.0.0.1\nstorePathRootDir={}\n\
             mappedFileSizeCommitLog=8388608\nmappedFileSizeConsumeQueue=60000\n\
             maxHashSlotNum=50000\nmaxIndexNum=200000\nflushDiskType={}\n",
            spec.name,
            spec.broker_id,
            store.display(),
            if spec.sync_flush {
                "SYNC_FLUSH"
            } else {
                "ASYNC_FLUSH"
            },
        );
        for (k, v) in &spec.extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(&conf, text).expect("write broker.conf");
        for (name, contents) in &spec.files {
            std::fs::write(dir.join(name), contents).expect("write a file beside broker.conf");
        }
        let process =
            ServerProcess::start("mqbroker", [std::ffi::OsStr::new("-c"), conf.as_os_str()]);
        TestBroker {
            spec,
            process,
            conf,
            store,
        }
    }

    /// `ip:port` clients use.
    pub fn addr(&self) -> String {
        self.process.addr().to_string()
    }

    pub fn store_dir(&self) -> &Path {
        &self.store
    }

    /// Stops the broker gracefully (SIGTERM) and checks that it exits 0.
    pub fn stop(&mut self) {
        self.process.signal(Signal::SIGTERM);
        let status = self.process.wait_exit(Duration::from_secs(30));
        assert!(
            status.is_some_and(|s| s.success()),
            "broker {} did not exit cleanly: {status:?}",
            self.spec.name
        );
    }

    /// Kills the broker with SIGKILL.
    pub fn crash(&mut self) {
        self.process.kill();
    }

    /// Starts the broker again on the same store and configuration (a new port).
    pub fn restart(&mut self) {
        self.process = ServerProcess::start(
            "mqbroker",
            [std::ffi::OsStr::new("-c"), self.conf.as_os_str()],
        );
    }
}

/// Starts a nameserver on 127.0.0.1 with its KV store under `dir` and a config file of
/// `conf` (`key=value` lines) there.
pub fn start_namesrv(dir: &Path, conf: &[(&str, &str)]) -> ServerProcess {
    let kv = dir.join("kvConfig.json");
    let file = dir.join("namesrv.conf");
    let text: String = conf.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&file, text).expect("write namesrv.conf");
    ServerProcess::start(
        "mqnamesrv",
        [
            std::ffi::OsStr::new("--listen-port"),
            "0".as_ref(),
            "--bind".as_ref(),
            "127.0.0.1".as_ref(),
            "--kv-config-path".as_ref(),
            kv.as_os_str(),
            "-c".as_ref(),
            file.as_os_str(),
        ],
    )
}

/// Starts `mqdashboard -n <namesrv> <extra>` on a free loopback port; its address is
/// [`ServerProcess::addr`].
pub fn start_dashboard(namesrv: &str, extra: &[&str]) -> ServerProcess {
    let args = ["-n", namesrv, "--port", "0"]
        .into_iter()
        .chain(extra.iter().copied());
    ServerProcess::start("mqdashboard", args.map(std::ffi::OsStr::new))
}

/// A nameserver and its brokers.
pub struct Cluster {
    pub namesrv: ServerProcess,
    pub brokers: Vec<TestBroker>,
    dir: TempDir,
}

impl Cluster {
    /// Starts a nameserver and one broker per spec.
    pub fn start(specs: Vec<BrokerSpec>) -> Cluster {
        Cluster::start_with_namesrv(&[], specs)
    }

    /// Starts a nameserver configured by `namesrv_conf` (`key=value` pairs) and one broker
    /// per spec.
    pub fn start_with_namesrv(namesrv_conf: &[(&str, &str)], specs: Vec<BrokerSpec>) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let namesrv = start_namesrv(dir.path(), namesrv_conf);
        let brokers = specs
            .into_iter()
            .map(|spec| {
                let bdir = dir.path().join(spec.dir_name());
                std::fs::create_dir_all(&bdir).expect("broker dir");
                TestBroker::start(namesrv.addr(), &bdir, spec)
            })
            .collect();
        Cluster {
            namesrv,
            brokers,
            dir,
        }
    }

    /// One ASYNC_FLUSH broker named `broker-a`.
    pub fn single() -> Cluster {
        Cluster::start(vec![BrokerSpec::new("broker-a")])
    }

    /// Two ASYNC_FLUSH brokers, `broker-a` and `broker-b`.
    pub fn pair() -> Cluster {
        Cluster::start(vec![
            BrokerSpec::new("broker-a"),
            BrokerSpec::new("broker-b"),
        ])
    }

    /// The nameserver address for clients.
    pub fn namesrv_addr(&self) -> String {
        self.namesrv.addr().to_string()
    }

    pub fn broker(&mut self, i: usize) -> &mut TestBroker {
        &mut self.brokers[i]
    }

    /// Root of every file this cluster writes.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
