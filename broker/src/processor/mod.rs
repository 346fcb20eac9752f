//! Request dispatch: one processor per request family, chosen by request code, after the
//! ACL check (`crate::acl`) when `aclEnable` is on.

mod admin;
mod client;
mod lock;
mod offset;
mod pull;
mod query;
mod send;
mod send_back;
mod stats;
mod transaction;

pub use client::remove_expired_clients;
pub use lock::client_left;

use std::sync::Arc;
use std::time::Instant;

use fennec_remoting::{Channel, RemotingCommand, RequestCode, RequestProcessor, ResponseCode};

use crate::broker::Broker;

/// The broker's [`RequestProcessor`].
pub struct BrokerProcessor {
    broker: Arc<Broker>,
}

impl BrokerProcessor {
    pub fn new(broker: Arc<Broker>) -> Self {
        BrokerProcessor { broker }
    }
}

impl RequestProcessor for BrokerProcessor {
    async fn process(&self, channel: Channel, request: RemotingCommand) -> Option<RemotingCommand> {
        use RequestCode::*;
        let b = &self.broker;
        if let Some(acl) = &b.acl {
            if let Err(remark) = acl.check(&request, channel.remote_addr().ip()) {
                tracing::debug!(remote = %channel.remote_addr(), code = request.code, "ACL: {remark}");
                return Some(RemotingCommand::response(
                    fennec_remoting::ResponseCode::NO_PERMISSION,
                    Some(remark),
                ));
            }
        }
        let Ok(code) = RequestCode::try_from(request.code) else {
            b.stats
                .add_rejected(i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED));
            return Some(fennec_remoting::not_supported(&request));
        };
        let result = match code {
            SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
                let started = Instant::now();
                let sent = send::send(b, &channel, request).await;
                b.stats.send_latency.observe(started.elapsed());
                sent
            }
            END_TRANSACTION => transaction::end_transaction(b, &channel, request).await,
            PULL_MESSAGE | LITE_PULL_MESSAGE => pull::pull(b, &channel, &request).await,
            CONSUMER_SEND_MSG_BACK => send_back::send_back(b, &request).await,
            QUERY_CONSUMER_OFFSET => offset::query_consumer_offset(b, &request),
            UPDATE_CONSUMER_OFFSET => offset::update_consumer_offset(b, &request).await,
            GET_MAX_OFFSET => offset::max_offset(b, &request),
            GET_MIN_OFFSET => offset::min_offset(b, &request),
            SEARCH_OFFSET_BY_TIMESTAMP => offset::search_offset(b, &request),
            GET_EARLIEST_MSG_STORETIME => offset::earliest_store_time(b, &request),
            HEART_BEAT => client::heartbeat(b, &channel, &request),
            UNREGISTER_CLIENT => client::unregister(b, &channel, &request),
            GET_CONSUMER_LIST_BY_GROUP => client::consumer_list(b, &request),
            LOCK_BATCH_MQ => lock::lock_batch(b, &request),
            UNLOCK_BATCH_MQ => lock::unlock_batch(b, &request),
            QUERY_MESSAGE => query::query_message(b, &request),
            VIEW_MESSAGE_BY_ID => query::view_message(b, &request),
            QUERY_CONSUME_QUEUE => query::query_consume_queue(b, &request),
            UPDATE_AND_CREATE_TOPIC => admin::create_topic(b, &request),
            DELETE_TOPIC_IN_BROKER => admin::delete_topic(b, &request),
            GET_ALL_TOPIC_CONFIG => admin::all_topic_config(b),
            UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => admin::create_group(b, &request),
            GET_ALL_SUBSCRIPTIONGROUP_CONFIG => admin::all_group_config(b),
            DELETE_SUBSCRIPTIONGROUP => admin::delete_group(b, &request),
            GET_BROKER_CONFIG => admin::broker_config(b),
            UPDATE_BROKER_CONFIG => admin::update_broker_config(b, &request),
            GET_BROKER_RUNTIME_INFO => stats::runtime_info(b),
            GET_TOPIC_STATS_INFO => stats::topic_stats(b, &request),
            GET_CONSUME_STATS => stats::consume_stats(b, &request),
            GET_CONSUMER_CONNECTION_LIST => stats::consumer_connections(b, &request),
            GET_PRODUCER_CONNECTION_LIST => stats::producer_connections(b, &request),
            GET_ALL_CONSUMER_OFFSET => stats::all_consumer_offsets(b),
            GET_ALL_DELAY_OFFSET => stats::delay_offsets(b),
            INVOKE_BROKER_TO_RESET_OFFSET => admin::reset_offset(b, &request).await,
            _ => {
                b.stats
                    .add_rejected(i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED));
                return Some(fennec_remoting::not_supported(&request));
            }
        };
        Some(result.unwrap_or_else(|reject| {
            b.stats.add_rejected(i32::from(reject.code));
            reject.into_response()
        }))
    }

    fn on_close(&self, channel: &Channel) {
        client::channel_closed(&self.broker, channel);
    }
}
