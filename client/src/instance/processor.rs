//! Requests brokers send to the client: NOTIFY_CONSUMER_IDS_CHANGED (40, the group's members
//! changed: rebalance at once) and RESET_CONSUMER_CLIENT_OFFSET (220, header topic/group, body
//! ResetOffsetBody `{"offsetTable":{MQ:offset}}`: move the group's offsets and pull again from
//! there). Every other code gets REQUEST_CODE_NOT_SUPPORTED.

use std::sync::Weak;

use fennec_protocol::body::ResetOffsetBody;
use fennec_protocol::decode_body;
use fennec_protocol::header::{ConsumerGroupRequestHeader, ResetOffsetRequestHeader};
use fennec_remoting::{
    Channel, NotSupported, RemotingCommand, RequestCode, RequestProcessor, ResponseCode,
};
use tracing::{info, warn};

use super::ClientInstance;

/// The client side's request processor; holds its instance weakly (the instance owns it).
pub(crate) struct InstanceProcessor {
    instance: Weak<ClientInstance>,
}

impl InstanceProcessor {
    pub(super) fn new(instance: Weak<ClientInstance>) -> Self {
        InstanceProcessor { instance }
    }
}

impl RequestProcessor for InstanceProcessor {
    async fn process(&self, channel: Channel, request: RemotingCommand) -> Option<RemotingCommand> {
        let instance = self.instance.upgrade()?;
        match request.request_code_enum() {
            Some(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED) => {
                let group = request
                    .decode_header::<ConsumerGroupRequestHeader>()
                    .map(|h| h.consumer_group)
                    .unwrap_or_default();
                info!(%group, broker = %channel.remote_addr(), "consumer ids changed; rebalancing");
                instance.rebalance_now();
                Some(RemotingCommand::success())
            }
            Some(RequestCode::RESET_CONSUMER_CLIENT_OFFSET) => {
                Some(reset_offset(&instance, &request).await)
            }
            _ => NotSupported.process(channel, request).await,
        }
    }
}

async fn reset_offset(instance: &ClientInstance, request: &RemotingCommand) -> RemotingCommand {
    let header: ResetOffsetRequestHeader = match request.decode_header() {
        Ok(h) => h,
        Err(e) => {
            return RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some(e.to_string()))
        }
    };
    let body: ResetOffsetBody = if request.body.is_empty() {
        ResetOffsetBody::default()
    } else {
        match decode_body(&request.body) {
            Ok(b) => b,
            Err(e) => {
                warn!(group = %header.group, "unreadable reset-offset body: {e}");
                return RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some(e.to_string()));
            }
        }
    };
    let Some(consumer) = instance.consumer(&header.group) else {
        return RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!(
                "no consumer of group {} in this client",
                header.group
            )),
        );
    };
    info!(group = %header.group, topic = %header.topic, queues = body.offset_table.0.len(), "resetting offsets");
    consumer
        .reset_offsets(&header.topic, &body.offset_table.0)
        .await;
    RemotingCommand::success()
}
