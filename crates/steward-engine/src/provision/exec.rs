//! The executor: one [`Op`] of a plan applied to Atlassian, idempotently.
//!
//! [`execute_op`] is what a job's step runs. Every operation may run twice (a worker that
//! crashed after the write but before journaling it re-runs the step), so each one first reads
//! whether its effect is already there ("already a member", "already granted", "already
//! suspended", "not a member", "already removed") and writes only when it is not. Writes the API
//! does not make idempotent (the invite, the Statuspage team member create) go through the
//! client's read-to-verify paths, so an ambiguous failure never sends a second one.
//!
//! Failures are classified ([`StepError`]): transient ones (throttling, 5xx, timeouts, broken
//! connections, a read-back not yet showing a change) are worth retrying later; permanent ones
//! (a product out of seats, an IdP-managed account or group, 403, a missing resource, an
//! unmanaged account that cannot be deactivated) stop the job with a clear reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use atlassian_client::api::org::{
    ALL_DIRECTORIES, DirectoryFilter, InviteRequest, RoleAssignmentFilter, UserSearch,
};
use atlassian_client::models::org::{
    AccountStatus, ClaimStatus, DirectoryUser, ManagementSource, MembershipStatus, RoleAssignment,
    RoleAssignmentMethod, UserExpand,
};
use atlassian_client::models::statuspage::{NewTeamMember, PageRoles, TeamMember};
use atlassian_client::models::{ProductKey, RoleId};
use atlassian_client::{Client, Error as ApiError};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use steward_store::{JobId, NewBundle, Store};

use super::catalog::org_ari;
use super::op::{Experience, ORG_ADMIN, Op, Subject};
use super::plan::{DeskRef, PageFlags, RestoreBundle};

/// How long a `Verify` keeps re-reading before it reports a difference, by default.
pub const VERIFY_ATTEMPTS: u32 = 6;
/// The first pause between two `Verify` reads (doubled each time), by default.
pub const VERIFY_BACKOFF: Duration = Duration::from_millis(250);

/// What [`execute_op`] needs around the operation: the client, the store (restore bundles),
/// the job it runs for, the plan's other operations (what `Verify` checks), and the subject's
/// account id once known.
///
/// One context serves one job: [`ExecContext::account_id`] carries the account id resolved by
/// one step (e.g. after the invite) to the next.
#[derive(Debug)]
pub struct ExecContext<'a> {
    /// The Atlassian client.
    pub client: &'a Client,
    /// The store (restore bundles).
    pub store: &'a Store,
    /// The job the operation belongs to (recorded in restore bundles), if any.
    pub job: Option<JobId>,
    /// Names of the configured sites, in configuration order (the invite's fallback creates the
    /// account through the first site's Jira).
    pub sites: Vec<String>,
    /// Every operation of the plan, in order: what `Verify` checks.
    pub plan: Vec<Op>,
    /// The subject's account id, once known (from the plan, an earlier step, or a lookup).
    pub account_id: Option<String>,
    /// The org's user-management experience, once known (read from the directories on first
    /// use).
    pub experience: Option<Experience>,
    /// How many times `Verify` reads before it reports a difference.
    pub verify_attempts: u32,
    /// The first pause between `Verify` reads (doubled each time).
    pub verify_backoff: Duration,
    /// Service desks (site, desk id) whose customer removal Atlassian refused because the desk
    /// has open access: `Verify` does not expect the removal there. Filled by the removal step,
    /// and by the worker from the journal of a resumed job.
    pub open_desks: std::collections::BTreeSet<(String, String)>,
}

impl<'a> ExecContext<'a> {
    /// A context for a job (or a one-off operation when `job` is `None`) running `plan`.
    pub fn new(
        client: &'a Client,
        store: &'a Store,
        job: Option<JobId>,
        sites: Vec<String>,
        plan: Vec<Op>,
    ) -> ExecContext<'a> {
        ExecContext {
            client,
            store,
            job,
            sites,
            plan,
            account_id: None,
            experience: None,
            verify_attempts: VERIFY_ATTEMPTS,
            verify_backoff: VERIFY_BACKOFF,
            open_desks: std::collections::BTreeSet::new(),
        }
    }
}

/// The opening of the summary of a customer removal that an open desk refused (the worker
/// reads it back from the journal of a resumed job).
pub const KEPT_ON_OPEN_DESK: &str = "kept as customer of desk";

/// One API call an operation made, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    /// Method and documented path.
    pub call: String,
    /// `ok`, `skipped: <why>`, or the error.
    pub outcome: String,
}

/// What an operation did: journaled as the step's result and shown in the audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// Whether a write took effect (`false`: it was already so, nothing was written).
    pub changed: bool,
    /// The subject's account id, when known after the step (later steps and a resumed job
    /// reuse it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The calls made, reads included, in order.
    pub calls: Vec<ApiCall>,
    /// A sentence for people.
    pub summary: String,
}

/// Why an operation failed for good. Each kind has a stable machine code ([`Permanent::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permanent {
    /// A product's licence (seat) limit is reached (`ADMIN-UAM-409-3`).
    LicenceLimit,
    /// The account is managed by an identity provider (SCIM): change it there.
    IdpManagedAccount,
    /// The group is synced from an identity provider: change its members there.
    IdpSyncedGroup,
    /// The account is not managed by the org (not on a verified domain): it cannot be
    /// deactivated, only suspended or removed.
    UnmanagedAccount,
    /// Atlassian refused the credentials the call was made with (403).
    Forbidden,
    /// A resource the operation names does not exist (404): account, group, page, desk.
    NotFound,
    /// Atlassian refused the change (400/409/422), e.g. an org admin cannot be suspended.
    Refused,
    /// Steward is not configured for the call (no Statuspage, an unknown site) or the input
    /// is invalid.
    Invalid,
    /// A guard rail re-checked at execution time refused the step (integration account, last
    /// org admin, the mass-change circuit breaker).
    GuardRail,
}

impl Permanent {
    /// The stable machine code (`LICENSE_LIMIT_REACHED`, …).
    pub fn code(self) -> &'static str {
        match self {
            Permanent::LicenceLimit => "LICENSE_LIMIT_REACHED",
            Permanent::IdpManagedAccount => "IDP_MANAGED_ACCOUNT",
            Permanent::IdpSyncedGroup => "IDP_SYNCED_GROUP",
            Permanent::UnmanagedAccount => "UNMANAGED_ACCOUNT",
            Permanent::Forbidden => "FORBIDDEN",
            Permanent::NotFound => "NOT_FOUND",
            Permanent::Refused => "REFUSED",
            Permanent::Invalid => "INVALID",
            Permanent::GuardRail => "GUARD_RAIL",
        }
    }
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Trying again later can succeed: throttling, 5xx, a timeout or broken connection, a
    /// store hiccup, or a read-back that does not show the change yet.
    #[error("{reason}")]
    Transient {
        /// What happened, for the journal.
        reason: String,
        /// How long Atlassian asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The client's error, if the failure came from a call.
        #[source]
        source: Option<ApiError>,
    },
    /// Trying again cannot help: the job stops with this reason.
    #[error("{} ({reason})", kind.code())]
    Permanent {
        /// Which kind of refusal.
        kind: Permanent,
        /// A sentence saying what happened and what to do.
        reason: String,
        /// The client's error, if the failure came from a call.
        #[source]
        source: Option<ApiError>,
    },
}

