//! Row types: what a sync writes into a snapshot and what readers get back.
//!
//! Plain data with public fields. Product-specific vocabularies (account status, role names,
//! product keys) stay strings: the store keeps what Atlassian said, the engine interprets it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Identifier of a sync run; every snapshot row is tagged with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Life cycle of a sync run. Only `Completed` runs are ever visible to readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Being written; may be resumed from its checkpoints.
    Running,
    /// Fully written; the newest one is what readers see.
    Completed,
    /// Stopped with an error; never visible.
    Failed,
    /// Found running with no live writer (crash) and given up; never visible.
    Abandoned,
}

impl RunStatus {
    /// The TEXT stored in `sync_runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Abandoned => "abandoned",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(RunStatus::Running),
            "completed" => Ok(RunStatus::Completed),
            "failed" => Ok(RunStatus::Failed),
            "abandoned" => Ok(RunStatus::Abandoned),
            other => Err(Error::Corrupt {
                column: "sync_runs.status",
                detail: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One sync run as stored in `sync_runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    /// The run.
    pub id: RunId,
    /// When [`crate::Runs::begin`] was called.
    pub started_at: DateTime<Utc>,
    /// When it completed, failed or was abandoned.
    pub finished_at: Option<DateTime<Utc>>,
    /// Where it is in its life cycle.
    pub status: RunStatus,
    /// Per-product outcome as given by the engine (e.g. `{"jira": "ok", "statuspage": {"error": …}}`).
    pub product_status: serde_json::Value,
    /// Why it failed or was abandoned.
    pub error: Option<String>,
}

/// A resume point for one scope of a run (e.g. `accounts`, `jira:<cloud_id>`), committed in the
/// same transaction as the batch it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Scope name, chosen by the engine.
    pub scope: String,
    /// Opaque resume state (cursor, page number, `"done"`), chosen by the engine.
    pub value: serde_json::Value,
}

/// The organization (`org`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct OrgRow {
    /// Atlassian org id.
    pub org_id: String,
    /// Display name.
    pub name: String,
    /// User-management experience: `original` or `centralized`.
    pub user_management: String,
}

/// A site (`sites`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SiteRow {
    /// Cloud id.
    pub cloud_id: String,
    /// Site name (`acme` for acme.atlassian.net).
    pub name: String,
    /// Base URL.
    pub url: String,
}

/// A product instance / workspace (`resources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ResourceRow {
    /// Atlassian resource identifier.
    pub ari: String,
    /// Product key (`jira-software`, `confluence`, `jira-servicedesk`, `jira-product-discovery`, `statuspage`).
    pub product: String,
    /// Cloud id of its site, if it has one (Statuspage doesn't).
    pub site: Option<String>,
    /// Licensed seats, if known.
    pub seats: Option<i64>,
}

/// A user directory (`directories`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DirectoryRow {
    /// Directory id.
    pub directory_id: String,
    /// Display name.
    pub name: String,
}

/// An account of the org directory (`accounts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AccountRow {
    /// Atlassian account id.
    pub account_id: String,
    /// Email, when visible.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// `atlassian`, `app`, `customer`.
    pub account_type: String,
    /// Composite status Steward derives (e.g. `active`, `suspended`, `deactivated`).
    pub status: String,
    /// Atlassian account status.
    pub account_status: String,
    /// Org membership status, when the API gives it.
    pub membership_status: Option<String>,
    /// `managed` or `unmanaged`.
    pub claim_status: String,
    /// Who manages the account (e.g. `scim`, `admin`), when known.
    pub management_source: Option<String>,
    /// When it joined the org.
    pub added_to_org: Option<DateTime<Utc>>,
    /// Whether two-step verification is on, when known.
    pub mfa: Option<bool>,
}

/// A group (`groups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct GroupRow {
    /// Group id.
    pub group_id: String,
    /// Name.
    pub name: String,
    /// Directory it lives in.
    pub directory_id: Option<String>,
    /// Whether it is synced from an external identity provider.
    pub external_synced: bool,
    /// Who manages it, when known.
    pub managed_by: Option<String>,
}

