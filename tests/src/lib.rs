//! Harness for Fennec's process-level integration tests (the test files are in `tests/`).
//!
//! * [`process`]: start a workspace binary (`mqnamesrv`, `mqbroker`, …) from the cargo target
//!   directory, learn its address from its `LISTENING <ip:port>` line, kill it on drop;
//! * [`poll`]: wait for a condition with a deadline instead of sleeping;
//! * [`namesrv`]: nameserver requests that tests of every server need.
//!
//! Binaries are not built by `cargo test` for this package: run `scripts/test.sh`, or
//! `cargo build --workspace --bins` first.

pub mod namesrv;
pub mod poll;
pub mod process;
