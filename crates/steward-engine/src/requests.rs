//! Access requests: the workflow in front of provisioning.
//!
//! Someone asks for entitlements for a person ([`Workflow::create`]); the approval policy
//! ([`ApprovalPolicy`], from the configuration) says, per entitlement, who approves and how
//! many approvals it needs, or that it is approved by itself (low-risk entitlements); once every
//! entitlement's rule is met the request is `approved` and a grant job is queued
//! ([`Workflow::provision`], via [`enqueue_plan`]); the job's outcome makes it `provisioned` or
//! `failed`. Time-bound access expires by itself: [`Workflow::sweep`] queues a revocation job
//! once `expires_at` has passed; [`Workflow::revoke`] does the same on demand.
//!
//! Every transition is one store transaction with its audit entry, and starts from the state
//! it expects (see `steward_store::Requests`): two approvers racing see one win and the other
//! get [`RequestError::WrongState`]. Jobs are queued with an idempotency key per request and
//! purpose (`request:<id>:grant`, `request:<id>:revoke`), so a retried or concurrent step
//! (two schedulers sweeping, a sweep racing an on-demand revoke) queues one job.
//!
//! The sweep takes the time as an argument (`sweep(at)`): an injectable clock for tests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use steward_store::{
    AccessRequest, Change, JobStatus, NewAuditEntry, NewRequest, RequestId, RequestState,
    RevocationStatus, Role, Store,
};

use crate::provision::plan::INVITED_ACCOUNT_ID;
use crate::provision::{
    Catalog, CatalogConfig, CatalogError, Entitlement, OrgFacts, Plan, PlanError, Risk,
    WorkerError, apply_op, enqueue_plan, enqueue_plan_confirmed, person_state, plan_grant,
    plan_revoke,
};

/// Longest justification, in characters.
pub const MAX_JUSTIFICATION: usize = 2000;
/// Most entitlements in one request.
pub const MAX_ENTITLEMENTS: usize = 50;
/// Longest time-bound access: one year, in seconds.
pub const MAX_DURATION_SECS: i64 = 366 * 24 * 3600;
/// Longest approval or denial comment, in characters.
pub const MAX_COMMENT: usize = 2000;
/// The actor name the engine uses for what it does by itself (expiry, job outcomes).
pub const ENGINE_ACTOR: &str = "steward";

/// Who approves an entitlement under a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvers {
    /// Anyone with the approver role (or admin).
    Role,
    /// These people only (emails, compared case-insensitively).
    Named(Vec<String>),
}

/// One rule of the approval policy. A rule matches an entitlement when one of its
/// `entitlements` patterns matches the entitlement id (`*` matches any run of characters;
/// no patterns: every id) and, if `risk` is set, the entitlement has that risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Entitlement id patterns (`jira:*/admin`, `group:finance*`); empty matches all.
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// Only entitlements of this risk (`low`, `normal`, `high`).
    #[serde(default)]
    pub risk: Option<Risk>,
    /// `"approver"`: anyone with the approver role (or admin) approves. The default when
    /// `approvers` is empty.
    #[serde(default)]
    pub role: Option<String>,
    /// Named approvers (emails); when set, only they approve.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Distinct approvals needed (1 or more; default 1).
    #[serde(default = "one")]
    pub approvals: u32,
    /// Approved by itself, without anyone (meant for low-risk entitlements).
    #[serde(default)]
    pub auto_approve: bool,
}

fn one() -> u32 {
    1
}

/// The approval policy: rules tried in order, the first matching one applies to an
/// entitlement; when none matches, one approval by an approver is needed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

/// What one entitlement needs before it is approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Approved by itself.
    pub auto: bool,
    /// Distinct approvals needed.
    pub approvals: u32,
    /// Who may give them.
    pub approvers: Approvers,
}

/// An invalid policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("approval rule {index}: {message}")]
pub struct PolicyError {
    /// The rule's position (1-based).
    pub index: usize,
    /// What is wrong.
    pub message: String,
}

impl ApprovalPolicy {
    /// Checks every rule: `approvals` at least 1, `role` only `"approver"`, named approvers
    /// look like emails, patterns are not empty.
    ///
    /// # Errors
    /// The first invalid rule.
    pub fn validate(&self) -> Result<(), PolicyError> {
        for (i, rule) in self.rules.iter().enumerate() {
            let fail = |message: String| PolicyError {
                index: i + 1,
                message,
            };
            if rule.approvals == 0 {
                return Err(fail("approvals must be 1 or more".to_owned()));
            }
            match rule.role.as_deref() {
                None | Some("approver") => {}
                Some(other) => {
                    return Err(fail(format!(
                        "role = \"{other}\": only \"approver\" is supported (name people with approvers = [...])"
                    )));
                }
            }
            if rule.role.is_some() && !rule.approvers.is_empty() {
                return Err(fail("set role or approvers, not both".to_owned()));
            }
            if let Some(bad) = rule.approvers.iter().find(|a| parse_email(a).is_err()) {
                return Err(fail(format!("approver `{bad}` is not an email")));
            }
            if rule.entitlements.iter().any(|p| p.trim().is_empty()) {
                return Err(fail("an empty entitlement pattern".to_owned()));
            }
            if !rule.approvers.is_empty() && rule.approvals as usize > rule.approvers.len() {
                return Err(fail(format!(
                    "needs {} approvals but names only {} approvers",
                    rule.approvals,
                    rule.approvers.len()
                )));
            }
        }
        Ok(())
    }

