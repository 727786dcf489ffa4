//! API tests: the server bound on `127.0.0.1:0`, driven over HTTP with reqwest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod app;
mod auth;
mod browser;
mod console;
mod endpoints;
mod injection;
mod input;
mod matrix;
mod ops;
mod requests;
mod secrets;
mod webdriver;
