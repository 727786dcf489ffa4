//! Guard rails: the changes Steward refuses to plan, each with a typed, actionable error.
//!
//! The planner ([`super::plan`]) applies them; each is also a pure function callers can use on
//! their own:
//! - [`protect_integration_account`]: no destructive step on the integration account (Steward's
//!   own identity: taking its access away cuts Steward off the org);
//! - [`protect_last_org_admin`]: never suspend, remove, deactivate or revoke Organization
//!   admin from the org's last org admin;
//! - [`check_group`]: never add to or remove from a group synced from an identity provider;
//! - [`check_account_lifecycle`]: never suspend, remove or deactivate an account managed by
//!   an identity provider (SCIM), since the IdP would undo it or fight it;
//! - [`check_managed`]: deactivation needs an account the org manages (claimed domain);
//! - [`mass_change`]: a change touching more than a share of the org's people
//!   (default [`DEFAULT_MASS_CHANGE_SHARE`]) needs explicit confirmation.
//!
//! The planner checks against the synced snapshot, which two jobs planned from the same
//! snapshot both pass. The worker therefore re-checks at execution time, serialized across
//! workers and processes (see [`super::worker`]), with the pure functions at the end of this
//! module: [`check_integration_subject`] (every destructive step), [`check_org_admins_remain`]
//! (every step that can take Organization admin away, against the live admins) and
//! [`check_mass_window`] (the circuit breaker over every job's destructive steps in a sliding
//! window, [`GuardPolicy`]).

use std::collections::BTreeSet;
use std::time::Duration;

use super::op::{ORG_ADMIN, Op};
use super::plan::{GroupFacts, OrgFacts, PersonState};

/// The default share of the org's people above which a change needs confirmation (10%).
pub const DEFAULT_MASS_CHANGE_SHARE: f64 = 0.10;

/// The default sliding window of the mass-change circuit breaker (one hour).
pub const DEFAULT_MASS_CHANGE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The execution-time guard rails' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardPolicy {
    /// The share of the org's people that may lose access within [`Self::mass_change_window`]
    /// through unconfirmed jobs (the plan-time threshold too).
    pub mass_change_share: f64,
    /// The sliding window the circuit breaker counts people over.
    pub mass_change_window: Duration,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        GuardPolicy {
            mass_change_share: DEFAULT_MASS_CHANGE_SHARE,
            mass_change_window: DEFAULT_MASS_CHANGE_WINDOW,
        }
    }
}

impl GuardPolicy {
    /// Checks the settings: a share within `0..=1` and a window of at least a second.
    ///
    /// # Errors
    /// A sentence naming the bad value.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.mass_change_share) || self.mass_change_share.is_nan() {
            return Err(format!(
                "the mass-change share must be between 0 and 1 (e.g. 0.1 for 10%), not {}",
                self.mass_change_share
            ));
        }
        if self.mass_change_window < Duration::from_secs(1) {
            return Err("the mass-change window must be at least one second".to_owned());
        }
        Ok(())
    }
}

