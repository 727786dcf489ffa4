//! `steward jobs [--status S] [--subject EMAIL] [--limit N]` and `steward jobs ID`: the
//! provisioning jobs and, for one, its step journal (each step's API call, status, attempts,
//! result or error).

use anyhow::Context;
use steward_store::{Job, JobId, JobQuery, JobStatus, Store, redact_url};

use super::EXIT_FAILED;
use crate::cli::{Cli, JobsArgs, Output};
use crate::output::{csv, table};

pub async fn run(cli: &Cli, args: &JobsArgs) -> anyhow::Result<u8> {
    let url = super::database_url(cli, args.database_url.as_deref())?;
    let Some(store) = super::open_existing(&url).await? else {
        eprintln!("no Steward database at {}: no jobs yet", redact_url(&url));
        return Ok(EXIT_FAILED);
    };
    if let Some(id) = args.id {
        let code = print_detail(cli.output, &store, JobId(id)).await;
        store.close().await;
        return code;
    }
    let status = args
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).map_err(|_| {
                anyhow::anyhow!(
                    "--status {s:?} is not a job status: use queued, running, succeeded, failed \
                     or cancelled"
                )
            })
        })
        .transpose()?;
    let jobs = store
        .jobs()
        .list(&JobQuery {
            status,
            subject: args.subject.clone(),
            limit: Some(args.limit),
            after_id: None,
        })
        .await
        .context("cannot read the jobs");
    store.close().await;
    let jobs = jobs?;
    const COLUMNS: [&str; 8] = [
        "id",
        "kind",
        "subject",
        "status",
        "attempts",
        "requested_by",
        "created",
        "error",
    ];
    let rows = || jobs.iter().map(job_row).collect::<Vec<_>>();
    let out = match cli.output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(&jobs)?),
        Output::Csv => csv(&COLUMNS, &rows()),
        Output::Table if jobs.is_empty() => "no jobs\n".to_owned(),
        Output::Table => table(&COLUMNS, &rows(), ""),
    };
    print!("{out}");
    Ok(0)
}

fn job_row(j: &Job) -> Vec<String> {
    vec![
        j.id.0.to_string(),
        j.kind.clone(),
        j.subject.clone(),
        j.status.as_str().to_owned(),
        j.attempts.to_string(),
        j.requested_by.clone(),
        j.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        j.error.clone().unwrap_or_default(),
    ]
}

/// Prints one job and its step journal; 1 (after saying so) when there is no such job, else
/// 0 when it succeeded (or is still queued or running) and 1 when it failed or was cancelled.
pub async fn print_detail(output: Output, store: &Store, job: JobId) -> anyhow::Result<u8> {
    let detail = match store.jobs().get(job).await {
        Ok(detail) => detail,
        Err(steward_store::Error::UnknownJob(_)) => {
            eprintln!("no job {}: `steward jobs` lists them", job.0);
            return Ok(EXIT_FAILED);
        }
        Err(e) => return Err(e).context("cannot read the job"),
    };
    const STEPS: [&str; 6] = ["step", "status", "attempts", "what", "api_call", "outcome"];
    let rows = || {
        detail
            .steps
            .iter()
            .map(|s| {
                // The step's own summary when it has one (the JSON form keeps every call).
                let outcome = match (&s.error, &s.result) {
                    (Some(e), _) => e.clone(),
                    (None, Some(r)) => match r.get("summary").and_then(|v| v.as_str()) {
                        Some(summary) => summary.to_owned(),
                        None if r.is_null() => String::new(),
                        None => r.to_string(),
                    },
                    _ => String::new(),
                };
                vec![
                    s.seq.to_string(),
                    s.status.as_str().to_owned(),
                    s.attempts.to_string(),
                    s.name.clone(),
                    s.api_call.clone(),
                    outcome,
                ]
            })
            .collect::<Vec<_>>()
    };
    let out = match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(&detail)?),
        Output::Csv => csv(&STEPS, &rows()),
        Output::Table => {
            let j = &detail.job;
            let mut out = format!(
                "job {}: {} {} ({}, attempt {})\nrequested by {}: {}\n",
                j.id.0,
                j.kind,
                j.subject,
                j.status.as_str(),
                j.attempts,
                j.requested_by,
                j.reason
            );
            if let Some(error) = &j.error {
                out.push_str(&format!("error: {error}\n"));
            }
            out.push('\n');
            out.push_str(&table(&STEPS, &rows(), ""));
            out
        }
    };
    print!("{out}");
    Ok(match detail.job.status {
        JobStatus::Failed | JobStatus::Cancelled => EXIT_FAILED,
        _ => 0,
    })
}
