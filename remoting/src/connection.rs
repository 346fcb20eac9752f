//! One connection (plain TCP or TLS, see [`Stream`]): a [`Channel`] handle plus the task that
//! drives it (`driver.rs`). Its [`FrameReader`] applies the server's limits: in-flight byte
//! budget, idle timeout. A client's channels apply its [`RpcHook`] to every request they send.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn, Instrument};

use super::driver::Driver;
use super::error::RemotingError;
use super::frame_reader::{ConnectionGuards, FrameReader, ReadEnd};
use super::hook::RpcHook;
use super::stream::Stream;
use crate::counters::ConnectionRefusal;
use fennec_protocol::RemotingCommand;
use fennec_protocol::ResponseCode;

/// Handles requests that arrive on a connection. Servers dispatch by request code; clients
/// use it for server-initiated requests (NOTIFY_CONSUMER_IDS_CHANGED and the like).
pub trait RequestProcessor: Send + Sync + 'static {
    /// Processes one request and returns the response (`None`: send nothing). The caller
    /// sets opaque, flag and serialize type on the response, and drops it for a oneway request.
    fn process(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once when a connection closes, for whatever reason.
    fn on_close(&self, _channel: &Channel) {}
}

/// A processor that answers every request with REQUEST_CODE_NOT_SUPPORTED.
#[derive(Debug, Default, Clone, Copy)]
pub struct NotSupported;

impl RequestProcessor for NotSupported {
    async fn process(
        &self,
        _channel: Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(not_supported(&request))
    }
}

/// The standard reply to an unknown request code.
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response(
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
        Some(format!(" request type {} not supported", request.code)),
    )
}

/// Limits of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Largest frame accepted.
    pub max_frame: usize,
    /// Requests processed at once per connection; beyond this the reader stops reading, so
    /// the peer feels TCP back-pressure instead of getting "busy" errors.
    pub max_in_flight: usize,
    /// Capacity of the outbound queue.
    pub outbound_queue: usize,
    /// Close the connection when nothing was read or written and no request was in flight
    /// for this long, or when a started frame is not complete after it (`None`: never, as on
    /// client connections).
    pub idle_timeout: Option<Duration>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_frame: fennec_protocol::frame::DEFAULT_MAX_FRAME,
            max_in_flight: 4096,
            outbound_queue: 4096,
            idle_timeout: None,
        }
    }
}

static NEXT_CHANNEL_ID: AtomicU64 = AtomicU64::new(1);

/// A cheap, cloneable handle to a connection.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    id: u64,
    remote: SocketAddr,
    local: SocketAddr,
    outbound: mpsc::Sender<RemotingCommand>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    closed: CancellationToken,
    opened: tokio::time::Instant,
    /// Milliseconds after `opened` of the last socket write.
    last_write_ms: AtomicU64,
    /// Applied to every request sent on this connection (a client's signer).
    hook: Option<Arc<dyn RpcHook>>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.inner.id)
            .field("remote", &self.inner.remote)
            .finish()
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}

impl Eq for Channel {}

impl std::hash::Hash for Channel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.id.hash(state);
    }
}

/// Removes a pending entry if the request future is dropped or times out.
struct PendingGuard<'a> {
    channel: &'a ChannelInner,
    opaque: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.channel.pending.lock().remove(&self.opaque);
    }
}

