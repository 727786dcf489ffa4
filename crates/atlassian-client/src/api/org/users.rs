//! Directory users: search, the deprecated list, details, count, stats, role assignments, role
//! grants, suspend / restore / remove, the v1 managed accounts and last-active dates.

use std::collections::HashSet;

use futures::Stream;
use reqwest::Method;
use serde::Serialize;

use super::{DataOf, OrgApi, V1Page, V2_MAX_LIMIT, at_most, push_each, required};
use crate::Error;
use crate::client::segment;
use crate::error::Result;
use crate::family::Family;
use crate::models::RoleId;
use crate::models::org::{
    AccountStatus, ClaimStatus, Count, DirectoryUser, LastActiveDates, ManagedAccount,
    MembershipStatus, RoleAssignment, SortDirection, UserExpand, UserStats, UserStatus,
};
use crate::page::{Next, PageOf, cursor_from_url, paginate};
use crate::write::write_once;

/// Filters of the users search, the deprecated list and the count. Every filter is optional;
/// lists combine with OR inside a filter and AND across filters. Limits from the spec (checked
/// before sending): `account_ids`, `directory_ids`, `group_ids`, `role_ids`, `email_domains` at
/// most 10, `resource_ids` 20, `status` 4, `account_status` and `membership_status` 3.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFilter {
    /// Only these accounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub account_ids: Vec<String>,
    /// Members of these directories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directory_ids: Vec<String>,
    /// Holding a role on these resources (ARIs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_ids: Vec<String>,
    /// Members of these groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<String>,
    /// Two-step verification on or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    /// Managed or unmanaged accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_status: Option<ClaimStatus>,
    /// Composite statuses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<UserStatus>,
    /// Account statuses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub account_status: Vec<AccountStatus>,
    /// Membership statuses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub membership_status: Vec<MembershipStatus>,
    /// Holding one of these roles (with `resource_ids`: on one of those resources).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub role_ids: Vec<RoleId>,
    /// Email domains (`acme.com`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    /// Free text on name, nickname and email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
}

impl UserFilter {
    fn validate(&self) -> Result<()> {
        at_most("accountIds", self.account_ids.len(), 10)?;
        at_most("directoryIds", self.directory_ids.len(), 10)?;
        at_most("resourceIds", self.resource_ids.len(), 20)?;
        at_most("groupIds", self.group_ids.len(), 10)?;
        at_most("status", self.status.len(), 4)?;
        at_most("accountStatus", self.account_status.len(), 3)?;
        at_most("membershipStatus", self.membership_status.len(), 3)?;
        at_most("roleIds", self.role_ids.len(), 10)?;
        at_most("emailDomains", self.email_domains.len(), 10)
    }

    /// The filters as query parameters (arrays repeat the name).
    fn query(&self) -> Vec<(String, String)> {
        let mut q = vec![];
        push_each(&mut q, "accountIds", &self.account_ids);
        push_each(&mut q, "directoryIds", &self.directory_ids);
        push_each(&mut q, "resourceIds", &self.resource_ids);
        push_each(&mut q, "groupIds", &self.group_ids);
        if let Some(mfa) = self.mfa_enabled {
            q.push(("mfaEnabled".into(), mfa.to_string()));
        }
        if let Some(claim) = &self.claim_status {
            q.push(("claimStatus".into(), claim.to_string()));
        }
        push_each(&mut q, "status", &self.status);
        push_each(&mut q, "accountStatus", &self.account_status);
        push_each(&mut q, "membershipStatus", &self.membership_status);
        push_each(&mut q, "roleIds", &self.role_ids);
        push_each(&mut q, "emailDomains", &self.email_domains);
        if let Some(term) = &self.search_term {
            q.push(("searchTerm".into(), term.clone()));
        }
        q
    }
}

