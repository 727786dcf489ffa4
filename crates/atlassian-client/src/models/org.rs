//! Org API wire types (`specs/admin-organization.*.json`).
//!
//! Decoding is tolerant: every field may be absent (`#[serde(default)]`), nullable fields are
//! `Option`, enums keep values this client does not know as `Unknown(String)`, and unknown
//! fields are ignored. Timestamps are kept as the strings Atlassian sends (ISO-8601 date-times,
//! or plain dates in some v1 answers) so an unexpected format never fails a sync.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AccountType, ProductKey, RoleId};

// ---- enums ------------------------------------------------------------------------------------

string_enum! {
    /// The composite `status` of a directory user: account status and directory membership in
    /// one value.
    pub enum UserStatus {
        /// Account active and membership active.
        Active => "active",
        /// Account active, membership suspended (in every directory the caller sees).
        Suspended => "suspended",
        /// Account active, no membership (a managed account outside every directory).
        NotInvited => "not_invited",
        /// Account deactivated (`accountStatus` `inactive`).
        Deactivated => "deactivated",
        /// Scheduled for deletion (14-day grace).
        ForDeletion => "for_deletion",
    }
}

string_enum! {
    /// `accountStatus` of an Atlassian account.
    pub enum AccountStatus {
        /// Can log in.
        Active => "active",
        /// Deactivated.
        Inactive => "inactive",
        /// Closed (deleted).
        Closed => "closed",
    }
}

string_enum! {
    /// `membershipStatus`: the account's membership of the directories in scope.
    pub enum MembershipStatus {
        /// Member with access.
        Active => "active",
        /// Member, suspended.
        Suspended => "suspended",
        /// Not a member.
        NoMembership => "no_membership",
    }
}

string_enum! {
    /// `claimStatus`: whether the account's email is on one of the org's verified domains.
    pub enum ClaimStatus {
        /// On a verified domain: the org manages the account.
        Managed => "managed",
        /// External account.
        Unmanaged => "unmanaged",
    }
}

string_enum! {
    /// `managementSource`: how the account came into the directory.
    pub enum ManagementSource {
        /// Invited by an admin (or the API).
        Invited => "invited",
        /// Synced from an identity provider.
        Synced => "synced",
    }
}

string_enum! {
    /// Optional parts of a [`DirectoryUser`] the search can add (`expand`).
    pub enum UserExpand {
        /// `platformRoles`.
        PlatformRoles => "platformRoles",
        /// `counts.resources`.
        CountsResources => "counts.resources",
        /// `productAccess`.
        ProductAccess => "productAccess",
        /// `groups`.
        Groups => "groups",
    }
}

string_enum! {
    /// A sort direction.
    pub enum SortDirection {
        /// Ascending.
        Asc => "asc",
        /// Descending.
        Desc => "desc",
    }
}

string_enum! {
    /// How a role is held (`roleAssignmentMethods`).
    pub enum RoleAssignmentMethod {
        /// Granted to the user directly.
        Direct => "direct",
        /// Granted to a group the user is a direct member of.
        GroupDirect => "group_direct",
        /// Derived from another role (org admin implies site admin).
        Inferred => "inferred",
    }
}

string_enum! {
    /// Outcome of one role or group assignment of an invitation.
    pub enum InviteStatus {
        /// Assigned.
        Invited => "INVITED",
        /// Failed; see `statusReason`.
        Error => "ERROR",
    }
}

string_enum! {
    /// `managedBy` of a group.
    pub enum GroupManagedBy {
        /// Synced from an identity provider.
        External => "external",
        /// Managed by admins.
        Admins => "admins",
        /// Managed by its team members.
        TeamMembers => "team-members",
        /// Open to everyone.
        Open => "open",
    }
}

string_enum! {
    /// Optional counts of a [`Group`] the search can add (`expand`).
    pub enum GroupExpand {
        /// `counts.resources`.
        CountsResources => "counts.resources",
        /// `counts.users`.
        CountsUsers => "counts.users",
    }
}

