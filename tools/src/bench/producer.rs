//! `mqbench producer`: `concurrency` workers send messages through the SDK's producer (sync,
//! async, oneway or batch), optionally paced to a fixed rate, for a count or a duration;
//! optionally delayed (a delay level) or timed (`TIMER_DELAY_MS`, spread over a window). With
//! `transactional`, each sync send is a transaction: a half message, a local transaction that
//! commits at once, END_TRANSACTION; a send counts when its local transaction committed.
//! Every request the producer sends carries its header in the workload's [`Header`] form.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fennec_client::{
    ClientError, LocalTransactionState, Message, MessageExt, Producer, SendResult,
    TransactionListener, TransactionProducer,
};
use fennec_protocol::SerializeType;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::payload;
use super::report::{report, Live, Meter, Summary};
use super::BenchError;
use crate::security::Security;

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SendMode {
    Sync,
    Async,
    Oneway,
}

/// The header form of the producer's requests (the serialize type in the top byte of each
/// frame's header-length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Header {
    /// RocketMQ's JSON header: what the Java client sends by default.
    Json,
    /// The compact ROCKETMQ binary header: the Fennec SDK's default.
    Binary,
}

impl Header {
    pub fn serialize_type(self) -> SerializeType {
        match self {
            Header::Json => SerializeType::Json,
            Header::Binary => SerializeType::RocketMq,
        }
    }

    /// The name `--header` takes and the JSON summary reports.
    pub fn name(self) -> &'static str {
        match self {
            Header::Json => "json",
            Header::Binary => "binary",
        }
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Count(u64),
    Duration(Duration),
}

/// Whether messages are delivered later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Defer {
    #[default]
    Now,
    /// `DELAY` = this level.
    Level(i32),
    /// `TIMER_DELAY_MS` = `delay_ms` plus a pseudo-random share of `spread_ms`.
    Timer { delay_ms: i64, spread_ms: i64 },
}

impl Defer {
    fn apply(self, m: Message, worker: usize, seq: u64) -> Message {
        match self {
            Defer::Now => m,
            Defer::Level(level) => m.with_delay_level(level),
            Defer::Timer {
                delay_ms,
                spread_ms,
            } => {
                let mix = (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ worker as u64) >> 16;
                let extra = if spread_ms > 0 {
                    (mix % spread_ms as u64) as i64
                } else {
                    0
                };
                m.with_delay_ms(delay_ms + extra)
            }
        }
    }
}

/// One producer workload.
#[derive(Debug, Clone)]
pub struct ProducerWorkload {
    pub namesrv: String,
    /// ACL signing and TLS of the producer's connections.
    pub security: Security,
    pub topic: String,
    pub group: String,
    pub body_size: usize,
    pub concurrency: usize,
    pub keys: bool,
    pub tags: Option<String>,
    /// Messages per send_batch call; 1 sends single messages.
    pub batch: usize,
    pub mode: SendMode,
    pub header: Header,
    pub limit: Limit,
    /// Messages per second across all workers.
    pub rate: Option<u64>,
    /// Transactional sends (sync mode, no batches).
    pub transactional: bool,
    pub defer: Defer,
    pub live: Live,
}

/// The benchmark's local transactions: they commit at once (and so do checks, should an
/// END_TRANSACTION get lost).
struct CommitAtOnce;

impl TransactionListener for CommitAtOnce {
    async fn execute_local_transaction(
        &self,
        _: &Message,
        _: &SendResult,
    ) -> LocalTransactionState {
        LocalTransactionState::Commit
    }
    async fn check_local_transaction(&self, _: &MessageExt) -> LocalTransactionState {
        LocalTransactionState::Commit
    }
}

/// What the workers send through.
enum Client {
    Plain(Producer),
    Transactional(TransactionProducer),
}

impl Client {
    async fn start(w: &ProducerWorkload) -> Result<Client, ClientError> {
        let mut config = w.security.client_config(&w.namesrv);
        config.serialize_type = w.header.serialize_type();
        let builder = Producer::builder(&w.group).client_config(config);
        if w.transactional {
            let p = builder.build_transactional(CommitAtOnce)?;
            p.start().await?;
            Ok(Client::Transactional(p))
        } else {
            let p = builder.build()?;
            p.start().await?;
            Ok(Client::Plain(p))
        }
    }

    fn producer(&self) -> &Producer {
        match self {
            Client::Plain(p) => p,
            Client::Transactional(t) => t.producer(),
        }
    }

    /// One synchronous send (a committed transaction when transactional).
    async fn send(&self, msg: Message) -> Result<(), ClientError> {
        match self {
            Client::Plain(p) => p.send(msg).await.map(drop),
            Client::Transactional(t) => {
                let r = t.send_in_transaction(msg).await?;
                if r.local_state == LocalTransactionState::Commit {
                    Ok(())
                } else {
                    Err(ClientError::InvalidMessage(format!(
                        "local transaction {:?}",
                        r.local_state
                    )))
                }
            }
        }
    }

    async fn shutdown(&self) {
        match self {
            Client::Plain(p) => p.shutdown().await,
            Client::Transactional(t) => t.shutdown().await,
        }
    }
}

