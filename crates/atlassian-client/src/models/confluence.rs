//! Confluence wire types: REST v1 (`specs/confluence-v1.2023-08.json`: groups, users, user
//! search, classic space-permission writes) and REST v2 (`specs/confluence-v2.2025-09.json`:
//! spaces, space permissions, bulk users, access checks).
//!
//! Every struct ignores unknown fields and defaults what may be absent; every enum keeps values
//! it does not know as `Unknown(String)`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::models::AccountType;

// ---- v1 ------------------------------------------------------------------------------------

/// A Confluence (site) group, as v1 returns it. Groups are site-wide: Jira and the Org API see
/// the same groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Group id (use it, not the name: the by-name endpoints are deprecated).
    #[serde(default)]
    pub id: String,
    /// Group name.
    #[serde(default)]
    pub name: String,
}

string_enum! {
    /// The `accessType` filter of `GET /wiki/rest/api/group`.
    pub enum GroupAccessType {
        /// Groups that grant Confluence user access.
        User => "user",
        /// Groups that grant Confluence admin access.
        Admin => "admin",
        /// Groups that grant site admin.
        SiteAdmin => "site-admin",
    }
}

string_enum! {
    /// v1 `User.type`.
    pub enum UserType {
        /// A known account.
        Known => "known",
        /// An account Confluence cannot resolve (`unknown`).
        UnknownUser => "unknown",
        /// The anonymous user.
        Anonymous => "anonymous",
        /// `user` (legacy value).
        User => "user",
    }
}

/// A user as Confluence v1 returns it (user lookups, group members, user search, bulk lookup).
///
/// Depending on the person's privacy settings, `email`, `display_name`, `time_zone` and
/// `profile_picture` may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `known`, `unknown`, `anonymous` or `user`.
    #[serde(rename = "type", default = "known_user")]
    pub kind: UserType,
    /// The account id (absent for anonymous).
    #[serde(default)]
    pub account_id: Option<String>,
    /// `atlassian` or `app`; `None` when Confluence sends an empty string.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub account_type: Option<AccountType>,
    /// Email; `None` when hidden (Confluence sends an empty string or null).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub email: Option<String>,
    /// Public name (always present at Atlassian).
    #[serde(default)]
    pub public_name: String,
    /// Display name, when visible.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Time zone, when visible.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Whether the user is a guest (`isExternalCollaborator`).
    #[serde(default)]
    pub is_external_collaborator: Option<bool>,
    /// Deprecated twin of `isExternalCollaborator`.
    #[serde(default)]
    pub external_collaborator: Option<bool>,
    /// Avatar, when visible.
    #[serde(default)]
    pub profile_picture: Option<Icon>,
}

impl User {
    /// Whether Confluence marks the user as a guest (external collaborator).
    pub fn is_guest(&self) -> bool {
        self.is_external_collaborator
            .or(self.external_collaborator)
            .unwrap_or(false)
    }
}

fn known_user() -> UserType {
    UserType::Known
}

/// An avatar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// Path relative to the site.
    #[serde(default)]
    pub path: String,
    /// Whether it is the default avatar.
    #[serde(default)]
    pub is_default: bool,
}

string_enum! {
    /// `sitePermissionTypeFilter` of the user search.
    pub enum SitePermissionTypeFilter {
        /// Licensed users only (the server's default).
        None => "none",
        /// Guests only.
        ExternalCollaborator => "externalCollaborator",
        /// Licensed users and guests.
        All => "all",
    }
}

/// A CQL user search (`GET /wiki/rest/api/search/user`). [`UserSearch::default`] is
/// `type=user` with the server's default filter (licensed users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    /// The CQL; it must contain `type=user` and may add `user.fullname ~ "…"`, `user = "<id>"`.
    pub cql: String,
    /// Which kinds of users.
    pub site_permission_type_filter: Option<SitePermissionTypeFilter>,
}

impl Default for UserSearch {
    fn default() -> Self {
        UserSearch {
            cql: "type=user".to_owned(),
            site_permission_type_filter: None,
        }
    }
}

impl UserSearch {
    /// Every user with Confluence access: licensed users and guests.
    pub fn everyone() -> UserSearch {
        UserSearch {
            site_permission_type_filter: Some(SitePermissionTypeFilter::All),
            ..UserSearch::default()
        }
    }
}

string_enum! {
    /// Who a space permission is for (v1 `subject.type`).
    pub enum SubjectType {
        /// A user (identifier: account id).
        User => "user",
        /// A group (identifier: group id).
        Group => "group",
    }
}

/// The user or group a v1 space permission applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSubject {
    /// `user` or `group`.
    #[serde(rename = "type")]
    pub kind: SubjectType,
    /// Account id for users; group id for groups (group names are deprecated).
    pub identifier: String,
}

