//! Access requests end to end against the simulator: request → approve → provisioned (read
//! back by a sync) → expiry → revoked, audited and verified; auto-approval, two approvals,
//! self-approval refused, deny, cancel, revoke on demand, concurrent approvals, bad input.

use std::sync::Arc;
use std::time::Duration;

use atlassian_client::Client;
use atlassian_sim::SimHandle;
use atlassian_sim::state::Mode;
use chrono::{TimeDelta, Utc};
use steward_engine::Target;
use steward_engine::provision::{
    Catalog, CatalogConfig, Entitlement, OrgFacts, Risk, Worker, person_state, plan_grant,
};
use steward_engine::requests::{
    Actor, ApprovalPolicy, PolicyRule, RequestError, RequestInput, Workflow,
};
use steward_store::{AuditQuery, JobQuery, JobStatus, RequestState, RevocationStatus, Role, Store};

use crate::drift::{client, ordinary_people, sandbox, snapshot, sync_all, worker};
use crate::support::{sqlite, target};

fn requester() -> Actor {
    Actor {
        name: "req@acme.test".to_owned(),
        role: Role::Requester,
    }
}

fn approver(name: &str) -> Actor {
    Actor {
        name: name.to_owned(),
        role: Role::Approver,
    }
}

struct Env {
    sim: SimHandle,
    t: Target,
    client: Client,
    store: Store,
    worker: Worker,
    _dir: tempfile::TempDir,
}

async fn env() -> anyhow::Result<Env> {
    let sim = sandbox(Mode::Centralized, 40).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    let (store, dir) = sqlite().await?;
    sync_all(&client, &t, &store).await?;
    let worker = worker(&store, &client, &t);
    Ok(Env {
        sim,
        t,
        client,
        store,
        worker,
        _dir: dir,
    })
}

impl Env {
    fn workflow(&self, policy: ApprovalPolicy) -> Workflow {
        Workflow::new(
            self.store.clone(),
            policy,
            Some(self.t.integration_email.clone()),
        )
    }

    fn site(&self) -> String {
        self.t.sites[0].name.clone()
    }

    async fn entitlement(&self, id: &str) -> anyhow::Result<Entitlement> {
        let snap = snapshot(&self.store).await?;
        let catalog = Catalog::from_snapshot(&snap, &CatalogConfig::default()).await?;
        Ok(catalog.resolve(id)?.clone())
    }

    /// An ordinary person who lacks every one of `ids` (the sync's view), other than `not`.
    async fn lacking(&self, ids: &[&str], not: &[String]) -> anyhow::Result<String> {
        let snap = snapshot(&self.store).await?;
        let facts = OrgFacts::from_snapshot(&snap, Some(&self.t.integration_email)).await?;
        let mut wanted = Vec::new();
        for id in ids {
            wanted.push(self.entitlement(id).await?);
        }
        for (email, _) in ordinary_people(&self.sim) {
            if not.contains(&email) {
                continue;
            }
            let state = person_state(&snap, &email, &facts).await?;
            let plan = plan_grant(&state, &wanted, &facts)?;
            // One operation per entitlement, then Verify: holds none of them.
            if plan.ops.len() == wanted.len() + 1 {
                return Ok(email);
            }
        }
        anyhow::bail!("nobody lacks {ids:?}")
    }

    /// Syncs and says whether `email` holds `id` in Atlassian (the simulator's state, as read).
    async fn holds(&self, email: &str, id: &str) -> anyhow::Result<bool> {
        sync_all(&self.client, &self.t, &self.store).await?;
        let snap = snapshot(&self.store).await?;
        let facts = OrgFacts::from_snapshot(&snap, Some(&self.t.integration_email)).await?;
        let state = person_state(&snap, email, &facts).await?;
        Ok(plan_grant(&state, &[self.entitlement(id).await?], &facts)?.is_noop())
    }

