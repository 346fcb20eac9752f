//! Helpers for collectors: one call writes one metric (its HELP and TYPE lines and its
//! samples). Names are given without `_total` and without the unit suffix:
//! `prometheus_client` appends both (`counter(e, "fennec_messages_in", ...)` becomes
//! `fennec_messages_in_total`).

use fennec_common::histogram::HistogramSnapshot;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// Result of an encoder call.
pub type Encoded = Result<(), std::fmt::Error>;

/// A counter without labels.
pub fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: u64,
) -> Encoded {
    let m = e.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
    encode_counter_value(m, value)
}

/// A counter without labels whose value is not a whole number (CPU seconds).
pub fn counter_f64(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: f64,
) -> Encoded {
    let mut m = e.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
    m.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)
}

/// A gauge without labels.
pub fn gauge<V: EncodeGaugeValue>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: V,
) -> Encoded {
    let mut m = e.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
    m.encode_gauge(&value)
}

/// A counter with one sample per label set.
pub fn counter_family<L, I>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    samples: I,
) -> Encoded
where
    L: EncodeLabelSet,
    I: IntoIterator<Item = (L, u64)>,
{
    let mut m = e.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
    for (labels, value) in samples {
        encode_counter_value(m.encode_family(&labels)?, value)?;
    }
    Ok(())
}

/// A gauge with one sample per label set.
pub fn gauge_family<L, V, I>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    samples: I,
) -> Encoded
where
    L: EncodeLabelSet,
    V: EncodeGaugeValue,
    I: IntoIterator<Item = (L, V)>,
{
    let mut m = e.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
    for (labels, value) in samples {
        m.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

/// A latency histogram in seconds (`name` gets `_seconds`, then `_bucket`, `_sum`, `_count`).
pub fn histogram(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &HistogramSnapshot,
) -> Encoded {
    let mut m = e.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
    // The encoder wants per-bucket counts and accumulates them itself.
    let mut previous = 0;
    let buckets: Vec<(f64, u64)> = h
        .buckets
        .iter()
        .map(|(bound, cumulative)| {
            let n = cumulative.saturating_sub(previous);
            previous = *cumulative;
            (*bound, n)
        })
        .collect();
    m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
        h.sum_seconds,
        h.count,
        &buckets,
        None,
    )
}

fn encode_counter_value(mut m: prometheus_client::encoding::MetricEncoder, value: u64) -> Encoded {
    m.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_common::histogram::LatencyHistogram;
    use prometheus_client::collector::Collector;
    use prometheus_client::registry::Registry;

    #[derive(Debug)]
    struct Sample;

    impl Collector for Sample {
        fn encode(&self, mut e: DescriptorEncoder) -> Encoded {
            counter(&mut e, "fennec_things", "Things.", None, 3)?;
            gauge(&mut e, "fennec_size", "Size.", Some(Unit::Bytes), 7i64)?;
            counter_family(
                &mut e,
                "fennec_messages_in",
                "Messages.",
                None,
                [([("topic", "T")], 2), ([("topic", "U\"x")], 1)],
            )?;
            let h = LatencyHistogram::new();
            h.observe(std::time::Duration::from_millis(2));
            histogram(
                &mut e,
                "fennec_send_latency",
                "Send latency.",
                &h.snapshot(),
            )
        }
    }

    #[test]
    fn writes_prometheus_text() {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Sample));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("# TYPE fennec_things_total counter\nfennec_things_total 3\n"),
            "{text}"
        );
        assert!(text.contains("fennec_size_bytes 7\n"), "{text}");
        assert!(
            text.contains("fennec_messages_in_total{topic=\"T\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("fennec_messages_in_total{topic=\"U\\\"x\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("fennec_send_latency_seconds_bucket{le=\"0.001\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("fennec_send_latency_seconds_bucket{le=\"0.0025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("fennec_send_latency_seconds_bucket{le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("fennec_send_latency_seconds_count 1\n"),
            "{text}"
        );
    }
}
