//! `steward entitlements` (the catalog of what can be granted) and `steward plan` (the dry
//! run of a grant, revoke or offboarding), both over the latest completed sync. The catalog,
//! planner and guard rails live in `steward_engine::provision`; this module finds the store,
//! resolves the arguments and renders.

use std::fmt::Write;

use anyhow::Context;
use serde_json::json;
use steward_engine::provision::{
    Catalog, CatalogConfig, DEFAULT_MASS_CHANGE_SHARE, Entitlement, OrgFacts, Plan, PlanError,
    mass_change, person_state, plan_grant, plan_offboard, plan_revoke,
};
use steward_store::{AccountFilter, Snapshot, Store, redact_url};

use super::{EXIT_ERROR, EXIT_FAILED};
use crate::cli::{Cli, EntitlementsArgs, Output, PlanAction, PlanArgs};
use crate::config;
use crate::output::csv_field;

/// `steward entitlements`.
pub async fn list(cli: &Cli, args: &EntitlementsArgs) -> anyhow::Result<u8> {
    let Some((store, snapshot)) = open(cli, args.database_url.as_deref()).await? else {
        return Ok(EXIT_FAILED);
    };
    let config = CatalogConfig {
        platform_roles: args.platform_roles,
    };
    let catalog = Catalog::from_snapshot(&snapshot, &config).await;
    store.close().await;
    let catalog = catalog.context("cannot read the catalog of the latest sync")?;
    let shown: Vec<&Entitlement> = catalog
        .entitlements()
        .iter()
        .filter(|e| args.product.is_none() || e.product == args.product)
        .collect();
    print!("{}", render_catalog(&shown, cli.output)?);
    Ok(0)
}

