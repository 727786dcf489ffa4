//! Integration tests of the simulator, through its real HTTP routes. Every test ends with
//! `env.finish()`, which checks each recorded exchange against the official OpenAPI documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod confluence;
mod control;
mod cross_family;
mod faults;
mod jira;
mod jsm;
mod org_groups;
mod org_meta;
mod org_users;
mod program;
mod routes;
mod statuspage;
mod support;
mod user_management;