/// A refused change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    /// The change would take access away from the integration account.
    #[error(
        "refusing to {action} {email}: it is Steward's integration account, and taking its \
         access away would cut Steward off the organization; change it in \
         admin.atlassian.com if you really mean to, then update `integration_email`"
    )]
    IntegrationAccount {
        /// Its email.
        email: String,
        /// What was asked.
        action: String,
    },
    /// The change would leave the org without an org admin.
    #[error(
        "refusing to {action} {email}: they are the organization's last org admin; make \
         someone else an org admin first (`steward grant <email> platform:org/org-admin`)"
    )]
    LastOrgAdmin {
        /// Their email.
        email: String,
        /// What was asked.
        action: String,
    },
    /// The group is synced from an identity provider.
    #[error(
        "refusing to change membership of group {group}: it is synced from the identity \
         provider{}; change the membership in the identity provider, the next sync will show it",
        managed_by.as_deref().map(|m| format!(" (managed by {m})")).unwrap_or_default()
    )]
    GroupSynced {
        /// The group name.
        group: String,
        /// Who manages it, when known.
        managed_by: Option<String>,
    },
    /// The account is managed by an identity provider (SCIM).
    #[error(
        "refusing to {action} {email}: the account is provisioned by the identity provider \
         (SCIM), which would undo it; deprovision or suspend the person in the identity \
         provider instead, then run `steward sync`"
    )]
    ScimManaged {
        /// Their email.
        email: String,
        /// What was asked.
        action: String,
    },
    /// Deactivation asked for an account the org does not manage.
    #[error(
        "refusing to deactivate {email}: the account is not managed by the organization (its \
         email domain is not claimed), so it cannot be deactivated; use `--level remove` to take \
         it out of the organization's directories instead"
    )]
    NotManaged {
        /// Their email.
        email: String,
    },
    /// The change touches more people than the threshold allows without confirmation.
    #[error(
        "this change touches {planned} of {total} people ({:.1}%), above the {:.1}% threshold: \
         confirm explicitly (e.g. `--confirm`) to go ahead",
        share * 100.0, threshold * 100.0
    )]
    MassChange {
        /// People the change touches.
        planned: usize,
        /// People in the org.
        total: usize,
        /// `planned / total`.
        share: f64,
        /// The threshold share.
        threshold: f64,
    },
    /// The circuit breaker: people who lost access across every job in the sliding window
    /// already reach the share, and this unconfirmed job would add one more.
    #[error(
        "{} lost access in the last {}, over the {:.1}% threshold ({budget} of \
         {total} people): this job would take access from one more, {email}; if the changes \
         are meant, request it again confirmed (`steward offboard`/`steward revoke` with \
         `--yes`), or once the window has passed",
        people(*lost), human_duration(*window), share * 100.0
    )]
    MassChangeWindow {
        /// People who lost access in the window.
        lost: usize,
        /// The most the window allows without confirmation.
        budget: usize,
        /// People in the org.
        total: usize,
        /// The threshold share.
        share: f64,
        /// The window.
        window: Duration,
        /// The job's subject.
        email: String,
    },
}

/// `1 person`, `3 people`.
fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_owned()
    } else {
        format!("{n} people")
    }
}

/// A duration as people say it: `hour`, `2 hours`, `30 minutes`, `45 seconds`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs >= 60 && secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        unit.to_owned()
    } else {
        format!("{n} {unit}s")
    }
}

/// Refuses a destructive change (`action`, e.g. `revoke access of`) to the integration account.
///
/// # Errors
/// [`GuardError::IntegrationAccount`].
pub fn protect_integration_account(
    state: &PersonState,
    facts: &OrgFacts,
    action: &str,
) -> Result<(), GuardError> {
    let Some(account) = &state.account else {
        return Ok(());
    };
    if facts.integration_account_id.as_deref() == Some(account.account_id.as_str()) {
        return Err(GuardError::IntegrationAccount {
            email: state.email.clone(),
            action: action.to_owned(),
        });
    }
    Ok(())
}

/// Refuses to lock out (`action`) the org's only org admin.
///
/// # Errors
/// [`GuardError::LastOrgAdmin`].
pub fn protect_last_org_admin(
    state: &PersonState,
    facts: &OrgFacts,
    action: &str,
) -> Result<(), GuardError> {
    let Some(account) = &state.account else {
        return Ok(());
    };
    let is_admin = facts.org_admins.contains(&account.account_id);
    if is_admin && facts.org_admins.len() <= 1 {
        return Err(GuardError::LastOrgAdmin {
            email: state.email.clone(),
            action: action.to_owned(),
        });
    }
    Ok(())
}

/// Refuses a membership change of an IdP-synced group.
///
/// # Errors
/// [`GuardError::GroupSynced`].
pub fn check_group(group: &GroupFacts) -> Result<(), GuardError> {
    let external = group.external_synced
        || group
            .managed_by
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("external"));
    if external {
        return Err(GuardError::GroupSynced {
            group: group.name.clone(),
            managed_by: group.managed_by.clone(),
        });
    }
    Ok(())
}

/// Whether a `management_source` means the account is provisioned by an identity provider.
pub fn is_idp_managed(management_source: Option<&str>) -> bool {
    management_source.is_some_and(|s| {
        s.eq_ignore_ascii_case("synced")
            || s.eq_ignore_ascii_case("scim")
            || s.eq_ignore_ascii_case("external")
    })
}

