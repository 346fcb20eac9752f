//! The check-back thread `fennec-tx-check`. Every half second (or every
//! `transactionCheckInterval`, if shorter) it reads the new half and op messages; every
//! `transactionCheckInterval` it checks the open half messages older than
//! `transactionTimeOut` (or their CHECK_IMMUNITY_TIME_IN_SECONDS, if longer):
//!
//! * one that was checked `transactionCheckMax` times already is given up: copied to
//!   TRANS_CHECK_MAX_TIME_TOPIC, closed with an op message, logged;
//! * any other gets one more CHECK_TRANSACTION_STATE, sent oneway on the connection of a
//!   live producer of its group (PGROUP) chosen at random among those that heartbeat to
//!   this broker. A check with no live producer to ask still counts, as in RocketMQ.
//!
//! The thread appends with the store's blocking append and hands the sends to tokio; it
//! saves the progress every few seconds and when it stops.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use fennec_protocol::message::msg_id::random_u32;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::record::{parse_record, RecordView};
use fennec_protocol::request::Request;
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::{TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC};
use fennec_remoting::Channel;
use tracing::{debug, info, warn};

use super::records;
use super::state::OpenHalf;
use crate::broker::Broker;

/// Longest pause between two reads of the queues.
const READ_EVERY: Duration = Duration::from_millis(500);
/// How often changed progress is saved.
const SAVE_EVERY: Duration = Duration::from_secs(5);

pub(super) fn spawn(
    b: Arc<Broker>,
    stop: Receiver<()>,
    handle: tokio::runtime::Handle,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("fennec-tx-check".into())
        .spawn(move || run(&b, &stop, &handle))
}

fn run(b: &Broker, stop: &Receiver<()>, handle: &tokio::runtime::Handle) {
    let interval = Duration::from_millis(b.config.transaction_check_interval.max(1));
    let mut next_check = Instant::now() + interval;
    let mut saved = Instant::now();
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(interval.min(READ_EVERY)) {
        super::reader::catch_up(&b.store, &b.transactions.state);
        if Instant::now() >= next_check {
            check_pass(b, handle);
            next_check = Instant::now() + interval;
        }
        if saved.elapsed() >= SAVE_EVERY {
            b.transactions.save();
            saved = Instant::now();
        }
    }
    super::reader::catch_up(&b.store, &b.transactions.state);
    b.transactions.save();
}

/// One pass over the open half messages that are due.
fn check_pass(b: &Broker, handle: &tokio::runtime::Handle) {
    let timeout = i64::try_from(b.config.transaction_time_out).unwrap_or(i64::MAX);
    let now = now_millis();
    let due = b.transactions.state.lock().due(now, timeout);
    let (mut sent, mut unanswerable) = (0usize, 0usize);
    for open in due {
        let Some(record) = b.store.message_at(open.commit_log_offset) else {
            forget(b, &open, "the half message is no longer stored (retention)");
            continue;
        };
        let half = match parse_record(&record) {
            Ok(h) if h.topic() == TRANS_HALF_TOPIC && h.queue_offset() == open.offset => h,
            Ok(_) | Err(_) => {
                forget(b, &open, "no half message at its commit log offset");
                continue;
            }
        };
        if open.checks >= b.config.transaction_check_max {
            give_up(b, &open, &half, &record);
            continue;
        }
        if immune(&half, open.store_timestamp, now, timeout) {
            continue;
        }
        b.transactions.state.lock().checked(open.offset);
        let group = half.property(keys::PRODUCER_GROUP).unwrap_or_default();
        let Some(channel) = live_producer(b, group) else {
            debug!(offset = open.offset, %group, "no live producer to check a half message with");
            unanswerable += 1;
            continue;
        };
        let request = match records::check_request(&half, &record, &b.config.broker_name) {
            Ok(r) => r,
            Err(e) => {
                warn!(offset = open.offset, "cannot build the check request: {e}");
                continue;
            }
        };
        sent += 1;
        let cmd = request.to_command();
        handle.spawn(async move {
            if let Err(e) = channel.oneway(cmd).await {
                debug!(remote = %channel.remote_addr(), "CHECK_TRANSACTION_STATE not sent: {e}");
            }
        });
    }
    if sent + unanswerable > 0 {
        info!(
            sent,
            unanswerable, "transaction check pass: checks sent, checks with no live producer"
        );
    }
}

/// Drops an open half message that cannot be checked any more.
fn forget(b: &Broker, open: &OpenHalf, why: &str) {
    warn!(
        offset = open.offset,
        commit_log_offset = open.commit_log_offset,
        "{why}; the transaction is forgotten"
    );
    b.transactions.state.lock().forget(open.offset);
}

/// Whether CHECK_IMMUNITY_TIME_IN_SECONDS (when longer than the timeout) still protects the
/// half message from checks.
fn immune(half: &RecordView<'_>, stored: i64, now: i64, timeout: i64) -> bool {
    half.property(keys::CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(|secs| secs.saturating_mul(1000))
        .is_some_and(|immunity| immunity > timeout && stored.saturating_add(immunity) > now)
}

/// A connection of a live producer of `group`, chosen at random.
fn live_producer(b: &Broker, group: &str) -> Option<Channel> {
    let live: Vec<Channel> = b
        .producers
        .members(group)
        .into_iter()
        .map(|m| m.channel)
        .filter(|c| !c.is_closed())
        .collect();
    if live.is_empty() {
        return None;
    }
    let pick = random_u32() as usize % live.len();
    live.into_iter().nth(pick)
}

/// Moves a half message that used up its checks to TRANS_CHECK_MAX_TIME_TOPIC and closes it.
fn give_up(b: &Broker, open: &OpenHalf, half: &RecordView<'_>, record: &bytes::Bytes) {
    if !b.transactions.begin_resolve(open.offset) {
        return;
    }
    b.topics.ensure_system_topic(TRANS_CHECK_MAX_TIME_TOPIC, 1);
    let copy = records::given_up(half, record, open.checks, b.store_host);
    if let Err(r) = b.store.append_message(&copy) {
        b.transactions.abort_resolve(open.offset);
        warn!(offset = open.offset, status = ?r.status, "cannot store a given-up half message, trying again next pass: {}", r.remark.unwrap_or_default());
        return;
    }
    let op = records::op(open.offset, b.store_host);
    if let Err(r) = b.store.append_message(&op) {
        warn!(offset = open.offset, status = ?r.status, "cannot store the op message of a given-up half message: {}", r.remark.unwrap_or_default());
    }
    warn!(
        offset = open.offset,
        checks = open.checks,
        group = half.property(keys::PRODUCER_GROUP).unwrap_or_default(),
        topic = half.property(keys::REAL_TOPIC).unwrap_or_default(),
        msg_id = half
            .property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or_default(),
        "transaction given up after its checks: moved to {TRANS_CHECK_MAX_TIME_TOPIC}"
    );
}
