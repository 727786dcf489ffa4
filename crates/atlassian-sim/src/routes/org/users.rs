//! The user half of the Organization admin API: directory users (search, the deprecated list,
//! details, count, stats), their role assignments, invitations, role grants, suspend / restore /
//! remove, the v1 managed-accounts list and last-active dates.
//!
//! Decisions where the spec (`specs/admin-organization.2026-08-21.json`) and the reference leave
//! room, so a client tested here meets no surprise it could not also meet in production:
//!
//! - **Who is a directory user.** Atlassian accounts that are members of a directory in scope;
//!   with `-` as directory, managed accounts without any membership too (`not_invited`), as the
//!   count endpoint documents. Portal-only customers are never directory users, and neither are
//!   app accounts: the spec's `AccountType` enum has only `atlassian`.
//! - **Paging.** Cursors are opaque and stateless ([`Cursor`]): they carry the offset, the page
//!   size and the whole query, so a search cursor alone reproduces the search. Sending `cursor`
//!   with any other search field is a 400; the GET lists ignore other parameters next to a
//!   cursor, as their spec says. A `limit` above 100 is clamped to 100 (a client must never trust
//!   the page size it asked for); below 1 it is a 400. The default order is the order accounts
//!   joined the org, so a traversal sees no gaps or duplicates while accounts are added.
//! - **v1 managed accounts** page 100 at a time; `links.next` is a full URL with `cursor=`.
//! - **Invite** answers 200 when every role and group assignment succeeded and 206 ("at least one
//!   invitation failed") otherwise; licence exhaustion is an `ERROR` item, never a 409. Unknown
//!   resources and groups (404), roles that cannot be granted there (400) and an org without a
//!   paid subscription (402) fail the whole request before anything changes.
//! - **Suspend / restore / remove** with `-` act on every directory the account belongs to. An
//!   account outside the directory is a 404. Restore beyond the licence seats is a 400
//!   `ADMIN-400-32` (the spec declares no 409 there).
//! - **Role grants** (`/v1/.../roles/assign`) refuse deactivated accounts with 400
//!   `ADMIN-UAM-400-2` ("Inactive user").
//! - **Role assignments** list org admin as an item on `ari:cloud:platform::org/<orgId>` (owner
//!   `platform`, method `direct`) and the site-admin role it implies on every site as `inferred`.

use std::collections::{BTreeMap, BTreeSet};

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::SecondsFormat;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::common::{check_org, check_org_with};
use crate::app::AppState;
use crate::auth::OrgCaller;
use crate::error::{ApiError, ApiResult, json_response};
use crate::extract::{Body, parse_json};
use crate::family::Family;
use crate::paging::{Cursor, window};
use crate::routes::{Table, ts};
use crate::state::ops::{PermissionRule, is_plausible_email};
use crate::state::{
    AccountIx, AccountStatus, AccountType, DirIx, GroupIx, ManagementSource, Membership, Methods,
    Mode, ModelError, Product, ResourceIx, Role, World,
};

const ORG: Family = Family::Org;
/// Default page size of the search (`MultiDirectoryUserSearchRequest.limit`, reference §3.3.2).
const SEARCH_DEFAULT_LIMIT: usize = 50;
/// Default page size of the GET lists (users, role assignments).
const LIST_DEFAULT_LIMIT: usize = 20;
/// Largest page of every v2 user list (`maximum: 100` in the spec).
const MAX_LIMIT: usize = 100;
/// Page size of the v1 managed-accounts list (the spec offers no `limit`).
const V1_PAGE_SIZE: usize = 100;
/// Most emails in one invitation (`emails.maximum`).
const MAX_INVITE_EMAILS: usize = 25;
/// The avatar Atlassian shows for accounts without a picture.
const DEFAULT_AVATAR: &str =
    "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/default-avatar.png";

/// Roles the search and list filters accept (`roleIds` enum).
const FILTER_ROLE_IDS: [&str; 11] = [
    "atlassian/user",
    "atlassian/admin",
    "atlassian/guest",
    "atlassian/customer",
    "atlassian/user-access-admin",
    "atlassian/contributor",
    "atlassian/basic",
    "atlassian/stakeholder",
    "atlassian/org-admin",
    "atlassian/site-admin",
    "atlassian/ai-access",
];
/// Roles `roles/assign` and `roles/revoke` accept (`RoleApiRequest.role` enum).
const ASSIGNABLE_ROLES: [Role; 10] = [
    Role::User,
    Role::UserAccessAdmin,
    Role::Admin,
    Role::Guest,
    Role::Contributor,
    Role::Customer,
    Role::Basic,
    Role::Stakeholder,
    Role::SiteAdmin,
    Role::OrgAdmin,
];
/// Roles an invitation's `permissionRules` accept.
const INVITE_ROLES: [Role; 8] = [
    Role::User,
    Role::Admin,
    Role::Guest,
    Role::Contributor,
    Role::Customer,
    Role::Basic,
    Role::Stakeholder,
    Role::Viewer,
];
/// Roles that give access to the app itself (what `productAccess` lists).
const ACCESS_ROLES: [Role; 6] = [
    Role::User,
    Role::Admin,
    Role::Guest,
    Role::Contributor,
    Role::Basic,
    Role::Viewer,
];
/// Roles counted by the stats endpoint, in the spec's order.
const STATS_ROLES: [Role; 10] = [
    Role::User,
    Role::Admin,
    Role::Guest,
    Role::Customer,
    Role::UserAccessAdmin,
    Role::Contributor,
    Role::Basic,
    Role::Stakeholder,
    Role::OrgAdmin,
    Role::SiteAdmin,
];

/// Routes of this part of the Org API.
pub fn table() -> Table {
    Table::new(Family::Org)
        .post(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/search",
            search_users,
        )
        .get(
            "/v2/orgs/{org_id}/directories/{directory_id}/users",
            list_users,
        )
        .get(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/count",
            count_users,
        )
        .get(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/stats",
            user_stats,
        )
        // The spec writes this template with `{userId}` but names the parameter `accountId`
        // (defect 1 in specs/SOURCES.md); parameter names here follow the other Org routes.
        .get(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/{account_id}",
            user_details,
        )
        .delete(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/{account_id}",
            remove_user,
        )
        .post(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/{account_id}/suspend",
            suspend_user,
        )
        .post(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/{account_id}/restore",
            restore_user,
        )
        .get(
            "/v2/orgs/{org_id}/directories/{directory_id}/users/{account_id}/role-assignments",
            user_role_assignments,
        )
        .post("/v2/orgs/{org_id}/users/invite", invite_users)
        .post(
            "/v1/orgs/{org_id}/users/{account_id}/roles/assign",
            assign_role,
        )
        .post(
            "/v1/orgs/{org_id}/users/{account_id}/roles/revoke",
            revoke_role,
        )
        .post(
            "/v1/orgs/{org_id}/users/{account_id}/role-assignments/assign",
            assign_org_role,
        )
        .post(
            "/v1/orgs/{org_id}/users/{account_id}/role-assignments/revoke",
            revoke_org_role,
        )
        .get("/v1/orgs/{org_id}/users", managed_accounts)
        .get(
            "/v1/orgs/{org_id}/directory/users/{account_id}/last-active-dates",
            last_active_dates,
        )
}

// ---- shared lookups and errors ----------------------------------------------------------------

/// Which directories a `{directory_id}` path segment addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `-`: every directory the caller manages (all of them: the key is an org admin's).
    All,
    /// One directory.
    Dir(DirIx),
}