/// Refuses to suspend, remove or deactivate (`action`) an IdP-managed account.
///
/// # Errors
/// [`GuardError::ScimManaged`].
pub fn check_account_lifecycle(state: &PersonState, action: &str) -> Result<(), GuardError> {
    if let Some(account) = &state.account
        && is_idp_managed(account.management_source.as_deref())
    {
        return Err(GuardError::ScimManaged {
            email: state.email.clone(),
            action: action.to_owned(),
        });
    }
    Ok(())
}

/// Refuses to deactivate an account the org does not manage.
///
/// # Errors
/// [`GuardError::NotManaged`].
pub fn check_managed(state: &PersonState) -> Result<(), GuardError> {
    match &state.account {
        Some(account) if account.claim_status != "managed" => Err(GuardError::NotManaged {
            email: state.email.clone(),
        }),
        Some(_) | None => Ok(()),
    }
}

/// Whether a change touching `planned_people` of `total_people` may go ahead without
/// explicit confirmation: yes when the share is at most `threshold_share` (e.g.
/// [`DEFAULT_MASS_CHANGE_SHARE`]). An empty org accepts any change of nobody.
///
/// # Errors
/// [`GuardError::MassChange`] above the threshold.
pub fn mass_change(
    planned_people: usize,
    total_people: usize,
    threshold_share: f64,
) -> Result<(), GuardError> {
    if planned_people == 0 {
        return Ok(());
    }
    let share = if total_people == 0 {
        1.0
    } else {
        planned_people as f64 / total_people as f64
    };
    if share > threshold_share {
        return Err(GuardError::MassChange {
            planned: planned_people,
            total: total_people,
            share,
            threshold: threshold_share,
        });
    }
    Ok(())
}

// ---- execution time ----------------------------------------------------------------------------

/// How a step can take Organization admin away from its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminEffect {
    /// It revokes the role itself.
    Revokes,
    /// It suspends, removes or deactivates the account: an org admin among them loses the
    /// power with the account.
    LocksOut,
    /// It removes the subject from a group, which takes org admin away only when the group
    /// grants it.
    LeavesGroup,
}

/// Whether (and how) `op` can take Organization admin away: such steps are re-checked against
/// the live org admins, one at a time across workers.
pub fn org_admin_effect(op: &Op) -> Option<AdminEffect> {
    match op {
        Op::RevokeRole { role, .. } if role == ORG_ADMIN => Some(AdminEffect::Revokes),
        Op::SuspendAccount { .. } | Op::RemoveFromDirectory { .. } | Op::DeactivateAccount => {
            Some(AdminEffect::LocksOut)
        }
        Op::RemoveFromGroup { .. } => Some(AdminEffect::LeavesGroup),
        Op::InviteAccount
        | Op::GrantRole { .. }
        | Op::RevokeRole { .. }
        | Op::AddToGroup { .. }
        | Op::AddStatuspageMember
        | Op::SetStatuspagePage { .. }
        | Op::RemoveStatuspagePage { .. }
        | Op::RemoveStatuspageMember
        | Op::AddJsmCustomer { .. }
        | Op::RemoveJsmCustomer { .. }
        | Op::RevokePortalOnlyAccess { .. }
        | Op::SaveRestoreBundle
        | Op::RestoreAccount { .. }
        | Op::Verify => None,
    }
}

/// One live org admin, as the Org API lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAdmin {
    /// The account id.
    pub account_id: String,
    /// The email, when visible.
    pub email: Option<String>,
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether the subject (by account id, else by email) is among `admins`.
pub fn is_live_admin(admins: &[LiveAdmin], account_id: Option<&str>, email: &str) -> bool {
    admins.iter().any(|a| {
        account_id.is_some_and(|id| id == a.account_id)
            || a.email.as_deref().is_some_and(|e| same_email(e, email))
    })
}

