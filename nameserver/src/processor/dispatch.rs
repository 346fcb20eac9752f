//! `NamesrvProcessor`: the nameserver's [`RequestProcessor`], dispatching by request code, and
//! removing the brokers of a connection when it closes.

use std::sync::Arc;

use fennec_remoting::{
    not_supported, Channel, RemotingCommand, RequestCode, RequestProcessor, ResponseCode,
};
use tracing::{debug, warn};

use crate::config::NamesrvConfig;
use crate::kv_config::KvConfig;
use crate::route_info::RouteInfo;
use fennec_common::config::ConfigKeys;

/// Handles every nameserver request.
#[derive(Debug)]
pub struct NamesrvProcessor {
    pub(super) route: Arc<RouteInfo>,
    pub(super) kv: KvConfig,
    /// Whether routes carry `orderTopicConf` (config `orderMessageEnable`).
    pub(super) order_message_enable: bool,
    /// The configuration as properties text, for GET_NAMESRV_CONFIG.
    config_text: String,
}

impl NamesrvProcessor {
    pub fn new(route: Arc<RouteInfo>, kv: KvConfig, config: &NamesrvConfig) -> Self {
        NamesrvProcessor {
            route,
            kv,
            order_message_enable: config.order_message_enable,
            config_text: config.to_properties(),
        }
    }
}

impl RequestProcessor for NamesrvProcessor {
    async fn process(&self, channel: Channel, request: RemotingCommand) -> Option<RemotingCommand> {
        let Ok(code) = RequestCode::try_from(request.code) else {
            return Some(not_supported(&request));
        };
        let result = match code {
            RequestCode::REGISTER_BROKER => self.register_broker(&channel, &request),
            RequestCode::UNREGISTER_BROKER => self.unregister_broker(&request),
            RequestCode::QUERY_DATA_VERSION => self.query_data_version(&request),
            RequestCode::BROKER_HEARTBEAT => self.broker_heartbeat(&request),
            RequestCode::WIPE_WRITE_PERM_OF_BROKER => self.set_write_perm(&request, false),
            RequestCode::ADD_WRITE_PERM_OF_BROKER => self.set_write_perm(&request, true),
            RequestCode::GET_ROUTEINFO_BY_TOPIC => self.route_by_topic(&request),
            RequestCode::GET_BROKER_CLUSTER_INFO => Ok(self.cluster_info(&request)),
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => Ok(self.all_topic_list()),
            RequestCode::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(&request),
            RequestCode::GET_TOPICS_BY_CLUSTER => self.topics_by_cluster(&request),
            RequestCode::REGISTER_TOPIC_IN_NAMESRV => self.register_topic(&request),
            RequestCode::PUT_KV_CONFIG => self.put_kv_config(&request).await,
            RequestCode::GET_KV_CONFIG => self.get_kv_config(&request),
            RequestCode::DELETE_KV_CONFIG => self.delete_kv_config(&request).await,
            RequestCode::GET_KVLIST_BY_NAMESPACE => self.kv_list_by_namespace(&request),
            RequestCode::GET_NAMESRV_CONFIG => {
                Ok(RemotingCommand::success().with_body(self.config_text.clone()))
            }
            _ => return Some(not_supported(&request)),
        };
        Some(result.unwrap_or_else(|e| {
            let response = e.to_response();
            if response.code == i32::from(ResponseCode::SYSTEM_ERROR) {
                warn!(code = code.name(), remote = %channel.remote_addr(), "request failed: {e}");
            } else {
                debug!(code = code.name(), "{e}");
            }
            response
        }))
    }

    fn on_close(&self, channel: &Channel) {
        self.route.on_channel_close(channel);
    }
}
