//! The guard rails hold under concurrency (issue #8): several workers run at once against the
//! simulator, on SQLite and on PostgreSQL, and
//! - N jobs each taking Organization admin from one of the org's only N admins leave exactly
//!   one admin (the others fail with the last-admin refusal, which sent no write);
//! - a job on the integration account written straight into the queue is refused at
//!   execution, by email and by account id, and changes nothing;
//! - many single-person offboardings, each under the mass-change share, stop once together
//!   they reach it (the total stays within the budget), and a confirmed job still passes.
//!
//! Each scenario runs several rounds with the jobs enqueued in a different (seeded) order and
//! the simulator answering after a delay, so that checks and writes of different workers
//! overlap.

use std::time::Duration;

use atlassian_client::api::org::{ALL_DIRECTORIES, UserFilter};
use atlassian_client::{Client, RetryPolicy};
use atlassian_sim::faults::FaultConfig;
use atlassian_sim::state::{AccountStatus, ManagementSource};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use steward_engine::Target;
use steward_engine::provision::catalog::org_ari;
use steward_engine::provision::{
    GuardPolicy, ORG_ADMIN, Op, Plan, PlannedOp, Subject, Worker, WorkerPolicy,
    enqueue_plan_confirmed,
};
use steward_store::{JobId, JobStatus, Store};

use crate::support::{drop_schema, postgres, sqlite, target};

const ROUNDS: u64 = 3;

async fn sandbox(seed: u64) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Simulator::spawn(SimConfig {
        seed,
        // Answers after a delay: a check and its write are far apart in time.
        faults: FaultConfig {
            latency_ms: 15,
            jitter_ms: 10,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await?)
}

fn client(t: &Target) -> anyhow::Result<Client> {
    Ok(t.client(
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            max_elapsed: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(1),
        },
        Duration::from_secs(10),
    )?)
}

fn plan(subject: &Subject, ops: Vec<Op>) -> Plan {
    Plan {
        subject: subject.clone(),
        ops: ops
            .into_iter()
            .map(|op| PlannedOp {
                op,
                why: "guard test".into(),
            })
            .collect(),
        planned_against_run: None,
        restores_bundle: None,
    }
}

/// A small pseudo-random shuffle (xorshift), so each round enqueues in another order.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = usize::try_from(x % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

