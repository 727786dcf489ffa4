//! The `atlassian-sim` program and the `--state` file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use atlassian_sim::{SimConfig, Simulator};
use reqwest::Method;

use crate::support::TestEnv;

#[tokio::test]
async fn the_program_prints_one_json_ready_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atlassian-sim"))
        .args(["--profile", "small", "--seed", "3", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("program starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("reader joins")
    .expect("a line is printed");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("the line is JSON");
    for key in [
        "org_id",
        "admin_base_url",
        "sites",
        "admin_api_key",
        "statuspage",
        "control_url",
        "control_token",
    ] {
        assert!(ready.get(key).is_some(), "ready line lacks {key}: {line}");
    }
    let site = &ready["sites"][0];
    for key in ["name", "base_url", "email", "api_token"] {
        assert!(site.get(key).is_some(), "site lacks {key}");
    }
    for key in ["base_url", "api_key", "organization_id"] {
        assert!(
            ready["statuspage"].get(key).is_some(),
            "statuspage lacks {key}"
        );
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let orgs: serde_json::Value = http
        .get(format!(
            "{}/admin/v1/orgs",
            ready["admin_base_url"].as_str().unwrap()
        ))
        .bearer_auth(ready["admin_api_key"].as_str().unwrap())
        .send()
        .await
        .expect("org API answers")
        .json()
        .await
        .expect("JSON body");
    assert_eq!(orgs["data"][0]["id"], ready["org_id"]);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_state_file_keeps_changes_across_restarts() {
    let dir = std::env::temp_dir().join(format!("atlassian-sim-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("org.json");
    let _ = std::fs::remove_file(&path);
    let config = SimConfig {
        state_file: Some(path.clone()),
        seed: 9,
        ..SimConfig::default()
    };

    let env = TestEnv::start_with(config.clone()).await;
    let org_id = env.org_id();
    let created = env
        .org(
            Method::POST,
            &format!("/admin/v2/orgs/{org_id}/users/invite"),
        )
        .json(&serde_json::json!({"emails": ["kept.across@acme.com"]}))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "invite answered {}",
        created.status()
    );
    env.finish().await;
    assert!(path.exists(), "the state file is written on shutdown");

    // A different seed: the file, not the seed, decides the org.
    let again = Simulator::spawn(SimConfig { seed: 10, ..config })
        .await
        .unwrap();
    assert_eq!(again.info().org_id, org_id);
    assert!(
        again
            .app()
            .read(|w| w.account_by_email("kept.across@acme.com").is_some())
    );
    again.shutdown().await;

    std::fs::write(&path, b"{ not json").unwrap();
    let err = Simulator::spawn(SimConfig {
        state_file: Some(path.clone()),
        ..SimConfig::default()
    })
    .await
    .err()
    .expect("a corrupt state file is refused");
    assert!(
        err.to_string().contains("cannot load simulator state"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
