//! `steward verify` against a simulator: exit status, output formats, secrets from files, and
//! secrets never printed.

use std::path::Path;

use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::Value;

use crate::{steward, text, write_config};

async fn sim() -> SimHandle {
    Simulator::spawn(SimConfig::default())
        .await
        .unwrap_or_else(|e| unreachable!("cannot start the simulator: {e}"))
}

async fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        steward(&dir, &args, &[])
    })
    .await
    .unwrap_or_else(|e| unreachable!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_against_a_configured_sandbox_with_a_secret_from_a_file() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let info = sim.info().clone();
    write_config(
        dir.path(),
        &sim,
        &info.admin_api_key,
        &info.sites[0].api_token,
    );
    let out = run(dir.path(), &["verify"]).await;
    let text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("✓ Integration account"), "{text}");
    assert!(!text.contains("✗"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_site_token_fails_with_the_fix_and_is_never_printed() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let info = sim.info().clone();
    let canary = "canary-token-91b3";
    write_config(dir.path(), &sim, &info.admin_api_key, canary);
    for args in [
        &["verify"][..],
        &["--output", "json", "verify"],
        &["--output", "csv", "verify"],
    ] {
        let out = run(dir.path(), args).await;
        let text = text(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("Create API token"), "{text}");
        assert!(!text.contains(canary), "the token leaked: {text}");
        assert!(
            !text.contains(&info.admin_api_key),
            "the org key leaked: {text}"
        );
    }
    let out = run(dir.path(), &["--output", "json", "verify"]).await;
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(json["passed"], Value::Bool(false));
    let jira = json["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "site.acme.jira"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(jira["status"], "fail", "{json}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_org_key_fails_with_the_fix() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let info = sim.info().clone();
    let canary = "canary-org-key-2c7a";
    write_config(dir.path(), &sim, canary, &info.sites[0].api_token);
    let out = run(dir.path(), &["verify"]).await;
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✗ Org API key is valid: the org API key is invalid or expired"),
        "{text}"
    );
    assert!(
        text.contains("admin.atlassian.com → Settings → API keys"),
        "{text}"
    );
    assert!(
        text.contains("✓ Site token of acme works for Jira"),
        "{text}"
    );
    assert!(!text.contains(canary), "{text}");
    sim.shutdown().await;
}

#[test]
fn verify_sandbox_passes_in_both_modes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    for mode in ["centralized", "original"] {
        let out = steward(
            dir.path(),
            &["--output", "json", "verify", "--sandbox", "--mode", mode],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let json: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(json["passed"], Value::Bool(true));
    }
}

#[test]
fn an_unreachable_host_is_named() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| unreachable!("{e}"));
    let file = format!(
        "[atlassian]\norg_id = \"o\"\napi_url = \"http://{closed}/api\"\norg_api_key = \"canary-x1\"\nintegration_email = \"a@acme.com\"\n"
    );
    std::fs::write(dir.path().join("steward.toml"), file).unwrap_or_else(|e| unreachable!("{e}"));
    let out = steward(dir.path(), &["verify"], &[]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("cannot reach http://{closed}/api")),
        "{text}"
    );
    assert!(!text.contains("canary-x1"), "{text}");
}

#[test]
fn sandbox_writes_a_config_that_verify_accepts() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .current_dir(dir.path())
        .args(["sandbox", "--write-config", "sandbox.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| unreachable!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| unreachable!());
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_default();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Serving until Ctrl-C") {
            break;
        }
    }
    let out = steward(dir.path(), &["--config", "sandbox.toml", "verify"], &[]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        printed.contains("steward --config sandbox.toml verify"),
        "{printed}"
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The sandbox's own credentials are in the file, not on the terminal.
    let written = std::fs::read_to_string(dir.path().join("sandbox.toml")).unwrap_or_default();
    let key = written
        .lines()
        .find_map(|l| l.strip_prefix("org_api_key = \""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .unwrap_or_default();
    assert!(!key.is_empty(), "{written}");
    assert!(!printed.contains(&key), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_variables_override_the_file() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let info = sim.info().clone();
    // The file names a wrong key; the environment points at a file with the right one.
    write_config(dir.path(), &sim, "wrong-key", &info.sites[0].api_token);
    std::fs::write(dir.path().join("good_key"), &info.admin_api_key)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        steward(
            &path,
            &["verify"],
            &[("STEWARD_ATLASSIAN__ORG_API_KEY_FILE", "good_key")],
        )
    })
    .await
    .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    sim.shutdown().await;
}
