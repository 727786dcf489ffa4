//! Jobs (queue, leases, fencing, step journal) and restore bundles, on both back ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::json;
use steward_store::{
    AuditQuery, Error, JobId, JobOutcome, JobQuery, JobStatus, NewAuditEntry, NewBundle, NewJob,
    NewStep, StepStatus, Store,
};

use crate::db::TestDb;

const LONG: Duration = Duration::from_secs(300);

fn new_job(subject: &str, key: Option<&str>, steps: usize) -> NewJob {
    NewJob {
        kind: "grant".to_owned(),
        subject: subject.to_owned(),
        requested_by: "alice@acme.test".to_owned(),
        reason: "joins the platform team".to_owned(),
        idempotency_key: key.map(str::to_owned),
        plan: json!({"grant": ["jira:acme/user"]}),
        steps: (1..=steps)
            .map(|i| NewStep {
                name: format!("step {i}"),
                api_call: format!("POST /step/{i}"),
                op: json!({"op": i}),
            })
            .collect(),
        not_before: None,
    }
}

fn audit_entry(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: "steward".to_owned(),
        action: action.to_owned(),
        subject: Some("ada@acme.test".to_owned()),
        reason: Some("joins the platform team".to_owned()),
        detail: json!({"calls": ["POST /step/1"]}),
        result: "ok".to_owned(),
        job: None,
    }
}

/// Sleeps until just after `until`.
async fn sleep_past(until: Option<chrono::DateTime<Utc>>) {
    let until = until.expect("a lease expiry");
    let left = (until - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(50)).await;
}

async fn enqueue(store: &Store, subject: &str, steps: usize) -> anyhow::Result<JobId> {
    Ok(store
        .jobs()
        .enqueue(&new_job(subject, None, steps), None)
        .await?
        .id)
}

pub async fn enqueue_with_a_used_idempotency_key_returns_the_first_job(
    db: &TestDb,
) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let first = jobs
        .enqueue(
            &new_job("ada@acme.test", Some("req-1"), 2),
            Some(&audit_entry("job.enqueued")),
        )
        .await?;
    assert!(first.created);
    let entry = first
        .audit
        .as_ref()
        .expect("an audit entry with the new job");
    assert_eq!(entry.entry.job, Some(first.id));

    let again = jobs
        .enqueue(
            &new_job("someone-else@acme.test", Some("req-1"), 5),
            Some(&audit_entry("job.enqueued")),
        )
        .await?;
    assert_eq!(again.id, first.id);
    assert!(!again.created);
    assert!(
        again.audit.is_none(),
        "no second audit entry for a duplicate"
    );

    // Concurrent duplicates: still one job.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .jobs()
                .enqueue(
                    &new_job("bob@acme.test", Some("req-2"), 1),
                    Some(&audit_entry("job.enqueued")),
                )
                .await
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let e = t.await??;
        ids.push(e.id);
        created += usize::from(e.created);
    }
    ids.dedup();
    assert_eq!(
        ids.len(),
        1,
        "every concurrent enqueue returns the same job"
    );
    assert_eq!(created, 1);

    let other = jobs
        .enqueue(&new_job("carl@acme.test", None, 1), None)
        .await?;
    let no_key = jobs
        .enqueue(&new_job("carl@acme.test", None, 1), None)
        .await?;
    assert_ne!(other.id, no_key.id, "jobs without a key are never merged");

    assert_eq!(db.scalar_i64("SELECT count(*) FROM jobs").await?, 4);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM audit_log").await?, 2);
    let detail = jobs.get(first.id).await?;
    assert_eq!(detail.job.subject, "ada@acme.test");
    assert_eq!(detail.steps.len(), 2);
    Ok(())
}

