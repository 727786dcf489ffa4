//! Org API v2 groups: `/v2/orgs/{orgId}/directories/{directoryId}/groups...` (reference §3.6,
//! §3.7.4; spec `admin-organization.2026-08-21.json`).
//!
//! - Reads (`search`, the deprecated list, `count`, `stats`, details, role assignments) accept
//!   `-` as `directoryId` for "every directory"; a real directory id narrows them to it.
//! - Group deletion and role assign/revoke accept `-` and act on the group wherever it lives.
//! - Group creation with `-` works when the org has exactly one directory (centralized user
//!   management); with several directories it is a 400 naming the ambiguity.
//! - Membership changes need the group's **real** directory id (as clients resolve it first
//!   through `GET .../directories/-/groups/{groupId}`): `-` is a 400, and a directory that does
//!   not hold the group is a 404.
//! - Lists page with opaque cursors (`links.self/prev/next`); a cursor alone reproduces its
//!   query (other parameters are then discarded, as the spec says for the list).

use std::collections::BTreeSet;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{OptionalJson, check_org, decode_cursor, page_links, page_size, too_many};
use crate::app::AppState;
use crate::auth::OrgCaller;
use crate::error::{ApiError, ApiResult, json_response};
use crate::extract::{Body, Params};
use crate::family::Family;
use crate::paging::window;
use crate::routes::{Table, split_list};
use crate::state::{DirIx, GroupIx, GroupManagedBy, ModelError, Product, Role, World};

/// Routes of this part of the Org API.
pub fn table() -> Table {
    Table::new(Family::Org)
        .post("/v2/orgs/{org_id}/directories/{directory_id}/groups/search", search_groups)
        .get("/v2/orgs/{org_id}/directories/{directory_id}/groups", list_groups)
        .post("/v2/orgs/{org_id}/directories/{directory_id}/groups", create_group)
        .get("/v2/orgs/{org_id}/directories/{directory_id}/groups/count", count_groups)
        .get("/v2/orgs/{org_id}/directories/{directory_id}/groups/stats", group_stats)
        .get("/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}", get_group)
        .delete("/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}", delete_group)
        .post("/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}/memberships", add_membership)
        .delete(
            "/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}/memberships/{account_id}",
            remove_membership,
        )
        .get("/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}/role-assignments", group_roles)
        .post("/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}/role-assignments/assign", assign_role)
        .post("/v2/orgs/{org_id}/directories/{directory_id}/groups/{group_id}/role-assignments/revoke", revoke_role)
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::new(
        Family::Org,
        StatusCode::NOT_FOUND,
        "ADMIN-404-10",
        format!("Group {id} was not found."),
    )
}

fn model(err: &ModelError) -> ApiError {
    ApiError::from_model(Family::Org, err)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Checks the org and resolves the path's directory: `-` is `None` (every directory).
fn resolve_dir(w: &World, org_id: &str, directory_id: &str) -> Result<Option<DirIx>, ApiError> {
    check_org(w, org_id)?;
    if directory_id == "-" {
        return Ok(None);
    }
    w.directory_ix(directory_id)
        .map(Some)
        .map_err(|e| model(&e))
}

/// The live group `id`, which must be in `dir` when a directory is given.
fn find_group(w: &World, dir: Option<DirIx>, id: &str) -> Result<GroupIx, ApiError> {
    let gx = w.group_ix(id).map_err(|_| group_not_found(id))?;
    match dir {
        Some(d) if w.group(gx).directory != d => Err(group_not_found(id)),
        _ => Ok(gx),
    }
}

/// 400 when a list filter is present but empty or longer than `max` (spec `minItems`/`maxItems`).
fn check_list(name: &str, list: Option<&Vec<String>>, max: usize) -> Result<(), ApiError> {
    match list {
        Some(l) if l.is_empty() => Err(ApiError::bad_request(
            Family::Org,
            format!("{name} must not be empty."),
        )),
        Some(l) if l.len() > max => Err(too_many(name, max)),
        _ => Ok(()),
    }
}

// ---- group JSON ----------------------------------------------------------------------------

/// Which counts a group carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct CountsWanted {
    users: bool,
    resources: bool,
}

