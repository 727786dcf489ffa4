//! Jira Service Management REST (`https://<site>.atlassian.net/rest/servicedeskapi`), served
//! under `/site/<site>/rest/servicedeskapi` (Basic) and the gateway
//! `/api/ex/jira/<cloudId>/rest/servicedeskapi` (Bearer). Errors are JSM's `ErrorResponse`
//! (`{"errorMessage":…,"i18nErrorMessage":{…}}`); lists are `PagedDTO`s (`start`/`limit`/
//! `size`/`isLastPage`/`_links`).
//!
//! Customers are accounts of the one model: portal-only customers (`accountType: customer`,
//! `qm:` ids, created here, one site each, never in groups) and Atlassian accounts. Adding an
//! Atlassian account to a service desk grants it `atlassian/customer` on the site's JSM
//! resource (see [`crate::state::jsm_ops`]).
//!
//! The experimental operations (`GET` and `DELETE /servicedesk/{id}/customer`, marked
//! `x-experimental` in the spec) need the header `X-ExperimentalApi: opt-in`; without it they
//! answer 400. `PUT /customer/user/{accountId}/revoke-portal-only-access` is not in the vendored
//! spec; it is served as Atlassian documents it (204, site admin).
//!
//! Writes need a site admin ([`World::is_site_admin`]); others get 403.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::site::{Page, check_site_admin, enc, page, site_base};
use super::{Table, respond};
use crate::app::AppState;
use crate::auth::SiteCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params};
use crate::family::Family;
use crate::paging::window;
use crate::state::{AccountIx, ModelError, SiteIx, World};

const F: Family = Family::Jsm;

/// Largest JSM page (`limit`).
pub const MAX_LIMIT: usize = 50;

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![
        Table::new(F)
            .post("/rest/servicedeskapi/customer", create_customer)
            .put(
                "/rest/servicedeskapi/customer/user/{accountId}/revoke-portal-only-access",
                revoke_portal_access,
            )
            .get("/rest/servicedeskapi/servicedesk", service_desks)
            .get(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}",
                service_desk,
            )
            .get(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer",
                desk_customers,
            )
            .post(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer",
                add_desk_customers,
            )
            .delete(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer",
                remove_desk_customers,
            )
            .get(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization",
                desk_organizations,
            )
            .post(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization",
                attach_organization,
            )
            .delete(
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization",
                detach_organization,
            ),
        Table::new(F)
            .get("/rest/servicedeskapi/organization", organizations)
            .post("/rest/servicedeskapi/organization", create_organization)
            .get(
                "/rest/servicedeskapi/organization/{organizationId}",
                organization,
            )
            .delete(
                "/rest/servicedeskapi/organization/{organizationId}",
                delete_organization,
            )
            .get(
                "/rest/servicedeskapi/organization/{organizationId}/user",
                organization_users,
            )
            .post(
                "/rest/servicedeskapi/organization/{organizationId}/user",
                add_organization_users,
            )
            .delete(
                "/rest/servicedeskapi/organization/{organizationId}/user",
                remove_organization_users,
            ),
    ]
}

// ---- helpers ------------------------------------------------------------------------------------

fn err(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(F, status, code, message)
}

fn bad(message: impl Into<String>) -> ApiError {
    err(StatusCode::BAD_REQUEST, "bad.request", message)
}

fn missing(message: impl Into<String>) -> ApiError {
    err(StatusCode::NOT_FOUND, "not.found", message)
}

fn model(e: &ModelError) -> ApiError {
    let (status, code) = match e {
        ModelError::NotFound { .. } => (StatusCode::NOT_FOUND, "not.found"),
        ModelError::GroupIdpSynced(_)
        | ModelError::AccountIdpSynced(_)
        | ModelError::NotManaged(_) => (StatusCode::FORBIDDEN, "forbidden"),
        _ => (StatusCode::BAD_REQUEST, "bad.request"),
    };
    err(status, code, e.to_string())
}

fn require_site_admin(app: &AppState, caller: &SiteCaller) -> ApiResult<()> {
    app.read(|w| {
        check_site_admin(w, caller, || {
            err(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You do not have permission to complete this request.",
            )
        })
    })
}

