//! Integration tests of the simulator, through its real HTTP routes. Every test ends with
//! `env.finish()`, which checks each recorded exchange against the official OpenAPI documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
mod org_users;
mod control;
mod faults;
mod org_groups;
mod org_meta;
mod confluence;
mod statuspage;
mod user_management;
mod jira;
mod jsm;
