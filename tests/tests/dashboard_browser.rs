//! The dashboard in a real browser: headless Chromium opens each page of a real
//! `mqdashboard` in front of a real nameserver and broker and finds what this test produced
//! (the broker, a topic and its message count, a group's lag, a message found by key).
//! Screenshots land in `target/dashboard-screenshots/` (CI keeps them as artifacts).
//! Skips, saying so, when no Chromium is installed (`apt-get install chromium`).

use std::path::PathBuf;
use std::time::Duration;

use fennec_client::Message;
use fennec_tests::browser::Browser;
use fennec_tests::cluster::{start_dashboard, BrokerSpec};
use fennec_tests::json::int;
use fennec_tests::mqadmin::Mqadmin;
use fennec_tests::one_broker::OneBroker;
use fennec_tests::poll::wait_until;
use fennec_tests::process::bin_path;
use fennec_tests::sdk::{producer, push_consumer, Deliveries};

const TOPIC: &str = "BrowserTopic";
const GROUP: &str = "BrowserGroup";
const WAIT: Duration = Duration::from_secs(30);

/// `target/dashboard-screenshots`, next to the binaries' profile directory.
fn screenshot_dir() -> PathBuf {
    let bin = bin_path("mqdashboard");
    let target = bin
        .parent()
        .and_then(|profile| profile.parent())
        .expect("the binary sits in target/<profile>/");
    let dir = target.join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).expect("create target/dashboard-screenshots");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_shows_what_the_run_produced() {
    let Some(browser) = Browser::find() else {
        eprintln!(
            "SKIPPED: no Chromium found (set CHROMIUM or install it: apt-get install chromium)"
        );
        return;
    };
    let one = OneBroker::start(BrokerSpec::new("broker-web"));
    one.create_topic(TOPIC, 4).await;
    let ns = one.namesrv();
    let dash = start_dashboard(&ns, &[]);
    let web = format!("http://{}", dash.addr());

    // 12 messages consumed by the group, 3 more left: a lag of 3.
    let p = producer(&ns, "BrowserProducer").await;
    for i in 0..15 {
        let msg = Message::new(TOPIC, format!("body-{i}")).with_keys(&[format!("key-{i}")]);
        p.send(msg).await.expect("send");
        if i == 11 {
            let deliveries = Deliveries::open();
            let consumer = push_consumer(&ns, GROUP, TOPIC, &deliveries).await;
            wait_until("12 deliveries", WAIT, || async {
                deliveries.snapshot().len() >= 12
            })
            .await;
            consumer.shutdown().await;
        }
    }
    p.shutdown().await;
    Mqadmin::new(&ns)
        .progress_when(GROUP, "a lag of 3", |v| int(v, "diffTotal") == 3)
        .await;

    let shots = screenshot_dir();
    let broker = one.broker();
    let pages: [(&str, String, Vec<String>); 4] = [
        (
            "cluster",
            "#cluster".into(),
            vec!["broker-web".into(), "MASTER".into(), broker],
        ),
        (
            "topic",
            format!("#topics?topic={TOPIC}"),
            vec![format!("{TOPIC} — 15 messages stored")],
        ),
        (
            "group",
            format!("#groups?group={GROUP}"),
            vec![format!("{GROUP} — lag 3")],
        ),
        (
            "message",
            format!("#messages?topic={TOPIC}&key=key-7"),
            vec!["1 message(s)".into(), "body-7".into(), "key-7".into()],
        ),
    ];
    for (name, hash, expected) in &pages {
        let url = format!("{web}/{hash}");
        let dom = browser.dom(&url);
        for text in expected {
            assert!(
                dom.contains(text),
                "{name} page {url}: no {text:?} in\n{dom}"
            );
        }
        browser.screenshot(&url, &shots.join(format!("{name}.png")));
    }
}
