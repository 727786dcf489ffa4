//! `steward sync [--sandbox] [--database-url URL] [--every DURATION] [--quiet]`.

use anyhow::Context;
use atlassian_sim::{SimConfig, Simulator};
use steward_engine::sync::SyncOptions;
use steward_engine::{SyncReport, Target};
use steward_store::Store;

use crate::cli::{Cli, Output, SyncArgs};
use crate::commands::EXIT_FAILED;
use crate::config;
use crate::progress;

pub async fn run(cli: &Cli, args: &SyncArgs) -> anyhow::Result<u8> {
    // Keeps a temporary sandbox database alive until the command ends.
    let mut _temp_dir = None;
    let (target, database_url, sim, keep) = if args.sandbox {
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
        let keep = config::DatabaseConfig::default().keep_sync_runs()?;
        (target, url, Some(sim), keep)
    } else {
        let file = config::file_in_effect(cli.config.as_deref())?;
        let cfg = config::load(file.as_deref())?;
        let url = args
            .database_url
            .clone()
            .unwrap_or_else(|| cfg.database.url.clone());
        let keep = cfg.database.keep_sync_runs()?;
        (config::target(&cfg)?, url, None, keep)
    };
    let store = Store::open(&database_url)
        .await
        .context("cannot open the database")?;
    let code = match args.every {
        None => once(cli, args, &target, &store, keep).await?,
        Some(every) => loop {
            let code = once(cli, args, &target, &store, keep).await?;
            if code == EXIT_INTERRUPTED {
                break code;
            }
            eprintln!(
                "next sync in {} (Ctrl-C stops)",
                progress::human_duration(every)
            );
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = tokio::signal::ctrl_c() => break 0,
            }
        },
    };
    store.close().await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    Ok(code)
}

/// Exit status of a sync interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// One sync with its progress display (unless `quiet`), not interruptible.
pub async fn run_once(target: &Target, store: &Store, quiet: bool) -> SyncReport {
    let options = SyncOptions::default();
    let display = (!quiet).then(|| progress::Display::start(options.progress.clone()));
    let report = steward_engine::sync::run_with_options(target, store, &options).await;
    if let Some(display) = display {
        display.finish().await;
    }
    report
}

/// One sync with its progress display and summary, then the snapshots beyond the newest
/// `keep` completed runs are deleted; its exit status.
async fn once(
    cli: &Cli,
    args: &SyncArgs,
    target: &Target,
    store: &Store,
    keep: u32,
) -> anyhow::Result<u8> {
    let options = SyncOptions::default();
    let display = (!args.quiet).then(|| progress::Display::start(options.progress.clone()));
    let report = tokio::select! {
        report = steward_engine::sync::run_with_options(target, store, &options) => report,
        _ = tokio::signal::ctrl_c() => {
            if let Some(display) = display {
                display.finish().await;
            }
            eprintln!(
                "interrupted: what was read is kept, and the next `steward sync` resumes this run \
                 (within {}s, once its lease lapses)",
                options.lease_ttl.as_secs()
            );
            return Ok(EXIT_INTERRUPTED);
        }
    };
    if let Some(display) = display {
        display.finish().await;
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
    if report.succeeded()
        && let Err(e) = store.runs().prune(i64::from(keep)).await
    {
        eprintln!(
            "warning: old sync snapshots could not be deleted (the next sync tries again): {e}"
        );
    }
    Ok(if report.succeeded() { 0 } else { EXIT_FAILED })
}

/// One line per entity and the run, or the report as JSON.
pub fn render(report: &SyncReport, output: Output) -> anyhow::Result<String> {
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
            let resumed = if report.resumed {
                " (resumed after an interruption; the counts above are what this attempt read)"
            } else {
                ""
            };
            out.push_str(&format!("run {run} {}{resumed}\n", report.status));
            if report.changes > 0 {
                out.push_str(&format!(
                    "{} change(s) since the previous run: `steward changes` lists them\n",
                    report.changes
                ));
            }
            out
        }
    })
}
