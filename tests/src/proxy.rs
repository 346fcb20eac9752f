//! [`FaultProxy`]: a TCP proxy between clients and ONE real broker that forwards remoting
//! frames both ways, and per request code can answer an error itself, delay the request or
//! drop the connection ([`Fault`]). It records every request clients send
//! ([`FaultProxy::requests`]) and can put a request of its own to a connected client
//! ([`FaultProxy::ask_client`]).
//!
//! Frames are decoded and re-encoded with common's codec; the proxy serves no request itself
//! (it is not a `RequestProcessor`). To put a broker behind it, the broker listens on
//! [`FaultProxy::upstream`] (127.0.0.2, the proxy's port) and advertises
//! [`FaultProxy::addr`] (127.0.0.1), so routes, message ids and heartbeats all lead clients
//! through the proxy: see `BrokerSpec::behind`. The proxy runs on a thread and runtime of
//! its own, so it works from synchronous harness code and outlives no test: dropping it stops
//! the thread and closes every connection.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fennec_protocol::frame::encode_into;
use fennec_protocol::header::{CommandHeader, HeaderError};
use fennec_remoting::{
    ExtFields, RemotingCodec, RemotingCommand, RequestCode, ResponseCode, SerializeType,
    FLAG_RESPONSE,
};
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

/// Where a proxied broker listens: this loopback address on the proxy's port.
pub const UPSTREAM_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// What the proxy does with the requests of one code instead of forwarding them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer the client with this code and remark; the broker never sees the request.
    Answer { code: ResponseCode, remark: String },
    /// Forward the request after this long (other frames keep flowing meanwhile).
    Delay(Duration),
    /// Close the client's connection, and the proxy's to the broker, without answering.
    DropConnection,
}

/// One request a client sent through the proxy.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Which client connection sent it (numbered from 0 in accept order).
    pub connection: u64,
    pub code: i32,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// The header form the client chose (JSON or ROCKETMQ binary).
    pub serialize_type: SerializeType,
    /// What the proxy did instead of forwarding it at once; `None`: forwarded.
    pub fault: Option<Fault>,
}

impl Recorded {
    pub fn is(&self, code: RequestCode) -> bool {
        self.code == i32::from(code)
    }

    /// The request's typed header.
    pub fn header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::read_from(&self.ext_fields)
    }
}

/// Why [`FaultProxy::ask_client`] got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskError {
    /// No open client connection has that number.
    NoConnection(u64),
    /// The connection closed before the client answered.
    Closed,
    /// No answer within the timeout.
    Timeout(Duration),
}

impl std::fmt::Display for AskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AskError::NoConnection(n) => write!(f, "no open client connection {n}"),
            AskError::Closed => write!(f, "the connection closed before the answer"),
            AskError::Timeout(t) => write!(f, "no answer within {t:?}"),
        }
    }
}

impl std::error::Error for AskError {}

/// State the proxy's tasks share with its handle.
#[derive(Default)]
struct Shared {
    faults: Mutex<HashMap<i32, Fault>>,
    log: Mutex<Vec<Recorded>>,
    /// Outbound queue of every open client connection.
    clients: Mutex<HashMap<u64, mpsc::UnboundedSender<RemotingCommand>>>,
    /// Requests of the proxy's own awaiting a client's answer, by opaque.
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_connection: AtomicU64,
    next_opaque: AtomicI32,
}

