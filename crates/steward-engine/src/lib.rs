//! Steward's engine: the work the `steward` binary (and later the service) does against
//! Atlassian, kept out of the binary so tests drive it in-process.
//!
//! It holds [`verify()`], which checks every prerequisite of an org-level connection and says how
//! to fix each failure, and [`sync`], whose first slice reads the org-level data (accounts,
//! groups, memberships, role assignments with their source) into the store. Both use
//! [`target::Target`], the resolved connection settings. [`access`] turns the latest snapshot
//! into people and their access, for the `users` views and the console. [`provision`] grants
//! and revokes access through planned, journaled jobs; [`requests`] is the approval workflow in
//! front of it (access requests, the approval policy, expiry).

pub mod access;
pub mod provision;
pub mod requests;
pub mod sync;
pub mod target;
pub mod verify;

pub use access::{
    AccessError, Grant, GroupRef, JsmDesk, PagePermission, PeopleFilter, Person, Product, Source,
    StatuspageAccess, people, person,
};
pub use sync::{SyncCounts, SyncReport};
pub use target::{SiteTarget, StatuspageTarget, Target};
pub use verify::{Check, CheckStatus, Report, VerifyError, verify};
