//! Command line of `mqbench`: `producer`, `consumer`, `baseline` and `soak`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::baseline::EchoServer;
use super::consumer::{self, ConsumeMode, ConsumerWorkload};
use super::producer::{self, Defer, Header, Limit, ProducerWorkload, SendMode};
use super::report::{Live, Summary};
use super::soak::{self, SoakArgs};
use super::BenchError;
use crate::security::{Security, SecurityArgs};

#[derive(Parser, Debug)]
#[command(
    name = "mqbench",
    version,
    about = "Load generator for RocketMQ-protocol brokers (Fennec or Apache RocketMQ)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send messages and report send TPS and latency, beside an echo baseline.
    Producer(ProducerArgs),
    /// Consume messages and report receive TPS and end-to-end latency.
    Consumer(ConsumerArgs),
    /// Run the producer workload against an in-process echo server only.
    Baseline(BaselineArgs),
    /// Many long-lived clients at a bounded rate; checks errors and the broker's RSS and
    /// descriptors for growth (scripts/soak.sh runs it).
    Soak(SoakArgs),
}

/// Options every workload shares.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Stop after this many messages.
    #[arg(long, conflicts_with = "duration")]
    pub count: Option<u64>,
    /// Stop after this many seconds (default 10 when no --count).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Print the summary as JSON on stdout (live lines go to stderr).
    #[arg(long)]
    pub json: bool,
}

impl Common {
    fn limit(&self) -> Limit {
        match (self.count, self.duration) {
            (Some(n), _) => Limit::Count(n),
            (None, Some(s)) => Limit::Duration(Duration::from_secs(s)),
            (None, None) => Limit::Duration(Duration::from_secs(10)),
        }
    }

