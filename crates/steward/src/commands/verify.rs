//! `steward verify [--sandbox]`.

use anyhow::Context;
use atlassian_sim::{SimConfig, Simulator};

use crate::cli::{Cli, VerifyArgs};
use crate::commands::EXIT_FAILED;
use crate::{config, output};

pub async fn run(cli: &Cli, args: &VerifyArgs) -> anyhow::Result<u8> {
    let (target, sim) = if args.sandbox {
        let sim = Simulator::spawn(super::sandbox::sim_config(
            &args.sim,
            SimConfig::default().addr,
        ))
        .await
        .context("cannot start the sandbox")?;
        let target = super::sandbox::target(sim.info())?;
        (target, Some(sim))
    } else {
        let file = config::file_in_effect(cli.config.as_deref())?;
        let cfg = config::load(file.as_deref())?;
        (config::target(&cfg)?, None)
    };
    let report = steward_engine::verify(&target).await?;
    print!("{}", output::report(&report, cli.output)?);
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    Ok(if report.passed() { 0 } else { EXIT_FAILED })
}