/// `MultiDirectoryGroup`.
fn group_json(w: &World, gx: GroupIx, counts: CountsWanted) -> Value {
    let g = w.group(gx);
    let deletable = !g.external && !g.protected && g.default_for.is_none();
    let managed_by = if g.external {
        GroupManagedBy::External
    } else {
        GroupManagedBy::Admins
    };
    let mut v = json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "directoryId": w.directories[g.directory as usize].id,
        "managementAccess": {"deletable": deletable, "modifiable": !g.external, "readable": true},
        "externalSynced": g.external,
        "managedBy": serde_json::to_value(managed_by).unwrap_or(Value::Null),
        "links": {"self": URL_SAFE_NO_PAD.encode(format!("group:{}", g.id))},
    });
    if counts.users || counts.resources {
        let mut c = serde_json::Map::new();
        if counts.users {
            c.insert("users".into(), json!(g.members.len()));
        }
        if counts.resources {
            let resources: BTreeSet<_> = g.roles.iter().map(|(rx, _)| *rx).collect();
            c.insert("resources".into(), json!(resources.len()));
        }
        v["counts"] = Value::Object(c);
    }
    v
}

// ---- filters -------------------------------------------------------------------------------

/// A normalized group query (what a cursor carries).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GroupQuery {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    account_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    directory_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    role_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_owners: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    group_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search_term: Option<String>,
    #[serde(default)]
    counts: CountsWanted,
    #[serde(default)]
    desc: bool,
}

impl GroupQuery {
    fn validate(&self) -> Result<(), ApiError> {
        if !self.group_ids.is_empty() && !self.group_names.is_empty() {
            return Err(ApiError::bad_request(
                Family::Org,
                "groupIds and groupNames cannot be used together.",
            ));
        }
        if !self.group_names.is_empty() && self.search_term.is_some() {
            return Err(ApiError::bad_request(
                Family::Org,
                "groupNames and searchTerm cannot be used together.",
            ));
        }
        Ok(())
    }

    fn matches(&self, w: &World, dir: Option<DirIx>, gx: GroupIx) -> bool {
        let g = w.group(gx);
        if dir.is_some_and(|d| d != g.directory) {
            return false;
        }
        let dir_id = &w.directories[g.directory as usize].id;
        if !self.directory_ids.is_empty() && !self.directory_ids.contains(dir_id) {
            return false;
        }
        if !self.group_ids.is_empty() && !self.group_ids.contains(&g.id) {
            return false;
        }
        if !self.group_names.is_empty()
            && !self
                .group_names
                .iter()
                .any(|n| n.trim().eq_ignore_ascii_case(&g.name))
        {
            return false;
        }
        if let Some(term) = self
            .search_term
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            && !g.name.to_lowercase().contains(&term.to_lowercase())
        {
            return false;
        }
        if !self.account_ids.is_empty()
            && !self
                .account_ids
                .iter()
                .any(|id| w.account_ix(id).is_ok_and(|ax| g.members.contains(&ax)))
        {
            return false;
        }
        if !self.role_ids.is_empty()
            || !self.resource_owners.is_empty()
            || !self.resource_ids.is_empty()
        {
            // One role assignment of the group must satisfy every role/resource filter at once.
            let hit = g.roles.iter().any(|(rx, role)| {
                let resource = w.resource(*rx);
                (self.role_ids.is_empty() || self.role_ids.iter().any(|r| r == role.id()))
                    && (self.resource_owners.is_empty()
                        || self
                            .resource_owners
                            .iter()
                            .any(|o| o == resource.product.key()))
                    && (self.resource_ids.is_empty() || self.resource_ids.contains(&resource.ari()))
            });
            if !hit {
                return false;
            }
        }
        true
    }