pub async fn claim_takes_the_oldest_due_job_and_leaves_future_ones(
    db: &TestDb,
) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    assert!(jobs.claim("w1", LONG).await?.is_none(), "empty queue");
    let mut later = new_job("later@acme.test", None, 1);
    later.not_before = Some(Utc::now() + TimeDelta::hours(1));
    let later = jobs.enqueue(&later, None).await?.id;
    let a = enqueue(&db.store, "a@acme.test", 2).await?;
    let b = enqueue(&db.store, "b@acme.test", 1).await?;

    let first = jobs.claim("w1", LONG).await?.expect("a job");
    assert_eq!(first.job.id, a);
    assert_eq!(first.job.status, JobStatus::Running);
    assert_eq!(first.job.attempts, 1);
    assert_eq!(first.job.lease_owner.as_deref(), Some("w1"));
    assert!(first.job.lease_expires_at.expect("a lease") > Utc::now());
    assert_eq!(first.steps.len(), 2);
    assert!(first.steps.iter().all(|s| s.status == StepStatus::Pending));
    assert_eq!(first.next_step().map(|s| s.seq), Some(1));

    let second = jobs.claim("w2", LONG).await?.expect("a job");
    assert_eq!(second.job.id, b);
    assert!(
        jobs.claim("w3", LONG).await?.is_none(),
        "the future job is not due"
    );
    assert_eq!(jobs.get(later).await?.job.status, JobStatus::Queued);
    Ok(())
}

pub async fn fenced_writes_fail_once_the_lease_is_lost_and_change_nothing(
    db: &TestDb,
) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let id = enqueue(&db.store, "ada@acme.test", 2).await?;
    // A zero lease is expired at once: the worker "died".
    let dead = jobs.claim("dead", Duration::ZERO).await?.expect("a job");
    assert_eq!(dead.job.id, id);

    let lost = |r: Result<(), Error>| match r {
        Err(Error::LeaseLost { job, owner }) => job == id && owner == "dead",
        _ => false,
    };
    assert!(lost(jobs.step_started(id, "dead", 1).await));
    assert!(lost(jobs.renew(id, "dead", LONG).await.map(|_| ())));

    let alive = jobs
        .claim("alive", LONG)
        .await?
        .expect("the expired job is claimable");
    assert_eq!(alive.job.id, id);
    assert_eq!(alive.job.attempts, 2);
    jobs.step_started(id, "alive", 1).await?;

    // The dead worker's late writes are all refused.
    assert!(lost(
        jobs.step_done(id, "dead", 1, &json!({"late": true})).await
    ));
    assert!(lost(jobs.step_failed(id, "dead", 1, "late").await));
    assert!(lost(jobs.step_skipped(id, "dead", 2, "late").await));
    assert!(lost(jobs.retry_later(id, "dead", Utc::now(), "late").await));
    let head = db.store.audit().head().await?;
    assert!(lost(
        jobs.finish(
            id,
            "dead",
            JobOutcome::Failed,
            Some("late"),
            Some(&audit_entry("job.failed"))
        )
        .await
        .map(|_| ())
    ));
    assert_eq!(
        db.store.audit().head().await?,
        head,
        "no audit entry from a lost lease"
    );

    let now = jobs.get(id).await?;
    assert_eq!(now.job.status, JobStatus::Running);
    assert_eq!(now.job.lease_owner.as_deref(), Some("alive"));
    assert_eq!(now.steps[0].status, StepStatus::Running);
    assert_eq!(now.steps[0].result, None);
    assert_eq!(now.steps[1].status, StepStatus::Pending);

    // An unknown job is not a lost lease.
    assert!(matches!(
        jobs.step_started(JobId(9999), "alive", 1).await,
        Err(Error::UnknownJob(JobId(9999)))
    ));
    Ok(())
}

