//! Store benchmark: `cargo bench -p fennec-broker --bench store [-- --quick]`
//! (or `FENNEC_BENCH_QUICK=1`; `FENNEC_BENCH_DIR` picks the directory, default the system
//! temp dir).
//!
//! Each scenario runs beside a baseline measured in the same run:
//! * appends (128 B / 1 KiB / 4 KiB bodies, 1 and 4 writer threads, ASYNC_FLUSH) against a
//!   raw memcpy of the same encoded record bytes into pre-warmed mapped files;
//! * SYNC_FLUSH group commit (64 concurrent writers) against memcpy + msync per message;
//! * dispatch (rebuilding consume queues and index from the log at open) against parsing
//!   the same log without building anything.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fennec_protocol::message::record::{encode_record, parse_entry, Entry, RecordFields};
use fennec_store::{FlushDiskType, MappedFile, MessageStore, StoreConfig, StoreMessage};
use futures_util::FutureExt;

const TOPIC: &str = "BenchTopic";

struct Settings {
    quick: bool,
    dir: std::path::PathBuf,
}

impl Settings {
    /// CommitLog file size: one file holds a whole append scenario, so appends run in the
    /// file opened with the store, its window kept reserved and faulted in ahead of them by
    /// the allocator, as in steady state.
    fn file_size(&self) -> usize {
        if self.quick {
            64 << 20
        } else {
            512 << 20
        }
    }

    /// Bytes each append scenario writes.
    fn budget(&self) -> usize {
        if self.quick {
            24 << 20
        } else {
            256 << 20
        }
    }
}

#[derive(Default)]
struct Row {
    name: String,
    ops: u64,
    secs: f64,
    bytes: u64,
    lat_ns: Vec<u32>,
    baseline_ops_per_sec: f64,
    note: String,
}

impl Row {
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn print(rows: &mut [Row]) {
    println!(
        "{:<34} {:>11} {:>9} {:>9} {:>9} {:>10} {:>12} {:>7}  note",
        "scenario", "ops/s", "MB/s", "p50 us", "p99 us", "max us", "baseline/s", "ratio"
    );
    for r in rows.iter_mut() {
        r.lat_ns.sort_unstable();
        let (p50, p99, max) = if r.lat_ns.is_empty() {
            ("-".to_string(), "-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.2}", percentile(&r.lat_ns, 0.5)),
                format!("{:.2}", percentile(&r.lat_ns, 0.99)),
                format!("{:.1}", percentile(&r.lat_ns, 1.0)),
            )
        };
        let stalls: Vec<u64> = r
            .lat_ns
            .iter()
            .filter(|l| **l > 50_000)
            .map(|l| u64::from(*l))
            .collect();
        if !stalls.is_empty() {
            r.note.push_str(&format!(
                "; {} appends >50us took {:.0} ms",
                stalls.len(),
                stalls.iter().sum::<u64>() as f64 / 1e6
            ));
        }
        println!(
            "{:<34} {:>11.0} {:>9.1} {:>9} {:>9} {:>10} {:>12.0} {:>6.0}%  {}",
            r.name,
            r.ops_per_sec(),
            r.bytes as f64 / r.secs / 1e6,
            p50,
            p99,
            max,
            r.baseline_ops_per_sec,
            100.0 * r.ops_per_sec() / r.baseline_ops_per_sec,
            r.note
        );
    }
}

fn properties(i: u64) -> String {
    format!("UNIQ_KEY\u{1}7F000001{i:024X}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}")
}

