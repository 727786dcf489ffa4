//! The simulator's control API, under `/_sim`, `Authorization: Bearer <control_token>` (the
//! Atlassian credentials never work here). Errors are `{"error":"…"}`: 400 for bad input
//! (naming the field), 404 for an unknown fault id, 409 when a model rule refuses an
//! out-of-band change.
//!
//! | route | what |
//! |---|---|
//! | `GET /health` | liveness, org id, seed |
//! | `GET /ground-truth` | the whole org as the model holds it (deterministic JSON) |
//! | `GET /config`, `PUT /config` | latency, jitter, fault profile, seed, rate limits (PUT merges the given fields) |
//! | `POST /faults`, `GET /faults`, `DELETE /faults`, `DELETE /faults/{fault_id}` | scripted faults |
//! | `GET /visibility-delay`, `PUT /visibility-delay` | delay before direct role grants/revokes become visible |
//! | `POST /out-of-band` | a change made by another admin, outside the integration |
//! | `GET /counters`, `POST /counters/reset` | request counters |
//!
//! Delayed visibility applies only to **direct** role grants and revokes (`grant_role` /
//! `revoke_role` on a resource under centralized user management, whichever API or out-of-band
//! change makes them): group memberships, group roles, lifecycle and org-admin changes are
//! visible at once.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Table;
use crate::app::AppState;
use crate::auth::KeyCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::family::Family;
use crate::faults::{FaultConfig, FaultKind, FaultMatch, MAX_DELAY_MS};
use crate::state::{
    AccountIx, AccountType, Actor, DirIx, GroupIx, ModelError, ResourceIx, Role, World,
};

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![
        Table::new(Family::Control)
            .get("/health", health)
            .get("/ground-truth", ground_truth)
            .get("/config", get_config)
            .put("/config", put_config)
            .post("/faults", add_fault)
            .get("/faults", list_faults)
            .delete("/faults", clear_faults)
            .delete("/faults/{fault_id}", delete_fault)
            .get("/visibility-delay", get_visibility_delay)
            .put("/visibility-delay", put_visibility_delay)
            .post("/out-of-band", out_of_band)
            .get("/counters", get_counters)
            .post("/counters/reset", reset_counters),
    ]
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(Family::Control, message)
}

// ---- health, config, counters ---------------------------------------------------------------

async fn health(State(app): State<AppState>, Extension(_): Extension<KeyCaller>) -> Response {
    let (org_id, seed, mode) = app.read(|w| (w.org.id.clone(), w.seed, w.mode));
    ok(json!({"status": "ok", "org_id": org_id, "seed": seed, "mode": mode}))
}