/// Resolves a `{directory_id}` path segment; an unknown directory is a 404.
pub(crate) fn scope_of(w: &World, directory_id: &str) -> ApiResult<Scope> {
    if directory_id == "-" {
        return Ok(Scope::All);
    }
    w.directory_ix(directory_id).map(Scope::Dir).map_err(|_| {
        ApiError::new(
            ORG,
            StatusCode::NOT_FOUND,
            "ADMIN-404-1",
            format!("Directory {directory_id} was not found."),
        )
    })
}

/// Whether the account is listed as a directory user in `scope` (see the module docs).
pub(crate) fn is_directory_user(w: &World, ax: AccountIx, scope: Scope) -> bool {
    let account = w.account(ax);
    if account.kind != AccountType::Atlassian {
        return false;
    }
    match scope {
        Scope::All => !account.directories.is_empty() || w.is_managed(ax),
        Scope::Dir(dir) => account.directories.contains_key(&dir),
    }
}

/// `membershipStatus` as seen from `scope`.
fn membership_in(w: &World, ax: AccountIx, scope: Scope) -> &'static str {
    match scope {
        Scope::All => w.membership_status(ax),
        Scope::Dir(dir) => membership_name(w.account(ax).directories.get(&dir).copied()),
    }
}

fn membership_name(membership: Option<Membership>) -> &'static str {
    match membership {
        Some(Membership::Active) => "active",
        Some(Membership::Suspended) => "suspended",
        None => "no_membership",
    }
}

/// The composite `status` as seen from `scope`.
fn status_in(w: &World, ax: AccountIx, scope: Scope) -> &'static str {
    match scope {
        Scope::All => w.composite_status(ax),
        Scope::Dir(_) => match w.composite_status(ax) {
            s @ ("for_deletion" | "deactivated") => s,
            _ => match membership_in(w, ax, scope) {
                "active" => "active",
                "suspended" => "suspended",
                _ => "not_invited",
            },
        },
    }
}

fn user_not_found(account_id: &str) -> ApiError {
    ApiError::new(
        ORG,
        StatusCode::NOT_FOUND,
        "ADMIN-404-8",
        format!("User {account_id} was not found."),
    )
}

/// The listed directory user with this id, or 404.
fn directory_user(w: &World, account_id: &str, scope: Scope) -> ApiResult<AccountIx> {
    w.account_ix(account_id)
        .ok()
        .filter(|ax| is_directory_user(w, *ax, scope))
        .ok_or_else(|| user_not_found(account_id))
}

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::new(ORG, StatusCode::BAD_REQUEST, "ADMIN-400-24", message)
}

fn invalid_cursor() -> ApiError {
    ApiError::new(
        ORG,
        StatusCode::BAD_REQUEST,
        "ADMIN-400-1",
        "The page cursor is invalid. Use a cursor from a previous response of the same request.",
    )
}

/// Model errors of the role and invite endpoints (the `ADMIN-UAM-…` family of codes).
fn uam_error(err: &ModelError) -> ApiError {
    let status_code = |status, code: &str| ApiError::new(ORG, status, code, err.to_string());
    match err {
        ModelError::NotFound {
            what: "resource", ..
        } => status_code(StatusCode::NOT_FOUND, "ADMIN-UAM-404-1"),
        ModelError::NotFound { .. } => status_code(StatusCode::NOT_FOUND, "ADMIN-UAM-404-3"),
        ModelError::RoleNotAllowed { .. } => {
            status_code(StatusCode::BAD_REQUEST, "ADMIN-UAM-400-3")
        }
        _ => ApiError::from_model(ORG, err),
    }
}

fn uam_bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ORG, StatusCode::BAD_REQUEST, "ADMIN-UAM-400-1", message)
}

fn ok_json(body: &Value) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, body))
}

fn no_content() -> ApiResult<Response> {
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- rendering ----------------------------------------------------------------------------------

/// Which optional parts of a `MultiDirectoryUser` to include (`expand`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expand {
    /// `platformRoles`.
    pub(crate) platform_roles: bool,
    /// `counts.resources`.
    pub(crate) counts: bool,
    /// `productAccess`.
    pub(crate) product_access: bool,
    /// `groups`.
    pub(crate) groups: bool,
}

impl Expand {
    fn of(values: &[ExpandValue]) -> Expand {
        Expand {
            platform_roles: values.contains(&ExpandValue::PlatformRoles),
            counts: values.contains(&ExpandValue::CountsResources),
            product_access: values.contains(&ExpandValue::ProductAccess),
            groups: values.contains(&ExpandValue::Groups),
        }
    }
}

/// An account's roles, as [`World::role_assignments`] gives them.
type Assignments = BTreeMap<(ResourceIx, Role), Methods>;

/// The platform roles an account holds (org admin; site admin granted directly or through a
/// group; user-access admin of any app).
fn platform_roles(w: &World, ax: AccountIx, assignments: &Assignments) -> Vec<&'static str> {
    let mut out = vec![];
    if w.account(ax).org_admin {
        out.push(Role::OrgAdmin.id());
    }
    if assignments
        .iter()
        .any(|((_, role), m)| *role == Role::SiteAdmin && (m.direct || m.group))
    {
        out.push(Role::SiteAdmin.id());
    }
    if assignments
        .keys()
        .any(|(_, role)| *role == Role::UserAccessAdmin)
    {
        out.push(Role::UserAccessAdmin.id());
    }
    out
}

/// Resources the account can use right now through an app-access role.
fn accessible_resources(w: &World, ax: AccountIx, assignments: &Assignments) -> Vec<ResourceIx> {
    let mut out: Vec<ResourceIx> = assignments
        .keys()
        .filter(|(rx, role)| {
            ACCESS_ROLES.contains(role)
                && w.resource(*rx).product != Product::Platform
                && w.can_access(ax, *rx)
        })
        .map(|(rx, _)| *rx)
        .collect();
    out.dedup();
    out
}

/// Number of resources the account holds any role on (`counts.resources`).
fn resource_count(assignments: &Assignments) -> usize {
    assignments
        .keys()
        .map(|(rx, _)| *rx)
        .collect::<BTreeSet<_>>()
        .len()
}

/// The opaque `links.self` of one user: base64url of the account id.
fn user_self_link(account_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(account_id)
}

/// The fields every `MultiDirectoryUser` and `MultiDirectoryUserDetailsData` carry.
fn base_user(w: &World, ax: AccountIx, scope: Scope) -> Map<String, Value> {
    let a = w.account(ax);
    let mut m = Map::new();
    m.insert("accountId".into(), json!(a.id));
    m.insert("accountType".into(), json!(a.kind.as_str()));
    m.insert("status".into(), json!(status_in(w, ax, scope)));
    m.insert("accountStatus".into(), json!(a.status.as_str()));
    m.insert(
        "membershipStatus".into(),
        json!(membership_in(w, ax, scope)),
    );
    m.insert("addedToOrg".into(), json!(ts(a.added_to_org)));
    m.insert("name".into(), json!(a.name));
    m.insert("nickname".into(), json!(a.nickname));
    if let Some(email) = &a.email {
        m.insert("email".into(), json!(email));
    }
    m.insert("emailVerified".into(), json!(a.email_verified));
    m.insert(
        "claimStatus".into(),
        json!(if w.is_managed(ax) {
            "managed"
        } else {
            "unmanaged"
        }),
    );
    let source = match a.source {
        ManagementSource::Invited => "invited",
        ManagementSource::Synced => "synced",
    };
    m.insert("managementSource".into(), json!(source));
    m.insert("mfaEnabled".into(), json!(a.mfa_enabled));
    m.insert("picture".into(), json!(DEFAULT_AVATAR));
    m.insert("avatar".into(), json!(DEFAULT_AVATAR));
    let profile = &a.profile;
    for (key, value) in [
        ("jobTitle", &profile.job_title),
        ("department", &profile.department),
        ("organization", &profile.organization),
        ("location", &profile.location),
    ] {
        if let Some(value) = value {
            m.insert(key.into(), json!(value));
        }
    }
    m.insert("timeZone".into(), json!(profile.time_zone));
    if let Some(when) = &a.deactivated_on {
        m.insert("deactivatedOn".into(), json!(ts(*when)));
    }
    m
}

