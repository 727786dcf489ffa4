//! v2 invitations: `POST /v2/orgs/{orgId}/users/invite`, with the read-to-verify that makes a
//! lost answer safe.

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use reqwest::Method;
use serde::Serialize;

use super::users::RoleAssignmentFilter;
use super::{ALL_DIRECTORIES, DataList, OrgApi, UserSearch, at_most};
use crate::Error;
use crate::error::Result;
use crate::models::org::{
    DirectoryUser, GroupInviteResult, InviteAssignments, InviteResult, InviteStatus,
    MembershipStatus, PermissionRule, RoleInviteResult, UserExpand,
};

/// An invitation (`MultidirectoryInviteApiRequest`): who, which roles on which resources, and
/// which groups. Needs an org with at least one paid subscription (402 otherwise).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteRequest {
    /// 1 to 25 emails. An email that already has an account is not an error: the existing
    /// account gets the roles and groups, and no second account is created.
    pub emails: Vec<String>,
    /// Roles to grant on resources.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permission_rules: Vec<PermissionRule>,
    /// Group ids to add the people to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_groups: Vec<String>,
    /// Whether Atlassian emails the people (default: no).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_notification: Option<bool>,
    /// Text of that email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_text: Option<String>,
}

/// Most emails in one invitation.
const MAX_EMAILS: usize = 25;
/// Invitations sent at most (the first and two after verified ambiguous failures).
const MAX_ATTEMPTS: u32 = 3;

impl InviteRequest {
    fn validate(&self) -> Result<()> {
        if self.emails.is_empty() {
            return Err(Error::InvalidInput(
                "an invitation needs at least one email".into(),
            ));
        }
        at_most("emails", self.emails.len(), MAX_EMAILS)?;
        if let Some(bad) = self
            .emails
            .iter()
            .find(|e| e.trim().is_empty() || !e.contains('@'))
        {
            return Err(Error::InvalidInput(format!(
                "{bad:?} is not an email address"
            )));
        }
        Ok(())
    }
}

fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

