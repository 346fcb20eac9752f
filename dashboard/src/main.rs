//! `mqdashboard`: the web dashboard for a cluster, given its nameservers (`-n`).
//! Prints `LISTENING <ip:port>` once it serves.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fennec_common::error::chain;
use fennec_common::logging::{self, LogFormat};
use fennec_tools::admin::AdminClient;
use fennec_tools::security::SecurityArgs;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(name = "mqdashboard", version, about = "Fennec web dashboard")]
struct Args {
    /// Nameserver addresses, ';'-separated [default: the NAMESRV_ADDR environment variable].
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    namesrv: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// HTTP port (0 picks a free port).
    #[arg(short = 'p', long, default_value_t = 8080)]
    port: u16,
    /// Timeout of each request to a nameserver or broker, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
    /// Credentials and TLS for clusters with ACL or TLS on (as mqadmin's).
    #[command(flatten)]
    security: SecurityArgs,
    /// Log line format on stderr (`RUST_LOG` sets the level).
    #[arg(long, value_enum, default_value_t)]
    log_format: LogFormat,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format, "info");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .thread_name("dashboard")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqdashboard: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqdashboard: {}", chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), BoxError> {
    let namesrv = fennec_common::net::split_addr_list(&args.namesrv);
    if namesrv.is_empty() {
        return Err(
            "no nameserver address: pass -n host:port[;host:port] or set NAMESRV_ADDR".into(),
        );
    }
    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}:{} (--bind, --port): {e}",
                args.bind, args.port
            )
        })?;
    let addr = listener.local_addr()?;
    let security = args.security.resolve()?;
    let client = AdminClient::with_config(
        namesrv.clone(),
        Duration::from_millis(args.timeout_ms),
        security.remoting_config(),
    );
    let shutdown = CancellationToken::new();
    fennec_remoting::signal::cancel_on_signal(shutdown.clone())?;
    tracing::info!(
        "dashboard on http://{addr}/ for nameservers {}",
        namesrv.join(";")
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "LISTENING {addr}")?;
        out.flush()?;
    }
    fennec_metrics::serve(listener, fennec_dashboard::router(client), shutdown).await?;
    Ok(())
}
