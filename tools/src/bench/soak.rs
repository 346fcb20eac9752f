//! `mqbench soak`: many long-lived clients against one broker for a long time, at a bounded
//! rate, checking that nothing fails and that the broker's memory and sockets stay flat.
//!
//! The clients, each with connections of its own (every SDK client has its own instance):
//! producers sending at a fixed total rate, push consumers in a few groups (each group
//! receives every message), idle producers (one message at start, then only the SDK's
//! heartbeats) and heartbeat-only clients (a bare connection sending HEART_BEAT every 30 s,
//! which counts an error if the broker closed it in between).
//! Every interval it prints throughput, errors and the broker's RSS and descriptors; at the
//! end it lets the consumers catch up and prints a verdict (see `soak_verdict`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use fennec_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeResult, Message, MessageExt, MessageListener,
    Producer, PushConsumer,
};
use fennec_protocol::body::{HeartbeatData, ProducerData};
use fennec_protocol::request::client::Heartbeat;
use fennec_remoting::RemotingClient;
use tokio_util::sync::CancellationToken;

use super::cli::Target;
use super::soak_verdict::{sample, ProcSample, Trend};
use super::BenchError;

/// `println!` that survives a failed write (a full disk must not end a long run).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that survives a failed write.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Period of the heartbeat-only clients (the SDK's own period).
const HEARTBEAT_PERIOD: Duration = Duration::from_secs(30);
/// How long consumers may take to catch up after the producers stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Args, Debug)]
pub struct SoakArgs {
    #[command(flatten)]
    pub target: Target,
    /// Broker address (`ip:port`) for the heartbeat-only clients.
    #[arg(long)]
    pub broker: String,
    /// PID of the broker process, whose RSS and descriptors are sampled.
    #[arg(long)]
    pub broker_pid: u32,
    /// Seconds to run.
    #[arg(long, default_value_t = 600)]
    pub duration: u64,
    /// Seconds between two report lines.
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// Messages per second, all producers together.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Message body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 256)]
    pub size: usize,
    /// Producers sending at the rate, together.
    #[arg(long, default_value_t = 40)]
    pub producers: usize,
    /// Consumer groups; each receives every message.
    #[arg(long, default_value_t = 4)]
    pub consumer_groups: usize,
    /// Push consumers in each group.
    #[arg(long, default_value_t = 10)]
    pub consumers_per_group: usize,
    /// Producers that start and never send.
    #[arg(long, default_value_t = 120)]
    pub idle_clients: usize,
    /// Bare connections that only send HEART_BEAT.
    #[arg(long, default_value_t = 800)]
    pub heartbeat_clients: usize,
}

/// Counters shared by every client task.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    errors: AtomicU64,
    heartbeats: AtomicU64,
    /// Messages received, per consumer group.
    received: Vec<AtomicU64>,
}

impl Counters {
    fn received_total(&self) -> u64 {
        self.received
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .sum()
    }

    fn error(&self, what: &str, e: &dyn std::fmt::Display) {
        if self.errors.fetch_add(1, Ordering::Relaxed) < 10 {
            say_err!("soak: {what} failed: {e}");
        }
    }
}

/// Runs the soak; `Ok(sent)` when the verdict passes.
pub async fn run(a: &SoakArgs) -> Result<u64, BenchError> {
    let counters = Arc::new(Counters {
        received: (0..a.consumer_groups).map(|_| AtomicU64::new(0)).collect(),
        ..Counters::default()
    });
    let stop = CancellationToken::new();
    let ns = &a.target.namesrv;
    let consumers = start_consumers(a, &counters).await?;
    let mut idle = Vec::with_capacity(a.idle_clients);
    for _ in 0..a.idle_clients {
        let p = Producer::builder("SoakIdle").namesrv_addr(ns).build()?;
        p.start().await?;
        // One message, so that the client knows the broker and heartbeats to it.
        match p
            .send(Message::new(&a.target.topic, vec![b'i'; a.size]))
            .await
        {
            Ok(_) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => counters.error("send", &e),
        }
        idle.push(p);
    }
    let heartbeats = heartbeat_clients(a, &counters, &stop);
    let producers = start_producers(a, &counters, &stop).await?;
    say!(
        "soak: {} producers, {} push consumers in {} groups, {} idle clients, {} heartbeat-only \
         clients; {} msg/s of {} bytes for {} s",
        a.producers,
        a.consumer_groups * a.consumers_per_group,
        a.consumer_groups,
        a.idle_clients,
        a.heartbeat_clients,
        a.rate,
        a.size,
        a.duration
    );

    let samples = report_until(a, &counters).await?;
    stop.cancel();
    for p in producers {
        let _ = p.await;
    }
    let sent = counters.sent.load(Ordering::Relaxed);
    let missing = drain(&counters, sent).await;
    for h in heartbeats {
        h.abort();
    }
    for p in idle {
        p.shutdown().await;
    }
    for c in consumers {
        c.shutdown().await;
    }
    verdict(&counters, &samples, sent, missing)
}

