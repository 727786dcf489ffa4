//! Crashes (#8): `kill -9` of `steward worker` processes at random points while 100 jobs run,
//! and of `steward sync` mid-run, at least 20 kills in all; afterwards every job completed
//! exactly once (the simulator applied one membership write per job), nothing is left running,
//! the last sync completed, and the audit chain verifies. On SQLite and on PostgreSQL.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use atlassian_sim::state::{AccountType, GroupIx};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use rand::{Rng, SeedableRng};
use steward_engine::provision::{Op, Plan, PlannedOp, Subject, enqueue_plan};
use steward_store::{JobId, JobStatus, RunStatus, Store};

use crate::{steward, text, write_config};

/// Jobs run while workers are killed.
const JOBS: usize = 100;
/// Kills of worker processes (and two more of syncs): at least 20 in all.
const WORKER_KILLS: usize = 20;
/// Workers' lease: a killed worker's job is taken over after this.
const LEASE: &str = "1s";

fn spawn(dir: &Path, args: &[&str]) -> std::io::Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

fn kill_9(child: &mut Child) -> std::io::Result<()> {
    // `Child::kill` sends SIGKILL on Unix: no handler runs, nothing is flushed.
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// A group that grants nothing and is not synced from an IdP, and `n` people outside it.
fn subjects(sim: &SimHandle, n: usize) -> (String, String, Vec<Subject>) {
    sim.app().read(|w| {
        let (gx, group): (GroupIx, _) = w
            .live_groups()
            .find(|(_, g)| !g.external && g.roles.is_empty())
            .unwrap_or_else(|| unreachable!("the sandbox has a plain group"));
        let integration = w.integration_account();
        let people: Vec<Subject> = (0..w.accounts.len() as u32)
            .filter(|ax| {
                let a = w.account(*ax);
                *ax != integration
                    && a.kind == AccountType::Atlassian
                    && a.email.is_some()
                    && w.composite_status(*ax) == "active"
                    && !a.groups.contains(&gx)
                    && a.directories.contains_key(&group.directory)
            })
            .take(n)
            .map(|ax| {
                let a = w.account(ax);
                Subject {
                    email: a.email.clone().unwrap_or_default(),
                    account_id: Some(a.id.clone()),
                }
            })
            .collect();
        (group.id.clone(), group.name.clone(), people)
    })
}

fn applied_memberships(sim: &SimHandle) -> u64 {
    sim.app()
        .faults()
        .counters()
        .applied_mutations
        .iter()
        .filter(|(k, _)| k.starts_with("POST") && k.contains("/memberships"))
        .map(|(_, n)| n)
        .sum()
}

async fn all_final(store: &Store, jobs: &[JobId]) -> anyhow::Result<bool> {
    for job in jobs {
        if !store.jobs().get(*job).await?.job.status.is_final() {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn crash_everything(database_url: &str) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig {
        users: Some(300),
        ..SimConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let info = sim.info().clone();
    write_config(
        dir.path(),
        &sim,
        &info.admin_api_key,
        &info.sites[0].api_token,
    );
    let d = dir.path().to_owned();
    let db = ["--database-url", database_url];

    let first = {
        let (d, url) = (d.clone(), database_url.to_owned());
        tokio::task::spawn_blocking(move || {
            steward(&d, &["sync", "--quiet", "--database-url", &url], &[])
        })
        .await?
    };
    anyhow::ensure!(first.status.code() == Some(0), "{}", text(&first));

    let store = Store::open(database_url).await?;
    let (group_id, group_name, people) = subjects(&sim, JOBS);
    anyhow::ensure!(people.len() == JOBS, "only {} people", people.len());
    let mut jobs = vec![];
    for subject in &people {
        let plan = Plan {
            subject: subject.clone(),
            ops: [
                Op::AddToGroup {
                    group_id: group_id.clone(),
                    group_name: group_name.clone(),
                },
                Op::Verify,
            ]
            .into_iter()
            .map(|op| PlannedOp {
                op,
                why: "crash test".into(),
            })
            .collect(),
            planned_against_run: None,
            restores_bundle: None,
        };
        jobs.push(
            enqueue_plan(&store, &plan, "grant", "crash-test", "crash test", None)
                .await?
                .id,
        );
    }
    let before = applied_memberships(&sim);

    // Kill workers (two at a time, like a small deployment) at random points.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut kills = 0;
    let worker_args = ["worker", "--lease", LEASE, db[0], db[1]];
    while kills < WORKER_KILLS {
        let mut a = spawn(&d, &worker_args)?;
        let mut b = spawn(&d, &worker_args)?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(80..600))).await;
        kill_9(&mut a)?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
        kill_9(&mut b)?;
        kills += 2;
    }
    // And a sync, twice, mid-run (the Statuspage pass at 1 request/s leaves time).
    for _ in 0..2 {
        let mut sync = spawn(&d, &["sync", "--quiet", db[0], db[1]])?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(1500..3000))).await;
        kill_9(&mut sync)?;
        kills += 1;
    }
    assert!(kills >= 20);

    // Restart: workers finish every job once the dead workers' leases lapse.
    let mut worker = spawn(&d, &worker_args)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !all_final(&store, &jobs).await? {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "jobs never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    kill_9(&mut worker)?;
    let last = {
        let (d, url) = (d.clone(), database_url.to_owned());
        tokio::task::spawn_blocking(move || {
            steward(&d, &["sync", "--quiet", "--database-url", &url], &[])
        })
        .await?
    };
    anyhow::ensure!(last.status.code() == Some(0), "{}", text(&last));

    // Exactly once: every job succeeded, one membership write per person, all members now.
    let mut resumed = 0;
    for job in &jobs {
        let detail = store.jobs().get(*job).await?;
        if detail.job.attempts > 1 {
            resumed += 1;
        }
        assert_eq!(
            detail.job.status,
            JobStatus::Succeeded,
            "job {}: {:?}",
            job.0,
            detail.job.error
        );
    }
    assert_eq!(
        applied_memberships(&sim) - before,
        JOBS as u64,
        "one membership write per job, whatever the kills"
    );
    let members = sim.app().read(|w| {
        people
            .iter()
            .filter(|p| {
                w.account_by_email(&p.email).is_some_and(|ax| {
                    w.account(ax)
                        .groups
                        .iter()
                        .any(|g| w.group(*g).id == group_id)
                })
            })
            .count()
    });
    assert_eq!(members, JOBS);
    assert!(
        resumed > 0,
        "no job was interrupted by a kill: the test proved nothing"
    );
    // The store is consistent: no run left running, the last one completed; the chain holds.
    let runs = store.runs().list(50).await?;
    assert_eq!(
        runs.first().map(|r| r.status),
        Some(RunStatus::Completed),
        "{runs:#?}"
    );
    assert!(
        runs.iter().all(|r| r.status != RunStatus::Running),
        "{runs:#?}"
    );
    let verification = store.audit().verify().await?;
    assert!(verification.ok, "{verification:?}");
    println!(
        "crash test: {kills} kills, {JOBS} jobs ({resumed} taken over from a killed worker), {} \
         runs, {} audit entries: nothing lost or doubled",
        runs.len(),
        verification.entries
    );
    store.close().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_workers_and_syncs_loses_and_doubles_nothing_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    crash_everything(&url).await
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_workers_and_syncs_loses_and_doubles_nothing_on_postgres() -> anyhow::Result<()> {
    use sqlx::Connection;
    let Ok(server) = std::env::var("STEWARD_TEST_DATABASE_URL") else {
        println!("SKIPPED: PostgreSQL crash test (set STEWARD_TEST_DATABASE_URL to run it)");
        return Ok(());
    };
    let schema = format!("crash_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await?;
    let sep = if server.contains('?') { '&' } else { '?' };
    let outcome = crash_everything(&format!("{server}{sep}options[search_path]={schema}")).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    outcome
}
