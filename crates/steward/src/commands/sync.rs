//! `steward sync [--sandbox] [--database-url URL]`.

use anyhow::Context;
use atlassian_sim::{SimConfig, Simulator};
use steward_engine::SyncReport;
use steward_store::Store;

use crate::cli::{Cli, Output, SyncArgs};
use crate::commands::EXIT_FAILED;
use crate::config;

pub async fn run(cli: &Cli, args: &SyncArgs) -> anyhow::Result<u8> {
    // Keeps a temporary sandbox database alive until the command ends.
    let mut _temp_dir = None;
    let (target, database_url, sim) = if args.sandbox {
        let sim = Simulator::spawn(super::sandbox::sim_config(
            &args.sim,
            SimConfig::default().addr,
        ))
        .await
        .context("cannot start the sandbox")?;
        let target = super::sandbox::target(sim.info())?;
        let url = match &args.database_url {
            Some(url) => url.clone(),
            None => {
                let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
                let url = format!("sqlite://{}", dir.path().join("steward.db").display());
                _temp_dir = Some(dir);
                url
            }
        };
        (target, url, Some(sim))
    } else {
        let file = config::file_in_effect(cli.config.as_deref())?;
        let cfg = config::load(file.as_deref())?;
        let url = args
            .database_url
            .clone()
            .unwrap_or_else(|| cfg.database.url.clone());
        (config::target(&cfg)?, url, None)
    };
    let store = Store::open(&database_url)
        .await
        .context("cannot open the database")?;
    let report = steward_engine::sync::run_all(&target, &store).await;
    store.close().await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    print!("{}", render(&report, cli.output)?);
    if report.counts.unattributed_group_grants > 0 {
        eprintln!(
            "warning: {} group grants matched no group of their user (groups changed during the sync); run it again",
            report.counts.unattributed_group_grants
        );
    }
    if let Some(error) = &report.attribution_error {
        eprintln!("warning: the changes were recorded without who made them: {error}");
    }
    if let Some(error) = &report.error {
        eprintln!("error: the sync failed: {error}");
    }
    Ok(if report.succeeded() { 0 } else { EXIT_FAILED })
}

/// One line per entity and the run, or the report as JSON.
fn render(report: &SyncReport, output: Output) -> anyhow::Result<String> {
    let c = &report.counts;
    let p = &report.products;
    let run = report
        .run
        .map_or_else(|| "none".to_owned(), |r| r.to_string());
    Ok(match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(report)?),
        Output::Csv => format!(
            "entity,count\naccounts,{}\ngroups,{}\nmemberships,{}\nrole_assignments,{}\nstatuspage_members,{}\nstatuspage_permissions,{}\njsm_customers,{}\nrun,{run}\nstatus,{}\n",
            c.accounts,
            c.groups,
            c.memberships,
            c.role_assignments,
            p.statuspage_members,
            p.statuspage_permissions,
            p.jsm_customers,
            report.status
        ),
        Output::Table => {
            let mut out = format!(
                "accounts                {}\ngroups                  {}\nmemberships             {}\nrole assignments        {}\nstatuspage members      {}\nstatuspage permissions  {}\njsm customers           {}\n",
                c.accounts,
                c.groups,
                c.memberships,
                c.role_assignments,
                p.statuspage_members,
                p.statuspage_permissions,
                p.jsm_customers
            );
            for (product, status) in &report.product_status {
                out.push_str(&format!("{product:<23} {status}\n"));
            }
            out.push_str(&format!("run {run} {}\n", report.status));
            out
        }
    })
}
