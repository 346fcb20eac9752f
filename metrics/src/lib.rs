//! Fennec's Prometheus endpoint, shared by `mqbroker` and `mqnamesrv`.
//!
//! The servers keep their own counters (plain atomics bumped on the hot paths, the same
//! ones their admin requests report) and register a `prometheus_client` collector that reads
//! them at scrape time; nothing here sits on a request path.
//!
//! * [`http`]: the HTTP server (axum) that serves `GET /metrics` in Prometheus text format
//!   0.0.4, with room for more routes (the dashboard);
//! * [`encode`]: small helpers to write counters, gauges, labelled families and
//!   [`LatencyHistogram`](fennec_common::histogram::LatencyHistogram)s from a collector;
//! * [`process`]: `process_cpu_seconds_total`, `process_resident_memory_bytes` and friends,
//!   read from the kernel at scrape time.
//!
//! Why `prometheus-client`: it is the Prometheus project's own Rust client, has no global
//! registry, and its `Collector` trait lets a server export values it already counts, so the
//! hot path bumps our atomics only (its `Family` would take a lock per labelled update).

pub mod encode;
pub mod http;
pub mod process;

pub use prometheus_client;
pub use prometheus_client::registry::Registry;

pub use http::{router, serve, METRICS_CONTENT_TYPE};
