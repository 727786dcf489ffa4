//! Jira Cloud platform REST v3 wire types (`specs/jira-platform-v3.2025-12.json`): users,
//! groups, application roles (product licences), projects and project roles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AccountType, ProductKey};

string_enum! {
    /// A group's access level (`accessType` filter of `group/bulk`).
    pub enum GroupAccessType {
        /// Groups that grant site administration.
        SiteAdmin => "site-admin",
        /// Groups that grant product administration.
        Admin => "admin",
        /// Groups that grant product access.
        User => "user",
    }
}

string_enum! {
    /// A project type (`projectTypeKey`).
    pub enum ProjectTypeKey {
        /// Jira Software.
        Software => "software",
        /// Jira Service Management.
        ServiceDesk => "service_desk",
        /// Jira Work Management.
        Business => "business",
        /// Jira Product Discovery.
        ProductDiscovery => "product_discovery",
    }
}

string_enum! {
    /// The kind of a project role actor (`RoleActor.type`).
    pub enum RoleActorType {
        /// A user.
        User => "atlassian-user-role-actor",
        /// A group.
        Group => "atlassian-group-role-actor",
    }
}

/// A `{size, items}` list inside a user (`SimpleListWrapper…`): `size` always, `items` only
/// when expanded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListWrapper<T> {
    /// How many there are.
    #[serde(default)]
    pub size: u64,
    /// The items, when expanded.
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

impl<T> Default for ListWrapper<T> {
    fn default() -> Self {
        ListWrapper {
            size: 0,
            items: Vec::new(),
        }
    }
}

/// A Jira user (`User`; group members' `UserDetails` decode into it too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Account id.
    pub account_id: String,
    /// `atlassian`, `app`, `customer` (portal-only) or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    /// Whether the user is active on this site.
    #[serde(default)]
    pub active: bool,
    /// For apps: `service`, `agent`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Email, when the user's privacy settings show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Groups (items with `expand=groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<ListWrapper<GroupName>>,
    /// Application roles (items with `expand=applicationRoles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_roles: Option<ListWrapper<ApplicationRole>>,
    /// REST URL of the user.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

/// A group reference (`GroupName`, `GroupDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupName {
    /// Group id (null for some legacy groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// REST URL of the group.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

/// A group as create and add-user return it (`Group`; its `users` are not expanded here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// REST URL of the group.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

/// A Jira application (product licence) and who holds it (`ApplicationRole`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationRole {
    /// `jira-software`, `jira-servicedesk`, `jira-product-discovery`, `jira-core`.
    pub key: ProductKey,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Names of the groups that grant the role.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The groups that grant the role.
    #[serde(default)]
    pub group_details: Vec<GroupName>,
    /// Names of the groups new users are put in.
    #[serde(default)]
    pub default_groups: Vec<String>,
    /// The groups new users are put in.
    #[serde(default)]
    pub default_groups_details: Vec<GroupName>,
    /// Licensed seats (-1 when unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_seats: Option<i64>,
    /// Seats left (-1 when unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_seats: Option<i64>,
    /// Seats used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<i64>,
    /// E.g. `12 agents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count_description: Option<String>,
    /// Whether seats are unlimited.
    #[serde(default)]
    pub has_unlimited_seats: bool,
    /// Whether new users get it by default.
    #[serde(default)]
    pub selected_by_default: bool,
    /// Whether it is the platform application (`jira-core`).
    #[serde(default)]
    pub platform: bool,
}

/// A project (`Project`, as `project/search` returns it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// Project id (a number, as a string).
    pub id: String,
    /// Project key.
    #[serde(default)]
    pub key: String,
    /// Project name.
    #[serde(default)]
    pub name: String,
    /// Project type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_type_key: Option<ProjectTypeKey>,
    /// Whether it is team-managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simplified: Option<bool>,
    /// `classic` or `next-gen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Whether it is private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_private: Option<bool>,
    /// Whether it is archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// REST URL of the project.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

/// The user of a user actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorUser {
    /// Account id.
    #[serde(default)]
    pub account_id: String,
}

/// The group of a group actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorGroup {
    /// Group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A user or group holding a project role (`RoleActor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleActor {
    /// Actor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// User or group.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub actor_type: Option<RoleActorType>,
    /// The user, for user actors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_user: Option<ActorUser>,
    /// The group, for group actors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_group: Option<ActorGroup>,
}

impl RoleActor {
    /// The account id, for a user actor.
    pub fn account_id(&self) -> Option<&str> {
        self.actor_user.as_ref().map(|u| u.account_id.as_str())
    }

    /// The group id, for a group actor.
    pub fn group_id(&self) -> Option<&str> {
        self.actor_group
            .as_ref()
            .and_then(|g| g.group_id.as_deref())
    }
}

/// A project role, with its actors when read for one project (`ProjectRole`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRole {
    /// Role id.
    pub id: u64,
    /// Role name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who holds it (in one project).
    #[serde(default)]
    pub actors: Vec<RoleActor>,
    /// Whether it is the project administrators role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
    /// Whether it is a default role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// REST URL of the role.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

