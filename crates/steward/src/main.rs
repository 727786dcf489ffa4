//! `steward`: the one binary. Parses the command line and hands each subcommand to its module;
//! the work itself lives in `steward-engine`.

mod commands;
mod logging;
mod output;
mod progress;

use steward::{cli, config};

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // reqwest is built without a default crypto provider (one provider, ring, in the whole graph).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Logs go to stderr, off unless RUST_LOG asks (stdout is for what the command prints).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    // `STEWARD_LOG_FORMAT=json`: one JSON object per line (for `steward serve` under a log shipper).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("STEWARD_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().init();
    } else {
        builder.fmt_fields(logging::text_fields()).init();
    }
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(commands::EXIT_ERROR);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::EXIT_ERROR)
        }
    }
}
