//! Fennec's operations tools, usable as libraries as well as through their binaries:
//!
//! * [`admin`] is `mqadmin`, the RocketMQ-compatible admin CLI: the same sub-commands and
//!   flags as RocketMQ's (its [`admin::AdminClient`] and command functions);
//! * [`bench`](mod@bench) is `mqbench`, the load generator with live TPS and latency lines
//!   and an echo baseline.
//!
//! Both take [`security::SecurityArgs`]: ACL credentials and TLS.

pub mod admin;
pub mod bench;
pub mod security;