/// A project role of one project, as `GET /project/{projectIdOrKey}/role` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRoleRef {
    /// Role name.
    pub name: String,
    /// Role id (the last segment of `url`), when the URL has one.
    pub id: Option<u64>,
    /// REST URL of the role in the project.
    pub url: String,
}

impl ProjectRoleRef {
    /// The role references of a `{name: url}` map, ordered by name.
    pub(crate) fn from_map(map: BTreeMap<String, String>) -> Vec<ProjectRoleRef> {
        map.into_iter()
            .map(|(name, url)| {
                let id = url
                    .split(['?', '#'])
                    .next()
                    .and_then(|path| path.trim_end_matches('/').rsplit('/').next())
                    .and_then(|last| last.parse().ok());
                ProjectRoleRef { name, id, url }
            })
            .collect()
    }
}

/// Filters of the groups stream (`GET /rest/api/3/group/bulk`). Empty means every group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFilter {
    /// Only these group ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_id: Vec<String>,
    /// Only these group names (a group matching either list is returned).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_name: Vec<String>,
    /// Only groups granting this access level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_type: Option<GroupAccessType>,
    /// Only groups granting this application (`jira-software`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_key: Option<ProductKey>,
}

/// Filters of the projects stream (`GET /rest/api/3/project/search`). Empty means every project
/// the caller can view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectFilter {
    /// Only projects whose key or name contains this (case-insensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Only projects of this type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_key: Option<ProjectTypeKey>,
    /// Only these project keys (up to 50).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// The actors to add to a project role (`ActorsMap`). Groups by id (names can change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleActors {
    /// Account ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<String>,
    /// Group ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_id: Vec<String>,
}

impl RoleActors {
    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty() && self.group_id.is_empty()
    }
}

/// One project role actor to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleActorRef {
    /// A user, by account id.
    User(String),
    /// A group, by group id.
    Group(String),
}

/// Body of `POST /rest/api/3/user` (`NewUserDetails`). `products` is always sent: the spec
/// requires it, and `[]` means no product access.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewUser<'a> {
    pub(crate) email_address: &'a str,
    pub(crate) products: &'a [ProductKey],
}

/// Body of `POST /rest/api/3/group`.
#[derive(Debug, Serialize)]
pub(crate) struct NewGroup<'a> {
    pub(crate) name: &'a str,
}

/// Body of `POST /rest/api/3/group/user`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupUser<'a> {
    pub(crate) account_id: &'a str,
}

/// A Jira `PageBean` (`startAt`/`maxResults`/`total`/`isLast`/`values`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct PageBean<T> {
    #[serde(default = "Vec::new")]
    pub(crate) values: Vec<T>,
    #[serde(default)]
    pub(crate) is_last: Option<bool>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_with_expansions_and_unknown_fields_parses() {
        let user: User = serde_json::from_str(
            r#"{"accountId":"5b10a2844c20165700ede21g","accountType":"atlassian","active":true,
                "displayName":"Mia","groups":{"size":1,"items":[{"name":"jira-admins","groupId":"g1"}]},
                "applicationRoles":{"size":1,"items":[{"key":"jira-software","name":"Jira"}]},
                "brandNew":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(user.account_type, Some(AccountType::Atlassian));
        assert_eq!(
            user.groups.unwrap().items[0].group_id.as_deref(),
            Some("g1")
        );
        assert_eq!(
            user.application_roles.unwrap().items[0].key,
            ProductKey::JiraSoftware
        );
        let minimal: User = serde_json::from_str(r#"{"accountId":"a"}"#).unwrap();
        assert!(!minimal.active && minimal.groups.is_none());
    }

    #[test]
    fn project_role_refs_take_their_id_from_the_url() {
        let map = BTreeMap::from([
            (
                "Developers".to_owned(),
                "https://x.atlassian.net/rest/api/3/project/MKY/role/10360".to_owned(),
            ),
            ("Odd".to_owned(), "https://x/role/".to_owned()),
        ]);
        let refs = ProjectRoleRef::from_map(map);
        assert_eq!(refs[0].id, Some(10360));
        assert_eq!(refs[1].id, None);
    }

    #[test]
    fn request_bodies_follow_the_spec() {
        let products = [ProductKey::JiraSoftware];
        assert_eq!(
            serde_json::to_string(&NewUser {
                email_address: "a@b.c",
                products: &[]
            })
            .unwrap(),
            r#"{"emailAddress":"a@b.c","products":[]}"#
        );
        assert_eq!(
            serde_json::to_string(&NewUser {
                email_address: "a@b.c",
                products: &products
            })
            .unwrap(),
            r#"{"emailAddress":"a@b.c","products":["jira-software"]}"#
        );
        let actors = RoleActors {
            group_id: vec!["g".into()],
            ..RoleActors::default()
        };
        assert_eq!(
            serde_json::to_string(&actors).unwrap(),
            r#"{"groupId":["g"]}"#
        );
    }
}
