//! The reads of the org-level slice and their translation into store rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use atlassian_client::Client;
use atlassian_client::api::org::{
    ALL_DIRECTORIES, DirectoryFilter, GroupSearch, RoleAssignmentFilter, UserSearch,
    WorkspaceSearch,
};
use atlassian_client::models::RoleId;
use atlassian_client::models::org::{
    Directory, DirectoryUser, Group, GroupExpand, RoleAssignmentMethod, UserExpand, Workspace,
};
use atlassian_client::page::Next;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use steward_store::{
    AccountRow, Checkpoint, DirectoryRow, GrantSource, GroupMembershipRow, GroupRoleRow, GroupRow,
    LastActiveRow, OrgRow, ResourceRow, RoleAssignmentRow, RunId, SiteRow, SnapshotWriter, Store,
};
use tokio::sync::watch;

use super::progress::{ORG, Progress};
use super::{ROLE_READS_IN_FLIGHT, USER_PAGE};
use crate::target::Target;

/// Rows written per entity by a run (so far, for a failed one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    /// Sites.
    pub sites: u64,
    /// Resources (workspaces, `platform` site resources and the org).
    pub resources: u64,
    /// Directories.
    pub directories: u64,
    /// Directory accounts.
    pub accounts: u64,
    /// Groups.
    pub groups: u64,
    /// Group memberships.
    pub memberships: u64,
    /// Roles groups hold.
    pub group_roles: u64,
    /// Account role assignments (one per source).
    pub role_assignments: u64,
    /// Last-activity rows (account, resource).
    pub last_active: u64,
    /// Users whose role assignments were read (`counts.resources` > 0 or org admin).
    pub users_with_access: u64,
    /// Group grants (`group_direct`) no group of the user explains (the groups or
    /// memberships changed during the sync); logged and not stored. 0 on a quiet org.
    pub unattributed_group_grants: u64,
}

/// Shared counters, updated as batches commit.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sites: AtomicU64,
    resources: AtomicU64,
    directories: AtomicU64,
    accounts: AtomicU64,
    groups: AtomicU64,
    memberships: AtomicU64,
    group_roles: AtomicU64,
    role_assignments: AtomicU64,
    last_active: AtomicU64,
    users_with_access: AtomicU64,
    unattributed_group_grants: AtomicU64,
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SyncCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SyncCounts {
            sites: get(&self.sites),
            resources: get(&self.resources),
            directories: get(&self.directories),
            accounts: get(&self.accounts),
            groups: get(&self.groups),
            memberships: get(&self.memberships),
            group_roles: get(&self.group_roles),
            role_assignments: get(&self.role_assignments),
            last_active: get(&self.last_active),
            users_with_access: get(&self.users_with_access),
            unattributed_group_grants: get(&self.unattributed_group_grants),
        }
    }
}

/// Why the slice failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// An Atlassian read failed (after the client's retries).
    #[error("{what}: {source}")]
    Api {
        what: String,
        source: atlassian_client::Error,
    },
    /// The store refused a write.
    #[error("store: {0}")]
    Store(#[from] steward_store::Error),
    /// The groups read failed, so user grants cannot be attributed.
    #[error("the groups read failed before user role assignments could be attributed")]
    GroupsFailed,
}

fn api(what: impl Into<String>) -> impl FnOnce(atlassian_client::Error) -> SyncError {
    let what = what.into();
    move |source| SyncError::Api { what, source }
}

/// For each group: the (resource ARI, role) pairs it grants.
type GroupRoles = HashMap<String, BTreeSet<(String, String)>>;

/// The checkpoint scopes of the org slice.
pub(crate) const SCOPE_META: &str = "org.meta";
/// The groups search (its cursor).
pub(crate) const SCOPE_GROUPS: &str = "org.groups";
/// The users search (its cursor).
pub(crate) const SCOPE_USERS: &str = "org.users";

/// Where a paginated scope stands: every page up to `cursor` is in the store; `done` once the
/// last page is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct ScopeState {
    /// The cursor of the first page not yet stored (`None`: the beginning, or done).
    pub cursor: Option<String>,
    /// Every page is stored.
    pub done: bool,
}

