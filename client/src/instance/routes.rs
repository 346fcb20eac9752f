//! [`RouteTable`]: the route cache of a client instance. Topic to route, and derived from the
//! routes: publish info per topic, subscribe queues per topic, and broker name to addresses
//! (brokerId to `host:port`, 0 = master). Brokers no route mentions any more are dropped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use fennec_protocol::body::{MessageQueue, TopicRouteData, MASTER_ID};
use fennec_protocol::message::msg_id::random_u32;

use crate::route::{normalize, subscribe_queues, TopicPublishInfo};

/// Routes and everything derived from them. Plain data: the instance keeps it under a lock
/// and never holds that lock across an await.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    routes: HashMap<String, TopicRouteData>,
    publish: HashMap<String, Arc<TopicPublishInfo>>,
    subscribe: HashMap<String, Vec<MessageQueue>>,
    brokers: HashMap<String, BTreeMap<i64, String>>,
}

impl RouteTable {
    /// Stores the route of `topic`; returns whether it differs from the one held.
    pub(crate) fn update(&mut self, topic: &str, mut route: TopicRouteData) -> bool {
        normalize(&mut route);
        if self.routes.get(topic) == Some(&route) {
            return false;
        }
        for b in &route.broker_datas {
            self.brokers
                .insert(b.broker_name.clone(), b.broker_addrs.clone());
        }
        self.publish.insert(
            topic.to_string(),
            Arc::new(TopicPublishInfo::from_route(topic, &route)),
        );
        self.subscribe
            .insert(topic.to_string(), subscribe_queues(topic, &route));
        self.routes.insert(topic.to_string(), route);
        self.prune_brokers();
        true
    }

    fn prune_brokers(&mut self) {
        let live: HashSet<&str> = self
            .routes
            .values()
            .flat_map(|r| r.broker_datas.iter().map(|b| b.broker_name.as_str()))
            .collect();
        self.brokers.retain(|name, _| live.contains(name.as_str()));
    }

    /// Topics with a route.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.routes.keys().cloned().collect()
    }

    pub(crate) fn publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.publish.get(topic).cloned()
    }

    /// The readable queues of `topic`; `None` when its route is unknown.
    pub(crate) fn subscribe_queues(&self, topic: &str) -> Option<Vec<MessageQueue>> {
        self.subscribe.get(topic).cloned()
    }

    /// The master's address of `broker_name`.
    pub(crate) fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.brokers.get(broker_name)?.get(&MASTER_ID).cloned()
    }

    /// The master's address of `broker_name`, or a slave's while the group has no master
    /// (reads: offsets, queue bounds).
    pub(crate) fn read_addr(&self, broker_name: &str) -> Option<String> {
        self.broker_addr(broker_name, MASTER_ID).map(|(a, _)| a)
    }

    /// The id of a slave of `broker_name`, if the route lists one.
    pub(crate) fn slave_id(&self, broker_name: &str) -> Option<i64> {
        self.brokers
            .get(broker_name)?
            .keys()
            .copied()
            .find(|id| *id != MASTER_ID)
    }

    /// The address of broker `id` in group `broker_name`, or of any member of the group when
    /// that one is unknown; with whether it is a slave.
    pub(crate) fn broker_addr(&self, broker_name: &str, id: i64) -> Option<(String, bool)> {
        let addrs = self.brokers.get(broker_name)?;
        match addrs.get(&id) {
            Some(a) => Some((a.clone(), id != MASTER_ID)),
            None => addrs
                .iter()
                .next()
                .map(|(id, a)| (a.clone(), *id != MASTER_ID)),
        }
    }

    /// The address of some broker that hosts `topic` (the master if it has one), chosen at
    /// random to spread the load.
    pub(crate) fn any_broker_addr(&self, topic: &str) -> Option<String> {
        let route = self.routes.get(topic)?;
        let candidates: Vec<&str> = route
            .broker_datas
            .iter()
            .filter_map(|b| b.any_addr())
            .collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[random_u32() as usize % candidates.len()].to_string())
    }

    /// Every known broker: (name, id, address).
    pub(crate) fn all_brokers(&self) -> Vec<(String, i64, String)> {
        self.brokers
            .iter()
            .flat_map(|(name, addrs)| {
                addrs
                    .iter()
                    .map(move |(id, a)| (name.clone(), *id, a.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::tests::{broker, queue, route};

    #[test]
    fn update_derives_tables_and_reports_changes() {
        let mut t = RouteTable::default();
        let r = route(
            vec![broker("a", &[(0, "m:1"), (1, "s:1")])],
            vec![queue("a", 6, 2, 2)],
        );
        assert!(t.update("T", r.clone()));
        assert!(!t.update("T", r));
        assert_eq!(t.publish_info("T").unwrap().queues.len(), 2);
        assert_eq!(t.subscribe_queues("T").unwrap().len(), 2);
        assert!(t.subscribe_queues("U").is_none());
        assert_eq!(t.master_addr("a").as_deref(), Some("m:1"));
        assert_eq!(t.broker_addr("a", 1), Some(("s:1".into(), true)));
        assert_eq!(t.broker_addr("a", 0), Some(("m:1".into(), false)));
        assert_eq!(t.broker_addr("a", 7), Some(("m:1".into(), false)));
        assert_eq!(t.any_broker_addr("T").as_deref(), Some("m:1"));
        assert_eq!(t.all_brokers().len(), 2);

        // A new route for the topic on another broker drops the old broker.
        assert!(t.update(
            "T",
            route(vec![broker("b", &[(1, "s2:1")])], vec![queue("b", 6, 1, 1)])
        ));
        assert!(t.master_addr("a").is_none());
        assert!(t.master_addr("b").is_none());
        assert_eq!(t.broker_addr("b", 0), Some(("s2:1".into(), true)));
        assert_eq!(t.any_broker_addr("T").as_deref(), Some("s2:1"));
        assert!(!t.publish_info("T").unwrap().ok());
        assert_eq!(t.topics(), vec!["T".to_string()]);
    }
}