string_enum! {
    /// Kinds of groups counted by the group stats.
    pub enum GroupType {
        /// A team.
        Team => "TEAM",
        /// A group.
        Group => "GROUP",
        /// A user-base group.
        UserbaseGroup => "USERBASE_GROUP",
    }
}

string_enum! {
    /// `status` of a workspace.
    pub enum WorkspaceStatus {
        /// Online.
        Online => "online",
        /// Offline.
        Offline => "offline",
        /// Deprecated.
        Deprecated => "deprecated",
    }
}

string_enum! {
    /// Product keys of the v1 APIs (managed accounts, last-active dates). JSM is
    /// `jira-service-desk` here (the v2 APIs say `jira-servicedesk`), and newer products such as
    /// Jira Product Discovery are missing from this old list (they arrive as `Unknown`).
    pub enum V1ProductKey {
        /// Jira Software.
        JiraSoftware => "jira-software",
        /// Jira Service Management.
        JiraServiceDesk => "jira-service-desk",
        /// Jira Work Management (Jira Core).
        JiraCore => "jira-core",
        /// Jira Ops.
        JiraOps => "jira-ops",
        /// Stride.
        Stride => "stride",
        /// HipChat.
        Hipchat => "hipchat",
        /// Confluence.
        Confluence => "confluence",
        /// Bitbucket.
        Bitbucket => "bitbucket",
        /// Trello.
        Trello => "trello",
        /// Opsgenie.
        Opsgenie => "opsgenie",
        /// Statuspage.
        Statuspage => "statuspage",
    }
}

string_enum! {
    /// `product` filter of the audit log.
    pub enum EventProduct {
        /// Bitbucket.
        Bitbucket => "bitbucket",
        /// Confluence.
        Confluence => "confluence",
        /// Guard Detect.
        GuardDetect => "guard_detect",
        /// Jira (every Jira product).
        Jira => "jira",
        /// Loom.
        Loom => "loom",
    }
}

// ---- orgs -------------------------------------------------------------------------------------

/// An organization (`GET /v1/orgs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    /// Org id.
    pub id: String,
    /// Its attributes.
    #[serde(default)]
    pub attributes: OrgAttributes,
}

/// Org attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgAttributes {
    /// Org name.
    #[serde(default)]
    pub name: String,
}

// ---- directories and workspaces ------------------------------------------------------------------

/// A user directory (`GET /v2/orgs/{orgId}/directories`). Centralized orgs have one; orgs on
/// the original user-management experience one per site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Directory {
    /// Directory id (use it where a `{directoryId}` is needed; `-` means every directory).
    pub directory_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Icon URL.
    pub icon: Option<String>,
}

/// A workspace: one product instance of a site, or Statuspage (`POST .../workspaces`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Workspace {
    /// The resource ARI, e.g. `ari:cloud:jira-software::site/<cloudId>`: what role grants and
    /// filters call a resource id.
    pub id: String,
    /// Object type (`workspaces`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Attributes.
    pub attributes: WorkspaceAttributes,
    /// Related objects (entitlements with the plan, policies, features), as sent.
    pub relationships: Map<String, Value>,
    /// Links.
    pub links: SelfLink,
}

impl Workspace {
    /// The cloud id: the part of the ARI after `site/` (None if the ARI has another shape).
    pub fn cloud_id(&self) -> Option<&str> {
        self.id
            .rsplit_once('/')
            .map(|(_, id)| id)
            .filter(|id| !id.is_empty())
    }

    /// The product: `attributes.typeKey`, else the product segment of the ARI.
    pub fn product(&self) -> Option<ProductKey> {
        self.attributes.type_key.clone().or_else(|| {
            self.id
                .strip_prefix("ari:cloud:")
                .and_then(|rest| rest.split(':').next())
                .filter(|p| !p.is_empty())
                .map(ProductKey::from)
        })
    }

