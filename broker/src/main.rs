//! `mqbroker`: starts a broker from a RocketMQ-style `broker.conf`, optionally with an
//! embedded nameserver (`--with-namesrv`) for a one-command single-node system.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fennec_broker::BrokerConfig;
use fennec_common::config::{ConfigKeys, ConfigValue};
use fennec_common::error::chain;
use fennec_common::logging::{self, LogFormat};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// mimalloc: the request path allocates per request, and glibc malloc's bookkeeping
/// (free-list consolidation, bin unlinking) cost more than a tenth of the CPU there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "mqbroker",
    version,
    about = "Fennec broker (RocketMQ 4.x wire compatible)"
)]
struct Args {
    /// RocketMQ-style broker.conf (key=value lines).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Nameserver addresses, ';'-separated (overrides namesrvAddr; default: the
    /// NAMESRV_ADDR environment variable, except with --with-namesrv).
    #[arg(short = 'n', long = "namesrv-addr")]
    namesrv_addr: Option<String>,
    /// Also run a nameserver in this process: a working single-node system on loopback, with
    /// the store under ./fennec-store unless --store-dir or storePathRootDir says otherwise.
    #[arg(long)]
    with_namesrv: bool,
    /// Port of the embedded nameserver (with --with-namesrv).
    #[arg(long, default_value_t = 9876)]
    namesrv_port: u16,
    /// Store root directory (overrides storePathRootDir).
    #[arg(long)]
    store_dir: Option<PathBuf>,
    /// Remoting port (overrides listenPort; 0 picks a free port).
    #[arg(long)]
    listen_port: Option<u16>,
    /// Address to listen on (overrides bindAddress).
    #[arg(long)]
    bind: Option<String>,
    /// HTTP port of the Prometheus endpoint and, with --with-namesrv, the dashboard
    /// (overrides metricsPort): -1 = off, 0 picks a free port [default: off; 8080 with
    /// --with-namesrv]. Printed as `METRICS_LISTENING <ip:port>`.
    #[arg(long, allow_negative_numbers = true)]
    metrics_port: Option<i32>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long)]
    print_config: bool,
    /// Log line format on stderr (`RUST_LOG` sets the level; colours only on a terminal,
    /// never with NO_COLOR set).
    #[arg(long, value_enum, default_value_t)]
    log_format: LogFormat,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `metricsPort` of `--with-namesrv`, where metrics and the dashboard are on by default.
