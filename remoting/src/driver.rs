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

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::future::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, Instrument};

use super::connection::{log_end, Channel, RequestProcessor};
use super::frame_reader::{ConnectionGuards, Frame, FrameReader, ReadEnd};
use fennec_protocol::frame::{encode_head_into, encode_into};
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

/// The bytes to write: frozen chunks in order, then the buffer being filled. A body of at
/// least [`OWN_CHUNK`] bytes (a pull's records) is its own chunk, written from where it is
/// (one vectored write with the frames around it) instead of being copied into the buffer.
struct Output {
    chunks: VecDeque<Bytes>,
    buf: BytesMut,
    /// Bytes not written yet, chunks and buffer together.
    len: usize,
    /// Bytes of answers to the peer's requests among them (an upper bound).
    answers: usize,
    /// Written since the last flush (TLS buffers records until flushed).
    unflushed: bool,
}

/// Bodies this large are written without a copy.
const OWN_CHUNK: usize = 16 * 1024;
/// Slices per vectored write.
const MAX_SLICES: usize = 64;

impl Output {
    fn new() -> Self {
        Output {
            chunks: VecDeque::new(),
            buf: BytesMut::with_capacity(64 * 1024),
            len: 0,
            answers: 0,
            unflushed: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether bytes wait to be written or flushed.
    fn needs_io(&self) -> bool {
        !self.is_empty() || self.unflushed
    }

    /// Appends `cmd`'s frame; returns its length.
    fn push(&mut self, cmd: &RemotingCommand) -> usize {
        let before = self.buf.len();
        if cmd.body.len() < OWN_CHUNK {
            encode_into(cmd, &mut self.buf);
            let n = self.buf.len() - before;
            self.len += n;
            return n;
        }
        encode_head_into(cmd, &mut self.buf);
        let n = self.buf.len() - before + cmd.body.len();
        self.chunks.push_back(self.buf.split().freeze());
        self.chunks.push_back(cmd.body.clone());
        self.len += n;
        n
    }

    fn push_answer(&mut self, cmd: &RemotingCommand) {
        self.answers += self.push(cmd);
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
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let mut n = 0;
        for chunk in self.chunks.iter().take(MAX_SLICES - 1) {
            slices[n] = IoSlice::new(chunk);
            n += 1;
        }
        if n < MAX_SLICES - 1 && !self.buf.is_empty() {
            slices[n] = IoSlice::new(&self.buf);
            n += 1;
        }
        let poll = if n == 1 {
            Pin::new(writer).poll_write(cx, &slices[0])
        } else {
            Pin::new(writer).poll_write_vectored(cx, &slices[..n])
        };
        match poll {
            Poll::Ready(Ok(0)) => Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
            Poll::Ready(r) => Poll::Ready(r.map(Step::Wrote)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Drops the first `n` pending bytes (written).
    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        self.unflushed = true;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(chunk) if chunk.len() <= n => {
                    n -= chunk.len();
                    self.chunks.pop_front();
                }
                Some(chunk) => {
                    chunk.advance(n);
                    n = 0;
                }
                None => {
                    self.buf.advance(n);
                    n = 0;
                }
            }
        }
        if self.len == 0 {
            self.answers = 0;
            if self.buf.capacity() > OUT_KEEP {
                self.buf = BytesMut::with_capacity(64 * 1024);
            } else {
                self.buf.clear();
            }
        }
    }

    /// Writes everything left (on close).
    async fn write_all<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> std::io::Result<()> {
        while !self.is_empty() {
            match poll_fn(|cx| self.poll_step(writer, cx)).await? {
                Step::Wrote(n) => self.advance(n),
                Step::Flushed => {}
            }
        }
        Ok(())
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
        let mut out = Output::new();
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
            while !closed && can_read(requests.len(), &out) {
                let Some(read) = reader.next_frame(&quiet).now_or_never() else {
                    break;
                };
                closed = accept(
                    read,
                    &mut requests,
                    &start,
                    &running,
                    &channel,
                    reader.guards(),
                );
            }
            while let Some(Some(answer)) = requests.next().now_or_never() {
                if let Some(answer) = answer {
                    out.push_answer(&answer);
                }
            }
            while out.len < ANSWERS_MAX {
                match outbound.try_recv() {
                    Ok(cmd) => {
                        out.push(&cmd);
                    }
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
                n = outbound.recv_many(&mut batch, 256), if out.len < ANSWERS_MAX => {
                    if n == 0 {
                        closed = true;
                    }
                    for cmd in batch.drain(..) {
                        out.push(&cmd);
                    }
                }
                read = reader.next_frame(&quiet), if can_read(requests.len(), &out) => {
                    closed = accept(read, &mut requests, &start, &running, &channel, reader.guards());
                }
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
            out.write_all(&mut writer).await?;
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

/// Takes what the reader produced: a response completes its request, a request starts
/// running (counted in `running`, for the idle timeout), the end of the stream is logged.
/// Returns whether the connection ended.
fn accept<F>(
    read: Result<Frame, ReadEnd>,
    requests: &mut FuturesUnordered<F>,
    start: &impl Fn(Frame) -> F,
    running: &AtomicUsize,
    channel: &Channel,
    guards: &ConnectionGuards,
) -> bool {
    match read {
        Ok(frame) if frame.command.is_response() => channel.complete(frame.command),
        Ok(frame) => {
            requests.push(start(frame));
            running.store(requests.len(), Ordering::Relaxed);
        }
        Err(end) => {
            log_end(channel, &end, guards);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::frame::encode_to_vec;

    /// A writer that takes at most `max` bytes per call, across slices.
    struct Trickle {
        got: Vec<u8>,
        max: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.max);
            self.got.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.max - n);
                self.got.extend_from_slice(&b[..take]);
                n += take;
                if n == self.max {
                    break;
                }
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn command(body_len: usize, opaque: i32) -> RemotingCommand {
        let mut cmd = RemotingCommand::response(fennec_protocol::ResponseCode::SUCCESS, None);
        cmd.opaque = opaque;
        cmd.body = Bytes::from((0..body_len).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        cmd
    }

    #[tokio::test]
    async fn large_bodies_are_written_in_place_and_in_order() {
        let cmds: Vec<RemotingCommand> = [10, OWN_CHUNK, 0, 3 * OWN_CHUNK + 7, 100, OWN_CHUNK]
            .iter()
            .enumerate()
            .map(|(i, &len)| command(len, i as i32))
            .collect();
        let expected: Vec<u8> = cmds.iter().flat_map(encode_to_vec).collect();
        for max in [1, 7, 4096, 1 << 20] {
            let mut out = Output::new();
            let mut w = Trickle {
                got: Vec::new(),
                max,
            };
            let mut cx = Context::from_waker(std::task::Waker::noop());
            for (i, cmd) in cmds.iter().enumerate() {
                out.push(cmd);
                if i == 3 {
                    // Large bodies stay their own chunks (no copy into the buffer).
                    assert!(out.chunks.iter().any(|c| c.len() == 3 * OWN_CHUNK + 7));
                }
                // Write a little between pushes, so pushes land behind partly written bytes.
                if let Poll::Ready(Ok(Step::Wrote(n))) = out.poll_step(&mut w, &mut cx) {
                    out.advance(n);
                }
            }
            out.write_all(&mut w).await.unwrap();
            assert_eq!(w.got, expected, "max {max}");
            assert!(out.is_empty() && out.buf.is_empty() && out.chunks.is_empty());
        }
    }
}
