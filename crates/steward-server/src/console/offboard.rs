//! Offboarding from the console, in two steps: plan (show every step and the guard rails'
//! verdict, change nothing), then confirm (plan again against the latest sync and queue the
//! job with [`enqueue_plan`]; `steward worker` or any worker sharing the database runs it).
//!
//! The confirmation carries the sync run the plan was shown for: when a newer sync landed in
//! between, the new plan is shown again instead of queuing something nobody reviewed. A random
//! nonce from the plan page is the job's idempotency key, so a double submit queues one job.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use steward_engine::provision::{
    DEFAULT_MASS_CHANGE_SHARE, OffboardLevel, OrgFacts, Plan, PlanError, enqueue_plan_confirmed,
    mass_change, person_state, plan_offboard,
};
use steward_store::AccountFilter;

use super::session::bad_form;
use super::{Me, encode_component, error_page, redirect, render};
use crate::api::latest_snapshot;
use crate::auth::{Principal, random_token};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

/// The plan form's fields.
#[derive(Debug, Deserialize)]
pub struct PlanForm {
    /// `revoke-roles`, `suspend`, `remove` or `deactivate`.
    pub level: String,
}

/// The confirmation form's fields.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    /// The level planned.
    pub level: String,
    /// The sync run the plan was shown for.
    pub run: i64,
    /// The plan page's nonce (the job's idempotency key).
    pub nonce: String,
    /// Why (kept with the job and in the audit log).
    #[serde(default)]
    pub reason: String,
    /// Set when the admin confirms a change the mass-change guard rail flags.
    #[serde(default)]
    pub mass_ok: Option<String>,
}

/// One step of a plan, as shown.
#[derive(Debug)]
pub struct StepView {
    /// What it does.
    pub describe: String,
    /// The API call it makes.
    pub api_call: String,
    /// Why.
    pub why: String,
    /// Whether it destroys something (shown in red).
    pub destructive: bool,
}

/// The plan page.
#[derive(Template)]
#[template(path = "offboard_plan.html")]
pub struct PlanPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The person.
    pub email: String,
    /// URL-encoded email.
    pub email_path: String,
    /// The level.
    pub level: String,
    /// The steps (empty: nothing to do, or refused).
    pub steps: Vec<StepView>,
    /// The guard rails' refusal, if refused.
    pub refused: Option<String>,
    /// The mass-change guard rail's verdict, when the admin must confirm it.
    pub mass_change: Option<String>,
    /// The run planned against.
    pub run: i64,
    /// The nonce for the confirmation.
    pub nonce: String,
    /// A notice (the data changed, a missing reason).
    pub notice: Option<String>,
    /// The reason typed so far.
    pub reason: String,
    /// Whether the integration account is unknown (then not protected).
    pub integration_unknown: bool,
}

/// A plan, or why there is none.
enum Planned {
    Plan {
        plan: Plan,
        run: i64,
        mass_change: Option<String>,
    },
    Refused {
        reason: String,
        run: i64,
    },
}

fn parse_level(level: &str) -> Result<OffboardLevel, ApiError> {
    level.parse::<OffboardLevel>().map_err(ApiError::parameter)
}

async fn compute(state: &AppState, email: &str, level: OffboardLevel) -> Result<Planned, ApiError> {
    let snapshot = latest_snapshot(state.store()).await?;
    let run = snapshot.run().0;
    let integration = state.sync_launcher().and_then(|l| l.integration_email());
    let internal = |e: PlanError| match e {
        PlanError::Store(e) => ApiError::from(e),
        other => ApiError::internal(&other),
    };
    let facts = OrgFacts::from_snapshot(&snapshot, integration.as_deref())
        .await
        .map_err(internal)?;
    let person = person_state(&snapshot, email, &facts)
        .await
        .map_err(internal)?;
    if person.account.is_none() {
        return Err(ApiError::not_found(format!(
            "no account with email {email}"
        )));
    }
    let total = snapshot
        .accounts(&AccountFilter::default())
        .await
        .map_err(ApiError::from)?
        .len();
    Ok(match plan_offboard(&person, level, &facts) {
        Ok(mut plan) => {
            plan.planned_against_run = Some(run);
            let touched = usize::from(!plan.is_noop());
            let mass_change = mass_change(touched, total, DEFAULT_MASS_CHANGE_SHARE)
                .err()
                .map(|e| e.to_string());
            Planned::Plan {
                plan,
                run,
                mass_change,
            }
        }
        Err(PlanError::Store(e)) => return Err(ApiError::from(e)),
        Err(refusal) => Planned::Refused {
            reason: refusal.to_string(),
            run,
        },
    })
}

