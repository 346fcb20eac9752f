//! Tests of the routing tables, with real channels (the tables compare and close them).

use super::*;
use fennec_protocol::body::TopicConfig;
use fennec_remoting::RemotingClient;
use tokio::net::TcpListener;

/// A real connection's channel (the tables only compare and close channels). The
/// client must outlive the channel: dropping it closes the connection.
async fn channel() -> (Channel, RemotingClient, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let client = RemotingClient::default();
    let channel = client.channel(&addr).await.unwrap();
    (channel, client, listener)
}

fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
    TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        },
        topic_config_table: topics
            .iter()
            .map(|(t, q)| (t.to_string(), TopicConfig::new(t, *q)))
            .collect(),
    }
}

fn reg(
    name: &str,
    id: i64,
    addr: &str,
    topics: TopicConfigSerializeWrapper,
    channel: &Channel,
) -> BrokerRegistration {
    BrokerRegistration {
        cluster_name: "DefaultCluster".into(),
        broker_addr: addr.into(),
        broker_name: name.into(),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        zone_name: None,
        heartbeat_timeout: None,
        topic_config: topics,
        channel: channel.clone(),
    }
}

fn queue_nums(route: &RouteInfo, topic: &str) -> Vec<(String, i32)> {
    route
        .topic_route(topic)
        .map(|r| {
            r.queue_datas
                .iter()
                .map(|q| (q.broker_name.clone(), q.write_queue_nums))
                .collect()
        })
        .unwrap_or_default()
}

fn addrs(route: &RouteInfo, broker_name: &str) -> Vec<(i64, String)> {
    route
        .cluster_info()
        .broker_addr_table
        .get(broker_name)
        .map(|b| b.broker_addrs.clone().into_iter().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn registration_builds_every_table() {
    let (ch, _c, _l) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let now = Instant::now();
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch), now)
        .unwrap();
    route
        .register(
            reg("b", 0, "h:2", wrapper(1, &[("T", 2), ("U", 8)]), &ch),
            now,
        )
        .unwrap();

    let t = route.topic_route("T").unwrap();
    assert_eq!(
        queue_nums(&route, "T"),
        vec![("a".into(), 4), ("b".into(), 2)]
    );
    assert_eq!(t.broker_datas.len(), 2);
    assert_eq!(t.broker_datas[0].master_addr(), Some("h:1"));
    let u = route.topic_route("U").unwrap();
    assert_eq!(u.broker_datas.len(), 1, "only brokers hosting the topic");
    assert_eq!(u.broker_datas[0].broker_name, "b");
    assert!(route.topic_route("V").is_none());

    let info = route.cluster_info();
    assert_eq!(
        info.cluster_addr_table["DefaultCluster"],
        BTreeSet::from(["a".to_string(), "b".to_string()])
    );
    assert_eq!(
        route.topic_list().topic_list,
        BTreeSet::from(["T".to_string(), "U".to_string()])
    );
    assert_eq!(
        route.topics_by_cluster("DefaultCluster").topic_list.len(),
        2
    );
    assert!(route.topics_by_cluster("Other").topic_list.is_empty());
}

#[tokio::test]
async fn only_the_master_updates_queues() {
    let (ch, _c, _l) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let now = Instant::now();
    route
        .register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        )
        .unwrap();
    let slave = route
        .register(
            reg("a", 1, "h:2", wrapper(9, &[("T", 1), ("S", 1)]), &ch),
            now,
        )
        .unwrap();
    assert_eq!(
        slave,
        RegisterResult {
            ha_server_addr: Some("h:1-ha".into()),
            master_addr: Some("h:1".into()),
            topics_refused: None,
        }
    );
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
    assert!(route.topic_route("S").is_none());
    assert_eq!(
        addrs(&route, "a"),
        vec![(0, "h:1".into()), (1, "h:2".into())]
    );

    // Same dataVersion: the queue config is taken as unchanged.
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[("T", 16)]), &ch), now)
        .unwrap();
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
    assert!(route.topic_route("U").is_some());

    // New dataVersion: the body replaces the broker's topics; U is gone.
    route
        .register(reg("a", 0, "h:1", wrapper(2, &[("T", 16)]), &ch), now)
        .unwrap();
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 16)]);
    assert!(route.topic_route("U").is_none());

    // A topic deleted here comes back with the next heartbeat, even at the same version.
    assert!(route.delete_topic("T", None));
    assert!(route.topic_route("T").is_none());
    route
        .register(reg("a", 0, "h:1", wrapper(2, &[("T", 16)]), &ch), now)
        .unwrap();
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 16)]);
}