/// Renders one `MultiDirectoryUser` as the search and list endpoints show it, with the
/// `expand`ed parts.
pub(crate) fn render_user(w: &World, ax: AccountIx, scope: Scope, expand: Expand) -> Value {
    let mut m = base_user(w, ax, scope);
    let a = w.account(ax);
    let assignments = if expand.platform_roles || expand.counts || expand.product_access {
        w.role_assignments(ax)
    } else {
        Assignments::new()
    };
    if expand.platform_roles {
        m.insert(
            "platformRoles".into(),
            json!(platform_roles(w, ax, &assignments)),
        );
    }
    if expand.counts {
        m.insert(
            "counts".into(),
            json!({"resources": resource_count(&assignments)}),
        );
    }
    if expand.product_access {
        let items: Vec<Value> = accessible_resources(w, ax, &assignments)
            .into_iter()
            .map(|rx| {
                let resource = w.resource(rx);
                let mut item = json!({"key": resource.product.key(), "id": resource.ari()});
                if let Some(at) = a.last_active.get(&rx) {
                    item["lastActiveTimestamp"] = json!(ts(*at));
                }
                item
            })
            .collect();
        m.insert("productAccess".into(), json!(items));
    }
    if expand.groups {
        let groups: Vec<Value> = a
            .groups
            .iter()
            .map(|gx| w.group(*gx))
            .filter(|g| {
                !g.deleted
                    && match scope {
                        Scope::All => true,
                        Scope::Dir(dir) => g.directory == dir,
                    }
            })
            .map(|g| json!({"id": g.id, "name": g.name, "description": g.description}))
            .collect();
        m.insert("groups".into(), json!(groups));
    }
    m.insert("links".into(), json!({"self": user_self_link(&a.id)}));
    Value::Object(m)
}

// ---- filters ------------------------------------------------------------------------------------

/// A composite `status` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StatusValue {
    Active,
    Suspended,
    NotInvited,
    Deactivated,
    ForDeletion,
}

impl StatusValue {
    fn as_str(self) -> &'static str {
        match self {
            StatusValue::Active => "active",
            StatusValue::Suspended => "suspended",
            StatusValue::NotInvited => "not_invited",
            StatusValue::Deactivated => "deactivated",
            StatusValue::ForDeletion => "for_deletion",
        }
    }
}

/// A `membershipStatus` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MembershipValue {
    Active,
    Suspended,
    NoMembership,
}

impl MembershipValue {
    fn as_str(self) -> &'static str {
        match self {
            MembershipValue::Active => "active",
            MembershipValue::Suspended => "suspended",
            MembershipValue::NoMembership => "no_membership",
        }
    }
}

/// A `claimStatus` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ClaimValue {
    Managed,
    Unmanaged,
}

/// An `expand` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum ExpandValue {
    #[serde(rename = "platformRoles")]
    PlatformRoles,
    #[serde(rename = "counts.resources")]
    CountsResources,
    #[serde(rename = "productAccess")]
    ProductAccess,
    #[serde(rename = "groups")]
    Groups,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum SortField {
    #[serde(rename = "nick_name")]
    NickName,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SortDirection {
    #[default]
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct SortBy {
    #[allow(dead_code)]
    field: SortField,
    #[serde(default)]
    direction: SortDirection,
}

/// The filters of a user search or list, as sent (body fields, or query parameters turned into
/// the same JSON shape).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFilters {
    account_ids: Option<Vec<String>>,
    directory_ids: Option<Vec<String>>,
    resource_ids: Option<Vec<String>>,
    group_ids: Option<Vec<String>>,
    mfa_enabled: Option<bool>,
    claim_status: Option<ClaimValue>,
    status: Option<Vec<StatusValue>>,
    account_status: Option<Vec<AccountStatus>>,
    membership_status: Option<Vec<MembershipValue>>,
    role_ids: Option<Vec<String>>,
    email_domains: Option<Vec<String>>,
    search_term: Option<String>,
    emails: Option<Vec<String>>,
    expand: Option<Vec<ExpandValue>>,
    sort_by: Option<Vec<SortBy>>,
}

/// Validated filters, as stored in a cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    account_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    directory_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mfa_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim_status: Option<ClaimValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    status: Vec<StatusValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    account_status: Vec<AccountStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    membership_status: Vec<MembershipValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    role_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    email_domains: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search_term: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    expand: Vec<ExpandValue>,
    /// `None`: the default order (joined the org); `Some(desc)`: by nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sort_desc: Option<bool>,
}

/// A list field: absent is empty; present must hold `1..=max` items.
fn items<T>(name: &str, value: Option<Vec<T>>, max: usize) -> ApiResult<Vec<T>> {
    match value {
        None => Ok(vec![]),
        Some(v) if v.is_empty() => Err(invalid_body(format!(
            "{name} must hold at least one item when present."
        ))),
        Some(v) if v.len() > max => Err(invalid_body(format!(
            "{name} can hold at most {max} items."
        ))),
        Some(v) => Ok(v),
    }
}

impl RawFilters {
    /// Whether any filter (or expand/sort) was sent.
    fn is_empty(&self) -> bool {
        let RawFilters {
            account_ids,
            directory_ids,
            resource_ids,
            group_ids,
            mfa_enabled,
            claim_status,
            status,
            account_status,
            membership_status,
            role_ids,
            email_domains,
            search_term,
            emails,
            expand,
            sort_by,
        } = self;
        account_ids.is_none()
            && directory_ids.is_none()
            && resource_ids.is_none()
            && group_ids.is_none()
            && mfa_enabled.is_none()
            && claim_status.is_none()
            && status.is_none()
            && account_status.is_none()
            && membership_status.is_none()
            && role_ids.is_none()
            && email_domains.is_none()
            && search_term.is_none()
            && emails.is_none()
            && expand.is_none()
            && sort_by.is_none()
    }