impl StepError {
    /// Whether the failure is worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self, StepError::Transient { .. })
    }

    /// How long Atlassian asked to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            StepError::Transient { retry_after, .. } => *retry_after,
            StepError::Permanent { .. } => None,
        }
    }

    fn permanent(kind: Permanent, reason: impl Into<String>) -> StepError {
        StepError::Permanent {
            kind,
            reason: reason.into(),
            source: None,
        }
    }

    /// A guard rail's refusal: permanent (retrying cannot help), with the rail's sentence.
    pub fn guard(err: &super::guard::GuardError) -> StepError {
        StepError::permanent(Permanent::GuardRail, err.to_string())
    }

    pub(crate) fn transient(reason: impl Into<String>) -> StepError {
        StepError::Transient {
            reason: reason.into(),
            retry_after: None,
            source: None,
        }
    }

    pub(crate) fn store(err: steward_store::Error) -> StepError {
        StepError::transient(format!("store: {err}"))
    }
}

/// What an API error means for an operation on `what` (a group for membership changes, an
/// account for lifecycle changes).
#[derive(Debug, Clone, Copy)]
enum Concerns {
    Account,
    Group,
    Other,
}

/// The HTTP status of an API error, as a number.
fn status(err: &ApiError) -> Option<u16> {
    err.status().map(|s| s.as_u16())
}

/// Whether trying again later can help, also when the client already gave up retrying.
fn retryable(err: &ApiError) -> bool {
    match err {
        ApiError::RetriesExhausted { last, .. } => retryable(last),
        other => other.is_retryable(),
    }
}

/// Classifies a client error: transient when retrying can help, else the permanent kind.
pub(crate) fn classify_read(err: ApiError, doing: &str) -> StepError {
    classify(err, doing, Concerns::Other)
}

/// Classifies a client error: transient when retrying can help, else the permanent kind.
fn classify(err: ApiError, doing: &str, concerns: Concerns) -> StepError {
    if retryable(&err) {
        return StepError::Transient {
            reason: format!("{doing}: {err}"),
            retry_after: err.retry_after(),
            source: Some(err),
        };
    }
    let code = err.code().unwrap_or_default().to_owned();
    let status = status(&err);
    let kind = if code == "ADMIN-UAM-409-3" {
        Permanent::LicenceLimit
    } else if code == "forbidden.targetUnverified" {
        Permanent::UnmanagedAccount
    } else if status == Some(403) {
        let text = err.to_string().to_lowercase();
        match concerns {
            Concerns::Group if text.contains("synced") || code == "ADMIN-UAM-403-1" => {
                Permanent::IdpSyncedGroup
            }
            Concerns::Account if text.contains("synced") || code == "ADMIN-UAM-403-1" => {
                Permanent::IdpManagedAccount
            }
            Concerns::Group | Concerns::Account | Concerns::Other => Permanent::Forbidden,
        }
    } else if status == Some(404) {
        Permanent::NotFound
    } else if matches!(err, ApiError::Config(_) | ApiError::InvalidInput(_)) {
        Permanent::Invalid
    } else {
        Permanent::Refused
    };
    let advice = match kind {
        Permanent::LicenceLimit => {
            " — the product has no free seat: free one or buy more, then grant again"
        }
        Permanent::IdpManagedAccount => {
            " — the account is managed by the identity provider: make the change there"
        }
        Permanent::IdpSyncedGroup => {
            " — the group is synced from the identity provider: change its members there"
        }
        Permanent::UnmanagedAccount => {
            " — the account is not on a verified domain: suspend or remove it instead"
        }
        Permanent::Forbidden
        | Permanent::NotFound
        | Permanent::Refused
        | Permanent::Invalid
        | Permanent::GuardRail => "",
    };
    StepError::Permanent {
        kind,
        reason: format!("{doing}: {err}{advice}"),
        source: Some(err),
    }
}

/// The calls an operation makes, recorded as it goes.
#[derive(Debug, Default)]
struct Calls(Vec<ApiCall>);

impl Calls {
    fn ok(&mut self, call: impl Into<String>) {
        self.0.push(ApiCall {
            call: call.into(),
            outcome: "ok".to_owned(),
        });
    }

    fn note(&mut self, call: impl Into<String>, outcome: impl Into<String>) {
        self.0.push(ApiCall {
            call: call.into(),
            outcome: outcome.into(),
        });
    }

    fn done(self, changed: bool, account_id: Option<String>, summary: String) -> StepOutcome {
        StepOutcome {
            changed,
            account_id,
            calls: self.0,
            summary,
        }
    }
}

const SEARCH: &str = "POST /admin/v2/orgs/{orgId}/directories/-/users/search";
const ROLES_READ: &str =
    "GET /admin/v2/orgs/{orgId}/directories/-/users/{accountId}/role-assignments";

/// Applies `op` to `subject`, idempotently: reads whether the effect is there, writes only
/// when it is not, and reports what it did. Safe to run again after any failure or crash
/// (each variant's doc on [`Op`] says what "already so" means). `Verify` reads only, retrying
/// its reads with backoff ([`ExecContext::verify_attempts`]) before it reports a difference
/// (transient: the job retries later, then fails with the difference).
///
/// Resolves the subject's account id when neither the plan nor an earlier step gave it (an
/// Org users search by email) and keeps it in `ctx` and in the outcome.
///
/// # Errors
/// [`StepError::Transient`] when retrying later can help; [`StepError::Permanent`] when not.
pub async fn execute_op(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    op: &Op,
) -> Result<StepOutcome, StepError> {
    if ctx.account_id.is_none() {
        ctx.account_id.clone_from(&subject.account_id);
    }
    let mut calls = Calls::default();
    let outcome = match op {
        Op::InviteAccount => invite(ctx, subject, &mut calls).await,
        Op::GrantRole { resource, role } if role == ORG_ADMIN => {
            org_admin(ctx, subject, resource, true, &mut calls).await
        }
        Op::RevokeRole { resource, role } if role == ORG_ADMIN => {
            org_admin(ctx, subject, resource, false, &mut calls).await
        }
        Op::GrantRole { resource, role } => {
            product_role(ctx, subject, resource, role, true, &mut calls).await
        }
        Op::RevokeRole { resource, role } => {
            product_role(ctx, subject, resource, role, false, &mut calls).await
        }
        Op::AddToGroup {
            group_id,
            group_name,
        } => group(ctx, subject, group_id, group_name, true, &mut calls).await,
        Op::RemoveFromGroup {
            group_id,
            group_name,
        } => group(ctx, subject, group_id, group_name, false, &mut calls).await,
        Op::AddStatuspageMember => statuspage_member(ctx, subject, true, &mut calls).await,
        Op::RemoveStatuspageMember => statuspage_member(ctx, subject, false, &mut calls).await,
        Op::SetStatuspagePage {
            page_id,
            page_configuration,
            incident_manager,
            maintenance_manager,
        } => {
            let roles =
                PageRoles::new(*page_configuration, *incident_manager, *maintenance_manager);
            statuspage_page(ctx, subject, page_id, Some(roles), &mut calls).await
        }
        Op::RemoveStatuspagePage { page_id } => {
            statuspage_page(ctx, subject, page_id, None, &mut calls).await
        }
        Op::AddJsmCustomer {
            site,
            service_desk_id,
        } => jsm_customer(ctx, subject, site, service_desk_id, true, &mut calls).await,
        Op::RemoveJsmCustomer {
            site,
            service_desk_id,
        } => jsm_customer(ctx, subject, site, service_desk_id, false, &mut calls).await,
        Op::RevokePortalOnlyAccess { site } => portal_only(ctx, subject, site, &mut calls).await,
        Op::SaveRestoreBundle => save_bundle(ctx, subject, &mut calls).await,
        Op::SuspendAccount { directory_id } => {
            lifecycle(ctx, subject, directory_id, Lifecycle::Suspend, &mut calls).await
        }
        Op::RestoreAccount { directory_id } => {
            lifecycle(ctx, subject, directory_id, Lifecycle::Restore, &mut calls).await
        }
        Op::RemoveFromDirectory { directory_id } => {
            lifecycle(ctx, subject, directory_id, Lifecycle::Remove, &mut calls).await
        }
        Op::DeactivateAccount => deactivate(ctx, subject, &mut calls).await,
        Op::Verify => verify(ctx, subject, &mut calls).await,
    };
    let (changed, summary) = outcome?;
    Ok(calls.done(changed, ctx.account_id.clone(), summary))
}