fn plan_page(
    state: &AppState,
    principal: &Principal,
    email: &str,
    level: OffboardLevel,
    planned: Planned,
    notice: Option<String>,
    reason: String,
) -> Response {
    let (steps, refused, mass_change, run) = match planned {
        Planned::Plan {
            plan,
            run,
            mass_change,
        } => (
            plan.ops
                .iter()
                .map(|p| StepView {
                    describe: p.op.describe(),
                    api_call: p.op.api_call().to_owned(),
                    why: p.why.clone(),
                    destructive: p.op.is_destructive(),
                })
                .collect(),
            None,
            mass_change,
            run,
        ),
        Planned::Refused { reason, run } => (Vec::new(), Some(reason), None, run),
    };
    render(&PlanPage {
        me: Some(Me::of(principal)),
        email: email.to_owned(),
        email_path: encode_component(email),
        level: level.as_str().to_owned(),
        steps,
        refused,
        mass_change,
        run,
        nonce: random_token(16),
        notice,
        reason,
        integration_unknown: state
            .sync_launcher()
            .and_then(|l| l.integration_email())
            .is_none(),
    })
}

/// `POST /people/{email}/offboard` (admins): plans the offboarding and shows it; nothing
/// changes.
pub async fn plan(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(email): ApiPath<String>,
    Form(form): Form<PlanForm>,
) -> Response {
    let level = match parse_level(&form.level) {
        Ok(l) => l,
        Err(e) => return bad_form(&principal, e.message),
    };
    match compute(&state, &email, level).await {
        Ok(planned) => plan_page(
            &state,
            &principal,
            &email,
            level,
            planned,
            None,
            String::new(),
        ),
        Err(e) => error_page(Some(&principal), &e),
    }
}

/// `POST /people/{email}/offboard/confirm` (admins): plans again and, if it is the plan that
/// was shown (same sync run), queues it as a job and goes to the job's page.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    ApiPath(email): ApiPath<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let level = match parse_level(&form.level) {
        Ok(l) => l,
        Err(e) => return bad_form(&principal, e.message),
    };
    let planned = match compute(&state, &email, level).await {
        Ok(p) => p,
        Err(e) => return error_page(Some(&principal), &e),
    };
    let reason = form.reason.trim().to_owned();
    let again = |planned, notice: &str| {
        plan_page(
            &state,
            &principal,
            &email,
            level,
            planned,
            Some(notice.to_owned()),
            reason.clone(),
        )
    };
    let notice = match &planned {
        Planned::Refused { .. } => Some("The plan is refused: nothing queued."),
        Planned::Plan { run, .. } if *run != form.run => {
            Some("A newer sync changed what Steward knows: review the new plan.")
        }
        Planned::Plan { plan, .. } if plan.is_noop() => Some("Nothing to do: nothing queued."),
        Planned::Plan { .. } if reason.is_empty() => {
            Some("Give a reason: it is kept with the job and in the audit log.")
        }
        Planned::Plan {
            mass_change: Some(_),
            ..
        } if form.mass_ok.is_none() => Some("Confirm the mass change to go on."),
        Planned::Plan { .. } => None,
    };
    let (plan, mass) = match (notice, planned) {
        (
            None,
            Planned::Plan {
                plan, mass_change, ..
            },
        ) => (plan, mass_change),
        (notice, planned) => {
            return again(
                planned,
                notice.unwrap_or("The plan is refused: nothing queued."),
            );
        }
    };
    let reason = match mass {
        Some(verdict) => format!("{reason} (mass change confirmed: {verdict})"),
        None => reason,
    };
    let key = format!("console-offboard:{}", form.nonce);
    // The admin reviewed this one person's plan and confirmed it: the job passes the
    // execution-time mass-change circuit breaker, which stops unattended runs (its steps
    // still count towards the breaker for other jobs).
    match enqueue_plan_confirmed(
        state.store(),
        &plan,
        "offboard",
        &principal.name,
        &reason,
        Some(&key),
        true,
    )
    .await
    {
        Ok(enqueued) => redirect(&headers, &format!("/jobs/{}", enqueued.id.0)),
        Err(e) => error_page(Some(&principal), &ApiError::internal(&e)),
    }
}