async fn start_consumers(
    a: &SoakArgs,
    counters: &Arc<Counters>,
) -> Result<Vec<PushConsumer>, BenchError> {
    let mut consumers = Vec::new();
    for group in 0..a.consumer_groups {
        for _ in 0..a.consumers_per_group {
            let c = PushConsumer::builder(format!("SoakGroup{group}"))
                .namesrv_addr(&a.target.namesrv)
                .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
                .build()?;
            c.subscribe(&a.target.topic, "*")?;
            let counters = counters.clone();
            c.start(Counting { counters, group }).await?;
            consumers.push(c);
        }
    }
    Ok(consumers)
}

/// Producers, each sending `rate / producers` messages per second until `stop`.
async fn start_producers(
    a: &SoakArgs,
    counters: &Arc<Counters>,
    stop: &CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, BenchError> {
    let n = a.producers.max(1);
    let period = Duration::from_secs_f64(n as f64 / a.rate.max(1) as f64);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let p = Producer::builder("SoakProducer")
            .namesrv_addr(&a.target.namesrv)
            .build()?;
        p.start().await?;
        let (counters, stop, topic) = (counters.clone(), stop.clone(), a.target.topic.clone());
        let body = vec![b's'; a.size];
        tasks.push(tokio::spawn(async move {
            // Spread the producers over one period.
            tokio::time::sleep(period.mul_f64(i as f64 / n as f64)).await;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match p.send(Message::new(&topic, body.clone())).await {
                    Ok(_) => {
                        counters.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => counters.error("send", &e),
                }
            }
            p.shutdown().await;
        }));
    }
    Ok(tasks)
}

/// Bare clients, each on its own connection, sending HEART_BEAT every 30 s until `stop`.
fn heartbeat_clients(
    a: &SoakArgs,
    counters: &Arc<Counters>,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let n = a.heartbeat_clients;
    (0..n)
        .map(|i| {
            let (counters, stop, broker) = (counters.clone(), stop.clone(), a.broker.clone());
            let data = HeartbeatData {
                client_id: format!("127.0.0.1@soak-heartbeat-{i}"),
                producer_data_set: vec![ProducerData {
                    group_name: "SoakHeartbeat".to_string(),
                }],
                ..HeartbeatData::default()
            };
            let request = Heartbeat(data);
            tokio::spawn(async move {
                // Connect now; heartbeats are spread over the period.
                let client = RemotingClient::default();
                let mut connection = match client.channel(&broker).await {
                    Ok(c) => Some(c.id()),
                    Err(e) => {
                        counters.error("connect", &e);
                        None
                    }
                };
                tokio::time::sleep(HEARTBEAT_PERIOD.mul_f64(i as f64 / n.max(1) as f64)).await;
                let mut tick = tokio::time::interval(HEARTBEAT_PERIOD);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    // The broker must not have closed the connection between heartbeats.
                    match client.channel(&broker).await {
                        Ok(c) if connection.is_some_and(|id| id != c.id()) => {
                            counters.error("heartbeat connection", &"closed by the broker");
                            connection = Some(c.id());
                        }
                        Ok(c) => connection = Some(c.id()),
                        Err(e) => counters.error("connect", &e),
                    }
                    match client.call(&broker, &request, Duration::from_secs(5)).await {
                        Ok(()) => {
                            counters.heartbeats.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => counters.error("heartbeat", &e),
                    }
                }
            })
        })
        .collect()
}