pub async fn a_crashed_workers_job_is_resumed_from_its_journal(db: &TestDb) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let id = enqueue(&db.store, "ada@acme.test", 3).await?;
    let crashed = jobs
        .claim("crashed", Duration::from_secs(2))
        .await?
        .expect("a job");
    jobs.step_started(id, "crashed", 1).await?;
    jobs.step_done(id, "crashed", 1, &json!({"account_id": "acc-1"}))
        .await?;
    jobs.step_started(id, "crashed", 2).await?;
    assert_eq!(crashed.job.attempts, 1);
    // The worker dies here: step 2 is running, nobody renews the lease.
    assert!(
        jobs.claim("next", LONG).await?.is_none(),
        "not before the lease expires"
    );
    sleep_past(crashed.job.lease_expires_at).await;

    let resumed = jobs
        .claim("next", LONG)
        .await?
        .expect("resumed after expiry");
    assert_eq!(resumed.job.id, id);
    assert_eq!(resumed.job.attempts, 2);
    assert_eq!(resumed.steps[0].status, StepStatus::Done);
    assert_eq!(
        resumed.steps[0].result,
        Some(json!({"account_id": "acc-1"}))
    );
    assert_eq!(resumed.steps[1].status, StepStatus::Running, "interrupted");
    assert_eq!(
        resumed.next_step().map(|s| s.seq),
        Some(2),
        "re-run the interrupted step"
    );

    jobs.step_started(id, "next", 2).await?;
    jobs.step_done(id, "next", 2, &json!(null)).await?;
    jobs.step_skipped(id, "next", 3, "already a member").await?;
    jobs.finish(id, "next", JobOutcome::Succeeded, None, None)
        .await?;

    let done = jobs.get(id).await?;
    assert_eq!(done.job.status, JobStatus::Succeeded);
    assert!(done.job.finished_at.is_some());
    assert_eq!(done.job.lease_expires_at, None);
    assert_eq!(done.steps[1].attempts, 2, "step 2 ran twice");
    assert_eq!(done.steps[0].attempts, 1, "step 1 ran once");
    assert_eq!(done.steps[2].status, StepStatus::Skipped);
    assert_eq!(done.steps[2].error.as_deref(), Some("already a member"));
    assert!(done.next_step().is_none());
    assert!(
        jobs.claim("third", LONG).await?.is_none(),
        "a finished job is never claimed"
    );
    Ok(())
}

pub async fn finished_steps_are_final_and_success_needs_every_step(
    db: &TestDb,
) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let id = enqueue(&db.store, "ada@acme.test", 2).await?;
    jobs.claim("w", LONG).await?.expect("a job");
    jobs.step_started(id, "w", 1).await?;
    jobs.step_done(id, "w", 1, &json!({"ok": true})).await?;
    assert!(matches!(
        jobs.step_started(id, "w", 1).await,
        Err(Error::StepFinished {
            seq: 1,
            status: StepStatus::Done,
            ..
        })
    ));
    assert!(matches!(
        jobs.step_failed(id, "w", 1, "x").await,
        Err(Error::StepFinished { seq: 1, .. })
    ));
    assert!(matches!(
        jobs.step_started(id, "w", 3).await,
        Err(Error::UnknownStep { seq: 3, .. })
    ));
    jobs.step_started(id, "w", 2).await?;
    jobs.step_failed(id, "w", 2, "HTTP 503").await?;
    assert!(matches!(
        jobs.finish(id, "w", JobOutcome::Succeeded, None, None)
            .await,
        Err(Error::StepsUnfinished {
            seq: 2,
            status: StepStatus::Failed,
            ..
        })
    ));
    assert_eq!(
        jobs.get(id).await?.job.status,
        JobStatus::Running,
        "refused: unchanged"
    );
    // A failed step can be started again, then finishes.
    jobs.step_started(id, "w", 2).await?;
    let step = jobs.get(id).await?.steps[1].clone();
    assert_eq!(
        (step.status, step.attempts, step.error),
        (StepStatus::Running, 2, None)
    );
    jobs.step_done(id, "w", 2, &json!(null)).await?;
    jobs.finish(id, "w", JobOutcome::Succeeded, None, None)
        .await?;
    assert_eq!(jobs.get(id).await?.job.status, JobStatus::Succeeded);
    assert!(matches!(
        jobs.step_started(id, "w", 2).await,
        Err(Error::LeaseLost { .. })
    ));
    Ok(())
}

pub async fn retry_later_requeues_the_job_and_ends_the_lease(db: &TestDb) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let id = enqueue(&db.store, "ada@acme.test", 1).await?;
    jobs.claim("w1", LONG).await?.expect("a job");
    jobs.step_started(id, "w1", 1).await?;
    jobs.step_failed(id, "w1", 1, "HTTP 503").await?;
    jobs.retry_later(id, "w1", Utc::now(), "server error")
        .await?;
    assert!(matches!(
        jobs.step_started(id, "w1", 1).await,
        Err(Error::LeaseLost { .. })
    ));

    let again = jobs.claim("w2", LONG).await?.expect("due again at once");
    assert_eq!(again.job.attempts, 2);
    assert_eq!(again.job.error.as_deref(), Some("server error"));
    assert_eq!(
        again.next_step().map(|s| (s.seq, s.status)),
        Some((1, StepStatus::Failed))
    );
    jobs.step_started(id, "w2", 1).await?;
    jobs.step_failed(id, "w2", 1, "HTTP 429").await?;
    jobs.retry_later(id, "w2", Utc::now() + TimeDelta::hours(1), "rate limited")
        .await?;
    let queued = jobs.get(id).await?;
    assert_eq!(queued.job.status, JobStatus::Queued);
    assert_eq!(queued.job.lease_owner, None);
    assert_eq!(queued.job.lease_expires_at, None);
    assert_eq!(queued.job.error.as_deref(), Some("rate limited"));
    assert!(queued.job.not_before > Utc::now() + TimeDelta::minutes(59));
    assert_eq!(queued.steps[0].status, StepStatus::Failed);
    assert_eq!(queued.steps[0].attempts, 2);
    assert!(jobs.claim("w3", LONG).await?.is_none(), "backing off");
    Ok(())
}