/// The users search (`MultiDirectoryUserSearchRequest`): the filters, exact emails, `expand`
/// and sorting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSearch {
    /// The filters shared with the list and the count.
    #[serde(flatten)]
    pub filter: UserFilter,
    /// Exact emails (at most 100; exclusive with `search_term`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// Optional parts of each user to include.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expand: Vec<UserExpand>,
    /// Order (by nickname); the default order is stable while the directory changes.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "sort_list")]
    pub sort_by: Option<UserSort>,
    /// Page size to ask for (1–100; default the maximum, 100). Only for tests and tuning: the
    /// stream yields every match whatever the server's page size.
    #[serde(skip)]
    pub limit: Option<u32>,
}

/// Sort order of the users search: by nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSort {
    /// Direction.
    pub direction: SortDirection,
}

fn sort_list<S: serde::Serializer>(sort: &Option<UserSort>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Item<'a> {
        field: &'static str,
        direction: &'a SortDirection,
    }
    match sort {
        Some(sort) => [Item {
            field: "nick_name",
            direction: &sort.direction,
        }]
        .serialize(s),
        None => s.serialize_none(),
    }
}

impl UserSearch {
    fn validate(&self) -> Result<()> {
        self.filter.validate()?;
        at_most("emails", self.emails.len(), 100)?;
        if self.filter.search_term.is_some() && !self.emails.is_empty() {
            return Err(Error::InvalidInput(
                "searchTerm and emails are mutually exclusive".into(),
            ));
        }
        let distinct: HashSet<String> = self.emails.iter().map(|e| e.to_lowercase()).collect();
        if distinct.len() != self.emails.len() {
            return Err(Error::InvalidInput(
                "emails must not repeat an address".into(),
            ));
        }
        Ok(())
    }

    /// The first page's body: the search plus `limit`.
    fn body(&self) -> Result<serde_json::Value> {
        self.validate()?;
        let mut body = serde_json::to_value(self)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the search: {e}")))?;
        body["limit"] = serde_json::json!(page_limit(self.limit)?);
        Ok(body)
    }
}

/// Filters of a role-assignments list (user or group). `directory_ids`, `resource_owners` and
/// `role_ids` take at most 10 values, `resource_ids` 20.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleAssignmentFilter {
    /// Resources of these directories.
    pub directory_ids: Vec<String>,
    /// Resources owned by these (`jira-software`, `confluence`, `platform`, …).
    pub resource_owners: Vec<String>,
    /// These resources (ARIs).
    pub resource_ids: Vec<String>,
    /// These roles.
    pub role_ids: Vec<RoleId>,
    /// Page size to ask for (1–100; default 100).
    pub limit: Option<u32>,
}

impl RoleAssignmentFilter {
    pub(crate) fn query(&self) -> Result<Vec<(String, String)>> {
        at_most("directoryIds", self.directory_ids.len(), 10)?;
        at_most("resourceOwners", self.resource_owners.len(), 10)?;
        at_most("resourceIds", self.resource_ids.len(), 20)?;
        at_most("roleIds", self.role_ids.len(), 10)?;
        let mut q = vec![];
        push_each(&mut q, "directoryIds", &self.directory_ids);
        push_each(&mut q, "resourceOwners", &self.resource_owners);
        push_each(&mut q, "resourceIds", &self.resource_ids);
        push_each(&mut q, "roleIds", &self.role_ids);
        Ok(q)
    }
}

/// A page size within 1..=100 (default 100).
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32> {
    match limit {
        None => Ok(V2_MAX_LIMIT),
        Some(n) if (1..=V2_MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(Error::InvalidInput(format!(
            "the page size must be 1 to {V2_MAX_LIMIT}, got {n}"
        ))),
    }
}

/// Body of `roles/assign` and `roles/revoke` (`RoleApiRequest`).
#[derive(Serialize)]
struct RoleRequest<'r> {
    role: &'r RoleId,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'r str>,
}

/// Body of `role-assignments/assign` and `/revoke` (`OrganizationLevelRoleApiRequest`).
#[derive(Serialize)]
struct OrgRoleRequest<'r> {
    role: &'r RoleId,
}

/// A directory lifecycle change.
#[derive(Debug, Clone, Copy)]
enum Lifecycle {
    Suspend,
    Restore,
}