impl ScopeState {
    /// The state a checkpoint records, or the beginning when it records none (or garbage,
    /// which restarts the scope: its pages are upserts, so re-reading them is harmless).
    pub(crate) fn of(checkpoints: &[Checkpoint], scope: &str) -> Self {
        checkpoints
            .iter()
            .find(|c| c.scope == scope)
            .and_then(|c| serde_json::from_value(c.value.clone()).ok())
            .unwrap_or_default()
    }

    fn checkpoint(scope: &str, next: Option<String>) -> Checkpoint {
        let state = ScopeState {
            done: next.is_none(),
            cursor: next,
        };
        Checkpoint {
            scope: scope.to_owned(),
            value: serde_json::to_value(state).unwrap_or_default(),
        }
    }
}

/// Where each org scope of a resumed run stands.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrgResume {
    pub meta_done: bool,
    pub groups: ScopeState,
    pub users: ScopeState,
}

impl OrgResume {
    pub(crate) fn of(checkpoints: &[Checkpoint]) -> Self {
        OrgResume {
            meta_done: ScopeState::of(checkpoints, SCOPE_META).done,
            groups: ScopeState::of(checkpoints, SCOPE_GROUPS),
            users: ScopeState::of(checkpoints, SCOPE_USERS),
        }
    }

    /// Whether anything was stored before (a fresh run resumes nothing).
    pub(crate) fn is_resumed(&self) -> bool {
        self.meta_done
            || self.groups != ScopeState::default()
            || self.users != ScopeState::default()
    }
}

/// The whole slice: meta data, groups and users, concurrently; each scope continues where
/// `resume` says it stopped.
pub(crate) async fn sync_org(
    client: &Client,
    target: &Target,
    store: &Store,
    run: RunId,
    counts: &Counters,
    resume: &OrgResume,
    progress: &Progress,
) -> Result<(), SyncError> {
    let writer = store.writer(run);
    let (tx, rx) = watch::channel::<Option<Arc<GroupRoles>>>(None);
    let groups = async {
        let map = groups(client, store, run, counts, &resume.groups).await?;
        // No receiver left only if the users read already failed; try_join reports that.
        let _ = tx.send(Some(Arc::new(map)));
        Ok::<_, SyncError>(())
    };
    let meta = async {
        if resume.meta_done {
            return Ok(());
        }
        meta(client, target, writer, counts).await?;
        store
            .runs()
            .set_checkpoint(run, &ScopeState::checkpoint(SCOPE_META, None))
            .await?;
        Ok(())
    };
    tokio::try_join!(
        meta,
        groups,
        users(client, store, run, rx, counts, &resume.users, progress),
    )?;
    Ok(())
}

// ---- org, directories, sites, resources ---------------------------------------------------------

async fn meta(
    client: &Client,
    target: &Target,
    writer: SnapshotWriter<'_>,
    counts: &Counters,
) -> Result<(), SyncError> {
    let org_api = client.org();
    let org = async {
        org_api
            .get_org(&target.org_id)
            .await
            .map_err(api("reading the organization"))
    };
    let directories = async {
        org_api
            .directories(&DirectoryFilter::default())
            .try_collect::<Vec<Directory>>()
            .await
            .map_err(api("listing the directories"))
    };
    let workspaces = async {
        org_api
            .workspaces(&WorkspaceSearch::default())
            .try_collect::<Vec<Workspace>>()
            .await
            .map_err(api("listing the workspaces"))
    };
    let (org, directories, workspaces) = tokio::try_join!(org, directories, workspaces)?;

    let sites = sites_of(target, &workspaces);
    let site_names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
    let user_management = user_management(&directories, &site_names);
    writer
        .write_org(&[OrgRow {
            org_id: org.id.clone(),
            name: org.attributes.name.clone(),
            user_management: user_management.to_owned(),
        }])
        .await?;
    let dir_rows: Vec<DirectoryRow> = directories
        .iter()
        .map(|d| DirectoryRow {
            directory_id: d.directory_id.clone(),
            name: d.name.clone().unwrap_or_default(),
        })
        .collect();
    writer.write_directories(&dir_rows).await?;
    add(&counts.directories, dir_rows.len());
    writer.write_sites(&sites).await?;
    add(&counts.sites, sites.len());
    let resources = resources_of(&org.id, &workspaces, &sites);
    writer.write_resources(&resources).await?;
    add(&counts.resources, resources.len());
    Ok(())
}

