//! Crashes of the service (#8): `kill -9` of `steward serve` itself at random moments (at least
//! 20 times; two processes at once on PostgreSQL) while 100 jobs enter through its front door
//! (access requests over the HTTP API: auto-approved and approved grants, invitations of new
//! people, revocations on demand and at expiry) and syncs run (on demand and scheduled).
//! Afterwards every request reached its final state with one grant job, every job succeeded
//! exactly once (the simulator applied one write per intended change, one invitation per new
//! person), nothing is running or leased, the last sync completed and equals the simulator's
//! state, and `steward audit verify` passes. On SQLite and on PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlassian_sim::state::{AccountType, GroupIx};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use steward_store::{JobQuery, JobStatus, RequestQuery, RequestState, RunStatus, Store};
use tokio::time::Instant;

use crate::{steward, text, write_config};

/// Requests for existing people, approved by themselves (their group auto-approves).
const AUTO: usize = 40;
/// Requests for existing people that an approver approves over the API.
const APPROVED: usize = 20;
/// Requests for people with no account yet: each is an invitation and a group membership.
const HIRES: usize = 10;
/// Provisioned requests revoked over the API (each a revocation job).
const REVOKED: usize = 20;
/// Time-bound requests that expire (each a revocation job queued by the sweep).
const EXPIRING: usize = 10;
/// Jobs in all: one grant per request, one revocation per revoked or expired request.
const JOBS: usize = AUTO + APPROVED + HIRES + REVOKED + EXPIRING;
/// Kills of `steward serve` processes, at least.
const KILLS: usize = 20;
const PASSWORD: &str = "crash-test admin password";

/// The serve processes alive, and the base URL the driver talks to.
#[derive(Default)]
struct Cluster {
    base: Option<String>,
}

type Shared = Arc<Mutex<Cluster>>;

