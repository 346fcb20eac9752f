//! The broker's Prometheus metrics: [`BrokerCollector`] reads, at scrape time, the counters
//! the broker keeps anyway (`stats.rs`, `traffic.rs`, the store's and the remoting server's)
//! and writes them as metric families. Nothing is counted here, so serving metrics costs the
//! request paths nothing.
//!
//! Families (see the README for the full list): traffic per topic and per group
//! (`fennec_topic_messages_in_total`, `fennec_group_messages_out_total`, bytes alike), send
//! and pull latency, consumer lag per group/topic/queue (at most `metricsMaxQueueSeries`
//! per-queue series; the per group/topic totals always), commit log size and disk use,
//! flush and dispatch latency, long-polling waiters, connections, clients online, refused
//! requests by response code, store health.

use std::sync::Arc;

use fennec_metrics::encode::{counter, counter_family, gauge, gauge_family, histogram, Encoded};
use fennec_metrics::prometheus_client::collector::Collector;
use fennec_metrics::prometheus_client::encoding::DescriptorEncoder;
use fennec_metrics::prometheus_client::registry::Unit;
use fennec_remoting::{ConnectionRefusal, ServerCounters};

use crate::broker::Broker;
use crate::progress;

/// Exports one broker's state.
pub struct BrokerCollector {
    broker: Arc<Broker>,
    connections: Arc<ServerCounters>,
}

impl std::fmt::Debug for BrokerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerCollector")
            .field("broker", &self.broker.config.broker_name)
            .finish_non_exhaustive()
    }
}

impl BrokerCollector {
    pub fn new(broker: Arc<Broker>, connections: Arc<ServerCounters>) -> Self {
        BrokerCollector {
            broker,
            connections,
        }
    }

    fn traffic(&self, e: &mut DescriptorEncoder) -> Encoded {
        let b = &self.broker;
        let topics = b.topics.all_traffic();
        let totals: Vec<_> = topics
            .iter()
            .map(|(t, c)| (t.as_str(), c.totals()))
            .collect();
        counter(
            e,
            "fennec_messages_in",
            "Messages stored by this broker.",
            None,
            b.stats.put_total(),
        )?;
        counter(
            e,
            "fennec_messages_out",
            "Messages delivered by pulls.",
            None,
            b.stats.get_total(),
        )?;
        counter_family(
            e,
            "fennec_topic_messages_in",
            "Messages stored, by topic.",
            None,
            totals.iter().map(|(t, (m, _))| ([("topic", *t)], *m)),
        )?;
        counter_family(
            e,
            "fennec_topic_in",
            "Stored record bytes appended, by topic.",
            Some(Unit::Bytes),
            totals
                .iter()
                .map(|(t, (_, bytes))| ([("topic", *t)], *bytes)),
        )?;
        let groups = b.stats.groups.snapshot();
        counter_family(
            e,
            "fennec_group_messages_out",
            "Messages delivered to a consumer group, by group and topic.",
            None,
            groups
                .iter()
                .map(|(g, t, m, _)| ([("group", g.as_str()), ("topic", t.as_str())], *m)),
        )?;
        counter_family(
            e,
            "fennec_group_out",
            "Stored record bytes delivered to a consumer group, by group and topic.",
            Some(Unit::Bytes),
            groups
                .iter()
                .map(|(g, t, _, bytes)| ([("group", g.as_str()), ("topic", t.as_str())], *bytes)),
        )?;
        histogram(
            e,
            "fennec_send_latency",
            "Send requests, from arrival to answer (append and flush wait included).",
            &b.stats.send_latency.snapshot(),
        )?;
        histogram(
            e,
            "fennec_pull_latency",
            "Pull requests, from arrival to answer, leaving out time held by long polling.",
            &b.stats.pull_latency.snapshot(),
        )
    }

    fn lag(&self, e: &mut DescriptorEncoder) -> Encoded {
        let b = &self.broker;
        let cap = b.config.metrics_max_queue_series;
        let mut per_queue = Vec::new();
        let mut per_topic = Vec::new();
        let mut dropped = 0u64;
        for group in progress::groups(b) {
            for topic in progress::group_topics(b, &group) {
                let queues = progress::topic_progress(b, &group, &topic);
                if queues.is_empty() {
                    continue;
                }
                let total: i64 = queues.iter().map(progress::QueueProgress::lag).sum();
                for q in queues {
                    if per_queue.len() < cap {
                        per_queue.push((group.clone(), q.topic.clone(), q.queue_id, q.lag()));
                    } else {
                        dropped += 1;
                    }
                }
                per_topic.push((group.clone(), topic, total));
            }
        }
        gauge_family(
            e,
            "fennec_consumer_lag_messages",
            "Messages not yet consumed (queue max offset minus committed offset), by group, \
             topic and queue; at most metricsMaxQueueSeries series.",
            None,
            per_queue.iter().map(|(g, t, q, lag)| {
                let queue = q.to_string();
                (
                    [("group", g.clone()), ("topic", t.clone()), ("queue", queue)],
                    *lag,
                )
            }),
        )?;
        gauge_family(
            e,
            "fennec_consumer_group_lag_messages",
            "Messages not yet consumed, by group and topic (all queues).",
            None,
            per_topic
                .iter()
                .map(|(g, t, lag)| ([("group", g.as_str()), ("topic", t.as_str())], *lag)),
        )?;
        gauge(
            e,
            "fennec_consumer_lag_series_dropped",
            "Per-queue lag series left out because of metricsMaxQueueSeries.",
            None,
            dropped,
        )
    }