impl Channel {
    /// Process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Closes the connection: pending requests fail, the socket is shut down.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Completes when the connection has closed.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await
    }

    fn closed_error(&self) -> RemotingError {
        RemotingError::ConnectionClosed {
            addr: self.inner.remote.to_string(),
        }
    }

    /// Applies the connection's hook (signing) to a request about to be sent.
    fn prepare(&self, cmd: &mut RemotingCommand) {
        if let Some(hook) = &self.inner.hook {
            hook.before_request(self.inner.remote, cmd);
        }
    }

    /// Sends a request and waits for its response.
    pub async fn request(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        self.prepare(&mut cmd);
        let opaque = cmd.opaque;
        let code = cmd.code;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, tx);
        let _guard = PendingGuard {
            channel: &self.inner,
            opaque,
        };
        let exchange = async {
            self.inner
                .outbound
                .send(cmd)
                .await
                .map_err(|_| self.closed_error())?;
            rx.await.map_err(|_| self.closed_error())
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(RemotingError::Timeout {
                addr: self.inner.remote.to_string(),
                timeout,
                code,
                opaque,
            }),
        }
    }

    /// Sends a request marked oneway; no response will come.
    pub async fn oneway(&self, mut cmd: RemotingCommand) -> Result<(), RemotingError> {
        self.prepare(&mut cmd);
        self.send(cmd.oneway()).await
    }

    /// Queues any command (a response, usually) for writing.
    pub async fn send(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        self.inner
            .outbound
            .send(cmd)
            .await
            .map_err(|_| self.closed_error())
    }

    /// Records that the socket was written to now (for the idle timeout).
    pub(super) fn note_write(&self) {
        let ms = self.inner.opened.elapsed().as_millis();
        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
        self.inner.last_write_ms.store(ms, Ordering::Relaxed);
    }

    /// When the socket was last written to (when it opened, if never).
    pub(super) fn last_write(&self) -> tokio::time::Instant {
        let ms = self.inner.last_write_ms.load(Ordering::Relaxed);
        self.inner.opened + Duration::from_millis(ms)
    }

    /// Whether a request sent on this connection awaits its response.
    pub(super) fn has_pending(&self) -> bool {
        !self.inner.pending.lock().is_empty()
    }

    /// Fails every request awaiting a response (the connection closed).
    pub(super) fn clear_pending(&self) {
        self.inner.pending.lock().clear();
    }

    /// Hands a response to the request waiting for it.
    pub(super) fn complete(&self, response: RemotingCommand) {
        let waiter = self.inner.pending.lock().remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(response);
            }
            None => {
                debug!(remote = %self.inner.remote, opaque = response.opaque, "response for no pending request (timed out?)")
            }
        }
    }
}

/// What a new connection is tied to: the processor of the requests it receives, its
/// limits, the guards shared by every connection of a server, the token that shuts it down,
/// the tracker its tasks run on, and the hook of the requests it sends.
pub(super) struct ConnectionContext<'a, P> {
    pub processor: Arc<P>,
    pub config: &'a ConnectionConfig,
    pub guards: Arc<ConnectionGuards>,
    pub shutdown: CancellationToken,
    pub tracker: &'a TaskTracker,
    pub hook: Option<Arc<dyn RpcHook>>,
}

/// Starts the reader and writer tasks of `stream`. Requests go to the processor. When the
/// shutdown token fires the reader stops taking requests, in-flight requests finish and
/// their responses are written, then the connection closes.
pub(super) fn spawn_connection<P: RequestProcessor, S: Stream>(
    stream: S,
    ctx: ConnectionContext<'_, P>,
) -> std::io::Result<Channel> {
    let ConnectionContext {
        processor,
        config,
        guards,
        shutdown,
        tracker,
        hook,
    } = ctx;
    let tcp = stream.tcp();
    tcp.set_nodelay(true)?;
    let remote = tcp.peer_addr()?;
    let local = tcp.local_addr()?;
    let (read_half, write_half) = stream.into_halves();
    let (tx, rx) = mpsc::channel(config.outbound_queue);
    let channel = Channel {
        inner: Arc::new(ChannelInner {
            id: NEXT_CHANNEL_ID.fetch_add(1, Ordering::Relaxed),
            remote,
            local,
            outbound: tx,
            pending: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
            opened: tokio::time::Instant::now(),
            last_write_ms: AtomicU64::new(0),
            hook,
        }),
    };
    let span = tracing::debug_span!("conn", remote = %remote);
    let reader = FrameReader::new(
        read_half,
        remote,
        config.max_frame,
        config.idle_timeout,
        guards,
    );
    let driver = Driver {
        reader,
        writer: write_half,
        outbound: rx,
        channel: channel.clone(),
        processor,
        max_in_flight: config.max_in_flight,
        shutdown,
    };
    tracker.spawn(driver.run().instrument(span));
    Ok(channel)
}

/// Logs why a connection's reader stopped; what a peer can repeat at will is rate-limited.
pub(super) fn log_end(channel: &Channel, end: &ReadEnd, guards: &ConnectionGuards) {
    let remote = channel.remote_addr();
    match end {
        ReadEnd::PeerClosed => debug!("peer closed the connection"),
        ReadEnd::Truncated(_) => debug!(%remote, "{end}"),
        ReadEnd::Idle { .. } => {
            guards.counters.refuse(ConnectionRefusal::Idle);
            if let Some(suppressed) = guards.log_idle.allow() {
                warn!(%remote, suppressed, "closing connection: {end} (serverChannelMaxIdleTimeSeconds)");
            }
        }
        ReadEnd::Codec(_) => {
            guards.counters.refuse(ConnectionRefusal::BadFrame);
            if let Some(suppressed) = guards.log_bad_frame.allow() {
                warn!(%remote, suppressed, "closing connection on a bad frame: {end}");
            }
        }
    }
}