impl PermissionSubject {
    /// A user, by account id.
    pub fn user(account_id: impl Into<String>) -> PermissionSubject {
        PermissionSubject {
            kind: SubjectType::User,
            identifier: account_id.into(),
        }
    }

    /// A group, by group id.
    pub fn group(group_id: impl Into<String>) -> PermissionSubject {
        PermissionSubject {
            kind: SubjectType::Group,
            identifier: group_id.into(),
        }
    }
}

string_enum! {
    /// A space permission's operation key (v1 and v2 share these values).
    pub enum OperationKey {
        /// `use`.
        Use => "use",
        /// `create`.
        Create => "create",
        /// `read`.
        Read => "read",
        /// `update`.
        Update => "update",
        /// `delete`.
        Delete => "delete",
        /// `copy`.
        Copy => "copy",
        /// `move`.
        Move => "move",
        /// `export`.
        Export => "export",
        /// `purge`.
        Purge => "purge",
        /// `purge_version`.
        PurgeVersion => "purge_version",
        /// `administer`.
        Administer => "administer",
        /// `restore`.
        Restore => "restore",
        /// `create_space`.
        CreateSpace => "create_space",
        /// `restrict_content`.
        RestrictContent => "restrict_content",
        /// `archive`.
        Archive => "archive",
    }
}

string_enum! {
    /// What a space permission's operation targets.
    pub enum OperationTarget {
        /// `page`.
        Page => "page",
        /// `blogpost`.
        Blogpost => "blogpost",
        /// `comment`.
        Comment => "comment",
        /// `attachment`.
        Attachment => "attachment",
        /// `whiteboard` (v2 only).
        Whiteboard => "whiteboard",
        /// `database` (v2 only).
        Database => "database",
        /// `embed` (v2 only).
        Embed => "embed",
        /// `folder` (v2 only).
        Folder => "folder",
        /// `space`.
        Space => "space",
        /// `application` (v2 only).
        Application => "application",
        /// `userProfile` (v2 only).
        UserProfile => "userProfile",
    }
}

/// A v1 space permission's operation: `{key, target}`. Valid pairs include `read`/`space`,
/// `administer`/`space`, `create`/`page|blogpost|comment|attachment`, `delete`/…,
/// `export`/`space`, `restrict_content`/`space`, `archive`/`page`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpaceOperation {
    /// The operation.
    pub key: OperationKey,
    /// What it applies to.
    pub target: OperationTarget,
}

impl SpaceOperation {
    /// An operation.
    pub fn new(key: OperationKey, target: OperationTarget) -> SpaceOperation {
        SpaceOperation { key, target }
    }

    /// `read` on `space` (every other space permission needs it first).
    pub fn read_space() -> SpaceOperation {
        SpaceOperation::new(OperationKey::Read, OperationTarget::Space)
    }
}

/// A classic space permission to add (`POST /wiki/rest/api/space/{spaceKey}/permission`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSpacePermission {
    /// Who.
    pub subject: PermissionSubject,
    /// What.
    pub operation: SpaceOperation,
}

/// A classic space permission (v1 `SpacePermissionV2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpacePermission {
    /// Permission id (what [`remove_space_permission`] takes).
    ///
    /// [`remove_space_permission`]: crate::api::confluence::ConfluenceApi::remove_space_permission
    pub id: i64,
    /// Who.
    pub subject: PermissionSubject,
    /// What.
    pub operation: SpaceOperation,
}

// ---- v2 ------------------------------------------------------------------------------------

string_enum! {
    /// v2 `accountStatus`.
    pub enum AccountStatus {
        /// Active.
        Active => "active",
        /// Deactivated.
        Inactive => "inactive",
        /// Closed (deleted).
        Closed => "closed",
        /// Not known to Confluence (`unknown`).
        StatusUnknown => "unknown",
    }
}

/// A user from `POST /wiki/api/v2/users-bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserV2 {
    /// Account id.
    #[serde(default)]
    pub account_id: String,
    /// `atlassian`, `app`, `customer` (or `unknown`).
    #[serde(default)]
    pub account_type: Option<AccountType>,
    /// `active`, `inactive`, `closed` (or `unknown`).
    #[serde(default)]
    pub account_status: Option<AccountStatus>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Public name.
    #[serde(default)]
    pub public_name: Option<String>,
    /// Email; `None` when hidden.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub email: Option<String>,
    /// Time zone, when visible.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Whether the user is a guest.
    #[serde(default)]
    pub is_external_collaborator: bool,
    /// Id of the user's personal space, if any.
    #[serde(default)]
    pub personal_space_id: Option<String>,
}

