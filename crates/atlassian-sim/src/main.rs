//! `atlassian-sim`: serve a simulated Atlassian Cloud org until killed. Prints one JSON line
//! (URLs and credentials) on stdout when ready.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use atlassian_sim::faults::{FaultConfig, FaultProfile};
use atlassian_sim::seed::SizeProfile;
use atlassian_sim::state::Mode;
use atlassian_sim::{SimConfig, Simulator};
use clap::Parser;

/// Serve a simulated Atlassian Cloud organization (Org API, user management, Jira, JSM,
/// Confluence, Statuspage) on one port.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Seed of the generated org: the same seed gives the same org.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Org size.
    #[arg(long, value_enum, default_value = "small")]
    profile: SizeProfile,
    /// Number of users, overriding the profile's.
    #[arg(long)]
    users: Option<usize>,
    /// User-management experience.
    #[arg(long, value_enum, default_value = "centralized")]
    mode: Mode,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Uniform jitter around the latency, ± milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Injected faults.
    #[arg(long, value_enum, default_value = "none")]
    faults: FaultProfile,
    /// Keep the org in this JSON file: loaded at start if present, saved as it changes.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Record every exchange in memory (for conformance checks; grows without bound).
    #[arg(long)]
    record: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = SimConfig {
        addr: args.addr,
        seed: args.seed,
        profile: args.profile,
        users: args.users,
        mode: args.mode,
        faults: FaultConfig {
            latency_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
            profile: args.faults,
            record: args.record,
            ..FaultConfig::default()
        },
        state_file: args.state,
    };
    let sim = Simulator::spawn(config)
        .await
        .context("starting the simulator")?;
    println!(
        "{}",
        serde_json::to_string(sim.info()).context("printing the ready line")?
    );
    shutdown_signal()
        .await
        .context("waiting for a shutdown signal")?;
    sim.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM: stop serving and save `--state`.
async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = term.recv() => Ok(()),
    }
}
