//! The guard rails at execution time: what the worker re-checks just before a step, against
//! live Atlassian state and the whole job queue, one check-and-write at a time across workers
//! and processes.
//!
//! The planner's guard rails ([`super::guard`]) look at the synced snapshot when a job is
//! planned. Two jobs planned from the same snapshot both pass them, and a job may wait in the
//! queue while the org changes, so the worker checks again:
//! - every destructive step: the subject is not the configured integration account (by email,
//!   or by account id, resolved live once per worker);
//! - a step that can take Organization admin away ([`super::guard::org_admin_effect`]): the live org
//!   admins (one Org API users search) still include someone else. Held under the
//!   [`ORG_ADMINS_LEASE`] lease from the read until the step is journaled `done`;
//! - the first destructive step of an unconfirmed job: the people who lost access across every
//!   job in the sliding window ([`GuardPolicy::mass_change_window`], from the store's journal)
//!   plus this one stay within the share of the org's people (one Org API users count, only
//!   when the subject is not already counted). Held under [`MASS_CHANGE_LEASE`] until the step
//!   is journaled `done`, so the next check counts it.
//!
//! Leases are the store's named leases (one writer wins, across processes), renewed while the
//! step runs and released at once after; a worker that dies holding one blocks these steps for
//! at most [`GUARD_LEASE_TTL`].

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use atlassian_client::Client;
use atlassian_client::api::org::{ALL_DIRECTORIES, RoleAssignmentFilter, UserFilter, UserSearch};
use atlassian_client::models::RoleId;
use atlassian_client::models::org::{AccountStatus, MembershipStatus};
use chrono::Utc;
use futures::TryStreamExt;
use steward_store::{Acquired, Store};

use super::exec::{StepError, classify_read};
use super::guard::{GuardPolicy, LiveAdmin};
use super::op::{ORG_ADMIN, PlannedOp};

/// The lease serializing steps that can take Organization admin away.
pub const ORG_ADMINS_LEASE: &str = "guard:org-admins";
/// The lease serializing the mass-change circuit breaker's count and the step it admits.
pub const MASS_CHANGE_LEASE: &str = "guard:mass-change";
/// How long a guard lease lasts unless renewed (renewed every third of it while held).
pub const GUARD_LEASE_TTL: Duration = Duration::from_secs(30);

/// A guard lease this worker holds. Released with [`HeldLease::release`]; if the future
/// holding it is dropped first, released in the background.
#[derive(Debug)]
pub(crate) struct HeldLease {
    store: Store,
    name: &'static str,
    owner: String,
    released: bool,
}

impl HeldLease {
    /// Waits until `owner` holds `name` (polling with a short, jittered pause).
    pub(crate) async fn acquire(
        store: &Store,
        name: &'static str,
        owner: &str,
    ) -> Result<HeldLease, steward_store::Error> {
        let mut pause = Duration::from_millis(5);
        loop {
            match store
                .leases()
                .acquire(name, owner, GUARD_LEASE_TTL, |_| false)
                .await?
            {
                Acquired::Held { .. } => {
                    return Ok(HeldLease {
                        store: store.clone(),
                        name,
                        owner: owner.to_owned(),
                        released: false,
                    });
                }
                Acquired::Busy(_) => {
                    let jitter = u64::from(Utc::now().timestamp_subsec_nanos()) % 10;
                    tokio::time::sleep(pause + Duration::from_millis(jitter)).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
            }
        }
    }

    /// Extends the lease; `false` when it was lost (lapsed and taken over).
    async fn renew(&self) -> bool {
        match self
            .store
            .leases()
            .renew(self.name, &self.owner, GUARD_LEASE_TTL)
            .await
        {
            Ok(held) => held,
            // A store hiccup: the lease still runs until its expiry; try again next tick.
            Err(e) => {
                tracing::warn!(lease = self.name, error = %e, "could not renew a guard lease");
                true
            }
        }
    }

    /// Whether the lease is still ours (renewing it): the fence before journaling a step.
    /// A store error counts as lost, so nothing is journaled on a lease we cannot confirm.
    pub(crate) async fn still_held(&self) -> bool {
        self.store
            .leases()
            .renew(self.name, &self.owner, GUARD_LEASE_TTL)
            .await
            .unwrap_or(false)
    }

    /// Gives the lease up.
    pub(crate) async fn release(mut self) {
        self.released = true;
        if let Err(e) = self.store.leases().release(self.name, &self.owner).await {
            tracing::warn!(lease = self.name, error = %e, "could not release a guard lease; it lapses");
        }
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (store, name, owner) = (self.store.clone(), self.name, self.owner.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = store.leases().release(name, &owner).await;
            });
        }
    }
}

