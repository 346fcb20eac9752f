//! [`ServerCounters`]: what a server's accept loop and connections count for metrics:
//! connections open and accepted, and connections refused or closed by the server's limits.
//! Plain atomics, read by whoever exports them (`fennec-metrics` users).

use std::sync::atomic::{AtomicU64, Ordering};

/// Connection counts of one [`RemotingServer`](crate::RemotingServer).
#[derive(Debug, Default)]
pub struct ServerCounters {
    open: AtomicU64,
    accepted: AtomicU64,
    refused_max_connections: AtomicU64,
    closed_bad_frame: AtomicU64,
    closed_idle: AtomicU64,
}

/// Why the server refused or closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    /// `serverMaxConnections` reached: accepted and closed at once.
    MaxConnections,
    /// A malformed or oversized frame.
    BadFrame,
    /// Idle for `serverChannelMaxIdleTimeSeconds`.
    Idle,
}

impl ConnectionRefusal {
    pub const ALL: [ConnectionRefusal; 3] = [
        ConnectionRefusal::MaxConnections,
        ConnectionRefusal::BadFrame,
        ConnectionRefusal::Idle,
    ];

    /// A label value: `max_connections`, `bad_frame`, `idle`.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionRefusal::MaxConnections => "max_connections",
            ConnectionRefusal::BadFrame => "bad_frame",
            ConnectionRefusal::Idle => "idle",
        }
    }
}

impl ServerCounters {
    /// Connections being served now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections accepted and served since start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections refused or closed for `why` since start.
    pub fn refused(&self, why: ConnectionRefusal) -> u64 {
        self.counter(why).load(Ordering::Relaxed)
    }

    pub(crate) fn opened(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn refuse(&self, why: ConnectionRefusal) {
        self.counter(why).fetch_add(1, Ordering::Relaxed);
    }

    fn counter(&self, why: ConnectionRefusal) -> &AtomicU64 {
        match why {
            ConnectionRefusal::MaxConnections => &self.refused_max_connections,
            ConnectionRefusal::BadFrame => &self.closed_bad_frame,
            ConnectionRefusal::Idle => &self.closed_idle,
        }
    }
}
