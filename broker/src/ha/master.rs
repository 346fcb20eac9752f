//! [`HaMaster`]: a master's side of replication. It accepts slaves on `haListenPort`; per
//! slave one task reads the slave's offset reports (acknowledgements) and streams the
//! CommitLog from the offset the slave first reported, woken by appends (see `frame.rs` for
//! the wire format). A SYNC_MASTER's sends wait in [`SyncWaiters`] until a report covers
//! them.
//!
//! A slave is refused, with the reason logged here and a heartbeat frame at this master's
//! own end (which the slave's check rejects and names), when its log cannot continue from
//! this one: it is ahead of this master, its offset is not where an entry starts here, or
//! it is behind files this master has deleted. An empty slave (offset 0) gets everything
//! from this master's oldest file on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fennec_store::{MessageStore, PutMessageResult, PutMessageStatus, StoreConfig};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use super::frame::{self, REPORT_LEN};
use super::sync_wait::SyncWaiters;

/// One connected slave.
#[derive(Debug)]
struct SlaveLink {
    addr: SocketAddr,
    /// The slave's last report.
    acked: AtomicI64,
    /// Where the next frame to it starts.
    sent: AtomicI64,
}

/// What the runtime info shows of one slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveStatus {
    pub addr: SocketAddr,
    /// The slave's last reported CommitLog offset.
    pub acked: i64,
    /// Bytes this master holds that the slave has not reported.
    pub behind: i64,
    /// Offset of the next byte sent to it.
    pub sent: i64,
}

/// The settings of the master side.
#[derive(Debug, Clone)]
struct Settings {
    batch: usize,
    heartbeat: Duration,
    housekeeping: Duration,
    fallbehind_max: i64,
    wait_timeout: Duration,
}

pub struct HaMaster {
    store: Arc<MessageStore>,
    settings: Settings,
    waiters: SyncWaiters,
    slaves: Mutex<BTreeMap<u64, Arc<SlaveLink>>>,
    next_id: AtomicU64,
}

impl HaMaster {
    pub fn new(store: Arc<MessageStore>, config: &StoreConfig) -> Arc<HaMaster> {
        Arc::new(HaMaster {
            store,
            settings: Settings {
                batch: config.ha_transfer_batch_size,
                heartbeat: config.ha_send_heartbeat_interval,
                housekeeping: config.ha_housekeeping_interval,
                fallbehind_max: config.ha_slave_fallbehind_max,
                wait_timeout: config.sync_flush_timeout,
            },
            waiters: SyncWaiters::default(),
            slaves: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(0),
        })
    }