    /// The plan names of the workspace's entitlements (`relationships.entitlement[].attributes.plan`).
    pub fn plans(&self) -> Vec<String> {
        self.relationships
            .get("entitlement")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e.pointer("/attributes/plan").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Attributes of a [`Workspace`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkspaceAttributes {
    /// Name (the site name for site products).
    pub name: Option<String>,
    /// Product key (`jira-software`, `confluence`, `statuspage`, …).
    pub type_key: Option<ProductKey>,
    /// Product family display type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Owner (the org id).
    pub owner: Option<String>,
    /// Status.
    pub status: Option<WorkspaceStatus>,
    /// Status details.
    pub status_details: Vec<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Sandbox information (`{type: CHILD|NONE}`).
    pub sandbox: Option<Sandbox>,
    /// Seats in use, when reported.
    pub usage: Option<i64>,
    /// Licensed seats, when reported.
    pub capacity: Option<i64>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Creator.
    pub created_by: Option<String>,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Where the product is reached: `https://<site>.atlassian.net` for site products.
    pub host_url: Option<String>,
    /// Data residency realm.
    pub realm: Option<String>,
    /// Regions.
    pub regions: Vec<String>,
}

/// Sandbox information of a workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sandbox {
    /// `CHILD` for a sandbox, `NONE` otherwise.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `links` with only `self`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelfLink {
    /// A URL (v1) or an opaque token (v2).
    #[serde(rename = "self")]
    pub self_link: Option<String>,
}

// ---- directory users ------------------------------------------------------------------------------

/// A person in the org's directories (`MultiDirectoryUser`, from the users search and list,
/// and `MultiDirectoryUserDetailsData` from the user details).
///
/// `platform_roles`, `product_access` and `groups` are only present when asked for with
/// `expand` (`None` when not expanded, `Some(vec![])` when expanded and empty); `counts` and
/// `deactivated_on` likewise only when sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DirectoryUser {
    /// Account id.
    pub account_id: String,
    /// Account type (`atlassian` for every directory user).
    pub account_type: Option<AccountType>,
    /// Composite status (account status and membership in one).
    pub status: Option<UserStatus>,
    /// Account status.
    pub account_status: Option<AccountStatus>,
    /// Membership of the directories in scope.
    pub membership_status: Option<MembershipStatus>,
    /// When the account joined the org.
    pub added_to_org: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Email (absent when hidden).
    pub email: Option<String>,
    /// Whether the email is verified.
    pub email_verified: Option<bool>,
    /// Managed (verified domain) or not.
    pub claim_status: Option<ClaimStatus>,
    /// How the account came into the directory (`null` when unknown).
    pub management_source: Option<ManagementSource>,
    /// Whether two-step verification is on.
    pub mfa_enabled: Option<bool>,
    /// Picture URL.
    pub picture: Option<String>,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// Platform roles (org admin, site admin, user-access admin, AI access); `expand`.
    pub platform_roles: Option<Vec<RoleId>>,
    /// Counts; `expand` (`counts.resources`) or the details.
    pub counts: Option<UserCounts>,
    /// Products the person can use, with last activity; `expand`.
    pub product_access: Option<Vec<ProductAccess>>,
    /// Groups the person is a member of; `expand`.
    pub groups: Option<Vec<UserGroup>>,
    /// When the account was deactivated (details only).
    pub deactivated_on: Option<String>,
    /// Whether the account is scheduled for deletion, when sent.
    pub for_deletion: Option<bool>,
    /// Links (`self` is an opaque token).
    pub links: SelfLink,
}

/// `counts` of a directory user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserCounts {
    /// Number of resources the person holds a role on.
    pub resources: Option<u64>,
}

/// One product a directory user can use (`MultiDirectoryProductAccess`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProductAccess {
    /// Product key.
    pub key: Option<ProductKey>,
    /// The product instance (a resource ARI or a cloud id).
    pub id: Option<String>,
    /// Last activity in the product.
    pub last_active_timestamp: Option<String>,
}