async fn get_config(State(app): State<AppState>, Extension(_): Extension<KeyCaller>) -> ApiResult {
    let config = serde_json::to_value(app.faults().config()).map_err(|e| bad(e.to_string()))?;
    Ok(ok(config))
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Merges the given fields into the current settings (nested objects merge too; `"seed": null`
/// returns to the world's seed), validates, applies, and answers the new settings.
async fn put_config(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Body(patch): Body<Value>,
) -> ApiResult {
    if !patch.is_object() {
        return Err(bad(
            "The body must be a JSON object with the settings to change.",
        ));
    }
    let mut merged = serde_json::to_value(app.faults().config()).map_err(|e| bad(e.to_string()))?;
    merge(&mut merged, patch);
    let config: FaultConfig = serde_path_to_error::deserialize(merged).map_err(|e| {
        let path = e.path().to_string();
        bad(format!("Invalid value at {path}: {}", e.into_inner()))
    })?;
    config.validate().map_err(bad)?;
    app.faults().set_config(config.clone());
    Ok(ok(
        serde_json::to_value(config).map_err(|e| bad(e.to_string()))?
    ))
}

async fn get_counters(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
) -> ApiResult {
    Ok(ok(
        serde_json::to_value(app.faults().counters()).map_err(|e| bad(e.to_string()))?
    ))
}

async fn reset_counters(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
) -> Response {
    app.faults().reset_counters();
    StatusCode::NO_CONTENT.into_response()
}

// ---- scripted faults ------------------------------------------------------------------------

/// `POST /faults` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    kind: String,
    #[serde(default)]
    family: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    hold_ms: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

const KINDS: &str =
    "status, rate_limit, timeout, timeout_after_apply, reset, reset_after_apply, truncate";

fn parse_fault(
    req: FaultRequest,
    default_hold: u64,
) -> Result<(FaultMatch, FaultKind, u32), ApiError> {
    let family = match req.family.as_deref() {
        None => None,
        Some(name) => {
            let family = Family::ALL
                .into_iter()
                .find(|f| f.name() == name && *f != Family::Control);
            let names: Vec<&str> = Family::ALL
                .iter()
                .filter(|f| **f != Family::Control)
                .map(|f| f.name())
                .collect();
            Some(family.ok_or_else(|| {
                bad(format!(
                    "family {name:?} is not one of {}",
                    names.join(", ")
                ))
            })?)
        }
    };
    let method = match req.method {
        None => None,
        Some(m) => {
            let upper = m.to_ascii_uppercase();
            if upper.is_empty() || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(bad(format!("method {m:?} is not an HTTP method")));
            }
            Some(upper)
        }
    };
    for (name, value) in [("path", &req.path), ("path_prefix", &req.path_prefix)] {
        if value.as_deref().is_some_and(|p| !p.starts_with('/')) {
            return Err(bad(format!(
                "{name} must start with / (it is matched on the spec path)"
            )));
        }
    }
    let count = req.count.unwrap_or(1);
    if count == 0 {
        return Err(bad("count must be at least 1"));
    }
    let hold_ms = req.hold_ms.unwrap_or(default_hold);
    if hold_ms > MAX_DELAY_MS {
        return Err(bad(format!("hold_ms must be at most {MAX_DELAY_MS}")));
    }
    let only = |allowed: &[&str]| -> Result<(), ApiError> {
        let given = [
            ("status", req.status.is_some()),
            ("retry_after", req.retry_after.is_some()),
            ("hold_ms", req.hold_ms.is_some()),
            ("message", req.message.is_some()),
        ];
        match given
            .iter()
            .find(|(name, set)| *set && !allowed.contains(name))
        {
            Some((name, _)) => Err(bad(format!("{name} does not apply to kind {}", req.kind))),
            None => Ok(()),
        }
    };
    let kind = match req.kind.as_str() {
        "status" => {
            only(&["status", "retry_after", "message"])?;
            let status = req
                .status
                .ok_or_else(|| bad("status is required for kind status"))?;
            if !(200..=599).contains(&status) {
                return Err(bad("status must be between 200 and 599"));
            }
            FaultKind::Status {
                status,
                retry_after: req.retry_after,
                message: req.message.clone(),
            }
        }
        "rate_limit" => {
            only(&["retry_after"])?;
            let retry_after = req.retry_after.unwrap_or(1);
            if retry_after == 0 {
                return Err(bad("retry_after must be at least 1 second"));
            }
            FaultKind::RateLimit { retry_after }
        }
        "timeout" => {
            only(&["hold_ms"])?;
            FaultKind::Timeout { hold_ms }
        }
        "timeout_after_apply" => {
            only(&["hold_ms"])?;
            FaultKind::TimeoutAfterApply { hold_ms }
        }
        "reset" => {
            only(&[])?;
            FaultKind::Reset
        }
        "reset_after_apply" => {
            only(&[])?;
            FaultKind::ResetAfterApply
        }
        "truncate" => {
            only(&[])?;
            FaultKind::Truncate
        }
        other => return Err(bad(format!("kind {other:?} is not one of {KINDS}"))),
    };
    let matcher = FaultMatch {
        family,
        method,
        path: req.path,
        path_prefix: req.path_prefix,
    };
    Ok((matcher, kind, count))
}

async fn add_fault(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Body(req): Body<FaultRequest>,
) -> ApiResult {
    let (matcher, kind, count) = parse_fault(req, app.faults().config().timeout_ms)?;
    let script = app.faults().add_script(matcher, kind, count);
    let body = serde_json::to_value(script).map_err(|e| bad(e.to_string()))?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn list_faults(State(app): State<AppState>, Extension(_): Extension<KeyCaller>) -> ApiResult {
    let scripts = serde_json::to_value(app.faults().scripts()).map_err(|e| bad(e.to_string()))?;
    Ok(ok(json!({"faults": scripts})))
}

async fn clear_faults(State(app): State<AppState>, Extension(_): Extension<KeyCaller>) -> Response {
    let removed = app.faults().clear_scripts();
    ok(json!({"removed": removed}))
}

#[derive(Debug, Deserialize)]
struct FaultPath {
    fault_id: String,
}

async fn delete_fault(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(path): Path<FaultPath>,
) -> ApiResult {
    if app.faults().remove_script(&path.fault_id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(
            Family::Control,
            format!("No scripted fault {} is pending.", path.fault_id),
        ))
    }
}

// ---- visibility delay -----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayRequest {
    ms: u64,
}

