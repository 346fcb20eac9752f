//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): checks in RocketMQ's
//! order (broker writable, topic name, system topic, topic exists or is auto-created, queue id),
//! then one store append, then the reply with msgId, queueId and queueOffset. A prepared
//! (transactional) send is stored as a half message (`transaction::records::into_half`); its
//! reply's queueOffset is the half-queue offset the producer names in END_TRANSACTION. A send
//! to a retry topic past its reconsume limit goes to the dead-letter topic (`send_back.rs`);
//! the store stages delayed and timer messages.

use fennec_protocol::header::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use fennec_protocol::message::batch::decode_batch;
use fennec_protocol::message::msg_id::offset_msg_id;
use fennec_protocol::message::properties::{find_encoded, keys, push_encoded};
use fennec_protocol::message::sysflag;
use fennec_protocol::perm;
use fennec_protocol::topic::{is_retry_topic, is_send_forbidden, validate_topic, TRANS_HALF_TOPIC};
use fennec_remoting::{Channel, RemotingCommand, RequestCode, ResponseCode};

use crate::broker::Broker;
use crate::error::{Handled, Reject};
use crate::ha::waits;
use crate::topic_config::TopicLayout;
use crate::traffic::TopicTraffic;
use crate::transaction;
use fennec_store::{BatchEntry, PutMessageResult, PutMessageStatus, StoreBatch, StoreMessage};

/// Region name RocketMQ brokers report.
const DEFAULT_REGION: &str = "DefaultRegion";

pub async fn send(b: &Broker, channel: &Channel, req: RemotingCommand) -> Handled {
    let mut header: SendMessageRequestHeader = if req.code == i32::from(RequestCode::SEND_MESSAGE) {
        req.decode_header()?
    } else {
        req.decode_header::<SendMessageRequestHeaderV2>()?.into()
    };
    super::send_back::divert_exhausted_retry(b, &mut header);
    let layout = check_message(b, &header)?;
    let write_queue_nums = layout.write_queue_nums;
    let prepared = is_prepared(&header);
    if prepared && b.config.reject_transaction_message {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                b.config.broker_name
            ),
        ));
    }
    let queue_id = if header.queue_id < 0 {
        (fennec_protocol::message::msg_id::random_u32() % write_queue_nums.max(1) as u32) as i32
    } else {
        header.queue_id
    };
    let batch = req.code == i32::from(RequestCode::SEND_BATCH_MESSAGE);
    let header_props = header.properties.take().unwrap_or_default();
    let mut uniq_key =
        find_encoded(&header_props, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).map(str::to_string);
    let result = if batch {
        if prepared {
            return Err(Reject::new(
                ResponseCode::MESSAGE_ILLEGAL,
                "a batch cannot be a transactional (prepared) message",
            ));
        }
        let items = decode_batch(&req.body)
            .map_err(|e| Reject::new(ResponseCode::MESSAGE_ILLEGAL, e.to_string()))?;
        if items.is_empty() {
            return Err(Reject::new(
                ResponseCode::MESSAGE_ILLEGAL,
                "the batch is empty",
            ));
        }
        let mut entries = Vec::with_capacity(items.len());
        for item in items {
            check_body_size(b, item.body.len())?;
            entries.push(BatchEntry {
                flag: item.flag,
                body: req.body.slice_ref(item.body),
                properties: complete_properties(b, item.properties.to_string()),
            });
        }
        let wait = entries.first().is_none_or(|e| waits(&e.properties));
        let stored = b
            .store
            .put_messages(StoreBatch {
                topic: header.topic,
                queue_id,
                sys_flag: header.sys_flag,
                born_timestamp: header.born_timestamp,
                born_host: channel.remote_addr(),
                store_host: b.store_host,
                items: entries,
            })
            .await;
        b.replicated(stored, wait).await
    } else {
        check_body_size(b, req.body.len())?;
        let properties = complete_properties(b, header_props);
        if uniq_key.is_none() {
            uniq_key =
                find_encoded(&properties, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).map(str::to_string);
        }
        let mut msg = StoreMessage {
            topic: header.topic,
            queue_id,
            flag: header.flag,
            body: req.body.clone(),
            properties,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            born_host: channel.remote_addr(),
            store_host: b.store_host,
            reconsume_times: header.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
        };
        if prepared {
            transaction::ensure_topics(&b.topics);
            transaction::records::into_half(&mut msg, &header.producer_group);
        }
        let wait = waits(&msg.properties);
        let stored = b.store.put_message(msg).await;
        b.replicated(stored, wait).await
    };
    // A half message is stored in the half topic and counted there; its commit counts for
    // the real topic (`transaction.rs`).
    let counted = match prepared {
        true => b.topics.traffic(TRANS_HALF_TOPIC),
        false => Some(layout.traffic),
    };
    respond(b, result, queue_id, uniq_key, counted.as_deref())
}

/// Whether a send is the half message of a transaction: TRAN_MSG=true (what RocketMQ's
/// broker looks at) or the PREPARED transaction type in sysFlag.
fn is_prepared(h: &SendMessageRequestHeader) -> bool {
    let property = h
        .properties
        .as_deref()
        .and_then(|p| find_encoded(p, keys::TRANSACTION_PREPARED))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    property || sysflag::transaction_type(h.sys_flag) == sysflag::TRANSACTION_PREPARED_TYPE
}

