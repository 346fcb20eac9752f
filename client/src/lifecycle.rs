//! [`Lifecycle`]: the created → starting → running → stopped states every client handle
//! goes through. A client starts once and is not restarted after shutdown (as in RocketMQ).

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::ClientError;

enum Phase<T> {
    Created,
    Starting,
    Running(Arc<T>),
    Stopped,
}

/// The phase of a client handle whose running state is a `T`.
pub(crate) struct Lifecycle<T> {
    phase: Mutex<Phase<T>>,
}

impl<T> Default for Lifecycle<T> {
    fn default() -> Self {
        Lifecycle {
            phase: Mutex::new(Phase::Created),
        }
    }
}

impl<T> std::fmt::Debug for Lifecycle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match &*self.phase.lock() {
            Phase::Created => "created",
            Phase::Starting => "starting",
            Phase::Running(_) => "running",
            Phase::Stopped => "stopped",
        };
        f.write_str(name)
    }
}

impl<T> Lifecycle<T> {
    /// Starts the client with `start`, which yields the running state.
    pub(crate) async fn start_with<F>(&self, start: F) -> Result<(), ClientError>
    where
        F: Future<Output = Result<Arc<T>, ClientError>>,
    {
        self.begin_start()?;
        match start.await {
            Ok(state) => {
                self.finish_start(Some(state));
                Ok(())
            }
            Err(e) => {
                self.finish_start(None);
                Err(e)
            }
        }
    }

    /// Claims the start; fails unless the client was just created.
    fn begin_start(&self) -> Result<(), ClientError> {
        let mut phase = self.phase.lock();
        match *phase {
            Phase::Created => {
                *phase = Phase::Starting;
                Ok(())
            }
            Phase::Starting | Phase::Running(_) => {
                Err(ClientError::Config("the client is already started".into()))
            }
            Phase::Stopped => Err(ClientError::Config(
                "the client was shut down and cannot start again".into(),
            )),
        }
    }

    /// Ends a start: running with `state`, or back to created when the start failed.
    fn finish_start(&self, state: Option<Arc<T>>) {
        *self.phase.lock() = match state {
            Some(s) => Phase::Running(s),
            None => Phase::Created,
        };
    }

    /// The running state.
    pub(crate) fn running(&self) -> Result<Arc<T>, ClientError> {
        match &*self.phase.lock() {
            Phase::Running(s) => Ok(s.clone()),
            _ => Err(ClientError::NotRunning),
        }
    }

    /// Moves to stopped; returns the running state to shut down, if there was one.
    pub(crate) fn begin_shutdown(&self) -> Option<Arc<T>> {
        let mut phase = self.phase.lock();
        match std::mem::replace(&mut *phase, Phase::Stopped) {
            Phase::Running(s) => Some(s),
            Phase::Starting => {
                // A start is under way; let it finish and be shut down by a later call.
                *phase = Phase::Starting;
                None
            }
            Phase::Created | Phase::Stopped => None,
        }
    }
}

/// Shuts a client down that was dropped while running: in the background when a tokio
/// runtime is at hand, else only with a warning (its tasks died with their runtime).
pub(crate) fn shutdown_on_drop<F>(what: &str, shutdown: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            tracing::warn!("{what} dropped while running; shutting it down in the background");
            handle.spawn(shutdown);
        }
        Err(_) => tracing::warn!("{what} dropped while running, outside a tokio runtime"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases() {
        let l: Lifecycle<u8> = Lifecycle::default();
        assert!(matches!(l.running(), Err(ClientError::NotRunning)));
        l.begin_start().unwrap();
        assert!(l.begin_start().is_err());
        l.finish_start(None);
        l.begin_start().unwrap();
        l.finish_start(Some(Arc::new(7)));
        assert_eq!(*l.running().unwrap(), 7);
        assert_eq!(l.begin_shutdown().as_deref(), Some(&7));
        assert!(l.begin_shutdown().is_none());
        assert!(l.begin_start().is_err());
        assert!(l.running().is_err());
    }
}
