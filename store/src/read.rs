//! The read side of [`MessageStore`]: pulls from a queue ([`GetMessageResult`], statuses as
//! in RocketMQ's GetMessageStatus), single records by CommitLog offset, key queries through
//! the IndexFiles, queue offsets and store times. Records are returned as zero-copy
//! [`Bytes`] that borrow the CommitLog map; only ConsumeQueue entries are copied.

use bytes::Bytes;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::record::parse_record;

use super::consume_queue::CqEntry;
use super::message_store::MessageStore;

/// Most ConsumeQueue entries one pull examines (RocketMQ's maxFilterMessageCount).
const MAX_FILTER_SCAN: usize = 16_000;

/// Which offset [`MessageStore::offset_by_time`] returns around a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryType {
    /// The first message stored at or after the time (the queue's max offset if none).
    Lower,
    /// The last message stored at or before the time (the queue's min offset if none).
    Upper,
}

/// RocketMQ's GetMessageStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    /// Entries were examined but the filter matched none.
    NoMatchedMessage,
    /// The entries point at CommitLog files already deleted.
    MessageWasRemoving,
    /// The queue says the entry exists but it cannot be read.
    OffsetFoundNull,
    /// offset > max offset.
    OffsetOverflowBadly,
    /// offset == max offset (nothing new yet).
    OffsetOverflowOne,
    /// offset < min offset.
    OffsetTooSmall,
    /// No consume queue for this topic and queue id.
    NoMatchedLogicQueue,
    /// The queue has never held a message.
    NoMessageInQueue,
}

/// The answer to a pull.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Whole stored records, zero-copy.
    pub messages: Vec<Bytes>,
    pub total_bytes: usize,
}

/// The answer to a key query.
#[derive(Debug, Clone, Default)]
pub struct QueryMessageResult {
    pub messages: Vec<Bytes>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phy_offset: i64,
}

