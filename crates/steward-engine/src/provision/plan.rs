//! The planner: pure functions from a person's synced state and the wanted change to a
//! [`Plan`] of ordered operations. No I/O: [`person_state`] and [`OrgFacts::from_snapshot`]
//! read the snapshot once, then [`plan_grant`], [`plan_revoke`], [`plan_offboard`] and
//! [`plan_restore`] compute. The [`super::guard`] rails are applied here; a refusal is a
//! [`PlanError`].
//!
//! # What each plan does
//! - **grant**: invites the person first when the sync knows no account for the email; then,
//!   per requested entitlement not already held (from any source: direct, group, inferred),
//!   a role through the product's default group under the original user-management experience
//!   (`AddToGroup`; the group the snapshot shows carrying that role), or `GrantRole` under the
//!   centralized one (and always for Organization admin, and where no group carries the role);
//!   Statuspage team membership before page permissions (one `SetStatuspagePage` per page,
//!   its roles merged with those held); JSM service-desk customers. Then `Verify`.
//! - **revoke**: a directly held role is revoked; a role (also) held through a group is refused
//!   with [`PlanError::HeldThroughGroup`] naming the group, unless the same request removes
//!   that group; a Statuspage page role is cleared (others kept), `statuspage:<page>/user`
//!   removes the page; JSM desks and groups are left. `SaveRestoreBundle` comes first.
//! - **offboard** ([`OffboardLevel`]): `revoke-roles` revokes every direct role and removes
//!   every group membership whose group carries a role (groups without roles, such as teams,
//!   grant no product and stay); `suspend` suspends in each of the person's directories (roles
//!   and groups are kept, so it is reversible); `remove` removes from each directory (Atlassian
//!   drops the roles and groups); `deactivate` deactivates the managed account. Every level
//!   also removes the Statuspage team membership and the JSM access: portal-only customer
//!   accounts have their portal-only access revoked per site, other accounts are removed as
//!   customers of each desk. `SaveRestoreBundle` comes first.
//! - **restore** ([`RestoreBundle`]): restores a suspended account (or invites a removed one),
//!   then the groups, direct roles, Statuspage membership and pages, and JSM desks the bundle
//!   holds and the person lacks.
//!
//! # Order
//! Deterministic: operations are ordered by phase ([`phase`]), and within a phase by the
//! order the inputs are walked in (entitlements sorted by id; held state in sorted order).
//! Grants: restore account, invite, groups, roles, Statuspage member, Statuspage pages, JSM
//! desks. Revocations: restore bundle, roles, groups, Statuspage pages, Statuspage member, JSM
//! desks, portal-only access, Organization admin, then the account itself (suspend, remove,
//! deactivate). `Verify` is always last, and an operation never appears twice. A plan with
//! nothing to change is `[Verify]` ([`Plan::is_noop`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use steward_store::{DirectoryRow, GrantSource, Snapshot};

use super::catalog::{Entitlement, EntitlementKind, org_ari};
use super::guard::{self, GuardError};
pub use super::op::Experience;
use super::op::{ORG_ADMIN, Op, Plan, PlannedOp, Subject};

/// What the planner knows about one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFacts {
    /// The group id.
    pub group_id: String,
    /// Its name.
    pub name: String,
    /// Its directory.
    pub directory_id: Option<String>,
    /// Synced from an identity provider.
    pub external_synced: bool,
    /// Who manages it, when known.
    pub managed_by: Option<String>,
    /// The (resource, role) pairs it carries.
    pub roles: BTreeSet<(String, String)>,
}

/// What the planner knows about the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgFacts {
    /// The user-management experience.
    pub experience: Experience,
    /// The org's ARI (Organization admin is held on it).
    pub org_resource: String,
    /// The integration account, when known (guarded against destructive changes).
    pub integration_account_id: Option<String>,
    /// Accounts holding Organization admin.
    pub org_admins: BTreeSet<String>,
    /// Every group, by id.
    pub groups: BTreeMap<String, GroupFacts>,
    /// The org's directories.
    pub directories: Vec<DirectoryRow>,
}

impl OrgFacts {
    /// Reads the facts from a snapshot; `integration_email` (the configured integration
    /// account) is looked up in it.
    ///
    /// # Errors
    /// [`PlanError::Store`].
    pub async fn from_snapshot(
        snapshot: &Snapshot,
        integration_email: Option<&str>,
    ) -> Result<OrgFacts, PlanError> {
        let org = snapshot.org().await?;
        let mut groups: BTreeMap<String, GroupFacts> = snapshot
            .groups()
            .await?
            .into_iter()
            .map(|g| {
                (
                    g.group_id.clone(),
                    GroupFacts {
                        group_id: g.group_id,
                        name: g.name,
                        directory_id: g.directory_id,
                        external_synced: g.external_synced,
                        managed_by: g.managed_by,
                        roles: BTreeSet::new(),
                    },
                )
            })
            .collect();
        for r in snapshot.group_roles().await? {
            if let Some(g) = groups.get_mut(&r.group_id) {
                g.roles.insert((r.resource_ari, r.role));
            }
        }
        let org_admins = snapshot
            .role_assignments()
            .await?
            .into_iter()
            .filter(|r| r.role == ORG_ADMIN)
            .map(|r| r.account_id)
            .collect();
        let integration_account_id = match integration_email {
            Some(email) => snapshot
                .account_by_email(email)
                .await?
                .map(|a| a.account_id),
            None => None,
        };
        Ok(OrgFacts {
            experience: org.as_ref().map_or(Experience::Centralized, |o| {
                Experience::parse(&o.user_management)
            }),
            org_resource: org_ari(org.as_ref().map_or("", |o| o.org_id.as_str())),
            integration_account_id,
            org_admins,
            groups,
            directories: snapshot.directories().await?,
        })
    }

