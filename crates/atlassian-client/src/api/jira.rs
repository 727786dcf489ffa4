//! Jira Cloud platform REST v3 (`https://<site>.atlassian.net/rest/api/3`) of one configured
//! site: users, groups and memberships, application roles (product licences), projects and
//! project-role actors.
//!
//! Reached with the site's credential (Basic `email:token` on the site host, or a scoped token
//! through the gateway); user and group writes need a site admin. Errors are Jira's
//! `ErrorCollection`: the messages become [`Error`]'s message and field errors its details.
//!
//! Lists stream every item across pages: `startAt` advances by the items actually received,
//! `PageBean`s stop at `isLast`, and the bare arrays of `users/search` stop at the first page
//! that is not full (see [`page_is_full`]).
//!
//! ```no_run
//! # async fn demo(client: atlassian_client::Client) -> Result<(), atlassian_client::Error> {
//! use futures::TryStreamExt;
//! use atlassian_client::models::ProductKey;
//! let jira = client.jira("acme")?;
//! let everyone: Vec<_> = jira.users().try_collect().await?;
//! let user = jira.create_user("new.hire@acme.com", &[ProductKey::JiraSoftware]).await?;
//! let groups: Vec<_> = jira.user_groups(&user.account_id).await?;
//! # let _ = (everyone, groups); Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;

use crate::client::{Call, SiteProduct, segment};
use crate::error::Result;
use crate::family::{Family, Scope};
use crate::models::ProductKey;
use crate::models::jira::{
    ApplicationRole, Group, GroupFilter, GroupName, GroupUser, NewGroup, NewUser, PageBean,
    Project, ProjectFilter, ProjectRole, ProjectRoleRef, RoleActorRef, RoleActors, User,
};
use crate::page::{Next, PageOf, page_is_full, paginate};
use crate::write::write_once;
use crate::{Client, Error};

/// Largest page of `users/search` and `user/search` (documented: 1000).
pub const USERS_PAGE_MAX: u32 = 1000;
/// Largest page of `group/member` (documented: between 1 and 50).
pub const GROUP_MEMBERS_PAGE_MAX: u32 = 50;
/// Page size asked of `group/bulk` (undocumented maximum; 50 is its default).
pub const GROUPS_PAGE_SIZE: u32 = 50;
/// Page size asked of `user/bulk` (undocumented maximum; 100 is what Jira answers with).
pub const USER_BULK_PAGE_SIZE: u32 = 100;
/// Account ids sent per `user/bulk` request (keeps URLs short).
pub const USER_BULK_IDS_PER_REQUEST: usize = 50;
/// Largest page of `project/search` (documented: 100).
pub const PROJECTS_PAGE_MAX: u32 = 100;

/// Handler of one site's Jira. Get one with [`Client::jira`].
#[derive(Debug, Clone)]
pub struct JiraApi<'a> {
    pub(crate) client: &'a Client,
    pub(crate) site: Arc<str>,
}

impl Client {
    /// Jira REST v3 of the configured site `site` (its name, `acme` for `acme.atlassian.net`).
    /// An unknown site is [`Error::Config`].
    pub fn jira(&self, site: &str) -> Result<JiraApi<'_>> {
        self.site(site)?;
        Ok(JiraApi {
            client: self,
            site: Arc::from(site),
        })
    }
}

/// Where a `startAt` page begins.
fn offset(next: Option<Next>) -> u64 {
    match next {
        Some(Next::Offset(offset)) => offset,
        _ => 0,
    }
}

/// The next page of a `PageBean` that started at `start` and held `received` items: none when
/// `isLast` says so (or, without it, when `total` is reached).
pub(crate) fn bean_next(
    start: u64,
    received: usize,
    is_last: Option<bool>,
    total: Option<u64>,
) -> Option<Next> {
    let end = start + received as u64;
    let more = match (is_last, total) {
        (Some(is_last), _) => !is_last,
        (None, Some(total)) => end < total,
        (None, None) => received > 0,
    };
    more.then_some(Next::Offset(end))
}

fn require(value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{what} is required")));
    }
    Ok(())
}

impl<'a> JiraApi<'a> {
    /// The site this handler addresses.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// A call on the site's `<path>` (`/rest/api/3/…`).
    fn call(&self, method: Method, route: &'static str, path: &str) -> Result<Call> {
        let url = self.client.site_url(&self.site, SiteProduct::Jira, path)?;
        Ok(Call::new(
            Family::Jira,
            Scope::Jira(self.site.to_string()),
            method,
            route,
            url,
        ))
    }

