//! The provisioning executor and worker against the simulator: every operation applied and
//! verified through the simulator's ground truth, each idempotent (a second run writes
//! nothing), jobs resumed after a killed worker and after answers lost after the change was
//! applied, permanent refusals, the audit chain, and two workers sharing PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use atlassian_client::{Client, RetryPolicy};
use atlassian_sim::state::{AccountType, ManagementSource, Mode, Product, Role};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::json;
use steward_engine::Target;
use steward_engine::provision::{
    ExecContext, Op, Plan, PlannedOp, RunOutcome, StepError, Subject, Worker, WorkerPolicy,
    enqueue_plan, execute_op,
};
use steward_store::{JobDetail, JobId, JobStatus, StepStatus, Store};

use crate::support::{control, drop_schema, postgres, sqlite, target};

// ---- the sandbox -------------------------------------------------------------------------------

async fn sandbox(mode: Mode) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Simulator::spawn(SimConfig {
        mode,
        ..SimConfig::default()
    })
    .await?)
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(1),
    }
}

fn client(target: &Target, timeout: Duration) -> anyhow::Result<Client> {
    Ok(target.client(quick_retries(), timeout)?)
}

fn policy() -> WorkerPolicy {
    WorkerPolicy {
        max_attempts: 5,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        idle: Duration::from_millis(10),
        max_idle: Duration::from_millis(50),
        verify_attempts: 6,
        verify_backoff: Duration::from_millis(100),
    }
}

fn worker(store: &Store, client: &Client, target: &Target, owner: &str) -> Worker {
    let mut w = Worker::new(store.clone(), client.clone(), target.clone(), owner);
    w.policy = policy();
    w
}

fn plan(subject: &Subject, ops: Vec<Op>) -> Plan {
    Plan {
        subject: subject.clone(),
        ops: ops
            .into_iter()
            .map(|op| PlannedOp {
                op,
                why: "test".into(),
            })
            .collect(),
        planned_against_run: None,
        restores_bundle: None,
    }
}

fn context<'a>(
    client: &'a Client,
    store: &'a Store,
    target: &Target,
    job: Option<JobId>,
) -> ExecContext<'a> {
    let mut ctx = ExecContext::new(
        client,
        store,
        job,
        target.sites.iter().map(|s| s.name.clone()).collect(),
        vec![],
    );
    ctx.verify_backoff = Duration::from_millis(100);
    ctx
}

// ---- ground truth ------------------------------------------------------------------------------

fn ari(sim: &SimHandle, product: Product) -> String {
    sim.app().read(|w| {
        w.site_resource(0, product)
            .map(|rx| w.resource(rx).ari())
            .unwrap_or_default()
    })
}

fn directory(sim: &SimHandle) -> String {
    sim.app().read(|w| w.directories[0].id.clone())
}

