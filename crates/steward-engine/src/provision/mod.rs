//! Provisioning and deprovisioning: the entitlement catalog, the planner, and the executor
//! that runs a plan as a durable job of journaled, idempotent steps.
//!
//! [`op`] defines what a plan is made of. [`catalog`] lists what can be granted, [`plan`]
//! computes plans (pure functions of the synced state), and [`guard`] holds the guard rails
//! the planner applies ([`rails`] re-checks them at execution time). [`exec`] applies one operation, idempotently; [`worker`] runs plans as
//! durable jobs of journaled steps.

pub mod catalog;
pub mod exec;
pub mod guard;
pub mod op;
pub mod plan;
pub mod rails;
pub mod worker;

pub use catalog::{
    Catalog, CatalogConfig, CatalogError, CatalogInput, Entitlement, EntitlementId,
    EntitlementIdError, EntitlementKind, ProductRole, Risk, StatuspageRole,
};
pub use exec::{ApiCall, ExecContext, Permanent, StepError, StepOutcome, execute_op};
pub use guard::{
    DEFAULT_MASS_CHANGE_SHARE, DEFAULT_MASS_CHANGE_WINDOW, GuardError, GuardPolicy, mass_change,
};
pub use op::{Experience, ORG_ADMIN, Op, Plan, PlannedOp, Subject};
pub use plan::{
    AccountState, DeskRef, GroupFacts, HeldRole, HeldSource, OffboardLevel, OrgFacts, PageFlags,
    PersonState, PlanError, RestoreBundle, apply_op, person_state, plan_grant, plan_offboard,
    plan_restore, plan_revoke,
};
pub use worker::{
    CONFIRMED_KEY, CRASHED_RUNS_PER_ATTEMPT, JobRun, RunOutcome, Worker, WorkerError, WorkerPolicy,
    enqueue_plan, enqueue_plan_confirmed,
};
