//! Crash-safe JSON metadata files (`config/topics.json`, `subscriptionGroup.json`,
//! `consumerOffset.json`) and the thread that writes them.
//!
//! A write copies the previous content to `<file>.bak`, writes `<file>.tmp`, fsyncs it, renames
//! it over the file and fsyncs the directory, so a crash leaves either the old or the new
//! content. Loading falls back to `.bak` when the main file is missing or unparseable.
//! Writers hand snapshots to one `fennec-persist` thread, which coalesces queued snapshots of
//! the same file so that only the newest is written; tokio workers never touch the disk. A
//! snapshot that cannot be written (a full disk) is retried every second until it is, or
//! until a newer snapshot of the same file replaces it.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use tracing::{error, info, warn};

/// Reads a JSON file written by [`write_atomically`](fennec_common::fs::write_atomically) (or
/// by Java RocketMQ: fastjson quirks are accepted), falling back to its `.bak`; `Ok(None)`
/// when neither exists.
pub fn load<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    for candidate in [path.to_path_buf(), fennec_common::fs::backup_path(path)] {
        match fs::read(&candidate) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(bytes) => match fennec_protocol::decode_body::<T>(&bytes) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => {
                    warn!(path = %candidate.display(), "unreadable metadata file, trying backup: {e}")
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

enum Job {
    Write(PathBuf, Vec<u8>),
    /// Called once every job queued before this one is written (or has failed and waits for
    /// its retry).
    Barrier(Box<dyn FnOnce() + Send>),
}

/// The metadata writer thread.
pub struct Persister {
    tx: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Persister {
    pub fn start() -> io::Result<Persister> {
        let (tx, rx) = unbounded();
        let thread = std::thread::Builder::new()
            .name("fennec-persist".into())
            .spawn(move || run(rx))?;
        Ok(Persister {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn send(&self, job: Job) -> bool {
        match &*self.tx.lock() {
            Some(tx) => tx.send(job).is_ok(),
            None => false,
        }
    }

    /// Queues `content` to be written to `path`.
    pub fn submit(&self, path: PathBuf, content: Vec<u8>) {
        if !self.send(Job::Write(path, content)) {
            error!("metadata writer has stopped; a snapshot was dropped");
        }
    }

    /// Blocks until everything submitted so far is on disk (shutdown; never call from a tokio
    /// worker).
    pub fn sync(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.send(Job::Barrier(Box::new(move || {
            let _ = tx.send(());
        }))) {
            let _ = rx.recv();
        }
    }

    /// Completes once everything submitted so far is on disk (for async callers).
    pub fn written(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.send(Job::Barrier(Box::new(move || {
            let _ = tx.send(());
        })));
        async move {
            if queued {
                let _ = rx.await;
            }
        }
    }

    /// Writes what is queued and stops the thread.
    pub fn stop(&self) {
        drop(self.tx.lock().take());
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
    }
}

/// How often snapshots that could not be written (on a full disk, say) are tried again.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

fn run(rx: Receiver<Job>) {
    // The newest snapshot of each file whose last write failed; retried until written (or
    // replaced by a newer snapshot of the same file).
    let mut failed: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    loop {
        let first = if failed.is_empty() {
            match rx.recv() {
                Ok(job) => Some(job),
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(RETRY_INTERVAL) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        };
        let mut latest = failed.clone();
        let mut barriers = Vec::new();
        for job in first.into_iter().chain(rx.try_iter()) {
            match job {
                Job::Write(path, content) => {
                    latest.insert(path, content);
                }
                Job::Barrier(done) => barriers.push(done),
            }
        }
        write_all(latest, &mut failed);
        for done in barriers {
            done();
        }
    }
    if !failed.is_empty() {
        let retry = failed.clone();
        write_all(retry, &mut failed);
        for path in failed.keys() {
            error!(path = %path.display(), "metadata file not written at shutdown; it keeps its previous content");
        }
    }
}

/// Writes each snapshot; keeps in `failed` those that could not be written.
fn write_all(latest: HashMap<PathBuf, Vec<u8>>, failed: &mut HashMap<PathBuf, Vec<u8>>) {
    for (path, content) in latest {
        match fennec_common::fs::write_atomically(&path, &content) {
            Ok(()) => {
                if failed.remove(&path).is_some() {
                    info!(path = %path.display(), "metadata file written after earlier failures");
                }
            }
            Err(e) => {
                if !failed.contains_key(&path) {
                    error!(path = %path.display(), "cannot write metadata file, retrying: {e}");
                }
                failed.insert(path, content);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn atomic_write_keeps_backup_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config").join("x.json");
        assert!(load::<BTreeMap<String, i32>>(&path).unwrap().is_none());
        fennec_common::fs::write_atomically(&path, br#"{"a":1}"#).unwrap();
        fennec_common::fs::write_atomically(&path, br#"{"a":2}"#).unwrap();
        assert_eq!(
            load::<BTreeMap<String, i32>>(&path).unwrap().unwrap()["a"],
            2
        );
        fs::write(&path, b"{torn").unwrap();
        assert_eq!(
            load::<BTreeMap<String, i32>>(&path).unwrap().unwrap()["a"],
            1
        );
    }

    #[test]
    fn persister_writes_newest_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.json");
        let p = Persister::start().unwrap();
        for i in 0..100 {
            p.submit(path.clone(), format!("{{\"v\":{i}}}").into_bytes());
        }
        p.sync();
        assert_eq!(
            load::<BTreeMap<String, i32>>(&path).unwrap().unwrap()["v"],
            99
        );
        p.stop();
    }

    #[test]
    fn failed_writes_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where the directory must go makes the write fail.
        let blocker = dir.path().join("config");
        fs::write(&blocker, b"not a directory").unwrap();
        let path = blocker.join("x.json");
        let p = Persister::start().unwrap();
        p.submit(path.clone(), br#"{"v":1}"#.to_vec());
        p.sync();
        assert!(!path.exists());
        fs::remove_file(&blocker).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            load::<BTreeMap<String, i32>>(&path).unwrap().unwrap()["v"],
            1,
            "the failed snapshot was written by a retry"
        );
        p.stop();
    }
}
