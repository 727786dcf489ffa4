//! Integration tests of the engine against the in-process simulator.

mod access;
mod catalog;
mod chaos;
mod drift;
mod entitlements;
mod exec;
mod guard_concurrency;
mod plan;
mod requests;
mod support;
mod sync;
mod sync_changes;
mod sync_products;
mod sync_resume;
mod verify;