string_enum! {
    /// v2 space type.
    pub enum SpaceType {
        /// `global`.
        Global => "global",
        /// `collaboration`.
        Collaboration => "collaboration",
        /// `knowledge_base`.
        KnowledgeBase => "knowledge_base",
        /// `personal`.
        Personal => "personal",
    }
}

string_enum! {
    /// v2 space status.
    pub enum SpaceStatus {
        /// `current`.
        Current => "current",
        /// `archived`.
        Archived => "archived",
    }
}

string_enum! {
    /// v2 space sort order.
    pub enum SpaceSort {
        /// By id, ascending.
        Id => "id",
        /// By id, descending.
        IdDesc => "-id",
        /// By key, ascending.
        Key => "key",
        /// By key, descending.
        KeyDesc => "-key",
        /// By name, ascending.
        Name => "name",
        /// By name, descending.
        NameDesc => "-name",
    }
}

/// A space (`GET /wiki/api/v2/spaces`, `/spaces/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    /// Space id (numeric, as a string).
    pub id: String,
    /// Space key (what the v1 permission writes take).
    #[serde(default)]
    pub key: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub kind: Option<SpaceType>,
    /// Status.
    #[serde(default)]
    pub status: Option<SpaceStatus>,
    /// Account id of the creator.
    #[serde(default)]
    pub author_id: Option<String>,
    /// Creation time (`None` when absent or unreadable).
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Id of the home page.
    #[serde(default)]
    pub homepage_id: Option<String>,
}

/// Filters of `GET /wiki/api/v2/spaces`. Empty means every space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceQuery {
    /// Only these space ids (at most 250).
    pub ids: Vec<u64>,
    /// Only these space keys (at most 250).
    pub keys: Vec<String>,
    /// Only this type.
    pub kind: Option<SpaceType>,
    /// Only this status.
    pub status: Option<SpaceStatus>,
    /// Order.
    pub sort: Option<SpaceSort>,
}

string_enum! {
    /// Whom a v2 space permission is for.
    pub enum PrincipalType {
        /// A user.
        User => "user",
        /// A group.
        Group => "group",
        /// A role.
        Role => "role",
    }
}

/// The principal of a v2 space permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// `user`, `group` or `role`.
    #[serde(rename = "type")]
    pub kind: PrincipalType,
    /// Account id, group id or role id.
    #[serde(default)]
    pub id: String,
}

/// The operation of a v2 space permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The operation.
    pub key: OperationKey,
    /// What it targets.
    pub target_type: OperationTarget,
}

/// One classic space permission, as v2 lists it (`GET /wiki/api/v2/spaces/{id}/permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpacePermissionAssignment {
    /// Permission id (the v1 permission id, as a string).
    pub id: String,
    /// Who.
    pub principal: Principal,
    /// What.
    pub operation: Operation,
}

string_enum! {
    /// `GET /wiki/api/v2/space-role-mode`.
    pub enum SpaceRoleMode {
        /// Classic space permissions only.
        PreRoles => "PRE_ROLES",
        /// Migrating to space roles.
        RolesTransition => "ROLES_TRANSITION",
        /// Space roles.
        Roles => "ROLES",
    }
}

/// The answer of `POST /wiki/api/v2/user/access/check-access-by-email`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    /// Valid emails without access to the site.
    #[serde(default)]
    pub emails_without_access: Vec<String>,
    /// Emails that are not valid addresses.
    #[serde(default)]
    pub invalid_emails: Vec<String>,
}

// ---- lenient decoding ----------------------------------------------------------------------

/// `null`, absent or `""` → `None`; anything else through `T`'s own decoding.
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    let value = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(value
        .filter(|s| !s.trim().is_empty())
        .map(|s| T::from(s.as_ref())))
}

/// An RFC 3339 time, or `None` when absent, null or unreadable.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(value.and_then(|s| {
        DateTime::parse_from_rfc3339(&s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_users_tolerate_hidden_and_empty_fields() {
        let user: User = serde_json::from_str(
            r#"{"type":"known","accountId":"a1","accountType":"","email":"","publicName":"A",
                "displayName":null,"externalCollaborator":true,"extra":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(user.account_type, None);
        assert_eq!(user.email, None);
        assert!(user.is_guest());
        let user: User = serde_json::from_str(r#"{"accountType":"app"}"#).unwrap();
        assert_eq!(user.kind, UserType::Known);
        assert_eq!(user.account_type, Some(AccountType::App));
    }

    #[test]
    fn v2_spaces_keep_unknown_types_and_tolerate_odd_times() {
        let space: Space = serde_json::from_str(
            r#"{"id":"98306","key":"ENG","type":"brand_new","createdAt":"not a time"}"#,
        )
        .unwrap();
        assert_eq!(space.kind, Some(SpaceType::Unknown("brand_new".into())));
        assert_eq!(space.created_at, None);
    }
}
