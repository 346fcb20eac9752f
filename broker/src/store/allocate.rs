//! [`Allocator`]: the `fennec-alloc` thread that creates the next CommitLog file ahead of
//! need (blocks reserved with fallocate) and warms its pages, so the append that rolls over
//! only swaps in a ready file. When an append needs the file while it is still being warmed,
//! warming stops at the next 1 MiB chunk and the file is handed over.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::error::StoreError;
use super::mapped_file::{MappedFile, MappedFileWriter};

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
    urgent: AtomicBool,
}

impl Allocator {
    pub(crate) fn new(dir: PathBuf, file_size: usize, warm: bool) -> Arc<Allocator> {
        Arc::new(Allocator {
            dir,
            file_size,
            warm,
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            urgent: AtomicBool::new(false),
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
            || st.ready.as_ref().is_some_and(|(s, _)| *s == start);
        if !known {
            st.requested = Some(start);
            self.cv.notify_all();
        }
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

    /// Whether the next file is prepared and waiting.
    pub(crate) fn is_ready(&self) -> bool {
        self.state.lock().ready.is_some()
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
    }

    fn run(&self) {
        loop {
            let start = {
                let mut st = self.state.lock();
                loop {
                    if st.stop {
                        return;
                    }
                    if let Some(start) = st.requested {
                        st.requested = None;
                        st.in_progress = Some(start);
                        // A stale ready file (never taken) is dropped; recovery deletes it.
                        st.ready = None;
                        break start;
                    }
                    self.cv.wait(&mut st);
                }
            };
            self.urgent.store(false, Ordering::Release);
            let result = MappedFile::create(&self.dir, start, self.file_size).and_then(|f| {
                f.writer().ok_or_else(|| StoreError::BadFile {
                    path: f.path().to_path_buf(),
                    reason: "new file already has a writer".into(),
                })
            });
            let result = result.map(|mut w| {
                if self.warm {
                    let t = std::time::Instant::now();
                    let done = w.warm(|| self.urgent.load(Ordering::Acquire));
                    tracing::debug!(start, done, elapsed = ?t.elapsed(), "warmed commit log file");
                }
                w
            });
            if let Err(e) = &result {
                tracing::warn!(start, error = %e, "cannot prepare the next commit log file");
            }
            let mut st = self.state.lock();
            st.in_progress = None;
            st.ready = Some((start, result));
            self.cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_files_ahead_and_hands_them_over() {
        let dir = tempfile::tempdir().unwrap();
        let a = Allocator::new(dir.path().to_path_buf(), 4 << 20, true);
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
}
