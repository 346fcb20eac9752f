//! Requests brokers send to the client: NOTIFY_CONSUMER_IDS_CHANGED (40, the group's members
//! changed: rebalance at once), RESET_CONSUMER_CLIENT_OFFSET (220, header topic/group, body
//! ResetOffsetBody `{"offsetTable":{MQ:offset}}`: move the group's offsets and pull again from
//! there) and CHECK_TRANSACTION_STATE (39, oneway, body the half message: the transaction
//! producer of its PGROUP answers with END_TRANSACTION). Every other code gets
//! REQUEST_CODE_NOT_SUPPORTED. A closed connection is reported to the consumers, whose
//! queue locks on that broker went with it.

use std::sync::Weak;

use fennec_protocol::body::ResetOffsetBody;
use fennec_protocol::decode_body;
use fennec_protocol::header::{
    CheckTransactionStateRequestHeader, ConsumerGroupRequestHeader, ResetOffsetRequestHeader,
};
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::record::decode_records;
use fennec_remoting::{
    Channel, NotSupported, RemotingCommand, RequestCode, RequestProcessor, ResponseCode,
};
use tracing::{debug, info, warn};

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
            Some(RequestCode::CHECK_TRANSACTION_STATE) => {
                check_transaction(&instance, channel, &request);
                None
            }
            _ => NotSupported.process(channel, request).await,
        }
    }

    fn on_close(&self, channel: &Channel) {
        if let Some(instance) = self.instance.upgrade() {
            instance.connection_closed(channel.remote_addr().to_string());
        }
    }
}

/// Hands a transaction check to the producer of the half message's group.
fn check_transaction(instance: &ClientInstance, channel: Channel, request: &RemotingCommand) {
    let broker = channel.remote_addr();
    let header: CheckTransactionStateRequestHeader = match request.decode_header() {
        Ok(h) => h,
        Err(e) => {
            warn!(%broker, "unreadable CHECK_TRANSACTION_STATE header: {e}");
            return;
        }
    };
    let msg = match decode_records(&request.body, true) {
        Ok(msgs) => msgs.into_iter().next(),
        Err(e) => {
            warn!(%broker, "unreadable CHECK_TRANSACTION_STATE body: {e}");
            return;
        }
    };
    let Some(msg) = msg else {
        warn!(%broker, "CHECK_TRANSACTION_STATE without a message");
        return;
    };
    let group = msg.property(keys::PRODUCER_GROUP).unwrap_or_default();
    match instance.transaction_checker(group) {
        Some(checker) => checker.check(channel, header, msg),
        None => {
            debug!(%broker, %group, "transaction check for a group without a transaction producer here")
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
