//! Access requests: someone asks for entitlements for a person, approvers decide, a grant job
//! provisions them, and a revocation job takes them back at expiry or on demand. The store
//! keeps each request's state and approvals; the engine (`steward_engine::requests`) owns the
//! workflow (policy, which transition when).
//!
//! Every state change is one write transaction that locks the request (PostgreSQL
//! `SELECT … FOR UPDATE`, SQLite `BEGIN IMMEDIATE`), checks the state it starts from, and
//! commits with its audit entry: two deciders racing see one transition win and the other
//! get [`Error::RequestState`].
//!
//! Also here: [`Schedule`], the scheduler's "last run slot" records, so a periodic task runs
//! exactly once per interval across processes sharing the database.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::accounts::Role;
use crate::audit::{EncodedAudit, NewAuditEntry, append_audit, is_postgres};
use crate::error::{Error, Result};
use crate::jobs::JobId;
use crate::store::{Store, now, with_pool, with_tx};

/// Identifier of an access request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId(pub i64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a request is in its life.
///
/// ```text
/// pending ──approve (policy met)──► approved ──grant job queued──► provisioning
///    │  └─deny──► denied                                             │
///    └─cancel──► cancelled                  provisioned ◄──job ok────┤
///                                              │   └─revoke──► revoked └─job failed──► failed
///                                              └─expires_at──► expired
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for approvals.
    Pending,
    /// Approved; the grant job is about to be queued.
    Approved,
    /// The grant job is queued or running.
    Provisioning,
    /// The grant job succeeded (its last step verified the access in Atlassian).
    Provisioned,
    /// The grant job failed (the reason is kept). Final.
    Failed,
    /// An approver refused it. Final.
    Denied,
    /// The requester (or an admin) withdrew it while pending. Final.
    Cancelled,
    /// Its time ran out: a revocation job was queued. Final.
    Expired,
    /// Revoked on demand: a revocation job was queued. Final.
    Revoked,
}

impl RequestState {
    /// Every state, in life-cycle order.
    pub const ALL: [RequestState; 9] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Provisioning,
        RequestState::Provisioned,
        RequestState::Failed,
        RequestState::Denied,
        RequestState::Cancelled,
        RequestState::Expired,
        RequestState::Revoked,
    ];

    /// The TEXT stored in `access_requests.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Provisioning => "provisioning",
            RequestState::Provisioned => "provisioned",
            RequestState::Failed => "failed",
            RequestState::Denied => "denied",
            RequestState::Cancelled => "cancelled",
            RequestState::Expired => "expired",
            RequestState::Revoked => "revoked",
        }
    }

    /// Parses the stored text.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        RequestState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| Error::Corrupt {
                column: "access_requests.state",
                detail: s.to_owned(),
            })
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request's revocation job is: followed by the sweep like the grant job, so a
/// failed revocation shows on the request (and an admin can queue it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    /// The job is queued or running.
    InProgress,
    /// The job succeeded: the access is gone.
    Succeeded,
    /// The job failed (or was cancelled): the access may still be there.
    Failed,
}

impl RevocationStatus {
    /// Every status.
    pub const ALL: [RevocationStatus; 3] = [
        RevocationStatus::InProgress,
        RevocationStatus::Succeeded,
        RevocationStatus::Failed,
    ];

    /// The TEXT stored in `access_requests.revocation_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::InProgress => "in_progress",
            RevocationStatus::Succeeded => "succeeded",
            RevocationStatus::Failed => "failed",
        }
    }

    /// Parses the stored text.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        RevocationStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| Error::Corrupt {
                column: "access_requests.revocation_status",
                detail: s.to_owned(),
            })
    }
}

impl fmt::Display for RevocationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request's revocation: its (latest) job and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The revocation job (the latest one, after a retry).
    pub job: JobId,
    /// How it went, as far as the last sweep saw.
    pub status: RevocationStatus,
    /// Why it failed.
    pub error: Option<String>,
}

