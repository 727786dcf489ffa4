//! The `steward` binary's configuration and command line, as a library so the fuzz targets
//! (`crates/steward-fuzz`) drive the same parsers the binary runs. `main.rs` uses these
//! modules; nothing else is meant to depend on this crate.

#[allow(
    missing_docs,
    reason = "the binary's internals; documented where they are used"
)]
pub mod cli;
#[allow(
    missing_docs,
    reason = "the binary's internals; documented where they are used"
)]
pub mod config;
