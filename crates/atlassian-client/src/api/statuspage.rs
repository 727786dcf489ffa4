//! Statuspage (`https://api.statuspage.io/v1`), `Authorization: OAuth <key>`: pages, the
//! organization's team members, and their page permissions.
//!
//! Statuspage allows **1 request per second per key** (measured over a rolling minute; excess
//! requests get 420 or 429). The client paces the [`Scope::Statuspage`] scope at
//! [`RateLimits::statuspage`](crate::RateLimits::statuspage) (1/s by default), shared by every
//! caller using the same key, and honours `Retry-After` on a 420; so syncing N team members'
//! permissions takes about N seconds.
//!
//! The organization id comes from the client's configuration
//! ([`ClientBuilder::statuspage`](crate::ClientBuilder::statuspage)).
//!
//! ```no_run
//! # async fn demo(client: atlassian_client::Client) -> atlassian_client::Result<()> {
//! use std::collections::BTreeMap;
//! use futures::TryStreamExt;
//! use atlassian_client::models::statuspage::{NewTeamMember, PageChange, PageRoles};
//!
//! let statuspage = client.statuspage()?;
//! let pages = statuspage.pages().await?;
//! let member = statuspage
//!     .create_team_member(&NewTeamMember::new("alex@acme.com", "Alex", "Moreno"))
//!     .await?;
//! let changes = BTreeMap::from([(pages[0].id.clone(), PageChange::Set(PageRoles::all()))]);
//! statuspage.merge_permissions(&member.id, &changes).await?;
//! let team: Vec<_> = statuspage.team_members().try_collect().await?;
//! # let _ = team; Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde_json::json;

use crate::Client;
use crate::client::{Call, segment};
use crate::error::{Error, Result};
use crate::family::{Family, Scope};
use crate::models::statuspage::{
    NewTeamMember, Page, PageChange, PageRoles, TeamMember, UserPermissions,
};
use crate::page::{Next, PageOf, page_is_full, paginate};
use crate::write::write_once;

/// Largest (and default) `per_page` of the team member list (since 2023-02-28).
const PER_PAGE_MAX: u32 = 100;

/// Handler of Statuspage. Get one with [`Client::statuspage`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatuspageApi<'a> {
    client: &'a Client,
    organization_id: String,
    page_size: Option<u32>,
}

impl Client {
    /// Statuspage with the configured key and organization. Fails with [`Error::Config`] when
    /// Statuspage is not configured.
    pub fn statuspage(&self) -> Result<StatuspageApi<'_>> {
        let config = self.statuspage_config()?;
        if config.organization_id.trim().is_empty() {
            return Err(Error::Config(
                "the Statuspage organization id is empty".into(),
            ));
        }
        Ok(StatuspageApi {
            client: self,
            organization_id: config.organization_id.clone(),
            page_size: None,
        })
    }
}