    /// Checks the spec's limits (item counts, enums, exclusive fields) and normalizes.
    fn validate(self) -> ApiResult<Filters> {
        if self.search_term.is_some() && self.emails.is_some() {
            return Err(invalid_body(
                "searchTerm and emails are mutually exclusive; send one of them.",
            ));
        }
        let role_ids = items("roleIds", self.role_ids, 10)?;
        if let Some(bad) = role_ids
            .iter()
            .find(|r| !FILTER_ROLE_IDS.contains(&r.as_str()))
        {
            return Err(invalid_body(format!(
                "roleIds: {bad} is not a known role id."
            )));
        }
        let mut emails: Vec<String> = items("emails", self.emails, 100)?
            .iter()
            .map(|e| e.trim().to_lowercase())
            .collect();
        let distinct: BTreeSet<&String> = emails.iter().collect();
        if distinct.len() != emails.len() {
            return Err(invalid_body("emails must not repeat an address."));
        }
        emails.sort();
        let expand = self.expand.unwrap_or_default();
        if expand.iter().collect::<BTreeSet<_>>().len() != expand.len() {
            return Err(invalid_body("expand must not repeat a value."));
        }
        let sort_desc = items("sortBy", self.sort_by, 1)?
            .first()
            .map(|s| s.direction == SortDirection::Desc);
        Ok(Filters {
            account_ids: items("accountIds", self.account_ids, 10)?,
            directory_ids: items("directoryIds", self.directory_ids, 10)?,
            resource_ids: items("resourceIds", self.resource_ids, 20)?,
            group_ids: items("groupIds", self.group_ids, 10)?,
            mfa_enabled: self.mfa_enabled,
            claim_status: self.claim_status,
            status: items("status", self.status, 4)?,
            account_status: items("accountStatus", self.account_status, 3)?,
            membership_status: items("membershipStatus", self.membership_status, 3)?,
            role_ids,
            email_domains: items("emailDomains", self.email_domains, 10)?
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .collect(),
            search_term: self
                .search_term
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty()),
            emails,
            expand,
            sort_desc,
        })
    }
}

/// The filters resolved against the world.
struct Matcher<'a> {
    w: &'a World,
    f: &'a Filters,
    scope: Scope,
    dirs: Option<BTreeSet<DirIx>>,
    resources: Option<BTreeSet<ResourceIx>>,
    groups: Option<BTreeSet<GroupIx>>,
    roles: Option<BTreeSet<Role>>,
    /// Whether being an org admin satisfies the role filters (org admin asked for without
    /// resources, or site admin asked for on a platform resource the filters allow).
    org_admin_matches: bool,
}

impl<'a> Matcher<'a> {
    fn new(w: &'a World, f: &'a Filters, scope: Scope) -> ApiResult<Matcher<'a>> {
        let dirs = if f.directory_ids.is_empty() {
            None
        } else {
            let mut set = BTreeSet::new();
            for id in &f.directory_ids {
                match scope_of(w, id)? {
                    Scope::Dir(dir) => set.insert(dir),
                    Scope::All => {
                        return Err(invalid_body("directoryIds takes directory ids, not `-`."));
                    }
                };
            }
            Some(set)
        };
        // Unknown resources, groups and roles (`atlassian/ai-access`) simply match nobody.
        let resources = (!f.resource_ids.is_empty()).then(|| {
            f.resource_ids
                .iter()
                .filter_map(|ari| w.resource_ix(ari).ok())
                .collect()
        });
        let groups = (!f.group_ids.is_empty()).then(|| {
            f.group_ids
                .iter()
                .filter_map(|id| w.group_ix(id).ok())
                .collect()
        });
        let roles = (!f.role_ids.is_empty()).then(|| {
            f.role_ids
                .iter()
                .filter_map(|id| Role::from_id(id))
                .collect()
        });
        let wants = |role: Role| {
            roles
                .as_ref()
                .is_none_or(|r: &BTreeSet<Role>| r.contains(&role))
        };
        let org_admin_matches = (resources.is_none()
            && roles.as_ref().is_some_and(|r| r.contains(&Role::OrgAdmin)))
            || (wants(Role::SiteAdmin)
                && w.resources.iter().enumerate().any(|(rx, r)| {
                    r.product == Product::Platform
                        && resources.as_ref().is_none_or(|set: &BTreeSet<ResourceIx>| {
                            set.contains(&(rx as ResourceIx))
                        })
                }));
        Ok(Matcher {
            w,
            f,
            scope,
            dirs,
            resources,
            groups,
            roles,
            org_admin_matches,
        })
    }

    fn matches(&self, ax: AccountIx) -> bool {
        let (w, f) = (self.w, self.f);
        if !is_directory_user(w, ax, self.scope) {
            return false;
        }
        let a = w.account(ax);
        let email = a.email.as_deref().unwrap_or("");
        let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
        (f.account_ids.is_empty() || f.account_ids.contains(&a.id))
            && self
                .dirs
                .as_ref()
                .is_none_or(|dirs| dirs.iter().any(|d| a.directories.contains_key(d)))
            && self
                .groups
                .as_ref()
                .is_none_or(|groups| groups.iter().any(|g| a.groups.contains(g)))
            && f.mfa_enabled.is_none_or(|mfa| a.mfa_enabled == mfa)
            && f.claim_status
                .is_none_or(|c| (c == ClaimValue::Managed) == w.is_managed(ax))
            && (f.status.is_empty()
                || f.status
                    .iter()
                    .any(|s| s.as_str() == status_in(w, ax, self.scope)))
            && (f.account_status.is_empty() || f.account_status.contains(&a.status))
            && (f.membership_status.is_empty()
                || f.membership_status
                    .iter()
                    .any(|m| m.as_str() == membership_in(w, ax, self.scope)))
            && (f.email_domains.is_empty()
                || f.email_domains
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(domain)))
            && (f.emails.is_empty() || f.emails.iter().any(|e| e.eq_ignore_ascii_case(email)))
            && f.search_term.as_deref().is_none_or(|term| {
                [a.name.as_str(), a.nickname.as_str(), email]
                    .iter()
                    .any(|field| field.to_lowercase().contains(term))
            })
            && self.matches_roles(ax)
    }

    /// `resourceIds` and `roleIds` together: the account holds one of the roles on one of the
    /// resources (directly, through a group, or inferred from org admin), as
    /// [`World::role_assignments`] reports them. Org admin is a role without a resource, so it
    /// only matches when no `resourceIds` are given. Checked without building the assignment
    /// map: this runs for every account on every page.
    fn matches_roles(&self, ax: AccountIx) -> bool {
        if self.resources.is_none() && self.roles.is_none() {
            return true;
        }
        let wanted = |(rx, role): &(ResourceIx, Role)| {
            self.resources.as_ref().is_none_or(|r| r.contains(rx))
                && self.roles.as_ref().is_none_or(|r| r.contains(role))
        };
        let a = self.w.account(ax);
        (a.org_admin && self.org_admin_matches)
            || a.direct_roles.iter().any(wanted)
            || a.groups
                .iter()
                .any(|gx| self.w.group(*gx).roles.iter().any(wanted))
    }

    /// Every matching account, in the requested order.
    fn run(&self) -> Vec<AccountIx> {
        let mut out: Vec<AccountIx> = (0..self.w.accounts.len() as AccountIx)
            .filter(|ax| self.matches(*ax))
            .collect();
        if let Some(desc) = self.f.sort_desc {
            let key = |ax: &AccountIx| {
                let a = self.w.account(*ax);
                (a.nickname.to_lowercase(), a.id.clone())
            };
            out.sort_by_cached_key(key);
            if desc {
                out.reverse();
            }
        }
        out
    }
}

// ---- cursors ------------------------------------------------------------------------------------

/// What an opaque cursor's `query` holds: which listing (`t`), the path's directory (`d`) and
/// the listing's own parameters (`f`).
#[derive(Debug, Serialize, Deserialize)]
struct CursorQuery<F> {
    t: String,
    d: String,
    f: F,
}

fn encode_cursor<F: Serialize>(
    tag: &str,
    dir: &str,
    filters: &F,
    offset: usize,
    limit: usize,
) -> String {
    let query = serde_json::to_value(CursorQuery {
        t: tag.to_owned(),
        d: dir.to_owned(),
        f: filters,
    })
    .ok();
    Cursor {
        offset,
        limit,
        query,
    }
    .encode()
}

