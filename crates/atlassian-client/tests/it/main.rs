//! Integration tests of the client against the simulator. Every test ends with
//! `env.finish()`, which checks every request the client sent (method, path, query and body)
//! against the official OpenAPI documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod confluence;
mod jira;
mod jsm;
mod observability;
mod org;
mod org_events;
mod org_groups;
mod org_users;
mod org_writes;
mod resilience;
mod secrets;
mod statuspage;
mod support;
mod user_management;
