//! Confluence Cloud on a site: REST v1 (`/wiki/rest/api`: groups, users, user search, classic
//! space-permission writes) and REST v2 (`/wiki/api/v2`: spaces, space permissions, bulk users,
//! access checks and invites).
//!
//! Confluence is a view of the one model: groups and accounts are site-wide (the site's
//! directory), shared with Jira and the Org API. Writes to groups need a site admin; space
//! permission writes need `administer` on the space (a site admin always has it).
//!
//! v1 pages with `start`/`limit` and a relative `_links.next`; v2 pages with an opaque `cursor`,
//! `_links.next` and a `Link` header. Errors use each version's own shape (see
//! [`crate::error`]).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::site::{
    account_site_groups, check_site_admin, enc, site_base, site_group, start_offset,
};
use super::{Table, respond, split_list, ts};
use crate::app::AppState;
use crate::auth::SiteCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params};
use crate::family::Family;
use crate::paging::{Cursor, clamp_limit, window};
use crate::state::ops::{PermissionRule, is_plausible_email};
use crate::state::{AccountIx, AccountType, Actor, GroupIx, Product, Role, SiteIx, Space, World};

const V1: Family = Family::ConfluenceV1;
const V2: Family = Family::ConfluenceV2;

/// v1 page size default and maximum (groups, members, memberships).
const V1_MAX: usize = 200;
/// v1 user search default page size.
const SEARCH_DEFAULT: usize = 25;
/// v1 user search maximum page size.
const SEARCH_MAX: usize = 1000;
/// v2 page size default and maximum.
const V2_DEFAULT: usize = 25;
const V2_MAX: usize = 250;
/// Most account ids `POST /users-bulk` takes.
const BULK_MAX: usize = 250;
/// Most emails the access-check and invite APIs take.
const EMAILS_MAX: usize = 100;

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![
        Table::new(V1)
            .get("/wiki/rest/api/group", list_groups)
            .post("/wiki/rest/api/group", create_group)
            .get("/wiki/rest/api/group/by-id", get_group)
            .delete("/wiki/rest/api/group/by-id", delete_group)
            .get("/wiki/rest/api/group/picker", group_picker)
            .post("/wiki/rest/api/group/userByGroupId", add_group_member)
            .delete("/wiki/rest/api/group/userByGroupId", remove_group_member)
            .get(
                "/wiki/rest/api/group/{group_id}/membersByGroupId",
                group_members,
            )
            .get("/wiki/rest/api/user", get_user)
            .get("/wiki/rest/api/user/current", current_user)
            .get("/wiki/rest/api/user/memberof", member_of)
            .get("/wiki/rest/api/user/bulk", bulk_users)
            .get("/wiki/rest/api/search/user", search_users)
            .post(
                "/wiki/rest/api/space/{space_key}/permission",
                add_space_permission,
            )
            .delete(
                "/wiki/rest/api/space/{space_key}/permission/{id}",
                remove_space_permission,
            ),
        Table::new(V2)
            .get("/wiki/api/v2/spaces", list_spaces)
            .get("/wiki/api/v2/spaces/{id}", get_space)
            .get("/wiki/api/v2/spaces/{id}/permissions", space_permissions)
            .get("/wiki/api/v2/space-role-mode", space_role_mode)
            .post("/wiki/api/v2/users-bulk", users_bulk)
            .post(
                "/wiki/api/v2/user/access/check-access-by-email",
                check_access_by_email,
            )
            .post("/wiki/api/v2/user/access/invite-by-email", invite_by_email),
    ]
}

// ---- shared helpers --------------------------------------------------------------------------

/// `https://<site>.atlassian.net/wiki` as the simulator serves it.
fn wiki_base(app: &AppState, w: &World, site: SiteIx) -> String {
    format!("{}/wiki", site_base(app, w, site))
}

/// The account with `id` if Confluence on `site` can see it (directory members and apps;
/// portal-only customers are not Confluence users).
fn site_user(w: &World, site: SiteIx, id: &str) -> Option<AccountIx> {
    let ax = w.account_ix(id).ok()?;
    visible_on_site(w, site, ax).then_some(ax)
}

fn visible_on_site(w: &World, site: SiteIx, ax: AccountIx) -> bool {
    let a = w.account(ax);
    match a.kind {
        AccountType::App => true,
        AccountType::Atlassian => a.directories.contains_key(&w.directory_of_site(site)),
        AccountType::Customer => false,
    }
}

/// The site's live groups, alphabetical (case-insensitive), as Confluence lists them.
fn site_groups(w: &World, site: SiteIx) -> Vec<GroupIx> {
    let dir = w.directory_of_site(site);
    let mut groups: Vec<GroupIx> = w
        .live_groups()
        .filter(|(_, g)| g.directory == dir)
        .map(|(gx, _)| gx)
        .collect();
    sort_groups(w, &mut groups);
    groups
}

fn sort_groups(w: &World, groups: &mut [GroupIx]) {
    groups.sort_by_cached_key(|gx| (w.group(*gx).name.to_lowercase(), w.group(*gx).id.clone()));
}

/// Sorts accounts by display name (case-insensitive), then id, as Confluence lists people.
fn sort_accounts(w: &World, accounts: &mut [AccountIx]) {
    accounts.sort_by_cached_key(|ax| {
        (
            w.account(*ax).name.to_lowercase(),
            w.account(*ax).id.clone(),
        )
    });
}