/// Runs `workers` workers sharing `store` until every job in `jobs` is final.
async fn run_workers(
    store: &Store,
    client: &Client,
    t: &Target,
    workers: usize,
    guard: GuardPolicy,
    jobs: &[JobId],
) -> anyhow::Result<()> {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut tasks = vec![];
    for i in 0..workers {
        let mut w = Worker::new(
            store.clone(),
            client.clone(),
            t.clone(),
            format!("guard-worker-{i}"),
        );
        w.lease = Duration::from_secs(20);
        w.guard = guard;
        w.policy = WorkerPolicy {
            max_attempts: 10,
            backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            idle: Duration::from_millis(5),
            max_idle: Duration::from_millis(20),
            verify_attempts: 6,
            verify_backoff: Duration::from_millis(50),
        };
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move { w.run(shutdown).await }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let result = loop {
        let mut finals = 0;
        for job in jobs {
            finals += usize::from(store.jobs().get(*job).await?.job.status.is_final());
        }
        if finals == jobs.len() {
            break Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "{} of {} jobs final after 180 s",
                finals,
                jobs.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(true);
    for task in tasks {
        task.await??;
    }
    result
}

/// Each job's status and error.
async fn outcomes(
    store: &Store,
    jobs: &[(JobId, Subject)],
) -> anyhow::Result<Vec<(Subject, JobStatus, String)>> {
    let mut out = vec![];
    for (job, subject) in jobs {
        let detail = store.jobs().get(*job).await?;
        out.push((
            subject.clone(),
            detail.job.status,
            detail.job.error.unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// Active, managed, admin-invited people, not org admins, not the integration account.
fn ordinary_people(sim: &SimHandle) -> Vec<Subject> {
    sim.app().read(|w| {
        let integration = w.integration_account();
        w.accounts
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                let ax = *i as u32;
                a.email.is_some()
                    && a.source == ManagementSource::Invited
                    && !a.org_admin
                    && w.composite_status(ax) == "active"
                    && w.is_managed(ax)
                    && ax != integration
            })
            .filter_map(|(_, a)| {
                Some(Subject {
                    email: a.email.clone()?,
                    account_id: Some(a.id.clone()),
                })
            })
            .collect()
    })
}

/// Active org admins in the simulator's ground truth (account ids).
fn org_admins(sim: &SimHandle) -> Vec<String> {
    sim.app().read(|w| {
        w.accounts
            .iter()
            .filter(|a| a.org_admin && a.status == AccountStatus::Active)
            .map(|a| a.id.clone())
            .collect()
    })
}

/// Effective changes the simulator recorded with `action`.
fn events(sim: &SimHandle, action: &str) -> usize {
    sim.app()
        .read(|w| w.events.iter().filter(|e| e.action == action).count())
}

// ---- (a) the last org admin --------------------------------------------------------------------

/// Makes `admins` the org's only org admins (the integration account included: it loses the
/// role), then runs one job per admin revoking their org admin, all at once.
async fn last_admin_round(store: &Store, round: u64, admins: usize) -> anyhow::Result<()> {
    let sim = sandbox(100 + round).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    let mut chosen: Vec<Subject> = ordinary_people(&sim).into_iter().take(admins).collect();
    anyhow::ensure!(chosen.len() == admins, "too few people");
    sim.app().write(|w| {
        for a in &mut w.accounts {
            a.org_admin = chosen
                .iter()
                .any(|s| s.account_id.as_deref() == Some(&a.id));
        }
    });
    assert_eq!(org_admins(&sim).len(), admins);
    let org = org_ari(&t.org_id);
    shuffle(&mut chosen, round);
    let mut jobs = vec![];
    for subject in &chosen {
        let revoke = Op::RevokeRole {
            resource: org.clone(),
            role: ORG_ADMIN.into(),
        };
        let p = plan(subject, vec![revoke, Op::Verify]);
        // Confirmed: only the last-admin rail is under test here.
        let job = enqueue_plan_confirmed(store, &p, "revoke", "guard-test", "test", None, true)
            .await?
            .id;
        jobs.push((job, subject.clone()));
    }
    let ids: Vec<JobId> = jobs.iter().map(|(j, _)| *j).collect();
    run_workers(store, &client, &t, admins, GuardPolicy::default(), &ids).await?;

    let results = outcomes(store, &jobs).await?;
    let failed: Vec<_> = results
        .iter()
        .filter(|(_, s, _)| *s == JobStatus::Failed)
        .collect();
    let succeeded = results
        .iter()
        .filter(|(_, s, _)| *s == JobStatus::Succeeded)
        .count();
    assert_eq!(failed.len(), 1, "round {round}: {results:#?}");
    assert_eq!(succeeded, admins - 1, "round {round}: {results:#?}");
    let (kept, _, error) = failed[0];
    assert!(
        error.contains("GUARD_RAIL")
            && error.contains("they are the organization's last org admin"),
        "round {round}: {error}"
    );
    // Ground truth: exactly the refused job's subject is still an org admin, and the
    // simulator saw only the revocations that went through (Steward refused before writing).
    assert_eq!(
        org_admins(&sim),
        vec![kept.account_id.clone().unwrap_or_default()],
        "round {round}"
    );
    assert_eq!(
        events(&sim, "org_admin_revoked"),
        admins - 1,
        "round {round}"
    );
    println!(
        "admin round {round}: {admins} admins, {admins} workers: {} revoked, 1 refused",
        admins - 1
    );
    // The refusal is audited with the job.
    let audit = store.audit().list(&Default::default()).await?;
    assert!(
        audit
            .iter()
            .any(|e| e.entry.result == "failed"
                && e.entry.detail.to_string().contains("last org admin")),
        "round {round}: no audited refusal"
    );
    // The guard lease is free once the jobs are done.
    assert!(
        store
            .leases()
            .get(steward_engine::provision::rails::ORG_ADMINS_LEASE)
            .await?
            .is_none(),
        "round {round}: the guard lease was left held"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admin_removals_leave_exactly_one_admin_on_sqlite() -> anyhow::Result<()> {
    for round in 0..ROUNDS {
        let (store, _dir) = sqlite().await?;
        last_admin_round(&store, round, 2 + usize::try_from(round % 3)?).await?;
        store.close().await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admin_removals_leave_exactly_one_admin_on_postgres() -> anyhow::Result<()> {
    for round in 0..ROUNDS {
        let Some((store, server, schema)) = postgres("guard_admins").await? else {
            return Ok(());
        };
        let outcome = last_admin_round(&store, round, 2 + usize::try_from(round % 3)?).await;
        drop_schema(store, &server, &schema).await?;
        outcome?;
    }
    Ok(())
}

// ---- (b) the integration account ---------------------------------------------------------------

async fn integration_account_refused(store: &Store) -> anyhow::Result<()> {
    let sim = sandbox(7).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    let (integration, directory, before) = sim.app().read(|w| {
        let ax = w.integration_account();
        let a = w.account(ax);
        let dir = a
            .directories
            .keys()
            .next()
            .map(|d| w.directories[*d as usize].id.clone())
            .unwrap_or_default();
        (
            Subject {
                email: a.email.clone().unwrap_or_default(),
                account_id: Some(a.id.clone()),
            },
            dir,
            format!("{a:?}"),
        )
    });
    assert_eq!(integration.email, t.integration_email);
    let destructive = vec![
        Op::RemoveStatuspageMember,
        Op::SuspendAccount {
            directory_id: directory.clone(),
        },
        Op::DeactivateAccount,
    ];
    // As queued before `integration_email` changed: the old address, upper-cased.
    let by_email = Subject {
        email: integration.email.to_uppercase(),
        account_id: None,
    };
    // Crafted in the store: another email, the integration account's id.
    let by_id = Subject {
        email: "someone.else@acme.com".into(),
        account_id: integration.account_id.clone(),
    };
    let mut jobs = vec![];
    for subject in [&by_email, &by_id] {
        let p = plan(subject, destructive.clone());
        // Confirmed, so that only the integration rail can stop it.
        let job = enqueue_plan_confirmed(store, &p, "offboard", "mallory", "crafted", None, true)
            .await?
            .id;
        jobs.push((job, subject.clone()));
    }
    let writes_before = sim.app().read(|w| w.events.len());
    let ids: Vec<JobId> = jobs.iter().map(|(j, _)| *j).collect();
    run_workers(store, &client, &t, 2, GuardPolicy::default(), &ids).await?;
    for (subject, status, error) in outcomes(store, &jobs).await? {
        assert_eq!(status, JobStatus::Failed, "{subject:?}");
        assert!(
            error.contains("GUARD_RAIL") && error.contains("it is Steward's integration account"),
            "{error}"
        );
        // Refused at the first destructive step: nothing after it ran.
        assert!(error.starts_with("step 1 "), "{error}");
    }
    let after = sim
        .app()
        .read(|w| format!("{:?}", w.account(w.integration_account())));
    assert_eq!(before, after, "the integration account changed");
    assert_eq!(
        sim.app().read(|w| w.events.len()),
        writes_before,
        "the simulator recorded a change"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queued_job_on_the_integration_account_is_refused_on_sqlite() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    integration_account_refused(&store).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queued_job_on_the_integration_account_is_refused_on_postgres() -> anyhow::Result<()> {
    let Some((store, server, schema)) = postgres("guard_integration").await? else {
        return Ok(());
    };
    let outcome = integration_account_refused(&store).await;
    drop_schema(store, &server, &schema).await?;
    outcome
}

// ---- (c) the mass-change circuit breaker -------------------------------------------------------

/// People in the org as the worker counts them (the Org API's users count).
async fn people(client: &Client) -> anyhow::Result<usize> {
    let n = client
        .org()
        .count_users(ALL_DIRECTORIES, &UserFilter::default())
        .await?;
    Ok(usize::try_from(n)?)
}

async fn breaker_round(store: &Store, round: u64) -> anyhow::Result<()> {
    let sim = sandbox(200 + round).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    let guard = GuardPolicy::default();
    let mut candidates = ordinary_people(&sim);
    shuffle(&mut candidates, round);
    // The budget follows the worker's live count; the test only needs more leavers than it.
    let budget_max = people(&client).await? / 10 + 1;
    let leavers: Vec<Subject> = candidates.iter().take(budget_max + 5).cloned().collect();
    anyhow::ensure!(leavers.len() == budget_max + 5, "too few people");
    let deactivated_before = events(&sim, "user_deactivated");
    let mut jobs = vec![];
    for subject in &leavers {
        let p = plan(subject, vec![Op::DeactivateAccount, Op::Verify]);
        let job =
            enqueue_plan_confirmed(store, &p, "offboard", "guard-test", "leaver", None, false)
                .await?
                .id;
        jobs.push((job, subject.clone()));
    }
    let ids: Vec<JobId> = jobs.iter().map(|(j, _)| *j).collect();
    run_workers(store, &client, &t, 4, guard, &ids).await?;

    let results = outcomes(store, &jobs).await?;
    let succeeded = results
        .iter()
        .filter(|(_, s, _)| *s == JobStatus::Succeeded)
        .count();
    let stopped: Vec<_> = results
        .iter()
        .filter(|(_, s, _)| *s == JobStatus::Failed)
        .collect();
    assert_eq!(succeeded + stopped.len(), leavers.len(), "{results:#?}");
    assert!(succeeded >= 1, "round {round}: nobody passed: {results:#?}");
    // Exactly the budget: ⌊10% of the people⌋, as the worker counts them.
    let total = people(&client).await?;
    assert_eq!(succeeded, total / 10, "round {round}: {results:#?}");
    for (_, _, error) in &stopped {
        let expected = format!(
            "{succeeded} people lost access in the last hour, over the 10.0% threshold ({succeeded} of"
        );
        assert!(error.contains(&expected), "round {round}: {error}");
        assert!(error.contains("--yes"), "{error}");
    }
    println!(
        "breaker round {round}: {total} people, {succeeded} of {} leavers admitted, {} stopped",
        leavers.len(),
        stopped.len()
    );
    // Ground truth: exactly the admitted people were deactivated, no one more.
    let deactivated = events(&sim, "user_deactivated") - deactivated_before;
    assert_eq!(deactivated, succeeded, "round {round}");

    // The budget is spent: another unconfirmed leaver stops, a confirmed one goes ahead.
    let extra: Vec<Subject> = candidates
        .iter()
        .skip(leavers.len())
        .take(2)
        .cloned()
        .collect();
    anyhow::ensure!(extra.len() == 2, "too few people");
    let mut more = vec![];
    for (subject, confirmed) in extra.iter().zip([false, true]) {
        let p = plan(subject, vec![Op::DeactivateAccount, Op::Verify]);
        let job = enqueue_plan_confirmed(
            store,
            &p,
            "offboard",
            "guard-test",
            "leaver",
            None,
            confirmed,
        )
        .await?
        .id;
        more.push((job, subject.clone()));
    }
    let ids: Vec<JobId> = more.iter().map(|(j, _)| *j).collect();
    run_workers(store, &client, &t, 2, guard, &ids).await?;
    let more = outcomes(store, &more).await?;
    assert_eq!(more[0].1, JobStatus::Failed, "{more:#?}");
    assert!(
        more[0].2.contains("lost access in the last hour"),
        "{more:#?}"
    );
    assert_eq!(more[1].1, JobStatus::Succeeded, "{more:#?}");
    assert_eq!(
        events(&sim, "user_deactivated") - deactivated_before,
        succeeded + 1
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_offboardings_stop_at_the_mass_change_budget_on_sqlite() -> anyhow::Result<()> {
    for round in 0..ROUNDS {
        let (store, _dir) = sqlite().await?;
        breaker_round(&store, round).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_offboardings_stop_at_the_mass_change_budget_on_postgres() -> anyhow::Result<()>
{
    for round in 0..ROUNDS {
        let Some((store, server, schema)) = postgres("guard_breaker").await? else {
            return Ok(());
        };
        let outcome = breaker_round(&store, round).await;
        drop_schema(store, &server, &schema).await?;
        outcome?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_breaker_window_slides() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    let sim = sandbox(9).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    // A share that lets one person through per window, and a one-second window.
    let total = people(&client).await?;
    let guard = GuardPolicy {
        mass_change_share: 1.5 / total as f64,
        mass_change_window: Duration::from_secs(1),
    };
    let people = ordinary_people(&sim);
    let run = async |subject: &Subject| -> anyhow::Result<(JobStatus, String)> {
        let p = plan(subject, vec![Op::DeactivateAccount]);
        let job = enqueue_plan_confirmed(&store, &p, "offboard", "t", "t", None, false)
            .await?
            .id;
        run_workers(&store, &client, &t, 1, guard, &[job]).await?;
        let detail = store.jobs().get(job).await?;
        Ok((detail.job.status, detail.job.error.unwrap_or_default()))
    };
    assert_eq!(run(&people[0]).await?.0, JobStatus::Succeeded);
    let (status, error) = run(&people[1]).await?;
    assert_eq!(status, JobStatus::Failed);
    assert!(
        error.contains("1 person lost access in the last second"),
        "{error}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(run(&people[2]).await?.0, JobStatus::Succeeded);
    sim.shutdown().await;
    Ok(())
}
