//! A typed, rate-limit-aware client for every Atlassian Cloud API Steward uses: the
//! Organization admin API, the user management API, Jira REST v3, Jira Service Management,
//! Confluence v1 and v2, and Statuspage.
//!
//! Every read and write Steward makes goes through this crate. It paces requests per
//! rate-limit scope (shared by every caller in the process), retries what is safe to retry
//! (honouring `Retry-After`), streams every page of every pagination style, parses each API's
//! error shapes into one [`Error`], and keeps credentials out of logs and errors.
//!
//! ```no_run
//! # async fn demo() -> Result<(), atlassian_client::Error> {
//! use atlassian_client::Client;
//! use secrecy::SecretString;
//! let client = Client::builder()
//!     .org_api_key(SecretString::from("…"))
//!     .org_id("3b2a8c1e-7f44-4d2a-9c55-0e1f2a3b4c5d")
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```

pub mod api;
mod client;
pub mod config;
pub mod error;
pub mod family;
pub mod models;
pub mod page;
pub mod rate_limit;
mod write;

pub use client::{Client, ClientBuilder};
pub use config::{Rate, RateLimits, RetryPolicy};
pub use error::{Error, Result, TransportKind};
pub use family::{Family, Scope};
