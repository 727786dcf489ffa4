//! The operations a provisioning plan is made of, and the plan itself.
//!
//! A [`Plan`] is what the planner computes (a pure function of the desired and the synced
//! state) and what a job executes, step by step: one [`PlannedOp`] per journaled step. Every
//! operation acts on the plan's one person ([`Subject`]); its account id may be unknown at
//! planning time (the person is invited by the plan's first step) and is then resolved at
//! execution. Each operation names the API call it makes ([`Op::api_call`]), so a dry run
//! shows exactly what apply will do.
//!
//! Operations are serialized into the job's steps (`{"op": "grant_role", ...}`); their shape
//! is part of the store's data and changes only compatibly.

use serde::{Deserialize, Serialize};

/// The org's user-management experience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experience {
    /// Original: product access through each product's default group.
    Original,
    /// Centralized: product access through roles.
    Centralized,
}

impl Experience {
    /// From the snapshot's `org.user_management` (`original`; anything else is centralized).
    pub fn parse(user_management: &str) -> Experience {
        if user_management.eq_ignore_ascii_case("original") {
            Experience::Original
        } else {
            Experience::Centralized
        }
    }
}

/// The person a plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Their email (how requests name people).
    pub email: String,
    /// Their Atlassian account id, when the sync knows the account (`None`: the plan invites
    /// them first).
    pub account_id: Option<String>,
}

/// One operation on the subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create the account: invite the email to the org (the Org API invite; where it is not
    /// available, the documented fallbacks). Already a member of the org: success.
    InviteAccount,
    /// Grant `role` (e.g. `atlassian/user`, `jira-software/admin`, `atlassian/org-admin`) on
    /// `resource` (an ARI; the org's ARI for organization roles).
    GrantRole {
        /// The resource ARI.
        resource: String,
        /// The role id.
        role: String,
    },
    /// Revoke a directly held `role` on `resource`.
    RevokeRole {
        /// The resource ARI.
        resource: String,
        /// The role id.
        role: String,
    },
    /// Add the subject to a directory group (original experience: a product's default group
    /// grants the product).
    AddToGroup {
        /// The group id.
        group_id: String,
        /// Its name, for people reading the plan.
        group_name: String,
    },
    /// Remove the subject from a directory group.
    RemoveFromGroup {
        /// The group id.
        group_id: String,
        /// Its name.
        group_name: String,
    },
    /// Add the subject to the Statuspage team (by email). Already a member: success.
    AddStatuspageMember,
    /// Set the subject's roles on one Statuspage page, keeping their other pages (the API's
    /// PUT replaces the whole set: read, merge, write).
    SetStatuspagePage {
        /// The page id.
        page_id: String,
        /// `page_configuration`.
        page_configuration: bool,
        /// `incident_manager`.
        incident_manager: bool,
        /// `maintenance_manager`.
        maintenance_manager: bool,
    },
    /// Remove the subject's access to one Statuspage page, keeping their other pages.
    RemoveStatuspagePage {
        /// The page id.
        page_id: String,
    },
    /// Remove the subject from the Statuspage team.
    RemoveStatuspageMember,
    /// Add the subject as a customer of a JSM service desk.
    AddJsmCustomer {
        /// The site name (as configured).
        site: String,
        /// The service desk id.
        service_desk_id: String,
    },
    /// Remove the subject as a customer of a JSM service desk.
    RemoveJsmCustomer {
        /// The site name.
        site: String,
        /// The service desk id.
        service_desk_id: String,
    },
    /// Revoke the subject's JSM portal-only (customer) account access on a site.
    RevokePortalOnlyAccess {
        /// The site name.
        site: String,
    },
    /// Save what the subject holds (roles, groups, Statuspage permissions, JSM desks) as a
    /// restore bundle, before the destructive steps that follow. No API call.
    SaveRestoreBundle,
    /// Suspend the subject's access in a directory (reversible).
    SuspendAccount {
        /// The directory id.
        directory_id: String,
    },
    /// Restore a suspended subject's access in a directory.
    RestoreAccount {
        /// The directory id.
        directory_id: String,
    },
    /// Remove the subject from a directory.
    RemoveFromDirectory {
        /// The directory id.
        directory_id: String,
    },
    /// Deactivate the subject's managed account (user management API).
    DeactivateAccount,
    /// Read back the subject's access and check it is what the plan meant. No write.
    Verify,
}

