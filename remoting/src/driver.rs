//! The one task that drives a connection: it reads frames, runs the requests it receives to
//! completion inside itself (no task per request), completes the responses it receives,
//! and writes what is ready — responses and queued commands — in one write. Nothing is
//! handed to another task on the way, so a request that does not wait costs no wake-up.
//!
//! Reading goes on while a write waits for the socket (two peers that both write a lot
//! cannot block each other), except that a peer whose answers pile up unread stops being
//! read: once [`ANSWERS_MAX`] bytes of answers wait, or `max_in_flight` requests run,
//! the task reads no more frames (TCP back-pressure instead of "busy" errors). Queued
//! commands are taken only while the output buffer is below that size, so a slow socket
//! holds senders back in [`Channel::send`](super::connection::Channel::send).
//!
//! Ends: on shutdown the task stops reading, lets running requests finish and writes their
//! answers, then closes. When the peer goes away, the socket fails or the channel is closed,
//! it closes at once (queued commands are still written, for at most [`CLOSE_FLUSH`]);
//! requests still running finish without an answer, as they would on their own task.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::future::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, Instrument};

use super::connection::{log_end, Channel, RequestProcessor};
use super::frame_reader::{Frame, FrameReader};
use fennec_protocol::frame::encode_into;
use fennec_protocol::{describe_request_code, RemotingCommand};

/// Bytes of answers waiting to be written beyond which the peer is not read.
const ANSWERS_MAX: usize = 4 * 1024 * 1024;
/// How long queued commands may take to go out when the connection closes.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);
/// Output buffer capacity kept between writes.
const OUT_KEEP: usize = 4 * 1024 * 1024;

/// What the task runs on: its halves, its queue of commands to send, and its processor.
pub(super) struct Driver<P, R, W> {
    pub reader: FrameReader<R>,
    pub writer: W,
    pub outbound: mpsc::Receiver<RemotingCommand>,
    pub channel: Channel,
    pub processor: Arc<P>,
    pub max_in_flight: usize,
    pub shutdown: CancellationToken,
}

/// One step of output I/O.
enum Step {
    Wrote(usize),
    Flushed,
}

/// The bytes to write and how far they are written.
struct Output {
    buf: BytesMut,
    written: usize,
    /// Bytes of answers to the peer's requests among the unwritten ones (an upper bound).
    answers: usize,
    /// Written since the last flush (TLS buffers records until flushed).
    unflushed: bool,
}

