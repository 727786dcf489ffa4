//! The Organization admin REST API (`https://api.atlassian.com/admin`), Bearer org API key.
//!
//! [`OrgApi`] (from [`Client::org`]) has one method per operation:
//!
//! | area | operations |
//! |---|---|
//! | orgs, directories, workspaces | [`orgs`](OrgApi::orgs), [`get_org`](OrgApi::get_org), [`directories`](OrgApi::directories), [`workspaces`](OrgApi::workspaces) |
//! | directory users | [`search_users`](OrgApi::search_users) (the main sync read), [`list_users`](OrgApi::list_users) (deprecated), [`user`](OrgApi::user), [`count_users`](OrgApi::count_users), [`user_stats`](OrgApi::user_stats), [`user_role_assignments`](OrgApi::user_role_assignments) |
//! | provisioning | [`invite`](OrgApi::invite), [`assign_role`](OrgApi::assign_role)/[`revoke_role`](OrgApi::revoke_role), [`assign_org_role`](OrgApi::assign_org_role)/[`revoke_org_role`](OrgApi::revoke_org_role), [`suspend_user`](OrgApi::suspend_user), [`restore_user`](OrgApi::restore_user), [`remove_user`](OrgApi::remove_user) |
//! | groups | [`search_groups`](OrgApi::search_groups), [`list_groups`](OrgApi::list_groups) (deprecated), [`group`](OrgApi::group), [`count_groups`](OrgApi::count_groups), [`group_stats`](OrgApi::group_stats), [`create_group`](OrgApi::create_group), [`delete_group`](OrgApi::delete_group), [`group_directory`](OrgApi::group_directory), [`add_member`](OrgApi::add_member)/[`remove_member`](OrgApi::remove_member), [`group_role_assignments`](OrgApi::group_role_assignments), [`assign_group_role`](OrgApi::assign_group_role)/[`revoke_group_role`](OrgApi::revoke_group_role) |
//! | v1 | [`managed_accounts`](OrgApi::managed_accounts), [`last_active_dates`](OrgApi::last_active_dates) |
//! | audit log | [`events`](OrgApi::events), [`events_stream`](OrgApi::events_stream), [`poll_events`](OrgApi::poll_events), [`event`](OrgApi::event), [`event_actions`](OrgApi::event_actions) |
//!
//! Lists are streams of every item across every page; they request the documented maximum
//! page size and never rely on getting it. Where a path takes a `directoryId`,
//! [`ALL_DIRECTORIES`] (`-`) means every directory the key can manage.
//!
//! Writes say whether they are idempotent. Idempotent ones (role grants, suspend, membership
//! changes) are retried by the transport after any retryable failure. Those that are not
//! ([`invite`](OrgApi::invite), [`create_group`](OrgApi::create_group),
//! [`remove_user`](OrgApi::remove_user), [`delete_group`](OrgApi::delete_group)) are never sent
//! twice blindly: after an ambiguous failure (timeout, broken connection, 5xx) the operation
//! reads the directory to learn whether the write happened, and repeats it only if it did not.
//!
//! ```no_run
//! # async fn demo(client: &atlassian_client::Client) -> Result<(), atlassian_client::Error> {
//! use atlassian_client::api::org::{ALL_DIRECTORIES, UserFilter, UserSearch};
//! use atlassian_client::models::org::{UserExpand, UserStatus};
//! use futures::TryStreamExt;
//!
//! let search = UserSearch {
//!     filter: UserFilter { status: vec![UserStatus::Active], ..Default::default() },
//!     expand: vec![UserExpand::ProductAccess, UserExpand::Groups],
//!     ..Default::default()
//! };
//! let users: Vec<_> = client.org().search_users(ALL_DIRECTORIES, &search).try_collect().await?;
//! for user in &users {
//!     let roles: Vec<_> = client
//!         .org()
//!         .user_role_assignments(ALL_DIRECTORIES, &user.account_id, &Default::default())
//!         .try_collect()
//!         .await?;
//!     println!("{} holds roles on {} resources", user.account_id, roles.len());
//! }
//! # Ok(()) }
//! ```

