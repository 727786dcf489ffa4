//! Access requests (states, approvals, races) and the scheduler's slot claims, on both back
//! ends.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use serde_json::json;
use steward_store::{
    AuditQuery, Change, Error, JobId, NewAuditEntry, NewJob, NewRequest, RequestId, RequestQuery,
    RequestState, RevocationStatus, Role, Store,
};

use crate::db::TestDb;

fn new_request(subject: &str, duration_secs: Option<i64>) -> NewRequest {
    NewRequest {
        subject: subject.to_owned(),
        entitlements: vec!["jira:acme/user".to_owned(), "group:finance".to_owned()],
        justification: "joins finance".to_owned(),
        duration_secs,
        requested_by: "req@acme.test".to_owned(),
    }
}

fn entry(actor: &str, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: Some("ada@acme.test".to_owned()),
        reason: None,
        detail: json!({}),
        result: "ok".to_owned(),
        job: None,
    }
}

async fn a_job(store: &Store) -> anyhow::Result<JobId> {
    let job = NewJob {
        kind: "grant".to_owned(),
        subject: "ada@acme.test".to_owned(),
        requested_by: "req@acme.test".to_owned(),
        reason: "r".to_owned(),
        idempotency_key: None,
        plan: json!({}),
        steps: vec![],
        not_before: None,
    };
    Ok(store.jobs().enqueue(&job, None).await?.id)
}

pub async fn requests_move_through_their_states_with_audit_entries(
    db: &TestDb,
) -> anyhow::Result<()> {
    let requests = db.store.requests();
    let created = requests
        .create(
            &new_request("ada@acme.test", Some(3600)),
            RequestState::Pending,
            &entry("req@acme.test", "request.created"),
        )
        .await?;
    assert_eq!(created.state, RequestState::Pending);
    assert_eq!(created.request.entitlements.len(), 2);
    assert_eq!(requests.get(created.id).await?, created);

    // Two approvals needed: the first does not approve, the second does; repeats are no-ops.
    let two = |r: &steward_store::AccessRequest| r.approvals.len() >= 2;
    let first = requests
        .approve(
            created.id,
            "Ann@acme.test",
            Role::Approver,
            Some("ok"),
            two,
            &entry("ann@acme.test", "request.approval"),
        )
        .await?;
    assert!(first.recorded && !first.now_approved);
    let again = requests
        .approve(
            created.id,
            "ann@acme.test",
            Role::Approver,
            None,
            two,
            &entry("ann@acme.test", "request.approval"),
        )
        .await?;
    assert!(!again.recorded);
    let second = requests
        .approve(
            created.id,
            "bob@acme.test",
            Role::Approver,
            None,
            two,
            &entry("bob@acme.test", "request.approval"),
        )
        .await?;
    assert!(second.now_approved);
    assert_eq!(second.request.state, RequestState::Approved);
    assert_eq!(second.request.approvals.len(), 2);
    assert_eq!(second.request.approvals[0].approver, "ann@acme.test");

    let job = a_job(&db.store).await?;
    let provisioning = requests
        .transition(
            created.id,
            &[RequestState::Approved],
            &Change {
                grant_job: Some(job),
                ..Change::to(RequestState::Provisioning)
            },
            Some(&entry("steward", "request.provisioning")),
        )
        .await?;
    assert!(provisioning.changed);
    assert_eq!(provisioning.request.grant_job, Some(job));
    // Retried: nothing changes.
    let retried = requests
        .transition(
            created.id,
            &[RequestState::Approved],
            &Change::to(RequestState::Provisioning),
            None,
        )
        .await?;
    assert!(!retried.changed);
    let provisioned = requests
        .transition(
            created.id,
            &[RequestState::Provisioning],
            &Change::to(RequestState::Provisioned),
            Some(&entry("steward", "request.provisioned")),
        )
        .await?
        .request;
    let at = provisioned.provisioned_at.expect("provisioned_at");
    assert_eq!(provisioned.expires_at, Some(at + TimeDelta::hours(1)));
    assert!(requests.due(Utc::now()).await?.is_empty());
    let due = requests.due(Utc::now() + TimeDelta::hours(2)).await?;
    assert_eq!(
        due.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![created.id]
    );

    // A wrong transition is refused with the state it found.
    let err = requests
        .transition(
            created.id,
            &[RequestState::Pending],
            &Change::to(RequestState::Cancelled),
            None,
        )
        .await
        .expect_err("provisioned can't be cancelled");
    assert!(
        matches!(
            err,
            Error::RequestState {
                state: RequestState::Provisioned,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        requests.get(RequestId(9999)).await,
        Err(Error::UnknownRequest(RequestId(9999)))
    ));

    // Every change is in the audit log, and the chain verifies.
    let actions: Vec<String> = db
        .store
        .audit()
        .list(&AuditQuery::default())
        .await?
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(
        actions,
        [
            "request.created",
            "request.approval",
            "request.approval",
            "request.provisioning",
            "request.provisioned"
        ]
    );
    assert!(db.store.audit().verify().await?.ok);

    // Filters and pages.
    let other = requests
        .create(
            &new_request("bo@acme.test", None),
            RequestState::Approved,
            &entry("x", "request.created"),
        )
        .await?;
    assert!(other.approved_at.is_some());
    let by_state = requests
        .list(&RequestQuery {
            state: Some(RequestState::Approved),
            ..RequestQuery::default()
        })
        .await?;
    assert_eq!(
        by_state.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other.id]
    );
    let by_subject = requests
        .list(&RequestQuery {
            subject: Some("ADA@acme.test".to_owned()),
            ..RequestQuery::default()
        })
        .await?;
    assert_eq!(by_subject.len(), 1);
    assert_eq!(by_subject[0].approvals.len(), 2);
    let page = requests
        .list(&RequestQuery {
            after_id: Some(created.id),
            limit: Some(5),
            ..RequestQuery::default()
        })
        .await?;
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other.id]
    );
    Ok(())
}