/// A group of a directory user (`MultiDirectoryUserGroup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// `GET .../users/count`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Count {
    /// The number of matching items.
    pub count: u64,
}

/// `GET .../users/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserStats {
    /// Users per account status.
    pub account_status: Vec<AccountStatusCount>,
    /// Users per role.
    pub roles: Vec<RoleCount>,
}

/// Users with one account status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountStatusCount {
    /// The status.
    pub status: Option<AccountStatus>,
    /// How many.
    pub count: u64,
}

/// Users holding one role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleCount {
    /// The role.
    pub role_id: Option<RoleId>,
    /// How many.
    pub count: u64,
}

// ---- role assignments --------------------------------------------------------------------------

/// The roles a user holds on one resource (`MultiDirectoryUserRoleAssignment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignment {
    /// The resource ARI (`ari:cloud:<product>::site/<cloudId>`, or `ari:cloud:platform::…`
    /// for platform roles).
    pub resource_id: String,
    /// Who owns the resource: a product key, `platform`, `project`, `goal`, …
    pub resource_owner: Option<ProductKey>,
    /// Role ids (deprecated by Atlassian in favour of `role_assignments`).
    pub roles: Vec<RoleId>,
    /// Each role with how it is held.
    pub role_assignments: Vec<RoleGrant>,
    /// The directory of the resource (`None` for platform roles).
    pub directory_id: Option<String>,
    /// The user's membership of that directory (`None` for platform roles).
    pub user_directory_status: Option<MembershipStatus>,
}

impl RoleAssignment {
    /// Every role on this resource, from `role_assignments`, else from the deprecated `roles`.
    pub fn role_ids(&self) -> Vec<RoleId> {
        if self.role_assignments.is_empty() {
            self.roles.clone()
        } else {
            self.role_assignments
                .iter()
                .filter_map(|g| g.role.clone())
                .collect()
        }
    }

    /// Whether `role` is held on this resource, by any method.
    pub fn holds(&self, role: &RoleId) -> bool {
        self.role_ids().contains(role)
    }
}

/// One role and how it is held (`MultiDirectoryRoleAssignment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleGrant {
    /// The role.
    pub role: Option<RoleId>,
    /// How: directly, through a group, inferred (several at once are possible).
    pub role_assignment_methods: Vec<RoleAssignmentMethod>,
}

/// The roles a group holds on one resource (`MultiDirectoryGroupRoleAssignment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupRoleAssignment {
    /// The resource ARI.
    pub resource_id: String,
    /// Who owns the resource.
    pub resource_owner: Option<ProductKey>,
    /// Role ids.
    pub roles: Vec<RoleId>,
    /// The role this group is the default group of on that resource, if any.
    pub default_role: Option<RoleId>,
}

// ---- invitations -----------------------------------------------------------------------------

/// A role on a resource, as invitations grant them (`MultidirectoryInviteRoleAssociation`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PermissionRule {
    /// Resource ARI (from the workspaces).
    pub resource: String,
    /// Role: `atlassian/user`, `admin`, `guest`, `contributor`, `customer`, `basic`,
    /// `stakeholder` or `viewer`.
    pub role: RoleId,
}

/// The outcome of inviting one email (`AdminInviteResponse`). Errors are per item: check
/// [`InviteResult::is_success`] (or each status), not only the HTTP status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InviteResult {
    /// The account id of the invited person (new or existing).
    pub id: Option<String>,
    /// The email.
    pub email: String,
    /// Per-assignment results.
    pub results: Vec<InviteAssignments>,
    /// True when this result was not answered by the invitation itself but established by the
    /// client reading the directory after an ambiguous failure (the invitation had been applied
    /// and its answer was lost).
    #[serde(skip)]
    pub confirmed_by_read: bool,
}

impl InviteResult {
    /// Whether every role and group assignment succeeded.
    pub fn is_success(&self) -> bool {
        self.failures().is_empty()
    }

