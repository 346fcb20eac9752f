//! Retention and disk limits: the cleaner deletes expired (or, on a nearly full disk, any)
//! CommitLog files with their consume queue and index files, queue min offsets follow, and
//! a full disk refuses appends while reads keep working (disk usage comes from a probe); a
//! failed file creation poisons the store the same way.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fennec_protocol::message::record::parse_record;
use fennec_store::{DiskUsageProbe, GetMessageStatus, MessageStore, PutMessageStatus, StoreConfig};

fn with_probe(config: StoreConfig, percent: &Arc<AtomicU64>) -> StoreConfig {
    let p = percent.clone();
    StoreConfig {
        disk_usage_probe: Some(DiskUsageProbe(Arc::new(move |_| {
            Ok(p.load(Ordering::Relaxed) as f64)
        }))),
        clean_resource_interval: Duration::from_millis(10),
        ..config
    }
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn full_disk_refuses_appends_but_reads_work() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU64::new(50));
    let store = MessageStore::open(with_probe(small_config(dir.path()), &percent)).unwrap();
    assert!(put(&store, message("D", 0, b"before", String::new())).is_ok());
    percent.store(95, Ordering::Relaxed);
    wait_until("disk full", || store.stats().disk_full);
    let r = put(&store, message("D", 0, b"refused", String::new()));
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(r.remark.unwrap().contains("disk full"));
    wait_dispatched(&store);
    let got = store.get_messages("D", 0, 0, 10, usize::MAX, &|_| true);
    assert_eq!(got.messages.len(), 1);
    percent.store(50, Ordering::Relaxed);
    wait_until("disk not full", || !store.stats().disk_full);
    assert!(put(&store, message("D", 0, b"after", String::new())).is_ok());
}

#[test]
fn expired_files_are_deleted_and_queues_follow() {
    let dir = tempfile::tempdir().unwrap();
    // 80 %: over diskMaxUsedSpaceRatio, so expired files go at any hour; everything is
    // "expired" with a reserve of 0 hours.
    let percent = Arc::new(AtomicU64::new(0));
    let config = StoreConfig {
        file_reserved_time_hours: 0,
        ..with_probe(small_config(dir.path()), &percent)
    };
    let store = MessageStore::open(config).unwrap();
    for seq in 0..400u64 {
        let m = message(
            "E",
            0,
            &body_for(seq, 1500),
            props(&[("KEYS", &format!("k{seq}"))]),
        );
        assert!(put(&store, m).is_ok());
    }
    wait_dispatched(&store);
    let cl_files = files_in(&dir.path().join("commitlog"));
    let cq_dir = dir.path().join("consumequeue/E/0");
    let (cq_files, index_files) = (files_in(&cq_dir), files_in(&dir.path().join("index")));
    // The 400 records fill 5 whole files and part of a sixth; fennec-alloc may or may not
    // have created the next file yet, so count only the files that hold records.
    let written = store.commit_log_max_offset() / (64 * 1024) + 1;
    assert!(
        written >= 6 && cl_files as i64 >= written && cq_files >= 4 && index_files > 1,
        "{written} commit log files written, {cl_files} on disk, {cq_files} queue, \
         {index_files} index files"
    );
    percent.store(80, Ordering::Relaxed);
    let current = store.commit_log_max_offset() / (64 * 1024) * (64 * 1024);
    wait_until("commit log cleaned", || {
        store.commit_log_min_offset() == current
    });
    wait_until("queue cleaned", || files_in(&cq_dir) < cq_files);
    wait_until("index cleaned", || {
        files_in(&dir.path().join("index")) < index_files
    });

    let min = store.min_offset_in_queue("E", 0);
    assert!(min > 0);
    let r = store.get_messages("E", 0, 0, 10, usize::MAX, &|_| true);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, min)
    );
    let r = store.get_messages("E", 0, min, 10, usize::MAX, &|_| true);
    assert_eq!(r.status, GetMessageStatus::Found);
    let first = parse_record(&r.messages[0]).unwrap();
    assert!(first.physical_offset() >= store.commit_log_min_offset());
    assert_eq!(first.queue_offset(), min);
    assert!(store.message_at(0).is_none());
    assert_eq!(
        store.earliest_message_time("E", 0),
        Some(first.store_timestamp())
    );
    assert!(store
        .query_messages("E", "k0", 10, 0, i64::MAX)
        .messages
        .is_empty());
    assert_eq!(
        store
            .query_messages("E", "k399", 10, 0, i64::MAX)
            .messages
            .len(),
        1
    );
    // Appends continue with the right offsets.
    let a = put(&store, message("E", 0, b"more", String::new()))
        .append
        .unwrap();
    assert_eq!(a.queue_offset, 400);
}

#[test]
fn unexpired_files_are_kept_unless_the_disk_is_nearly_full() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU64::new(80));
    let store = MessageStore::open(with_probe(small_config(dir.path()), &percent)).unwrap();
    for seq in 0..200u64 {
        assert!(put(&store, message("F", 0, &body_for(seq, 1500), String::new())).is_ok());
    }
    wait_dispatched(&store);
    // Let a few passes run at 80 %: files are 72 h from expiry, so none go.
    let passes_at = std::time::Instant::now();
    wait_until("a few cleaner passes", || {
        passes_at.elapsed() > Duration::from_millis(100)
    });
    assert_eq!(store.commit_log_min_offset(), 0);
    percent.store(88, Ordering::Relaxed);
    wait_until("forced clean", || store.commit_log_min_offset() > 0);
    assert!(
        !store.stats().disk_full,
        "88 % is under the 90 % warning level"
    );
}

#[test]
fn failed_file_creation_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    // A directory where the third commit log file must go makes its creation fail.
    std::fs::create_dir(dir.path().join("commitlog/00000000000000131072")).unwrap();
    let mut statuses = Vec::new();
    for seq in 0..200u64 {
        let r = put(&store, message("P", 0, &body_for(seq, 1500), String::new()));
        statuses.push(r.status);
        if r.status != PutMessageStatus::PutOk {
            break;
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&PutMessageStatus::CreateMappedFileFailed)
    );
    let written = statuses.len() as i64 - 1;
    let r = put(&store, message("P", 0, b"later", String::new()));
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(r.remark.unwrap().contains("poisoned"));
    assert!(store.stats().poisoned.is_some());
    wait_dispatched(&store);
    let got = store.get_messages("P", 0, 0, 1000, usize::MAX, &|_| true);
    assert_eq!(got.messages.len() as i64, written, "reads keep working");
}