impl Output {
    fn pending(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    fn is_empty(&self) -> bool {
        self.written == self.buf.len()
    }

    fn push(&mut self, cmd: &RemotingCommand) {
        encode_into(cmd, &mut self.buf);
    }

    fn push_answer(&mut self, cmd: &RemotingCommand) {
        let before = self.buf.len();
        encode_into(cmd, &mut self.buf);
        self.answers += self.buf.len() - before;
    }

    /// Whether bytes wait to be written or flushed.
    fn needs_io(&self) -> bool {
        !self.is_empty() || self.unflushed
    }

    /// Writes some pending bytes, or flushes once all are written.
    fn poll_step<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<Step>> {
        if self.is_empty() {
            return Pin::new(writer).poll_flush(cx).map_ok(|()| Step::Flushed);
        }
        match Pin::new(writer).poll_write(cx, self.pending()) {
            Poll::Ready(Ok(0)) => Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
            Poll::Ready(r) => Poll::Ready(r.map(Step::Wrote)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn advance(&mut self, n: usize) {
        self.written += n;
        self.unflushed = true;
        if self.is_empty() {
            self.answers = 0;
            if self.buf.capacity() > OUT_KEEP {
                self.buf = BytesMut::with_capacity(64 * 1024);
            } else {
                self.buf.clear();
            }
            self.written = 0;
        }
    }
}

impl<P, R, W> Driver<P, R, W>
where
    P: RequestProcessor,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    pub(super) async fn run(self) {
        let Driver {
            mut reader,
            mut writer,
            mut outbound,
            channel,
            processor,
            max_in_flight,
            shutdown,
        } = self;
        let mut requests = FuturesUnordered::new();
        let mut out = Output {
            buf: BytesMut::with_capacity(64 * 1024),
            written: 0,
            answers: 0,
            unflushed: false,
        };
        let mut batch = Vec::with_capacity(64);
        let mut reading = true;
        let start = |frame: Frame| {
            let Frame {
                command: cmd,
                admission,
            } = frame;
            let span = tracing::debug_span!("request", code = %describe_request_code(cmd.code), remote = %channel.remote_addr(), opaque = cmd.opaque);
            let processor = processor.clone();
            let ch = channel.clone();
            async move {
                let (opaque, serialize_type, oneway) =
                    (cmd.opaque, cmd.serialize_type, cmd.is_oneway());
                tracing::trace!("request received");
                let response = processor.process(ch, cmd).await;
                drop(admission);
                let mut resp = response.filter(|_| !oneway)?;
                tracing::trace!(code = resp.code, remark = resp.remark_str(), "response");
                resp.opaque = opaque;
                resp.serialize_type = serialize_type;
                resp.flag |= fennec_protocol::FLAG_RESPONSE;
                Some(resp)
            }
            .instrument(span)
        };
        // Requests running, for the idle timeout (a held pull keeps a connection open).
        let running = AtomicUsize::new(0);
        let quiet = || {
            let busy = running.load(Ordering::Relaxed) > 0 || channel.has_pending();
            (!busy).then(|| channel.last_write())
        };
        // Set when the connection ends without a shutdown: no more answers are written.
        let mut closed = false;
        while !closed {
            running.store(requests.len(), Ordering::Relaxed);
            let can_read = |requests: usize, out: &Output| {
                reading && requests < max_in_flight && out.answers < ANSWERS_MAX
            };
            // Take what is ready without waiting: buffered frames, finished requests,
            // queued commands; then write it all at once.
            while can_read(requests.len(), &out) {
                match reader.next_frame(&quiet).now_or_never() {
                    Some(Ok(frame)) if frame.command.is_response() => {
                        channel.complete(frame.command)
                    }
                    Some(Ok(frame)) => {
                        requests.push(start(frame));
                        running.store(requests.len(), Ordering::Relaxed);
                    }
                    Some(Err(end)) => {
                        log_end(&channel, &end, reader.guards());
                        closed = true;
                        break;
                    }
                    None => break,
                }
            }
            while let Some(Some(answer)) = requests.next().now_or_never() {
                if let Some(answer) = answer {
                    out.push_answer(&answer);
                }
            }
            while out.buf.len() < ANSWERS_MAX {
                match outbound.try_recv() {
                    Ok(cmd) => out.push(&cmd),
                    Err(_) => break,
                }
            }
            if closed || (!reading && requests.is_empty() && !out.needs_io()) {
                break;
            }
            tokio::select! {
                biased;
                _ = channel.closed() => closed = true,
                _ = shutdown.cancelled(), if reading => reading = false,
                step = poll_fn(|cx| out.poll_step(&mut writer, cx)), if out.needs_io() => match step {
                    Ok(Step::Wrote(n)) => {
                        out.advance(n);
                        channel.note_write();
                    }
                    Ok(Step::Flushed) => out.unflushed = false,
                    Err(e) => {
                        debug!("write failed, closing: {e}");
                        closed = true;
                    }
                },
                Some(answer) = requests.next(), if !requests.is_empty() => {
                    if let Some(answer) = answer {
                        out.push_answer(&answer);
                    }
                }
                n = outbound.recv_many(&mut batch, 256), if out.buf.len() < ANSWERS_MAX => {
                    if n == 0 {
                        closed = true;
                    }
                    for cmd in batch.drain(..) {
                        out.push(&cmd);
                    }
                }
                frame = reader.next_frame(&quiet), if can_read(requests.len(), &out) => match frame {
                    Ok(frame) if frame.command.is_response() => channel.complete(frame.command),
                    Ok(frame) => {
                        requests.push(start(frame));
                        running.store(requests.len(), Ordering::Relaxed);
                    }
                    Err(end) => {
                        log_end(&channel, &end, reader.guards());
                        closed = true;
                    }
                },
            }
        }
        channel.close();
        channel.clear_pending();
        processor.on_close(&channel);
        // Commands queued before the close still go out.
        while let Ok(cmd) = outbound.try_recv() {
            out.push(&cmd);
        }
        let flush = async {
            writer.write_all(out.pending()).await?;
            writer.flush().await?;
            writer.shutdown().await
        };
        if tokio::time::timeout(CLOSE_FLUSH, flush).await.is_err() {
            debug!(remote = %channel.remote_addr(), "peer did not take the last bytes; dropped");
        }
        // Requests still running finish, unanswered, as they would on tasks of their own.
        while requests.next().await.is_some() {}
    }
}
