//! Jira Service Management (`https://<site>.atlassian.net/rest/servicedeskapi`) of one
//! configured site: portal-only customers, service desks and their customers, and customer
//! organizations (JSM's own, not Atlassian orgs).
//!
//! Same credential and rate-limit scope as the site's Jira. Errors are JSM's `ErrorResponse`:
//! the `i18nErrorMessage.i18nKey` becomes [`Error::code`]. Lists are `PagedDTO`s, streamed
//! 50 a page with `start` advanced by the items received until `isLastPage`.
//!
//! ```no_run
//! # async fn demo(client: atlassian_client::Client) -> Result<(), atlassian_client::Error> {
//! use futures::TryStreamExt;
//! use atlassian_client::models::jsm::CreateCustomerOutcome;
//! let jsm = client.jsm("acme")?;
//! let desks: Vec<_> = jsm.service_desks().try_collect().await?;
//! let account_id = match jsm.create_customer("fred@example.com", "Fred F. User").await? {
//!     CreateCustomerOutcome::Created(customer) => Some(customer.account_id),
//!     CreateCustomerOutcome::AlreadyExists { account_id, .. } => account_id,
//! };
//! if let (Some(desk), Some(id)) = (desks.first(), account_id) {
//!     jsm.add_desk_customers(&desk.id, &[id]).await?;
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

use futures::Stream;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::client::{Call, SiteProduct, segment};
use crate::error::Result;
use crate::family::{Family, Scope};
use crate::models::jsm::{
    AccountIds, CreateCustomerOutcome, Customer, NewCustomer, NewOrganization, Organization,
    OrganizationRef, PagedDto, ServiceDesk,
};
use crate::page::{Next, PageOf, paginate};
use crate::write::write_once;
use crate::{Client, Error};

/// Page size asked of every JSM list (JSM's usual maximum).
pub const JSM_PAGE_SIZE: u32 = 50;
/// The header JSM's experimental operations require.
const EXPERIMENTAL: (&str, &str) = ("X-ExperimentalApi", "opt-in");

/// Handler of one site's Jira Service Management. Get one with [`Client::jsm`].
#[derive(Debug, Clone)]
pub struct JsmApi<'a> {
    pub(crate) client: &'a Client,
    pub(crate) site: Arc<str>,
}

impl Client {
    /// Jira Service Management of the configured site `site`. An unknown site is
    /// [`Error::Config`].
    pub fn jsm(&self, site: &str) -> Result<JsmApi<'_>> {
        self.site(site)?;
        Ok(JsmApi {
            client: self,
            site: Arc::from(site),
        })
    }
}

fn require(value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{what} is required")));
    }
    Ok(())
}

fn require_ids(account_ids: &[String]) -> Result<()> {
    if account_ids.is_empty() || account_ids.iter().any(|id| id.trim().is_empty()) {
        return Err(Error::InvalidInput(
            "at least one account id, and no empty one, is required".into(),
        ));
    }
    Ok(())
}

impl<'a> JsmApi<'a> {
    /// The site this handler addresses.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// A call on the site's `/rest/servicedeskapi<path>`.
    fn call(&self, method: Method, route: &'static str, path: &str) -> Result<Call> {
        let url = self.client.site_url(
            &self.site,
            SiteProduct::Jira,
            &format!("/rest/servicedeskapi{path}"),
        )?;
        Ok(Call::new(
            Family::Jsm,
            Scope::Jira(self.site.to_string()),
            method,
            route,
            url,
        ))
    }

