//! What every handler shares: the store, authentication, the sync launcher, metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use metrics_exporter_prometheus::PrometheusHandle;
use steward_engine::requests::{ApprovalPolicy, Workflow};
use steward_engine::{SyncReport, Target};
use steward_store::Store;

use crate::auth::{
    AuthConfig, Authenticator, BearerTokens, Passwords, SessionCookies, SignInLimiter,
};
use crate::error::ApiError;

/// A boxed sync future.
pub type SyncFuture = Pin<Box<dyn Future<Output = SyncReport> + Send>>;

/// Starts a sync of the configured org into a store (the seam that keeps the HTTP layer
/// independent of how Atlassian is reached; tests and the sandbox plug in their own target).
pub trait SyncLauncher: Send + Sync + std::fmt::Debug {
    /// A future that runs one sync to its end (it takes the store's sync lease itself).
    fn launch(&self, store: Store) -> SyncFuture;

    /// The email of the integration account Steward uses, when known: plans made by the
    /// console protect it from destructive changes.
    fn integration_email(&self) -> Option<String> {
        None
    }
}

/// Syncs a [`Target`] with [`steward_engine::sync::run_all`] (org-level data and products).
#[derive(Debug, Clone)]
pub struct TargetSync(pub Target);

impl SyncLauncher for TargetSync {
    fn launch(&self, store: Store) -> SyncFuture {
        let target = self.0.clone();
        Box::pin(async move { steward_engine::sync::run_all(&target, &store).await })
    }

    fn integration_email(&self) -> Option<String> {
        Some(self.0.integration_email.clone())
    }
}

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Sign-in and sessions.
    pub auth: AuthConfig,
    /// Largest request body accepted, in bytes (default 64 KiB).
    pub body_limit: usize,
    /// Who approves access requests (default: one approver-role approval for everything).
    pub approvals: ApprovalPolicy,
    /// The integration account (the planner's guard rails need it), when configured.
    pub integration_email: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            auth: AuthConfig::default(),
            body_limit: 64 * 1024,
            approvals: ApprovalPolicy::default(),
            integration_email: None,
        }
    }
}

/// The shared state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    config: ServerConfig,
    authenticators: Vec<Arc<dyn Authenticator>>,
    passwords: Passwords,
    sign_in: SignInLimiter,
    sync: Option<Arc<dyn SyncLauncher>>,
    sync_running: Arc<AtomicBool>,
    metrics: PrometheusHandle,
}

impl AppState {
    /// State over `store` with `config`; `sync` starts on-demand syncs (`None`: the service
    /// has no Atlassian connection and `POST /api/v1/sync/runs` says so). Authenticates with
    /// API tokens, then session cookies.
    ///
    /// # Errors
    /// When the password parameters are out of range.
    pub fn new(
        store: Store,
        config: ServerConfig,
        sync: Option<Arc<dyn SyncLauncher>>,
    ) -> Result<Self, ApiError> {
        let passwords = Passwords::new(config.auth.password)?;
        let sign_in = SignInLimiter::new(config.auth.sign_in_per_minute);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                authenticators: vec![Arc::new(BearerTokens), Arc::new(SessionCookies)],
                passwords,
                sign_in,
                sync,
                sync_running: Arc::new(AtomicBool::new(false)),
                metrics: crate::metrics::handle(),
                config,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The authenticators, tried in order.
    pub fn authenticators(&self) -> &[Arc<dyn Authenticator>] {
        &self.inner.authenticators
    }

    /// The access-request workflow over this store, with the configured policy.
    pub fn workflow(&self) -> Workflow {
        Workflow::new(
            self.inner.store.clone(),
            self.inner.config.approvals.clone(),
            self.inner.config.integration_email.clone(),
        )
    }

    /// Password hashing.
    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    pub(crate) fn sign_in_limiter(&self) -> &SignInLimiter {
        &self.inner.sign_in
    }

    pub(crate) fn sync_launcher(&self) -> Option<&Arc<dyn SyncLauncher>> {
        self.inner.sync.as_ref()
    }

    pub(crate) fn sync_running(&self) -> &Arc<AtomicBool> {
        &self.inner.sync_running
    }

    pub(crate) fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }
}
