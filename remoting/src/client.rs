//! The remoting client: one connection per address, created on first use and replaced when
//! it closes; requests with a timeout, oneway requests, and server-initiated requests
//! delivered to the client's [`RequestProcessor`]. With [`ClientConfig::tls`] connections
//! are TLS; with [`ClientConfig::hook`] every request is passed through it (ACL signing).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{
    spawn_connection, Channel, ConnectionConfig, ConnectionContext, NotSupported, RequestProcessor,
};
use super::error::RemotingError;
use super::frame_reader::ConnectionGuards;
use super::hook::RpcHook;
use super::tls::TlsClient;
use fennec_protocol::RemotingCommand;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Limit for establishing a TCP connection (RocketMQ: 3 s), and then for its TLS
    /// handshake.
    pub connect_timeout: Duration,
    pub connection: ConnectionConfig,
    /// Connect with TLS (`None`: plain TCP).
    pub tls: Option<TlsClient>,
    /// Applied to every request sent (e.g. [`crate::AclRpcHook`] signs them).
    pub hook: Option<Arc<dyn RpcHook>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(3),
            connection: ConnectionConfig::default(),
            tls: None,
            hook: None,
        }
    }
}

/// A pool of connections keyed by `host:port`.
pub struct RemotingClient<P: RequestProcessor = NotSupported> {
    inner: Arc<Inner<P>>,
}

impl<P: RequestProcessor> Clone for RemotingClient<P> {
    fn clone(&self) -> Self {
        RemotingClient {
            inner: self.inner.clone(),
        }
    }
}

impl<P: RequestProcessor> std::fmt::Debug for RemotingClient<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotingClient")
            .field("connections", &self.inner.channels.lock().len())
            .finish()
    }
}

struct Inner<P> {
    processor: Arc<P>,
    config: ClientConfig,
    channels: Mutex<HashMap<String, Channel>>,
    connecting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// No in-flight budget on the client side, only the log limiters.
    guards: Arc<ConnectionGuards>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl<P> Drop for Inner<P> {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for ch in self.channels.get_mut().values() {
            ch.close();
        }
    }
}

impl Default for RemotingClient<NotSupported> {
    fn default() -> Self {
        RemotingClient::new(Arc::new(NotSupported), ClientConfig::default())
    }
}

