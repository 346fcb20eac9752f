//! [`FrameReader`]: reads the frames of one connection under the limits of its server, and
//! [`ConnectionGuards`], the state those limits share across the server's connections.
//!
//! * **Admission control.** Once a frame's length is known, that many bytes are taken from
//!   the server-wide in-flight budget *before* its body is read; while the budget is spent
//!   the reader waits and stops reading its socket (TCP back-pressure, no "busy" replies). The
//!   permit travels with the decoded request and is released when its response is queued. A
//!   frame larger than the whole budget can never be admitted and is rejected like one over
//!   the maximum frame size.
//! * **Memory grows with bytes received.** The buffer grows by at most [`READ_MAX`] per read,
//!   never by the announced length at once, and reads stop [`READ_MIN`] bytes past the frame,
//!   so unbudgeted bytes per connection stay small. A buffer that held a large frame is not
//!   kept for the next one.
//! * **Idle timeout.** A connection is idle when nothing was read or written and no request
//!   was in flight for the timeout (a long-polling pull held by the server keeps it alive).
//!   A partial frame must arrive whole within the timeout of its first byte (or of its
//!   admission, if it had to wait for budget): a peer that trickles a frame byte by byte
//!   cannot hold its budget for longer.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tracing::warn;

use fennec_protocol::frame::{announced_length, decode_frame};
use fennec_protocol::FrameError;
use fennec_protocol::RemotingCommand;

use super::error::CodecError;
use crate::log_limit::LogLimiter;

/// Smallest read: room for many small pipelined frames per system call.
const READ_MIN: usize = 64 * 1024;
/// Spare room below which a read first grows the buffer.
const READ_SPARE_MIN: usize = 4 * 1024;
/// Largest read into a frame's body.
const READ_MAX: usize = 1024 * 1024;
/// A buffer larger than this is dropped once its frame is decoded.
const RETAIN_MAX: usize = 2 * READ_MAX;

/// What the connections of one server share: the in-flight byte budget and the rate limiters
/// of the warnings a peer can trigger. A client's connections use the default: no budget.
#[derive(Debug, Default)]
pub struct ConnectionGuards {
    budget: Option<(Arc<Semaphore>, usize)>,
    /// Readers waiting for budget.
    pub(super) log_budget_wait: LogLimiter,
    /// Connections closed for being idle.
    pub(super) log_idle: LogLimiter,
    /// Connections closed on a malformed or oversized frame.
    pub(super) log_bad_frame: LogLimiter,
    /// Connection counts the server exports.
    pub(super) counters: Arc<crate::counters::ServerCounters>,
}

impl ConnectionGuards {
    /// Guards with an in-flight budget of `bytes` (at most `Semaphore::MAX_PERMITS`).
    pub fn with_budget(bytes: usize) -> Self {
        let bytes = bytes.min(Semaphore::MAX_PERMITS);
        ConnectionGuards {
            budget: Some((Arc::new(Semaphore::new(bytes)), bytes)),
            ..ConnectionGuards::default()
        }
    }

    /// These guards with `counters` counting what the limits refuse.
    pub(super) fn counting(mut self, counters: Arc<crate::counters::ServerCounters>) -> Self {
        self.counters = counters;
        self
    }

    /// Bytes of the budget not taken by requests in flight (`None`: no budget).
    #[cfg(test)]
    pub fn budget_available(&self) -> Option<usize> {
        self.budget.as_ref().map(|(s, _)| s.available_permits())
    }

    /// The largest frame a reader may accept: `max_frame`, or the whole budget if smaller.
    fn frame_limit(&self, max_frame: usize) -> usize {
        match &self.budget {
            // The length field does not count itself but its 4 bytes take budget too.
            Some((_, bytes)) => max_frame
                .min(bytes.saturating_sub(4))
                .min(u32::MAX as usize - 4),
            None => max_frame,
        }
    }
}

/// Why a reader stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadEnd {
    #[error("peer closed the connection")]
    PeerClosed,
    #[error("peer closed the connection in the middle of a frame ({0} bytes received)")]
    Truncated(usize),
    #[error("idle for {timeout:?} ({partial} bytes of an unfinished frame received)")]
    Idle { timeout: Duration, partial: usize },
    #[error("{0}")]
    Codec(#[from] CodecError),
}

impl From<FrameError> for ReadEnd {
    fn from(e: FrameError) -> Self {
        ReadEnd::Codec(CodecError::Frame(e))
    }
}

/// A decoded frame and its share of the in-flight budget, to drop once it is processed.
#[derive(Debug)]
pub(super) struct Frame {
    pub command: RemotingCommand,
    pub admission: Option<OwnedSemaphorePermit>,
}