mod events;
mod groups;
mod invite;
mod meta;
mod users;

pub use events::{EventFilter, EventPage, EventStreamFilter};
pub use groups::{GroupFilter, GroupSearch, GroupSort};
pub use invite::InviteRequest;
pub use meta::{DirectoryFilter, WorkspaceField, WorkspaceQuery, WorkspaceSearch, WorkspaceSort};
pub use users::{RoleAssignmentFilter, UserFilter, UserSearch, UserSort};

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::{Call, segment};
use crate::error::Result;
use crate::family::{Family, Scope};
use crate::models::org::Org;
use crate::page::{Next, PageOf, cursor_from_url, paginate, paginate_pages};
use crate::{Client, Error};

/// The `directoryId` that addresses every directory the key can manage.
pub const ALL_DIRECTORIES: &str = "-";

/// Largest page of the v2 lists and searches (`limit` maximum 100).
pub(crate) const V2_MAX_LIMIT: u32 = 100;

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

    /// `/v2/orgs/{orgId}/directories/{directoryId}<rest>` (`rest` already encoded).
    pub(crate) fn dir_path(&self, directory_id: &str, rest: &str) -> Result<String> {
        required("a directory id", directory_id)?;
        Ok(format!(
            "{}/directories/{}{rest}",
            self.org_path("v2")?,
            segment(directory_id)
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
                Ok(page.into_page())
            }
        })
    }

    /// One org by id (`GET /v1/orgs/{orgId}`). Read-only; 404 for an unknown org.
    pub async fn get_org(&self, org_id: &str) -> Result<Org> {
        required("an org id", org_id)?;
        let call = self.call(
            Method::GET,
            "/v1/orgs/{orgId}",
            &format!("/v1/orgs/{}", segment(org_id)),
        )?;
        let body: DataOf<Org> = self.client.json(call).await?;
        Ok(body.data)
    }

    /// Streams a v2 `GET` list paged with opaque cursors: the first page with `query` and the
    /// largest `limit`, later pages with the cursor alone (the spec: "if present, all other
    /// parameters are discarded").
    pub(crate) fn v2_list<T>(
        &self,
        route: &'static str,
        path: Result<String>,
        query: Vec<(String, String)>,
        limit: u32,
    ) -> impl Stream<Item = Result<T>> + 'a
    where
        T: DeserializeOwned + 'a,
    {
        let this = self.clone();
        let mut path = Some(path);
        let mut resolved = String::new();
        paginate(Family::Org, route, move |next| {
            let this = this.clone();
            let query = query.clone();
            // The path is computed once; its error, if any, is the first (and last) item.
            let path = match path.take() {
                Some(Ok(p)) => {
                    resolved = p;
                    Ok(resolved.clone())
                }
                Some(Err(e)) => Err(e),
                None => Ok(resolved.clone()),
            };
            async move {
                let mut call = this.call(Method::GET, route, &path?)?;
                match next {
                    Some(Next::Cursor(cursor)) => call = call.query("cursor", cursor),
                    _ => {
                        for (name, value) in query {
                            call = call.query(&name, value);
                        }
                        call = call.query("limit", limit);
                    }
                }
                let page: V2Page<T> = this.client.json(call).await?;
                Ok(page.into_page())
            }
        })
    }

    /// Streams a v2 `POST` search: the first page with `body` (which carries `limit`), later
    /// pages with `{"cursor": …}` alone. Searches are reads: idempotent.
    pub(crate) fn v2_search<T>(
        &self,
        route: &'static str,
        path: Result<String>,
        body: Result<serde_json::Value>,
    ) -> impl Stream<Item = Result<T>> + 'a
    where
        T: DeserializeOwned + 'a,
    {
        self.v2_search_pages(route, path, body, None)
            .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// [`v2_search`](Self::v2_search) page by page, each page with the cursor of the next;
    /// with `resume`, starts at that cursor (sent alone: it carries the query) instead of
    /// `body`.
    pub(crate) fn v2_search_pages<T>(
        &self,
        route: &'static str,
        path: Result<String>,
        body: Result<serde_json::Value>,
        resume: Option<String>,
    ) -> impl Stream<Item = Result<PageOf<T>>> + 'a
    where
        T: DeserializeOwned + 'a,
    {
        let this = self.clone();
        let mut first = Some(path.and_then(|p| body.map(|b| (p, b))));
        let mut resolved: Option<String> = None;
        paginate_pages(Family::Org, route, resume.map(Next::Cursor), move |next| {
            let this = this.clone();
            let (path, body) = match first.take() {
                Some(Err(e)) => (Err(e), None),
                Some(Ok((path, body))) => {
                    resolved = Some(path.clone());
                    (Ok(path), Some(body))
                }
                None => (
                    resolved.clone().ok_or_else(|| {
                        Error::InvalidInput(format!("{route}: continued before the first page"))
                    }),
                    None,
                ),
            };
            let request = match (path, next, body) {
                (Err(e), _, _) => Err(e),
                (Ok(path), None, Some(body)) => Ok((path, body)),
                (Ok(path), Some(Next::Cursor(cursor)), _) => {
                    Ok((path, serde_json::json!({ "cursor": cursor })))
                }
                (Ok(_), other, _) => Err(Error::InvalidInput(format!(
                    "unexpected continuation {other:?} of {route}"
                ))),
            };
            async move {
                let (path, body) = request?;
                let call = this
                    .call(Method::POST, route, &path)?
                    .json(&body)?
                    .idempotent();
                let page: V2Page<T> = this.client.json(call).await?;
                Ok(page.into_page())
            }
        })
    }
}