    /// Matching groups, sorted by name (then id).
    fn run(&self, w: &World, dir: Option<DirIx>) -> Vec<GroupIx> {
        let mut found: Vec<GroupIx> = w
            .live_groups()
            .map(|(gx, _)| gx)
            .filter(|gx| self.matches(w, dir, *gx))
            .collect();
        found.sort_by(|a, b| {
            let (ga, gb) = (w.group(*a), w.group(*b));
            ga.name
                .to_lowercase()
                .cmp(&gb.name.to_lowercase())
                .then_with(|| ga.id.cmp(&gb.id))
        });
        if self.desc {
            found.reverse();
        }
        found
    }
}

/// One sort specification of the search body.
#[derive(Debug, Deserialize)]
struct SortBy {
    field: String,
    direction: String,
}

/// `MultiDirectoryGroupSearchRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    cursor: Option<String>,
    limit: Option<i64>,
    sort_by: Option<Vec<SortBy>>,
    account_ids: Option<Vec<String>>,
    directory_ids: Option<Vec<String>>,
    role_ids: Option<Vec<String>>,
    resource_owners: Option<Vec<String>>,
    resource_ids: Option<Vec<String>>,
    search_term: Option<String>,
    group_ids: Option<Vec<String>>,
    group_names: Option<Vec<String>>,
    expand: Option<Vec<String>>,
}

fn sort_desc(field: &str, direction: &str) -> Result<bool, ApiError> {
    if field != "name" {
        return Err(ApiError::bad_request(
            Family::Org,
            format!("Cannot sort by {field}; the only sort field is name."),
        ));
    }
    match direction {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(ApiError::bad_request(
            Family::Org,
            format!("Sort direction {other} is not asc or desc."),
        )),
    }
}

impl SearchBody {
    fn into_query(self) -> Result<(GroupQuery, usize), ApiError> {
        check_list("accountIds", self.account_ids.as_ref(), 10)?;
        check_list("directoryIds", self.directory_ids.as_ref(), 10)?;
        check_list("roleIds", self.role_ids.as_ref(), 10)?;
        check_list("resourceOwners", self.resource_owners.as_ref(), 10)?;
        check_list("resourceIds", self.resource_ids.as_ref(), 20)?;
        check_list("groupIds", self.group_ids.as_ref(), 10)?;
        check_list("groupNames", self.group_names.as_ref(), 100)?;
        check_list("expand", self.expand.as_ref(), 2)?;
        let limit = page_size(self.limit, 20, 100)?;
        let mut counts = CountsWanted::default();
        for e in self.expand.unwrap_or_default() {
            match e.as_str() {
                "counts.users" => counts.users = true,
                "counts.resources" => counts.resources = true,
                other => {
                    return Err(ApiError::bad_request(
                        Family::Org,
                        format!(
                            "expand value {other} is not one of counts.resources, counts.users."
                        ),
                    ));
                }
            }
        }
        let desc = match self.sort_by.as_deref() {
            None => false,
            Some([one]) => sort_desc(&one.field, &one.direction)?,
            Some(_) => {
                return Err(ApiError::bad_request(
                    Family::Org,
                    "sortBy takes exactly one sort field.",
                ));
            }
        };
        let query = GroupQuery {
            account_ids: self.account_ids.unwrap_or_default(),
            directory_ids: self.directory_ids.unwrap_or_default(),
            role_ids: self.role_ids.unwrap_or_default(),
            resource_owners: self.resource_owners.unwrap_or_default(),
            resource_ids: self.resource_ids.unwrap_or_default(),
            group_ids: self.group_ids.unwrap_or_default(),
            group_names: self.group_names.unwrap_or_default(),
            search_term: self.search_term,
            counts,
            desc,
        };
        query.validate()?;
        Ok((query, limit))
    }
}

/// Query parameters of the deprecated list and of `count`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    cursor: Option<String>,
    limit: Option<i64>,
    #[serde(default)]
    directory_ids: Vec<String>,
    #[serde(default)]
    account_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
    #[serde(default)]
    resource_owners: Vec<String>,
    #[serde(default)]
    resource_ids: Vec<String>,
    #[serde(default)]
    role_ids: Vec<String>,
    search_term: Option<String>,
    /// `counts` is an object parameter (form style, exploded): `includeUsers=true`.
    include_users: Option<bool>,
    include_resources: Option<bool>,
    /// Accepted unexploded too: `counts=includeUsers,includeResources`.
    counts: Option<String>,
    /// `sortBy` is an array of objects (exploded): `field=name&direction=desc`; `sortBy=name:desc`
    /// is accepted too.
    sort_by: Option<String>,
    field: Option<String>,
    direction: Option<String>,
}

