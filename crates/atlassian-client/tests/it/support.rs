//! A simulator on `127.0.0.1:0` and a client configured from its ready line.

#![allow(dead_code)]

use std::time::Duration;

use atlassian_client::{Client, ClientBuilder, RateLimits, RetryPolicy};
use atlassian_sim::conformance::Specs;
use atlassian_sim::family::Family;
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use secrecy::SecretString;
use url::Url;

/// A running simulator and a client for it.
pub struct TestEnv {
    /// The simulator.
    pub sim: SimHandle,
    /// The client, with every credential of the simulated org.
    pub client: Client,
    /// A plain HTTP client for the control API.
    pub http: reqwest::Client,
}

impl TestEnv {
    /// A small centralized org and a client with fast retries.
    pub async fn start() -> TestEnv {
        TestEnv::start_with(SimConfig::default(), |b| b).await
    }

    /// A simulator with `config`, and a client built from its ready line and then `customize`.
    pub async fn start_with(
        config: SimConfig,
        customize: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> TestEnv {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = Simulator::spawn(config).await.expect("simulator starts");
        let builder = builder_for(&sim).retry(RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(200),
            ..RetryPolicy::default()
        });
        let client = customize(builder).build().expect("client builds");
        TestEnv {
            sim,
            client,
            http: reqwest::Client::new(),
        }
    }

    /// The control API (path relative to `control_url`, e.g. `/faults`).
    pub fn control(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let info = self.sim.info();
        self.http
            .request(method, format!("{}{path}", info.control_url))
            .bearer_auth(&info.control_token)
    }

    /// The first site's name.
    pub fn site(&self) -> String {
        self.sim.info().sites[0].name.clone()
    }

    /// Checks every request the client sent, and every answer it got, against the official
    /// specs (skipping injected faults), then stops the simulator.
    pub async fn finish(self) {
        let exchanges = self.sim.exchanges();
        self.sim.shutdown().await;
        let specs = Specs::load().expect("specs load");
        let mut problems = vec![];
        for exchange in exchanges
            .iter()
            .filter(|e| e.family != Family::Control && !e.fault_injected)
        {
            if let Err(v) = specs.check_request(exchange) {
                problems.push(format!("request: {v}"));
            }
            if let Err(v) = specs.check_response(exchange) {
                problems.push(format!("response: {v}"));
            }
        }
        assert!(
            problems.is_empty(),
            "{} spec violation(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
}

/// A client builder with every credential of the simulator's org.
pub fn builder_for(sim: &SimHandle) -> ClientBuilder {
    let info = sim.info();
    let url = |s: &str| Url::parse(s).expect("simulator URL");
    let mut builder = Client::builder()
        .api_url(url(&info.admin_base_url))
        .org_api_key(SecretString::from(info.admin_api_key.clone()))
        .org_id(info.org_id.clone())
        .statuspage(
            url(&info.statuspage.base_url),
            SecretString::from(info.statuspage.api_key.clone()),
            info.statuspage.organization_id.clone(),
        )
        .rate_limits(RateLimits {
            statuspage: atlassian_client::Rate {
                per_second: 50.0,
                burst: 50,
            },
            ..RateLimits::default()
        });
    for site in &info.sites {
        builder = builder.site(
            &site.name,
            url(&site.base_url),
            &site.email,
            SecretString::from(site.api_token.clone()),
        );
    }
    builder
}
