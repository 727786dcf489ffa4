//! Groups: search, the deprecated list, details, count, stats, create, delete, memberships and
//! group role assignments.

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde::Serialize;

use super::users::{RoleAssignmentFilter, page_limit};
use super::{ALL_DIRECTORIES, DataOf, OrgApi, V2_MAX_LIMIT, at_most, push_each, required};
use crate::Error;
use crate::client::{decode, segment};
use crate::error::Result;
use crate::family::Family;
use crate::models::RoleId;
use crate::models::org::{
    Count, Group, GroupExpand, GroupRoleAssignment, GroupStats, SortDirection,
};
use crate::page::PageOf;
use crate::write::write_once;

/// Filters of the groups list and count. `directory_ids`, `account_ids`, `group_ids`,
/// `resource_owners` and `role_ids` take at most 10 values, `resource_ids` 20.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFilter {
    /// Groups of these directories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directory_ids: Vec<String>,
    /// Groups with one of these members.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub account_ids: Vec<String>,
    /// These groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<String>,
    /// Groups holding roles on resources owned by these (`jira-software`, `confluence`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_owners: Vec<String>,
    /// Groups holding roles on these resources (ARIs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_ids: Vec<String>,
    /// Groups holding one of these roles.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub role_ids: Vec<RoleId>,
    /// Free text on the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
}

impl GroupFilter {
    fn validate(&self) -> Result<()> {
        at_most("directoryIds", self.directory_ids.len(), 10)?;
        at_most("accountIds", self.account_ids.len(), 10)?;
        at_most("groupIds", self.group_ids.len(), 10)?;
        at_most("resourceOwners", self.resource_owners.len(), 10)?;
        at_most("resourceIds", self.resource_ids.len(), 20)?;
        at_most("roleIds", self.role_ids.len(), 10)
    }

    fn query(&self) -> Vec<(String, String)> {
        let mut q = vec![];
        push_each(&mut q, "directoryIds", &self.directory_ids);
        push_each(&mut q, "accountIds", &self.account_ids);
        push_each(&mut q, "groupIds", &self.group_ids);
        push_each(&mut q, "resourceOwners", &self.resource_owners);
        push_each(&mut q, "resourceIds", &self.resource_ids);
        push_each(&mut q, "roleIds", &self.role_ids);
        if let Some(term) = &self.search_term {
            q.push(("searchTerm".into(), term.clone()));
        }
        q
    }
}

/// The groups search (`MultiDirectoryGroupSearchRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSearch {
    /// The filters shared with the list and the count.
    #[serde(flatten)]
    pub filter: GroupFilter,
    /// Exact names (at most 100; exclusive with `group_ids` and `search_term`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_names: Vec<String>,
    /// Counts to include.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expand: Vec<GroupExpand>,
    /// Order (by name).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "sort_list")]
    pub sort_by: Option<GroupSort>,
    /// Page size to ask for (1–100; default 100).
    #[serde(skip)]
    pub limit: Option<u32>,
}

/// Sort order of the groups search: by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSort {
    /// Direction.
    pub direction: SortDirection,
}

fn sort_list<S: serde::Serializer>(sort: &Option<GroupSort>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Item<'a> {
        field: &'static str,
        direction: &'a SortDirection,
    }
    match sort {
        Some(sort) => [Item {
            field: "name",
            direction: &sort.direction,
        }]
        .serialize(s),
        None => s.serialize_none(),
    }
}

impl GroupSearch {
    fn body(&self) -> Result<serde_json::Value> {
        self.filter.validate()?;
        at_most("groupNames", self.group_names.len(), 100)?;
        if !self.group_names.is_empty()
            && (!self.filter.group_ids.is_empty() || self.filter.search_term.is_some())
        {
            return Err(Error::InvalidInput(
                "groupNames cannot be combined with groupIds or searchTerm".into(),
            ));
        }
        let mut body = serde_json::to_value(self)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the search: {e}")))?;
        body["limit"] = serde_json::json!(page_limit(self.limit)?);
        Ok(body)
    }
}

/// Body of group creation.
#[derive(Serialize)]
struct CreateGroup<'r> {
    name: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'r str>,
}

/// Body of the add-member call.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Member<'r> {
    account_id: &'r str,
}