/// Runs `fut` while renewing `leases`; `None` when one was lost (the step must not count as
/// serialized: the caller retries it later).
pub(crate) async fn hold<F: Future>(leases: &[HeldLease], fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let every = GUARD_LEASE_TTL / 3;
    loop {
        tokio::select! {
            out = &mut fut => return Some(out),
            () = tokio::time::sleep(every) => {
                for lease in leases {
                    if !lease.renew().await {
                        tracing::warn!(lease = lease.name, "lost a guard lease mid-step");
                        return None;
                    }
                }
            }
        }
    }
}

/// The org's active Organization admins, read live (one users search filtered on the role;
/// suspended memberships left out).
pub(crate) async fn live_org_admins(client: &Client) -> Result<Vec<LiveAdmin>, StepError> {
    let search = UserSearch {
        filter: UserFilter {
            role_ids: vec![RoleId::from(ORG_ADMIN)],
            account_status: vec![AccountStatus::Active],
            ..Default::default()
        },
        ..Default::default()
    };
    let users: Vec<_> = client
        .org()
        .search_users(ALL_DIRECTORIES, &search)
        .try_collect()
        .await
        .map_err(|e| classify_read(e, "reading the org admins"))?;
    Ok(users
        .into_iter()
        .filter(|u| u.membership_status != Some(MembershipStatus::Suspended))
        .filter(|u| {
            u.account_status
                .as_ref()
                .is_none_or(|s| *s == AccountStatus::Active)
        })
        .map(|u| LiveAdmin {
            account_id: u.account_id,
            email: u.email,
        })
        .collect())
}

/// Whether a group grants Organization admin, read live (its role assignments).
pub(crate) async fn group_grants_org_admin(
    client: &Client,
    group_id: &str,
) -> Result<bool, StepError> {
    let org = client.org();
    let directory = org
        .group_directory(group_id)
        .await
        .map_err(|e| classify_read(e, "finding the group's directory"))?;
    let held: Vec<_> = org
        .group_role_assignments(&directory, group_id, &RoleAssignmentFilter::default())
        .try_collect()
        .await
        .map_err(|e| classify_read(e, "reading the group's roles"))?;
    let admin = RoleId::from(ORG_ADMIN);
    Ok(held.iter().any(|a| a.roles.contains(&admin)))
}

/// The org's people, read live (one users count over every directory).
pub(crate) async fn live_people(client: &Client) -> Result<usize, StepError> {
    let count = client
        .org()
        .count_users(ALL_DIRECTORIES, &UserFilter::default())
        .await
        .map_err(|e| classify_read(e, "counting the org's people"))?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

/// The account id of `email`, read live (the integration account's, once per worker).
pub(crate) async fn live_account_id(
    client: &Client,
    email: &str,
) -> Result<Option<String>, StepError> {
    let wanted = email.trim().to_lowercase();
    let search = UserSearch {
        emails: vec![wanted.clone()],
        ..Default::default()
    };
    let users: Vec<_> = client
        .org()
        .search_users(ALL_DIRECTORIES, &search)
        .try_collect()
        .await
        .map_err(|e| classify_read(e, "looking up the integration account"))?;
    Ok(users
        .into_iter()
        .find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.trim().to_lowercase() == wanted)
        })
        .map(|u| u.account_id))
}

/// The people (emails, lower case) a destructive step of any job took access from within the
/// policy's window, from the store's journal.
pub(crate) async fn people_who_lost_access(
    store: &Store,
    policy: &GuardPolicy,
) -> Result<BTreeSet<String>, StepError> {
    let window =
        chrono::Duration::from_std(policy.mass_change_window).unwrap_or(chrono::Duration::MAX);
    let since = Utc::now()
        .checked_sub_signed(window)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let steps = store
        .jobs()
        .done_steps_between(since, None)
        .await
        .map_err(StepError::store)?;
    Ok(steps
        .into_iter()
        .filter(|s| {
            serde_json::from_value::<PlannedOp>(s.op.clone()).is_ok_and(|p| p.op.is_destructive())
        })
        .map(|s| s.subject.trim().to_lowercase())
        .collect())
}
