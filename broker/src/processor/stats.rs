//! Read-only admin requests about traffic and progress: GET_BROKER_RUNTIME_INFO (28),
//! GET_TOPIC_STATS_INFO (202), GET_CONSUME_STATS (208), GET_CONSUMER_CONNECTION_LIST (203),
//! GET_PRODUCER_CONNECTION_LIST (204), GET_ALL_CONSUMER_OFFSET (43) and GET_ALL_DELAY_OFFSET
//! (45).

use std::collections::BTreeMap;

use fennec_protocol::body::{
    Connection, ConsumeStats, ConsumerConnection, ConsumerOffsetWrapper, KvTable, MessageQueue,
    MqMap, OffsetWrapper, ProducerConnection, TopicOffset, TopicStatsTable,
};
use fennec_protocol::encode_body;
use fennec_protocol::header::{
    ConsumerGroupRequestHeader, GetConsumeStatsRequestHeader,
    GetProducerConnectionListRequestHeader, TopicRequestHeader,
};
use fennec_remoting::{RemotingCommand, ResponseCode};

use crate::broker::Broker;
use crate::client::ClientChannelInfo;
use crate::error::{Handled, Reject};
use crate::ha::Ha;
use crate::progress;

pub fn runtime_info(b: &Broker) -> Handled {
    let s = b.store.stats();
    let (put_today, get_today, put_yesterday, get_yesterday) = b.stats.daily();
    let put_now = b.stats.put_total();
    let get_now = b.stats.get_total();
    let earliest = b.store.earliest_message_time_overall().unwrap_or(0);
    let mut t = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        t.insert(k.to_string(), v);
    };
    put(
        "brokerVersionDesc",
        fennec_protocol::FENNEC_VERSION_DESC.to_string(),
    );
    put("brokerVersion", fennec_protocol::FENNEC_VERSION.to_string());
    put("msgPutTotalTodayNow", put_now.to_string());
    put("msgGetTotalTodayNow", get_now.to_string());
    put("msgPutTotalTodayMorning", put_today.to_string());
    put("msgGetTotalTodayMorning", get_today.to_string());
    put("msgPutTotalYesterdayMorning", put_yesterday.to_string());
    put("msgGetTotalYesterdayMorning", get_yesterday.to_string());
    put("putTps", b.stats.put_tps());
    put("getTransferredTps", b.stats.get_tps());
    put("getTransferedTps", b.stats.get_tps());
    put(
        "commitLogMinOffset",
        b.store.commit_log_min_offset().to_string(),
    );
    put(
        "commitLogMaxOffset",
        b.store.commit_log_max_offset().to_string(),
    );
    put("commitLogDiskRatio", format!("{:.4}", s.disk_used_ratio));
    put(
        "dispatchBehindBytes",
        b.store.dispatch_behind_bytes().to_string(),
    );
    // Fennec keys: why sends are refused ("" while accepted) and where dispatch stopped.
    put("storeRefusal", b.store.refusal().unwrap_or_default());
    put("dispatchStopped", s.dispatch_stopped.unwrap_or_default());
    put("pageCacheLockTimeMills", "0".to_string());
    put("earliestMessageTimeStamp", earliest.to_string());
    put("bootTimestamp", b.boot_timestamp.to_string());
    let uptime = (fennec_protocol::time::now_millis() - b.boot_timestamp) / 1000;
    put(
        "runtime",
        format!(
            "[ {} days, {} hours, {} minutes, {} seconds ]",
            uptime / 86_400,
            uptime / 3600 % 24,
            uptime / 60 % 60,
            uptime % 60
        ),
    );
    put("brokerName", b.config.broker_name.clone());
    put("brokerAddr", b.broker_addr.clone());
    put("brokerRole", b.config.store.broker_role.to_string());
    put(
        "flushDiskType",
        format!("{:?}", b.config.store.flush_disk_type),
    );
    delivery_stats(b, &mut t);
    replication_stats(b, &mut t);
    Ok(RemotingCommand::success().with_body(encode_body(&KvTable { table: t })))
}

/// Replication (Fennec keys; RocketMQ 4.x logs `slaveFallBehindMuch` only).
/// * A master: `haListenAddr` (the HA address it gives slaves), `haSlaveNum` connected
///   slaves, `slaveFallBehindMuch` = bytes the best slave has not acknowledged
///   (`commitLogMaxOffset` − the highest acknowledged offset), and per slave
///   `slaveAckOffset_<addr>` and `slaveFallBehind_<addr>` (bytes behind).
/// * A slave: `haMasterAddr`, `haConnected`, `haMasterOffset` (end of what the master sent)
///   and `haLastError` (why the last session failed; "" if it did not).
fn replication_stats(b: &Broker, t: &mut BTreeMap<String, String>) {
    let mut put = |k: String, v: String| {
        t.insert(k, v);
    };
    match &b.ha {
        Ha::Master(m) => {
            let slaves = m.slaves();
            put("haListenAddr".into(), b.ha_addr.clone());
            put("haSlaveNum".into(), slaves.len().to_string());
            let behind = match slaves.is_empty() {
                true => -1,
                false => (b.store.commit_log_max_offset() - m.acked()).max(0),
            };
            put("slaveFallBehindMuch".into(), behind.to_string());
            for s in slaves {
                put(format!("slaveAckOffset_{}", s.addr), s.acked.to_string());
                put(format!("slaveFallBehind_{}", s.addr), s.behind.to_string());
            }
        }
        Ha::Slave(s) => {
            let st = s.state();
            put("haMasterAddr".into(), st.master_ha_addr.unwrap_or_default());
            put("haConnected".into(), st.connected_to.is_some().to_string());
            put("haMasterOffset".into(), st.master_offset.to_string());
            put("haLastError".into(), st.last_error.unwrap_or_default());
        }
    }
}

