//! `mqbench`: load generator for brokers speaking the RocketMQ remoting protocol.

use std::process::ExitCode;

use clap::Parser;
use fennec_tools::bench::cli::{run, Cli};

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
