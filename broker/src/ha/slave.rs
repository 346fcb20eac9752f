//! [`HaSlave`]: a slave's side of replication. One task keeps a connection to the master's
//! HA port (`haMasterAddress`, or the address the nameserver answered the slave's
//! registration with), reports this store's CommitLog end on connect, after every append and
//! after `haSendHeartbeatInterval` of silence, and appends what the master sends, unchanged
//! (`MessageStore::append_replicated` checks each entry first and takes whole entries only:
//! a frame may end inside a record, whose start waits here for the rest).
//!
//! A frame that does not continue this log (another offset, or bytes that are not the
//! entries that belong here) stops the session with an error naming both offsets; the
//! slave appends nothing from it and tries again later, so a slave that is ahead of its
//! master or has diverged from it keeps refusing, loudly, instead of corrupting its log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use fennec_store::{MessageStore, ReplicaError, StoreConfig};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::frame::{self, HEADER_LEN, MAX_BODY};

/// How long a connection attempt to the master may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// First pause before connecting again; it doubles up to `haSendHeartbeatInterval`.
const FIRST_RETRY: Duration = Duration::from_millis(200);

/// Where the master is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MasterAddrs {
    ha: Option<String>,
    remoting: Option<String>,
}

/// What the runtime info shows of a slave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaveState {
    /// The master's HA address while connected.
    pub connected_to: Option<String>,
    /// The master's HA address (configured or learned).
    pub master_ha_addr: Option<String>,
    /// Offset of the last byte the master sent (its end as far as this slave knows).
    pub master_offset: i64,
    /// Why the last session ended, if it failed.
    pub last_error: Option<String>,
}

/// Why a session ended.
enum Stop {
    /// The connection failed or closed; try again soon.
    Lost(String),
    /// The master's log cannot be continued here (or the store refuses); try again later.
    Refused(String),
}

pub struct HaSlave {
    store: Arc<MessageStore>,
    configured: Option<String>,
    heartbeat: Duration,
    housekeeping: Duration,
    master: Mutex<MasterAddrs>,
    master_changed: Notify,
    state: Mutex<SlaveState>,
    /// Asks the registration task to register now (to learn a new master address).
    register_now: Arc<Notify>,
}

/// What a session keeps between frames.
#[derive(Default)]
struct Stream {
    /// Offset the next frame must start at (`None` before the first frame).
    next: Option<i64>,
    /// Received bytes not yet appended (the start of an entry).
    pending: BytesMut,
    /// Bytes still to drop: the unused rest of a file after its blank marker.
    skip: usize,
}

impl HaSlave {
    pub fn new(
        store: Arc<MessageStore>,
        config: &StoreConfig,
        register_now: Arc<Notify>,
    ) -> Arc<HaSlave> {
        let configured =
            Some(config.ha_master_address.trim().to_string()).filter(|a| !a.is_empty());
        Arc::new(HaSlave {
            store,
            heartbeat: config.ha_send_heartbeat_interval,
            housekeeping: config.ha_housekeeping_interval,
            master: Mutex::new(MasterAddrs::default()),
            master_changed: Notify::new(),
            state: Mutex::new(SlaveState {
                master_ha_addr: configured.clone(),
                ..SlaveState::default()
            }),
            configured,
            register_now,
        })
    }

    /// Takes the master's addresses from a registration answer.
    pub fn set_master(&self, ha: Option<String>, remoting: Option<String>) {
        let addrs = MasterAddrs {
            ha: ha.filter(|a| !a.is_empty()),
            remoting: remoting.filter(|a| !a.is_empty()),
        };
        let mut master = self.master.lock();
        if *master != addrs {
            info!(ha = ?addrs.ha, remoting = ?addrs.remoting, "master address learned from the nameserver");
            *master = addrs;
            self.master_changed.notify_one();
        }
    }

    /// The master's remoting address (metadata is copied from it).
    pub fn master_remoting_addr(&self) -> Option<String> {
        self.master.lock().remoting.clone()
    }

    pub fn state(&self) -> SlaveState {
        self.state.lock().clone()
    }

    fn ha_addr(&self) -> Option<String> {
        self.configured
            .clone()
            .or_else(|| self.master.lock().ha.clone())
    }

