//! The user management API (`https://api.atlassian.com/users/{account_id}/manage…`), served
//! under `/api/users/…`: privileges, profile, email, API tokens and the account lifecycle of
//! **managed** accounts (email on one of the org's verified domains).
//!
//! Auth is the org API key without scopes (the middleware answers scoped keys 403). Errors are
//! `{"key": …}` with a `context` where the spec requires one: `forbidden.action` carries the
//! `Manageability.Unallowed` rule, `forbidden.fieldMutation` the per-field rules, and
//! `conflict.lifecycleErrors` `{message, accountId, errorCodes:[{code,message,link}]}`.

use axum::Extension;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Table, respond, ts};
use crate::app::AppState;
use crate::auth::OrgCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, parse_json, read_body};
use crate::family::Family;
use crate::state::um_ops::ProfileUpdate;
use crate::state::{AccountIx, AccountStatus, ManagementSource, ModelError, Product, World};

const UM: Family = Family::UserManagement;
/// Where Atlassian's lifecycle errors point.
const LIFECYCLE_LINK: &str = "https://confluence.atlassian.com/x/pTgoPQ";
/// Restriction reason for accounts managed by an identity provider.
const SCIM: &str = "externalDirectory.scim";
/// The privileges `GET /manage` reports, in the spec's order.
const PRIVILEGES: [&str; 8] = [
    "profile",
    "profile.write",
    "profile.read",
    "email.set",
    "lifecycle.enablement",
    "lifecycle.delete",
    "apiToken.read",
    "apiToken.delete",
];
/// Profile fields (JSON paths) the `profile.write` privilege describes.
const PROFILE_FIELDS: [&str; 8] = [
    "name",
    "nickname",
    "zoneinfo",
    "locale",
    "extended_profile.job_title",
    "extended_profile.department",
    "extended_profile.organization",
    "extended_profile.location",
];

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![
        Table::new(UM)
            .get("/users/{account_id}/manage", privileges)
            .get("/users/{account_id}/manage/profile", get_profile)
            .patch("/users/{account_id}/manage/profile", patch_profile)
            .put("/users/{account_id}/manage/email", set_email)
            .get("/users/{account_id}/manage/api-tokens", list_api_tokens)
            .delete(
                "/users/{account_id}/manage/api-tokens/{token_id}",
                delete_api_token,
            )
            .post("/users/{account_id}/manage/lifecycle/disable", disable)
            .post("/users/{account_id}/manage/lifecycle/enable", enable)
            .post("/users/{account_id}/manage/lifecycle/delete", delete)
            .post(
                "/users/{account_id}/manage/lifecycle/cancel-delete",
                cancel_delete,
            ),
    ]
}

#[derive(Debug, Deserialize)]
struct AccountPath {
    account_id: String,
}

#[derive(Debug, Deserialize)]
struct TokenPath {
    account_id: String,
    token_id: String,
}

fn unallowed(reason: &str) -> Value {
    json!({"allowed": false, "reason": {"key": reason}})
}

fn rule(restriction: Option<&str>) -> Value {
    restriction.map_or_else(|| json!({"allowed": true}), unallowed)
}

/// 403 `forbidden.action` with the `Manageability.Unallowed` context.
fn forbidden_action(reason: &str, message: &str) -> ApiError {
    ApiError::new(UM, StatusCode::FORBIDDEN, "forbidden.action", message)
        .with_context(unallowed(reason))
}

/// 409 `conflict.lifecycleErrors`.
fn lifecycle_conflict(account_id: &str, code: &str, message: &str) -> ApiError {
    ApiError::new(
        UM,
        StatusCode::CONFLICT,
        "conflict.lifecycleErrors",
        message,
    )
    .with_context(json!({
        "message": "This account isn't eligible for the requested action.",
        "accountId": account_id,
        "errorCodes": [{"code": code, "message": message, "link": LIFECYCLE_LINK}],
    }))
}

/// 400 `fieldConstraintsViolated` naming each field and the constraints it broke.
fn field_violations(violations: &[(String, &str)]) -> ApiError {
    let mut fields: Vec<(String, Vec<&str>)> = vec![];
    for (field, key) in violations {
        match fields.iter_mut().find(|(f, _)| f == field) {
            Some((_, keys)) if !keys.contains(key) => keys.push(key),
            Some(_) => {}
            None => fields.push((field.clone(), vec![key])),
        }
    }
    let list: Vec<Value> = fields
        .iter()
        .map(|(field, keys)| {
            json!({"field": field, "violations": keys.iter().map(|k| json!({"key": k})).collect::<Vec<_>>()})
        })
        .collect();
    ApiError::new(
        UM,
        StatusCode::BAD_REQUEST,
        "fieldConstraintsViolated",
        "One or more fields are invalid.",
    )
    .with_context(json!({"fieldViolations": list}))
}

