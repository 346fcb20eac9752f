//! [`QueueOffsets`]: the next queue offset of every topic queue (RocketMQ's
//! topicQueueTable), read and bumped under the CommitLog's append lock. It is looked up on
//! every append, so it hashes with a cheap multiply-rotate hash (seeded per process, so
//! topic names cannot be chosen to collide) rather than SipHash, which showed up as a
//! tenth of the append path in profiles.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

/// Multiply-rotate hasher (FxHash's mixing step) with a per-process seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeededHasher(u64);

impl SeededHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for SeededHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.add(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`SeededHasher`]s from one random seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeededState(u64);

impl Default for SeededState {
    fn default() -> Self {
        SeededState(RandomState::new().hash_one(0x5eed_u64))
    }
}

impl BuildHasher for SeededState {
    type Hasher = SeededHasher;

    fn build_hasher(&self) -> SeededHasher {
        SeededHasher(self.0)
    }
}

/// Next queue offset per topic and queue id.
#[derive(Debug, Default)]
pub(crate) struct QueueOffsets {
    topics: HashMap<String, HashMap<i32, i64, SeededState>, SeededState>,
}

impl QueueOffsets {
    /// Reserves `n` offsets of `topic`/`queue_id`; returns the first.
    pub(crate) fn bump(&mut self, topic: &str, queue_id: i32, n: i64) -> i64 {
        // Look up by &str: the String key is only allocated for a new topic.
        if let Some(queues) = self.topics.get_mut(topic) {
            let next = queues.entry(queue_id).or_insert(0);
            let first = *next;
            *next += n;
            return first;
        }
        self.set(topic, queue_id, n);
        0
    }

    /// Sets the next offset of a queue (rebuilding the table at open).
    pub(crate) fn set(&mut self, topic: &str, queue_id: i32, next: i64) {
        match self.topics.get_mut(topic) {
            Some(queues) => {
                queues.insert(queue_id, next);
            }
            None => {
                let mut queues = HashMap::default();
                queues.insert(queue_id, next);
                self.topics.insert(topic.to_string(), queues);
            }
        }
    }

    pub(crate) fn remove_topic(&mut self, topic: &str) {
        self.topics.remove(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_offsets_per_queue() {
        let mut q = QueueOffsets::default();
        assert_eq!(q.bump("A", 0, 3), 0);
        assert_eq!(q.bump("A", 1, 1), 0);
        q.set("B", 7, 42);
        assert_eq!(q.bump("A", 0, 1), 3);
        assert_eq!(q.bump("A", 1, 1), 1);
        assert_eq!(q.bump("B", 7, 1), 42);
        q.remove_topic("A");
        assert_eq!(q.bump("A", 0, 1), 0);
        let s = SeededState::default();
        assert_eq!(s.hash_one("topic"), s.hash_one("topic"));
        assert_ne!(s.hash_one("topic-a"), s.hash_one("topic-b"));
    }
}