/// The experimental operations need `X-ExperimentalApi: opt-in`.
fn require_opt_in(headers: &HeaderMap) -> ApiResult<()> {
    let opted_in = headers
        .get("x-experimentalapi")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("opt-in"))
        });
    if opted_in {
        Ok(())
    } else {
        Err(err(
            StatusCode::BAD_REQUEST,
            "experimental.api.opt.in.required",
            "This API is experimental. Experimental APIs are not guaranteed to be stable within the preview period. \
             You must set the header 'X-ExperimentalApi: opt-in' to opt into using this API.",
        ))
    }
}

#[derive(Debug, Deserialize)]
struct PageParams {
    start: Option<i64>,
    limit: Option<i64>,
}

impl PageParams {
    fn page(&self) -> Page {
        jsm_page(self.start, self.limit)
    }
}

/// The page a `start`/`limit` request asks for (JSM pages hold at most [`MAX_LIMIT`] items).
fn jsm_page(start: Option<i64>, limit: Option<i64>) -> Page {
    page(start, limit, MAX_LIMIT, MAX_LIMIT)
}

/// `name=value` for a `_links` query when `value` was sent, else empty.
fn query_param(name: &str, value: Option<&str>) -> String {
    value
        .map(|v| format!("{name}={}", enc(v)))
        .unwrap_or_default()
}

/// A `PagedDTO` of `items`; `path` is the request path after `/rest/servicedeskapi` and
/// `query` its other query parameters (already encoded, may be empty).
fn paged(base: &str, path: &str, query: &str, p: Page, items: Vec<Value>) -> Value {
    let total = items.len();
    let range = window(total, p.start, p.limit);
    let end = range.end;
    let values: Vec<Value> = items
        .into_iter()
        .skip(range.start)
        .take(range.len())
        .collect();
    let api = format!("{base}/rest/servicedeskapi");
    let link = |start: usize| {
        let extra = if query.is_empty() {
            String::new()
        } else {
            format!("&{query}")
        };
        format!("{api}{path}?start={start}&limit={}{extra}", p.limit)
    };
    let mut links = json!({"base": api, "context": "", "self": link(p.start)});
    if end < total {
        links["next"] = json!(link(end));
    }
    if p.start > 0 {
        links["prev"] = json!(link(p.start.saturating_sub(p.limit)));
    }
    json!({
        "_expands": [],
        "size": values.len(),
        "start": p.start,
        "limit": p.limit,
        "isLastPage": end >= total,
        "_links": links,
        "values": values,
    })
}

/// A `UserDTO` (customers, organization members).
fn user_dto(w: &World, site: SiteIx, base: &str, ax: AccountIx) -> Value {
    let a = w.account(ax);
    let user_url = format!("{base}/rest/api/2/user?accountId={}", enc(&a.id));
    let mut dto = json!({
        "accountId": a.id,
        "name": a.id,
        "key": a.id,
        "displayName": a.name,
        "active": w.active_on_site(ax, site),
        "timeZone": a.profile.time_zone,
        "_links": {
            "jiraRest": user_url,
            "avatarUrls": {
                "48x48": format!("https://avatar-cdn.atlassian.com/{}?s=48&d=mm", enc(&a.id)),
                "24x24": format!("https://avatar-cdn.atlassian.com/{}?s=24&d=mm", enc(&a.id)),
                "16x16": format!("https://avatar-cdn.atlassian.com/{}?s=16&d=mm", enc(&a.id)),
                "32x32": format!("https://avatar-cdn.atlassian.com/{}?s=32&d=mm", enc(&a.id)),
            },
            "self": user_url,
        },
    });
    if let Some(email) = &a.email {
        dto["emailAddress"] = json!(email);
    }
    dto
}

/// A `PagedDTO` of the accounts' `UserDTO`s, by display name (see [`paged`]).
fn users_paged(
    w: &World,
    site: SiteIx,
    base: &str,
    path: &str,
    query: &str,
    p: Page,
    mut accounts: Vec<AccountIx>,
) -> Value {
    accounts.sort_by_key(|ax| (w.account(*ax).name.to_lowercase(), *ax));
    let items = accounts
        .iter()
        .map(|ax| user_dto(w, site, base, *ax))
        .collect();
    paged(base, path, query, p, items)
}

