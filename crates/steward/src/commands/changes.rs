//! `steward changes [--since RFC3339] [--database-url URL]`: the change events the syncs
//! recorded, oldest first.

use anyhow::Context;
use chrono::{DateTime, Utc};
use steward_store::{ChangeEvent, ChangeQuery, Store};

use crate::cli::{ChangesArgs, Cli, Output};
use crate::output::{csv, table};

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
    let database_url = super::database_url(cli, args.database_url.as_deref())?;
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
    let rows = || -> Vec<Vec<String>> { events.iter().map(|e| row(e).to_vec()).collect() };
    Ok(match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(events)?),
        Output::Csv => csv(&COLUMNS, &rows()),
        Output::Table if events.is_empty() => "no changes recorded\n".to_owned(),
        Output::Table => table(&COLUMNS, &rows(), ""),
    })
}