impl MessageStore {
    /// Up to `max_count` records of `topic`/`queue_id` from `offset` whose tag code passes
    /// `filter`, stopping before `max_bytes` would be exceeded (at least one record is
    /// returned when one matches).
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
    ) -> GetMessageResult {
        let mut res = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            total_bytes: 0,
        };
        let Some(cq) = self.queues.get(topic, queue_id) else {
            return res;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        (res.min_offset, res.max_offset) = (min, max);
        let (status, next) = if max == 0 {
            (GetMessageStatus::NoMessageInQueue, 0)
        } else if offset < min {
            (GetMessageStatus::OffsetTooSmall, min)
        } else if offset == max {
            (GetMessageStatus::OffsetOverflowOne, offset)
        } else if offset > max {
            let next = if min == 0 { min } else { max };
            (GetMessageStatus::OffsetOverflowBadly, next)
        } else {
            (GetMessageStatus::NoMatchedMessage, offset)
        };
        (res.status, res.next_begin_offset) = (status, next);
        if status != GetMessageStatus::NoMatchedMessage {
            return res;
        }
        let max_count = max_count.max(1);
        let cl_min = self.commit_log.min_offset();
        let mut next = offset;
        let mut scanned = 0;
        let mut removed = false;
        'scan: while next < max && scanned < MAX_FILTER_SCAN {
            let entries = cq.entries(next, ((max - next) as usize).min(MAX_FILTER_SCAN - scanned));
            if entries.is_empty() {
                if res.messages.is_empty() && !removed {
                    res.status = GetMessageStatus::OffsetFoundNull;
                }
                break;
            }
            for e in entries {
                if !e.is_valid() || !filter(e.tag_code) {
                    next += 1;
                    scanned += 1;
                    continue;
                }
                let size = e.size as usize;
                if !res.messages.is_empty() && res.total_bytes + size > max_bytes {
                    break 'scan;
                }
                let record = (e.commit_log_offset >= cl_min)
                    .then(|| {
                        self.commit_log
                            .record_bytes_sized(e.commit_log_offset, size)
                    })
                    .flatten();
                match record {
                    Some(b) => {
                        res.total_bytes += size;
                        res.messages.push(b);
                    }
                    None => removed = true,
                }
                next += 1;
                scanned += 1;
                if res.messages.len() >= max_count {
                    break 'scan;
                }
            }
        }
        res.next_begin_offset = next;
        if !res.messages.is_empty() {
            res.status = GetMessageStatus::Found;
        } else if removed {
            res.status = GetMessageStatus::MessageWasRemoving;
        }
        res
    }

    /// Up to `count` consume-queue entries of the queue from `index` (admin tools), with
    /// the queue's min and max offsets; `None` when the queue does not exist.
    pub fn consume_queue_entries(
        &self,
        topic: &str,
        queue_id: i32,
        index: i64,
        count: usize,
    ) -> Option<(i64, i64, Vec<CqEntry>)> {
        let cq = self.queues.get(topic, queue_id)?;
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let from = index.max(min);
        let to = max.min(from.saturating_add(count as i64));
        let entries = (from..to).filter_map(|i| cq.entry(i)).collect();
        Some((min, max, entries))
    }

    /// Next logical offset of the queue (0 if it has none).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .get(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// First logical offset still readable (0 if the queue has none).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .get(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// STORETIMESTAMP of the message at `logic_offset` of the queue.
    pub fn store_time_at(&self, topic: &str, queue_id: i32, logic_offset: i64) -> Option<i64> {
        let e = self.queues.get(topic, queue_id)?.entry(logic_offset)?;
        if !e.is_valid() || e.commit_log_offset < self.commit_log.min_offset() {
            return None;
        }
        self.commit_log.store_timestamp_at(e.commit_log_offset)
    }

    /// The queue offset for `timestamp` (binary search on store times), see [`BoundaryType`].
    pub fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: BoundaryType,
    ) -> i64 {
        let Some(cq) = self.queues.get(topic, queue_id) else {
            return 0;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        // Unreadable entries sort first: they can only be blanks before the real entries.
        let time = |o: i64| self.store_time_at(topic, queue_id, o).unwrap_or(i64::MIN);
        let (mut lo, mut hi) = (min, max);
        match boundary {
            BoundaryType::Lower => {
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if time(mid) < timestamp {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
            BoundaryType::Upper => {
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if time(mid) <= timestamp {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                (lo - 1).max(min)
            }
        }
    }

    /// STORETIMESTAMP of the oldest message still in the queue.
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let min = self.queues.get(topic, queue_id)?.min_offset();
        self.store_time_at(topic, queue_id, min)
    }

    /// STORETIMESTAMP of the oldest record in the CommitLog.
    pub fn earliest_message_time_overall(&self) -> Option<i64> {
        let min = self.commit_log.min_offset();
        self.commit_log.store_timestamp_at(min)
    }

    /// The whole record starting at `commit_log_offset`.
    pub fn message_at(&self, commit_log_offset: i64) -> Option<Bytes> {
        if commit_log_offset < self.commit_log.min_offset() {
            return None;
        }
        self.commit_log.record_bytes(commit_log_offset)
    }

    /// Messages of `topic` whose KEYS or UNIQ_KEY contain `key`, stored within
    /// `[begin, end]` (ms), newest first, at most `max_num` (capped by `maxMsgsNumBatch`).
    pub fn query_messages(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let mut res = QueryMessageResult::default();
        let Some(index) = &self.index else {
            return res;
        };
        let max = max_num.min(self.config.max_msgs_num_batch);
        // Ask for more candidates than needed: hash collisions are filtered out below.
        let (offsets, ts, phy) = index.lookup(&format!("{topic}#{key}"), begin, end, max * 2 + 8);
        res.index_last_update_timestamp = ts;
        res.index_last_update_phy_offset = phy;
        for off in offsets {
            if res.messages.len() >= max {
                break;
            }
            let Some(b) = self.message_at(off) else {
                continue;
            };
            let matches = parse_record(&b).is_ok_and(|r| {
                r.topic() == topic
                    && (r.property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == Some(key)
                        || r.property(keys::KEYS)
                            .is_some_and(|k| k.split(' ').any(|t| t == key)))
            });
            if matches {
                res.messages.push(b);
            }
        }
        res
    }
}
