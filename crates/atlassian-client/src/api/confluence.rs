//! Confluence Cloud on one site (`https://<site>.atlassian.net/wiki`, or the
//! `api.atlassian.com/ex/confluence/<cloudId>` gateway with a scoped token).
//!
//! Two APIs live here. REST v1 (`/wiki/rest/api`, [`Family::ConfluenceV1`]) has the groups,
//! group members, user lookups, the CQL user search and the classic space-permission writes;
//! REST v2 (`/wiki/api/v2`, [`Family::ConfluenceV2`]) has spaces, space-permission reads,
//! bulk user lookups and the email access check and invite. Both share the site's Confluence
//! rate-limit scope ([`Scope::Confluence`]).
//!
//! Paging: v1 lists advance `start` by the items received while `_links.next` is present (the
//! user search, whose `next` is unreliable, also continues while a page is full or `totalSize`
//! says more remain); v2 lists follow the opaque `cursor` of `_links.next` (or the `Link`
//! header). Every list requests the documented maximum page size unless
//! [`ConfluenceApi::page_size`] asks for less.
//!
//! ```no_run
//! # async fn demo(client: atlassian_client::Client) -> atlassian_client::Result<()> {
//! use futures::TryStreamExt;
//! use atlassian_client::models::confluence::{NewSpacePermission, PermissionSubject, SpaceOperation};
//!
//! let confluence = client.confluence("acme")?;
//! let groups: Vec<_> = confluence.groups(None).try_collect().await?;
//! for group in &groups {
//!     let members: Vec<_> = confluence.group_members(&group.id).try_collect().await?;
//!     println!("{}: {} members", group.name, members.len());
//! }
//! let guests = confluence.users_bulk(&["5b10ac8d82e05b22cc7d4ef5"]).await?;
//! confluence
//!     .add_space_permission(
//!         "ENG",
//!         &NewSpacePermission {
//!             subject: PermissionSubject::group(&groups[0].id),
//!             operation: SpaceOperation::read_space(),
//!         },
//!     )
//!     .await?;
//! # let _ = guests; Ok(()) }
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Client;
use crate::client::{Call, SiteProduct, decode, segment};
use crate::error::{Error, Result};
use crate::family::{Family, Scope};
use crate::models::confluence::{
    AccessCheck, Group, GroupAccessType, NewSpacePermission, PrincipalType, Space, SpacePermission,
    SpacePermissionAssignment, SpaceQuery, SpaceRoleMode, SubjectType, User, UserSearch, UserV2,
};
use crate::page::{Next, PageOf, cursor_from_url, page_is_full, paginate};
use crate::write::write_once;

/// Most items of a v1 group, member or membership page (documented default and cap).
const V1_MAX: u32 = 200;
/// Page size of the CQL user search (the largest the API serves).
const SEARCH_MAX: u32 = 1000;
/// Ids per `GET /user/bulk` (the API returns at most 200; 100 keeps the URL short).
const V1_BULK_CHUNK: usize = 100;
/// Most items of a v2 page.
const V2_MAX: u32 = 250;
/// Most account ids per `POST /users-bulk`.
const USERS_BULK_MAX: usize = 250;
/// Most emails per access check or invite.
const EMAILS_MAX: usize = 100;
/// Most ids or keys per spaces filter.
const SPACE_FILTER_MAX: usize = 250;

/// Handler of one site's Confluence. Get one with [`Client::confluence`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ConfluenceApi<'a> {
    client: &'a Client,
    site: String,
    page_size: Option<u32>,
}

impl Client {
    /// Confluence (v1 and v2) on the configured site `site`. Fails with [`Error::Config`] when
    /// no credentials for that site are configured.
    pub fn confluence(&self, site: &str) -> Result<ConfluenceApi<'_>> {
        self.site(site)?;
        Ok(ConfluenceApi {
            client: self,
            site: site.to_owned(),
            page_size: None,
        })
    }
}

/// Whether a v1 list has more pages after this one.
#[derive(Debug, Clone, Copy)]
enum MorePages {
    /// While `_links.next` is present.
    Link,
    /// While `_links.next` is present, the page is full, or `totalSize` says more remain
    /// (the user search, whose `next` is not reliable).
    LinkFullOrTotal,
}

