//! [`Allocator`]: the `fennec-alloc` thread that keeps the CommitLog writable without costing
//! appends a block allocation or a page fault:
//! * it creates the next CommitLog file ahead of need, sparse (`set_len`: instant, no disk),
//!   with its first window of `commitLogReserveAhead` bytes reserved with fallocate and, with
//!   `warmMapedFileEnable`, faulted in, so the append that rolls over only swaps in a ready
//!   file. When an append needs the file while it is still being faulted in, that stops at the
//!   next 1 MiB chunk and the file is handed over;
//! * it keeps the file being written reserved and faulted in that far ahead of the write
//!   position: an append that leaves less than half the window ahead wakes it
//!   ([`Allocator::want_ahead`], one atomic load per append otherwise), and it extends the
//!   window a chunk at a time ([`MappedFile::reserve_to`]).
//!
//! Appends never wait for this thread. One that reaches the end of the reserved window before
//! the thread extended it (a burst faster than faulting pages in) reserves the next chunk
//! itself, under the append lock, with one fallocate and no pre-faulting
//! ([`MappedFileWriter::reserve`](super::mapped_file::MappedFileWriter::reserve)); that is a
//! slower append, never a write into unreserved blocks. Waiting for the thread instead would
//! stall every producer behind the lock for as long as faulting a chunk takes; refusing would
//! fail sends on a healthy disk.
//!
//! Appends from async code never wait for a file either: [`Allocator::try_take`] hands over a
//! ready file or asks for it (urgently) and returns at once; the caller awaits
//! [`Allocator::wait_ready`] outside the append lock and appends again. Only synchronous
//! callers and opening the store block on [`Allocator::take`].
//!
//! When the file system is full (ENOSPC) the thread retries the same file, or the same window,
//! every [`RETRY_INTERVAL`] until it succeeds. Meanwhile appends are refused: the commit log
//! is marked out of space ([`StoreHealth::set_no_space`]) with the file named, and the mark is
//! cleared once neither the next file nor the window is short of space, so appends resume on
//! their own once space is freed. Appends already inside the reserved window are safe either
//! way: their blocks exist.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::error::StoreError;
use super::health::{SpaceUser, StoreHealth};
use super::mapped_file::{MappedFile, MappedFileWriter};

/// How often a file or window that could not be reserved for lack of space is tried again.
pub(crate) const RETRY_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct State {
    /// Start offset the thread should create next.
    requested: Option<i64>,
    /// Start offset the thread is creating now.
    in_progress: Option<i64>,
    ready: Option<(i64, Result<MappedFileWriter, StoreError>)>,
    /// The file appends go to, whose reserved window the thread keeps ahead of them.
    active: Option<Arc<MappedFile>>,
    stop: bool,
}

/// What the thread does next.
enum Job {
    /// Create the file starting here.
    Create(i64),
    /// Extend the reserved window of the file being written.
    Ahead(Arc<MappedFile>),
}

/// Files and windows the thread is retrying for lack of space.
#[derive(Debug, Default)]
struct Retries {
    /// The next file, and when to try it again.
    create: Option<(i64, Instant)>,
    /// When to try the window again.
    ahead: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Allocator {
    dir: PathBuf,
    file_size: usize,
    warm: bool,
    /// Bytes kept reserved ahead of the write position (`commitLogReserveAhead`).
    ahead: usize,
    state: Mutex<State>,
    cv: Condvar,
    /// Wakes async appenders waiting for a file ([`Allocator::wait_ready`]).
    ready_notify: tokio::sync::Notify,
    urgent: AtomicBool,
    /// Set by an append that found the window running short; cleared by the thread.
    ahead_wanted: AtomicBool,
    health: Arc<StoreHealth>,
}

impl Allocator {
    pub(crate) fn new(
        dir: PathBuf,
        file_size: usize,
        warm: bool,
        ahead: usize,
        health: Arc<StoreHealth>,
    ) -> Arc<Allocator> {
        Arc::new(Allocator {
            dir,
            file_size,
            warm,
            ahead: ahead.max(1),
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            ready_notify: tokio::sync::Notify::new(),
            urgent: AtomicBool::new(false),
            ahead_wanted: AtomicBool::new(false),
            health,
        })
    }

    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = self.clone();
        super::wakeup::spawn_service("fennec-alloc", move || me.run())
    }

    /// Asks for the file starting at `start` to be prepared in the background.
    pub(crate) fn request(&self, start: i64) {
        let mut st = self.state.lock();
        let known = st.requested == Some(start)
            || st.in_progress == Some(start)
            || matches!(&st.ready, Some((s, Ok(_))) if *s == start);
        if !known {
            st.requested = Some(start);
            self.cv.notify_all();
        }
    }

