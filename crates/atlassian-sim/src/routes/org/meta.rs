//! Org API: orgs, directories, workspaces and the audit log (reference §3.1, §3.2, §3.8, §3.9;
//! spec `admin-organization.2026-08-21.json`).
//!
//! - `GET /v1/orgs`, `GET /v1/orgs/{orgId}`: v1 shapes, `links` are full URLs.
//! - `GET /v2/orgs/{orgId}/directories`: opaque cursors.
//! - `POST /v2/orgs/{orgId}/workspaces`: every product of every site plus Statuspage (the
//!   `platform` resources are not workspaces). `hostUrl` is the site URL for site products and
//!   the simulator's Statuspage API base for Statuspage. Paging is cursor-only: a body with
//!   `cursor` and any other property is a 400. Errors use the unwrapped `ApplicationError`.
//! - Events come from [`World::events`], which every model mutation appends to, whichever API
//!   made it. `/events` lists newest first with filters; `/events-stream` lists by processing
//!   order (ascending by default) and, ascending, always returns a `next` cursor so a client can
//!   poll for new events from the last page. Cursors mark a position in the append-only log, so
//!   new events never shift a page. Every event is located at the simulator's one client IP
//!   (`203.0.113.10`), placed in Sydney, Australia (invented, so the `location` filter works).
//! - A wrong `orgId` is 404 `ADMIN-404-2` where the spec declares a 404, else the gateway's 401
//!   (`{"code":401,"message":"Unauthorized; scope does not match"}`), as a key of another org gets.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[cfg(test)]
use super::common::invalid_cursor;
use super::common::{
    OptionalJson, check_org, decode_cursor, encode_cursor, page_links, page_size, too_many,
};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult, json_response, proxy_error};
use crate::family::Family;
#[cfg(test)]
use crate::paging::Cursor;
use crate::paging::window;
use crate::routes::{Table, split_list, ts};
use crate::state::{DirIx, Event, Product, ResourceIx, World};

/// Routes of this part of the Org API.
pub fn table() -> Table {
    Table::new(Family::Org)
        .get("/v1/orgs", list_orgs)
        .get("/v1/orgs/{org_id}", get_org)
        .get("/v2/orgs/{org_id}/directories", list_directories)
        .post("/v2/orgs/{org_id}/workspaces", workspaces)
        .get("/v1/orgs/{org_id}/events", list_events)
        .get("/v1/orgs/{org_id}/events-stream", events_stream)
        .get("/v1/orgs/{org_id}/events/{event_id}", get_event)
        .get("/v1/orgs/{org_id}/event-actions", event_actions)
}

#[derive(Debug, Deserialize)]
struct OrgPath {
    org_id: String,
}

#[derive(Debug, Deserialize)]
struct EventPath {
    org_id: String,
    event_id: String,
}

/// The gateway's answer to a key used on an org it does not belong to (for operations whose
/// spec declares no 404).
fn foreign_org() -> Response {
    proxy_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized; scope does not match",
    )
}

// ---- orgs ----------------------------------------------------------------------------------

fn org_json(w: &World, api: &str) -> Value {
    let id = &w.org.id;
    json!({
        "id": id,
        "type": "orgs",
        "attributes": {"name": w.org.name},
        "relationships": {
            "domains": {"links": {"related": format!("{api}/admin/v1/orgs/{id}/domains")}},
            "users": {"links": {"related": format!("{api}/admin/v1/orgs/{id}/users")}},
        },
        "links": {"self": format!("{api}/admin/v1/orgs/{id}")},
    })
}

#[derive(Debug, Default, Deserialize)]
struct OrgsParams {
    cursor: Option<String>,
}

