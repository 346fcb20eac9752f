//! The shared client instance (RocketMQ's MQClientInstance): one per client ID, shared by the
//! producers and consumers that use that ID. It owns the connections, the route cache and the
//! timers, and answers the requests brokers send to clients.

mod client_instance;
mod member;
mod processor;
mod registry;
mod routes;
mod timers;

pub(crate) use client_instance::ClientInstance;
pub(crate) use member::{CheckerRef, GroupMember, MemberRef, TransactionChecker};
pub(crate) use registry::{acquire, release};