    /// The assignments that failed, as `(what, reason)`: `what` is `role <role> on <resource>`
    /// or `group <groupId>`.
    pub fn failures(&self) -> Vec<(String, Option<String>)> {
        let mut out = vec![];
        for result in &self.results {
            for r in &result.role_assignment_result {
                if r.status != Some(InviteStatus::Invited) {
                    out.push((
                        format!("role {} on {}", r.role, r.resource),
                        r.status_reason.clone(),
                    ));
                }
            }
            for g in &result.group_assignment_result {
                if g.status != Some(InviteStatus::Invited) {
                    out.push((format!("group {}", g.group), g.status_reason.clone()));
                }
            }
        }
        out
    }
}

/// Role and group results of one invitation (`SingleAdminInviteResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InviteAssignments {
    /// One per permission rule.
    pub role_assignment_result: Vec<RoleInviteResult>,
    /// One per additional group.
    pub group_assignment_result: Vec<GroupInviteResult>,
}

/// The result of one role of an invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleInviteResult {
    /// Resource ARI.
    #[serde(default)]
    pub resource: String,
    /// Role.
    #[serde(default = "unknown_role")]
    pub role: RoleId,
    /// `INVITED` or `ERROR`.
    #[serde(default)]
    pub status: Option<InviteStatus>,
    /// Why it failed.
    #[serde(default)]
    pub status_reason: Option<String>,
}

fn unknown_role() -> RoleId {
    RoleId::Unknown(String::new())
}

/// The result of one group of an invitation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupInviteResult {
    /// Group id.
    pub group: String,
    /// `INVITED` or `ERROR`.
    pub status: Option<InviteStatus>,
    /// Why it failed.
    pub status_reason: Option<String>,
}

// ---- groups ----------------------------------------------------------------------------------

/// A group (`MultiDirectoryGroup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The directory the group lives in (what membership changes need).
    pub directory_id: Option<String>,
    /// What the caller may do with it.
    pub management_access: Option<ManagementAccess>,
    /// Whether an identity provider created it (such groups cannot be changed by the API).
    pub external_synced: Option<bool>,
    /// Who manages it.
    pub managed_by: Option<GroupManagedBy>,
    /// Counts, when asked for (`expand`, `counts`) or in the details.
    pub counts: Option<GroupCounts>,
    /// Links (`self` is an opaque token).
    pub links: SelfLink,
}

/// What the caller may do with a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagementAccess {
    /// Can be deleted.
    pub deletable: Option<bool>,
    /// Can be modified (members, roles).
    pub modifiable: Option<bool>,
    /// Can be read.
    pub readable: Option<bool>,
}

/// Counts of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupCounts {
    /// Members.
    pub users: Option<u64>,
    /// Resources it holds roles on.
    pub resources: Option<u64>,
}

/// `GET .../groups/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupStats {
    /// Totals.
    pub totals: GroupTotals,
    /// Counts per group type.
    pub types: Vec<GroupTypeCount>,
}

/// Group totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupTotals {
    /// Every group.
    pub all: u64,
    /// Managed by admins.
    pub managed: u64,
    /// Synced from an identity provider.
    pub synced: u64,
}

/// Groups of one type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupTypeCount {
    /// The type.
    #[serde(rename = "type")]
    pub kind: Option<GroupType>,
    /// How many.
    pub count: u64,
}

// ---- v1 managed accounts and last-active dates ---------------------------------------------------

/// A managed account (`GET /v1/orgs/{orgId}/users`): an account on one of the org's verified
/// domains.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedAccount {
    /// Account id.
    pub account_id: String,
    /// Account type.
    pub account_type: Option<AccountType>,
    /// Account status.
    pub account_status: Option<AccountStatus>,
    /// Display name.
    pub name: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// Email (absent when hidden).
    pub email: Option<String>,
    /// Whether the account is billable under Atlassian Guard.
    pub access_billable: Option<bool>,
    /// Last activity in any product (a date or a date-time).
    pub last_active: Option<String>,
    /// Products the account can use.
    pub product_access: Vec<ManagedProductAccess>,
    /// Links (`self` is a URL).
    pub links: SelfLink,
}