    fn store(&self, e: &mut DescriptorEncoder) -> Encoded {
        let b = &self.broker;
        let s = b.store.stats();
        gauge(
            e,
            "fennec_commitlog_size",
            "Bytes held by the commit log (max offset minus min offset).",
            Some(Unit::Bytes),
            (s.commit_log_max_offset - s.commit_log_min_offset).max(0),
        )?;
        gauge(
            e,
            "fennec_commitlog_max_offset",
            "Commit log max offset: bytes ever written.",
            Some(Unit::Bytes),
            s.commit_log_max_offset,
        )?;
        gauge(
            e,
            "fennec_disk_used_ratio",
            "Used share of the commit log's file system, 0 to 1 (as last measured).",
            None,
            s.disk_used_ratio / 100.0,
        )?;
        gauge(
            e,
            "fennec_dispatch_behind",
            "Commit log bytes not yet dispatched to consume queues and the index.",
            Some(Unit::Bytes),
            s.dispatch_behind_bytes,
        )?;
        histogram(
            e,
            "fennec_store_flush_latency",
            "Commit log flushes (msync) that wrote something.",
            &b.store.flush_latency(),
        )?;
        histogram(
            e,
            "fennec_store_dispatch_latency",
            "From a record's append to its dispatch to the consume queue (millisecond \
             resolution).",
            &b.store.dispatch_latency(),
        )?;
        gauge(
            e,
            "fennec_store_poisoned",
            "1 when the store refuses appends until restart (failed msync or fsync, \
             unreadable record).",
            None,
            i64::from(s.poisoned.is_some()),
        )?;
        gauge(
            e,
            "fennec_store_writable",
            "1 while the store accepts appends (not poisoned, out of space, full or shut down).",
            None,
            i64::from(b.store.refusal().is_none()),
        )
    }

    fn clients(&self, e: &mut DescriptorEncoder) -> Encoded {
        let b = &self.broker;
        gauge(
            e,
            "fennec_long_polling_waiters",
            "Pull requests held by long polling right now.",
            None,
            b.pull_waiters.held() as u64,
        )?;
        gauge(
            e,
            "fennec_connections",
            "Client connections open.",
            None,
            self.connections.open(),
        )?;
        counter(
            e,
            "fennec_connections_accepted",
            "Connections accepted since start.",
            None,
            self.connections.accepted(),
        )?;
        counter_family(
            e,
            "fennec_connections_refused",
            "Connections refused or closed by the server's limits, by reason.",
            None,
            ConnectionRefusal::ALL
                .iter()
                .map(|r| ([("reason", r.label())], self.connections.refused(*r))),
        )?;
        gauge_family(
            e,
            "fennec_producers_online",
            "Producer connections, by producer group.",
            None,
            b.producers
                .member_counts()
                .into_iter()
                .map(|(g, n)| ([("group", g)], n as u64)),
        )?;
        gauge_family(
            e,
            "fennec_consumers_online",
            "Consumer connections, by consumer group.",
            None,
            b.consumers
                .member_counts()
                .into_iter()
                .map(|(g, n)| ([("group", g)], n as u64)),
        )?;
        counter_family(
            e,
            "fennec_rejected_requests",
            "Requests refused, by response code.",
            None,
            b.stats
                .rejected()
                .into_iter()
                .map(|(reason, n)| ([("reason", reason)], n)),
        )
    }
}

impl Collector for BrokerCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Encoded {
        let b = &self.broker;
        gauge_family(
            &mut e,
            "fennec_broker_info",
            "The broker: cluster, name, address, role and version (always 1).",
            None,
            [(
                [
                    ("cluster", b.config.broker_cluster_name.clone()),
                    ("broker", b.config.broker_name.clone()),
                    ("addr", b.broker_addr.clone()),
                    ("role", b.config.store.broker_role.to_string()),
                    ("version", fennec_protocol::FENNEC_VERSION_DESC.to_string()),
                ],
                1u64,
            )],
        )?;
        self.traffic(&mut e)?;
        self.lag(&mut e)?;
        self.store(&mut e)?;
        self.clients(&mut e)
    }
}