    /// The group that grants `role` on `resource` under the original experience: one carrying
    /// exactly that pair, preferring groups carrying nothing else (a product's default group),
    /// then by name.
    pub fn default_group(&self, resource: &str, role: &str) -> Option<&GroupFacts> {
        self.groups
            .values()
            .filter(|g| {
                g.roles
                    .iter()
                    .any(|(res, r)| res.as_str() == resource && r.as_str() == role)
            })
            .min_by(|a, b| {
                (a.roles.len(), a.external_synced, &a.name).cmp(&(
                    b.roles.len(),
                    b.external_synced,
                    &b.name,
                ))
            })
    }

    fn group(&self, group_id: &str, name: &str) -> GroupFacts {
        self.groups.get(group_id).cloned().unwrap_or(GroupFacts {
            group_id: group_id.to_owned(),
            name: name.to_owned(),
            directory_id: None,
            external_synced: false,
            managed_by: None,
            roles: BTreeSet::new(),
        })
    }
}

/// One role the person holds, from one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeldRole {
    /// The resource ARI.
    pub resource: String,
    /// The role id.
    pub role: String,
    /// Where it comes from.
    pub source: HeldSource,
}

/// Where a [`HeldRole`] comes from (orderable, unlike the store's [`GrantSource`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HeldSource {
    /// Given to the account itself.
    Direct,
    /// Through a group.
    Group {
        /// The group id.
        group_id: String,
    },
    /// Deduced.
    Inferred,
}

impl From<GrantSource> for HeldSource {
    fn from(s: GrantSource) -> Self {
        match s {
            GrantSource::Direct => HeldSource::Direct,
            GrantSource::Group { group_id } => HeldSource::Group { group_id },
            GrantSource::Inferred => HeldSource::Inferred,
        }
    }
}

/// The person's Atlassian account as synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// The account id.
    pub account_id: String,
    /// `atlassian`, `customer` (JSM portal-only), `app`.
    pub account_type: String,
    /// Composite status (`active`, `suspended`, `deactivated`, …).
    pub status: String,
    /// `managed` or `unmanaged`.
    pub claim_status: String,
    /// Who provisions it (`synced`: the identity provider).
    pub management_source: Option<String>,
    /// The directories it is in (one under centralized user management; under the original
    /// experience, those of its groups and of the sites it holds roles on).
    pub directories: BTreeSet<String>,
    /// Every role held, with its source.
    pub roles: BTreeSet<HeldRole>,
    /// Group memberships: id → name.
    pub groups: BTreeMap<String, String>,
}

/// Page roles on one Statuspage page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageFlags {
    /// Page configuration.
    pub page_configuration: bool,
    /// Incident management.
    pub incident_manager: bool,
    /// Maintenance management.
    pub maintenance_manager: bool,
}

impl PageFlags {
    fn union(self, other: PageFlags) -> PageFlags {
        PageFlags {
            page_configuration: self.page_configuration || other.page_configuration,
            incident_manager: self.incident_manager || other.incident_manager,
            maintenance_manager: self.maintenance_manager || other.maintenance_manager,
        }
    }

    fn minus(self, other: PageFlags) -> PageFlags {
        PageFlags {
            page_configuration: self.page_configuration && !other.page_configuration,
            incident_manager: self.incident_manager && !other.incident_manager,
            maintenance_manager: self.maintenance_manager && !other.maintenance_manager,
        }
    }

    fn any(self) -> bool {
        self.page_configuration || self.incident_manager || self.maintenance_manager
    }

    fn set_op(self, page_id: &str) -> Op {
        Op::SetStatuspagePage {
            page_id: page_id.to_owned(),
            page_configuration: self.page_configuration,
            incident_manager: self.incident_manager,
            maintenance_manager: self.maintenance_manager,
        }
    }
}

/// A JSM service desk the person is a customer of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeskRef {
    /// The site name.
    pub site: String,
    /// The service desk id.
    pub service_desk_id: String,
}

/// Everything the planner needs about one person (by email), from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonState {
    /// The email (how requests name people).
    pub email: String,
    /// The account, if the sync found one.
    pub account: Option<AccountState>,
    /// Statuspage team membership (matched by email): page id → roles; `None` when not on
    /// the team.
    pub statuspage: Option<BTreeMap<String, PageFlags>>,
    /// JSM service desks the person is a customer of.
    pub jsm_desks: BTreeSet<DeskRef>,
}