    /// What `entitlement` needs: the first matching rule, else one approver's approval.
    pub fn requirement(&self, id: &str, risk: Risk) -> Requirement {
        let rule = self.rules.iter().find(|r| {
            (r.entitlements.is_empty() || r.entitlements.iter().any(|p| glob(p, id)))
                && r.risk.is_none_or(|wanted| wanted == risk)
        });
        match rule {
            None => Requirement {
                auto: false,
                approvals: 1,
                approvers: Approvers::Role,
            },
            Some(r) => Requirement {
                auto: r.auto_approve,
                approvals: r.approvals.max(1),
                approvers: if r.approvers.is_empty() {
                    Approvers::Role
                } else {
                    Approvers::Named(r.approvers.iter().map(|a| a.to_lowercase()).collect())
                },
            },
        }
    }
}

impl Requirement {
    /// Whether `approver` (lower case, with `role`) may approve under this requirement.
    pub fn eligible(&self, approver: &str, role: Role) -> bool {
        match &self.approvers {
            Approvers::Role => role >= Role::Approver,
            Approvers::Named(names) => names.iter().any(|n| n == approver),
        }
    }

    /// Whether the approvals (approver names in lower case, with their role when they
    /// approved; one per approver) meet this requirement: enough of them are eligible.
    pub fn met_by<'a>(&self, approvals: impl IntoIterator<Item = (&'a str, Role)>) -> bool {
        if self.auto {
            return true;
        }
        let count = approvals
            .into_iter()
            .filter(|(name, role)| self.eligible(name, *role))
            .count();
        count >= self.approvals as usize
    }
}

/// `*` matches any run of characters (also none); everything else matches itself, ASCII case
/// insensitively.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A plausible email: one `@`, a non-empty local part, a dotted domain, no spaces or control
/// characters, at most 254 bytes. Returns it trimmed.
///
/// # Errors
/// What is wrong with it.
pub fn parse_email(input: &str) -> Result<String, String> {
    let email = input.trim();
    let bad = |why: &str| Err(format!("`{email}` is not an email address: {why}"));
    if email.is_empty() {
        return bad("it is empty");
    }
    if email.len() > 254 {
        return bad("it is longer than 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces or control characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("it has no @");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("it needs exactly one @ with a name before it");
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return bad("the domain after @ must be like acme.com");
    }
    Ok(email.to_owned())
}

/// Who acts on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A console user's email, or an API token's name.
    pub name: String,
    /// Their role.
    pub role: Role,
}

/// What someone asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInput {
    /// Whom the access is for (an email).
    pub subject: String,
    /// Entitlement ids (`steward entitlements` lists them).
    pub entitlements: Vec<String>,
    /// Why (required, at most [`MAX_JUSTIFICATION`] characters).
    pub justification: String,
    /// How long the access lasts once provisioned, in seconds (1 to [`MAX_DURATION_SECS`]).
    pub duration_secs: Option<i64>,
}

/// Why a request operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A field of the request is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong, and what is accepted.
        message: String,
    },
    /// An entitlement id is malformed or not in the catalog of the latest sync.
    #[error(transparent)]
    UnknownEntitlement(CatalogError),
    /// Nothing has been synced: entitlements can't be checked.
    #[error("nothing has been synced yet: run a sync first (the entitlements come from it)")]
    NotSynced,
    /// No such request.
    #[error("access request {0} does not exist")]
    NotFound(RequestId),
    /// The request is not in a state this action applies to.
    #[error("access request {id} is {state}: {action} needs it {}", expected.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or "))]
    WrongState {
        /// The request.
        id: RequestId,
        /// Its state.
        state: RequestState,
        /// The action tried.
        action: &'static str,
        /// The states it applies to.
        expected: Vec<RequestState>,
    },
    /// The requester or the person the access is for tried to approve.
    #[error(
        "{who} can't approve request {id}: nobody approves a request they made or that gives them access"
    )]
    SelfApproval {
        /// The request.
        id: RequestId,
        /// Who tried.
        who: String,
    },
    /// The policy names other approvers for every entitlement still needing approval.
    #[error("{who} is not an approver of request {id} under the approval policy: {detail}")]
    NotAnApprover {
        /// The request.
        id: RequestId,
        /// Who tried.
        who: String,
        /// Who may approve.
        detail: String,
    },
    /// Only the requester (or an admin) cancels a request.
    #[error("only the requester ({requester}) or an admin can cancel request {id}")]
    NotRequester {
        /// The request.
        id: RequestId,
        /// Who made it.
        requester: String,
    },
    /// Only an admin may do this.
    #[error("only an admin can {action}")]
    AdminOnly {
        /// What was tried.
        action: &'static str,
    },
    /// A revocation retry of a request whose revocation has not failed.
    #[error("access request {id}'s revocation {}: only a failed revocation is queued again", .status.map_or("was never queued".to_owned(), |s| format!("is {s}")))]
    RevocationNotFailed {
        /// The request.
        id: RequestId,
        /// Its revocation's status, if it has one.
        status: Option<RevocationStatus>,
    },
    /// The planner refused the grant or the revocation (a guard rail, a role held through a
    /// group).
    #[error("cannot plan it: {0}")]
    Refused(String),
    /// The store failed.
    #[error("store")]
    Store(#[source] steward_store::Error),
    /// Queuing the job failed.
    #[error("cannot queue the job")]
    Worker(#[source] WorkerError),
}

impl From<steward_store::Error> for RequestError {
    fn from(e: steward_store::Error) -> Self {
        match e {
            steward_store::Error::UnknownRequest(id) => RequestError::NotFound(id),
            steward_store::Error::RevocationNotFailed { request, status } => {
                RequestError::RevocationNotFailed {
                    id: request,
                    status,
                }
            }
            other => RequestError::Store(other),
        }
    }
}

impl From<WorkerError> for RequestError {
    fn from(e: WorkerError) -> Self {
        match e {
            WorkerError::Store(s) => s.into(),
            other => RequestError::Worker(other),
        }
    }
}

impl From<PlanError> for RequestError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Store(s) => s.into(),
            other => RequestError::Refused(other.to_string()),
        }
    }
}

