//! Client management: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP
//! (38), connection close, and NOTIFY_CONSUMER_IDS_CHANGED (40) pushed to a group whenever
//! its membership or subscriptions change. A consumer that leaves its group (unregisters,
//! disconnects, expires) gives up its queue locks ([`super::lock::client_left`]).

use std::time::Instant;

use fennec_protocol::body::{ConsumerListBody, HeartbeatData};
use fennec_protocol::header::{ConsumerGroupRequestHeader, UnregisterClientRequestHeader};
use fennec_protocol::request::client::NotifyConsumerIdsChanged;
use fennec_protocol::request::Request;
use fennec_protocol::topic::retry_topic;
use fennec_protocol::{decode_body, encode_body};
use fennec_remoting::{Channel, RemotingCommand, ResponseCode};
use tracing::debug;

use crate::broker::Broker;
use crate::client::{ClientChannelInfo, ConsumerMembership};
use crate::error::{Handled, Reject};

pub fn heartbeat(b: &Broker, channel: &Channel, req: &RemotingCommand) -> Handled {
    let hb: HeartbeatData = decode_body(&req.body).map_err(|e| {
        let shown = &req.body[..req.body.len().min(512)];
        debug!(body = %String::from_utf8_lossy(shown), "malformed heartbeat body");
        Reject::bad_body("HEART_BEAT", &e)
    })?;
    let client = |id: &str| ClientChannelInfo {
        channel: channel.clone(),
        client_id: id.to_string(),
        language: req.language,
        version: req.version,
        last_update: Instant::now(),
    };
    for consumer in hb.consumer_data_set {
        let Some(group) = b.groups.find_or_create(
            &consumer.group_name,
            b.runtime.auto_create_subscription_group(),
        ) else {
            debug!(group = %consumer.group_name, "heartbeat for an unknown group with auto-creation off");
            continue;
        };
        b.topics
            .ensure_system_topic(&retry_topic(&consumer.group_name), group.retry_queue_nums);
        let changed = b.consumers.register(
            &consumer.group_name,
            client(&hb.client_id),
            ConsumerMembership {
                consume_type: consumer.consume_type,
                message_model: consumer.message_model,
                consume_from_where: consumer.consume_from_where,
                subscriptions: consumer
                    .subscription_data_set
                    .into_iter()
                    .map(|mut s| {
                        s.normalize_codes();
                        s
                    })
                    .collect(),
                without_sub: hb.without_sub,
            },
        );
        if changed && group.notify_consumer_ids_changed_enable {
            notify_group_changed(b, &consumer.group_name);
        }
    }
    for producer in hb.producer_data_set {
        b.producers
            .register(&producer.group_name, client(&hb.client_id));
    }
    Ok(RemotingCommand::success())
}

pub fn unregister(b: &Broker, channel: &Channel, req: &RemotingCommand) -> Handled {
    let h: UnregisterClientRequestHeader = req.decode_header()?;
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        b.producers.unregister(group, channel);
    }
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if b.consumers.unregister(group, channel) {
            super::lock::client_left(b, group, &h.client_id);
            notify_group_changed(b, group);
        }
    }
    Ok(RemotingCommand::success())
}

pub fn consumer_list(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: ConsumerGroupRequestHeader = req.decode_header()?;
    let ids = b.consumers.client_ids(&h.consumer_group);
    if ids.is_empty() {
        return Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        ));
    }
    Ok(
        RemotingCommand::success().with_body(encode_body(&ConsumerListBody {
            consumer_id_list: ids,
        })),
    )
}

/// Forgets a closed connection and tells the groups it belonged to.
pub fn channel_closed(b: &Broker, channel: &Channel) {
    b.producers.channel_closed(channel);
    for (group, client_id) in b.consumers.channel_closed(channel) {
        super::lock::client_left(b, &group, &client_id);
        notify_group_changed(b, &group);
    }
}

/// Drops clients silent for longer than `channelExpiredTimeout` and closes their connections.
pub fn remove_expired_clients(b: &Broker) {
    let timeout = std::time::Duration::from_millis(b.config.channel_expired_timeout);
    for (group, member) in b.consumers.remove_expired(timeout) {
        let channel = &member.channel;
        tracing::info!(%group, remote = %channel.remote_addr(), "consumer expired: no heartbeat");
        super::lock::client_left(b, &group, &member.client_id);
        channel.close();
        notify_group_changed(b, &group);
    }
    for channel in b.producers.remove_expired(timeout) {
        channel.close();
    }
}

/// Pushes NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every member of `group`.
pub fn notify_group_changed(b: &Broker, group: &str) {
    if !b.runtime.notify_consumer_ids_changed_enable() {
        return;
    }
    for channel in b.consumers.channels(group) {
        let cmd = NotifyConsumerIdsChanged {
            group: group.to_string(),
        }
        .to_command();
        tokio::spawn(async move {
            if let Err(e) = channel.oneway(cmd).await {
                debug!(remote = %channel.remote_addr(), "cannot notify consumer: {e}");
            }
        });
    }
}
