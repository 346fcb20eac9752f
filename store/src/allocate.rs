//! [`Allocator`]: the `fennec-alloc` thread that creates the next CommitLog file ahead of
//! need (blocks reserved with fallocate) and warms its pages, so the append that rolls over
//! only swaps in a ready file. When an append needs the file while it is still being warmed,
//! warming stops at the next 1 MiB chunk and the file is handed over.
//!
//! Appends from async code never wait here: [`Allocator::try_take`] hands over a ready file
//! or asks for it (urgently) and returns at once; the caller awaits
//! [`Allocator::wait_ready`] outside the append lock and appends again. Only synchronous
//! callers and opening the store block on [`Allocator::take`].
//!
//! When the file system is full (ENOSPC) the thread retries the same file every
//! [`RETRY_INTERVAL`] until it succeeds. An append that needs the file meanwhile is refused:
//! it marks the commit log out of space ([`Allocator::retry_after_no_space`]) and the first
//! successful retry clears that mark, so appends resume on their own once space is freed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::error::StoreError;
use super::health::{SpaceUser, StoreHealth};
use super::mapped_file::{MappedFile, MappedFileWriter};

/// How often a file that could not be created for lack of space is tried again.
pub(crate) const RETRY_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct State {
    /// Start offset the thread should create next.
    requested: Option<i64>,
    /// Start offset the thread is creating now.
    in_progress: Option<i64>,
    ready: Option<(i64, Result<MappedFileWriter, StoreError>)>,
    stop: bool,
}

#[derive(Debug)]
pub(crate) struct Allocator {
    dir: PathBuf,
    file_size: usize,
    warm: bool,
    state: Mutex<State>,
    cv: Condvar,
    /// Wakes async appenders waiting for a file ([`Allocator::wait_ready`]).
    ready_notify: tokio::sync::Notify,
    urgent: AtomicBool,
    health: Arc<StoreHealth>,
}

impl Allocator {
    pub(crate) fn new(
        dir: PathBuf,
        file_size: usize,
        warm: bool,
        health: Arc<StoreHealth>,
    ) -> Arc<Allocator> {
        Arc::new(Allocator {
            dir,
            file_size,
            warm,
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            ready_notify: tokio::sync::Notify::new(),
            urgent: AtomicBool::new(false),
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

    /// The prepared file starting at `start`, waiting for it if it is being prepared (and
    /// cutting its warming short); `None` if nobody asked for it (the caller then creates
    /// it itself).
    pub(crate) fn take(&self, start: i64) -> Option<Result<MappedFileWriter, StoreError>> {
        self.take_inner(start, true)
    }

    /// Like [`take`](Self::take) but lets the warming finish (the first file at open).
    pub(crate) fn take_warm(&self, start: i64) -> Option<Result<MappedFileWriter, StoreError>> {
        self.take_inner(start, false)
    }

    /// The prepared file starting at `start` if it is ready, without waiting. Otherwise asks
    /// for it (cutting any warming short) and returns `None`: the caller awaits
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
        self.state.lock().stop = true;
        self.urgent.store(true, Ordering::Release);
        self.cv.notify_all();
        self.ready_notify.notify_waiters();
    }

    fn run(&self) {
        // The file to try again (and when) after the disk was full.
        let mut retry: Option<(i64, Instant)> = None;
        loop {
            let Some(start) = self.next_job(&mut retry) else {
                return;
            };
            self.urgent.store(false, Ordering::Release);
            let result = self.create(start);
            match &result {
                Ok(_) => {
                    if retry.take().is_some() {
                        tracing::info!(start, "disk space available: commit log file created");
                    }
                }
                Err(e) if e.is_no_space() => {
                    if retry.is_none() {
                        tracing::warn!(start, error = %e.with_cause(), "disk full: cannot create the next commit log file; retrying");
                    }
                    retry = Some((start, Instant::now() + RETRY_INTERVAL));
                }
                Err(e) => {
                    retry = None;
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
            if created {
                self.health.clear_no_space(SpaceUser::CommitLog);
            }
        }
    }

    /// Waits for a request, or for the retry of a file the full disk refused, and marks it
    /// in progress; `None` once stopped.
    fn next_job(&self, retry: &mut Option<(i64, Instant)>) -> Option<i64> {
        let mut st = self.state.lock();
        loop {
            if st.stop {
                return None;
            }
            if let Some(start) = st.requested.take() {
                // A stale ready file (never taken) is dropped; recovery deletes it.
                st.ready = None;
                st.in_progress = Some(start);
                return Some(start);
            }
            match *retry {
                // Only while the failure is still the latest answer (nobody took it).
                Some((start, due)) if matches!(&st.ready, Some((s, Err(_))) if *s == start) => {
                    if Instant::now() >= due {
                        st.ready = None;
                        st.in_progress = Some(start);
                        return Some(start);
                    }
                    self.cv.wait_until(&mut st, due);
                }
                _ => {
                    *retry = None;
                    self.cv.wait(&mut st);
                }
            }
        }
    }

    fn create(&self, start: i64) -> Result<MappedFileWriter, StoreError> {
        let mut w = MappedFile::create(&self.dir, start, self.file_size).and_then(|f| {
            f.writer().ok_or_else(|| StoreError::BadFile {
                path: f.path().to_path_buf(),
                reason: "new file already has a writer".into(),
            })
        })?;
        if self.warm {
            let t = Instant::now();
            let done = w.warm(|| self.urgent.load(Ordering::Acquire));
            tracing::debug!(start, done, elapsed = ?t.elapsed(), "warmed commit log file");
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_files_ahead_and_hands_them_over() {
        let dir = tempfile::tempdir().unwrap();
        let a = Allocator::new(dir.path().to_path_buf(), 4 << 20, true, Arc::default());
        let t = a.spawn().unwrap();
        assert!(a.take(0).is_none(), "nothing requested");
        a.request(4 << 20);
        let w = a.take(4 << 20).unwrap().unwrap();
        assert_eq!(w.file().start_offset(), 4 << 20);
        assert_eq!(w.position(), 0);
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
        let a = Allocator::new(dir.path().to_path_buf(), 1 << 20, false, Arc::default());
        let t = a.spawn().unwrap();
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
}
