//! `mqbench producer --header json|binary` against a real nameserver and broker, the broker
//! behind a recording proxy: with either form every message is sent and stored, the JSON
//! summary names the form, and every request on the producer's connections to the broker
//! (the sends and the UNREGISTER_CLIENT of its shutdown) carried its header in that form.

use std::collections::BTreeSet;

use fennec_remoting::{RequestCode, SerializeType};
use fennec_tests::mqadmin::words;
use fennec_tests::mqbench::mqbench;
use fennec_tests::proxied::ProxiedCluster;

const TOPIC: &str = "HeaderForms";
const QUEUES: i32 = 4;
/// Messages per run; mqbench sends one more before the clock starts (to learn the route).
const COUNT: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_sends_with_json_and_binary_headers() {
    let cluster = ProxiedCluster::start(&["broker-a"]);
    cluster.create_topic(TOPIC, QUEUES, &[0]).await;
    let proxy = &cluster.proxies[0];
    let mut stored = 0;
    for (header, form) in [
        ("json", SerializeType::Json),
        ("binary", SerializeType::RocketMq),
    ] {
        let before = proxy.requests().len();
        let args: Vec<String> = words(&format!(
            "producer -n {} -t {TOPIC} --header {header} --count {COUNT} -w 2 \
             --baseline-seconds 0 --json",
            cluster.namesrv()
        ))
        .into_iter()
        .map(String::from)
        .collect();
        let summary = tokio::task::spawn_blocking(move || mqbench(&args, &[]))
            .await
            .expect("mqbench runner");
        assert_eq!(
            (
                summary["messages"].as_u64(),
                summary["failures"].as_u64(),
                summary["header"].as_str()
            ),
            (Some(COUNT), Some(0), Some(header)),
            "{summary}"
        );

        // This run's sends and its unregistration are all answered, hence recorded, before
        // mqbench exits; the earlier run's connections are told apart by number.
        let log = proxy.requests();
        let sends: Vec<_> = log[before..]
            .iter()
            .filter(|r| r.is(RequestCode::SEND_MESSAGE_V2))
            .collect();
        assert_eq!(sends.len() as u64, COUNT + 1, "--header {header}");
        let connections: BTreeSet<u64> = sends.iter().map(|r| r.connection).collect();
        // (code, header form) of every request on them; bodies are too long to print.
        let on_them: Vec<(i32, SerializeType)> = log
            .iter()
            .filter(|r| connections.contains(&r.connection))
            .map(|r| (r.code, r.serialize_type))
            .collect();
        assert!(
            on_them.contains(&(i32::from(RequestCode::UNREGISTER_CLIENT), form)),
            "--header {header}: no {form:?} UNREGISTER_CLIENT on the send connections: {on_them:?}"
        );
        assert!(
            on_them.iter().all(|&(_, f)| f == form),
            "--header {header}: requests not in the {form:?} form: {on_them:?}"
        );

        stored += COUNT as i64 + 1;
        cluster.stored(0, TOPIC, QUEUES, stored).await;
    }
}
