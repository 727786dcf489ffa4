//! `verify` against a fresh sandbox, then against each broken prerequisite the simulator can
//! produce.

use atlassian_sim::state::Mode;
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use secrecy::SecretString;
use serde_json::{Value, json};
use steward_engine::{CheckStatus, Report, verify};
use url::Url;

use crate::support::{self, target};

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn sandbox(mode: Mode) -> anyhow::Result<SimHandle> {
    install_crypto();
    Ok(Simulator::spawn(SimConfig {
        mode,
        ..SimConfig::default()
    })
    .await?)
}

async fn control(sim: &SimHandle, body: Value) -> anyhow::Result<Value> {
    support::control(sim, "/out-of-band", body).await
}

fn status_of(report: &Report, id: &str) -> Option<CheckStatus> {
    report.check(id).map(|c| c.status)
}

fn assert_fails_with(report: &Report, id: &str, fix_contains: &str) {
    let check = report.check(id);
    assert!(
        check.is_some_and(|c| c.status == CheckStatus::Fail
            && c.fix.as_deref().is_some_and(|f| f.contains(fix_contains))),
        "{id} should fail with a fix mentioning {fix_contains:?}: {report:#?}"
    );
    assert!(!report.passed());
}

fn print(report: &Report) {
    for c in &report.checks {
        eprintln!("{:?} {} — {} {:?}", c.status, c.id, c.detail, c.fix);
    }
}

