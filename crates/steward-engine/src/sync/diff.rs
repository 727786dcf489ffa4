//! The diff of a finished run's snapshot against the previous completed one, as change events,
//! attributed (best effort) from the org's events stream.
//!
//! The store has no ordered streaming reads, so the diff loads one entity kind of both
//! snapshots at a time (accounts, then memberships, then role assignments) and drops it before
//! the next: the peak is two copies of the largest kind, never two whole snapshots.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use atlassian_client::Client;
use atlassian_client::api::org::EventStreamFilter;
use atlassian_client::models::org::Event;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::json;
use steward_store::{
    AccountFilter, ChangeKind, GrantSource, NewChangeEvent, RoleAssignmentRow, RunId, Store,
    SyncRun,
};

/// Audit actions that explain an account appearing.
const ADDED_ACTIONS: &[&str] = &["user_invited", "user_created", "user_added_to_org"];
/// Audit actions that explain an account disappearing.
const REMOVED_ACTIONS: &[&str] = &[
    "user_removed_from_directory",
    "user_removed_from_org",
    "user_deleted",
];
/// Audit actions that change an account's composite status.
const STATUS_ACTIONS: &[&str] = &[
    "user_suspended",
    "user_restored",
    "user_deactivated",
    "user_reactivated",
    "user_deletion_scheduled",
    "user_deletion_cancelled",
];

/// Membership and role actions (the account ones are above).
const MEMBER_ROLE_ACTIONS: &[&str] = &[
    "group_created",
    "group_deleted",
    "user_added_to_group",
    "user_removed_from_group",
    "user_granted_role",
    "user_revoked_role",
    "org_admin_granted",
    "org_admin_revoked",
    "group_granted_role",
    "group_revoked_role",
];

/// Every action attribution looks at.
const ATTRIBUTED_ACTIONS: [&[&str]; 4] = [
    ADDED_ACTIONS,
    REMOVED_ACTIONS,
    STATUS_ACTIONS,
    MEMBER_ROLE_ACTIONS,
];

fn is_attributed_action(action: &str) -> bool {
    ATTRIBUTED_ACTIONS.iter().any(|set| set.contains(&action))
}

