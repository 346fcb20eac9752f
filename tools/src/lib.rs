//! Fennec's operations tools. [`admin`] is `mqadmin`, the RocketMQ-compatible admin CLI: the
//! same sub-commands and flags as RocketMQ's, usable as a library (its [`admin::AdminClient`]
//! and command functions) as well as through the binary.

pub mod admin;
