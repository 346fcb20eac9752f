//! `mqnamesrv`: runs a Fennec nameserver.
//!
//! Settings come from defaults, then the properties file given with `-c`, then flags. Logs go
//! to stderr (level from `RUST_LOG`, default `info`). Once the socket is bound the process
//! prints exactly one line, `LISTENING <ip:port>`, to stdout (so `--listen-port 0` can be
//! used). SIGINT or SIGTERM stops it gracefully with exit status 0.

use std::error::Error;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fennec_common::error::chain;
use fennec_common::logging::{self, LogFormat};
use fennec_nameserver::{Nameserver, NamesrvConfig, NamesrvError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// mimalloc: the request path allocates per request, and glibc malloc's bookkeeping
/// (free-list consolidation, bin unlinking) cost more than a tenth of the CPU there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxError = Box<dyn Error + Send + Sync>;

/// Fennec name server (RocketMQ compatible).
#[derive(Debug, Parser)]
#[command(name = "mqnamesrv", version)]
struct Args {
    /// Port to listen on [default: 9876; 0 picks a free port].
    #[arg(long)]
    listen_port: Option<u16>,
    /// Address to bind [default: 0.0.0.0].
    #[arg(long = "bind")]
    bind: Option<IpAddr>,
    /// RocketMQ-style properties file (key=value); flags override its values.
    #[arg(short = 'c', long = "config-file")]
    config_file: Option<PathBuf>,
    /// HTTP port of the Prometheus endpoint (metricsPort): -1 = off (the default), 0 picks a
    /// free port; printed as `METRICS_LISTENING <ip:port>`.
    #[arg(long, allow_negative_numbers = true)]
    metrics_port: Option<i32>,
    /// Where the KV store is persisted [default: ~/namesrv/kvConfig.json].
    #[arg(long)]
    kv_config_path: Option<PathBuf>,
    /// Log line format on stderr (`RUST_LOG` sets the level; colours only on a terminal,
    /// never with NO_COLOR set).
    #[arg(long, value_enum, default_value_t)]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format, "info");
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqnamesrv: {}", chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let mut config = match &args.config_file {
        Some(path) => NamesrvConfig::load(path)?,
        None => NamesrvConfig::default(),
    };
    if let Some(port) = args.listen_port {
        config.listen_port = port;
    }
    if let Some(bind) = args.bind {
        config.bind_address = bind;
    }
    if let Some(path) = args.kv_config_path {
        config.kv_config_path = path;
    }
    if let Some(port) = args.metrics_port {
        config.metrics_port = port;
    }
    if config.metrics_port().is_none() && config.metrics_port != -1 {
        return Err(format!(
            "--metrics-port {}: expected -1 (off), 0 (a free port) or a TCP port",
            config.metrics_port
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("namesrv")
        .build()?;
    runtime.block_on(serve(config))
}

async fn serve(config: NamesrvConfig) -> Result<(), BoxError> {
    let nameserver = Nameserver::new(config.clone()).await?;
    let addr = SocketAddr::new(config.bind_address, config.listen_port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| NamesrvError::Listen { addr, source })?;
    let bound = listener.local_addr()?;
    // Handlers go in before LISTENING, so a signal sent right after it is not fatal.
    let shutdown = CancellationToken::new();
    fennec_remoting::signal::cancel_on_signal(shutdown.clone())?;

    let metrics = match config.metrics_port() {
        Some(port) => {
            let addr = SocketAddr::new(config.bind_address, port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} (metrics; metricsPort): {e}"))?;
            let bound = listener.local_addr()?;
            let mut registry = fennec_metrics::Registry::default();
            nameserver.register_metrics(&mut registry);
            registry.register_collector(Box::new(fennec_metrics::process::ProcessCollector::new()));
            let router = fennec_metrics::router(std::sync::Arc::new(registry));
            let task = tokio::spawn(fennec_metrics::serve(listener, router, shutdown.clone()));
            tracing::info!("metrics on http://{bound}/metrics");
            Some((bound, task))
        }
        None => None,
    };

    let mut stdout = std::io::stdout().lock();
    if let Some((addr, _)) = &metrics {
        writeln!(stdout, "METRICS_LISTENING {addr}")?;
    }
    writeln!(stdout, "LISTENING {bound}")?;
    stdout.flush()?;
    drop(stdout);
    nameserver.serve(listener, shutdown).await?;
    if let Some((_, task)) = metrics {
        task.await??;
    }
    Ok(())
}
