//! Statuspage (`https://api.statuspage.io/v1`), served under `/statuspage/v1`: pages, the
//! organization's team members, and their page permissions.
//!
//! Auth is `Authorization: OAuth <key>` or `?api_key=` (checked by the middleware). Bodies may
//! be JSON or form-encoded (`user[email]=…`); the `Content-Type` decides which (a body that does
//! not match its type is not understood). Errors are `{"message": …}` (`ErrorEntity`). Team
//! members are the accounts holding a Statuspage role; see `state::statuspage_ops`.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Table, respond, ts};
use crate::app::AppState;
use crate::auth::KeyCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, is_json, parse_json, read_body};
use crate::family::Family;
use crate::paging::window;
use crate::state::ops::is_plausible_email;
use crate::state::{AccountIx, ModelError, PagePermission, StatusPage, StatuspageMember, World};

const SP: Family = Family::Statuspage;
/// Default and maximum `per_page` of the team member list (since 2023-02-28).
const PER_PAGE_MAX: usize = 100;

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![
        Table::new(SP)
            .get("/pages", list_pages)
            .get("/pages/{page_id}", get_page)
            .get("/organizations/{organization_id}/users", list_users)
            .post("/organizations/{organization_id}/users", create_user)
            .delete(
                "/organizations/{organization_id}/users/{user_id}",
                delete_user,
            )
            .get(
                "/organizations/{organization_id}/permissions/{user_id}",
                get_permissions,
            )
            .put(
                "/organizations/{organization_id}/permissions/{user_id}",
                put_permissions,
            ),
    ]
}

fn not_found() -> ApiError {
    ApiError::not_found(SP, "The requested resource could not be found.")
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::new(
        SP,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        message,
    )
}

fn page_json(page: &StatusPage) -> Value {
    let subdomain = if page.subdomain.contains('.') {
        page.subdomain.clone()
    } else {
        format!("{}.statuspage.io", page.subdomain)
    };
    json!({
        "id": page.id,
        "created_at": ts(page.created_at),
        "updated_at": ts(page.created_at),
        "name": page.name,
        "page_description": "",
        "headline": "",
        "branding": "basic",
        "subdomain": subdomain,
        "domain": "",
        "url": "",
        "support_url": "",
        "hidden_from_search": false,
        "allow_page_subscribers": true,
        "allow_incident_subscribers": true,
        "allow_email_subscribers": true,
        "allow_sms_subscribers": false,
        "allow_rss_atom_feeds": true,
        "allow_webhook_subscribers": true,
        "notifications_from_email": "noreply@statuspage.io",
        "notifications_email_footer": "",
        "activity_score": 0,
        "twitter_username": "",
        "viewers_must_be_team_members": false,
        "ip_restrictions": "",
        "city": "",
        "state": "",
        "country": "",
        "time_zone": "UTC",
    })
}

fn user_json(w: &World, ax: AccountIx, m: &StatuspageMember) -> Value {
    json!({
        "id": m.id,
        "organization_id": w.statuspage.organization_id,
        "email": w.account(ax).email.clone().unwrap_or_default(),
        "first_name": m.first_name,
        "last_name": m.last_name,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
    })
}

fn permissions_json(w: &World, m: &StatuspageMember) -> Value {
    let pages: Map<String, Value> = m
        .pages
        .iter()
        .filter_map(|(page_id, perm)| {
            let page = w.statuspage.pages.iter().find(|p| &p.id == page_id)?;
            let value = if page.rbac {
                json!({
                    "page_configuration": perm.page_configuration,
                    "incident_manager": perm.incident_manager,
                    "maintenance_manager": perm.maintenance_manager,
                })
            } else {
                json!({})
            };
            Some((page_id.clone(), value))
        })
        .collect();
    json!({"data": {"user_id": m.id, "pages": pages}})
}