/// Decodes a cursor made for listing `tag` on directory `dir`; anything else is a 400.
fn decode_cursor<F: DeserializeOwned>(
    token: &str,
    tag: &str,
    dir: &str,
) -> ApiResult<(F, usize, usize)> {
    let cursor = Cursor::decode(token).ok_or_else(invalid_cursor)?;
    let query: CursorQuery<F> = cursor
        .query
        .and_then(|q| serde_json::from_value(q).ok())
        .ok_or_else(invalid_cursor)?;
    if query.t != tag || query.d != dir || cursor.limit == 0 || cursor.limit > MAX_LIMIT {
        return Err(invalid_cursor());
    }
    Ok((query.f, cursor.offset, cursor.limit))
}

/// `links` of one v2 page: `self`, and `prev`/`next` only when there is such a page (the spec's
/// `LinkPageCursor` does not allow nulls).
fn page_links<F: Serialize>(
    tag: &str,
    dir: &str,
    filters: &F,
    offset: usize,
    limit: usize,
    total: usize,
) -> Value {
    let mut links = json!({"self": encode_cursor(tag, dir, filters, offset, limit)});
    if offset > 0 {
        links["prev"] = json!(encode_cursor(
            tag,
            dir,
            filters,
            offset.saturating_sub(limit),
            limit
        ));
    }
    if offset.saturating_add(limit) < total {
        links["next"] = json!(encode_cursor(
            tag,
            dir,
            filters,
            offset.saturating_add(limit),
            limit
        ));
    }
    links
}

/// A requested page size: absent is `default`, above the maximum is clamped, below 1 is a 400.
fn page_size(requested: Option<i64>, default: usize) -> ApiResult<usize> {
    match requested {
        None => Ok(default),
        Some(n) if n < 1 => Err(invalid_body("limit must be at least 1.")),
        Some(n) => Ok((n as usize).min(MAX_LIMIT)),
    }
}

/// Query parameters as (name, value) pairs, in order.
fn query_pairs(query: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    serde_html_form::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(ORG, format!("Invalid query parameters: {e}")))
}

/// Builds the JSON shape of [`RawFilters`] from query parameters. Arrays may repeat the
/// parameter or separate values with commas; `sortBy` is `nick_name`, `nick_name:desc` or the
/// JSON object. Only the names in `allowed` are read.
fn filters_from_query(pairs: &[(String, String)], allowed: &[&str]) -> ApiResult<RawFilters> {
    const SCALARS: [&str; 3] = ["mfaEnabled", "claimStatus", "searchTerm"];
    let mut object = Map::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            continue;
        }
        if SCALARS.contains(&name.as_str()) {
            let value = match (name.as_str(), value.as_str()) {
                ("mfaEnabled", "true") => json!(true),
                ("mfaEnabled", "false") => json!(false),
                _ => json!(value),
            };
            object.insert(name.clone(), value);
            continue;
        }
        let entry = object.entry(name.clone()).or_insert_with(|| json!([]));
        let Some(list) = entry.as_array_mut() else {
            continue;
        };
        if name == "sortBy" {
            let sort = serde_json::from_str::<Value>(value)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| {
                    let (field, direction) = value.split_once(':').unwrap_or((value, "asc"));
                    json!({"field": field, "direction": direction})
                });
            list.push(sort);
        } else {
            list.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| json!(v)),
            );
        }
    }
    serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::bad_request(ORG, format!("Invalid query parameters: {e}")))
}

fn first_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn limit_param(pairs: &[(String, String)]) -> ApiResult<Option<i64>> {
    first_param(pairs, "limit")
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::bad_request(ORG, format!("limit must be an integer, not {v}."))
            })
        })
        .transpose()
}

// ---- search and lists ---------------------------------------------------------------------------

/// Body of `POST .../users/search`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    cursor: Option<String>,
    limit: Option<i64>,
    #[serde(flatten)]
    filters: RawFilters,
}

const USERS_TAG: &str = "users";

/// Answers one page of directory users.
fn user_page(
    w: &World,
    scope: Scope,
    dir: &str,
    filters: &Filters,
    offset: usize,
    limit: usize,
) -> ApiResult<Value> {
    let matched = Matcher::new(w, filters, scope)?.run();
    let expand = Expand::of(&filters.expand);
    let data: Vec<Value> = matched[window(matched.len(), offset, limit)]
        .iter()
        .map(|ax| render_user(w, *ax, scope, expand))
        .collect();
    Ok(
        json!({"data": data, "links": page_links(USERS_TAG, dir, filters, offset, limit, matched.len())}),
    )
}

async fn search_users(
    State(app): State<AppState>,
    Path((org_id, dir)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: SearchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SearchRequest::default()
    } else {
        parse_json(ORG, &body)?
    };
    app.read(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        let (filters, offset, limit) = match request.cursor {
            Some(token) => {
                if request.limit.is_some() || !request.filters.is_empty() {
                    return Err(invalid_body(
                        "When cursor is sent, send no other field: the cursor carries the query.",
                    ));
                }
                decode_cursor::<Filters>(&token, USERS_TAG, &dir)?
            }
            None => (
                request.filters.validate()?,
                0,
                page_size(request.limit, SEARCH_DEFAULT_LIMIT)?,
            ),
        };
        ok_json(&user_page(w, scope, &dir, &filters, offset, limit)?)
    })
}

/// Filters the deprecated GET list and the count endpoint read from the query.
const LIST_FILTERS: [&str; 13] = [
    "accountIds",
    "directoryIds",
    "resourceIds",
    "groupIds",
    "mfaEnabled",
    "claimStatus",
    "status",
    "accountStatus",
    "membershipStatus",
    "roleIds",
    "emailDomains",
    "searchTerm",
    "sortBy",
];

async fn list_users(
    State(app): State<AppState>,
    Path((org_id, dir)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref())?;
    app.read(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        // "If present, all other parameters are discarded."
        let (filters, offset, limit) = match first_param(&pairs, "cursor") {
            Some(token) => decode_cursor::<Filters>(token, USERS_TAG, &dir)?,
            None => (
                filters_from_query(&pairs, &LIST_FILTERS)?.validate()?,
                0,
                page_size(limit_param(&pairs)?, LIST_DEFAULT_LIMIT)?,
            ),
        };
        ok_json(&user_page(w, scope, &dir, &filters, offset, limit)?)
    })
}

async fn count_users(
    State(app): State<AppState>,
    Path((org_id, dir)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref())?;
    app.read(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        // The same filters as the list, without `sortBy` (the last one).
        let filters =
            filters_from_query(&pairs, &LIST_FILTERS[..LIST_FILTERS.len() - 1])?.validate()?;
        let count = Matcher::new(w, &filters, scope)?.run().len();
        ok_json(&json!({"count": count}))
    })
}

async fn user_stats(
    State(app): State<AppState>,
    Path((org_id, dir)): Path<(String, String)>,
) -> ApiResult<Response> {
    app.read(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        let users: Vec<AccountIx> =
            (0..w.accounts.len() as AccountIx).filter(|ax| is_directory_user(w, *ax, scope)).collect();
        let account_status: Vec<Value> = [AccountStatus::Active, AccountStatus::Inactive, AccountStatus::Closed]
            .into_iter()
            .map(|s| json!({"status": s.as_str(), "count": users.iter().filter(|ax| w.account(**ax).status == s).count()}))
            .collect();
        let mut counts = [0usize; STATS_ROLES.len()];
        for ax in &users {
            let mut held: BTreeSet<Role> = w.role_assignments(*ax).into_keys().map(|(_, r)| r).collect();
            if w.account(*ax).org_admin {
                held.insert(Role::OrgAdmin);
            }
            for (count, role) in counts.iter_mut().zip(STATS_ROLES) {
                *count += usize::from(held.contains(&role));
            }
        }
        let roles: Vec<Value> = STATS_ROLES
            .into_iter()
            .zip(counts)
            .map(|(role, count)| json!({"roleId": role.id(), "count": count}))
            .collect();
        ok_json(&json!({"accountStatus": account_status, "roles": roles}))
    })
}

