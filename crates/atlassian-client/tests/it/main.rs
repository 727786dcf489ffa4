//! Integration tests of the client against the simulator. Every test ends with
//! `env.finish()`, which checks every request the client sent (method, path, query and body)
//! against the official OpenAPI documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod org;
mod support;