impl<'a> ConfluenceApi<'a> {
    /// Asks list operations for pages of at most `size` items (at least 1, at most each
    /// endpoint's maximum, which is the default). Streams still yield every item; smaller pages
    /// only mean more requests.
    pub fn page_size(mut self, size: u32) -> ConfluenceApi<'a> {
        self.page_size = Some(size.max(1));
        self
    }

    /// The site this handler addresses.
    pub fn site(&self) -> &str {
        &self.site
    }

    fn limit(&self, max: u32) -> u32 {
        self.page_size.map_or(max, |size| size.clamp(1, max))
    }

    fn call(
        &self,
        family: Family,
        method: Method,
        route: &'static str,
        path: &str,
    ) -> Result<Call> {
        let prefix = match family {
            Family::ConfluenceV2 => "/wiki/api/v2",
            _ => "/wiki/rest/api",
        };
        let url = self.client.site_url(
            &self.site,
            SiteProduct::Confluence,
            &format!("{prefix}{path}"),
        )?;
        Ok(Call::new(
            family,
            Scope::Confluence(self.site.clone()),
            method,
            route,
            url,
        ))
    }

    /// A v1 call on `/wiki/rest/api<path>`.
    fn v1(&self, method: Method, route: &'static str, path: &str) -> Result<Call> {
        self.call(Family::ConfluenceV1, method, route, path)
    }

    /// A v2 call on `/wiki/api/v2<path>`.
    fn v2(&self, method: Method, route: &'static str, path: &str) -> Result<Call> {
        self.call(Family::ConfluenceV2, method, route, path)
    }

    /// Streams a v1 `start`/`limit` list.
    fn v1_list<R>(
        &self,
        route: &'static str,
        path: String,
        query: Vec<(String, String)>,
        max: u32,
        more: MorePages,
    ) -> impl Stream<Item = Result<R>> + use<'a, R>
    where
        R: DeserializeOwned + Send + 'static,
    {
        let this = self.clone();
        let limit = self.limit(max);
        let largest = Arc::new(AtomicUsize::new(0));
        paginate(Family::ConfluenceV1, route, move |next| {
            let (this, path, query, largest) =
                (this.clone(), path.clone(), query.clone(), largest.clone());
            async move {
                let start = match next {
                    Some(Next::Offset(offset)) => offset,
                    _ => 0,
                };
                let mut call = this.v1(Method::GET, route, &path)?;
                for (name, value) in &query {
                    call = call.query(name, value);
                }
                let call = call.query("start", start).query("limit", limit);
                let page: V1Page<R> = this.client.json(call).await?;
                let received = page.results.len();
                let has_more = page.links.next.is_some()
                    || match more {
                        MorePages::Link => false,
                        MorePages::LinkFullOrTotal => {
                            page_is_full(received, limit as usize, largest.load(Ordering::Acquire))
                                || page
                                    .total_size
                                    .is_some_and(|total| start + (received as u64) < total)
                        }
                    };
                largest.fetch_max(received, Ordering::AcqRel);
                Ok(PageOf {
                    items: page.results,
                    next: has_more.then_some(Next::Offset(start + received as u64)),
                })
            }
        })
    }

    /// Streams a v2 cursor list (`limit` at most 250; `query` is repeated on every page, as
    /// the cursor belongs to it).
    fn v2_list<R>(
        &self,
        route: &'static str,
        path: String,
        query: Vec<(String, String)>,
    ) -> impl Stream<Item = Result<R>> + use<'a, R>
    where
        R: DeserializeOwned + Send + 'static,
    {
        let this = self.clone();
        let limit = self.limit(V2_MAX);
        paginate(Family::ConfluenceV2, route, move |next| {
            let (this, path, query) = (this.clone(), path.clone(), query.clone());
            async move {
                let mut call = this.v2(Method::GET, route, &path)?;
                for (name, value) in &query {
                    call = call.query(name, value);
                }
                call = call.query("limit", limit);
                if let Some(Next::Cursor(cursor)) = next {
                    call = call.query("cursor", cursor);
                }
                let response = this.client.send(call).await?;
                let page: V2Page<R> = decode(Family::ConfluenceV2, route, &response.body)?;
                let next = page
                    .links
                    .next
                    .or_else(|| link_next(&response.headers))
                    .as_deref()
                    .and_then(cursor_from_url)
                    .map(Next::Cursor);
                Ok(PageOf {
                    items: page.results,
                    next,
                })
            }
        })
    }

    // ---- v1 groups ---------------------------------------------------------------------------

    /// Every group of the site, alphabetical (`GET /wiki/rest/api/group`), optionally only those
    /// granting Confluence user or admin access, or site admin. Read-only.
    pub fn groups(
        &self,
        access_type: Option<GroupAccessType>,
    ) -> impl Stream<Item = Result<Group>> + use<'a> {
        let query = access_type
            .map(|a| vec![("accessType".to_owned(), a.as_str().to_owned())])
            .unwrap_or_default();
        self.v1_list(
            "/wiki/rest/api/group",
            "/group".to_owned(),
            query,
            V1_MAX,
            MorePages::Link,
        )
    }

    /// Creates a group (`POST /wiki/rest/api/group`, site admins only) and returns it.
    ///
    /// Not idempotent: a second create of the same name fails. After an ambiguous failure
    /// (timeout, broken connection, 5xx) it looks the name up with [`Self::find_group_by_name`]
    /// and returns the group found, retrying the create (at most 3 attempts in all) only when
    /// it is absent, so a group is never created twice.
    pub async fn create_group(&self, name: &str) -> Result<Group> {
        if name.trim().is_empty() {
            return Err(Error::InvalidInput("a group name is required".into()));
        }
        write_once(
            || async {
                let call = self
                    .v1(Method::POST, "/wiki/rest/api/group", "/group")?
                    .json(&json!({ "name": name }))?;
                self.client.json::<Group>(call).await
            },
            || self.find_group_by_name(name),
        )
        .await
    }

    /// The group named `name` (exact match first, else case-insensitive), found through the
    /// group picker; `None` when there is none. Read-only.
    pub async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>> {
        let candidates: Vec<Group> = self.group_picker(name).try_collect().await?;
        Ok(candidates
            .iter()
            .find(|g| g.name == name)
            .or_else(|| {
                candidates
                    .iter()
                    .find(|g| g.name.eq_ignore_ascii_case(name))
            })
            .cloned())
    }

    /// One group by id (`GET /wiki/rest/api/group/by-id`). A 404 ([`Error::is_not_found`])
    /// means no such group.
    pub async fn group(&self, group_id: &str) -> Result<Group> {
        require("a group id", group_id)?;
        let call = self
            .v1(Method::GET, "/wiki/rest/api/group/by-id", "/group/by-id")?
            .query("id", group_id);
        self.client.json(call).await
    }

    /// Deletes a group by id (`DELETE /wiki/rest/api/group/by-id`, site admins only).
    /// Idempotent in effect; a 404 means the group does not exist (also when an earlier attempt
    /// whose answer was lost deleted it), which callers ensuring absence may treat as done.
    pub async fn delete_group(&self, group_id: &str) -> Result<()> {
        require("a group id", group_id)?;
        let call = self
            .v1(Method::DELETE, "/wiki/rest/api/group/by-id", "/group/by-id")?
            .query("id", group_id);
        self.client.empty(call).await
    }

    /// Every member of a group, by display name
    /// (`GET /wiki/rest/api/group/{groupId}/membersByGroupId`). Read-only.
    pub fn group_members(&self, group_id: &str) -> impl Stream<Item = Result<User>> + use<'a> {
        self.v1_list(
            "/wiki/rest/api/group/{groupId}/membersByGroupId",
            format!("/group/{}/membersByGroupId", segment(group_id)),
            vec![],
            V1_MAX,
            MorePages::Link,
        )
    }

    /// Adds a user to a group (`POST /wiki/rest/api/group/userByGroupId`, site admins only).
    /// Idempotent: adding a member again changes nothing, so it is retried like a read.
    pub async fn add_member(&self, group_id: &str, account_id: &str) -> Result<()> {
        require("a group id", group_id)?;
        require("an account id", account_id)?;
        let call = self
            .v1(
                Method::POST,
                "/wiki/rest/api/group/userByGroupId",
                "/group/userByGroupId",
            )?
            .query("groupId", group_id)
            .json(&json!({ "accountId": account_id }))?
            .idempotent();
        self.client.empty(call).await
    }

    /// Removes a user from a group (`DELETE /wiki/rest/api/group/userByGroupId`, site admins
    /// only). Idempotent.
    pub async fn remove_member(&self, group_id: &str, account_id: &str) -> Result<()> {
        require("a group id", group_id)?;
        require("an account id", account_id)?;
        let call = self
            .v1(
                Method::DELETE,
                "/wiki/rest/api/group/userByGroupId",
                "/group/userByGroupId",
            )?
            .query("groupId", group_id)
            .query("accountId", account_id);
        self.client.empty(call).await
    }

    /// Groups whose name contains `query` (`GET /wiki/rest/api/group/picker`). Read-only.
    pub fn group_picker(&self, query: &str) -> impl Stream<Item = Result<Group>> + use<'a> {
        self.v1_list(
            "/wiki/rest/api/group/picker",
            "/group/picker".to_owned(),
            vec![("query".to_owned(), query.to_owned())],
            V1_MAX,
            MorePages::Link,
        )
    }

    // ---- v1 users ----------------------------------------------------------------------------

    /// One user (`GET /wiki/rest/api/user`). A 404 means the site does not know the account.
    pub async fn user(&self, account_id: &str) -> Result<User> {
        require("an account id", account_id)?;
        let call = self
            .v1(Method::GET, "/wiki/rest/api/user", "/user")?
            .query("accountId", account_id);
        self.client.json(call).await
    }

    /// The account whose credentials the client uses (`GET /wiki/rest/api/user/current`).
    pub async fn current_user(&self) -> Result<User> {
        let call = self.v1(Method::GET, "/wiki/rest/api/user/current", "/user/current")?;
        self.client.json(call).await
    }

    /// Every group a user belongs to on the site (`GET /wiki/rest/api/user/memberof`).
    /// Read-only.
    pub fn member_of(&self, account_id: &str) -> impl Stream<Item = Result<Group>> + use<'a> {
        self.v1_list(
            "/wiki/rest/api/user/memberof",
            "/user/memberof".to_owned(),
            vec![("accountId".to_owned(), account_id.to_owned())],
            V1_MAX,
            MorePages::Link,
        )
    }

    /// Users by account id through v1 (`GET /wiki/rest/api/user/bulk`, comma-separated ids,
    /// 100 per request), in request order; ids the site does not know are left out.
    /// Read-only. [`Self::users_bulk`] (v2) also gives account status.
    pub async fn users_bulk_v1<S: AsRef<str>>(&self, account_ids: &[S]) -> Result<Vec<User>> {
        let ids = distinct_ids(account_ids)?;
        let mut users = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(V1_BULK_CHUNK) {
            let call = self
                .v1(Method::GET, "/wiki/rest/api/user/bulk", "/user/bulk")?
                .query("accountId", chunk.join(","))
                .query("limit", V1_MAX);
            let page: V1Page<User> = self.client.json(call).await?;
            users.extend(page.results);
        }
        Ok(users)
    }

    /// Every user a CQL user search finds (`GET /wiki/rest/api/search/user`), by display name.
    /// [`UserSearch::default`] (`type=user`) lists licensed users, [`UserSearch::everyone`]
    /// adds guests. There is no other way to list Confluence users. Read-only.
    ///
    /// The API's `_links.next` is unreliable here, so the stream continues while a page is
    /// full, `totalSize` says more remain, or `next` is present, and stops at a short or empty
    /// page. Atlassian may stop serving results past about 10,000 users.
    pub fn search_users(&self, search: &UserSearch) -> impl Stream<Item = Result<User>> + use<'a> {
        let mut query = vec![("cql".to_owned(), search.cql.clone())];
        if let Some(filter) = &search.site_permission_type_filter {
            query.push((
                "sitePermissionTypeFilter".to_owned(),
                filter.as_str().to_owned(),
            ));
        }
        self.v1_list::<SearchResult>(
            "/wiki/rest/api/search/user",
            "/search/user".to_owned(),
            query,
            SEARCH_MAX,
            MorePages::LinkFullOrTotal,
        )
        .try_filter_map(|result| async move { Ok(result.user) })
    }

    // ---- v1 space permissions ----------------------------------------------------------------

    /// Adds a classic space permission (`POST /wiki/rest/api/space/{spaceKey}/permission`;
    /// needs `administer` on the space). Every permission other than `read space` needs the
    /// subject to hold `read space` first. Identify groups by id.
    ///
    /// Not idempotent: adding an existing permission fails (400). After an ambiguous failure it
    /// looks for the permission with [`Self::find_space_permission`] and returns it when found,
    /// retrying (at most 3 attempts) only when it is absent, so it is never added twice.
    pub async fn add_space_permission(
        &self,
        space_key: &str,
        permission: &NewSpacePermission,
    ) -> Result<SpacePermission> {
        require("a space key", space_key)?;
        require("a subject identifier", &permission.subject.identifier)?;
        let path = format!("/space/{}/permission", segment(space_key));
        write_once(
            || async {
                let call = self
                    .v1(
                        Method::POST,
                        "/wiki/rest/api/space/{spaceKey}/permission",
                        &path,
                    )?
                    .json(permission)?;
                self.client.json::<SpacePermission>(call).await
            },
            || self.find_space_permission(space_key, permission),
        )
        .await
    }

    /// The space permission granting `permission.operation` to `permission.subject` directly,
    /// if any (read through v2: the space by key, then its permissions; there is no lookup by
    /// principal). Read-only.
    pub async fn find_space_permission(
        &self,
        space_key: &str,
        permission: &NewSpacePermission,
    ) -> Result<Option<SpacePermission>> {
        let Some(space) = self.space_by_key(space_key).await? else {
            return Ok(None);
        };
        let principal = match permission.subject.kind {
            SubjectType::User => PrincipalType::User,
            SubjectType::Group => PrincipalType::Group,
            SubjectType::Unknown(ref other) => PrincipalType::Unknown(other.clone()),
        };
        let matching = self.space_permissions(&space.id).try_filter(|p| {
            let hit = p.principal.kind == principal
                && p.principal.id == permission.subject.identifier
                && p.operation.key == permission.operation.key
                && p.operation.target_type == permission.operation.target;
            async move { hit }
        });
        let found = std::pin::pin!(matching).try_next().await?;
        Ok(found.and_then(|p| {
            Some(SpacePermission {
                id: p.id.parse().ok()?,
                subject: permission.subject.clone(),
                operation: permission.operation.clone(),
            })
        }))
    }

    /// Removes a classic space permission by id
    /// (`DELETE /wiki/rest/api/space/{spaceKey}/permission/{id}`; needs `administer`).
    /// Idempotent in effect; a 404 means no such permission (also when an earlier attempt
    /// whose answer was lost removed it). Removing the space's last `administer` fails (400).
    pub async fn remove_space_permission(&self, space_key: &str, permission_id: i64) -> Result<()> {
        require("a space key", space_key)?;
        let call = self.v1(
            Method::DELETE,
            "/wiki/rest/api/space/{spaceKey}/permission/{id}",
            &format!("/space/{}/permission/{permission_id}", segment(space_key)),
        )?;
        self.client.empty(call).await
    }

    // ---- v2 ----------------------------------------------------------------------------------

    /// Users by account id (`POST /wiki/api/v2/users-bulk`, 250 ids per request, merged), in
    /// request order, duplicates removed; ids the site does not know are left out. Guests have
    /// `is_external_collaborator`. Read-only (a POST that changes nothing; retried like a read).
    pub async fn users_bulk<S: AsRef<str>>(&self, account_ids: &[S]) -> Result<Vec<UserV2>> {
        let ids = distinct_ids(account_ids)?;
        let mut users = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(USERS_BULK_MAX) {
            let call = self
                .v2(Method::POST, "/wiki/api/v2/users-bulk", "/users-bulk")?
                .json(&json!({ "accountIds": chunk }))?
                .idempotent();
            let page: V2Page<UserV2> = self.client.json(call).await?;
            users.extend(page.results);
        }
        Ok(users)
    }

    /// Every space matching `query` (`GET /wiki/api/v2/spaces`). Read-only. At most 250 ids
    /// and 250 keys per query ([`Error::InvalidInput`] otherwise, yielded by the stream).
    pub fn spaces(&self, query: &SpaceQuery) -> impl Stream<Item = Result<Space>> + use<'a> {
        const ROUTE: &str = "/wiki/api/v2/spaces";
        let too_many = query.ids.len() > SPACE_FILTER_MAX || query.keys.len() > SPACE_FILTER_MAX;
        let mut params: Vec<(String, String)> = vec![];
        params.extend(
            query
                .ids
                .iter()
                .map(|id| ("ids".to_owned(), id.to_string())),
        );
        params.extend(
            query
                .keys
                .iter()
                .map(|key| ("keys".to_owned(), key.clone())),
        );
        for (name, value) in [
            ("type", query.kind.as_ref().map(|v| v.as_str())),
            ("status", query.status.as_ref().map(|v| v.as_str())),
            ("sort", query.sort.as_ref().map(|v| v.as_str())),
        ] {
            if let Some(value) = value {
                params.push((name.to_owned(), value.to_owned()));
            }
        }
        if too_many {
            return futures::future::Either::Left(futures::stream::once(futures::future::ready(
                Err(Error::InvalidInput(format!(
                    "a spaces query takes at most {SPACE_FILTER_MAX} ids and {SPACE_FILTER_MAX} keys"
                ))),
            )));
        }
        futures::future::Either::Right(self.v2_list(ROUTE, "/spaces".to_owned(), params))
    }

    /// One space by id (`GET /wiki/api/v2/spaces/{id}`). A 404 means no such space (or no
    /// permission to see it).
    pub async fn space(&self, space_id: &str) -> Result<Space> {
        require("a space id", space_id)?;
        let call = self.v2(
            Method::GET,
            "/wiki/api/v2/spaces/{id}",
            &format!("/spaces/{}", segment(space_id)),
        )?;
        self.client.json(call).await
    }

    /// The space with key `key`, if the caller can see it (through [`Self::spaces`]).
    pub async fn space_by_key(&self, key: &str) -> Result<Option<Space>> {
        require("a space key", key)?;
        let query = SpaceQuery {
            keys: vec![key.to_owned()],
            ..SpaceQuery::default()
        };
        let matching = self.spaces(&query).try_filter(|s| {
            let hit = s.key == key;
            async move { hit }
        });
        std::pin::pin!(matching).try_next().await
    }

    /// Every classic permission of a space (`GET /wiki/api/v2/spaces/{id}/permissions`, up to
    /// 250 per page). Read-only.
    pub fn space_permissions(
        &self,
        space_id: &str,
    ) -> impl Stream<Item = Result<SpacePermissionAssignment>> + use<'a> {
        self.v2_list(
            "/wiki/api/v2/spaces/{id}/permissions",
            format!("/spaces/{}/permissions", segment(space_id)),
            vec![],
        )
    }

    /// The site's space-permission model (`GET /wiki/api/v2/space-role-mode`); `None` when
    /// the site answers 404 (space roles not supported: classic permissions only).
    pub async fn space_role_mode(&self) -> Result<Option<SpaceRoleMode>> {
        #[derive(Deserialize)]
        struct Mode {
            mode: Option<SpaceRoleMode>,
        }
        let call = self.v2(
            Method::GET,
            "/wiki/api/v2/space-role-mode",
            "/space-role-mode",
        )?;
        match self.client.json::<Mode>(call).await {
            Ok(body) => Ok(body.mode),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Which emails lack access to the site, and which are invalid
    /// (`POST /wiki/api/v2/user/access/check-access-by-email`, 100 emails per request, merged).
    /// Read-only (retried like a read).
    pub async fn check_access_by_email<S: AsRef<str>>(&self, emails: &[S]) -> Result<AccessCheck> {
        let emails = distinct_emails(emails)?;
        let mut out = AccessCheck::default();
        for chunk in emails.chunks(EMAILS_MAX) {
            let call = self
                .v2(
                    Method::POST,
                    "/wiki/api/v2/user/access/check-access-by-email",
                    "/user/access/check-access-by-email",
                )?
                .json(&json!({ "emails": chunk }))?
                .idempotent();
            let answer: AccessCheck = self.client.json(call).await?;
            out.emails_without_access
                .extend(answer.emails_without_access);
            out.invalid_emails.extend(answer.invalid_emails);
        }
        Ok(out)
    }

    /// Invites people to the site's Confluence by email
    /// (`POST /wiki/api/v2/user/access/invite-by-email`, 100 emails per request). Atlassian
    /// processes invites asynchronously and skips invalid emails and people who already have
    /// access; a 503 means the API is disabled on the site.
    ///
    /// Not idempotent (each invite may send an email). After an ambiguous failure it checks
    /// the request's emails with [`Self::check_access_by_email`] and re-sends only those still
    /// without access (at most 3 attempts per request); an invite that Atlassian accepted but
    /// has not processed yet may therefore be sent twice, but never creates two accounts.
    pub async fn invite_by_email<S: AsRef<str>>(&self, emails: &[S]) -> Result<()> {
        let emails = distinct_emails(emails)?;
        for chunk in emails.chunks(EMAILS_MAX) {
            self.invite_chunk(chunk.to_vec()).await?;
        }
        Ok(())
    }

    async fn invite_chunk(&self, mut pending: Vec<String>) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let call = self
                .v2(
                    Method::POST,
                    "/wiki/api/v2/user/access/invite-by-email",
                    "/user/access/invite-by-email",
                )?
                .json(&json!({ "emails": pending }))?;
            let err = match self.client.empty(call).await {
                Ok(()) => return Ok(()),
                Err(err) if err.is_ambiguous() && attempt < crate::write::WRITE_ATTEMPTS => err,
                Err(err) => return Err(err),
            };
            match self.check_access_by_email(&pending).await {
                Ok(check) => {
                    let without: HashSet<String> = check
                        .emails_without_access
                        .iter()
                        .map(|e| e.trim().to_lowercase())
                        .collect();
                    pending.retain(|e| without.contains(&e.trim().to_lowercase()));
                    if pending.is_empty() {
                        return Ok(());
                    }
                    tracing::debug!(error = %err, remaining = pending.len(), "invite-by-email: re-sending the emails still without access");
                }
                Err(check_err) => {
                    tracing::warn!(error = %check_err, "invite-by-email: cannot verify after an ambiguous failure");
                    return Err(err);
                }
            }
        }
    }
}