fn wrong_state(action: &'static str) -> impl Fn(steward_store::Error) -> RequestError {
    move |e| match e {
        steward_store::Error::RequestState {
            request,
            state,
            expected,
        } => RequestError::WrongState {
            id: request,
            state,
            action,
            expected,
        },
        other => other.into(),
    }
}

/// What one [`Workflow::sweep`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Approved requests whose grant job was queued.
    pub queued: usize,
    /// Requests whose grant job succeeded.
    pub provisioned: usize,
    /// Requests whose grant job failed (or that could not be planned).
    pub failed: usize,
    /// Requests that expired (revocation queued).
    pub expired: usize,
    /// Requests whose revocation job succeeded.
    pub revocations_succeeded: usize,
    /// Requests whose revocation job failed (shown on the request; an admin retries it).
    pub revocations_failed: usize,
    /// Requests the sweep could not advance this time, with why (retried next sweep).
    pub errors: Vec<String>,
}

/// The request workflow over a store (cheap to clone).
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The store.
    pub store: Store,
    /// The approval policy.
    pub policy: ApprovalPolicy,
    /// The integration account (the planner's guard rails need it).
    pub integration_email: Option<String>,
    /// What the catalog offers (platform roles are requestable only when on).
    pub catalog: CatalogConfig,
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Workflow {
    /// A workflow with `policy` and the default catalog (no platform roles).
    pub fn new(store: Store, policy: ApprovalPolicy, integration_email: Option<String>) -> Self {
        Workflow {
            store,
            policy,
            integration_email,
            catalog: CatalogConfig::default(),
        }
    }

    async fn catalog(&self) -> Result<(steward_store::Snapshot, Catalog), RequestError> {
        let snapshot = self
            .store
            .latest_snapshot()
            .await?
            .ok_or(RequestError::NotSynced)?;
        let catalog = Catalog::from_snapshot(&snapshot, &self.catalog)
            .await
            .map_err(|e| match e {
                CatalogError::Store(s) => RequestError::from(s),
                other => RequestError::UnknownEntitlement(other),
            })?;
        Ok((snapshot, catalog))
    }

    fn requirements(&self, entitlements: &[Entitlement]) -> Vec<(String, Requirement)> {
        entitlements
            .iter()
            .map(|e| {
                let id = e.id.to_string();
                let req = self.policy.requirement(&id, e.risk);
                (id, req)
            })
            .collect()
    }

    /// Checks and records a request by `actor`; approved at once (and its grant job queued)
    /// when every entitlement's rule is `auto_approve`. Not idempotent by itself (the API's
    /// `Idempotency-Key` guards retries).
    ///
    /// # Errors
    /// [`RequestError::Invalid`], [`RequestError::UnknownEntitlement`],
    /// [`RequestError::NotSynced`], store and queue failures.
    pub async fn create(
        &self,
        actor: &Actor,
        input: &RequestInput,
    ) -> Result<AccessRequest, RequestError> {
        let subject = parse_email(&input.subject).map_err(|message| RequestError::Invalid {
            field: "subject",
            message,
        })?;
        let justification = input.justification.trim();
        if justification.is_empty() {
            return Err(RequestError::Invalid {
                field: "justification",
                message: "say why the access is needed".to_owned(),
            });
        }
        if justification.chars().count() > MAX_JUSTIFICATION {
            return Err(RequestError::Invalid {
                field: "justification",
                message: format!("at most {MAX_JUSTIFICATION} characters"),
            });
        }
        if input.entitlements.is_empty() || input.entitlements.len() > MAX_ENTITLEMENTS {
            return Err(RequestError::Invalid {
                field: "entitlements",
                message: format!(
                    "name 1 to {MAX_ENTITLEMENTS} entitlement ids (GET /api/v1/entitlements lists them)"
                ),
            });
        }
        if let Some(d) = input.duration_secs
            && !(1..=MAX_DURATION_SECS).contains(&d)
        {
            return Err(RequestError::Invalid {
                field: "duration_secs",
                message: format!("between 1 and {MAX_DURATION_SECS} seconds (a year), got {d}"),
            });
        }
        let (_, catalog) = self.catalog().await?;
        let entitlements = catalog
            .resolve_all(&input.entitlements)
            .map_err(RequestError::UnknownEntitlement)?;
        let mut ids: Vec<String> = entitlements.iter().map(|e| e.id.to_string()).collect();
        ids.dedup();
        let requirements = self.requirements(&entitlements);
        let auto = requirements.iter().all(|(_, r)| r.auto);
        let initial = if auto {
            RequestState::Approved
        } else {
            RequestState::Pending
        };
        let new = NewRequest {
            subject: subject.clone(),
            entitlements: ids.clone(),
            justification: justification.to_owned(),
            duration_secs: input.duration_secs,
            requested_by: actor.name.clone(),
        };
        let audit = NewAuditEntry {
            actor: actor.name.clone(),
            action: "request.created".to_owned(),
            subject: Some(subject),
            reason: Some(justification.to_owned()),
            detail: json!({
                "entitlements": ids,
                "duration_secs": input.duration_secs,
                "auto_approved": auto,
            }),
            result: if auto { "approved" } else { "pending" }.to_owned(),
            job: None,
        };
        let created = self.store.requests().create(&new, initial, &audit).await?;
        if auto {
            return self.provision(created.id).await;
        }
        Ok(created)
    }

    /// Records `actor`'s approval; when every entitlement's rule is then met the request is
    /// `approved` and its grant job queued. Approving again is a no-op.
    ///
    /// # Errors
    /// [`RequestError::SelfApproval`], [`RequestError::NotAnApprover`],
    /// [`RequestError::WrongState`] (not pending: e.g. another approver got there first),
    /// [`RequestError::NotFound`], store and queue failures.
    pub async fn approve(
        &self,
        actor: &Actor,
        id: RequestId,
        comment: Option<&str>,
    ) -> Result<AccessRequest, RequestError> {
        let comment = check_comment(comment)?;
        let request = self.store.requests().get(id).await?;
        let who = actor.name.to_lowercase();
        let requirements = self.stored_requirements(&request).await?;
        if let Some(refusal) = approver_refusal(actor, &request, &requirements) {
            return Err(refusal);
        }
        let audit = NewAuditEntry {
            actor: actor.name.clone(),
            action: "request.approval".to_owned(),
            subject: Some(request.request.subject.clone()),
            reason: comment.clone(),
            detail: json!({ "entitlements": request.request.entitlements }),
            result: "ok".to_owned(),
            job: None,
        };
        let approved = self
            .store
            .requests()
            .approve(
                id,
                &who,
                actor.role,
                comment.as_deref(),
                |r| {
                    requirements.iter().all(|(_, req)| {
                        req.met_by(r.approvals.iter().map(|a| (a.approver.as_str(), a.role)))
                    })
                },
                &audit,
            )
            .await
            .map_err(wrong_state("approve"))?;
        if approved.now_approved {
            return self.provision(id).await;
        }
        Ok(approved.request)
    }

    /// The requirements of a recorded request's entitlements (their risk from the latest
    /// catalog; an entitlement no longer in it counts as high risk).
    async fn stored_requirements(
        &self,
        request: &AccessRequest,
    ) -> Result<Vec<(String, Requirement)>, RequestError> {
        let catalog = self.catalog_if_synced().await?;
        Ok(self.requirements_of(request, catalog.as_ref()))
    }

    async fn catalog_if_synced(&self) -> Result<Option<Catalog>, RequestError> {
        match self.catalog().await {
            Ok((_, c)) => Ok(Some(c)),
            Err(RequestError::NotSynced) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn requirements_of(
        &self,
        request: &AccessRequest,
        catalog: Option<&Catalog>,
    ) -> Vec<(String, Requirement)> {
        request
            .request
            .entitlements
            .iter()
            .map(|id| {
                let risk = catalog
                    .and_then(|c| c.resolve(id).ok())
                    .map_or(Risk::High, |e| e.risk);
                (id.clone(), self.policy.requirement(id, risk))
            })
            .collect()
    }

    /// Why `actor` could not approve each of `requests` now, as [`Workflow::approve`] would
    /// refuse it (`None`: they may approve it): not pending, self-approval, or not an
    /// approver of it under the policy. One catalog read for all of them (for the console's
    /// queue, which shows Approve only where it would be accepted, and the reason otherwise).
    ///
    /// # Errors
    /// Store failures reading the catalog.
    pub async fn approval_refusals(
        &self,
        actor: &Actor,
        requests: &[AccessRequest],
    ) -> Result<Vec<Option<RequestError>>, RequestError> {
        let catalog = self.catalog_if_synced().await?;
        Ok(requests
            .iter()
            .map(|r| {
                if r.state != RequestState::Pending {
                    return Some(RequestError::WrongState {
                        id: r.id,
                        state: r.state,
                        action: "approve",
                        expected: vec![RequestState::Pending],
                    });
                }
                let requirements = self.requirements_of(r, catalog.as_ref());
                approver_refusal(actor, r, &requirements)
            })
            .collect())
    }

    /// Denies a pending request, with the approver's comment.
    ///
    /// # Errors
    /// [`RequestError::WrongState`], [`RequestError::NotFound`], store failures.
    pub async fn deny(
        &self,
        actor: &Actor,
        id: RequestId,
        comment: Option<&str>,
    ) -> Result<AccessRequest, RequestError> {
        let comment = check_comment(comment)?;
        self.decide(
            actor,
            id,
            "deny",
            &[RequestState::Pending],
            RequestState::Denied,
            comment,
            None,
        )
        .await
    }

    /// Cancels a pending request: only its requester or an admin.
    ///
    /// # Errors
    /// [`RequestError::NotRequester`], [`RequestError::WrongState`],
    /// [`RequestError::NotFound`], store failures.
    pub async fn cancel(
        &self,
        actor: &Actor,
        id: RequestId,
        comment: Option<&str>,
    ) -> Result<AccessRequest, RequestError> {
        let comment = check_comment(comment)?;
        let request = self.store.requests().get(id).await?;
        if !same(&actor.name, &request.request.requested_by) && actor.role < Role::Admin {
            return Err(RequestError::NotRequester {
                id,
                requester: request.request.requested_by,
            });
        }
        self.decide(
            actor,
            id,
            "cancel",
            &[RequestState::Pending],
            RequestState::Cancelled,
            comment,
            None,
        )
        .await
    }

    /// Revokes provisioned access on demand: queues a revocation job and marks the request
    /// `revoked`. Revoking a revoked request again is a no-op.
    ///
    /// # Errors
    /// [`RequestError::WrongState`] (not provisioned), [`RequestError::Refused`] (the planner
    /// refused the revocation), [`RequestError::NotFound`], store and queue failures.
    pub async fn revoke(
        &self,
        actor: &Actor,
        id: RequestId,
        comment: Option<&str>,
    ) -> Result<AccessRequest, RequestError> {
        let comment = check_comment(comment)?;
        let request = self.store.requests().get(id).await?;
        if request.state == RequestState::Revoked {
            // Revoked already (a retry): nothing more to queue.
            return Ok(request);
        }
        if request.state != RequestState::Provisioned {
            return Err(RequestError::WrongState {
                id,
                state: request.state,
                action: "revoke",
                expected: vec![RequestState::Provisioned],
            });
        }
        let job = self
            .queue_revocation(&request, &actor.name, &revoke_key(id), true)
            .await?;
        self.decide(
            actor,
            id,
            "revoke",
            &[RequestState::Provisioned],
            RequestState::Revoked,
            comment,
            job,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        actor: &Actor,
        id: RequestId,
        action: &'static str,
        from: &[RequestState],
        to: RequestState,
        comment: Option<String>,
        revoke_job: Option<steward_store::JobId>,
    ) -> Result<AccessRequest, RequestError> {
        let request = self.store.requests().get(id).await?;
        let audit = NewAuditEntry {
            actor: actor.name.clone(),
            action: format!("request.{to}"),
            subject: Some(request.request.subject.clone()),
            reason: comment.clone(),
            detail: json!({
                "entitlements": request.request.entitlements,
                "revoke_job": revoke_job.map(|j| j.0),
            }),
            result: "ok".to_owned(),
            job: None,
        };
        let change = Change {
            decided_by: Some(actor.name.clone()),
            reason: comment,
            revoke_job,
            ..Change::to(to)
        };
        Ok(self
            .store
            .requests()
            .transition(id, from, &change, Some(&audit))
            .await
            .map_err(wrong_state(action))?
            .request)
    }

    /// Queues the grant job of an `approved` request and moves it to `provisioning` (or to
    /// `failed` when the planner refuses). Any other state: returned as it is. Idempotent:
    /// the job's idempotency key is `request:<id>:grant`.
    ///
    /// # Errors
    /// [`RequestError::NotFound`], store and queue failures (the request stays approved; the
    /// next sweep tries again).
    pub async fn provision(&self, id: RequestId) -> Result<AccessRequest, RequestError> {
        let request = self.store.requests().get(id).await?;
        if request.state != RequestState::Approved {
            return Ok(request);
        }
        let planned = self.plan_grant(&request).await;
        let plan = match planned {
            Ok(plan) => plan,
            Err(
                RequestError::Refused(reason)
                | RequestError::Invalid {
                    message: reason, ..
                },
            ) => {
                return self.fail(&request, RequestState::Approved, &reason).await;
            }
            Err(RequestError::UnknownEntitlement(e)) => {
                return self
                    .fail(&request, RequestState::Approved, &e.to_string())
                    .await;
            }
            Err(e) => return Err(e),
        };
        let enqueued = enqueue_plan(
            &self.store,
            &plan,
            "grant",
            &request.request.requested_by,
            &request.request.justification,
            Some(&format!("request:{}:grant", id.0)),
        )
        .await?;
        let audit = NewAuditEntry {
            actor: ENGINE_ACTOR.to_owned(),
            action: "request.provisioning".to_owned(),
            subject: Some(request.request.subject.clone()),
            reason: Some(request.request.justification.clone()),
            detail: json!({ "job": enqueued.id.0, "entitlements": request.request.entitlements }),
            result: "ok".to_owned(),
            job: None,
        };
        let change = Change {
            grant_job: Some(enqueued.id),
            ..Change::to(RequestState::Provisioning)
        };
        Ok(self
            .store
            .requests()
            .transition(id, &[RequestState::Approved], &change, Some(&audit))
            .await
            .map_err(wrong_state("provision"))?
            .request)
    }

    async fn fail(
        &self,
        request: &AccessRequest,
        from: RequestState,
        reason: &str,
    ) -> Result<AccessRequest, RequestError> {
        let audit = NewAuditEntry {
            actor: ENGINE_ACTOR.to_owned(),
            action: "request.failed".to_owned(),
            subject: Some(request.request.subject.clone()),
            reason: Some(reason.to_owned()),
            detail: json!({ "job": request.grant_job.map(|j| j.0) }),
            result: "failed".to_owned(),
            job: None,
        };
        let change = Change {
            reason: Some(reason.to_owned()),
            ..Change::to(RequestState::Failed)
        };
        Ok(self
            .store
            .requests()
            .transition(request.id, &[from], &change, Some(&audit))
            .await
            .map_err(wrong_state("fail"))?
            .request)
    }

    async fn plan_grant(&self, request: &AccessRequest) -> Result<Plan, RequestError> {
        let (snapshot, catalog) = self.catalog().await?;
        let entitlements = catalog
            .resolve_all(&request.request.entitlements)
            .map_err(RequestError::UnknownEntitlement)?;
        let facts = OrgFacts::from_snapshot(&snapshot, self.integration_email.as_deref()).await?;
        let state = person_state(&snapshot, &request.request.subject, &facts).await?;
        let mut plan = plan_grant(&state, &entitlements, &facts)?;
        plan.planned_against_run = Some(snapshot.run().0);
        Ok(plan)
    }

    /// Plans and queues the revocation of what the request's grant changed (key
    /// `request:<id>:revoke`). The person's state is the latest snapshot with the grant
    /// job's operations applied (the planner's model), so a revocation before the next sync
    /// still sees the access; only entitlements the grant plan actually granted are revoked
    /// (access the person held before the request stays). A role the grant gave through a
    /// group (original user management) is revoked with that group.
    ///
    /// `confirmed`: a person asked for it (revoke on demand, an admin's retry), so the job
    /// passes the execution-time mass-change circuit breaker; expiries are automation and are
    /// held by it like any unconfirmed job (their failure shows on the request, and an
    /// admin's retry goes through).
    async fn queue_revocation(
        &self,
        request: &AccessRequest,
        actor: &str,
        key: &str,
        confirmed: bool,
    ) -> Result<Option<steward_store::JobId>, RequestError> {
        let Some(grant_job) = request.grant_job else {
            return Ok(None);
        };
        let job = self.store.jobs().get(grant_job).await?;
        let grant: Plan = serde_json::from_value(job.job.plan.clone()).map_err(|e| {
            RequestError::Refused(format!("the grant job's plan does not decode: {e}"))
        })?;
        let granted: Vec<&String> = request
            .request
            .entitlements
            .iter()
            .filter(|id| {
                let why = format!("requested: {id}");
                grant
                    .ops
                    .iter()
                    .any(|p| p.why == why || p.why.starts_with(&format!("{why} ")))
            })
            .collect();
        if granted.is_empty() {
            return Ok(None);
        }
        let (snapshot, catalog) = self.catalog().await?;
        let facts = OrgFacts::from_snapshot(&snapshot, self.integration_email.as_deref()).await?;
        let mut state = person_state(&snapshot, &request.request.subject, &facts).await?;
        for op in &grant.ops {
            apply_op(&mut state, &op.op, &facts);
        }
        let mut ids: Vec<String> = granted.into_iter().cloned().collect();
        let mut plan = None;
        for _ in 0..4 {
            let entitlements = catalog
                .resolve_all(&ids)
                .map_err(RequestError::UnknownEntitlement)?;
            match plan_revoke(&state, &entitlements, &facts) {
                Ok(p) => {
                    plan = Some(p);
                    break;
                }
                Err(PlanError::HeldThroughGroup { group, .. }) => {
                    let group = format!("group:{group}");
                    if ids.contains(&group) {
                        return Err(RequestError::Refused(format!(
                            "{group} is held through itself"
                        )));
                    }
                    ids.push(group);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(mut plan) = plan else {
            return Err(RequestError::Refused(
                "the revocation needs more groups than planned".to_owned(),
            ));
        };
        if plan.subject.account_id.as_deref() == Some(INVITED_ACCOUNT_ID) {
            plan.subject.account_id = None;
        }
        plan.planned_against_run = Some(snapshot.run().0);
        let enqueued = enqueue_plan_confirmed(
            &self.store,
            &plan,
            "revoke",
            actor,
            &format!("access request {} ended", request.id.0),
            Some(key),
            confirmed,
        )
        .await?;
        Ok(Some(enqueued.id))
    }

    /// Advances every request that needs it at `at`: queues the grant job of approved ones,
    /// records the outcome of finished grant jobs (`provisioned` / `failed` with the job's
    /// error), and expires provisioned ones whose `expires_at` is at or before `at` (queues
    /// their revocation). Safe to run concurrently in several processes (every step is
    /// idempotent or loses cleanly to the one that got there first). A request that can't be
    /// advanced is reported in `errors` and tried again next time.
    ///
    /// # Errors
    /// Store failures listing the due requests.
    pub async fn sweep(&self, at: DateTime<Utc>) -> Result<SweepReport, RequestError> {
        let mut report = SweepReport::default();
        for request in self.store.requests().due(at).await? {
            let id = request.id;
            let outcome = self.advance(&request, at, &mut report).await;
            match outcome {
                Ok(()) | Err(RequestError::WrongState { .. }) => {}
                Err(e) => {
                    tracing::warn!(request = id.0, error = %e, "cannot advance the access request");
                    report.errors.push(format!("request {}: {e}", id.0));
                }
            }
        }
        Ok(report)
    }

    async fn advance(
        &self,
        request: &AccessRequest,
        at: DateTime<Utc>,
        report: &mut SweepReport,
    ) -> Result<(), RequestError> {
        match request.state {
            RequestState::Approved => {
                let after = self.provision(request.id).await?;
                match after.state {
                    RequestState::Provisioning => report.queued += 1,
                    RequestState::Failed => report.failed += 1,
                    _ => {}
                }
            }
            RequestState::Provisioning => {
                let Some(job) = request.grant_job else {
                    return Ok(());
                };
                let job = self.store.jobs().get(job).await?.job;
                match job.status {
                    JobStatus::Queued | JobStatus::Running => {}
                    JobStatus::Succeeded => {
                        let audit = NewAuditEntry {
                            actor: ENGINE_ACTOR.to_owned(),
                            action: "request.provisioned".to_owned(),
                            subject: Some(request.request.subject.clone()),
                            reason: None,
                            detail: json!({ "job": job.id.0 }),
                            result: "ok".to_owned(),
                            job: None,
                        };
                        self.store
                            .requests()
                            .transition(
                                request.id,
                                &[RequestState::Provisioning],
                                &Change::to(RequestState::Provisioned),
                                Some(&audit),
                            )
                            .await
                            .map_err(wrong_state("provisioned"))?;
                        report.provisioned += 1;
                    }
                    JobStatus::Failed | JobStatus::Cancelled => {
                        let reason = job.error.unwrap_or_else(|| {
                            format!("grant job {} {}", job.id.0, job.status.as_str())
                        });
                        self.fail(request, RequestState::Provisioning, &reason)
                            .await?;
                        report.failed += 1;
                    }
                }
            }
            RequestState::Provisioned => {
                if request.expires_at.is_some_and(|e| e <= at) {
                    let job = self
                        .queue_revocation(request, ENGINE_ACTOR, &revoke_key(request.id), false)
                        .await?;
                    let audit = NewAuditEntry {
                        actor: ENGINE_ACTOR.to_owned(),
                        action: "request.expired".to_owned(),
                        subject: Some(request.request.subject.clone()),
                        reason: Some("the access's time ran out".to_owned()),
                        detail: json!({
                            "expires_at": request.expires_at,
                            "revoke_job": job.map(|j| j.0),
                        }),
                        result: "ok".to_owned(),
                        job: None,
                    };
                    let change = Change {
                        decided_by: Some(ENGINE_ACTOR.to_owned()),
                        reason: Some("expired".to_owned()),
                        revoke_job: job,
                        ..Change::to(RequestState::Expired)
                    };
                    self.store
                        .requests()
                        .transition(
                            request.id,
                            &[RequestState::Provisioned],
                            &change,
                            Some(&audit),
                        )
                        .await
                        .map_err(wrong_state("expire"))?;
                    report.expired += 1;
                }
            }
            RequestState::Expired | RequestState::Revoked => {
                self.follow_revocation(request, report).await?;
            }
            RequestState::Pending
            | RequestState::Failed
            | RequestState::Denied
            | RequestState::Cancelled => {}
        }
        Ok(())
    }

    /// Records the outcome of an ended request's revocation job once it has one, as the
    /// sweep does for grant jobs: `succeeded`, or `failed` with the job's error (the request
    /// keeps its state; the failure shows on it until an admin retries).
    async fn follow_revocation(
        &self,
        request: &AccessRequest,
        report: &mut SweepReport,
    ) -> Result<(), RequestError> {
        let Some(revocation) = request
            .revocation
            .as_ref()
            .filter(|r| r.status == RevocationStatus::InProgress)
        else {
            return Ok(());
        };
        let job = self.store.jobs().get(revocation.job).await?.job;
        let (status, error) = match job.status {
            JobStatus::Queued | JobStatus::Running => return Ok(()),
            JobStatus::Succeeded => (RevocationStatus::Succeeded, None),
            JobStatus::Failed | JobStatus::Cancelled => (
                RevocationStatus::Failed,
                Some(job.error.clone().unwrap_or_else(|| {
                    format!("revocation job {} {}", job.id.0, job.status.as_str())
                })),
            ),
        };
        let failed = status == RevocationStatus::Failed;
        let audit = NewAuditEntry {
            actor: ENGINE_ACTOR.to_owned(),
            action: if failed {
                "request.revocation_failed"
            } else {
                "request.revocation_succeeded"
            }
            .to_owned(),
            subject: Some(request.request.subject.clone()),
            reason: error.clone(),
            detail: json!({ "job": job.id.0, "entitlements": request.request.entitlements }),
            result: if failed { "failed" } else { "ok" }.to_owned(),
            job: None,
        };
        let recorded = self
            .store
            .requests()
            .record_revocation(request.id, job.id, status, error.as_deref(), &audit)
            .await?;
        if recorded.changed {
            if failed {
                tracing::warn!(
                    request = request.id.0,
                    job = job.id.0,
                    "the revocation job failed"
                );
                report.revocations_failed += 1;
            } else {
                report.revocations_succeeded += 1;
            }
        }
        Ok(())
    }

    /// Queues a failed revocation again (admins): plans it anew against the latest sync and
    /// the grant job's operations, as the first one was, queues it as a new job (key
    /// `request:<id>:revoke:retry:<failed job>`, so a double submit queues one job) and
    /// records it on the request, audited. The request keeps its state (`expired` or
    /// `revoked`); its revocation is `in_progress` again and the sweep follows the new job.
    ///
    /// # Errors
    /// [`RequestError::AdminOnly`], [`RequestError::RevocationNotFailed`],
    /// [`RequestError::Refused`] (the planner refused), [`RequestError::NotFound`], store and
    /// queue failures.
    pub async fn retry_revocation(
        &self,
        actor: &Actor,
        id: RequestId,
        comment: Option<&str>,
    ) -> Result<AccessRequest, RequestError> {
        if actor.role < Role::Admin {
            return Err(RequestError::AdminOnly {
                action: "retry a revocation",
            });
        }
        let comment = check_comment(comment)?;
        let request = self.store.requests().get(id).await?;
        let failed = match &request.revocation {
            Some(r) if r.status == RevocationStatus::Failed => r.job,
            other => {
                return Err(RequestError::RevocationNotFailed {
                    id,
                    status: other.as_ref().map(|r| r.status),
                });
            }
        };
        let key = format!("request:{}:revoke:retry:{}", id.0, failed.0);
        let Some(job) = self
            .queue_revocation(&request, &actor.name, &key, true)
            .await?
        else {
            return Err(RequestError::Refused(
                "nothing the grant job gave is left to revoke".to_owned(),
            ));
        };
        let audit = NewAuditEntry {
            actor: actor.name.clone(),
            action: "request.revocation_retried".to_owned(),
            subject: Some(request.request.subject.clone()),
            reason: comment,
            detail: json!({ "entitlements": request.request.entitlements }),
            result: "ok".to_owned(),
            job: None,
        };
        Ok(self
            .store
            .requests()
            .retry_revocation(id, failed, job, &audit)
            .await?
            .request)
    }
}

/// Why `actor` may not approve `request` under `requirements`: the requester or the person
/// the access is for, or not eligible for any entitlement (unless they approved already,
/// which is a no-op).
fn approver_refusal(
    actor: &Actor,
    request: &AccessRequest,
    requirements: &[(String, Requirement)],
) -> Option<RequestError> {
    let id = request.id;
    let who = actor.name.to_lowercase();
    if same(&who, &request.request.requested_by) || same(&who, &request.request.subject) {
        return Some(RequestError::SelfApproval { id, who });
    }
    let eligible = requirements
        .iter()
        .any(|(_, r)| r.eligible(&who, actor.role));
    let already = request.approvals.iter().any(|a| a.approver == who);
    if !eligible && !already {
        let detail = requirements
            .iter()
            .map(|(id, r)| match &r.approvers {
                Approvers::Role => format!("{id}: anyone with the approver role"),
                Approvers::Named(n) => format!("{id}: {}", n.join(", ")),
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Some(RequestError::NotAnApprover { id, who, detail });
    }
    None
}

/// The idempotency key of a request's first revocation job.
fn revoke_key(id: RequestId) -> String {
    format!("request:{}:revoke", id.0)
}

fn check_comment(comment: Option<&str>) -> Result<Option<String>, RequestError> {
    match comment.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > MAX_COMMENT => Err(RequestError::Invalid {
            field: "comment",
            message: format!("at most {MAX_COMMENT} characters"),
        }),
        Some(c) => Ok(Some(c.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob("jira:*/admin", "jira:acme/admin"));
        assert!(!glob("jira:*/admin", "jira:acme/user"));
        assert!(glob("group:finance*", "group:finance-emea"));
        assert!(glob("*", "anything"));
        assert!(glob("JSM:*/customer*", "jsm:acme/customer@3"));
        assert!(!glob("group:fin", "group:finance"));
    }

    #[test]
    fn the_first_matching_rule_applies_else_one_approver() {
        let policy = ApprovalPolicy {
            rules: vec![
                PolicyRule {
                    entitlements: vec!["jira:*/admin".to_owned()],
                    risk: None,
                    role: None,
                    approvers: vec!["Cto@acme.com".to_owned(), "ciso@acme.com".to_owned()],
                    approvals: 2,
                    auto_approve: false,
                },
                PolicyRule {
                    entitlements: vec![],
                    risk: Some(Risk::Low),
                    role: None,
                    approvers: vec![],
                    approvals: 1,
                    auto_approve: true,
                },
            ],
        };
        assert_eq!(policy.validate(), Ok(()));
        let admin = policy.requirement("jira:acme/admin", Risk::High);
        assert_eq!(admin.approvals, 2);
        assert!(admin.eligible("cto@acme.com", Role::Requester));
        assert!(!admin.eligible("someone@acme.com", Role::Admin));
        assert!(!admin.met_by([("cto@acme.com", Role::Requester)]));
        assert!(admin.met_by([
            ("cto@acme.com", Role::Requester),
            ("ciso@acme.com", Role::Viewer)
        ]));
        assert!(!admin.met_by([("cto@acme.com", Role::Admin), ("x@acme.com", Role::Admin)]));
        assert!(policy.requirement("jpd:acme/contributor", Risk::Low).auto);
        let default = policy.requirement("jira:acme/user", Risk::Normal);
        assert_eq!(
            default,
            Requirement {
                auto: false,
                approvals: 1,
                approvers: Approvers::Role
            }
        );
        assert!(default.eligible("x@acme.com", Role::Approver));
        assert!(!default.eligible("x@acme.com", Role::Requester));
        assert!(!default.met_by([("x@acme.com", Role::Requester)]));
        assert!(default.met_by([("x@acme.com", Role::Admin)]));
    }

    #[test]
    fn invalid_rules_are_named() {
        let mut rule = PolicyRule {
            entitlements: vec![],
            risk: None,
            role: Some("admin".to_owned()),
            approvers: vec![],
            approvals: 1,
            auto_approve: false,
        };
        let policy = |r: &PolicyRule| ApprovalPolicy {
            rules: vec![r.clone()],
        };
        assert!(policy(&rule).validate().is_err());
        rule.role = None;
        rule.approvals = 0;
        assert!(policy(&rule).validate().is_err());
        rule.approvals = 3;
        rule.approvers = vec!["a@acme.com".to_owned()];
        assert!(policy(&rule).validate().is_err());
        rule.approvals = 1;
        rule.approvers = vec!["not an email".to_owned()];
        assert!(policy(&rule).validate().is_err());
    }

    #[test]
    fn emails_are_checked() {
        assert_eq!(parse_email(" ada@acme.com "), Ok("ada@acme.com".to_owned()));
        for bad in [
            "",
            "ada",
            "@acme.com",
            "ada@acme",
            "a b@acme.com",
            "a@b@acme.com",
            "ada@.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}