/// Active, managed, admin-invited people in a directory, not org admins, without access to
/// `product`: (email, account id).
fn people_without(sim: &SimHandle, product: Product) -> Vec<Subject> {
    sim.app().read(|w| {
        let rx = w.site_resource(0, product);
        w.accounts
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                let ax = *i as u32;
                a.kind == AccountType::Atlassian
                    && a.source == ManagementSource::Invited
                    && !a.org_admin
                    && w.composite_status(ax) == "active"
                    && w.is_managed(ax)
                    && ax != w.integration_account()
                    && rx.is_none_or(|rx| !w.has_product_access(ax, rx))
                    && !w.statuspage.members.contains_key(&ax)
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

fn account(sim: &SimHandle, email: &str) -> Option<u32> {
    sim.app().read(|w| w.account_by_email(email))
}

fn accounts_with_email(sim: &SimHandle, email: &str) -> usize {
    sim.app().read(|w| {
        w.accounts
            .iter()
            .filter(|a| {
                a.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .count()
    })
}

fn holds(sim: &SimHandle, email: &str, product: Product, role: &str) -> bool {
    let Some(ax) = account(sim, email) else {
        return false;
    };
    sim.app().read(|w| {
        let (Some(rx), Some(role)) = (w.site_resource(0, product), Role::from_id(role)) else {
            return false;
        };
        w.holds(ax, rx, role)
    })
}

/// A custom group anyone can be added to: (id, name).
fn plain_group(sim: &SimHandle) -> (String, String) {
    sim.app().read(|w| {
        w.live_groups()
            .find(|(_, g)| {
                !g.external && !g.protected && g.default_for.is_none() && g.roles.is_empty()
            })
            .map(|(_, g)| (g.id.clone(), g.name.clone()))
            .unwrap_or_default()
    })
}

fn synced_group(sim: &SimHandle) -> (String, String) {
    sim.app().read(|w| {
        w.live_groups()
            .find(|(_, g)| g.external)
            .map(|(_, g)| (g.id.clone(), g.name.clone()))
            .unwrap_or_default()
    })
}

fn in_group(sim: &SimHandle, email: &str, group_id: &str) -> bool {
    let Some(ax) = account(sim, email) else {
        return false;
    };
    sim.app().read(|w| {
        w.group_ix(group_id)
            .is_ok_and(|gx| w.group(gx).members.contains(&ax))
    })
}

/// (an RBAC page, a page without RBAC if any).
fn pages(sim: &SimHandle) -> (String, Option<String>) {
    sim.app().read(|w| {
        let rbac = w
            .statuspage
            .pages
            .iter()
            .find(|p| p.rbac)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let plain = w
            .statuspage
            .pages
            .iter()
            .find(|p| !p.rbac)
            .map(|p| p.id.clone());
        (rbac, plain)
    })
}

fn page_roles(sim: &SimHandle, email: &str) -> Option<BTreeMap<String, (bool, bool, bool)>> {
    let ax = account(sim, email)?;
    sim.app().read(|w| {
        w.statuspage.members.get(&ax).map(|m| {
            m.pages
                .iter()
                .map(|(id, p)| {
                    (
                        id.clone(),
                        (
                            p.page_configuration,
                            p.incident_manager,
                            p.maintenance_manager,
                        ),
                    )
                })
                .collect()
        })
    })
}

/// A service desk with closed access on the first site: (site name, desk id).
fn closed_desk(sim: &SimHandle) -> (String, String) {
    sim.app().read(|w| {
        let site = &w.sites[0];
        let desk = site
            .service_desks
            .iter()
            .find(|d| d.closed_access)
            .map(|d| d.id.to_string())
            .unwrap_or_default();
        (site.name.clone(), desk)
    })
}

fn desk_customer(sim: &SimHandle, email: &str, desk: &str) -> bool {
    let Some(ax) = account(sim, email) else {
        return false;
    };
    sim.app().read(|w| {
        w.sites[0]
            .service_desks
            .iter()
            .any(|d| d.id.to_string() == desk && d.customers.contains(&ax))
    })
}

fn status(sim: &SimHandle, email: &str) -> String {
    account(sim, email)
        .map(|ax| sim.app().read(|w| w.composite_status(ax).to_owned()))
        .unwrap_or_else(|| "absent".to_owned())
}

/// Mutations the simulator applied (answered 2xx), whose key contains `needle`.
fn applied(sim: &SimHandle, needle: &str) -> u64 {
    sim.app()
        .faults()
        .counters()
        .applied_mutations
        .iter()
        .filter(|(k, _)| k.contains(needle))
        .map(|(_, n)| n)
        .sum()
}

// ---- running jobs ------------------------------------------------------------------------------

/// Runs the worker until the job is final (at most ~20 s).
async fn drain(worker: &Worker, job: JobId) -> anyhow::Result<JobDetail> {
    for _ in 0..400 {
        let detail = worker.store.jobs().get(job).await?;
        if detail.job.status.is_final() {
            return Ok(detail);
        }
        if worker.run_once().await?.is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    anyhow::bail!("job {job} did not finish")
}

async fn enqueue(store: &Store, plan: &Plan, kind: &str) -> anyhow::Result<JobId> {
    Ok(
        enqueue_plan(store, plan, kind, "admin@acme.com", "testing", None)
            .await?
            .id,
    )
}

async fn audit_ok(store: &Store) -> anyhow::Result<()> {
    let v = store.audit().verify().await?;
    anyhow::ensure!(v.ok, "audit chain broken: {:?}", v.first_bad);
    Ok(())
}

fn done(detail: &JobDetail) -> Vec<StepStatus> {
    detail.steps.iter().map(|s| s.status).collect()
}

// ---- tests -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_person_is_granted_everything_then_offboarded_in_steps() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let worker = worker(&store, &client, &target, "w1");
    // Direct role grants become visible only later: Verify must wait for them.
    sim.app().write(|w| w.visibility_delay_ms = 300);

    let email = "new.hire@acme.com";
    let subject = Subject {
        email: email.into(),
        account_id: None,
    };
    let jira = ari(&sim, Product::JiraSoftware);
    let (group_id, group_name) = plain_group(&sim);
    let (rbac_page, plain_page) = pages(&sim);
    let (site, desk) = closed_desk(&sim);
    let mut grant = vec![
        Op::InviteAccount,
        Op::GrantRole {
            resource: jira.clone(),
            role: "atlassian/user".into(),
        },
        Op::AddToGroup {
            group_id: group_id.clone(),
            group_name: group_name.clone(),
        },
        Op::AddStatuspageMember,
        Op::SetStatuspagePage {
            page_id: rbac_page.clone(),
            page_configuration: true,
            incident_manager: false,
            maintenance_manager: true,
        },
        Op::AddJsmCustomer {
            site: site.clone(),
            service_desk_id: desk.clone(),
        },
    ];
    if let Some(page) = &plain_page {
        grant.push(Op::SetStatuspagePage {
            page_id: page.clone(),
            page_configuration: false,
            incident_manager: false,
            maintenance_manager: false,
        });
    }
    grant.push(Op::Verify);
    let job = enqueue(&store, &plan(&subject, grant), "grant").await?;
    let detail = drain(&worker, job).await?;
    assert_eq!(
        detail.job.status,
        JobStatus::Succeeded,
        "{:?}",
        detail.job.error
    );
    assert_eq!(accounts_with_email(&sim, email), 1);
    assert_eq!(status(&sim, email), "active");
    assert!(holds(&sim, email, Product::JiraSoftware, "atlassian/user"));
    assert!(in_group(&sim, email, &group_id));
    let roles = page_roles(&sim, email).unwrap_or_default();
    assert_eq!(roles.get(&rbac_page), Some(&(true, false, true)));
    if let Some(page) = &plain_page {
        assert!(roles.contains_key(page));
    }
    assert!(desk_customer(&sim, email, &desk));
    let account_id = detail.steps[0]
        .result
        .as_ref()
        .and_then(|r| r["account_id"].as_str())
        .map(str::to_owned);
    assert!(
        account_id.is_some(),
        "the invite step records the account id"
    );

    // Offboard, first level: bundle, revoke everything, suspend.
    let dir = directory(&sim);
    let offboard = vec![
        Op::SaveRestoreBundle,
        Op::RevokeRole {
            resource: jira.clone(),
            role: "atlassian/user".into(),
        },
        Op::RemoveFromGroup {
            group_id: group_id.clone(),
            group_name: group_name.clone(),
        },
        Op::RemoveStatuspagePage {
            page_id: rbac_page.clone(),
        },
        Op::RemoveStatuspageMember,
        Op::RemoveJsmCustomer {
            site: site.clone(),
            service_desk_id: desk.clone(),
        },
        Op::SuspendAccount {
            directory_id: dir.clone(),
        },
        Op::Verify,
    ];
    let job = enqueue(&store, &plan(&subject, offboard), "offboard").await?;
    let detail = drain(&worker, job).await?;
    assert_eq!(
        detail.job.status,
        JobStatus::Succeeded,
        "{:?}",
        detail.job.error
    );
    assert!(!holds(&sim, email, Product::JiraSoftware, "atlassian/user"));
    assert!(!in_group(&sim, email, &group_id));
    assert_eq!(page_roles(&sim, email), None, "off the Statuspage team");
    assert!(!desk_customer(&sim, email, &desk));
    assert_eq!(status(&sim, email), "suspended");
    let bundle = store
        .bundles()
        .latest_for(email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no restore bundle"))?;
    assert_eq!(bundle.bundle.job_id, Some(job));
    let content = bundle.bundle.content.to_string();
    assert!(
        content.contains(&jira) && content.contains(&group_id),
        "{content}"
    );
    assert!(
        content.contains(&rbac_page) && content.contains(&desk),
        "{content}"
    );

    // Restore, then remove and deactivate.
    let job = enqueue(
        &store,
        &plan(
            &subject,
            vec![
                Op::RestoreAccount {
                    directory_id: dir.clone(),
                },
                Op::Verify,
            ],
        ),
        "restore",
    )
    .await?;
    assert_eq!(drain(&worker, job).await?.job.status, JobStatus::Succeeded);
    assert_eq!(status(&sim, email), "active");
    let job = enqueue(
        &store,
        &plan(
            &subject,
            vec![
                Op::RemoveFromDirectory { directory_id: dir },
                Op::DeactivateAccount,
                Op::Verify,
            ],
        ),
        "offboard",
    )
    .await?;
    let detail = drain(&worker, job).await?;
    assert_eq!(
        detail.job.status,
        JobStatus::Succeeded,
        "{:?}",
        detail.job.error
    );
    assert_eq!(status(&sim, email), "deactivated");
    assert_eq!(accounts_with_email(&sim, email), 1);
    audit_ok(&store).await?;
    let entries = store.audit().list(&Default::default()).await?;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.result == "requested")
            .count(),
        4
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.result == "succeeded")
            .count(),
        4
    );
    let last = entries
        .last()
        .map(|e| e.entry.detail.to_string())
        .unwrap_or_default();
    assert!(
        last.contains("lifecycle/disable"),
        "the API calls are in the audit detail: {last}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn every_operation_run_twice_writes_once() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let email = "twice@acme.com";
    let subject = Subject {
        email: email.into(),
        account_id: None,
    };
    // A job for the restore bundle to belong to.
    let job = enqueue(&store, &plan(&subject, vec![Op::Verify]), "grant").await?;
    let mut ctx = context(&client, &store, &target, Some(job));
    let jira = ari(&sim, Product::JiraSoftware);
    let org_ari = sim
        .app()
        .read(|w| format!("ari:cloud:platform::org/{}", w.org.id));
    let (group_id, group_name) = plain_group(&sim);
    let (page, _) = pages(&sim);
    let (site, desk) = closed_desk(&sim);
    let dir = directory(&sim);
    let grant = vec![
        Op::InviteAccount,
        Op::GrantRole {
            resource: jira.clone(),
            role: "atlassian/user".into(),
        },
        Op::GrantRole {
            resource: org_ari.clone(),
            role: "atlassian/org-admin".into(),
        },
        Op::RevokeRole {
            resource: org_ari,
            role: "atlassian/org-admin".into(),
        },
        Op::AddToGroup {
            group_id: group_id.clone(),
            group_name: group_name.clone(),
        },
        Op::AddStatuspageMember,
        Op::SetStatuspagePage {
            page_id: page.clone(),
            page_configuration: false,
            incident_manager: true,
            maintenance_manager: false,
        },
        Op::AddJsmCustomer {
            site: site.clone(),
            service_desk_id: desk.clone(),
        },
    ];
    let revoke = vec![
        Op::SaveRestoreBundle,
        Op::RevokeRole {
            resource: jira,
            role: "atlassian/user".into(),
        },
        Op::RemoveFromGroup {
            group_id,
            group_name,
        },
        Op::RemoveStatuspagePage { page_id: page },
        Op::RemoveStatuspageMember,
        Op::RemoveJsmCustomer {
            site,
            service_desk_id: desk,
        },
        Op::SuspendAccount {
            directory_id: dir.clone(),
        },
        Op::RestoreAccount {
            directory_id: dir.clone(),
        },
        Op::RemoveFromDirectory { directory_id: dir },
        Op::DeactivateAccount,
    ];
    for (ops, name) in [(grant, "grant"), (revoke, "revoke")] {
        ctx.plan = ops.clone();
        for op in ops.iter().chain([&Op::Verify]) {
            let first = execute_op(&mut ctx, &subject, op).await;
            let first =
                first.map_err(|e| anyhow::anyhow!("{name}: {} failed: {e}", op.describe()))?;
            let before = applied(&sim, "");
            let again = execute_op(&mut ctx, &subject, op)
                .await
                .map_err(|e| anyhow::anyhow!("{name}: {} again failed: {e}", op.describe()))?;
            assert!(
                !again.changed,
                "{}: the second run changed something: {again:?}",
                op.describe()
            );
            assert_eq!(
                applied(&sim, ""),
                before,
                "{}: the second run wrote to Atlassian ({:?})",
                op.describe(),
                again.calls
            );
            if !matches!(op, Op::Verify) {
                assert!(
                    first.changed,
                    "{}: the first run changed nothing",
                    op.describe()
                );
            }
        }
    }
    assert_eq!(applied(&sim, "/users/invite"), 1);
    assert_eq!(status(&sim, email), "deactivated");

    // Portal-only customers: revoked once.
    let customer = sim.app().read(|w| {
        w.accounts
            .iter()
            .find(|a| {
                a.kind == AccountType::Customer
                    && a.customer_site == Some(0)
                    && a.status == atlassian_sim::state::AccountStatus::Active
                    && a.email.is_some()
            })
            .map(|a| Subject {
                email: a.email.clone().unwrap_or_default(),
                account_id: Some(a.id.clone()),
            })
    });
    let customer =
        customer.ok_or_else(|| anyhow::anyhow!("no portal-only customer in the seed"))?;
    let site = target.sites[0].name.clone();
    let op = Op::RevokePortalOnlyAccess { site };
    let mut cctx = context(&client, &store, &target, None);
    cctx.plan = vec![op.clone()];
    assert!(
        execute_op(&mut cctx, &customer, &op)
            .await
            .map_err(anyhow::Error::from)?
            .changed
    );
    let before = applied(&sim, "");
    assert!(
        !execute_op(&mut cctx, &customer, &op)
            .await
            .map_err(anyhow::Error::from)?
            .changed
    );
    assert_eq!(applied(&sim, ""), before);
    execute_op(&mut cctx, &customer, &Op::Verify)
        .await
        .map_err(anyhow::Error::from)?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn original_experience_grants_through_the_default_group_once() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Original).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let subject = people_without(&sim, Product::Confluence)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("nobody without Confluence"))?;
    let confluence = ari(&sim, Product::Confluence);
    let grant = Op::GrantRole {
        resource: confluence.clone(),
        role: "atlassian/user".into(),
    };
    let revoke = Op::RevokeRole {
        resource: confluence,
        role: "atlassian/user".into(),
    };
    let mut ctx = context(&client, &store, &target, None);
    for op in [grant, revoke] {
        ctx.plan = vec![op.clone()];
        assert!(
            execute_op(&mut ctx, &subject, &op)
                .await
                .map_err(anyhow::Error::from)?
                .changed
        );
        let before = applied(&sim, "");
        assert!(
            !execute_op(&mut ctx, &subject, &op)
                .await
                .map_err(anyhow::Error::from)?
                .changed
        );
        assert_eq!(applied(&sim, ""), before, "{}", op.describe());
        execute_op(&mut ctx, &subject, &Op::Verify)
            .await
            .map_err(anyhow::Error::from)?;
        let held = holds(&sim, &subject.email, Product::Confluence, "atlassian/user");
        assert_eq!(
            held,
            matches!(op, Op::GrantRole { .. }),
            "{}",
            op.describe()
        );
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn without_a_paid_subscription_the_account_is_created_through_jira() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    sim.app().write(|w| w.org.paid = false);
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let email = "unpaid.org@acme.com";
    let subject = Subject {
        email: email.into(),
        account_id: None,
    };
    let mut ctx = context(&client, &store, &target, None);
    ctx.plan = vec![Op::InviteAccount];
    let outcome = execute_op(&mut ctx, &subject, &Op::InviteAccount)
        .await
        .map_err(anyhow::Error::from)?;
    assert!(
        outcome.changed && outcome.account_id.is_some(),
        "{outcome:?}"
    );
    assert!(
        outcome
            .calls
            .iter()
            .any(|c| c.call.starts_with("POST /rest/api/3/user")),
        "{:?}",
        outcome.calls
    );
    assert_eq!(accounts_with_email(&sim, email), 1);
    let before = applied(&sim, "");
    let again = execute_op(&mut ctx, &subject, &Op::InviteAccount)
        .await
        .map_err(anyhow::Error::from)?;
    assert!(!again.changed);
    assert_eq!(applied(&sim, ""), before);
    execute_op(&mut ctx, &subject, &Op::Verify)
        .await
        .map_err(anyhow::Error::from)?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_worker_killed_between_steps_is_resumed_with_exactly_one_invite() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let email = "resumed@acme.com";
    let subject = Subject {
        email: email.into(),
        account_id: None,
    };
    let (group_id, group_name) = plain_group(&sim);
    let ops = vec![
        Op::InviteAccount,
        Op::AddToGroup {
            group_id: group_id.clone(),
            group_name,
        },
        Op::GrantRole {
            resource: ari(&sim, Product::Confluence),
            role: "atlassian/user".into(),
        },
        Op::Verify,
    ];
    let job = enqueue(&store, &plan(&subject, ops), "grant").await?;
    let mut first = worker(&store, &client, &target, "doomed");
    first.lease = Duration::from_millis(800);
    let task = tokio::spawn(async move { first.run_once().await.map(|_| ()) });
    // Kill it as soon as the invite is journaled.
    for _ in 0..500 {
        let d = store.jobs().get(job).await?;
        if d.steps[0].status == StepStatus::Done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    task.abort();
    let _ = task.await;
    let killed = store.jobs().get(job).await?;
    assert_eq!(
        killed.job.status,
        JobStatus::Running,
        "left leased by the dead worker"
    );
    assert_eq!(killed.steps[0].status, StepStatus::Done);

    let second = worker(&store, &client, &target, "survivor");
    let detail = drain(&second, job).await?;
    assert_eq!(
        detail.job.status,
        JobStatus::Succeeded,
        "{:?}",
        detail.job.error
    );
    assert!(detail.job.attempts >= 2, "resumed by a second claim");
    assert_eq!(
        detail.steps[0].attempts, 1,
        "the done invite is not run again"
    );
    assert_eq!(applied(&sim, "/users/invite"), 1, "exactly one invite");
    assert_eq!(accounts_with_email(&sim, email), 1);
    assert!(in_group(&sim, email, &group_id));
    assert!(holds(&sim, email, Product::Confluence, "atlassian/user"));
    audit_ok(&store).await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn answers_lost_after_the_change_was_applied_cause_no_duplicate() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_millis(500))?;
    let (store, _dir) = sqlite().await?;
    let email = "lost.answer@acme.com";
    let subject = Subject {
        email: email.into(),
        account_id: None,
    };
    let (group_id, group_name) = plain_group(&sim);
    control(
        &sim,
        "/faults",
        json!({"family": "org", "method": "POST", "path": "/v2/orgs/{orgId}/users/invite",
               "kind": "timeout_after_apply", "hold_ms": 2000, "count": 1}),
    )
    .await?;
    control(
        &sim,
        "/faults",
        json!({"family": "org", "method": "POST",
               "path": "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships",
               "kind": "reset_after_apply", "count": 1}),
    )
    .await?;
    control(
        &sim,
        "/faults",
        json!({"family": "statuspage", "method": "POST",
               "path": "/organizations/{organization_id}/users",
               "kind": "reset_after_apply", "count": 1}),
    )
    .await?;
    let ops = vec![
        Op::InviteAccount,
        Op::AddToGroup {
            group_id: group_id.clone(),
            group_name,
        },
        Op::AddStatuspageMember,
        Op::Verify,
    ];
    let job = enqueue(&store, &plan(&subject, ops), "grant").await?;
    let detail = drain(&worker(&store, &client, &target, "w"), job).await?;
    assert_eq!(
        detail.job.status,
        JobStatus::Succeeded,
        "{:?}",
        detail.job.error
    );
    assert_eq!(applied(&sim, "/users/invite"), 1, "one invite");
    assert_eq!(accounts_with_email(&sim, email), 1);
    assert!(in_group(&sim, email, &group_id));
    let team_adds = sim.app().read(|w| {
        w.events
            .iter()
            .filter(|e| e.action == "statuspage_user_added")
            .count()
    });
    assert_eq!(team_adds, 1, "added to the Statuspage team once");
    assert!(sim.app().faults().counters().faults_injected >= 3);
    audit_ok(&store).await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn permanent_refusals_fail_the_job_with_a_clear_reason_and_keep_done_steps()
-> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let worker = worker(&store, &client, &target, "w");
    let subject = people_without(&sim, Product::Confluence)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("nobody without Confluence"))?;
    // Confluence is out of seats.
    sim.app().write(|w| {
        if let Some(rx) = w.site_resource(0, Product::Confluence) {
            w.resources[rx as usize].seats = Some(w.seats_used(rx));
        }
    });
    let (group_id, group_name) = plain_group(&sim);
    let ops = vec![
        Op::AddToGroup {
            group_id: group_id.clone(),
            group_name,
        },
        Op::GrantRole {
            resource: ari(&sim, Product::Confluence),
            role: "atlassian/user".into(),
        },
        Op::Verify,
    ];
    let job = enqueue(&store, &plan(&subject, ops), "grant").await?;
    let detail = drain(&worker, job).await?;
    assert_eq!(detail.job.status, JobStatus::Failed);
    let error = detail.job.error.clone().unwrap_or_default();
    assert!(
        error.contains("LICENSE_LIMIT_REACHED") && error.contains("seat"),
        "{error}"
    );
    assert_eq!(detail.job.attempts, 1, "not retried");
    assert_eq!(
        done(&detail),
        [StepStatus::Done, StepStatus::Failed, StepStatus::Pending]
    );
    assert!(
        in_group(&sim, &subject.email, &group_id),
        "the done step stays applied"
    );

    // An IdP-managed account cannot be suspended; an IdP-synced group cannot be joined.
    let synced = sim.app().read(|w| {
        w.accounts
            .iter()
            .enumerate()
            .find(|(i, a)| {
                a.source == ManagementSource::Synced
                    && !a.org_admin
                    && w.composite_status(*i as u32) == "active"
            })
            .and_then(|(_, a)| {
                Some(Subject {
                    email: a.email.clone()?,
                    account_id: Some(a.id.clone()),
                })
            })
    });
    let synced = synced.ok_or_else(|| anyhow::anyhow!("no IdP-managed account in the seed"))?;
    let job = enqueue(
        &store,
        &plan(
            &synced,
            vec![Op::SuspendAccount {
                directory_id: directory(&sim),
            }],
        ),
        "offboard",
    )
    .await?;
    let detail = drain(&worker, job).await?;
    assert_eq!(detail.job.status, JobStatus::Failed);
    let error = detail.job.error.unwrap_or_default();
    assert!(
        error.contains("IDP_MANAGED_ACCOUNT") && error.contains("identity provider"),
        "{error}"
    );
    assert_eq!(status(&sim, &synced.email), "active");

    let (idp_group, idp_name) = synced_group(&sim);
    let mut ctx = context(&client, &store, &target, None);
    let err = execute_op(
        &mut ctx,
        &subject,
        &Op::AddToGroup {
            group_id: idp_group,
            group_name: idp_name,
        },
    )
    .await
    .err();
    assert!(
        matches!(&err, Some(StepError::Permanent { .. }))
            && err
                .as_ref()
                .is_some_and(|e| e.to_string().contains("IDP_SYNCED_GROUP")),
        "{err:?}"
    );
    audit_ok(&store).await?;
    let failed = store
        .audit()
        .list(&Default::default())
        .await?
        .into_iter()
        .filter(|e| e.entry.result == "failed")
        .count();
    assert_eq!(failed, 2, "each failure is audited");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn transient_failures_are_retried_later_then_succeed() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized).await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (store, _dir) = sqlite().await?;
    let subject = people_without(&sim, Product::JiraProductDiscovery)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("nobody without JPD"))?;
    // More 503s than the client retries: the step fails transiently once.
    control(
        &sim,
        "/faults",
        json!({"family": "org", "method": "POST",
               "path": "/v1/orgs/{orgId}/users/{userId}/roles/assign",
               "kind": "status", "status": 503, "count": 3}),
    )
    .await?;
    let ops = vec![
        Op::GrantRole {
            resource: ari(&sim, Product::JiraProductDiscovery),
            role: "atlassian/user".into(),
        },
        Op::Verify,
    ];
    let job = enqueue(&store, &plan(&subject, ops), "grant").await?;
    let w = worker(&store, &client, &target, "w");
    let first = w.run_once().await?.map(|r| r.outcome);
    assert!(
        matches!(first, Some(RunOutcome::RetryLater { .. })),
        "{first:?}"
    );
    let detail = drain(&w, job).await?;
    assert_eq!(
        detail.job.status,
        JobStatus::Succeeded,
        "{:?}",
        detail.job.error
    );
    assert_eq!(detail.job.attempts, 2);
    assert!(holds(
        &sim,
        &subject.email,
        Product::JiraProductDiscovery,
        "atlassian/user"
    ));
    audit_ok(&store).await?;
    sim.shutdown().await;
    Ok(())
}

