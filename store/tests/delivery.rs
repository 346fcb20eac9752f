//! Delayed and timer messages through the store alone: staging at put time, delivery to the
//! real topic when due (never before), progress files, and crashes (threads halted without
//! a final checkpoint) that neither lose nor repeat a delivery.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use fennec_protocol::message::properties::{keys, Properties};
use fennec_protocol::message::record::parse_record;
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::{SCHEDULE_TOPIC, TIMER_TOPIC};
use fennec_store::{DelayLevels, MessageStore, PutMessageStatus, StoreConfig};

const ALL: &dyn Fn(i64) -> bool = &|_| true;

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        message_delay_level: DelayLevels::parse("100ms 300ms 1500ms").expect("valid levels"),
        timer_precision_ms: 100,
        timer_max_delay_sec: 60,
        ..small_config(root)
    }
}

/// Every message of `topic` queue `q`, as (properties, store timestamp, body).
fn messages(store: &MessageStore, topic: &str, q: i32) -> Vec<(Properties, i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut offset = store.min_offset_in_queue(topic, q);
    loop {
        let r = store.get_messages(topic, q, offset, 32, usize::MAX, ALL);
        if r.messages.is_empty() {
            return out;
        }
        for m in &r.messages {
            let rec = parse_record(m).expect("a record");
            out.push((
                Properties::decode(rec.properties()),
                rec.store_timestamp(),
                rec.body().to_vec(),
            ));
        }
        offset = r.next_begin_offset;
    }
}

fn total(store: &MessageStore, topic: &str, queues: i32) -> i64 {
    (0..queues)
        .map(|q| store.max_offset_in_queue(topic, q))
        .sum()
}

#[test]
fn delay_levels_and_timers_arrive_when_due_and_never_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let sent = now_millis();
    let r = put(
        &store,
        message(
            "Orders",
            1,
            b"level 2",
            props(&[("DELAY", "2"), ("TAGS", "A")]),
        ),
    );
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let r = put(
        &store,
        message("Orders", 0, b"timer", props(&[("TIMER_DELAY_MS", "400")])),
    );
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let far = put(
        &store,
        message("Orders", 0, b"too far", props(&[("TIMER_DELAY_SEC", "61")])),
    );
    assert_eq!(far.status, PutMessageStatus::MessageIllegal);
    wait_dispatched(&store);
    assert_eq!(store.max_offset_in_queue(SCHEDULE_TOPIC, 1), 1);
    assert_eq!(store.max_offset_in_queue(TIMER_TOPIC, 0), 1);

    wait_until("both delivered", || total(&store, "Orders", 2) == 2);
    let [(level, level_at, _)] = &messages(&store, "Orders", 1)[..] else {
        panic!("one message in queue 1")
    };
    let [(timer, timer_at, _)] = &messages(&store, "Orders", 0)[..] else {
        panic!("one message in queue 0")
    };
    assert!(
        *level_at >= sent + 300,
        "level 2 (300 ms) after {} ms",
        level_at - sent
    );
    assert!(
        *timer_at >= sent + 400,
        "timer after {} ms",
        timer_at - sent
    );
    assert_eq!(level.get(keys::DELAY_TIME_LEVEL), None);
    assert_eq!(level.get("TAGS"), Some("A"));
    assert_eq!(level.get(keys::REAL_TOPIC), Some("Orders"));
    assert_eq!(
        level.get(keys::DELIVERED_FROM),
        Some("SCHEDULE_TOPIC_XXXX:1:0")
    );
    let due: i64 = timer.get(keys::TIMER_OUT_MS).unwrap().parse().unwrap();
    assert!(*timer_at >= due);
    assert_eq!(timer.get(keys::TIMER_DELAY_MS), None);
    assert_eq!(
        timer.get(keys::DELIVERED_FROM),
        Some("rmq_sys_wheel_timer:0:0")
    );

    assert_eq!(store.delay_offsets().offset_table.get(&2), Some(&1));
    let stats = store.delivery_stats();
    assert_eq!(stats.levels.get(&2), Some(&(1, 1)));
    assert_eq!(stats.timers_delivered, 1);
    assert_eq!(stats.timer_offset_behind, 0);
    store.shutdown();
    let saved = std::fs::read_to_string(dir.path().join("config/delayOffset.json")).unwrap();
    assert!(saved.contains("\"2\":1"), "{saved}");
    assert!(dir.path().join("config/timercheck").exists());
}