async fn user_details(
    State(app): State<AppState>,
    Path((org_id, dir, account_id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    app.read(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        let ax = directory_user(w, &account_id, scope)?;
        let mut data = base_user(w, ax, scope);
        let assignments = w.role_assignments(ax);
        data.insert(
            "platformRoles".into(),
            json!(platform_roles(w, ax, &assignments)),
        );
        data.insert(
            "counts".into(),
            json!({"resources": resource_count(&assignments)}),
        );
        ok_json(&json!({"data": data}))
    })
}

// ---- role assignments ---------------------------------------------------------------------------

/// Parameters of the role-assignments list, as stored in its cursor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RoleAssignmentFilters {
    account: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    directory_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_owners: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    role_ids: Vec<String>,
}

const ROLE_ASSIGNMENTS_TAG: &str = "role-assignments";

/// One `MultiDirectoryUserRoleAssignment` before rendering.
struct AssignmentItem {
    resource_id: String,
    owner: &'static str,
    /// `None` for platform roles.
    directory: Option<DirIx>,
    roles: Vec<(Role, Methods)>,
}

/// Every role assignment of an account, one item per resource: the org-admin role first, then
/// resources in the world's order.
fn assignment_items(w: &World, ax: AccountIx) -> Vec<AssignmentItem> {
    let mut out = vec![];
    if w.account(ax).org_admin {
        out.push(AssignmentItem {
            resource_id: format!("ari:cloud:platform::org/{}", w.org.id),
            owner: Product::Platform.key(),
            directory: None,
            roles: vec![(
                Role::OrgAdmin,
                Methods {
                    direct: true,
                    ..Methods::default()
                },
            )],
        });
    }
    for ((rx, role), methods) in w.role_assignments(ax) {
        let resource = w.resource(rx);
        match out.last_mut() {
            Some(last) if last.resource_id == resource.ari() => last.roles.push((role, methods)),
            _ => out.push(AssignmentItem {
                resource_id: resource.ari(),
                owner: resource.product.key(),
                directory: (resource.product != Product::Platform)
                    .then(|| w.directory_of_resource(rx)),
                roles: vec![(role, methods)],
            }),
        }
    }
    out
}

fn method_names(m: Methods) -> Vec<&'static str> {
    let mut out = vec![];
    if m.direct {
        out.push("direct");
    }
    if m.group {
        out.push("group_direct");
    }
    if m.inferred {
        out.push("inferred");
    }
    out
}

fn render_assignment(w: &World, ax: AccountIx, item: &AssignmentItem) -> Value {
    let (directory_id, status) = match item.directory {
        Some(dir) => (
            json!(w.directories[dir as usize].id),
            json!(membership_name(
                w.account(ax).directories.get(&dir).copied()
            )),
        ),
        None => (Value::Null, Value::Null),
    };
    json!({
        "resourceId": item.resource_id,
        "resourceOwner": item.owner,
        "roles": item.roles.iter().map(|(role, _)| role.id()).collect::<Vec<_>>(),
        "roleAssignments": item.roles.iter()
            .map(|(role, m)| json!({"role": role.id(), "roleAssignmentMethods": method_names(*m)}))
            .collect::<Vec<_>>(),
        "directoryId": directory_id,
        "userDirectoryStatus": status,
    })
}

async fn user_role_assignments(
    State(app): State<AppState>,
    Path((org_id, dir, account_id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref())?;
    app.read(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        let ax = directory_user(w, &account_id, scope)?;
        let (filters, offset, limit) = match first_param(&pairs, "cursor") {
            Some(token) => {
                let decoded =
                    decode_cursor::<RoleAssignmentFilters>(token, ROLE_ASSIGNMENTS_TAG, &dir)?;
                if decoded.0.account != account_id {
                    return Err(invalid_cursor());
                }
                decoded
            }
            None => {
                let list = |name: &str, max: usize| -> ApiResult<Vec<String>> {
                    let values: Vec<String> = pairs
                        .iter()
                        .filter(|(k, _)| k == name)
                        .flat_map(|(_, v)| v.split(','))
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect();
                    items(name, (!values.is_empty()).then_some(values), max)
                };
                let filters = RoleAssignmentFilters {
                    account: account_id.clone(),
                    directory_ids: list("directoryIds", 10)?,
                    resource_owners: list("resourceOwners", 10)?,
                    resource_ids: list("resourceIds", 20)?,
                    role_ids: list("roleIds", 10)?,
                };
                if let Some(bad) = filters
                    .role_ids
                    .iter()
                    .find(|r| !FILTER_ROLE_IDS.contains(&r.as_str()))
                {
                    return Err(invalid_body(format!(
                        "roleIds: {bad} is not a known role id."
                    )));
                }
                for id in &filters.directory_ids {
                    scope_of(w, id)?;
                }
                (
                    filters,
                    0,
                    page_size(limit_param(&pairs)?, LIST_DEFAULT_LIMIT)?,
                )
            }
        };
        let dir_ids: Vec<&str> = filters.directory_ids.iter().map(String::as_str).collect();
        let items: Vec<AssignmentItem> = assignment_items(w, ax)
            .into_iter()
            .filter(|item| match (scope, item.directory) {
                (Scope::Dir(d), Some(item_dir)) => d == item_dir,
                _ => true,
            })
            .filter(|item| {
                dir_ids.is_empty()
                    || item
                        .directory
                        .is_some_and(|d| dir_ids.contains(&w.directories[d as usize].id.as_str()))
            })
            .filter(|item| {
                filters.resource_owners.is_empty()
                    || filters.resource_owners.iter().any(|o| o == item.owner)
            })
            .filter(|item| {
                filters.resource_ids.is_empty() || filters.resource_ids.contains(&item.resource_id)
            })
            .filter_map(|mut item| {
                if !filters.role_ids.is_empty() {
                    item.roles
                        .retain(|(role, _)| filters.role_ids.iter().any(|r| r == role.id()));
                }
                (!item.roles.is_empty()).then_some(item)
            })
            .collect();
        let data: Vec<Value> = items[window(items.len(), offset, limit)]
            .iter()
            .map(|item| render_assignment(w, ax, item))
            .collect();
        let links = page_links(
            ROLE_ASSIGNMENTS_TAG,
            &dir,
            &filters,
            offset,
            limit,
            items.len(),
        );
        ok_json(&json!({"data": data, "links": links}))
    })
}

// ---- suspend, restore, remove -------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Lifecycle {
    Suspend,
    Restore,
    Remove,
}

