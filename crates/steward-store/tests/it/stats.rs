//! Monitoring counts: jobs by kind and status, requests by state.

use serde_json::json;
use steward_store::{NewAuditEntry, NewJob, NewRequest, NewStep, RequestState};

use crate::db::TestDb;

fn job(kind: &str, subject: &str) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        requested_by: "alice@acme.test".to_owned(),
        reason: "counted".to_owned(),
        idempotency_key: None,
        plan: json!({}),
        steps: vec![NewStep {
            name: "step".to_owned(),
            api_call: "POST /step".to_owned(),
            op: json!({"op": 1}),
        }],
        not_before: None,
    }
}

fn request(subject: &str) -> NewRequest {
    NewRequest {
        subject: subject.to_owned(),
        entitlements: vec!["jira:acme/user".to_owned()],
        justification: "counted".to_owned(),
        duration_secs: None,
        requested_by: "req@acme.test".to_owned(),
    }
}

fn entry() -> NewAuditEntry {
    NewAuditEntry {
        actor: "req@acme.test".to_owned(),
        action: "request.created".to_owned(),
        subject: None,
        reason: None,
        detail: json!({}),
        result: "ok".to_owned(),
        job: None,
    }
}

pub async fn stats_count_jobs_by_kind_and_status_and_requests_by_state(
    db: &TestDb,
) -> anyhow::Result<()> {
    let stats = db.store.stats();
    assert!(stats.jobs_by_status().await?.is_empty());
    assert!(stats.requests_by_state().await?.is_empty());

    let jobs = db.store.jobs();
    for subject in ["a@acme.test", "b@acme.test"] {
        jobs.enqueue(&job("grant", subject), None).await?;
    }
    let revoke = jobs.enqueue(&job("revoke", "c@acme.test"), None).await?;
    jobs.cancel(revoke.id, "not needed", None).await?;
    assert_eq!(
        stats.jobs_by_status().await?,
        vec![
            ("grant".to_owned(), "queued".to_owned(), 2),
            ("revoke".to_owned(), "cancelled".to_owned(), 1),
        ]
    );

    let requests = db.store.requests();
    for (subject, state) in [
        ("a@acme.test", RequestState::Pending),
        ("b@acme.test", RequestState::Pending),
        ("c@acme.test", RequestState::Approved),
    ] {
        requests.create(&request(subject), state, &entry()).await?;
    }
    assert_eq!(
        stats.requests_by_state().await?,
        vec![("approved".to_owned(), 1), ("pending".to_owned(), 2)]
    );
    assert_eq!(stats.failed_revocations().await?, 0);
    Ok(())
}
