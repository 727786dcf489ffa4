//! `steward init` from flags.

use crate::{steward, text};

#[test]
fn init_writes_a_config_that_references_secret_files_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let args = [
        "init",
        "--no-input",
        "--org-id",
        "org-1",
        "--org-api-key-file",
        "/run/secrets/org_key",
        "--integration-email",
        "steward@acme.com",
        "--site",
        "acme=https://acme.atlassian.net",
        "--site-token-file",
        "acme=/run/secrets/acme_token",
        "--statuspage-organization-id",
        "sp-org",
        "--statuspage-api-key-file",
        "/run/secrets/sp_key",
    ];
    let out = steward(dir.path(), &args, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(dir.path().join("steward.toml"))
        .unwrap_or_else(|e| unreachable!("{e}"));
    for expected in [
        "org_id = \"org-1\"",
        "org_api_key_file = \"/run/secrets/org_key\"",
        "api_token_file = \"/run/secrets/acme_token\"",
        "api_key_file = \"/run/secrets/sp_key\"",
        "url = \"sqlite://steward.db\"",
        "api_url = \"https://api.atlassian.com\"",
    ] {
        assert!(written.contains(expected), "{expected} in {written}");
    }
    let again = steward(dir.path(), &args, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(steward(dir.path(), &forced, &[]).status.success());
}

#[test]
fn init_without_a_terminal_names_the_missing_flag() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let out = steward(dir.path(), &["init", "--org-id", "o"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--org-api-key-file"), "{}", text(&out));
    assert!(!dir.path().join("steward.toml").exists());
}
