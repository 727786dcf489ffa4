//! `steward grant|revoke|offboard|restore`: plan against the latest sync, print the plan, then
//! (unless `--dry-run`) queue it as a durable job and run it to the end here (unless
//! `--no-wait`, which leaves it to `steward worker`); and `steward worker`, which runs queued
//! jobs until Ctrl-C.
//!
//! Every applied plan is a job of journaled, idempotent steps, audited when requested and when
//! finished; a job interrupted here (Ctrl-C, a crash) is resumed by the next worker.

use std::time::Duration;

use anyhow::Context;
use steward_engine::Target;
use steward_engine::provision::{GuardPolicy, JobRun, RunOutcome, Worker, enqueue_plan_confirmed};
use steward_engine::sync::owner_id;
use steward_store::{JobId, Snapshot, Store};

use super::entitlements::{
    Computed, PlanRequest, compute, configured_integration_email, mass_change_verdict, render_plan,
    render_refusal,
};
use super::{EXIT_ERROR, EXIT_FAILED, jobs};
use crate::cli::{
    ApplyFlags, ChangeArgs, Cli, OffboardArgs, Output, PlanAction, RestoreArgs, WorkerArgs,
};
use crate::config;

/// How often a waiting command looks at its job when no worker here can claim it (another
/// worker holds it, or it waits for a retry).
const POLL: Duration = Duration::from_millis(500);

pub async fn grant(cli: &Cli, args: &ChangeArgs) -> anyhow::Result<u8> {
    apply(cli, change_request(PlanAction::Grant, args), &args.flags).await
}

pub async fn revoke(cli: &Cli, args: &ChangeArgs) -> anyhow::Result<u8> {
    apply(cli, change_request(PlanAction::Revoke, args), &args.flags).await
}

pub async fn offboard(cli: &Cli, args: &OffboardArgs) -> anyhow::Result<u8> {
    let req = PlanRequest {
        action: PlanAction::Offboard,
        email: args.email.clone(),
        entitlements: vec![],
        level: Some(args.level),
        platform_roles: false,
    };
    apply(cli, req, &args.flags).await
}

pub async fn restore(cli: &Cli, args: &RestoreArgs) -> anyhow::Result<u8> {
    let req = PlanRequest {
        action: PlanAction::Restore,
        email: args.email.clone(),
        entitlements: vec![],
        level: None,
        platform_roles: true,
    };
    apply(cli, req, &args.flags).await
}

fn change_request(action: PlanAction, args: &ChangeArgs) -> PlanRequest {
    PlanRequest {
        action,
        email: args.email.clone(),
        entitlements: args.entitlements.clone(),
        level: None,
        platform_roles: args.platform_roles,
    }
}

/// Who asked, for the audit log: `--requested-by`, else `cli:<OS user>`.
fn requester(flags: &ApplyFlags) -> String {
    flags.requested_by.clone().unwrap_or_else(|| {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        format!("cli:{user}")
    })
}

async fn apply(cli: &Cli, req: PlanRequest, flags: &ApplyFlags) -> anyhow::Result<u8> {
    if let Some(usage) = req.usage_error() {
        eprintln!("{usage}");
        return Ok(EXIT_ERROR);
    }
    // Applying needs the connection; a dry run only the store.
    let (target, guard) = if flags.dry_run {
        (None, super::entitlements::configured_guard(cli)?)
    } else {
        let file = config::file_in_effect(cli.config.as_deref())?;
        let cfg = config::load(file.as_deref())?;
        (Some(config::target(&cfg)?), cfg.guard.policy()?)
    };
    let integration_email = target
        .as_ref()
        .map(|t| t.integration_email.clone())
        .or_else(|| configured_integration_email(cli));
    let Some((store, snapshot)) = super::open_snapshot(cli, flags.database_url.as_deref()).await?
    else {
        return Ok(EXIT_FAILED);
    };
    let code = apply_to(
        cli.output,
        &store,
        &snapshot,
        target.as_ref(),
        integration_email.as_deref(),
        &req,
        flags,
        &guard,
    )
    .await;
    store.close().await;
    code
}

