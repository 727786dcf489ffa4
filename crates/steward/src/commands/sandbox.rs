//! `steward sandbox`: the simulator in-process, and a configuration pointing at it.

use std::net::SocketAddr;

use anyhow::Context;
use atlassian_sim::{ReadyInfo, SimConfig, Simulator};
use secrecy::SecretString;
use steward_engine::Target;

use crate::cli::{Cli, SandboxArgs, SandboxOptions};
use crate::config::{self, AtlassianOut, DatabaseConfig, Exposed, FileOut, SiteOut, StatuspageOut};

pub fn sim_config(opts: &SandboxOptions, addr: SocketAddr) -> SimConfig {
    SimConfig {
        addr,
        seed: opts.seed,
        profile: opts.profile,
        mode: opts.mode,
        ..SimConfig::default()
    }
}

fn integration_email(info: &ReadyInfo) -> anyhow::Result<String> {
    info.sites
        .first()
        .map(|s| s.email.clone())
        .context("the sandbox has no site")
}

/// What `verify --sandbox` checks.
pub fn target(info: &ReadyInfo) -> anyhow::Result<Target> {
    Ok(Target::from_sim(info)?)
}

/// The configuration file for the sandbox (its credentials are the sandbox's own, inline).
pub fn file(info: &ReadyInfo) -> anyhow::Result<FileOut> {
    Ok(FileOut {
        atlassian: AtlassianOut {
            org_id: info.org_id.clone(),
            api_url: info.admin_base_url.clone(),
            org_api_key: Some(Exposed(SecretString::from(info.admin_api_key.clone()))),
            org_api_key_file: None,
            integration_email: integration_email(info)?,
            sites: info
                .sites
                .iter()
                .map(|s| SiteOut {
                    name: s.name.clone(),
                    url: s.base_url.clone(),
                    api_token: Some(Exposed(SecretString::from(s.api_token.clone()))),
                    api_token_file: None,
                })
                .collect(),
        },
        statuspage: Some(StatuspageOut {
            url: info.statuspage.base_url.clone(),
            api_key: Some(Exposed(SecretString::from(info.statuspage.api_key.clone()))),
            api_key_file: None,
            organization_id: info.statuspage.organization_id.clone(),
        }),
        database: DatabaseConfig {
            url: "sqlite://steward-sandbox.db".to_owned(),
            keep_sync_runs: None,
        },
    })
}

pub async fn run(_cli: &Cli, args: &SandboxArgs) -> anyhow::Result<u8> {
    let sim = Simulator::spawn(sim_config(&args.sim, args.addr))
        .await
        .context("cannot start the sandbox")?;
    let info = sim.info().clone();
    config::write(&args.write_config, &file(&info)?, args.force)?;
    let path = args.write_config.display();
    println!(
        "Sandbox organization {} ({:?}, seed {}) is running.",
        info.org_id, info.mode, info.seed
    );
    println!("  Org API:     {}", info.admin_base_url);
    for s in &info.sites {
        println!(
            "  site {:<6} {} (integration account {})",
            s.name, s.base_url, s.email
        );
    }
    println!("  Statuspage:  {}", info.statuspage.base_url);
    println!("  control API: {}", info.control_url);
    println!();
    println!(
        "Steward's configuration for it (credentials inline) is in {path}. Point Steward at it:"
    );
    println!("  steward --config {path} verify");
    println!("or export STEWARD_CONFIG={path}. Serving until Ctrl-C.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sim.shutdown().await;
    Ok(0)
}
