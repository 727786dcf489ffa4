//! Steward's own changes: the change events of a sync that provisioning jobs explain are not
//! drift.
//!
//! A sync diffing run N against run N-1 reads the job steps that became `done` since run N-1
//! started (less [`EDGE`], for the delay with which Atlassian shows some changes), and marks
//! every event one of them explains `out_of_band = false`, attributed to the job
//! (`actor_id = "steward:job:<id>"`, `actor_name = "<requested_by> via Steward (job <id>)"`).
//! The window is generous at its start on purpose: a step that finished while run N-1 was
//! reading may or may not be in N-1; if it was, it explains nothing in this diff (an event
//! is explained only by an operation of the same direction on the same thing), so including
//! it costs nothing. Everything else stays out-of-band, with the org-events attribution.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::TimeDelta;
use serde_json::Value;
use steward_store::{ChangeKind, DoneStep, GrantSource, NewChangeEvent, RunId, Store, SyncRun};

use crate::provision::{ORG_ADMIN, Op};

/// How far before run N-1's start the window opens: a change made just before N-1 started may
/// not have been visible to it yet (Atlassian applies role changes with a delay).
pub(crate) const EDGE: TimeDelta = TimeDelta::seconds(60);

/// A done step of a job, its operation parsed, with the subject's account id.
struct OwnStep {
    step: DoneStep,
    op: Op,
    account_id: Option<String>,
}

/// What the snapshots say that the matching needs: which groups carry a (resource, role)
/// (a role granted in the original experience is a default-group membership), and each site's
/// cloud id by name (JSM operations name the site, events its cloud id).
#[derive(Default)]
struct Facts {
    groups_carrying: BTreeMap<(String, String), BTreeSet<String>>,
    /// Groups carrying a Statuspage role: their members are on the Statuspage team.
    statuspage_groups: BTreeSet<String>,
    site_cloud_ids: HashMap<String, String>,
}

/// Marks the events of `run` (diffed against `previous`) that Steward's own job steps explain
/// as not out-of-band, attributed to the job. Returns how many it marked.
///
/// # Errors
/// A store read failing (the caller fails the run: recording Steward's own changes as drift
/// would be wrong).
pub(crate) async fn mark_own_changes(
    store: &Store,
    previous: &SyncRun,
    run: RunId,
    events: &mut [NewChangeEvent],
) -> steward_store::Result<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let done = store
        .jobs()
        .done_steps_between(previous.started_at - EDGE, None)
        .await?;
    if done.is_empty() {
        return Ok(0);
    }
    let (old, new) = (store.snapshot(previous.id), store.snapshot(run));
    let mut facts = Facts::default();
    for snapshot in [&old, &new] {
        for g in snapshot.group_roles().await? {
            if is_statuspage_resource(&g.resource_ari) {
                facts.statuspage_groups.insert(g.group_id.clone());
            }
            facts
                .groups_carrying
                .entry((g.resource_ari, g.role))
                .or_default()
                .insert(g.group_id);
        }
        for site in snapshot.sites().await? {
            facts.site_cloud_ids.insert(site.name, site.cloud_id);
        }
    }
    // The subject's account: from the step results, else by email (new snapshot, then old).
    let mut by_email: HashMap<String, Option<String>> = HashMap::new();
    let mut steps = Vec::with_capacity(done.len());
    for step in done {
        let Ok(op) = serde_json::from_value::<Op>(step.op.clone()) else {
            tracing::debug!(
                job = step.job_id.0,
                seq = step.seq,
                "unknown op: explains nothing"
            );
            continue;
        };
        let account_id = match &step.account_id {
            Some(id) => Some(id.clone()),
            None => {
                let email = step.subject.to_lowercase();
                match by_email.get(&email) {
                    Some(found) => found.clone(),
                    None => {
                        let found = match new.account_by_email(&email).await? {
                            Some(a) => Some(a.account_id),
                            None => old.account_by_email(&email).await?.map(|a| a.account_id),
                        };
                        by_email.insert(email, found.clone());
                        found
                    }
                }
            }
        };
        steps.push(OwnStep {
            step,
            op,
            account_id,
        });
    }
    let mut marked = 0;
    for event in events.iter_mut().filter(|e| e.out_of_band) {
        // The latest step that explains it wins.
        if let Some(own) = steps.iter().rev().find(|s| explains(s, event, &facts)) {
            let job = own.step.job_id;
            event.out_of_band = false;
            event.actor_id = Some(format!("steward:job:{job}"));
            event.actor_name = Some(format!("{} via Steward (job {job})", own.step.requested_by));
            marked += 1;
        }
    }
    Ok(marked)
}

