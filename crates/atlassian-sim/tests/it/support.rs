//! Test environment: a simulator on `127.0.0.1:0`, an HTTP client, request builders carrying
//! each family's credentials, and the conformance check.

#![allow(dead_code)]

use atlassian_sim::conformance;
use atlassian_sim::state::World;
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use reqwest::{Method, RequestBuilder};

/// A running simulator and a client for it.
pub struct TestEnv {
    /// The simulator.
    pub sim: SimHandle,
    /// An HTTP client (no credentials by default).
    pub http: reqwest::Client,
}

impl TestEnv {
    /// A small centralized org, seed 42.
    pub async fn start() -> TestEnv {
        TestEnv::start_with(SimConfig::default()).await
    }

    /// A simulator with the given configuration.
    pub async fn start_with(config: SimConfig) -> TestEnv {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = Simulator::spawn(config).await.expect("simulator starts");
        let http = reqwest::Client::builder().build().expect("client builds");
        TestEnv { sim, http }
    }

    /// The org id.
    pub fn org_id(&self) -> String {
        self.sim.info().org_id.clone()
    }

    /// The first site's name.
    pub fn site_name(&self) -> String {
        self.sim.info().sites[0].name.clone()
    }

    /// A request to `https://api.atlassian.com<path>` (e.g. `/admin/v1/orgs`,
    /// `/users/{id}/manage/profile`) with the org API key without scopes.
    pub fn org(&self, method: Method, path: &str) -> RequestBuilder {
        let info = self.sim.info();
        self.http
            .request(method, format!("{}{path}", info.admin_base_url))
            .bearer_auth(&info.admin_api_key)
    }

    /// Like [`TestEnv::org`] with the scoped (read-only) org API key.
    pub fn org_scoped(&self, method: Method, path: &str) -> RequestBuilder {
        let info = self.sim.info();
        self.http
            .request(method, format!("{}{path}", info.admin_base_url))
            .bearer_auth(&info.scoped_admin_api_key)
    }

    /// A request to `https://<site>.atlassian.net<path>` with the integration account's
    /// email and API token (Basic).
    pub fn site(&self, method: Method, site: &str, path: &str) -> RequestBuilder {
        let s = self
            .sim
            .info()
            .sites
            .iter()
            .find(|s| s.name == site)
            .unwrap_or_else(|| panic!("no site {site}"));
        self.http
            .request(method, format!("{}{path}", s.base_url))
            .basic_auth(&s.email, Some(&s.api_token))
    }

    /// A request to `https://api.statuspage.io<path>` (e.g. `/v1/pages`) with the
    /// Statuspage key (`Authorization: OAuth <key>`).
    pub fn statuspage(&self, method: Method, path: &str) -> RequestBuilder {
        let sp = &self.sim.info().statuspage;
        self.http
            .request(method, format!("{}{path}", sp.base_url))
            .header("Authorization", format!("OAuth {}", sp.api_key))
    }

    /// A request to the control API (`path` relative to `control_url`, e.g. `/ground-truth`).
    pub fn control(&self, method: Method, path: &str) -> RequestBuilder {
        let info = self.sim.info();
        self.http
            .request(method, format!("{}{path}", info.control_url))
            .bearer_auth(&info.control_token)
    }

    /// Reads the model directly (for assertions on ground truth).
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        self.sim.app().read(f)
    }

    /// Checks every exchange recorded so far against the official OpenAPI documents, panicking
    /// with the list of violations, then stops the simulator.
    pub async fn finish(self) {
        let exchanges = self.sim.exchanges();
        let violations = conformance::check_all(&exchanges);
        self.sim.shutdown().await;
        assert!(
            violations.is_empty(),
            "{} exchange(s) do not conform to the official spec:\n{}",
            violations.len(),
            violations
                .iter()
                .map(|v| format!("  - {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