impl Op {
    /// The API call the operation makes (method and documented path; a read then a write
    /// where the API needs one).
    pub fn api_call(&self) -> &'static str {
        match self {
            Op::InviteAccount => "POST /admin/v2/orgs/{orgId}/users/invite",
            Op::GrantRole { role, .. } if role == ORG_ADMIN => {
                "POST /admin/v1/orgs/{orgId}/users/{accountId}/role-assignments/assign"
            }
            Op::RevokeRole { role, .. } if role == ORG_ADMIN => {
                "POST /admin/v1/orgs/{orgId}/users/{accountId}/role-assignments/revoke"
            }
            Op::GrantRole { .. } => "POST /admin/v1/orgs/{orgId}/users/{accountId}/roles/assign",
            Op::RevokeRole { .. } => "POST /admin/v1/orgs/{orgId}/users/{accountId}/roles/revoke",
            Op::AddToGroup { .. } => {
                "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships"
            }
            Op::RemoveFromGroup { .. } => {
                "DELETE /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships/{accountId}"
            }
            Op::AddStatuspageMember => "POST /v1/organizations/{organization_id}/users",
            Op::SetStatuspagePage { .. } | Op::RemoveStatuspagePage { .. } => {
                "GET then PUT /v1/organizations/{organization_id}/permissions/{user_id}"
            }
            Op::RemoveStatuspageMember => {
                "DELETE /v1/organizations/{organization_id}/users/{user_id}"
            }
            Op::AddJsmCustomer { .. } => {
                "POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"
            }
            Op::RemoveJsmCustomer { .. } => {
                "DELETE /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"
            }
            Op::RevokePortalOnlyAccess { .. } => {
                "PUT /rest/servicedeskapi/customer/user/{accountId}/revoke-portal-only-access"
            }
            Op::SaveRestoreBundle => "(none: saved in Steward's database)",
            Op::SuspendAccount { .. } => {
                "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/suspend"
            }
            Op::RestoreAccount { .. } => {
                "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/restore"
            }
            Op::RemoveFromDirectory { .. } => {
                "DELETE /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}"
            }
            Op::DeactivateAccount => "POST /users/{account_id}/manage/lifecycle/disable",
            Op::Verify => "POST /admin/v2/orgs/{orgId}/directories/-/users/search (read back)",
        }
    }

    /// A sentence saying what the operation does, for plans and the step journal.
    pub fn describe(&self) -> String {
        match self {
            Op::InviteAccount => "invite the account to the organization".to_owned(),
            Op::GrantRole { resource, role } => format!("grant {role} on {resource}"),
            Op::RevokeRole { resource, role } => format!("revoke {role} on {resource}"),
            Op::AddToGroup { group_name, .. } => format!("add to group {group_name}"),
            Op::RemoveFromGroup { group_name, .. } => format!("remove from group {group_name}"),
            Op::AddStatuspageMember => "add to the Statuspage team".to_owned(),
            Op::SetStatuspagePage {
                page_id,
                page_configuration,
                incident_manager,
                maintenance_manager,
            } => {
                let roles: Vec<&str> = [
                    (*page_configuration, "page_configuration"),
                    (*incident_manager, "incident_manager"),
                    (*maintenance_manager, "maintenance_manager"),
                ]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
                let roles = if roles.is_empty() {
                    "user".to_owned()
                } else {
                    roles.join(", ")
                };
                format!("set Statuspage page {page_id} roles to {roles}")
            }
            Op::RemoveStatuspagePage { page_id } => {
                format!("remove access to Statuspage page {page_id}")
            }
            Op::RemoveStatuspageMember => "remove from the Statuspage team".to_owned(),
            Op::AddJsmCustomer {
                site,
                service_desk_id,
            } => format!("add as customer of service desk {service_desk_id} on {site}"),
            Op::RemoveJsmCustomer {
                site,
                service_desk_id,
            } => format!("remove as customer of service desk {service_desk_id} on {site}"),
            Op::RevokePortalOnlyAccess { site } => {
                format!("revoke portal-only customer access on {site}")
            }
            Op::SaveRestoreBundle => "save a restore bundle of the current access".to_owned(),
            Op::SuspendAccount { directory_id } => {
                format!("suspend access in directory {directory_id}")
            }
            Op::RestoreAccount { directory_id } => {
                format!("restore access in directory {directory_id}")
            }
            Op::RemoveFromDirectory { directory_id } => {
                format!("remove from directory {directory_id}")
            }
            Op::DeactivateAccount => "deactivate the managed account".to_owned(),
            Op::Verify => "read back and verify the access".to_owned(),
        }
    }

    /// Whether the operation takes access away (a restore bundle must be saved before it,
    /// and guard rails apply).
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Op::RevokeRole { .. }
                | Op::RemoveFromGroup { .. }
                | Op::RemoveStatuspagePage { .. }
                | Op::RemoveStatuspageMember
                | Op::RemoveJsmCustomer { .. }
                | Op::RevokePortalOnlyAccess { .. }
                | Op::SuspendAccount { .. }
                | Op::RemoveFromDirectory { .. }
                | Op::DeactivateAccount
        )
    }
}

/// The Organization admin role id.
pub const ORG_ADMIN: &str = "atlassian/org-admin";

/// One step of a plan: the operation and why the planner chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedOp {
    /// The operation.
    #[serde(flatten)]
    pub op: Op,
    /// Why (e.g. "requested: jira:acme/user"; "already held through group x: nothing to do"
    /// never appears, since a plan holds only what must change).
    pub why: String,
}

/// What a job does: ordered operations on one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The person.
    pub subject: Subject,
    /// The operations, in execution order.
    pub ops: Vec<PlannedOp>,
    /// The sync run the plan was computed against (apply re-checks state newer than it).
    pub planned_against_run: Option<i64>,
    /// For a restore: the restore bundle it gives back, marked restored when the job succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores_bundle: Option<i64>,
}

impl Plan {
    /// Whether the plan changes nothing (everything requested is already so).
    pub fn is_noop(&self) -> bool {
        self.ops.iter().all(|p| p.op == Op::Verify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_serialize_tagged_and_round_trip() {
        let op = PlannedOp {
            op: Op::GrantRole {
                resource: "ari:cloud:jira-software::site/c1".into(),
                role: "atlassian/user".into(),
            },
            why: "requested: jira:acme/user".into(),
        };
        let json = serde_json::to_value(&op).unwrap_or_default();
        assert_eq!(json["op"], "grant_role");
        assert_eq!(json["role"], "atlassian/user");
        let back: PlannedOp = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, op);
    }

    #[test]
    fn org_admin_goes_through_the_org_roles_call() {
        let grant = Op::GrantRole {
            resource: "ari:cloud:platform::org/o".into(),
            role: ORG_ADMIN.into(),
        };
        assert!(grant.api_call().contains("/v1/orgs/"));
        assert!(!grant.is_destructive());
        assert!(Op::DeactivateAccount.is_destructive());
    }
}