/// One product of a managed account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedProductAccess {
    /// v1 product key.
    pub key: Option<V1ProductKey>,
    /// Product name.
    pub name: Option<String>,
    /// Where the product is (`acme.atlassian.net`).
    pub url: Option<String>,
    /// Last activity (a date or a date-time).
    pub last_active: Option<String>,
}

/// Last-active dates of one user (`GET .../directory/users/{accountId}/last-active-dates`),
/// every page merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LastActiveDates {
    /// Per product instance.
    pub product_access: Vec<ProductLastActive>,
    /// When the user joined the org (centralized user management only).
    pub added_to_org: Option<String>,
    /// The same as a date-time, when sent.
    pub added_to_org_timestamp: Option<String>,
}

/// Last activity in one product instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductLastActive {
    /// Cloud id of the product instance.
    pub id: String,
    /// v1 product key.
    pub key: Option<V1ProductKey>,
    /// Date of the last activity (viewing a product page for at least 2 s; may lag 24 h).
    pub last_active: Option<String>,
    /// The same as a date-time, when sent.
    pub last_active_timestamp: Option<String>,
}

// ---- events ----------------------------------------------------------------------------------

/// An audit-log event (`EventModel`; from the stream also `processedAt`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// Event id.
    pub id: String,
    /// Object type (`events`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// What happened.
    pub attributes: EventAttributes,
    /// The event's message.
    pub message: Option<EventMessage>,
    /// Links.
    pub links: SelfLink,
}

/// Attributes of an [`Event`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventAttributes {
    /// When it happened.
    pub time: Option<String>,
    /// When Atlassian processed it (stream only; what `from`/`to` of the stream filter on).
    pub processed_at: Option<String>,
    /// Action key, e.g. `user_added_to_group`.
    pub action: String,
    /// Who did it.
    pub actor: EventActor,
    /// What it concerns (users, groups, resources, …).
    pub context: Vec<EventObject>,
    /// Where (org, site, …).
    pub container: Vec<EventObject>,
    /// From where.
    pub location: Option<EventLocation>,
}

/// The actor of an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventActor {
    /// Account id (or app id).
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Authentication details, as sent.
    pub auth: Option<Value>,
    /// The app acting, as sent.
    pub app: Option<Value>,
    /// On whose behalf, as sent.
    pub on_behalf_of: Option<Value>,
    /// Links.
    pub links: Option<EventLinks>,
}

/// An object an event concerns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventObject {
    /// Id (account id, group id, ARI, org id, …).
    pub id: String,
    /// Type (`users`, `groups`, `resources`, `orgs`, `sites`, …).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Free-form attributes (`name`, `email`, `groupName`, …).
    pub attributes: Map<String, Value>,
    /// Links.
    pub links: Option<EventLinks>,
}

/// `self`/`alt` links of event parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventLinks {
    /// URL of the object.
    #[serde(rename = "self")]
    pub self_link: Option<String>,
    /// Alternate URL.
    pub alt: Option<String>,
}

/// Where an event came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventLocation {
    /// IP address.
    pub ip: Option<String>,
    /// Geolocation.
    pub geo: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region.
    pub region_name: Option<String>,
    /// Country.
    pub country_name: Option<String>,
}

/// The message of an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventMessage {
    /// Text.
    pub content: Option<String>,
    /// Format (`simple`, …).
    pub format: Option<String>,
}

/// An action the audit log records (`GET .../event-actions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventAction {
    /// Action key (what [`EventAttributes::action`] holds and the `action` filter takes).
    pub id: String,
    /// Object type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Names.
    pub attributes: EventActionAttributes,
}

