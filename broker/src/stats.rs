//! Broker traffic statistics: messages put and delivered, sampled every second for TPS over
//! 10 s / 1 min / 10 min, and daily totals ("today" and "yesterday" in local time) as
//! GET_BROKER_RUNTIME_INFO and `mqadmin clusterList` report them; deliveries per group and
//! topic ([`GroupTrafficTable`]; a topic's own counters live in its topic table entry), send
//! and pull latencies, and refused requests by response code. The Prometheus metrics
//! (`metrics.rs`) read the same counters. Requests only bump atomics here; the locks guard
//! the once-a-second samples.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{Datelike, Local};
use fennec_common::histogram::LatencyHistogram;
use fennec_remoting::ResponseCode;
use parking_lot::Mutex;

use crate::traffic::{GroupTrafficTable, TopicTraffic};

/// One-second samples kept: ten minutes.
const WINDOW: usize = 601;

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    put: u64,
    get: u64,
}

#[derive(Default)]
struct DailyMarks {
    day: i32,
    today_put: u64,
    today_get: u64,
    yesterday_put: u64,
    yesterday_get: u64,
}

/// Response codes counted one by one; larger codes share the last slot.
const REJECT_SLOTS: usize = 256;

/// Counters shared by the processors.
pub struct BrokerStats {
    put: AtomicU64,
    get: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
    daily: Mutex<DailyMarks>,
    /// Messages and bytes delivered per group and topic.
    pub groups: GroupTrafficTable,
    group_samples: Mutex<VecDeque<(Instant, HashMap<String, u64>)>>,
    /// From a send request's arrival to its answer (store append and flush wait included).
    pub send_latency: LatencyHistogram,
    /// Time to serve a pull, not counting the time it was held by long polling.
    pub pull_latency: LatencyHistogram,
    /// Requests refused, by response code.
    rejected: [AtomicU64; REJECT_SLOTS],
}