fn render_catalog(entitlements: &[&Entitlement], format: Output) -> anyhow::Result<String> {
    let row = |e: &Entitlement| {
        vec![
            e.id.to_string(),
            e.product.map(|p| p.to_string()).unwrap_or_default(),
            e.site.clone().unwrap_or_default(),
            e.risk.as_str().to_owned(),
            e.title.clone(),
        ]
    };
    Ok(match format {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(entitlements)?),
        Output::Csv => {
            let mut out = String::from("id,product,site,risk,title,resource\n");
            for e in entitlements {
                let mut cells = row(e);
                cells.push(e.resource.clone().unwrap_or_default());
                out.push_str(
                    &cells
                        .iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Output::Table => {
            let rows: Vec<Vec<String>> = entitlements.iter().map(|e| row(e)).collect();
            let mut out = table(&["ID", "PRODUCT", "SITE", "RISK", "TITLE"], &rows);
            let _ = writeln!(out, "\n{} entitlement(s)", entitlements.len());
            out
        }
    })
}

/// `steward plan`.
pub async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    match (args.action, args.level, args.entitlements.is_empty()) {
        (PlanAction::Offboard, None, _) => {
            eprintln!(
                "`steward plan offboard` needs --level (revoke-roles, suspend, remove or \
                 deactivate)"
            );
            return Ok(EXIT_ERROR);
        }
        (PlanAction::Offboard, Some(_), false) => {
            eprintln!(
                "`steward plan offboard` takes no entitlements: it plans taking everything away \
                 at --level"
            );
            return Ok(EXIT_ERROR);
        }
        (PlanAction::Grant | PlanAction::Revoke, _, true) => {
            eprintln!(
                "name at least one entitlement to {} (`steward entitlements` lists them)",
                action_name(args.action)
            );
            return Ok(EXIT_ERROR);
        }
        (PlanAction::Grant | PlanAction::Revoke, Some(_), false) => {
            eprintln!("--level is for `steward plan offboard` only");
            return Ok(EXIT_ERROR);
        }
        (PlanAction::Offboard, Some(_), true)
        | (PlanAction::Grant | PlanAction::Revoke, None, false) => {}
    }
    let integration_email = match &args.integration_email {
        Some(email) => Some(email.clone()),
        None => configured_integration_email(cli),
    };
    let Some((store, snapshot)) = open(cli, args.database_url.as_deref()).await? else {
        return Ok(EXIT_FAILED);
    };
    let outcome = compute(&snapshot, args, integration_email.as_deref()).await;
    store.close().await;
    let (plan, total) = match outcome? {
        Computed::Planned { plan, total_people } => (plan, total_people),
        Computed::Unresolved(message) => {
            eprintln!("{message}");
            return Ok(EXIT_ERROR);
        }
        Computed::Refused(err) => {
            print!("{}", render_refusal(args, &err, cli.output)?);
            return Ok(EXIT_FAILED);
        }
    };
    let touched = usize::from(!plan.is_noop());
    let verdict = mass_change(touched, total, DEFAULT_MASS_CHANGE_SHARE).err();
    print!(
        "{}",
        render_plan(
            args,
            &plan,
            verdict.as_ref().map(ToString::to_string),
            integration_email.as_deref(),
            cli.output
        )?
    );
    Ok(0)
}

enum Computed {
    Planned { plan: Plan, total_people: usize },
    Unresolved(String),
    Refused(PlanError),
}

async fn compute(
    snapshot: &Snapshot,
    args: &PlanArgs,
    integration_email: Option<&str>,
) -> anyhow::Result<Computed> {
    let config = CatalogConfig {
        platform_roles: args.platform_roles,
    };
    let catalog = Catalog::from_snapshot(snapshot, &config)
        .await
        .context("cannot read the catalog of the latest sync")?;
    let entitlements = match catalog.resolve_all(&args.entitlements) {
        Ok(e) => e,
        Err(e) => return Ok(Computed::Unresolved(e.to_string())),
    };
    let facts = OrgFacts::from_snapshot(snapshot, integration_email)
        .await
        .context("cannot read the org from the latest sync")?;
    let state = person_state(snapshot, &args.email, &facts)
        .await
        .context("cannot read the person from the latest sync")?;
    let total_people = snapshot
        .accounts(&AccountFilter::default())
        .await
        .context("cannot count the people of the latest sync")?
        .len();
    let planned = match (args.action, args.level) {
        (PlanAction::Grant, _) => plan_grant(&state, &entitlements, &facts),
        (PlanAction::Revoke, _) => plan_revoke(&state, &entitlements, &facts),
        (PlanAction::Offboard, Some(level)) => plan_offboard(&state, level, &facts),
        (PlanAction::Offboard, None) => {
            return Ok(Computed::Unresolved("--level is required".to_owned()));
        }
    };
    Ok(match planned {
        Ok(mut plan) => {
            plan.planned_against_run = Some(snapshot.run().0);
            Computed::Planned { plan, total_people }
        }
        Err(err) => Computed::Refused(err),
    })
}

fn action_name(action: PlanAction) -> &'static str {
    match action {
        PlanAction::Grant => "grant",
        PlanAction::Revoke => "revoke",
        PlanAction::Offboard => "offboard",
    }
}