impl<'a> StatuspageApi<'a> {
    /// Asks the team member list for pages of at most `size` members (1 to 100; 100 is the
    /// default). The stream still yields every member; smaller pages only mean more requests,
    /// each costing a second of the key's budget.
    pub fn page_size(mut self, size: u32) -> StatuspageApi<'a> {
        self.page_size = Some(size.clamp(1, PER_PAGE_MAX));
        self
    }

    /// The organization id this handler addresses.
    pub fn organization_id(&self) -> &str {
        &self.organization_id
    }

    fn call(&self, method: Method, route: &'static str, path: &str) -> Result<Call> {
        Ok(Call::new(
            Family::Statuspage,
            Scope::Statuspage,
            method,
            route,
            self.client.statuspage_url(&format!("/v1{path}"))?,
        ))
    }

    fn org_path(&self, rest: &str) -> String {
        format!("/organizations/{}{rest}", segment(&self.organization_id))
    }

    /// Every page of the account (`GET /v1/pages`; one unpaginated list). Read-only.
    pub async fn pages(&self) -> Result<Vec<Page>> {
        let call = self.call(Method::GET, "/v1/pages", "/pages")?;
        self.client.json(call).await
    }

    /// One page (`GET /v1/pages/{page_id}`). A 404 means no such page.
    pub async fn page(&self, page_id: &str) -> Result<Page> {
        require("a page id", page_id)?;
        let call = self.call(
            Method::GET,
            "/v1/pages/{page_id}",
            &format!("/pages/{}", segment(page_id)),
        )?;
        self.client.json(call).await
    }

    /// Every team member (`GET /v1/organizations/{organization_id}/users`, 1-based `page`,
    /// `per_page` 100). The API gives no total, so the stream stops at the first page that is
    /// not full. Read-only.
    pub fn team_members(&self) -> impl Stream<Item = Result<TeamMember>> + use<'a> {
        const ROUTE: &str = "/v1/organizations/{organization_id}/users";
        let this = self.clone();
        let per_page = self.page_size.unwrap_or(PER_PAGE_MAX);
        let largest = Arc::new(AtomicUsize::new(0));
        paginate(Family::Statuspage, ROUTE, move |next| {
            let (this, largest) = (this.clone(), largest.clone());
            async move {
                let page = match next {
                    Some(Next::Page(page)) => page,
                    _ => 1,
                };
                let call = this
                    .call(Method::GET, ROUTE, &this.org_path("/users"))?
                    .query("page", page)
                    .query("per_page", per_page);
                let members: Vec<TeamMember> = this.client.json(call).await?;
                let received = members.len();
                let full =
                    page_is_full(received, per_page as usize, largest.load(Ordering::Acquire));
                largest.fetch_max(received, Ordering::AcqRel);
                Ok(PageOf {
                    items: members,
                    next: full.then_some(Next::Page(page + 1)),
                })
            }
        })
    }

    /// The team member with this email (case-insensitive), if any: Statuspage has no lookup by
    /// email, so this reads the whole team. Read-only.
    pub async fn find_team_member_by_email(&self, email: &str) -> Result<Option<TeamMember>> {
        require("an email", email)?;
        let wanted = email.trim().to_lowercase();
        let matching = self.team_members().try_filter(|m| {
            let hit = m.email.trim().to_lowercase() == wanted;
            async move { hit }
        });
        std::pin::pin!(matching).try_next().await
    }

    /// Adds a team member (`POST /v1/organizations/{organization_id}/users`, JSON body
    /// `{"user":{email, first_name, last_name}}`) and returns it. With Atlassian accounts this
    /// invites the person and gives them Statuspage access; page permissions are set
    /// separately. An email already on the team is refused (422).
    ///
    /// Not idempotent. After an ambiguous failure (timeout, broken connection, 5xx) it lists
    /// the team and returns the member with that email when present, re-sending the create (at
    /// most 3 attempts in all) only when absent, so a member is never created twice.
    pub async fn create_team_member(&self, member: &NewTeamMember) -> Result<TeamMember> {
        require("an email", &member.email)?;
        const ROUTE: &str = "/v1/organizations/{organization_id}/users";
        let path = self.org_path("/users");
        let body = json!({ "user": member });
        write_once(
            || async {
                let call = self.call(Method::POST, ROUTE, &path)?.json(&body)?;
                self.client.json::<TeamMember>(call).await
            },
            || self.find_team_member_by_email(&member.email),
        )
        .await
    }

    /// Removes a team member (`DELETE /v1/organizations/{organization_id}/users/{user_id}`)
    /// and returns the member as it was. Statuspage refuses (403) while a group still grants
    /// the person access. Idempotent in effect; a 404 means no such member (also when an
    /// earlier attempt whose answer was lost removed it).
    pub async fn delete_team_member(&self, user_id: &str) -> Result<TeamMember> {
        require("a user id", user_id)?;
        let call = self.call(
            Method::DELETE,
            "/v1/organizations/{organization_id}/users/{user_id}",
            &self.org_path(&format!("/users/{}", segment(user_id))),
        )?;
        self.client.json(call).await
    }

    /// A team member's page permissions
    /// (`GET /v1/organizations/{organization_id}/permissions/{user_id}`). Read-only.
    pub async fn permissions(&self, user_id: &str) -> Result<UserPermissions> {
        require("a user id", user_id)?;
        let call = self.call(
            Method::GET,
            "/v1/organizations/{organization_id}/permissions/{user_id}",
            &self.org_path(&format!("/permissions/{}", segment(user_id))),
        )?;
        self.client.json(call).await
    }

    /// **Replaces** a team member's page permissions with `pages`
    /// (`PUT /v1/organizations/{organization_id}/permissions/{user_id}`): the member loses
    /// access to every page left out. Use [`PageRoles::access`] (`{}`) for pages without
    /// role-based access control. Idempotent. To change some pages and keep the others, use
    /// [`Self::merge_permissions`].
    pub async fn set_permissions(
        &self,
        user_id: &str,
        pages: &BTreeMap<String, PageRoles>,
    ) -> Result<UserPermissions> {
        require("a user id", user_id)?;
        let call = self
            .call(
                Method::PUT,
                "/v1/organizations/{organization_id}/permissions/{user_id}",
                &self.org_path(&format!("/permissions/{}", segment(user_id))),
            )?
            .json(&json!({ "pages": pages }))?;
        self.client.json(call).await
    }

    /// Changes some of a team member's page permissions and keeps the rest: reads the current
    /// set ([`Self::permissions`]), applies `changes` (per page id: [`PageChange::Set`] gives
    /// access with exactly those roles, [`PageChange::Remove`] takes access away), and writes
    /// the whole merged set back with [`Self::set_permissions`]. Returns the permissions as
    /// written (or as read, without writing, when the changes change nothing).
    ///
    /// This is a read-modify-write, **not atomic** against other writers: a change another
    /// admin makes between the read and the write is overwritten. Safe to repeat.
    pub async fn merge_permissions(
        &self,
        user_id: &str,
        changes: &BTreeMap<String, PageChange>,
    ) -> Result<UserPermissions> {
        let current = self.permissions(user_id).await?;
        let merged = merge_pages(&current.pages, changes);
        if merged == current.pages {
            return Ok(current);
        }
        self.set_permissions(user_id, &merged).await
    }
}