fn serve(dir: &Path, database_url: &str) -> anyhow::Result<(Child, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.current_dir(dir)
        .args([
            "--config",
            "steward.toml",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--admin-email",
            "admin@steward.test",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("STEWARD_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("STEWARD_ADMIN_PASSWORD", PASSWORD);
    let mut child = cmd.spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = vec![];
    let base = loop {
        let Some(line) = lines.next() else {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("steward serve ended before listening: {seen:?}");
        };
        let line = line?;
        if line.starts_with("steward serve: listening on") {
            break line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .unwrap_or_default()
                .to_owned();
        }
        seen.push(line);
    };
    // Keep draining stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((child, base))
}

fn kill_9(child: &mut Child) -> std::io::Result<()> {
    // `Child::kill` is SIGKILL on Unix: no handler runs, nothing is flushed.
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// Two plain groups (no roles, not synced from an IdP) in one directory, and the people of
/// that directory in neither.
fn groups_and_people(sim: &SimHandle) -> ((String, String), (String, String), Vec<String>) {
    sim.app().read(|w| {
        let plain: Vec<(GroupIx, String, String, _)> = w
            .live_groups()
            .filter(|(_, g)| !g.external && g.roles.is_empty())
            .map(|(ix, g)| (ix, g.id.clone(), g.name.clone(), g.directory))
            .collect();
        let (a, b) = plain
            .iter()
            .enumerate()
            .find_map(|(i, a)| {
                plain[i + 1..]
                    .iter()
                    .find(|b| b.3 == a.3)
                    .map(|b| (a.clone(), b.clone()))
            })
            .unwrap_or_else(|| unreachable!("the sandbox has two plain groups in a directory"));
        let integration = w.integration_account();
        let people = (0..w.accounts.len() as u32)
            .filter(|ax| {
                let acc = w.account(*ax);
                *ax != integration
                    && acc.kind == AccountType::Atlassian
                    && acc.email.is_some()
                    && w.composite_status(*ax) == "active"
                    && !acc.groups.contains(&a.0)
                    && !acc.groups.contains(&b.0)
                    && acc.directories.contains_key(&a.3)
            })
            .filter_map(|ax| w.account(ax).email.clone())
            .collect();
        ((a.1, a.2), (b.1, b.2), people)
    })
}

/// The emails of `group_id`'s members in the simulator.
fn members(sim: &SimHandle, group_id: &str) -> BTreeSet<String> {
    sim.app().read(|w| {
        (0..w.accounts.len() as u32)
            .filter(|ax| {
                w.account(*ax)
                    .groups
                    .iter()
                    .any(|g| w.group(*g).id == group_id)
            })
            .filter_map(|ax| w.account(ax).email.clone())
            .collect()
    })
}

fn applied(sim: &SimHandle, method: &str, needle: &str) -> u64 {
    sim.app()
        .faults()
        .counters()
        .applied_mutations
        .iter()
        .filter(|(k, _)| k.starts_with(method) && k.contains(needle))
        .map(|(_, n)| n)
        .sum()
}

/// Membership writes: (adds, removals, invitations).
fn writes(sim: &SimHandle) -> (u64, u64, u64) {
    (
        applied(sim, "POST", "/memberships"),
        applied(sim, "DELETE", "/memberships/"),
        applied(sim, "POST", "/users/invite"),
    )
}

/// Talks to whichever serve process is up, retrying through kills and restarts.
struct Driver {
    http: reqwest::Client,
    cluster: Shared,
    admin: String,
    approver: String,
}

impl Driver {
    /// Sends until a process answers with something other than a 5xx (a request in flight
    /// when its process is killed has no answer; it is sent again to the next one).
    async fn send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            anyhow::ensure!(Instant::now() < deadline, "{method} {path}: no answer");
            let base = self.cluster.lock().map(|c| c.base.clone()).ok().flatten();
            let Some(base) = base else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let mut r = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(token);
            if let Some(body) = body {
                r = r.json(body);
            }
            if let Some(key) = key {
                r = r.header("Idempotency-Key", key);
            }
            match r.send().await {
                Ok(resp) if !resp.status().is_server_error() => {
                    let status = resp.status();
                    let value = resp.json().await.unwrap_or(Value::Null);
                    return Ok((status, value));
                }
                Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The request for `subject`, if one exists (each subject is asked for once).
    async fn request_of(&self, subject: &str) -> anyhow::Result<Option<Value>> {
        let path = format!("/api/v1/requests?subject={subject}");
        let (status, page) = self
            .send(&self.admin, reqwest::Method::GET, &path, None, None)
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        anyhow::ensure!(items.len() <= 1, "two requests for {subject}: {items:?}");
        Ok(items.into_iter().next())
    }

    /// Asks for `entitlement` for `subject` once, whatever the kills: an answer lost with
    /// its process is looked up before asking again, and the retry carries the same
    /// `Idempotency-Key`.
    async fn ask(
        &self,
        subject: &str,
        entitlement: &str,
        duration: Option<i64>,
    ) -> anyhow::Result<i64> {
        let mut body = json!({
            "subject": subject,
            "entitlements": [entitlement],
            "justification": "crash test of the service",
        });
        if let Some(d) = duration {
            body["duration_secs"] = json!(d);
        }
        let key = format!("ask-{subject}");
        // A key whose request died with its process is free again after 30 s
        // (`IDEMPOTENCY_ABANDONED`); before that it is a 409.
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            anyhow::ensure!(Instant::now() < deadline, "{subject}: never created");
            if let Some(existing) = self.request_of(subject).await? {
                return existing["id"]
                    .as_i64()
                    .ok_or_else(|| anyhow::anyhow!("no id: {existing}"));
            }
            let (status, answer) = self
                .send(
                    &self.admin,
                    reqwest::Method::POST,
                    "/api/v1/requests",
                    Some(&body),
                    Some(&key),
                )
                .await?;
            match status {
                StatusCode::CREATED | StatusCode::OK => {
                    return answer["id"]
                        .as_i64()
                        .ok_or_else(|| anyhow::anyhow!("no id: {answer}"));
                }
                // The first try's process died holding the key: the lookup above decides, or
                // the key is free again once abandoned.
                StatusCode::CONFLICT => tokio::time::sleep(Duration::from_millis(500)).await,
                _ => anyhow::bail!("asking for {entitlement} for {subject}: {status} {answer}"),
            }
        }
    }

    /// `action` (`approve`, `revoke`) on request `id` until its state is past `from`.
    async fn decide(&self, id: i64, action: &str, from: &str) -> anyhow::Result<()> {
        let path = format!("/api/v1/requests/{id}/{action}");
        let body = json!({"comment": "crash test"});
        loop {
            let (status, answer) = self
                .send(
                    &self.approver,
                    reqwest::Method::POST,
                    &path,
                    Some(&body),
                    None,
                )
                .await?;
            if status == StatusCode::OK {
                return Ok(());
            }
            let (_, now) = self
                .send(
                    &self.admin,
                    reqwest::Method::GET,
                    &format!("/api/v1/requests/{id}"),
                    None,
                    None,
                )
                .await?;
            if now["state"] != from {
                return Ok(());
            }
            anyhow::ensure!(status == StatusCode::CONFLICT, "{path}: {status} {answer}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Starts a sync over the API (retried while one runs: a killed process's sync holds the
    /// sync until it resumes).
    async fn sync(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, answer) = self
                .send(
                    &self.admin,
                    reqwest::Method::POST,
                    "/api/v1/sync/runs",
                    None,
                    None,
                )
                .await?;
            if status == StatusCode::ACCEPTED {
                return Ok(());
            }
            anyhow::ensure!(
                status == StatusCode::CONFLICT && Instant::now() < deadline,
                "POST /api/v1/sync/runs: {status} {answer}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn wait_for(
    what: &str,
    secs: u64,
    mut check: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await? {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn requests_in(store: &Store, ids: &[i64], state: RequestState) -> anyhow::Result<bool> {
    for id in ids {
        if store
            .requests()
            .get(steward_store::RequestId(*id))
            .await?
            .state
            != state
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Creates an API token with `role` through the API, signed in as the first admin.
async fn token(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<String> {
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "admin@steward.test", "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == StatusCode::OK, "sign-in: {}", r.status());
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let session: Value = r.json().await?;
    let csrf = session["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = http
        .post(format!("{base}/api/v1/tokens"))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&json!({"name": name, "role": role}))
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    anyhow::ensure!(status == StatusCode::CREATED, "token: {status} {body}");
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

async fn crash_serve(database_url: &str, two_at_once: bool) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seed: u64 = std::env::var("STEWARD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("crash_serve seed: {seed} (STEWARD_CRASH_SEED={seed} replays the kill schedule)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

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
    let ((auto_id, auto_group), (appr_id, appr_group), people) = groups_and_people(&sim);
    anyhow::ensure!(
        people.len() >= AUTO + APPROVED,
        "only {} people",
        people.len()
    );
    let mut config = std::fs::read_to_string(dir.path().join("steward.toml"))?;
    config.push_str(&format!(
        r#"
[service]
sync_interval = "15s"
sweep_interval = "1s"
workers = 2
worker_lease = "2s"

[[approvals.rules]]
entitlements = ["group:{auto_group}"]
auto_approve = true
"#
    ));
    std::fs::write(dir.path().join("steward.toml"), config)?;
    let d: PathBuf = dir.path().to_owned();
    let store = Store::open(database_url).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;

    // The first start creates the admin, who creates the driver's tokens; it is not killed
    // before the first sync completed (a request needs one).
    let (mut first, base) = serve(&d, database_url)?;
    let admin = token(&http, &base, "crash-requester", "admin").await?;
    let approver = token(&http, &base, "crash-approver", "approver").await?;
    wait_for("the first sync", 120, async || {
        Ok(store.runs().latest_completed().await?.is_some())
    })
    .await?;
    kill_9(&mut first)?;
    let mut kills = 1;
    let clock = Instant::now();
    println!("crash_serve: first sync done, driving the jobs through kills");
    let before = writes(&sim);
    let (auto_before, appr_before) = (members(&sim, &auto_id), members(&sim, &appr_id));

    let cluster: Shared = Arc::default();
    let driver = Driver {
        http: http.clone(),
        cluster: cluster.clone(),
        admin,
        approver,
    };
    let auto_ent = format!("group:{auto_group}");
    let appr_ent = format!("group:{appr_group}");
    let auto_people: Vec<String> = people[..AUTO].to_vec();
    let appr_people: Vec<String> = people[AUTO..AUTO + APPROVED].to_vec();
    let hires: Vec<String> = (0..HIRES)
        .map(|i| format!("crash.hire{i}@acme.test"))
        .collect();
    // What the driver does, through every kill: ask, approve, revoke, sync.
    let work = {
        let (auto_ent, appr_ent) = (auto_ent.clone(), appr_ent.clone());
        let (auto_people, appr_people, hires) =
            (auto_people.clone(), appr_people.clone(), hires.clone());
        let store = store.clone();
        async move {
            driver.sync().await?;
            let mut auto_ids = vec![];
            for (i, p) in auto_people.iter().enumerate() {
                // The last EXPIRING ones are time-bound: the sweep revokes them at expiry.
                let duration = (i >= AUTO - EXPIRING).then_some(3);
                auto_ids.push(driver.ask(p, &auto_ent, duration).await?);
            }
            let mut appr_ids = vec![];
            for p in &appr_people {
                appr_ids.push(driver.ask(p, &appr_ent, None).await?);
            }
            let mut hire_ids = vec![];
            for p in &hires {
                hire_ids.push(driver.ask(p, &auto_ent, None).await?);
            }
            for id in &appr_ids {
                driver.decide(*id, "approve", "pending").await?;
            }
            driver.sync().await?;
            // Revoke the first REVOKED once they are provisioned.
            let to_revoke: Vec<i64> = auto_ids[..REVOKED].to_vec();
            let deadline = Instant::now() + Duration::from_secs(240);
            while !requests_in(&store, &to_revoke, RequestState::Provisioned).await? {
                anyhow::ensure!(Instant::now() < deadline, "never provisioned");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            for id in &to_revoke {
                driver.decide(*id, "revoke", "provisioned").await?;
            }
            anyhow::Ok((auto_ids, appr_ids, hire_ids))
        }
    };
    let work = tokio::spawn(work);

    // Kill serve processes at random moments, restarting them each time, until the driver is
    // done and at least KILLS kills happened.
    let mut two = 0;
    while kills < KILLS || !work.is_finished() {
        anyhow::ensure!(kills < 200, "the driver never finished");
        let mut procs = vec![serve(&d, database_url)?];
        if two_at_once && rng.random_bool(0.5) {
            procs.push(serve(&d, database_url)?);
            two += 1;
        }
        let which = rng.random_range(0..procs.len());
        if let Ok(mut c) = cluster.lock() {
            c.base = Some(procs[which].1.clone());
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..4000))).await;
        if let Ok(mut c) = cluster.lock() {
            c.base = None;
        }
        for (child, _) in &mut procs {
            kill_9(child)?;
            kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
        }
    }
    let (auto_ids, appr_ids, hire_ids) = work.await??;
    println!(
        "crash_serve: the driver finished after {kills} kills, {:.1}s",
        clock.elapsed().as_secs_f64()
    );

    // Restart: one process finishes everything (leases of the dead lapse after 2 s).
    let (mut last, base) = serve(&d, database_url)?;
    if let Ok(mut c) = cluster.lock() {
        c.base = Some(base.clone());
    }
    let revoked: Vec<i64> = auto_ids[..REVOKED].to_vec();
    let expiring: Vec<i64> = auto_ids[AUTO - EXPIRING..].to_vec();
    let mut kept: Vec<i64> = auto_ids[REVOKED..AUTO - EXPIRING].to_vec();
    kept.extend(&appr_ids);
    kept.extend(&hire_ids);
    wait_for("every request final", 240, async || {
        Ok(requests_in(&store, &revoked, RequestState::Revoked).await?
            && requests_in(&store, &expiring, RequestState::Expired).await?
            && requests_in(&store, &kept, RequestState::Provisioned).await?)
    })
    .await?;
    wait_for("every job final", 240, async || {
        let jobs = store.jobs().list(&JobQuery::default()).await?;
        Ok(jobs.len() == JOBS && jobs.iter().all(|j| j.status.is_final()))
    })
    .await?;
    // A sync started after the last job: the store must then equal the simulator.
    let done = chrono::Utc::now();
    let started = tokio::time::Instant::now();
    wait_for("a sync after the jobs", 240, async || {
        Ok(store
            .runs()
            .latest_completed()
            .await?
            .is_some_and(|r| r.started_at > done))
    })
    .await?;
    println!(
        "crash_serve: the scheduled sync after the jobs completed {:.1}s later",
        started.elapsed().as_secs_f64()
    );
    // Stopped gracefully this time: nothing is left running.
    let term = Command::new("kill")
        .args(["-TERM", &last.id().to_string()])
        .status()?;
    anyhow::ensure!(term.success());
    last.wait()?;

    // Every request final, with one grant job (and one revocation job when revoked).
    let requests = store.requests().list(&RequestQuery::default()).await?;
    anyhow::ensure!(
        requests.len() == AUTO + APPROVED + HIRES,
        "{} requests: a retry made a second one",
        requests.len()
    );
    let jobs = store.jobs().list(&JobQuery::default()).await?;
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for j in &jobs {
        *by_key
            .entry(j.idempotency_key.clone().unwrap_or_default())
            .or_default() += 1;
    }
    for r in &requests {
        let grant = format!("request:{}:grant", r.id.0);
        assert_eq!(
            by_key.get(&grant),
            Some(&1),
            "request {}: {by_key:?}",
            r.id.0
        );
        assert!(r.grant_job.is_some(), "request {} has no grant job", r.id.0);
        let revoke = format!("request:{}:revoke", r.id.0);
        let expected = usize::from(revoked.contains(&r.id.0) || expiring.contains(&r.id.0));
        assert_eq!(
            by_key.get(&revoke).copied().unwrap_or(0),
            expected,
            "request {}",
            r.id.0
        );
    }
    // Every job succeeded, none is running or leased.
    let mut resumed = 0;
    assert_eq!(jobs.len(), JOBS);
    for j in &jobs {
        assert_eq!(
            j.status,
            JobStatus::Succeeded,
            "job {}: {:?}",
            j.id.0,
            j.error
        );
        if j.attempts > 1 {
            resumed += 1;
        }
    }
    // Exactly once in Atlassian: one membership write per grant and per revocation, one
    // invitation per new person.
    let after = writes(&sim);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (
            (AUTO + APPROVED + HIRES) as u64,
            (REVOKED + EXPIRING) as u64,
            HIRES as u64
        ),
        "(membership adds, removals, invitations)"
    );
    let mut expected_auto = auto_before;
    expected_auto.extend(auto_people[REVOKED..AUTO - EXPIRING].iter().cloned());
    expected_auto.extend(hires.iter().cloned());
    assert_eq!(members(&sim, &auto_id), expected_auto);
    let mut expected_appr = appr_before;
    expected_appr.extend(appr_people.iter().cloned());
    assert_eq!(members(&sim, &appr_id), expected_appr);

    // The store: no run left running, the last completed and equal to the simulator.
    let runs = store.runs().list(500).await?;
    assert!(
        runs.iter().all(|r| r.status != RunStatus::Running),
        "{runs:#?}"
    );
    assert_eq!(runs.first().map(|r| r.status), Some(RunStatus::Completed));
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let stored: BTreeSet<(String, String)> = snapshot
        .group_memberships()
        .await?
        .into_iter()
        .map(|m| (m.group_id, m.account_id))
        .collect();
    let truth: BTreeSet<(String, String)> = sim.app().read(|w| {
        w.live_groups()
            .flat_map(|(gx, g)| {
                (0..w.accounts.len() as u32)
                    .filter(move |ax| w.account(*ax).groups.contains(&gx))
                    .map(|ax| (g.id.clone(), w.account(ax).id.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    assert_eq!(
        stored.symmetric_difference(&truth).count(),
        0,
        "the last sync differs from the simulator: {:?}",
        stored
            .symmetric_difference(&truth)
            .take(10)
            .collect::<Vec<_>>()
    );
    store.close().await;

    // The audit chain verifies (the binary's own check).
    let verify = {
        let (d, url) = (d.clone(), database_url.to_owned());
        tokio::task::spawn_blocking(move || {
            steward(&d, &["audit", "verify", "--database-url", &url], &[])
        })
        .await?
    };
    anyhow::ensure!(verify.status.code() == Some(0), "{}", text(&verify));
    println!(
        "crash_serve: {kills} kills of steward serve ({two} times two at once), {JOBS} jobs \
         ({resumed} resumed after a kill), {} requests, {} runs: nothing lost or doubled",
        requests.len(),
        runs.len()
    );
    sim.shutdown().await;
    Ok(())
}

fn long_tests() -> bool {
    std::env::var("STEWARD_LONG_TESTS").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_serve_loses_and_doubles_nothing_on_sqlite() -> anyhow::Result<()> {
    if !long_tests() {
        println!("SKIPPED: serve crash test (set STEWARD_LONG_TESTS=1 to run it)");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    crash_serve(&url, false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_serve_loses_and_doubles_nothing_on_postgres() -> anyhow::Result<()> {
    use sqlx::Connection;
    if !long_tests() {
        println!("SKIPPED: serve crash test (set STEWARD_LONG_TESTS=1 to run it)");
        return Ok(());
    }
    let Ok(server) = std::env::var("STEWARD_TEST_DATABASE_URL") else {
        println!("SKIPPED: PostgreSQL serve crash test (set STEWARD_TEST_DATABASE_URL to run it)");
        return Ok(());
    };
    let schema = format!("crash_serve_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await?;
    let sep = if server.contains('?') { '&' } else { '?' };
    let outcome = crash_serve(&format!("{server}{sep}options[search_path]={schema}"), true).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    outcome
}
