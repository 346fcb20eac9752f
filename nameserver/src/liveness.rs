//! The scan task: every `scanNotActiveBrokerInterval` it drops brokers whose last
//! registration is older than their heartbeat timeout (see [`RouteInfo::scan_not_active`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::route_info::RouteInfo;

/// Scans every `interval` until `shutdown` fires.
pub async fn scan_not_active_brokers(
    route: Arc<RouteInfo>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {
                let removed = route.scan_not_active(Instant::now());
                if removed > 0 {
                    tracing::debug!(removed, "scan removed expired brokers");
                }
            }
        }
    }
}