/// A running proxy; see the module documentation.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Binds 127.0.0.1 on a free port P and forwards every connection to
    /// [`UPSTREAM_IP`]:P.
    ///
    /// # Panics
    /// When the port cannot be bound or the proxy thread cannot start.
    pub fn start() -> FaultProxy {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking proxy listener");
        let upstream = SocketAddr::from((UPSTREAM_IP, addr.port()));
        let shared = Arc::new(Shared {
            // Far below the opaques brokers count up from 0, so answers cannot be confused.
            next_opaque: AtomicI32::new(i32::MIN),
            ..Shared::default()
        });
        let stop = CancellationToken::new();
        let (s, token) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                runtime.block_on(accept_loop(listener, upstream, s, token));
            })
            .expect("proxy thread");
        FaultProxy {
            addr,
            upstream,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// The address clients use (the one the broker advertises).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the broker must listen.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// From now on, applies `fault` to every request with `code`.
    pub fn set_fault(&self, code: RequestCode, fault: Fault) {
        self.shared.faults.lock().insert(i32::from(code), fault);
    }

    /// From now on, answers every request with `code` itself with `answer` and `remark`.
    pub fn fail(&self, code: RequestCode, answer: ResponseCode, remark: &str) {
        let remark = remark.to_string();
        self.set_fault(
            code,
            Fault::Answer {
                code: answer,
                remark,
            },
        );
    }

    /// From now on, forwards requests with `code` again.
    pub fn clear_fault(&self, code: RequestCode) {
        self.shared.faults.lock().remove(&i32::from(code));
    }

    /// Every request clients sent so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().clone()
    }

    /// The requests with `code` so far.
    pub fn requests_of(&self, code: RequestCode) -> Vec<Recorded> {
        let log = self.shared.log.lock();
        log.iter().filter(|r| r.is(code)).cloned().collect()
    }

    /// The newest open connection that sent a request `matches` accepts.
    pub fn connection_that_sent(&self, matches: impl Fn(&Recorded) -> bool) -> Option<u64> {
        let open = self.shared.clients.lock();
        let log = self.shared.log.lock();
        log.iter()
            .rev()
            .find(|r| open.contains_key(&r.connection) && matches(r))
            .map(|r| r.connection)
    }

    /// Sends `request` to the client on `connection` as if the broker sent it, and returns
    /// the client's answer (which the broker never sees).
    pub async fn ask_client(
        &self,
        connection: u64,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, AskError> {
        let outbound = self
            .shared
            .clients
            .lock()
            .get(&connection)
            .cloned()
            .ok_or(AskError::NoConnection(connection))?;
        request.opaque = self.shared.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.flag &= !FLAG_RESPONSE;
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().insert(request.opaque, tx);
        let opaque = request.opaque;
        let answer = match outbound.send(request) {
            Ok(()) => tokio::time::timeout(timeout, rx)
                .await
                .map_err(|_| AskError::Timeout(timeout))
                .and_then(|r| r.map_err(|_| AskError::Closed)),
            Err(_) => Err(AskError::Closed),
        };
        self.shared.pending.lock().remove(&opaque);
        answer
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fault proxy: cannot register its listener: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(serve_connection(shared.clone(), id, client, upstream));
                }
                Err(e) => {
                    eprintln!("fault proxy: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// Relays one client connection until either side closes or a fault drops it.
async fn serve_connection(shared: Arc<Shared>, id: u64, client: TcpStream, upstream: SocketAddr) {
    let broker = match TcpStream::connect(upstream).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("fault proxy: cannot reach the broker at {upstream}: {e}");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (broker_read, broker_write) = broker.into_split();
    let (to_client, client_queue) = mpsc::unbounded_channel();
    let (to_broker, broker_queue) = mpsc::unbounded_channel();
    shared.clients.lock().insert(id, to_client.clone());

    let mut tasks = JoinSet::new();
    tasks.spawn(write_frames(client_write, client_queue));
    tasks.spawn(write_frames(broker_write, broker_queue));
    let relay = to_client.clone();
    tasks.spawn(async move {
        let mut frames = FramedRead::new(broker_read, RemotingCodec::default());
        while let Some(Ok(cmd)) = frames.next().await {
            if relay.send(cmd).is_err() {
                return;
            }
        }
    });
    tasks.spawn(relay_client(
        shared.clone(),
        id,
        client_read,
        to_client,
        to_broker,
    ));
    // The first task to end (a side closed, a bad frame, a dropping fault) ends them all,
    // which closes both sockets.
    tasks.join_next().await;
    tasks.shutdown().await;
    shared.clients.lock().remove(&id);
}

/// Reads the client's frames: answers to the proxy's own requests complete them, requests
/// are recorded and forwarded or faulted, other answers go to the broker.
async fn relay_client(
    shared: Arc<Shared>,
    id: u64,
    read: tokio::net::tcp::OwnedReadHalf,
    to_client: mpsc::UnboundedSender<RemotingCommand>,
    to_broker: mpsc::UnboundedSender<RemotingCommand>,
) {
    let mut frames = FramedRead::new(read, RemotingCodec::default());
    while let Some(Ok(cmd)) = frames.next().await {
        if cmd.is_response() {
            if let Some(waiter) = shared.pending.lock().remove(&cmd.opaque) {
                let _ = waiter.send(cmd);
            } else if to_broker.send(cmd).is_err() {
                return;
            }
            continue;
        }
        let fault = shared.faults.lock().get(&cmd.code).cloned();
        shared.log.lock().push(Recorded {
            connection: id,
            code: cmd.code,
            ext_fields: cmd.ext_fields.clone(),
            body: cmd.body.clone(),
            serialize_type: cmd.serialize_type,
            fault: fault.clone(),
        });
        match fault {
            None => {
                if to_broker.send(cmd).is_err() {
                    return;
                }
            }
            Some(Fault::Answer { code, remark }) => {
                if !cmd.is_oneway() {
                    let answer = RemotingCommand::response(code, Some(remark)).answer(&cmd);
                    if to_client.send(answer).is_err() {
                        return;
                    }
                }
            }
            Some(Fault::Delay(delay)) => {
                let to_broker = to_broker.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = to_broker.send(cmd);
                });
            }
            Some(Fault::DropConnection) => return,
        }
    }
}

/// Writes queued frames, everything already queued in one socket write.
async fn write_frames(
    mut write: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<RemotingCommand>,
) {
    let mut buf = BytesMut::new();
    while let Some(cmd) = queue.recv().await {
        buf.clear();
        encode_into(&cmd, &mut buf);
        while let Ok(more) = queue.try_recv() {
            encode_into(&more, &mut buf);
        }
        if write.write_all(&buf).await.is_err() {
            return;
        }
    }
}
