//! Harness for Fennec's process-level integration tests (the test files are in `tests/`).
//!
//! * [`process`]: start a workspace binary (`mqnamesrv`, `mqbroker`, …) from the cargo target
//!   directory, learn its address from its `LISTENING <ip:port>` line, kill it on drop;
//! * [`poll`]: wait for a condition with a deadline instead of sleeping;
//! * [`namesrv`]: nameserver requests that tests of every server need;
//! * [`cluster`]: a real nameserver plus brokers with small store files, restartable;
//!   [`one_broker`]: one of them, with the test's own connection to the broker;
//! * [`mqadmin`]: run the real `mqadmin` binary against a cluster and parse its `--json`
//!   (read with [`json`]); [`mqbench`]: the same for the real `mqbench`;
//! * [`raw`]: raw connections that send partial frames or stay silent;
//! * [`mount`]: small tmpfs and failing ext4 file systems for disk-fault tests (root only);
//! * [`sdk`]: SDK producers and consumers started against a cluster;
//! * [`ordered`]: orderly consumers journaling keyed sequences, and the order verdict;
//! * [`proxy`]: a fault-injecting proxy in front of one broker, recording what clients send;
//! * [`proxied`]: a cluster whose brokers are behind proxies, observed directly;
//! * [`browser`]: headless Chromium (the dashboard's real-browser test);
//! * [`scrape`]: plain HTTP GET/POST and Prometheus text parsing (metrics, dashboard);
//! * [`quick_start`]: `mqbroker --with-namesrv` with metrics and the dashboard on;
//! * [`scenario`]: independent scenarios run concurrently in one test on a shared cluster;
//! * [`tx`]: scripted transaction listeners and the broker's op queue;
//! * [`acked`]: producers that note every acknowledged send, and the check they are stored;
//! * [`replication`]: masters and slaves: catching up, topics copied, CommitLog bytes;
//! * [`certs`]: throw-away CA, server and client certificates for TLS tests.
//!
//! Binaries are not built by `cargo test` for this package: run `scripts/test.sh`, or
//! `cargo build --workspace --bins` first.

pub mod acked;
pub mod broker_api;
pub mod browser;
pub mod certs;
pub mod cluster;
pub mod json;
pub mod mount;
pub mod mqadmin;
pub mod mqbench;
pub mod namesrv;
pub mod one_broker;
pub mod ordered;
pub mod poll;
pub mod process;
pub mod proxied;
pub mod proxy;
pub mod quick_start;
pub mod raw;
pub mod replication;
pub mod scenario;
pub mod scrape;
pub mod sdk;
pub mod tx;