/// Refuses writes while the broker's permission forbids them.
pub(super) fn check_writeable(b: &Broker) -> Result<(), Reject> {
    if !b.is_writeable() {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                b.config.broker_name
            ),
        ));
    }
    Ok(())
}

/// Checks the broker, the topic name and the queue id; auto-creates the topic if allowed.
/// Returns the topic's layout and counters.
fn check_message(b: &Broker, h: &SendMessageRequestHeader) -> Result<TopicLayout, Reject> {
    check_writeable(b)?;
    validate_topic(&h.topic).map_err(|e| Reject::new(ResponseCode::INVALID_PARAMETER, e))?;
    if is_send_forbidden(&h.topic) {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }
    let config = match b.topics.layout(&h.topic) {
        Some(c) => Some(c),
        None => {
            let created = if is_retry_topic(&h.topic) {
                Some(b.topics.ensure_system_topic(&h.topic, 1))
            } else {
                b.topics.create_topic_in_send(
                    &h.topic,
                    &h.default_topic,
                    h.default_topic_queue_nums,
                    0,
                )
            };
            created.and_then(|_| b.topics.layout(&h.topic))
        }
    };
    let config = config.ok_or_else(|| {
        Reject::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "topic[{}] not exist, apply first please! (autoCreateTopicEnable={})",
                h.topic, b.config.auto_create_topic_enable
            ),
        )
    })?;
    if !perm::is_writeable(config.perm) {
        return Err(Reject::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", h.topic),
        ));
    }
    let max_queue = config.write_queue_nums.max(config.read_queue_nums);
    if h.queue_id >= max_queue {
        return Err(Reject::new(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, topic {} has {} queues, producer: {}",
                h.queue_id, h.topic, max_queue, h.producer_group
            ),
        ));
    }
    Ok(config)
}

fn check_body_size(b: &Broker, len: usize) -> Result<(), Reject> {
    if len > b.config.store.max_message_size {
        return Err(Reject::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "message body size {len} exceeds the maximum of {} bytes (maxMessageSize)",
                b.config.store.max_message_size
            ),
        ));
    }
    Ok(())
}

/// The client's properties plus a UNIQ_KEY when missing and the CLUSTER the broker belongs to,
/// appended so the client's own order is kept.
fn complete_properties(b: &Broker, mut out: String) -> String {
    if find_encoded(&out, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).is_none() {
        push_encoded(
            &mut out,
            keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
            &b.uniq_ids.next_id(),
        );
    }
    if find_encoded(&out, keys::CLUSTER).is_none() {
        push_encoded(&mut out, keys::CLUSTER, &b.config.broker_cluster_name);
    }
    out
}

/// The response code of a put's status (reference §2.3 "Store result mapping").
pub(super) fn status_code(status: PutMessageStatus) -> ResponseCode {
    match status {
        PutMessageStatus::PutOk => ResponseCode::SUCCESS,
        PutMessageStatus::FlushDiskTimeout => ResponseCode::FLUSH_DISK_TIMEOUT,
        PutMessageStatus::FlushSlaveTimeout => ResponseCode::FLUSH_SLAVE_TIMEOUT,
        PutMessageStatus::SlaveNotAvailable => ResponseCode::SLAVE_NOT_AVAILABLE,
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
            ResponseCode::MESSAGE_ILLEGAL
        }
        PutMessageStatus::ServiceNotAvailable => ResponseCode::SERVICE_NOT_AVAILABLE,
        PutMessageStatus::OsPageCacheBusy => ResponseCode::SYSTEM_BUSY,
        PutMessageStatus::CreateMappedFileFailed | PutMessageStatus::UnknownError => {
            ResponseCode::SYSTEM_ERROR
        }
    }
}

/// Maps the store's answer to the reply (reference §2.3 "Store result mapping").
fn respond(
    b: &Broker,
    result: PutMessageResult,
    queue_id: i32,
    uniq_key: Option<String>,
    traffic: Option<&TopicTraffic>,
) -> Handled {
    let code = status_code(result.status);
    let Some(append) = result.append else {
        let remark = result
            .remark
            .unwrap_or_else(|| format!("{:?}", result.status));
        return Err(Reject::new(code, remark));
    };
    if let Some(traffic) = traffic {
        b.stats
            .add_put(traffic, append.msg_num as u64, append.wrote_bytes as u64);
    }
    let msg_id = if append.msg_num > 1 {
        append
            .record_offsets()
            .map(|o| offset_msg_id(&b.store_host, o))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        offset_msg_id(&b.store_host, append.wrote_offset)
    };
    let header = SendMessageResponseHeader {
        msg_id,
        queue_id,
        queue_offset: append.queue_offset,
        transaction_id: uniq_key,
        batch_uniq_id: None,
        msg_region: Some(DEFAULT_REGION.to_string()),
        trace_on: Some("true".to_string()),
    };
    Ok(RemotingCommand::response(code, result.remark).with_header(&header))
}