pub async fn renew_keeps_the_job_from_being_taken_over(db: &TestDb) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let id = enqueue(&db.store, "ada@acme.test", 1).await?;
    let claimed = jobs
        .claim("w1", Duration::from_secs(1))
        .await?
        .expect("a job");
    let first_expiry = claimed.job.lease_expires_at.expect("a lease");
    let renewed = jobs.renew(id, "w1", LONG).await?;
    assert!(renewed > first_expiry);
    assert_eq!(jobs.get(id).await?.job.lease_expires_at, Some(renewed));
    sleep_past(Some(first_expiry)).await;
    assert!(
        jobs.claim("w2", LONG).await?.is_none(),
        "the renewed lease holds"
    );
    jobs.step_started(id, "w1", 1).await?;
    Ok(())
}

pub async fn cancel_takes_queued_jobs_only(db: &TestDb) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let queued = enqueue(&db.store, "ada@acme.test", 1).await?;
    let running = enqueue(&db.store, "bob@acme.test", 1).await?;
    let entry = jobs
        .cancel(
            queued,
            "request withdrawn",
            Some(&audit_entry("job.cancelled")),
        )
        .await?
        .expect("an audit entry");
    assert_eq!(entry.entry.job, Some(queued));
    let cancelled = jobs.get(queued).await?.job;
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert_eq!(cancelled.error.as_deref(), Some("request withdrawn"));
    assert!(cancelled.finished_at.is_some());
    assert!(
        jobs.cancel(queued, "again", Some(&audit_entry("job.cancelled")))
            .await?
            .is_none(),
        "cancelling twice is a no-op"
    );
    assert_eq!(db.store.audit().head().await?.seq, 1);

    let claimed = jobs.claim("w", LONG).await?.expect("a job");
    assert_eq!(claimed.job.id, running, "the cancelled job is skipped");
    match jobs.cancel(running, "too late", None).await {
        Err(Error::NotCancellable { job, status }) => {
            assert_eq!((job, status), (running, JobStatus::Running));
        }
        other => panic!("expected NotCancellable, got {other:?}"),
    }
    assert_eq!(jobs.get(running).await?.job.status, JobStatus::Running);
    assert!(matches!(
        jobs.cancel(JobId(424242), "x", None).await,
        Err(Error::UnknownJob(_))
    ));
    Ok(())
}

pub async fn finish_commits_the_outcome_and_its_audit_entry_together(
    db: &TestDb,
) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let id = enqueue(&db.store, "ada@acme.test", 1).await?;
    jobs.claim("w", LONG).await?.expect("a job");
    jobs.step_started(id, "w", 1).await?;
    jobs.step_failed(id, "w", 1, "ADMIN-UAM-409-3 licence limit reached")
        .await?;
    // A refused finish (unfinished step) appends nothing.
    assert!(
        jobs.finish(
            id,
            "w",
            JobOutcome::Succeeded,
            None,
            Some(&audit_entry("job.succeeded"))
        )
        .await
        .is_err()
    );
    assert_eq!(db.store.audit().head().await?.seq, 0);
    let mut failed = audit_entry("job.failed");
    failed.result = "failed".to_owned();
    failed.job = Some(JobId(777)); // overridden: the entry belongs to the finished job
    let entry = jobs
        .finish(
            id,
            "w",
            JobOutcome::Failed,
            Some("licence limit reached"),
            Some(&failed),
        )
        .await?
        .expect("an audit entry");
    assert_eq!(entry.entry.job, Some(id));
    assert_eq!(entry.seq, 1);
    let job = jobs.get(id).await?;
    assert_eq!(job.job.status, JobStatus::Failed);
    assert_eq!(job.job.error.as_deref(), Some("licence limit reached"));
    assert_eq!(
        job.job.lease_owner.as_deref(),
        Some("w"),
        "the last owner stays visible"
    );
    assert_eq!(job.steps[0].status, StepStatus::Failed);
    let listed = db
        .store
        .audit()
        .list(&AuditQuery {
            job: Some(id),
            ..AuditQuery::default()
        })
        .await?;
    assert_eq!(listed, vec![entry]);
    assert!(matches!(
        jobs.finish(id, "w", JobOutcome::Failed, None, None).await,
        Err(Error::LeaseLost { .. })
    ));
    Ok(())
}

