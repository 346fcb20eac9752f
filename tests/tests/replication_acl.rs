//! Replication with ACL on: the slave signs its metadata copies with its own account
//! (`aclAccessKey`), so it learns the master's topics and serves them, and it checks signed
//! requests like its master.

use std::sync::Arc;

use fennec_remoting::{AclRpcHook, ClientConfig, NotSupported, RemotingClient, ResponseCode};
use fennec_tests::broker_api::{create_topic, read_queue, send_raw};
use fennec_tests::cluster::{BrokerSpec, Cluster};
use fennec_tests::replication::{wait_caught_up, wait_slaves, wait_topic};

/// One admin account; no white list.
const ACL_FILE: &str = "accounts:\n  - accessKey: repl-admin\n    secretKey: repl-secret\n    \
                        admin: true\n";

/// `spec` with ACL on, signing as the admin account.
fn with_acl(spec: BrokerSpec) -> BrokerSpec {
    spec.with("aclEnable", "true")
        .with("aclAccessKey", "repl-admin")
        .with("aclSecretKey", "repl-secret")
        .with_file("plain_acl.yml", ACL_FILE)
}

fn signed_client() -> RemotingClient {
    let hook: Arc<dyn fennec_remoting::RpcHook> =
        Arc::new(AclRpcHook::new("repl-admin", "repl-secret"));
    let config = ClientConfig {
        hook: Some(hook),
        ..ClientConfig::default()
    };
    RemotingClient::new(Arc::new(NotSupported), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_copies_and_serves_a_master_with_acl() {
    let cluster = Cluster::start(vec![
        with_acl(BrokerSpec::master("broker-acl", "SYNC_MASTER")),
        with_acl(BrokerSpec::slave("broker-acl", 1)),
    ]);
    let admin = signed_client();
    let (master, slave) = (cluster.brokers[0].addr(), cluster.brokers[1].addr());
    wait_slaves(&admin, &master, 1).await;
    create_topic(&admin, &master, "AclRepl", 1).await;
    for i in 0..3 {
        let r = send_raw(&admin, &master, ("AclRepl", 0), "k", &format!("acl-{i}")).await;
        assert_eq!(r.code, 0, "{}", r.remark);
    }
    wait_caught_up(&admin, &master, &slave).await;
    // The topic reaches the slave only through its signed metadata copy.
    wait_topic(&admin, &slave, "AclRepl").await;
    let bodies: Vec<String> = read_queue(&admin, &slave, "AclRepl", 0)
        .await
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(bodies, ["acl-0", "acl-1", "acl-2"]);

    // The slave checks requests too: an unsigned one is refused.
    let unsigned = RemotingClient::default();
    let r = send_raw(&unsigned, &slave, ("AclRepl", 0), "k", "unsigned").await;
    assert_eq!(r.code, ResponseCode::NO_PERMISSION as i32, "{}", r.remark);
}