type Done = Result<(bool, String), StepError>;

// ---- account lookups ---------------------------------------------------------------------------

/// The directory user with the subject's email (any directory, managed accounts outside
/// directories too), with groups and platform roles.
async fn find_user(
    client: &Client,
    email: &str,
    calls: &mut Calls,
) -> Result<Option<DirectoryUser>, StepError> {
    let search = UserSearch {
        emails: vec![email.trim().to_lowercase()],
        expand: vec![UserExpand::Groups, UserExpand::PlatformRoles],
        ..Default::default()
    };
    let users: Vec<DirectoryUser> = client
        .org()
        .search_users(ALL_DIRECTORIES, &search)
        .try_collect()
        .await
        .map_err(|e| classify(e, "searching the account by email", Concerns::Other))?;
    calls.ok(SEARCH);
    let wanted = email.trim().to_lowercase();
    Ok(users.into_iter().find(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.trim().to_lowercase() == wanted)
    }))
}

/// The subject's account id: known already, or found by email (kept in `ctx`).
async fn account_id(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    calls: &mut Calls,
) -> Result<String, StepError> {
    if let Some(id) = &ctx.account_id {
        return Ok(id.clone());
    }
    match find_user(ctx.client, &subject.email, calls).await? {
        Some(user) => {
            ctx.account_id = Some(user.account_id.clone());
            Ok(user.account_id)
        }
        None => Err(StepError::permanent(
            Permanent::NotFound,
            format!(
                "{} has no Atlassian account in the organization (invite them first)",
                subject.email
            ),
        )),
    }
}

/// The subject as a directory user (for groups, platform roles, status).
async fn current_user(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    calls: &mut Calls,
) -> Result<DirectoryUser, StepError> {
    match find_user(ctx.client, &subject.email, calls).await? {
        Some(user) => {
            ctx.account_id = Some(user.account_id.clone());
            Ok(user)
        }
        None => Err(StepError::permanent(
            Permanent::NotFound,
            format!(
                "{} has no Atlassian account in the organization",
                subject.email
            ),
        )),
    }
}

async fn role_assignments(
    client: &Client,
    account: &str,
    calls: &mut Calls,
) -> Result<Vec<RoleAssignment>, StepError> {
    let held = client
        .org()
        .user_role_assignments(ALL_DIRECTORIES, account, &RoleAssignmentFilter::default())
        .try_collect()
        .await
        .map_err(|e| classify(e, "reading the role assignments", Concerns::Account))?;
    calls.ok(ROLES_READ);
    Ok(held)
}

/// How `role` on `resource` is held: (directly, through a group or inferred).
fn methods(held: &[RoleAssignment], resource: &str, role: &RoleId) -> (bool, bool) {
    let mut direct = false;
    let mut other = false;
    for a in held.iter().filter(|a| a.resource_id == resource) {
        if a.role_assignments.is_empty() {
            if a.roles.contains(role) {
                direct = true;
            }
            continue;
        }
        for g in &a.role_assignments {
            if g.role.as_ref() != Some(role) {
                continue;
            }
            for m in &g.role_assignment_methods {
                match m {
                    RoleAssignmentMethod::Direct => direct = true,
                    RoleAssignmentMethod::GroupDirect
                    | RoleAssignmentMethod::Inferred
                    | RoleAssignmentMethod::Unknown(_) => other = true,
                }
            }
            if g.role_assignment_methods.is_empty() {
                direct = true;
            }
        }
    }
    (direct, other)
}

async fn experience(ctx: &mut ExecContext<'_>, calls: &mut Calls) -> Result<Experience, StepError> {
    if let Some(e) = ctx.experience {
        return Ok(e);
    }
    let dirs: Vec<_> = ctx
        .client
        .org()
        .directories(&Default::default())
        .try_collect()
        .await
        .map_err(|e| classify(e, "listing the directories", Concerns::Other))?;
    calls.ok("GET /admin/v2/orgs/{orgId}/directories");
    let per_site = |name: Option<&str>| {
        name.is_some_and(|n| ctx.sites.iter().any(|s| s.eq_ignore_ascii_case(n)))
    };
    let e = match dirs.as_slice() {
        [] => Experience::Centralized,
        [one] if !per_site(one.name.as_deref()) => Experience::Centralized,
        _ => Experience::Original,
    };
    ctx.experience = Some(e);
    Ok(e)
}

// ---- invite ------------------------------------------------------------------------------------

fn has_membership(user: &DirectoryUser) -> bool {
    !matches!(
        user.membership_status,
        None | Some(MembershipStatus::NoMembership)
    )
}

async fn invite(ctx: &mut ExecContext<'_>, subject: &Subject, calls: &mut Calls) -> Done {
    if let Some(user) = find_user(ctx.client, &subject.email, calls).await?
        && has_membership(&user)
    {
        ctx.account_id = Some(user.account_id);
        return Ok((
            false,
            format!(
                "{} already has an account in the organization",
                subject.email
            ),
        ));
    }
    let request = InviteRequest {
        emails: vec![subject.email.trim().to_owned()],
        send_notification: Some(false),
        ..Default::default()
    };
    const INVITE: &str = "POST /admin/v2/orgs/{orgId}/users/invite";
    match ctx.client.org().invite(&request).await {
        Ok(results) => {
            calls.ok(INVITE);
            let failures: Vec<String> = results
                .iter()
                .flat_map(|r| r.failures())
                .map(|(what, why)| format!("{what}: {}", why.unwrap_or_default()))
                .collect();
            if !failures.is_empty() {
                return Err(StepError::permanent(
                    Permanent::Refused,
                    format!("the invitation was refused: {}", failures.join("; ")),
                ));
            }
            ctx.account_id = results.into_iter().find_map(|r| r.id);
        }
        Err(err) if status(&err) == Some(402) => {
            calls.note(INVITE, format!("unavailable: {err}"));
            invite_through_jira(ctx, subject, calls).await?;
        }
        Err(err) => {
            calls.note(INVITE, err.to_string());
            return Err(classify(err, "inviting the account", Concerns::Account));
        }
    }
    if ctx.account_id.is_none() {
        ctx.account_id = find_user(ctx.client, &subject.email, calls)
            .await?
            .map(|u| u.account_id);
    }
    if ctx.account_id.is_none() {
        return Err(StepError::transient(format!(
            "{} was invited but the account is not visible yet",
            subject.email
        )));
    }
    Ok((true, format!("invited {}", subject.email)))
}