/// The event's `source` (`after` for a grant, `before` for a revocation).
fn source_of(event: &NewChangeEvent) -> Option<&Value> {
    event
        .after
        .as_ref()
        .or(event.before.as_ref())
        .and_then(|v| v.get("source"))
}

/// Whether a role event's source is `inferred` (implied by Organization admin).
fn is_inferred(event: &NewChangeEvent) -> bool {
    serde_json::to_value(GrantSource::Inferred)
        .ok()
        .is_some_and(|inferred| source_of(event) == Some(&inferred))
}

/// The Statuspage member's email an event carries (`after` / `before` `{sp_user_id, email}`).
fn event_email(event: &NewChangeEvent) -> Option<&str> {
    event
        .after
        .as_ref()
        .or(event.before.as_ref())
        .and_then(|v| v.get("email"))
        .and_then(Value::as_str)
}

/// Whether the event's JSM site (cloud id, in `after` / `before`) is the op's site (by name);
/// an unknown site name matches on the desk alone.
fn same_jsm_site(event: &NewChangeEvent, site: &str, facts: &Facts) -> bool {
    let event_site = event
        .after
        .as_ref()
        .or(event.before.as_ref())
        .and_then(|v| v.get("site"))
        .and_then(Value::as_str);
    match (facts.site_cloud_ids.get(site), event_site) {
        (Some(cloud_id), Some(event_site)) => cloud_id == event_site,
        (None, _) | (_, None) => true,
    }
}

fn is_statuspage_resource(resource: &str) -> bool {
    resource.starts_with("ari:cloud:statuspage:")
}

/// Whether a role event is the JSM `atlassian/customer` role on the op's site, which Atlassian
/// grants with a first service-desk customership and takes away with the last one.
fn is_jsm_customer_role(event: &NewChangeEvent, site: &str, facts: &Facts) -> bool {
    let resource = event.resource.as_deref().unwrap_or_default();
    event.group_id.is_none()
        && event.role.as_deref() == Some(JSM_CUSTOMER_ROLE)
        && resource.starts_with("ari:cloud:jira-servicedesk:")
        && facts
            .site_cloud_ids
            .get(site)
            .is_none_or(|cloud_id| resource.ends_with(&format!("/{cloud_id}")))
}

/// The JSM customer role.
const JSM_CUSTOMER_ROLE: &str = "atlassian/customer";