/// Plans `req` against `snapshot`, prints the plan, and unless it is a dry run (no `target`)
/// queues it (confirmed with `--yes`) and (unless `--no-wait`) runs it here to the end under
/// `guard`. The exit status.
#[allow(
    clippy::too_many_arguments,
    reason = "the command's inputs, each used once; demo and apply share it"
)]
pub async fn apply_to(
    output: Output,
    store: &Store,
    snapshot: &Snapshot,
    target: Option<&Target>,
    integration_email: Option<&str>,
    req: &PlanRequest,
    flags: &ApplyFlags,
    guard: &GuardPolicy,
) -> anyhow::Result<u8> {
    let (plan, total) = match compute(store, snapshot, req, integration_email).await? {
        Computed::Planned { plan, total_people } => (plan, total_people),
        Computed::Unresolved(message) => {
            eprintln!("{message}");
            return Ok(EXIT_ERROR);
        }
        Computed::Refused(err) => {
            print!("{}", render_refusal(req, &err, output)?);
            return Ok(EXIT_FAILED);
        }
    };
    let verdict = mass_change_verdict(&plan, total, guard);
    print!(
        "{}",
        render_plan(
            req,
            &plan,
            verdict.as_deref(),
            integration_email,
            target.is_none(),
            output
        )?
    );
    let Some(target) = target else {
        return Ok(0);
    };
    if plan.is_noop() {
        println!("Nothing to apply.");
        return Ok(0);
    }
    if let Some(verdict) = verdict
        && !flags.yes
    {
        eprintln!("refused: {verdict}; run again with --yes to confirm");
        return Ok(EXIT_FAILED);
    }
    let kind = super::entitlements::action_name(req.action);
    let reason = flags
        .reason
        .clone()
        .unwrap_or_else(|| "(no reason given)".to_owned());
    // `--yes` confirms the mass change: the workers' circuit breaker lets the job through.
    let enqueued = enqueue_plan_confirmed(
        store,
        &plan,
        kind,
        &requester(flags),
        &reason,
        None,
        flags.yes,
    )
    .await
    .context("cannot queue the job")?;
    let job = enqueued.id;
    println!("Queued as job {}.", job.0);
    if flags.no_wait {
        println!(
            "`steward worker` runs it; `steward jobs {}` shows its steps.",
            job.0
        );
        return Ok(0);
    }
    run_until_final(output, store, target, job, guard).await
}

/// Runs jobs here until `job` is final, then prints its journal; 0 when it succeeded.
async fn run_until_final(
    output: Output,
    store: &Store,
    target: &Target,
    job: JobId,
    guard: &GuardPolicy,
) -> anyhow::Result<u8> {
    let client = target
        .client(steward_engine::sync::sync_retry(), Duration::from_secs(30))
        .context("cannot build the Atlassian client")?;
    let mut worker = Worker::new(store.clone(), client, target.clone(), owner_id());
    worker.guard = *guard;
    loop {
        let detail = store.jobs().get(job).await.context("cannot read the job")?;
        if detail.job.status.is_final() {
            break;
        }
        let ran = tokio::select! {
            ran = worker.run_once() => ran.context("the worker stopped")?,
            _ = tokio::signal::ctrl_c() => {
                eprintln!(
                    "interrupted: job {} stays queued with its completed steps; `steward worker` \
                     resumes it",
                    job.0
                );
                return Ok(super::sync::EXIT_INTERRUPTED);
            }
        };
        match ran {
            Some(run) => report(&run),
            None => tokio::time::sleep(POLL).await,
        }
    }
    jobs::print_detail(output, store, job).await
}

fn report(run: &JobRun) {
    match &run.outcome {
        RunOutcome::Succeeded => {
            eprintln!("job {} ({}) succeeded", run.job.0, run.kind);
        }
        RunOutcome::Failed { reason } => {
            eprintln!("job {} ({}) failed: {reason}", run.job.0, run.kind);
        }
        RunOutcome::RetryLater { not_before, reason } => eprintln!(
            "job {} ({}) will retry at {}: {reason}",
            run.job.0,
            run.kind,
            not_before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        RunOutcome::LeaseLost => {
            eprintln!("job {}: another worker took it over", run.job.0);
        }
    }
}

/// `steward worker`: runs queued jobs until Ctrl-C (or, with `--once`, until the queue has
/// nothing claimable).
pub async fn worker(cli: &Cli, args: &WorkerArgs) -> anyhow::Result<u8> {
    let file = config::file_in_effect(cli.config.as_deref())?;
    let cfg = config::load(file.as_deref())?;
    let target = config::target(&cfg)?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| cfg.database.url.clone());
    let store = Store::open(&url)
        .await
        .context("cannot open the database")?;
    let client = target
        .client(steward_engine::sync::sync_retry(), Duration::from_secs(30))
        .context("cannot build the Atlassian client")?;
    let owner = owner_id();
    let mut worker = Worker::new(store.clone(), client, target, owner.clone());
    worker.lease = args.lease;
    worker.guard = cfg.guard.policy()?;
    eprintln!("worker {owner} started");
    let outcome = if args.once {
        loop {
            match worker.run_once().await {
                Ok(Some(run)) => report(&run),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        }
    } else {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("stopping: the job in progress finishes its step, then the worker exits");
            let _ = stop.send(true);
        });
        let outcome = worker.run(stopped).await;
        signal.abort();
        outcome
    };
    store.close().await;
    outcome.context("the worker stopped")?;
    Ok(0)
}