/// A request to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    /// Whom the access is for (an email).
    pub subject: String,
    /// The entitlement ids asked for.
    pub entitlements: Vec<String>,
    /// Why.
    pub justification: String,
    /// How long the access lasts once provisioned, in seconds (`None`: until revoked).
    pub duration_secs: Option<i64>,
    /// Who asked (a console user's email or an API token's name).
    pub requested_by: String,
}

/// One approval of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved (lower case).
    pub approver: String,
    /// Their console role when they approved.
    pub role: Role,
    /// What they said.
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// Its id.
    pub id: RequestId,
    /// What was asked.
    #[serde(flatten)]
    pub request: NewRequest,
    /// Its state.
    pub state: RequestState,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its approvals met the policy (or it was auto-approved).
    pub approved_at: Option<DateTime<Utc>>,
    /// When its grant job succeeded.
    pub provisioned_at: Option<DateTime<Utc>>,
    /// When the access ends (provisioned time plus the duration), if time-bound.
    pub expires_at: Option<DateTime<Utc>>,
    /// The job that grants it.
    pub grant_job: Option<JobId>,
    /// The job that revokes it (at expiry or on demand; the latest one after a retry).
    pub revoke_job: Option<JobId>,
    /// The revocation job and its outcome, once one was queued.
    pub revocation: Option<Revocation>,
    /// Who made the last decision (denied, cancelled, revoked).
    pub decided_by: Option<String>,
    /// Why it was denied, cancelled or revoked, or why its job failed.
    pub reason: Option<String>,
    /// Its approvals, oldest first.
    pub approvals: Vec<Approval>,
}

/// Filters of [`Requests::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestQuery {
    /// Only in this state.
    pub state: Option<RequestState>,
    /// Only for this person (email, any case).
    pub subject: Option<String>,
    /// Only made by this requester (any case).
    pub requested_by: Option<String>,
    /// Only those whose revocation is in this status.
    pub revocation: Option<RevocationStatus>,
    /// Only ids after this one (the page cursor).
    pub after_id: Option<RequestId>,
    /// At most this many.
    pub limit: Option<i64>,
}

/// A state change for [`Requests::transition`]. `None` fields keep the stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The new state.
    pub to: RequestState,
    /// Who decided (deny, cancel, revoke).
    pub decided_by: Option<String>,
    /// Why (a comment, a job's error).
    pub reason: Option<String>,
    /// The grant job.
    pub grant_job: Option<JobId>,
    /// The revocation job (its status becomes `in_progress`).
    pub revoke_job: Option<JobId>,
}

impl Change {
    /// A change to `to` and nothing else.
    pub fn to(to: RequestState) -> Change {
        Change {
            to,
            decided_by: None,
            reason: None,
            grant_job: None,
            revoke_job: None,
        }
    }
}

/// What [`Requests::transition`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transitioned {
    /// The request after the call.
    pub request: AccessRequest,
    /// `false` when it already was in the target state (nothing written, no audit entry).
    pub changed: bool,
}

/// What [`Requests::approve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    /// The request after the call.
    pub request: AccessRequest,
    /// `false` when this approver had already approved (nothing written).
    pub recorded: bool,
    /// Whether this approval moved the request to `approved`.
    pub now_approved: bool,
}

#[derive(sqlx::FromRow)]
struct RequestRecord {
    id: i64,
    subject: String,
    entitlements: String,
    justification: String,
    duration_secs: Option<i64>,
    requested_by: String,
    state: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    approved_at: Option<DateTime<Utc>>,
    provisioned_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    grant_job_id: Option<i64>,
    revoke_job_id: Option<i64>,
    decided_by: Option<String>,
    reason: Option<String>,
    revocation_status: Option<String>,
    revocation_error: Option<String>,
}

