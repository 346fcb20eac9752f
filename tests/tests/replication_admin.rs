//! What an operator sees of a master/slave group through `mqadmin`: `clusterList` lists both
//! with their roles, `brokerStatus` shows how far the slave is behind (bytes) on the master
//! and the slave's connection on the slave.

use std::collections::BTreeMap;
use std::time::Duration;

use fennec_remoting::RemotingClient;
use fennec_tests::broker_api::{create_topic, runtime_info, send_raw, wait_for_route};
use fennec_tests::cluster::{BrokerSpec, Cluster, CLUSTER_NAME};
use fennec_tests::json::{array, int, text};
use fennec_tests::mqadmin::Mqadmin;
use fennec_tests::poll::wait_until;
use fennec_tests::replication::{info_number, wait_caught_up, wait_slaves};
use nix::sys::signal::Signal;
use serde_json::Value;

/// The runtime table `mqadmin brokerStatus -b <addr>` prints.
async fn broker_status(admin: &Mqadmin, addr: &str) -> Value {
    let status = admin.json(&["brokerStatus", "-b", addr]).await;
    array(&status, "brokers")[0]["table"].clone()
}

/// A number of a brokerStatus table.
fn number(table: &Value, key: &str) -> i64 {
    text(table, key)
        .parse()
        .unwrap_or_else(|e| panic!("{key} of {table}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mqadmin_shows_roles_and_replication_lag() {
    let cluster = Cluster::start(vec![
        BrokerSpec::master("broker-m", "SYNC_MASTER").with("syncFlushTimeout", "500"),
        BrokerSpec::slave("broker-m", 1),
    ]);
    let admin = Mqadmin::new(&cluster.namesrv_addr());
    let client = RemotingClient::default();
    let (master, slave) = (cluster.brokers[0].addr(), cluster.brokers[1].addr());
    wait_slaves(&client, &master, 1).await;

    let listed = admin.json(&["clusterList"]).await;
    let mut rows: Vec<(String, i64, String, String)> = array(&listed, "brokers")
        .iter()
        .map(|r| {
            assert_eq!(text(r, "cluster"), CLUSTER_NAME, "{r}");
            assert_eq!(text(r, "brokerName"), "broker-m", "{r}");
            (
                text(r, "addr").to_string(),
                int(r, "brokerId"),
                text(r, "role").to_string(),
                text(r, "brokerRole").to_string(),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.1);
    let row = |addr: &str, id: i64, role: &str, broker_role: &str| {
        (
            addr.to_string(),
            id,
            role.to_string(),
            broker_role.to_string(),
        )
    };
    assert_eq!(
        rows,
        [
            row(&master, 0, "MASTER", "SYNC_MASTER"),
            row(&slave, 1, "SLAVE", "SLAVE")
        ]
    );
    let human = admin.run(&["clusterList"]).await;
    assert!(
        human.assert_success().stdout.contains("SYNC_MASTER"),
        "{}",
        human.stdout
    );

    let table = broker_status(&admin, &slave).await;
    assert_eq!(text(&table, "brokerRole"), "SLAVE");
    assert_eq!(text(&table, "haConnected"), "true");
    assert!(!text(&table, "haMasterAddr").is_empty(), "{table}");

    // A stopped slave falls behind by exactly what the master stored since.
    create_topic(&client, &master, "Lag", 1).await;
    // The topic's route lists the master under id 0 and the slave under id 1.
    let route = wait_for_route(&client, &cluster.namesrv_addr(), "Lag", 1).await;
    let addrs: Vec<_> = route
        .broker_datas
        .iter()
        .map(|b| b.broker_addrs.clone())
        .collect();
    assert_eq!(
        addrs,
        [BTreeMap::from([(0, master.clone()), (1, slave.clone())])]
    );
    let slave_end = wait_caught_up(&client, &master, &slave).await;
    cluster.brokers[1].process.freeze();
    let r = send_raw(&client, &master, ("Lag", 0), "k", &"l".repeat(1000)).await;
    assert_eq!(r.code, 12, "FLUSH_SLAVE_TIMEOUT expected: {}", r.remark);
    let master_end = info_number(&client, &master, "commitLogMaxOffset").await;
    let table = broker_status(&admin, &master).await;
    assert_eq!(number(&table, "haSlaveNum"), 1);
    assert_eq!(
        number(&table, "slaveFallBehindMuch"),
        master_end - slave_end
    );
    let per_slave: Vec<i64> = table
        .as_object()
        .expect("a table")
        .iter()
        .filter(|(k, _)| k.starts_with("slaveFallBehind_"))
        .map(|(k, _)| number(&table, k))
        .collect();
    assert_eq!(per_slave, [master_end - slave_end]);

    cluster.brokers[1].process.signal(Signal::SIGCONT);
    wait_until(
        "the slave caught up again",
        Duration::from_secs(30),
        || async {
            runtime_info(&client, &master)
                .await
                .get("slaveFallBehindMuch")
                .map(String::as_str)
                == Some("0")
        },
    )
    .await;
    assert_eq!(
        number(&broker_status(&admin, &master).await, "slaveFallBehindMuch"),
        0
    );
}
