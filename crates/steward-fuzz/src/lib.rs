//! Fuzz targets for every parser of outside input, one function per target. Each feeds the
//! bytes to Steward's real parsing code and panics when an invariant breaks (a panic of the
//! code under test is a failure too):
//!
//! | target | what it drives |
//! |---|---|
//! | [`atlassian_response`] | the Atlassian client's send path against a loopback server answering with the input: every API family, the error-body parser, rate-limit headers, pagination |
//! | [`config`] | the `steward` configuration file: TOML, figment, the scheduler settings, the approval policy, the resolved target |
//! | [`entitlement_id`] | entitlement ids, emails, durations, approval-rule globs, offboarding levels, product names |
//! | [`api_body`] | `steward serve`'s router in process: every JSON body, console form, and the query strings of the lists |
//!
//! They run two ways: under libFuzzer (`fuzz/`, `cargo fuzz run <target> -s none`), and in
//! `cargo test` over the checked-in seed corpora plus a deterministic mutation run
//! ([`mutate`]). See this crate's README.

mod api;
mod atlassian;
mod config;
mod entitlement;
pub mod mutate;

/// The Atlassian client's decoding of every response family and of error bodies.
pub fn atlassian_response(data: &[u8]) {
    atlassian::run(data);
}

/// The configuration file parser and its validation.
pub fn config(data: &[u8]) {
    config::run(data);
}

/// Entitlement ids, emails, durations and the other small text parsers.
pub fn entitlement_id(data: &[u8]) {
    entitlement::run(data);
}

/// The HTTP API's request bodies (and the console's forms, and list query strings).
pub fn api_body(data: &[u8]) {
    api::run(data);
}

/// A fuzz target: bytes in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("atlassian_response", atlassian_response),
    ("config", config),
    ("entitlement_id", entitlement_id),
    ("api_body", api_body),
];

/// The names of the operations [`atlassian_response`] picks from (byte 0 modulo their count),
/// for writing seeds.
pub fn atlassian_operations() -> Vec<&'static str> {
    atlassian::OPS.iter().map(|(name, _)| *name).collect()
}

/// The routes [`api_body`] picks from (byte 0 modulo their count), for writing seeds.
pub fn api_routes() -> Vec<String> {
    api::ROUTES
        .iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect()
}