/// Prints a line every interval until the duration is over; returns the broker samples.
async fn report_until(a: &SoakArgs, counters: &Counters) -> Result<Vec<ProcSample>, BenchError> {
    let start = Instant::now();
    let interval = Duration::from_secs(a.interval.max(1));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    let (mut last_sent, mut last_received) = (0, 0);
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(a.duration) {
        tick.tick().await;
        let s = sample(a.broker_pid).map_err(|e| {
            BenchError::Internal(format!("cannot sample broker pid {}: {e}", a.broker_pid))
        })?;
        let (sent, received) = (
            counters.sent.load(Ordering::Relaxed),
            counters.received_total(),
        );
        let secs = interval.as_secs_f64();
        say!(
            "t={:>5}s sent={:>6.0}/s received={:>6.0}/s errors={} heartbeats={} \
             broker rss={:.1}MiB anon={:.1}MiB fds={} sockets={}",
            start.elapsed().as_secs(),
            (sent - last_sent) as f64 / secs,
            (received - last_received) as f64 / secs,
            counters.errors.load(Ordering::Relaxed),
            counters.heartbeats.load(Ordering::Relaxed),
            s.rss_kib as f64 / 1024.0,
            s.anon_kib as f64 / 1024.0,
            s.fds,
            s.sockets
        );
        (last_sent, last_received) = (sent, received);
        samples.push(s);
    }
    Ok(samples)
}

/// Waits until every group has received every message sent; returns how many are missing.
async fn drain(counters: &Counters, sent: u64) -> u64 {
    let missing = || {
        counters
            .received
            .iter()
            .map(|r| sent.saturating_sub(r.load(Ordering::Relaxed)))
            .sum::<u64>()
    };
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while missing() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    missing()
}

fn verdict(
    counters: &Counters,
    samples: &[ProcSample],
    sent: u64,
    missing: u64,
) -> Result<u64, BenchError> {
    let errors = counters.errors.load(Ordering::Relaxed);
    let series = |f: fn(&ProcSample) -> u64| samples.iter().map(f).collect::<Vec<_>>();
    let anon = Trend::of(&series(|s| s.anon_kib), 0.10, 8.0 * 1024.0);
    let sockets = Trend::of(&series(|s| s.sockets), 0.02, 5.0);
    let (first, last) = (samples.first(), samples.last());
    let show = |s: Option<&ProcSample>| {
        s.map_or("-".to_string(), |s| {
            format!(
                "rss {:.1} MiB (anon {:.1} MiB), fds {} ({} sockets)",
                s.rss_kib as f64 / 1024.0,
                s.anon_kib as f64 / 1024.0,
                s.fds,
                s.sockets
            )
        })
    };
    say!("soak: sent {sent}, received {} (all groups), missing {missing}, errors {errors}, heartbeats {}",
        counters.received_total(), counters.heartbeats.load(Ordering::Relaxed));
    say!("soak: broker at start: {}", show(first));
    say!("soak: broker at end:   {}", show(last));
    say!(
        "soak: {}",
        anon.describe("anonymous memory", 1024.0, " MiB")
    );
    say!("soak: {}", sockets.describe("sockets", 1.0, ""));
    let mut failures = Vec::new();
    if errors > 0 {
        failures.push(format!("{errors} errors"));
    }
    if missing > 0 {
        failures.push(format!("{missing} messages not received"));
    }
    if anon.is_growing() {
        failures.push("broker memory grows".to_string());
    }
    if sockets.is_growing() {
        failures.push("broker sockets grow".to_string());
    }
    if failures.is_empty() {
        let judged = if anon == Trend::TooShort {
            " (too short to judge trends)"
        } else {
            ""
        };
        say!("soak: VERDICT PASS{judged}");
        Ok(sent)
    } else {
        say!("soak: VERDICT FAIL: {}", failures.join(", "));
        Err(BenchError::Internal(format!(
            "soak failed: {}",
            failures.join(", ")
        )))
    }
}

/// A push listener that counts what its group receives.
struct Counting {
    counters: Arc<Counters>,
    group: usize,
}

impl MessageListener for Counting {
    async fn consume(&self, msgs: &[MessageExt], _: &ConsumeContext) -> ConsumeResult {
        self.counters.received[self.group].fetch_add(msgs.len() as u64, Ordering::Relaxed);
        ConsumeResult::Success
    }
}