/// Reads frames from one socket (plain or TLS). See the module documentation for the rules.
pub(super) struct FrameReader<R> {
    read: R,
    remote: SocketAddr,
    buf: BytesMut,
    max_frame: usize,
    guards: Arc<ConnectionGuards>,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    last_read: Instant,
    /// Since when the partial frame in `buf` counts against the idle timeout.
    frame_start: Instant,
    /// Budget taken for the frame in `buf`, if its length is known.
    permit: Option<OwnedSemaphorePermit>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(
        read: R,
        remote: SocketAddr,
        max_frame: usize,
        idle_timeout: Option<Duration>,
        guards: Arc<ConnectionGuards>,
    ) -> Self {
        let now = Instant::now();
        FrameReader {
            read,
            remote,
            buf: BytesMut::new(),
            max_frame: guards.frame_limit(max_frame),
            guards,
            idle: idle_timeout.map(|t| (t, Box::pin(tokio::time::sleep_until(now + t)))),
            last_read: now,
            frame_start: now,
            permit: None,
        }
    }

    /// The guards this reader was given.
    pub fn guards(&self) -> &ConnectionGuards {
        &self.guards
    }

    /// The next frame. `quiet_since` tells when the connection last wrote, or `None` while a
    /// request is in flight (then it is not idle).
    pub async fn next_frame(
        &mut self,
        quiet_since: impl Fn() -> Option<Instant>,
    ) -> Result<Frame, ReadEnd> {
        loop {
            if let Some(total) = announced_length(&self.buf, self.max_frame)? {
                if self.permit.is_none() {
                    self.admit(4 + total).await;
                }
                if self.buf.len() >= 4 + total {
                    return Ok(self.split_frame(total)?);
                }
            }
            self.fill(&quiet_since).await?;
        }
    }

    /// Takes `bytes` from the budget, waiting (and not reading) while it is spent.
    async fn admit(&mut self, bytes: usize) {
        let Some((budget, size)) = &self.guards.budget else {
            return;
        };
        // The frame limit keeps `bytes` within the budget and within u32.
        let n = u32::try_from(bytes).unwrap_or(u32::MAX);
        let permit = match budget.clone().try_acquire_many_owned(n) {
            Ok(p) => p,
            Err(_) => {
                if let Some(suppressed) = self.guards.log_budget_wait.allow() {
                    warn!(
                        remote = %self.remote,
                        frame = bytes, budget = size, suppressed,
                        "in-flight request bytes at the limit (serverMaxInFlightBytes): \
                         reading paused until the frame fits"
                    );
                }
                match budget.clone().acquire_many_owned(n).await {
                    Ok(p) => p,
                    Err(_) => return, // never closed
                }
            }
        };
        self.permit = Some(permit);
        // Time spent waiting for budget does not count against the peer.
        self.frame_start = Instant::now();
    }

    fn split_frame(&mut self, total: usize) -> Result<Frame, CodecError> {
        self.buf.advance(4);
        let bytes = self.buf.split_to(total).freeze();
        if total > RETAIN_MAX {
            // Do not keep the large allocation alive for the next (small) frames.
            self.buf = BytesMut::from(&self.buf[..]);
        }
        self.frame_start = self.last_read;
        let admission = self.permit.take();
        Ok(Frame {
            command: decode_frame(bytes)?,
            admission,
        })
    }

    /// Reads more bytes, or ends on EOF, a socket error or the idle timeout.
    async fn fill(&mut self, quiet_since: &impl Fn() -> Option<Instant>) -> Result<(), ReadEnd> {
        let wanted = match announced_length(&self.buf, self.max_frame)? {
            Some(total) => 4 + total,
            None => 4,
        };
        let missing = wanted.saturating_sub(self.buf.len());
        let chunk = missing.clamp(READ_MIN, READ_MAX);
        // Read into the spare room left behind the last frame while it is enough (as
        // FramedRead does): reserving a whole chunk every time would allocate a new buffer
        // per read whenever the previous frame is still being processed.
        if self.buf.capacity() - self.buf.len() < missing.clamp(READ_SPARE_MIN, chunk) {
            self.buf.reserve(chunk);
        }
        if self.buf.is_empty() && self.buf.capacity() > RETAIN_MAX {
            self.buf = BytesMut::with_capacity(chunk);
        }
        let was_empty = self.buf.is_empty();
        let mut limited = (&mut self.read).take(chunk as u64);
        let read = limited.read_buf(&mut self.buf);
        let result = match &mut self.idle {
            None => Some(read.await),
            Some((_, sleep)) => tokio::select! {
                biased;
                r = read => Some(r),
                () = sleep.as_mut() => None,
            },
        };
        match result {
            Some(Ok(0)) if self.buf.is_empty() => Err(ReadEnd::PeerClosed),
            Some(Ok(0)) => Err(ReadEnd::Truncated(self.buf.len())),
            Some(Ok(_)) => {
                self.last_read = Instant::now();
                if was_empty {
                    self.frame_start = self.last_read;
                }
                Ok(())
            }
            Some(Err(e)) => Err(CodecError::Io(e).into()),
            None => self.on_idle_timer(quiet_since),
        }
    }

