//! AllocateMessageQueueAveragely (reference §12): how a clustering consumer group splits the
//! queues of a topic. Queues are sorted by (topic, broker name, queue id) and consumer ids as
//! strings; with n queues, c consumers, this consumer at index i and m = n % c:
//!
//! * avg = 1 if n <= c, else n / c + 1 when m > 0 and i < m, else n / c;
//! * start = i * avg when m > 0 and i < m, else i * avg + m;
//! * the consumer takes min(avg, n - start) consecutive queues from start (none if <= 0).
//!
//! Every member computes the same split from the same inputs, so the group covers each queue
//! exactly once without talking to each other.

use fennec_protocol::body::MessageQueue;

/// The queues of `queues` that `current` owns among `consumer_ids`; empty when `current`
/// is not (yet) in the list.
pub(crate) fn allocate_averagely(
    current: &str,
    queues: &[MessageQueue],
    consumer_ids: &[String],
) -> Vec<MessageQueue> {
    let mut queues = queues.to_vec();
    queues.sort();
    let mut ids: Vec<&str> = consumer_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let Some(index) = ids.iter().position(|id| *id == current) else {
        return Vec::new();
    };
    let (n, c) = (queues.len(), ids.len());
    let rem = n % c;
    let avg = if n <= c {
        1
    } else if rem > 0 && index < rem {
        n / c + 1
    } else {
        n / c
    };
    let start = if rem > 0 && index < rem {
        index * avg
    } else {
        index * avg + rem
    };
    let take = avg.min(n.saturating_sub(start));
    queues.into_iter().skip(start).take(take).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    fn ids(c: usize) -> Vec<String> {
        (0..c).map(|i| format!("10.0.0.{i}@c")).collect()
    }

    fn split(n: i32, c: usize) -> Vec<Vec<i32>> {
        let q = queues(n);
        let cids = ids(c);
        cids.iter()
            .map(|cid| {
                allocate_averagely(cid, &q, &cids)
                    .iter()
                    .map(|m| m.queue_id)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rocketmq_examples() {
        // 8 queues over 3 consumers: 3, 3, 2.
        assert_eq!(split(8, 3), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        // 10 over 4: the first n % c consumers get one more.
        assert_eq!(
            split(10, 4),
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]
        );
        // Even split.
        assert_eq!(split(4, 2), vec![vec![0, 1], vec![2, 3]]);
        // More consumers than queues: one queue each, the rest idle.
        assert_eq!(split(3, 5), vec![vec![0], vec![1], vec![2], vec![], vec![]]);
        assert_eq!(split(1, 1), vec![vec![0]]);
        assert_eq!(split(0, 2), vec![Vec::<i32>::new(), vec![]]);
    }

    #[test]
    fn every_queue_has_exactly_one_owner() {
        for n in 0..20 {
            for c in 1..8 {
                let mut all: Vec<i32> = split(n, c).into_iter().flatten().collect();
                all.sort_unstable();
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "n={n} c={c}");
            }
        }
    }

    #[test]
    fn sorts_inputs_and_ignores_strangers() {
        let mut q = vec![
            MessageQueue::new("T", "b", 1),
            MessageQueue::new("T", "a", 1),
            MessageQueue::new("T", "b", 0),
            MessageQueue::new("T", "a", 0),
        ];
        q.reverse();
        let cids = vec!["z@1".to_string(), "a@1".to_string()];
        assert_eq!(
            allocate_averagely("a@1", &q, &cids),
            vec![
                MessageQueue::new("T", "a", 0),
                MessageQueue::new("T", "a", 1)
            ]
        );
        assert_eq!(
            allocate_averagely("z@1", &q, &cids),
            vec![
                MessageQueue::new("T", "b", 0),
                MessageQueue::new("T", "b", 1)
            ]
        );
        assert!(allocate_averagely("other@1", &q, &cids).is_empty());
        assert!(allocate_averagely("a@1", &q, &[]).is_empty());
    }
}
