//! Steward's persistent store.
//!
//! Steward keeps what it learns about an Atlassian organization (sites, products, accounts,
//! groups, grants, Statuspage and JSM access) as *snapshots*, one per sync run, so that readers
//! always see one consistent, completed picture while a new sync is being written, a crashed
//! sync can resume from its checkpoints, and two snapshots can be diffed into change events.
//! It also keeps the change-event history and the secrets Steward needs, encrypted at rest.
//!
//! One behaviour on two back ends: SQLite by default (one file, WAL, created and migrated on
//! first open) and PostgreSQL when the database URL says `postgres://`. Both run the same SQL
//! (runtime `sqlx::query`, no offline macro cache) with per-backend migrations in
//! `migrations/{sqlite,postgres}`, and one test suite runs against both.
//!
//! Entry point: [`Store::open`]; then [`Store::runs`], [`Store::writer`],
//! [`Store::latest_snapshot`]/[`Store::snapshot`], [`Store::changes`] and [`Store::secrets`];
//! for provisioning, [`Store::jobs`] (durable job queue with a step journal), [`Store::audit`]
//! (hash-chained audit log) and [`Store::bundles`] (restore bundles); for the service,
//! [`Store::accounts`] (console users, sessions, API tokens, idempotency keys), [`Store::requests`]
//! (access requests and their approvals) and [`Store::schedule`] (the scheduler's slot claims).

mod accounts;
mod audit;
mod bundles;
mod error;
mod jobs;
mod leases;
mod redact;
mod requests;
mod rows;
mod secrets;
mod stats;
mod store;

pub use accounts::{
    Accounts, ApiToken, IDEMPOTENCY_ABANDONED, IDEMPOTENCY_TTL, IdempotencyBegin, NewApiToken,
    NewSession, NewUser, Role, Session, TokenId, User, UserId, UserUpdate,
};
pub use audit::{
    Audit, AuditEntry, AuditFault, AuditFaultReason, AuditHead, AuditQuery, AuditVerification,
    GENESIS_HASH, NewAuditEntry,
};
pub use bundles::{Bundle, BundleId, Bundles, NewBundle};
pub use error::{Error, Result};
pub use jobs::{
    ClaimedJob, DoneStep, Enqueued, Job, JobDetail, JobId, JobOutcome, JobQuery, JobStatus,
    JobStep, Jobs, MAX_LEASE, NewJob, NewStep, StepStatus,
};
pub use leases::{Acquired, Lease, Leases};
pub use redact::redact_url;
pub use requests::{
    AccessRequest, Approval, Approved, Change, NewRequest, RequestId, RequestQuery, RequestState,
    Requests, Revocation, RevocationStatus, Schedule, Transitioned,
};
pub use rows::{
    AccountFilter, AccountRow, Batch, ChangeEvent, ChangeKind, ChangeQuery, Checkpoint,
    DirectoryRow, GrantSource, GroupMembershipRow, GroupRoleRow, GroupRow, JsmCustomerRow,
    LastActiveRow, NewChangeEvent, OrgRow, ResourceRow, RoleAssignmentRow, RunId, RunStatus,
    SiteRow, StatuspageMemberRow, StatuspagePermissionRow, SyncRun,
};
pub use secrets::MasterKey;
pub use stats::Stats;
pub use store::{Changes, Runs, Secrets, Snapshot, SnapshotWriter, Store};
