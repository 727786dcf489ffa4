//! The console in headless Chromium (WebDriver, see [`crate::webdriver`], against chromedriver
//! at `STEWARD_CHROMEDRIVER_URL`; `.ci/run` starts one). Against the simulator, with a worker
//! running jobs and the request sweep running, in one run: the requester signs in and asks for
//! Jira access for someone with the form (filtering the catalog), signs out; the approver
//! signs in, approves it from the queue, and the request's page follows the grant job to
//! `provisioned`; after a sync the person shows in the people × products matrix; the admin
//! opens a person and offboards them (plan shown, confirmed, job succeeded), signs out.
//! Screenshots of each step go to `target/screenshots/`; with `STEWARD_README_SCREENSHOT=1`
//! the matrix is also saved as `docs/console.png`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use atlassian_sim::{ReadyInfo, SimConfig, Simulator};
use secrecy::SecretString;
use steward_engine::provision::{
    Catalog, CatalogConfig, OffboardLevel, OrgFacts, Worker, person_state, plan_grant,
    plan_offboard,
};
use steward_engine::{PeopleFilter, Product, Target};
use steward_server::{AppState, Server, TargetSync};
use steward_store::{Role, Store};

use crate::app::{PASSWORD, test_config};
use crate::webdriver::{By, Session};

fn target(info: &ReadyInfo) -> anyhow::Result<Target> {
    Ok(Target::from_sim(info)?)
}

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

/// A Jira user whom revoking roles touches and no guard rail protects.
async fn someone_to_offboard(store: &Store, target: &Target) -> anyhow::Result<String> {
    let snapshot = store.latest_snapshot().await?.context("no sync")?;
    let facts = OrgFacts::from_snapshot(&snapshot, Some(&target.integration_email)).await?;
    let filter = PeopleFilter {
        product: Some(Product::Jira),
        role: None,
        status: Some("active".to_owned()),
        inactive_for_days: None,
        now: None,
    };
    for p in steward_engine::people(&snapshot, &filter).await? {
        let Some(email) = p.email else { continue };
        let state = person_state(&snapshot, &email, &facts).await?;
        if let Ok(plan) = plan_offboard(&state, OffboardLevel::RevokeRoles, &facts)
            && !plan.is_noop()
            && plan.ops.len() <= 6
        {
            return Ok(email);
        }
    }
    anyhow::bail!("nobody in the sandbox can be offboarded")
}

/// Someone active with no Jira access at all whom granting `jira:<site>/user` changes, and the
/// entitlement's id.
async fn someone_without_jira(
    store: &Store,
    target: &Target,
    not: &str,
) -> anyhow::Result<(String, String)> {
    let snapshot = store.latest_snapshot().await?.context("no sync")?;
    let facts = OrgFacts::from_snapshot(&snapshot, Some(&target.integration_email)).await?;
    let site = &target.sites.first().context("no site")?.name;
    let id = format!("jira:{site}/user");
    let catalog = Catalog::from_snapshot(&snapshot, &CatalogConfig::default()).await?;
    let entitlement = catalog.resolve(&id)?.clone();
    let filter = PeopleFilter {
        product: None,
        role: None,
        status: Some("active".to_owned()),
        inactive_for_days: None,
        now: None,
    };
    for p in steward_engine::people(&snapshot, &filter).await? {
        let Some(email) = p.email.clone() else {
            continue;
        };
        if email == not
            || email == target.integration_email
            || p.grants.iter().any(|g| g.product == Some(Product::Jira))
        {
            continue;
        }
        let state = person_state(&snapshot, &email, &facts).await?;
        if let Ok(plan) = plan_grant(&state, std::slice::from_ref(&entitlement), &facts)
            && !plan.is_noop()
        {
            return Ok((email, id));
        }
    }
    anyhow::bail!("nobody in the sandbox lacks {id}")
}

