//! [`LevelQueues`]: delivery of delay-level messages (RocketMQ 4's ScheduleMessageService).
//! Each level's queue of `SCHEDULE_TOPIC_XXXX` (queue = level - 1) is in due-time order, since
//! every entry waits the same delay after its store time; delivery walks each from its
//! progress offset and stops at the first entry not yet due. A due time further ahead than
//! the level's delay (the clock went back) is capped at now + delay.

use std::collections::BTreeMap;

use fennec_protocol::body::DelayOffsetTable;
use fennec_protocol::topic::SCHEDULE_TOPIC;

use super::levels::DelayLevels;
use super::redeliver::{Outcome, Source};
use crate::consume_queue::CqEntry;
use crate::queue_table::ConsumeQueueTable;

/// Most entries one level delivers per pass, so that no level or timer starves.
const PASS_LIMIT: usize = 4096;

/// The outcome of one pass over the levels.
#[derive(Debug, Default)]
pub(crate) struct LevelPass {
    /// The earliest due time of an entry not delivered yet.
    pub next_due: Option<i64>,
    /// A level stopped at its pass limit with due entries left.
    pub more: bool,
    /// An append was refused; the entry is tried again later.
    pub failed: Option<String>,
}

/// Per level, the next queue offset to deliver.
#[derive(Debug, Default)]
pub(crate) struct LevelQueues {
    offsets: BTreeMap<i32, i64>,
    delivered_total: u64,
}

impl LevelQueues {
    /// Resumes from the saved offsets (`config/delayOffset.json`).
    pub(crate) fn new(saved: BTreeMap<i32, i64>) -> LevelQueues {
        LevelQueues {
            offsets: saved,
            delivered_total: 0,
        }
    }

    /// Entry `offset` of `level` was delivered before a crash (found in the CommitLog).
    pub(crate) fn note_delivered(&mut self, level: i32, offset: i64) {
        let next = self.offsets.entry(level).or_insert(0);
        *next = (*next).max(offset + 1);
    }

    /// Delivers every due entry (up to the pass limit per level) through `deliver`.
    pub(crate) fn deliver_due(
        &mut self,
        queues: &ConsumeQueueTable,
        levels: &DelayLevels,
        now: i64,
        deliver: &mut dyn FnMut(&CqEntry, Source<'_>) -> Result<Outcome, String>,
    ) -> LevelPass {
        let mut pass = LevelPass::default();
        for queue_id in queues.queue_ids(SCHEDULE_TOPIC) {
            let Some(cq) = queues.get(SCHEDULE_TOPIC, queue_id) else {
                continue;
            };
            let level = queue_id + 1;
            let next = self.offsets.entry(level).or_insert(0);
            *next = (*next).max(cq.min_offset());
            let max = cq.max_offset();
            let mut done = 0;
            while *next < max {
                if done == PASS_LIMIT {
                    pass.more = true;
                    break;
                }
                let Some(e) = cq.entry(*next) else { break };
                if !e.is_valid() {
                    *next += 1;
                    continue;
                }
                let due = e.tag_code.min(now.saturating_add(levels.delay_ms(level)));
                if due > now {
                    pass.next_due = Some(pass.next_due.map_or(due, |d| d.min(due)));
                    break;
                }
                let source = Source {
                    topic: SCHEDULE_TOPIC,
                    queue_id,
                    offset: *next,
                };
                match deliver(&e, source) {
                    Ok(outcome) => {
                        if let Outcome::Dropped(why) = outcome {
                            tracing::warn!(level, offset = *next, "delayed message dropped: {why}");
                        }
                        *next += 1;
                        done += 1;
                        self.delivered_total += 1;
                    }
                    Err(why) => {
                        pass.failed = Some(why);
                        return pass;
                    }
                }
            }
        }
        pass
    }

    /// The progress as `delayOffset.json` holds it.
    pub(crate) fn table(&self) -> DelayOffsetTable {
        DelayOffsetTable {
            offset_table: self.offsets.clone(),
        }
    }

    pub(crate) fn delivered_total(&self) -> u64 {
        self.delivered_total
    }
}
