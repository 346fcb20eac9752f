//! `mqbench`: load generator for brokers speaking the RocketMQ remoting protocol.

use std::process::ExitCode;

use clap::Parser;
use fennec_tools::bench::cli::{run, Cli};

/// mimalloc: the request path allocates per request, and glibc malloc's bookkeeping
/// (free-list consolidation, bin unlinking) cost more than a tenth of the CPU there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    fennec_common::logging::init(fennec_common::logging::LogFormat::Text, "warn");
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqbench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(summary) if summary.messages > 0 => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("mqbench: no message went through");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("mqbench: {}", fennec_common::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