fn require(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::InvalidInput(format!("{what} is required")))
    } else {
        Ok(())
    }
}

/// Non-empty ids, duplicates removed, order kept.
fn distinct_ids<S: AsRef<str>>(ids: &[S]) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = vec![];
    for id in ids {
        let id = id.as_ref().trim();
        require("every account id", id)?;
        if seen.insert(id.to_owned()) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// Non-empty emails, duplicates (case-insensitive) removed, order kept.
fn distinct_emails<S: AsRef<str>>(emails: &[S]) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = vec![];
    for email in emails {
        let email = email.as_ref().trim();
        require("every email", email)?;
        if seen.insert(email.to_lowercase()) {
            out.push(email.to_owned());
        }
    }
    Ok(out)
}

/// The `rel="next"` target of a `Link` header, if any. URLs may contain commas, so entries are
/// found by their `<…>` brackets.
fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
            let params = &after[close + 1..params_end];
            let is_next = params.split(';').any(|p| {
                let p = p.trim().trim_end_matches(',').replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return Some(target.to_owned());
            }
            rest = &after[params_end..];
        }
    }
    None
}

/// A v1 page: `{results, start, limit, size, totalSize?, _links:{next?}}`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct V1Page<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(default, rename = "totalSize")]
    total_size: Option<u64>,
    #[serde(default, rename = "_links")]
    links: Links,
}

/// A v2 page: `{results, _links:{next?, base}}`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct V2Page<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(default, rename = "_links")]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

/// One CQL search hit; user searches carry the user.
#[derive(Debug, Deserialize)]
struct SearchResult {
    #[serde(default)]
    user: Option<User>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn link_headers_give_their_next_target_even_with_commas() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "</wiki/api/v2/spaces?ids=1,2&limit=1&cursor=abc>; rel=\"next\", <https://x/wiki>; rel=\"base\"",
            ),
        );
        assert_eq!(
            link_next(&headers).as_deref(),
            Some("/wiki/api/v2/spaces?ids=1,2&limit=1&cursor=abc")
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://x/wiki>; rel=\"base\""),
        );
        assert_eq!(link_next(&headers), None);
    }

    #[test]
    fn ids_and_emails_are_deduplicated_in_order() {
        assert_eq!(distinct_ids(&["b", "a", "b"]).unwrap(), vec!["b", "a"]);
        assert!(distinct_ids(&["a", " "]).is_err());
        assert_eq!(
            distinct_emails(&["A@x.io", "a@x.io", "b@x.io"]).unwrap(),
            vec!["A@x.io", "b@x.io"]
        );
    }
}
