//! Who dispatches: an appender dispatches its own record before its append returns, unless
//! the record needs a new consume queue or index file, which the dispatch thread creates;
//! many appenders at once dispatch every record exactly once, in queue order.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::*;
use fennec_store::{MessageStore, StoreConfig};

/// Consume queue and index files that do not fill up during the test.
fn roomy_config(root: &std::path::Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_consume_queue: 100_000 * 20,
        max_index_num: 100_000,
        ..small_config(root)
    }
}

type Seen = Arc<Mutex<Vec<(String, i32, i64, String)>>>;

/// Records (topic, queue, queue max offset, thread name) for every arrival.
fn watch(store: &MessageStore) -> Seen {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    store.set_arrival_listener(Arc::new(move |topic: &str, queue, max| {
        let thread = std::thread::current().name().unwrap_or("?").to_string();
        s.lock()
            .expect("arrivals")
            .push((topic.to_string(), queue, max, thread));
    }));
    seen
}

fn keyed(topic: &str, queue: i32, seq: usize) -> fennec_store::StoreMessage {
    message(
        topic,
        queue,
        &body_for(seq as u64, 200),
        props(&[("KEYS", &format!("k{seq}"))]),
    )
}

#[test]
fn an_appender_dispatches_its_record_unless_it_needs_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(roomy_config(dir.path())).unwrap();
    let seen = watch(&store);
    let me = std::thread::current().name().unwrap().to_string();

    // The queue's first consume queue file and the first index file: the thread's job.
    store.append_message(&keyed("T", 0, 0)).unwrap();
    wait_dispatched(&store);
    assert_eq!(seen.lock().unwrap()[0].3, "fennec-dispatch");

    // Later records are in the queue and the index when the append returns.
    for seq in 1..200 {
        store.append_message(&keyed("T", 0, seq)).unwrap();
        assert_eq!(store.max_offset_in_queue("T", 0), seq as i64 + 1);
    }
    let seen = seen.lock().unwrap();
    assert!(seen[1..].iter().all(|s| s.3 == me), "{:?}", &seen[1..4]);
    let found = store.query_messages("T", "k199", 10, 0, i64::MAX);
    assert_eq!(found.messages.len(), 1);
}

#[test]
fn concurrent_appenders_dispatch_every_record_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(roomy_config(dir.path())).unwrap();
    let seen = watch(&store);
    const PER_THREAD: usize = 3_000;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::Builder::new()
                .name(format!("appender-{t}"))
                .spawn(move || {
                    for seq in 0..PER_THREAD {
                        // Two threads share each queue.
                        store.append_message(&keyed("C", t % 2, seq)).unwrap();
                    }
                })
                .unwrap()
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    wait_dispatched(&store);
    let arrivals = seen.lock().unwrap().clone();
    let mut next: HashMap<i32, i64> = HashMap::new();
    for (topic, queue, max, _) in arrivals.iter() {
        assert_eq!(topic, "C");
        let expected = next.entry(*queue).or_insert(1);
        assert_eq!(
            *max, *expected,
            "queue {queue}: arrivals out of order or repeated"
        );
        *expected += 1;
    }
    for queue in 0..2 {
        assert_eq!(store.max_offset_in_queue("C", queue), 2 * PER_THREAD as i64);
        assert_eq!(next[&queue], 2 * PER_THREAD as i64 + 1);
    }
    // How many records the appenders drain themselves depends on scheduling: the dispatch
    // thread, once woken for a new queue file, keeps the drain role while it finds records
    // behind it, which under CI load can be the whole run (it was, once: 0 of 12,000). What
    // must hold is that it gives the role back once it has caught up: of appends made one at
    // a time from here, one is soon dispatched on the appending thread again (the
    // single-appender test above asserts the inline path strictly).
    let me = std::thread::current().name().unwrap_or("?").to_string();
    let inline_again = (0..100).any(|seq| {
        store.append_message(&keyed("C", 0, seq)).unwrap();
        wait_dispatched(&store);
        seen.lock().unwrap().last().is_some_and(|s| s.3 == me)
    });
    assert!(inline_again, "the dispatch thread kept the drain role");
}