/// The change events of `run` against `previous` (none when there is no previous run: the
/// first run is the baseline).
///
/// # Errors
/// A store read failing.
pub(crate) async fn diff(
    store: &Store,
    previous: RunId,
    run: RunId,
    detected_at: DateTime<Utc>,
) -> steward_store::Result<Vec<NewChangeEvent>> {
    let (old, new) = (store.snapshot(previous), store.snapshot(run));
    let event = |kind: ChangeKind, account_id: &str| NewChangeEvent {
        run_id: Some(run),
        detected_at,
        kind,
        account_id: Some(account_id.to_owned()),
        group_id: None,
        resource: None,
        role: None,
        before: None,
        after: None,
        // Someone else's until `own::mark_own_changes` finds the job step that explains it.
        out_of_band: true,
        actor_id: None,
        actor_name: None,
    };
    let mut events = vec![];

    // Accounts.
    {
        let all = AccountFilter::default();
        let before: HashMap<String, _> = old
            .accounts(&all)
            .await?
            .into_iter()
            .map(|a| (a.account_id.clone(), a))
            .collect();
        let after = new.accounts(&all).await?;
        let mut seen = BTreeSet::new();
        for a in &after {
            seen.insert(a.account_id.as_str());
            match before.get(&a.account_id) {
                None => events.push(NewChangeEvent {
                    after: Some(json!({ "status": a.status, "email": a.email, "name": a.name })),
                    ..event(ChangeKind::AccountAdded, &a.account_id)
                }),
                Some(b) if b.status != a.status => events.push(NewChangeEvent {
                    before: Some(json!({ "status": b.status })),
                    after: Some(json!({ "status": a.status })),
                    ..event(ChangeKind::AccountStatusChanged, &a.account_id)
                }),
                Some(_) => {}
            }
        }
        let mut removed: Vec<_> = before
            .values()
            .filter(|b| !seen.contains(b.account_id.as_str()))
            .collect();
        removed.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        for b in removed {
            events.push(NewChangeEvent {
                before: Some(json!({ "status": b.status, "email": b.email, "name": b.name })),
                ..event(ChangeKind::AccountRemoved, &b.account_id)
            });
        }
    }

    // Groups.
    {
        let names = |rows: Vec<steward_store::GroupRow>| -> BTreeMap<String, String> {
            rows.into_iter().map(|g| (g.group_id, g.name)).collect()
        };
        let before = names(old.groups().await?);
        let after = names(new.groups().await?);
        let group_event = |kind, id: &str, name: &str| {
            let state = Some(json!({ "name": name }));
            let added = kind == ChangeKind::GroupAdded;
            NewChangeEvent {
                account_id: None,
                group_id: Some(id.to_owned()),
                before: if added { None } else { state.clone() },
                after: if added { state } else { None },
                ..event(kind, "")
            }
        };
        for (id, name) in &after {
            if !before.contains_key(id) {
                events.push(group_event(ChangeKind::GroupAdded, id, name));
            }
        }
        for (id, name) in &before {
            if !after.contains_key(id) {
                events.push(group_event(ChangeKind::GroupRemoved, id, name));
            }
        }
    }

    // Group memberships (both lists come sorted by (group, account)).
    {
        let before: BTreeSet<_> = old
            .group_memberships()
            .await?
            .into_iter()
            .map(|m| (m.group_id, m.account_id))
            .collect();
        let after: BTreeSet<_> = new
            .group_memberships()
            .await?
            .into_iter()
            .map(|m| (m.group_id, m.account_id))
            .collect();
        for ((group, account), kind) in after
            .difference(&before)
            .map(|m| (m, ChangeKind::GroupMembershipAdded))
            .chain(
                before
                    .difference(&after)
                    .map(|m| (m, ChangeKind::GroupMembershipRemoved)),
            )
        {
            events.push(NewChangeEvent {
                group_id: Some(group.clone()),
                ..event(kind, account)
            });
        }
    }

    // Role assignments, one per (account, resource, role, source).
    {
        let before: BTreeSet<RoleKey> = old
            .role_assignments()
            .await?
            .into_iter()
            .map(RoleKey::from)
            .collect();
        let after: BTreeSet<RoleKey> = new
            .role_assignments()
            .await?
            .into_iter()
            .map(RoleKey::from)
            .collect();
        for (key, kind) in after
            .difference(&before)
            .map(|k| (k, ChangeKind::RoleGranted))
            .chain(
                before
                    .difference(&after)
                    .map(|k| (k, ChangeKind::RoleRevoked)),
            )
        {
            let source = json!({ "source": key.source() });
            let (before, after) = match kind {
                ChangeKind::RoleGranted => (None, Some(source)),
                _ => (Some(source), None),
            };
            events.push(NewChangeEvent {
                group_id: key.group.clone(),
                resource: Some(key.resource.clone()),
                role: Some(key.role.clone()),
                before,
                after,
                ..event(kind, &key.account)
            });
        }
    }
    Ok(events)
}

/// A role assignment as an ordered key (the store's `GrantSource` is not `Ord`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RoleKey {
    account: String,
    resource: String,
    role: String,
    /// `direct`, `group` or `inferred`.
    kind: &'static str,
    group: Option<String>,
}

impl RoleKey {
    fn source(&self) -> GrantSource {
        match (self.kind, &self.group) {
            ("group", Some(group_id)) => GrantSource::Group {
                group_id: group_id.clone(),
            },
            ("inferred", _) => GrantSource::Inferred,
            _ => GrantSource::Direct,
        }
    }
}

impl From<RoleAssignmentRow> for RoleKey {
    fn from(r: RoleAssignmentRow) -> Self {
        let (kind, group) = match r.source {
            GrantSource::Direct => ("direct", None),
            GrantSource::Group { group_id } => ("group", Some(group_id)),
            GrantSource::Inferred => ("inferred", None),
        };
        RoleKey {
            account: r.account_id,
            resource: r.resource_ari,
            role: r.role,
            kind,
            group,
        }
    }
}