async fn passes_on_a_fresh_sandbox(mode: Mode) -> anyhow::Result<()> {
    let sim = sandbox(mode).await?;
    let report = verify(&target(&sim)?).await?;
    print(&report);
    assert!(report.passed(), "{report:#?}");
    for id in [
        "org.api_key",
        "org.found",
        "org.user_management",
        "account.directory",
        "account.org_admin",
        "product.jira-software",
        "product.confluence",
        "product.jira-servicedesk",
        "product.jira-product-discovery",
        "product.statuspage",
        "site.acme.url",
        "site.acme.site_admin",
        "site.acme.jira",
        "site.acme.confluence",
        "site.acme.jsm",
        "statuspage.api_key",
        "statuspage.organization",
    ] {
        assert_eq!(
            status_of(&report, id),
            Some(CheckStatus::Pass),
            "{id}: {report:#?}"
        );
    }
    let um = report
        .check("org.user_management")
        .map(|c| c.detail.clone());
    let expected = match mode {
        Mode::Centralized => "centralized",
        Mode::Original => "original",
    };
    assert!(um.is_some_and(|d| d.starts_with(expected)));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn verify_passes_on_a_fresh_centralized_sandbox() -> anyhow::Result<()> {
    passes_on_a_fresh_sandbox(Mode::Centralized).await
}

#[tokio::test]
async fn verify_passes_on_a_fresh_original_sandbox() -> anyhow::Result<()> {
    passes_on_a_fresh_sandbox(Mode::Original).await
}

#[tokio::test]
async fn a_wrong_org_key_is_flagged_and_site_checks_still_run() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    t.org_api_key = SecretString::from("not-a-key".to_owned());
    let report = verify(&t).await?;
    assert_fails_with(
        &report,
        "org.api_key",
        "admin.atlassian.com → Settings → API keys",
    );
    assert_eq!(status_of(&report, "org.found"), Some(CheckStatus::Skipped));
    assert_eq!(
        status_of(&report, "site.acme.jira"),
        Some(CheckStatus::Pass)
    );
    assert_eq!(
        status_of(&report, "statuspage.api_key"),
        Some(CheckStatus::Pass)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_wrong_org_id_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    t.org_id = "00000000-0000-0000-0000-000000000000".into();
    let report = verify(&t).await?;
    assert_eq!(status_of(&report, "org.api_key"), Some(CheckStatus::Pass));
    assert_fails_with(&report, "org.found", "atlassian.org_id");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_integration_account_without_org_admin_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let account = sim.info().integration_account_id.clone();
    control(
        &sim,
        json!({"op": "revoke_role", "account_id": account, "role": "atlassian/org-admin"}),
    )
    .await?;
    let report = verify(&target(&sim)?).await?;
    print(&report);
    assert_fails_with(&report, "account.org_admin", "Assign org admin role");
    let detail = report.check("account.org_admin").map(|c| c.detail.clone());
    assert!(detail.is_some_and(|d| d.contains("is not an Organization admin")));
    assert_eq!(
        status_of(&report, "account.directory"),
        Some(CheckStatus::Pass)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_suspended_integration_account_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let account = sim.info().integration_account_id.clone();
    // An org admin cannot be suspended: take the role first, as an admin would have to.
    control(
        &sim,
        json!({"op": "revoke_role", "account_id": account, "role": "atlassian/org-admin"}),
    )
    .await?;
    control(&sim, json!({"op": "suspend", "account_id": account})).await?;
    let report = verify(&target(&sim)?).await?;
    print(&report);
    assert_fails_with(&report, "account.directory", "Restore user access");
    assert_eq!(
        status_of(&report, "site.acme.jira"),
        Some(CheckStatus::Fail)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_deactivated_integration_account_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let account = sim.info().integration_account_id.clone();
    control(
        &sim,
        json!({"op": "revoke_role", "account_id": account, "role": "atlassian/org-admin"}),
    )
    .await?;
    control(&sim, json!({"op": "deactivate", "account_id": account})).await?;
    let report = verify(&target(&sim)?).await?;
    print(&report);
    assert_fails_with(&report, "account.directory", "Activate account");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_wrong_site_token_is_flagged_and_org_checks_still_run() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    for site in &mut t.sites {
        site.api_token = SecretString::from("wrong-token".to_owned());
    }
    let report = verify(&t).await?;
    for product in ["jira", "confluence", "jsm"] {
        assert_fails_with(&report, &format!("site.acme.{product}"), "Create API token");
    }
    assert_eq!(
        status_of(&report, "account.org_admin"),
        Some(CheckStatus::Pass)
    );
    assert_eq!(
        status_of(&report, "site.acme.site_admin"),
        Some(CheckStatus::Pass)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_wrong_statuspage_key_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    if let Some(sp) = &mut t.statuspage {
        sp.api_key = SecretString::from("wrong-key".to_owned());
    }
    let report = verify(&t).await?;
    assert_fails_with(&report, "statuspage.api_key", "API info → Create key");
    assert_eq!(
        status_of(&report, "statuspage.organization"),
        Some(CheckStatus::Skipped)
    );
    assert_eq!(status_of(&report, "org.found"), Some(CheckStatus::Pass));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_unreachable_host_is_named_without_secrets() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let url = format!("http://{closed}/api");
    t.api_url = Url::parse(&url)?;
    let canary = "canary-secret-5f1e";
    t.org_api_key = SecretString::from(canary.to_owned());
    let report = verify(&t).await?;
    let check = report.check("org.api_key");
    assert!(
        check.is_some_and(
            |c| c.status == CheckStatus::Fail && c.detail.contains(&closed.to_string())
        ),
        "{report:#?}"
    );
    assert_eq!(
        status_of(&report, "site.acme.jira"),
        Some(CheckStatus::Pass)
    );
    let json = serde_json::to_string(&report)?;
    assert!(!json.contains(canary));
    assert!(!format!("{report:?}").contains(canary));
    assert!(!format!("{t:?}").contains(canary));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn verify_passes_on_an_original_org_with_two_sites() -> anyhow::Result<()> {
    install_crypto();
    let sim = Simulator::spawn(SimConfig {
        mode: Mode::Original,
        profile: atlassian_sim::seed::SizeProfile::Medium,
        users: Some(120),
        ..SimConfig::default()
    })
    .await?;
    let t = target(&sim)?;
    assert_eq!(t.sites.len(), 2);
    let report = verify(&t).await?;
    print(&report);
    assert!(report.passed(), "{report:#?}");
    for site in &t.sites {
        for check in ["url", "site_admin", "jira", "confluence", "jsm"] {
            let id = format!("site.{}.{check}", site.name);
            assert_eq!(status_of(&report, &id), Some(CheckStatus::Pass), "{id}");
        }
    }
    let um = report
        .check("org.user_management")
        .map(|c| c.detail.clone());
    assert!(um.is_some_and(|d| d.starts_with("original user management (2 directories")));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_wrong_statuspage_organization_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    if let Some(sp) = &mut t.statuspage {
        sp.organization_id = "nosuchorg".into();
    }
    let report = verify(&t).await?;
    print(&report);
    assert_eq!(
        status_of(&report, "statuspage.api_key"),
        Some(CheckStatus::Pass)
    );
    assert_fails_with(&report, "statuspage.organization", "Organization ID");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_site_url_that_is_no_workspace_is_flagged() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let mut t = target(&sim)?;
    // The same server under another path: the token still works, the URL is not the workspace's.
    for site in &mut t.sites {
        site.url.set_host(Some("localhost"))?;
    }
    let report = verify(&t).await?;
    print(&report);
    assert_fails_with(&report, "site.acme.url", "[[atlassian.sites]] acme");
    assert_eq!(
        status_of(&report, "site.acme.site_admin"),
        Some(CheckStatus::Skipped)
    );
    sim.shutdown().await;
    Ok(())
}
