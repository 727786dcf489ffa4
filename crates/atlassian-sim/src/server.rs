//! Starting the simulator: build or load the world, bind, serve every family on one port, and
//! report the ready line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::error::ApiError;
use crate::family::{API_PREFIX, CONTROL_PREFIX, SITE_PREFIX, STATUSPAGE_PREFIX, classify};
use crate::faults::{FaultConfig, Faults};
use crate::record::{Exchange, Recorder};
use crate::routes::{self, RouteEntry};
use crate::seed::{SeedConfig, SizeProfile};
use crate::state::{Mode, World};

/// How to start a simulator. `Default` is a small centralized org on `127.0.0.1:0`, seed 42, no
/// latency, no faults, recording on.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Seed of the generated org.
    pub seed: u64,
    /// Size profile.
    pub profile: SizeProfile,
    /// Overrides the profile's number of users.
    pub users: Option<usize>,
    /// User-management experience.
    pub mode: Mode,
    /// Latency, jitter, fault profile and recording.
    pub faults: FaultConfig,
    /// Load the world from this file if it exists (else generate and create it), and save
    /// changes back to it.
    pub state_file: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 42,
            profile: SizeProfile::Small,
            users: None,
            mode: Mode::Centralized,
            faults: FaultConfig::default(),
            state_file: None,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but cannot be read or parsed.
    #[error("cannot load simulator state from {path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// One site in the ready line.
#[derive(Debug, Clone, Serialize)]
pub struct SiteInfo {
    /// Site name (`acme` for `acme.atlassian.net`).
    pub name: String,
    /// Cloud id.
    pub cloud_id: String,
    /// URL standing for `https://<name>.atlassian.net`.
    pub base_url: String,
    /// The integration account's email (Basic auth user).
    pub email: String,
    /// The integration account's API token for this site.
    pub api_token: String,
}

/// Statuspage in the ready line.
#[derive(Debug, Clone, Serialize)]
pub struct StatuspageInfo {
    /// URL standing for `https://api.statuspage.io`.
    pub base_url: String,
    /// API key.
    pub api_key: String,
    /// Organization id.
    pub organization_id: String,
}

/// What the simulator prints on stdout (one JSON line) once it is ready.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyInfo {
    /// Org id.
    pub org_id: String,
    /// URL standing for `https://api.atlassian.com`.
    pub admin_base_url: String,
    /// Sites.
    pub sites: Vec<SiteInfo>,
    /// Org API key without scopes.
    pub admin_api_key: String,
    /// Org API key with read scopes only.
    pub scoped_admin_api_key: String,
    /// Statuspage.
    pub statuspage: StatuspageInfo,
    /// Base URL of the control API.
    pub control_url: String,
    /// Bearer token of the control API.
    pub control_token: String,
    /// The integration account id.
    pub integration_account_id: String,
    /// User-management experience.
    pub mode: Mode,
    /// Seed.
    pub seed: u64,
}

/// A running simulator. Dropping it does not stop the server; call [`SimHandle::shutdown`].
pub struct SimHandle {
    info: ReadyInfo,
    addr: SocketAddr,
    app: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    state_file: Option<PathBuf>,
}

/// Entry point.
pub struct Simulator;

impl Simulator {
    /// Builds (or loads) the world, binds `config.addr`, and serves until shut down.
    pub async fn spawn(config: SimConfig) -> Result<SimHandle, SimError> {
        let world = load_or_generate(&config)?;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.addr,
            source,
        })?;
        let app = AppState::new(
            world,
            format!("http://{addr}"),
            Faults::new(config.faults.clone()),
            Recorder::default(),
        );
        let (router, _) = build_router(app.clone());
        let info = ready_info(&app);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let saver = config
            .state_file
            .clone()
            .map(|path| spawn_saver(app.clone(), path));
        let task = tokio::spawn(async move {
            if let Err(err) = server.await {
                tracing::error!(%err, "simulator server stopped");
            }
            if let Some(saver) = saver {
                saver.abort();
            }
        });
        Ok(SimHandle {
            info,
            addr,
            app,
            stop: Some(stop),
            task: Some(task),
            state_file: config.state_file,
        })
    }
}

impl SimHandle {
    /// The ready line's content (URLs and credentials).
    pub fn info(&self) -> &ReadyInfo {
        &self.info
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Direct access to the shared state (tests, benches and the sandbox).
    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// Every exchange recorded so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.app.recorder().snapshot()
    }