/// An `InvalidInput` error unless `value` is non-empty.
pub(crate) fn required(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{what} is required")));
    }
    Ok(())
}

/// An `InvalidInput` error when a list filter holds more than the spec allows.
pub(crate) fn at_most(name: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::InvalidInput(format!(
            "{name} takes at most {max} values, got {len}"
        )));
    }
    Ok(())
}

/// Appends `name=value` once per value (OpenAPI `form` style, exploded: the default for query
/// arrays).
pub(crate) fn push_each<T: ToString>(query: &mut Vec<(String, String)>, name: &str, values: &[T]) {
    query.extend(values.iter().map(|v| (name.to_owned(), v.to_string())));
}

/// `{data: T}`.
#[derive(Debug, Deserialize)]
pub(crate) struct DataOf<T> {
    pub(crate) data: T,
}

/// `{data: [T]}` without paging.
#[derive(Debug, Deserialize)]
pub(crate) struct DataList<T> {
    #[serde(default = "Vec::new")]
    pub(crate) data: Vec<T>,
}

/// A v1 page: `{data:[…], links:{next: <full URL>}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct V1Page<T> {
    #[serde(default = "Vec::new")]
    pub(crate) data: Vec<T>,
    #[serde(default)]
    pub(crate) links: Links,
}

impl<T> V1Page<T> {
    /// The page, continuing at the `cursor` of `links.next`.
    pub(crate) fn into_page(self) -> PageOf<T> {
        let next = self
            .links
            .next
            .as_deref()
            .and_then(cursor_from_url)
            .filter(|c| !c.is_empty())
            .map(Next::Cursor);
        PageOf {
            items: self.data,
            next,
        }
    }
}

/// A v2 page: `{data:[…], links:{self, prev, next}}` with opaque cursors.
#[derive(Debug, Deserialize)]
pub(crate) struct V2Page<T> {
    #[serde(default = "Vec::new")]
    pub(crate) data: Vec<T>,
    #[serde(default)]
    pub(crate) links: Links,
}

impl<T> V2Page<T> {
    /// The page, continuing at `links.next`.
    pub(crate) fn into_page(self) -> PageOf<T> {
        let next = self.links.next.filter(|c| !c.is_empty()).map(Next::Cursor);
        PageOf {
            items: self.data,
            next,
        }
    }
}

/// `links` of a page: `next` is a URL (v1) or an opaque cursor (v2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    pub(crate) next: Option<String>,
}