/// The cloud id of a site-scoped ARI (`ari:cloud:<product>::site/<cloudId>`).
/// Statuspage's ARIs look site-scoped but name a Statuspage organization, not a site.
pub(crate) fn site_cloud_id(ari: &str) -> Option<&str> {
    if ari.starts_with("ari:cloud:statuspage:") {
        return None;
    }
    ari.split_once("::site/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().and_then(|u| {
        u.host_str()
            .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
    })
}

/// One site per cloud id among the workspaces, named as the configuration names it (else the
/// first label of its host).
fn sites_of(target: &Target, workspaces: &[Workspace]) -> Vec<SiteRow> {
    let mut sites: BTreeMap<String, SiteRow> = BTreeMap::new();
    for ws in workspaces {
        let (Some(cloud), Some(url)) = (site_cloud_id(&ws.id), ws.attributes.host_url.as_deref())
        else {
            continue;
        };
        let host = host_of(url);
        let name = target
            .sites
            .iter()
            .find(|s| host.is_some() && host_of(s.url.as_str()) == host)
            .map(|s| s.name.clone())
            .or_else(|| {
                url::Url::parse(url).ok().and_then(|u| {
                    u.host_str()
                        .and_then(|h| h.split('.').next())
                        .map(str::to_owned)
                })
            })
            .unwrap_or_else(|| cloud.to_owned());
        sites.entry(cloud.to_owned()).or_insert_with(|| SiteRow {
            cloud_id: cloud.to_owned(),
            name,
            url: url.trim_end_matches('/').to_owned(),
        });
    }
    sites.into_values().collect()
}

/// Every workspace, the `platform` resource of every site, and the org itself (where
/// Organization admin is held).
fn resources_of(org_id: &str, workspaces: &[Workspace], sites: &[SiteRow]) -> Vec<ResourceRow> {
    let mut out: BTreeMap<String, ResourceRow> = BTreeMap::new();
    for ws in workspaces {
        out.insert(
            ws.id.clone(),
            ResourceRow {
                ari: ws.id.clone(),
                product: ws
                    .product()
                    .map_or_else(|| "unknown".to_owned(), |p| p.as_str().to_owned()),
                site: site_cloud_id(&ws.id).map(str::to_owned),
                seats: ws.attributes.capacity,
            },
        );
    }
    for site in sites {
        let ari = format!("ari:cloud:platform::site/{}", site.cloud_id);
        out.entry(ari.clone()).or_insert(ResourceRow {
            ari,
            product: "platform".to_owned(),
            site: Some(site.cloud_id.clone()),
            seats: None,
        });
    }
    let ari = org_resource(org_id);
    out.entry(ari.clone()).or_insert(ResourceRow {
        ari,
        product: "platform".to_owned(),
        site: None,
        seats: None,
    });
    out.into_values().collect()
}

/// The resource Organization admin is held on.
pub(crate) fn org_resource(org_id: &str) -> String {
    format!("ari:cloud:platform::org/{org_id}")
}

/// `original` when there are several directories, or one named after a site; else
/// `centralized`.
fn user_management(directories: &[Directory], site_names: &[&str]) -> &'static str {
    let per_site = |d: &Directory| {
        d.name
            .as_deref()
            .is_some_and(|n| site_names.iter().any(|s| s.eq_ignore_ascii_case(n)))
    };
    match directories {
        [one] if !per_site(one) => "centralized",
        [] => "centralized",
        _ => "original",
    }
}

// ---- groups -----------------------------------------------------------------------------------