    /// Accepts slaves until `token` fires, then closes every link.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, token: CancellationToken) {
        let links = TaskTracker::new();
        loop {
            let (stream, peer) = tokio::select! {
                _ = token.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!("HA accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let me = self.clone();
            let token = token.clone();
            links.spawn(async move { me.link(stream, peer, token).await });
        }
        links.close();
        links.wait().await;
    }

    /// The connected slaves.
    pub fn slaves(&self) -> Vec<SlaveStatus> {
        let end = self.store.commit_log_max_offset();
        self.slaves
            .lock()
            .values()
            .map(|l| {
                let acked = l.acked.load(Ordering::Relaxed);
                SlaveStatus {
                    addr: l.addr,
                    acked,
                    behind: (end - acked).max(0),
                    sent: l.sent.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Highest offset any slave has acknowledged (RocketMQ's push2SlaveMaxOffset).
    pub fn acked(&self) -> i64 {
        self.waiters.acked()
    }

    /// Why a SYNC_MASTER cannot wait for a slave to hold `end`, if it cannot.
    fn slave_unavailable(&self, end: i64) -> Option<String> {
        if self.slaves.lock().is_empty() {
            return Some("no slave is connected".to_string());
        }
        let behind = end - self.acked();
        (behind >= self.settings.fallbehind_max).then(|| {
            format!(
                "the best slave is {behind} bytes behind (haSlaveFallbehindMax {})",
                self.settings.fallbehind_max
            )
        })
    }

    /// A SYNC_MASTER's put: once appended (and flushed as the flush policy asks), waits
    /// until a slave acknowledged it, up to `syncFlushTimeout`. `wait` is the message's
    /// WAIT property.
    pub async fn wait_for_slave(&self, result: PutMessageResult, wait: bool) -> PutMessageResult {
        let Some(append) = result.append.as_ref().filter(|_| result.is_ok() && wait) else {
            return result;
        };
        let end = append.wrote_offset + append.wrote_bytes as i64;
        if let Some(why) = self.slave_unavailable(end) {
            return result.merge(PutMessageStatus::SlaveNotAvailable, Some(why));
        }
        let Some(rx) = self.waiters.register(end) else {
            return result;
        };
        match tokio::time::timeout(self.settings.wait_timeout, rx).await {
            Ok(Ok(())) => result,
            _ => result.merge(
                PutMessageStatus::FlushSlaveTimeout,
                Some(format!(
                    "no slave acknowledged offset {end} within {:?} (syncFlushTimeout)",
                    self.settings.wait_timeout
                )),
            ),
        }
    }

    async fn link(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, token: CancellationToken) {
        if let Err(e) = stream.set_nodelay(true) {
            debug!(slave = %peer, "cannot set TCP_NODELAY: {e}");
        }
        let (mut rd, mut wr) = stream.into_split();
        let mut first = [0u8; REPORT_LEN];
        match tokio::time::timeout(self.settings.housekeeping, rd.read_exact(&mut first)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return debug!(slave = %peer, "HA connection closed before a report: {e}"),
            Err(_) => return warn!(slave = %peer, "HA connection sent no offset; closed"),
        }
        let reported = i64::from_be_bytes(first);
        let start = match self.start_offset(reported) {
            Ok(start) => start,
            Err(why) => {
                error!(slave = %peer, "slave refused: {why}");
                let end = self.store.commit_log_max_offset();
                let _ = wr.write_all(&frame::header(end, 0)).await;
                return;
            }
        };
        info!(slave = %peer, reported, from = start, "slave connected; replicating");
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let link = Arc::new(SlaveLink {
            addr: peer,
            acked: AtomicI64::new(reported),
            sent: AtomicI64::new(start),
        });
        self.slaves.lock().insert(id, link.clone());
        self.waiters.advance(reported);
        let outcome = tokio::select! {
            r = self.read_reports(&mut rd, &link) => r,
            r = self.send_log(&mut wr, start, &link) => r,
            _ = token.cancelled() => Ok(()),
        };
        self.slaves.lock().remove(&id);
        match outcome {
            Ok(()) => info!(slave = %peer, "slave disconnected"),
            Err(why) => warn!(slave = %peer, "slave link closed: {why}"),
        }
    }

    /// Where to start sending to a slave that reported `reported` first.
    fn start_offset(&self, reported: i64) -> Result<i64, String> {
        let end = self.store.commit_log_max_offset();
        let min = self.store.commit_log_min_offset();
        if reported == 0 {
            return Ok(min.min(end));
        }
        if reported < 0 || reported > end {
            return Err(format!(
                "its CommitLog ends at {reported}, past this master's end {end}: it holds data \
                 this master does not (a slave of another master, or a master that lost its \
                 store); clear the slave's store to copy this master"
            ));
        }
        if reported < min {
            return Err(format!(
                "its CommitLog ends at {reported}, but this master's oldest data starts at \
                 {min}: the slave is behind deleted files; clear its store to copy this master"
            ));
        }
        if reported < end && !self.store.is_entry_start(reported) {
            return Err(format!(
                "its CommitLog ends at {reported}, where no entry starts in this master's log: \
                 the logs have diverged; clear the slave's store to copy this master"
            ));
        }
        Ok(reported)
    }

    async fn read_reports(&self, rd: &mut OwnedReadHalf, link: &SlaveLink) -> Result<(), String> {
        let mut buf = [0u8; REPORT_LEN];
        loop {
            match tokio::time::timeout(self.settings.housekeeping, rd.read_exact(&mut buf)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Ok(Err(e)) => return Err(format!("reading its report: {e}")),
                Err(_) => {
                    return Err(format!(
                        "silent for {:?} (haHousekeepingInterval)",
                        self.settings.housekeeping
                    ))
                }
            }
            let acked = i64::from_be_bytes(buf);
            let end = self.store.commit_log_max_offset();
            if acked > end {
                return Err(format!(
                    "it reported offset {acked}, past this master's end {end}"
                ));
            }
            link.acked.store(acked, Ordering::Relaxed);
            self.waiters.advance(acked);
        }
    }

    async fn send_log(
        &self,
        wr: &mut OwnedWriteHalf,
        start: i64,
        link: &SlaveLink,
    ) -> Result<(), String> {
        let mut next = start;
        let mut buf = Vec::with_capacity(frame::HEADER_LEN + self.settings.batch);
        let mut last_write = Instant::now();
        loop {
            match self.store.commit_log_data(next, self.settings.batch) {
                Some(data) => {
                    buf.clear();
                    buf.extend_from_slice(&frame::header(next, data.len()));
                    buf.extend_from_slice(&data);
                    drop(data);
                    wr.write_all(&buf)
                        .await
                        .map_err(|e| format!("sending offset {next}: {e}"))?;
                    next += (buf.len() - frame::HEADER_LEN) as i64;
                    link.sent.store(next, Ordering::Relaxed);
                    last_write = Instant::now();
                }
                None if self.store.commit_log_max_offset() > next => {
                    let min = self.store.commit_log_min_offset();
                    if next < min {
                        return Err(format!(
                            "offset {next} to send was deleted (oldest is {min})"
                        ));
                    }
                    tokio::task::yield_now().await;
                }
                None => {
                    if last_write.elapsed() >= self.settings.heartbeat {
                        wr.write_all(&frame::header(next, 0))
                            .await
                            .map_err(|e| format!("sending a heartbeat: {e}"))?;
                        last_write = Instant::now();
                    }
                    let idle = self.settings.heartbeat.saturating_sub(last_write.elapsed());
                    self.store.wait_for_growth(next, idle).await;
                }
            }
        }
    }
}
