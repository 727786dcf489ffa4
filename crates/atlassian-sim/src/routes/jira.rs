//! Jira Cloud platform REST v3 (`https://<site>.atlassian.net/rest/api/3`), served under
//! `/site/<site>/rest/api/3` (Basic email:token) and the gateway
//! `/api/ex/jira/<cloudId>/rest/api/3` (Bearer). Errors are Jira's `ErrorCollection`
//! (`{"errorMessages":[…],"errors":{…}}`); lists are bare arrays or `PageBean`s
//! (`startAt`/`maxResults`/`total`/`isLast`/`nextPage`).
//!
//! Jira shows the site-wide view of the one model:
//!
//! - users are [`World::site_accounts`] (members of the site's directory, apps, and the site's
//!   portal-only customers); `active` is [`World::active_on_site`];
//! - groups are the live groups of the site's directory ([`World::directory_of_site`]); they are
//!   the same groups the Org API and Confluence see;
//! - application roles are the site's Jira-family resources (`jira-software`,
//!   `jira-servicedesk`, `jira-product-discovery`): a role granted through the Org API (directly
//!   or through a group) counts in `userCount` and shows in `user?expand=applicationRoles`.
//!   The simulator has no `jira-core` resource, so `jira-core` is never listed, `platform` is
//!   always false, and `POST /user` with `products:["jira-core"]` answers 400 like any product
//!   the site does not have;
//! - project roles are the seed's [`crate::seed::PROJECT_ROLES`] on each of [`Site::projects`].
//!
//! Writes (create/delete user, group and membership changes) need a site admin
//! ([`World::is_site_admin`]); others get 403.
//!
//! [`Site::projects`]: crate::state::Site::projects

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::site::{Page, account_site_groups, check_site_admin, enc, page, site_base, site_group};
use super::{Table, respond};
use crate::app::AppState;
use crate::auth::SiteCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params};
use crate::family::Family;
use crate::paging::window;
use crate::state::jira_ops::JiraUserOutcome;
use crate::state::{
    AccountIx, Actor, DirIx, GroupIx, ModelError, Product, ResourceIx, Role, SiteIx, World,
};

const F: Family = Family::Jira;

/// Largest page of `users/search`, `users` and `user/search` (documented: 1000).
pub const USERS_MAX_RESULTS: usize = 1000;
/// Largest page of `group/member` (documented: "between 1 and 50").
pub const GROUP_MEMBER_MAX_RESULTS: usize = 50;
/// Largest page of `group/bulk`.
pub const GROUP_BULK_MAX_RESULTS: usize = 50;
/// Largest page of `user/bulk`.
pub const USER_BULK_MAX_RESULTS: usize = 100;
/// Largest page of `project/search` (documented maximum 100).
pub const PROJECT_SEARCH_MAX_RESULTS: usize = 100;

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![
        Table::new(F)
            .get("/rest/api/3/users/search", all_users)
            .get("/rest/api/3/users", all_users)
            .get("/rest/api/3/user/search", find_users)
            .get("/rest/api/3/user", get_user)
            .post("/rest/api/3/user", create_user)
            .delete("/rest/api/3/user", remove_user)
            .get("/rest/api/3/user/groups", user_groups)
            .get("/rest/api/3/user/bulk", bulk_users),
        Table::new(F)
            .get("/rest/api/3/group/bulk", bulk_groups)
            .get("/rest/api/3/group/member", group_members)
            .post("/rest/api/3/group", create_group)
            .delete("/rest/api/3/group", delete_group)
            .post("/rest/api/3/group/user", add_user_to_group)
            .delete("/rest/api/3/group/user", remove_user_from_group),
        Table::new(F)
            .get("/rest/api/3/applicationrole", application_roles)
            .get("/rest/api/3/applicationrole/{key}", application_role),
        Table::new(F)
            .get("/rest/api/3/role", all_project_roles)
            .get("/rest/api/3/project/search", search_projects)
            .get("/rest/api/3/project/{projectIdOrKey}/role", project_roles)
            .get(
                "/rest/api/3/project/{projectIdOrKey}/role/{id}",
                project_role,
            )
            .post(
                "/rest/api/3/project/{projectIdOrKey}/role/{id}",
                add_project_role_actors,
            )
            .delete(
                "/rest/api/3/project/{projectIdOrKey}/role/{id}",
                delete_project_role_actor,
            ),
    ]
}

// ---- helpers ------------------------------------------------------------------------------------

fn model(err: &ModelError) -> ApiError {
    ApiError::from_model(F, err)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(F, message)
}

fn missing(message: impl Into<String>) -> ApiError {
    ApiError::not_found(F, message)
}

fn field_error(field: &str, message: &str) -> ApiError {
    ApiError::bad_request(F, "").with_field(field, message)
}

fn user_not_found() -> ApiError {
    missing("Specified user does not exist or you do not have required permissions")
}

/// 403 unless the caller is a site admin of the addressed site.
fn require_site_admin(app: &AppState, caller: &SiteCaller) -> ApiResult<()> {
    app.read(|w| {
        check_site_admin(w, caller, || {
            ApiError::forbidden(
                F,
                "You must be a site administrator to perform this operation.",
            )
        })
    })
}

/// A `PageBean`: `self_url` is the request URL without `startAt`/`maxResults`.
fn page_bean(self_url: &str, p: Page, total: usize, values: Vec<Value>) -> Value {
    let sep = if self_url.contains('?') { '&' } else { '?' };
    let end = p.start.saturating_add(values.len());
    let is_last = end >= total;
    let mut bean = json!({
        "self": format!("{self_url}{sep}startAt={}&maxResults={}", p.start, p.limit),
        "maxResults": p.limit,
        "startAt": p.start,
        "total": total,
        "isLast": is_last,
        "values": values,
    });
    if !is_last {
        bean["nextPage"] = json!(format!(
            "{self_url}{sep}startAt={end}&maxResults={}",
            p.limit
        ));
    }
    bean
}