async fn groups(
    client: &Client,
    store: &Store,
    run: RunId,
    counts: &Counters,
    resume: &ScopeState,
) -> Result<GroupRoles, SyncError> {
    // What earlier attempts of this run stored.
    let mut map = GroupRoles::new();
    if resume.cursor.is_some() || resume.done {
        for r in store.snapshot(run).group_roles().await? {
            map.entry(r.group_id)
                .or_default()
                .insert((r.resource_ari, r.role));
        }
    }
    if resume.done {
        return Ok(map);
    }
    let writer = store.writer(run);
    let search = GroupSearch {
        expand: vec![GroupExpand::CountsResources],
        limit: Some(USER_PAGE as u32),
        ..GroupSearch::default()
    };
    let org = client.org();
    let mut pages =
        std::pin::pin!(org.search_groups_pages(ALL_DIRECTORIES, &search, resume.cursor.clone()));
    while let Some(page) = pages
        .try_next()
        .await
        .map_err(api("searching the groups"))?
    {
        let rows: Vec<GroupRow> = page.items.iter().map(group_row).collect();
        writer.write_groups(&rows).await?;
        add(&counts.groups, rows.len());
        // Groups whose counts say they hold nothing need no read.
        let with_roles = page
            .items
            .iter()
            .filter(|g| g.counts.as_ref().and_then(|c| c.resources) != Some(0))
            .cloned()
            .collect::<Vec<Group>>();
        let reads: Vec<(String, Vec<GroupRoleRow>)> = stream::iter(with_roles)
            .map(move |g: Group| async move {
                let dir = g.directory_id.as_deref().unwrap_or(ALL_DIRECTORIES);
                let items = client
                    .org()
                    .group_role_assignments(dir, &g.id, &RoleAssignmentFilter::default())
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(api(format!("reading the roles of group {}", g.id)))?;
                let rows = items
                    .into_iter()
                    .flat_map(|item| {
                        let resource = item.resource_id;
                        let gid = g.id.clone();
                        item.roles.into_iter().map(move |role| GroupRoleRow {
                            group_id: gid.clone(),
                            resource_ari: resource.clone(),
                            role: role.as_str().to_owned(),
                        })
                    })
                    .collect::<Vec<_>>();
                Ok::<_, SyncError>((g.id.clone(), rows))
            })
            .buffer_unordered(ROLE_READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let rows: Vec<GroupRoleRow> = reads
            .into_iter()
            .flat_map(|(gid, rows)| {
                let set = map.entry(gid).or_default();
                for r in &rows {
                    set.insert((r.resource_ari.clone(), r.role.clone()));
                }
                rows
            })
            .collect();
        if !rows.is_empty() {
            writer.write_group_roles(&rows).await?;
        }
        add(&counts.group_roles, rows.len());
        store
            .runs()
            .set_checkpoint(
                run,
                &ScopeState::checkpoint(SCOPE_GROUPS, cursor(page.next)),
            )
            .await?;
    }
    Ok(map)
}

/// The cursor of a v2 search's next page.
fn cursor(next: Option<Next>) -> Option<String> {
    match next {
        Some(Next::Cursor(c)) => Some(c),
        _ => None,
    }
}

fn group_row(g: &Group) -> GroupRow {
    GroupRow {
        group_id: g.id.clone(),
        name: g.name.clone().unwrap_or_default(),
        directory_id: g.directory_id.clone(),
        external_synced: g.external_synced.unwrap_or(false),
        managed_by: g.managed_by.as_ref().map(|m| m.as_str().to_owned()),
    }
}

// ---- users ------------------------------------------------------------------------------------

async fn users(
    client: &Client,
    store: &Store,
    run: RunId,
    mut group_roles_rx: watch::Receiver<Option<Arc<GroupRoles>>>,
    counts: &Counters,
    resume: &ScopeState,
    progress: &Progress,
) -> Result<(), SyncError> {
    if resume.done {
        progress.finish(ORG);
        return Ok(());
    }
    progress.start(ORG, None);
    let writer = store.writer(run);
    let search = UserSearch {
        expand: vec![
            UserExpand::Groups,
            UserExpand::CountsResources,
            UserExpand::PlatformRoles,
            UserExpand::ProductAccess,
        ],
        limit: Some(USER_PAGE as u32),
        ..UserSearch::default()
    };
    let org = client.org();
    let mut pages =
        std::pin::pin!(org.search_users_pages(ALL_DIRECTORIES, &search, resume.cursor.clone()));
    let mut group_roles: Option<Arc<GroupRoles>> = None;
    while let Some(page) = pages
        .try_next()
        .await
        .map_err(api("searching the directory users"))?
    {
        let checkpoint = ScopeState::checkpoint(SCOPE_USERS, cursor(page.next));
        let page = page.items;
        let accounts: Vec<AccountRow> = page.iter().map(account_row).collect();
        let memberships: Vec<GroupMembershipRow> = page
            .iter()
            .flat_map(|u| {
                u.groups.iter().flatten().map(|g| GroupMembershipRow {
                    group_id: g.id.clone(),
                    account_id: u.account_id.clone(),
                })
            })
            .collect();
        let last_active: Vec<LastActiveRow> = page.iter().flat_map(last_active_rows).collect();
        writer.write_accounts(&accounts).await?;
        add(&counts.accounts, accounts.len());
        if !memberships.is_empty() {
            writer.write_group_memberships(&memberships).await?;
        }
        add(&counts.memberships, memberships.len());
        if !last_active.is_empty() {
            writer.write_last_active(&last_active).await?;
        }
        add(&counts.last_active, last_active.len());

        let with_access: Vec<DirectoryUser> = page.into_iter().filter(has_access).collect();
        if !with_access.is_empty() {
            let map = match &group_roles {
                Some(map) => Arc::clone(map),
                None => {
                    let map = group_roles_rx
                        .wait_for(Option::is_some)
                        .await
                        .map_err(|_| SyncError::GroupsFailed)?
                        .clone()
                        .ok_or(SyncError::GroupsFailed)?;
                    group_roles = Some(Arc::clone(&map));
                    map
                }
            };
            let map = &map;
            let rows: Vec<Vec<RoleAssignmentRow>> =
                stream::iter(with_access)
                    .map(move |u: DirectoryUser| async move {
                        user_grants(client, &u, map, counts).await
                    })
                    .buffer_unordered(ROLE_READS_IN_FLIGHT)
                    .try_collect()
                    .await?;
            add(&counts.users_with_access, rows.len());
            let rows: Vec<RoleAssignmentRow> = rows.into_iter().flatten().collect();
            if !rows.is_empty() {
                writer.write_role_assignments(&rows).await?;
            }
            add(&counts.role_assignments, rows.len());
        }
        // Every row of the page is stored: a crash from here on resumes at the next page.
        store.runs().set_checkpoint(run, &checkpoint).await?;
        progress.advance(ORG, accounts.len() as u64);
    }
    progress.finish(ORG);
    Ok(())
}

/// The last activity per resource a user's `productAccess` shows.
fn last_active_rows(u: &DirectoryUser) -> Vec<LastActiveRow> {
    u.product_access
        .iter()
        .flatten()
        .filter_map(|p| {
            let resource = p.id.clone()?;
            let at = DateTime::parse_from_rfc3339(p.last_active_timestamp.as_deref()?).ok()?;
            Some(LastActiveRow {
                account_id: u.account_id.clone(),
                resource,
                at: at.with_timezone(&Utc),
            })
        })
        .collect()
}

/// Whether the user holds anything: `counts.resources` > 0 (or unknown), or Organization
/// admin (held on the org, which `counts.resources` does not count).
fn has_access(u: &DirectoryUser) -> bool {
    u.counts.as_ref().and_then(|c| c.resources) != Some(0)
        || u.platform_roles
            .iter()
            .flatten()
            .any(|r| *r == RoleId::OrgAdmin)
}

/// One user's role assignments, one row per source; a group grant names every group of the
/// user that grants that (resource, role).
async fn user_grants(
    client: &Client,
    user: &DirectoryUser,
    group_roles: &GroupRoles,
    counts: &Counters,
) -> Result<Vec<RoleAssignmentRow>, SyncError> {
    let items = client
        .org()
        .user_role_assignments(
            ALL_DIRECTORIES,
            &user.account_id,
            &RoleAssignmentFilter::default(),
        )
        .try_collect::<Vec<_>>()
        .await
        .map_err(api(format!(
            "reading the role assignments of {}",
            user.account_id
        )))?;
    let mut rows = BTreeSet::new();
    let row = |resource: &str, role: &str, source: GrantSource| RoleAssignmentRow {
        account_id: user.account_id.clone(),
        resource_ari: resource.to_owned(),
        role: role.to_owned(),
        source,
    };
    for item in &items {
        for grant in &item.role_assignments {
            let Some(role) = grant.role.as_ref().map(RoleId::as_str) else {
                continue;
            };
            for method in &grant.role_assignment_methods {
                match method {
                    RoleAssignmentMethod::Direct => {
                        rows.insert(Key::from(row(&item.resource_id, role, GrantSource::Direct)));
                    }
                    RoleAssignmentMethod::Inferred => {
                        rows.insert(Key::from(row(
                            &item.resource_id,
                            role,
                            GrantSource::Inferred,
                        )));
                    }
                    RoleAssignmentMethod::GroupDirect => {
                        let key = (item.resource_id.clone(), role.to_owned());
                        let mut found = false;
                        for g in user.groups.iter().flatten() {
                            if group_roles.get(&g.id).is_some_and(|s| s.contains(&key)) {
                                found = true;
                                rows.insert(Key::from(row(
                                    &item.resource_id,
                                    role,
                                    GrantSource::Group {
                                        group_id: g.id.clone(),
                                    },
                                )));
                            }
                        }
                        if !found {
                            add(&counts.unattributed_group_grants, 1);
                            tracing::warn!(
                                account = user.account_id,
                                resource = item.resource_id,
                                role,
                                "a group grant no group of the user explains (changed during the sync?)"
                            );
                        }
                    }
                    RoleAssignmentMethod::Unknown(other) => {
                        tracing::warn!(method = other, "unknown role assignment method, ignored");
                    }
                }
            }
        }
    }
    Ok(rows.into_iter().map(|k| k.0).collect())
}

/// Orders rows so duplicates collapse.
#[derive(PartialEq, Eq)]
struct Key(RoleAssignmentRow);

impl From<RoleAssignmentRow> for Key {
    fn from(r: RoleAssignmentRow) -> Self {
        Key(r)
    }
}

impl Key {
    fn tuple(&self) -> (&str, &str, &str, &str) {
        let r = &self.0;
        let (kind, gid) = match &r.source {
            GrantSource::Direct => ("direct", ""),
            GrantSource::Group { group_id } => ("group", group_id.as_str()),
            GrantSource::Inferred => ("inferred", ""),
        };
        (&r.resource_ari, &r.role, kind, gid)
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.tuple().cmp(&other.tuple())
    }
}

fn account_row(u: &DirectoryUser) -> AccountRow {
    AccountRow {
        account_id: u.account_id.clone(),
        email: u.email.clone(),
        name: u.name.clone().unwrap_or_default(),
        account_type: u
            .account_type
            .as_ref()
            .map_or_else(|| "atlassian".to_owned(), |t| t.as_str().to_owned()),
        status: u
            .status
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned()),
        account_status: u
            .account_status
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned()),
        membership_status: u.membership_status.as_ref().map(|s| s.as_str().to_owned()),
        claim_status: u
            .claim_status
            .as_ref()
            .map_or_else(|| "unmanaged".to_owned(), |s| s.as_str().to_owned()),
        management_source: u.management_source.as_ref().map(|s| s.as_str().to_owned()),
        added_to_org: u
            .added_to_org
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        mfa: u.mfa_enabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_cloud_ids_are_read_from_site_aris_only() {
        assert_eq!(
            site_cloud_id("ari:cloud:jira-software::site/abc"),
            Some("abc")
        );
        assert_eq!(site_cloud_id("ari:cloud:statuspage::page/x"), None);
        assert_eq!(site_cloud_id("ari:cloud:statuspage::site/x"), None);
        assert_eq!(site_cloud_id("ari:cloud:platform::org/o"), None);
    }
}
