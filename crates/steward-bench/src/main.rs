//! `steward-bench`: runs the benchmark profiles and writes their reports. Everything lives in
//! the library; this only parses the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steward_bench::profile::{Pace, ProfileName};

#[derive(Parser)]
#[command(
    name = "steward-bench",
    about = "Benchmark Steward against the simulated Atlassian Cloud"
)]
struct Cli {
    /// Which profile to run: s (500 users), m (5,000), l (50,000), all (s, m, l), tiny (smoke).
    #[arg(long, default_value = "s")]
    profile: String,
    /// Where the JSON reports go (one file per profile).
    #[arg(long, default_value = "benches/results")]
    out: PathBuf,
    /// Client pacing: `shipped` (Steward's defaults) or `documented` (the APIs' own limits).
    #[arg(long, default_value = "shipped")]
    pace: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Internal: serve the simulator for a profile in this process (the benchmark starts it as a
    /// child so that its CPU and memory are not counted as Steward's).
    #[command(hide = true)]
    ServeSim {
        /// The profile.
        #[arg(long)]
        profile: String,
    },
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::ServeSim { profile }) => {
                let profile = ProfileName::parse(&profile)?;
                steward_bench::sim::serve(profile.spec()).await
            }
            None => {
                let profiles = ProfileName::parse_list(&cli.profile)?;
                let pace = Pace::parse(&cli.pace)?;
                let exe = std::env::current_exe()?;
                for name in profiles {
                    let report = steward_bench::run_profile(&exe, name.spec(), pace).await?;
                    print!("{}", steward_bench::report::table(&report));
                    let path = steward_bench::report::write_json(&report, &cli.out)?;
                    println!("wrote {}", path.display());
                }
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("steward-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
