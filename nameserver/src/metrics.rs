//! The nameserver's Prometheus metrics: brokers and topics in the route table and the age
//! of each broker's last registration, read at scrape time from [`RouteInfo`], plus the
//! remoting server's connection counts.

use std::sync::Arc;
use std::time::Instant;

use fennec_metrics::encode::{counter, counter_family, gauge, gauge_family, Encoded};
use fennec_metrics::prometheus_client::collector::Collector;
use fennec_metrics::prometheus_client::encoding::DescriptorEncoder;
use fennec_metrics::prometheus_client::registry::Unit;
use fennec_remoting::{ConnectionRefusal, ServerCounters};

use crate::route_info::RouteInfo;

/// Exports one nameserver's route table.
#[derive(Debug)]
pub(crate) struct NamesrvCollector {
    pub(crate) route: Arc<RouteInfo>,
    pub(crate) connections: Arc<ServerCounters>,
}

impl Collector for NamesrvCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Encoded {
        let (brokers, topics) = self.route.liveness(Instant::now());
        gauge(
            &mut e,
            "fennec_namesrv_brokers",
            "Broker addresses registered and alive.",
            None,
            brokers.len() as u64,
        )?;
        gauge(
            &mut e,
            "fennec_namesrv_topics",
            "Topics with at least one route.",
            None,
            topics as u64,
        )?;
        gauge_family(
            &mut e,
            "fennec_namesrv_broker_registration_age",
            "Time since each broker's last registration (brokers register every 30 s).",
            Some(Unit::Seconds),
            brokers.iter().map(|b| {
                (
                    [
                        ("cluster", b.cluster.as_str()),
                        ("broker", b.broker_name.as_str()),
                        ("addr", b.addr.as_str()),
                    ],
                    b.since_registration.as_secs_f64(),
                )
            }),
        )?;
        gauge(
            &mut e,
            "fennec_namesrv_connections",
            "Connections open to the nameserver.",
            None,
            self.connections.open(),
        )?;
        counter(
            &mut e,
            "fennec_namesrv_connections_accepted",
            "Connections accepted since start.",
            None,
            self.connections.accepted(),
        )?;
        counter_family(
            &mut e,
            "fennec_namesrv_connections_refused",
            "Connections refused or closed by the server's limits, by reason.",
            None,
            ConnectionRefusal::ALL
                .iter()
                .map(|r| ([("reason", r.label())], self.connections.refused(*r))),
        )
    }
}
