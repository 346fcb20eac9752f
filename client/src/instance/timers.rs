//! The background work of a client instance (reference §12):
//!
//! | task | period | what |
//! |---|---|---|
//! | routes | `poll_namesrv_interval` (30 s) | fetch the route of every topic in use |
//! | heartbeats | `heartbeat_interval` (30 s) | HEART_BEAT to every known broker |
//! | offsets | `persist_offset_interval` (5 s) | commit every consumer's offsets |
//! | rebalance | `rebalance_interval` (20 s), or at once when woken | rebalance every consumer |
//!
//! Each runs in its own task until the instance's token is cancelled. Starting producers and
//! consumers do the first round of routes, heartbeat and rebalance themselves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::ClientInstance;

pub(super) fn spawn(instance: &Arc<ClientInstance>) {
    let cfg = instance.config().clone();
    every(instance, cfg.poll_namesrv_interval, |i| async move {
        i.update_all_routes().await
    });
    every(instance, cfg.heartbeat_interval, |i| async move {
        i.heartbeat_all().await
    });
    every(instance, cfg.persist_offset_interval, |i| async move {
        i.persist_all_offsets().await
    });
    let i = instance.clone();
    let period = cfg.rebalance_interval;
    instance.spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = i.rebalance_requested() => {}
            }
            i.rebalance_all().await;
        }
    });
}

/// Runs `f` every `period`, the first time one period from now. A run that overruns delays
/// the next one instead of queueing catch-up runs.
fn every<F, Fut>(instance: &Arc<ClientInstance>, period: Duration, f: F)
where
    F: Fn(Arc<ClientInstance>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let i = instance.clone();
    instance.spawn(async move {
        let mut ticks = interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            f(i.clone()).await;
        }
    });
}
