//! `mqadmin`: Fennec's admin CLI. Parses the command line, runs the command on a
//! current-thread runtime, prints the result on stdout and any failure as one line on
//! stderr with a non-zero exit code.

use std::io::{BufWriter, ErrorKind};
use std::process::ExitCode;

use clap::Parser;
use fennec_tools::admin::cli::{run, Cli, Outcome};
use fennec_tools::admin::AdminError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = BufWriter::new(std::io::stdout().lock());
    match runtime.block_on(run(&cli, stdout)) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Partial(errors)) => {
            for e in errors {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
        // The reader went away (`mqadmin printMsg ... | head`): not a failure.
        Err(AdminError::Output(e)) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", fennec_common::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
