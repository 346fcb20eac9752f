//! Which broker address to talk to: masters of a route or a cluster (writes, statistics),
//! the master or else the lowest-id slave (reads), the queues a route makes readable or
//! writable, and whether an address belongs to the cluster.

use std::net::SocketAddr;

use fennec_protocol::body::{BrokerData, ClusterInfo, MessageQueue, TopicRouteData};
use fennec_protocol::perm;

use super::error::AdminError;

/// A broker group and the address chosen to reach it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerTarget {
    pub broker_name: String,
    pub addr: String,
}

impl BrokerTarget {
    fn master(bd: &BrokerData) -> Option<Self> {
        bd.master_addr().map(|addr| BrokerTarget {
            broker_name: bd.broker_name.clone(),
            addr: addr.to_string(),
        })
    }

    fn reader(bd: &BrokerData) -> Option<Self> {
        bd.any_addr().map(|addr| BrokerTarget {
            broker_name: bd.broker_name.clone(),
            addr: addr.to_string(),
        })
    }
}

/// The master of every broker group in the route (groups without a master are skipped).
pub fn route_masters(route: &TopicRouteData) -> Vec<BrokerTarget> {
    sorted(route.broker_datas.iter().filter_map(BrokerTarget::master))
}

/// For reads: each group's master, or its lowest-id slave when the master is not in the
/// route.
pub fn route_readers(route: &TopicRouteData) -> Vec<BrokerTarget> {
    sorted(route.broker_datas.iter().filter_map(BrokerTarget::reader))
}

/// The read address of one named broker group of the route.
pub fn route_reader(route: &TopicRouteData, broker_name: &str) -> Option<BrokerTarget> {
    route
        .broker_datas
        .iter()
        .find(|bd| bd.broker_name == broker_name)
        .and_then(BrokerTarget::reader)
}

/// The masters of every broker group of `cluster`.
pub fn cluster_masters(info: &ClusterInfo, cluster: &str) -> Result<Vec<BrokerTarget>, AdminError> {
    Ok(sorted(
        cluster_groups(info, cluster)?
            .into_iter()
            .filter_map(BrokerTarget::master),
    ))
}

/// Every address (masters and slaves) of `cluster`, with broker name and id.
pub fn cluster_addrs(
    info: &ClusterInfo,
    cluster: &str,
) -> Result<Vec<(String, i64, String)>, AdminError> {
    Ok(cluster_groups(info, cluster)?
        .into_iter()
        .flat_map(|bd| {
            bd.broker_addrs
                .iter()
                .map(|(id, addr)| (bd.broker_name.clone(), *id, addr.clone()))
        })
        .collect())
}

/// The masters of every broker group the nameservers know.
pub fn all_masters(info: &ClusterInfo) -> Vec<BrokerTarget> {
    sorted(
        info.broker_addr_table
            .values()
            .filter_map(BrokerTarget::master),
    )
}

fn cluster_groups<'a>(
    info: &'a ClusterInfo,
    cluster: &str,
) -> Result<Vec<&'a BrokerData>, AdminError> {
    let names = info
        .cluster_addr_table
        .get(cluster)
        .ok_or_else(|| AdminError::ClusterNotExist(cluster.to_string()))?;
    Ok(names
        .iter()
        .filter_map(|n| info.broker_addr_table.get(n))
        .collect())
}

/// The cluster a broker group belongs to.
pub fn cluster_of<'a>(info: &'a ClusterInfo, broker_name: &str) -> Option<&'a str> {
    info.cluster_addr_table
        .iter()
        .find(|(_, names)| names.contains(broker_name))
        .map(|(c, _)| c.as_str())
}

/// The registered broker address equal to `addr` (as a socket address), if any.
pub fn find_broker_addr(info: &ClusterInfo, addr: &SocketAddr) -> Option<String> {
    info.broker_addr_table
        .values()
        .flat_map(|bd| bd.broker_addrs.values())
        .find(|registered| same_addr(registered, addr))
        .cloned()
}

/// Brokers register IP addresses; a host name never equals a decoded store address.
fn same_addr(registered: &str, addr: &SocketAddr) -> bool {
    registered.parse::<SocketAddr>().is_ok_and(|a| a == *addr)
}

/// Readable queues of the route, in RocketMQ's order.
pub fn readable_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    queues(topic, route, perm::is_readable, |q| q.read_queue_nums)
}