impl<P: RequestProcessor> RemotingClient<P> {
    /// A client whose connections hand server-initiated requests to `processor`.
    pub fn new(processor: Arc<P>, config: ClientConfig) -> Self {
        RemotingClient {
            inner: Arc::new(Inner {
                processor,
                config,
                channels: Mutex::new(HashMap::new()),
                connecting: Mutex::new(HashMap::new()),
                guards: Arc::default(),
                tracker: TaskTracker::new(),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    /// The live connection to `addr`, connecting if there is none.
    pub async fn channel(&self, addr: &str) -> Result<Channel, RemotingError> {
        if let Some(ch) = self.live_channel(addr) {
            return Ok(ch);
        }
        let lock = self
            .inner
            .connecting
            .lock()
            .entry(addr.to_string())
            .or_default()
            .clone();
        let _connecting = lock.lock().await;
        if let Some(ch) = self.live_channel(addr) {
            return Ok(ch);
        }
        let timeout = self.inner.config.connect_timeout;
        let connect_error = |source| RemotingError::Connect {
            addr: addr.to_string(),
            source,
        };
        let stream = within(addr, timeout, TcpStream::connect(addr), connect_error).await?;
        let ctx = ConnectionContext {
            processor: self.inner.processor.clone(),
            config: &self.inner.config.connection,
            guards: self.inner.guards.clone(),
            shutdown: self.inner.shutdown.child_token(),
            tracker: &self.inner.tracker,
            hook: self.inner.config.hook.clone(),
        };
        let channel = match &self.inner.config.tls {
            None => spawn_connection(stream, ctx).map_err(connect_error)?,
            Some(tls) => {
                stream.set_nodelay(true).map_err(connect_error)?;
                let tls_error = |source| RemotingError::Tls {
                    addr: addr.to_string(),
                    source,
                };
                let tls_stream =
                    within(addr, timeout, tls.connect(addr, stream), tls_error).await?;
                spawn_connection(tls_stream, ctx).map_err(connect_error)?
            }
        };
        tracing::debug!(%addr, "connected");
        self.inner
            .channels
            .lock()
            .insert(addr.to_string(), channel.clone());
        Ok(channel)
    }

    fn live_channel(&self, addr: &str) -> Option<Channel> {
        let mut channels = self.inner.channels.lock();
        match channels.get(addr) {
            Some(ch) if !ch.is_closed() => Some(ch.clone()),
            Some(_) => {
                channels.remove(addr);
                None
            }
            None => None,
        }
    }

    /// Sends `cmd` to `addr` and waits up to `timeout` (connection included) for the reply.
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let start = Instant::now();
        let channel = self.channel(addr).await?;
        let remaining = timeout.saturating_sub(start.elapsed());
        let result = channel.request(cmd, remaining).await;
        if let Err(RemotingError::ConnectionClosed { .. }) = &result {
            self.close_channel(addr);
        }
        result
    }

    /// Sends `cmd` to `addr` as a oneway request.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<(), RemotingError> {
        let channel = self.channel(addr).await?;
        channel.oneway(cmd).await
    }

    /// Starts `invoke` in the background; the handle yields its result.
    pub fn invoke_async(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> tokio::task::JoinHandle<Result<RemotingCommand, RemotingError>> {
        let client = self.clone();
        let addr = addr.to_string();
        tokio::spawn(async move { client.invoke(&addr, cmd, timeout).await })
    }

    /// Closes the connection to `addr`, if any.
    pub fn close_channel(&self, addr: &str) {
        if let Some(ch) = self.inner.channels.lock().remove(addr) {
            ch.close();
        }
    }

    /// Addresses with a live connection.
    pub fn connected_addrs(&self) -> Vec<String> {
        self.inner
            .channels
            .lock()
            .iter()
            .filter(|(_, c)| !c.is_closed())
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Closes every connection and waits for their tasks to end.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        let channels: Vec<Channel> = self.inner.channels.lock().drain().map(|(_, c)| c).collect();
        for ch in channels {
            ch.close();
        }
        self.inner.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.tracker.wait()).await;
    }
}

/// Runs one step of connecting to `addr` (TCP connect, TLS handshake) within `timeout`.
async fn within<T>(
    addr: &str,
    timeout: Duration,
    step: impl std::future::Future<Output = std::io::Result<T>>,
    error: impl FnOnce(std::io::Error) -> RemotingError,
) -> Result<T, RemotingError> {
    match tokio::time::timeout(timeout, step).await {
        Ok(result) => result.map_err(error),
        Err(_) => Err(RemotingError::ConnectTimeout {
            addr: addr.to_string(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{RemotingServer, ServerConfig};
    use fennec_protocol::{RequestCode, ResponseCode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Echoes the topic of GET_ROUTEINFO_BY_TOPIC in the remark; sleeps on HEART_BEAT and
    /// UNREGISTER_CLIENT (which also raises `SLOW_STARTED`);
    /// answers NOTIFY_CONSUMER_IDS_CHANGED by pushing a request back to the caller.
    struct Echo;

    static SLOW_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    impl RequestProcessor for Echo {
        async fn process(&self, channel: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
            match RequestCode::try_from(req.code) {
                Ok(RequestCode::GET_ROUTEINFO_BY_TOPIC) => Some(
                    RemotingCommand::response(
                        ResponseCode::SUCCESS,
                        req.ext("topic").map(str::to_string),
                    )
                    .with_body(req.body.clone()),
                ),
                Ok(RequestCode::HEART_BEAT) => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some(RemotingCommand::success())
                }
                Ok(RequestCode::UNREGISTER_CLIENT) => {
                    SLOW_STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some(RemotingCommand::success())
                }
                Ok(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED) => {
                    let push = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE);
                    let reply = channel.request(push, Duration::from_secs(2)).await.ok()?;
                    Some(RemotingCommand::response(
                        ResponseCode::SUCCESS,
                        reply.remark,
                    ))
                }
                _ => Some(crate::connection::not_supported(&req)),
            }
        }
    }

    /// Client-side processor answering server pushes.
    struct Pushed;

    impl RequestProcessor for Pushed {
        async fn process(
            &self,
            _channel: Channel,
            req: RemotingCommand,
        ) -> Option<RemotingCommand> {
            Some(RemotingCommand::response(
                ResponseCode::SUCCESS,
                Some(format!("client saw {}", req.code)),
            ))
        }
    }

    async fn start_server() -> (String, CancellationToken, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let token = CancellationToken::new();
        let handle = tokio::spawn(RemotingServer::serve(
            listener,
            Arc::new(Echo),
            ServerConfig::default(),
            token.clone(),
        ));
        (addr, token, handle)
    }

    #[tokio::test]
    async fn request_response_json_and_binary() {
        let (addr, token, handle) = start_server().await;
        let client = RemotingClient::default();
        for binary in [false, true] {
            let mut cmd = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
                .with_ext("topic", "T1")
                .with_body(vec![1u8, 2, 3]);
            if binary {
                cmd = cmd.binary();
            }
            let resp = client
                .invoke(&addr, cmd, Duration::from_secs(2))
                .await
                .unwrap();
            assert_eq!(resp.remark.as_deref(), Some("T1"));
            assert_eq!(&resp.body[..], &[1, 2, 3]);
            assert!(resp.is_response());
        }
        let resp = client
            .invoke(
                &addr,
                RemotingCommand::request_code(99_999),
                Duration::from_secs(2),
            )
            .await
            .unwrap();
        assert_eq!(
            resp.code,
            i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
        );
        assert_eq!(
            resp.remark.as_deref(),
            Some(" request type 99999 not supported")
        );
        token.cancel();
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn timeouts_and_concurrency() {
        let (addr, token, handle) = start_server().await;
        let client = RemotingClient::default();
        let err = client
            .invoke(
                &addr,
                RemotingCommand::request(RequestCode::HEART_BEAT),
                Duration::from_millis(50),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, RemotingError::Timeout { .. }), "{err:?}");
        // Many concurrent slow requests on one connection are processed in parallel.
        let started = Instant::now();
        let calls: Vec<_> = (0..50)
            .map(|_| {
                client.invoke_async(
                    &addr,
                    RemotingCommand::request(RequestCode::HEART_BEAT),
                    Duration::from_secs(5),
                )
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap().code, 0);
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(client.connected_addrs(), vec![addr.clone()]);
        token.cancel();
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn server_initiated_requests_reach_client_processor() {
        let (addr, token, handle) = start_server().await;
        let client = RemotingClient::new(Arc::new(Pushed), ClientConfig::default());
        let resp = client
            .invoke(
                &addr,
                RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED),
                Duration::from_secs(3),
            )
            .await
            .unwrap();
        assert_eq!(resp.remark.as_deref(), Some("client saw 39"));
        token.cancel();
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn malformed_frame_closes_only_that_connection() {
        let (addr, token, handle) = start_server().await;
        let client = RemotingClient::default();
        let ok =
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "A");
        client
            .invoke(&addr, ok.clone(), Duration::from_secs(2))
            .await
            .unwrap();

        let mut raw = TcpStream::connect(&addr).await.unwrap();
        raw.write_all(&[0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4])
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(2), raw.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "server should close the bad connection");

        let ok2 =
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "B");
        let resp = client
            .invoke(&addr, ok2, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(resp.remark.as_deref(), Some("B"));
        token.cancel();
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn graceful_shutdown_finishes_in_flight_requests() {
        let (addr, token, handle) = start_server().await;
        let client = RemotingClient::default();
        SLOW_STARTED.store(false, std::sync::atomic::Ordering::SeqCst);
        let slow = client.invoke_async(
            &addr,
            RemotingCommand::request(RequestCode::UNREGISTER_CLIENT),
            Duration::from_secs(5),
        );
        while !SLOW_STARTED.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        token.cancel();
        assert_eq!(slow.await.unwrap().unwrap().code, 0);
        handle.await.unwrap();
        assert!(TcpStream::connect(&addr).await.is_err());
    }

    #[tokio::test]
    async fn reconnects_after_server_restart_and_reports_refused() {
        let client = RemotingClient::default();
        let err = client
            .invoke(
                "127.0.0.1:1",
                RemotingCommand::request(RequestCode::HEART_BEAT),
                Duration::from_secs(1),
            )
            .await;
        assert!(matches!(err, Err(RemotingError::Connect { .. })));
    }
}