pub async fn revocation_outcomes_are_recorded_once_and_a_failed_one_is_retried(
    db: &TestDb,
) -> anyhow::Result<()> {
    let requests = db.store.requests();
    let created = requests
        .create(
            &new_request("ada@acme.test", None),
            RequestState::Approved,
            &entry("x", "request.created"),
        )
        .await?;
    let grant = a_job(&db.store).await?;
    for (from, change) in [
        (
            RequestState::Approved,
            Change {
                grant_job: Some(grant),
                ..Change::to(RequestState::Provisioning)
            },
        ),
        (
            RequestState::Provisioning,
            Change::to(RequestState::Provisioned),
        ),
    ] {
        requests
            .transition(created.id, &[from], &change, None)
            .await?;
    }
    assert_eq!(requests.get(created.id).await?.revocation, None);
    // Revoked with a job: in progress, and due (the sweep follows the job).
    let first = a_job(&db.store).await?;
    let revoked = requests
        .transition(
            created.id,
            &[RequestState::Provisioned],
            &Change {
                revoke_job: Some(first),
                ..Change::to(RequestState::Revoked)
            },
            None,
        )
        .await?
        .request;
    let revocation = revoked.revocation.expect("a revocation");
    assert_eq!(
        (revocation.job, revocation.status, revocation.error),
        (first, RevocationStatus::InProgress, None)
    );
    assert_eq!(requests.due(Utc::now()).await?.len(), 1);
    // A retry before it failed is refused.
    let early = requests
        .retry_revocation(
            created.id,
            first,
            JobId(first.0 + 1000),
            &entry("admin", "request.revocation_retried"),
        )
        .await;
    assert!(
        matches!(early, Err(Error::RevocationNotFailed { .. })),
        "{early:?}"
    );
    // It fails: recorded once, no longer due, listed by its status.
    let failed = requests
        .record_revocation(
            created.id,
            first,
            RevocationStatus::Failed,
            Some("503"),
            &entry("steward", "request.revocation_failed"),
        )
        .await?;
    assert!(failed.changed);
    assert_eq!(failed.request.state, RequestState::Revoked);
    let again = requests
        .record_revocation(
            created.id,
            first,
            RevocationStatus::Succeeded,
            None,
            &entry("steward", "request.revocation_succeeded"),
        )
        .await?;
    assert!(!again.changed, "a second sweep writes nothing");
    assert!(requests.due(Utc::now()).await?.is_empty());
    let listed = requests
        .list(&RequestQuery {
            revocation: Some(RevocationStatus::Failed),
            ..RequestQuery::default()
        })
        .await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]
            .revocation
            .as_ref()
            .and_then(|r| r.error.as_deref()),
        Some("503")
    );
    // Retried with a new job: in progress again, the error cleared; twice is once.
    let second = a_job(&db.store).await?;
    let retried = requests
        .retry_revocation(
            created.id,
            first,
            second,
            &entry("admin", "request.revocation_retried"),
        )
        .await?;
    assert!(retried.changed);
    let revocation = retried.request.revocation.expect("a revocation");
    assert_eq!(
        (revocation.job, revocation.status, revocation.error),
        (second, RevocationStatus::InProgress, None)
    );
    assert_eq!(retried.request.revoke_job, Some(second));
    let twice = requests
        .retry_revocation(
            created.id,
            first,
            second,
            &entry("admin", "request.revocation_retried"),
        )
        .await?;
    assert!(!twice.changed);
    // The old job's outcome is ignored now; the new one's is recorded.
    let stale = requests
        .record_revocation(
            created.id,
            first,
            RevocationStatus::Failed,
            Some("late"),
            &entry("steward", "request.revocation_failed"),
        )
        .await?;
    assert!(!stale.changed);
    let done = requests
        .record_revocation(
            created.id,
            second,
            RevocationStatus::Succeeded,
            None,
            &entry("steward", "request.revocation_succeeded"),
        )
        .await?;
    assert_eq!(
        done.request.revocation.map(|r| r.status),
        Some(RevocationStatus::Succeeded)
    );
    assert!(
        requests
            .record_revocation(
                created.id,
                second,
                RevocationStatus::InProgress,
                None,
                &entry("x", "y")
            )
            .await
            .is_err()
    );
    let actions: Vec<String> = db
        .store
        .audit()
        .list(&AuditQuery::default())
        .await?
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(
        actions,
        [
            "request.created",
            "request.revocation_failed",
            "request.revocation_retried",
            "request.revocation_succeeded"
        ]
    );
    assert!(db.store.audit().verify().await?.ok);
    Ok(())
}