/// Membership of an account in a group (`group_memberships`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::FromRow)]
pub struct GroupMembershipRow {
    /// The group.
    pub group_id: String,
    /// The member.
    pub account_id: String,
}

/// Where a role assignment comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GrantSource {
    /// Given to the account itself.
    Direct,
    /// Inherited through membership of a group.
    Group {
        /// The group that carries the role.
        group_id: String,
    },
    /// Deduced by Steward (e.g. product access implied by another permission).
    Inferred,
}

/// A role an account holds on a resource (`role_assignments`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleAssignmentRow {
    /// The account.
    pub account_id: String,
    /// The resource.
    pub resource_ari: String,
    /// Role name (e.g. `atlassian/user`, `admin`).
    pub role: String,
    /// Where the grant comes from.
    pub source: GrantSource,
}

/// A role a group holds on a resource (`group_roles`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::FromRow)]
pub struct GroupRoleRow {
    /// The group.
    pub group_id: String,
    /// The resource.
    pub resource_ari: String,
    /// Role name.
    pub role: String,
}

/// A Statuspage team member (`statuspage_members`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct StatuspageMemberRow {
    /// Statuspage user id.
    pub sp_user_id: String,
    /// Email.
    pub email: String,
    /// Matched Atlassian account, if any.
    pub account_id: Option<String>,
}

/// A Statuspage member's permissions on one page (`statuspage_permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::FromRow)]
pub struct StatuspagePermissionRow {
    /// Statuspage user id.
    pub sp_user_id: String,
    /// Page id.
    pub page_id: String,
    /// May configure the page.
    pub page_configuration: bool,
    /// May manage incidents.
    pub incident_manager: bool,
    /// May manage maintenances.
    pub maintenance_manager: bool,
}

/// A JSM customer of a service desk (`jsm_customers`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::FromRow)]
pub struct JsmCustomerRow {
    /// Cloud id of the site.
    pub site: String,
    /// Service desk id.
    pub service_desk_id: String,
    /// The customer's account.
    pub account_id: String,
}

/// Last activity of an account on a product or resource (`last_active`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct LastActiveRow {
    /// The account.
    pub account_id: String,
    /// Product key or resource ARI, as the API reports it.
    pub resource: String,
    /// Last seen.
    pub at: DateTime<Utc>,
}