    /// An append could not get the file starting at `start` because the disk is full:
    /// refuses appends with `why` until the thread, asked to retry, creates it.
    pub(crate) fn retry_after_no_space(&self, start: i64, why: String) {
        // Marked before the request, so the retry that succeeds clears it afterwards.
        self.health.set_no_space(SpaceUser::CommitLog, why);
        self.request(start);
    }

    /// Appends now go to `file`: the thread keeps its window reserved from here on.
    pub(crate) fn set_active(&self, file: Arc<MappedFile>) {
        self.state.lock().active = Some(file);
        self.want_ahead();
    }

    /// Whether the writer `w`, just past an append, has less than half the window reserved
    /// ahead of it in a file with more to reserve: then the append wakes the thread.
    pub(crate) fn window_short(&self, w: &MappedFileWriter) -> bool {
        w.reserved_ahead() < self.ahead / 2 && w.file().reserved() < w.file().size()
    }

    /// Wakes the thread to extend the active file's window. Cheap while a wake-up is
    /// pending: one atomic load.
    pub(crate) fn want_ahead(&self) {
        if !self.ahead_wanted.load(Ordering::Acquire)
            && !self.ahead_wanted.swap(true, Ordering::AcqRel)
        {
            // Under the lock, so the thread cannot miss it between its check and its wait.
            let _st = self.state.lock();
            self.cv.notify_all();
        }
    }

    /// An append could not reserve blocks in the active file itself because the disk is
    /// full (`e`): refuses appends until the thread, woken to retry, reserves them.
    pub(crate) fn reserve_failed(&self, e: &StoreError) {
        self.health
            .set_no_space(SpaceUser::CommitLog, reserve_refusal(e));
        self.want_ahead();
    }

    /// The prepared file starting at `start`, waiting for it if it is being prepared (and
    /// cutting its faulting short); `None` if nobody asked for it (the caller then creates
    /// it itself).
    pub(crate) fn take(&self, start: i64) -> Option<Result<MappedFileWriter, StoreError>> {
        self.take_inner(start, true)
    }

    /// Like [`take`](Self::take) but lets the first window be faulted in (the first file at
    /// open).
    pub(crate) fn take_warm(&self, start: i64) -> Option<Result<MappedFileWriter, StoreError>> {
        self.take_inner(start, false)
    }

    /// The prepared file starting at `start` if it is ready, without waiting. Otherwise asks
    /// for it (cutting any faulting short) and returns `None`: the caller awaits
    /// [`wait_ready`](Self::wait_ready) and tries again. A failed preparation is returned.
    pub(crate) fn try_take(&self, start: i64) -> Option<Result<MappedFileWriter, StoreError>> {
        let mut st = self.state.lock();
        if matches!(&st.ready, Some((s, _)) if *s == start) {
            return st.ready.take().map(|(_, r)| r);
        }
        self.urgent.store(true, Ordering::Release);
        if st.requested != Some(start) && st.in_progress != Some(start) {
            st.requested = Some(start);
            self.cv.notify_all();
        }
        None
    }