impl ListParams {
    fn into_query(self) -> Result<GroupQuery, ApiError> {
        let lists = [
            ("directoryIds", &self.directory_ids, 10),
            ("accountIds", &self.account_ids, 10),
            ("groupIds", &self.group_ids, 10),
            ("resourceOwners", &self.resource_owners, 10),
            ("resourceIds", &self.resource_ids, 20),
            ("roleIds", &self.role_ids, 10),
        ];
        for (name, list, max) in lists {
            if split_list(list).len() > max {
                return Err(too_many(name, max));
            }
        }
        for role in split_list(&self.role_ids) {
            if Role::from_id(&role).is_none() && role != "atlassian/ai-access" {
                return Err(ApiError::bad_request(
                    Family::Org,
                    format!("roleIds value {role} is not a known role."),
                ));
            }
        }
        let counts_param = self.counts.unwrap_or_default().to_lowercase();
        let counts = CountsWanted {
            users: self.include_users.unwrap_or(false) || counts_param.contains("users"),
            resources: self.include_resources.unwrap_or(false)
                || counts_param.contains("resources"),
        };
        let desc = match (
            self.sort_by.as_deref(),
            self.field.as_deref(),
            self.direction.as_deref(),
        ) {
            (Some(spec), _, _) => {
                let (field, direction) = spec.split_once([':', ',']).unwrap_or((spec, "asc"));
                sort_desc(field.trim(), direction.trim())?
            }
            (None, Some(field), direction) => sort_desc(field, direction.unwrap_or("asc"))?,
            (None, None, Some(direction)) => sort_desc("name", direction)?,
            (None, None, None) => false,
        };
        Ok(GroupQuery {
            account_ids: split_list(&self.account_ids),
            directory_ids: split_list(&self.directory_ids),
            role_ids: split_list(&self.role_ids),
            resource_owners: split_list(&self.resource_owners),
            resource_ids: split_list(&self.resource_ids),
            group_ids: split_list(&self.group_ids),
            group_names: vec![],
            search_term: self.search_term,
            counts,
            desc,
        })
    }
}

// ---- path parameters -----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct DirPath {
    org_id: String,
    directory_id: String,
}

#[derive(Debug, Deserialize)]
struct GroupPath {
    org_id: String,
    directory_id: String,
    group_id: String,
}

#[derive(Debug, Deserialize)]
struct MemberPath {
    org_id: String,
    directory_id: String,
    group_id: String,
    account_id: String,
}

// ---- handlers: reads -----------------------------------------------------------------------

/// 200 with the page of the groups `query` finds in the path's directory; `kind` names the
/// listing in the page's cursors.
fn group_page_response(
    app: &AppState,
    p: &DirPath,
    kind: &str,
    query: &GroupQuery,
    offset: usize,
    limit: usize,
) -> ApiResult {
    let page = app.read(|w| {
        let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
        let found = query.run(w, dir);
        let range = window(found.len(), offset, limit);
        let data: Vec<Value> = found[range]
            .iter()
            .map(|gx| group_json(w, *gx, query.counts))
            .collect();
        let links = page_links(kind, &p.directory_id, offset, limit, found.len(), query);
        Ok::<_, ApiError>(json!({"data": data, "links": links}))
    })?;
    Ok(json_response(StatusCode::OK, &page))
}

/// `POST .../groups/search`.
async fn search_groups(
    State(app): State<AppState>,
    Path(p): Path<DirPath>,
    OptionalJson(body): OptionalJson<SearchBody>,
) -> ApiResult {
    let body = body.unwrap_or_default();
    let (query, offset, limit) = match &body.cursor {
        Some(token) => {
            let (offset, limit, query) =
                decode_cursor::<GroupQuery>(token, "group-search", &p.directory_id)?;
            (query, offset, limit.min(100))
        }
        None => {
            let (query, limit) = body.into_query()?;
            (query, 0, limit)
        }
    };
    group_page_response(&app, &p, "group-search", &query, offset, limit)
}

