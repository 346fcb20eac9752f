//! Ordered consumption under test: orderly consumers whose listeners write every delivery
//! of a keyed sequence (`"<key> <seq>"` bodies) into one shared [`Journal`], and the
//! verdict on it ([`Journal::verdict`]): every message arrived, no key ever got a message
//! before the one sent ahead of it, no consumer went back on a key, and duplicates (counted)
//! came only from a consumer other than the one that delivered the message first, i.e.
//! across a rebalance.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ConsumeContext, ConsumeFromWhere, MessageExt, OrderlyListener, OrderlyResult, PushConsumer,
};
use parking_lot::Mutex;

/// One delivery to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Global order of listener calls, across consumers.
    pub stamp: u64,
    pub consumer: String,
    pub key: String,
    pub seq: u32,
}

/// The body of message `seq` of `key`.
pub fn body(key: &str, seq: u32) -> String {
    format!("{key} {seq}")
}

/// Every delivery of a test, in the order the listeners were called.
#[derive(Clone, Default)]
pub struct Journal {
    next: Arc<AtomicU64>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

/// What a journal says about ordered delivery.
#[derive(Debug, Default)]
pub struct Verdict {
    pub deliveries: usize,
    pub distinct: usize,
    pub duplicates: usize,
    /// Deliveries per consumer.
    pub per_consumer: BTreeMap<String, usize>,
    /// Everything that broke the rules.
    pub violations: Vec<String>,
}

impl Journal {
    /// A listener for consumer `name` that journals every message and succeeds.
    pub fn listener(&self, name: &str) -> impl OrderlyListener {
        let (journal, name) = (self.clone(), name.to_string());
        move |msgs: Vec<MessageExt>, _: ConsumeContext| {
            let (journal, name) = (journal.clone(), name.clone());
            async move {
                for m in &msgs {
                    journal.record(&name, m);
                }
                OrderlyResult::Success
            }
        }
    }

    /// Journals `m` as delivered to `consumer`.
    ///
    /// # Panics
    /// When the body is not `"<key> <seq>"`.
    pub fn record(&self, consumer: &str, m: &MessageExt) {
        let text = String::from_utf8_lossy(&m.body);
        let (key, seq) = text
            .rsplit_once(' ')
            .and_then(|(k, s)| Some((k.to_string(), s.parse().ok()?)))
            .unwrap_or_else(|| panic!("unexpected body {text:?}"));
        let mut deliveries = self.deliveries.lock();
        deliveries.push(Delivery {
            stamp: self.next.fetch_add(1, Ordering::SeqCst),
            consumer: consumer.to_string(),
            key,
            seq,
        });
    }

    /// Deliveries so far.
    pub fn len(&self) -> usize {
        self.deliveries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct (key, seq) delivered so far.
    pub fn distinct(&self) -> usize {
        let d = self.deliveries.lock();
        let mut seen: Vec<(&str, u32)> = d.iter().map(|d| (d.key.as_str(), d.seq)).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// A copy of every delivery.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().clone()
    }

    /// Checks the deliveries against `keys` keys of `per_key` messages each (seq 0..).
    pub fn verdict(&self, keys: usize, per_key: u32) -> Verdict {
        let deliveries = self.deliveries();
        let mut v = Verdict {
            deliveries: deliveries.len(),
            ..Verdict::default()
        };
        // Per key: the highest seq delivered so far, and who delivered each seq first.
        let mut highest: HashMap<&str, u32> = HashMap::new();
        let mut first_by: HashMap<(&str, u32), &str> = HashMap::new();
        let mut last_of_consumer: HashMap<(&str, &str), u32> = HashMap::new();
        for d in &deliveries {
            *v.per_consumer.entry(d.consumer.clone()).or_default() += 1;
            let key = d.key.as_str();
            let next = highest.get(key).map_or(0, |h| h + 1);
            if d.seq > next {
                v.violations.push(format!(
                    "{key}: {} got seq {} before seq {next}",
                    d.consumer, d.seq
                ));
            }
            if d.seq >= next {
                highest.insert(key, d.seq);
            }
            if let Some(prev) = last_of_consumer.insert((d.consumer.as_str(), key), d.seq) {
                if d.seq <= prev {
                    v.violations.push(format!(
                        "{key}: {} went back from seq {prev} to {}",
                        d.consumer, d.seq
                    ));
                }
            }
            match first_by.get(&(key, d.seq)) {
                None => {
                    first_by.insert((key, d.seq), d.consumer.as_str());
                }
                Some(first) => {
                    v.duplicates += 1;
                    if *first == d.consumer {
                        v.violations
                            .push(format!("{key}: seq {} delivered twice to {first}", d.seq));
                    }
                }
            }
        }
        v.distinct = first_by.len();
        let expected = keys * per_key as usize;
        if v.distinct != expected {
            v.violations.push(format!(
                "{} distinct messages delivered, {expected} sent",
                v.distinct
            ));
        }
        v
    }
}

/// An orderly consumer of `group` named `name` (its instance name), from the first offset,
/// subscribed to every tag of `topic`, not started.
///
/// # Panics
/// When the settings are refused.
pub fn orderly_consumer(namesrv: &str, group: &str, name: &str, topic: &str) -> PushConsumer {
    let c = PushConsumer::builder(group)
        .namesrv_addr(namesrv)
        .instance_name(name)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .broker_suspend(Duration::from_millis(500))
        .build()
        .expect("valid consumer settings");
    c.subscribe(topic, "*").expect("subscribe");
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(key: &str, seq: u32) -> MessageExt {
        MessageExt {
            body: body(key, seq).into(),
            ..Default::default()
        }
    }

    #[test]
    fn verdicts() {
        let j = Journal::default();
        for (c, k, s) in [("a", "k", 0), ("a", "k", 1), ("b", "k", 1), ("b", "k", 2)] {
            j.record(c, &msg(k, s));
        }
        let v = j.verdict(1, 3);
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        assert_eq!((v.deliveries, v.distinct, v.duplicates), (4, 3, 1));

        let j = Journal::default();
        for (c, k, s) in [("a", "k", 1), ("a", "k", 0), ("a", "k", 0)] {
            j.record(c, &msg(k, s));
        }
        let v = j.verdict(1, 2);
        assert_eq!(v.violations.len(), 4, "{:?}", v.violations);
    }
}
