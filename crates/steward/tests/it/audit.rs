//! `steward jobs`, `steward job`, `steward audit` and `steward audit verify` over a store the
//! test fills through the store's API (as the provisioning worker does).

use serde_json::json;
use steward_store::{NewAuditEntry, NewJob, NewStep, Store};

use crate::{steward, text};

async fn filled() -> anyhow::Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = Store::open(&url).await?;
    let job = NewJob {
        kind: "grant".into(),
        subject: "ada@acme.test".into(),
        requested_by: "admin@acme.test".into(),
        reason: "new starter".into(),
        idempotency_key: Some("req-1".into()),
        plan: json!({"ops": 2}),
        steps: vec![
            NewStep {
                name: "invite the account to the organization".into(),
                api_call: "POST /admin/v2/orgs/{orgId}/users/invite".into(),
                op: json!({"op": "invite_account"}),
            },
            NewStep {
                name: "grant atlassian/user on ari:cloud:jira-software::site/c1".into(),
                api_call: "POST /admin/v1/orgs/{orgId}/users/{accountId}/roles/assign".into(),
                op: json!({"op": "grant_role", "resource": "ari:cloud:jira-software::site/c1",
                           "role": "atlassian/user"}),
            },
        ],
        not_before: None,
    };
    let audit = |action: &str| NewAuditEntry {
        actor: "admin@acme.test".into(),
        action: action.into(),
        subject: Some("ada@acme.test".into()),
        reason: Some("new starter".into()),
        detail: json!({}),
        result: "ok".into(),
        job: None,
    };
    store
        .jobs()
        .enqueue(&job, Some(&audit("grant requested")))
        .await?;
    store.audit().append(&audit("note")).await?;
    store.close().await;
    Ok((dir, url))
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_the_audit_log_are_listed_and_the_chain_verifies() -> anyhow::Result<()> {
    let (dir, url) = filled().await?;
    let path = dir.path().to_owned();
    let run = move |args: Vec<String>| {
        let path = path.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                steward(&path, &args, &[])
            })
            .await
        }
    };
    let args = |a: &[&str]| -> Vec<String> {
        a.iter()
            .map(|s| (*s).to_owned())
            .chain(["--database-url".to_owned(), url.clone()])
            .collect()
    };

    let jobs = run(args(&["jobs"])).await?;
    let out = text(&jobs);
    assert_eq!(jobs.status.code(), Some(0), "{out}");
    assert!(
        out.contains("grant") && out.contains("ada@acme.test") && out.contains("queued"),
        "{out}"
    );

    let job = run(args(&["jobs", "1"])).await?;
    let out = text(&job);
    assert_eq!(job.status.code(), Some(0), "{out}");
    assert!(
        out.contains("requested by admin@acme.test: new starter"),
        "{out}"
    );
    assert!(
        out.contains("POST /admin/v1/orgs/{orgId}/users/{accountId}/roles/assign"),
        "{out}"
    );
    let missing = run(args(&["jobs", "99"])).await?;
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("no job 99"));

    let bad = run(args(&["jobs", "--status", "done"])).await?;
    assert_ne!(bad.status.code(), Some(0));
    assert!(text(&bad).contains("queued, running, succeeded, failed or cancelled"));

    let audit = run(args(&["--output", "csv", "audit"])).await?;
    let out = text(&audit);
    assert_eq!(audit.status.code(), Some(0), "{out}");
    assert!(
        out.starts_with("seq,at,actor,action,subject,result,job,reason\n"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.contains("grant requested") && out.contains(",1,"),
        "{out}"
    );

    let verify = run(args(&["audit", "verify"])).await?;
    let out = text(&verify);
    assert_eq!(verify.status.code(), Some(0), "{out}");
    assert!(out.contains("audit log intact: 2 entries"), "{out}");

    // Someone edits an entry behind Steward's back.
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await?;
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
    }
    let verify = run(args(&["audit", "verify"])).await?;
    let out = text(&verify);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(out.contains("audit log TAMPERED: entry 1"), "{out}");
    Ok(())
}

#[test]
fn audit_of_a_missing_database_says_so() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("none.db").display());
    let out = steward(dir.path(), &["audit", "--database-url", &url], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nothing has been audited yet"));
    assert!(
        !dir.path().join("none.db").exists(),
        "a reader must not create the database"
    );
}