async fn get_visibility_delay(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
) -> Response {
    let (ms, pending) = app.read(|w| (w.visibility_delay_ms, w.deferred.len()));
    ok(json!({"ms": ms, "pending": pending}))
}

async fn put_visibility_delay(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Body(req): Body<DelayRequest>,
) -> ApiResult {
    if req.ms > MAX_DELAY_MS {
        return Err(bad(format!("ms must be at most {MAX_DELAY_MS}")));
    }
    app.write(|w| w.visibility_delay_ms = req.ms);
    Ok(ok(json!({"ms": req.ms})))
}

// ---- out-of-band changes --------------------------------------------------------------------

/// `POST /out-of-band` body: `op` and the fields that op needs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfBandRequest {
    op: String,
    #[serde(default)]
    actor_email: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    directory_id: Option<String>,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

const OPS: &str = "grant_role, revoke_role, add_member, remove_member, grant_group_role, revoke_group_role, \
                   create_group, delete_group, suspend, restore, deactivate, enable, set_last_active";

fn model_error(err: ModelError) -> ApiError {
    let status = match err {
        ModelError::NotFound { .. }
        | ModelError::Invalid(_)
        | ModelError::RoleNotAllowed { .. }
        | ModelError::WrongAccountType(..) => StatusCode::BAD_REQUEST,
        _ => StatusCode::CONFLICT,
    };
    ApiError::new(Family::Control, status, "", err.to_string())
}

fn required<'a>(value: &'a Option<String>, field: &str, op: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .ok_or_else(|| bad(format!("{field} is required for op {op}")))
}

/// The admin making the change: `actor_email`, or the first active org admin other than the
/// integration account.
fn pick_actor(w: &World, email: Option<&str>) -> Result<AccountIx, ApiError> {
    if let Some(email) = email {
        return w
            .account_by_email(email)
            .ok_or_else(|| bad(format!("actor_email: no account has the email {email}")));
    }
    let integration = w.integration_account();
    (0..w.accounts.len() as AccountIx)
        .find(|ax| {
            let a = w.account(*ax);
            *ax != integration && a.org_admin && a.kind == AccountType::Atlassian && w.composite_status(*ax) == "active"
        })
        .ok_or_else(|| {
            bad("The org has no active org admin besides the integration account; name one with actor_email.")
        })
}

fn parse_role(value: &Option<String>, op: &str) -> Result<Role, ApiError> {
    let id = required(value, "role", op)?;
    Role::from_id(id).ok_or_else(|| {
        bad(format!(
            "role {id:?} is not a known role id (e.g. atlassian/user)"
        ))
    })
}

fn account(w: &World, value: &Option<String>, op: &str) -> Result<AccountIx, ApiError> {
    w.account_ix(required(value, "account_id", op)?)
        .map_err(model_error)
}

