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

use super::plan::{GroupFacts, OrgFacts, PersonState};

/// The default share of the org's people above which a change needs confirmation (10%).
pub const DEFAULT_MASS_CHANGE_SHARE: f64 = 0.10;

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

#[cfg(test)]
mod tests {
    use super::*;

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