/// `GET .../groups` (deprecated list).
async fn list_groups(
    State(app): State<AppState>,
    Path(p): Path<DirPath>,
    Params(params): Params<ListParams>,
) -> ApiResult {
    let (query, offset, limit) = match &params.cursor {
        Some(token) => {
            let (offset, limit, query) =
                decode_cursor::<GroupQuery>(token, "group-list", &p.directory_id)?;
            (query, offset, limit.min(100))
        }
        None => {
            let limit = page_size(params.limit, 20, 100)?;
            (params.into_query()?, 0, limit)
        }
    };
    group_page_response(&app, &p, "group-list", &query, offset, limit)
}

/// `GET .../groups/count`.
async fn count_groups(
    State(app): State<AppState>,
    Path(p): Path<DirPath>,
    Params(params): Params<ListParams>,
) -> ApiResult {
    let query = params.into_query()?;
    let count = app.read(|w| {
        let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
        Ok::<_, ApiError>(query.run(w, dir).len())
    })?;
    Ok(json_response(StatusCode::OK, &json!({"count": count})))
}

/// `GET .../groups/stats`.
async fn group_stats(State(app): State<AppState>, Path(p): Path<DirPath>) -> ApiResult {
    let body = app.read(|w| {
        let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
        let groups: Vec<_> = w.live_groups().filter(|(_, g)| dir.is_none_or(|d| d == g.directory)).collect();
        let synced = groups.iter().filter(|(_, g)| g.external).count();
        let all = groups.len();
        Ok::<_, ApiError>(json!({
            "totals": {"all": all, "managed": all - synced, "synced": synced},
            "types": [{"type": "GROUP", "count": all}, {"type": "TEAM", "count": 0}, {"type": "USERBASE_GROUP", "count": 0}],
        }))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET .../groups/{groupId}`.
async fn get_group(State(app): State<AppState>, Path(p): Path<GroupPath>) -> ApiResult {
    let body = app.read(|w| {
        let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
        let gx = find_group(w, dir, &p.group_id)?;
        Ok::<_, ApiError>(
            json!({"data": group_json(w, gx, CountsWanted { users: true, resources: true })}),
        )
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

/// Filters of the group role-assignments list (what its cursor carries).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RoleQuery {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    directory_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_owners: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    role_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleParams {
    cursor: Option<String>,
    limit: Option<i64>,
    #[serde(default)]
    directory_ids: Vec<String>,
    #[serde(default)]
    resource_owners: Vec<String>,
    #[serde(default)]
    resource_ids: Vec<String>,
    #[serde(default)]
    role_ids: Vec<String>,
}

/// `GET .../groups/{groupId}/role-assignments`: one item per resource the group has roles on.
async fn group_roles(
    State(app): State<AppState>,
    Path(p): Path<GroupPath>,
    Params(params): Params<RoleParams>,
) -> ApiResult {
    let scope = format!("{}/{}", p.directory_id, p.group_id);
    let (query, offset, limit) = match &params.cursor {
        Some(token) => {
            let (offset, limit, query) = decode_cursor::<RoleQuery>(token, "group-roles", &scope)?;
            (query, offset, limit.min(100))
        }
        None => {
            let limit = page_size(params.limit, 20, 100)?;
            let query = RoleQuery {
                directory_ids: split_list(&params.directory_ids),
                resource_owners: split_list(&params.resource_owners),
                resource_ids: split_list(&params.resource_ids),
                role_ids: split_list(&params.role_ids),
            };
            (query, 0, limit)
        }
    };
    let body = app.read(|w| {
        let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
        let gx = find_group(w, dir, &p.group_id)?;
        let g = w.group(gx);
        let dir_id = &w.directories[g.directory as usize].id;
        let mut items: Vec<Value> = vec![];
        if query.directory_ids.is_empty() || query.directory_ids.contains(dir_id) {
            let resources: BTreeSet<_> = g.roles.iter().map(|(rx, _)| *rx).collect();
            for rx in resources {
                let resource = w.resource(rx);
                let ari = resource.ari();
                let owner = resource.product.key();
                if (!query.resource_ids.is_empty() && !query.resource_ids.contains(&ari))
                    || (!query.resource_owners.is_empty() && !query.resource_owners.iter().any(|o| o == owner))
                {
                    continue;
                }
                let roles: Vec<&str> = g
                    .roles
                    .iter()
                    .filter(|(r, _)| *r == rx)
                    .map(|(_, role)| role.id())
                    .filter(|id| query.role_ids.is_empty() || query.role_ids.iter().any(|q| q == id))
                    .collect();
                if roles.is_empty() {
                    continue;
                }
                let default_role = g.default_for.filter(|(r, _)| *r == rx).map(|(_, role)| role.id());
                items.push(json!({"resourceId": ari, "resourceOwner": owner, "roles": roles, "defaultRole": default_role}));
            }
        }
        let range = window(items.len(), offset, limit);
        let links = page_links("group-roles", &scope, offset, limit, items.len(), &query);
        Ok::<_, ApiError>(json!({"data": items[range].to_vec(), "links": links}))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

// ---- handlers: changes ---------------------------------------------------------------------

/// Body of group creation.
#[derive(Debug, Deserialize)]
struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// `POST .../groups`: 201 with the new group as `{data: MultiDirectoryGroup}` (the spec declares
/// no body; returning the group lets clients learn its id without a second search).
async fn create_group(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<DirPath>,
    Body(body): Body<CreateBody>,
) -> ApiResult {
    let group = app.write(|w| {
        let dir = match resolve_dir(w, &p.org_id, &p.directory_id)? {
            Some(d) => d,
            None if w.directories.len() == 1 => 0,
            None => {
                return Err(ApiError::bad_request(
                    Family::Org,
                    "This organization has several directories; create the group in one of them by its directory ID.",
                ));
            }
        };
        let gx = w
            .create_group(caller.actor, dir, &body.name, body.description.as_deref().unwrap_or(""))
            .map_err(|e| model(&e))?;
        Ok::<_, ApiError>(json!({"data": group_json(w, gx, CountsWanted { users: true, resources: true })}))
    })?;
    Ok(json_response(StatusCode::CREATED, &group))
}

/// `DELETE .../groups/{groupId}`: 204. IdP-synced groups give 403 `ADMIN-UAM-403-1`, product
/// default groups 403 `ADMIN-403-6` and admin groups 403 `ADMIN-403-7` (the spec's codes).
async fn delete_group(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<GroupPath>,
) -> ApiResult {
    app.write(|w| {
        let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
        let gx = find_group(w, dir, &p.group_id)?;
        let g = w.group(gx);
        if !g.external && g.protected {
            return Err(ApiError::new(
                Family::Org,
                StatusCode::FORBIDDEN,
                "ADMIN-403-7",
                format!("Group {} grants admin access to a product or the organization and cannot be deleted.", g.name),
            ));
        }
        if !g.external && g.default_for.is_some() {
            return Err(ApiError::new(
                Family::Org,
                StatusCode::FORBIDDEN,
                "ADMIN-403-6",
                format!("Group {} is a default group of a product and cannot be deleted.", g.name),
            ));
        }
        w.delete_group(caller.actor, gx).map_err(|e| model(&e))
    })?;
    Ok(no_content())
}

/// Membership changes need the group's real directory.
fn membership_dir(w: &World, org_id: &str, directory_id: &str) -> Result<DirIx, ApiError> {
    match resolve_dir(w, org_id, directory_id)? {
        Some(d) => Ok(d),
        None => Err(ApiError::bad_request(
            Family::Org,
            "Group memberships are changed in the group's own directory: use its directoryId (from GET .../directories/-/groups/{groupId}), not '-'.",
        )),
    }
}

/// Body of the add-member call.
#[derive(Debug, Deserialize)]
struct MemberBody {
    #[serde(rename = "accountId")]
    account_id: String,
}

/// `POST .../groups/{groupId}/memberships`: 204, also when already a member.
async fn add_membership(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<GroupPath>,
    Body(body): Body<MemberBody>,
) -> ApiResult {
    app.write(|w| {
        let dir = membership_dir(w, &p.org_id, &p.directory_id)?;
        let gx = find_group(w, Some(dir), &p.group_id)?;
        let ax = w
            .account_ix(body.account_id.trim())
            .map_err(|e| model(&e))?;
        w.add_member(caller.actor, gx, ax).map_err(|e| model(&e))
    })?;
    Ok(no_content())
}

/// `DELETE .../groups/{groupId}/memberships/{accountId}`: 204, also when not a member.
async fn remove_membership(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<MemberPath>,
) -> ApiResult {
    app.write(|w| {
        let dir = membership_dir(w, &p.org_id, &p.directory_id)?;
        let gx = find_group(w, Some(dir), &p.group_id)?;
        let ax = w.account_ix(&p.account_id).map_err(|e| model(&e))?;
        w.remove_member(caller.actor, gx, ax).map_err(|e| model(&e))
    })?;
    Ok(no_content())
}

/// Body of role assign/revoke.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleBody {
    resource_id: String,
    role_id: String,
}

/// The roles the group role API takes (the spec's "Valid values").
const GROUP_ROLES: [Role; 9] = [
    Role::User,
    Role::UserAccessAdmin,
    Role::Admin,
    Role::Guest,
    Role::Contributor,
    Role::Customer,
    Role::Basic,
    Role::Stakeholder,
    Role::Viewer,
];

fn role_target(
    w: &World,
    p: &GroupPath,
    body: &RoleBody,
) -> Result<(GroupIx, crate::state::ResourceIx, Role), ApiError> {
    let dir = resolve_dir(w, &p.org_id, &p.directory_id)?;
    let gx = find_group(w, dir, &p.group_id)?;
    let role = Role::from_id(body.role_id.trim())
        .filter(|r| GROUP_ROLES.contains(r))
        .ok_or_else(|| {
            ApiError::bad_request(
                Family::Org,
                format!(
                    "roleId {} is not one of {}.",
                    body.role_id,
                    GROUP_ROLES
                        .iter()
                        .map(|r| r.id())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let rx = w
        .resource_ix(body.resource_id.trim())
        .map_err(|e| model(&e))?;
    if w.resource(rx).product == Product::Platform {
        return Err(model(&ModelError::RoleNotAllowed {
            role: role.id().to_owned(),
            resource: w.resource(rx).ari(),
        }));
    }
    if w.directory_of_resource(rx) != w.group(gx).directory {
        return Err(ApiError::bad_request(
            Family::Org,
            format!(
                "Resource {} is not linked to the directory of group {}.",
                body.resource_id, p.group_id
            ),
        ));
    }
    Ok((gx, rx, role))
}

/// `POST .../groups/{groupId}/role-assignments/assign`: 200 (no body), 409 `ADMIN-UAM-409-3`
/// when the members would exceed the product's seats.
async fn assign_role(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<GroupPath>,
    Body(body): Body<RoleBody>,
) -> ApiResult {
    app.write(|w| {
        let (gx, rx, role) = role_target(w, &p, &body)?;
        w.grant_group_role(caller.actor, gx, rx, role)
            .map_err(|e| model(&e))
    })?;
    Ok(StatusCode::OK.into_response())
}

/// `POST .../groups/{groupId}/role-assignments/revoke`: 204, also when the group did not hold it.
async fn revoke_role(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(p): Path<GroupPath>,
    Body(body): Body<RoleBody>,
) -> ApiResult {
    app.write(|w| {
        let (gx, rx, role) = role_target(w, &p, &body)?;
        w.revoke_group_role(caller.actor, gx, rx, role)
            .map_err(|e| model(&e))
    })?;
    Ok(no_content())
}