const DEFAULT_QUICK_START_METRICS_PORT: i32 = 8080;

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format, "info");
    let config = match effective_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqbroker: {}", chain(e.as_ref()));
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        for (k, v) in config.entries() {
            println!("{k}={v}");
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fennec-worker")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqbroker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let origin = match &args.config {
        Some(p) => std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        None => "defaults (no -c)".to_string(),
    };
    match runtime.block_on(serve(
        config,
        args.with_namesrv.then_some(args.namesrv_port),
        origin,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbroker: {}", chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Defaults, then the file, then flags and environment.
fn effective_config(args: &Args) -> Result<BrokerConfig, BoxError> {
    let mut config = BrokerConfig::default();
    if args.with_namesrv {
        // The single-node defaults; the file and the flags below still override them.
        config.store.store_path_root_dir = PathBuf::from("fennec-store");
        config.bind_address = "127.0.0.1".to_string();
        config.metrics_port = DEFAULT_QUICK_START_METRICS_PORT;
    }
    if let Some(path) = &args.config {
        for warning in config.apply_file(path)? {
            tracing::warn!("{warning}");
        }
        // RocketMQ keeps plain_acl.yml in conf/, beside broker.conf.
        if config.acl_file_path.is_none() {
            let dir = path.parent().unwrap_or_else(|| std::path::Path::new(""));
            config.acl_file_path = Some(dir.join("plain_acl.yml"));
        }
    }
    // With an embedded nameserver, NAMESRV_ADDR (usually set for the clients) is not
    // taken: the broker registers with its own nameserver plus any given with -n or namesrvAddr.
    let env_namesrv = (!args.with_namesrv)
        .then(|| std::env::var("NAMESRV_ADDR").ok())
        .flatten();
    if let Some(n) = args.namesrv_addr.clone().or(env_namesrv) {
        config.namesrv_addr = n;
    }
    if let Some(d) = &args.store_dir {
        config.store.store_path_root_dir = d.clone();
    }
    if let Some(p) = args.listen_port {
        config.listen_port = u32::from(p);
    }
    if let Some(b) = &args.bind {
        config.bind_address = b.clone();
    }
    if let Some(p) = args.metrics_port {
        config.metrics_port = p;
    }
    for note in config.normalize() {
        tracing::warn!("{note}");
    }
    config.validate()?;
    Ok(config)
}

/// Binds `addr`, naming it (and what it is for) when that fails.
async fn listen(addr: &str, port: u16, what: &str) -> Result<TcpListener, BoxError> {
    TcpListener::bind((addr, port))
        .await
        .map_err(|e| format!("cannot listen on {addr}:{port} ({what}): {e}").into())
}

/// Runs the node: the built-in nameserver first (the broker registers with it while it
/// opens), then the broker. The readiness lines are printed once the whole node serves. On
/// a signal the broker stops first (it unregisters), then the nameserver.
async fn serve(
    mut config: BrokerConfig,
    embedded_namesrv: Option<u16>,
    origin: String,
) -> Result<(), BoxError> {
    let shutdown = CancellationToken::new();
    fennec_remoting::signal::cancel_on_signal(shutdown.clone())?;
    let mut namesrv = None;
    let namesrv_token = CancellationToken::new();
    if let Some(port) = embedded_namesrv {
        let listener = listen(
            &config.bind_address,
            port,
            "built-in nameserver; choose another port with --namesrv-port",
        )
        .await?;
        let addr = listener.local_addr()?;
        config.namesrv_addr = match config.namesrv_addr.trim() {
            "" => advertised(addr),
            others => format!("{};{others}", advertised(addr)),
        };
        let ns_config = fennec_nameserver::NamesrvConfig {
            listen_port: addr.port(),
            bind_address: addr.ip(),
            kv_config_path: config
                .store
                .store_path_root_dir
                .join("namesrv")
                .join("kvConfig.json"),
            // The whole node speaks TLS alike.
            tls_server: config.tls_server.clone(),
            ..fennec_nameserver::NamesrvConfig::default()
        };
        let nameserver = fennec_nameserver::Nameserver::new(ns_config).await?;
        let mut registry = fennec_metrics::Registry::default();
        nameserver.register_metrics(&mut registry);
        let task = tokio::spawn(nameserver.serve(listener, namesrv_token.clone()));
        namesrv = Some((addr, task, registry));
    }
    let (namesrv_addr, namesrv_metrics) = match &mut namesrv {
        Some((addr, _, registry)) => (Some(*addr), std::mem::take(registry)),
        None => (None, fennec_metrics::Registry::default()),
    };
    let result = serve_broker(config, namesrv_addr, namesrv_metrics, &origin, &shutdown).await;
    if let Some((_, task, _)) = namesrv {
        namesrv_token.cancel();
        task.await??;
    }
    result
}

/// Opens and serves the broker until `shutdown`, and the metrics endpoint if `metricsPort`
/// says so (`registry` holds the embedded nameserver's metrics, if any).
async fn serve_broker(
    config: BrokerConfig,
    namesrv: Option<SocketAddr>,
    mut registry: fennec_metrics::Registry,
    origin: &str,
    shutdown: &CancellationToken,
) -> Result<(), BoxError> {
    let summary = format!(
        "{} ({}, {}), store {}, configuration {origin}, nameservers {}",
        config.broker_name,
        config.store.broker_role,
        config.store.flush_disk_type.show(),
        std::fs::canonicalize(&config.store.store_path_root_dir)
            .unwrap_or_else(|_| config.store.store_path_root_dir.clone())
            .display(),
        config.namesrv_addr,
    );
    let port = u16::try_from(config.listen_port)?;
    let bind = config.bind_address.clone();
    let metrics_port = config.metrics_port();
    // With an embedded nameserver the metrics port also serves the dashboard, asking the
    // nameservers this broker registers with, signed and over TLS as the broker's own requests.
    let dashboard = match namesrv {
        Some(_) => Some((
            fennec_common::net::split_addr_list(&config.namesrv_addr),
            fennec_broker::broker::outbound_config(&config)?,
        )),
        None => None,
    };
    // The store first: the broker's ports open only once it is ready, so whoever connects
    // finds a broker that answers.
    let store = fennec_broker::BrokerServer::open_store(config).await?;
    let (listener, addr, metrics_listener) = match listen_broker(&bind, port, metrics_port).await {
        Ok(listeners) => listeners,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let server = fennec_broker::BrokerServer::open(store, listener).await?;
    let metrics_token = CancellationToken::new();
    let mut metrics = None;
    if let Some(listener) = metrics_listener {
        server.register_metrics(&mut registry);
        let mut router = fennec_metrics::router(std::sync::Arc::new(registry));
        let bound = listener.local_addr()?;
        tracing::info!("metrics on http://{bound}/metrics");
        if let Some((addrs, client_config)) = dashboard {
            let admin = fennec_tools::admin::AdminClient::with_config(
                addrs,
                fennec_tools::admin::client::DEFAULT_TIMEOUT,
                client_config,
            );
            router = router.merge(fennec_dashboard::router(admin));
            tracing::info!("dashboard on http://{bound}/");
        }
        let task = tokio::spawn(fennec_metrics::serve(
            listener,
            router,
            metrics_token.clone(),
        ));
        metrics = Some((bound, task));
    }
    // Printed once the broker is registered, so whoever waits for it can use it at once.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if let Some(ns) = namesrv {
            writeln!(out, "NAMESRV_LISTENING {ns}")?;
        }
        if let Some((m, _)) = &metrics {
            writeln!(out, "METRICS_LISTENING {m}")?;
        }
        writeln!(out, "LISTENING {addr}")?;
        out.flush()?;
    }
    tracing::info!("ready on {addr}: broker {summary}");
    let served = server.serve(shutdown.clone()).await;
    metrics_token.cancel();
    if let Some((_, task)) = metrics {
        task.await??;
    }
    served?;
    Ok(())
}

/// Binds the broker's port (returned with the address it bound) and, if `metrics_port` says
/// so, the metrics port.
async fn listen_broker(
    bind: &str,
    port: u16,
    metrics_port: Option<u16>,
) -> Result<(TcpListener, SocketAddr, Option<TcpListener>), BoxError> {
    let listener = listen(bind, port, "broker; listenPort or --listen-port").await?;
    let addr = listener.local_addr()?;
    let metrics = match metrics_port {
        Some(port) => Some(
            listen(
                bind,
                port,
                "metrics and dashboard; metricsPort or --metrics-port (-1 turns them off)",
            )
            .await?,
        ),
        None => None,
    };
    Ok((listener, addr, metrics))
}

/// The address clients should use for a listener bound to `addr`.
fn advertised(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("{}:{}", fennec_common::net::local_ip(), addr.port())
    } else {
        addr.to_string()
    }
}