impl PersonState {
    /// Someone the snapshot knows nothing about.
    pub fn unknown(email: &str) -> PersonState {
        PersonState {
            email: email.to_owned(),
            account: None,
            statuspage: None,
            jsm_desks: BTreeSet::new(),
        }
    }

    /// The plan's subject.
    pub fn subject(&self) -> Subject {
        Subject {
            email: self.email.clone(),
            account_id: self.account.as_ref().map(|a| a.account_id.clone()),
        }
    }

    fn held(&self, resource: &str, role: &str) -> Vec<&HeldSource> {
        self.account
            .iter()
            .flat_map(|a| a.roles.iter())
            .filter(|h| h.resource == resource && h.role == role)
            .map(|h| &h.source)
            .collect()
    }

    fn in_group(&self, group_id: &str) -> bool {
        self.account
            .as_ref()
            .is_some_and(|a| a.groups.contains_key(group_id))
    }
}

/// Reads one person's state from the snapshot (email in any case). A person the sync does not
/// know gives a state with no account.
///
/// # Errors
/// [`PlanError::Store`].
pub async fn person_state(
    snapshot: &Snapshot,
    email: &str,
    facts: &OrgFacts,
) -> Result<PersonState, PlanError> {
    let sites: BTreeMap<String, String> = snapshot
        .sites()
        .await?
        .into_iter()
        .map(|s| (s.cloud_id, s.name))
        .collect();
    let mut state = PersonState::unknown(email);
    let account = snapshot.account_by_email(email).await?;
    if let Some(row) = &account {
        let id = row.account_id.clone();
        let groups: BTreeMap<String, String> = snapshot
            .groups_of(&id)
            .await?
            .into_iter()
            .map(|g| (g.group_id, g.name))
            .collect();
        let roles: BTreeSet<HeldRole> = snapshot
            .grants_of(&id)
            .await?
            .into_iter()
            .map(|r| HeldRole {
                resource: r.resource_ari,
                role: r.role,
                source: r.source.into(),
            })
            .collect();
        let directories = directories_of(facts, &groups, &roles, &sites);
        state.jsm_desks = snapshot
            .jsm_customers_of(&id)
            .await?
            .into_iter()
            .map(|c| DeskRef {
                site: sites.get(&c.site).cloned().unwrap_or(c.site),
                service_desk_id: c.service_desk_id,
            })
            .collect();
        state.account = Some(AccountState {
            account_id: id,
            account_type: row.account_type.clone(),
            status: row.status.clone(),
            claim_status: row.claim_status.clone(),
            management_source: row.management_source.clone(),
            directories,
            roles,
            groups,
        });
    }
    let account_id = account.as_ref().map(|a| a.account_id.as_str());
    let member = snapshot.statuspage_members().await?.into_iter().find(|m| {
        m.email.eq_ignore_ascii_case(email)
            || (account_id.is_some() && m.account_id.as_deref() == account_id)
    });
    if let Some(member) = member {
        let pages = snapshot
            .statuspage_permissions()
            .await?
            .into_iter()
            .filter(|p| p.sp_user_id == member.sp_user_id)
            .map(|p| {
                (
                    p.page_id,
                    PageFlags {
                        page_configuration: p.page_configuration,
                        incident_manager: p.incident_manager,
                        maintenance_manager: p.maintenance_manager,
                    },
                )
            })
            .collect();
        state.statuspage = Some(pages);
    }
    Ok(state)
}

/// The directories an account is in: the org's one directory under centralized user
/// management; otherwise those of its groups and those named after a site it holds a role on
/// (the original experience has one directory per site, named after it).
fn directories_of(
    facts: &OrgFacts,
    groups: &BTreeMap<String, String>,
    roles: &BTreeSet<HeldRole>,
    sites: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    if let [only] = facts.directories.as_slice() {
        return BTreeSet::from([only.directory_id.clone()]);
    }
    let mut out: BTreeSet<String> = groups
        .keys()
        .filter_map(|g| facts.groups.get(g).and_then(|g| g.directory_id.clone()))
        .collect();
    for role in roles {
        let Some(cloud_id) = role.resource.rsplit_once("site/").map(|(_, c)| c) else {
            continue;
        };
        if let Some(site) = sites.get(cloud_id) {
            out.extend(
                facts
                    .directories
                    .iter()
                    .filter(|d| d.name.eq_ignore_ascii_case(site))
                    .map(|d| d.directory_id.clone()),
            );
        }
    }
    out
}

/// How far an offboarding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffboardLevel {
    /// Revoke every direct role and every role-carrying group membership.
    RevokeRoles,
    /// Suspend in every directory (reversible; roles kept).
    Suspend,
    /// Remove from every directory (roles and groups lost).
    Remove,
    /// Deactivate the managed account everywhere.
    Deactivate,
}

impl OffboardLevel {
    /// Every level, mildest first.
    pub const ALL: [OffboardLevel; 4] = [
        OffboardLevel::RevokeRoles,
        OffboardLevel::Suspend,
        OffboardLevel::Remove,
        OffboardLevel::Deactivate,
    ];