impl Default for BrokerStats {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerStats {
    pub fn new() -> Self {
        BrokerStats {
            put: AtomicU64::new(0),
            get: AtomicU64::new(0),
            samples: Mutex::new(VecDeque::with_capacity(WINDOW)),
            daily: Mutex::new(DailyMarks {
                day: Local::now().num_days_from_ce(),
                ..Default::default()
            }),
            groups: GroupTrafficTable::default(),
            group_samples: Mutex::new(VecDeque::with_capacity(12)),
            send_latency: LatencyHistogram::new(),
            pull_latency: LatencyHistogram::new(),
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts `messages` records of `bytes` stored for the topic whose counters are `topic`.
    pub fn add_put(&self, topic: &TopicTraffic, messages: u64, bytes: u64) {
        self.put.fetch_add(messages, Ordering::Relaxed);
        topic.add(messages, bytes);
    }

    /// Counts `messages` records of `bytes` of `topic` delivered to `group`.
    pub fn add_get(&self, group: &str, topic: &str, messages: u64, bytes: u64) {
        self.get.fetch_add(messages, Ordering::Relaxed);
        self.groups.of(group, topic).add(messages, bytes);
    }

    /// Counts a request refused with `code`.
    pub fn add_rejected(&self, code: i32) {
        let slot = usize::try_from(code)
            .unwrap_or(REJECT_SLOTS - 1)
            .min(REJECT_SLOTS - 1);
        self.rejected[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// `(response code name, requests refused with it)` of every code seen.
    pub fn rejected(&self) -> Vec<(String, u64)> {
        self.rejected
            .iter()
            .enumerate()
            .filter_map(|(code, n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then(|| {
                    let name = match i32::try_from(code).map(ResponseCode::try_from) {
                        Ok(Ok(c)) if code < REJECT_SLOTS - 1 => c.name().to_string(),
                        _ if code == REJECT_SLOTS - 1 => "OTHER".to_string(),
                        _ => format!("CODE_{code}"),
                    };
                    (name, n)
                })
            })
            .collect()
    }

    pub fn put_total(&self) -> u64 {
        self.put.load(Ordering::Relaxed)
    }

    pub fn get_total(&self) -> u64 {
        self.get.load(Ordering::Relaxed)
    }

    /// Takes a sample; call once a second.
    pub fn sample(&self) {
        let now = Instant::now();
        let s = Sample {
            at: now,
            put: self.put_total(),
            get: self.get_total(),
        };
        {
            let mut samples = self.samples.lock();
            if samples.len() == WINDOW {
                samples.pop_front();
            }
            samples.push_back(s);
        }
        {
            let snapshot = self.groups.messages_by_group();
            let mut g = self.group_samples.lock();
            if g.len() == 12 {
                g.pop_front();
            }
            g.push_back((now, snapshot));
        }
        let day = Local::now().num_days_from_ce();
        let mut d = self.daily.lock();
        if day != d.day {
            d.yesterday_put = d.today_put;
            d.yesterday_get = d.today_get;
            d.today_put = s.put;
            d.today_get = s.get;
            d.day = day;
        }
    }

    fn tps(&self, seconds: usize, pick: fn(&Sample) -> u64) -> f64 {
        let samples = self.samples.lock();
        let (Some(last), Some(first)) = (
            samples.back(),
            samples.get(samples.len().saturating_sub(seconds + 1)),
        ) else {
            return 0.0;
        };
        let secs = last.at.duration_since(first.at).as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            (pick(last) - pick(first)) as f64 / secs
        }
    }

    /// RocketMQ's `putTps` text: TPS over 10 s, 1 min and 10 min.
    pub fn put_tps(&self) -> String {
        format!(
            "{:.2} {:.2} {:.2}",
            self.tps(10, |s| s.put),
            self.tps(60, |s| s.put),
            self.tps(600, |s| s.put)
        )
    }

    /// RocketMQ's `getTransferedTps` text.
    pub fn get_tps(&self) -> String {
        format!(
            "{:.2} {:.2} {:.2}",
            self.tps(10, |s| s.get),
            self.tps(60, |s| s.get),
            self.tps(600, |s| s.get)
        )
    }

    /// Messages delivered to `group` per second over the last ~10 s.
    pub fn group_get_tps(&self, group: &str) -> f64 {
        let g = self.group_samples.lock();
        let (Some((t1, last)), Some((t0, first))) = (g.back(), g.front()) else {
            return 0.0;
        };
        let secs = t1.duration_since(*t0).as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        let a = first.get(group).copied().unwrap_or(0);
        let b = last.get(group).copied().unwrap_or(0);
        b.saturating_sub(a) as f64 / secs
    }

    /// (put today, get today, put yesterday, get yesterday), RocketMQ's morning marks.
    pub fn daily(&self) -> (u64, u64, u64, u64) {
        let d = self.daily.lock();
        (d.today_put, d.today_get, d.yesterday_put, d.yesterday_get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_tps() {
        let s = BrokerStats::new();
        assert_eq!(s.put_tps(), "0.00 0.00 0.00");
        s.sample();
        let topic = TopicTraffic::default();
        s.add_put(&topic, 10, 1000);
        s.add_get("G", "T", 4, 400);
        s.sample();
        assert_eq!(topic.totals(), (10, 1000));
        s.add_rejected(17);
        s.add_rejected(17);
        s.add_rejected(1500);
        assert_eq!(
            s.rejected(),
            vec![("TOPIC_NOT_EXIST".to_string(), 2), ("OTHER".to_string(), 1)]
        );
        assert_eq!(s.put_total(), 10);
        assert_eq!(s.get_total(), 4);
        let tps: Vec<f64> = s.put_tps().split(' ').map(|x| x.parse().unwrap()).collect();
        assert!(tps[0] > 0.0);
        assert!(s.group_get_tps("G") > 0.0);
        assert_eq!(s.group_get_tps("H"), 0.0);
    }
}