/// Maps a model refusal to this API's error, with the contexts the spec requires.
fn um_error(w: &World, ax: AccountIx, err: &ModelError) -> ApiError {
    let account_id = &w.account(ax).id;
    let message = err.to_string();
    match err {
        ModelError::AccountIdpSynced(_) => forbidden_action(SCIM, &message),
        ModelError::OrgAdmin(_) => lifecycle_conflict(account_id, "ORG_ADMIN", &message),
        ModelError::LastOrgAdmin(_) => lifecycle_conflict(account_id, "LAST_ORG_ADMIN", &message),
        ModelError::LifecycleConflict(_) => {
            let a = w.account(ax);
            let code = if a.status == AccountStatus::Closed {
                "ACCOUNT_CLOSED"
            } else if a.delete_after.is_some() {
                "ACCOUNT_PENDING_DELETION"
            } else {
                "LIFECYCLE_CONFLICT"
            };
            lifecycle_conflict(account_id, code, &message)
        }
        ModelError::Invalid(m) => {
            ApiError::new(UM, StatusCode::BAD_REQUEST, "badRequest", m.clone())
        }
        other => ApiError::from_model(UM, other),
    }
}

/// The managed account `id`: unknown (or closed) → 404 `accountNotFound`; not managed by the
/// org → 403 `forbidden.targetUnverified`.
fn managed(w: &World, id: &str) -> Result<AccountIx, ApiError> {
    let ax = w.account_ix(id).map_err(|e| ApiError::from_model(UM, &e))?;
    if w.account(ax).status == AccountStatus::Closed {
        return Err(ApiError::from_model(
            UM,
            &ModelError::NotFound {
                what: "user",
                id: id.to_owned(),
            },
        ));
    }
    if !w.is_managed(ax) {
        return Err(ApiError::from_model(
            UM,
            &ModelError::NotManaged(id.to_owned()),
        ));
    }
    Ok(ax)
}

fn synced(w: &World, ax: AccountIx) -> bool {
    w.account(ax).source == ManagementSource::Synced
}

/// `GET /users/{account_id}/manage?privileges=`: what the caller may do to the account. Every
/// privilege when none is asked for; IdP-synced accounts cannot have their profile, email or
/// activation changed here (`externalDirectory.scim`).
async fn privileges(
    State(app): State<AppState>,
    Extension(_): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
    Params(q): Params<Vec<(String, String)>>,
) -> ApiResult {
    let mut asked: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "privileges")
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| PRIVILEGES.contains(&s.as_str()))
        .collect();
    asked.dedup();
    if asked.is_empty() {
        asked = PRIVILEGES.iter().map(|s| (*s).to_owned()).collect();
    }
    let body = app.read(|w| {
        let ax = managed(w, &p.account_id)?;
        let idp = synced(w, ax).then_some(SCIM);
        let mut out = Map::new();
        for privilege in &asked {
            let value = match privilege.as_str() {
                "profile" | "profile.write" => Value::Object(
                    PROFILE_FIELDS
                        .iter()
                        .map(|f| ((*f).to_owned(), rule(idp)))
                        .collect(),
                ),
                "email.set" | "lifecycle.enablement" => rule(idp),
                _ => rule(None),
            };
            out.insert(privilege.clone(), value);
        }
        Ok::<_, ApiError>(Value::Object(out))
    })?;
    Ok(respond(StatusCode::OK, body))
}

fn profile_json(w: &World, ax: AccountIx) -> Value {
    let a = w.account(ax);
    let mut extended = Map::new();
    for (name, value) in [
        ("job_title", &a.profile.job_title),
        ("department", &a.profile.department),
        ("organization", &a.profile.organization),
        ("location", &a.profile.location),
        ("phone_number", &a.profile.phone_number),
    ] {
        if let Some(v) = value {
            extended.insert(name.to_owned(), json!(v));
        }
    }
    json!({"account": {
        "account_id": a.id,
        "account_type": a.kind.as_str(),
        "account_status": a.status.as_str(),
        "name": a.name,
        "nickname": a.nickname,
        "email": a.email.clone().unwrap_or_default(),
        "email_verified": a.email_verified,
        "picture": format!("https://avatar-management.services.atlassian.com/default/{}", a.id),
        "zoneinfo": a.profile.time_zone,
        "locale": a.locale.replace('_', "-"),
        "characteristics": {"not_mentionable": false},
        "extended_profile": extended,
    }})
}

/// `GET /users/{account_id}/manage/profile`.
async fn get_profile(
    State(app): State<AppState>,
    Extension(_): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
) -> ApiResult {
    let body = app.read(|w| managed(w, &p.account_id).map(|ax| profile_json(w, ax)))?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Default, Deserialize)]