/// The service desk (index in `Site::service_desks`) with this id or project key.
fn find_desk(w: &World, site: SiteIx, id: &str) -> ApiResult<usize> {
    w.site(site)
        .service_desks
        .iter()
        .position(|d| {
            d.id.to_string() == id || d.project_key == id || d.project_id.to_string() == id
        })
        .ok_or_else(|| missing(format!("Service desk {id} does not exist.")))
}

fn desk_dto(w: &World, site: SiteIx, base: &str, desk: usize) -> Value {
    let d = &w.site(site).service_desks[desk];
    json!({
        "id": d.id.to_string(),
        "projectId": d.project_id.to_string(),
        "projectName": d.project_name,
        "projectKey": d.project_key,
        "projectTypeKey": "service_desk",
        "_links": {"self": format!("{base}/rest/servicedeskapi/servicedesk/{}", d.id)},
    })
}

fn org_dto(base: &str, id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "scimManaged": false,
        "_links": {"self": format!("{base}/rest/servicedeskapi/organization/{id}")},
    })
}

/// The live JSM organization with this (numeric) id: 404 otherwise.
fn find_org(w: &World, site: SiteIx, id: &str) -> ApiResult<(usize, u64)> {
    let id = id
        .trim()
        .parse::<u64>()
        .map_err(|_| missing(format!("Organization {id} does not exist.")))?;
    let ix = w
        .jsm_org_ix(site, id)
        .map_err(|_| missing(format!("Organization {id} does not exist.")))?;
    Ok((ix, id))
}

/// Resolves account ids: unknown ones are reported (by id) instead of failing the call.
fn resolve_accounts(w: &World, site: SiteIx, ids: &[String]) -> (Vec<AccountIx>, Vec<String>) {
    let mut found = vec![];
    let mut unknown = vec![];
    for id in ids {
        match w
            .account_ix(id)
            .ok()
            .filter(|ax| w.check_jsm_customer(site, *ax).is_ok())
        {
            Some(ax) if !found.contains(&ax) => found.push(ax),
            Some(_) => {}
            None => unknown.push(id.clone()),
        }
    }
    (found, unknown)
}

// ---- customers -------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StrictParam {
    strict_conflict_status_code: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerCreateDto {
    email: Option<String>,
    display_name: Option<String>,
    full_name: Option<String>,
}

/// `POST /rest/servicedeskapi/customer?strictConflictStatusCode=`: creates a portal-only
/// customer (201). A duplicate email answers 409 with `strictConflictStatusCode=true`, else 400.
async fn create_customer(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<StrictParam>,
    Body(body): Body<CustomerCreateDto>,
) -> ApiResult {
    require_site_admin(&app, &caller)?;
    let Some(email) = body.email.filter(|e| !e.trim().is_empty()) else {
        return Err(bad("The email address is required."));
    };
    let name = body.display_name.or(body.full_name).unwrap_or_default();
    let created =
        app.write(
            |w| match w.create_customer(caller.actor, caller.site, &email, &name) {
                Ok(Some(ax)) => Ok(user_dto(
                    w,
                    caller.site,
                    &site_base(&app, w, caller.site),
                    ax,
                )),
                Ok(None) => {
                    let message = format!(
                        "An account already exists for this email: {}",
                        email.trim().to_lowercase()
                    );
                    Err(if q.strict_conflict_status_code.unwrap_or(false) {
                        err(StatusCode::CONFLICT, "customer.already.exists", message)
                    } else {
                        err(StatusCode::BAD_REQUEST, "customer.already.exists", message)
                    })
                }
                Err(e) => Err(model(&e)),
            },
        )?;
    Ok(respond(StatusCode::CREATED, created))
}

#[derive(Debug, Deserialize)]
struct AccountPath {
    #[serde(rename = "accountId")]
    account_id: String,
}