/// Signs in through the form as `email`.
async fn sign_in(driver: &Session, email: &str) -> anyhow::Result<()> {
    driver
        .wait_for(By::Id("sign-in-form"), Duration::from_secs(10))
        .await?;
    driver.find(By::Id("email")).await?.send_keys(email).await?;
    driver
        .find(By::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    driver.find(By::Id("sign-in")).await?.click().await?;
    driver
        .wait_for_text(By::Id("whoami"), email, Duration::from_secs(10))
        .await
}

/// Signs out and checks the sign-in form is back.
async fn sign_out(driver: &Session) -> anyhow::Result<()> {
    driver.find(By::Id("sign-out")).await?.click().await?;
    driver
        .wait_for(By::Id("sign-in-form"), Duration::from_secs(10))
        .await
        .map(drop)
}

#[tokio::test]
async fn request_approve_see_in_the_matrix_and_offboard_in_one_browser_run() -> anyhow::Result<()> {
    let Ok(webdriver) = std::env::var("STEWARD_CHROMEDRIVER_URL") else {
        println!(
            "SKIPPED: browser test (install chromium and chromium-driver, start chromedriver and set STEWARD_CHROMEDRIVER_URL; .ci/run does)"
        );
        return Ok(());
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig::default()).await?;
    let target = target(sim.info())?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("steward.db").display()
    ))
    .await?;
    let report = steward_engine::sync::run_all(&target, &store).await;
    anyhow::ensure!(report.error.is_none(), "sync failed: {:?}", report.error);
    let state = AppState::new(
        store.clone(),
        test_config(),
        Some(Arc::new(TargetSync(target.clone()))),
    )?;
    for role in [Role::Admin, Role::Approver, Role::Requester] {
        steward_server::bootstrap::create_user(
            &state,
            &format!("{role}@steward.test"),
            &format!("The {role}"),
            role,
            &SecretString::from(PASSWORD),
        )
        .await?;
    }
    let victim = someone_to_offboard(&store, &target).await?;
    let (grantee, jira) = someone_without_jira(&store, &target, &victim).await?;
    // The request sweep, as `steward serve`'s scheduler runs it.
    let workflow = state.workflow();
    let sweep_task = tokio::spawn(async move {
        loop {
            let _ = workflow.sweep(chrono::Utc::now()).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let server = Server::bind("127.0.0.1:0".parse()?, state).await?;
    let base = format!("http://{}", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    // A worker, as `steward worker` would run next to the service.
    let client = target.client(steward_engine::sync::sync_retry(), Duration::from_secs(30))?;
    let worker = Worker::new(store.clone(), client, target.clone(), "browser-test-worker");
    let worker_task = tokio::spawn(async move {
        loop {
            match worker.run_once().await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });

    let binary =
        std::env::var("STEWARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let driver = Session::chromium(&webdriver, &binary).await?;
    let shots = screenshots();
    std::fs::create_dir_all(&shots)?;
    let result = async {
        // The requester signs in: any page sends us to the form first.
        driver.goto(&format!("{base}/")).await?;
        anyhow::ensure!(driver.url().await?.path() == "/sign-in");
        driver.screenshot(&shots.join("01-sign-in.png")).await?;
        sign_in(&driver, "requester@steward.test").await?;
        driver
            .wait_for_text(By::Css("h1"), "Dashboard", Duration::from_secs(5))
            .await?;
        driver
            .wait_for_text(By::Id("sync-h"), "Sync health", Duration::from_secs(5))
            .await?;
        driver.screenshot(&shots.join("02-dashboard.png")).await?;

        // … and asks for Jira access for someone, with the form.
        driver.find(By::LinkText("Requests")).await?.click().await?;
        driver
            .wait_for(By::Id("new-request"), Duration::from_secs(5))
            .await?
            .click()
            .await?;
        let subject = driver
            .wait_for(By::Id("subject"), Duration::from_secs(5))
            .await?;
        subject.clear().await?;
        subject.send_keys(&grantee).await?;
        // The filter box narrows the catalog (htmx) before anything is ticked.
        driver
            .find(By::Id("filter"))
            .await?
            .send_keys("jira")
            .await?;
        driver
            .wait_for(
                By::Css("#catalog[data-filter='jira']"),
                Duration::from_secs(10),
            )
            .await?;
        driver
            .find(By::Css(&format!("#catalog input[value='{jira}']")))
            .await?
            .click()
            .await?;
        driver
            .find(By::Id("justification"))
            .await?
            .send_keys("joins the platform team (browser test)")
            .await?;
        driver
            .find(By::Id("duration"))
            .await?
            .send_keys("7d")
            .await?;
        driver
            .screenshot(&shots.join("03-request-form.png"))
            .await?;
        driver.find(By::Id("submit-request")).await?.click().await?;
        driver
            .wait_for_text(By::Id("request-state"), "pending", Duration::from_secs(10))
            .await?;
        driver
            .wait_for_text(
                By::Id("notice"),
                "waits for approval",
                Duration::from_secs(5),
            )
            .await?;
        driver
            .wait_for_text(
                By::Id("expiry"),
                "7d once provisioned",
                Duration::from_secs(5),
            )
            .await?;
        let request_path = driver.url().await?.path().to_owned();
        let request_id: i64 = request_path
            .trim_start_matches("/requests/")
            .parse()
            .with_context(|| format!("not a request page: {request_path}"))?;
        driver
            .screenshot(&shots.join("04-request-pending.png"))
            .await?;
        sign_out(&driver).await?;

        // The approver signs in, goes from the dashboard to the queue and approves it.
        sign_in(&driver, "approver@steward.test").await?;
        driver
            .wait_for(By::Id("pending-approvals"), Duration::from_secs(5))
            .await?
            .click()
            .await?;
        driver
            .wait_for(
                By::Id(&format!("approve-{request_id}")),
                Duration::from_secs(10),
            )
            .await?;
        driver
            .screenshot(&shots.join("05-approval-queue.png"))
            .await?;
        driver
            .find(By::Id(&format!("approve-{request_id}")))
            .await?
            .click()
            .await?;
        // The request's page follows the grant job (the worker runs it, the sweep records it).
        driver
            .wait_for_text(
                By::Id("request-state"),
                "provisioned",
                Duration::from_secs(120),
            )
            .await?;
        anyhow::ensure!(driver.url().await?.path() == request_path);
        driver
            .wait_for_text(By::Id("grant-status"), "succeeded", Duration::from_secs(10))
            .await?;
        driver
            .wait_for_text(By::Id("expiry"), "until ", Duration::from_secs(5))
            .await?;
        driver
            .screenshot(&shots.join("06-request-provisioned.png"))
            .await?;

        // The next sync reads it back: the person is in the matrix, filtered to Jira.
        let report = steward_engine::sync::run_all(&target, &store).await;
        anyhow::ensure!(report.error.is_none(), "sync failed: {:?}", report.error);
        driver.find(By::LinkText("People")).await?.click().await?;
        driver
            .wait_for_text(By::Css("h1"), "People", Duration::from_secs(5))
            .await?;
        driver
            .find(By::Css("#f-product option[value='jira']"))
            .await?
            .click()
            .await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !driver
            .url()
            .await?
            .query()
            .unwrap_or_default()
            .contains("product=jira")
        {
            anyhow::ensure!(Instant::now() < deadline, "the filter did not apply");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        driver
            .wait_for_text(By::Id("matrix"), &grantee, Duration::from_secs(10))
            .await?;
        driver
            .wait_for_text(By::Id("matrix"), &victim, Duration::from_secs(10))
            .await?;
        driver.screenshot(&shots.join("07-matrix-jira.png")).await?;
        if std::env::var("STEWARD_README_SCREENSHOT").is_ok_and(|v| v == "1") {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
            std::fs::create_dir_all(&docs)?;
            driver.screenshot(&docs.join("console.png")).await?;
        }
        sign_out(&driver).await?;

        // The admin offboards someone.
        sign_in(&driver, "admin@steward.test").await?;
        driver
            .goto(&format!(
                "{base}/people/{}",
                steward_server::console::encode_component(&victim)
            ))
            .await?;
        // The person, then offboarding: the plan first, then the job.
        driver
            .wait_for_text(By::Id("access-h"), "Access", Duration::from_secs(5))
            .await?;
        driver.screenshot(&shots.join("08-person.png")).await?;
        driver
            .find(By::Css("#level option[value='revoke-roles']"))
            .await?
            .click()
            .await?;
        driver.find(By::Id("plan-offboard")).await?.click().await?;
        driver
            .wait_for_text(
                By::Id("plan"),
                "nothing has changed yet",
                Duration::from_secs(10),
            )
            .await?;
        driver
            .find(By::Id("reason"))
            .await?
            .send_keys("left the company (browser test)")
            .await?;
        if let Ok(mass) = driver.find(By::Id("mass-ok")).await {
            mass.click().await?;
        }
        driver
            .screenshot(&shots.join("09-offboard-plan.png"))
            .await?;
        driver
            .find(By::Id("confirm-offboard"))
            .await?
            .click()
            .await?;
        driver
            .wait_for_text(By::Id("job-status"), "succeeded", Duration::from_secs(90))
            .await?;
        anyhow::ensure!(driver.url().await?.path().starts_with("/jobs/"));
        driver
            .screenshot(&shots.join("10-job-succeeded.png"))
            .await?;

        // Signing out ends the session: pages send us back to the form.
        sign_out(&driver).await?;
        driver.goto(&format!("{base}/people")).await?;
        anyhow::ensure!(driver.url().await?.path() == "/sign-in");
        driver.screenshot(&shots.join("11-signed-out.png")).await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = driver.screenshot(&shots.join("failure.png")).await;
    }
    driver.quit().await?;
    worker_task.abort();
    sweep_task.abort();
    let _ = stop.send(());
    result?;
    // The jobs really ran against the simulator: the grant, then the offboarding, succeeded.
    let jobs = store
        .jobs()
        .list(&steward_store::JobQuery::default())
        .await?;
    anyhow::ensure!(jobs.len() == 2, "{jobs:?}");
    anyhow::ensure!(
        jobs.iter()
            .all(|j| j.status == steward_store::JobStatus::Succeeded),
        "{jobs:?}"
    );
    anyhow::ensure!(jobs[0].kind == "grant" && jobs[0].subject == grantee);
    anyhow::ensure!(jobs[1].subject == victim);
    // The request went through the whole workflow, audited.
    let requests = store.requests().list(&Default::default()).await?;
    anyhow::ensure!(requests.len() == 1, "{requests:?}");
    anyhow::ensure!(requests[0].state == steward_store::RequestState::Provisioned);
    anyhow::ensure!(requests[0].request.requested_by == "requester@steward.test");
    anyhow::ensure!(requests[0].approvals[0].approver == "approver@steward.test");
    anyhow::ensure!(requests[0].expires_at.is_some());
    anyhow::ensure!(store.audit().verify().await?.ok);
    store.close().await;
    Ok(())
}