/// The documented fallback when the org cannot use the invite API (no paid subscription):
/// create the user through the first site's Jira, without product access (the plan's grants
/// follow). The client makes that create safe to repeat.
async fn invite_through_jira(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    calls: &mut Calls,
) -> Result<(), StepError> {
    let Some(site) = ctx.sites.first().cloned() else {
        return Err(StepError::permanent(
            Permanent::Invalid,
            "the invite API is unavailable (no paid subscription) and no site is configured to create the account through",
        ));
    };
    let jira = ctx
        .client
        .jira(&site)
        .map_err(|e| classify(e, "creating the account", Concerns::Other))?;
    let no_products: [ProductKey; 0] = [];
    let user = jira
        .create_user(subject.email.trim(), &no_products)
        .await
        .map_err(|e| classify(e, "creating the account through Jira", Concerns::Account))?;
    calls.ok(format!("POST /rest/api/3/user ({site})"));
    ctx.account_id = Some(user.account_id);
    Ok(())
}

// ---- roles -------------------------------------------------------------------------------------

async fn org_admin(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    resource: &str,
    grant: bool,
    calls: &mut Calls,
) -> Done {
    let user = current_user(ctx, subject, calls).await?;
    let role = RoleId::from(ORG_ADMIN);
    let held = user.platform_roles.iter().flatten().any(|r| *r == role);
    let org = ctx.client.org();
    match (grant, held) {
        (true, true) => Ok((false, format!("already {ORG_ADMIN} on {resource}"))),
        (false, false) => Ok((false, format!("does not hold {ORG_ADMIN}"))),
        (true, false) => {
            org.assign_org_role(&user.account_id, &role)
                .await
                .map_err(|e| classify(e, "granting org admin", Concerns::Account))?;
            calls.ok("POST /admin/v1/orgs/{orgId}/users/{accountId}/role-assignments/assign");
            Ok((true, format!("granted {ORG_ADMIN}")))
        }
        (false, true) => {
            org.revoke_org_role(&user.account_id, &role)
                .await
                .map_err(|e| classify(e, "revoking org admin", Concerns::Account))?;
            calls.ok("POST /admin/v1/orgs/{orgId}/users/{accountId}/role-assignments/revoke");
            Ok((true, format!("revoked {ORG_ADMIN}")))
        }
    }
}

async fn product_role(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    resource: &str,
    role: &str,
    grant: bool,
    calls: &mut Calls,
) -> Done {
    let account = account_id(ctx, subject, calls).await?;
    let role_id = RoleId::from(role);
    let held = role_assignments(ctx.client, &account, calls).await?;
    let (direct, other) = methods(&held, resource, &role_id);
    let original = experience(ctx, calls).await? == Experience::Original;
    let org = ctx.client.org();
    if grant {
        // Under the original experience a grant is a default-group membership: held through a
        // group is held.
        if direct || (original && other) {
            return Ok((false, format!("already holds {role} on {resource}")));
        }
        org.assign_role(&account, &role_id, Some(resource))
            .await
            .map_err(|e| {
                classify(
                    e,
                    &format!("granting {role} on {resource}"),
                    Concerns::Account,
                )
            })?;
        calls.ok("POST /admin/v1/orgs/{orgId}/users/{accountId}/roles/assign");
        Ok((true, format!("granted {role} on {resource}")))
    } else {
        let holds = direct || (original && other);
        if !holds {
            let note = if other {
                " (still held through a group: remove that membership to take it away)"
            } else {
                ""
            };
            return Ok((
                false,
                format!("does not hold {role} on {resource} directly{note}"),
            ));
        }
        org.revoke_role(&account, &role_id, Some(resource))
            .await
            .map_err(|e| {
                classify(
                    e,
                    &format!("revoking {role} on {resource}"),
                    Concerns::Account,
                )
            })?;
        calls.ok("POST /admin/v1/orgs/{orgId}/users/{accountId}/roles/revoke");
        Ok((true, format!("revoked {role} on {resource}")))
    }
}

// ---- groups ------------------------------------------------------------------------------------

fn in_group(user: &DirectoryUser, group_id: &str) -> bool {
    user.groups.iter().flatten().any(|g| g.id == group_id)
}

async fn group(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    group_id: &str,
    group_name: &str,
    add: bool,
    calls: &mut Calls,
) -> Done {
    let user = current_user(ctx, subject, calls).await?;
    let member = in_group(&user, group_id);
    let org = ctx.client.org();
    match (add, member) {
        (true, true) => Ok((false, format!("already a member of {group_name}"))),
        (false, false) => Ok((false, format!("not a member of {group_name}"))),
        (true, false) => {
            match org
                .add_member(ALL_DIRECTORIES, group_id, &user.account_id)
                .await
            {
                Ok(()) => {}
                Err(e) if e.code() == Some("ADMIN-UAM-409-2") => {
                    calls.note("POST …/groups/{groupId}/memberships", "already a member");
                    return Ok((false, format!("already a member of {group_name}")));
                }
                Err(e) => {
                    return Err(classify(
                        e,
                        &format!("adding to group {group_name}"),
                        Concerns::Group,
                    ));
                }
            }
            calls.ok("POST /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships");
            Ok((true, format!("added to group {group_name}")))
        }
        (false, true) => {
            match org
                .remove_member(ALL_DIRECTORIES, group_id, &user.account_id)
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {
                    calls.note(
                        "DELETE …/groups/{groupId}/memberships/{accountId}",
                        "not a member",
                    );
                    return Ok((false, format!("not a member of {group_name}")));
                }
                Err(e) => {
                    return Err(classify(
                        e,
                        &format!("removing from group {group_name}"),
                        Concerns::Group,
                    ));
                }
            }
            calls.ok("DELETE /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships/{accountId}");
            Ok((true, format!("removed from group {group_name}")))
        }
    }
}

// ---- Statuspage --------------------------------------------------------------------------------

async fn team_member(
    ctx: &ExecContext<'_>,
    email: &str,
    calls: &mut Calls,
) -> Result<Option<TeamMember>, StepError> {
    let sp = ctx
        .client
        .statuspage()
        .map_err(|e| classify(e, "Statuspage", Concerns::Other))?;
    let found = sp
        .find_team_member_by_email(email)
        .await
        .map_err(|e| classify(e, "reading the Statuspage team", Concerns::Other))?;
    calls.ok("GET /v1/organizations/{organization_id}/users");
    Ok(found)
}