    // ---- users ----------------------------------------------------------------------------------

    /// Every user of the site, active or not, including apps and portal-only customers
    /// (`GET /rest/api/3/users/search`, bare arrays of up to 1000). Read-only.
    pub fn users(&self) -> impl Stream<Item = Result<User>> + 'a {
        self.users_with_page_size(USERS_PAGE_MAX)
    }

    /// [`users`](Self::users) asking for `page_size` users a page (1–1000): for tuning and
    /// tests; the stream is the same.
    pub fn users_with_page_size(&self, page_size: u32) -> impl Stream<Item = Result<User>> + 'a {
        const ROUTE: &str = "/rest/api/3/users/search";
        self.bare_array_pages(ROUTE, page_size.clamp(1, USERS_PAGE_MAX), Vec::new())
    }

    /// Active users whose display name or email starts with `query`, up to the 1000th match
    /// (`GET /rest/api/3/user/search`). Read-only. Emails hidden by privacy settings do not
    /// match.
    pub fn search_users(&self, query: &str) -> impl Stream<Item = Result<User>> + 'a {
        const ROUTE: &str = "/rest/api/3/user/search";
        let query = vec![("query".to_owned(), query.to_owned())];
        self.bare_array_pages(ROUTE, USERS_PAGE_MAX, query)
    }

    /// Pages of an endpoint answering bare arrays with `startAt`/`maxResults`.
    fn bare_array_pages(
        &self,
        route: &'static str,
        page_size: u32,
        query: Vec<(String, String)>,
    ) -> impl Stream<Item = Result<User>> + 'a {
        let this = self.clone();
        let largest = Arc::new(AtomicUsize::new(0));
        paginate(Family::Jira, route, move |next| {
            let this = this.clone();
            let largest = largest.clone();
            let query = query.clone();
            async move {
                let start = offset(next);
                let mut call = this.call(Method::GET, route, route)?;
                for (name, value) in &query {
                    call = call.query(name, value);
                }
                let call = call.query("startAt", start).query("maxResults", page_size);
                let items: Vec<User> = this.client.json(call).await?;
                let largest_seen = largest.fetch_max(items.len(), Ordering::Relaxed);
                let next = page_is_full(items.len(), page_size as usize, largest_seen)
                    .then(|| Next::Offset(start + items.len() as u64));
                Ok(PageOf { items, next })
            }
        })
    }

    /// One user with their groups and application roles expanded
    /// (`GET /rest/api/3/user?accountId=&expand=groups,applicationRoles`). Read-only; 404 when
    /// the account is not a user of the site.
    pub async fn user(&self, account_id: &str) -> Result<User> {
        require(account_id, "an account id")?;
        const ROUTE: &str = "/rest/api/3/user";
        let call = self
            .call(Method::GET, ROUTE, ROUTE)?
            .query("accountId", account_id)
            .query("expand", "groups,applicationRoles");
        self.client.json(call).await
    }

    /// The groups a user belongs to (`GET /rest/api/3/user/groups`). Read-only.
    pub async fn user_groups(&self, account_id: &str) -> Result<Vec<GroupName>> {
        require(account_id, "an account id")?;
        const ROUTE: &str = "/rest/api/3/user/groups";
        let call = self
            .call(Method::GET, ROUTE, ROUTE)?
            .query("accountId", account_id);
        self.client.json(call).await
    }

    /// The users with these account ids (`GET /rest/api/3/user/bulk`, paged; ids are sent
    /// [`USER_BULK_IDS_PER_REQUEST`] at a time). Ids that are not users of the site are left out.
    /// Read-only.
    pub fn users_bulk(&self, account_ids: &[String]) -> impl Stream<Item = Result<User>> + 'a {
        const ROUTE: &str = "/rest/api/3/user/bulk";
        let chunks: Vec<Vec<String>> = account_ids
            .chunks(USER_BULK_IDS_PER_REQUEST)
            .map(<[String]>::to_vec)
            .collect();
        let this = self.clone();
        futures::stream::iter(chunks)
            .map(move |ids| {
                let this = this.clone();
                paginate(Family::Jira, ROUTE, move |next| {
                    let this = this.clone();
                    let ids = ids.clone();
                    async move {
                        let start = offset(next);
                        let mut call = this
                            .call(Method::GET, ROUTE, ROUTE)?
                            .query("startAt", start)
                            .query("maxResults", USER_BULK_PAGE_SIZE);
                        for id in &ids {
                            call = call.query("accountId", id);
                        }
                        let page: PageBean<User> = this.client.json(call).await?;
                        let next = bean_next(start, page.values.len(), page.is_last, page.total);
                        Ok(PageOf {
                            items: page.values,
                            next,
                        })
                    }
                })
            })
            .flatten()
    }

    /// Makes `email` a user of the site with `products` (`POST /rest/api/3/user`, legacy; the
    /// Org API's invite is preferred). `products` is always sent: `[]` means no product access;
    /// valid keys are `jira-software`, `jira-servicedesk`, `jira-product-discovery` and
    /// `jira-core`.
    ///
    /// **May create an Atlassian account** (people without one get an email to set it up). An
    /// existing user with Jira access is returned as is (Jira answers 201); one without Jira
    /// access is a 400, as is a licence limit. Not idempotent, so never applied twice: after an
    /// ambiguous failure the email is looked up ([`search_users`](Self::search_users)); a user
    /// found is returned, and the create is retried only when none is.
    pub async fn create_user(&self, email: &str, products: &[ProductKey]) -> Result<User> {
        const ROUTE: &str = "/rest/api/3/user";
        let email = email.trim();
        require(email, "an email address")?;
        let body = NewUser {
            email_address: email,
            products,
        };
        write_once(
            || async {
                let call = self.call(Method::POST, ROUTE, ROUTE)?.json(&body)?;
                self.client.json::<User>(call).await
            },
            || async {
                match self.find_user_by_email(email).await? {
                    Some(found) => self.user(&found.account_id).await.map(Some),
                    None => Ok(None),
                }
            },
        )
        .await
    }

    /// The active user whose email is `email` (case-insensitive), if user search shows it.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = email.trim();
        require(email, "an email address")?;
        let found = std::pin::pin!(self.search_users(email).try_filter(|u| {
            futures::future::ready(
                u.email_address
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email)),
            )
        }))
        .try_next()
        .await?;
        Ok(found)
    }

    /// Removes a user from the site's Jira (`DELETE /rest/api/3/user?accountId=`, 204): their
    /// Jira product access, Jira groups and project roles go; the Atlassian account stays.
    /// Idempotent in effect. 404 when not a user of the site; 400 when it cannot be removed.
    pub async fn delete_user(&self, account_id: &str) -> Result<()> {
        require(account_id, "an account id")?;
        const ROUTE: &str = "/rest/api/3/user";
        let call = self
            .call(Method::DELETE, ROUTE, ROUTE)?
            .query("accountId", account_id);
        self.client.empty(call).await
    }

    // ---- groups ---------------------------------------------------------------------------------

    /// Every group of the site matching `filter` (`GET /rest/api/3/group/bulk`, `PageBean`).
    /// Read-only.
    pub fn groups(&self, filter: GroupFilter) -> impl Stream<Item = Result<GroupName>> + 'a {
        const ROUTE: &str = "/rest/api/3/group/bulk";
        let this = self.clone();
        let filter = Arc::new(filter);
        paginate(Family::Jira, ROUTE, move |next| {
            let this = this.clone();
            let filter = filter.clone();
            async move {
                let start = offset(next);
                let mut call = this
                    .call(Method::GET, ROUTE, ROUTE)?
                    .query("startAt", start)
                    .query("maxResults", GROUPS_PAGE_SIZE);
                for id in &filter.group_id {
                    call = call.query("groupId", id);
                }
                for name in &filter.group_name {
                    call = call.query("groupName", name);
                }
                let call = call
                    .query_opt("accessType", filter.access_type.as_ref())
                    .query_opt("applicationKey", filter.application_key.as_ref());
                let page: PageBean<GroupName> = this.client.json(call).await?;
                let next = bean_next(start, page.values.len(), page.is_last, page.total);
                Ok(PageOf {
                    items: page.values,
                    next,
                })
            }
        })
    }

    /// Every member of a group, by display name (`GET /rest/api/3/group/member`, 50 a page);
    /// inactive users too when `include_inactive_users`. Read-only.
    pub fn group_members(
        &self,
        group_id: &str,
        include_inactive_users: bool,
    ) -> impl Stream<Item = Result<User>> + 'a {
        const ROUTE: &str = "/rest/api/3/group/member";
        let this = self.clone();
        let group_id = group_id.to_owned();
        paginate(Family::Jira, ROUTE, move |next| {
            let this = this.clone();
            let group_id = group_id.clone();
            async move {
                require(&group_id, "a group id")?;
                let start = offset(next);
                let call = this
                    .call(Method::GET, ROUTE, ROUTE)?
                    .query("groupId", &group_id)
                    .query("includeInactiveUsers", include_inactive_users)
                    .query("startAt", start)
                    .query("maxResults", GROUP_MEMBERS_PAGE_MAX);
                let page: PageBean<User> = this.client.json(call).await?;
                let next = bean_next(start, page.values.len(), page.is_last, page.total);
                Ok(PageOf {
                    items: page.values,
                    next,
                })
            }
        })
    }

    /// Creates a group (`POST /rest/api/3/group`, 201). A name in use is a 400. Not idempotent,
    /// so never applied twice: after an ambiguous failure the name is looked up
    /// ([`groups`](Self::groups)); a group found is returned, and the create is retried only
    /// when none is.
    pub async fn create_group(&self, name: &str) -> Result<Group> {
        const ROUTE: &str = "/rest/api/3/group";
        require(name, "a group name")?;
        write_once(
            || async {
                let call = self
                    .call(Method::POST, ROUTE, ROUTE)?
                    .json(&NewGroup { name })?;
                self.client.json::<Group>(call).await
            },
            || async {
                let filter = GroupFilter {
                    group_name: vec![name.to_owned()],
                    ..GroupFilter::default()
                };
                let found: Vec<GroupName> = self.groups(filter).try_collect().await?;
                Ok(found
                    .into_iter()
                    .find(|g| g.name.eq_ignore_ascii_case(name.trim()))
                    .map(|g| Group {
                        group_id: g.group_id,
                        name: g.name,
                        self_url: g.self_url,
                    }))
            },
        )
        .await
    }

    /// Deletes a group (`DELETE /rest/api/3/group?groupId=`), moving its comment and worklog
    /// restrictions to `swap_group_id` when given. Default, admin and IdP-synced groups are
    /// refused. Idempotent in effect (a deleted group then answers 404).
    pub async fn delete_group(&self, group_id: &str, swap_group_id: Option<&str>) -> Result<()> {
        require(group_id, "a group id")?;
        const ROUTE: &str = "/rest/api/3/group";
        let call = self
            .call(Method::DELETE, ROUTE, ROUTE)?
            .query("groupId", group_id)
            .query_opt("swapGroupId", swap_group_id);
        self.client.empty(call).await
    }

    /// Adds a user to a group (`POST /rest/api/3/group/user?groupId=`, 201 with the group).
    /// Under the original user-management experience, joining a product's default group
    /// grants that product. Idempotent: a member stays a member.
    pub async fn add_user_to_group(&self, group_id: &str, account_id: &str) -> Result<Group> {
        require(group_id, "a group id")?;
        require(account_id, "an account id")?;
        const ROUTE: &str = "/rest/api/3/group/user";
        let call = self
            .call(Method::POST, ROUTE, ROUTE)?
            .query("groupId", group_id)
            .json(&GroupUser { account_id })?
            .idempotent();
        self.client.json(call).await
    }

    /// Removes a user from a group (`DELETE /rest/api/3/group/user?groupId=&accountId=`).
    /// Idempotent.
    pub async fn remove_user_from_group(&self, group_id: &str, account_id: &str) -> Result<()> {
        require(group_id, "a group id")?;
        require(account_id, "an account id")?;
        const ROUTE: &str = "/rest/api/3/group/user";
        let call = self
            .call(Method::DELETE, ROUTE, ROUTE)?
            .query("groupId", group_id)
            .query("accountId", account_id);
        self.client.empty(call).await
    }

    // ---- application roles ------------------------------------------------------------------------

    /// The site's Jira applications and the groups granting each
    /// (`GET /rest/api/3/applicationrole`). Read-only.
    pub async fn application_roles(&self) -> Result<Vec<ApplicationRole>> {
        const ROUTE: &str = "/rest/api/3/applicationrole";
        let call = self.call(Method::GET, ROUTE, ROUTE)?;
        self.client.json(call).await
    }

    /// One application role (`GET /rest/api/3/applicationrole/{key}`). Read-only; 404 for a
    /// product the site does not have.
    pub async fn application_role(&self, key: &ProductKey) -> Result<ApplicationRole> {
        require(key.as_str(), "an application key")?;
        let call = self.call(
            Method::GET,
            "/rest/api/3/applicationrole/{key}",
            &format!("/rest/api/3/applicationrole/{}", segment(key.as_str())),
        )?;
        self.client.json(call).await
    }

    // ---- projects and project roles -----------------------------------------------------------

    /// Every project matching `filter` (`GET /rest/api/3/project/search`, 100 a page).
    /// Read-only.
    pub fn projects(&self, filter: ProjectFilter) -> impl Stream<Item = Result<Project>> + 'a {
        const ROUTE: &str = "/rest/api/3/project/search";
        let this = self.clone();
        let filter = Arc::new(filter);
        paginate(Family::Jira, ROUTE, move |next| {
            let this = this.clone();
            let filter = filter.clone();
            async move {
                let start = offset(next);
                let mut call = this
                    .call(Method::GET, ROUTE, ROUTE)?
                    .query("startAt", start)
                    .query("maxResults", PROJECTS_PAGE_MAX)
                    .query_opt("query", filter.query.as_deref())
                    .query_opt("typeKey", filter.type_key.as_ref());
                for key in &filter.keys {
                    call = call.query("keys", key);
                }
                let page: PageBean<Project> = this.client.json(call).await?;
                let next = bean_next(start, page.values.len(), page.is_last, page.total);
                Ok(PageOf {
                    items: page.values,
                    next,
                })
            }
        })
    }

    /// Every project role defined on the site, without actors (`GET /rest/api/3/role`).
    /// Read-only.
    pub async fn all_project_roles(&self) -> Result<Vec<ProjectRole>> {
        const ROUTE: &str = "/rest/api/3/role";
        let call = self.call(Method::GET, ROUTE, ROUTE)?;
        self.client.json(call).await
    }

    /// The roles of one project, by name (`GET /rest/api/3/project/{projectIdOrKey}/role`).
    /// Read-only.
    pub async fn project_roles(&self, project: &str) -> Result<Vec<ProjectRoleRef>> {
        require(project, "a project id or key")?;
        let call = self.call(
            Method::GET,
            "/rest/api/3/project/{projectIdOrKey}/role",
            &format!("/rest/api/3/project/{}/role", segment(project)),
        )?;
        let map: BTreeMap<String, String> = self.client.json(call).await?;
        Ok(ProjectRoleRef::from_map(map))
    }

    /// One role of a project with its actors
    /// (`GET /rest/api/3/project/{projectIdOrKey}/role/{id}`); inactive users left out when
    /// `exclude_inactive_users`. Read-only.
    pub async fn project_role(
        &self,
        project: &str,
        role_id: u64,
        exclude_inactive_users: bool,
    ) -> Result<ProjectRole> {
        require(project, "a project id or key")?;
        let call = self
            .call(
                Method::GET,
                "/rest/api/3/project/{projectIdOrKey}/role/{id}",
                &format!("/rest/api/3/project/{}/role/{role_id}", segment(project)),
            )?
            .query("excludeInactiveUsers", exclude_inactive_users);
        self.client.json(call).await
    }

    /// Adds users and groups to a project role
    /// (`POST /rest/api/3/project/{projectIdOrKey}/role/{id}`) and returns the role with all its
    /// actors. Jira refuses (400) an actor that already holds the role. Not idempotent, so never
    /// applied twice: after an ambiguous failure the role is read; when every actor holds it the
    /// role is returned, otherwise only the missing actors are sent again.
    pub async fn add_project_role_actors(
        &self,
        project: &str,
        role_id: u64,
        actors: &RoleActors,
    ) -> Result<ProjectRole> {
        require(project, "a project id or key")?;
        if actors.is_empty() {
            return Err(Error::InvalidInput(
                "at least one user or group is required".into(),
            ));
        }
        let path = format!("/rest/api/3/project/{}/role/{role_id}", segment(project));
        let pending = Mutex::new(actors.clone());
        let current = || pending.lock().map(|p| p.clone()).unwrap_or_default();
        write_once(
            || async {
                let call = self
                    .call(
                        Method::POST,
                        "/rest/api/3/project/{projectIdOrKey}/role/{id}",
                        &path,
                    )?
                    .json(&current())?;
                self.client.json::<ProjectRole>(call).await
            },
            || async {
                let role = self.project_role(project, role_id, false).await?;
                let holds_user =
                    |id: &String| role.actors.iter().any(|a| a.account_id() == Some(id));
                let holds_group =
                    |id: &String| role.actors.iter().any(|a| a.group_id() == Some(id));
                let missing = RoleActors {
                    user: actors
                        .user
                        .iter()
                        .filter(|id| !holds_user(id))
                        .cloned()
                        .collect(),
                    group_id: actors
                        .group_id
                        .iter()
                        .filter(|id| !holds_group(id))
                        .cloned()
                        .collect(),
                };
                if missing.is_empty() {
                    return Ok(Some(role));
                }
                if let Ok(mut p) = pending.lock() {
                    *p = missing;
                }
                Ok(None)
            },
        )
        .await
    }

    /// Removes one user or group from a project role
    /// (`DELETE /rest/api/3/project/{projectIdOrKey}/role/{id}?user=|groupId=`, 204).
    /// Idempotent in effect.
    pub async fn remove_project_role_actor(
        &self,
        project: &str,
        role_id: u64,
        actor: &RoleActorRef,
    ) -> Result<()> {
        require(project, "a project id or key")?;
        let call = self.call(
            Method::DELETE,
            "/rest/api/3/project/{projectIdOrKey}/role/{id}",
            &format!("/rest/api/3/project/{}/role/{role_id}", segment(project)),
        )?;
        let call = match actor {
            RoleActorRef::User(id) => {
                require(id, "an account id")?;
                call.query("user", id)
            }
            RoleActorRef::Group(id) => {
                require(id, "a group id")?;
                call.query("groupId", id)
            }
        };
        self.client.empty(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::write::WRITE_ATTEMPTS;
    use reqwest::StatusCode;

    #[test]
    fn page_beans_continue_until_is_last_or_total() {
        assert_eq!(bean_next(0, 50, Some(false), None), Some(Next::Offset(50)));
        assert_eq!(bean_next(50, 20, Some(true), Some(999)), None);
        assert_eq!(bean_next(0, 3, None, Some(8)), Some(Next::Offset(3)));
        assert_eq!(bean_next(6, 2, None, Some(8)), None);
        assert_eq!(bean_next(0, 7, None, None), Some(Next::Offset(7)));
    }

    fn api_error(status: u16) -> Error {
        Error::Api {
            family: Family::Jira,
            method: "POST".into(),
            route: "/x",
            status: StatusCode::from_u16(status).unwrap(),
            code: None,
            message: String::new(),
            retry_after: None,
            details: None,
        }
    }

    #[tokio::test]
    async fn an_ambiguous_write_is_repeated_only_when_it_was_not_applied() {
        // Applied despite the failure: the read's answer, no second write.
        let writes = std::cell::Cell::new(0);
        let out = write_once(
            || async {
                writes.set(writes.get() + 1);
                Err::<u8, _>(api_error(503))
            },
            || async { Ok(Some(7)) },
        )
        .await;
        assert_eq!((out.unwrap(), writes.get()), (7, 1));
        // Not applied: written again, and the second write's answer is returned.
        let writes = std::cell::Cell::new(0);
        let out = write_once(
            || async {
                writes.set(writes.get() + 1);
                if writes.get() == 1 {
                    Err(api_error(502))
                } else {
                    Ok(9u8)
                }
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!((out.unwrap(), writes.get()), (9, 2));
        // A clear refusal is never repeated, and attempts are bounded.
        let writes = std::cell::Cell::new(0);
        let out = write_once(
            || async {
                writes.set(writes.get() + 1);
                Err::<u8, _>(api_error(400))
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!(
            (out.unwrap_err().status(), writes.get()),
            (Some(StatusCode::BAD_REQUEST), 1)
        );
        let writes = std::cell::Cell::new(0);
        let out = write_once(
            || async {
                writes.set(writes.get() + 1);
                Err::<u8, _>(api_error(503))
            },
            || async { Ok(None) },
        )
        .await;
        assert!(out.unwrap_err().is_ambiguous());
        assert_eq!(writes.get(), WRITE_ATTEMPTS);
    }
}
