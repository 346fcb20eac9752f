//! Helpers shared by the store integration tests: small-file configs, message builders, a
//! tokio runtime and polling with a deadline.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use fennec_store::{
    BatchEntry, FlushDiskType, MessageStore, PutMessageResult, StoreBatch, StoreConfig,
    StoreMessage,
};

/// A config with tiny files so rolling is exercised: 64 KiB commit log files, 100-entry
/// consume queue files, 64-slot / 256-entry index files, fast flush intervals.
pub fn small_config(root: &Path) -> StoreConfig {
    StoreConfig {
        store_path_root_dir: root.to_path_buf(),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 100 * 20,
        max_hash_slot_num: 64,
        max_index_num: 256,
        flush_interval_commit_log: Duration::from_millis(20),
        flush_interval_consume_queue: Duration::from_millis(50),
        clean_resource_interval: Duration::from_secs(3600),
        max_message_size: 16 * 1024,
        // No delete hour: tests delete expired files through disk usage, so that they do not
        // depend on the time of day (the default deletes them during hour 04).
        delete_when: String::new(),
        ..StoreConfig::default()
    }
}

pub fn sync_config(root: &Path) -> StoreConfig {
    StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..small_config(root)
    }
}

/// Body of message `seq`: deterministic bytes, length 1..=max_len.
pub fn body_for(seq: u64, max_len: usize) -> Vec<u8> {
    let len = 1 + (seq.wrapping_mul(2_654_435_761) % max_len as u64) as usize;
    (0..len)
        .map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i * 7) as u8)
        .collect()
}

pub fn props(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}\u{2}"))
        .collect()
}

pub fn message(topic: &str, queue_id: i32, body: &[u8], properties: String) -> StoreMessage {
    StoreMessage {
        topic: topic.into(),
        queue_id,
        flag: 0,
        body: Bytes::copy_from_slice(body),
        properties,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:5000".parse().expect("address"),
        store_host: "127.0.0.1:10911".parse().expect("address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

pub fn batch(topic: &str, queue_id: i32, bodies: &[Vec<u8>]) -> StoreBatch {
    let m = message(topic, queue_id, b"", String::new());
    StoreBatch {
        topic: topic.into(),
        queue_id,
        sys_flag: 0,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        store_host: m.store_host,
        items: bodies
            .iter()
            .map(|b| BatchEntry {
                flag: 0,
                body: Bytes::copy_from_slice(b),
                properties: String::new(),
            })
            .collect(),
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A runtime with two workers, as on the build machine: concurrent appenders interleave.
pub fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Puts one message on a throwaway runtime.
pub fn put(store: &MessageStore, msg: StoreMessage) -> PutMessageResult {
    runtime().block_on(store.put_message(msg))
}

pub fn put_batch(store: &MessageStore, b: StoreBatch) -> PutMessageResult {
    runtime().block_on(store.put_messages(b))
}

/// Polls `cond` until it holds or 10 s pass.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until everything appended is in the consume queues and index.
pub fn wait_dispatched(store: &Arc<MessageStore>) {
    wait_until("dispatch", || store.dispatch_behind_bytes() == 0);
}
