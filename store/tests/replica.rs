//! Replication at the store level: a slave store fed a master store's CommitLog bytes in
//! frames that cut entries anywhere ends byte-identical across file rolls and builds the same
//! queues; bytes that do not continue its log (another offset, a damaged entry, an entry that
//! belongs elsewhere) are refused and nothing is appended.

mod common;

use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
use common::{batch, body_for, message, put, put_batch, runtime, small_config, wait_dispatched};
use fennec_store::{BrokerRole, MessageStore, ReplicaError, StoreConfig};
use tempfile::TempDir;

fn slave_config(root: &Path) -> StoreConfig {
    StoreConfig {
        broker_role: BrokerRole::Slave,
        ..small_config(root)
    }
}

/// Feeds the slave everything the master holds from the slave's end, `frame` bytes at a
/// time, the way the HA slave does: a frame may end inside an entry (kept until the rest
/// arrives) and the rest of a file after its blank marker is skipped.
async fn replicate(master: &MessageStore, slave: &MessageStore, frame: usize) {
    let mut next = slave.commit_log_max_offset();
    let mut pending = BytesMut::new();
    let mut skip = 0usize;
    while let Some(data) = master.commit_log_data(next, frame) {
        next += data.len() as i64;
        pending.extend_from_slice(&data);
        loop {
            let n = skip.min(pending.len());
            let _ = pending.split_to(n);
            skip -= n;
            if pending.is_empty() {
                break;
            }
            let at = next - pending.len() as i64;
            let done = slave
                .append_replicated(at, &pending)
                .await
                .unwrap_or_else(|e| panic!("replicating offset {at}: {e}"));
            if done.consumed == 0 {
                break;
            }
            let _ = pending.split_to(done.consumed);
            skip = done.skip;
        }
    }
    assert!(pending.is_empty(), "{} bytes left over", pending.len());
}

/// The CommitLog files' bytes under `root` up to `end`.
fn log_bytes(root: &Path, end: i64) -> Vec<u8> {
    let dir = root.join("commitlog");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("commitlog dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        out.extend(std::fs::read(&p).expect("commitlog file"));
    }
    out.truncate(usize::try_from(end).expect("end"));
    out
}

/// A master store and an empty slave store, each in a directory of its own.
fn open_pair() -> (TempDir, TempDir, Arc<MessageStore>, Arc<MessageStore>) {
    let (mdir, sdir) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let master = MessageStore::open(small_config(mdir.path())).expect("master");
    let slave = MessageStore::open(slave_config(sdir.path())).expect("slave");
    (mdir, sdir, master, slave)
}

fn fill_master(master: &MessageStore, from: u64, n: u64) {
    for seq in from..from + n {
        let queue = (seq % 4) as i32;
        if seq % 5 == 0 {
            let bodies: Vec<Vec<u8>> = (0..3).map(|i| body_for(seq * 10 + i, 900)).collect();
            assert!(put_batch(master, batch("Repl", queue, &bodies)).is_ok());
        } else {
            let m = message("Repl", queue, &body_for(seq, 2000), String::new());
            assert!(put(master, m).is_ok());
        }
    }
}

#[test]
fn a_slave_fed_in_uneven_frames_is_byte_identical_across_file_rolls() {
    let (mdir, sdir, master, slave) = open_pair();
    let rt = runtime();
    fill_master(&master, 0, 300);
    // Frames of 1,000 bytes cut most entries; then everything new in one go.
    rt.block_on(replicate(&master, &slave, 1000));
    fill_master(&master, 300, 300);
    rt.block_on(replicate(&master, &slave, 32 * 1024));

    let end = master.commit_log_max_offset();
    assert!(end > 4 * 64 * 1024, "the log spans several files ({end})");
    assert_eq!(slave.commit_log_max_offset(), end);
    assert!(log_bytes(mdir.path(), end) == log_bytes(sdir.path(), end));
    wait_dispatched(&master);
    wait_dispatched(&slave);
    for q in 0..4 {
        assert_eq!(
            slave.max_offset_in_queue("Repl", q),
            master.max_offset_in_queue("Repl", q),
            "queue {q}"
        );
    }
    slave.shutdown();
    master.shutdown();
}

