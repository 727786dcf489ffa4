//! `steward serve [--addr 127.0.0.1:8080] [--database-url URL] [--sandbox]`: the HTTP service,
//! with the scheduler (scheduled sync, access-request sweep) and the job workers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use atlassian_sim::{SimConfig, Simulator};
use secrecy::{ExposeSecret, SecretString};
use steward_engine::provision::{Risk, Worker};
use steward_engine::requests::{ApprovalPolicy, PolicyRule};
use steward_engine::sync::owner_id;
use steward_server::bootstrap::{self, Bootstrap};
use steward_server::{AppState, Scheduler, Server, ServerConfig, SyncLauncher, TargetSync};
use steward_store::{Role, Store};

use crate::cli::{Cli, ServeArgs};
use crate::config;

/// The sandbox's demo people: (email, name, role).
const DEMO_PEOPLE: [(&str, &str, Role); 3] = [
    ("admin@sandbox.steward", "Sandbox Admin", Role::Admin),
    (
        "approver@sandbox.steward",
        "Sandbox Approver",
        Role::Approver,
    ),
    (
        "requester@sandbox.steward",
        "Sandbox Requester",
        Role::Requester,
    ),
];

pub async fn run(cli: &Cli, args: &ServeArgs) -> anyhow::Result<u8> {
    // Keep the sandbox (simulator, temporary database) alive while serving.
    let mut _temp_dir = None;
    let mut _sim = None;
    let (database_url, target, service, approvals, database, guard) = if args.sandbox {
        let sim = Simulator::spawn(super::sandbox::sim_config(
            &args.sim,
            SimConfig::default().addr,
        ))
        .await
        .context("cannot start the sandbox")?;
        let target = super::sandbox::target(sim.info())?;
        _sim = Some(sim);
        let url = match &args.database_url {
            Some(url) => url.clone(),
            None => {
                let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
                let url = format!("sqlite://{}", dir.path().join("steward.db").display());
                _temp_dir = Some(dir);
                url
            }
        };
        (
            url,
            Some(target),
            config::ServiceConfig::default(),
            sandbox_policy(),
            config::DatabaseConfig::default(),
            steward_engine::provision::GuardPolicy::default(),
        )
    } else {
        let file = config::file_in_effect(cli.config.as_deref())?;
        let cfg = config::load(file.as_deref())?;
        let url = args
            .database_url
            .clone()
            .unwrap_or_else(|| cfg.database.url.clone());
        let target = match config::target(&cfg) {
            Ok(target) => Some(target),
            Err(e) => {
                eprintln!("note: syncs and job workers are off: {e:#}");
                None
            }
        };
        let guard = cfg.guard.policy()?;
        (url, target, cfg.service, cfg.approvals, cfg.database, guard)
    };
    approvals
        .validate()
        .context("invalid [approvals] configuration")?;
    let mut scheduler_config = service.scheduler()?;
    scheduler_config.keep_sync_runs = database.keep_sync_runs()?;
    let launcher: Option<Arc<dyn SyncLauncher>> = target
        .clone()
        .map(|t| Arc::new(TargetSync(t)) as Arc<dyn SyncLauncher>);
    let store = Store::open(&database_url)
        .await
        .context("cannot open the database")?;
    let mut server_config = ServerConfig::default();
    service.apply_auth(&mut server_config.auth)?;
    // The cookie is Secure unless browsers reach us over plain http on loopback; anywhere else
    // a TLS-terminating proxy is expected in front.
    server_config.auth.secure_cookie = !args.addr.ip().is_loopback();
    server_config.approvals = approvals;
    server_config.integration_email = target.as_ref().map(|t| t.integration_email.clone());
    let state = AppState::new(store.clone(), server_config, launcher.clone())
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;

    if args.sandbox {
        sandbox_setup(&state, &store, launcher.as_deref()).await?;
    } else {
        first_admin(&state, args).await?;
    }

    let server = Server::bind(args.addr, state.clone())
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = server.local_addr()?;

    // The scheduled sync, the access-request sweep and the job workers, until shutdown.
    let worker_lease = service.worker_lease()?;
    let worker = match &target {
        Some(t) => {
            let mut worker = Worker::new(
                store.clone(),
                t.client(steward_engine::sync::sync_retry(), Duration::from_secs(30))
                    .context("cannot build the Atlassian client")?,
                t.clone(),
                String::new(),
            );
            worker.guard = guard;
            if let Some(lease) = worker_lease {
                worker.lease = lease;
            }
            Some(worker)
        }
        None => None,
    };
    let scheduler = Scheduler {
        store: store.clone(),
        config: scheduler_config.clone(),
        sync: launcher,
        workflow: state.workflow(),
        worker,
        owner: owner_id(),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let background = scheduler.spawn(stopped);
    println!(
        "steward serve: listening on http://{addr} (API under /api/v1, OpenAPI at /api/v1/openapi.json); sync every {}s, {} job workers; Ctrl-C stops",
        scheduler_config.sync_interval.as_secs(),
        if target.is_some() {
            scheduler_config.workers
        } else {
            0
        }
    );
    let served = server.run_until(steward_server::shutdown_signal()).await;
    // In-flight requests are done; let running jobs finish, then stop.
    let _ = stop.send(true);
    background.join().await;
    served.context("the server failed")?;
    store.close().await;
    Ok(0)
}

/// The sandbox's policy: low-risk entitlements (JSM customer, JPD contributor, Confluence
/// guest) approve themselves; everything else needs one approver.
fn sandbox_policy() -> ApprovalPolicy {
    ApprovalPolicy {
        rules: vec![PolicyRule {
            entitlements: vec![],
            risk: Some(Risk::Low),
            role: None,
            approvers: vec![],
            approvals: 1,
            auto_approve: true,
        }],
    }
}

/// Creates the first admin when there is none.
async fn first_admin(state: &AppState, args: &ServeArgs) -> anyhow::Result<()> {
    if state.store().accounts().enabled_admins().await? > 0 {
        return Ok(());
    }
    let Some(email) = &args.admin_email else {
        anyhow::bail!(
            "no console admin exists yet: pass --admin-email EMAIL (the password comes from STEWARD_ADMIN_PASSWORD, --admin-password-file, or is generated and printed once)"
        );
    };
    let password = match (
        &args.admin_password_file,
        std::env::var("STEWARD_ADMIN_PASSWORD"),
    ) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            Some(SecretString::from(
                text.trim_end_matches(['\n', '\r']).to_owned(),
            ))
        }
        (None, Ok(p)) if !p.is_empty() => Some(SecretString::from(p)),
        (None, _) => None,
    };
    match bootstrap::ensure_admin(state, email, password)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first admin: {}", e.message))?
    {
        Bootstrap::AdminExists => {}
        Bootstrap::Created { user, generated } => match generated {
            Some(p) => println!(
                "created the first admin {} with password {} (shown once: sign in and keep it safe)",
                user.email,
                p.expose_secret()
            ),
            None => println!("created the first admin {}", user.email),
        },
    }
    Ok(())
}

/// Syncs the sandbox once and creates its demo people, printing their credentials.
async fn sandbox_setup(
    state: &AppState,
    store: &Store,
    launcher: Option<&dyn SyncLauncher>,
) -> anyhow::Result<()> {
    if let Some(launcher) = launcher {
        // The scheduler's first slot counts this sync as its own: no second sync at start.
        let report = steward_server::metrics::timed_sync(launcher, store.clone(), "startup").await;
        if let Some(error) = &report.error {
            eprintln!("note: the sandbox's first sync failed: {error}");
        }
    }
    let existing = state.store().accounts().users().await?;
    for (email, name, role) in DEMO_PEOPLE {
        if existing.iter().any(|u| u.email == email) {
            println!("demo {role}: {email} (exists; password unchanged)");
            continue;
        }
        let password = SecretString::from(steward_server::auth::random_token(12));
        bootstrap::create_user(state, email, name, role, &password)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the demo {role}: {}", e.message))?;
        println!("demo {role}: {email} password {}", password.expose_secret());
    }
    Ok(())
}