/// One page of snapshot rows, written by [`crate::SnapshotWriter::write`].
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// Organization rows.
    Org(&'a [OrgRow]),
    /// Sites.
    Sites(&'a [SiteRow]),
    /// Resources.
    Resources(&'a [ResourceRow]),
    /// Directories.
    Directories(&'a [DirectoryRow]),
    /// Accounts.
    Accounts(&'a [AccountRow]),
    /// Groups.
    Groups(&'a [GroupRow]),
    /// Group memberships.
    GroupMemberships(&'a [GroupMembershipRow]),
    /// Account role assignments.
    RoleAssignments(&'a [RoleAssignmentRow]),
    /// Group role assignments.
    GroupRoles(&'a [GroupRoleRow]),
    /// Statuspage members.
    StatuspageMembers(&'a [StatuspageMemberRow]),
    /// Statuspage page permissions.
    StatuspagePermissions(&'a [StatuspagePermissionRow]),
    /// JSM customers.
    JsmCustomers(&'a [JsmCustomerRow]),
    /// Last-active records.
    LastActive(&'a [LastActiveRow]),
}

/// Filters for [`crate::Snapshot::accounts`]; `None` means "any". Product and role together
/// mean "holds that role on a resource of that product".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    /// Product key of a resource the account holds any role on.
    pub product: Option<String>,
    /// Role name the account holds (through any source).
    pub role: Option<String>,
    /// Composite status.
    pub status: Option<String>,
}

/// What kind of change a [`ChangeEvent`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An account appeared.
    AccountAdded,
    /// An account disappeared.
    AccountRemoved,
    /// An account's status changed.
    AccountStatusChanged,
    /// A role was granted.
    RoleGranted,
    /// A role was revoked.
    RoleRevoked,
    /// An account joined a group.
    GroupMembershipAdded,
    /// An account left a group.
    GroupMembershipRemoved,
    /// A group appeared.
    GroupAdded,
    /// A group disappeared.
    GroupRemoved,
    /// Statuspage page permissions changed (added, removed or edited).
    StatuspagePermissionChanged,
    /// A Statuspage team member was added.
    StatuspageMemberAdded,
    /// A Statuspage team member was removed.
    StatuspageMemberRemoved,
    /// A JSM customer was added.
    JsmCustomerAdded,
    /// A JSM customer was removed.
    JsmCustomerRemoved,
}

impl ChangeKind {
    /// The TEXT stored in `change_events.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::AccountAdded => "account_added",
            ChangeKind::AccountRemoved => "account_removed",
            ChangeKind::AccountStatusChanged => "account_status_changed",
            ChangeKind::RoleGranted => "role_granted",
            ChangeKind::RoleRevoked => "role_revoked",
            ChangeKind::GroupMembershipAdded => "group_membership_added",
            ChangeKind::GroupMembershipRemoved => "group_membership_removed",
            ChangeKind::GroupAdded => "group_added",
            ChangeKind::GroupRemoved => "group_removed",
            ChangeKind::StatuspagePermissionChanged => "statuspage_permission_changed",
            ChangeKind::StatuspageMemberAdded => "statuspage_member_added",
            ChangeKind::StatuspageMemberRemoved => "statuspage_member_removed",
            ChangeKind::JsmCustomerAdded => "jsm_customer_added",
            ChangeKind::JsmCustomerRemoved => "jsm_customer_removed",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        const ALL: [ChangeKind; 14] = [
            ChangeKind::AccountAdded,
            ChangeKind::AccountRemoved,
            ChangeKind::AccountStatusChanged,
            ChangeKind::RoleGranted,
            ChangeKind::RoleRevoked,
            ChangeKind::GroupMembershipAdded,
            ChangeKind::GroupMembershipRemoved,
            ChangeKind::GroupAdded,
            ChangeKind::GroupRemoved,
            ChangeKind::StatuspagePermissionChanged,
            ChangeKind::StatuspageMemberAdded,
            ChangeKind::StatuspageMemberRemoved,
            ChangeKind::JsmCustomerAdded,
            ChangeKind::JsmCustomerRemoved,
        ];
        ALL.into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::Corrupt {
                column: "change_events.kind",
                detail: s.to_owned(),
            })
    }
}

/// A change event to record (see [`crate::Changes::record`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewChangeEvent {
    /// The run whose diff detected it, if any.
    pub run_id: Option<RunId>,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
    /// What changed.
    pub kind: ChangeKind,
    /// Subject account.
    pub account_id: Option<String>,
    /// Subject group.
    pub group_id: Option<String>,
    /// Resource ARI (or Statuspage page id, JSM service desk) concerned.
    pub resource: Option<String>,
    /// Role concerned.
    pub role: Option<String>,
    /// State before, as JSON.
    pub before: Option<serde_json::Value>,
    /// State after, as JSON.
    pub after: Option<serde_json::Value>,
    /// True when Steward did not make this change.
    pub out_of_band: bool,
    /// Who made it, per the org's events API.
    pub actor_id: Option<String>,
    /// Their display name.
    pub actor_name: Option<String>,
}

/// A recorded change event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Monotonic id; usable as a cursor ([`ChangeQuery::after_id`]).
    pub id: i64,
    /// The event as recorded.
    #[serde(flatten)]
    pub event: NewChangeEvent,
}

/// Selects change events for [`crate::Changes::list`]; all conditions are ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeQuery {
    /// Only events detected strictly after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only events with an id greater than this (a cursor).
    pub after_id: Option<i64>,
    /// Only events of this run.
    pub run: Option<RunId>,
    /// Only events about this account.
    pub account_id: Option<String>,
    /// At most this many (oldest first).
    pub limit: Option<i64>,
}