    /// Runs the worker until no job is queued or running.
    async fn run_jobs(&self) -> anyhow::Result<()> {
        for _ in 0..400 {
            if self.worker.run_once().await?.is_some() {
                continue;
            }
            let mut open = 0;
            for status in [JobStatus::Queued, JobStatus::Running] {
                open += self
                    .store
                    .jobs()
                    .list(&JobQuery {
                        status: Some(status),
                        ..JobQuery::default()
                    })
                    .await?
                    .len();
            }
            if open == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("jobs did not finish")
    }
}

fn input(subject: &str, entitlements: &[&str], duration_secs: Option<i64>) -> RequestInput {
    RequestInput {
        subject: subject.to_owned(),
        entitlements: entitlements.iter().map(|e| (*e).to_owned()).collect(),
        justification: "needs it for the Q3 close".to_owned(),
        duration_secs,
    }
}

#[tokio::test]
async fn a_request_is_approved_provisioned_expires_and_is_revoked_all_audited() -> anyhow::Result<()>
{
    let env = env().await?;
    let jira = format!("jira:{}/user", env.site());
    let subject = env.lacking(&[&jira], &[]).await?;
    let workflow = env.workflow(ApprovalPolicy::default());

    let created = workflow
        .create(&requester(), &input(&subject, &[&jira], Some(2)))
        .await?;
    assert_eq!(created.state, RequestState::Pending);
    let approved = workflow
        .approve(&approver("appr@acme.test"), created.id, Some("fine"))
        .await?;
    assert_eq!(approved.state, RequestState::Provisioning);
    let grant_job = approved.grant_job.expect("a grant job");

    env.run_jobs().await?;
    let report = workflow.sweep(Utc::now()).await?;
    assert_eq!(report.provisioned, 1, "{report:?}");
    let provisioned = env.store.requests().get(created.id).await?;
    assert_eq!(provisioned.state, RequestState::Provisioned);
    let expires = provisioned.expires_at.expect("time-bound");
    assert_eq!(
        expires - provisioned.provisioned_at.expect("provisioned_at"),
        TimeDelta::seconds(2)
    );
    assert!(
        env.holds(&subject, &jira).await?,
        "granted in the simulator"
    );

    // Not yet expired: nothing happens; past its expiry (an injected clock), it is revoked.
    assert_eq!(
        workflow
            .sweep(expires - TimeDelta::seconds(1))
            .await?
            .expired,
        0
    );
    let report = workflow.sweep(expires + TimeDelta::seconds(1)).await?;
    assert_eq!(report.expired, 1, "{report:?}");
    let expired = env.store.requests().get(created.id).await?;
    assert_eq!(expired.state, RequestState::Expired);
    let revoke_job = expired.revoke_job.expect("a revocation job");
    // A second sweep (another scheduler) queues nothing more.
    assert_eq!(
        workflow.sweep(expires + TimeDelta::seconds(2)).await?,
        Default::default()
    );
    env.run_jobs().await?;
    assert_eq!(
        env.store.jobs().get(revoke_job).await?.job.status,
        JobStatus::Succeeded
    );
    assert!(
        !env.holds(&subject, &jira).await?,
        "revoked in the simulator"
    );

    let entries = env.store.audit().list(&AuditQuery::default()).await?;
    let trail: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e.entry.subject.as_deref() == Some(subject.as_str()))
        .map(|e| (e.entry.action.clone(), e.entry.result.clone()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("request.created", "pending"),
        ("request.approval", "ok"),
        ("grant", "requested"),
        ("request.provisioning", "ok"),
        ("grant", "succeeded"),
        ("request.provisioned", "ok"),
        ("revoke", "requested"),
        ("request.expired", "ok"),
        ("revoke", "succeeded"),
    ]
    .iter()
    .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(trail, expected);
    assert_eq!(
        env.store
            .jobs()
            .get(grant_job)
            .await?
            .job
            .idempotency_key
            .as_deref(),
        Some(format!("request:{}:grant", created.id).as_str())
    );
    assert!(env.store.audit().verify().await?.ok);
    Ok(())
}

#[tokio::test]
async fn low_risk_entitlements_are_approved_by_themselves() -> anyhow::Result<()> {
    let env = env().await?;
    let snap = snapshot(&env.store).await?;
    let catalog = Catalog::from_snapshot(&snap, &CatalogConfig::default()).await?;
    let low = catalog
        .entitlements()
        .iter()
        .find(|e| e.risk == Risk::Low && e.id.to_string().starts_with("jpd:"))
        .or_else(|| catalog.entitlements().iter().find(|e| e.risk == Risk::Low))
        .map(|e| e.id.to_string())
        .ok_or_else(|| anyhow::anyhow!("no low-risk entitlement"))?;
    let jira = format!("jira:{}/user", env.site());
    let policy = ApprovalPolicy {
        rules: vec![PolicyRule {
            entitlements: vec![],
            risk: Some(Risk::Low),
            role: None,
            approvers: vec![],
            approvals: 1,
            auto_approve: true,
        }],
    };
    let workflow = env.workflow(policy);
    let subject = env.lacking(&[&low], &[]).await?;
    let auto = workflow
        .create(&requester(), &input(&subject, &[&low], None))
        .await?;
    assert_eq!(auto.state, RequestState::Provisioning, "{auto:?}");
    assert!(auto.approvals.is_empty());
    // Mixed with a normal-risk one, it waits for an approver.
    let mixed = workflow
        .create(&requester(), &input(&subject, &[&low, &jira], None))
        .await?;
    assert_eq!(mixed.state, RequestState::Pending);
    env.run_jobs().await?;
    workflow.sweep(Utc::now()).await?;
    assert_eq!(
        env.store.requests().get(auto.id).await?.state,
        RequestState::Provisioned
    );
    assert!(env.holds(&subject, &low).await?);
    Ok(())
}

#[tokio::test]
async fn approval_rules_need_distinct_eligible_approvers_and_never_the_requester_or_subject()
-> anyhow::Result<()> {
    let env = env().await?;
    let site = env.site();
    let jira = format!("jira:{site}/user");
    let admin = format!("jira:{site}/admin");
    let policy = ApprovalPolicy {
        rules: vec![
            PolicyRule {
                entitlements: vec!["jira:*/admin".to_owned()],
                risk: None,
                role: None,
                approvers: vec!["cto@acme.test".to_owned()],
                approvals: 1,
                auto_approve: false,
            },
            PolicyRule {
                entitlements: vec!["jira:*".to_owned()],
                risk: None,
                role: Some("approver".to_owned()),
                approvers: vec![],
                approvals: 2,
                auto_approve: false,
            },
        ],
    };
    let workflow = env.workflow(policy);
    let subject = env.lacking(&[&jira], &[]).await?;

    // Two approvals: the first leaves it pending, a repeat counts once, a second approver
    // approves it.
    let two = workflow
        .create(&requester(), &input(&subject, &[&jira], None))
        .await?;
    let once = workflow
        .approve(&approver("ann@acme.test"), two.id, None)
        .await?;
    assert_eq!(once.state, RequestState::Pending);
    let again = workflow
        .approve(&approver("ANN@acme.test"), two.id, None)
        .await?;
    assert_eq!(
        (again.state, again.approvals.len()),
        (RequestState::Pending, 1)
    );
    let done = workflow
        .approve(&approver("bob@acme.test"), two.id, None)
        .await?;
    assert_eq!(done.state, RequestState::Provisioning);

    // No self-approval: neither the requester (even an approver) nor the person.
    let own = Actor {
        name: "lead@acme.test".to_owned(),
        role: Role::Approver,
    };
    let mine = workflow
        .create(&own, &input(&subject, &[&jira], None))
        .await?;
    assert!(matches!(
        workflow.approve(&own, mine.id, None).await,
        Err(RequestError::SelfApproval { .. })
    ));
    assert!(matches!(
        workflow
            .approve(&approver(&subject.to_uppercase()), mine.id, None)
            .await,
        Err(RequestError::SelfApproval { .. })
    ));

    // Named approvers: an approver not named can't approve the admin role; the named one can
    // (for a named approver the console role does not matter, for the role rule it does),
    // and each entitlement's rule must be met.
    let both = workflow
        .create(&requester(), &input(&subject, &[&admin, &jira], None))
        .await?;
    let cto = Actor {
        name: "cto@acme.test".to_owned(),
        role: Role::Requester,
    };
    let after_cto = workflow.approve(&cto, both.id, None).await?;
    assert_eq!(
        after_cto.state,
        RequestState::Pending,
        "jira:*/user still needs two"
    );
    workflow
        .approve(&approver("ann@acme.test"), both.id, None)
        .await?;
    let all = workflow
        .approve(&approver("bob@acme.test"), both.id, None)
        .await?;
    assert_eq!(all.state, RequestState::Provisioning);
    let admin_only = workflow
        .create(&requester(), &input(&subject, &[&admin], None))
        .await?;
    assert!(matches!(
        workflow
            .approve(&approver("ann@acme.test"), admin_only.id, None)
            .await,
        Err(RequestError::NotAnApprover { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn deny_cancel_and_wrong_transitions_are_refused_clearly() -> anyhow::Result<()> {
    let env = env().await?;
    let jira = format!("jira:{}/user", env.site());
    let workflow = env.workflow(ApprovalPolicy::default());
    let subject = env.lacking(&[&jira], &[]).await?;

    let denied = workflow
        .create(&requester(), &input(&subject, &[&jira], None))
        .await?;
    let denied = workflow
        .deny(
            &approver("ann@acme.test"),
            denied.id,
            Some("not this quarter"),
        )
        .await?;
    assert_eq!(denied.state, RequestState::Denied);
    assert_eq!(denied.reason.as_deref(), Some("not this quarter"));
    assert_eq!(denied.decided_by.as_deref(), Some("ann@acme.test"));
    match workflow
        .approve(&approver("bob@acme.test"), denied.id, None)
        .await
    {
        Err(RequestError::WrongState {
            state: RequestState::Denied,
            action: "approve",
            ..
        }) => {}
        other => panic!("approving a denied request: {other:?}"),
    }
    assert!(matches!(
        workflow
            .revoke(&approver("bob@acme.test"), denied.id, None)
            .await,
        Err(RequestError::WrongState { .. })
    ));

    let cancelled = workflow
        .create(&requester(), &input(&subject, &[&jira], None))
        .await?;
    let stranger = Actor {
        name: "other@acme.test".to_owned(),
        role: Role::Approver,
    };
    assert!(matches!(
        workflow.cancel(&stranger, cancelled.id, None).await,
        Err(RequestError::NotRequester { .. })
    ));
    let c = workflow.cancel(&requester(), cancelled.id, None).await?;
    assert_eq!(c.state, RequestState::Cancelled);
    // Cancelling again is a no-op.
    assert_eq!(
        workflow
            .cancel(&requester(), cancelled.id, None)
            .await?
            .state,
        RequestState::Cancelled
    );

    // Bad input.
    let bad = |subject: &str, ents: &[&str], justification: &str, d: Option<i64>| RequestInput {
        subject: subject.to_owned(),
        entitlements: ents.iter().map(|e| (*e).to_owned()).collect(),
        justification: justification.to_owned(),
        duration_secs: d,
    };
    for (case, field) in [
        (bad("not-an-email", &[&jira], "why", None), "subject"),
        (bad(&subject, &[&jira], "  ", None), "justification"),
        (
            bad(&subject, &[&jira], &"x".repeat(3000), None),
            "justification",
        ),
        (bad(&subject, &[], "why", None), "entitlements"),
        (bad(&subject, &[&jira], "why", Some(0)), "duration_secs"),
    ] {
        match workflow.create(&requester(), &case).await {
            Err(RequestError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{case:?}: {other:?}"),
        }
    }
    for unknown in ["jira:nowhere/user", "no such thing"] {
        assert!(matches!(
            workflow
                .create(&requester(), &bad(&subject, &[unknown], "why", None))
                .await,
            Err(RequestError::UnknownEntitlement(_))
        ));
    }
    assert!(env.store.audit().verify().await?.ok);
    Ok(())
}

#[tokio::test]
async fn revoke_on_demand_takes_provisioned_access_away() -> anyhow::Result<()> {
    let env = env().await?;
    let jira = format!("jira:{}/user", env.site());
    let workflow = env.workflow(ApprovalPolicy::default());
    let subject = env.lacking(&[&jira], &[]).await?;
    let r = workflow
        .create(&requester(), &input(&subject, &[&jira], None))
        .await?;
    workflow
        .approve(&approver("ann@acme.test"), r.id, None)
        .await?;
    env.run_jobs().await?;
    workflow.sweep(Utc::now()).await?;
    let provisioned = env.store.requests().get(r.id).await?;
    assert_eq!(provisioned.state, RequestState::Provisioned);
    assert_eq!(provisioned.expires_at, None);
    // No expiry without a duration.
    assert_eq!(
        workflow
            .sweep(Utc::now() + TimeDelta::days(400))
            .await?
            .expired,
        0
    );

    let revoked = workflow
        .revoke(&approver("bob@acme.test"), r.id, Some("left the project"))
        .await?;
    assert_eq!(revoked.state, RequestState::Revoked);
    assert!(revoked.revoke_job.is_some());
    env.run_jobs().await?;
    assert!(!env.holds(&subject, &jira).await?);
    // Revoking again is a no-op: the same job, nothing more queued.
    let again = workflow
        .revoke(&approver("bob@acme.test"), r.id, None)
        .await?;
    assert_eq!(again.revoke_job, revoked.revoke_job);
    assert_eq!(again.state, RequestState::Revoked);
    Ok(())
}

#[tokio::test]
async fn concurrent_approvals_one_wins_the_other_conflicts_and_a_failed_job_fails_its_request()
-> anyhow::Result<()> {
    let env = env().await?;
    let jira = format!("jira:{}/user", env.site());
    let workflow = Arc::new(env.workflow(ApprovalPolicy::default()));
    let subject = env.lacking(&[&jira], &[]).await?;
    for round in 0..3 {
        let r = workflow
            .create(&requester(), &input(&subject, &[&jira], None))
            .await?;
        let mut tasks = Vec::new();
        for who in ["ann@acme.test", "bob@acme.test"] {
            let w = Arc::clone(&workflow);
            tasks.push(tokio::spawn(async move {
                w.approve(&approver(who), r.id, None).await
            }));
        }
        let mut won = 0;
        let mut conflicts = 0;
        for t in tasks {
            match t.await? {
                Ok(req) if req.state == RequestState::Provisioning => won += 1,
                Err(RequestError::WrongState { .. }) => conflicts += 1,
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!((won, conflicts), (1, 1), "round {round}");
        let after = env.store.requests().get(r.id).await?;
        assert_eq!(after.approvals.len(), 1);
    }

    // A grant job that ends without success fails its request, with the reason kept.
    let last = env
        .store
        .requests()
        .list(&Default::default())
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no request"))?;
    let job = last
        .grant_job
        .ok_or_else(|| anyhow::anyhow!("no grant job"))?;
    env.store
        .jobs()
        .cancel(job, "stopped by an admin", None)
        .await?;
    let report = workflow.sweep(Utc::now()).await?;
    assert_eq!(report.failed, 1, "{report:?}");
    let failed = env.store.requests().get(last.id).await?;
    assert_eq!(failed.state, RequestState::Failed);
    assert_eq!(failed.reason.as_deref(), Some("stopped by an admin"));
    assert!(env.store.audit().verify().await?.ok);
    Ok(())
}

#[tokio::test]
async fn a_failed_revocation_shows_on_the_request_and_an_admin_retry_takes_the_access_away()
-> anyhow::Result<()> {
    let env = env().await?;
    let jira = format!("jira:{}/user", env.site());
    let subject = env.lacking(&[&jira], &[]).await?;
    let workflow = env.workflow(ApprovalPolicy::default());
    let r = workflow
        .create(&requester(), &input(&subject, &[&jira], None))
        .await?;
    workflow
        .approve(&approver("appr@acme.test"), r.id, None)
        .await?;
    env.run_jobs().await?;
    assert_eq!(workflow.sweep(Utc::now()).await?.provisioned, 1);
    assert!(env.holds(&subject, &jira).await?);

    // Revoked, but its job ends without success (stopped before a worker ran it).
    let revoked = workflow
        .revoke(&approver("appr@acme.test"), r.id, Some("project over"))
        .await?;
    let first = revoked.revoke_job.expect("a revocation job");
    let revocation = revoked.revocation.clone().expect("followed");
    assert_eq!(revocation.status, RevocationStatus::InProgress);
    env.store
        .jobs()
        .cancel(first, "stopped by an admin", None)
        .await?;
    let report = workflow.sweep(Utc::now()).await?;
    assert_eq!(report.revocations_failed, 1, "{report:?}");
    assert_eq!(workflow.sweep(Utc::now()).await?, Default::default());
    let failed = env.store.requests().get(r.id).await?;
    assert_eq!(failed.state, RequestState::Revoked);
    let revocation = failed.revocation.clone().expect("followed");
    assert_eq!(revocation.status, RevocationStatus::Failed);
    assert_eq!(revocation.error.as_deref(), Some("stopped by an admin"));
    assert!(
        env.holds(&subject, &jira).await?,
        "the access is still there: that is why the failure must show"
    );

    // Only an admin retries, and only a failed revocation.
    let refused = workflow
        .retry_revocation(&approver("appr@acme.test"), r.id, None)
        .await;
    assert!(
        matches!(refused, Err(RequestError::AdminOnly { .. })),
        "{refused:?}"
    );
    let admin = Actor {
        name: "root@acme.test".to_owned(),
        role: Role::Admin,
    };
    let retried = workflow
        .retry_revocation(&admin, r.id, Some("try again"))
        .await?;
    let second = retried.revocation.clone().expect("followed");
    assert_ne!(second.job, first);
    assert_eq!(second.status, RevocationStatus::InProgress);
    let twice = workflow.retry_revocation(&admin, r.id, None).await;
    assert!(
        matches!(twice, Err(RequestError::RevocationNotFailed { .. })),
        "{twice:?}"
    );

    // The new job runs against the simulator: the access is gone, and the request says so.
    env.run_jobs().await?;
    let report = workflow.sweep(Utc::now()).await?;
    assert_eq!(report.revocations_succeeded, 1, "{report:?}");
    let done = env.store.requests().get(r.id).await?;
    assert_eq!(
        done.revocation.map(|v| (v.job, v.status)),
        Some((second.job, RevocationStatus::Succeeded))
    );
    assert!(!env.holds(&subject, &jira).await?, "revoked in Atlassian");
    let actions: Vec<String> = env
        .store
        .audit()
        .list(&AuditQuery {
            subject: Some(subject.clone()),
            ..AuditQuery::default()
        })
        .await?
        .into_iter()
        .map(|e| e.entry.action)
        .filter(|a| a.starts_with("request.revocation"))
        .collect();
    assert_eq!(
        actions,
        [
            "request.revocation_failed",
            "request.revocation_retried",
            "request.revocation_succeeded"
        ]
    );
    assert!(env.store.audit().verify().await?.ok);
    Ok(())
}

#[tokio::test]
async fn an_expiry_is_held_by_the_circuit_breaker_and_people_asking_pass_it() -> anyhow::Result<()>
{
    let mut env = env().await?;
    // No unconfirmed job may take anyone's access away: the breaker stops every one.
    env.worker.guard.mass_change_share = 0.0;
    let jira = format!("jira:{}/user", env.site());
    let first = env.lacking(&[&jira], &[]).await?;
    let second = env.lacking(&[&jira], std::slice::from_ref(&first)).await?;
    assert_ne!(first, second);
    let workflow = env.workflow(ApprovalPolicy::default());
    let mut ids = Vec::new();
    for (subject, duration) in [(&first, Some(60)), (&second, None)] {
        let r = workflow
            .create(&requester(), &input(subject, &[&jira], duration))
            .await?;
        workflow
            .approve(&approver("appr@acme.test"), r.id, None)
            .await?;
        ids.push(r.id);
    }
    env.run_jobs().await?;
    assert_eq!(workflow.sweep(Utc::now()).await?.provisioned, 2);

    // The first expires: automation, unconfirmed, so the breaker holds it and says why.
    let expires = env
        .store
        .requests()
        .get(ids[0])
        .await?
        .expires_at
        .expect("time-bound");
    let report = workflow.sweep(expires + TimeDelta::seconds(1)).await?;
    assert_eq!(report.expired, 1, "{report:?}");
    env.run_jobs().await?;
    let report = workflow.sweep(expires + TimeDelta::seconds(2)).await?;
    assert_eq!(report.revocations_failed, 1, "{report:?}");
    let held = env.store.requests().get(ids[0]).await?;
    let error = held
        .revocation
        .and_then(|r| r.error)
        .expect("the reason is on the request");
    assert!(error.contains("threshold"), "{error}");
    assert!(env.holds(&first, &jira).await?, "nothing was taken away");

    // An admin's retry is a person's decision: it passes.
    let admin = Actor {
        name: "root@acme.test".to_owned(),
        role: Role::Admin,
    };
    workflow.retry_revocation(&admin, ids[0], None).await?;
    env.run_jobs().await?;
    assert_eq!(
        workflow
            .sweep(expires + TimeDelta::seconds(3))
            .await?
            .revocations_succeeded,
        1
    );
    assert!(!env.holds(&first, &jira).await?, "revoked in Atlassian");

    // So is an approver's revoke on demand.
    workflow
        .revoke(
            &approver("appr@acme.test"),
            ids[1],
            Some("left the project"),
        )
        .await?;
    env.run_jobs().await?;
    assert_eq!(
        workflow
            .sweep(expires + TimeDelta::seconds(4))
            .await?
            .revocations_succeeded,
        1
    );
    assert!(!env.holds(&second, &jira).await?, "revoked in Atlassian");
    Ok(())
}