/// Whether the account is a Confluence guest (`atlassian/guest`) on the site: the v1
/// `isExternalCollaborator` and v2 `isExternalCollaborator` flag.
fn is_guest(w: &World, site: SiteIx, ax: AccountIx) -> bool {
    w.site_resource(site, Product::Confluence)
        .is_some_and(|rx| w.holds(ax, rx, Role::Guest))
}

fn require_site_admin(w: &World, caller: &SiteCaller) -> Result<(), ApiError> {
    check_site_admin(w, caller, || {
        ApiError::forbidden(V1, "Only site admins can change groups.")
    })
}

fn missing(family: Family, name: &str) -> ApiError {
    ApiError::bad_request(family, format!("The query parameter '{name}' is required."))
}

/// The value of the required v1 query parameter `name`; absent or empty is a 400.
fn required(value: Option<String>, name: &str) -> Result<String, ApiError> {
    value
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing(V1, name))
}

/// The account with `id` if Confluence on `site` can see it; otherwise the v1 404.
fn v1_site_user(w: &World, site: SiteIx, id: &str) -> Result<AccountIx, ApiError> {
    site_user(w, site, id)
        .ok_or_else(|| ApiError::not_found(V1, format!("No user with accountId {id} exists.")))
}

/// The live group with `id` in the site's directory; otherwise the v1 404.
fn v1_site_group(w: &World, site: SiteIx, id: &str) -> Result<GroupIx, ApiError> {
    site_group(w, site, id)
        .ok_or_else(|| ApiError::not_found(V1, format!("No group with id {id} exists.")))
}

fn avatar() -> Value {
    json!({"path": "/wiki/aa-avatar/default.png", "width": 48, "height": 48, "isDefault": true})
}

// ---- v1 shapes -------------------------------------------------------------------------------

fn v1_group(base: &str, w: &World, gx: GroupIx) -> Value {
    let g = w.group(gx);
    json!({
        "type": "group",
        "name": g.name,
        "id": g.id,
        "_links": {"self": format!("{base}/rest/api/group/by-id?id={}", enc(&g.id))},
    })
}

fn v1_account_type(kind: AccountType) -> &'static str {
    match kind {
        AccountType::Atlassian => "atlassian",
        AccountType::App => "app",
        AccountType::Customer => "",
    }
}

fn v1_user(base: &str, w: &World, site: SiteIx, ax: AccountIx) -> Value {
    let a = w.account(ax);
    let guest = is_guest(w, site, ax);
    json!({
        "type": "known",
        "accountId": a.id,
        "accountType": v1_account_type(a.kind),
        "email": a.email.clone().unwrap_or_default(),
        "publicName": a.nickname,
        "profilePicture": avatar(),
        "displayName": a.name,
        "timeZone": a.profile.time_zone,
        "isExternalCollaborator": guest,
        "externalCollaborator": guest,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {
            "self": format!("{base}/rest/api/user?accountId={}", enc(&a.id)),
            "base": base,
            "context": "/wiki",
        },
    })
}

/// v1 `start`/`limit` paging.
#[derive(Debug, Deserialize)]
struct V1Paging {
    start: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "shouldReturnTotalSize")]
    should_return_total_size: Option<bool>,
}

/// One v1 page: `{results,start,limit,size,_links:{base,context,self,next?}}`; `next` is
/// relative to `/wiki` and repeats `query` (already encoded `k=v` pairs).
struct V1Page<'a> {
    base: &'a str,
    path: &'a str,
    query: Vec<String>,
    start: usize,
    limit: usize,
    total_size: bool,
}

impl V1Page<'_> {
    /// The page of `items` this request asks for, each item rendered by `item`.
    fn render<T>(&self, items: &[T], item: impl FnMut(&T) -> Value) -> Value {
        let total = items.len();
        let results: Vec<Value> = items[window(total, self.start, self.limit)]
            .iter()
            .map(item)
            .collect();
        let size = results.len();
        let mut links = json!({
            "base": self.base,
            "context": "/wiki",
            "self": format!("{}{}", self.base, self.path),
        });
        if self.start + size < total && size > 0 {
            let mut q = self.query.clone();
            q.push(format!("limit={}", self.limit));
            q.push(format!("start={}", self.start + size));
            links["next"] = json!(format!("{}?{}", self.path, q.join("&")));
        }
        let mut body = json!({
            "results": results,
            "start": self.start,
            "limit": self.limit,
            "size": size,
            "_links": links,
        });
        if self.total_size {
            body["totalSize"] = json!(total);
        }
        body
    }
}

// ---- v1 groups -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ListGroupsQuery {
    start: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "shouldReturnTotalSize")]
    should_return_total_size: Option<bool>,
    #[serde(rename = "accessType")]
    access_type: Option<String>,
}