/// Runs the workload and returns its summary (labelled `scenario`).
pub async fn run(w: &ProducerWorkload, scenario: &str) -> Result<Summary, BenchError> {
    let producer = Client::start(w).await?;
    // Learn the route before the clock starts.
    let warmup = producer.send(message(w, 0, 0)).await;
    if let Err(e) = warmup {
        producer.shutdown().await;
        return Err(BenchError::Client(e));
    }
    let producer = Arc::new(producer);
    let meter = Arc::new(Meter::default());
    let stop = CancellationToken::new();
    let claimed = Arc::new(AtomicU64::new(0));
    let pacer = w.rate.map(|rate| Pacer::start(rate, stop.clone()));
    let in_flight = Arc::new(Semaphore::new(w.concurrency));
    let mut workers = Vec::new();
    for id in 0..w.concurrency {
        let ctx = Worker {
            w: w.clone(),
            id,
            producer: producer.clone(),
            meter: meter.clone(),
            stop: stop.clone(),
            claimed: claimed.clone(),
            pacer: pacer.clone(),
            in_flight: in_flight.clone(),
        };
        workers.push(tokio::spawn(ctx.run()));
    }
    let reporter = {
        let (meter, stop, scenario) = (meter.clone(), stop.clone(), scenario.to_string());
        let live = w.live;
        // Echo-baseline lines say so, so they are not mistaken for the broker's figures.
        let what = if scenario == "echo-baseline" {
            "echo-baseline send"
        } else {
            "send"
        };
        tokio::spawn(async move { report(&meter, &scenario, what, live, stop).await })
    };
    if let Limit::Duration(d) = w.limit {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            stop.cancel();
        });
    }
    for worker in workers {
        let _ = worker.await;
    }
    // Async sends still in flight hold permits; wait for their callbacks.
    let _ = in_flight.acquire_many(w.concurrency as u32).await;
    stop.cancel();
    let mut summary = reporter
        .await
        .map_err(|e| BenchError::Internal(e.to_string()))?;
    summary.header = Some(w.header.name());
    if let Ok(p) = Arc::try_unwrap(producer) {
        p.shutdown().await;
    }
    Ok(summary)
}

fn message(w: &ProducerWorkload, worker: usize, seq: u64) -> Message {
    let mut m = Message::new(w.topic.clone(), payload::body(w.body_size));
    if let Some(t) = &w.tags {
        m = m.with_tags(t.clone());
    }
    if w.keys {
        m = m.with_keys(&[format!("k{worker}-{seq}-{}", payload::now_micros())]);
    }
    w.defer.apply(m, worker, seq)
}

struct Worker {
    w: ProducerWorkload,
    id: usize,
    producer: Arc<Client>,
    meter: Arc<Meter>,
    stop: CancellationToken,
    claimed: Arc<AtomicU64>,
    pacer: Option<Arc<Semaphore>>,
    in_flight: Arc<Semaphore>,
}

impl Worker {
    /// Claims the next `n` messages of the run; false when the run is over.
    fn claim(&self, n: u64) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        match self.w.limit {
            Limit::Count(max) => self.claimed.fetch_add(n, Ordering::Relaxed) < max,
            Limit::Duration(_) => true,
        }
    }

    async fn paced(&self, n: u32) -> bool {
        match &self.pacer {
            None => true,
            Some(p) => tokio::select! {
                permit = p.acquire_many(n) => permit.map(|p| p.forget()).is_ok(),
                _ = self.stop.cancelled() => false,
            },
        }
    }

    async fn run(self) {
        let batch = self.w.batch.max(1);
        let mut seq = 0u64;
        while self.claim(batch as u64) && self.paced(batch as u32).await {
            seq += 1;
            let start = Instant::now();
            if batch > 1 {
                let msgs = (0..batch)
                    .map(|i| message(&self.w, self.id, seq * batch as u64 + i as u64))
                    .collect();
                match self.producer.producer().send_batch(msgs).await {
                    Ok(_) => self.meter.success(batch as u64, start.elapsed()),
                    Err(_) => self.meter.failure(),
                }
                continue;
            }
            let msg = message(&self.w, self.id, seq);
            match self.w.mode {
                SendMode::Sync => match self.producer.send(msg).await {
                    Ok(_) => self.meter.success(1, start.elapsed()),
                    Err(_) => self.meter.failure(),
                },
                SendMode::Oneway => match self.producer.producer().send_oneway(msg).await {
                    Ok(()) => self.meter.success(1, start.elapsed()),
                    Err(_) => self.meter.failure(),
                },
                SendMode::Async => {
                    let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                        return;
                    };
                    let meter = self.meter.clone();
                    self.producer.producer().send_async(msg, move |r| {
                        match r {
                            Ok(_) => meter.success(1, start.elapsed()),
                            Err(_) => meter.failure(),
                        }
                        drop(permit);
                    });
                }
            }
        }
    }
}

/// Releases `rate` permits per second, evenly spaced: a dedicated thread sleeps with the
/// OS timer's resolution (tens of microseconds) rather than tokio's 1 ms ticks, which would
/// release a burst every millisecond and measure queueing instead of latency.
struct Pacer;

impl Pacer {
    fn start(rate: u64, stop: CancellationToken) -> Arc<Semaphore> {
        let permits = Arc::new(Semaphore::new(0));
        let p = permits.clone();
        let spacing = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
        let spawned = std::thread::Builder::new()
            .name("mqbench-pacer".into())
            .spawn(move || {
                let start = Instant::now();
                let mut issued = 0u64;
                while !stop.is_cancelled() {
                    let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                    if due > issued {
                        p.add_permits((due - issued) as usize);
                        issued = due;
                    }
                    std::thread::sleep(spacing.min(Duration::from_millis(1)));
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the pacer thread ({e}); sending unpaced");
            permits.add_permits(Semaphore::MAX_PERMITS / 2);
        }
        permits
    }
}