/// Applies a directory lifecycle change to every directory in scope that the account is in.
fn change_membership(
    app: &AppState,
    caller: OrgCaller,
    (org_id, dir, account_id): (String, String, String),
    op: Lifecycle,
) -> ApiResult<Response> {
    app.write(|w| {
        check_org(w, &org_id)?;
        let scope = scope_of(w, &dir)?;
        let ax = w
            .account_ix(&account_id)
            .ok()
            .filter(|ax| w.account(*ax).kind == AccountType::Atlassian)
            .ok_or_else(|| user_not_found(&account_id))?;
        let dirs: Vec<DirIx> = match scope {
            Scope::Dir(d) => vec![d],
            Scope::All => w.account(ax).directories.keys().copied().collect(),
        };
        if dirs.is_empty() {
            return Err(ApiError::new(
                ORG,
                StatusCode::NOT_FOUND,
                "ADMIN-404-8",
                format!("User {account_id} is not a member of any directory."),
            ));
        }
        for d in dirs {
            let result = match op {
                Lifecycle::Suspend => w.suspend(caller.actor, d, ax).map(drop),
                Lifecycle::Restore => w.restore(caller.actor, d, ax).map(drop),
                Lifecycle::Remove => w.remove_from_directory(caller.actor, d, ax),
            };
            result.map_err(|e| match e {
                ModelError::NotInDirectory(..) => {
                    ApiError::new(ORG, StatusCode::NOT_FOUND, "ADMIN-404-8", e.to_string())
                }
                ModelError::LicenceExceeded { .. } => {
                    ApiError::new(ORG, StatusCode::BAD_REQUEST, "ADMIN-400-32", e.to_string())
                }
                _ => ApiError::from_model(ORG, &e),
            })?;
        }
        no_content()
    })
}

async fn suspend_user(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    change_membership(&app, caller, path, Lifecycle::Suspend)
}

async fn restore_user(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    change_membership(&app, caller, path, Lifecycle::Restore)
}

async fn remove_user(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    change_membership(&app, caller, path, Lifecycle::Remove)
}

// ---- invite -------------------------------------------------------------------------------------

/// Body of `POST /v2/orgs/{org_id}/users/invite` (`MultidirectoryInviteApiRequest`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InviteRequest {
    emails: Vec<String>,
    permission_rules: Option<Vec<InviteRule>>,
    additional_groups: Option<Vec<String>>,
    #[allow(dead_code)]
    send_notification: Option<bool>,
    #[allow(dead_code)]
    notification_text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InviteRule {
    resource: String,
    role: String,
}

fn result_item(status_ok: Result<(), String>) -> (&'static str, Value) {
    match status_ok {
        Ok(()) => ("INVITED", Value::Null),
        Err(reason) => ("ERROR", json!(reason)),
    }
}

async fn invite_users(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(org_id): Path<String>,
    Body(request): Body<InviteRequest>,
) -> ApiResult<Response> {
    app.write(|w| {
        check_org_with(w, &org_id, "ADMIN-UAM-404-2")?;
        if !w.org.paid {
            return Err(ApiError::new(
                ORG,
                StatusCode::PAYMENT_REQUIRED,
                "ADMIN-UAM-402-1",
                "Inviting users needs at least one paid subscription in the organization.",
            ));
        }
        if request.emails.is_empty() || request.emails.len() > MAX_INVITE_EMAILS {
            return Err(uam_bad_request(format!(
                "emails must hold 1 to {MAX_INVITE_EMAILS} addresses."
            )));
        }
        let mut emails: Vec<String> = vec![];
        for email in &request.emails {
            let email = email.trim().to_lowercase();
            if !is_plausible_email(&email) {
                return Err(uam_bad_request(format!(
                    "{email} is not a valid email address."
                )));
            }
            if !emails.contains(&email) {
                emails.push(email);
            }
        }
        let mut rules = vec![];
        for rule in request.permission_rules.unwrap_or_default() {
            let role = Role::from_id(&rule.role)
                .filter(|r| INVITE_ROLES.contains(r))
                .ok_or_else(|| {
                    uam_bad_request(format!(
                        "{} is not a role an invitation can grant.",
                        rule.role
                    ))
                })?;
            let resource = w.resource_ix(&rule.resource).map_err(|e| uam_error(&e))?;
            if !w
                .resource(resource)
                .product
                .grantable_roles()
                .contains(&role)
            {
                return Err(uam_error(&ModelError::RoleNotAllowed {
                    role: rule.role,
                    resource: rule.resource,
                }));
            }
            rules.push(PermissionRule { resource, role });
        }
        let mut groups = vec![];
        for id in request.additional_groups.unwrap_or_default() {
            groups.push(w.group_ix(&id).map_err(|e| uam_error(&e))?);
        }
        let mut all_ok = true;
        let mut data = vec![];
        for email in emails {
            let (id, role_results, group_results) =
                match w.invite(caller.actor, &email, &rules, &groups) {
                    Ok(outcome) => (
                        Some(w.account(outcome.account).id.clone()),
                        outcome
                            .roles
                            .into_iter()
                            .map(|(rule, r)| (rule, r.map_err(|e| e.to_string())))
                            .collect::<Vec<_>>(),
                        outcome
                            .groups
                            .into_iter()
                            .map(|(g, r)| (g, r.map_err(|e| e.to_string())))
                            .collect::<Vec<_>>(),
                    ),
                    Err(e) => (
                        w.account_by_email(&email)
                            .map(|ax| w.account(ax).id.clone()),
                        rules
                            .iter()
                            .map(|rule| (*rule, Err(e.to_string())))
                            .collect(),
                        groups.iter().map(|g| (*g, Err(e.to_string()))).collect(),
                    ),
                };
            all_ok &= role_results.iter().all(|(_, r)| r.is_ok())
                && group_results.iter().all(|(_, r)| r.is_ok());
            let role_items: Vec<Value> = role_results
                .into_iter()
                .map(|(rule, r)| {
                    let (status, reason) = result_item(r);
                    json!({"resource": w.resource(rule.resource).ari(), "role": rule.role.id(),
                           "status": status, "statusReason": reason})
                })
                .collect();
            let group_items: Vec<Value> = group_results
                .into_iter()
                .map(|(gx, r)| {
                    let (status, reason) = result_item(r);
                    json!({"group": w.group(gx).id, "status": status, "statusReason": reason})
                })
                .collect();
            let mut item = json!({"email": email, "results": [{
                "roleAssignmentResult": role_items, "groupAssignmentResult": group_items}]});
            if let Some(id) = id {
                item["id"] = json!(id);
            }
            data.push(item);
        }
        let status = if all_ok {
            StatusCode::OK
        } else {
            StatusCode::PARTIAL_CONTENT
        };
        Ok(json_response(status, &json!({"data": data})))
    })
}

// ---- v1 role grants -----------------------------------------------------------------------------

/// Body of `roles/assign` and `roles/revoke` (`RoleApiRequest`).
#[derive(Debug, Deserialize)]
struct RoleRequest {
    role: String,
    resource: Option<String>,
}

/// Body of `role-assignments/assign` and `/revoke` (`OrganizationLevelRoleApiRequest`).
#[derive(Debug, Deserialize)]
struct OrgRoleRequest {
    role: String,
}

fn grant_or_revoke(
    app: &AppState,
    caller: OrgCaller,
    (org_id, user_id): (String, String),
    request: RoleRequest,
    grant: bool,
) -> ApiResult<Response> {
    app.write(|w| {
        check_org_with(w, &org_id, "ADMIN-UAM-404-2")?;
        let role = Role::from_id(&request.role)
            .filter(|r| ASSIGNABLE_ROLES.contains(r))
            .ok_or_else(|| {
                uam_bad_request(format!(
                    "{} is not a role this API can assign.",
                    request.role
                ))
            })?;
        let ax = w.account_ix(&user_id).map_err(|e| uam_error(&e))?;
        if grant {
            let a = w.account(ax);
            if a.status != AccountStatus::Active || a.delete_after.is_some() {
                return Err(ApiError::new(
                    ORG,
                    StatusCode::BAD_REQUEST,
                    "ADMIN-UAM-400-2",
                    format!(
                        "User {user_id} is inactive; enable the account before granting roles."
                    ),
                ));
            }
        }
        let result = if role == Role::OrgAdmin {
            // "Any resource passed for org-admin shall be ignored."
            if grant {
                w.grant_org_admin(caller.actor, ax)
            } else {
                w.revoke_org_admin(caller.actor, ax)
            }
        } else {
            let ari = request.resource.as_deref().ok_or_else(|| {
                uam_bad_request(format!("resource is required for {}.", role.id()))
            })?;
            let rx = w.resource_ix(ari).map_err(|e| uam_error(&e))?;
            if grant {
                w.grant_role(caller.actor, ax, rx, role)
            } else {
                w.revoke_role(caller.actor, ax, rx, role)
            }
        };
        result.map_err(|e| uam_error(&e))?;
        no_content()
    })
}

