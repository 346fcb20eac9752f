//! `mqbench consumer`: a push or pull consumer of the SDK that counts messages and measures
//! end-to-end latency (send time in the body, or born time, to receipt), or the lateness of
//! delayed and timer messages (receipt minus due time).

use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeResult, MessageExt, MessageListener, PullConsumer,
    PushConsumer,
};
use tokio_util::sync::CancellationToken;

use super::payload;
use super::producer::Limit;
use super::report::{report, Live, Meter, Summary};
use super::BenchError;
use crate::security::Security;

/// Push (listener) or pull (poll loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConsumeMode {
    Push,
    Pull,
}

/// One consumer workload.
#[derive(Debug, Clone)]
pub struct ConsumerWorkload {
    pub namesrv: String,
    /// ACL signing and TLS of the consumer's connections.
    pub security: Security,
    pub topic: String,
    pub group: String,
    pub mode: ConsumeMode,
    /// Start a new group at the first offset (else at the last).
    pub from_first: bool,
    /// Messages handed to the listener at once (push).
    pub batch: usize,
    /// Measure lateness; the value is the expected delay (ms) of messages without a
    /// TIMER_OUT_MS.
    pub lateness: Option<u64>,
    pub limit: Limit,
    pub live: Live,
}

/// What a received message's latency sample is.
#[derive(Debug, Clone, Copy)]
struct Measure(Option<u64>);

impl Measure {
    fn micros(self, m: &MessageExt) -> u64 {
        match self.0 {
            None => payload::age_micros(m),
            Some(expected_ms) => match payload::due_micros(m) {
                Some(due) => payload::now_micros().saturating_sub(due),
                None => payload::age_micros(m).saturating_sub(expected_ms * 1000),
            },
        }
    }
}

fn record(meter: &Meter, msgs: &[MessageExt], measure: Measure) {
    for m in msgs {
        meter.success(1, Duration::from_micros(measure.micros(m)));
    }
}

/// Runs the consumer until its limit and returns its summary (labelled `scenario`).
pub async fn run(w: &ConsumerWorkload, scenario: &str) -> Result<Summary, BenchError> {
    let meter = Arc::new(Meter::default());
    let stop = CancellationToken::new();
    let reporter = {
        let (meter, stop, scenario, live) =
            (meter.clone(), stop.clone(), scenario.to_string(), w.live);
        let what = if w.lateness.is_some() { "late" } else { "e2e" };
        tokio::spawn(async move { report(&meter, &scenario, what, live, stop).await })
    };
    let from = if w.from_first {
        ConsumeFromWhere::ConsumeFromFirstOffset
    } else {
        ConsumeFromWhere::ConsumeFromLastOffset
    };
    let done = {
        let (meter, stop, limit) = (meter.clone(), stop.clone(), w.limit);
        async move {
            match limit {
                Limit::Count(n) => loop {
                    if meter.messages() >= n {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                        _ = stop.cancelled() => return,
                    }
                },
                Limit::Duration(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = stop.cancelled() => {}
                    }
                }
            }
        }
    };
    match w.mode {
        ConsumeMode::Push => {
            let c = PushConsumer::builder(&w.group)
                .client_config(w.security.client_config(&w.namesrv))
                .consume_from(from)
                .consume_batch_max(w.batch.max(1))
                .build()?;
            c.subscribe(&w.topic, "*")?;
            c.start(Recorder(meter.clone(), Measure(w.lateness)))
                .await?;
            done.await;
            c.shutdown().await;
        }
        ConsumeMode::Pull => {
            let c = PullConsumer::builder(&w.group)
                .client_config(w.security.client_config(&w.namesrv))
                .consume_from(from)
                .build()?;
            c.subscribe(&w.topic, "*")?;
            c.start().await?;
            let polling = async {
                loop {
                    match c.poll(Duration::from_millis(200)).await {
                        Ok(msgs) => record(&meter, &msgs, Measure(w.lateness)),
                        Err(_) => meter.failure(),
                    }
                }
            };
            tokio::select! {
                _ = done => {}
                _ = polling => {}
            }
            c.shutdown().await;
        }
    }
    stop.cancel();
    reporter
        .await
        .map_err(|e| BenchError::Internal(e.to_string()))
}

/// The push listener: counts what arrives.
struct Recorder(Arc<Meter>, Measure);

impl MessageListener for Recorder {
    async fn consume(&self, msgs: &[MessageExt], _: &ConsumeContext) -> ConsumeResult {
        record(&self.0, msgs, self.1);
        ConsumeResult::Success
    }
}