/// Refuses a step taking org admin away from the subject when no other active org admin would
/// remain. `admins` are the org's active org admins read live, just before the step, while no
/// other worker may run such a step. A subject that is not an admin passes.
///
/// # Errors
/// [`GuardError::LastOrgAdmin`].
pub fn check_org_admins_remain(
    admins: &[LiveAdmin],
    account_id: Option<&str>,
    email: &str,
    action: &str,
) -> Result<(), GuardError> {
    if !is_live_admin(admins, account_id, email) {
        return Ok(());
    }
    let others = admins
        .iter()
        .filter(|a| {
            !(account_id.is_some_and(|id| id == a.account_id)
                || a.email.as_deref().is_some_and(|e| same_email(e, email)))
        })
        .count();
    if others == 0 {
        return Err(GuardError::LastOrgAdmin {
            email: email.to_owned(),
            action: action.to_owned(),
        });
    }
    Ok(())
}

/// Refuses a destructive step (`action`) whose subject is the configured integration account,
/// by email or by account id (a job planned before `integration_email` changed, or written
/// into the store by hand, still names the old address or the bare id).
///
/// # Errors
/// [`GuardError::IntegrationAccount`].
pub fn check_integration_subject(
    email: &str,
    account_id: Option<&str>,
    integration_email: Option<&str>,
    integration_account_id: Option<&str>,
    action: &str,
) -> Result<(), GuardError> {
    let by_email = integration_email.is_some_and(|i| !i.trim().is_empty() && same_email(i, email));
    let by_id = matches!((account_id, integration_account_id), (Some(a), Some(b)) if a == b);
    if by_email || by_id {
        return Err(GuardError::IntegrationAccount {
            email: email.to_owned(),
            action: action.to_owned(),
        });
    }
    Ok(())
}

/// How many people may lose access in the window without confirmation: `share` of `total`,
/// rounded down (the plan-time rule: at most the share passes).
pub fn mass_change_budget(total: usize, share: f64) -> usize {
    // The small epsilon keeps 0.1 × 30 at 3, not 2.999….
    let budget = (share * total as f64 + 1e-9).floor();
    if budget <= 0.0 { 0 } else { budget as usize }
}