impl OrgApi<'_> {
    /// Invites people by email (`POST /v2/orgs/{orgId}/users/invite`): creates the accounts
    /// that do not exist, adds everyone to the directories of the resources, grants the roles
    /// and adds the groups. Answers 200, or 206 when some assignment failed: failures are per
    /// item, in each [`InviteResult`] ([`InviteResult::is_success`],
    /// [`InviteResult::failures`]); a product out of seats is such an item, not an error.
    ///
    /// **Not idempotent**, so never repeated blindly: after an ambiguous failure (timeout,
    /// broken connection, 5xx) it searches the emails and reads their roles and groups. Emails
    /// whose invitation is visibly complete get a result built from that read
    /// ([`InviteResult::confirmed_by_read`]); only the others are invited again, at most 3
    /// invitations in all. Re-inviting an existing email never creates a second account. If
    /// the verifying read fails, the original error is returned. Results come in the order of
    /// `request.emails` (lower-cased by Atlassian).
    pub async fn invite(&self, request: &InviteRequest) -> Result<Vec<InviteResult>> {
        const ROUTE: &str = "/v2/orgs/{orgId}/users/invite";
        request.validate()?;
        let path = format!("{}/users/invite", self.org_path("v2")?);
        let mut pending: Vec<String> = vec![];
        for email in &request.emails {
            if !pending.iter().any(|p| normalize(p) == normalize(email)) {
                pending.push(email.clone());
            }
        }
        let mut results: Vec<InviteResult> = vec![];
        let mut attempt = 0;
        loop {
            attempt += 1;
            let body = InviteRequest {
                emails: pending.clone(),
                ..request.clone()
            };
            let call = self.call(Method::POST, ROUTE, &path)?.json(&body)?;
            let err = match self.client.json::<DataList<InviteResult>>(call).await {
                Ok(answer) => {
                    results.extend(answer.data);
                    break;
                }
                Err(err) if err.is_ambiguous() => err,
                Err(err) => return Err(err),
            };
            let confirmed = match self.confirm_invited(&pending, request).await {
                Ok(confirmed) => confirmed,
                Err(read) => {
                    tracing::warn!(route = ROUTE, error = %read, "cannot verify an ambiguous invitation");
                    return Err(err);
                }
            };
            pending.retain(|email| !confirmed.contains_key(&normalize(email)));
            tracing::info!(
                route = ROUTE,
                attempt,
                error = %err,
                confirmed = confirmed.len(),
                remaining = pending.len(),
                "verified an ambiguous invitation by reading the directory"
            );
            results.extend(confirmed.into_values());
            if pending.is_empty() {
                break;
            }
            if attempt >= MAX_ATTEMPTS {
                return Err(err);
            }
        }
        let order: Vec<String> = request.emails.iter().map(|e| normalize(e)).collect();
        results.sort_by_key(|r| {
            order
                .iter()
                .position(|e| *e == normalize(&r.email))
                .unwrap_or(order.len())
        });
        Ok(results)
    }

    /// For each email, whether the directory already shows everything the invitation asks for
    /// (an account with a directory membership, every role, every group); those get a result.
    async fn confirm_invited(
        &self,
        emails: &[String],
        request: &InviteRequest,
    ) -> Result<HashMap<String, InviteResult>> {
        let wanted: HashSet<String> = emails.iter().map(|e| normalize(e)).collect();
        let search = UserSearch {
            emails: wanted.iter().cloned().collect(),
            expand: vec![UserExpand::Groups],
            ..Default::default()
        };
        let users: Vec<DirectoryUser> = self
            .search_users(ALL_DIRECTORIES, &search)
            .try_collect()
            .await?;
        let mut confirmed = HashMap::new();
        for user in users {
            let Some(email) = user.email.as_deref().map(normalize) else {
                continue;
            };
            if !wanted.contains(&email)
                || matches!(
                    user.membership_status,
                    None | Some(MembershipStatus::NoMembership)
                )
            {
                continue;
            }
            let groups: HashSet<&str> = user
                .groups
                .iter()
                .flatten()
                .map(|g| g.id.as_str())
                .collect();
            if !request
                .additional_groups
                .iter()
                .all(|g| groups.contains(g.as_str()))
            {
                continue;
            }
            if !request.permission_rules.is_empty() {
                let held: Vec<_> = self
                    .user_role_assignments(
                        ALL_DIRECTORIES,
                        &user.account_id,
                        &RoleAssignmentFilter::default(),
                    )
                    .try_collect()
                    .await?;
                let complete = request.permission_rules.iter().all(|rule| {
                    held.iter()
                        .any(|a| a.resource_id == rule.resource && a.holds(&rule.role))
                });
                if !complete {
                    continue;
                }
            }
            let result = InviteResult {
                id: Some(user.account_id.clone()),
                email: email.clone(),
                results: vec![InviteAssignments {
                    role_assignment_result: request
                        .permission_rules
                        .iter()
                        .map(|rule| RoleInviteResult {
                            resource: rule.resource.clone(),
                            role: rule.role.clone(),
                            status: Some(InviteStatus::Invited),
                            status_reason: None,
                        })
                        .collect(),
                    group_assignment_result: request
                        .additional_groups
                        .iter()
                        .map(|group| GroupInviteResult {
                            group: group.clone(),
                            status: Some(InviteStatus::Invited),
                            status_reason: None,
                        })
                        .collect(),
                }],
                confirmed_by_read: true,
            };
            confirmed.insert(email, result);
        }
        Ok(confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::RoleId;

    #[test]
    fn the_request_serializes_as_the_spec_names_it() {
        let request = InviteRequest {
            emails: vec!["a@acme.com".into()],
            permission_rules: vec![PermissionRule {
                resource: "ari:cloud:confluence::site/c".into(),
                role: RoleId::Guest,
            }],
            send_notification: Some(false),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({
                "emails": ["a@acme.com"],
                "permissionRules": [{"resource": "ari:cloud:confluence::site/c", "role": "atlassian/guest"}],
                "sendNotification": false
            })
        );
    }

    #[test]
    fn invalid_invitations_fail_before_any_request() {
        assert!(InviteRequest::default().validate().is_err());
        let too_many = InviteRequest {
            emails: (0..26).map(|i| format!("p{i}@acme.com")).collect(),
            ..Default::default()
        };
        assert!(too_many.validate().is_err());
        let not_an_email = InviteRequest {
            emails: vec!["nobody".into()],
            ..Default::default()
        };
        assert!(not_an_email.validate().is_err());
    }
}