/// RocketMQ's `scheduleMessageOffset_<level>` = "delivered,max" per delay level, and the
/// timer figures (RocketMQ 5 names where it has them).
fn delivery_stats(b: &Broker, t: &mut BTreeMap<String, String>) {
    let d = b.store.delivery_stats();
    for (level, (next, max)) in &d.levels {
        t.insert(
            format!("scheduleMessageOffset_{level}"),
            format!("{next},{max}"),
        );
    }
    t.insert(
        "timerOffsetBehind".to_string(),
        d.timer_offset_behind.to_string(),
    );
    // Fennec keys: every timer due before this (ms) is delivered; timers gathered and
    // waiting; timers delivered since start.
    t.insert(
        "timerProgressMs".to_string(),
        d.timer_progress_ms.to_string(),
    );
    t.insert("timerReadyNum".to_string(), d.timers_ready.to_string());
    t.insert(
        "timerDeliveredNum".to_string(),
        d.timers_delivered.to_string(),
    );
}

pub fn topic_stats(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: TopicRequestHeader = req.decode_header()?;
    let topic = b.topics.get(&h.topic).ok_or_else(|| {
        Reject::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        )
    })?;
    let mut table = Vec::new();
    for queue_id in 0..topic.write_queue_nums {
        let min = b.store.min_offset_in_queue(&h.topic, queue_id);
        let max = b.store.max_offset_in_queue(&h.topic, queue_id);
        let last = if max > 0 {
            b.store
                .store_time_at(&h.topic, queue_id, max - 1)
                .unwrap_or(0)
        } else {
            0
        };
        table.push((
            MessageQueue::new(&h.topic, &b.config.broker_name, queue_id),
            TopicOffset {
                min_offset: min,
                max_offset: max,
                last_update_timestamp: last,
            },
        ));
    }
    let stats = TopicStatsTable {
        offset_table: MqMap(table),
        topic_put_tps: 0.0,
    };
    Ok(RemotingCommand::success().with_body(stats.to_json().into_bytes()))
}

pub fn consume_stats(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: GetConsumeStatsRequestHeader = req.decode_header()?;
    let topics: Vec<String> = match h.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => vec![t.to_string()],
        None => progress::group_topics(b, &h.consumer_group),
    };
    let mut table = Vec::new();
    for topic in topics {
        for q in progress::topic_progress(b, &h.consumer_group, &topic) {
            let last_timestamp = if q.consumer_offset > 0 {
                b.store
                    .store_time_at(&topic, q.queue_id, q.consumer_offset - 1)
                    .unwrap_or(0)
            } else {
                0
            };
            table.push((
                MessageQueue::new(&topic, &b.config.broker_name, q.queue_id),
                OffsetWrapper {
                    broker_offset: q.broker_offset,
                    consumer_offset: q.consumer_offset,
                    last_timestamp,
                    pull_offset: q.consumer_offset,
                },
            ));
        }
    }
    let stats = ConsumeStats {
        consume_tps: b.stats.group_get_tps(&h.consumer_group),
        offset_table: MqMap(table),
    };
    Ok(RemotingCommand::success().with_body(stats.to_json().into_bytes()))
}

pub fn consumer_connections(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: ConsumerGroupRequestHeader = req.decode_header()?;
    let Some(info) = b.consumers.group(&h.consumer_group) else {
        return Err(Reject::new(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        ));
    };
    let body = ConsumerConnection {
        connection_set: info.members.values().map(connection).collect(),
        consume_from_where: info.consume_from_where,
        consume_type: info.consume_type,
        message_model: info.message_model,
        subscription_table: info.subscriptions.clone(),
    };
    Ok(RemotingCommand::success().with_body(encode_body(&body)))
}

pub fn producer_connections(b: &Broker, req: &RemotingCommand) -> Handled {
    let h: GetProducerConnectionListRequestHeader = req.decode_header()?;
    let members = b.producers.members(&h.producer_group);
    if members.is_empty() {
        return Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        ));
    }
    let body = ProducerConnection {
        connection_set: members.iter().map(connection).collect(),
    };
    Ok(RemotingCommand::success().with_body(encode_body(&body)))
}

/// How a client connection is reported.
fn connection(m: &ClientChannelInfo) -> Connection {
    Connection {
        client_addr: m.channel.remote_addr().to_string(),
        client_id: m.client_id.clone(),
        language: m.language.name().to_string(),
        version: m.version,
    }
}

pub fn all_consumer_offsets(b: &Broker) -> Handled {
    let mut wrapper = ConsumerOffsetWrapper::default();
    for group in b.offsets.groups() {
        for topic in b.offsets.topics_of_group(&group) {
            wrapper.offset_table.insert(
                format!("{topic}@{group}"),
                b.offsets.queue_offsets(&group, &topic),
            );
        }
    }
    Ok(RemotingCommand::success().with_body(encode_body(&wrapper)))
}

pub fn delay_offsets(b: &Broker) -> Handled {
    Ok(RemotingCommand::success().with_body(encode_body(&b.store.delay_offsets())))
}