/// Names of an [`EventAction`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventActionAttributes {
    /// Display name.
    pub display_name: Option<String>,
    /// Display name of its group.
    pub group_display_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_user_decodes_from_the_reference_sample_and_keeps_unknown_values() {
        let user: DirectoryUser = serde_json::from_str(
            r#"{"accountId":"5b10ac8d82e05b22cc7d4ef5","accountType":"atlassian","status":"active",
            "accountStatus":"active","membershipStatus":"active","addedToOrg":"2023-01-12T09:15:00Z",
            "name":"Alex Moreno","email":"alex@acme.com","claimStatus":"managed",
            "managementSource":null,"platformRoles":["atlassian/site-admin","atlassian/new-role"],
            "productAccess":[{"key":"jira","id":"a1b2","lastActiveTimestamp":"2026-09-19T16:20:00Z"}],
            "groups":[{"id":"g1","name":"jira-software-users-acme","description":null}],
            "counts":{"resources":3},"links":{"self":"NWIx"},"deactivatedOn":null,"forDeletion":false,
            "somethingNew":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(user.status, Some(UserStatus::Active));
        assert_eq!(user.management_source, None);
        assert_eq!(
            user.platform_roles.as_deref(),
            Some(
                &[
                    RoleId::SiteAdmin,
                    RoleId::Unknown("atlassian/new-role".into())
                ][..]
            )
        );
        assert_eq!(
            user.product_access.unwrap()[0].key,
            Some(ProductKey::Unknown("jira".into()))
        );
        let bare: DirectoryUser = serde_json::from_str(r#"{"accountId":"a"}"#).unwrap();
        assert!(bare.groups.is_none() && bare.product_access.is_none());
    }

    #[test]
    fn invite_results_report_each_failed_assignment() {
        let result: InviteResult = serde_json::from_str(
            r#"{"id":"5c1d","email":"new.hire@acme.com","results":[{"roleAssignmentResult":[
              {"resource":"ari:cloud:jira-software::site/a","role":"atlassian/user","status":"INVITED","statusReason":null},
              {"resource":"ari:cloud:jira-servicedesk::site/a","role":"atlassian/user","status":"ERROR","statusReason":"Product license limit exceeded"}],
              "groupAssignmentResult":[{"group":"g1","status":"INVITED","statusReason":null}]}]}"#,
        )
        .unwrap();
        assert!(!result.is_success());
        assert_eq!(
            result.failures(),
            vec![(
                "role atlassian/user on ari:cloud:jira-servicedesk::site/a".to_owned(),
                Some("Product license limit exceeded".to_owned())
            )]
        );
    }

    #[test]
    fn workspaces_name_their_cloud_id_product_and_plan() {
        let ws: Workspace = serde_json::from_str(
            r#"{"id":"ari:cloud:jira-servicedesk::site/a1b2","type":"workspaces",
            "attributes":{"name":"acme","typeKey":"jira-servicedesk","status":"online"},
            "relationships":{"entitlement":[{"attributes":{"plan":"PREMIUM"}}]}}"#,
        )
        .unwrap();
        assert_eq!(ws.cloud_id(), Some("a1b2"));
        assert_eq!(ws.product(), Some(ProductKey::JiraServiceDesk));
        assert_eq!(ws.plans(), vec!["PREMIUM".to_owned()]);
    }

    #[test]
    fn role_assignments_fall_back_to_the_deprecated_roles() {
        let old: RoleAssignment =
            serde_json::from_str(r#"{"resourceId":"r","roles":["atlassian/user"]}"#).unwrap();
        assert!(old.holds(&RoleId::User));
        let new: RoleAssignment = serde_json::from_str(
            r#"{"resourceId":"r","resourceOwner":"platform","roles":[],"roleAssignments":[{"role":"atlassian/org-admin","roleAssignmentMethods":["direct"]}],"directoryId":null,"userDirectoryStatus":null}"#,
        )
        .unwrap();
        assert_eq!(new.role_ids(), vec![RoleId::OrgAdmin]);
        assert_eq!(new.resource_owner, Some(ProductKey::Platform));
    }
}