fn render_plan(
    args: &PlanArgs,
    plan: &Plan,
    mass_change: Option<String>,
    integration_email: Option<&str>,
    format: Output,
) -> anyhow::Result<String> {
    let guard = match &mass_change {
        Some(message) => format!("confirmation needed: {message}"),
        None => "passed".to_owned(),
    };
    let note = integration_email.is_none().then_some(
        "the integration account is unknown (no --integration-email and none configured): it is \
         not protected in this plan",
    );
    Ok(match format {
        Output::Json => {
            let steps: Vec<serde_json::Value> = plan
                .ops
                .iter()
                .map(|p| {
                    let mut step = serde_json::to_value(p).unwrap_or_default();
                    if let Some(obj) = step.as_object_mut() {
                        obj.insert("describe".into(), json!(p.op.describe()));
                        obj.insert("api_call".into(), json!(p.op.api_call()));
                    }
                    step
                })
                .collect();
            let value = json!({
                "action": action_name(args.action),
                "level": args.level.map(|l| l.as_str()),
                "subject": plan.subject,
                "planned_against_run": plan.planned_against_run,
                "noop": plan.is_noop(),
                "ops": steps,
                "guard": {"passed": mass_change.is_none(), "detail": guard, "note": note},
                "applied": false,
            });
            format!("{}\n", serde_json::to_string_pretty(&value)?)
        }
        Output::Csv => {
            let mut out = String::from("step,op,description,api_call,why\n");
            for (i, p) in plan.ops.iter().enumerate() {
                let op = serde_json::to_value(&p.op)?;
                let cells = [
                    (i + 1).to_string(),
                    op["op"].as_str().unwrap_or_default().to_owned(),
                    p.op.describe(),
                    p.op.api_call().to_owned(),
                    p.why.clone(),
                ];
                out.push_str(
                    &cells
                        .iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Output::Table => {
            let mut out = String::new();
            let account = plan
                .subject
                .account_id
                .as_deref()
                .map_or_else(|| "no account yet".to_owned(), |a| format!("account {a}"));
            let what = match args.level {
                Some(level) => format!("offboard ({level})"),
                None => action_name(args.action).to_owned(),
            };
            let _ = writeln!(
                out,
                "Plan: {what} {} ({account}), against sync run {}",
                plan.subject.email,
                plan.planned_against_run
                    .map_or_else(|| "?".to_owned(), |r| r.to_string())
            );
            if plan.is_noop() {
                let _ = writeln!(
                    out,
                    "Nothing to change: everything asked for is already so."
                );
            }
            for (i, p) in plan.ops.iter().enumerate() {
                let _ = writeln!(out, "{:>3}. {}", i + 1, p.op.describe());
                let _ = writeln!(out, "     call: {}", p.op.api_call());
                let _ = writeln!(out, "     why:  {}", p.why);
            }
            let _ = writeln!(out, "Guard rails: {guard}");
            if let Some(note) = note {
                let _ = writeln!(out, "Note: {note}");
            }
            let _ = writeln!(out, "Dry run: nothing was changed.");
            out
        }
    })
}

fn render_refusal(args: &PlanArgs, err: &PlanError, format: Output) -> anyhow::Result<String> {
    let guard = matches!(err, PlanError::Guard(_));
    Ok(match format {
        Output::Json => {
            let value = json!({
                "action": action_name(args.action),
                "subject": {"email": args.email},
                "ops": [],
                "guard": {"passed": !guard, "detail": err.to_string()},
                "refused": err.to_string(),
                "applied": false,
            });
            format!("{}\n", serde_json::to_string_pretty(&value)?)
        }
        Output::Csv | Output::Table => {
            let what = if guard {
                "Refused by a guard rail"
            } else {
                "Cannot plan"
            };
            format!("{what}: {err}\nDry run: nothing was changed.\n")
        }
    })
}

/// The configured integration email, if a configuration file or the environment names one
/// (a configuration that does not load is ignored here: the dry run only reads the store).
fn configured_integration_email(cli: &Cli) -> Option<String> {
    let file = config::file_in_effect(cli.config.as_deref()).ok()?;
    config::load(file.as_deref())
        .ok()?
        .atlassian?
        .integration_email
}

/// The store and its latest completed snapshot; `None` (after saying why, and what to do) when
/// there is no store yet or no sync has completed. A missing SQLite file is not created.
async fn open(cli: &Cli, database_url: Option<&str>) -> anyhow::Result<Option<(Store, Snapshot)>> {
    let url = match database_url {
        Some(url) => url.to_owned(),
        None => {
            let file = config::file_in_effect(cli.config.as_deref())?;
            config::load(file.as_deref())?.database.url
        }
    };
    let no_sync = || {
        eprintln!(
            "nothing synced yet in {}: run `steward sync` first (or `steward sync --sandbox \
             --database-url URL` to try the sandbox)",
            redact_url(&url)
        );
    };
    let file = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .and_then(|rest| rest.split('?').next())
        .filter(|p| !p.is_empty() && *p != ":memory:");
    if let Some(path) = file
        && !std::path::Path::new(path).exists()
    {
        no_sync();
        return Ok(None);
    }
    let store = Store::open(&url)
        .await
        .context("cannot open the database")?;
    let snapshot = store.latest_snapshot().await;
    let Some(snapshot) = snapshot.context("cannot read the latest sync")? else {
        store.close().await;
        no_sync();
        return Ok(None);
    };
    Ok(Some((store, snapshot)))
}

/// Aligned columns under a header, two spaces apart, no trailing blanks.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, v) in widths.iter_mut().zip(r) {
            *w = (*w).max(v.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