    /// The idle timer fired: re-arm it from the latest activity, or end the connection.
    fn on_idle_timer(&mut self, quiet_since: &impl Fn() -> Option<Instant>) -> Result<(), ReadEnd> {
        let Some((timeout, sleep)) = &mut self.idle else {
            return Ok(());
        };
        let now = Instant::now();
        let since = if self.buf.is_empty() {
            // Between frames: idle unless something was read or written lately, or a
            // request is in flight.
            quiet_since().map_or(now, |written| written.max(self.last_read))
        } else {
            self.frame_start
        };
        let deadline = since + *timeout;
        if deadline > now {
            sleep.as_mut().reset(deadline);
            return Ok(());
        }
        Err(ReadEnd::Idle {
            timeout: *timeout,
            partial: self.buf.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::frame::encode_to_vec;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    const MIB: usize = 1024 * 1024;

    /// A connected pair: the peer's socket and a reader on the server side.
    async fn pair(
        max_frame: usize,
        idle: Option<Duration>,
        guards: &Arc<ConnectionGuards>,
    ) -> (TcpStream, FrameReader<tokio::net::tcp::OwnedReadHalf>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, remote) = listener.accept().await.unwrap();
        let (read, write) = server.into_split();
        std::mem::forget(write); // keep the socket open in both directions
        (
            peer,
            FrameReader::new(read, remote, max_frame, idle, guards.clone()),
        )
    }

    fn ping() -> Vec<u8> {
        encode_to_vec(&RemotingCommand::request_code(42).with_body(vec![7u8; 100]))
    }

    #[tokio::test]
    async fn budget_is_held_per_frame_and_oversized_frames_are_refused() {
        let guards = Arc::new(ConnectionGuards::with_budget(MIB));
        let (mut peer, mut reader) = pair(16 * MIB, None, &guards).await;
        peer.write_all(&ping()).await.unwrap();
        let frame = reader.next_frame(|| None).await.unwrap();
        assert_eq!(frame.command.code, 42);
        assert_eq!(guards.budget_available(), Some(MIB - ping().len()));
        drop(frame);
        assert_eq!(guards.budget_available(), Some(MIB));

        // More than the whole budget: refused although under max_frame.
        peer.write_all(&(2 * MIB as u32).to_be_bytes())
            .await
            .unwrap();
        let end = reader.next_frame(|| None).await.unwrap_err();
        assert!(
            matches!(end, ReadEnd::Codec(CodecError::Frame(FrameError::FrameTooLarge { max, .. })) if max == MIB - 4),
            "{end:?}"
        );
    }

    #[tokio::test]
    async fn a_trickled_large_frame_does_not_allocate_its_announced_size() {
        let guards = Arc::new(ConnectionGuards::with_budget(64 * MIB));
        let (mut peer, mut reader) = pair(16 * MIB, None, &guards).await;
        peer.write_all(&(16 * MIB as u32).to_be_bytes())
            .await
            .unwrap();
        peer.write_all(&[1, 2, 3, 4]).await.unwrap();
        let next = tokio::time::timeout(Duration::from_millis(100), reader.next_frame(|| None));
        assert!(next.await.is_err(), "no frame yet");
        assert_eq!(reader.buf.len(), 8);
        assert!(
            reader.buf.capacity() <= 2 * READ_MAX,
            "{}",
            reader.buf.capacity()
        );
        // The announced frame took its budget before its body was read.
        assert_eq!(guards.budget_available(), Some(48 * MIB - 4));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_means_silent_and_nothing_in_flight() {
        let guards = Arc::new(ConnectionGuards::default());
        let idle = Some(Duration::from_secs(120));
        // Silent, but a request is in flight for the first few checks: kept open.
        let (_peer, mut reader) = pair(MIB, idle, &guards).await;
        let opened = Instant::now();
        let busy_checks = std::sync::atomic::AtomicU32::new(0);
        let end = reader
            .next_frame(|| {
                let n = busy_checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                (n >= 3).then_some(opened)
            })
            .await
            .unwrap_err();
        assert!(matches!(end, ReadEnd::Idle { partial: 0, .. }), "{end:?}");
        assert_eq!(busy_checks.into_inner(), 4, "kept open while busy");
        assert!(opened.elapsed() >= Duration::from_secs(480));

        // A partial frame is closed even while requests are in flight.
        let (mut peer, mut reader) = pair(MIB, idle, &guards).await;
        peer.write_all(&[0, 0, 1, 0, 0]).await.unwrap();
        let end = reader.next_frame(|| None).await.unwrap_err();
        assert!(matches!(end, ReadEnd::Idle { partial: 5, .. }), "{end:?}");
    }
}