/// The `access_requests` columns decoded into [`RequestRecord`].
macro_rules! request_columns {
    () => {
        "id, subject, entitlements, justification, duration_secs, requested_by, state, \
         created_at, updated_at, approved_at, provisioned_at, expires_at, grant_job_id, \
         revoke_job_id, decided_by, reason, revocation_status, revocation_error"
    };
}

type ApprovalTuple = (i64, String, String, Option<String>, DateTime<Utc>);

impl RequestRecord {
    fn decode(self, approvals: Vec<Approval>) -> Result<AccessRequest> {
        let revocation = match (self.revoke_job_id, self.revocation_status.as_deref()) {
            (Some(job), Some(status)) => Some(Revocation {
                job: JobId(job),
                status: RevocationStatus::parse(status)?,
                error: self.revocation_error.clone(),
            }),
            _ => None,
        };
        Ok(AccessRequest {
            id: RequestId(self.id),
            request: NewRequest {
                subject: self.subject,
                entitlements: serde_json::from_str(&self.entitlements).map_err(|e| {
                    Error::Corrupt {
                        column: "access_requests.entitlements",
                        detail: e.to_string(),
                    }
                })?,
                justification: self.justification,
                duration_secs: self.duration_secs,
                requested_by: self.requested_by,
            },
            state: RequestState::parse(&self.state)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            approved_at: self.approved_at,
            provisioned_at: self.provisioned_at,
            expires_at: self.expires_at,
            grant_job: self.grant_job_id.map(JobId),
            revoke_job: self.revoke_job_id.map(JobId),
            revocation,
            decided_by: self.decided_by,
            reason: self.reason,
            approvals,
        })
    }
}

fn approvals_by_request(rows: Vec<ApprovalTuple>) -> Result<BTreeMap<i64, Vec<Approval>>> {
    let mut out: BTreeMap<i64, Vec<Approval>> = BTreeMap::new();
    for (request, approver, role, comment, at) in rows {
        let role = role.parse::<Role>().map_err(|_| Error::Corrupt {
            column: "request_approvals.role",
            detail: role.clone(),
        })?;
        out.entry(request).or_default().push(Approval {
            approver,
            role,
            comment,
            at,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| (a.at, &a.approver).cmp(&(b.at, &b.approver)));
    }
    Ok(out)
}

/// Inside [`with_tx!`]: the request `$id`, locked until commit, with its approvals.
macro_rules! locked_request {
    ($tx:ident, $id:expr) => {{
        let id: RequestId = $id;
        let sql = if is_postgres(&$tx) {
            concat!(
                "SELECT ",
                request_columns!(),
                " FROM access_requests WHERE id = $1 FOR UPDATE"
            )
        } else {
            concat!(
                "SELECT ",
                request_columns!(),
                " FROM access_requests WHERE id = $1"
            )
        };
        let row: Option<RequestRecord> = sqlx::query_as(sql)
            .bind(id.0)
            .fetch_optional(&mut *$tx)
            .await?;
        let row = row.ok_or(Error::UnknownRequest(id))?;
        let approvals: Vec<ApprovalTuple> = sqlx::query_as(
            "SELECT request_id, approver, role, comment, at FROM request_approvals WHERE request_id = $1",
        )
        .bind(id.0)
        .fetch_all(&mut *$tx)
        .await?;
        let approvals = approvals_by_request(approvals)?
            .remove(&id.0)
            .unwrap_or_default();
        row.decode(approvals)?
    }};
}

/// Access requests (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Requests<'a> {
    pub(crate) store: &'a Store,
}

