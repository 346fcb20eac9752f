//! A consumer group's progress per queue on this broker: the broker's max offset against the
//! group's committed offset. GET_CONSUME_STATS answers with it (so `mqadmin
//! consumerProgress` shows it) and the lag metrics export the same figures.

use crate::broker::Broker;

/// One queue of a group's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueProgress {
    pub topic: String,
    pub queue_id: i32,
    /// Messages in the queue (its max offset).
    pub broker_offset: i64,
    /// The group's committed offset (0 when none).
    pub consumer_offset: i64,
}

impl QueueProgress {
    /// Messages not consumed yet: `consumerProgress`'s diff.
    pub fn lag(&self) -> i64 {
        (self.broker_offset - self.consumer_offset).max(0)
    }
}

/// The topics whose progress is reported for `group`: those it committed offsets for and
/// those its online members subscribe to, sorted.
pub fn group_topics(b: &Broker, group: &str) -> Vec<String> {
    let mut topics = b.offsets.topics_of_group(group);
    if let Some(info) = b.consumers.group(group) {
        topics.extend(info.subscriptions.keys().cloned());
    }
    topics.sort();
    topics.dedup();
    topics
}

/// The groups that have progress to report: committed offsets or online members, sorted.
pub fn groups(b: &Broker) -> Vec<String> {
    let mut groups = b.offsets.groups();
    groups.extend(b.consumers.groups());
    groups.sort();
    groups.dedup();
    groups
}

/// `group`'s progress on every queue of `topic` (none if the topic does not exist here).
pub fn topic_progress(b: &Broker, group: &str, topic: &str) -> Vec<QueueProgress> {
    let Some(layout) = b.topics.layout(topic) else {
        return Vec::new();
    };
    let committed = b.offsets.queue_offsets(group, topic);
    (0..layout.write_queue_nums)
        .map(|queue_id| QueueProgress {
            topic: topic.to_string(),
            queue_id,
            broker_offset: b.store.max_offset_in_queue(topic, queue_id),
            consumer_offset: committed.get(&queue_id).copied().unwrap_or(0).max(0),
        })
        .collect()
}
