//! Provisioning and deprovisioning: the entitlement catalog, the planner, and the executor
//! that runs a plan as a durable job of journaled, idempotent steps.
//!
//! [`op`] defines what a plan is made of.

pub mod op;

pub use op::{ORG_ADMIN, Op, Plan, PlannedOp, Subject};