struct ExtendedPatch {
    job_title: Option<String>,
    department: Option<String>,
    organization: Option<String>,
    location: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProfilePatch {
    name: Option<String>,
    nickname: Option<String>,
    zoneinfo: Option<String>,
    locale: Option<String>,
    extended_profile: Option<ExtendedPatch>,
}

/// Re-labels a body extraction failure with the spec's `bodyParseFailure` key.
fn body_parse_failure(mut err: ApiError) -> ApiError {
    if err.status == StatusCode::BAD_REQUEST {
        err.code = "bodyParseFailure".to_owned();
    }
    err
}

fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks the documented constraints: name at most 100 characters, nickname 1–30, no control
/// characters anywhere.
fn validate_profile(u: &ProfileUpdate) -> Vec<(String, &'static str)> {
    let mut out = vec![];
    let fields: [(&str, &Option<String>, usize, usize); 8] = [
        ("name", &u.name, 1, 100),
        ("nickname", &u.nickname, 1, 30),
        ("zoneinfo", &u.time_zone, 1, 255),
        ("locale", &u.locale, 1, 255),
        ("extended_profile.job_title", &u.job_title, 0, 255),
        ("extended_profile.department", &u.department, 0, 255),
        ("extended_profile.organization", &u.organization, 0, 255),
        ("extended_profile.location", &u.location, 0, 255),
    ];
    for (field, value, min, max) in fields {
        let Some(v) = value else { continue };
        let len = v.trim().chars().count();
        if len < min {
            out.push((field.to_owned(), "minLength"));
        }
        if len > max {
            out.push((field.to_owned(), "maxLength"));
        }
        if has_control_chars(v) {
            out.push((field.to_owned(), "validCharacters"));
        }
    }
    out
}

fn requested_fields(u: &ProfileUpdate) -> Vec<&'static str> {
    [
        ("name", &u.name),
        ("nickname", &u.nickname),
        ("zoneinfo", &u.time_zone),
        ("locale", &u.locale),
        ("extended_profile.job_title", &u.job_title),
        ("extended_profile.department", &u.department),
        ("extended_profile.organization", &u.organization),
        ("extended_profile.location", &u.location),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .map(|(f, _)| f)
    .collect()
}

/// `PATCH /users/{account_id}/manage/profile` with the fields to change → 200 with the
/// profile. IdP-synced accounts → 403 `forbidden.fieldMutation`.
async fn patch_profile(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
    body: Result<Body<ProfilePatch>, ApiError>,
) -> ApiResult {
    let Body(patch) = body.map_err(body_parse_failure)?;
    let ext = patch.extended_profile.unwrap_or_default();
    let update = ProfileUpdate {
        name: patch.name,
        nickname: patch.nickname,
        time_zone: patch.zoneinfo,
        locale: patch.locale,
        job_title: ext.job_title,
        department: ext.department,
        organization: ext.organization,
        location: ext.location,
    };
    let out = app.write(|w| {
        let ax = managed(w, &p.account_id)?;
        let violations = validate_profile(&update);
        if !violations.is_empty() {
            return Err(field_violations(&violations));
        }
        if synced(w, ax) && !update.is_empty() {
            let context: Map<String, Value> = requested_fields(&update)
                .into_iter()
                .map(|f| (f.to_owned(), unallowed(SCIM)))
                .collect();
            return Err(ApiError::new(
                UM,
                StatusCode::FORBIDDEN,
                "forbidden.fieldMutation",
                "The account is synced from an identity provider; change its profile there.",
            )
            .with_context(Value::Object(context)));
        }
        w.update_profile(caller.actor, ax, &update)
            .map_err(|e| um_error(w, ax, &e))?;
        Ok(profile_json(w, ax))
    })?;
    Ok(respond(StatusCode::OK, out))
}

#[derive(Debug, Deserialize)]
struct EmailBody {
    email: String,
}

/// `PUT /users/{account_id}/manage/email` `{email}` → 204. The new address must be on a
/// verified domain (else 403 `forbidden.unclaimedDomain`).
async fn set_email(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
    body: Result<Body<EmailBody>, ApiError>,
) -> ApiResult {
    let Body(body) = body.map_err(body_parse_failure)?;
    let email = body.email.trim().to_lowercase();
    app.write(|w| {
        let ax = managed(w, &p.account_id)?;
        if !crate::state::ops::is_plausible_email(&email) || has_control_chars(&email) {
            return Err(field_violations(&[("email".to_owned(), "validCharacters")]));
        }
        if synced(w, ax) {
            return Err(forbidden_action(
                SCIM,
                "The account is synced from an identity provider; change its email there.",
            ));
        }
        if !w.is_managed_email(&email) {
            let domain = email
                .rsplit_once('@')
                .map(|(_, d)| d.to_owned())
                .unwrap_or_default();
            return Err(ApiError::new(
                UM,
                StatusCode::FORBIDDEN,
                "forbidden.unclaimedDomain",
                format!("The domain {domain} is not verified by this organization."),
            )
            .with_context(json!({"domain": domain})));
        }
        if w.account_by_email(&email).is_some_and(|other| other != ax) {
            return Err(field_violations(&[("email".to_owned(), "unique")]));
        }
        w.set_email(caller.actor, ax, &email)
            .map_err(|e| um_error(w, ax, &e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The API tokens the model knows for an account: the integration account's site tokens (one
/// per site, id = the site's cloud id). Nobody else has tokens in the simulator.
fn tokens(w: &World, ax: AccountIx) -> Vec<Value> {
    if ax != w.integration_account() {
        return vec![];
    }
    w.sites
        .iter()
        .enumerate()
        .map(|(ix, site)| {
            let created = w
                .site_resource(ix as crate::state::SiteIx, Product::Platform)
                .map_or_else(crate::state::now, |rx| w.resource(rx).created_at);
            json!({
                "id": site.cloud_id,
                "label": format!("{} automation", site.name),
                "createdAt": ts(created),
            })
        })
        .collect()
}

/// `GET /users/{account_id}/manage/api-tokens`.
async fn list_api_tokens(
    State(app): State<AppState>,
    Extension(_): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
) -> ApiResult {
    let body = app.read(|w| managed(w, &p.account_id).map(|ax| Value::Array(tokens(w, ax))))?;
    Ok(respond(StatusCode::OK, body))
}

/// `DELETE /users/{account_id}/manage/api-tokens/{tokenId}`. The only tokens are the
/// integration account's own, which the key cannot delete (403 `administrative.notMyself`);
/// any other id → 404.
async fn delete_api_token(
    State(app): State<AppState>,
    Extension(_): Extension<OrgCaller>,
    Path(p): Path<TokenPath>,
) -> ApiResult {
    app.read(|w| {
        let ax = managed(w, &p.account_id)?;
        if tokens(w, ax).iter().any(|t| t["id"] == p.token_id.as_str()) {
            return Err(forbidden_action(
                "administrative.notMyself",
                "The token in use by this API key's owner cannot be deleted through the API key.",
            ));
        }
        Err(ApiError::new(
            UM,
            StatusCode::NOT_FOUND,
            "notFound",
            format!("No API token {} exists.", p.token_id),
        ))
    })
}

#[derive(Debug, Deserialize)]
struct DisableBody {
    message: Option<String>,
}

/// `POST /users/{account_id}/manage/lifecycle/disable` (optional `{message}`) → 204: the
/// account can no longer log in anywhere. Org admins → 409; IdP-synced accounts → 403.
async fn disable(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
    req: Request,
) -> ApiResult {
    let (_, bytes) = read_body(req, UM).await?;
    let message = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        parse_json::<DisableBody>(UM, &bytes)
            .map_err(body_parse_failure)?
            .message
    };
    app.write(|w| {
        let ax = managed(w, &p.account_id)?;
        w.deactivate(caller.actor, ax, message.as_deref())
            .map_err(|e| um_error(w, ax, &e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /users/{account_id}/manage/lifecycle/enable` → 204. A pending deletion must be
/// cancelled first (409).
async fn enable(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
) -> ApiResult {
    app.write(|w| {
        let ax = managed(w, &p.account_id)?;
        w.enable(caller.actor, ax).map_err(|e| um_error(w, ax, &e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn success() -> Response {
    respond(StatusCode::OK, json!({"message": "Success"}))
}

/// `POST /users/{account_id}/manage/lifecycle/delete` → 200 `{"message":"Success"}`: deletion
/// after a 14-day grace period, during which the account is deactivated (`for_deletion`).
/// Org admins → 409.
async fn delete(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
) -> ApiResult {
    app.write(|w| {
        let ax = managed(w, &p.account_id)?;
        w.schedule_delete(caller.actor, ax)
            .map_err(|e| um_error(w, ax, &e))
    })?;
    Ok(success())
}

/// `POST /users/{account_id}/manage/lifecycle/cancel-delete` → 200: cancels the pending
/// deletion and, as the spec says, restores and activates the account. Without a pending
/// deletion nothing changes (still 200; the spec declares no conflict here).
async fn cancel_delete(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<AccountPath>,
) -> ApiResult {
    app.write(|w| {
        let ax = managed(w, &p.account_id)?;
        if w.account(ax).delete_after.is_none() {
            return Ok(());
        }
        w.cancel_delete(caller.actor, ax)
            .map_err(|e| um_error(w, ax, &e))?;
        Ok(())
    })?;
    Ok(success())
}