    /// `revoke-roles`, `suspend`, `remove`, `deactivate`.
    pub fn as_str(self) -> &'static str {
        match self {
            OffboardLevel::RevokeRoles => "revoke-roles",
            OffboardLevel::Suspend => "suspend",
            OffboardLevel::Remove => "remove",
            OffboardLevel::Deactivate => "deactivate",
        }
    }
}

impl fmt::Display for OffboardLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OffboardLevel {
    type Err = String;

    /// Also accepts `roles` for `revoke-roles`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "roles" {
            return Ok(OffboardLevel::RevokeRoles);
        }
        OffboardLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown offboarding level {s:?} (one of revoke-roles, suspend, remove, deactivate)")
            })
    }
}

/// What a person had, saved before destructive steps; [`plan_restore`] plans it back. Stored
/// as the restore bundle's JSON content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreBundle {
    /// The email.
    pub email: String,
    /// The account id, if there was one.
    pub account_id: Option<String>,
    /// Directories the account was in.
    pub directories: BTreeSet<String>,
    /// Directly held (resource, role) pairs.
    pub roles: BTreeSet<(String, String)>,
    /// Group memberships: id → name.
    pub groups: BTreeMap<String, String>,
    /// Statuspage pages and roles, `None` when not on the team.
    pub statuspage: Option<BTreeMap<String, PageFlags>>,
    /// JSM service desks as a customer.
    pub jsm_desks: BTreeSet<DeskRef>,
    /// Roles held through groups or inferred when saved (they come back with the groups, or
    /// by themselves): for people reading the bundle.
    #[serde(default)]
    pub indirect_roles: BTreeSet<(String, String)>,
    /// The account's composite status when saved (`active`, `suspended`, …).
    #[serde(default)]
    pub status: Option<String>,
}

impl RestoreBundle {
    /// The bundle of a person's current state (direct roles only: group roles come back with
    /// the groups, inferred ones by themselves).
    pub fn of(state: &PersonState) -> RestoreBundle {
        let account = state.account.as_ref();
        RestoreBundle {
            email: state.email.clone(),
            account_id: account.map(|a| a.account_id.clone()),
            directories: account.map(|a| a.directories.clone()).unwrap_or_default(),
            roles: account
                .iter()
                .flat_map(|a| a.roles.iter())
                .filter(|h| h.source == HeldSource::Direct)
                .map(|h| (h.resource.clone(), h.role.clone()))
                .collect(),
            groups: account.map(|a| a.groups.clone()).unwrap_or_default(),
            statuspage: state.statuspage.clone(),
            jsm_desks: state.jsm_desks.clone(),
            indirect_roles: account
                .iter()
                .flat_map(|a| a.roles.iter())
                .filter(|h| h.source != HeldSource::Direct)
                .map(|h| (h.resource.clone(), h.role.clone()))
                .collect(),
            status: account.map(|a| a.status.clone()),
        }
    }
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A guard rail refused it.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The role to revoke is held through a group.
    #[error(
        "{entitlement} is held through group {group}: revoking the role would not take the \
         access away; revoke the membership instead (`group:{group}`)"
    )]
    HeldThroughGroup {
        /// The entitlement asked for.
        entitlement: String,
        /// The group it comes through.
        group: String,
    },
    /// The role to revoke is only inferred by Atlassian from other access.
    #[error(
        "{entitlement} is not granted but inferred by Atlassian from other access; revoke that \
         access instead (`steward user <email>` shows it)"
    )]
    HeldInferred {
        /// The entitlement asked for.
        entitlement: String,
    },
    /// The account is deactivated: the API cannot bring it back.
    #[error(
        "{email}'s account is deactivated; reactivate it in admin.atlassian.com (Directory → \
         Users), run `steward sync`, then restore"
    )]
    Deactivated {
        /// The email.
        email: String,
    },
    /// The snapshot could not be read.
    #[error("cannot read the snapshot")]
    Store(#[from] steward_store::Error),
}

/// The phase of an operation: plans are ordered by phase (see the module docs).
pub fn phase(op: &Op) -> u8 {
    match op {
        Op::SaveRestoreBundle => 0,
        Op::RestoreAccount { .. } => 1,
        Op::InviteAccount => 2,
        Op::AddToGroup { .. } => 3,
        Op::GrantRole { .. } => 4,
        Op::AddStatuspageMember => 5,
        Op::SetStatuspagePage { .. } => 6,
        Op::AddJsmCustomer { .. } => 7,
        Op::RevokeRole { role, .. } if role == ORG_ADMIN => 15,
        Op::RevokeRole { .. } => 8,
        Op::RemoveFromGroup { .. } => 9,
        Op::RemoveStatuspagePage { .. } => 10,
        Op::RemoveStatuspageMember => 11,
        Op::RemoveJsmCustomer { .. } => 12,
        Op::RevokePortalOnlyAccess { .. } => 13,
        Op::SuspendAccount { .. } => 16,
        Op::RemoveFromDirectory { .. } => 17,
        Op::DeactivateAccount => 18,
        Op::Verify => 255,
    }
}

/// Collects operations once each, then orders them.
struct Builder {
    ops: Vec<PlannedOp>,
}

impl Builder {
    fn new() -> Builder {
        Builder { ops: Vec::new() }
    }

