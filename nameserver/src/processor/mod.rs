//! Request processing: [`NamesrvProcessor`] dispatches each request by its code to the
//! handler of its family, one file per family:
//!
//! * `register`: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION, BROKER_HEARTBEAT,
//!   WIPE_WRITE_PERM_OF_BROKER, ADD_WRITE_PERM_OF_BROKER;
//! * `route`: GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO,
//!   GET_ALL_TOPIC_LIST_FROM_NAMESERVER, DELETE_TOPIC_IN_NAMESRV, GET_TOPICS_BY_CLUSTER,
//!   REGISTER_TOPIC_IN_NAMESRV;
//! * `kv`: PUT_KV_CONFIG, GET_KV_CONFIG, DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE;
//! * `dispatch` itself: GET_NAMESRV_CONFIG (the configuration as properties text).
//!
//! Handlers return `Result<RemotingCommand, NamesrvError>`; errors become responses in
//! [`crate::NamesrvError::to_response`]. Other codes get REQUEST_CODE_NOT_SUPPORTED.

mod dispatch;
mod kv;
mod register;
mod route;

pub use dispatch::NamesrvProcessor;