pub async fn concurrent_deciders_see_one_transition_win(db: &TestDb) -> anyhow::Result<()> {
    let store = Arc::new(db.store.clone());
    for round in 0..5 {
        let created = store
            .requests()
            .create(
                &new_request(&format!("p{round}@acme.test"), None),
                RequestState::Pending,
                &entry("req@acme.test", "request.created"),
            )
            .await?;
        let mut tasks = Vec::new();
        for who in ["ann@acme.test", "bob@acme.test", "cid@acme.test"] {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store
                    .requests()
                    .approve(
                        created.id,
                        who,
                        Role::Approver,
                        None,
                        |_| true,
                        &entry(who, "request.approval"),
                    )
                    .await
            }));
        }
        let mut won = 0;
        let mut conflicts = 0;
        for t in tasks {
            match t.await? {
                Ok(a) if a.now_approved => won += 1,
                Ok(a) => panic!("an approval neither won nor conflicted: {a:?}"),
                Err(Error::RequestState {
                    state: RequestState::Approved,
                    ..
                }) => conflicts += 1,
                Err(e) => return Err(e.into()),
            }
        }
        assert_eq!((won, conflicts), (1, 2), "round {round}");
        let request = store.requests().get(created.id).await?;
        assert_eq!(request.approvals.len(), 1);
    }
    assert!(store.audit().verify().await?.ok);
    Ok(())
}

pub async fn schedule_slots_are_claimed_once_each(db: &TestDb) -> anyhow::Result<()> {
    let store = Arc::new(db.store.clone());
    let mut tasks = Vec::new();
    for owner in 0..4 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for slot in 1..=10_i64 {
                if store
                    .schedule()
                    .claim("sync", slot, &format!("p{owner}"))
                    .await?
                {
                    mine.push(slot);
                }
            }
            Ok::<_, Error>(mine)
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await??);
    }
    claimed.sort_unstable();
    claimed.dedup();
    assert!(claimed.len() <= 10);
    let (last, _, _) = store.schedule().last("sync").await?.expect("claimed");
    assert_eq!(last, 10);
    // Slots never go back, and another task is independent.
    assert!(!store.schedule().claim("sync", 10, "late").await?);
    assert!(!store.schedule().claim("sync", 3, "late").await?);
    assert!(store.schedule().claim("sync", 11, "late").await?);
    assert!(store.schedule().claim("sweep", 1, "late").await?);
    assert!(store.schedule().last("never").await?.is_none());
    Ok(())
}
