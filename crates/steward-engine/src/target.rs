//! The resolved connection settings: where Atlassian is and which credentials to use.
//!
//! The binary builds a [`Target`] from its configuration (file, environment, `*_FILE` secrets);
//! the engine never reads configuration itself, so tests build one straight from a simulator.

use std::time::Duration;

use atlassian_client::Client;
use atlassian_client::config::{RateLimits, RetryPolicy};
use secrecy::SecretString;
use url::Url;

/// Everything needed to talk to one Atlassian organization. Secrets are [`SecretString`]s:
/// `Debug` redacts them.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://api.atlassian.com` (Org API, user management).
    pub api_url: Url,
    /// The organization id (`admin.atlassian.com/o/<org id>/…`).
    pub org_id: String,
    /// The org API key (Bearer).
    pub org_api_key: SecretString,
    /// The integration account's email: owner of the site API tokens, expected to be an
    /// Organization admin.
    pub integration_email: String,
    /// The sites Steward manages.
    pub sites: Vec<SiteTarget>,
    /// Statuspage, when the org uses it.
    pub statuspage: Option<StatuspageTarget>,
}

/// One site (`https://<site>.atlassian.net`), reached with the integration account's API token.
#[derive(Debug, Clone)]
pub struct SiteTarget {
    /// Name Steward uses for the site (e.g. `acme`).
    pub name: String,
    /// The site URL.
    pub url: Url,
    /// The integration account's API token for this site.
    pub api_token: SecretString,
}

/// The Statuspage organization.
#[derive(Debug, Clone)]
pub struct StatuspageTarget {
    /// `https://api.statuspage.io`.
    pub url: Url,
    /// A Statuspage API key.
    pub api_key: SecretString,
    /// The Statuspage organization id.
    pub organization_id: String,
}

/// Why a simulator's ready line makes no [`Target`].
#[cfg(feature = "sandbox")]
#[derive(Debug, thiserror::Error)]
pub enum SandboxTargetError {
    /// A URL in it does not parse.
    #[error("the simulator announced an invalid URL: {0}")]
    Url(#[from] url::ParseError),
    /// It has no site, so no integration account.
    #[error("the simulator has no site (so no integration account)")]
    NoSite,
}

#[cfg(feature = "sandbox")]
impl Target {
    /// Where and how to reach a running simulator, as a configured Steward would: its Org
    /// API, every site with the integration account's token, and its Statuspage. The
    /// integration account is the first site's API-token owner.
    ///
    /// # Errors
    /// [`SandboxTargetError`].
    pub fn from_sim(info: &atlassian_sim::ReadyInfo) -> Result<Target, SandboxTargetError> {
        Ok(Target {
            api_url: Url::parse(&info.admin_base_url)?,
            org_id: info.org_id.clone(),
            org_api_key: SecretString::from(info.admin_api_key.clone()),
            integration_email: info
                .sites
                .first()
                .map(|s| s.email.clone())
                .ok_or(SandboxTargetError::NoSite)?,
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
                .collect::<Result<_, url::ParseError>>()?,
            statuspage: Some(StatuspageTarget {
                url: Url::parse(&info.statuspage.base_url)?,
                api_key: SecretString::from(info.statuspage.api_key.clone()),
                organization_id: info.statuspage.organization_id.clone(),
            }),
        })
    }
}

impl Target {
    /// A client for every API of the target, with the given retry policy and per-attempt
    /// timeout, paced at the client's default rates (Atlassian's documented limits).
    pub fn client(
        &self,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<Client, atlassian_client::Error> {
        self.client_with(retry, timeout, RateLimits::default())
    }

    /// [`client`](Self::client) with other pacing (a support-raised limit, or a simulator in
    /// tests and benchmarks).
    pub fn client_with(
        &self,
        retry: RetryPolicy,
        timeout: Duration,
        rate_limits: RateLimits,
    ) -> Result<Client, atlassian_client::Error> {
        let mut builder = Client::builder()
            .api_url(self.api_url.clone())
            .org_api_key(self.org_api_key.clone())
            .org_id(self.org_id.clone())
            .retry(retry)
            .timeout(timeout)
            .rate_limits(rate_limits);
        for site in &self.sites {
            builder = builder.site(
                site.name.clone(),
                site.url.clone(),
                self.integration_email.clone(),
                site.api_token.clone(),
            );
        }
        if let Some(sp) = &self.statuspage {
            builder = builder.statuspage(
                sp.url.clone(),
                sp.api_key.clone(),
                sp.organization_id.clone(),
            );
        }
        builder.build()
    }
}
