//! Crash test (after sled's): this test binary re-runs itself as a child process that
//! appends with SYNC_FLUSH from 8 concurrent writers and prints
//! `ACK <queueOffset> <commitOffset> <queueId> <seq>` after each acknowledged append. The
//! parent SIGKILLs it after a few hundred acks, reopens the store and checks that every
//! acknowledged append is there with its body intact, that each queue's offsets are
//! contiguous and point at records of that queue, and that the index finds the keys.
//! Two rounds run on the same directory, so the second also recovers a recovered store.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use fennec_protocol::message::record::parse_record;
use fennec_store::{GetMessageStatus, MessageStore};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const DIR_ENV: &str = "FENNEC_CRASH_CHILD_DIR";
const BASE_ENV: &str = "FENNEC_CRASH_CHILD_SEQ_BASE";
const TOPIC: &str = "crash";
const QUEUES: u64 = 4;
const MAX_BODY: usize = 3000;

#[test]
#[ignore = "entry point of the crash test's child process"]
fn crash_child() {
    let (Some(dir), Some(base)) = (std::env::var_os(DIR_ENV), std::env::var_os(BASE_ENV)) else {
        return;
    };
    let base: u64 = base
        .to_str()
        .expect("crash test")
        .parse()
        .expect("crash test");
    let store = MessageStore::open(sync_config(std::path::Path::new(&dir))).expect("crash test");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("crash test");
    let next = Arc::new(AtomicU64::new(base));
    rt.block_on(async {
        let mut writers = Vec::new();
        for _ in 0..8 {
            let (store, next) = (store.clone(), next.clone());
            writers.push(tokio::spawn(async move {
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    let q = (seq % QUEUES) as i32;
                    let keys = props(&[("KEYS", &format!("k{seq}"))]);
                    let m = message(TOPIC, q, &body_for(seq, MAX_BODY), keys);
                    let r = store.put_message(m).await;
                    assert!(r.is_ok(), "{r:?}");
                    let a = r.append.expect("crash test");
                    println!("ACK {} {} {q} {seq}", a.queue_offset, a.wrote_offset);
                }
            }));
        }
        for w in writers {
            w.await.expect("crash test");
        }
    });
}

/// Kills the child (by PID) if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Debug, Clone, Copy)]
struct Ack {
    queue_offset: i64,
    commit_offset: i64,
    queue_id: i32,
    seq: u64,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut it = line.strip_prefix("ACK ")?.split(' ');
    Some(Ack {
        queue_offset: it.next()?.parse().ok()?,
        commit_offset: it.next()?.parse().ok()?,
        queue_id: it.next()?.parse().ok()?,
        seq: it.next()?.parse().ok()?,
    })
}

/// Runs the child until `kill_after` acks, SIGKILLs it, and returns every ack it printed.
fn run_child(dir: &std::path::Path, base: u64, kill_after: usize) -> Vec<Ack> {
    let exe = std::env::current_exe().expect("crash test");
    let child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(BASE_ENV, base.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("crash test");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("crash test");
    let mut acks = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("crash test");
        if let Some(ack) = parse_ack(&line) {
            acks.push(ack);
        }
        if !killed && acks.len() >= kill_after {
            kill(Pid::from_raw(child.0.id() as i32), Signal::SIGKILL).expect("crash test");
            killed = true;
        }
    }
    let status = child.0.wait().expect("crash test");
    assert!(
        killed,
        "child exited by itself ({status:?}) after {} acks",
        acks.len()
    );
    acks
}

fn check(store: &MessageStore, acks: &[Ack]) {
    for ack in acks {
        let rec = store
            .message_at(ack.commit_offset)
            .unwrap_or_else(|| panic!("acked record missing: {ack:?}"));
        let r = parse_record(&rec).expect("crash test");
        assert_eq!((r.topic(), r.queue_id()), (TOPIC, ack.queue_id));
        assert_eq!(r.queue_offset(), ack.queue_offset);
        assert_eq!(r.body(), &body_for(ack.seq, MAX_BODY)[..], "{ack:?}");
        r.verify_crc().expect("crash test");
    }
    for q in 0..QUEUES as i32 {
        let max = store.max_offset_in_queue(TOPIC, q);
        let mut offset = 0;
        while offset < max {
            let got = store.get_messages(TOPIC, q, offset, 64, usize::MAX, &|_| true);
            assert_eq!(got.status, GetMessageStatus::Found);
            for m in &got.messages {
                let r = parse_record(m).expect("crash test");
                assert_eq!(
                    (r.topic(), r.queue_id(), r.queue_offset()),
                    (TOPIC, q, offset)
                );
                let seq: u64 = r.property("KEYS").expect("crash test")[1..]
                    .parse()
                    .expect("crash test");
                assert_eq!(r.body(), &body_for(seq, MAX_BODY)[..]);
                offset += 1;
            }
        }
        let acked_max = acks
            .iter()
            .filter(|a| a.queue_id == q)
            .map(|a| a.queue_offset + 1)
            .max()
            .unwrap_or(0);
        assert!(max >= acked_max, "queue {q}: max {max} < acked {acked_max}");
    }
    for ack in acks.iter().step_by(17) {
        let found = store.query_messages(TOPIC, &format!("k{}", ack.seq), 4, 0, i64::MAX);
        assert_eq!(found.messages.len(), 1, "key k{}", ack.seq);
        let r = parse_record(&found.messages[0]).expect("crash test");
        assert_eq!(r.physical_offset(), ack.commit_offset);
    }
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().expect("crash test");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("crash test")
        .subsec_nanos() as usize;
    let mut all = Vec::new();
    for round in 0..2u64 {
        let kill_after = 300 + (nanos / (round as usize + 1)) % 500;
        let acks = run_child(dir.path(), round * 1_000_000, kill_after);
        assert!(acks.len() >= kill_after);
        all.extend(acks);
        let store = MessageStore::open(sync_config(dir.path())).expect("crash test");
        assert!(store.recovery_report().crashed);
        eprintln!(
            "round {round}: {} acks, {:?}",
            all.len(),
            store.recovery_report()
        );
        check(&store, &all);
        store.shutdown();
    }
}