async fn statuspage_member(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    add: bool,
    calls: &mut Calls,
) -> Done {
    let found = team_member(ctx, &subject.email, calls).await?;
    let sp = ctx
        .client
        .statuspage()
        .map_err(|e| classify(e, "Statuspage", Concerns::Other))?;
    match (add, found) {
        (true, Some(_)) => Ok((false, "already on the Statuspage team".to_owned())),
        (false, None) => Ok((false, "not on the Statuspage team".to_owned())),
        (true, None) => {
            let member = NewTeamMember {
                email: subject.email.trim().to_owned(),
                first_name: None,
                last_name: None,
            };
            match sp.create_team_member(&member).await {
                Ok(_) => {
                    calls.ok("POST /v1/organizations/{organization_id}/users");
                    Ok((true, "added to the Statuspage team".to_owned()))
                }
                // 422: the email is taken; an earlier attempt (or someone else) added them.
                Err(e) if status(&e) == Some(422) => {
                    calls.note(
                        "POST /v1/organizations/{organization_id}/users",
                        e.to_string(),
                    );
                    if team_member(ctx, &subject.email, calls).await?.is_some() {
                        Ok((false, "already on the Statuspage team".to_owned()))
                    } else {
                        Err(classify(
                            e,
                            "adding to the Statuspage team",
                            Concerns::Account,
                        ))
                    }
                }
                Err(e) => Err(classify(
                    e,
                    "adding to the Statuspage team",
                    Concerns::Account,
                )),
            }
        }
        (false, Some(member)) => match sp.delete_team_member(&member.id).await {
            Ok(_) => {
                calls.ok("DELETE /v1/organizations/{organization_id}/users/{user_id}");
                Ok((true, "removed from the Statuspage team".to_owned()))
            }
            Err(e) if e.is_not_found() => {
                calls.note(
                    "DELETE /v1/organizations/{organization_id}/users/{user_id}",
                    "already removed",
                );
                Ok((false, "not on the Statuspage team".to_owned()))
            }
            Err(e) => Err(classify(
                e,
                "removing from the Statuspage team",
                Concerns::Account,
            )),
        },
    }
}

/// Whether the roles read back match the wanted ones. Pages without role-based access control
/// come back as `{}` whatever was asked: access alone is then the match.
fn page_matches(have: &PageRoles, want: &PageRoles) -> bool {
    if *have == PageRoles::access() {
        return true;
    }
    let f = |o: Option<bool>| o.unwrap_or(false);
    f(have.page_configuration) == f(want.page_configuration)
        && f(have.incident_manager) == f(want.incident_manager)
        && f(have.maintenance_manager) == f(want.maintenance_manager)
}

async fn statuspage_page(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    page_id: &str,
    want: Option<PageRoles>,
    calls: &mut Calls,
) -> Done {
    let Some(member) = team_member(ctx, &subject.email, calls).await? else {
        return match want {
            None => Ok((
                false,
                format!("no access to page {page_id} (not on the team)"),
            )),
            Some(_) => Err(StepError::permanent(
                Permanent::NotFound,
                format!(
                    "{} is not on the Statuspage team: add them before setting page roles",
                    subject.email
                ),
            )),
        };
    };
    let sp = ctx
        .client
        .statuspage()
        .map_err(|e| classify(e, "Statuspage", Concerns::Other))?;
    let current = sp
        .permissions(&member.id)
        .await
        .map_err(|e| classify(e, "reading Statuspage page permissions", Concerns::Other))?;
    calls.ok("GET /v1/organizations/{organization_id}/permissions/{user_id}");
    let mut pages = current.pages.clone();
    match want {
        Some(roles) => {
            if pages
                .get(page_id)
                .is_some_and(|have| page_matches(have, &roles))
            {
                return Ok((false, format!("page {page_id} roles already set")));
            }
            pages.insert(page_id.to_owned(), roles);
        }
        None => {
            if pages.remove(page_id).is_none() {
                return Ok((false, format!("no access to page {page_id}")));
            }
        }
    }
    sp.set_permissions(&member.id, &pages)
        .await
        .map_err(|e| classify(e, "writing Statuspage page permissions", Concerns::Other))?;
    calls.ok("PUT /v1/organizations/{organization_id}/permissions/{user_id}");
    Ok((
        true,
        match want {
            Some(_) => format!("set page {page_id} roles"),
            None => format!("removed access to page {page_id}"),
        },
    ))
}

// ---- JSM ---------------------------------------------------------------------------------------

async fn is_desk_customer(
    ctx: &ExecContext<'_>,
    site: &str,
    desk: &str,
    account: &str,
    email: &str,
    calls: &mut Calls,
) -> Result<bool, StepError> {
    let jsm = ctx
        .client
        .jsm(site)
        .map_err(|e| classify(e, "JSM", Concerns::Other))?;
    let customers: Vec<_> = jsm
        .desk_customers(desk, Some(email.trim()))
        .try_collect()
        .await
        .map_err(|e| {
            classify(
                e,
                &format!("reading the customers of desk {desk}"),
                Concerns::Other,
            )
        })?;
    calls.ok(format!(
        "GET /rest/servicedeskapi/servicedesk/{desk}/customer ({site})"
    ));
    Ok(customers.iter().any(|c| c.account_id == account))
}

async fn jsm_customer(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    site: &str,
    desk: &str,
    add: bool,
    calls: &mut Calls,
) -> Done {
    let account = account_id(ctx, subject, calls).await?;
    let present = is_desk_customer(ctx, site, desk, &account, &subject.email, calls).await?;
    let jsm = ctx
        .client
        .jsm(site)
        .map_err(|e| classify(e, "JSM", Concerns::Other))?;
    let ids = [account.clone()];
    match (add, present) {
        (true, true) => Ok((
            false,
            format!("already a customer of desk {desk} on {site}"),
        )),
        (false, false) => Ok((false, format!("not a customer of desk {desk} on {site}"))),
        (true, false) => {
            jsm.add_desk_customers(desk, &ids).await.map_err(|e| {
                classify(
                    e,
                    &format!("adding as customer of desk {desk}"),
                    Concerns::Account,
                )
            })?;
            calls.ok(format!(
                "POST /rest/servicedeskapi/servicedesk/{desk}/customer ({site})"
            ));
            Ok((true, format!("added as customer of desk {desk} on {site}")))
        }
        (false, true) => {
            match jsm.remove_desk_customers(desk, &ids).await {
                Ok(()) => {}
                // Atlassian removes customers only from desks with closed access; on an open
                // desk (public signup) anyone may raise requests, so there is nothing to take
                // away: the step is done, and says so.
                Err(e) if is_open_desk_refusal(&e) => {
                    ctx.open_desks.insert((site.to_owned(), desk.to_owned()));
                    calls.ok(format!(
                        "DELETE /rest/servicedeskapi/servicedesk/{desk}/customer ({site}): \
                         refused, open access"
                    ));
                    return Ok((
                        false,
                        format!(
                            "{KEPT_ON_OPEN_DESK} {desk} on {site}: the desk has open access \
                             (public signup), where Atlassian does not remove customers; close its \
                             access in the project's settings to make this removable"
                        ),
                    ));
                }
                Err(e) => {
                    return Err(classify(
                        e,
                        &format!("removing as customer of desk {desk}"),
                        Concerns::Account,
                    ));
                }
            }
            calls.ok(format!(
                "DELETE /rest/servicedeskapi/servicedesk/{desk}/customer ({site})"
            ));
            Ok((
                true,
                format!("removed as customer of desk {desk} on {site}"),
            ))
        }
    }
}

/// Whether `e` is JSM's refusal to remove a customer from a desk with open access (400,
/// "Customers can only be removed from a service desk that has closed access").
fn is_open_desk_refusal(e: &ApiError) -> bool {
    e.status().map(|s| s.as_u16()) == Some(400)
        && e.to_string().to_ascii_lowercase().contains("closed access")
}

