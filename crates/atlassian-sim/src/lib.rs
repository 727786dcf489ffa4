//! A faithful, stateful simulator of the Atlassian Cloud APIs Steward uses: the Organization
//! admin API, the user management API, Jira REST v3, Jira Service Management, Confluence v1 and
//! v2, and Statuspage, all backed by one model of an organization.
//!
//! It exists because nothing Steward runs in tests, benchmarks or its sandbox can reach the real
//! Atlassian Cloud. Every family follows the official OpenAPI documents vendored in `specs/`
//! (paths, methods, auth, status codes, field names, pagination and error shapes); the test
//! suite checks each exchange against them.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use atlassian_sim::{SimConfig, Simulator};
//! let sim = Simulator::spawn(SimConfig::default()).await?;
//! println!("org API at {}", sim.info().admin_base_url);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod app;
pub mod auth;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod extract;
pub mod family;
pub mod faults;
pub mod paging;
pub mod record;
pub mod routes;
pub mod seed;
pub mod server;
pub mod state;

pub use server::{ReadyInfo, SimConfig, SimError, SimHandle, Simulator};