    /// Replicates until `token` fires, reconnecting as needed.
    pub async fn run(self: Arc<Self>, token: CancellationToken) {
        let mut retry = FIRST_RETRY;
        loop {
            let Some(addr) = self.ha_addr() else {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = self.master_changed.notified() => {}
                    _ = tokio::time::sleep(self.heartbeat) => self.register_now.notify_one(),
                }
                continue;
            };
            self.state.lock().master_ha_addr = Some(addr.clone());
            let stop = self.session(&addr, &token).await;
            if self.state.lock().connected_to.take().is_some() {
                retry = FIRST_RETRY;
            }
            if token.is_cancelled() {
                return;
            }
            match stop {
                Stop::Lost(why) => {
                    warn!(master = %addr, "replication interrupted: {why}");
                    self.state.lock().last_error = Some(why);
                }
                Stop::Refused(why) => {
                    error!(master = %addr, "replication refused: {why}");
                    self.state.lock().last_error = Some(why);
                    retry = self.heartbeat;
                }
            }
            // The master may have moved: registering again tells where it is now.
            self.register_now.notify_one();
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(self.heartbeat);
        }
    }

    async fn session(&self, addr: &str, token: &CancellationToken) -> Stop {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Stop::Lost(format!("cannot connect to {addr}: {e}")),
            Err(_) => return Stop::Lost(format!("connecting to {addr} timed out")),
        };
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let mut reported = self.store.commit_log_max_offset();
        if let Err(e) = wr.write_all(&frame::report(reported)).await {
            return Stop::Lost(format!("reporting offset {reported}: {e}"));
        }
        info!(master = %addr, offset = reported, "connected to the master; replicating");
        {
            let mut st = self.state.lock();
            st.connected_to = Some(addr.to_string());
            st.last_error = None;
        }
        let mut last_write = Instant::now();
        let mut last_read = Instant::now();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let mut stream = Stream::default();
        loop {
            if buf.capacity() - buf.len() < 16 * 1024 {
                buf.reserve(64 * 1024);
            }
            let report_due = tokio::time::Instant::from_std(last_write + self.heartbeat);
            tokio::select! {
                _ = token.cancelled() => return Stop::Lost("shutting down".into()),
                read = rd.read_buf(&mut buf) => match read {
                    Ok(0) => return Stop::Lost("the master closed the connection".into()),
                    Ok(_) => {
                        last_read = Instant::now();
                        if let Err(stop) = self.frames(&mut buf, &mut stream).await {
                            return stop;
                        }
                    }
                    Err(e) => return Stop::Lost(format!("reading from the master: {e}")),
                },
                _ = tokio::time::sleep_until(report_due) => {}
            }
            let end = self.store.commit_log_max_offset();
            if end != reported || last_write.elapsed() >= self.heartbeat {
                if let Err(e) = wr.write_all(&frame::report(end)).await {
                    return Stop::Lost(format!("reporting offset {end}: {e}"));
                }
                reported = end;
                last_write = Instant::now();
            }
            if last_read.elapsed() > self.housekeeping {
                return Stop::Lost(format!(
                    "the master was silent for {:?} (haHousekeepingInterval)",
                    self.housekeeping
                ));
            }
        }
    }

    /// Handles every whole frame at the start of `buf`.
    async fn frames(&self, buf: &mut BytesMut, st: &mut Stream) -> Result<(), Stop> {
        while let Some((offset, size)) = frame::parse_header(buf) {
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= MAX_BODY)
                .ok_or_else(|| Stop::Lost(format!("the master sent a frame of {size} bytes")))?;
            if buf.len() < HEADER_LEN + size {
                buf.reserve(HEADER_LEN + size - buf.len());
                break;
            }
            buf.advance(HEADER_LEN);
            let body = buf.split_to(size);
            self.frame(offset, &body, st).await?;
        }
        Ok(())
    }

    async fn frame(&self, offset: i64, body: &[u8], st: &mut Stream) -> Result<(), Stop> {
        let expected = match st.next {
            Some(next) => next,
            None => self.first_offset(offset).await?,
        };
        if offset != expected {
            let ahead = if offset < expected {
                " (this slave holds data its master does not: it is ahead of the master or \
                 was copied from another one)"
            } else {
                " (the master refused this slave's offset: the logs have diverged, or the \
                 master no longer holds that offset; its log names the reason)"
            };
            return Err(Stop::Refused(format!(
                "the master sent offset {offset}, but this slave's CommitLog continues at \
                 {expected}{ahead}; nothing appended. Clear this slave's store to copy the \
                 master again"
            )));
        }
        st.next = Some(offset + body.len() as i64);
        self.state.lock().master_offset = offset + body.len() as i64;
        st.pending.extend_from_slice(body);
        loop {
            if st.skip > 0 {
                let n = st.skip.min(st.pending.len());
                st.pending.advance(n);
                st.skip -= n;
            }
            if st.pending.is_empty() {
                return Ok(());
            }
            let at = expected + body.len() as i64 - st.pending.len() as i64;
            let done = self
                .store
                .append_replicated(at, &st.pending)
                .await
                .map_err(|e| match e {
                    ReplicaError::Diverged { .. } => Stop::Refused(format!(
                        "{e}; nothing appended from there. Clear this slave's store to copy \
                         the master again"
                    )),
                    ReplicaError::Refused(_) => Stop::Refused(e.to_string()),
                })?;
            if done.consumed == 0 {
                return Ok(());
            }
            st.pending.advance(done.consumed);
            st.skip = done.skip;
        }
    }

    /// The offset the first frame of a session must have: this log's end. An empty log
    /// first moves to where the master starts, when that is a file start (a master that
    /// deleted its oldest files).
    async fn first_offset(&self, offset: i64) -> Result<i64, Stop> {
        let end = self.store.commit_log_max_offset();
        if end == 0 && offset > 0 {
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || store.start_replica_at(offset))
                .await
                .map_err(|e| Stop::Refused(format!("starting the log at {offset}: {e}")))?
                .map_err(|e| Stop::Refused(format!("starting the log at {offset}: {e}")))?;
            info!(
                offset,
                "empty slave starts its CommitLog where the master's begins"
            );
            return Ok(offset);
        }
        Ok(end)
    }
}