fn avatar_urls(name: &str, id: &str) -> Value {
    let mut initials: String = name
        .split_whitespace()
        .filter_map(|p| p.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if initials.is_empty() {
        initials.push('U');
    }
    let shade = id
        .bytes()
        .fold(0u32, |acc, b| acc.wrapping_add(u32::from(b)))
        % 6;
    let url = |size: u32| {
        format!(
            "https://avatar-management--avatars.server-location.prod.public.atl-paas.net/initials/{initials}-{shade}.png?size={size}&s={size}"
        )
    };
    json!({"16x16": url(16), "24x24": url(24), "32x32": url(32), "48x48": url(48)})
}

fn user_self(base: &str, account_id: &str) -> String {
    format!("{base}/rest/api/3/user?accountId={}", enc(account_id))
}

/// What `GET /user?expand=` asked for.
#[derive(Debug, Clone, Copy, Default)]
struct Expand {
    groups: bool,
    application_roles: bool,
}

impl Expand {
    fn parse(expand: Option<&str>) -> Expand {
        let mut out = Expand::default();
        for part in expand.unwrap_or("").split(',').map(str::trim) {
            match part {
                "groups" => out.groups = true,
                "applicationRoles" => out.application_roles = true,
                _ => {}
            }
        }
        out
    }
}

/// The fields `User` and `UserDetails` share.
fn user_base_json(w: &World, site: SiteIx, base: &str, ax: AccountIx) -> Value {
    let a = w.account(ax);
    json!({
        "self": user_self(base, &a.id),
        "accountId": a.id,
        "accountType": a.kind.as_str(),
        "avatarUrls": avatar_urls(&a.name, &a.id),
        "displayName": a.name,
        "active": w.active_on_site(ax, site),
        "timeZone": a.profile.time_zone,
    })
}

/// A `User` as the list endpoints return it.
fn user_json(w: &World, site: SiteIx, base: &str, ax: AccountIx) -> Value {
    let a = w.account(ax);
    let mut user = user_base_json(w, site, base, ax);
    user["locale"] = json!(a.locale);
    if let Some(email) = &a.email {
        user["emailAddress"] = json!(email);
    }
    if let Some(app_type) = &a.app_type {
        user["appType"] = json!(app_type);
    }
    user
}

/// A `User` as `GET /user` returns it: with `groups` and `applicationRoles` (their `size`
/// always, their `items` when expanded).
fn full_user_json(w: &World, site: SiteIx, base: &str, ax: AccountIx, expand: Expand) -> Value {
    let mut user = user_json(w, site, base, ax);
    let groups = user_groups_of(w, site, ax);
    let roles: Vec<ResourceIx> = w
        .jira_resources(site)
        .into_iter()
        .filter(|rx| w.has_product_access(ax, *rx))
        .collect();
    let group_items: Vec<Value> = if expand.groups {
        groups
            .iter()
            .map(|gx| group_name_json(w, base, *gx))
            .collect()
    } else {
        vec![]
    };
    let role_items: Vec<Value> = if expand.application_roles {
        roles
            .iter()
            .map(|rx| application_role_json(w, base, *rx))
            .collect()
    } else {
        vec![]
    };
    user["groups"] = json!({"size": groups.len(), "items": group_items});
    user["applicationRoles"] = json!({"size": roles.len(), "items": role_items});
    user["expand"] = json!("groups,applicationRoles");
    user
}

/// A `UserDetails` (group members, group user lists).
fn user_details_json(w: &World, site: SiteIx, base: &str, ax: AccountIx) -> Value {
    let mut user = user_base_json(w, site, base, ax);
    if let Some(email) = &w.account(ax).email {
        user["emailAddress"] = json!(email);
    }
    user
}

/// The live groups of the site's directory the account belongs to, by name.
fn user_groups_of(w: &World, site: SiteIx, ax: AccountIx) -> Vec<GroupIx> {
    let mut groups = account_site_groups(w, site, ax);
    sort_groups(w, &mut groups);
    groups
}

fn sort_groups(w: &World, groups: &mut [GroupIx]) {
    groups.sort_by_key(|gx| (w.group(*gx).name.to_lowercase(), *gx));
}

fn group_self(base: &str, group_id: &str) -> String {
    format!("{base}/rest/api/3/group?groupId={}", enc(group_id))
}

/// A `GroupName`.
fn group_name_json(w: &World, base: &str, gx: GroupIx) -> Value {
    let g = w.group(gx);
    json!({"name": g.name, "groupId": g.id, "self": group_self(base, &g.id)})
}

/// A `Group` (as group create and add-user return it; users not expanded).
fn group_json(w: &World, base: &str, gx: GroupIx) -> Value {
    let g = w.group(gx);
    json!({
        "name": g.name,
        "groupId": g.id,
        "self": group_self(base, &g.id),
        "users": {"size": g.members.len(), "items": [], "max-results": 50, "start-index": 0, "end-index": 0},
        "expand": "users",
    })
}

/// An `ApplicationRole` for one Jira-family resource.
fn application_role_json(w: &World, base: &str, rx: ResourceIx) -> Value {
    let resource = w.resource(rx);
    let default_group = w.default_group(rx, Role::User);
    let mut granting: Vec<GroupIx> = w
        .live_groups()
        .filter(|(gx, g)| {
            g.roles.contains(&(rx, Role::User))
                || g.roles.contains(&(rx, Role::Admin))
                || Some(*gx) == default_group
        })
        .map(|(gx, _)| gx)
        .collect();
    sort_groups(w, &mut granting);
    let used = w.seats_used(rx);
    let (seats, remaining) = match resource.seats {
        Some(s) => (i64::from(s), i64::from(s.saturating_sub(used))),
        None => (-1, -1),
    };
    let who = match resource.product {
        Product::JiraServiceDesk => "agents",
        Product::JiraProductDiscovery => "creators",
        _ => "users",
    };
    let names: Vec<&str> = granting
        .iter()
        .map(|gx| w.group(*gx).name.as_str())
        .collect();
    let details: Vec<Value> = granting
        .iter()
        .map(|gx| group_name_json(w, base, *gx))
        .collect();
    let default_names: Vec<&str> = default_group
        .iter()
        .map(|gx| w.group(*gx).name.as_str())
        .collect();
    let default_details: Vec<Value> = default_group
        .iter()
        .map(|gx| group_name_json(w, base, *gx))
        .collect();
    json!({
        "key": resource.product.key(),
        "name": resource.product.display_name(),
        "groups": names,
        "groupDetails": details,
        "defaultGroups": default_names,
        "defaultGroupsDetails": default_details,
        "selectedByDefault": false,
        "defined": false,
        "numberOfSeats": seats,
        "remainingSeats": remaining,
        "userCount": used,
        "userCountDescription": format!("{used} {who}"),
        "hasUnlimitedSeats": resource.seats.is_none(),
        "platform": false,
    })
}

/// The account with this id if it is on the site.
fn site_account(w: &World, site: SiteIx, account_id: &str) -> Option<AccountIx> {
    w.account_ix(account_id)
        .ok()
        .filter(|ax| w.is_site_account(*ax, site))
}

/// The live group of the site's directory named by `groupId` or `groupname`: 400 when neither
/// (or both) is given, 404 when there is no such group.
fn find_group(
    w: &World,
    site: SiteIx,
    group_id: Option<&str>,
    group_name: Option<&str>,
) -> ApiResult<GroupIx> {
    let dir = w.directory_of_site(site);
    let gx = match (
        group_id.filter(|s| !s.is_empty()),
        group_name.filter(|s| !s.is_empty()),
    ) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "The groupId and groupname parameters cannot be used together.",
            ));
        }
        (Some(id), None) => site_group(w, site, id),
        (None, Some(name)) => w.group_by_name(dir, name),
        (None, None) => {
            return Err(bad(
                "Either the groupId or the groupname parameter must be specified.",
            ));
        }
    };
    gx.ok_or_else(|| missing("The specified group does not exist."))
}

