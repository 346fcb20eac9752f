//! Property test: random appends (several topics and queues, random sizes, batches), reads
//! and restarts (clean, and simulated crashes that leave the files as a killed process
//! would) against an in-memory model of every queue's bodies.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use common::*;
use fennec_protocol::message::record::parse_record;
use fennec_store::{GetMessageStatus, MessageStore, PutMessageStatus, StoreConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put {
        topic: u8,
        queue: u8,
        size: usize,
    },
    Batch {
        topic: u8,
        queue: u8,
        sizes: Vec<usize>,
    },
    Read {
        topic: u8,
        queue: u8,
        from: u8,
        max_count: usize,
    },
    RestartClean,
    RestartCrash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..3u8, 0..3u8, 1..6000usize).prop_map(|(topic, queue, size)| Op::Put { topic, queue, size }),
        2 => (0..3u8, 0..3u8, prop::collection::vec(1..2500usize, 1..8))
            .prop_map(|(topic, queue, sizes)| Op::Batch { topic, queue, sizes }),
        4 => (0..3u8, 0..3u8, any::<u8>(), 1..40usize)
            .prop_map(|(topic, queue, from, max_count)| Op::Read { topic, queue, from, max_count }),
        1 => Just(Op::RestartClean),
        1 => Just(Op::RestartCrash),
    ]
}

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        max_message_size: 8 * 1024,
        ..small_config(root)
    }
}

type Model = HashMap<(u8, u8), Vec<Vec<u8>>>;

fn topic(t: u8) -> String {
    format!("Topic{t}")
}

fn check_queue(store: &Arc<MessageStore>, model: &Model, t: u8, q: u8, from: i64, max: usize) {
    let expected = model.get(&(t, q)).map_or(&[][..], Vec::as_slice);
    let len = expected.len() as i64;
    assert_eq!(store.max_offset_in_queue(&topic(t), i32::from(q)), len);
    let r = store.get_messages(&topic(t), i32::from(q), from, max, usize::MAX, &|_| true);
    if len == 0 {
        assert_eq!(r.status, GetMessageStatus::NoMatchedLogicQueue);
        return;
    }
    if from >= len {
        assert_eq!(r.status, GetMessageStatus::OffsetOverflowOne);
        return;
    }
    assert_eq!(r.status, GetMessageStatus::Found);
    let want = &expected[from as usize..(from as usize + max).min(expected.len())];
    assert_eq!(r.messages.len(), want.len());
    for (i, (m, body)) in r.messages.iter().zip(want).enumerate() {
        let rec = parse_record(m).expect("model test");
        assert_eq!(rec.queue_offset(), from + i as i64);
        assert_eq!(rec.body(), &body[..]);
    }
    assert_eq!(r.next_begin_offset, from + want.len() as i64);
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("model test");
    let mut store = MessageStore::open(config(dir.path())).expect("model test");
    let mut model = Model::new();
    let mut seq = 0u64;
    let rt = runtime();
    for op in ops {
        match op {
            Op::Put {
                topic: t,
                queue: q,
                size,
            } => {
                seq += 1;
                let body: Vec<u8> = body_for(seq, size).into_iter().cycle().take(size).collect();
                let r = rt.block_on(store.put_message(message(
                    &topic(t),
                    i32::from(q),
                    &body,
                    String::new(),
                )));
                let bodies = model.entry((t, q)).or_default();
                if size > 8 * 1024 {
                    assert_eq!(r.status, PutMessageStatus::MessageIllegal);
                    continue;
                }
                assert_eq!(
                    r.append.expect("model test").queue_offset,
                    bodies.len() as i64
                );
                bodies.push(body);
            }
            Op::Batch {
                topic: t,
                queue: q,
                sizes,
            } => {
                let bodies: Vec<Vec<u8>> = sizes
                    .iter()
                    .map(|s| {
                        seq += 1;
                        body_for(seq, *s).into_iter().cycle().take(*s).collect()
                    })
                    .collect();
                let r = rt.block_on(store.put_messages(batch(&topic(t), i32::from(q), &bodies)));
                let a = r.append.expect("model test");
                let queue = model.entry((t, q)).or_default();
                assert_eq!(
                    (a.queue_offset, a.msg_num),
                    (queue.len() as i64, bodies.len())
                );
                queue.extend(bodies);
            }
            Op::Read {
                topic: t,
                queue: q,
                from,
                max_count,
            } => {
                wait_dispatched(&store);
                let len = model.get(&(t, q)).map_or(0, Vec::len) as i64;
                let from = if len == 0 {
                    0
                } else {
                    i64::from(from) % (len + 1)
                };
                check_queue(&store, &model, t, q, from, max_count);
            }
            Op::RestartClean => {
                store.shutdown();
                drop(store);
                store = MessageStore::open(config(dir.path())).expect("model test");
                assert_eq!(store.recovery_report().scan_from, None);
            }
            Op::RestartCrash => {
                store.halt_for_crash_test();
                drop(store);
                store = MessageStore::open(config(dir.path())).expect("model test");
                assert!(store.recovery_report().crashed);
            }
        }
    }
    wait_dispatched(&store);
    for t in 0..3 {
        for q in 0..3 {
            check_queue(&store, &model, t, q, 0, 10_000);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
