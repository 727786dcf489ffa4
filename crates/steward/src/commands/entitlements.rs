//! `steward entitlements` (the catalog of what can be granted) and `steward plan` (the dry
//! run of a grant, revoke or offboarding), both over the latest completed sync. The catalog,
//! planner and guard rails live in `steward_engine::provision`; this module finds the store,
//! resolves the arguments and renders.

use std::fmt::Write;

use anyhow::Context;
use serde_json::json;
use steward_engine::provision::{
    Catalog, CatalogConfig, Entitlement, GuardPolicy, OffboardLevel, OrgFacts, Plan, PlanError,
    RestoreBundle, mass_change, person_state, plan_grant, plan_offboard, plan_restore, plan_revoke,
};
use steward_store::{AccountFilter, BundleId, Snapshot, Store};

use super::{EXIT_ERROR, EXIT_FAILED};
use crate::cli::{Cli, EntitlementsArgs, Output, PlanAction, PlanArgs};
use crate::config;
use crate::output::{csv_field, table};

/// `steward entitlements`.
pub async fn list(cli: &Cli, args: &EntitlementsArgs) -> anyhow::Result<u8> {
    let Some((store, snapshot)) = super::open_snapshot(cli, args.database_url.as_deref()).await?
    else {
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
            let mut out = table(&["ID", "PRODUCT", "SITE", "RISK", "TITLE"], &rows, "");
            let _ = writeln!(out, "\n{} entitlement(s)", entitlements.len());
            out
        }
    })
}

/// What to plan: the arguments `steward plan` and the applying commands share.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Grant, revoke, offboard or restore.
    pub action: PlanAction,
    /// The person.
    pub email: String,
    /// Entitlement ids (grant, revoke).
    pub entitlements: Vec<String>,
    /// How far an offboarding goes.
    pub level: Option<OffboardLevel>,
    /// Platform roles allowed as entitlements.
    pub platform_roles: bool,
}

impl PlanRequest {
    fn of(args: &PlanArgs) -> PlanRequest {
        PlanRequest {
            action: args.action,
            email: args.email.clone(),
            entitlements: args.entitlements.clone(),
            level: args.level,
            platform_roles: args.platform_roles,
        }
    }

    /// A usage error (what is missing or extra), if any.
    pub fn usage_error(&self) -> Option<String> {
        let verb = action_name(self.action);
        match (self.action, self.level, self.entitlements.is_empty()) {
            (PlanAction::Offboard, None, _) => Some(format!(
                "`{verb}` needs --level (revoke-roles, suspend, remove or deactivate)"
            )),
            (PlanAction::Offboard | PlanAction::Restore, _, false) => Some(format!(
                "`{verb}` takes no entitlements: it works on everything the person has (or had)"
            )),
            (PlanAction::Grant | PlanAction::Revoke, _, true) => Some(format!(
                "name at least one entitlement to {verb} (`steward entitlements` lists them)"
            )),
            (PlanAction::Grant | PlanAction::Revoke | PlanAction::Restore, Some(_), _) => {
                Some("--level is for offboarding only".to_owned())
            }
            _ => None,
        }
    }
}

/// `steward plan`.
pub async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    let req = PlanRequest::of(args);
    if let Some(usage) = req.usage_error() {
        eprintln!("{usage}");
        return Ok(EXIT_ERROR);
    }
    let integration_email = match &args.integration_email {
        Some(email) => Some(email.clone()),
        None => configured_integration_email(cli),
    };
    let Some((store, snapshot)) = super::open_snapshot(cli, args.database_url.as_deref()).await?
    else {
        return Ok(EXIT_FAILED);
    };
    let outcome = compute(&store, &snapshot, &req, integration_email.as_deref()).await;
    store.close().await;
    let (plan, total) = match outcome? {
        Computed::Planned { plan, total_people } => (plan, total_people),
        Computed::Unresolved(message) => {
            eprintln!("{message}");
            return Ok(EXIT_ERROR);
        }
        Computed::Refused(err) => {
            print!("{}", render_refusal(&req, &err, cli.output)?);
            return Ok(EXIT_FAILED);
        }
    };
    let verdict = mass_change_verdict(&plan, total, &configured_guard(cli)?);
    print!(
        "{}",
        render_plan(
            &req,
            &plan,
            verdict.as_deref(),
            integration_email.as_deref(),
            true,
            cli.output
        )?
    );
    Ok(0)
}

/// The mass-change guard rail's refusal of a one-person plan in an org of `total` people
/// (small orgs: one person can exceed the share), if any.
pub fn mass_change_verdict(plan: &Plan, total: usize, guard: &GuardPolicy) -> Option<String> {
    let touched = usize::from(!plan.is_noop());
    mass_change(touched, total, guard.mass_change_share)
        .err()
        .map(|e| e.to_string())
}

/// A computed plan, or why there is none.
pub enum Computed {
    /// The plan, the number of people in the org, and the restore bundle it restores.
    Planned {
        /// The plan (a restore's names its bundle).
        plan: Plan,
        /// People in the latest sync.
        total_people: usize,
    },
    /// An argument names nothing (unknown entitlement, no bundle): a usage error.
    Unresolved(String),
    /// The planner or a guard rail refused.
    Refused(PlanError),
}