#[test]
fn bytes_that_do_not_continue_the_log_are_refused_and_nothing_is_appended() {
    let (mdir, sdir, master, slave) = open_pair();
    let rt = runtime();
    fill_master(&master, 0, 10);
    rt.block_on(replicate(&master, &slave, 4096));
    let end = slave.commit_log_max_offset();
    fill_master(&master, 10, 10);
    let data = master.commit_log_data(end, 64 * 1024).expect("new bytes");

    // Another offset than the slave's end.
    let r = rt.block_on(slave.append_replicated(end + 8, &data));
    assert!(matches!(r, Err(ReplicaError::Diverged { .. })), "{r:?}");
    // A damaged entry (a body byte flipped: the CRC no longer matches).
    let mut damaged = data.to_vec();
    let last = damaged.len() - 1;
    damaged[last / 2] ^= 0x5a;
    let stop = match rt.block_on(slave.append_replicated(end, &damaged)) {
        // The entries before the damaged one are good and may be taken first.
        Ok(done) => {
            assert!(done.consumed < damaged.len());
            let at = end + done.consumed as i64;
            let r = rt.block_on(slave.append_replicated(at, &damaged[done.consumed..]));
            assert!(matches!(r, Err(ReplicaError::Diverged { .. })), "{r:?}");
            at
        }
        Err(ReplicaError::Diverged { .. }) => end,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        slave.commit_log_max_offset(),
        stop,
        "nothing appended past the bad entry"
    );
    // An entry that belongs elsewhere: the master's next-but-one entry offered at the end.
    let first = master
        .commit_log_data(stop, 64 * 1024)
        .expect("master bytes");
    let size = i32::from_be_bytes(first[..4].try_into().expect("size")) as usize;
    let r = rt.block_on(slave.append_replicated(stop, &first[size..]));
    assert!(matches!(r, Err(ReplicaError::Diverged { .. })), "{r:?}");
    assert_eq!(slave.commit_log_max_offset(), stop);

    // The right bytes still continue it.
    rt.block_on(replicate(&master, &slave, 4096));
    let end = master.commit_log_max_offset();
    assert!(log_bytes(mdir.path(), end) == log_bytes(sdir.path(), end));
    slave.shutdown();
    master.shutdown();
}

/// Where PHYSICALOFFSET sits in a record: after TOTALSIZE, MAGICCODE, BODYCRC, QUEUEID,
/// FLAG (4 bytes each) and QUEUEOFFSET (8).
const PHYSICAL_OFFSET_AT: usize = 28;

/// Where BODYLENGTH sits in a record with IPv4 hosts (the fields before it: TOTALSIZE,
/// MAGICCODE, BODYCRC, QUEUEID, FLAG, QUEUEOFFSET, PHYSICALOFFSET, SYSFLAG, BORNTIMESTAMP,
/// BORNHOST, STORETIMESTAMP, STOREHOST, RECONSUMETIMES, PREPAREDTRANSACTIONOFFSET); the
/// body follows it.
const BODY_LENGTH_AT: usize = 84;
const BODY_AT: usize = BODY_LENGTH_AT + 4;

/// BODYLENGTH of the record at the start of `frame` (0 if it is too short).
fn body_len(frame: &[u8]) -> usize {
    frame
        .get(BODY_LENGTH_AT..BODY_AT)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b| i32::from_be_bytes(b).max(0) as usize)
}

/// Whether both stores hold the same CommitLog bytes in `from..to`.
fn same_bytes(a: &MessageStore, b: &MessageStore, from: i64, to: i64) -> bool {
    let mut at = from;
    while at < to {
        let want = usize::try_from(to - at).expect("range");
        let (Some(x), Some(y)) = (a.commit_log_data(at, want), b.commit_log_data(at, want)) else {
            return false;
        };
        let n = x.len().min(y.len());
        if n == 0 || x[..n] != y[..n] {
            return false;
        }
        at += n as i64;
    }
    true
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn damaged_frames_never_leave_anything_but_a_prefix_of_the_masters_log() {
    let (mdir, sdir, master, slave) = open_pair();
    let rt = runtime();
    fill_master(&master, 0, 600);
    let end = master.commit_log_max_offset();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..2000 {
        let at = slave.commit_log_max_offset();
        let Some(data) = master.commit_log_data(at, 1 + rng.below(8192)) else {
            break;
        };
        let mut frame = data.to_vec();
        // Most rounds damage the frame: cut it, shift it off entry boundaries, replace it
        // with noise, or flip a byte of a checked field or of the body of its first entry.
        // (A flip elsewhere in a record's header is not caught: the record's CRC covers its
        // body only, as in RocketMQ; TCP's checksum guards the transport.)
        match rng.below(5) {
            0 => frame.truncate(rng.below(frame.len())),
            1 => {
                let k = 1 + rng.below(frame.len());
                frame.drain(..k.min(frame.len()));
            }
            2 => frame.iter_mut().for_each(|b| *b = rng.next() as u8),
            3 => {
                let i = match rng.below(3) {
                    0 => rng.below(12), // TOTALSIZE, MAGICCODE, BODYCRC
                    1 => PHYSICAL_OFFSET_AT + rng.below(8),
                    _ => {
                        let body = body_len(&frame).max(1);
                        BODY_AT + rng.below(body)
                    }
                };
                if let Some(b) = frame.get_mut(i) {
                    *b ^= 1 + rng.below(255) as u8;
                }
            }
            _ => {}
        }
        match rt.block_on(slave.append_replicated(at, &frame)) {
            Ok(done) => assert!(done.consumed <= frame.len(), "round {round}"),
            Err(ReplicaError::Diverged { .. }) => {}
            Err(e) => panic!("round {round}: {e}"),
        }
        let now = slave.commit_log_max_offset();
        assert!(now >= at && now <= end, "round {round}: {at} -> {now}");
        assert!(
            same_bytes(&master, &slave, at, now),
            "round {round}: the slave's log is not a prefix of the master's"
        );
    }
    // Undamaged frames finish the copy.
    rt.block_on(replicate(&master, &slave, 4096));
    assert!(log_bytes(mdir.path(), end) == log_bytes(sdir.path(), end));
    slave.shutdown();
    master.shutdown();
}