async fn portal_only(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    site: &str,
    calls: &mut Calls,
) -> Done {
    let jira = ctx
        .client
        .jira(site)
        .map_err(|e| classify(e, "Jira", Concerns::Other))?;
    // Portal-only customers are not directory users: look them up on the site.
    let account = match &ctx.account_id {
        Some(id) => id.clone(),
        None => {
            let found = jira
                .find_user_by_email(subject.email.trim())
                .await
                .map_err(|e| classify(e, "looking up the portal customer", Concerns::Other))?;
            calls.ok(format!("GET /rest/api/3/user/search ({site})"));
            match found {
                Some(u) => {
                    ctx.account_id = Some(u.account_id.clone());
                    u.account_id
                }
                None => return Ok((false, format!("no active portal account on {site}"))),
            }
        }
    };
    let user = match jira.user(&account).await {
        Ok(u) => u,
        Err(e) if e.is_not_found() => {
            return Ok((false, format!("no portal account on {site}")));
        }
        Err(e) => return Err(classify(e, "reading the portal customer", Concerns::Other)),
    };
    calls.ok(format!("GET /rest/api/3/user ({site})"));
    if !user.active {
        return Ok((
            false,
            format!("portal-only access on {site} already revoked"),
        ));
    }
    let jsm = ctx
        .client
        .jsm(site)
        .map_err(|e| classify(e, "JSM", Concerns::Other))?;
    jsm.revoke_portal_only_access(&account)
        .await
        .map_err(|e| classify(e, "revoking portal-only access", Concerns::Account))?;
    calls.ok(format!(
        "PUT /rest/servicedeskapi/customer/user/{{accountId}}/revoke-portal-only-access ({site})"
    ));
    Ok((true, format!("revoked portal-only access on {site}")))
}

// ---- restore bundle ----------------------------------------------------------------------------

async fn save_bundle(ctx: &mut ExecContext<'_>, subject: &Subject, calls: &mut Calls) -> Done {
    let user = current_user(ctx, subject, calls).await?;
    let account = user.account_id.clone();
    if let Some(job) = ctx.job
        && let Some(existing) = ctx
            .store
            .bundles()
            .latest_for(&account)
            .await
            .map_err(StepError::store)?
        && existing.bundle.job_id == Some(job)
    {
        return Ok((
            false,
            format!("restore bundle {} already saved by this job", existing.id.0),
        ));
    }
    let held = role_assignments(ctx.client, &account, calls).await?;
    let directories = ctx
        .client
        .org()
        .directories(&DirectoryFilter {
            account_id: Some(account.clone()),
            ..DirectoryFilter::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| classify(e, "listing the account's directories", Concerns::Other))?;
    calls.ok("GET /admin/v2/orgs/{orgId}/directories?accountId=");
    let mut content = RestoreBundle {
        email: subject.email.clone(),
        account_id: Some(account.clone()),
        directories: directories.into_iter().map(|d| d.directory_id).collect(),
        groups: user
            .groups
            .iter()
            .flatten()
            .map(|g| (g.id.clone(), g.name.clone().unwrap_or_default()))
            .collect(),
        status: user.status.as_ref().map(|s| s.to_string()),
        ..RestoreBundle::default()
    };
    let org_admin = user
        .platform_roles
        .iter()
        .flatten()
        .any(|r| *r == RoleId::from(ORG_ADMIN));
    if org_admin && let Ok(org_id) = ctx.client.org_id() {
        content
            .roles
            .insert((org_ari(org_id), ORG_ADMIN.to_owned()));
    }
    for a in &held {
        for role in a.role_ids() {
            let (direct, _) = methods(std::slice::from_ref(a), &a.resource_id, &role);
            let key = (a.resource_id.clone(), role.to_string());
            if direct {
                content.roles.insert(key);
            } else {
                content.indirect_roles.insert(key);
            }
        }
    }
    if ctx.client.statuspage().is_ok()
        && let Some(member) = team_member(ctx, &subject.email, calls).await?
        && let Ok(sp) = ctx.client.statuspage()
    {
        let perms = sp
            .permissions(&member.id)
            .await
            .map_err(|e| classify(e, "reading Statuspage page permissions", Concerns::Other))?;
        calls.ok("GET /v1/organizations/{organization_id}/permissions/{user_id}");
        content.statuspage = Some(
            perms
                .pages
                .into_iter()
                .map(|(page, roles)| {
                    let flags = PageFlags {
                        page_configuration: roles.page_configuration.unwrap_or(false),
                        incident_manager: roles.incident_manager.unwrap_or(false),
                        maintenance_manager: roles.maintenance_manager.unwrap_or(false),
                    };
                    (page, flags)
                })
                .collect(),
        );
    }
    for site in ctx.sites.clone() {
        let Ok(jsm) = ctx.client.jsm(&site) else {
            continue;
        };
        let desks: Vec<_> = match jsm.service_desks().try_collect().await {
            Ok(d) => d,
            // A site without JSM has no desks.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(classify(e, "listing service desks", Concerns::Other)),
        };
        calls.ok(format!("GET /rest/servicedeskapi/servicedesk ({site})"));
        for desk in desks {
            let id = desk.id.clone();
            if is_desk_customer(ctx, &site, &id, &account, &subject.email, calls).await? {
                content.jsm_desks.insert(DeskRef {
                    site: site.clone(),
                    service_desk_id: id,
                });
            }
        }
    }
    let bundle = NewBundle {
        account_id: account,
        email: Some(subject.email.clone()),
        job_id: ctx.job,
        taken_at: chrono::Utc::now(),
        content: serde_json::to_value(&content)
            .map_err(|e| StepError::permanent(Permanent::Invalid, e.to_string()))?,
    };
    let id = ctx
        .store
        .bundles()
        .save(&bundle)
        .await
        .map_err(StepError::store)?;
    Ok((
        true,
        format!(
            "saved restore bundle {} ({} roles, {} groups)",
            id.0,
            content.roles.len(),
            content.groups.len()
        ),
    ))
}

// ---- lifecycle ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Suspend,
    Restore,
    Remove,
}

fn idp_managed(user: &DirectoryUser, doing: &str) -> Option<StepError> {
    (user.management_source == Some(ManagementSource::Synced)).then(|| {
        StepError::permanent(
            Permanent::IdpManagedAccount,
            format!(
                "cannot {doing} {}: the account is managed by the identity provider (SCIM) — deprovision it there",
                user.email.as_deref().unwrap_or(&user.account_id)
            ),
        )
    })
}

async fn lifecycle(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    directory_id: &str,
    change: Lifecycle,
    calls: &mut Calls,
) -> Done {
    let account = account_id(ctx, subject, calls).await?;
    let org = ctx.client.org();
    let user = match org.user(directory_id, &account).await {
        Ok(u) => Some(u),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(classify(e, "reading the directory user", Concerns::Account)),
    };
    calls.ok("GET /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}");
    let membership = user.as_ref().and_then(|u| u.membership_status.clone());
    match change {
        Lifecycle::Suspend => {
            let Some(user) = user.filter(has_membership) else {
                return Err(StepError::permanent(
                    Permanent::NotFound,
                    format!(
                        "{} is not a member of directory {directory_id}",
                        subject.email
                    ),
                ));
            };
            if membership == Some(MembershipStatus::Suspended) {
                return Ok((
                    false,
                    format!("already suspended in directory {directory_id}"),
                ));
            }
            if let Some(err) = idp_managed(&user, "suspend") {
                return Err(err);
            }
            org.suspend_user(directory_id, &account)
                .await
                .map_err(|e| classify(e, "suspending", Concerns::Account))?;
            calls.ok(
                "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/suspend",
            );
            Ok((true, format!("suspended in directory {directory_id}")))
        }
        Lifecycle::Restore => {
            if user.is_none() || !user.as_ref().is_some_and(has_membership) {
                return Err(StepError::permanent(
                    Permanent::NotFound,
                    format!(
                        "{} is not a member of directory {directory_id}",
                        subject.email
                    ),
                ));
            }
            if membership == Some(MembershipStatus::Active) {
                return Ok((false, format!("already active in directory {directory_id}")));
            }
            org.restore_user(directory_id, &account)
                .await
                .map_err(|e| classify(e, "restoring", Concerns::Account))?;
            calls.ok(
                "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/restore",
            );
            Ok((true, format!("restored in directory {directory_id}")))
        }
        Lifecycle::Remove => {
            let Some(user) = user.filter(has_membership) else {
                return Ok((false, format!("not in directory {directory_id}")));
            };
            if let Some(err) = idp_managed(&user, "remove") {
                return Err(err);
            }
            org.remove_user(directory_id, &account)
                .await
                .map_err(|e| classify(e, "removing from the directory", Concerns::Account))?;
            calls.ok("DELETE /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}");
            Ok((true, format!("removed from directory {directory_id}")))
        }
    }
}

