//! `steward serve`: first admin, probes, graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn spawn(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("STEWARD_") {
            cmd.env_remove(key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| unreachable!("cannot run steward: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| unreachable!());
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_default();
        let done = line.starts_with("steward serve: listening on");
        lines.push(line);
        if done {
            break;
        }
    }
    (child, lines)
}

fn listening(lines: &[String]) -> String {
    let last = lines.last().cloned().unwrap_or_default();
    last.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| unreachable!("no address in {lines:?}"))
        .to_owned()
}

#[tokio::test]
async fn serve_creates_the_first_admin_answers_and_stops_on_sigterm() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let args = [
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--admin-email",
        "ada@acme.com",
    ];
    let (mut child, lines) = spawn(dir.path(), &args, &[]);
    let text = lines.join("\n");
    assert!(
        text.contains("created the first admin ada@acme.com with password"),
        "{text}"
    );
    let password = lines[0]
        .split_whitespace()
        .nth(7)
        .unwrap_or_default()
        .to_owned();
    let base = listening(&lines);
    let client = reqwest::Client::new();
    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{base}/api/v1/people"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": "ada@acme.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{text}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0));

    // Restarted, it keeps the admin and creates nobody.
    let (mut child, lines) = spawn(dir.path(), &args, &[]);
    assert!(!lines.join("\n").contains("created"), "{lines:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn serve_without_any_admin_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let out = crate::steward(
        dir.path(),
        &["serve", "--addr", "127.0.0.1:0", "--database-url", &db],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::text(&out).contains("--admin-email"),
        "{}",
        crate::text(&out)
    );
}

#[tokio::test]
async fn serve_sandbox_prints_demo_people_and_syncs_once_at_start() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = spawn(
        dir.path(),
        &["serve", "--sandbox", "--addr", "127.0.0.1:0"],
        &[],
    );
    let text = lines.join("\n");
    let password = |role: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("demo {role}: ")))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| unreachable!("no demo {role} in {text}"))
            .to_owned()
    };
    for role in ["admin", "approver", "requester"] {
        assert!(!password(role).is_empty());
    }
    let base = listening(&lines);
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": "admin@sandbox.steward", "password": password("admin")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{text}");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    // The scheduler looks at its first slot as soon as it starts; give it time to.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs: serde_json::Value = client
        .get(format!("{base}/api/v1/sync/runs"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = runs["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "one sync at start, not two: {runs}");
    assert_eq!(items[0]["status"], "completed", "{runs}");
    let _ = child.kill();
    let _ = child.wait();
}