#[tokio::test]
async fn an_address_holds_one_id() {
    let (ch, _c, _l) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let now = Instant::now();
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch), now)
        .unwrap();
    route
        .register(reg("a", 1, "h:2", wrapper(1, &[]), &ch), now)
        .unwrap();
    // The slave at h:2 is promoted: it registers as the master.
    route
        .register(reg("a", 0, "h:2", wrapper(3, &[("T", 4)]), &ch), now)
        .unwrap();
    assert_eq!(addrs(&route, "a"), vec![(0, "h:2".into())]);
}

#[tokio::test]
async fn unregister_removes_group_when_last_address_goes() {
    let (ch, _c, _l) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let now = Instant::now();
    route
        .register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        )
        .unwrap();
    route
        .register(reg("a", 1, "h:2", wrapper(1, &[]), &ch), now)
        .unwrap();
    route
        .register(reg("b", 0, "h:3", wrapper(1, &[("T", 4)]), &ch), now)
        .unwrap();

    assert!(route.unregister("DefaultCluster", "h:1", "a"));
    // The slave keeps the group (and its queues) alive for readers.
    assert_eq!(addrs(&route, "a"), vec![(1, "h:2".into())]);
    assert_eq!(queue_nums(&route, "U"), vec![("a".into(), 4)]);

    assert!(route.unregister("DefaultCluster", "h:2", "a"));
    assert!(addrs(&route, "a").is_empty());
    assert!(
        route.topic_route("U").is_none(),
        "topic left without queues"
    );
    assert_eq!(queue_nums(&route, "T"), vec![("b".into(), 4)]);
    assert_eq!(
        route.cluster_info().cluster_addr_table["DefaultCluster"],
        BTreeSet::from(["b".to_string()])
    );
    assert!(!route.unregister("DefaultCluster", "h:2", "a"));

    assert!(route.unregister("DefaultCluster", "h:3", "b"));
    assert_eq!(route.cluster_info(), ClusterInfo::default());
    assert!(route.topic_list().topic_list.is_empty());
}

#[tokio::test]
async fn closed_channel_removes_its_brokers_only() {
    let (ch1, _c1, _l1) = channel().await;
    let (ch2, _c2, _l2) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let now = Instant::now();
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch1), now)
        .unwrap();
    route
        .register(
            reg("b", 0, "h:2", wrapper(1, &[("T", 4), ("U", 4)]), &ch2),
            now,
        )
        .unwrap();
    route.on_channel_close(&ch2);
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
    assert!(route.topic_route("U").is_none());
    assert!(addrs(&route, "b").is_empty());

    // A broker that re-registered over a new connection survives the old one's close.
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch2), now)
        .unwrap();
    route.on_channel_close(&ch1);
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
}

#[tokio::test]
async fn expiry_uses_each_brokers_timeout_and_closes_its_channel() {
    let (ch1, _c1, _l1) = channel().await;
    let (ch2, _c2, _l2) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let start = Instant::now();
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[("T", 4)]), &ch1), start)
        .unwrap();
    let mut short = reg("b", 0, "h:2", wrapper(1, &[("T", 4)]), &ch2);
    short.heartbeat_timeout = Some(Duration::from_secs(10));
    route.register(short, start).unwrap();

    assert_eq!(route.scan_not_active(start + Duration::from_secs(10)), 0);
    assert_eq!(route.scan_not_active(start + Duration::from_secs(11)), 1);
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
    assert!(ch2.is_closed());
    assert!(!ch1.is_closed());

    // QUERY_DATA_VERSION counts as a heartbeat.
    let later = start + Duration::from_secs(100);
    let (changed, known) = route.query_data_version(
        "DefaultCluster",
        "h:1",
        &wrapper(1, &[]).data_version,
        later,
    );
    assert!(!changed);
    assert_eq!(known.map(|v| v.counter), Some(1));
    assert_eq!(route.scan_not_active(start + Duration::from_secs(150)), 0);
    route.heartbeat("DefaultCluster", "h:1", start + Duration::from_secs(200));
    assert_eq!(route.scan_not_active(start + Duration::from_secs(300)), 0);
    assert_eq!(route.scan_not_active(start + Duration::from_secs(321)), 1);
    assert!(route.topic_list().topic_list.is_empty());

    let (changed, known) =
        route.query_data_version("DefaultCluster", "h:1", &DataVersion::default(), later);
    assert!(changed);
    assert!(known.is_none());
}