    /// Stops serving (in-flight requests finish) and saves the state file, if any.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(path) = &self.state_file
            && let Err(err) = save_state(&self.app, path).await
        {
            tracing::error!(%err, path = %path.display(), "could not save simulator state");
        }
    }
}

fn load_or_generate(config: &SimConfig) -> Result<World, SimError> {
    if let Some(path) = &config.state_file
        && path.exists()
    {
        let bytes = std::fs::read(path).map_err(|e| SimError::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut world: World = serde_json::from_slice(&bytes).map_err(|e| SimError::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        world.reindex();
        return Ok(world);
    }
    Ok(crate::seed::generate(&SeedConfig {
        seed: config.seed,
        profile: config.profile,
        users: config.users,
        mode: config.mode,
    }))
}

async fn save_state(app: &AppState, path: &std::path::Path) -> std::io::Result<()> {
    let bytes = app
        .read(serde_json::to_vec)
        .map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}

fn spawn_saver(app: AppState, path: PathBuf) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Write the initial state at once, so a generated world survives a crash.
        app.write(|_| ());
        loop {
            if app.take_dirty()
                && let Err(err) = save_state(&app, &path).await
            {
                tracing::error!(%err, path = %path.display(), "could not save simulator state");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

fn ready_info(app: &AppState) -> ReadyInfo {
    let base = app.base_url().to_owned();
    app.read(|w| {
        let integration = w.integration_account();
        let email = w.account(integration).email.clone().unwrap_or_default();
        ReadyInfo {
            org_id: w.org.id.clone(),
            admin_base_url: format!("{base}{API_PREFIX}"),
            sites: w
                .sites
                .iter()
                .map(|s| SiteInfo {
                    name: s.name.clone(),
                    cloud_id: s.cloud_id.clone(),
                    base_url: format!("{base}{SITE_PREFIX}/{}", s.name),
                    email: email.clone(),
                    api_token: s.api_token.clone(),
                })
                .collect(),
            admin_api_key: w.credentials.org_api_key.clone(),
            scoped_admin_api_key: w.credentials.scoped_org_api_key.clone(),
            statuspage: StatuspageInfo {
                base_url: format!("{base}{STATUSPAGE_PREFIX}"),
                api_key: w.statuspage.api_key.clone(),
                organization_id: w.statuspage.organization_id.clone(),
            },
            control_url: format!("{base}{CONTROL_PREFIX}"),
            control_token: w.credentials.control_token.clone(),
            integration_account_id: w.account(integration).id.clone(),
            mode: w.mode,
            seed: w.seed,
        }
    })
}

/// Builds the whole router and the list of every registered route.
pub fn build_router(app: AppState) -> (Router, Vec<RouteEntry>) {
    let mut entries = vec![];
    let mut collect = |tables: Vec<routes::Table>| {
        let mut router = Router::new();
        for table in tables {
            let (r, e) = table.finish();
            router = router.merge(r);
            entries.extend(e);
        }
        router
    };
    let org = collect(routes::org::tables());
    let um = collect(routes::um::tables());
    let mut site_tables = routes::jira::tables();
    site_tables.extend(routes::jsm::tables());
    site_tables.extend(routes::confluence::tables());
    let site = collect(site_tables);
    let statuspage = collect(routes::statuspage::tables());
    let control = collect(routes::control::tables());
    let router = Router::new()
        .nest(&format!("{API_PREFIX}/admin"), org)
        .merge(Router::new().nest(API_PREFIX, um))
        .nest(&format!("{SITE_PREFIX}/{{site}}"), site.clone())
        .nest(&format!("{API_PREFIX}/ex/jira/{{cloud_id}}"), site.clone())
        .nest(&format!("{API_PREFIX}/ex/confluence/{{cloud_id}}"), site)
        .nest(&format!("{STATUSPAGE_PREFIX}/v1"), statuspage)
        .nest(CONTROL_PREFIX, control)
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::auth::authenticate,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::extract::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::faults::layer,
        ))
        .with_state(app);
    (router, entries)
}

/// Unknown path or method inside a family: that family's 404 (or 405).
async fn fallback(req: Request) -> Response {
    let Some(route) = classify(req.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let method = req.method().clone();
    let mut err = ApiError::not_found(
        route.family,
        format!("No {method} operation at {}.", route.spec_path),
    );
    if method != Method::GET && method != Method::POST {
        err.status = StatusCode::METHOD_NOT_ALLOWED;
    }
    err.into_response()
}
