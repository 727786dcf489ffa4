//! `steward audit [--since …] [--actor …] [--subject …] [--job N] [--limit N]` and
//! `steward audit verify`: the hash-chained audit log of every change Steward made or was asked
//! to make, and the check that nobody edited, deleted, reordered or truncated it.

use anyhow::Context;
use chrono::{DateTime, Utc};
use steward_store::{AuditEntry, AuditQuery, JobId, redact_url};

use super::EXIT_FAILED;
use crate::cli::{AuditArgs, AuditCommand, Cli, Output};
use crate::output::{csv, table};

pub async fn run(cli: &Cli, args: &AuditArgs) -> anyhow::Result<u8> {
    let url = super::database_url(cli, args.database_url.as_deref())?;
    let Some(store) = super::open_existing(&url).await? else {
        eprintln!(
            "no Steward database at {}: nothing has been audited yet",
            redact_url(&url)
        );
        return Ok(EXIT_FAILED);
    };
    let code = match &args.command {
        Some(AuditCommand::Verify) => {
            let verification = store
                .audit()
                .verify()
                .await
                .context("cannot read the audit log")?;
            match cli.output {
                Output::Json | Output::Csv => {
                    println!("{}", serde_json::to_string_pretty(&verification)?);
                }
                Output::Table => {
                    let head = verification.head.as_ref().map_or_else(
                        || "empty".to_owned(),
                        |h| format!("seq {} hash {}", h.seq, h.hash),
                    );
                    match &verification.first_bad {
                        None => println!(
                            "audit log intact: {} entries, head {head}\n\
                             Keep the head somewhere outside this database (a ticket, a \
                             commit): a later `steward audit verify` showing the same or a \
                             longer chain through it proves nothing before it was rewritten.",
                            verification.entries
                        ),
                        Some(fault) => println!(
                            "audit log TAMPERED: entry {} {} ({} entries checked)",
                            fault.seq, fault.reason, verification.entries
                        ),
                    }
                }
            }
            if verification.ok { 0 } else { EXIT_FAILED }
        }
        None => {
            let since = args
                .since
                .as_deref()
                .map(|s| {
                    DateTime::parse_from_rfc3339(s)
                        .map(|t| t.with_timezone(&Utc))
                        .with_context(|| {
                            format!(
                                "--since {s:?} is not an RFC 3339 time (e.g. 2026-01-31T09:00:00Z)"
                            )
                        })
                })
                .transpose()?;
            let entries = store
                .audit()
                .list(&AuditQuery {
                    since,
                    actor: args.actor.clone(),
                    subject: args.subject.clone(),
                    job: args.job.map(JobId),
                    limit: Some(args.limit),
                    after_seq: None,
                })
                .await
                .context("cannot read the audit log")?;
            print!("{}", render(&entries, cli.output)?);
            0
        }
    };
    store.close().await;
    Ok(code)
}

const COLUMNS: [&str; 8] = [
    "seq", "at", "actor", "action", "subject", "result", "job", "reason",
];

fn row(e: &AuditEntry) -> Vec<String> {
    let n = &e.entry;
    vec![
        e.seq.to_string(),
        e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        n.actor.clone(),
        n.action.clone(),
        n.subject.clone().unwrap_or_default(),
        n.result.clone(),
        n.job.map(|j| j.0.to_string()).unwrap_or_default(),
        n.reason.clone().unwrap_or_default(),
    ]
}

fn render(entries: &[AuditEntry], output: Output) -> anyhow::Result<String> {
    let rows = || entries.iter().map(row).collect::<Vec<_>>();
    Ok(match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(entries)?),
        Output::Csv => csv(&COLUMNS, &rows()),
        Output::Table if entries.is_empty() => "no audit entries\n".to_owned(),
        Output::Table => table(&COLUMNS, &rows(), ""),
    })
}