pub async fn concurrent_workers_never_hold_the_same_job(db: &TestDb) -> anyhow::Result<()> {
    const JOBS: usize = 40;
    for i in 0..JOBS {
        enqueue(&db.store, &format!("user{i}@acme.test"), 2).await?;
    }
    let claims: Arc<Mutex<HashMap<JobId, Vec<String>>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = db.store.clone();
        let claims = claims.clone();
        workers.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let jobs = store.jobs();
            while let Some(job) = jobs.claim(&owner, LONG).await? {
                let id = job.job.id;
                claims
                    .lock()
                    .expect("lock")
                    .entry(id)
                    .or_default()
                    .push(owner.clone());
                for step in &job.steps {
                    jobs.step_started(id, &owner, step.seq).await?;
                    jobs.step_done(id, &owner, step.seq, &json!({"by": owner}))
                        .await?;
                }
                jobs.finish(
                    id,
                    &owner,
                    JobOutcome::Succeeded,
                    None,
                    Some(&audit_entry("job.succeeded")),
                )
                .await?;
            }
            anyhow::Ok(())
        }));
    }
    for w in workers {
        w.await??;
    }
    let claims = claims.lock().expect("lock").clone();
    assert_eq!(claims.len(), JOBS);
    assert!(
        claims.values().all(|owners| owners.len() == 1),
        "each job claimed once: {claims:?}"
    );
    let done = db
        .store
        .jobs()
        .list(&JobQuery {
            status: Some(JobStatus::Succeeded),
            ..JobQuery::default()
        })
        .await?;
    assert_eq!(done.len(), JOBS);
    assert!(done.iter().all(|j| j.attempts == 1));
    let verification = db.store.audit().verify().await?;
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.entries, JOBS as u64);
    Ok(())
}

pub async fn jobs_list_filters_and_pages(db: &TestDb) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let a1 = enqueue(&db.store, "Ada@acme.test", 1).await?;
    let b = enqueue(&db.store, "bob@acme.test", 1).await?;
    let a2 = enqueue(&db.store, "ada@acme.test", 1).await?;
    jobs.claim("w", LONG).await?.expect("a job");
    let ids = |v: Vec<steward_store::Job>| v.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(jobs.list(&JobQuery::default()).await?), [a1, b, a2]);
    let by_subject = JobQuery {
        subject: Some("ADA@acme.test".to_owned()),
        ..JobQuery::default()
    };
    assert_eq!(ids(jobs.list(&by_subject).await?), [a1, a2]);
    let queued = JobQuery {
        status: Some(JobStatus::Queued),
        ..JobQuery::default()
    };
    assert_eq!(ids(jobs.list(&queued).await?), [b, a2]);
    let page = JobQuery {
        after_id: Some(a1),
        limit: Some(1),
        ..JobQuery::default()
    };
    assert_eq!(ids(jobs.list(&page).await?), [b]);
    assert!(matches!(
        jobs.get(JobId(999)).await,
        Err(Error::UnknownJob(JobId(999)))
    ));
    Ok(())
}