/// `PUT /rest/servicedeskapi/customer/user/{accountId}/revoke-portal-only-access` (not in the
/// vendored spec): deactivates a portal-only customer's portal login. 204.
async fn revoke_portal_access(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<AccountPath>,
) -> ApiResult {
    require_site_admin(&app, &caller)?;
    app.write(|w| {
        let ax = w
            .account_ix(&path.account_id)
            .map_err(|_| missing(format!("The user {} does not exist.", path.account_id)))?;
        w.revoke_portal_only_access(caller.actor, caller.site, ax)
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- service desks ---------------------------------------------------------------------------------

/// `GET /rest/servicedeskapi/servicedesk`.
async fn service_desks(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<PageParams>,
) -> ApiResult {
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        let items: Vec<Value> = (0..w.site(caller.site).service_desks.len())
            .map(|d| desk_dto(w, caller.site, &base, d))
            .collect();
        paged(&base, "/servicedesk", "", q.page(), items)
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct DeskPath {
    #[serde(rename = "serviceDeskId")]
    desk: String,
}

/// `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}` (id or project key).
async fn service_desk(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<DeskPath>,
) -> ApiResult {
    let body = app.read(|w| -> ApiResult<Value> {
        let d = find_desk(w, caller.site, &path.desk)?;
        Ok(desk_dto(
            w,
            caller.site,
            &site_base(&app, w, caller.site),
            d,
        ))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct CustomersParams {
    query: Option<String>,
    start: Option<i64>,
    limit: Option<i64>,
}

/// `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer?query=` (experimental): the
/// desk's customers by display name, filtered by name or email.
async fn desk_customers(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    headers: HeaderMap,
    Path(path): Path<DeskPath>,
    Params(q): Params<CustomersParams>,
) -> ApiResult {
    require_opt_in(&headers)?;
    let p = jsm_page(q.start, q.limit);
    let needle = q.query.as_deref().unwrap_or("").trim().to_lowercase();
    let body = app.read(|w| -> ApiResult<Value> {
        let site = caller.site;
        let d = find_desk(w, site, &path.desk)?;
        let customers: Vec<AccountIx> = w.site(site).service_desks[d]
            .customers
            .iter()
            .copied()
            .filter(|ax| {
                let a = w.account(*ax);
                needle.is_empty()
                    || a.name.to_lowercase().contains(&needle)
                    || a.email.as_deref().is_some_and(|e| e.contains(&needle))
            })
            .collect();
        let base = site_base(&app, w, site);
        let query = query_param("query", q.query.as_deref());
        let path = format!("/servicedesk/{}/customer", w.site(site).service_desks[d].id);
        Ok(users_paged(w, site, &base, &path, &query, p, customers))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountIds {
    #[serde(default)]
    account_ids: Vec<String>,
    #[serde(default)]
    usernames: Vec<String>,
}

impl AccountIds {
    fn ids(&self) -> ApiResult<Vec<String>> {
        if !self.usernames.is_empty() {
            return Err(bad(
                "The usernames property is no longer supported; use accountIds.",
            ));
        }
        Ok(self.account_ids.clone())
    }
}

/// `POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer` `{accountIds}`: 204. Valid
/// customers are added even when some ids are unknown (those answer 400).
async fn add_desk_customers(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<DeskPath>,
    Body(body): Body<AccountIds>,
) -> ApiResult {
    let ids = body.ids()?;
    require_site_admin(&app, &caller)?;
    app.write(|w| -> ApiResult<()> {
        let d = find_desk(w, caller.site, &path.desk)?;
        let (found, unknown) = resolve_accounts(w, caller.site, &ids);
        w.add_desk_customers(caller.actor, caller.site, d, &found)
            .map_err(|e| model(&e))?;
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(bad(format!(
                "These customers do not exist: {}",
                unknown.join(", ")
            )))
        }
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer` `{accountIds}`
/// (experimental): 204; 400 unless the desk has closed access. Ids not on the desk are ignored.
async fn remove_desk_customers(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    headers: HeaderMap,
    Path(path): Path<DeskPath>,
    Body(body): Body<AccountIds>,
) -> ApiResult {
    require_opt_in(&headers)?;
    let ids = body.ids()?;
    require_site_admin(&app, &caller)?;
    app.write(|w| -> ApiResult<()> {
        let d = find_desk(w, caller.site, &path.desk)?;
        let found: Vec<AccountIx> = ids.iter().filter_map(|id| w.account_ix(id).ok()).collect();
        w.remove_desk_customers(caller.actor, caller.site, d, &found)
            .map(|_| ())
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrgListParams {
    start: Option<i64>,
    limit: Option<i64>,
    account_id: Option<String>,
}

fn org_list(
    w: &World,
    site: SiteIx,
    base: &str,
    ids: Option<&std::collections::BTreeSet<u64>>,
    member: Option<&str>,
) -> Vec<Value> {
    let member = member.map(|id| w.account_ix(id).ok());
    let mut orgs: Vec<&crate::state::JsmOrganization> = w
        .site(site)
        .jsm_orgs
        .iter()
        .filter(|o| !o.deleted)
        .filter(|o| ids.is_none_or(|ids| ids.contains(&o.id)))
        .filter(|o| match member {
            None => true,
            Some(None) => false,
            Some(Some(ax)) => o.members.contains(&ax),
        })
        .collect();
    orgs.sort_by_key(|o| o.id);
    orgs.iter().map(|o| org_dto(base, o.id, &o.name)).collect()
}

/// `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/organization?accountId=`.
async fn desk_organizations(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<DeskPath>,
    Params(q): Params<OrgListParams>,
) -> ApiResult {
    let p = jsm_page(q.start, q.limit);
    let body = app.read(|w| -> ApiResult<Value> {
        let site = caller.site;
        let d = find_desk(w, site, &path.desk)?;
        let base = site_base(&app, w, site);
        let desk = &w.site(site).service_desks[d];
        let items = org_list(
            w,
            site,
            &base,
            Some(&desk.organizations),
            q.account_id.as_deref(),
        );
        let query = query_param("accountId", q.account_id.as_deref());
        Ok(paged(
            &base,
            &format!("/servicedesk/{}/organization", desk.id),
            &query,
            p,
            items,
        ))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationServiceDeskUpdate {
    organization_id: Option<i64>,
}

fn org_id_of(body: &OrganizationServiceDeskUpdate) -> ApiResult<u64> {
    body.organization_id
        .and_then(|id| u64::try_from(id).ok())
        .ok_or_else(|| bad("The organizationId is required."))
}

/// `POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/organization` `{organizationId}`: 204.
async fn attach_organization(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<DeskPath>,
    Body(body): Body<OrganizationServiceDeskUpdate>,
) -> ApiResult {
    change_desk_organization(&app, &caller, &path, &body, World::attach_jsm_org)
}

/// `DELETE /rest/servicedeskapi/servicedesk/{serviceDeskId}/organization` `{organizationId}`:
/// 204 (also when the organization was not associated with the desk).
async fn detach_organization(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<DeskPath>,
    Body(body): Body<OrganizationServiceDeskUpdate>,
) -> ApiResult {
    change_desk_organization(&app, &caller, &path, &body, World::detach_jsm_org)
}

/// Attaches or detaches (`change`) the body's organization to or from the desk: 204.
fn change_desk_organization(
    app: &AppState,
    caller: &SiteCaller,
    path: &DeskPath,
    body: &OrganizationServiceDeskUpdate,
    change: fn(&mut World, AccountIx, SiteIx, usize, u64) -> Result<bool, ModelError>,
) -> ApiResult {
    let id = org_id_of(body)?;
    require_site_admin(app, caller)?;
    app.write(|w| -> ApiResult<()> {
        let d = find_desk(w, caller.site, &path.desk)?;
        find_org(w, caller.site, &id.to_string())?;
        change(w, caller.actor, caller.site, d, id)
            .map(|_| ())
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- organizations ---------------------------------------------------------------------------------

/// `GET /rest/servicedeskapi/organization?accountId=`.
async fn organizations(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<OrgListParams>,
) -> ApiResult {
    let p = jsm_page(q.start, q.limit);
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        let items = org_list(w, caller.site, &base, None, q.account_id.as_deref());
        let query = query_param("accountId", q.account_id.as_deref());
        paged(&base, "/organization", &query, p, items)
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct OrganizationCreate {
    name: Option<String>,
}

/// `POST /rest/servicedeskapi/organization` `{name}`: 201 `OrganizationDTO`.
async fn create_organization(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<OrganizationCreate>,
) -> ApiResult {
    let Some(name) = body.name else {
        return Err(bad("The organization name is required."));
    };
    require_site_admin(&app, &caller)?;
    let dto = app.write(|w| -> ApiResult<Value> {
        let id = w
            .create_jsm_org(caller.actor, caller.site, &name)
            .map_err(|e| model(&e))?;
        let base = site_base(&app, w, caller.site);
        let ix = w.jsm_org_ix(caller.site, id).map_err(|e| model(&e))?;
        Ok(org_dto(&base, id, &w.site(caller.site).jsm_orgs[ix].name))
    })?;
    Ok(respond(StatusCode::CREATED, dto))
}

#[derive(Debug, Deserialize)]
struct OrgPath {
    #[serde(rename = "organizationId")]
    org: String,
}

/// `GET /rest/servicedeskapi/organization/{organizationId}`.
async fn organization(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<OrgPath>,
) -> ApiResult {
    let body = app.read(|w| -> ApiResult<Value> {
        let (ix, id) = find_org(w, caller.site, &path.org)?;
        Ok(org_dto(
            &site_base(&app, w, caller.site),
            id,
            &w.site(caller.site).jsm_orgs[ix].name,
        ))
    })?;
    Ok(respond(StatusCode::OK, body))
}

/// `DELETE /rest/servicedeskapi/organization/{organizationId}`: 204.
async fn delete_organization(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<OrgPath>,
) -> ApiResult {
    require_site_admin(&app, &caller)?;
    app.write(|w| -> ApiResult<()> {
        let (_, id) = find_org(w, caller.site, &path.org)?;
        w.delete_jsm_org(caller.actor, caller.site, id)
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /rest/servicedeskapi/organization/{organizationId}/user`: members by display name.
async fn organization_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<OrgPath>,
    Params(q): Params<PageParams>,
) -> ApiResult {
    let body = app.read(|w| -> ApiResult<Value> {
        let site = caller.site;
        let (ix, id) = find_org(w, site, &path.org)?;
        let members: Vec<AccountIx> = w.site(site).jsm_orgs[ix].members.iter().copied().collect();
        let base = site_base(&app, w, site);
        let path = format!("/organization/{id}/user");
        Ok(users_paged(w, site, &base, &path, "", q.page(), members))
    })?;
    Ok(respond(StatusCode::OK, body))
}

/// `POST /rest/servicedeskapi/organization/{organizationId}/user` `{accountIds}`: 204; unknown
/// accounts answer 400 and nothing is added.
async fn add_organization_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<OrgPath>,
    Body(body): Body<AccountIds>,
) -> ApiResult {
    let ids = body.ids()?;
    require_site_admin(&app, &caller)?;
    app.write(|w| -> ApiResult<()> {
        let (_, id) = find_org(w, caller.site, &path.org)?;
        let (found, unknown) = resolve_accounts(w, caller.site, &ids);
        if !unknown.is_empty() {
            return Err(bad(format!(
                "These users do not exist: {}",
                unknown.join(", ")
            )));
        }
        w.add_jsm_org_members(caller.actor, caller.site, id, &found)
            .map(|_| ())
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /rest/servicedeskapi/organization/{organizationId}/user` `{accountIds}`: 204;
/// accounts not in the organization are ignored, unknown ones answer 400.
async fn remove_organization_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<OrgPath>,
    Body(body): Body<AccountIds>,
) -> ApiResult {
    let ids = body.ids()?;
    require_site_admin(&app, &caller)?;
    app.write(|w| -> ApiResult<()> {
        let (_, id) = find_org(w, caller.site, &path.org)?;
        let mut found = vec![];
        for account_id in &ids {
            found.push(
                w.account_ix(account_id)
                    .map_err(|_| bad(format!("The user {account_id} does not exist.")))?,
            );
        }
        w.remove_jsm_org_members(caller.actor, caller.site, id, &found)
            .map(|_| ())
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
