//! Steward's engine: the work the `steward` binary (and later the service) does against
//! Atlassian, kept out of the binary so tests drive it in-process.
//!
//! Today it holds [`verify`], which checks every prerequisite of an org-level connection and
//! says how to fix each failure. The sync engine comes next and reuses [`target::Target`], the
//! resolved connection settings.

pub mod target;
pub mod verify;

pub use target::{SiteTarget, StatuspageTarget, Target};
pub use verify::{Check, CheckStatus, Report, VerifyError, verify};