fn message(body: &Bytes, queue_id: i32, i: u64) -> StoreMessage {
    StoreMessage {
        topic: TOPIC.to_string(),
        queue_id,
        flag: 0,
        body: body.clone(),
        properties: properties(i),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:40000".parse().expect("address"),
        store_host: "127.0.0.1:10911".parse().expect("address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The record the store writes for a message of `body_len` bytes.
fn encoded_record(body_len: usize) -> Vec<u8> {
    let body = vec![7u8; body_len];
    let props = properties(0);
    let mut out = Vec::new();
    encode_record(
        &RecordFields {
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:40000".parse().expect("address"),
            store_timestamp: 0,
            store_host: "127.0.0.1:10911".parse().expect("address"),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: &body,
            topic: TOPIC,
            properties: props.as_bytes(),
        },
        &mut out,
    )
    .expect("encode");
    out
}

fn store_config(s: &Settings, root: &std::path::Path, flush: FlushDiskType) -> StoreConfig {
    StoreConfig {
        store_path_root_dir: root.to_path_buf(),
        mapped_file_size_commit_log: s.file_size(),
        flush_disk_type: flush,
        max_hash_slot_num: 1_000_000,
        max_index_num: 4_000_000,
        flush_commit_log_least_pages: std::env::var("LP")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4),
        ..StoreConfig::default()
    }
}

/// memcpy of `record` into pre-warmed mapped files, `threads` writers each with its own
/// files; returns (ops/s, latencies).
fn baseline_memcpy(
    s: &Settings,
    record: &[u8],
    ops_per_thread: u64,
    threads: usize,
) -> (f64, Vec<u32>) {
    let dir = tempfile::tempdir_in(&s.dir).expect("tempdir");
    let per_thread_bytes = ops_per_thread as usize * record.len();
    let files_per_thread = per_thread_bytes.div_ceil(s.file_size() - record.len());
    let mut writers = Vec::new();
    for t in 0..threads {
        let sub = dir.path().join(t.to_string());
        std::fs::create_dir(&sub).expect("mkdir");
        let mut ws = Vec::new();
        for f in 0..files_per_thread {
            let file = MappedFile::create(&sub, (f * s.file_size()) as i64, s.file_size())
                .expect("create");
            let mut w = file.writer().expect("writer");
            w.warm(|| false).expect("warm");
            ws.push(w);
        }
        writers.push(ws);
    }
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = writers
        .into_iter()
        .map(|mut ws| {
            let record = record.to_vec();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(ops_per_thread as usize);
                let mut current = 0;
                barrier.wait();
                for _ in 0..ops_per_thread {
                    let t0 = Instant::now();
                    if ws[current].append(&record).expect("reserved").is_none() {
                        current += 1;
                        ws[current]
                            .append(&record)
                            .expect("reserved")
                            .expect("fits");
                    }
                    lat.push(t0.elapsed().as_nanos() as u32);
                }
                lat
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().expect("thread"));
    }
    let secs = start.elapsed().as_secs_f64();
    ((ops_per_thread * threads as u64) as f64 / secs, lat)
}

/// One ASYNC_FLUSH run of `threads` writer threads: (ops/s, bytes appended, latencies).
fn store_run(
    s: &Settings,
    body_len: usize,
    threads: usize,
    ops_per_thread: u64,
) -> (f64, u64, Vec<u32>) {
    let dir = tempfile::tempdir_in(&s.dir).expect("tempdir");
    let store =
        MessageStore::open(store_config(s, dir.path(), FlushDiskType::AsyncFlush)).expect("open");
    wait_next_file(&store);
    let body = Bytes::from(vec![7u8; body_len]);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, barrier, body) = (store.clone(), barrier.clone(), body.clone());
            let builder = std::thread::Builder::new().name("bench-writer".into());
            builder
                .spawn(move || {
                    let msgs: Vec<StoreMessage> = (0..ops_per_thread)
                        .map(|i| message(&body, t as i32, i))
                        .collect();
                    let mut lat = Vec::with_capacity(msgs.len());
                    barrier.wait();
                    for m in msgs {
                        let t0 = Instant::now();
                        let r = store
                            .put_message(m)
                            .now_or_never()
                            .expect("async put completes at once");
                        lat.push(t0.elapsed().as_nanos() as u32);
                        assert!(r.is_ok(), "{r:?}");
                    }
                    lat
                })
                .expect("spawn")
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut lat_ns = Vec::new();
    for h in handles {
        lat_ns.extend(h.join().expect("thread"));
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = store.stats().put_bytes;
    store.shutdown();
    (
        (ops_per_thread * threads as u64) as f64 / secs,
        bytes,
        lat_ns,
    )
}

/// ASYNC_FLUSH appends from `threads` writer threads beside the memcpy baseline; each is
/// run `reps` times alternately and the best run of each is kept (the machine is shared).
fn store_appends(s: &Settings, body_len: usize, threads: usize) -> Row {
    let record = encoded_record(body_len);
    let ops_per_thread = (s.budget() / record.len() / threads) as u64;
    let reps = if s.quick { 1 } else { 3 };
    let (mut baseline, mut base_lat) = (0.0, Vec::new());
    let (mut best, mut bytes, mut lat_ns) = (0.0, 0, Vec::new());
    for _ in 0..reps {
        let (b, bl) = baseline_memcpy(s, &record, ops_per_thread, threads);
        if b > baseline {
            (baseline, base_lat) = (b, bl);
        }
        let (ops, by, lat) = store_run(s, body_len, threads, ops_per_thread);
        if ops > best {
            (best, bytes, lat_ns) = (ops, by, lat);
        }
    }
    base_lat.sort_unstable();
    let ops = ops_per_thread * threads as u64;
    Row {
        name: format!("append {} x{threads} async", size_name(body_len)),
        ops,
        secs: ops as f64 / best,
        bytes,
        lat_ns,
        baseline_ops_per_sec: baseline,
        note: format!(
            "baseline: memcpy x{threads} into warm mmap, p50 {:.2} us p99 {:.2} us",
            percentile(&base_lat, 0.5),
            percentile(&base_lat, 0.99)
        ),
    }
}

/// Waits (up to 30 s) until the allocator has warmed the next file, so the measurement
/// sees the steady state rather than the start-up burst of page faults.
fn wait_next_file(store: &MessageStore) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.stats().next_file_ready && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn size_name(n: usize) -> String {
    if n >= 1024 {
        format!("{}KiB", n / 1024)
    } else {
        format!("{n}B")
    }
}

/// SYNC_FLUSH with 64 concurrent writers against memcpy + msync per message.
fn sync_flush(s: &Settings, body_len: usize) -> Row {
    let record = encoded_record(body_len);
    let base_ops = if s.quick { 200 } else { 1000 };
    let dir = tempfile::tempdir_in(&s.dir).expect("tempdir");
    let file = MappedFile::create(dir.path(), 0, s.file_size()).expect("create");
    let mut w = file.writer().expect("writer");
    w.warm(|| false).expect("warm");
    file.flush().expect("msync");
    let start = Instant::now();
    for _ in 0..base_ops {
        w.append(&record).expect("reserved").expect("fits");
        file.flush().expect("msync");
    }
    let baseline = f64::from(base_ops) / start.elapsed().as_secs_f64();
    drop(w);

    let store_dir = tempfile::tempdir_in(&s.dir).expect("tempdir");
    let store = MessageStore::open(store_config(s, store_dir.path(), FlushDiskType::SyncFlush))
        .expect("open");
    let writers = 64u64;
    let per_writer: u64 = if s.quick { 60 } else { 400 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let before = store.stats();
    let body = Bytes::from(vec![7u8; body_len]);
    let start = Instant::now();
    let lat_ns = rt.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|t| {
                let (store, body) = (store.clone(), body.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for i in 0..per_writer {
                        let m = message(&body, (t % 8) as i32, i);
                        let t0 = Instant::now();
                        let r = store.put_message(m).await;
                        lat.push(t0.elapsed().as_nanos() as u32);
                        assert!(r.is_ok(), "{r:?}");
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let secs = start.elapsed().as_secs_f64();
    let after = store.stats();
    store.shutdown();
    let appends = after.put_count - before.put_count;
    let msyncs = after.msync_count - before.msync_count;
    Row {
        name: format!("sync flush {} x64 writers", size_name(body_len)),
        ops: appends,
        secs,
        bytes: after.put_bytes - before.put_bytes,
        lat_ns,
        baseline_ops_per_sec: baseline,
        note: format!(
            "{:.1} appends/msync ({msyncs} msyncs); baseline: memcpy+msync each",
            appends as f64 / msyncs.max(1) as f64
        ),
    }
}

/// Rebuilds consume queues and index from a log of 1 KiB messages at open, against a
/// parse-only pass over the same log.
fn dispatch(s: &Settings) -> Row {
    let dir = tempfile::tempdir_in(&s.dir).expect("tempdir");
    let config = StoreConfig {
        check_crc_on_recover: false,
        ..store_config(s, dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = MessageStore::open(config.clone()).expect("open");
    let body = Bytes::from(vec![7u8; 1024]);
    let n = (s.budget() / 2 / 1200) as u64;
    for i in 0..n {
        let r = store
            .put_message(message(&body, (i % 8) as i32, i))
            .now_or_never()
            .expect("put");
        assert!(r.is_ok());
    }
    store.shutdown();
    drop(store);

    // Baseline: walk the same log, parsing every record, building nothing.
    let start = Instant::now();
    let mut parsed = 0u64;
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("commitlog"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for (i, path) in files.iter().enumerate() {
        let f = MappedFile::open(path, (i * s.file_size()) as i64, s.file_size()).expect("open");
        let buf = f.read(0, s.file_size()).expect("read");
        let mut pos = 0;
        while let Ok(Entry::Record(r)) = parse_entry(&buf[pos..]) {
            pos += r.total_size();
            parsed += 1;
        }
    }
    let baseline = parsed as f64 / start.elapsed().as_secs_f64();

    std::fs::remove_dir_all(dir.path().join("consumequeue")).expect("rm");
    std::fs::remove_dir_all(dir.path().join("index")).expect("rm");
    std::fs::remove_file(dir.path().join("checkpoint")).expect("rm");
    std::fs::write(dir.path().join("abort"), b"0").expect("abort");
    let store = MessageStore::open(config).expect("reopen");
    let report = store.recovery_report().clone();
    let secs = report.redispatch_elapsed.as_secs_f64();
    store.shutdown();
    assert_eq!(report.records_redispatched, n);
    Row {
        name: "dispatch 1KiB (rebuild at open)".into(),
        ops: n,
        secs,
        bytes: n * 1200,
        lat_ns: Vec::new(),
        baseline_ops_per_sec: baseline,
        note: format!(
            "CQ + index build of {n} records (whole open {:.2} s); baseline: parse only",
            report.elapsed.as_secs_f64()
        ),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var_os("FENNEC_BENCH_QUICK").is_some();
    let dir = std::env::var_os("FENNEC_BENCH_DIR")
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let s = Settings { quick, dir };
    let started = Instant::now();
    // FENNEC_BENCH_ONLY=<substring> runs the matching scenarios only (for profiling).
    let only = std::env::var("FENNEC_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| name.contains(only.as_str());
    let mut rows = Vec::new();
    for threads in [1, 4] {
        for size in [128, 1024, 4096] {
            if wanted(&format!("append {} x{threads} async", size_name(size))) {
                rows.push(store_appends(&s, size, threads));
                // Let writeback of the last scenario's pages settle before the next.
                std::thread::sleep(Duration::from_millis(if quick { 0 } else { 200 }));
            }
        }
    }
    if wanted("sync flush 1KiB x64 writers") {
        rows.push(sync_flush(&s, 1024));
    }
    if wanted("dispatch 1KiB (rebuild at open)") {
        rows.push(dispatch(&s));
    }
    print(&mut rows);
    println!(
        "({} run in {:.1} s; baseline/s and ratio compare ops/s with the baseline)",
        if quick { "quick" } else { "full" },
        started.elapsed().as_secs_f64()
    );
}
