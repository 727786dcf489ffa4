//! Steward's benchmark: how close sync and provisioning come to the bound the Atlassian APIs
//! allow, and what they cost locally.
//!
//! It exists to prove the claim the README makes (a sync is paced by Atlassian's rate limits,
//! not by Steward) and to catch regressions in calls, wall time, CPU and memory. For each
//! profile it seeds the simulator with realistic latency and rate limits (in a child process,
//! so that this process's CPU and memory are Steward's), then measures, against one SQLite
//! store: a full sync; the sync after 1% of users changed; onboarding people with three
//! entitlements each; offboarding; and one grant from enqueue to verified. See
//! [`report`] for what is measured and how the bounds are computed.

pub mod profile;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod usage;

use std::path::Path;

use profile::{Pace, ProfileSpec};
use report::ProfileReport;
use sim::SimProcess;

/// Seeds the profile's org in a simulator child started from `exe` (this binary, or the test's
/// copy of it), runs every scenario and returns the report. The child is stopped in every case.
///
/// # Errors
/// The simulator or the store cannot start, or a scenario cannot be set up. A scenario whose
/// jobs fail is reported (not an error).
pub async fn run_profile(
    exe: &Path,
    spec: ProfileSpec,
    pace: Pace,
) -> anyhow::Result<ProfileReport> {
    eprintln!(
        "[{}] seeding the simulator ({} users)…",
        spec.name.as_str(),
        spec.users
            .map_or_else(|| format!("{}", spec.size.users()), |u| u.to_string())
    );
    let sim = SimProcess::start(exe, &spec).await?;
    let result = scenario::run_all(&sim, &spec, pace).await;
    sim.stop().await;
    result
}
