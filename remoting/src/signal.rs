//! Stopping a server on SIGINT or SIGTERM: the one signal mechanism of every binary
//! (`mqnamesrv`, `mqbroker`, `mqdashboard`). The handlers are installed before it returns, so
//! a signal sent right after a server prints LISTENING is never fatal.

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGINT or SIGTERM, logging which one came. Fails only when
/// the handlers cannot be installed.
pub fn cancel_on_signal(token: CancellationToken) -> std::io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!("{name} received, shutting down");
        token.cancel();
    });
    Ok(())
}
