//! The echo baseline: a minimal in-process server on loopback that answers the same
//! requests a producer sends a broker (route, heartbeat, send) with replies of the same size
//! and framing as Fennec's, doing no work beyond decoding and encoding frames. The producer
//! workload run against it measures the ceiling of client + network + framing on this
//! machine; a broker's throughput is reported as a ratio of it.
//!
//! The server runs on its own runtime and threads, as a separate server process would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use fennec_protocol::body::{BrokerData, QueueData, TopicRouteData};
use fennec_protocol::encode_body;
use fennec_protocol::header::SendMessageResponseHeader;
use fennec_remoting::{
    not_supported, Channel, RemotingCommand, RemotingServer, RequestCode, RequestProcessor,
    ServerConfig,
};
use tokio_util::sync::CancellationToken;

use super::BenchError;

/// A running echo server; stops when dropped.
pub struct EchoServer {
    addr: SocketAddr,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EchoServer {
    /// Starts the server on 127.0.0.1 with `threads` runtime workers.
    pub fn start(threads: usize) -> Result<EchoServer, BenchError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("echo-server")
            .enable_all()
            .build()
            .map_err(|e| BenchError::Internal(format!("echo runtime: {e}")))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| BenchError::Internal(format!("echo listener: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::Internal(e.to_string()))?;
        let stop = CancellationToken::new();
        let token = stop.clone();
        let processor = Arc::new(Echo {
            addr: addr.to_string(),
            offset: AtomicI64::new(0),
        });
        let thread = std::thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            RemotingServer::serve(l, processor, ServerConfig::default(), token)
                                .await
                        }
                        Err(e) => tracing::error!("echo listener: {e}"),
                    }
                })
            })
            .map_err(|e| BenchError::Internal(format!("echo thread: {e}")))?;
        Ok(EchoServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Serves as both nameserver and broker.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Echo {
    addr: String,
    offset: AtomicI64,
}

impl RequestProcessor for Echo {
    async fn process(&self, _channel: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        use RequestCode::*;
        let code = RequestCode::try_from(req.code).ok();
        Some(match code {
            Some(GET_ROUTEINFO_BY_TOPIC) => {
                RemotingCommand::success().with_body(encode_body(&TopicRouteData {
                    broker_datas: vec![BrokerData {
                        broker_addrs: BTreeMap::from([(0, self.addr.clone())]),
                        broker_name: "echo".into(),
                        cluster: "EchoCluster".into(),
                        enable_acting_master: false,
                        zone_name: None,
                    }],
                    filter_server_table: BTreeMap::new(),
                    order_topic_conf: None,
                    queue_datas: vec![QueueData {
                        broker_name: "echo".into(),
                        perm: 6,
                        read_queue_nums: 4,
                        topic_sys_flag: 0,
                        write_queue_nums: 4,
                    }],
                }))
            }
            Some(HEART_BEAT | UNREGISTER_CLIENT) => RemotingCommand::success(),
            Some(SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE) => {
                // The same fields, and the same lengths, as a broker's reply.
                let offset = self.offset.fetch_add(1, Ordering::Relaxed);
                RemotingCommand::success().with_header(&SendMessageResponseHeader {
                    msg_id: format!("7F00000100002A9F{:016X}", offset * 1100),
                    queue_id: (offset % 4) as i32,
                    queue_offset: offset / 4,
                    transaction_id: Some(format!("7F0000010A8C1B2C3D4E5F60{:08X}", offset as u32)),
                    batch_uniq_id: None,
                    msg_region: Some("DefaultRegion".into()),
                    trace_on: Some("true".into()),
                })
            }
            _ => not_supported(&req),
        })
    }
}