/// The circuit breaker: `lost` are the people (emails, lower case) whose access a destructive
/// step took within the window, across every job. A subject already among them costs nothing
/// more; anyone else passes while the count stays within [`mass_change_budget`].
///
/// # Errors
/// [`GuardError::MassChangeWindow`].
pub fn check_mass_window(
    lost: &BTreeSet<String>,
    email: &str,
    total: usize,
    policy: &GuardPolicy,
) -> Result<(), GuardError> {
    let key = email.trim().to_lowercase();
    if lost.contains(&key) {
        return Ok(());
    }
    let budget = mass_change_budget(total, policy.mass_change_share);
    if lost.len() < budget {
        return Ok(());
    }
    Err(GuardError::MassChangeWindow {
        lost: lost.len(),
        budget,
        total,
        share: policy.mass_change_share,
        window: policy.mass_change_window,
        email: email.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(id: &str, email: &str) -> LiveAdmin {
        LiveAdmin {
            account_id: id.into(),
            email: Some(email.into()),
        }
    }

    #[test]
    fn the_last_live_admin_is_kept() {
        let two = [admin("a", "a@x.com"), admin("b", "b@x.com")];
        assert!(check_org_admins_remain(&two, Some("a"), "a@x.com", "revoke").is_ok());
        let one = [admin("b", "b@x.com")];
        let err = check_org_admins_remain(&one, Some("b"), "b@x.com", "suspend")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("last org admin"), "{err}");
        // Matched by email when the id is not known yet.
        assert!(check_org_admins_remain(&one, None, "B@X.com", "suspend").is_err());
        // Not an admin: nothing to protect, even with no admin left.
        assert!(check_org_admins_remain(&one, Some("c"), "c@x.com", "suspend").is_ok());
        assert!(check_org_admins_remain(&[], Some("c"), "c@x.com", "suspend").is_ok());
    }

    #[test]
    fn the_integration_account_is_recognised_by_email_or_id() {
        let check = |email, id| {
            check_integration_subject(email, id, Some("Steward@acme.com"), Some("int-1"), "x")
        };
        assert!(check("steward@acme.com ", None).is_err());
        assert!(check("someone@acme.com", Some("int-1")).is_err());
        assert!(check("someone@acme.com", Some("other")).is_ok());
        assert!(check("someone@acme.com", None).is_ok());
        assert!(check_integration_subject("a@b.c", Some("i"), None, None, "x").is_ok());
        assert!(check_integration_subject("a@b.c", None, Some(" "), None, "x").is_ok());
    }

    #[test]
    fn admin_effects_cover_every_way_to_lose_org_admin() {
        let revoke = Op::RevokeRole {
            resource: "ari:cloud:platform::org/o".into(),
            role: ORG_ADMIN.into(),
        };
        assert_eq!(org_admin_effect(&revoke), Some(AdminEffect::Revokes));
        let product = Op::RevokeRole {
            resource: "r".into(),
            role: "atlassian/user".into(),
        };
        assert_eq!(org_admin_effect(&product), None);
        assert_eq!(
            org_admin_effect(&Op::DeactivateAccount),
            Some(AdminEffect::LocksOut)
        );
        assert_eq!(
            org_admin_effect(&Op::SuspendAccount {
                directory_id: "d".into()
            }),
            Some(AdminEffect::LocksOut)
        );
        assert_eq!(
            org_admin_effect(&Op::RemoveFromGroup {
                group_id: "g".into(),
                group_name: "org-admins".into()
            }),
            Some(AdminEffect::LeavesGroup)
        );
        assert_eq!(org_admin_effect(&Op::Verify), None);
    }

    #[test]
    fn the_window_budget_is_the_share_rounded_down() {
        assert_eq!(mass_change_budget(30, 0.1), 3);
        assert_eq!(mass_change_budget(29, 0.1), 2);
        assert_eq!(mass_change_budget(9, 0.1), 0);
        assert_eq!(mass_change_budget(0, 0.1), 0);
        assert_eq!(mass_change_budget(100, 1.0), 100);
    }

    #[test]
    fn the_breaker_stops_the_person_over_the_budget() {
        let policy = GuardPolicy::default();
        let lost: BTreeSet<String> = ["a@x.com", "b@x.com"].map(String::from).into();
        assert!(check_mass_window(&lost, "c@x.com", 30, &policy).is_ok());
        let lost: BTreeSet<String> = ["a@x.com", "b@x.com", "c@x.com"].map(String::from).into();
        // Already counted: no new person.
        assert!(check_mass_window(&lost, "C@x.com", 30, &policy).is_ok());
        let err = check_mass_window(&lost, "d@x.com", 30, &policy)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with(
                "3 people lost access in the last hour, over the 10.0% threshold (3 of 30 people)"
            ),
            "{err}"
        );
        assert!(err.contains("--yes"), "{err}");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(Duration::from_secs(3600)), "hour");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 hours");
        assert_eq!(human_duration(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(human_duration(Duration::from_secs(45)), "45 seconds");
    }

    #[test]
    fn policies_are_validated() {
        assert!(GuardPolicy::default().validate().is_ok());
        let bad = GuardPolicy {
            mass_change_share: 1.5,
            ..GuardPolicy::default()
        };
        assert!(bad.validate().is_err());
        let bad = GuardPolicy {
            mass_change_window: Duration::ZERO,
            ..GuardPolicy::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn mass_change_needs_confirmation_above_the_threshold() {
        assert!(mass_change(10, 100, DEFAULT_MASS_CHANGE_SHARE).is_ok());
        let err = mass_change(11, 100, DEFAULT_MASS_CHANGE_SHARE)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("11 of 100 people (11.0%)"), "{err}");
        assert!(err.contains("above the 10.0% threshold"), "{err}");
        assert!(mass_change(0, 0, DEFAULT_MASS_CHANGE_SHARE).is_ok());
        assert!(mass_change(1, 0, DEFAULT_MASS_CHANGE_SHARE).is_err());
    }

    #[test]
    fn idp_management_is_recognised() {
        assert!(is_idp_managed(Some("synced")));
        assert!(is_idp_managed(Some("scim")));
        assert!(!is_idp_managed(Some("invited")));
        assert!(!is_idp_managed(None));
    }
}