impl<'a> OrgApi<'a> {
    /// Every directory user matching `search`
    /// (`POST /v2/orgs/{orgId}/directories/{directoryId}/users/search`): the main sync read.
    /// `directory_id` is a directory id or [`ALL_DIRECTORIES`](super::ALL_DIRECTORIES) (which
    /// also lists managed accounts outside every directory, as `not_invited`).
    ///
    /// Pages of up to 100; later pages send the cursor alone (the cursor carries the query).
    /// Read-only and idempotent. Invalid filters (too many values, `search_term` with
    /// `emails`) are an [`Error::InvalidInput`] before any request.
    pub fn search_users(
        &self,
        directory_id: &str,
        search: &UserSearch,
    ) -> impl Stream<Item = Result<DirectoryUser>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/users/search";
        self.v2_search(
            ROUTE,
            self.dir_path(directory_id, "/users/search"),
            search.body(),
        )
    }

    /// [`search_users`](Self::search_users) page by page, each page with the cursor of the
    /// next ([`PageOf::next`] is a [`Next::Cursor`], `None` after the last page), so a sync can
    /// record where it is after storing a page. With `resume` (a cursor an earlier stream
    /// yielded) it continues there: the cursor carries the query, `search` is not sent again.
    /// An expired or foreign cursor is the server's 400.
    pub fn search_users_pages(
        &self,
        directory_id: &str,
        search: &UserSearch,
        resume: Option<String>,
    ) -> impl Stream<Item = Result<PageOf<DirectoryUser>>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/users/search";
        self.v2_search_pages(
            ROUTE,
            self.dir_path(directory_id, "/users/search"),
            search.body(),
            resume,
        )
    }

    /// Every directory user matching `filter`, through the deprecated list
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/users`; Atlassian stops serving it after
    /// June 30, 2027). Prefer [`search_users`](Self::search_users), which also expands and sorts.
    /// Read-only and idempotent.
    #[deprecated(note = "Atlassian retires this list after June 30, 2027; use search_users")]
    pub fn list_users(
        &self,
        directory_id: &str,
        filter: &UserFilter,
        limit: Option<u32>,
    ) -> impl Stream<Item = Result<DirectoryUser>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/users";
        let path = filter
            .validate()
            .and_then(|()| page_limit(limit))
            .and_then(|_| self.dir_path(directory_id, "/users"));
        self.v2_list(
            ROUTE,
            path,
            filter.query(),
            page_limit(limit).unwrap_or(V2_MAX_LIMIT),
        )
    }

    /// One directory user
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}`), with platform roles
    /// and counts. Read-only; 404 ([`Error::is_not_found`]) when the account is not a user of
    /// that directory.
    pub async fn user(&self, directory_id: &str, account_id: &str) -> Result<DirectoryUser> {
        required("an account id", account_id)?;
        let path = self.dir_path(directory_id, &format!("/users/{}", segment(account_id)))?;
        let call = self.call(
            Method::GET,
            "/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}",
            &path,
        )?;
        let body: DataOf<DirectoryUser> = self.client.json(call).await?;
        Ok(body.data)
    }

    /// How many directory users match `filter`
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/users/count`). With
    /// [`ALL_DIRECTORIES`](super::ALL_DIRECTORIES) it counts every directory plus managed
    /// accounts outside them. Read-only.
    pub async fn count_users(&self, directory_id: &str, filter: &UserFilter) -> Result<u64> {
        filter.validate()?;
        let path = self.dir_path(directory_id, "/users/count")?;
        let mut call = self.call(
            Method::GET,
            "/v2/orgs/{orgId}/directories/{directoryId}/users/count",
            &path,
        )?;
        for (name, value) in filter.query() {
            call = call.query(&name, value);
        }
        let body: Count = self.client.json(call).await?;
        Ok(body.count)
    }

    /// Users per account status and per role
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/users/stats`). Read-only.
    pub async fn user_stats(&self, directory_id: &str) -> Result<UserStats> {
        let path = self.dir_path(directory_id, "/users/stats")?;
        let call = self.call(
            Method::GET,
            "/v2/orgs/{orgId}/directories/{directoryId}/users/stats",
            &path,
        )?;
        self.client.json(call).await
    }

    /// Every role a user holds, one item per resource, each role with how it is held (`direct`,
    /// `group_direct`, `inferred`)
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/role-assignments`).
    /// Read-only; the first item fails with 404 for an unknown user.
    pub fn user_role_assignments(
        &self,
        directory_id: &str,
        account_id: &str,
        filter: &RoleAssignmentFilter,
    ) -> impl Stream<Item = Result<RoleAssignment>> + 'a {
        const ROUTE: &str =
            "/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/role-assignments";
        let (query, path) = match filter.query() {
            Ok(query) => (
                query,
                required("an account id", account_id)
                    .and_then(|()| page_limit(filter.limit))
                    .and_then(|_| {
                        self.dir_path(
                            directory_id,
                            &format!("/users/{}/role-assignments", segment(account_id)),
                        )
                    }),
            ),
            Err(e) => (vec![], Err(e)),
        };
        self.v2_list(
            ROUTE,
            path,
            query,
            page_limit(filter.limit).unwrap_or(V2_MAX_LIMIT),
        )
    }

    /// Grants `role` on `resource` (an ARI; `None` only for `atlassian/org-admin`)
    /// (`POST /v1/orgs/{orgId}/users/{accountId}/roles/assign`, 204).
    ///
    /// Idempotent: granting a held role changes nothing, so the transport retries it after any
    /// retryable failure. A product out of seats is a 409 with
    /// [`code()`](Error::code) `ADMIN-UAM-409-3`; an unknown account or resource a 404.
    pub async fn assign_role(
        &self,
        account_id: &str,
        role: &RoleId,
        resource: Option<&str>,
    ) -> Result<()> {
        self.role_change(account_id, role, resource, "assign").await
    }

    /// Revokes `role` on `resource` (`POST /v1/orgs/{orgId}/users/{accountId}/roles/revoke`,
    /// 204). Access held through a group stays. Idempotent (revoking a role not held changes
    /// nothing).
    pub async fn revoke_role(
        &self,
        account_id: &str,
        role: &RoleId,
        resource: Option<&str>,
    ) -> Result<()> {
        self.role_change(account_id, role, resource, "revoke").await
    }

    async fn role_change(
        &self,
        account_id: &str,
        role: &RoleId,
        resource: Option<&str>,
        verb: &str,
    ) -> Result<()> {
        required("an account id", account_id)?;
        if resource.is_none() && *role != RoleId::OrgAdmin {
            return Err(Error::InvalidInput(format!(
                "a resource is required to {verb} {role}"
            )));
        }
        let route = if verb == "assign" {
            "/v1/orgs/{orgId}/users/{userId}/roles/assign"
        } else {
            "/v1/orgs/{orgId}/users/{userId}/roles/revoke"
        };
        let path = format!(
            "{}/users/{}/roles/{verb}",
            self.org_path("v1")?,
            segment(account_id)
        );
        let call = self
            .call(Method::POST, route, &path)?
            .json(&RoleRequest { role, resource })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Grants an organization-level role (today only `atlassian/org-admin`)
    /// (`POST /v1/orgs/{orgId}/users/{accountId}/role-assignments/assign`, 204). Eventually
    /// consistent (up to 30 s). Idempotent.
    pub async fn assign_org_role(&self, account_id: &str, role: &RoleId) -> Result<()> {
        self.org_role_change(account_id, role, "assign").await
    }

    /// Revokes an organization-level role
    /// (`POST /v1/orgs/{orgId}/users/{accountId}/role-assignments/revoke`, 204). The last org
    /// admin cannot lose it. Idempotent.
    pub async fn revoke_org_role(&self, account_id: &str, role: &RoleId) -> Result<()> {
        self.org_role_change(account_id, role, "revoke").await
    }

    async fn org_role_change(&self, account_id: &str, role: &RoleId, verb: &str) -> Result<()> {
        required("an account id", account_id)?;
        let route = if verb == "assign" {
            "/v1/orgs/{orgId}/users/{userId}/role-assignments/assign"
        } else {
            "/v1/orgs/{orgId}/users/{userId}/role-assignments/revoke"
        };
        let path = format!(
            "{}/users/{}/role-assignments/{verb}",
            self.org_path("v1")?,
            segment(account_id)
        );
        let call = self
            .call(Method::POST, route, &path)?
            .json(&OrgRoleRequest { role })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Suspends a user's access in a directory (every directory with
    /// [`ALL_DIRECTORIES`](super::ALL_DIRECTORIES))
    /// (`POST /v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/suspend`, 204).
    /// Roles and groups are kept for [`restore_user`](Self::restore_user). Org admins cannot be
    /// suspended (400). Idempotent (suspending a suspended user changes nothing).
    pub async fn suspend_user(&self, directory_id: &str, account_id: &str) -> Result<()> {
        self.lifecycle(directory_id, account_id, Lifecycle::Suspend)
            .await
    }

    /// Restores a suspended user's access
    /// (`POST /v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/restore`, 204).
    /// Idempotent.
    pub async fn restore_user(&self, directory_id: &str, account_id: &str) -> Result<()> {
        self.lifecycle(directory_id, account_id, Lifecycle::Restore)
            .await
    }

    async fn lifecycle(&self, directory_id: &str, account_id: &str, op: Lifecycle) -> Result<()> {
        required("an account id", account_id)?;
        let (route, verb) = match op {
            Lifecycle::Suspend => (
                "/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/suspend",
                "suspend",
            ),
            Lifecycle::Restore => (
                "/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/restore",
                "restore",
            ),
        };
        let path = self.dir_path(
            directory_id,
            &format!("/users/{}/{verb}", segment(account_id)),
        )?;
        let call = self.call(Method::POST, route, &path)?.idempotent();
        self.client.empty(call).await
    }

    /// Removes a user from a directory (every directory with
    /// [`ALL_DIRECTORIES`](super::ALL_DIRECTORIES))
    /// (`DELETE /v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}`, 204). Roles and
    /// groups are lost. 404 when the user is not in the directory.
    ///
    /// Not blindly repeatable: a repeated removal answers 404, which would hide a removal that
    /// worked. After an ambiguous failure it reads the user: gone (or without membership) means
    /// the removal happened (`Ok`); otherwise it tries again, at most 3 times in all.
    pub async fn remove_user(&self, directory_id: &str, account_id: &str) -> Result<()> {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}";
        required("an account id", account_id)?;
        let path = self.dir_path(directory_id, &format!("/users/{}", segment(account_id)))?;
        write_once(
            || async {
                let mut call = self.call(Method::DELETE, ROUTE, &path)?;
                call.idempotent = false;
                self.client.empty(call).await
            },
            || async {
                match self.user(directory_id, account_id).await {
                    Err(read) if read.is_not_found() => Ok(Some(())),
                    Ok(user) if user.membership_status == Some(MembershipStatus::NoMembership) => {
                        Ok(Some(()))
                    }
                    Ok(_) => Ok(None),
                    Err(read) => Err(read),
                }
            },
        )
        .await
    }

    /// Every managed account: accounts on the org's verified domains
    /// (`GET /v1/orgs/{orgId}/users`, v1 cursor URLs). Read-only.
    pub fn managed_accounts(&self) -> impl Stream<Item = Result<ManagedAccount>> + 'a {
        const ROUTE: &str = "/v1/orgs/{orgId}/users";
        let this = self.clone();
        paginate(Family::Org, ROUTE, move |next| {
            let this = this.clone();
            async move {
                let path = format!("{}/users", this.org_path("v1")?);
                let mut call = this.call(Method::GET, ROUTE, &path)?;
                if let Some(Next::Cursor(cursor)) = next {
                    call = call.query("cursor", cursor);
                }
                let page: V1Page<ManagedAccount> = this.client.json(call).await?;
                Ok(page.into_page())
            }
        })
    }

    /// When a user was last active in each product, every page merged
    /// (`GET /v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates`). Data may lag up
    /// to 24 hours. Read-only; 404 for an unknown user.
    pub async fn last_active_dates(&self, account_id: &str) -> Result<LastActiveDates> {
        const ROUTE: &str = "/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates";
        required("an account id", account_id)?;
        let path = format!(
            "{}/directory/users/{}/last-active-dates",
            self.org_path("v1")?,
            segment(account_id)
        );
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            data: LastActiveDates,
            #[serde(default)]
            links: super::Links,
        }
        let mut merged = LastActiveDates::default();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let mut call = self.call(Method::GET, ROUTE, &path)?;
            if let Some(c) = &cursor {
                call = call.query("cursor", c);
            }
            let page: Page = self.client.json(call).await?;
            let empty = page.data.product_access.is_empty();
            merged.product_access.extend(page.data.product_access);
            merged.added_to_org = merged.added_to_org.or(page.data.added_to_org);
            merged.added_to_org_timestamp = merged
                .added_to_org_timestamp
                .or(page.data.added_to_org_timestamp);
            // `links.next` is documented as a cursor; accept a URL carrying one too.
            cursor = page
                .links
                .next
                .and_then(|n| {
                    if n.contains('?') {
                        cursor_from_url(&n)
                    } else {
                        Some(n)
                    }
                })
                .filter(|c| !c.is_empty());
            match &cursor {
                None => return Ok(merged),
                Some(_) if empty => return Ok(merged),
                Some(c) if !seen.insert(c.clone()) => {
                    return Err(Error::RepeatedCursor {
                        family: Family::Org,
                        route: ROUTE,
                        cursor: c.clone(),
                    });
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_body_carries_every_filter_in_the_spec_shape() {
        let search = UserSearch {
            filter: UserFilter {
                account_ids: vec!["a".into()],
                resource_ids: vec!["ari:cloud:confluence::site/c".into()],
                mfa_enabled: Some(true),
                claim_status: Some(ClaimStatus::Managed),
                status: vec![UserStatus::Active, UserStatus::NotInvited],
                role_ids: vec![RoleId::User],
                ..Default::default()
            },
            expand: vec![UserExpand::CountsResources],
            sort_by: Some(UserSort {
                direction: SortDirection::Desc,
            }),
            limit: Some(5),
            ..Default::default()
        };
        assert_eq!(
            search.body().unwrap(),
            serde_json::json!({
                "accountIds": ["a"],
                "resourceIds": ["ari:cloud:confluence::site/c"],
                "mfaEnabled": true,
                "claimStatus": "managed",
                "status": ["active", "not_invited"],
                "roleIds": ["atlassian/user"],
                "expand": ["counts.resources"],
                "sortBy": [{"field": "nick_name", "direction": "desc"}],
                "limit": 5
            })
        );
        assert_eq!(
            UserSearch::default().body().unwrap(),
            serde_json::json!({"limit": 100})
        );
    }

    #[test]
    fn invalid_searches_fail_before_any_request() {
        let both = UserSearch {
            filter: UserFilter {
                search_term: Some("x".into()),
                ..Default::default()
            },
            emails: vec!["a@b.c".into()],
            ..Default::default()
        };
        assert!(matches!(both.body(), Err(Error::InvalidInput(_))));
        let too_many = UserSearch {
            filter: UserFilter {
                group_ids: (0..11).map(|i| i.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(too_many.body(), Err(Error::InvalidInput(_))));
        let big_page = UserSearch {
            limit: Some(101),
            ..Default::default()
        };
        assert!(matches!(big_page.body(), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn list_filters_become_repeated_query_parameters() {
        let filter = UserFilter {
            status: vec![UserStatus::Active, UserStatus::Suspended],
            search_term: Some("ann".into()),
            ..Default::default()
        };
        assert_eq!(
            filter.query(),
            vec![
                ("status".to_owned(), "active".to_owned()),
                ("status".to_owned(), "suspended".to_owned()),
                ("searchTerm".to_owned(), "ann".to_owned()),
            ]
        );
    }
}