// ---- users ----------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageParams {
    start_at: Option<i64>,
    max_results: Option<i64>,
}

/// `GET /rest/api/3/users/search` and `GET /rest/api/3/users`: every account of the site,
/// active or not, as a bare array.
async fn all_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<PageParams>,
) -> ApiResult {
    let p = page(q.start_at, q.max_results, 50, USERS_MAX_RESULTS);
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        let all: Vec<AccountIx> = w.site_accounts(caller.site).collect();
        let values: Vec<Value> = all[window(all.len(), p.start, p.limit)]
            .iter()
            .map(|ax| user_json(w, caller.site, &base, *ax))
            .collect();
        Value::Array(values)
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindUsersParams {
    query: Option<String>,
    account_id: Option<String>,
    property: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
}

fn matches_query(w: &World, ax: AccountIx, query: &str) -> bool {
    let a = w.account(ax);
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    let name = a.name.to_lowercase();
    name.starts_with(&q)
        || name.split_whitespace().any(|word| word.starts_with(&q))
        || a.email.as_deref().is_some_and(|e| e.starts_with(&q))
}

/// `GET /rest/api/3/user/search`: active accounts matching `query` (prefix of the display name,
/// a word of it, or the email) or exactly `accountId`, up to the 1000th match.
async fn find_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<FindUsersParams>,
) -> ApiResult {
    if q.query.is_none() && q.account_id.is_none() && q.property.is_none() {
        return Err(bad(
            "One of 'query', 'accountId' or 'property' query parameters must be provided.",
        ));
    }
    if q.query.is_some() && q.account_id.is_some() {
        return Err(bad(
            "The 'query' and 'accountId' query parameters cannot be used together.",
        ));
    }
    if let Some(property) = &q.property
        && !property.contains('=')
    {
        return Err(bad(
            "The 'property' query parameter must have the form key.path=value.",
        ));
    }
    let p = page(q.start_at, q.max_results, 50, USERS_MAX_RESULTS);
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        let found: Vec<AccountIx> = w
            .site_accounts(caller.site)
            .filter(|ax| w.active_on_site(*ax, caller.site))
            .filter(|ax| {
                q.account_id
                    .as_deref()
                    .is_none_or(|id| w.account(*ax).id == id)
            })
            .filter(|ax| {
                q.query
                    .as_deref()
                    .is_none_or(|query| matches_query(w, *ax, query))
            })
            // The simulator keeps no user properties: a property filter matches nobody.
            .filter(|_| q.property.is_none())
            .take(USERS_MAX_RESULTS)
            .collect();
        let values: Vec<Value> = found[window(found.len(), p.start, p.limit)]
            .iter()
            .map(|ax| user_json(w, caller.site, &base, *ax))
            .collect();
        Value::Array(values)
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserParams {
    account_id: Option<String>,
    expand: Option<String>,
}

/// `GET /rest/api/3/user?accountId=&expand=groups,applicationRoles`.
async fn get_user(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<UserParams>,
) -> ApiResult {
    // The spec declares no 400 here: a missing accountId finds no user.
    let account_id = q.account_id.unwrap_or_default();
    let expand = Expand::parse(q.expand.as_deref());
    let body = app.read(|w| {
        let ax = site_account(w, caller.site, &account_id)?;
        Some(full_user_json(
            w,
            caller.site,
            &site_base(&app, w, caller.site),
            ax,
            expand,
        ))
    });
    body.map(|b| respond(StatusCode::OK, b))
        .ok_or_else(user_not_found)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUserDetails {
    email_address: Option<String>,
    products: Option<Vec<String>>,
}

/// `POST /rest/api/3/user` (legacy create user): see [`World::jira_create_user`].
async fn create_user(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<NewUserDetails>,
) -> ApiResult {
    require_site_admin(&app, &caller)?;
    let email = body.email_address.unwrap_or_default();
    if email.trim().is_empty() {
        return Err(field_error(
            "emailAddress",
            "You must specify an email address.",
        ));
    }
    let Some(keys) = body.products else {
        return Err(field_error(
            "products",
            "You must specify the products the user gets access to; use [] for none.",
        ));
    };
    let result = app.write(|w| {
        let mut products: Vec<ResourceIx> = vec![];
        for key in &keys {
            let product = match key.as_str() {
                "jira-software" => Product::JiraSoftware,
                "jira-servicedesk" => Product::JiraServiceDesk,
                "jira-product-discovery" => Product::JiraProductDiscovery,
                "jira-core" => {
                    return Err(field_error("products", "The product jira-core is not available on this site."));
                }
                other => {
                    return Err(field_error(
                        "products",
                        &format!(
                            "Invalid product '{other}'. Valid products are: jira-core, jira-servicedesk, jira-product-discovery, jira-software."
                        ),
                    ));
                }
            };
            let Some(rx) = w.site_resource(caller.site, product) else {
                return Err(field_error("products", &format!("The product {key} is not available on this site.")));
            };
            if !products.contains(&rx) {
                products.push(rx);
            }
        }
        let outcome = w.jira_create_user(caller.actor, caller.site, &email, &products).map_err(|e| match &e {
            ModelError::Invalid(m) => bad(m.clone()),
            _ => model(&e),
        })?;
        let ax = outcome.account();
        let base = site_base(&app, w, caller.site);
        Ok((outcome, full_user_json(w, caller.site, &base, ax, Expand::default())))
    })?;
    // 201 both for a new user and for one that already had Jira access (as documented).
    let (_outcome, user): (JiraUserOutcome, Value) = result;
    Ok(respond(StatusCode::CREATED, user))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountParam {
    account_id: Option<String>,
}

/// `DELETE /rest/api/3/user?accountId=`: removes the user from this site's Jira
/// ([`World::remove_from_jira`]); the Atlassian account stays.
async fn remove_user(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<AccountParam>,
) -> ApiResult {
    let Some(account_id) = q.account_id.filter(|s| !s.is_empty()) else {
        return Err(bad("The accountId query parameter is required."));
    };
    require_site_admin(&app, &caller)?;
    app.write(|w| {
        let ax = site_account(w, caller.site, &account_id).ok_or_else(user_not_found)?;
        w.remove_from_jira(caller.actor, caller.site, ax)
            .map_err(|e| match &e {
                // The spec's answer when "the user cannot be removed".
                ModelError::GroupIdpSynced(_) => bad(format!("The user cannot be removed: {e}")),
                _ => model(&e),
            })
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /rest/api/3/user/groups?accountId=`: the user's groups, as a bare array.
async fn user_groups(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<AccountParam>,
) -> ApiResult {
    let account_id = q.account_id.unwrap_or_default();
    let body = app.read(|w| {
        let ax = site_account(w, caller.site, &account_id)?;
        let base = site_base(&app, w, caller.site);
        Some(Value::Array(
            user_groups_of(w, caller.site, ax)
                .into_iter()
                .map(|gx| group_name_json(w, &base, gx))
                .collect(),
        ))
    });
    body.map(|b| respond(StatusCode::OK, b))
        .ok_or_else(user_not_found)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkUsersParams {
    start_at: Option<i64>,
    max_results: Option<i64>,
    #[serde(default)]
    account_id: Vec<String>,
}

/// `GET /rest/api/3/user/bulk?accountId=…&accountId=…`: a `PageBeanUser` of the named users
/// (unknown ids are left out).
async fn bulk_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<BulkUsersParams>,
) -> ApiResult {
    if q.account_id.is_empty() {
        return Err(bad("At least one accountId must be given."));
    }
    let p = page(q.start_at, q.max_results, 10, USER_BULK_MAX_RESULTS);
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        let mut found: Vec<AccountIx> = vec![];
        for id in &q.account_id {
            if let Some(ax) = site_account(w, caller.site, id)
                && !found.contains(&ax)
            {
                found.push(ax);
            }
        }
        let query: String = q
            .account_id
            .iter()
            .map(|id| format!("accountId={}", enc(id)))
            .collect::<Vec<_>>()
            .join("&");
        let values: Vec<Value> = found[window(found.len(), p.start, p.limit)]
            .iter()
            .map(|ax| user_json(w, caller.site, &base, *ax))
            .collect();
        page_bean(
            &format!("{base}/rest/api/3/user/bulk?{query}"),
            p,
            found.len(),
            values,
        )
    });
    Ok(respond(StatusCode::OK, body))
}

// ---- groups ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkGroupsParams {
    start_at: Option<i64>,
    max_results: Option<i64>,
    #[serde(default)]
    group_id: Vec<String>,
    #[serde(default)]
    group_name: Vec<String>,
    access_type: Option<String>,
    application_key: Option<String>,
}

/// `GET /rest/api/3/group/bulk`: a `PageBeanGroupDetails` of the site's groups, by name,
/// filtered by id/name (either list matches), access type and application.
async fn bulk_groups(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<BulkGroupsParams>,
) -> ApiResult {
    let access: Option<&[Role]> = match q.access_type.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("site-admin") => Some(&[Role::SiteAdmin]),
        Some("admin") => Some(&[Role::Admin]),
        Some("user") => Some(&[Role::User]),
        Some(other) => {
            return Err(bad(format!(
                "Invalid accessType '{other}'. Valid values: 'site-admin', 'admin', 'user'."
            )));
        }
    };
    let app_product: Option<Option<Product>> = match q
        .application_key
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some("jira-software") => Some(Some(Product::JiraSoftware)),
        Some("jira-servicedesk") => Some(Some(Product::JiraServiceDesk)),
        Some("jira-product-discovery") => Some(Some(Product::JiraProductDiscovery)),
        Some("jira-core") => Some(None),
        Some(other) => {
            return Err(bad(format!(
                "Invalid applicationKey '{other}'. Valid values: 'jira-servicedesk', 'jira-software', 'jira-product-discovery', 'jira-core'."
            )));
        }
    };
    let p = page(q.start_at, q.max_results, 50, GROUP_BULK_MAX_RESULTS);
    let body = app.read(|w| {
        let site = caller.site;
        let dir = w.directory_of_site(site);
        // The resources an access filter looks at.
        let resources: Vec<ResourceIx> = match (access, app_product) {
            (Some([Role::SiteAdmin]), _) => w
                .site_resource(site, Product::Platform)
                .into_iter()
                .collect(),
            (_, Some(product)) => product
                .and_then(|p| w.site_resource(site, p))
                .into_iter()
                .collect(),
            _ => w.jira_resources(site),
        };
        let roles: &[Role] = access.unwrap_or(&[Role::User, Role::Admin]);
        let filter_by_access = access.is_some() || app_product.is_some();
        let mut groups: Vec<GroupIx> = w
            .live_groups()
            .filter(|(_, g)| g.directory == dir)
            .filter(|(_, g)| {
                (q.group_id.is_empty() && q.group_name.is_empty())
                    || q.group_id.contains(&g.id)
                    || q.group_name.iter().any(|n| n.eq_ignore_ascii_case(&g.name))
            })
            .filter(|(_, g)| {
                !filter_by_access
                    || resources
                        .iter()
                        .any(|rx| roles.iter().any(|role| g.roles.contains(&(*rx, *role))))
            })
            .map(|(gx, _)| gx)
            .collect();
        sort_groups(w, &mut groups);
        let base = site_base(&app, w, site);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for id in &q.group_id {
            query.append_pair("groupId", id);
        }
        for name in &q.group_name {
            query.append_pair("groupName", name);
        }
        if let Some(a) = &q.access_type {
            query.append_pair("accessType", a);
        }
        if let Some(k) = &q.application_key {
            query.append_pair("applicationKey", k);
        }
        let query = query.finish();
        let self_url = if query.is_empty() {
            format!("{base}/rest/api/3/group/bulk")
        } else {
            format!("{base}/rest/api/3/group/bulk?{query}")
        };
        let values: Vec<Value> = groups[window(groups.len(), p.start, p.limit)]
            .iter()
            .map(|gx| json!({"groupId": w.group(*gx).id, "name": w.group(*gx).name}))
            .collect();
        page_bean(&self_url, p, groups.len(), values)
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupMemberParams {
    groupname: Option<String>,
    group_id: Option<String>,
    include_inactive_users: Option<bool>,
    start_at: Option<i64>,
    max_results: Option<i64>,
}

/// `GET /rest/api/3/group/member`: a `PageBeanUserDetails` of the group's members, ordered by
/// display name, at most 50 a page.
async fn group_members(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<GroupMemberParams>,
) -> ApiResult {
    let p = page(q.start_at, q.max_results, 50, GROUP_MEMBER_MAX_RESULTS);
    let include_inactive = q.include_inactive_users.unwrap_or(false);
    let body = app.read(|w| -> ApiResult<Value> {
        let site = caller.site;
        let gx = find_group(w, site, q.group_id.as_deref(), q.groupname.as_deref())?;
        let mut members: Vec<AccountIx> = w
            .group(gx)
            .members
            .iter()
            .copied()
            .filter(|ax| include_inactive || w.active_on_site(*ax, site))
            .collect();
        members.sort_by_key(|ax| (w.account(*ax).name.to_lowercase(), *ax));
        let base = site_base(&app, w, site);
        let self_url = format!(
            "{base}/rest/api/3/group/member?groupId={}&includeInactiveUsers={include_inactive}",
            enc(&w.group(gx).id)
        );
        let values: Vec<Value> = members[window(members.len(), p.start, p.limit)]
            .iter()
            .map(|ax| user_details_json(w, site, &base, *ax))
            .collect();
        Ok(page_bean(&self_url, p, members.len(), values))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct AddGroupBean {
    name: Option<String>,
}

/// `POST /rest/api/3/group` `{name}`: 201 `Group`; 400 when the name is taken.
async fn create_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<AddGroupBean>,
) -> ApiResult {
    require_site_admin(&app, &caller)?;
    let Some(name) = body.name.filter(|n| !n.trim().is_empty()) else {
        return Err(field_error("name", "You must specify a group name."));
    };
    let group = app.write(|w| {
        let dir = w.directory_of_site(caller.site);
        let gx = w
            .create_group(caller.actor, dir, &name, "")
            .map_err(|e| model(&e))?;
        Ok::<_, ApiError>(group_json(w, &site_base(&app, w, caller.site), gx))
    })?;
    Ok(respond(StatusCode::CREATED, group))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteGroupParams {
    groupname: Option<String>,
    group_id: Option<String>,
    swap_group: Option<String>,
    swap_group_id: Option<String>,
}

/// `DELETE /rest/api/3/group?groupId=&swapGroupId=`: 200. Default, admin and IdP-synced groups
/// are refused.
async fn delete_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<DeleteGroupParams>,
) -> ApiResult {
    require_site_admin(&app, &caller)?;
    app.write(|w| {
        let gx = find_group(
            w,
            caller.site,
            q.group_id.as_deref(),
            q.groupname.as_deref(),
        )?;
        if q.swap_group.is_some() || q.swap_group_id.is_some() {
            let swap = find_group(
                w,
                caller.site,
                q.swap_group_id.as_deref(),
                q.swap_group.as_deref(),
            )?;
            if swap == gx {
                return Err(bad("A group cannot transfer its restrictions to itself."));
            }
        }
        w.delete_group(caller.actor, gx).map_err(|e| model(&e))
    })?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupParams {
    groupname: Option<String>,
    group_id: Option<String>,
    account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateUserToGroupBean {
    account_id: Option<String>,
}

/// `POST /rest/api/3/group/user?groupId=` `{accountId}`: 201 `Group`. Refused for IdP-synced
/// groups (403), portal-only customers (400) and when the group's roles have no seat left (400).
async fn add_user_to_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<GroupParams>,
    Body(body): Body<UpdateUserToGroupBean>,
) -> ApiResult {
    let Some(account_id) = body.account_id.filter(|s| !s.is_empty()) else {
        return Err(field_error(
            "accountId",
            "You must specify the accountId of the user to add.",
        ));
    };
    require_site_admin(&app, &caller)?;
    let group = app.write(|w| {
        let gx = find_group(
            w,
            caller.site,
            q.group_id.as_deref(),
            q.groupname.as_deref(),
        )?;
        let ax = site_account(w, caller.site, &account_id).ok_or_else(user_not_found)?;
        w.add_member(caller.actor, gx, ax).map_err(|e| model(&e))?;
        Ok::<_, ApiError>(group_json(w, &site_base(&app, w, caller.site), gx))
    })?;
    Ok(respond(StatusCode::CREATED, group))
}

/// `DELETE /rest/api/3/group/user?groupId=&accountId=`: 200.
async fn remove_user_from_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<GroupParams>,
) -> ApiResult {
    let Some(account_id) = q.account_id.clone().filter(|s| !s.is_empty()) else {
        return Err(bad("The accountId query parameter is required."));
    };
    require_site_admin(&app, &caller)?;
    app.write(|w| {
        let gx = find_group(
            w,
            caller.site,
            q.group_id.as_deref(),
            q.groupname.as_deref(),
        )?;
        let ax = site_account(w, caller.site, &account_id).ok_or_else(user_not_found)?;
        w.remove_member(caller.actor, gx, ax).map_err(|e| model(&e))
    })?;
    Ok(StatusCode::OK.into_response())
}

// ---- application roles ------------------------------------------------------------------------------

/// `GET /rest/api/3/applicationrole`: the site's Jira-family applications, as a bare array.
async fn application_roles(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
) -> ApiResult {
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        Value::Array(
            w.jira_resources(caller.site)
                .into_iter()
                .map(|rx| application_role_json(w, &base, rx))
                .collect(),
        )
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct KeyPath {
    key: String,
}

/// `GET /rest/api/3/applicationrole/{key}`: 404 for `jira-core` and products the site lacks.
async fn application_role(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<KeyPath>,
) -> ApiResult {
    let body = app.read(|w| {
        let rx = Product::from_key(&path.key)
            .filter(|p| p.is_jira_family() && p.key() == path.key)
            .and_then(|p| w.site_resource(caller.site, p))?;
        Some(application_role_json(
            w,
            &site_base(&app, w, caller.site),
            rx,
        ))
    });
    body.map(|b| respond(StatusCode::OK, b)).ok_or_else(|| {
        missing(format!(
            "The application role '{}' does not exist.",
            path.key
        ))
    })
}

// ---- projects and project roles -----------------------------------------------------------------------

/// One project role of the seed's table: (id, name, description).
fn role_def(id: u64) -> Option<(u64, &'static str, &'static str)> {
    crate::seed::PROJECT_ROLES
        .iter()
        .find(|r| r.0 == id)
        .map(|r| (r.0, r.1, r.2))
}

fn role_self(base: &str, project_key: Option<&str>, id: u64) -> String {
    match project_key {
        Some(key) => format!("{base}/rest/api/3/project/{key}/role/{id}"),
        None => format!("{base}/rest/api/3/role/{id}"),
    }
}

/// The project (index in `Site::projects`) with this id or key (case-sensitive, as documented).
fn find_project(w: &World, site: SiteIx, id_or_key: &str) -> ApiResult<usize> {
    w.site(site)
        .projects
        .iter()
        .position(|p| p.key == id_or_key || p.id.to_string() == id_or_key)
        .ok_or_else(|| {
            missing(format!(
                "No project could be found with key or id '{id_or_key}'."
            ))
        })
}

/// A stable numeric id for a role actor (Jira's `RoleActor.id`).
fn actor_id(project_id: u64, role: u64, who: Actor) -> u64 {
    let (kind, ix) = match who {
        Actor::User(ax) => (1u64, u64::from(ax)),
        Actor::Group(gx) => (2u64, u64::from(gx)),
    };
    10_000 + (project_id % 1_000) * 1_000_000 + (role % 100) * 10_000 + kind * 5_000 + ix % 5_000
}

fn role_actor_json(w: &World, project_id: u64, role: u64, who: Actor) -> Value {
    match who {
        Actor::User(ax) => {
            let a = w.account(ax);
            json!({
                "id": actor_id(project_id, role, who),
                "displayName": a.name,
                "type": "atlassian-user-role-actor",
                "actorUser": {"accountId": a.id},
            })
        }
        Actor::Group(gx) => {
            let g = w.group(gx);
            json!({
                "id": actor_id(project_id, role, who),
                "displayName": g.name,
                "name": g.name,
                "type": "atlassian-group-role-actor",
                "actorGroup": {"name": g.name, "displayName": g.name, "groupId": g.id},
            })
        }
    }
}

/// A `ProjectRole` of one project with its actors, sorted by display name.
fn project_role_json(
    w: &World,
    site: SiteIx,
    base: &str,
    project: usize,
    role: u64,
    exclude_inactive: bool,
) -> Value {
    let p = &w.site(site).projects[project];
    let (id, name, description) = role_def(role).unwrap_or((role, "", ""));
    let mut actors: Vec<Actor> = p
        .role_actors
        .get(&role)
        .into_iter()
        .flatten()
        .copied()
        .filter(|a| match a {
            Actor::User(ax) => !exclude_inactive || w.active_on_site(*ax, site),
            Actor::Group(gx) => !w.group(*gx).deleted,
        })
        .collect();
    let label = |a: &Actor| match a {
        Actor::User(ax) => w.account(*ax).name.to_lowercase(),
        Actor::Group(gx) => w.group(*gx).name.to_lowercase(),
    };
    actors.sort_by_key(|a| (label(a), *a));
    json!({
        "self": role_self(base, Some(&p.key), id),
        "name": name,
        "id": id,
        "description": description,
        "actors": actors.iter().map(|a| role_actor_json(w, p.id, role, *a)).collect::<Vec<_>>(),
        "admin": name == "Administrators",
        "default": false,
        "roleConfigurable": true,
    })
}

/// `GET /rest/api/3/role`: every project role (without project actors).
async fn all_project_roles(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
) -> ApiResult {
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        Value::Array(
            crate::seed::PROJECT_ROLES
                .iter()
                .map(|r| {
                    json!({
                        "self": role_self(&base, None, r.0),
                        "name": r.1,
                        "id": r.0,
                        "description": r.2,
                        "admin": r.1 == "Administrators",
                        "default": false,
                        "roleConfigurable": true,
                    })
                })
                .collect(),
        )
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectSearchParams {
    start_at: Option<i64>,
    max_results: Option<i64>,
    query: Option<String>,
    type_key: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
}

/// `GET /rest/api/3/project/search`: a `PageBeanProject` of the site's projects by key, filtered
/// by `query` (in key or name), `typeKey` and `keys`.
async fn search_projects(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<ProjectSearchParams>,
) -> ApiResult {
    let p = page(q.start_at, q.max_results, 50, PROJECT_SEARCH_MAX_RESULTS);
    let body = app.read(|w| {
        let base = site_base(&app, w, caller.site);
        let needle = q.query.as_deref().unwrap_or("").to_lowercase();
        let mut projects: Vec<&crate::state::Project> = w
            .site(caller.site)
            .projects
            .iter()
            .filter(|pr| {
                needle.is_empty()
                    || pr.key.to_lowercase().contains(&needle)
                    || pr.name.to_lowercase().contains(&needle)
            })
            .filter(|pr| {
                q.type_key
                    .as_deref()
                    .is_none_or(|t| t.split(',').any(|t| t.trim() == pr.type_key))
            })
            .filter(|pr| q.keys.is_empty() || q.keys.contains(&pr.key))
            .collect();
        projects.sort_by(|a, b| a.key.cmp(&b.key));
        let values: Vec<Value> = projects[window(projects.len(), p.start, p.limit)]
            .iter()
            .map(|pr| {
                let avatar =
                    |size: &str| format!("{base}/secure/projectavatar?size={size}&pid={}", pr.id);
                json!({
                    "self": format!("{base}/rest/api/3/project/{}", pr.id),
                    "id": pr.id.to_string(),
                    "key": pr.key,
                    "name": pr.name,
                    "projectTypeKey": pr.type_key,
                    "simplified": false,
                    "style": "classic",
                    "isPrivate": false,
                    "avatarUrls": {
                        "16x16": avatar("xsmall"), "24x24": avatar("small"),
                        "32x32": avatar("medium"), "48x48": avatar("large"),
                    },
                })
            })
            .collect();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(v) = &q.query {
            query.append_pair("query", v);
        }
        if let Some(v) = &q.type_key {
            query.append_pair("typeKey", v);
        }
        for k in &q.keys {
            query.append_pair("keys", k);
        }
        let query = query.finish();
        let self_url = if query.is_empty() {
            format!("{base}/rest/api/3/project/search")
        } else {
            format!("{base}/rest/api/3/project/search?{query}")
        };
        page_bean(&self_url, p, projects.len(), values)
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct ProjectPath {
    #[serde(rename = "projectIdOrKey")]
    project: String,
}

/// `GET /rest/api/3/project/{projectIdOrKey}/role`: role name → role URL.
async fn project_roles(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<ProjectPath>,
) -> ApiResult {
    let body = app.read(|w| -> ApiResult<Value> {
        let pi = find_project(w, caller.site, &path.project)?;
        let base = site_base(&app, w, caller.site);
        let key = &w.site(caller.site).projects[pi].key;
        let map: serde_json::Map<String, Value> = crate::seed::PROJECT_ROLES
            .iter()
            .map(|r| (r.1.to_owned(), json!(role_self(&base, Some(key), r.0))))
            .collect();
        Ok(Value::Object(map))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct ProjectRolePath {
    #[serde(rename = "projectIdOrKey")]
    project: String,
    id: String,
}

/// Resolves `{projectIdOrKey}` and `{id}`: 404 for an unknown project or role.
fn find_project_role(w: &World, site: SiteIx, path: &ProjectRolePath) -> ApiResult<(usize, u64)> {
    let pi = find_project(w, site, &path.project)?;
    let role = path
        .id
        .parse::<u64>()
        .ok()
        .and_then(role_def)
        .map(|r| r.0)
        .ok_or_else(|| missing(format!("No project role with id {} exists.", path.id)))?;
    Ok((pi, role))
}

/// A project-role actor group given by id: 404 naming it when the site has no such group.
fn role_group_by_id(w: &World, site: SiteIx, id: &str) -> ApiResult<GroupIx> {
    site_group(w, site, id)
        .ok_or_else(|| missing(format!("The group with ID '{id}' does not exist.")))
}

/// A project-role actor group given by name: 404 naming it when the directory has none.
fn role_group_by_name(w: &World, dir: DirIx, name: &str) -> ApiResult<GroupIx> {
    w.group_by_name(dir, name)
        .ok_or_else(|| missing(format!("The group '{name}' does not exist.")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectRoleParams {
    exclude_inactive_users: Option<bool>,
}

/// `GET /rest/api/3/project/{projectIdOrKey}/role/{id}`: the role with its actors.
async fn project_role(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<ProjectRolePath>,
    Params(q): Params<ProjectRoleParams>,
) -> ApiResult {
    let body = app.read(|w| -> ApiResult<Value> {
        let (pi, role) = find_project_role(w, caller.site, &path)?;
        let base = site_base(&app, w, caller.site);
        Ok(project_role_json(
            w,
            caller.site,
            &base,
            pi,
            role,
            q.exclude_inactive_users.unwrap_or(false),
        ))
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActorsMap {
    #[serde(default)]
    user: Vec<String>,
    #[serde(default)]
    group: Vec<String>,
    #[serde(default)]
    group_id: Vec<String>,
}

/// `POST /rest/api/3/project/{projectIdOrKey}/role/{id}` `{"user":[…]}` / `{"groupId":[…]}` /
/// `{"group":[…]}`: 200 with the role and all its actors. Unknown or inactive users and
/// unknown groups: 404; an actor already in the role: 400 (nothing added).
async fn add_project_role_actors(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<ProjectRolePath>,
    Body(body): Body<ActorsMap>,
) -> ApiResult {
    if !body.group.is_empty() && !body.group_id.is_empty() {
        return Err(bad(
            "The group and groupId parameters cannot be used together.",
        ));
    }
    if body.user.is_empty() && body.group.is_empty() && body.group_id.is_empty() {
        return Err(bad("Specify the actors to add in user, groupId or group."));
    }
    let result = app.write(|w| -> ApiResult<Value> {
        let site = caller.site;
        let (pi, role) = find_project_role(w, site, &path)?;
        let dir = w.directory_of_site(site);
        let mut actors: Vec<Actor> = vec![];
        for id in &body.user {
            let ax = site_account(w, site, id)
                .filter(|ax| w.active_on_site(*ax, site))
                .ok_or_else(|| {
                    missing(format!(
                        "The user with account ID '{id}' does not exist or is not active."
                    ))
                })?;
            actors.push(Actor::User(ax));
        }
        for id in &body.group_id {
            actors.push(Actor::Group(role_group_by_id(w, site, id)?));
        }
        for name in &body.group {
            actors.push(Actor::Group(role_group_by_name(w, dir, name)?));
        }
        actors.sort_unstable();
        actors.dedup();
        w.add_project_role_actors(caller.actor, site, pi, role, &actors)
            .map_err(|e| match &e {
                ModelError::Invalid(m) => bad(m.clone()),
                ModelError::WrongAccountType(..) => bad(e.to_string()),
                _ => model(&e),
            })?;
        let base = site_base(&app, w, site);
        Ok(project_role_json(w, site, &base, pi, role, false))
    })?;
    Ok(respond(StatusCode::OK, result))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteActorParams {
    user: Option<String>,
    group: Option<String>,
    group_id: Option<String>,
}

/// `DELETE /rest/api/3/project/{projectIdOrKey}/role/{id}?user=|groupId=|group=`: 204.
async fn delete_project_role_actor(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(path): Path<ProjectRolePath>,
    Params(q): Params<DeleteActorParams>,
) -> ApiResult {
    let given = [q.user.is_some(), q.group.is_some(), q.group_id.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given != 1 {
        return Err(bad(
            "Specify exactly one of the user, groupId or group parameters.",
        ));
    }
    app.write(|w| -> ApiResult<()> {
        let site = caller.site;
        let (pi, role) = find_project_role(w, site, &path)?;
        let dir = w.directory_of_site(site);
        let who =
            if let Some(id) = &q.user {
                Actor::User(w.account_ix(id).map_err(|_| {
                    missing(format!("The user with account ID '{id}' does not exist."))
                })?)
            } else if let Some(id) = &q.group_id {
                Actor::Group(role_group_by_id(w, site, id)?)
            } else {
                Actor::Group(role_group_by_name(
                    w,
                    dir,
                    q.group.as_deref().unwrap_or_default(),
                )?)
            };
        w.remove_project_role_actor(caller.actor, site, pi, role, who)
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