/// The organization in the path must be this org's Statuspage organization (and the org must
/// have Statuspage).
fn check_org(w: &World, organization_id: &str) -> Result<(), ApiError> {
    if w.statuspage_resource().is_some() && w.statuspage.organization_id == organization_id {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// `GET /pages`: every page of the organization.
async fn list_pages(State(app): State<AppState>, Extension(_): Extension<KeyCaller>) -> ApiResult {
    let pages = app.read(|w| w.statuspage.pages.iter().map(page_json).collect::<Vec<_>>());
    Ok(respond(StatusCode::OK, Value::Array(pages)))
}

#[derive(Debug, Deserialize)]
struct PagePath {
    page_id: String,
}

/// `GET /pages/{page_id}`.
async fn get_page(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(p): Path<PagePath>,
) -> ApiResult {
    let page = app.read(|w| {
        w.statuspage
            .pages
            .iter()
            .find(|page| page.id == p.page_id)
            .map(page_json)
    });
    Ok(respond(StatusCode::OK, page.ok_or_else(not_found)?))
}

#[derive(Debug, Deserialize)]
struct OrgPath {
    organization_id: String,
}

#[derive(Debug, Deserialize)]
struct UserPath {
    organization_id: String,
    user_id: String,
}

/// Paging of the user list. Values are read leniently (as Statuspage does: a value that is
/// not a number counts as absent).
#[derive(Debug, Deserialize)]
struct UsersQuery {
    page: Option<String>,
    per_page: Option<String>,
}

/// `GET /organizations/{organization_id}/users?page&per_page`: a bare array of team members;
/// `page` is 1-based, `per_page` defaults to and is capped at 100; no total.
async fn list_users(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(p): Path<OrgPath>,
    Params(q): Params<UsersQuery>,
) -> ApiResult {
    let number = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
    let page = number(&q.page).filter(|n| *n >= 1).unwrap_or(1) as usize;
    let per_page = number(&q.per_page)
        .filter(|n| *n >= 1)
        .map_or(PER_PAGE_MAX, |n| (n as usize).min(PER_PAGE_MAX));
    let users = app.write(|w| {
        check_org(w, &p.organization_id)?;
        w.sync_statuspage_members();
        let team = w.statuspage_team();
        let range = window(team.len(), (page - 1).saturating_mul(per_page), per_page);
        Ok::<_, ApiError>(
            team[range]
                .iter()
                .map(|ax| user_json(w, *ax, &w.statuspage.members[ax]))
                .collect::<Vec<_>>(),
        )
    })?;
    Ok(respond(StatusCode::OK, Value::Array(users)))
}

/// Reads a request body as JSON or form-encoded parameters, as its `Content-Type` says. Any
/// other (or no) content type yields no parameters. Malformed JSON is answered with `status`.
async fn read_params(req: Request, status: StatusCode) -> Result<Value, ApiError> {
    let (content_type, bytes) = read_body(req, SP).await?;
    if is_json(&content_type) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        return parse_json::<Value>(SP, &bytes).map_err(|mut e| {
            e.status = status;
            e
        });
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(form_to_json(&bytes));
    }
    Ok(json!({}))
}

/// Turns Rails-style form parameters (`user[email]=a`, `pages[p1][incident_manager]=true`,
/// `list[]=x`) into a JSON object with string leaves.
fn form_to_json(body: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        let path = bracket_path(&key);
        insert_path(&mut root, &path, Value::String(value.into_owned()));
    }
    root
}

fn bracket_path(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_owned()];
    };
    let mut path = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return vec![key.to_owned()];
        };
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    if !rest.is_empty() {
        return vec![key.to_owned()];
    }
    path
}

fn insert_path(node: &mut Value, path: &[String], value: Value) {
    let Some((head, tail)) = path.split_first() else {
        return;
    };
    if head.is_empty() {
        if !node.is_array() {
            *node = Value::Array(vec![]);
        }
        if let Value::Array(items) = node {
            if tail.is_empty() {
                items.push(value);
            } else {
                let mut child = Value::Object(Map::new());
                insert_path(&mut child, tail, value);
                items.push(child);
            }
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        if tail.is_empty() {
            map.insert(head.clone(), value);
        } else {
            let child = map.entry(head.clone()).or_insert(Value::Null);
            insert_path(child, tail, value);
        }
    }
}

fn string_field(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(unprocessable(format!("{name} must be a string"))),
    }
}

/// `POST /organizations/{organization_id}/users` `{user:{email,password?,first_name,last_name}}`
/// → 201 User. Creates (or links) the Atlassian account and grants it `atlassian/user` on
/// Statuspage. A team member with that email already → 422.
async fn create_user(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(p): Path<OrgPath>,
    req: Request,
) -> ApiResult {
    app.read(|w| check_org(w, &p.organization_id))?;
    let params = read_params(req, StatusCode::UNPROCESSABLE_ENTITY).await?;
    let Some(user) = params.get("user").and_then(Value::as_object) else {
        return Err(unprocessable("user is missing"));
    };
    let email = string_field(user, "email")?
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let Some(email) = email else {
        return Err(unprocessable("Email can't be blank"));
    };
    if !is_plausible_email(&email) {
        return Err(unprocessable("Email is invalid"));
    }
    let first = string_field(user, "first_name")?;
    let last = string_field(user, "last_name")?;
    string_field(user, "password")?;
    let body = app.write(|w| {
        check_org(w, &p.organization_id)?;
        let actor = w.integration_account();
        let ax = w
            .add_statuspage_member(actor, &email, first.as_deref(), last.as_deref())
            .map_err(|e| match e {
                ModelError::NotFound { .. } => not_found(),
                other => unprocessable(other.to_string()),
            })?;
        let member = w
            .statuspage
            .members
            .get(&ax)
            .cloned()
            .ok_or_else(not_found)?;
        Ok::<_, ApiError>(user_json(w, ax, &member))
    })?;
    Ok(respond(StatusCode::CREATED, body))
}

