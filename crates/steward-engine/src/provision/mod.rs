//! Provisioning and deprovisioning: the entitlement catalog, the planner, and the executor
//! that runs a plan as a durable job of journaled, idempotent steps.
//!
//! [`op`] defines what a plan is made of. [`catalog`] lists what can be granted, [`plan`]
//! computes plans (pure functions of the synced state), and [`guard`] holds the guard rails
//! the planner applies.

pub mod catalog;
pub mod guard;
pub mod op;
pub mod plan;

pub use catalog::{
    Catalog, CatalogConfig, CatalogError, CatalogInput, Entitlement, EntitlementId,
    EntitlementIdError, EntitlementKind, ProductRole, Risk, StatuspageRole,
};
pub use guard::{DEFAULT_MASS_CHANGE_SHARE, GuardError, mass_change};
pub use op::{ORG_ADMIN, Op, Plan, PlannedOp, Subject};
pub use plan::{
    AccountState, DeskRef, Experience, GroupFacts, HeldRole, HeldSource, OffboardLevel, OrgFacts,
    PageFlags, PersonState, PlanError, RestoreBundle, apply_op, person_state, plan_grant,
    plan_offboard, plan_restore, plan_revoke,
};