/// `GET /wiki/rest/api/group`: the site's groups, alphabetical, optionally only those granting
/// Confluence user or admin access or site admin.
async fn list_groups(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<ListGroupsQuery>,
) -> ApiResult {
    let access = match q.access_type.as_deref() {
        None | Some("") => None,
        Some("user") => Some((Product::Confluence, Role::User)),
        Some("admin") => Some((Product::Confluence, Role::Admin)),
        Some("site-admin") => Some((Product::Platform, Role::SiteAdmin)),
        Some(other) => {
            return Err(ApiError::bad_request(
                V1,
                format!("accessType must be user, admin or site-admin, not '{other}'."),
            ));
        }
    };
    let limit = clamp_limit(q.limit, V1_MAX, V1_MAX);
    let start = start_offset(q.start);
    let body = app.read(|w| {
        let base = wiki_base(&app, w, caller.site);
        let mut groups = site_groups(w, caller.site);
        if let Some((product, role)) = access {
            let rx = w.site_resource(caller.site, product);
            groups.retain(|gx| {
                let g = w.group(*gx);
                rx.is_some_and(|rx| {
                    g.roles.contains(&(rx, role)) || g.default_for == Some((rx, role))
                })
            });
        }
        let query = q
            .access_type
            .iter()
            .map(|a| format!("accessType={}", enc(a)))
            .collect();
        V1Page {
            base: &base,
            path: "/rest/api/group",
            query,
            start,
            limit,
            total_size: q.should_return_total_size.unwrap_or(false),
        }
        .render(&groups, |gx| v1_group(&base, w, *gx))
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct GroupName {
    name: String,
}

/// `POST /wiki/rest/api/group` `{name}` → 201 Group. Site admins only.
async fn create_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<GroupName>,
) -> ApiResult {
    let body = app.write(|w| {
        require_site_admin(w, &caller)?;
        let dir = w.directory_of_site(caller.site);
        let gx = w
            .create_group(caller.actor, dir, &body.name, "")
            .map_err(|e| ApiError::from_model(V1, &e))?;
        Ok::<_, ApiError>(v1_group(&wiki_base(&app, w, caller.site), w, gx))
    })?;
    Ok(respond(StatusCode::CREATED, body))
}

#[derive(Debug, Deserialize)]
struct IdQuery {
    id: Option<String>,
}

/// `GET /wiki/rest/api/group/by-id?id=`.
async fn get_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<IdQuery>,
) -> ApiResult {
    let id = required(q.id, "id")?;
    let body = app.read(|w| {
        let gx = v1_site_group(w, caller.site, &id)?;
        Ok::<_, ApiError>(v1_group(&wiki_base(&app, w, caller.site), w, gx))
    })?;
    Ok(respond(StatusCode::OK, body))
}

/// `DELETE /wiki/rest/api/group/by-id?id=` → 204. Site admins only; default, admin and
/// IdP-synced groups are refused.
async fn delete_group(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<IdQuery>,
) -> ApiResult {
    let id = required(q.id, "id")?;
    app.write(|w| {
        require_site_admin(w, &caller)?;
        let gx = v1_site_group(w, caller.site, &id)?;
        w.delete_group(caller.actor, gx)
            .map_err(|e| ApiError::from_model(V1, &e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct PickerQuery {
    query: Option<String>,
    start: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "shouldReturnTotalSize")]
    should_return_total_size: Option<bool>,
}

/// `GET /wiki/rest/api/group/picker?query=`: groups whose name contains the query.
async fn group_picker(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<PickerQuery>,
) -> ApiResult {
    let query = q.query.clone().ok_or_else(|| missing(V1, "query"))?;
    let needle = query.trim().to_lowercase();
    let limit = clamp_limit(q.limit, V1_MAX, V1_MAX);
    let start = start_offset(q.start);
    let body = app.read(|w| {
        let base = wiki_base(&app, w, caller.site);
        let mut groups = site_groups(w, caller.site);
        groups.retain(|gx| w.group(*gx).name.to_lowercase().contains(&needle));
        V1Page {
            base: &base,
            path: "/rest/api/group/picker",
            query: vec![format!("query={}", enc(&query))],
            start,
            limit,
            total_size: q.should_return_total_size.unwrap_or(false),
        }
        .render(&groups, |gx| v1_group(&base, w, *gx))
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct GroupPath {
    group_id: String,
}

/// `GET /wiki/rest/api/group/{groupId}/membersByGroupId`: members by display name; a limit over
/// 200 is refused (400) as documented.
async fn group_members(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(p): Path<GroupPath>,
    Params(q): Params<V1Paging>,
) -> ApiResult {
    if q.limit.is_some_and(|l| l > V1_MAX as i64) {
        return Err(ApiError::bad_request(
            V1,
            format!("The limit cannot be greater than {V1_MAX}."),
        ));
    }
    let limit = clamp_limit(q.limit, V1_MAX, V1_MAX);
    let start = start_offset(q.start);
    let body = app.read(|w| {
        let gx = v1_site_group(w, caller.site, &p.group_id)?;
        let base = wiki_base(&app, w, caller.site);
        let mut members: Vec<AccountIx> = w
            .group(gx)
            .members
            .iter()
            .copied()
            .filter(|ax| w.account(*ax).kind != AccountType::Customer)
            .collect();
        sort_accounts(w, &mut members);
        let path = format!("/rest/api/group/{}/membersByGroupId", enc(&p.group_id));
        Ok::<_, ApiError>(
            V1Page {
                base: &base,
                path: &path,
                query: vec![],
                start,
                limit,
                total_size: q.should_return_total_size.unwrap_or(false),
            }
            .render(&members, |ax| v1_user(&base, w, caller.site, *ax)),
        )
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct GroupIdQuery {
    #[serde(rename = "groupId")]
    group_id: Option<String>,
    #[serde(rename = "accountId")]
    account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AccountIdBody {
    #[serde(rename = "accountId")]
    account_id: String,
}

/// `POST /wiki/rest/api/group/userByGroupId?groupId=` `{accountId}` → 201. Site admins only.
async fn add_group_member(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<GroupIdQuery>,
    Body(body): Body<AccountIdBody>,
) -> ApiResult {
    let group_id = required(q.group_id, "groupId")?;
    app.write(|w| {
        require_site_admin(w, &caller)?;
        let gx = v1_site_group(w, caller.site, &group_id)?;
        let ax = site_user(w, caller.site, &body.account_id).ok_or_else(|| {
            ApiError::bad_request(
                V1,
                format!("No user with accountId {} exists.", body.account_id),
            )
        })?;
        w.add_member(caller.actor, gx, ax)
            .map_err(|e| ApiError::from_model(V1, &e))
    })?;
    Ok(StatusCode::CREATED.into_response())
}

/// `DELETE /wiki/rest/api/group/userByGroupId?groupId=&accountId=` → 204 (also when the user
/// was not a member). Site admins only.
async fn remove_group_member(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<GroupIdQuery>,
) -> ApiResult {
    let group_id = required(q.group_id, "groupId")?;
    let account_id = required(q.account_id, "accountId")?;
    app.write(|w| {
        require_site_admin(w, &caller)?;
        let gx = v1_site_group(w, caller.site, &group_id)?;
        let ax = v1_site_user(w, caller.site, &account_id)?;
        w.remove_member(caller.actor, gx, ax)
            .map_err(|e| ApiError::from_model(V1, &e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- v1 users --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct AccountQuery {
    #[serde(rename = "accountId")]
    account_id: Option<String>,
    start: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "shouldReturnTotalSize")]
    should_return_total_size: Option<bool>,
}

/// `GET /wiki/rest/api/user?accountId=`.
async fn get_user(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<AccountQuery>,
) -> ApiResult {
    let id = required(q.account_id, "accountId")?;
    let body = app.read(|w| {
        let ax = v1_site_user(w, caller.site, &id)?;
        Ok::<_, ApiError>(v1_user(
            &wiki_base(&app, w, caller.site),
            w,
            caller.site,
            ax,
        ))
    })?;
    Ok(respond(StatusCode::OK, body))
}

/// `GET /wiki/rest/api/user/current`: the account whose credentials were used.
async fn current_user(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
) -> ApiResult {
    let body = app.read(|w| {
        v1_user(
            &wiki_base(&app, w, caller.site),
            w,
            caller.site,
            caller.actor,
        )
    });
    Ok(respond(StatusCode::OK, body))
}

/// `GET /wiki/rest/api/user/memberof?accountId=`: the user's groups on the site, alphabetical.
/// An account the site cannot see has no groups (the spec declares no 404 here).
async fn member_of(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<AccountQuery>,
) -> ApiResult {
    let id = required(q.account_id.clone(), "accountId")?;
    let limit = clamp_limit(q.limit, V1_MAX, V1_MAX);
    let start = start_offset(q.start);
    let body = app.read(|w| {
        let base = wiki_base(&app, w, caller.site);
        let mut groups = site_user(w, caller.site, &id)
            .map(|ax| account_site_groups(w, caller.site, ax))
            .unwrap_or_default();
        sort_groups(w, &mut groups);
        V1Page {
            base: &base,
            path: "/rest/api/user/memberof",
            query: vec![format!("accountId={}", enc(&id))],
            start,
            limit,
            total_size: q.should_return_total_size.unwrap_or(false),
        }
        .render(&groups, |gx| v1_group(&base, w, *gx))
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct BulkQuery {
    #[serde(rename = "accountId", default)]
    account_id: Vec<String>,
    limit: Option<i64>,
}

/// `GET /wiki/rest/api/user/bulk?accountId=a,b`: the users the site knows, in request order;
/// unknown ids are left out.
async fn bulk_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<BulkQuery>,
) -> ApiResult {
    let mut ids: Vec<String> = vec![];
    for id in q
        .account_id
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
    if ids.is_empty() {
        return Err(missing(V1, "accountId"));
    }
    let limit = clamp_limit(q.limit, V1_MAX, V1_MAX);
    let body = app.read(|w| {
        let base = wiki_base(&app, w, caller.site);
        let results: Vec<Value> = ids
            .iter()
            .filter_map(|id| site_user(w, caller.site, id))
            .take(limit)
            .map(|ax| v1_user(&base, w, caller.site, ax))
            .collect();
        json!({
            "results": results,
            "start": 0,
            "limit": limit,
            "size": results.len(),
            "_links": {"base": base, "context": "/wiki", "self": format!("{base}/rest/api/user/bulk")},
        })
    });
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    cql: Option<String>,
    start: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "sitePermissionTypeFilter")]
    site_permission_type_filter: Option<String>,
}

/// What a user CQL query asks for.
#[derive(Debug, Default)]
struct UserCql {
    fullname: Option<String>,
    account_id: Option<String>,
}

/// Parses the user CQL the simulator supports: `type = user`, optionally `AND`ed with
/// `user.fullname ~ "text"` and `user = "<accountId>"` (or `user.accountid`).
fn parse_user_cql(cql: &str) -> Result<UserCql, String> {
    let mut out = UserCql::default();
    let mut has_type = false;
    for clause in split_and(cql) {
        let clause = clause.trim();
        let (field, op, value) = ["!=", "~", "="]
            .iter()
            .find_map(|op| {
                clause
                    .split_once(op)
                    .map(|(f, v)| (f.trim().to_lowercase(), *op, v.trim()))
            })
            .ok_or_else(|| format!("Could not parse cql : {cql}"))?;
        let value = value.trim_matches(|c| c == '"' || c == '\'').to_owned();
        match (field.as_str(), op) {
            ("type", "=") if value.eq_ignore_ascii_case("user") => has_type = true,
            ("type", _) => {
                return Err(format!(
                    "The user search only supports type=user (got {clause})."
                ));
            }
            ("user.fullname", "~") => out.fullname = Some(value.to_lowercase()),
            ("user" | "user.accountid", "=") => out.account_id = Some(value),
            _ => return Err(format!("Could not parse cql : {cql}")),
        }
    }
    if !has_type {
        return Err("The user search needs type=user in the cql.".to_owned());
    }
    Ok(out)
}

/// Splits a CQL string on `AND` (any case) outside quotes.
fn split_and(cql: &str) -> Vec<String> {
    let mut parts = vec![];
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = cql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {
                let rest: String = chars[i..chars.len().min(i + 5)].iter().collect();
                let at_boundary = i == 0 || chars[i - 1].is_whitespace();
                if at_boundary && rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("and ") {
                    parts.push(std::mem::take(&mut current));
                    i += 4;
                    continue;
                }
            }
        }
        current.push(c);
        i += 1;
    }
    parts.push(current);
    parts
}

/// `GET /wiki/rest/api/search/user?cql=type=user`: users with Confluence access on the site
/// (`sitePermissionTypeFilter`: `none` = licensed users, `externalCollaborator` = guests,
/// `all` = both), by display name, paged with `start`/`limit`.
async fn search_users(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<SearchQuery>,
) -> ApiResult {
    let cql = q
        .cql
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| missing(V1, "cql"))?;
    let parsed = parse_user_cql(&cql).map_err(|m| ApiError::bad_request(V1, m))?;
    let (licensed, guests) = match q.site_permission_type_filter.as_deref() {
        None | Some("none") => (true, false),
        Some("externalCollaborator") => (false, true),
        Some("all") => (true, true),
        Some(other) => {
            return Err(ApiError::bad_request(
                V1,
                format!(
                    "sitePermissionTypeFilter must be all, externalCollaborator or none, not '{other}'."
                ),
            ));
        }
    };
    let limit = clamp_limit(q.limit, SEARCH_DEFAULT, SEARCH_MAX);
    let start = start_offset(q.start);
    let body = app.read(|w| {
        let base = wiki_base(&app, w, caller.site);
        let rx = w.site_resource(caller.site, Product::Confluence);
        let mut users: Vec<AccountIx> = match rx {
            None => vec![],
            Some(rx) => w
                .site_accounts(caller.site)
                .filter(|ax| w.account(*ax).kind != AccountType::Customer)
                .filter(|ax| {
                    let lic = w.holds(*ax, rx, Role::User) || w.holds(*ax, rx, Role::Admin);
                    let guest = !lic && w.holds(*ax, rx, Role::Guest);
                    (licensed && lic) || (guests && guest)
                })
                .filter(|ax| {
                    let a = w.account(*ax);
                    parsed
                        .fullname
                        .as_ref()
                        .is_none_or(|f| a.name.to_lowercase().contains(f))
                        && parsed.account_id.as_ref().is_none_or(|id| &a.id == id)
                })
                .collect(),
        };
        sort_accounts(w, &mut users);
        let mut query = vec![format!("cql={}", enc(&cql))];
        if let Some(f) = &q.site_permission_type_filter {
            query.push(format!("sitePermissionTypeFilter={}", enc(f)));
        }
        let mut body = V1Page {
            base: &base,
            path: "/rest/api/search/user",
            query,
            start,
            limit,
            total_size: true,
        }
        .render(&users, |ax| {
            let a = w.account(*ax);
            json!({
                "user": v1_user(&base, w, caller.site, *ax),
                "title": a.name,
                "excerpt": "",
                "url": format!("/people/{}", enc(&a.id)),
                "breadcrumbs": [],
                "entityType": "user",
                "iconCssClass": "aui-icon content-type-profile",
                "lastModified": ts(a.added_to_org),
                "score": 0.0,
            })
        });
        body["cqlQuery"] = json!(cql);
        body["searchDuration"] = json!(1);
        body
    });
    Ok(respond(StatusCode::OK, body))
}

// ---- v1 space permissions --------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct SpaceKeyPath {
    space_key: String,
}

#[derive(Debug, Deserialize)]
struct SpacePermissionPath {
    space_key: String,
    id: String,
}

#[derive(Debug, Deserialize)]
struct PermissionSubject {
    #[serde(rename = "type")]
    kind: String,
    identifier: String,
}

#[derive(Debug, Deserialize)]
struct PermissionOperation {
    key: String,
    target: String,
}

#[derive(Debug, Deserialize)]
struct SpacePermissionRequest {
    subject: PermissionSubject,
    operation: PermissionOperation,
}

fn find_space(w: &World, site: SiteIx, key: &str) -> Result<usize, ApiError> {
    w.space_by_key(site, key)
        .ok_or_else(|| ApiError::not_found(V1, format!("No space with key {key} exists.")))
}

fn require_space_admin(w: &World, caller: &SiteCaller, space: usize) -> Result<(), ApiError> {
    if w.can_administer_space(caller.site, space, caller.actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            V1,
            "You need the 'administer' permission on this space.",
        ))
    }
}

/// `POST /wiki/rest/api/space/{spaceKey}/permission` → 200 `SpacePermissionV2`. 400 when the
/// permission already exists, the principal lacks `read space`, or the group or user is unknown.
async fn add_space_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(p): Path<SpaceKeyPath>,
    Body(body): Body<SpacePermissionRequest>,
) -> ApiResult {
    let out = app.write(|w| {
        let space = find_space(w, caller.site, &p.space_key)?;
        require_space_admin(w, &caller, space)?;
        let ident = body.subject.identifier.trim();
        let principal = match body.subject.kind.as_str() {
            "user" => Actor::User(site_user(w, caller.site, ident).ok_or_else(|| {
                ApiError::bad_request(
                    V1,
                    format!("No user found with the given accountId {ident}."),
                )
            })?),
            "group" => {
                let dir = w.directory_of_site(caller.site);
                let gx = site_group(w, caller.site, ident)
                    .or_else(|| w.group_by_name(dir, ident))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            V1,
                            format!("No group found with the given groupName or groupId {ident}."),
                        )
                    })?;
                Actor::Group(gx)
            }
            other => {
                return Err(ApiError::bad_request(
                    V1,
                    format!("subject.type must be user or group, not '{other}'."),
                ));
            }
        };
        let id = w
            .add_space_permission(
                caller.actor,
                caller.site,
                space,
                principal,
                &body.operation.key,
                &body.operation.target,
            )
            .map_err(|e| ApiError::from_model(V1, &e))?;
        let identifier = match principal {
            Actor::User(ax) => w.account(ax).id.clone(),
            Actor::Group(gx) => w.group(gx).id.clone(),
        };
        let base = wiki_base(&app, w, caller.site);
        Ok(json!({
            "id": id,
            "subject": {"type": body.subject.kind, "identifier": identifier},
            "operation": {"key": body.operation.key, "target": body.operation.target},
            "_links": {"base": base, "context": "/wiki"},
        }))
    })?;
    Ok(respond(StatusCode::OK, out))
}

/// `DELETE /wiki/rest/api/space/{spaceKey}/permission/{id}` → 204. 400 when it is the space's
/// last admin permission.
async fn remove_space_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(p): Path<SpacePermissionPath>,
) -> ApiResult {
    let id: u64 = p.id.parse().map_err(|_| {
        ApiError::bad_request(
            V1,
            format!("The permission id must be a number, not '{}'.", p.id),
        )
    })?;
    app.write(|w| {
        let space = find_space(w, caller.site, &p.space_key)?;
        require_space_admin(w, &caller, space)?;
        w.remove_space_permission(caller.actor, caller.site, space, id)
            .map_err(|e| ApiError::from_model(V1, &e))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- v2 --------------------------------------------------------------------------------------

/// A v2 list page: `{results, _links:{next?, base}}` plus the `Link` header when there is a
/// next page.
fn v2_page(base: &str, results: Vec<Value>, next: Option<String>) -> Response {
    let mut links = json!({"base": base});
    let link_header = next
        .as_ref()
        .map(|n| format!("<{n}>; rel=\"next\", <{base}>; rel=\"base\""));
    if let Some(next) = next {
        links["next"] = json!(next);
    }
    let mut response = respond(StatusCode::OK, json!({"results": results, "_links": links}));
    if let Some(value) = link_header.and_then(|h| HeaderValue::from_str(&h).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// Resolves the page of a cursor-paged v2 list: `(offset, limit)`. A cursor made for another
/// query is refused.
fn v2_window(
    cursor: Option<&str>,
    limit: Option<i64>,
    query: &Value,
) -> Result<(usize, usize), ApiError> {
    let limit = clamp_limit(limit, V2_DEFAULT, V2_MAX);
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok((0, limit)),
        Some(token) => {
            let c = Cursor::decode(token)
                .filter(|c| c.query.as_ref() == Some(query))
                .ok_or_else(|| {
                    ApiError::bad_request(V2, "The cursor is invalid or belongs to another query.")
                })?;
            Ok((c.offset, limit))
        }
    }
}

fn v2_space(w: &World, space: &Space) -> Value {
    json!({
        "id": space.id.to_string(),
        "key": space.key,
        "name": space.name,
        "type": space.kind,
        "status": "current",
        "authorId": w.account(w.integration_account()).id,
        "createdAt": ts(space.created_at),
        "_links": {"webui": format!("/spaces/{}", space.key)},
    })
}

#[derive(Debug, Deserialize)]
struct SpacesQuery {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /wiki/api/v2/spaces`: the site's spaces (filters `ids`, `keys`, `type`, `status`;
/// `sort`), cursor-paged.
async fn list_spaces(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Params(q): Params<SpacesQuery>,
) -> ApiResult {
    let ids: Vec<u64> = split_list(&q.ids)
        .iter()
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(V2, format!("ids must be numbers, not '{s}'.")))
        })
        .collect::<Result<_, _>>()?;
    let keys = split_list(&q.keys);
    let sort = q.sort.clone().unwrap_or_else(|| "id".to_owned());
    if !["id", "-id", "key", "-key", "name", "-name"].contains(&sort.as_str()) {
        return Err(ApiError::bad_request(V2, format!("Invalid sort '{sort}'.")));
    }
    if let Some(kind) = &q.kind
        && !["global", "collaboration", "knowledge_base", "personal"].contains(&kind.as_str())
    {
        return Err(ApiError::bad_request(
            V2,
            format!("Invalid space type '{kind}'."),
        ));
    }
    if let Some(status) = &q.status
        && !["current", "archived"].contains(&status.as_str())
    {
        return Err(ApiError::bad_request(
            V2,
            format!("Invalid space status '{status}'."),
        ));
    }
    let fingerprint =
        json!({"ids": ids, "keys": keys, "type": q.kind, "status": q.status, "sort": sort});
    let (offset, limit) = v2_window(q.cursor.as_deref(), q.limit, &fingerprint)?;
    let response = app.read(|w| {
        let base = wiki_base(&app, w, caller.site);
        let mut spaces: Vec<&Space> = w
            .site(caller.site)
            .spaces
            .iter()
            .filter(|s| ids.is_empty() || ids.contains(&s.id))
            .filter(|s| keys.is_empty() || keys.contains(&s.key))
            .filter(|s| q.kind.as_ref().is_none_or(|k| &s.kind == k))
            .filter(|_| q.status.as_deref() != Some("archived"))
            .collect();
        match sort.trim_start_matches('-') {
            "key" => spaces.sort_by(|a, b| a.key.cmp(&b.key)),
            "name" => spaces.sort_by_cached_key(|s| (s.name.to_lowercase(), s.id)),
            _ => spaces.sort_by_key(|s| s.id),
        }
        if sort.starts_with('-') {
            spaces.reverse();
        }
        let range = window(spaces.len(), offset, limit);
        let end = range.end;
        let results = spaces[range].iter().map(|s| v2_space(w, s)).collect();
        let next = (end < spaces.len()).then(|| {
            let cursor = Cursor {
                offset: end,
                limit,
                query: Some(fingerprint.clone()),
            }
            .encode();
            let mut qs: Vec<String> = vec![];
            if !ids.is_empty() {
                qs.push(format!(
                    "ids={}",
                    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
                ));
            }
            if !keys.is_empty() {
                qs.push(format!("keys={}", enc(&keys.join(","))));
            }
            for (name, value) in [("type", &q.kind), ("status", &q.status), ("sort", &q.sort)] {
                if let Some(v) = value {
                    qs.push(format!("{name}={}", enc(v)));
                }
            }
            qs.push(format!("limit={limit}"));
            qs.push(format!("cursor={cursor}"));
            format!("/wiki/api/v2/spaces?{}", qs.join("&"))
        });
        v2_page(&base, results, next)
    });
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct SpaceIdPath {
    id: String,
}

fn parse_space_id(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad_request(V2, format!("The space id must be a number, not '{id}'."))
    })
}

fn space_not_found(id: u64) -> ApiError {
    ApiError::not_found(
        V2,
        format!("Space {id} was not found or you cannot see it."),
    )
}

/// `GET /wiki/api/v2/spaces/{id}`.
async fn get_space(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(p): Path<SpaceIdPath>,
) -> ApiResult {
    let id = parse_space_id(&p.id)?;
    let body = app.read(|w| {
        let ix = w
            .space_by_id(caller.site, id)
            .ok_or_else(|| space_not_found(id))?;
        let mut body = v2_space(w, &w.site(caller.site).spaces[ix]);
        body["_links"]["base"] = json!(wiki_base(&app, w, caller.site));
        Ok::<_, ApiError>(body)
    })?;
    Ok(respond(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /wiki/api/v2/spaces/{id}/permissions`: the space's classic permissions, cursor-paged
/// (limit default 25, max 250).
async fn space_permissions(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Path(p): Path<SpaceIdPath>,
    Params(q): Params<CursorQuery>,
) -> ApiResult {
    let id = parse_space_id(&p.id)?;
    let fingerprint = json!({"space": id});
    let (offset, limit) = v2_window(q.cursor.as_deref(), q.limit, &fingerprint)?;
    app.read(|w| {
        let ix = w
            .space_by_id(caller.site, id)
            .ok_or_else(|| space_not_found(id))?;
        let base = wiki_base(&app, w, caller.site);
        let perms = &w.site(caller.site).spaces[ix].permissions;
        let range = window(perms.len(), offset, limit);
        let end = range.end;
        let results = perms[range]
            .iter()
            .map(|perm| {
                let (kind, pid) = match perm.principal {
                    Actor::User(ax) => ("user", w.account(ax).id.clone()),
                    Actor::Group(gx) => ("group", w.group(gx).id.clone()),
                };
                json!({
                    "id": perm.id.to_string(),
                    "principal": {"type": kind, "id": pid},
                    "operation": {"key": perm.operation, "targetType": perm.target},
                })
            })
            .collect();
        let next = (end < perms.len()).then(|| {
            let cursor = Cursor {
                offset: end,
                limit,
                query: Some(fingerprint.clone()),
            }
            .encode();
            format!("/wiki/api/v2/spaces/{id}/permissions?limit={limit}&cursor={cursor}")
        });
        Ok(v2_page(&base, results, next))
    })
}

/// `GET /wiki/api/v2/space-role-mode`: the simulator models classic space permissions only.
async fn space_role_mode() -> ApiResult {
    Ok(respond(StatusCode::OK, json!({"mode": "PRE_ROLES"})))
}

#[derive(Debug, Deserialize)]
struct BulkUsersRequest {
    #[serde(rename = "accountIds")]
    account_ids: Vec<String>,
}

/// `POST /wiki/api/v2/users-bulk` `{accountIds}` (1–250): the users the site knows, in request
/// order; guests have `isExternalCollaborator: true`.
async fn users_bulk(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<BulkUsersRequest>,
) -> ApiResult {
    if body.account_ids.is_empty() || body.account_ids.len() > BULK_MAX {
        return Err(ApiError::bad_request(
            V2,
            format!("accountIds must hold 1 to {BULK_MAX} account ids."),
        ));
    }
    let out = app.read(|w| {
        let mut seen = std::collections::BTreeSet::new();
        let results: Vec<Value> = body
            .account_ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .filter_map(|id| site_user(w, caller.site, id))
            .map(|ax| {
                let a = w.account(ax);
                json!({
                    "accountId": a.id,
                    "accountType": a.kind.as_str(),
                    "accountStatus": a.status.as_str(),
                    "displayName": a.name,
                    "publicName": a.nickname,
                    "email": a.email.clone().unwrap_or_default(),
                    "timeZone": a.profile.time_zone,
                    "isExternalCollaborator": is_guest(w, caller.site, ax),
                    "profilePicture": {"path": "/wiki/aa-avatar/default.png", "isDefault": true},
                })
            })
            .collect();
        json!({"results": results, "_links": {"base": wiki_base(&app, w, caller.site)}})
    });
    Ok(respond(StatusCode::OK, out))
}

#[derive(Debug, Deserialize)]
struct EmailsRequest {
    emails: Vec<String>,
}

fn check_emails(body: &EmailsRequest) -> Result<(), ApiError> {
    if body.emails.is_empty() || body.emails.len() > EMAILS_MAX {
        return Err(ApiError::bad_request(
            V2,
            format!("emails must hold 1 to {EMAILS_MAX} addresses."),
        ));
    }
    Ok(())
}

/// Whether the account can use Confluence on the site (licensed user, admin or guest).
fn has_confluence_access(w: &World, site: SiteIx, ax: AccountIx) -> bool {
    w.site_resource(site, Product::Confluence)
        .is_some_and(|rx| {
            w.can_access(ax, rx)
                && [Role::User, Role::Admin, Role::Guest]
                    .iter()
                    .any(|r| w.holds(ax, rx, *r))
        })
}

/// `POST /wiki/api/v2/user/access/check-access-by-email` `{emails}` (1–100) →
/// `{emailsWithoutAccess, invalidEmails}`.
async fn check_access_by_email(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<EmailsRequest>,
) -> ApiResult {
    check_emails(&body)?;
    let out = app.read(|w| {
        let mut without = vec![];
        let mut invalid = vec![];
        for email in &body.emails {
            let normal = email.trim().to_lowercase();
            if !is_plausible_email(&normal) {
                invalid.push(email.clone());
            } else if !w.account_by_email(&normal).is_some_and(|ax| {
                w.account(ax).kind == AccountType::Atlassian
                    && has_confluence_access(w, caller.site, ax)
            }) {
                without.push(email.clone());
            }
        }
        json!({"emailsWithoutAccess": without, "invalidEmails": invalid})
    });
    Ok(respond(StatusCode::OK, out))
}

/// `POST /wiki/api/v2/user/access/invite-by-email` `{emails}` (1–100) → 200. Asynchronous at
/// Atlassian; here each valid email without Confluence access on the site is invited at once
/// (account created if needed, org directory membership, `atlassian/user` on the site's
/// Confluence). Invalid emails and users who already have access are skipped.
async fn invite_by_email(
    State(app): State<AppState>,
    Extension(caller): Extension<SiteCaller>,
    Body(body): Body<EmailsRequest>,
) -> ApiResult {
    check_emails(&body)?;
    app.write(|w| {
        let rx = w
            .site_resource(caller.site, Product::Confluence)
            .ok_or_else(|| ApiError::not_found(V2, "Confluence is not available on this site."))?;
        for email in &body.emails {
            let normal = email.trim().to_lowercase();
            if !is_plausible_email(&normal) {
                continue;
            }
            if w.account_by_email(&normal)
                .is_some_and(|ax| has_confluence_access(w, caller.site, ax))
            {
                continue;
            }
            // Per-email failures (no seat left, a portal-only customer's email) are skipped, as
            // the asynchronous real API does.
            let _ = w.invite(
                caller.actor,
                &normal,
                &[PermissionRule {
                    resource: rx,
                    role: Role::User,
                }],
                &[],
            );
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_cql_parses_supported_clauses() {
        let q = parse_user_cql("type=user").unwrap();
        assert!(q.fullname.is_none() && q.account_id.is_none());
        let q = parse_user_cql("type = \"user\" AND user.fullname ~ \"Ann And Bo\"").unwrap();
        assert_eq!(q.fullname.as_deref(), Some("ann and bo"));
        let q = parse_user_cql("type=user and user.accountid = \"712020:x\"").unwrap();
        assert_eq!(q.account_id.as_deref(), Some("712020:x"));
        assert!(parse_user_cql("type=page").is_err());
        assert!(parse_user_cql("user.fullname ~ x").is_err());
        assert!(parse_user_cql("nonsense").is_err());
    }
}