/// Plans `req` against the latest sync.
pub async fn compute(
    store: &Store,
    snapshot: &Snapshot,
    req: &PlanRequest,
    integration_email: Option<&str>,
) -> anyhow::Result<Computed> {
    let config = CatalogConfig {
        platform_roles: req.platform_roles,
    };
    let catalog = Catalog::from_snapshot(snapshot, &config)
        .await
        .context("cannot read the catalog of the latest sync")?;
    let entitlements = match catalog.resolve_all(&req.entitlements) {
        Ok(e) => e,
        Err(e) => return Ok(Computed::Unresolved(e.to_string())),
    };
    let facts = OrgFacts::from_snapshot(snapshot, integration_email)
        .await
        .context("cannot read the org from the latest sync")?;
    let state = person_state(snapshot, &req.email, &facts)
        .await
        .context("cannot read the person from the latest sync")?;
    let total_people = snapshot
        .accounts(&AccountFilter::default())
        .await
        .context("cannot count the people of the latest sync")?
        .len();
    let mut bundle_id: Option<BundleId> = None;
    let planned = match (req.action, req.level) {
        (PlanAction::Grant, _) => plan_grant(&state, &entitlements, &facts),
        (PlanAction::Revoke, _) => plan_revoke(&state, &entitlements, &facts),
        (PlanAction::Offboard, Some(level)) => plan_offboard(&state, level, &facts),
        (PlanAction::Offboard, None) => {
            return Ok(Computed::Unresolved("--level is required".to_owned()));
        }
        (PlanAction::Restore, _) => {
            let key = state
                .account
                .as_ref()
                .map_or(req.email.as_str(), |a| a.account_id.as_str());
            let found = match store.bundles().latest_for(key).await? {
                Some(b) => Some(b),
                None => store.bundles().latest_for(&req.email).await?,
            };
            let Some(found) = found else {
                return Ok(Computed::Unresolved(format!(
                    "no restore bundle for {}: Steward saves one before every revoke or \
                     offboarding it runs, and none ran for this person",
                    req.email
                )));
            };
            if let (Some(at), Some(job)) = (found.restored_at, found.restored_by) {
                return Ok(Computed::Unresolved(format!(
                    "the latest restore bundle of {} was already restored (job {}, {}); \
                     nothing newer to restore",
                    req.email,
                    job.0,
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )));
            }
            let content: RestoreBundle = serde_json::from_value(found.bundle.content.clone())
                .context("the restore bundle does not decode (saved by another version?)")?;
            bundle_id = Some(found.id);
            plan_restore(&state, &content, &facts)
        }
    };
    Ok(match planned {
        Ok(mut plan) => {
            plan.planned_against_run = Some(snapshot.run().0);
            plan.restores_bundle = bundle_id.map(|b| b.0);
            Computed::Planned { plan, total_people }
        }
        Err(err) => Computed::Refused(err),
    })
}

/// The verb of an action.
pub fn action_name(action: PlanAction) -> &'static str {
    match action {
        PlanAction::Grant => "grant",
        PlanAction::Revoke => "revoke",
        PlanAction::Offboard => "offboard",
        PlanAction::Restore => "restore",
    }
}

/// The plan as a numbered list (each step, its API call and why), JSON or CSV; `dry_run` adds
/// that nothing was changed.
pub fn render_plan(
    args: &PlanRequest,
    plan: &Plan,
    mass_change: Option<&str>,
    integration_email: Option<&str>,
    dry_run: bool,
    format: Output,
) -> anyhow::Result<String> {
    let guard = match mass_change {
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
                "applied": !dry_run,
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
            if dry_run {
                let _ = writeln!(out, "Dry run: nothing was changed.");
            }
            out
        }
    })
}

/// A refusal (planner or guard rail), with nothing changed.
pub fn render_refusal(
    args: &PlanRequest,
    err: &PlanError,
    format: Output,
) -> anyhow::Result<String> {
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
            format!("{what}: {err}\nNothing was changed.\n")
        }
    })
}

/// The configured integration email, if a configuration file or the environment names one
/// (a configuration that does not load is ignored here: the dry run only reads the store).
/// The configured guard policy (`[guard]`), the defaults without a configuration.
///
/// # Errors
/// An invalid `[guard]` value.
pub fn configured_guard(cli: &Cli) -> anyhow::Result<GuardPolicy> {
    let cfg = config::file_in_effect(cli.config.as_deref())
        .ok()
        .and_then(|file| config::load(file.as_deref()).ok());
    match cfg {
        Some(cfg) => cfg.guard.policy(),
        None => Ok(GuardPolicy::default()),
    }
}

pub fn configured_integration_email(cli: &Cli) -> Option<String> {
    let file = config::file_in_effect(cli.config.as_deref()).ok()?;
    config::load(file.as_deref())
        .ok()?
        .atlassian?
        .integration_email
}