/// `current` with `changes` applied.
fn merge_pages(
    current: &BTreeMap<String, PageRoles>,
    changes: &BTreeMap<String, PageChange>,
) -> BTreeMap<String, PageRoles> {
    let mut merged = current.clone();
    for (page_id, change) in changes {
        match change {
            PageChange::Set(roles) => {
                merged.insert(page_id.clone(), *roles);
            }
            PageChange::Remove => {
                merged.remove(page_id);
            }
        }
    }
    merged
}

fn require(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::InvalidInput(format!("{what} is required")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_sets_and_removes_only_the_named_pages() {
        let current = BTreeMap::from([
            ("a".to_owned(), PageRoles::new(true, true, true)),
            ("b".to_owned(), PageRoles::access()),
            ("c".to_owned(), PageRoles::new(false, true, false)),
        ]);
        let changes = BTreeMap::from([
            (
                "a".to_owned(),
                PageChange::Set(PageRoles::new(false, true, false)),
            ),
            ("b".to_owned(), PageChange::Remove),
            ("d".to_owned(), PageChange::Set(PageRoles::access())),
        ]);
        let merged = merge_pages(&current, &changes);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged["a"], PageRoles::new(false, true, false));
        assert!(!merged.contains_key("b"));
        assert_eq!(merged["c"], current["c"], "pages not named are kept");
        assert_eq!(merged["d"], PageRoles::access());
    }
}