/// Body of group role assign/revoke.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupRole<'r> {
    resource_id: &'r str,
    role_id: &'r RoleId,
}

impl<'a> OrgApi<'a> {
    /// Every group matching `search`
    /// (`POST /v2/orgs/{orgId}/directories/{directoryId}/groups/search`), by name. Pages of up
    /// to 100; later pages send the cursor alone. Read-only and idempotent.
    pub fn search_groups(
        &self,
        directory_id: &str,
        search: &GroupSearch,
    ) -> impl Stream<Item = Result<Group>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups/search";
        self.v2_search(
            ROUTE,
            self.dir_path(directory_id, "/groups/search"),
            search.body(),
        )
    }

    /// [`search_groups`](Self::search_groups) page by page, each page with the cursor of the
    /// next; with `resume`, continues at that cursor (see
    /// [`search_users_pages`](Self::search_users_pages)).
    pub fn search_groups_pages(
        &self,
        directory_id: &str,
        search: &GroupSearch,
        resume: Option<String>,
    ) -> impl Stream<Item = Result<PageOf<Group>>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups/search";
        self.v2_search_pages(
            ROUTE,
            self.dir_path(directory_id, "/groups/search"),
            search.body(),
            resume,
        )
    }

    /// Every group matching `filter`, through the deprecated list
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/groups`; retired after June 30, 2027),
    /// with the `counts` asked for. Sorting is only offered by
    /// [`search_groups`](Self::search_groups). Read-only and idempotent.
    #[deprecated(note = "Atlassian retires this list after June 30, 2027; use search_groups")]
    pub fn list_groups(
        &self,
        directory_id: &str,
        filter: &GroupFilter,
        counts: &[GroupExpand],
        limit: Option<u32>,
    ) -> impl Stream<Item = Result<Group>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups";
        let mut query = filter.query();
        // `counts` is an object parameter (form style, exploded): one pair per property.
        if counts.contains(&GroupExpand::CountsUsers) {
            query.push(("includeUsers".into(), "true".into()));
        }
        if counts.contains(&GroupExpand::CountsResources) {
            query.push(("includeResources".into(), "true".into()));
        }
        let path = filter
            .validate()
            .and_then(|()| page_limit(limit))
            .and_then(|_| self.dir_path(directory_id, "/groups"));
        self.v2_list(
            ROUTE,
            path,
            query,
            page_limit(limit).unwrap_or(V2_MAX_LIMIT),
        )
    }

    /// One group, with its counts
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}`). Read-only; 404 for
    /// an unknown group (or one outside the given directory).
    pub async fn group(&self, directory_id: &str, group_id: &str) -> Result<Group> {
        required("a group id", group_id)?;
        let path = self.dir_path(directory_id, &format!("/groups/{}", segment(group_id)))?;
        let call = self.call(
            Method::GET,
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}",
            &path,
        )?;
        let body: DataOf<Group> = self.client.json(call).await?;
        Ok(body.data)
    }

    /// The real directory of a group: `GET .../directories/-/groups/{groupId}`, then
    /// `data.directoryId`. Membership changes need it. Read-only; 404 for an unknown group.
    pub async fn group_directory(&self, group_id: &str) -> Result<String> {
        let group = self.group(ALL_DIRECTORIES, group_id).await?;
        group
            .directory_id
            .filter(|d| !d.is_empty() && d != ALL_DIRECTORIES)
            .ok_or_else(|| Error::Decode {
                family: Family::Org,
                route: "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}",
                path: "data.directoryId".into(),
                message: format!("group {group_id} came without its directory id"),
            })
    }

    /// How many groups match `filter`
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/groups/count`). Read-only.
    pub async fn count_groups(&self, directory_id: &str, filter: &GroupFilter) -> Result<u64> {
        filter.validate()?;
        let path = self.dir_path(directory_id, "/groups/count")?;
        let mut call = self.call(
            Method::GET,
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/count",
            &path,
        )?;
        for (name, value) in filter.query() {
            call = call.query(&name, value);
        }
        let body: Count = self.client.json(call).await?;
        Ok(body.count)
    }

    /// Group totals and counts per type
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/groups/stats`). Read-only.
    pub async fn group_stats(&self, directory_id: &str) -> Result<GroupStats> {
        let path = self.dir_path(directory_id, "/groups/stats")?;
        let call = self.call(
            Method::GET,
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/stats",
            &path,
        )?;
        self.client.json(call).await
    }

    /// Creates a group (`POST /v2/orgs/{orgId}/directories/{directoryId}/groups`, 201) and
    /// returns it. Names are unique (409 for a taken one). With
    /// [`ALL_DIRECTORIES`] the org must have a single directory.
    ///
    /// **Creates something; not idempotent.** After an ambiguous failure it searches the name
    /// and returns the group if it now exists, creating again only if it does not (at most 3
    /// attempts). When the answer carries no body (the spec declares none), the new group is
    /// looked up by name.
    pub async fn create_group(
        &self,
        directory_id: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Group> {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups";
        required("a group name", name)?;
        let path = self.dir_path(directory_id, "/groups")?;
        let body = CreateGroup { name, description };
        write_once(
            || async {
                let call = self.call(Method::POST, ROUTE, &path)?.json(&body)?;
                let response = self.client.send(call).await?;
                if !response.body.iter().all(u8::is_ascii_whitespace)
                    && let Ok(created) = decode::<DataOf<Group>>(Family::Org, ROUTE, &response.body)
                    && !created.data.id.is_empty()
                {
                    return Ok(created.data);
                }
                // The spec declares no body for 201: find the new group by name.
                self.find_group_named(directory_id, name)
                    .await?
                    .ok_or_else(|| Error::Decode {
                        family: Family::Org,
                        route: ROUTE,
                        path: String::new(),
                        message: format!("group {name:?} was created but cannot be found by name"),
                    })
            },
            || self.find_group_named(directory_id, name),
        )
        .await
    }

    /// The group with exactly this name in `directory_id`, if any.
    async fn find_group_named(&self, directory_id: &str, name: &str) -> Result<Option<Group>> {
        let search = GroupSearch {
            group_names: vec![name.to_owned()],
            ..Default::default()
        };
        let found: Vec<Group> = self
            .search_groups(directory_id, &search)
            .try_collect()
            .await?;
        Ok(found.into_iter().find(|g| {
            g.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }))
    }

    /// Deletes a group (`DELETE /v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}`,
    /// 204). IdP-synced, default and admin groups cannot be deleted (403).
    ///
    /// A repeated deletion answers 404, which would hide one that worked, so it is not retried
    /// blindly: after an ambiguous failure it reads the group; gone means deleted (`Ok`),
    /// still there means try again (at most 3 attempts).
    pub async fn delete_group(&self, directory_id: &str, group_id: &str) -> Result<()> {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}";
        required("a group id", group_id)?;
        let path = self.dir_path(directory_id, &format!("/groups/{}", segment(group_id)))?;
        write_once(
            || async {
                let mut call = self.call(Method::DELETE, ROUTE, &path)?;
                call.idempotent = false;
                self.client.empty(call).await
            },
            || async {
                match self.group(directory_id, group_id).await {
                    Err(read) if read.is_not_found() => Ok(Some(())),
                    Ok(_) => Ok(None),
                    Err(read) => Err(read),
                }
            },
        )
        .await
    }

    /// The directory to change memberships in: `directory_id`, or the group's own directory
    /// when given [`ALL_DIRECTORIES`] (membership changes need the real
    /// one).
    async fn membership_directory(&self, directory_id: &str, group_id: &str) -> Result<String> {
        if directory_id == ALL_DIRECTORIES {
            self.group_directory(group_id).await
        } else {
            Ok(directory_id.to_owned())
        }
    }

    /// Adds a user to a group
    /// (`POST /v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships`, 204).
    /// With [`ALL_DIRECTORIES`] the group's real directory is resolved
    /// first ([`group_directory`](Self::group_directory)). The user must be in that directory;
    /// IdP-synced groups refuse (403); a group granting a product out of seats gives 409.
    /// Idempotent: adding a member again answers 204.
    pub async fn add_member(
        &self,
        directory_id: &str,
        group_id: &str,
        account_id: &str,
    ) -> Result<()> {
        required("a group id", group_id)?;
        required("an account id", account_id)?;
        let directory = self.membership_directory(directory_id, group_id).await?;
        let path = self.dir_path(
            &directory,
            &format!("/groups/{}/memberships", segment(group_id)),
        )?;
        let call = self
            .call(
                Method::POST,
                "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships",
                &path,
            )?
            .json(&Member { account_id })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Removes a user from a group
    /// (`DELETE /v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships/{accountId}`,
    /// 204), resolving the group's directory as [`add_member`](Self::add_member) does.
    /// Idempotent.
    pub async fn remove_member(
        &self,
        directory_id: &str,
        group_id: &str,
        account_id: &str,
    ) -> Result<()> {
        required("a group id", group_id)?;
        required("an account id", account_id)?;
        let directory = self.membership_directory(directory_id, group_id).await?;
        let path = self.dir_path(
            &directory,
            &format!(
                "/groups/{}/memberships/{}",
                segment(group_id),
                segment(account_id)
            ),
        )?;
        let call = self.call(
            Method::DELETE,
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships/{accountId}",
            &path,
        )?;
        self.client.empty(call).await
    }

    /// Every role a group holds, one item per resource
    /// (`GET /v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments`).
    /// Read-only; the first item fails with 404 for an unknown group.
    pub fn group_role_assignments(
        &self,
        directory_id: &str,
        group_id: &str,
        filter: &RoleAssignmentFilter,
    ) -> impl Stream<Item = Result<GroupRoleAssignment>> + 'a {
        const ROUTE: &str =
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments";
        let (query, path) = match filter.query() {
            Ok(query) => (
                query,
                required("a group id", group_id)
                    .and_then(|()| page_limit(filter.limit))
                    .and_then(|_| {
                        self.dir_path(
                            directory_id,
                            &format!("/groups/{}/role-assignments", segment(group_id)),
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

    /// Grants `role` on `resource_id` to every member of a group
    /// (`POST .../groups/{groupId}/role-assignments/assign`, 200). 409 (`ADMIN-UAM-409-3`) when
    /// the members would exceed the product's seats. Idempotent.
    pub async fn assign_group_role(
        &self,
        directory_id: &str,
        group_id: &str,
        resource_id: &str,
        role: &RoleId,
    ) -> Result<()> {
        self.group_role_change(directory_id, group_id, resource_id, role, "assign")
            .await
    }

    /// Revokes a group's `role` on `resource_id`
    /// (`POST .../groups/{groupId}/role-assignments/revoke`, 204). Members keep access they
    /// hold another way. Idempotent.
    pub async fn revoke_group_role(
        &self,
        directory_id: &str,
        group_id: &str,
        resource_id: &str,
        role: &RoleId,
    ) -> Result<()> {
        self.group_role_change(directory_id, group_id, resource_id, role, "revoke")
            .await
    }

    async fn group_role_change(
        &self,
        directory_id: &str,
        group_id: &str,
        resource_id: &str,
        role: &RoleId,
        verb: &str,
    ) -> Result<()> {
        required("a group id", group_id)?;
        required("a resource id", resource_id)?;
        let route = if verb == "assign" {
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments/assign"
        } else {
            "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/role-assignments/revoke"
        };
        let path = self.dir_path(
            directory_id,
            &format!("/groups/{}/role-assignments/{verb}", segment(group_id)),
        )?;
        let call = self
            .call(Method::POST, route, &path)?
            .json(&GroupRole {
                resource_id,
                role_id: role,
            })?
            .idempotent();
        self.client.empty(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_search_body_follows_the_spec() {
        let search = GroupSearch {
            filter: GroupFilter {
                role_ids: vec![RoleId::Admin],
                ..Default::default()
            },
            expand: vec![GroupExpand::CountsUsers],
            sort_by: Some(GroupSort {
                direction: SortDirection::Asc,
            }),
            ..Default::default()
        };
        assert_eq!(
            search.body().unwrap(),
            serde_json::json!({
                "roleIds": ["atlassian/admin"],
                "expand": ["counts.users"],
                "sortBy": [{"field": "name", "direction": "asc"}],
                "limit": 100
            })
        );
        let clash = GroupSearch {
            filter: GroupFilter {
                search_term: Some("eng".into()),
                ..Default::default()
            },
            group_names: vec!["engineering".into()],
            ..Default::default()
        };
        assert!(clash.body().is_err());
    }
}
