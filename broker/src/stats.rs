//! Broker traffic statistics: messages put and delivered, sampled every second for TPS over
//! 10 s / 1 min / 10 min, and daily totals ("today" and "yesterday" in local time) as
//! GET_BROKER_RUNTIME_INFO and `mqadmin clusterList` report them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{Datelike, Local};
use parking_lot::Mutex;

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

/// Counters shared by the processors.
pub struct BrokerStats {
    put: AtomicU64,
    get: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
    daily: Mutex<DailyMarks>,
    group_get: Mutex<HashMap<String, u64>>,
    group_samples: Mutex<VecDeque<(Instant, HashMap<String, u64>)>>,
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
            group_get: Mutex::new(HashMap::new()),
            group_samples: Mutex::new(VecDeque::with_capacity(12)),
        }
    }

    /// Counts messages stored.
    pub fn add_put(&self, n: u64) {
        self.put.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts messages delivered to `group`.
    pub fn add_get(&self, group: &str, n: u64) {
        self.get.fetch_add(n, Ordering::Relaxed);
        let mut g = self.group_get.lock();
        match g.get_mut(group) {
            Some(c) => *c += n,
            None => {
                g.insert(group.to_string(), n);
            }
        }
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
            let snapshot = self.group_get.lock().clone();
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
        s.add_put(10);
        s.add_get("G", 4);
        s.sample();
        assert_eq!(s.put_total(), 10);
        assert_eq!(s.get_total(), 4);
        let tps: Vec<f64> = s.put_tps().split(' ').map(|x| x.parse().unwrap()).collect();
        assert!(tps[0] > 0.0);
        assert!(s.group_get_tps("G") > 0.0);
        assert_eq!(s.group_get_tps("H"), 0.0);
    }
}
