//! From a topic route (TopicRouteData) to queues: the queues a producer may write to
//! ([`TopicPublishInfo`]: writable queues of brokers with a master), the queues a consumer
//! reads ([`subscribe_queues`]: readable queues), and the route an unknown topic borrows from
//! `TBW102` so that the broker creates it on the first send ([`default_topic_route`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use fennec_protocol::body::{MessageQueue, TopicRouteData};
use fennec_protocol::message::msg_id::random_u32;
use fennec_protocol::perm;

/// The queues a producer chooses from, with the round-robin position.
#[derive(Debug)]
pub(crate) struct TopicPublishInfo {
    pub(crate) queues: Vec<MessageQueue>,
    next: AtomicUsize,
}

impl TopicPublishInfo {
    /// Builds the writable queues of `topic` from its route. With `orderTopicConf`
    /// (`"broker-a:4;broker-b:4"`) those brokers and counts are used as listed; otherwise every
    /// writable queue of a broker that has a master, brokers in name order.
    pub(crate) fn from_route(topic: &str, route: &TopicRouteData) -> Self {
        let mut queues = Vec::new();
        let order_conf = route.order_topic_conf.as_deref().unwrap_or("").trim();
        if !order_conf.is_empty() {
            for item in order_conf.split(';') {
                let Some((broker, nums)) = item.split_once(':') else {
                    continue;
                };
                let nums: i32 = nums.trim().parse().unwrap_or(0);
                queues.extend((0..nums).map(|i| MessageQueue::new(topic, broker.trim(), i)));
            }
        } else {
            let mut datas: Vec<_> = route.queue_datas.iter().collect();
            datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in datas {
                if !perm::is_writeable(qd.perm) {
                    continue;
                }
                let has_master = route
                    .broker_datas
                    .iter()
                    .any(|b| b.broker_name == qd.broker_name && b.master_addr().is_some());
                if !has_master {
                    continue;
                }
                queues.extend(
                    (0..qd.write_queue_nums).map(|i| MessageQueue::new(topic, &qd.broker_name, i)),
                );
            }
        }
        TopicPublishInfo {
            queues,
            next: AtomicUsize::new(random_u32() as usize),
        }
    }

    /// Whether there is any queue to send to.
    pub(crate) fn ok(&self) -> bool {
        !self.queues.is_empty()
    }

    /// The next round-robin start position.
    pub(crate) fn next_index(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

/// The readable queues of `topic`, in RocketMQ's order.
pub(crate) fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|qd| perm::is_readable(qd.perm))
        .flat_map(|qd| {
            (0..qd.read_queue_nums).map(|i| MessageQueue::new(topic, &qd.broker_name, i))
        })
        .collect();
    queues.sort();
    queues
}

/// The route an unknown topic borrows from the `TBW102` route: the same brokers, each with
/// min(`queue_nums`, its write queues) queues.
pub(crate) fn default_topic_route(template: &TopicRouteData, queue_nums: i32) -> TopicRouteData {
    let mut route = template.clone();
    for qd in &mut route.queue_datas {
        let n = queue_nums.min(qd.write_queue_nums);
        qd.read_queue_nums = n;
        qd.write_queue_nums = n;
    }
    route
}

