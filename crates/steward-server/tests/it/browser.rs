//! The console in headless Chromium (WebDriver, see [`crate::webdriver`], against chromedriver
//! at `STEWARD_CHROMEDRIVER_URL`; `.ci/run` starts one). Against the simulator, with a worker
//! running jobs: sign in, see the dashboard, filter the matrix, open a person, offboard them
//! (plan shown, confirmed, job succeeded), sign out. Screenshots go to `target/screenshots/`;
//! with `STEWARD_README_SCREENSHOT=1` the dashboard is also saved as `docs/console.png`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use atlassian_sim::{ReadyInfo, SimConfig, Simulator};
use secrecy::SecretString;
use steward_engine::provision::{OffboardLevel, OrgFacts, Worker, person_state, plan_offboard};
use steward_engine::{PeopleFilter, Product, SiteTarget, StatuspageTarget, Target};
use steward_server::{AppState, Server, TargetSync};
use steward_store::{Role, Store};
use url::Url;

use crate::app::{PASSWORD, test_config};
use crate::webdriver::{By, Session};

fn target(info: &ReadyInfo) -> anyhow::Result<Target> {
    Ok(Target {
        api_url: Url::parse(&info.admin_base_url)?,
        org_id: info.org_id.clone(),
        org_api_key: SecretString::from(info.admin_api_key.clone()),
        integration_email: info
            .sites
            .first()
            .map(|s| s.email.clone())
            .context("no site")?,
        sites: info
            .sites
            .iter()
            .map(|s| {
                Ok(SiteTarget {
                    name: s.name.clone(),
                    url: Url::parse(&s.base_url)?,
                    api_token: SecretString::from(s.api_token.clone()),
                })
            })
            .collect::<anyhow::Result<_>>()?,
        statuspage: Some(StatuspageTarget {
            url: Url::parse(&info.statuspage.base_url)?,
            api_key: SecretString::from(info.statuspage.api_key.clone()),
            organization_id: info.statuspage.organization_id.clone(),
        }),
    })
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

#[tokio::test]
async fn an_admin_signs_in_filters_the_matrix_offboards_someone_and_signs_out() -> anyhow::Result<()>
{
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
    steward_server::bootstrap::create_user(
        &state,
        "admin@steward.test",
        "The admin",
        Role::Admin,
        &SecretString::from(PASSWORD),
    )
    .await?;
    let victim = someone_to_offboard(&store, &target).await?;
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
        // Signing in: any page sends us to the form first.
        driver.goto(&format!("{base}/")).await?;
        anyhow::ensure!(driver.url().await?.path() == "/sign-in");
        driver.screenshot(&shots.join("01-sign-in.png")).await?;
        driver
            .find(By::Id("email"))
            .await?
            .send_keys("admin@steward.test")
            .await?;
        driver
            .find(By::Id("password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        driver.find(By::Id("sign-in")).await?.click().await?;
        driver
            .wait_for_text(
                By::Id("whoami"),
                "admin@steward.test",
                Duration::from_secs(10),
            )
            .await?;
        driver
            .wait_for_text(By::Css("h1"), "Dashboard", Duration::from_secs(5))
            .await?;
        driver
            .wait_for_text(By::Id("sync-h"), "Sync health", Duration::from_secs(5))
            .await?;
        driver.screenshot(&shots.join("02-dashboard.png")).await?;

        // The matrix, filtered by product through htmx (no page load).
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
            .wait_for_text(By::Id("matrix"), &victim, Duration::from_secs(10))
            .await?;
        driver.screenshot(&shots.join("03-matrix-jira.png")).await?;
        if std::env::var("STEWARD_README_SCREENSHOT").is_ok_and(|v| v == "1") {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
            std::fs::create_dir_all(&docs)?;
            driver.screenshot(&docs.join("console.png")).await?;
        }

        // The person, then offboarding: the plan first, then the job.
        driver.find(By::LinkText(&victim)).await?.click().await?;
        driver
            .wait_for_text(By::Id("access-h"), "Access", Duration::from_secs(5))
            .await?;
        driver.screenshot(&shots.join("04-person.png")).await?;
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
            .screenshot(&shots.join("05-offboard-plan.png"))
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
            .screenshot(&shots.join("06-job-succeeded.png"))
            .await?;

        // Signing out ends the session: pages send us back to the form.
        driver.find(By::Id("sign-out")).await?.click().await?;
        driver.find(By::Id("sign-in-form")).await?;
        driver.goto(&format!("{base}/people")).await?;
        anyhow::ensure!(driver.url().await?.path() == "/sign-in");
        driver.screenshot(&shots.join("07-signed-out.png")).await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = driver.screenshot(&shots.join("failure.png")).await;
    }
    driver.quit().await?;
    worker_task.abort();
    let _ = stop.send(());
    result?;
    // The job really ran against the simulator: it succeeded, step by step.
    let jobs = store
        .jobs()
        .list(&steward_store::JobQuery::default())
        .await?;
    anyhow::ensure!(jobs.len() == 1, "{jobs:?}");
    anyhow::ensure!(jobs[0].status == steward_store::JobStatus::Succeeded);
    anyhow::ensure!(jobs[0].subject == victim);
    store.close().await;
    Ok(())
}
