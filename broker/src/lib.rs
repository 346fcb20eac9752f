//! The Fennec broker. For now this is its message store ([`store`]): the CommitLog, consume
//! queues, index files, flushing, dispatch, recovery and retention, usable without a network.

pub mod store;