async fn deactivate(ctx: &mut ExecContext<'_>, subject: &Subject, calls: &mut Calls) -> Done {
    let user = current_user(ctx, subject, calls).await?;
    if user.account_status == Some(AccountStatus::Inactive) {
        return Ok((false, "already deactivated".to_owned()));
    }
    if let Some(err) = idp_managed(&user, "deactivate") {
        return Err(err);
    }
    if user.claim_status == Some(ClaimStatus::Unmanaged) {
        return Err(StepError::permanent(
            Permanent::UnmanagedAccount,
            format!(
                "cannot deactivate {}: the account is not managed by the organization (not on a verified domain) — suspend or remove it instead",
                subject.email
            ),
        ));
    }
    ctx.client
        .user_management()
        .disable(&user.account_id, Some("Deactivated by Steward"))
        .await
        .map_err(|e| classify(e, "deactivating the account", Concerns::Account))?;
    calls.ok("POST /users/{account_id}/manage/lifecycle/disable");
    Ok((true, "deactivated the managed account".to_owned()))
}

// ---- verify ------------------------------------------------------------------------------------

/// One thing the plan means to be true after it ran.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    Account,
    Role { resource: String, role: String },
    OrgAdmin,
    Group { id: String, name: String },
    StatuspageMember,
    Page { id: String },
    Desk { site: String, desk: String },
    PortalOnly { site: String },
    Directory { id: String },
    Deactivated,
}

/// What the plan means, per thing: the last operation touching it wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Present,
    Absent,
    Page(PageRoles),
    Suspended,
    Active,
}

fn expectations(plan: &[Op]) -> BTreeMap<Expect, Want> {
    let mut out = BTreeMap::new();
    for op in plan {
        let (key, want) = match op {
            Op::InviteAccount => (Expect::Account, Want::Present),
            Op::GrantRole { role, .. } if role == ORG_ADMIN => (Expect::OrgAdmin, Want::Present),
            Op::RevokeRole { role, .. } if role == ORG_ADMIN => (Expect::OrgAdmin, Want::Absent),
            Op::GrantRole { resource, role } => (
                Expect::Role {
                    resource: resource.clone(),
                    role: role.clone(),
                },
                Want::Present,
            ),
            Op::RevokeRole { resource, role } => (
                Expect::Role {
                    resource: resource.clone(),
                    role: role.clone(),
                },
                Want::Absent,
            ),
            Op::AddToGroup {
                group_id,
                group_name,
            } => (
                Expect::Group {
                    id: group_id.clone(),
                    name: group_name.clone(),
                },
                Want::Present,
            ),
            Op::RemoveFromGroup {
                group_id,
                group_name,
            } => (
                Expect::Group {
                    id: group_id.clone(),
                    name: group_name.clone(),
                },
                Want::Absent,
            ),
            Op::AddStatuspageMember => (Expect::StatuspageMember, Want::Present),
            Op::RemoveStatuspageMember => (Expect::StatuspageMember, Want::Absent),
            Op::SetStatuspagePage {
                page_id,
                page_configuration,
                incident_manager,
                maintenance_manager,
            } => (
                Expect::Page {
                    id: page_id.clone(),
                },
                Want::Page(PageRoles::new(
                    *page_configuration,
                    *incident_manager,
                    *maintenance_manager,
                )),
            ),
            Op::RemoveStatuspagePage { page_id } => (
                Expect::Page {
                    id: page_id.clone(),
                },
                Want::Absent,
            ),
            Op::AddJsmCustomer {
                site,
                service_desk_id,
            } => (
                Expect::Desk {
                    site: site.clone(),
                    desk: service_desk_id.clone(),
                },
                Want::Present,
            ),
            Op::RemoveJsmCustomer {
                site,
                service_desk_id,
            } => (
                Expect::Desk {
                    site: site.clone(),
                    desk: service_desk_id.clone(),
                },
                Want::Absent,
            ),
            Op::RevokePortalOnlyAccess { site } => {
                (Expect::PortalOnly { site: site.clone() }, Want::Absent)
            }
            Op::SuspendAccount { directory_id } => (
                Expect::Directory {
                    id: directory_id.clone(),
                },
                Want::Suspended,
            ),
            Op::RestoreAccount { directory_id } => (
                Expect::Directory {
                    id: directory_id.clone(),
                },
                Want::Active,
            ),
            Op::RemoveFromDirectory { directory_id } => (
                Expect::Directory {
                    id: directory_id.clone(),
                },
                Want::Absent,
            ),
            Op::DeactivateAccount => (Expect::Deactivated, Want::Present),
            Op::SaveRestoreBundle | Op::Verify => continue,
        };
        out.insert(key, want);
    }
    // Removing someone from a directory takes their roles and groups there with it: what a
    // plan granted before a removal is not expected afterwards.
    out
}