    fn live(&self) -> Live {
        if self.json {
            Live::Stderr
        } else {
            Live::Stdout
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct Load {
    /// Message body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 1024)]
    pub size: usize,
    /// Concurrent senders.
    #[arg(short = 'w', long = "concurrency", default_value_t = 64)]
    pub concurrency: usize,
    /// sync, async or oneway.
    #[arg(long, value_enum, default_value_t = SendMode::Sync)]
    pub mode: SendMode,
    /// Header form of every request the producer sends (the serialize type of each frame).
    #[arg(long, value_enum, default_value_t = Header::Binary)]
    pub header: Header,
    /// Messages per batch send (1 = no batching).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Give every message a unique key.
    #[arg(short = 'k', long = "keys")]
    pub keys: bool,
    /// Tag of every message.
    #[arg(long)]
    pub tags: Option<String>,
    /// Fixed total rate in messages per second.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Transactional sends: half message, local transaction (commits at once),
    /// END_TRANSACTION. Sync mode only; the baseline is then plain sync sends to the same
    /// broker at the same concurrency.
    #[arg(long)]
    pub tx: bool,
    /// Send delayed messages of this delay level (DELAY).
    #[arg(long, conflicts_with = "timer_delay_ms")]
    pub delay_level: Option<i32>,
    /// Send timer messages due this many ms after they are stored (TIMER_DELAY_MS).
    #[arg(long)]
    pub timer_delay_ms: Option<i64>,
    /// With --timer-delay-ms: spread due times over this many more ms.
    #[arg(long, default_value_t = 0, requires = "timer_delay_ms")]
    pub timer_spread_ms: i64,
}

impl Load {
    fn defer(&self) -> Defer {
        match (self.delay_level, self.timer_delay_ms) {
            (Some(level), _) => Defer::Level(level),
            (None, Some(delay_ms)) => Defer::Timer {
                delay_ms,
                spread_ms: self.timer_spread_ms.max(0),
            },
            (None, None) => Defer::Now,
        }
    }
}

/// Where a producer or consumer workload goes.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Nameservers, ';'-separated.
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    pub namesrv: String,
    /// Topic to load.
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    pub topic: String,
    /// ACL credentials and TLS of the connections to the cluster.
    #[command(flatten)]
    pub security: SecurityArgs,
}

#[derive(Args, Debug)]
pub struct ProducerArgs {
    #[command(flatten)]
    pub target: Target,
    /// Producer group.
    #[arg(long, default_value = "BenchmarkProducer")]
    pub group: String,
    #[command(flatten)]
    pub load: Load,
    /// Seconds of baseline measured before the run: the echo server, or with --tx plain sync
    /// sends to the same broker (0: none).
    #[arg(long, default_value_t = 5)]
    pub baseline_seconds: u64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub load: Load,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum From {
    First,
    Last,
}

#[derive(Args, Debug)]
pub struct ConsumerArgs {
    #[command(flatten)]
    pub target: Target,
    /// Consumer group.
    #[arg(short = 'g', long = "group", default_value = "BenchmarkConsumer")]
    pub group: String,
    /// push or pull.
    #[arg(long, value_enum, default_value_t = ConsumeMode::Push)]
    pub mode: ConsumeMode,
    /// Where a new group starts.
    #[arg(long, value_enum, default_value_t = From::Last)]
    pub from: From,
    /// Messages per listener call (push).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Measure lateness instead of end-to-end latency: receipt minus due time (the
    /// broker's TIMER_OUT_MS for timer messages, else send time plus --expected-delay-ms).
    #[arg(long)]
    pub lateness: bool,
    /// With --lateness: the delay of delay-level messages, in ms.
    #[arg(long, default_value_t = 0, requires = "lateness")]
    pub expected_delay_ms: u64,
    #[command(flatten)]
    pub common: Common,
}

fn workload(
    namesrv: &str,
    topic: &str,
    group: &str,
    load: &Load,
    common: &Common,
    limit: Limit,
) -> ProducerWorkload {
    ProducerWorkload {
        namesrv: namesrv.to_string(),
        security: Security::default(),
        topic: topic.to_string(),
        group: group.to_string(),
        body_size: load.size,
        concurrency: load.concurrency.max(1),
        keys: load.keys,
        tags: load.tags.clone(),
        batch: load.batch.max(1),
        mode: load.mode,
        header: load.header,
        limit,
        rate: load.rate,
        transactional: load.tx,
        defer: load.defer(),
        live: common.live(),
    }
}

/// Runs the echo baseline for `limit` with the producer settings of `load`.
pub async fn baseline(load: &Load, common: &Common, limit: Limit) -> Result<Summary, BenchError> {
    let server = EchoServer::start(2)?;
    let mut w = workload(
        &server.addr(),
        "EchoTopic",
        "EchoProducer",
        load,
        common,
        limit,
    );
    // The echo server answers sends only.
    w.transactional = false;
    let summary = producer::run(&w, "echo-baseline").await;
    drop(server);
    summary
}

/// Plain sync sends to the broker and topic of a `--tx` run, at its concurrency.
async fn plain_baseline(
    a: &ProducerArgs,
    security: &Security,
    limit: Limit,
) -> Result<Summary, BenchError> {
    let mut w = workload(
        &a.target.namesrv,
        &a.target.topic,
        &a.group,
        &a.load,
        &a.common,
        limit,
    );
    w.transactional = false;
    w.security = security.clone();
    producer::run(&w, "plain-sync-baseline").await
}

fn emit(summary: &Summary, json: bool) {
    if json {
        println!("{}", serde_json::to_string(summary).unwrap_or_default());
    } else {
        println!("{}", summary.line());
    }
}

/// Runs the command and prints its summary.
pub async fn run(cli: Cli) -> Result<Summary, BenchError> {
    match cli.command {
        Command::Producer(a) => {
            if a.load.tx && (a.load.mode != SendMode::Sync || a.load.batch > 1) {
                return Err(BenchError::Internal(
                    "--tx sends one message per transaction, synchronously: use --mode sync \
                     and no --batch"
                        .into(),
                ));
            }
            let security = a.target.security.resolve().map_err(BenchError::Usage)?;
            let base = if a.baseline_seconds > 0 {
                let limit = Limit::Duration(Duration::from_secs(a.baseline_seconds));
                let b = if a.load.tx {
                    plain_baseline(&a, &security, limit).await?
                } else {
                    baseline(&a.load, &a.common, limit).await?
                };
                if !a.common.json {
                    println!("{}", b.line());
                }
                Some(b)
            } else {
                None
            };
            let mut w = workload(
                &a.target.namesrv,
                &a.target.topic,
                &a.group,
                &a.load,
                &a.common,
                a.common.limit(),
            );
            w.security = security;
            let mut summary = producer::run(&w, "producer").await?;
            if let Some(b) = &base {
                summary = summary.with_baseline(b);
            }
            emit(&summary, a.common.json);
            Ok(summary)
        }
        Command::Baseline(a) => {
            let summary = baseline(&a.load, &a.common, a.common.limit()).await?;
            emit(&summary, a.common.json);
            Ok(summary)
        }
        Command::Soak(a) => {
            let sent = soak::run(&a).await?;
            Ok(Summary {
                scenario: "soak".to_string(),
                messages: sent,
                seconds: a.duration as f64,
                tps: sent as f64 / a.duration.max(1) as f64,
                ..Summary::default()
            })
        }
        Command::Consumer(a) => {
            let w = ConsumerWorkload {
                security: a.target.security.resolve().map_err(BenchError::Usage)?,
                namesrv: a.target.namesrv,
                topic: a.target.topic,
                group: a.group,
                mode: a.mode,
                from_first: a.from == From::First,
                batch: a.batch,
                lateness: a.lateness.then_some(a.expected_delay_ms),
                limit: a.common.limit(),
                live: a.common.live(),
            };
            let summary = consumer::run(&w, "consumer").await?;
            emit(&summary, a.common.json);
            Ok(summary)
        }
    }
}
