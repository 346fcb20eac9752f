//! `mqbroker`: starts a broker from a RocketMQ-style `broker.conf`, optionally with an
//! embedded nameserver (`--with-namesrv`) for a one-command single-node system.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fennec_broker::BrokerConfig;
use fennec_common::config::ConfigKeys;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
    /// the store under ./store unless --store-dir or storePathRootDir says otherwise.
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
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long)]
    print_config: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = match effective_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqbroker: {e}");
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
    match runtime.block_on(serve(
        config,
        args.with_namesrv.then_some(args.namesrv_port),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbroker: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Defaults, then the file, then flags and environment.
fn effective_config(args: &Args) -> Result<BrokerConfig, Box<dyn std::error::Error>> {
    let mut config = BrokerConfig::default();
    if args.with_namesrv {
        // The single-node defaults; the file and the flags below still override them.
        config.store.store_path_root_dir = PathBuf::from("store");
        config.bind_address = "127.0.0.1".to_string();
    }
    if let Some(path) = &args.config {
        for warning in config.apply_file(path)? {
            tracing::warn!("{warning}");
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
    for note in config.normalize() {
        tracing::warn!("{note}");
    }
    config.validate()?;
    Ok(config)
}

async fn serve(
    mut config: BrokerConfig,
    embedded_namesrv: Option<u16>,
) -> Result<(), Box<dyn std::error::Error>> {
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    let mut namesrv = None;
    if let Some(port) = embedded_namesrv {
        let listener = TcpListener::bind((config.bind_address.as_str(), port)).await?;
        let addr = listener.local_addr()?;
        println!("NAMESRV_LISTENING {addr}");
        config.namesrv_addr = match config.namesrv_addr.trim() {
            "" => advertised(addr),
            others => format!("{};{others}", advertised(addr)),
        };
        let token = shutdown.child_token();
        let ns_config = fennec_nameserver::NamesrvConfig {
            kv_config_path: config
                .store
                .store_path_root_dir
                .join("namesrv")
                .join("kvConfig.json"),
            ..fennec_nameserver::NamesrvConfig::default()
        };
        namesrv = Some(tokio::spawn(fennec_nameserver::run(
            ns_config, listener, token,
        )));
    }
    let port = u16::try_from(config.listen_port)?;
    let listener = TcpListener::bind((config.bind_address.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    let server = fennec_broker::BrokerServer::open(config, listener).await?;
    // Printed once the broker is registered, so whoever waits for it can use it at once.
    println!("LISTENING {addr}");
    use std::io::Write;
    std::io::stdout().flush()?;
    server.serve(shutdown.clone()).await?;
    if let Some(ns) = namesrv {
        shutdown.cancel();
        ns.await??;
    }
    Ok(())
}

/// The address clients should use for a listener bound to `addr`.
fn advertised(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("{}:{}", fennec_common::net::local_ip(), addr.port())
    } else {
        addr.to_string()
    }
}

fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("cannot install the SIGTERM handler: {e}");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("signal received, shutting down");
        token.cancel();
    });
}