/// Reads back every expectation once; returns the differences (empty: all as meant).
async fn differences(
    ctx: &mut ExecContext<'_>,
    subject: &Subject,
    wanted: &BTreeMap<Expect, Want>,
    calls: &mut Calls,
) -> Result<Vec<String>, StepError> {
    let mut diffs = vec![];
    let user = find_user(ctx.client, &subject.email, calls).await?;
    if let Some(u) = &user {
        ctx.account_id = Some(u.account_id.clone());
    }
    let needs_roles = wanted.keys().any(|k| matches!(k, Expect::Role { .. }));
    let held = match (&ctx.account_id, needs_roles) {
        (Some(account), true) => role_assignments(ctx.client, &account.clone(), calls).await?,
        _ => vec![],
    };
    let original = if needs_roles {
        experience(ctx, calls).await? == Experience::Original
    } else {
        false
    };
    let needs_statuspage = wanted
        .keys()
        .any(|k| matches!(k, Expect::StatuspageMember | Expect::Page { .. }));
    let member = if needs_statuspage {
        team_member(ctx, &subject.email, calls).await?
    } else {
        None
    };
    let pages = match (
        &member,
        wanted.keys().any(|k| matches!(k, Expect::Page { .. })),
    ) {
        (Some(m), true) => {
            let sp = ctx
                .client
                .statuspage()
                .map_err(|e| classify(e, "Statuspage", Concerns::Other))?;
            let p = sp
                .permissions(&m.id)
                .await
                .map_err(|e| classify(e, "reading Statuspage page permissions", Concerns::Other))?;
            calls.ok("GET /v1/organizations/{organization_id}/permissions/{user_id}");
            p.pages
        }
        _ => BTreeMap::new(),
    };
    for (key, want) in wanted {
        match (key, want) {
            (Expect::Account, _) => {
                if !user.as_ref().is_some_and(has_membership) {
                    diffs.push(format!("{}: no account in the organization", subject.email));
                }
            }
            (Expect::Role { resource, role }, want) => {
                let (direct, other) = methods(&held, resource, &RoleId::from(role.as_str()));
                let holds = direct || (original && other);
                match want {
                    Want::Present if !(direct || other) => {
                        diffs.push(format!("{role} on {resource}: expected held, not held"));
                    }
                    Want::Absent if holds => {
                        diffs.push(format!(
                            "{role} on {resource}: expected revoked, still held"
                        ));
                    }
                    _ => {}
                }
            }
            (Expect::OrgAdmin, want) => {
                let holds = user.as_ref().is_some_and(|u| {
                    u.platform_roles
                        .iter()
                        .flatten()
                        .any(|r| *r == RoleId::from(ORG_ADMIN))
                });
                if holds != (*want == Want::Present) {
                    diffs.push(format!(
                        "{ORG_ADMIN}: expected {}, {}",
                        if holds { "revoked" } else { "held" },
                        if holds { "still held" } else { "not held" }
                    ));
                }
            }
            (Expect::Group { id, name }, want) => {
                let member = user.as_ref().is_some_and(|u| in_group(u, id));
                if member != (*want == Want::Present) {
                    diffs.push(format!(
                        "group {name}: expected {}, {}",
                        if member { "not a member" } else { "member" },
                        if member {
                            "still a member"
                        } else {
                            "not a member"
                        }
                    ));
                }
            }
            (Expect::StatuspageMember, want) => {
                let on = member.is_some();
                if on != (*want == Want::Present) {
                    diffs.push(format!(
                        "Statuspage team: expected {}, {}",
                        if on { "removed" } else { "member" },
                        if on { "still a member" } else { "not a member" }
                    ));
                }
            }
            (Expect::Page { id }, want) => match (want, pages.get(id)) {
                (Want::Page(roles), Some(have)) if page_matches(have, roles) => {}
                (Want::Page(roles), have) => diffs.push(format!(
                    "Statuspage page {id}: expected {roles:?}, found {}",
                    have.map_or("no access".to_owned(), |h| format!("{h:?}"))
                )),
                (_, Some(have)) => {
                    diffs.push(format!(
                        "Statuspage page {id}: expected no access, found {have:?}"
                    ));
                }
                (_, None) => {}
            },
            (Expect::Desk { site, desk }, want) => {
                let present = match &ctx.account_id {
                    Some(account) => {
                        let account = account.clone();
                        is_desk_customer(ctx, site, desk, &account, &subject.email, calls).await?
                    }
                    None => false,
                };
                if present != (*want == Want::Present) {
                    diffs.push(format!(
                        "service desk {desk} on {site}: expected {}, {}",
                        if present {
                            "not a customer"
                        } else {
                            "customer"
                        },
                        if present {
                            "still a customer"
                        } else {
                            "not a customer"
                        }
                    ));
                }
            }
            (Expect::PortalOnly { site }, _) => {
                if let Some(account) = ctx.account_id.clone() {
                    let jira = ctx
                        .client
                        .jira(site)
                        .map_err(|e| classify(e, "Jira", Concerns::Other))?;
                    match jira.user(&account).await {
                        Ok(u) if u.active => diffs.push(format!(
                            "portal-only access on {site}: expected revoked, still active"
                        )),
                        Ok(_) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) => {
                            return Err(classify(
                                e,
                                "reading the portal customer",
                                Concerns::Other,
                            ));
                        }
                    }
                    calls.ok(format!("GET /rest/api/3/user ({site})"));
                }
            }
            (Expect::Directory { id }, want) => {
                let Some(account) = ctx.account_id.clone() else {
                    continue;
                };
                let membership = match ctx.client.org().user(id, &account).await {
                    Ok(u) => u.membership_status,
                    Err(e) if e.is_not_found() => None,
                    Err(e) => {
                        return Err(classify(e, "reading the directory user", Concerns::Account));
                    }
                };
                calls.ok("GET /admin/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}");
                let ok = match want {
                    Want::Suspended => membership == Some(MembershipStatus::Suspended),
                    Want::Active => membership == Some(MembershipStatus::Active),
                    _ => matches!(membership, None | Some(MembershipStatus::NoMembership)),
                };
                if !ok {
                    let mut s = format!("directory {id}: expected ");
                    let _ = write!(
                        s,
                        "{}, found {}",
                        match want {
                            Want::Suspended => "suspended",
                            Want::Active => "active",
                            _ => "removed",
                        },
                        membership.map_or("no membership".to_owned(), |m| m.to_string())
                    );
                    diffs.push(s);
                }
            }
            (Expect::Deactivated, _) => {
                let inactive = user
                    .as_ref()
                    .is_some_and(|u| u.account_status == Some(AccountStatus::Inactive));
                if !inactive {
                    diffs.push("account: expected deactivated, still active".to_owned());
                }
            }
        }
    }
    Ok(diffs)
}

async fn verify(ctx: &mut ExecContext<'_>, subject: &Subject, calls: &mut Calls) -> Done {
    let mut wanted = expectations(&ctx.plan);
    for (site, desk) in &ctx.open_desks {
        wanted.remove(&Expect::Desk {
            site: site.clone(),
            desk: desk.clone(),
        });
    }
    if wanted.is_empty() {
        return Ok((false, "nothing to verify".to_owned()));
    }
    let attempts = ctx.verify_attempts.max(1);
    let mut pause = ctx.verify_backoff;
    let mut diffs = vec![];
    for attempt in 1..=attempts {
        diffs = differences(ctx, subject, &wanted, calls).await?;
        if diffs.is_empty() {
            return Ok((false, format!("verified {} expectations", wanted.len())));
        }
        if attempt < attempts {
            // Atlassian applies some changes with a delay (role grants up to 30 s): read again.
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        }
    }
    Err(StepError::transient(format!(
        "the access read back is not what the plan meant: {}",
        diffs.join("; ")
    )))
}

/// The JSON a step's result is journaled as.
pub fn outcome_json(outcome: &StepOutcome) -> Value {
    serde_json::to_value(outcome).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_operation_on_a_thing_is_what_verify_expects() {
        let plan = vec![
            Op::GrantRole {
                resource: "r".into(),
                role: "atlassian/user".into(),
            },
            Op::RevokeRole {
                resource: "r".into(),
                role: "atlassian/user".into(),
            },
            Op::SaveRestoreBundle,
            Op::Verify,
        ];
        let e = expectations(&plan);
        assert_eq!(e.len(), 1);
        assert_eq!(e.values().next(), Some(&Want::Absent));
    }

    #[test]
    fn non_rbac_pages_match_on_access_alone() {
        assert!(page_matches(
            &PageRoles::access(),
            &PageRoles::new(true, false, false)
        ));
        assert!(!page_matches(
            &PageRoles::new(false, true, false),
            &PageRoles::new(true, false, false)
        ));
    }

    #[test]
    fn permanent_codes_are_stable() {
        assert_eq!(Permanent::LicenceLimit.code(), "LICENSE_LIMIT_REACHED");
        assert_eq!(Permanent::IdpSyncedGroup.code(), "IDP_SYNCED_GROUP");
    }
}