    /// Completes once the file starting at `start` is no longer being prepared: it is ready
    /// (or failed), or another appender already took it, or the allocator stopped. Several
    /// appenders can wait for one file; the first to append again takes it, and the others
    /// must not wait for a `ready` that will never hold it again.
    pub(crate) async fn wait_ready(&self, start: i64) {
        loop {
            let notified = self.ready_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.state.lock();
                let pending = st.requested == Some(start) || st.in_progress == Some(start);
                if st.stop || !pending {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Whether the next file is prepared and waiting.
    pub(crate) fn is_ready(&self) -> bool {
        matches!(self.state.lock().ready, Some((_, Ok(_))))
    }

    fn take_inner(&self, start: i64, urgent: bool) -> Option<Result<MappedFileWriter, StoreError>> {
        let mut st = self.state.lock();
        loop {
            if let Some((s, _)) = &st.ready {
                if *s == start {
                    return st.ready.take().map(|(_, r)| r);
                }
            }
            let pending = st.requested == Some(start) || st.in_progress == Some(start);
            if !pending || st.stop {
                return None;
            }
            if urgent {
                self.urgent.store(true, Ordering::Release);
            }
            self.cv.wait(&mut st);
        }
    }

    pub(crate) fn stop(&self) {
        let mut st = self.state.lock();
        st.stop = true;
        st.active = None;
        self.urgent.store(true, Ordering::Release);
        self.cv.notify_all();
        drop(st);
        self.ready_notify.notify_waiters();
    }

    fn run(&self) {
        let mut retries = Retries::default();
        while let Some(job) = self.next_job(&mut retries) {
            match job {
                Job::Create(start) => self.run_create(start, &mut retries),
                Job::Ahead(file) => self.run_ahead(&file, &mut retries),
            }
        }
    }

    fn run_create(&self, start: i64, retries: &mut Retries) {
        self.urgent.store(false, Ordering::Release);
        let result = self.create(start);
        match &result {
            Ok(_) => {
                if retries.create.take().is_some() {
                    tracing::info!(start, "disk space available: commit log file created");
                }
            }
            Err(e) if e.is_no_space() => {
                if retries.create.is_none() {
                    tracing::warn!(start, error = %e.with_cause(), "disk full: cannot create the next commit log file; retrying");
                }
                retries.create = Some((start, Instant::now() + RETRY_INTERVAL));
            }
            Err(e) => {
                retries.create = None;
                tracing::warn!(start, error = %e.with_cause(), "cannot prepare the next commit log file");
            }
        }
        let created = result.is_ok();
        let mut st = self.state.lock();
        st.in_progress = None;
        st.ready = Some((start, result));
        self.cv.notify_all();
        drop(st);
        self.ready_notify.notify_waiters();
        if created && retries.ahead.is_none() {
            self.health.clear_no_space(SpaceUser::CommitLog);
        }
    }

    /// Extends `file`'s window to `commitLogReserveAhead` past its write position.
    fn run_ahead(&self, file: &MappedFile, retries: &mut Retries) {
        if file.is_full() {
            // Rolled away from meanwhile: its unused tail needs no blocks.
            retries.ahead = None;
            return;
        }
        let target = file.wrote_position().saturating_add(self.ahead);
        match file.reserve_to(target, self.warm, || false) {
            Ok(_) => {
                if retries.ahead.take().is_some() {
                    tracing::info!(path = %file.path().display(), "disk space available: commit log blocks reserved");
                }
                if retries.create.is_none() {
                    self.health.clear_no_space(SpaceUser::CommitLog);
                }
            }
            Err(e) if e.is_no_space() => {
                if retries.ahead.is_none() {
                    tracing::warn!(error = %e.with_cause(), "disk full: cannot reserve blocks ahead of the commit log writer; retrying");
                }
                retries.ahead = Some(Instant::now() + RETRY_INTERVAL);
                self.health
                    .set_no_space(SpaceUser::CommitLog, reserve_refusal(&e));
            }
            Err(e) => {
                // Not retried: appends reserve for themselves and fail with this error.
                retries.ahead = None;
                tracing::warn!(error = %e.with_cause(), "cannot reserve blocks ahead of the commit log writer");
            }
        }
    }

    /// Waits for a request, a short window, or a retry of what the full disk refused; `None`
    /// once stopped. A file to create is marked in progress.
    fn next_job(&self, retries: &mut Retries) -> Option<Job> {
        let mut st = self.state.lock();
        loop {
            if st.stop {
                return None;
            }
            if let Some(start) = st.requested.take() {
                // A stale ready file (never taken) is dropped; recovery deletes it.
                st.ready = None;
                st.in_progress = Some(start);
                return Some(Job::Create(start));
            }
            let now = Instant::now();
            let ahead_due = retries.ahead.is_some_and(|due| now >= due);
            if self.ahead_wanted.swap(false, Ordering::AcqRel) || ahead_due {
                match st.active.clone() {
                    Some(file) => return Some(Job::Ahead(file)),
                    None => retries.ahead = None,
                }
            }
            // Only while the failure is still the latest answer (nobody took it).
            match retries.create {
                Some((start, _)) if !matches!(&st.ready, Some((s, Err(_))) if *s == start) => {
                    retries.create = None;
                }
                Some((start, due)) if now >= due => {
                    st.ready = None;
                    st.in_progress = Some(start);
                    return Some(Job::Create(start));
                }
                _ => {}
            }
            let due = [retries.create.map(|(_, due)| due), retries.ahead]
                .into_iter()
                .flatten()
                .min();
            match due {
                Some(due) => {
                    self.cv.wait_until(&mut st, due);
                }
                None => self.cv.wait(&mut st),
            }
        }
    }

    fn create(&self, start: i64) -> Result<MappedFileWriter, StoreError> {
        let t = Instant::now();
        let f = MappedFile::create_sparse(
            &self.dir,
            start,
            self.file_size,
            self.ahead,
            self.warm,
            || self.urgent.load(Ordering::Acquire),
        )?;
        tracing::debug!(start, reserved = f.reserved(), elapsed = ?t.elapsed(), "created commit log file");
        f.writer().ok_or_else(|| StoreError::BadFile {
            path: f.path().to_path_buf(),
            reason: "new file already has a writer".into(),
        })
    }
}

/// Why appends are refused while the blocks of the active commit log file cannot be
/// reserved (`e` is the disk-full error).
fn reserve_refusal(e: &StoreError) -> String {
    format!(
        "disk full: cannot reserve blocks of commit log file: {}",
        e.with_cause()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A running allocator of `file_size` files in `dir`.
    fn start(
        dir: &std::path::Path,
        file_size: usize,
        warm: bool,
        ahead: usize,
    ) -> (Arc<Allocator>, JoinHandle<()>) {
        let a = Allocator::new(dir.to_path_buf(), file_size, warm, ahead, Arc::default());
        let t = a.spawn().unwrap();
        (a, t)
    }

    #[test]
    fn prepares_files_ahead_and_hands_them_over() {
        let dir = tempfile::tempdir().unwrap();
        let (a, t) = start(dir.path(), 4 << 20, true, 1 << 20);
        assert!(a.take(0).is_none(), "nothing requested");
        a.request(4 << 20);
        let w = a.take(4 << 20).unwrap().unwrap();
        assert_eq!(w.file().start_offset(), 4 << 20);
        assert_eq!(w.position(), 0);
        assert_eq!(w.reserved_ahead(), 1 << 20, "the first window");
        assert!(dir.path().join("00000000000004194304").exists());
        a.request(8 << 20);
        a.stop();
        t.join().unwrap();
    }

    /// An allocator of unwarmed 1 MiB files with its thread running, and a runtime for its
    /// async waits.
    fn async_allocator() -> (
        tempfile::TempDir,
        Arc<Allocator>,
        JoinHandle<()>,
        tokio::runtime::Runtime,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (a, t) = start(dir.path(), 1 << 20, false, 1 << 20);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (dir, a, t, rt)
    }

    #[test]
    fn async_appenders_never_wait_under_the_lock() {
        let (_dir, a, t, rt) = async_allocator();
        // Not requested yet: asked for, not waited for.
        assert!(a.try_take(1 << 20).is_none());
        rt.block_on(a.wait_ready(1 << 20));
        let w = a.try_take(1 << 20).unwrap().unwrap();
        assert_eq!(w.file().start_offset(), 1 << 20);
        a.stop();
        rt.block_on(a.wait_ready(2 << 20));
        t.join().unwrap();
    }

    /// Two appenders wait for one file; the first takes it. The second, polled only then,
    /// must not wait for the file to be ready again (it used to wait until the allocator
    /// stopped: a SYNC_FLUSH test with 64 writers hung in CI).
    #[test]
    fn a_waiter_whose_file_was_taken_does_not_wait() {
        use futures_util::FutureExt;
        let (_dir, a, t, rt) = async_allocator();
        assert!(a.try_take(1 << 20).is_none());
        let second = a.wait_ready(1 << 20);
        rt.block_on(a.wait_ready(1 << 20));
        let w = a.try_take(1 << 20).unwrap().unwrap();
        assert_eq!(w.file().start_offset(), 1 << 20);
        assert!(
            second.now_or_never().is_some(),
            "the second waiter still waits for a file already taken"
        );
        // A waiter for a file asked for still waits until it is ready.
        a.request(2 << 20);
        rt.block_on(a.wait_ready(2 << 20));
        assert!(a.is_ready(), "returned before the file was prepared");
        a.stop();
        t.join().unwrap();
    }

    #[test]
    fn keeps_the_window_ahead_of_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let ahead = 2 * crate::mapped_file::RESERVE_CHUNK;
        let (a, t) = start(dir.path(), 4 * ahead, true, ahead);
        a.request(0);
        let mut w = a.take_warm(0).unwrap().unwrap();
        assert_eq!(w.reserved_ahead(), ahead);
        a.set_active(w.file().clone());
        w.append(&vec![1u8; ahead - 100]).unwrap().unwrap();
        assert!(a.window_short(&w));
        a.want_ahead();
        let deadline = Instant::now() + Duration::from_secs(10);
        while w.reserved_ahead() < ahead && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(w.file().reserved(), 2 * ahead - 100);
        assert!(!a.window_short(&w));
        a.stop();
        t.join().unwrap();
    }
}