/// Sorts the broker and queue lists so that two fetches of the same route compare equal.
pub(crate) fn normalize(route: &mut TopicRouteData) {
    route
        .broker_datas
        .sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    route
        .queue_datas
        .sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use fennec_protocol::body::{BrokerData, QueueData};
    use std::collections::BTreeMap;

    pub(crate) fn broker(name: &str, addrs: &[(i64, &str)]) -> BrokerData {
        BrokerData {
            broker_addrs: addrs.iter().map(|(id, a)| (*id, a.to_string())).collect(),
            broker_name: name.into(),
            cluster: "DefaultCluster".into(),
            enable_acting_master: false,
            zone_name: None,
        }
    }

    pub(crate) fn queue(name: &str, perm: i32, read: i32, write: i32) -> QueueData {
        QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: read,
            topic_sys_flag: 0,
            write_queue_nums: write,
        }
    }

    pub(crate) fn route(brokers: Vec<BrokerData>, queues: Vec<QueueData>) -> TopicRouteData {
        TopicRouteData {
            broker_datas: brokers,
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: queues,
        }
    }

    fn ids(queues: &[MessageQueue]) -> Vec<(String, i32)> {
        queues
            .iter()
            .map(|q| (q.broker_name.clone(), q.queue_id))
            .collect()
    }

    #[test]
    fn publish_info_takes_writable_queues_of_brokers_with_a_master() {
        let r = route(
            vec![
                broker("b", &[(0, "10.0.0.2:10911")]),
                broker("a", &[(0, "10.0.0.1:10911"), (1, "10.0.0.9:10911")]),
                broker("slave-only", &[(1, "10.0.0.3:10911")]),
                broker("readonly", &[(0, "10.0.0.4:10911")]),
            ],
            vec![
                queue("b", 6, 2, 2),
                queue("a", 6, 4, 3),
                queue("slave-only", 6, 2, 2),
                queue("readonly", perm::PERM_READ, 2, 2),
            ],
        );
        let info = TopicPublishInfo::from_route("T", &r);
        assert!(info.ok());
        assert_eq!(
            ids(&info.queues),
            vec![
                ("a".into(), 0),
                ("a".into(), 1),
                ("a".into(), 2),
                ("b".into(), 0),
                ("b".into(), 1)
            ]
        );
        assert!(info.queues.iter().all(|q| q.topic == "T"));
        let a = info.next_index();
        assert_eq!(info.next_index(), a.wrapping_add(1));
    }

    #[test]
    fn publish_info_follows_order_topic_conf() {
        let mut r = route(vec![broker("a", &[(0, "x:1")])], vec![queue("a", 6, 8, 8)]);
        r.order_topic_conf = Some("b:2;a:1;junk;c:x".into());
        let info = TopicPublishInfo::from_route("T", &r);
        assert_eq!(
            ids(&info.queues),
            vec![("b".into(), 0), ("b".into(), 1), ("a".into(), 0)]
        );
    }

    #[test]
    fn subscribe_queues_are_readable_and_sorted() {
        let r = route(
            vec![broker("a", &[(1, "slave:1")]), broker("b", &[(0, "m:1")])],
            vec![
                queue("b", 6, 2, 4),
                queue("a", 6, 1, 0),
                queue("w", perm::PERM_WRITE, 3, 3),
            ],
        );
        // Readable queues count, write-only brokers are skipped, a missing master does not
        // matter for reading.
        assert_eq!(
            ids(&subscribe_queues("T", &r)),
            vec![("a".into(), 0), ("b".into(), 0), ("b".into(), 1)]
        );
        assert!(!TopicPublishInfo::from_route(
            "T",
            &route(vec![], vec![queue("a", perm::PERM_READ, 4, 4)])
        )
        .ok());
    }

    #[test]
    fn tbw102_fallback_caps_queue_counts() {
        let tbw = route(
            vec![broker("a", &[(0, "x:1")]), broker("b", &[(0, "y:1")])],
            vec![queue("a", 7, 8, 8), queue("b", 7, 2, 2)],
        );
        let r = default_topic_route(&tbw, 4);
        assert_eq!(
            r.queue_datas
                .iter()
                .map(|q| (q.read_queue_nums, q.write_queue_nums, q.perm))
                .collect::<Vec<_>>(),
            vec![(4, 4, 7), (2, 2, 7)]
        );
        let info = TopicPublishInfo::from_route("NewTopic", &r);
        assert_eq!(info.queues.len(), 6);
        assert!(info.queues.iter().all(|q| q.topic == "NewTopic"));
    }

    #[test]
    fn normalize_makes_routes_comparable() {
        let mut x = route(
            vec![broker("b", &[(0, "y:1")]), broker("a", &[(0, "x:1")])],
            vec![queue("b", 6, 1, 1), queue("a", 6, 1, 1)],
        );
        let mut y = route(
            vec![broker("a", &[(0, "x:1")]), broker("b", &[(0, "y:1")])],
            vec![queue("a", 6, 1, 1), queue("b", 6, 1, 1)],
        );
        assert_ne!(x, y);
        normalize(&mut x);
        normalize(&mut y);
        assert_eq!(x, y);
    }
}