fn find_member(w: &mut World, p: &UserPath) -> Result<AccountIx, ApiError> {
    check_org(w, &p.organization_id)?;
    w.sync_statuspage_members();
    w.statuspage_member_by_id(&p.user_id).ok_or_else(not_found)
}

/// `DELETE /organizations/{organization_id}/users/{user_id}` → 200 with the deleted User.
/// Revokes the person's Statuspage roles; refused (403) while a group grants them.
async fn delete_user(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(p): Path<UserPath>,
) -> ApiResult {
    let body = app.write(|w| {
        let ax = find_member(w, &p)?;
        let actor = w.integration_account();
        let member = w.remove_statuspage_member(actor, ax).map_err(|e| match e {
            ModelError::Invalid(m) => ApiError::forbidden(SP, m),
            ModelError::NotFound { .. } => not_found(),
            other => ApiError::forbidden(SP, other.to_string()),
        })?;
        Ok::<_, ApiError>(user_json(w, ax, &member))
    })?;
    Ok(respond(StatusCode::OK, body))
}

/// `GET /organizations/{organization_id}/permissions/{user_id}` →
/// `{"data":{"user_id","pages":{<page_id>:{page_configuration,incident_manager,maintenance_manager}}}}`
/// (`{}` for pages without role-based access control).
async fn get_permissions(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(p): Path<UserPath>,
) -> ApiResult {
    let body = app.write(|w| {
        let ax = find_member(w, &p)?;
        Ok::<_, ApiError>(permissions_json(w, &w.statuspage.members[&ax]))
    })?;
    Ok(respond(StatusCode::OK, body))
}

fn flag(page_id: &str, name: &str, v: Option<&Value>) -> Result<bool, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" | "on" => Ok(true),
            "false" | "f" | "0" | "no" | "off" | "" => Ok(false),
            _ => Err(ApiError::bad_request(
                SP,
                format!("pages.{page_id}.{name} must be true or false"),
            )),
        },
        Some(_) => Err(ApiError::bad_request(
            SP,
            format!("pages.{page_id}.{name} must be true or false"),
        )),
    }
}

/// `PUT /organizations/{organization_id}/permissions/{user_id}` `{"pages":{<page_id>:{…}}}` →
/// 200 (same shape as GET). Replaces the whole set: pages left out lose access. An unknown page
/// id → 400.
async fn put_permissions(
    State(app): State<AppState>,
    Extension(_): Extension<KeyCaller>,
    Path(p): Path<UserPath>,
    req: Request,
) -> ApiResult {
    app.read(|w| check_org(w, &p.organization_id))?;
    let params = read_params(req, StatusCode::BAD_REQUEST).await?;
    let Some(pages) = params.get("pages").and_then(Value::as_object) else {
        return Err(ApiError::bad_request(
            SP,
            "pages is missing or is not an object",
        ));
    };
    let mut wanted: BTreeMap<String, PagePermission> = BTreeMap::new();
    for (page_id, value) in pages {
        let perm = match value {
            Value::Object(flags) => PagePermission {
                page_configuration: flag(
                    page_id,
                    "page_configuration",
                    flags.get("page_configuration"),
                )?,
                incident_manager: flag(page_id, "incident_manager", flags.get("incident_manager"))?,
                maintenance_manager: flag(
                    page_id,
                    "maintenance_manager",
                    flags.get("maintenance_manager"),
                )?,
            },
            // `{}` sent form-encoded arrives as an empty value.
            Value::Null => PagePermission::default(),
            Value::String(s) if s.is_empty() => PagePermission::default(),
            _ => {
                return Err(ApiError::bad_request(
                    SP,
                    format!("pages.{page_id} must be an object"),
                ));
            }
        };
        wanted.insert(page_id.clone(), perm);
    }
    let body = app.write(|w| {
        let ax = find_member(w, &p)?;
        let actor = w.integration_account();
        w.set_statuspage_permissions(actor, ax, wanted)
            .map_err(|e| match e {
                ModelError::NotFound { what: "page", id } => {
                    ApiError::bad_request(SP, format!("Page {id} does not exist"))
                }
                _ => not_found(),
            })?;
        Ok::<_, ApiError>(permissions_json(w, &w.statuspage.members[&ax]))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_brackets_nest() {
        let v = form_to_json(b"user%5Bemail%5D=a%40b.co&user[first_name]=A+B&pages[p1][incident_manager]=true&l[]=1&l[]=2&plain=x");
        assert_eq!(v["user"]["email"], "a@b.co");
        assert_eq!(v["user"]["first_name"], "A B");
        assert_eq!(v["pages"]["p1"]["incident_manager"], "true");
        assert_eq!(v["l"], json!(["1", "2"]));
        assert_eq!(v["plain"], "x");
        assert_eq!(form_to_json(b"bad[key=1")["bad[key"], "1");
    }
}