    /// Streams a `PagedDTO` list: `build` makes the call for a page (without `start`/`limit`).
    fn pages<T, B>(&self, route: &'static str, build: B) -> impl Stream<Item = Result<T>> + 'a
    where
        T: DeserializeOwned + 'a,
        B: Fn(&JsmApi<'a>) -> Result<Call> + 'a,
    {
        let this = self.clone();
        let build = Arc::new(build);
        paginate(Family::Jsm, route, move |next| {
            let this = this.clone();
            let build = build.clone();
            async move {
                let start = match next {
                    Some(Next::Offset(offset)) => offset,
                    _ => 0,
                };
                let call = build(&this)?
                    .query("start", start)
                    .query("limit", JSM_PAGE_SIZE);
                let page: PagedDto<T> = this.client.json(call).await?;
                let more = match page.is_last_page {
                    Some(is_last) => !is_last,
                    None => page.links.next.is_some(),
                };
                let next = more.then(|| Next::Offset(start + page.values.len() as u64));
                Ok(PageOf {
                    items: page.values,
                    next,
                })
            }
        })
    }

    // ---- customers ------------------------------------------------------------------------------

    /// Creates a portal-only customer (`POST /rest/servicedeskapi/customer`, sent with
    /// `strictConflictStatusCode=true`). **Creates an account.** An email that already has an
    /// account is not an error: it gives [`CreateCustomerOutcome::AlreadyExists`], with the
    /// existing account id when a user search by email finds it.
    ///
    /// Not idempotent, yet never applied twice: after an ambiguous failure the create is sent
    /// again, and Atlassian's own duplicate check (the 409) refuses it when the first attempt
    /// did create the customer; that case also ends as `AlreadyExists` (the customer then
    /// exists exactly once, whichever attempt made it). At most three attempts.
    pub async fn create_customer(
        &self,
        email: &str,
        display_name: &str,
    ) -> Result<CreateCustomerOutcome> {
        const ROUTE: &str = "/rest/servicedeskapi/customer";
        let email = email.trim();
        require(email, "an email address")?;
        let body = NewCustomer {
            email,
            display_name,
        };
        let mut attempt = 1;
        loop {
            let call = self
                .call(Method::POST, ROUTE, "/customer")?
                .query("strictConflictStatusCode", true)
                .json(&body)?;
            match self.client.json::<Customer>(call).await {
                Ok(customer) => return Ok(CreateCustomerOutcome::Created(customer)),
                Err(err) if err.status() == Some(StatusCode::CONFLICT) => {
                    let account_id = self.existing_account(email).await;
                    return Ok(CreateCustomerOutcome::AlreadyExists {
                        email: email.to_owned(),
                        account_id,
                    });
                }
                Err(err) if err.is_ambiguous() && attempt < crate::write::WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, error = %err, "ambiguous customer create; sending it again under the duplicate check");
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The account id of `email`, best effort (Jira user search; `None` when hidden or failing).
    async fn existing_account(&self, email: &str) -> Option<String> {
        let jira = self.client.jira(&self.site).ok()?;
        match jira.find_user_by_email(email).await {
            Ok(found) => found.map(|u| u.account_id),
            Err(err) => {
                tracing::debug!(error = %err, "could not look up an existing customer");
                None
            }
        }
    }

    /// Revokes a portal-only customer's portal access, deactivating their portal login
    /// (`PUT /rest/servicedeskapi/customer/user/{accountId}/revoke-portal-only-access`, 204;
    /// site admin). The deprovision for portal-only customers. Idempotent. Documented by
    /// Atlassian but absent from the 2025-09 OpenAPI document.
    pub async fn revoke_portal_only_access(&self, account_id: &str) -> Result<()> {
        require(account_id, "an account id")?;
        let call = self.call(
            Method::PUT,
            "/rest/servicedeskapi/customer/user/{accountId}/revoke-portal-only-access",
            &format!(
                "/customer/user/{}/revoke-portal-only-access",
                segment(account_id)
            ),
        )?;
        self.client.empty(call).await
    }

    // ---- service desks --------------------------------------------------------------------------

    /// Every service desk of the site (`GET /rest/servicedeskapi/servicedesk`). Read-only.
    pub fn service_desks(&self) -> impl Stream<Item = Result<ServiceDesk>> + 'a {
        const ROUTE: &str = "/rest/servicedeskapi/servicedesk";
        self.pages(ROUTE, |this| this.call(Method::GET, ROUTE, "/servicedesk"))
    }

    /// One service desk by id or project key
    /// (`GET /rest/servicedeskapi/servicedesk/{serviceDeskId}`). Read-only.
    pub async fn service_desk(&self, service_desk_id: &str) -> Result<ServiceDesk> {
        require(service_desk_id, "a service desk id")?;
        let call = self.call(
            Method::GET,
            "/rest/servicedeskapi/servicedesk/{serviceDeskId}",
            &format!("/servicedesk/{}", segment(service_desk_id)),
        )?;
        self.client.json(call).await
    }

    /// Every customer of a service desk, optionally filtered by name or email
    /// (`GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer`, experimental: sent with
    /// `X-ExperimentalApi: opt-in`). Read-only.
    pub fn desk_customers(
        &self,
        service_desk_id: &str,
        query: Option<&str>,
    ) -> impl Stream<Item = Result<Customer>> + 'a {
        const ROUTE: &str = "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer";
        let desk = service_desk_id.to_owned();
        let query = query.map(str::to_owned);
        self.pages(ROUTE, move |this| {
            require(&desk, "a service desk id")?;
            Ok(this
                .call(
                    Method::GET,
                    ROUTE,
                    &format!("/servicedesk/{}/customer", segment(&desk)),
                )?
                .header(EXPERIMENTAL.0, EXPERIMENTAL.1)
                .query_opt("query", query.as_deref()))
        })
    }

    /// Adds customers to a service desk
    /// (`POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer`, 204). Customers
    /// already there are ignored, so it is idempotent. Adding an Atlassian account gives it
    /// customer access to the site's JSM.
    pub async fn add_desk_customers(
        &self,
        service_desk_id: &str,
        account_ids: &[String],
    ) -> Result<()> {
        require(service_desk_id, "a service desk id")?;
        require_ids(account_ids)?;
        let call = self
            .call(
                Method::POST,
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer",
                &format!("/servicedesk/{}/customer", segment(service_desk_id)),
            )?
            .json(&AccountIds { account_ids })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Removes customers from a service desk
    /// (`DELETE /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer`, 204; experimental,
    /// sent with `X-ExperimentalApi: opt-in`). The desk must have closed access. Idempotent.
    pub async fn remove_desk_customers(
        &self,
        service_desk_id: &str,
        account_ids: &[String],
    ) -> Result<()> {
        require(service_desk_id, "a service desk id")?;
        require_ids(account_ids)?;
        let call = self
            .call(
                Method::DELETE,
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer",
                &format!("/servicedesk/{}/customer", segment(service_desk_id)),
            )?
            .header(EXPERIMENTAL.0, EXPERIMENTAL.1)
            .json(&AccountIds { account_ids })?;
        self.client.empty(call).await
    }

    /// Every organization associated with a service desk, optionally only those `account_id`
    /// belongs to (`GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/organization`).
    /// Read-only.
    pub fn desk_organizations(
        &self,
        service_desk_id: &str,
        account_id: Option<&str>,
    ) -> impl Stream<Item = Result<Organization>> + 'a {
        const ROUTE: &str = "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization";
        let desk = service_desk_id.to_owned();
        let account_id = account_id.map(str::to_owned);
        self.pages(ROUTE, move |this| {
            require(&desk, "a service desk id")?;
            Ok(this
                .call(
                    Method::GET,
                    ROUTE,
                    &format!("/servicedesk/{}/organization", segment(&desk)),
                )?
                .query_opt("accountId", account_id.as_deref()))
        })
    }

    /// Associates an organization with a service desk, so its members become the desk's
    /// customers (`POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/organization`, 204).
    /// Idempotent.
    pub async fn add_desk_organization(
        &self,
        service_desk_id: &str,
        organization_id: u64,
    ) -> Result<()> {
        require(service_desk_id, "a service desk id")?;
        let call = self
            .call(
                Method::POST,
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization",
                &format!("/servicedesk/{}/organization", segment(service_desk_id)),
            )?
            .json(&OrganizationRef { organization_id })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Dissociates an organization from a service desk
    /// (`DELETE /rest/servicedeskapi/servicedesk/{serviceDeskId}/organization`, 204).
    /// Idempotent.
    pub async fn remove_desk_organization(
        &self,
        service_desk_id: &str,
        organization_id: u64,
    ) -> Result<()> {
        require(service_desk_id, "a service desk id")?;
        let call = self
            .call(
                Method::DELETE,
                "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization",
                &format!("/servicedesk/{}/organization", segment(service_desk_id)),
            )?
            .json(&OrganizationRef { organization_id })?;
        self.client.empty(call).await
    }

    // ---- organizations --------------------------------------------------------------------------

    /// Every customer organization of the site, optionally only those `account_id` belongs to
    /// (`GET /rest/servicedeskapi/organization`). Read-only.
    pub fn organizations(
        &self,
        account_id: Option<&str>,
    ) -> impl Stream<Item = Result<Organization>> + 'a {
        const ROUTE: &str = "/rest/servicedeskapi/organization";
        let account_id = account_id.map(str::to_owned);
        self.pages(ROUTE, move |this| {
            Ok(this
                .call(Method::GET, ROUTE, "/organization")?
                .query_opt("accountId", account_id.as_deref()))
        })
    }

    /// Creates a customer organization (`POST /rest/servicedeskapi/organization`, 201). Names
    /// are unique on the site (a taken name is a 400). Not idempotent, so never applied twice:
    /// after an ambiguous failure the organizations are read; one with this name is returned,
    /// and the create is retried only when there is none.
    pub async fn create_organization(&self, name: &str) -> Result<Organization> {
        const ROUTE: &str = "/rest/servicedeskapi/organization";
        require(name, "an organization name")?;
        write_once(
            || async {
                let call = self
                    .call(Method::POST, ROUTE, "/organization")?
                    .json(&NewOrganization { name })?;
                self.client.json::<Organization>(call).await
            },
            || async {
                use futures::TryStreamExt;
                let wanted = name.trim();
                let found = std::pin::pin!(self.organizations(None).try_filter(|o| {
                    futures::future::ready(o.name.trim().eq_ignore_ascii_case(wanted))
                }))
                .try_next()
                .await?;
                Ok(found)
            },
        )
        .await
    }

    /// One organization (`GET /rest/servicedeskapi/organization/{organizationId}`). Read-only.
    pub async fn organization(&self, organization_id: u64) -> Result<Organization> {
        let call = self.call(
            Method::GET,
            "/rest/servicedeskapi/organization/{organizationId}",
            &format!("/organization/{organization_id}"),
        )?;
        self.client.json(call).await
    }

    /// Deletes an organization (`DELETE /rest/servicedeskapi/organization/{organizationId}`,
    /// 204); its members stay customers. Idempotent in effect (then 404).
    pub async fn delete_organization(&self, organization_id: u64) -> Result<()> {
        let call = self.call(
            Method::DELETE,
            "/rest/servicedeskapi/organization/{organizationId}",
            &format!("/organization/{organization_id}"),
        )?;
        self.client.empty(call).await
    }

    /// Every member of an organization
    /// (`GET /rest/servicedeskapi/organization/{organizationId}/user`). Read-only.
    pub fn organization_users(
        &self,
        organization_id: u64,
    ) -> impl Stream<Item = Result<Customer>> + 'a {
        const ROUTE: &str = "/rest/servicedeskapi/organization/{organizationId}/user";
        self.pages(ROUTE, move |this| {
            this.call(
                Method::GET,
                ROUTE,
                &format!("/organization/{organization_id}/user"),
            )
        })
    }

    /// Adds users to an organization
    /// (`POST /rest/servicedeskapi/organization/{organizationId}/user`, 204). Idempotent:
    /// members stay members.
    pub async fn add_organization_users(
        &self,
        organization_id: u64,
        account_ids: &[String],
    ) -> Result<()> {
        require_ids(account_ids)?;
        let call = self
            .call(
                Method::POST,
                "/rest/servicedeskapi/organization/{organizationId}/user",
                &format!("/organization/{organization_id}/user"),
            )?
            .json(&AccountIds { account_ids })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Removes users from an organization
    /// (`DELETE /rest/servicedeskapi/organization/{organizationId}/user`, 204). Idempotent.
    pub async fn remove_organization_users(
        &self,
        organization_id: u64,
        account_ids: &[String],
    ) -> Result<()> {
        require_ids(account_ids)?;
        let call = self
            .call(
                Method::DELETE,
                "/rest/servicedeskapi/organization/{organizationId}/user",
                &format!("/organization/{organization_id}/user"),
            )?
            .json(&AccountIds { account_ids })?;
        self.client.empty(call).await
    }
}