#[tokio::test]
async fn delete_topic_by_cluster_and_perm_changes() {
    let (ch, _c, _l) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    let now = Instant::now();
    route
        .register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        )
        .unwrap();
    let mut other = reg("c", 0, "h:9", wrapper(1, &[("T", 4)]), &ch);
    other.cluster_name = "Other".into();
    route.register(other, now).unwrap();

    assert_eq!(route.set_write_perm("a", false), 2);
    assert_eq!(route.topic_route("U").unwrap().queue_datas[0].perm, 4);
    assert_eq!(route.set_write_perm("a", true), 2);
    assert_eq!(route.topic_route("U").unwrap().queue_datas[0].perm, 6);
    assert_eq!(route.set_write_perm("nobody", false), 0);

    assert!(route.delete_topic("T", Some("Other")));
    assert_eq!(queue_nums(&route, "T"), vec![("a".into(), 4)]);
    assert!(!route.delete_topic("T", Some("NoCluster")));
    assert!(route.delete_topic("T", Some("DefaultCluster")));
    assert!(route.topic_route("T").is_none());
    assert!(route.delete_topic("U", None));
    assert!(!route.delete_topic("U", None));
}

#[tokio::test]
async fn register_topic_needs_known_brokers() {
    let (ch, _c, _l) = channel().await;
    let route = RouteInfo::new(Duration::from_secs(120), RouteLimits::default());
    route
        .register(reg("a", 0, "h:1", wrapper(1, &[]), &ch), Instant::now())
        .unwrap();
    let q = |name: &str| QueueData {
        broker_name: name.into(),
        perm: 6,
        read_queue_nums: 2,
        topic_sys_flag: 0,
        write_queue_nums: 2,
    };
    let err = route.register_topic("N", vec![q("a"), q("x")]).unwrap_err();
    assert!(
        matches!(&err, NamesrvError::UnknownBroker { broker_name, .. } if broker_name == "x"),
        "{err}"
    );
    assert!(route.topic_route("N").is_none());
    route.register_topic("N", vec![q("a")]).unwrap();
    assert_eq!(queue_nums(&route, "N"), vec![("a".into(), 2)]);
}

#[tokio::test]
async fn tables_stay_within_their_limits() {
    let (ch, _c, _l) = channel().await;
    let limits = RouteLimits {
        max_brokers: 2,
        max_topics: 3,
        max_clusters: 1,
    };
    let route = RouteInfo::new(Duration::from_secs(120), limits);
    let now = Instant::now();
    route
        .register(
            reg("a", 0, "h:1", wrapper(1, &[("T", 4), ("U", 4)]), &ch),
            now,
        )
        .unwrap();
    // Two new topics, room for one: the broker registers, one topic is left out.
    let r = route
        .register(
            reg("b", 0, "h:2", wrapper(1, &[("V", 1), ("W", 1)]), &ch),
            now,
        )
        .unwrap();
    let refused = r.topics_refused.expect("a topic refused");
    assert_eq!((refused.table, refused.count), (RouteTable::Topics, 1));
    assert_eq!(route.topic_list().topic_list.len(), 3);
    assert_eq!(addrs(&route, "b"), vec![(0, "h:2".to_string())]);
    // Its stored version is not its own, so it registers in full again.
    assert!(
        route
            .query_data_version("DefaultCluster", "h:2", &wrapper(1, &[]).data_version, now)
            .0
    );
    // A third broker, and a second cluster: refused whole.
    let e = route
        .register(reg("c", 0, "h:3", wrapper(1, &[]), &ch), now)
        .unwrap_err();
    assert_eq!(e.table, RouteTable::Brokers);
    assert!(addrs(&route, "c").is_empty());
    route.unregister("DefaultCluster", "h:2", "b");
    let mut other = reg("c", 0, "h:3", wrapper(1, &[]), &ch);
    other.cluster_name = "Other".into();
    assert_eq!(
        route.register(other, now).unwrap_err().table,
        RouteTable::Clusters
    );
    // REGISTER_TOPIC_IN_NAMESRV counts too.
    route
        .register(reg("b", 0, "h:2", wrapper(2, &[("V", 1)]), &ch), now)
        .unwrap();
    let queue = route.topic_route("T").unwrap().queue_datas.remove(0);
    let err = route.register_topic("X", vec![queue]).unwrap_err();
    assert!(err.to_string().contains("maxTopics"), "{err}");
}