impl Requests<'_> {
    /// Records a new request in state `initial` (`pending`, or `approved` when the policy
    /// approves it by itself) with its audit entry, in one transaction. Not idempotent: each
    /// call records a new request (the API's `Idempotency-Key` guards retries).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an initial state other than pending or approved,
    /// [`Error::Json`], [`Error::Database`].
    pub async fn create(
        &self,
        request: &NewRequest,
        initial: RequestState,
        audit: &NewAuditEntry,
    ) -> Result<AccessRequest> {
        if !matches!(initial, RequestState::Pending | RequestState::Approved) {
            return Err(Error::InvalidArgument {
                what: "initial request state",
                detail: format!("{initial} (a request starts pending or approved)"),
            });
        }
        let entitlements = serde_json::to_string(&request.entitlements)?;
        let encoded = EncodedAudit::new(audit)?;
        let at = now();
        let approved_at = (initial == RequestState::Approved).then_some(at);
        let id = with_tx!(self.store, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO access_requests (subject, entitlements, justification, \
                 duration_secs, requested_by, state, created_at, updated_at, approved_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id",
            )
            .bind(&request.subject)
            .bind(&entitlements)
            .bind(&request.justification)
            .bind(request.duration_secs)
            .bind(&request.requested_by)
            .bind(initial.as_str())
            .bind(at)
            .bind(approved_at)
            .fetch_one(&mut *tx)
            .await?;
            let mut encoded = encoded;
            encoded.set_detail_field("request", serde_json::json!(id))?;
            append_audit!(tx, &encoded);
            id
        });
        tracing::info!(request = id, state = %initial, "access request recorded");
        self.get(RequestId(id)).await
    }

    /// One request with its approvals.
    ///
    /// # Errors
    /// [`Error::UnknownRequest`], [`Error::Database`], [`Error::Corrupt`].
    pub async fn get(&self, id: RequestId) -> Result<AccessRequest> {
        let row: Option<RequestRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!("SELECT ", request_columns!(), " FROM access_requests WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        let row = row.ok_or(Error::UnknownRequest(id))?;
        let approvals: Vec<ApprovalTuple> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT request_id, approver, role, comment, at FROM request_approvals WHERE request_id = $1",
            )
            .bind(id.0)
            .fetch_all(pool)
            .await?
        });
        row.decode(
            approvals_by_request(approvals)?
                .remove(&id.0)
                .unwrap_or_default(),
        )
    }

    /// Requests matching `query`, by id (oldest first), with their approvals.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn list(&self, query: &RequestQuery) -> Result<Vec<AccessRequest>> {
        let rows: Vec<RequestRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                request_columns!(),
                " FROM access_requests WHERE ($1 IS NULL OR state = $1) \
                 AND ($2 IS NULL OR lower(subject) = lower($2)) \
                 AND ($3 IS NULL OR lower(requested_by) = lower($3)) \
                 AND ($4 IS NULL OR id > $4) \
                 AND ($6 IS NULL OR revocation_status = $6) ORDER BY id LIMIT $5"
            ))
            .bind(query.state.map(RequestState::as_str))
            .bind(query.subject.as_deref())
            .bind(query.requested_by.as_deref())
            .bind(query.after_id.map(|r| r.0))
            .bind(query.limit.unwrap_or(i64::MAX))
            .bind(query.revocation.map(RevocationStatus::as_str))
            .fetch_all(pool)
            .await?
        });
        self.with_approvals(rows).await
    }

    /// Requests the scheduler's sweep must advance at `at`: `approved` ones (their grant job
    /// is not queued yet), `provisioning` ones (their job may have finished), and
    /// `provisioned` ones whose `expires_at` has passed, and ended ones (`expired`,
    /// `revoked`) whose revocation job is in progress (it may have finished). By id.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn due(&self, at: DateTime<Utc>) -> Result<Vec<AccessRequest>> {
        let rows: Vec<RequestRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                request_columns!(),
                " FROM access_requests WHERE state IN ('approved', 'provisioning') \
                 OR (state = 'provisioned' AND expires_at IS NOT NULL AND expires_at <= $1) \
                 OR (state IN ('expired', 'revoked') AND revocation_status = 'in_progress') \
                 ORDER BY id"
            ))
            .bind(at.trunc_subsecs(6))
            .fetch_all(pool)
            .await?
        });
        self.with_approvals(rows).await
    }

    async fn with_approvals(&self, rows: Vec<RequestRecord>) -> Result<Vec<AccessRequest>> {
        let (Some(first), Some(last)) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id))
        else {
            return Ok(vec![]);
        };
        let approvals: Vec<ApprovalTuple> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT request_id, approver, role, comment, at FROM request_approvals \
                 WHERE request_id >= $1 AND request_id <= $2",
            )
            .bind(first.min(last))
            .bind(first.max(last))
            .fetch_all(pool)
            .await?
        });
        let mut by_request = approvals_by_request(approvals)?;
        rows.into_iter()
            .map(|r| {
                let approvals = by_request.remove(&r.id).unwrap_or_default();
                r.decode(approvals)
            })
            .collect()
    }

    /// Records `approver`'s approval of a `pending` request and, when `satisfied` says the
    /// approvals (this one included) meet the policy, moves it to `approved`; the audit
    /// entry commits with it. Idempotent per approver: approving again records nothing
    /// (`recorded: false`), also once the request has moved on.
    ///
    /// # Errors
    /// [`Error::RequestState`] when the request is not pending (and this approver had not
    /// approved it), [`Error::UnknownRequest`], [`Error::Json`], [`Error::Database`].
    pub async fn approve(
        &self,
        id: RequestId,
        approver: &str,
        role: Role,
        comment: Option<&str>,
        satisfied: impl FnOnce(&AccessRequest) -> bool,
        audit: &NewAuditEntry,
    ) -> Result<Approved> {
        let approver = approver.to_lowercase();
        let encoded = EncodedAudit::new(audit)?;
        let at = now();
        let outcome = with_tx!(self.store, tx => {
            let mut request = locked_request!(tx, id);
            if request.approvals.iter().any(|a| a.approver == approver) {
                Approved { request, recorded: false, now_approved: false }
            } else if request.state != RequestState::Pending {
                return Err(Error::RequestState {
                    request: id,
                    state: request.state,
                    expected: vec![RequestState::Pending],
                });
            } else {
                sqlx::query(
                    "INSERT INTO request_approvals (request_id, approver, role, comment, at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.0)
                .bind(&approver)
                .bind(role.as_str())
                .bind(comment)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                request.approvals.push(Approval {
                    approver: approver.clone(),
                    role,
                    comment: comment.map(str::to_owned),
                    at,
                });
                let now_approved = satisfied(&request);
                if now_approved {
                    sqlx::query(
                        "UPDATE access_requests SET state = 'approved', approved_at = $2, \
                         updated_at = $2 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    request.state = RequestState::Approved;
                    request.approved_at = Some(at);
                    request.updated_at = at;
                }
                let mut encoded = encoded;
                encoded.set_detail_field("request", serde_json::json!(id.0))?;
                encoded.set_detail_field("approved", serde_json::json!(now_approved))?;
                append_audit!(tx, &encoded);
                Approved { request, recorded: true, now_approved }
            }
        });
        Ok(outcome)
    }

    /// Moves a request from one of `from` to `change.to`, with the audit entry, in one
    /// transaction. Already in `change.to`: nothing is written (`changed: false`), so a
    /// retried transition is a no-op. `provisioned_at` and `expires_at` (provisioned time
    /// plus the duration) are set on the move to `provisioned`.
    ///
    /// # Errors
    /// [`Error::RequestState`] when the request is in another state,
    /// [`Error::UnknownRequest`], [`Error::Json`], [`Error::Database`].
    pub async fn transition(
        &self,
        id: RequestId,
        from: &[RequestState],
        change: &Change,
        audit: Option<&NewAuditEntry>,
    ) -> Result<Transitioned> {
        let encoded = audit.map(EncodedAudit::new).transpose()?;
        let at = now();
        let outcome = with_tx!(self.store, tx => {
            let request = locked_request!(tx, id);
            if request.state == change.to {
                Transitioned { request, changed: false }
            } else if !from.contains(&request.state) {
                return Err(Error::RequestState {
                    request: id,
                    state: request.state,
                    expected: from.to_vec(),
                });
            } else {
                let provisioned = change.to == RequestState::Provisioned;
                let provisioned_at = provisioned.then_some(at);
                let expires_at = if provisioned {
                    request.request.duration_secs.and_then(|s| {
                        chrono::Duration::try_seconds(s).and_then(|d| at.checked_add_signed(d))
                    })
                } else {
                    None
                };
                let approved_at = (change.to == RequestState::Approved).then_some(at);
                sqlx::query(
                    "UPDATE access_requests SET state = $2, updated_at = $3, \
                     decided_by = COALESCE($4, decided_by), reason = COALESCE($5, reason), \
                     grant_job_id = COALESCE($6, grant_job_id), \
                     revoke_job_id = COALESCE($7, revoke_job_id), \
                     revocation_status = CASE WHEN $7 IS NULL THEN revocation_status \
                         ELSE 'in_progress' END, \
                     revocation_error = CASE WHEN $7 IS NULL THEN revocation_error ELSE NULL END, \
                     provisioned_at = COALESCE($8, provisioned_at), \
                     expires_at = COALESCE($9, expires_at), \
                     approved_at = COALESCE($10, approved_at) WHERE id = $1",
                )
                .bind(id.0)
                .bind(change.to.as_str())
                .bind(at)
                .bind(change.decided_by.as_deref())
                .bind(change.reason.as_deref())
                .bind(change.grant_job.map(|j| j.0))
                .bind(change.revoke_job.map(|j| j.0))
                .bind(provisioned_at)
                .bind(expires_at)
                .bind(approved_at)
                .execute(&mut *tx)
                .await?;
                if let Some(mut encoded) = encoded {
                    encoded.set_detail_field("request", serde_json::json!(id.0))?;
                    encoded.set_detail_field("from", serde_json::json!(request.state.as_str()))?;
                    encoded.set_detail_field("to", serde_json::json!(change.to.as_str()))?;
                    append_audit!(tx, &encoded);
                }
                let request = locked_request!(tx, id);
                Transitioned { request, changed: true }
            }
        });
        if outcome.changed {
            tracing::info!(request = id.0, state = %change.to, "access request moved");
        }
        Ok(outcome)
    }

    /// Records the outcome of request `id`'s revocation job `job` (`succeeded`, or `failed`
    /// with `error`), with the audit entry, in one transaction. Only while that job is the
    /// request's revocation job and its status is `in_progress`; otherwise nothing is written
    /// (`changed: false`): a second sweep, or a job a retry has replaced.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `in_progress`, [`Error::UnknownRequest`],
    /// [`Error::Json`], [`Error::Database`].
    pub async fn record_revocation(
        &self,
        id: RequestId,
        job: JobId,
        status: RevocationStatus,
        error: Option<&str>,
        audit: &NewAuditEntry,
    ) -> Result<Transitioned> {
        if status == RevocationStatus::InProgress {
            return Err(Error::InvalidArgument {
                what: "revocation outcome",
                detail: "in_progress is not an outcome (succeeded or failed)".to_owned(),
            });
        }
        let encoded = EncodedAudit::new(audit)?;
        let at = now();
        let outcome = with_tx!(self.store, tx => {
            let request = locked_request!(tx, id);
            let current = request
                .revocation
                .as_ref()
                .is_some_and(|r| r.job == job && r.status == RevocationStatus::InProgress);
            if current {
                sqlx::query(
                    "UPDATE access_requests SET revocation_status = $2, revocation_error = $3, \
                     updated_at = $4 WHERE id = $1",
                )
                .bind(id.0)
                .bind(status.as_str())
                .bind(error)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let mut encoded = encoded;
                encoded.set_detail_field("request", serde_json::json!(id.0))?;
                encoded.set_detail_field("revoke_job", serde_json::json!(job.0))?;
                append_audit!(tx, &encoded);
                let request = locked_request!(tx, id);
                Transitioned { request, changed: true }
            } else {
                Transitioned { request, changed: false }
            }
        });
        if outcome.changed {
            tracing::info!(request = id.0, job = job.0, revocation = %status, "revocation outcome recorded");
        }
        Ok(outcome)
    }

    /// Replaces request `id`'s failed revocation job `failed` with `job` (queued again) and
    /// sets the revocation back to `in_progress`, with the audit entry, in one transaction.
    /// Already replaced by `job`: nothing is written (`changed: false`).
    ///
    /// # Errors
    /// [`Error::RevocationNotFailed`] when the request's revocation is not the failed job
    /// `failed`, [`Error::UnknownRequest`], [`Error::Json`], [`Error::Database`].
    pub async fn retry_revocation(
        &self,
        id: RequestId,
        failed: JobId,
        job: JobId,
        audit: &NewAuditEntry,
    ) -> Result<Transitioned> {
        let encoded = EncodedAudit::new(audit)?;
        let at = now();
        let outcome = with_tx!(self.store, tx => {
            let request = locked_request!(tx, id);
            match &request.revocation {
                Some(r) if r.job == job => Transitioned { request, changed: false },
                Some(r) if r.job == failed && r.status == RevocationStatus::Failed => {
                    sqlx::query(
                        "UPDATE access_requests SET revoke_job_id = $2, \
                         revocation_status = 'in_progress', revocation_error = NULL, \
                         updated_at = $3 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(job.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    let mut encoded = encoded;
                    encoded.set_detail_field("request", serde_json::json!(id.0))?;
                    encoded.set_detail_field("failed_job", serde_json::json!(failed.0))?;
                    encoded.set_detail_field("revoke_job", serde_json::json!(job.0))?;
                    append_audit!(tx, &encoded);
                    let request = locked_request!(tx, id);
                    Transitioned { request, changed: true }
                }
                other => {
                    return Err(Error::RevocationNotFailed {
                        request: id,
                        status: other.as_ref().map(|r| r.status),
                    });
                }
            }
        });
        if outcome.changed {
            tracing::info!(request = id.0, job = job.0, "revocation queued again");
        }
        Ok(outcome)
    }
}

/// The scheduler's slot claims: one row per periodic task with the last slot (interval
/// number) someone claimed. See [`Schedule::claim`].
#[derive(Debug, Clone, Copy)]
pub struct Schedule<'a> {
    pub(crate) store: &'a Store,
}

impl Schedule<'_> {
    /// Claims slot `slot` of task `name` for `owner`: `true` for exactly one caller per
    /// (name, slot) across every process sharing the database, `false` for every other
    /// caller and for any slot at or before the last one claimed (slots only move forward).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn claim(&self, name: &str, slot: i64, owner: &str) -> Result<bool> {
        let at = now();
        let claimed = with_tx!(self.store, tx => {
            sqlx::query(
                "INSERT INTO schedule_slots (name, slot, owner, claimed_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(i64::MIN)
            .bind(owner)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE schedule_slots SET slot = $2, owner = $3, claimed_at = $4 \
                 WHERE name = $1 AND slot < $2",
            )
            .bind(name)
            .bind(slot)
            .bind(owner)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
        });
        if claimed {
            tracing::info!(task = name, slot, owner, "claimed the schedule slot");
        }
        Ok(claimed)
    }

    /// The last slot claimed for `name`, with its owner and when (`None`: never).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn last(&self, name: &str) -> Result<Option<(i64, String, DateTime<Utc>)>> {
        let row: Option<(i64, String, DateTime<Utc>)> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT slot, owner, claimed_at FROM schedule_slots WHERE name = $1 AND slot > $2",
            )
            .bind(name)
            .bind(i64::MIN)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_text() -> Result<()> {
        for state in RequestState::ALL {
            assert_eq!(RequestState::parse(state.as_str())?, state);
        }
        assert!(RequestState::parse("granted").is_err());
        Ok(())
    }
}