pub async fn done_steps_in_a_window_carry_their_job_and_account(db: &TestDb) -> anyhow::Result<()> {
    let jobs = db.store.jobs();
    let before = Utc::now() - TimeDelta::seconds(1);
    let job = enqueue(&db.store, "ada@acme.test", 4).await?;
    jobs.claim("w", LONG).await?.expect("a job");
    // Step 1 (an invite) records no account id; step 2 does; step 3 is skipped; step 4 fails.
    jobs.step_started(job, "w", 1).await?;
    jobs.step_done(job, "w", 1, &json!({"changed": true}))
        .await?;
    let mid = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    jobs.step_started(job, "w", 2).await?;
    jobs.step_done(
        job,
        "w",
        2,
        &json!({"changed": true, "account_id": "acc-ada"}),
    )
    .await?;
    jobs.step_skipped(job, "w", 3, "already so").await?;
    jobs.step_started(job, "w", 4).await?;
    jobs.step_failed(job, "w", 4, "boom").await?;

    let all = jobs.done_steps_between(before, None).await?;
    let seqs: Vec<i64> = all.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [1, 2], "only done steps, oldest first");
    for step in &all {
        assert_eq!(step.job_id, job);
        assert_eq!(step.kind, "grant");
        assert_eq!(step.subject, "ada@acme.test");
        assert_eq!(step.requested_by, "alice@acme.test");
        // Step 1's account id comes from step 2, of the same job.
        assert_eq!(step.account_id.as_deref(), Some("acc-ada"));
    }
    assert_eq!(all[0].op, json!({"op": 1}));
    assert!(all[0].finished_at <= all[1].finished_at);

    let later = jobs.done_steps_between(mid, None).await?;
    assert_eq!(later.iter().map(|s| s.seq).collect::<Vec<_>>(), [2]);
    let earlier = jobs.done_steps_between(before, Some(mid)).await?;
    assert_eq!(earlier.iter().map(|s| s.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(
        earlier[0].account_id, None,
        "no done step of the window names it"
    );
    assert!(
        jobs.done_steps_between(Utc::now() + TimeDelta::seconds(1), None)
            .await?
            .is_empty()
    );
    Ok(())
}

pub async fn restore_bundles_round_trip_and_are_found_by_account_or_email(
    db: &TestDb,
) -> anyhow::Result<()> {
    let bundles = db.store.bundles();
    let job = enqueue(&db.store, "ada@acme.test", 1).await?;
    let restore_job = enqueue(&db.store, "ada@acme.test", 1).await?;
    let t0 = Utc::now() - TimeDelta::hours(2);
    let older = NewBundle {
        account_id: "acc-ada".to_owned(),
        email: Some("ada@acme.test".to_owned()),
        job_id: Some(job),
        taken_at: t0,
        content: json!({"roles": ["jira:acme/user"], "groups": ["engineering"]}),
    };
    let older_id = bundles.save(&older).await?;
    let newer = NewBundle {
        taken_at: t0 + TimeDelta::hours(1),
        content: json!({"roles": ["jira:acme/admin"]}),
        ..older.clone()
    };
    let newer_id = bundles.save(&newer).await?;
    bundles
        .save(&NewBundle {
            account_id: "acc-bob".to_owned(),
            email: Some("bob@acme.test".to_owned()),
            job_id: None,
            taken_at: t0 + TimeDelta::hours(5),
            content: json!({}),
        })
        .await?;

    let got = bundles.get(older_id).await?;
    assert_eq!(got.bundle.content, older.content);
    assert_eq!(got.bundle.job_id, Some(job));
    assert_eq!(got.restored_at, None);
    for who in ["acc-ada", "ada@acme.test", "ADA@ACME.TEST"] {
        let latest = bundles.latest_for(who).await?.expect("a bundle");
        assert_eq!(latest.id, newer_id, "{who}");
        assert_eq!(latest.bundle.content, newer.content);
    }
    assert!(bundles.latest_for("nobody@acme.test").await?.is_none());

    bundles.mark_restored(newer_id, restore_job).await?;
    bundles.mark_restored(newer_id, restore_job).await?; // idempotent for the same job
    let restored = bundles.get(newer_id).await?;
    assert_eq!(restored.restored_by, Some(restore_job));
    assert!(restored.restored_at.is_some());
    assert!(matches!(
        bundles.mark_restored(newer_id, job).await,
        Err(Error::BundleAlreadyRestored { by, .. }) if by == restore_job
    ));
    assert!(matches!(
        bundles.get(steward_store::BundleId(999)).await,
        Err(Error::UnknownBundle(_))
    ));
    Ok(())
}
