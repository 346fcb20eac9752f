//! The sub-commands, one module per family. Each command has a clap `Args` struct and an
//! async function taking an [`AdminClient`](crate::admin::AdminClient); reports implement
//! [`Report`](crate::admin::output::Report).
//!
//! * [`topic`]: updateTopic, deleteTopic, topicList, topicRoute, topicStatus.
//! * [`cluster`]: clusterList, brokerStatus.
//! * [`config`]: getBrokerConfig, updateBrokerConfig, getNamesrvConfig.
//! * [`group`]: updateSubGroup, resetOffsetByTime; [`progress`]: consumerProgress;
//!   [`producer`]: producerConnection.
//! * [`message`]: queryMsgByKey, queryMsgById, queryMsgByOffset.
//! * [`pull`]: consumeMessage, printMsg; [`send`]: sendMessage.
//! * [`dlq`]: queryDlqMsg, resendDlqMsg (a group's dead letters).
//! * [`target`]: flags and fan-out helpers shared by several commands.

pub mod cluster;
pub mod config;
pub mod dlq;
pub mod group;
pub mod message;
pub mod producer;
pub mod progress;
pub mod pull;
pub mod send;
pub mod target;
pub mod topic;
