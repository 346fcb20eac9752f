//! 100,000 timer messages due over 20 s, against a real broker: every one arrives once, none
//! before its due time (TIMER_OUT_MS, stamped by the broker), and none absurdly late. The
//! lateness percentiles are printed; the 200 ms p99 target is a benchmark's business
//! (`scripts/timer_bench.sh`, release build), not a timed assertion here.
//!
//! Senders take the messages in due order; a timer is never due less than half a second after
//! its send, so a slow (loaded) machine shifts the due times later instead of making the test
//! meaningless. Bounded: about 25 s on the CI box (debug build: 100,000 sends in 9 s;
//! lateness p99 63 ms, max 110 ms).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeResult, Message, MessageExt, MessageListener,
    Producer, PushConsumer,
};
use fennec_protocol::message::properties::keys;
use fennec_protocol::time::now_millis;
use fennec_tests::cluster::BrokerSpec;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::wait_until;
use fennec_tests::sdk::producer;
use parking_lot::Mutex;

const TOPIC: &str = "TimerLoad";
const TIMERS: usize = 100_000;
/// Due times spread evenly over this window.
const SPREAD_MS: i64 = 20_000;
/// The first timer falls due this long after sending starts.
const LEAD_MS: i64 = 3_000;
const SENDERS: usize = 32;
/// The least time between a timer's send and its due time.
const MIN_LEAD_MS: i64 = 500;
/// No timer may be later than this: a wheel that skips a slot delivers a whole revolution
/// late, or never (a debug build on the 2-core CI box measured a 110 ms maximum).
const MAX_LATENESS_MS: i64 = 10_000;

/// Keeps each arrival's index (the body) and lateness.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<(usize, i64)>>>);

impl MessageListener for Arrivals {
    async fn consume(&self, msgs: &[MessageExt], _: &ConsumeContext) -> ConsumeResult {
        let now = now_millis();
        let mut all = self.0.lock();
        for m in msgs {
            let due: i64 = m
                .property(keys::TIMER_OUT_MS)
                .and_then(|v| v.parse().ok())
                .unwrap_or(i64::MAX);
            let index = std::str::from_utf8(&m.body)
                .ok()
                .and_then(|b| b.parse().ok())
                .unwrap_or(usize::MAX);
            all.push((index, now - due));
        }
        ConsumeResult::Success
    }
}

async fn send_all(p: Arc<Producer>, start: i64) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (p, next) = (p.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= TIMERS {
                    return;
                }
                let due = (start + LEAD_MS + i as i64 * SPREAD_MS / TIMERS as i64)
                    .max(now_millis() + MIN_LEAD_MS);
                let msg = Message::new(TOPIC, i.to_string()).with_deliver_time_ms(due);
                p.send(msg).await.expect("send");
            }
        }));
    }
    for s in senders {
        s.await.expect("sender task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_timers_over_20_seconds_arrive_on_time() {
    let env = OneBroker::start(BrokerSpec::new("broker-a"));
    let namesrv = env.namesrv();
    env.create_topic(TOPIC, 4).await;
    let arrivals = Arrivals::default();
    let consumer = PushConsumer::builder("TimerLoadGroup")
        .namesrv_addr(&namesrv)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_batch_max(32)
        .build()
        .expect("valid consumer settings");
    consumer.subscribe(TOPIC, "*").expect("subscribe");
    consumer.start(arrivals.clone()).await.expect("start");
    let p = Arc::new(producer(&namesrv, "TimerLoadProducer").await);

    let start = now_millis();
    send_all(p.clone(), start).await;
    let sent_in = now_millis() - start;
    eprintln!("sent {TIMERS} timers in {sent_in} ms");
    let last_due = (LEAD_MS + SPREAD_MS).max(sent_in + MIN_LEAD_MS);
    let deadline = Duration::from_millis(last_due as u64) + Duration::from_secs(30);
    wait_until("every timer", deadline, || async {
        arrivals.0.lock().len() >= TIMERS
    })
    .await;
    consumer.shutdown().await;
    p.shutdown().await;

    let mut got = arrivals.0.lock().clone();
    got.sort_unstable();
    got.dedup_by_key(|(i, _)| *i);
    assert_eq!(got.len(), TIMERS, "every timer arrived once");
    assert!(got.iter().all(|(i, _)| *i < TIMERS));
    let mut lateness: Vec<i64> = got.iter().map(|(_, l)| *l).collect();
    lateness.sort_unstable();
    let pct = |p: f64| lateness[((lateness.len() - 1) as f64 * p) as usize];
    eprintln!(
        "lateness ms: min {} p50 {} p90 {} p99 {} p99.9 {} max {}",
        lateness[0],
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        lateness[lateness.len() - 1]
    );
    assert!(
        lateness[0] >= 0,
        "a timer arrived {} ms early",
        -lateness[0]
    );
    assert!(
        lateness[lateness.len() - 1] < MAX_LATENESS_MS,
        "a timer arrived {} ms late",
        lateness[lateness.len() - 1]
    );
}