async fn assign_role(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String)>,
    Body(request): Body<RoleRequest>,
) -> ApiResult<Response> {
    grant_or_revoke(&app, caller, path, request, true)
}

async fn revoke_role(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String)>,
    Body(request): Body<RoleRequest>,
) -> ApiResult<Response> {
    grant_or_revoke(&app, caller, path, request, false)
}

fn org_role(
    app: &AppState,
    caller: OrgCaller,
    path: (String, String),
    request: OrgRoleRequest,
    grant: bool,
) -> ApiResult<Response> {
    if request.role != Role::OrgAdmin.id() {
        return Err(uam_bad_request(format!(
            "{} is not an organization-level role; only atlassian/org-admin is.",
            request.role
        )));
    }
    grant_or_revoke(
        app,
        caller,
        path,
        RoleRequest {
            role: request.role,
            resource: None,
        },
        grant,
    )
}

async fn assign_org_role(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String)>,
    Body(request): Body<OrgRoleRequest>,
) -> ApiResult<Response> {
    org_role(&app, caller, path, request, true)
}

async fn revoke_org_role(
    State(app): State<AppState>,
    Extension(caller): Extension<OrgCaller>,
    Path(path): Path<(String, String)>,
    Body(request): Body<OrgRoleRequest>,
) -> ApiResult<Response> {
    org_role(&app, caller, path, request, false)
}

// ---- v1 managed accounts and last-active dates ----------------------------------------------------

/// The v1 product key (`Product.key` enum of the v1 models): JSM is `jira-service-desk` there,
/// and products the old enum lacks (JPD, the platform) are left out.
fn v1_product_key(product: Product) -> Option<&'static str> {
    match product {
        Product::JiraSoftware => Some("jira-software"),
        Product::JiraServiceDesk => Some("jira-service-desk"),
        Product::Confluence => Some("confluence"),
        Product::Statuspage => Some("statuspage"),
        Product::JiraProductDiscovery | Product::Platform => None,
    }
}

/// Where a product lives, as the v1 `product_access[].url` shows it.
fn v1_product_url(w: &World, rx: ResourceIx) -> String {
    let resource = w.resource(rx);
    match (resource.product, resource.site) {
        (Product::Confluence, Some(site)) => format!("{}.atlassian.net/wiki", w.site(site).name),
        (_, Some(site)) => format!("{}.atlassian.net", w.site(site).name),
        (_, None) => "manage.statuspage.io".to_owned(),
    }
}

const V1_USERS_TAG: &str = "v1-users";

fn render_v1_user(w: &World, ax: AccountIx, users_url: &str) -> Value {
    let a = w.account(ax);
    let assignments = w.role_assignments(ax);
    let access = accessible_resources(w, ax, &assignments);
    let product_access: Vec<Value> = access
        .iter()
        .filter_map(|rx| {
            let resource = w.resource(*rx);
            let key = v1_product_key(resource.product)?;
            let mut item = json!({"key": key, "name": resource.product.display_name(), "url": v1_product_url(w, *rx)});
            if let Some(at) = a.last_active.get(rx) {
                item["last_active"] = json!(ts(*at));
            }
            Some(item)
        })
        .collect();
    let billable = assignments
        .keys()
        .any(|(rx, role)| role.is_billable() && w.can_access(ax, *rx));
    let mut user = json!({
        "account_id": a.id,
        "account_type": a.kind.as_str(),
        "account_status": a.status.as_str(),
        "name": a.name,
        "picture": DEFAULT_AVATAR,
        "access_billable": billable,
        "product_access": product_access,
        "links": {"self": format!("{users_url}/{}", a.id)},
    });
    if let Some(email) = &a.email {
        user["email"] = json!(email);
    }
    if let Some(last) = a.last_active.values().max() {
        user["last_active"] = json!(ts(*last));
    }
    user
}

async fn managed_accounts(
    State(app): State<AppState>,
    Path(org_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref())?;
    let users_url = format!("{}/admin/v1/orgs/{org_id}/users", app.api_url());
    app.read(|w| {
        check_org(w, &org_id)?;
        let cursor = first_param(&pairs, "cursor");
        let offset = match cursor {
            Some(token) => decode_cursor::<Value>(token, V1_USERS_TAG, "")?.1,
            None => 0,
        };
        let managed: Vec<AccountIx> = (0..w.accounts.len() as AccountIx).filter(|ax| w.is_managed(*ax)).collect();
        let data: Vec<Value> = managed[window(managed.len(), offset, V1_PAGE_SIZE)]
            .iter()
            .map(|ax| render_v1_user(w, *ax, &users_url))
            .collect();
        let page_url = |offset: usize| {
            format!("{users_url}?cursor={}", encode_cursor(V1_USERS_TAG, "", &Value::Null, offset, V1_PAGE_SIZE))
        };
        let mut links = json!({"self": cursor.map_or_else(|| users_url.clone(), |c| format!("{users_url}?cursor={c}"))});
        if offset > 0 {
            links["prev"] = json!(page_url(offset.saturating_sub(V1_PAGE_SIZE)));
        }
        if offset.saturating_add(V1_PAGE_SIZE) < managed.len() {
            links["next"] = json!(page_url(offset.saturating_add(V1_PAGE_SIZE)));
        }
        ok_json(&json!({"data": data, "links": links, "meta": {"total": managed.len()}}))
    })
}

async fn last_active_dates(
    State(app): State<AppState>,
    Path((org_id, account_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref())?;
    app.read(|w| {
        check_org(w, &org_id)?;
        // Every product fits on one page, so no cursor was ever handed out.
        if first_param(&pairs, "cursor").is_some() {
            return Err(invalid_cursor());
        }
        let ax = directory_user(w, &account_id, Scope::All)?;
        let a = w.account(ax);
        let product_access: Vec<Value> = a
            .last_active
            .iter()
            .filter_map(|(rx, at)| {
                let resource = w.resource(*rx);
                let key = v1_product_key(resource.product)?;
                Some(json!({
                    "id": resource.cloud_id,
                    "key": key,
                    "last_active": at.format("%Y-%m-%d").to_string(),
                    "last_active_timestamp": at.to_rfc3339_opts(SecondsFormat::Secs, true),
                }))
            })
            .collect();
        // `added_to_org` is only reported under centralized user management.
        let (added, added_ts) = match w.mode {
            Mode::Centralized => (
                json!(a.added_to_org.format("%Y-%m-%d").to_string()),
                json!(a.added_to_org.to_rfc3339_opts(SecondsFormat::Secs, true)),
            ),
            Mode::Original => (Value::Null, Value::Null),
        };
        ok_json(&json!({
            "data": {"product_access": product_access, "added_to_org": added, "added_to_org_timestamp": added_ts},
            "links": {},
        }))
    })
}
