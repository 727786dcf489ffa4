//! Provisioning and deprovisioning: the entitlement catalog, the planner, and the executor
//! that runs a plan as a durable job of journaled, idempotent steps.
//!
//! [`op`] defines what a plan is made of; [`exec`] applies one operation, idempotently;
//! [`worker`] runs plans as durable jobs of journaled steps.

pub mod exec;
pub mod op;
pub mod worker;

pub use exec::{
    ApiCall, BundleContent, ExecContext, Experience, Permanent, StepError, StepOutcome, execute_op,
};
pub use op::{ORG_ADMIN, Op, Plan, PlannedOp, Subject};
pub use worker::{JobRun, RunOutcome, Worker, WorkerError, WorkerPolicy, enqueue_plan};
