//! The Organization admin REST API (`https://api.atlassian.com/admin`), Bearer org API key.

use futures::Stream;
use reqwest::Method;
use serde::Deserialize;

use crate::client::{Call, segment};
use crate::error::Result;
use crate::family::{Family, Scope};
use crate::models::org::Org;
use crate::page::{Next, PageOf, cursor_from_url, paginate};
use crate::{Client, Error};

/// Handler of the Org API. Get one with [`Client::org`].
#[derive(Debug, Clone)]
pub struct OrgApi<'a> {
    pub(crate) client: &'a Client,
}

impl Client {
    /// The Organization admin API.
    pub fn org(&self) -> OrgApi<'_> {
        OrgApi { client: self }
    }
}

impl<'a> OrgApi<'a> {
    /// A call on `https://api.atlassian.com/admin<path>`.
    pub(crate) fn call(&self, method: Method, route: &'static str, path: &str) -> Result<Call> {
        Ok(Call::new(
            Family::Org,
            Scope::Org,
            method,
            route,
            self.client.api_url(&format!("/admin{path}"))?,
        ))
    }

    /// `/v1/orgs/{orgId}` or `/v2/orgs/{orgId}` with the configured org id.
    pub(crate) fn org_path(&self, version: &str) -> Result<String> {
        Ok(format!(
            "/{version}/orgs/{}",
            segment(self.client.org_id()?)
        ))
    }

    /// Every org the key can see (`GET /v1/orgs`, v1 cursor URLs). Read-only, idempotent.
    pub fn orgs(&self) -> impl Stream<Item = Result<Org>> + 'a {
        const ROUTE: &str = "/v1/orgs";
        let this = self.clone();
        paginate(Family::Org, ROUTE, move |next| {
            let this = this.clone();
            async move {
                let mut call = this.call(Method::GET, ROUTE, "/v1/orgs")?;
                if let Some(Next::Cursor(cursor)) = next {
                    call = call.query("cursor", cursor);
                }
                let page: V1Page<Org> = this.client.json(call).await?;
                let next = page
                    .links
                    .next
                    .as_deref()
                    .and_then(cursor_from_url)
                    .map(Next::Cursor);
                Ok(PageOf {
                    items: page.data,
                    next,
                })
            }
        })
    }

    /// One org by id (`GET /v1/orgs/{orgId}`).
    pub async fn get_org(&self, org_id: &str) -> Result<Org> {
        if org_id.is_empty() {
            return Err(Error::InvalidInput("an org id is required".into()));
        }
        let call = self.call(
            Method::GET,
            "/v1/orgs/{orgId}",
            &format!("/v1/orgs/{}", segment(org_id)),
        )?;
        let body: DataOf<Org> = self.client.json(call).await?;
        Ok(body.data)
    }
}

/// `{data: T}`.
#[derive(Debug, Deserialize)]
pub(crate) struct DataOf<T> {
    pub(crate) data: T,
}

/// A v1 page: `{data:[…], links:{next: <full URL>}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct V1Page<T> {
    pub(crate) data: Vec<T>,
    #[serde(default)]
    pub(crate) links: Links,
}

/// `links` of a page: `next` is a URL (v1) or an opaque cursor (v2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    pub(crate) next: Option<String>,
}