/// Whether `own`'s operation explains `event`: the same account (for Statuspage member events,
/// also the same email), the same thing, the same direction.
fn explains(own: &OwnStep, event: &NewChangeEvent, facts: &Facts) -> bool {
    let same_account = match (&own.account_id, &event.account_id) {
        (Some(a), Some(b)) => a == b,
        (None, _) | (_, None) => false,
    };
    let same_email = event_email(event).is_some_and(|e| e.eq_ignore_ascii_case(&own.step.subject));
    let group = event.group_id.as_deref();
    let resource = event.resource.as_deref().unwrap_or_default();
    let role = event.role.as_deref().unwrap_or_default();
    // A group that carries the op's (resource, role): the original experience grants a role
    // through the product's default group.
    let carries = |r: &str, x: &str, g: &str| {
        facts
            .groups_carrying
            .get(&(r.to_owned(), x.to_owned()))
            .is_some_and(|groups| groups.contains(g))
    };
    match event.kind {
        ChangeKind::RoleGranted => {
            same_account
                && match (&own.op, group) {
                    (Op::GrantRole { role: x, .. }, _) if x == ORG_ADMIN && is_inferred(event) => {
                        true
                    }
                    (
                        Op::GrantRole {
                            resource: r,
                            role: x,
                        },
                        None,
                    ) => r == resource && x == role,
                    (
                        Op::GrantRole {
                            resource: r,
                            role: x,
                        },
                        Some(g),
                    ) => carries(r, x, g),
                    (Op::AddToGroup { group_id, .. }, Some(g)) => group_id == g,
                    (Op::AddJsmCustomer { site, .. }, None) => {
                        is_jsm_customer_role(event, site, facts)
                    }
                    _ => false,
                }
        }
        ChangeKind::RoleRevoked => {
            same_account
                && match (&own.op, group) {
                    (Op::RemoveFromDirectory { .. }, _) => true,
                    (Op::RevokeRole { role: x, .. }, _) if x == ORG_ADMIN && is_inferred(event) => {
                        true
                    }
                    (
                        Op::RevokeRole {
                            resource: r,
                            role: x,
                        },
                        None,
                    ) => r == resource && x == role,
                    (
                        Op::RevokeRole {
                            resource: r,
                            role: x,
                        },
                        Some(g),
                    ) => carries(r, x, g),
                    (Op::RemoveFromGroup { group_id, .. }, Some(g)) => group_id == g,
                    (
                        Op::RemoveJsmCustomer { site, .. } | Op::RevokePortalOnlyAccess { site },
                        None,
                    ) => is_jsm_customer_role(event, site, facts),
                    _ => false,
                }
        }
        ChangeKind::GroupMembershipAdded => {
            same_account
                && group.is_some_and(|g| match &own.op {
                    Op::AddToGroup { group_id, .. } => group_id == g,
                    Op::GrantRole {
                        resource: r,
                        role: x,
                    } => carries(r, x, g),
                    _ => false,
                })
        }
        ChangeKind::GroupMembershipRemoved => {
            same_account
                && group.is_some_and(|g| match &own.op {
                    Op::RemoveFromGroup { group_id, .. } => group_id == g,
                    Op::RevokeRole {
                        resource: r,
                        role: x,
                    } => carries(r, x, g),
                    Op::RemoveFromDirectory { .. } => true,
                    _ => false,
                })
        }
        ChangeKind::AccountAdded => same_account && matches!(own.op, Op::InviteAccount),
        ChangeKind::AccountRemoved => {
            same_account && matches!(own.op, Op::RemoveFromDirectory { .. })
        }
        // Joining a directory (an invite, or a grant that adds the membership) changes the
        // composite status too.
        ChangeKind::AccountStatusChanged => {
            same_account
                && matches!(
                    own.op,
                    Op::SuspendAccount { .. }
                        | Op::RestoreAccount { .. }
                        | Op::DeactivateAccount
                        | Op::InviteAccount
                        | Op::GrantRole { .. }
                )
        }
        ChangeKind::StatuspageMemberAdded => {
            (same_account || same_email)
                && match &own.op {
                    Op::AddStatuspageMember => true,
                    Op::GrantRole { resource: r, .. } => is_statuspage_resource(r),
                    Op::AddToGroup { group_id, .. } => facts.statuspage_groups.contains(group_id),
                    _ => false,
                }
        }
        ChangeKind::StatuspageMemberRemoved => {
            (same_account || same_email)
                && match &own.op {
                    Op::RemoveStatuspageMember | Op::RemoveFromDirectory { .. } => true,
                    Op::RevokeRole { resource: r, .. } => is_statuspage_resource(r),
                    Op::RemoveFromGroup { group_id, .. } => {
                        facts.statuspage_groups.contains(group_id)
                    }
                    _ => false,
                }
        }
        // A new member's page access is set with the membership; a removed member's goes.
        ChangeKind::StatuspagePermissionChanged => {
            same_account
                && match &own.op {
                    Op::SetStatuspagePage { page_id, .. }
                    | Op::RemoveStatuspagePage { page_id } => page_id == resource,
                    Op::AddStatuspageMember
                    | Op::RemoveStatuspageMember
                    | Op::RemoveFromDirectory { .. } => true,
                    Op::RevokeRole { resource: r, .. } => is_statuspage_resource(r),
                    Op::RemoveFromGroup { group_id, .. } => {
                        facts.statuspage_groups.contains(group_id)
                    }
                    _ => false,
                }
        }
        ChangeKind::JsmCustomerAdded => {
            same_account
                && match &own.op {
                    Op::AddJsmCustomer {
                        site,
                        service_desk_id,
                    } => service_desk_id == resource && same_jsm_site(event, site, facts),
                    _ => false,
                }
        }
        ChangeKind::JsmCustomerRemoved => {
            same_account
                && match &own.op {
                    Op::RemoveJsmCustomer {
                        site,
                        service_desk_id,
                    } => service_desk_id == resource && same_jsm_site(event, site, facts),
                    Op::RevokePortalOnlyAccess { site } => same_jsm_site(event, site, facts),
                    _ => false,
                }
        }
        // Steward creates and deletes no groups.
        ChangeKind::GroupAdded | ChangeKind::GroupRemoved => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;
    use steward_store::JobId;

    fn own(op: Op, account: &str) -> OwnStep {
        OwnStep {
            step: DoneStep {
                job_id: JobId(7),
                kind: "grant".into(),
                subject: "ada@acme.test".into(),
                requested_by: "lead@acme.test".into(),
                seq: 1,
                op: serde_json::to_value(&op).unwrap_or_default(),
                finished_at: Utc::now(),
                account_id: Some(account.into()),
            },
            op,
            account_id: Some(account.into()),
        }
    }

    fn event(kind: ChangeKind, account: &str) -> NewChangeEvent {
        NewChangeEvent {
            run_id: None,
            detected_at: Utc::now(),
            kind,
            account_id: Some(account.into()),
            group_id: None,
            resource: None,
            role: None,
            before: None,
            after: None,
            out_of_band: true,
            actor_id: None,
            actor_name: None,
        }
    }

    fn role_event(kind: ChangeKind, account: &str, group: Option<&str>) -> NewChangeEvent {
        let source = match group {
            Some(g) => json!({ "source": GrantSource::Group { group_id: g.into() } }),
            None => json!({ "source": GrantSource::Direct }),
        };
        let granted = kind == ChangeKind::RoleGranted;
        NewChangeEvent {
            resource: Some("ari:cloud:jira-software::site/c1".into()),
            role: Some("atlassian/user".into()),
            group_id: group.map(str::to_owned),
            before: (!granted).then(|| source.clone()),
            after: granted.then_some(source),
            ..event(kind, account)
        }
    }

    fn grant() -> Op {
        Op::GrantRole {
            resource: "ari:cloud:jira-software::site/c1".into(),
            role: "atlassian/user".into(),
        }
    }

    #[test]
    fn a_grant_explains_its_own_role_on_its_own_account_only() {
        let facts = Facts::default();
        let step = own(grant(), "a1");
        assert!(explains(
            &step,
            &role_event(ChangeKind::RoleGranted, "a1", None),
            &facts
        ));
        // Someone else, the other direction, another role: not Steward's.
        assert!(!explains(
            &step,
            &role_event(ChangeKind::RoleGranted, "a2", None),
            &facts
        ));
        assert!(!explains(
            &step,
            &role_event(ChangeKind::RoleRevoked, "a1", None),
            &facts
        ));
        let mut admin = role_event(ChangeKind::RoleGranted, "a1", None);
        admin.role = Some("atlassian/admin".into());
        assert!(!explains(&step, &admin, &facts));
    }

    #[test]
    fn in_the_original_experience_a_grant_explains_the_default_group_membership() {
        let mut facts = Facts::default();
        facts.groups_carrying.insert(
            (
                "ari:cloud:jira-software::site/c1".into(),
                "atlassian/user".into(),
            ),
            BTreeSet::from(["jira-users".to_owned()]),
        );
        let step = own(grant(), "a1");
        let mut joined = event(ChangeKind::GroupMembershipAdded, "a1");
        joined.group_id = Some("jira-users".into());
        assert!(explains(&step, &joined, &facts));
        let via_group = role_event(ChangeKind::RoleGranted, "a1", Some("jira-users"));
        assert!(explains(&step, &via_group, &facts));
        let mut other = joined.clone();
        other.group_id = Some("confluence-users".into());
        assert!(!explains(&step, &other, &facts));
    }

    #[test]
    fn statuspage_members_match_by_email_and_groups_never_by_anything() {
        let facts = Facts::default();
        let step = own(Op::AddStatuspageMember, "a1");
        let mut added = event(ChangeKind::StatuspageMemberAdded, "");
        added.account_id = None;
        added.after = Some(json!({ "sp_user_id": "sp1", "email": "ADA@acme.test" }));
        assert!(explains(&step, &added, &facts));
        let removed = NewChangeEvent {
            kind: ChangeKind::StatuspageMemberRemoved,
            ..added.clone()
        };
        assert!(!explains(&step, &removed, &facts));
        let group = event(ChangeKind::GroupAdded, "a1");
        assert!(!explains(&own(Op::InviteAccount, "a1"), &group, &facts));
    }
}