/// Reads the org's events stream from `previous`'s start and fills in `actor_id`/`actor_name`
/// of the out-of-band events it explains (Steward's own keep their job attribution). Returns
/// how many events were attributed.
///
/// # Errors
/// The events read failing (the caller logs it; attribution is best effort).
pub(crate) async fn attribute(
    client: &Client,
    previous: &SyncRun,
    events: &mut [NewChangeEvent],
) -> atlassian_client::Result<usize> {
    if !events.iter().any(|e| e.out_of_band) {
        return Ok(0);
    }
    let filter = EventStreamFilter {
        from: Some(previous.started_at.timestamp_millis()),
        ..EventStreamFilter::default()
    };
    // Only the events of the actions matched below are kept (the window may hold many others).
    let audit: Vec<Event> = client
        .org()
        .events_stream(&filter)
        .try_filter(|e| std::future::ready(is_attributed_action(&e.attributes.action)))
        .try_collect()
        .await?;
    // (action, account, other context id or "") → (actor id, actor name), the latest wins.
    let mut index: BTreeMap<(String, String, String), (String, Option<String>)> = BTreeMap::new();
    let mut ordered: Vec<&Event> = audit.iter().collect();
    ordered.sort_by(|a, b| {
        let t = |e: &Event| e.attributes.time.clone().unwrap_or_default();
        t(a).cmp(&t(b))
    });
    for e in ordered {
        let a = &e.attributes;
        let actor = (a.actor.id.clone(), a.actor.name.clone());
        let users = a
            .context
            .iter()
            .filter(|o| o.kind.as_deref() == Some("users"));
        let others: Vec<&str> = a
            .context
            .iter()
            .filter(|o| o.kind.as_deref() != Some("users"))
            .map(|o| o.id.as_str())
            .collect();
        for user in users {
            index.insert(
                (a.action.clone(), user.id.clone(), String::new()),
                actor.clone(),
            );
            for other in &others {
                index.insert(
                    (a.action.clone(), user.id.clone(), (*other).to_owned()),
                    actor.clone(),
                );
            }
        }
        // Group-level actions: keyed by the group alone.
        if matches!(
            a.action.as_str(),
            "group_granted_role" | "group_revoked_role" | "group_created" | "group_deleted"
        ) {
            for group in a
                .context
                .iter()
                .filter(|o| o.kind.as_deref() == Some("groups"))
            {
                index.insert(
                    (a.action.clone(), String::new(), group.id.clone()),
                    actor.clone(),
                );
            }
        }
    }
    let find = |actions: &[&str], account: &str, other: &str| {
        actions.iter().find_map(|action| {
            index.get(&((*action).to_owned(), account.to_owned(), other.to_owned()))
        })
    };
    let mut attributed = 0;
    for ev in events.iter_mut().filter(|e| e.out_of_band) {
        let account = ev.account_id.clone().unwrap_or_default();
        let group = ev.group_id.clone().unwrap_or_default();
        let resource = ev.resource.clone().unwrap_or_default();
        let hit = match ev.kind {
            ChangeKind::AccountAdded => find(ADDED_ACTIONS, &account, ""),
            ChangeKind::AccountRemoved => find(REMOVED_ACTIONS, &account, ""),
            ChangeKind::AccountStatusChanged => find(STATUS_ACTIONS, &account, ""),
            ChangeKind::GroupAdded => find(&["group_created"], "", &group),
            ChangeKind::GroupRemoved => find(&["group_deleted"], "", &group),
            ChangeKind::GroupMembershipAdded => find(&["user_added_to_group"], &account, &group),
            ChangeKind::GroupMembershipRemoved => {
                find(&["user_removed_from_group"], &account, &group)
            }
            ChangeKind::RoleGranted if !group.is_empty() => {
                find(&["user_added_to_group"], &account, &group)
                    .or_else(|| find(&["group_granted_role"], "", &group))
            }
            ChangeKind::RoleRevoked if !group.is_empty() => {
                find(&["user_removed_from_group"], &account, &group)
                    .or_else(|| find(&["group_revoked_role"], "", &group))
            }
            ChangeKind::RoleGranted => find(&["user_granted_role"], &account, &resource)
                .or_else(|| find(&["org_admin_granted"], &account, "")),
            ChangeKind::RoleRevoked => find(&["user_revoked_role"], &account, &resource)
                .or_else(|| find(&["org_admin_revoked"], &account, "")),
            _ => None,
        };
        if let Some((id, name)) = hit {
            ev.actor_id = Some(id.clone());
            ev.actor_name.clone_from(name);
            attributed += 1;
        }
    }
    Ok(attributed)
}