/// Puts `n` messages per kind to `Orders` (queue = kind): level 1 (100 ms), level 3
/// (1.5 s) and timers due 50 ms to 50 + 30 `n` ms from now. Bodies are `kind-i`.
fn put_deferred(store: &MessageStore, n: usize) {
    for i in 0..n {
        let level = props(&[("DELAY", "1")]);
        put(
            store,
            message("Orders", 0, format!("0-{i}").as_bytes(), level),
        );
        let level = props(&[("DELAY", "3")]);
        put(
            store,
            message("Orders", 1, format!("1-{i}").as_bytes(), level),
        );
        let delay = (50 + i * 30).to_string();
        let timer = props(&[("TIMER_DELAY_MS", &delay)]);
        put(
            store,
            message("Orders", 2, format!("2-{i}").as_bytes(), timer),
        );
    }
}

fn delivered_bodies(store: &MessageStore) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for q in 0..3 {
        for (_, _, body) in messages(store, "Orders", q) {
            *seen
                .entry(String::from_utf8(body).expect("UTF-8 body"))
                .or_insert(0) += 1;
        }
    }
    seen
}

fn reopen(dir: &Path, old: Arc<MessageStore>) -> Arc<MessageStore> {
    old.halt_for_crash_test();
    drop(old);
    MessageStore::open(config(dir)).expect("reopen")
}

#[test]
fn crashes_neither_lose_nor_repeat_deliveries() {
    const N: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_deferred(&store, N);
    // Crash 1: some deliveries made, maybe no checkpoint yet.
    wait_until("a few deliveries", || total(&store, "Orders", 3) >= 10);
    let store = reopen(dir.path(), store);
    // Crash 2: after a checkpoint, with deliveries since.
    let checkpointed = Instant::now();
    wait_until("a checkpoint and more deliveries", || {
        checkpointed.elapsed() > Duration::from_millis(1300) && total(&store, "Orders", 3) >= 100
    });
    let store = reopen(dir.path(), store);
    wait_until("every delivery", || {
        total(&store, "Orders", 3) >= 3 * N as i64
    });
    // Let anything that would be delivered twice show up: the queues are drained once
    // progress has passed every entry.
    wait_until("progress past every entry", || {
        let s = store.delivery_stats();
        s.levels.values().all(|(next, max)| next == max)
            && s.timer_offset_behind == 0
            && s.timers_ready == 0
            && s.timer_progress_ms > now_millis() - 1000
    });
    wait_dispatched(&store);
    let seen = delivered_bodies(&store);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(seen.len(), 3 * N, "every message delivered");
}

#[test]
fn many_timers_come_out_in_due_order() {
    const N: u64 = 2000;
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let start = now_millis() + 1500;
    for i in 0..N {
        // A scrambled spread over one second, several timers per slot.
        let due = start + ((i * 7919) % 1000) as i64;
        let p = props(&[("TIMER_DELIVER_MS", &due.to_string())]);
        assert_eq!(
            put(&store, message("Burst", 0, &i.to_be_bytes(), p)).status,
            PutMessageStatus::PutOk
        );
    }
    wait_until("every timer", || {
        store.max_offset_in_queue("Burst", 0) == N as i64
    });
    let got = messages(&store, "Burst", 0);
    let mut last_due = 0;
    for (p, stored_at, _) in &got {
        let due: i64 = p.get(keys::TIMER_OUT_MS).unwrap().parse().unwrap();
        assert!(*stored_at >= due, "delivered {} ms early", due - stored_at);
        assert!(due >= last_due, "out of due order");
        last_due = due;
    }
    assert_eq!(store.delivery_stats().timers_delivered, N);
}