/// Writable queues of the route, in RocketMQ's order.
pub fn writable_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    queues(topic, route, perm::is_writeable, |q| q.write_queue_nums)
}

fn queues(
    topic: &str,
    route: &TopicRouteData,
    allowed: fn(i32) -> bool,
    count: fn(&fennec_protocol::body::QueueData) -> i32,
) -> Vec<MessageQueue> {
    let mut out: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|q| allowed(q.perm))
        .flat_map(|q| (0..count(q)).map(move |id| MessageQueue::new(topic, &q.broker_name, id)))
        .collect();
    out.sort();
    out
}

fn sorted(it: impl Iterator<Item = BrokerTarget>) -> Vec<BrokerTarget> {
    let mut v: Vec<BrokerTarget> = it.collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::body::QueueData;
    use std::collections::{BTreeMap, BTreeSet};

    fn group(name: &str, addrs: &[(i64, &str)]) -> BrokerData {
        BrokerData {
            broker_addrs: addrs.iter().map(|(i, a)| (*i, a.to_string())).collect(),
            broker_name: name.into(),
            cluster: "C".into(),
            ..Default::default()
        }
    }

    fn route() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![
                group("b", &[(2, "10.0.0.9:10911"), (1, "10.0.0.8:10911")]),
                group("a", &[(0, "10.0.0.1:10911"), (1, "10.0.0.2:10911")]),
            ],
            queue_datas: vec![
                QueueData {
                    broker_name: "a".into(),
                    perm: 6,
                    read_queue_nums: 2,
                    write_queue_nums: 1,
                    topic_sys_flag: 0,
                },
                QueueData {
                    broker_name: "b".into(),
                    perm: 4,
                    read_queue_nums: 1,
                    write_queue_nums: 1,
                    topic_sys_flag: 0,
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn masters_and_readers() {
        let r = route();
        let masters = route_masters(&r);
        assert_eq!(masters.len(), 1);
        assert_eq!(masters[0].addr, "10.0.0.1:10911");
        let readers: Vec<_> = route_readers(&r).into_iter().map(|t| t.addr).collect();
        // b has no master: its lowest-id slave (1) serves reads.
        assert_eq!(readers, vec!["10.0.0.1:10911", "10.0.0.8:10911"]);
        assert_eq!(route_reader(&r, "b").unwrap().addr, "10.0.0.8:10911");
        assert!(route_reader(&r, "z").is_none());
    }

    #[test]
    fn queues_follow_perm() {
        let r = route();
        let read: Vec<_> = readable_queues("T", &r)
            .into_iter()
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        assert_eq!(
            read,
            vec![("a".into(), 0), ("a".into(), 1), ("b".into(), 0)]
        );
        let write: Vec<_> = writable_queues("T", &r)
            .into_iter()
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        assert_eq!(write, vec![("a".to_string(), 0)]);
    }

    #[test]
    fn cluster_lookups() {
        let info = ClusterInfo {
            broker_addr_table: BTreeMap::from([
                (
                    "a".to_string(),
                    group("a", &[(0, "10.0.0.1:10911"), (1, "10.0.0.2:10911")]),
                ),
                ("b".to_string(), group("b", &[(0, "10.0.0.3:10911")])),
            ]),
            cluster_addr_table: BTreeMap::from([(
                "C".to_string(),
                BTreeSet::from(["a".to_string(), "b".to_string()]),
            )]),
        };
        let masters: Vec<_> = cluster_masters(&info, "C")
            .unwrap()
            .into_iter()
            .map(|t| t.addr)
            .collect();
        assert_eq!(masters, vec!["10.0.0.1:10911", "10.0.0.3:10911"]);
        assert_eq!(cluster_addrs(&info, "C").unwrap().len(), 3);
        assert!(matches!(
            cluster_masters(&info, "X"),
            Err(AdminError::ClusterNotExist(_))
        ));
        assert_eq!(all_masters(&info).len(), 2);
        assert_eq!(cluster_of(&info, "b"), Some("C"));
        let slave: SocketAddr = "10.0.0.2:10911".parse().unwrap();
        assert_eq!(
            find_broker_addr(&info, &slave).as_deref(),
            Some("10.0.0.2:10911")
        );
        let stranger: SocketAddr = "10.9.9.9:10911".parse().unwrap();
        assert_eq!(find_broker_addr(&info, &stranger), None);
    }
}
