//! `steward changes [--since RFC3339] [--database-url URL]`: the change events the syncs
//! recorded, oldest first.

use anyhow::Context;
use chrono::{DateTime, Utc};
use steward_store::{ChangeEvent, ChangeQuery, Store};

use crate::cli::{ChangesArgs, Cli, Output};
use crate::config;
use crate::output::csv_field;

pub async fn run(cli: &Cli, args: &ChangesArgs) -> anyhow::Result<u8> {
    let since = args
        .since
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| {
                    format!("--since {s:?} is not an RFC 3339 time (e.g. 2026-01-31T09:00:00Z)")
                })
        })
        .transpose()?;
    let database_url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let file = config::file_in_effect(cli.config.as_deref())?;
            config::load(file.as_deref())?.database.url
        }
    };
    let store = Store::open(&database_url)
        .await
        .context("cannot open the database")?;
    let events = store
        .changes()
        .list(&ChangeQuery {
            since,
            ..ChangeQuery::default()
        })
        .await;
    store.close().await;
    let events = events.context("cannot read the change events")?;
    print!("{}", render(&events, cli.output)?);
    Ok(0)
}

/// The columns of the table and CSV forms.
const COLUMNS: [&str; 11] = [
    "id",
    "detected_at",
    "kind",
    "account_id",
    "group_id",
    "resource",
    "role",
    "before",
    "after",
    "out_of_band",
    "actor",
];

fn row(e: &ChangeEvent) -> [String; 11] {
    let ev = &e.event;
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let actor = match (&ev.actor_name, &ev.actor_id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (None, Some(id)) => id.clone(),
        _ => String::new(),
    };
    [
        e.id.to_string(),
        ev.detected_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ev.kind.as_str().to_owned(),
        ev.account_id.clone().unwrap_or_default(),
        ev.group_id.clone().unwrap_or_default(),
        ev.resource.clone().unwrap_or_default(),
        ev.role.clone().unwrap_or_default(),
        json(&ev.before),
        json(&ev.after),
        ev.out_of_band.to_string(),
        actor,
    ]
}

/// The events as JSON (an array), CSV with a header, or an aligned table.
pub fn render(events: &[ChangeEvent], output: Output) -> anyhow::Result<String> {
    Ok(match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(events)?),
        Output::Csv => {
            let mut out = COLUMNS.join(",");
            out.push('\n');
            for e in events {
                out.push_str(&row(e).map(|v| csv_field(&v)).join(","));
                out.push('\n');
            }
            out
        }
        Output::Table => {
            if events.is_empty() {
                return Ok("no changes recorded\n".to_owned());
            }
            let rows: Vec<[String; 11]> = events.iter().map(row).collect();
            let mut widths = COLUMNS.map(str::len);
            for r in &rows {
                for (w, v) in widths.iter_mut().zip(r) {
                    *w = (*w).max(v.chars().count());
                }
            }
            let line = |cells: &[&str]| {
                let mut s = cells
                    .iter()
                    .zip(widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ");
                s.truncate(s.trim_end().len());
                s.push('\n');
                s
            };
            let mut out = line(&COLUMNS);
            for r in &rows {
                out.push_str(&line(&r.each_ref().map(String::as_str)));
            }
            out
        }
    })
}