/// #5's check: several workers on PostgreSQL, 200 jobs, each done exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn three_workers_on_postgres_run_200_jobs_each_once() -> anyhow::Result<()> {
    let Some((store, server, schema)) = postgres("exec_three_workers").await? else {
        return Ok(());
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig {
        mode: Mode::Centralized,
        users: Some(400),
        ..SimConfig::default()
    })
    .await?;
    let target = target(&sim)?;
    let client = client(&target, Duration::from_secs(5))?;
    let (group_id, group_name) = plain_group(&sim);
    let people: Vec<Subject> = people_without(&sim, Product::Statuspage)
        .into_iter()
        .filter(|s| !in_group(&sim, &s.email, &group_id))
        .take(200)
        .collect();
    assert_eq!(people.len(), 200, "the sandbox has 200 people to add");
    let mut jobs = vec![];
    for p in &people {
        let ops = vec![
            Op::AddToGroup {
                group_id: group_id.clone(),
                group_name: group_name.clone(),
            },
            Op::Verify,
        ];
        jobs.push(enqueue(&store, &plan(p, ops), "grant").await?);
    }
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut tasks = vec![];
    for name in ["pg-a", "pg-b", "pg-c"] {
        let w = worker(&store, &client, &target, name);
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move { w.run(shutdown).await }));
    }
    for _ in 0..2400 {
        let mut all = true;
        for job in &jobs {
            all &= store.jobs().get(*job).await?.job.status.is_final();
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    for task in tasks {
        task.await??;
    }
    let mut owners = std::collections::BTreeSet::new();
    for job in &jobs {
        let d = store.jobs().get(*job).await?;
        assert_eq!(d.job.status, JobStatus::Succeeded, "{:?}", d.job.error);
        assert_eq!(d.job.attempts, 1, "claimed once");
        assert!(
            d.steps.iter().all(|s| s.attempts == 1),
            "each step ran once"
        );
        owners.extend(d.job.lease_owner.clone());
    }
    assert_eq!(
        applied(&sim, "/memberships"),
        people.len() as u64,
        "one membership write per job"
    );
    assert!(people.iter().all(|p| in_group(&sim, &p.email, &group_id)));
    assert!(owners.len() > 1, "the workers shared the queue: {owners:?}");
    audit_ok(&store).await?;
    sim.shutdown().await;
    drop_schema(store, &server, &schema).await?;
    Ok(())
}