/// `GET /v1/orgs`: the one org the key belongs to.
async fn list_orgs(
    State(app): State<AppState>,
    crate::extract::Params(params): crate::extract::Params<OrgsParams>,
) -> ApiResult {
    let offset = match params.cursor.as_deref() {
        None => 0,
        Some(token) => decode_cursor::<Value>(token, "orgs", "").map(|(offset, _, _)| offset)?,
    };
    let api = app.api_url();
    let body = app.read(|w| {
        let data: Vec<Value> = if offset == 0 {
            vec![org_json(w, &api)]
        } else {
            vec![]
        };
        json!({"data": data, "links": {"self": format!("{api}/admin/v1/orgs")}})
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /v1/orgs/{orgId}`.
async fn get_org(State(app): State<AppState>, Path(p): Path<OrgPath>) -> ApiResult {
    let api = app.api_url();
    let body = app.read(|w| {
        check_org(w, &p.org_id)?;
        Ok::<_, ApiError>(json!({"data": org_json(w, &api)}))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

// ---- directories ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirParams {
    account_id: Option<String>,
    #[serde(default)]
    directory_ids: Vec<String>,
    search_term: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DirQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    directory_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search_term: Option<String>,
}

/// `GET /v2/orgs/{orgId}/directories`.
async fn list_directories(
    State(app): State<AppState>,
    Path(p): Path<OrgPath>,
    crate::extract::Params(params): crate::extract::Params<DirParams>,
) -> ApiResult {
    let (query, offset, limit) = match &params.cursor {
        Some(token) => {
            let (offset, limit, query) =
                decode_cursor::<DirQuery>(token, "directories", &p.org_id)?;
            (query, offset, limit.min(100))
        }
        None => {
            let limit = page_size(params.limit, 20, 100)?;
            let directory_ids = split_list(&params.directory_ids);
            if directory_ids.len() > 10 {
                return Err(too_many("directoryIds", 10));
            }
            (
                DirQuery {
                    account_id: params.account_id,
                    directory_ids,
                    search_term: params.search_term,
                },
                0,
                limit,
            )
        }
    };
    let body = app.read(|w| {
        if w.org.id != p.org_id {
            return None;
        }
        let account = query.account_id.as_deref().map(|id| w.account_ix(id).ok());
        let term = query
            .search_term
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let found: Vec<Value> = w
            .directories
            .iter()
            .enumerate()
            .filter(|(ix, d)| {
                (query.directory_ids.is_empty() || query.directory_ids.contains(&d.id))
                    && term
                        .as_ref()
                        .is_none_or(|t| d.name.to_lowercase().contains(t))
                    && match account {
                        None => true,
                        Some(None) => false,
                        Some(Some(ax)) => w.account(ax).directories.contains_key(&(*ix as DirIx)),
                    }
            })
            .map(|(_, d)| json!({"directoryId": d.id, "name": d.name}))
            .collect();
        let range = window(found.len(), offset, limit);
        let links = page_links("directories", &p.org_id, offset, limit, found.len(), &query);
        Some(json!({"data": found[range].to_vec(), "links": links}))
    });
    ok_or_foreign(body)
}

// ---- workspaces ----------------------------------------------------------------------------

/// The unwrapped `ApplicationError` body the workspaces operation answers errors with.
fn application_error(err: &ApiError) -> Response {
    json_response(
        err.status,
        &json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "status": err.status.as_u16().to_string(),
            "code": err.code,
            "title": err.status.canonical_reason().unwrap_or("Error"),
            "detail": err.message,
        }),
    )
}

/// One sort field of the workspaces body.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SortField {
    field: Option<String>,
    order: Option<String>,
}

/// `SearchWorkspacesRequestV2`.
#[derive(Debug, Default, Deserialize)]
struct WorkspacesBody {
    cursor: Option<String>,
    limit: Option<i64>,
    query: Option<Value>,
    sort: Option<Vec<SortField>>,
}

/// What a workspaces cursor carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WorkspaceQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sort: Vec<(String, bool)>,
}

/// A workspace, as the query language sees it.
struct Workspace {
    rx: ResourceIx,
    id: String,
    name: String,
    type_name: &'static str,
    type_key: &'static str,
    host_url: String,
    created_at: String,
}

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::new(
        Family::Org,
        StatusCode::BAD_REQUEST,
        "ADMIN-400-24",
        message,
    )
}

/// The value of a query/sort field name, `None` when the field is unknown.
fn ws_field<'a>(ws: &'a Workspace, name: &str) -> Option<&'a str> {
    Some(match name.strip_prefix("attributes.").unwrap_or(name) {
        "id" => &ws.id,
        "name" => &ws.name,
        "type" => ws.type_name,
        "typeKey" => ws.type_key,
        "hostUrl" => &ws.host_url,
        "status" => "online",
        "createdAt" => &ws.created_at,
        _ => return None,
    })
}

const WS_FIELDS: &str = "id, attributes.name, attributes.type, attributes.typeKey, attributes.hostUrl, attributes.status, attributes.createdAt";

/// Checks the structure of a workspaces `query` (the spec's `QueryVariants`).
fn validate_ws_query(q: &Value) -> Result<(), ApiError> {
    let probe = Workspace {
        rx: 0,
        id: String::new(),
        name: String::new(),
        type_name: "",
        type_key: "",
        host_url: String::new(),
        created_at: String::new(),
    };
    let obj = match q {
        Value::Null => return Ok(()),
        Value::Object(o) => o,
        _ => return Err(invalid_body("query must be an object.")),
    };
    for (key, value) in obj {
        match key.as_str() {
            "and" | "nor" => {
                let Some(items) = value.as_array() else {
                    return Err(invalid_body(format!("query.{key} must be an array.")));
                };
                items.iter().try_for_each(validate_ws_query)?;
            }
            "field" => {
                let name = value.get("name").and_then(Value::as_str).unwrap_or("");
                if ws_field(&probe, name).is_none() {
                    return Err(invalid_body(format!(
                        "Unknown workspace field {name:?}; use one of {WS_FIELDS}."
                    )));
                }
                let values = value.get("values");
                if values.is_some_and(|v| {
                    !v.is_null() && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                }) {
                    return Err(invalid_body(
                        "query.field.values must be an array of strings.",
                    ));
                }
            }
            "searchWorkspaces" | "value" => {
                if !value.is_string() && !value.is_null() {
                    return Err(invalid_body(format!("query.{key} must be a string.")));
                }
            }
            "features" | "policies" => {
                if !value.is_null()
                    && !value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_string))
                {
                    return Err(invalid_body(format!(
                        "query.{key} must be an array of strings."
                    )));
                }
            }
            other => return Err(invalid_body(format!("Unknown query operator {other}."))),
        }
    }
    Ok(())
}

/// Evaluates a validated query against one workspace.
fn ws_matches(q: &Value, ws: &Workspace) -> bool {
    let Some(obj) = q.as_object() else {
        return true;
    };
    obj.iter().all(|(key, value)| match key.as_str() {
        "and" => value
            .as_array()
            .is_none_or(|items| items.iter().all(|i| ws_matches(i, ws))),
        "nor" => value
            .as_array()
            .is_none_or(|items| !items.iter().any(|i| ws_matches(i, ws))),
        "field" => {
            let name = value.get("name").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = value
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            values.is_empty()
                || ws_field(ws, name)
                    .is_some_and(|actual| values.iter().any(|v| v.eq_ignore_ascii_case(actual)))
        }
        "searchWorkspaces" | "value" => value.as_str().is_none_or(|text| {
            let text = text.to_lowercase();
            ws.name.to_lowercase().contains(&text) || ws.host_url.to_lowercase().contains(&text)
        }),
        // No simulated workspace has features or policies.
        "features" | "policies" => value.as_array().is_none_or(Vec::is_empty),
        _ => false,
    })
}

fn workspace_list(w: &World, app: &AppState) -> Vec<Workspace> {
    w.resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.product != Product::Platform)
        .map(|(rx, r)| {
            let host_url = match r.site {
                Some(site) => app.site_url(&w.site(site).name),
                None => app.statuspage_url(),
            };
            Workspace {
                rx: rx as ResourceIx,
                id: r.ari(),
                name: r.name.clone(),
                type_name: if r.product.is_jira_family() {
                    "jira"
                } else {
                    r.product.key()
                },
                type_key: r.product.key(),
                host_url,
                created_at: ts(r.created_at),
            }
        })
        .collect()
}

fn workspace_json(w: &World, api: &str, ws: &Workspace) -> Value {
    let r = w.resource(ws.rx);
    json!({
        "id": ws.id,
        "type": "workspaces",
        "attributes": {
            "name": ws.name,
            "typeKey": ws.type_key,
            "type": ws.type_name,
            "owner": w.org.id,
            "status": "online",
            "statusDetails": [],
            "icons": {},
            "avatars": {},
            "labels": [],
            "sandbox": {"type": "NONE"},
            "capacity": r.seats,
            "createdAt": ws.created_at,
            "hostUrl": ws.host_url,
            "realm": "us",
            "regions": ["us-east-1"],
        },
        "links": {"self": format!("{api}/admin/v2/orgs/{}/workspaces/{}", w.org.id, ws.id)},
        "relationships": {
            "entitlement": [{
                "id": format!("{}:{}", r.cloud_id, ws.type_key),
                "type": "entitlement",
                "attributes": {"key": ws.type_key, "plan": r.plan, "planKey": r.plan.to_lowercase()},
            }],
        },
    })
}

fn workspaces_query(body: Option<Value>) -> Result<(WorkspaceQuery, usize, usize), ApiError> {
    let body = match body {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(invalid_body("The request body must be a JSON object.")),
    };
    let has_cursor = body.get("cursor").is_some_and(|c| !c.is_null());
    if has_cursor
        && body
            .as_object()
            .is_some_and(|o| o.iter().any(|(k, v)| k != "cursor" && !v.is_null()))
    {
        return Err(invalid_body(
            "When a cursor is provided in the request body, no other properties may be present.",
        ));
    }
    let parsed: WorkspacesBody = serde_path_to_error::deserialize(&body).map_err(|e| {
        let path = e.path().to_string();
        invalid_body(format!("Invalid value at {path}: {}", e.into_inner()))
    })?;
    if let Some(token) = parsed.cursor {
        let (offset, limit, query) = decode_cursor::<WorkspaceQuery>(&token, "workspaces", "")?;
        return Ok((query, offset, limit.min(1000)));
    }
    let limit = match parsed.limit {
        None => 20,
        Some(n) if n < 1 => return Err(invalid_body("limit must be between 1 and 1000.")),
        Some(n) => (n as usize).min(1000),
    };
    if let Some(q) = &parsed.query {
        validate_ws_query(q)?;
    }
    let probe = Workspace {
        rx: 0,
        id: String::new(),
        name: String::new(),
        type_name: "",
        type_key: "",
        host_url: String::new(),
        created_at: String::new(),
    };
    let mut sort = vec![];
    for s in parsed.sort.unwrap_or_default() {
        let field = s.field.unwrap_or_default();
        if ws_field(&probe, &field).is_none() {
            return Err(invalid_body(format!(
                "Cannot sort by {field:?}; use one of {WS_FIELDS}."
            )));
        }
        let desc = match s.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(invalid_body(format!(
                    "Sort order {other} is not asc or desc."
                )));
            }
        };
        sort.push((field, desc));
    }
    Ok((
        WorkspaceQuery {
            query: parsed.query.filter(|q| !q.is_null()),
            sort,
        },
        0,
        limit,
    ))
}

/// `POST /v2/orgs/{orgId}/workspaces`.
async fn workspaces(
    State(app): State<AppState>,
    Path(p): Path<OrgPath>,
    body: Result<OptionalJson<Value>, ApiError>,
) -> Response {
    let result = body
        .map_err(|mut e| {
            if e.status == StatusCode::BAD_REQUEST {
                e.code = "ADMIN-400-24".to_owned();
            }
            e
        })
        .and_then(|OptionalJson(body)| workspaces_query(body))
        .and_then(|(query, offset, limit)| {
            let api = app.api_url();
            app.read(|w| {
                check_org(w, &p.org_id)?;
                let mut found: Vec<Workspace> = workspace_list(w, &app)
                    .into_iter()
                    .filter(|ws| query.query.as_ref().is_none_or(|q| ws_matches(q, ws)))
                    .collect();
                for (field, desc) in query.sort.iter().rev() {
                    found.sort_by(|a, b| {
                        let ord = ws_field(a, field).cmp(&ws_field(b, field));
                        if *desc { ord.reverse() } else { ord }
                    });
                }
                let total = found.len();
                let range = window(total, offset, limit);
                let (start, end) = if range.is_empty() { (None, None) } else { (Some(range.start), Some(range.end - 1)) };
                let data: Vec<Value> = found[range].iter().map(|ws| workspace_json(w, &api, ws)).collect();
                Ok(json!({
                    "data": data,
                    "links": page_links("workspaces", "", offset, limit, total, &query),
                    "meta": {"pageSize": limit, "startIndex": start, "endIndex": end, "total": total},
                }))
            })
        });
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => application_error(&e),
    }
}

// ---- events --------------------------------------------------------------------------------

/// City, region and country the simulator places its one client IP in.
const GEO: (&str, &str, &str) = ("Sydney", "New South Wales", "Australia");

/// Action keys the model records, with display names (the `event-actions` list). Actions
/// recorded by other code paths and not listed here are added from the log with a name derived
/// from the key.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("user_invited", "Invited user", "User management"),
    ("user_granted_role", "Granted user a role", "Product access"),
    (
        "user_revoked_role",
        "Revoked role from user",
        "Product access",
    ),
    (
        "org_admin_granted",
        "Granted organization admin",
        "Organization",
    ),
    (
        "org_admin_revoked",
        "Revoked organization admin",
        "Organization",
    ),
    (
        "user_added_to_group",
        "Added user to group",
        "Group management",
    ),
    (
        "user_removed_from_group",
        "Removed user from group",
        "Group management",
    ),
    ("group_created", "Created group", "Group management"),
    ("group_deleted", "Deleted group", "Group management"),
    (
        "group_granted_role",
        "Granted group a role",
        "Product access",
    ),
    (
        "group_revoked_role",
        "Revoked role from group",
        "Product access",
    ),
    ("user_suspended", "Suspended user access", "User management"),
    ("user_restored", "Restored user access", "User management"),
    (
        "user_removed_from_directory",
        "Removed user from directory",
        "User management",
    ),
    (
        "user_deactivated",
        "Deactivated account",
        "Account lifecycle",
    ),
    (
        "user_reactivated",
        "Reactivated account",
        "Account lifecycle",
    ),
    (
        "user_deletion_scheduled",
        "Scheduled account deletion",
        "Account lifecycle",
    ),
    (
        "user_deletion_cancelled",
        "Cancelled account deletion",
        "Account lifecycle",
    ),
    (
        "jsm_customer_created",
        "Created portal-only customer",
        "Jira Service Management",
    ),
];

fn humanize(action: &str) -> String {
    let text = action.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The products (`product` filter values) an event concerns.
fn event_products(ev: &Event) -> Vec<&'static str> {
    let mut out = vec![];
    for (id, kind) in ev.context.iter().chain(&ev.container) {
        let product = match kind.as_str() {
            "resources" => id
                .strip_prefix("ari:cloud:")
                .and_then(|rest| rest.split(':').next())
                .and_then(Product::from_key)
                .and_then(|p| match p {
                    p if p.is_jira_family() => Some("jira"),
                    Product::Confluence => Some("confluence"),
                    _ => None,
                }),
            _ => None,
        };
        out.extend(product);
    }
    if ev.action.starts_with("jira") || ev.action.starts_with("jsm") {
        out.push("jira");
    }
    if ev.action.starts_with("confluence") || ev.action.starts_with("space") {
        out.push("confluence");
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// One `location` filter entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationFilter {
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    country_name: Option<String>,
}

/// The normalized `/events` filters (what its cursor carries).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EventQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    actor: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    product: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    location: Vec<LocationFilter>,
    /// Stream only: newest first.
    #[serde(default)]
    desc: bool,
}

impl EventQuery {
    fn matches(&self, w: &World, ev: &Event) -> bool {
        let ms = ev.time.timestamp_millis();
        if self.from.is_some_and(|from| ms < from) || self.to.is_some_and(|to| ms > to) {
            return false;
        }
        if self
            .action
            .as_ref()
            .is_some_and(|a| !a.split(',').any(|a| a.trim() == ev.action))
        {
            return false;
        }
        if !self.actor.is_empty() && !self.actor.contains(&ev.actor.id) {
            return false;
        }
        if !self.ip.is_empty() && !self.ip.contains(&ev.ip) {
            return false;
        }
        if !self.product.is_empty()
            && !event_products(ev)
                .iter()
                .any(|p| self.product.iter().any(|q| q == p))
        {
            return false;
        }
        if !self.location.is_empty()
            && !self.location.iter().any(|l| {
                l.city
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case(GEO.0))
                    && l.country_name
                        .as_deref()
                        .is_none_or(|c| c.eq_ignore_ascii_case(GEO.2))
            })
        {
            return false;
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            let hit = |s: &str| s.to_lowercase().contains(&q);
            let names = ev.context.iter().chain(&ev.container).any(|(id, kind)| {
                hit(id)
                    || match kind.as_str() {
                        "users" => w.account_ix(id).is_ok_and(|ax| {
                            let a = w.account(ax);
                            hit(&a.name) || a.email.as_deref().is_some_and(hit)
                        }),
                        "groups" => match w.group_ix(id) {
                            Ok(gx) => hit(&w.group(gx).name),
                            Err(_) => w.groups.iter().any(|g| g.id == *id && hit(&g.name)),
                        },
                        _ => false,
                    }
            });
            if !(hit(&ev.action)
                || hit(&ev.message)
                || hit(&ev.actor.name)
                || hit(&ev.actor.id)
                || names)
            {
                return false;
            }
        }
        true
    }
}

fn bad_time(name: &str, value: &str) -> ApiError {
    ApiError::new(
        Family::Org,
        StatusCode::BAD_REQUEST,
        "ADMIN-400-3",
        format!("{name}={value} is not a valid time: use UNIX epoch milliseconds."),
    )
}

fn bad_syntax(message: impl Into<String>) -> ApiError {
    ApiError::new(
        Family::Org,
        StatusCode::BAD_REQUEST,
        "ADMIN-400-19",
        message,
    )
}

/// Epoch milliseconds (an RFC 3339 date is accepted too).
fn parse_time(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(Some(ms));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| Some(t.timestamp_millis()))
        .map_err(|_| bad_time(name, value))
}

fn time_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let from_ms = parse_time("from", from)?;
    let to_ms = parse_time("to", to)?;
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f > t
    {
        return Err(ApiError::new(
            Family::Org,
            StatusCode::BAD_REQUEST,
            "ADMIN-400-3",
            "from must not be after to.",
        ));
    }
    Ok((from_ms, to_ms))
}

fn object_json(w: &World, app: &AppState, api: &str, id: &str, kind: &str) -> Value {
    let org = &w.org.id;
    let mut v = json!({"id": id, "type": kind});
    match kind {
        "users" => {
            v["links"] =
                json!({"alt": format!("{api}/admin/v2/orgs/{org}/directories/-/users/{id}")});
            if let Ok(ax) = w.account_ix(id) {
                let a = w.account(ax);
                v["attributes"] = json!({"name": a.name});
                if let Some(email) = &a.email {
                    v["attributes"]["email"] = json!(email);
                }
            }
        }
        "groups" => {
            v["links"] =
                json!({"alt": format!("{api}/admin/v2/orgs/{org}/directories/-/groups/{id}")});
            let group = match w.group_ix(id) {
                Ok(gx) => Some(w.group(gx)),
                // Deleted groups keep their tombstone.
                Err(_) => w.groups.iter().find(|g| g.id == id),
            };
            if let Some(g) = group {
                v["attributes"] = json!({"groupName": g.name});
            }
        }
        "resources" => {
            if let Ok(rx) = w.resource_ix(id) {
                let r = w.resource(rx);
                v["attributes"] = json!({"name": r.name, "product": r.product.key()});
            }
        }
        "orgs" => {
            v["attributes"] = json!({"name": w.org.name});
            v["links"] = json!({"self": format!("{api}/admin/v1/orgs/{org}")});
        }
        "sites" => {
            if let Some(site) = w.site_by_cloud_id(id) {
                let name = &w.site(site).name;
                v["attributes"] = json!({"siteName": name});
                v["links"] = json!({"alt": app.site_url(name)});
            }
        }
        _ => {}
    }
    v
}

/// `EventModel` (and, with `stream`, `PollingEventModel`, which adds `processedAt`).
fn event_json(w: &World, app: &AppState, api: &str, ev: &Event, stream: bool) -> Value {
    let org = &w.org.id;
    let mut actor = json!({
        "id": ev.actor.id,
        "name": ev.actor.name,
        "links": {"self": format!("{api}/admin/v2/orgs/{org}/directories/-/users/{}", ev.actor.id)},
    });
    if let Some(email) = w
        .account_ix(&ev.actor.id)
        .ok()
        .and_then(|ax| w.account(ax).email.clone())
    {
        actor["email"] = json!(email);
    }
    let mut attributes = json!({
        "time": ts(ev.time),
        "action": ev.action,
        "actor": actor,
        "context": ev.context.iter().map(|(id, kind)| object_json(w, app, api, id, kind)).collect::<Vec<_>>(),
        "container": ev.container.iter().map(|(id, kind)| object_json(w, app, api, id, kind)).collect::<Vec<_>>(),
        "location": {"ip": ev.ip, "city": GEO.0, "regionName": GEO.1, "countryName": GEO.2},
    });
    if stream {
        attributes["processedAt"] = json!(ts(ev.time));
    }
    json!({
        "id": ev.id,
        "type": "events",
        "attributes": attributes,
        "links": {"self": format!("{api}/admin/v1/orgs/{org}/events/{}", ev.id)},
        "message": {"content": ev.message, "format": "simple"},
    })
}

/// Indexes of matching events, newest first, below `before`; and the bound for the next page
/// when more match.
fn scan_desc(
    w: &World,
    q: &EventQuery,
    before: usize,
    limit: usize,
) -> (Vec<usize>, Option<usize>) {
    let mut out = vec![];
    let mut i = before.min(w.events.len());
    while i > 0 {
        i -= 1;
        if q.matches(w, &w.events[i]) {
            if out.len() == limit {
                return (out, Some(i + 1));
            }
            out.push(i);
        }
    }
    (out, None)
}

/// Indexes of matching events, oldest first, from `after`; and where the next page starts.
fn scan_asc(w: &World, q: &EventQuery, after: usize, limit: usize) -> (Vec<usize>, usize) {
    let mut out = vec![];
    for i in after..w.events.len() {
        if q.matches(w, &w.events[i]) {
            if out.len() == limit {
                return (out, i);
            }
            out.push(i);
        }
    }
    (out, w.events.len())
}

#[derive(Debug, Default, Deserialize)]
struct EventParams {
    cursor: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    action: Option<String>,
    #[serde(default)]
    actor: Vec<String>,
    #[serde(default)]
    ip: Vec<String>,
    #[serde(default)]
    product: Vec<String>,
    location: Option<String>,
    limit: Option<i64>,
}

const PRODUCTS: [&str; 5] = ["bitbucket", "confluence", "guard_detect", "jira", "loom"];

fn events_query(params: EventParams) -> Result<EventQuery, ApiError> {
    let (from, to) = time_range(params.from.as_deref(), params.to.as_deref())?;
    let split = |v: Vec<String>| -> Vec<String> {
        v.iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let product = split(params.product);
    if let Some(bad) = product.iter().find(|p| !PRODUCTS.contains(&p.as_str())) {
        return Err(bad_syntax(format!(
            "product {bad} is not one of {}.",
            PRODUCTS.join(", ")
        )));
    }
    let location = match params
        .location
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        None => vec![],
        Some(text) => match serde_json::from_str::<Vec<LocationFilter>>(text) {
            Ok(list) => list,
            Err(_) => match serde_json::from_str::<LocationFilter>(text) {
                Ok(one) => vec![one],
                Err(e) => {
                    return Err(bad_syntax(format!(
                        "location must be JSON like [{{\"city\":\"…\",\"countryName\":\"…\"}}]: {e}"
                    )));
                }
            },
        },
    };
    Ok(EventQuery {
        q: params.q,
        from,
        to,
        action: params.action.filter(|a| !a.trim().is_empty()),
        actor: split(params.actor),
        ip: split(params.ip),
        product,
        location,
        desc: true,
    })
}

/// Where an audit-log page is rendered: `/events` or, with `stream`, `/events-stream`.
struct EventsPage<'a> {
    app: &'a AppState,
    api: &'a str,
    org: &'a str,
    uri: &'a Uri,
    stream: bool,
}

impl EventsPage<'_> {
    /// The page of the events at positions `found`; `next` is where the next page starts.
    fn render(
        &self,
        w: &World,
        query: &EventQuery,
        found: &[usize],
        next: Option<usize>,
        limit: usize,
    ) -> Value {
        let (api, org) = (self.api, self.org);
        let what = if self.stream {
            "events-stream"
        } else {
            "events"
        };
        let data: Vec<Value> = found
            .iter()
            .map(|i| event_json(w, self.app, api, &w.events[*i], self.stream))
            .collect();
        let mut links = json!({"self": self_link(api, org, what, self.uri)});
        let mut meta = json!({"page_size": limit});
        if let Some(next) = next {
            let token = encode_cursor(what, org, next, limit, query);
            links["next"] = json!(format!("{api}/admin/v1/orgs/{org}/{what}?cursor={token}"));
            meta["next"] = json!(token);
        }
        json!({"data": data, "links": links, "meta": meta})
    }
}

/// 200 with `body`, or the gateway's 401 when there is none (the key's org is not the path's).
fn ok_or_foreign(body: Option<Value>) -> ApiResult {
    match body {
        Some(body) => Ok(json_response(StatusCode::OK, &body)),
        None => Ok(foreign_org()),
    }
}

fn self_link(api: &str, org: &str, what: &str, uri: &Uri) -> String {
    match uri.query().filter(|q| !q.is_empty()) {
        Some(q) => format!("{api}/admin/v1/orgs/{org}/{what}?{q}"),
        None => format!("{api}/admin/v1/orgs/{org}/{what}"),
    }
}

/// `GET /v1/orgs/{orgId}/events`: newest first.
async fn list_events(
    State(app): State<AppState>,
    Path(p): Path<OrgPath>,
    uri: Uri,
    crate::extract::Params(params): crate::extract::Params<EventParams>,
) -> ApiResult {
    let (query, before, limit) = match &params.cursor {
        Some(token) => {
            let (before, limit, query) = decode_cursor::<EventQuery>(token, "events", &p.org_id)?;
            (query, Some(before), limit.min(500))
        }
        None => {
            let limit = page_size(params.limit, 30, 500).map_err(|e| bad_syntax(e.message))?;
            (events_query(params)?, None, limit)
        }
    };
    let api = app.api_url();
    let body = app.read(|w| {
        if w.org.id != p.org_id {
            return None;
        }
        let (found, next) = scan_desc(w, &query, before.unwrap_or(usize::MAX), limit);
        let page = EventsPage {
            app: &app,
            api: &api,
            org: &p.org_id,
            uri: &uri,
            stream: false,
        };
        Some(page.render(w, &query, &found, next, limit))
    });
    ok_or_foreign(body)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamParams {
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    sort_order: Option<String>,
}

/// `GET /v1/orgs/{orgId}/events-stream`: by processing order, ascending unless
/// `sortOrder=desc`.
async fn events_stream(
    State(app): State<AppState>,
    Path(p): Path<OrgPath>,
    uri: Uri,
    crate::extract::Params(params): crate::extract::Params<StreamParams>,
) -> ApiResult {
    let (query, position, limit) = match &params.cursor {
        Some(token) => {
            let (position, limit, query) =
                decode_cursor::<EventQuery>(token, "events-stream", &p.org_id)?;
            (query, Some(position), limit.min(500))
        }
        None => {
            let limit = page_size(params.limit, 200, 500).map_err(|e| bad_syntax(e.message))?;
            let (from, to) = time_range(params.from.as_deref(), params.to.as_deref())?;
            let desc = match params.sort_order.as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(bad_syntax(format!("sortOrder {other} is not asc or desc.")));
                }
            };
            (
                EventQuery {
                    from,
                    to,
                    desc,
                    ..Default::default()
                },
                None,
                limit,
            )
        }
    };
    let api = app.api_url();
    let body = app.read(|w| {
        if w.org.id != p.org_id {
            return None;
        }
        let (found, next) = if query.desc {
            scan_desc(w, &query, position.unwrap_or(usize::MAX), limit)
        } else {
            let (found, next) = scan_asc(w, &query, position.unwrap_or(0), limit);
            (found, Some(next))
        };
        let page = EventsPage {
            app: &app,
            api: &api,
            org: &p.org_id,
            uri: &uri,
            stream: true,
        };
        Some(page.render(w, &query, &found, next, limit))
    });
    ok_or_foreign(body)
}

/// `GET /v1/orgs/{orgId}/events/{eventId}`.
async fn get_event(State(app): State<AppState>, Path(p): Path<EventPath>) -> ApiResult {
    let api = app.api_url();
    let body = app.read(|w| {
        check_org(w, &p.org_id)?;
        let ev = w
            .events
            .iter()
            .find(|e| e.id == p.event_id)
            .ok_or_else(|| {
                ApiError::new(
                    Family::Org,
                    StatusCode::NOT_FOUND,
                    "ADMIN-404-4",
                    format!("Event {} was not found.", p.event_id),
                )
            })?;
        Ok::<_, ApiError>(json!({"data": event_json(w, &app, &api, ev, false)}))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /v1/orgs/{orgId}/event-actions`.
async fn event_actions(State(app): State<AppState>, Path(p): Path<OrgPath>) -> ApiResult {
    let body = app.read(|w| {
        check_org(w, &p.org_id)?;
        let mut data: Vec<Value> = ACTIONS
            .iter()
            .map(|(id, name, group)| {
                json!({"id": id, "type": "event-actions", "attributes": {"displayName": name, "groupDisplayName": group}})
            })
            .collect();
        let mut extra: Vec<&str> = w
            .events
            .iter()
            .map(|e| e.action.as_str())
            .filter(|a| !ACTIONS.iter().any(|(id, _, _)| id == a))
            .collect();
        extra.sort_unstable();
        extra.dedup();
        data.extend(extra.into_iter().map(|a| {
            json!({"id": a, "type": "event-actions", "attributes": {"displayName": humanize(a), "groupDisplayName": "Other"}})
        }));
        Ok::<_, ApiError>(json!({"data": data}))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizes_unknown_actions() {
        assert_eq!(humanize("space_permission_added"), "Space permission added");
        assert_eq!(humanize(""), "");
    }

    #[test]
    fn invalid_cursor_is_admin_400_1() {
        assert_eq!(invalid_cursor().code, "ADMIN-400-1");
        assert!(decode_cursor::<Value>("garbage", "events", "o").is_err());
        let token = Cursor {
            offset: 3,
            limit: 2,
            query: None,
        }
        .encode();
        assert!(decode_cursor::<Value>(&token, "events", "o").is_err());
        let token = encode_cursor("events", "o", 3, 2, &EventQuery::default());
        assert!(decode_cursor::<EventQuery>(&token, "events", "other-org").is_err());
        assert_eq!(
            decode_cursor::<EventQuery>(&token, "events", "o")
                .map(|(o, l, _)| (o, l))
                .ok(),
            Some((3, 2))
        );
    }

    #[test]
    fn times_are_epoch_ms_or_rfc3339() {
        assert_eq!(
            parse_time("from", Some("1700000000000")).ok(),
            Some(Some(1_700_000_000_000))
        );
        assert_eq!(
            parse_time("from", Some("2023-11-14T22:13:20Z")).ok(),
            Some(Some(1_700_000_000_000))
        );
        assert_eq!(
            parse_time("from", Some("yesterday"))
                .map_err(|e| e.code)
                .err()
                .as_deref(),
            Some("ADMIN-400-3")
        );
        assert!(time_range(Some("2"), Some("1")).is_err());
    }
}