    fn push(&mut self, op: Op, why: impl Into<String>) {
        if !self.ops.iter().any(|p| p.op == op) {
            self.ops.push(PlannedOp {
                op,
                why: why.into(),
            });
        }
    }

    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Orders by phase (stable), adds `SaveRestoreBundle` first when `bundle` and anything
    /// changes, and `Verify` last.
    fn finish(mut self, state: &PersonState, bundle: Option<&str>) -> Plan {
        if let Some(why) = bundle
            && !self.ops.is_empty()
        {
            self.push(Op::SaveRestoreBundle, why);
        }
        self.ops.sort_by_key(|p| phase(&p.op));
        self.ops.push(PlannedOp {
            op: Op::Verify,
            why: "read back the access the plan meant".to_owned(),
        });
        Plan {
            subject: state.subject(),
            ops: self.ops,
            planned_against_run: None,
            restores_bundle: None,
        }
    }
}

/// Sorted, deduplicated entitlements (the plan's order must not depend on argument order).
fn sorted(entitlements: &[Entitlement]) -> Vec<&Entitlement> {
    let mut out: Vec<&Entitlement> = entitlements.iter().collect();
    out.sort_by_cached_key(|e| e.id.to_string());
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// Plans granting `entitlements` to the person (see the module docs).
///
/// # Errors
/// [`PlanError::Guard`] when a group to add to is synced from the identity provider.
pub fn plan_grant(
    state: &PersonState,
    entitlements: &[Entitlement],
    facts: &OrgFacts,
) -> Result<Plan, PlanError> {
    let mut b = Builder::new();
    let mut pages: BTreeMap<String, (PageFlags, String)> = BTreeMap::new();
    for e in sorted(entitlements) {
        let why = format!("requested: {}", e.id);
        match &e.kind {
            EntitlementKind::Role { resource, role } => {
                grant_role(&mut b, state, facts, resource, role, &why)?;
            }
            EntitlementKind::JsmCustomer {
                site,
                service_desk_id,
            } => {
                let desk = DeskRef {
                    site: site.clone(),
                    service_desk_id: service_desk_id.clone(),
                };
                if !state.jsm_desks.contains(&desk) {
                    b.push(
                        Op::AddJsmCustomer {
                            site: site.clone(),
                            service_desk_id: service_desk_id.clone(),
                        },
                        why,
                    );
                }
            }
            EntitlementKind::StatuspagePage {
                resource,
                product_role,
                page_id,
                page_configuration,
                incident_manager,
                maintenance_manager,
            } => {
                grant_role(&mut b, state, facts, resource, product_role, &why)?;
                let flags = PageFlags {
                    page_configuration: *page_configuration,
                    incident_manager: *incident_manager,
                    maintenance_manager: *maintenance_manager,
                };
                let entry = pages
                    .entry(page_id.clone())
                    .or_insert((PageFlags::default(), why.clone()));
                entry.0 = entry.0.union(flags);
            }
            EntitlementKind::Group {
                group_id,
                group_name,
            } => {
                if !state.in_group(group_id) {
                    guard::check_group(&facts.group(group_id, group_name))?;
                    b.push(
                        Op::AddToGroup {
                            group_id: group_id.clone(),
                            group_name: group_name.clone(),
                        },
                        why,
                    );
                }
            }
        }
    }
    if !pages.is_empty() && state.statuspage.is_none() {
        let why = pages
            .values()
            .next()
            .map(|(_, why)| why.clone())
            .unwrap_or_default();
        b.push(Op::AddStatuspageMember, why);
    }
    for (page_id, (wanted, why)) in pages {
        let held = state
            .statuspage
            .as_ref()
            .and_then(|p| p.get(&page_id))
            .copied();
        let merged = held.unwrap_or_default().union(wanted);
        if held != Some(merged) {
            b.push(merged.set_op(&page_id), why);
        }
    }
    if state.account.is_none() && !b.is_empty() {
        b.push(Op::InviteAccount, "no account for this email yet");
    }
    Ok(b.finish(state, None))
}

fn grant_role(
    b: &mut Builder,
    state: &PersonState,
    facts: &OrgFacts,
    resource: &str,
    role: &str,
    why: &str,
) -> Result<(), PlanError> {
    if !state.held(resource, role).is_empty() {
        return Ok(());
    }
    if role != ORG_ADMIN
        && facts.experience == Experience::Original
        && let Some(group) = facts.default_group(resource, role)
    {
        if !state.in_group(&group.group_id) {
            guard::check_group(group)?;
            b.push(
                Op::AddToGroup {
                    group_id: group.group_id.clone(),
                    group_name: group.name.clone(),
                },
                format!("{why} (original user management: through the product's default group)"),
            );
        }
        return Ok(());
    }
    let resource = if role == ORG_ADMIN {
        facts.org_resource.clone()
    } else {
        resource.to_owned()
    };
    b.push(
        Op::GrantRole {
            resource,
            role: role.to_owned(),
        },
        why,
    );
    Ok(())
}

/// Plans revoking `entitlements` from the person (see the module docs).
///
/// # Errors
/// [`PlanError::HeldThroughGroup`], [`PlanError::HeldInferred`], and the guard rails:
/// integration account, last org admin, IdP-synced group.
pub fn plan_revoke(
    state: &PersonState,
    entitlements: &[Entitlement],
    facts: &OrgFacts,
) -> Result<Plan, PlanError> {
    let entitlements = sorted(entitlements);
    let leaving: BTreeSet<&str> = entitlements
        .iter()
        .filter_map(|e| match &e.kind {
            EntitlementKind::Group { group_id, .. } => Some(group_id.as_str()),
            EntitlementKind::Role { .. }
            | EntitlementKind::JsmCustomer { .. }
            | EntitlementKind::StatuspagePage { .. } => None,
        })
        .collect();
    let mut b = Builder::new();
    let mut cleared: BTreeMap<String, (PageFlags, String)> = BTreeMap::new();
    for e in &entitlements {
        let why = format!("requested: revoke {}", e.id);
        match &e.kind {
            EntitlementKind::Role { resource, role } => {
                revoke_role(&mut b, state, facts, &leaving, resource, role, e, &why)?;
            }
            EntitlementKind::JsmCustomer {
                site,
                service_desk_id,
            } => {
                let desk = DeskRef {
                    site: site.clone(),
                    service_desk_id: service_desk_id.clone(),
                };
                if state.jsm_desks.contains(&desk) {
                    b.push(
                        Op::RemoveJsmCustomer {
                            site: site.clone(),
                            service_desk_id: service_desk_id.clone(),
                        },
                        why,
                    );
                }
            }
            EntitlementKind::StatuspagePage {
                resource,
                product_role,
                page_id,
                page_configuration,
                incident_manager,
                maintenance_manager,
            } => {
                let flags = PageFlags {
                    page_configuration: *page_configuration,
                    incident_manager: *incident_manager,
                    maintenance_manager: *maintenance_manager,
                };
                if flags.any() {
                    let entry = cleared
                        .entry(page_id.clone())
                        .or_insert((PageFlags::default(), why.clone()));
                    entry.0 = entry.0.union(flags);
                } else if product_role == super::catalog::ROLE_ADMIN {
                    revoke_role(
                        &mut b,
                        state,
                        facts,
                        &leaving,
                        resource,
                        product_role,
                        e,
                        &why,
                    )?;
                } else if state
                    .statuspage
                    .as_ref()
                    .is_some_and(|p| p.contains_key(page_id))
                {
                    b.push(
                        Op::RemoveStatuspagePage {
                            page_id: page_id.clone(),
                        },
                        why,
                    );
                }
            }
            EntitlementKind::Group {
                group_id,
                group_name,
            } => {
                if state.in_group(group_id) {
                    guard::check_group(&facts.group(group_id, group_name))?;
                    b.push(
                        Op::RemoveFromGroup {
                            group_id: group_id.clone(),
                            group_name: group_name.clone(),
                        },
                        why,
                    );
                }
            }
        }
    }
    for (page_id, (flags, why)) in cleared {
        let removing = b.ops.iter().any(|p| {
            p.op == Op::RemoveStatuspagePage {
                page_id: page_id.clone(),
            }
        });
        let Some(held) = state.statuspage.as_ref().and_then(|p| p.get(&page_id)) else {
            continue;
        };
        let left = held.minus(flags);
        if !removing && left != *held {
            b.push(left.set_op(&page_id), why);
        }
    }
    if !b.is_empty() {
        guard::protect_integration_account(state, facts, "revoke access of")?;
    }
    Ok(b.finish(state, Some("save what is held before revoking")))
}

#[allow(clippy::too_many_arguments)]
fn revoke_role(
    b: &mut Builder,
    state: &PersonState,
    facts: &OrgFacts,
    leaving: &BTreeSet<&str>,
    resource: &str,
    role: &str,
    e: &Entitlement,
    why: &str,
) -> Result<(), PlanError> {
    let sources = state.held(resource, role);
    if sources.is_empty() {
        return Ok(());
    }
    if let Some(group_id) = sources.iter().find_map(|s| match s {
        HeldSource::Group { group_id } if !leaving.contains(group_id.as_str()) => Some(group_id),
        HeldSource::Group { .. } | HeldSource::Direct | HeldSource::Inferred => None,
    }) {
        let group = facts
            .groups
            .get(group_id)
            .map_or_else(|| group_id.clone(), |g| g.name.clone());
        return Err(PlanError::HeldThroughGroup {
            entitlement: e.id.to_string(),
            group,
        });
    }
    if sources.contains(&&HeldSource::Direct) {
        if role == ORG_ADMIN {
            guard::protect_integration_account(state, facts, "revoke Organization admin from")?;
            guard::protect_last_org_admin(state, facts, "revoke Organization admin from")?;
        }
        b.push(
            Op::RevokeRole {
                resource: resource.to_owned(),
                role: role.to_owned(),
            },
            why,
        );
        return Ok(());
    }
    if sources.iter().all(|s| **s == HeldSource::Inferred) {
        return Err(PlanError::HeldInferred {
            entitlement: e.id.to_string(),
        });
    }
    // Held only through groups this request removes: nothing more to do.
    Ok(())
}

/// Plans offboarding the person at `level` (see the module docs).
///
/// # Errors
/// The guard rails: integration account, last org admin, IdP-managed account (suspend,
/// remove, deactivate), unmanaged account (deactivate), IdP-synced group (revoke-roles).
pub fn plan_offboard(
    state: &PersonState,
    level: OffboardLevel,
    facts: &OrgFacts,
) -> Result<Plan, PlanError> {
    let mut b = Builder::new();
    let action = format!("offboard ({level})");
    if let Some(account) = &state.account {
        guard::protect_integration_account(state, facts, &action)?;
        match level {
            OffboardLevel::RevokeRoles => {
                for held in &account.roles {
                    if held.source != HeldSource::Direct {
                        continue;
                    }
                    if held.role == ORG_ADMIN {
                        guard::protect_last_org_admin(state, facts, &action)?;
                    }
                    b.push(
                        Op::RevokeRole {
                            resource: held.resource.clone(),
                            role: held.role.clone(),
                        },
                        "offboarding: revoke every direct role",
                    );
                }
                for (group_id, name) in &account.groups {
                    let group = facts.group(group_id, name);
                    if group.roles.is_empty() {
                        continue;
                    }
                    guard::check_group(&group)?;
                    b.push(
                        Op::RemoveFromGroup {
                            group_id: group_id.clone(),
                            group_name: name.clone(),
                        },
                        "offboarding: leave every group that grants access",
                    );
                }
            }
            OffboardLevel::Suspend => {
                guard::check_account_lifecycle(state, "suspend")?;
                guard::protect_last_org_admin(state, facts, "suspend")?;
                if account.status != "suspended" {
                    for dir in &account.directories {
                        b.push(
                            Op::SuspendAccount {
                                directory_id: dir.clone(),
                            },
                            "offboarding: suspend (reversible)",
                        );
                    }
                }
            }
            OffboardLevel::Remove => {
                guard::check_account_lifecycle(state, "remove")?;
                guard::protect_last_org_admin(state, facts, "remove")?;
                for dir in &account.directories {
                    b.push(
                        Op::RemoveFromDirectory {
                            directory_id: dir.clone(),
                        },
                        "offboarding: remove from the directory",
                    );
                }
            }
            OffboardLevel::Deactivate => {
                guard::check_account_lifecycle(state, "deactivate")?;
                guard::check_managed(state)?;
                guard::protect_last_org_admin(state, facts, "deactivate")?;
                if account.status != "deactivated" {
                    b.push(
                        Op::DeactivateAccount,
                        "offboarding: deactivate the managed account",
                    );
                }
            }
        }
    }
    if state.statuspage.is_some() {
        b.push(
            Op::RemoveStatuspageMember,
            "offboarding: leave the Statuspage team",
        );
    }
    let portal_only = state
        .account
        .as_ref()
        .is_some_and(|a| a.account_type == "customer");
    for desk in &state.jsm_desks {
        if portal_only {
            b.push(
                Op::RevokePortalOnlyAccess {
                    site: desk.site.clone(),
                },
                "offboarding: revoke portal-only customer access",
            );
        } else {
            b.push(
                Op::RemoveJsmCustomer {
                    site: desk.site.clone(),
                    service_desk_id: desk.service_desk_id.clone(),
                },
                "offboarding: stop being a customer of the service desk",
            );
        }
    }
    Ok(b.finish(state, Some("save what is held before offboarding")))
}

/// Plans giving back what `bundle` holds and the person lacks (see the module docs).
///
/// # Errors
/// [`PlanError::Deactivated`] for a deactivated account; [`PlanError::Guard`] for an
/// IdP-synced group to rejoin.
pub fn plan_restore(
    state: &PersonState,
    bundle: &RestoreBundle,
    facts: &OrgFacts,
) -> Result<Plan, PlanError> {
    let mut b = Builder::new();
    let why = "restore: held before offboarding";
    match &state.account {
        Some(a) if a.status == "deactivated" => {
            return Err(PlanError::Deactivated {
                email: state.email.clone(),
            });
        }
        Some(a) if a.status == "suspended" => {
            let dirs = if bundle.directories.is_empty() {
                &a.directories
            } else {
                &bundle.directories
            };
            for dir in dirs {
                b.push(
                    Op::RestoreAccount {
                        directory_id: dir.clone(),
                    },
                    why,
                );
            }
        }
        Some(_) => {}
        None => {
            if bundle.account_id.is_some() {
                b.push(
                    Op::InviteAccount,
                    "restore: the account left the organization",
                );
            }
        }
    }
    for (group_id, name) in &bundle.groups {
        if !state.in_group(group_id) {
            guard::check_group(&facts.group(group_id, name))?;
            b.push(
                Op::AddToGroup {
                    group_id: group_id.clone(),
                    group_name: name.clone(),
                },
                why,
            );
        }
    }
    for (resource, role) in &bundle.roles {
        if state.held(resource, role).is_empty() {
            b.push(
                Op::GrantRole {
                    resource: resource.clone(),
                    role: role.clone(),
                },
                why,
            );
        }
    }
    if let Some(pages) = &bundle.statuspage {
        if state.statuspage.is_none() {
            b.push(Op::AddStatuspageMember, why);
        }
        for (page_id, flags) in pages {
            let held = state
                .statuspage
                .as_ref()
                .and_then(|p| p.get(page_id))
                .copied();
            let merged = held.unwrap_or_default().union(*flags);
            if held != Some(merged) {
                b.push(merged.set_op(page_id), why);
            }
        }
    }
    for desk in &bundle.jsm_desks {
        if !state.jsm_desks.contains(desk) {
            b.push(
                Op::AddJsmCustomer {
                    site: desk.site.clone(),
                    service_desk_id: desk.service_desk_id.clone(),
                },
                why,
            );
        }
    }
    Ok(b.finish(state, None))
}

/// The account id [`apply_op`] gives an invited account (the real one is resolved at execution).
pub const INVITED_ACCOUNT_ID: &str = "(invited)";

/// What `op` does to the person's state, as the planner models it: the contract between the
/// planner and the executor, used by the property tests (apply a plan, plan again: nothing
/// left to do). Deterministic; `SaveRestoreBundle` and `Verify` change nothing.
pub fn apply_op(state: &mut PersonState, op: &Op, facts: &OrgFacts) {
    match op {
        Op::InviteAccount => {
            if state.account.is_none() {
                state.account = Some(AccountState {
                    account_id: INVITED_ACCOUNT_ID.to_owned(),
                    account_type: "atlassian".to_owned(),
                    status: "active".to_owned(),
                    claim_status: "unmanaged".to_owned(),
                    management_source: Some("invited".to_owned()),
                    directories: facts
                        .directories
                        .first()
                        .map(|d| d.directory_id.clone())
                        .into_iter()
                        .collect(),
                    roles: BTreeSet::new(),
                    groups: BTreeMap::new(),
                });
            }
        }
        Op::GrantRole { resource, role } => {
            if let Some(a) = &mut state.account {
                a.roles.insert(HeldRole {
                    resource: resource.clone(),
                    role: role.clone(),
                    source: HeldSource::Direct,
                });
            }
        }
        Op::RevokeRole { resource, role } => {
            if let Some(a) = &mut state.account {
                a.roles.remove(&HeldRole {
                    resource: resource.clone(),
                    role: role.clone(),
                    source: HeldSource::Direct,
                });
            }
        }
        Op::AddToGroup {
            group_id,
            group_name,
        } => {
            if let Some(a) = &mut state.account {
                a.groups.insert(group_id.clone(), group_name.clone());
                for (resource, role) in facts.group(group_id, group_name).roles {
                    a.roles.insert(HeldRole {
                        resource,
                        role,
                        source: HeldSource::Group {
                            group_id: group_id.clone(),
                        },
                    });
                }
            }
        }
        Op::RemoveFromGroup { group_id, .. } => {
            if let Some(a) = &mut state.account {
                a.groups.remove(group_id);
                a.roles.retain(
                    |h| !matches!(&h.source, HeldSource::Group { group_id: g } if g == group_id),
                );
            }
        }
        Op::AddStatuspageMember => {
            state.statuspage.get_or_insert_with(BTreeMap::new);
        }
        Op::SetStatuspagePage {
            page_id,
            page_configuration,
            incident_manager,
            maintenance_manager,
        } => {
            state.statuspage.get_or_insert_with(BTreeMap::new).insert(
                page_id.clone(),
                PageFlags {
                    page_configuration: *page_configuration,
                    incident_manager: *incident_manager,
                    maintenance_manager: *maintenance_manager,
                },
            );
        }
        Op::RemoveStatuspagePage { page_id } => {
            if let Some(pages) = &mut state.statuspage {
                pages.remove(page_id);
            }
        }
        Op::RemoveStatuspageMember => state.statuspage = None,
        Op::AddJsmCustomer {
            site,
            service_desk_id,
        } => {
            state.jsm_desks.insert(DeskRef {
                site: site.clone(),
                service_desk_id: service_desk_id.clone(),
            });
        }
        Op::RemoveJsmCustomer {
            site,
            service_desk_id,
        } => {
            state.jsm_desks.remove(&DeskRef {
                site: site.clone(),
                service_desk_id: service_desk_id.clone(),
            });
        }
        Op::RevokePortalOnlyAccess { site } => state.jsm_desks.retain(|d| &d.site != site),
        Op::SaveRestoreBundle | Op::Verify => {}
        Op::SuspendAccount { .. } => {
            if let Some(a) = &mut state.account {
                a.status = "suspended".to_owned();
            }
        }
        Op::RestoreAccount { .. } => {
            if let Some(a) = &mut state.account {
                a.status = "active".to_owned();
            }
        }
        Op::RemoveFromDirectory { directory_id } => {
            if let Some(a) = &mut state.account {
                a.directories.remove(directory_id);
                if a.directories.is_empty() {
                    state.account = None;
                }
            }
        }
        Op::DeactivateAccount => {
            if let Some(a) = &mut state.account {
                a.status = "deactivated".to_owned();
            }
        }
    }
}
