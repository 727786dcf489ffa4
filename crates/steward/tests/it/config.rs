//! Bad configuration gives one clear message and exit status 2, and never shows a secret.

use crate::{steward, text};

const CANARY: &str = "canary-secret-7d41c";

fn run_with(file: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    std::fs::write(dir.path().join("steward.toml"), file).unwrap_or_else(|e| unreachable!("{e}"));
    let out = steward(dir.path(), &["verify"], &[]);
    (out.status.code().unwrap_or(-1), text(&out))
}

fn assert_one_clear_error(code: i32, text: &str, needle: &str) {
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(needle), "expected {needle:?} in: {text}");
    assert_eq!(text.lines().count(), 1, "one message: {text}");
    assert!(text.starts_with("error: "), "{text}");
    assert!(!text.contains(CANARY), "a secret leaked: {text}");
}

#[test]
fn a_missing_key_names_the_key_and_how_to_set_it() {
    let (code, text) = run_with(&format!(
        "[atlassian]\norg_id = \"o\"\norg_api_key = \"{CANARY}\"\n"
    ));
    assert_one_clear_error(code, &text, "`atlassian.integration_email`");
    assert!(
        text.contains("STEWARD_ATLASSIAN__INTEGRATION_EMAIL"),
        "{text}"
    );
}

#[test]
fn invalid_toml_names_line_and_column() {
    let (code, text) = run_with(&format!(
        "[atlassian]\norg_api_key = \"{CANARY}\"\norg_id = \"unterminated\n"
    ));
    assert_one_clear_error(code, &text, "line 3, column");
}

#[test]
fn an_unknown_key_is_named() {
    let (code, text) = run_with(&format!(
        "[atlassian]\norg_id = \"o\"\norg_api_key = \"{CANARY}\"\norg_api_kye = \"{CANARY}\"\n"
    ));
    assert_one_clear_error(code, &text, "unknown key `atlassian.org_api_kye`");
}

#[test]
fn a_secret_of_the_wrong_type_is_not_quoted() {
    let (code, text) = run_with("[atlassian]\norg_api_key = [12345678]\n");
    assert_one_clear_error(code, &text, "`atlassian.org_api_key`");
    assert!(!text.contains("12345678"), "{text}");
}

#[test]
fn a_missing_config_file_given_explicitly_is_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let out = steward(dir.path(), &["--config", "nope.toml", "verify"], &[]);
    assert_one_clear_error(
        out.status.code().unwrap_or(-1),
        &text(&out),
        "nope.toml does not exist",
    );
}

#[test]
fn unrelated_steward_variables_are_not_configuration_keys() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let out = steward(
        dir.path(),
        &["verify"],
        &[
            ("STEWARD_TEST_DATABASE_URL", "postgres://x"),
            ("STEWARD_ATLASSIAN__ORG_ID", "o"),
        ],
    );
    let text = text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("`atlassian.integration_email`"), "{text}");
    assert!(!text.contains("test_database_url"), "{text}");
}
