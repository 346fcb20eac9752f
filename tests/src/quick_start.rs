//! [`quick_start`]: `mqbroker --with-namesrv` as a user starts it (nameserver and broker in
//! one process), on free loopback ports with metrics on, and small store files so a test
//! does not pre-allocate gigabytes.

use std::ffi::OsStr;
use std::path::Path;

use crate::process::ServerProcess;

/// Starts `mqbroker --with-namesrv` with its store under `dir`; it prints
/// `NAMESRV_LISTENING`, `METRICS_LISTENING` (see [`ServerProcess::announced`]) and
/// `LISTENING`.
pub fn quick_start(dir: &Path) -> ServerProcess {
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        "mappedFileSizeCommitLog=8388608\nmappedFileSizeConsumeQueue=60000\n\
         maxHashSlotNum=50000\nmaxIndexNum=200000\n",
    )
    .expect("write broker.conf");
    ServerProcess::start(
        "mqbroker",
        [
            OsStr::new("--with-namesrv"),
            "-c".as_ref(),
            conf.as_os_str(),
            "--namesrv-port".as_ref(),
            "0".as_ref(),
            "--listen-port".as_ref(),
            "0".as_ref(),
            "--metrics-port".as_ref(),
            "0".as_ref(),
            "--store-dir".as_ref(),
            dir.join("store").as_os_str(),
        ],
    )
}