fn group(w: &World, value: &Option<String>, op: &str) -> Result<GroupIx, ApiError> {
    w.group_ix(required(value, "group_id", op)?)
        .map_err(model_error)
}

fn resource(w: &World, value: &Option<String>, op: &str) -> Result<ResourceIx, ApiError> {
    w.resource_ix(required(value, "resource", op)?)
        .map_err(model_error)
}

/// The directories an account-level op applies to: `directory_id`, else every directory the
/// account belongs to.
fn directories(
    w: &World,
    ax: AccountIx,
    directory_id: &Option<String>,
) -> Result<Vec<DirIx>, ApiError> {
    match directory_id {
        Some(id) => Ok(vec![w.directory_ix(id).map_err(model_error)?]),
        None => {
            let dirs: Vec<DirIx> = w.account(ax).directories.keys().copied().collect();
            if dirs.is_empty() {
                return Err(bad(format!(
                    "Account {} is in no directory.",
                    w.account(ax).id
                )));
            }
            Ok(dirs)
        }
    }
}

fn apply_out_of_band(w: &mut World, req: &OutOfBandRequest) -> Result<Value, ApiError> {
    let op = req.op.as_str();
    let actor = pick_actor(w, req.actor_email.as_deref())?;
    let events_before = w.events.len();
    let mut extra = json!({});
    let changed = match op {
        "grant_role" | "revoke_role" => {
            let ax = account(w, &req.account_id, op)?;
            let role = parse_role(&req.role, op)?;
            if role == Role::OrgAdmin && req.resource.is_none() {
                if op == "grant_role" {
                    w.grant_org_admin(actor, ax)
                } else {
                    w.revoke_org_admin(actor, ax)
                }
            } else {
                let rx = resource(w, &req.resource, op)?;
                if op == "grant_role" {
                    w.grant_role(actor, ax, rx, role)
                } else {
                    w.revoke_role(actor, ax, rx, role)
                }
            }
            .map_err(model_error)?
        }
        "add_member" | "remove_member" => {
            let gx = group(w, &req.group_id, op)?;
            let ax = account(w, &req.account_id, op)?;
            if op == "add_member" {
                w.add_member(actor, gx, ax)
            } else {
                w.remove_member(actor, gx, ax)
            }
            .map_err(model_error)?
        }
        "grant_group_role" | "revoke_group_role" => {
            let gx = group(w, &req.group_id, op)?;
            let rx = resource(w, &req.resource, op)?;
            let role = parse_role(&req.role, op)?;
            if op == "grant_group_role" {
                w.grant_group_role(actor, gx, rx, role)
            } else {
                w.revoke_group_role(actor, gx, rx, role)
            }
            .map_err(model_error)?
        }
        "create_group" => {
            let name = required(&req.name, "name", op)?;
            let dir = match &req.directory_id {
                Some(id) => w.directory_ix(id).map_err(model_error)?,
                None => 0,
            };
            let gx = w
                .create_group(actor, dir, name, req.description.as_deref().unwrap_or(""))
                .map_err(model_error)?;
            extra = json!({"group_id": w.group(gx).id});
            true
        }
        "delete_group" => {
            let gx = group(w, &req.group_id, op)?;
            w.delete_group(actor, gx).map_err(model_error)?;
            true
        }
        "suspend" | "restore" => {
            let ax = account(w, &req.account_id, op)?;
            let mut changed = false;
            for dir in directories(w, ax, &req.directory_id)? {
                changed |= if op == "suspend" {
                    w.suspend(actor, dir, ax)
                } else {
                    w.restore(actor, dir, ax)
                }
                .map_err(model_error)?;
            }
            changed
        }
        "deactivate" => {
            let ax = account(w, &req.account_id, op)?;
            w.deactivate(actor, ax, None).map_err(model_error)?
        }
        "enable" => {
            let ax = account(w, &req.account_id, op)?;
            w.enable(actor, ax).map_err(model_error)?
        }
        "set_last_active" => {
            let ax = account(w, &req.account_id, op)?;
            let rx = resource(w, &req.resource, op)?;
            let at = req.at.unwrap_or_else(crate::state::now);
            // Product activity, not an admin change: no audit event.
            w.accounts[ax as usize].last_active.insert(rx, at) != Some(at)
        }
        other => return Err(bad(format!("op {other:?} is not one of {OPS}"))),
    };
    let a = w.account(actor);
    let events: Vec<Value> = w.events[events_before..]
        .iter()
        .map(|e| {
            json!({"id": e.id, "action": e.action, "time": e.time, "actor": {"id": e.actor.id, "name": e.actor.name}})
        })
        .collect();
    let mut body = json!({
        "op": op,
        "changed": changed,
        "actor": {"account_id": a.id, "email": a.email, "name": a.name},
        "events": events,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Ok(body)
}

async fn out_of_band(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Body(req): Body<OutOfBandRequest>,
) -> ApiResult {
    let body = app.write(|w| apply_out_of_band(w, &req))?;
    Ok(ok(body))
}

// ---- ground truth ---------------------------------------------------------------------------

async fn ground_truth(State(app): State<AppState>, Extension(_): Extension<KeyCaller>) -> Response {
    ok(app.read(truth))
}

fn actor_json(w: &World, actor: &Actor) -> Value {
    match actor {
        Actor::User(ax) => json!({"type": "user", "id": w.account(*ax).id}),
        Actor::Group(gx) => {
            json!({"type": "group", "id": w.group(*gx).id, "name": w.group(*gx).name})
        }
    }
}

/// The whole org as the model holds it, in index order (deterministic for a given world).
fn truth(w: &World) -> Value {
    let site_name = |ix: Option<u16>| ix.map(|s| w.site(s).name.clone());
    let ari = |rx: ResourceIx| w.resource(rx).ari();
    let directories: Vec<Value> = w
        .directories
        .iter()
        .map(|d| json!({"id": d.id, "name": d.name, "site": site_name(d.site)}))
        .collect();
    let sites: Vec<Value> = w
        .sites
        .iter()
        .map(|s| json!({"name": s.name, "cloud_id": s.cloud_id}))
        .collect();
    let resources: Vec<Value> = w
        .resources
        .iter()
        .enumerate()
        .map(|(rx, r)| {
            json!({
                "ari": r.ari(),
                "product": r.product.key(),
                "site": site_name(r.site),
                "name": r.name,
                "plan": r.plan,
                "seats": r.seats,
                "seats_used": w.seats_used(rx as ResourceIx),
            })
        })
        .collect();
    let accounts: Vec<Value> = w
        .accounts
        .iter()
        .enumerate()
        .map(|(ax, a)| {
            let ax = ax as AccountIx;
            let roles: Vec<Value> = w
                .role_assignments(ax)
                .into_iter()
                .map(|((rx, role), methods)| json!({"resource": ari(rx), "role": role.id(), "methods": methods}))
                .collect();
            let dirs: Vec<Value> = a
                .directories
                .iter()
                .map(|(d, m)| json!({"id": w.directories[*d as usize].id, "membership": m}))
                .collect();
            let last_active: serde_json::Map<String, Value> =
                a.last_active.iter().map(|(rx, at)| (ari(*rx), json!(at))).collect();
            json!({
                "account_id": a.id,
                "email": a.email,
                "name": a.name,
                "type": a.kind.as_str(),
                "account_status": a.status.as_str(),
                "status": w.composite_status(ax),
                "managed": w.is_managed(ax),
                "org_admin": a.org_admin,
                "source": a.source,
                "directories": dirs,
                "roles": roles,
                "groups": a.groups.iter().map(|g| w.group(*g).id.clone()).collect::<Vec<_>>(),
                "last_active": last_active,
                "deactivated_on": a.deactivated_on,
                "delete_after": a.delete_after,
                "customer_site": site_name(a.customer_site),
            })
        })
        .collect();
    let groups: Vec<Value> = w
        .live_groups()
        .map(|(_, g)| {
            json!({
                "id": g.id,
                "name": g.name,
                "directory": w.directories[g.directory as usize].id,
                "external": g.external,
                "protected": g.protected,
                "default_for": g.default_for.map(|(rx, role)| json!({"resource": ari(rx), "role": role.id()})),
                "roles": g.roles.iter().map(|(rx, role)| json!({"resource": ari(*rx), "role": role.id()})).collect::<Vec<_>>(),
                "members": g.members.iter().map(|m| w.account(*m).id.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let sp = &w.statuspage;
    let sp_resource = w.statuspage_resource();
    let statuspage = json!({
        "organization_id": sp.organization_id,
        "pages": sp.pages.iter().map(|p| json!({"id": p.id, "name": p.name, "subdomain": p.subdomain, "rbac": p.rbac})).collect::<Vec<_>>(),
        "members": sp.members.iter().map(|(ax, m)| {
            let roles: Vec<&str> = sp_resource
                .map(|rx| [Role::Admin, Role::User].into_iter().filter(|r| w.holds(*ax, rx, *r)).map(Role::id).collect())
                .unwrap_or_default();
            json!({
                "account_id": w.account(*ax).id,
                "email": w.account(*ax).email,
                "user_id": m.id,
                "roles": roles,
                "pages": m.pages.iter().map(|(page, p)| json!({
                    "page_id": page,
                    "page_configuration": p.page_configuration,
                    "incident_manager": p.incident_manager,
                    "maintenance_manager": p.maintenance_manager,
                })).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    });
    let ids = |set: &std::collections::BTreeSet<AccountIx>| {
        set.iter()
            .map(|a| w.account(*a).id.clone())
            .collect::<Vec<_>>()
    };
    let jsm: Vec<Value> = w
        .sites
        .iter()
        .map(|s| {
            json!({
                "site": s.name,
                "service_desks": s.service_desks.iter().map(|d| json!({
                    "id": d.id,
                    "project_id": d.project_id,
                    "project_key": d.project_key,
                    "closed_access": d.closed_access,
                    "customers": ids(&d.customers),
                    "organizations": d.organizations,
                })).collect::<Vec<_>>(),
                "organizations": s.jsm_orgs.iter().filter(|o| !o.deleted).map(|o| json!({
                    "id": o.id, "name": o.name, "members": ids(&o.members),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let confluence: Vec<Value> = w
        .sites
        .iter()
        .map(|s| {
            json!({
                "site": s.name,
                "spaces": s.spaces.iter().map(|sp| json!({
                    "id": sp.id,
                    "key": sp.key,
                    "name": sp.name,
                    "type": sp.kind,
                    "permissions": sp.permissions.iter().map(|p| json!({
                        "id": p.id,
                        "principal": actor_json(w, &p.principal),
                        "operation": p.operation,
                        "target": p.target,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let jira: Vec<Value> = w
        .sites
        .iter()
        .map(|s| {
            json!({
                "site": s.name,
                "projects": s.projects.iter().map(|p| {
                    let actors: serde_json::Map<String, Value> = p.role_actors.iter().map(|(role, actors)| {
                        (role.to_string(), Value::Array(actors.iter().map(|a| actor_json(w, a)).collect()))
                    }).collect();
                    json!({"id": p.id, "key": p.key, "name": p.name, "type_key": p.type_key, "role_actors": actors})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "org": {"id": w.org.id, "name": w.org.name, "domains": w.org.domains, "paid": w.org.paid, "mode": w.mode, "seed": w.seed},
        "directories": directories,
        "sites": sites,
        "resources": resources,
        "accounts": accounts,
        "groups": groups,
        "statuspage": statuspage,
        "jsm": jsm,
        "confluence": confluence,
        "jira": jira,
        "pending_role_changes": w.deferred.len(),
    })
}
