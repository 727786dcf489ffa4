//! `steward verify`: checks every prerequisite of an org-level connection and says, in
//! Atlassian's own words, how to fix each one that fails.
//!
//! [`verify`] never stops at the first failure: checks that do not depend on each other run
//! concurrently (the org checks, each site's token checks, Statuspage), and a check that needs an
//! earlier one which failed is reported as [`CheckStatus::Skipped`], naming what it waits for.
//! It only reads: running it any number of times changes nothing in Atlassian.

use std::time::Duration;

use atlassian_client::api::org::{
    ALL_DIRECTORIES, DirectoryFilter, RoleAssignmentFilter, UserSearch, WorkspaceSearch,
};
use atlassian_client::models::org::{DirectoryUser, UserExpand, UserStatus, Workspace};
use atlassian_client::models::{ProductKey, RoleId};
use atlassian_client::{Client, Error as ClientError, RetryPolicy, TransportKind};
use futures::{TryStreamExt, future};
use serde::Serialize;

use crate::target::{SiteTarget, Target};

/// Why verification could not run at all (a failing check is not an error: it is in the
/// [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The HTTP client could not be built from the target.
    #[error("cannot build the Atlassian client")]
    Client(#[source] ClientError),
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The prerequisite holds.
    Pass,
    /// The prerequisite does not hold: Steward cannot work until it is fixed.
    Fail,
    /// Steward works, with a limitation (e.g. a product the org does not have).
    Warn,
    /// Not checked because a check it needs failed.
    Skipped,
}

/// One checked prerequisite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id, e.g. `org.api_key`, `site.acme.jira`.
    pub id: String,
    /// What is checked, in one line.
    pub title: String,
    /// The outcome.
    pub status: CheckStatus,
    /// What was found (never a secret).
    pub detail: String,
    /// For a failure or warning: what to do, in Atlassian's own words.
    pub fix: Option<String>,
}

impl Check {
    fn new(id: impl Into<String>, title: impl Into<String>, status: CheckStatus) -> Check {
        Check {
            id: id.into(),
            title: title.into(),
            status,
            detail: String::new(),
            fix: None,
        }
    }

    fn pass(id: impl Into<String>, title: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            detail: detail.into(),
            ..Check::new(id, title, CheckStatus::Pass)
        }
    }

    fn fail(
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            detail: detail.into(),
            fix: Some(fix.into()),
            ..Check::new(id, title, CheckStatus::Fail)
        }
    }

    fn warn(
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            detail: detail.into(),
            fix: Some(fix.into()),
            ..Check::new(id, title, CheckStatus::Warn)
        }
    }

    fn skipped(id: impl Into<String>, title: impl Into<String>, needs: &str) -> Check {
        Check {
            detail: format!("not checked: needs {needs}"),
            ..Check::new(id, title, CheckStatus::Skipped)
        }
    }
}

/// Every check, in a stable order (org, account, products, sites, Statuspage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed (warnings and skipped checks do not count; a skipped check
    /// always follows a failed one).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != CheckStatus::Fail)
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// Retries suited to an interactive check: a throttled or flaky answer is retried briefly, an
/// unreachable host fails within seconds.
fn verify_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(10),
        max_retry_after: Duration::from_secs(10),
    }
}

/// Runs every check against `target` and returns the report. Read-only and idempotent; safe to
/// cancel (it only reads).
pub async fn verify(target: &Target) -> Result<Report, VerifyError> {
    let client = target
        .client(verify_retry(), Duration::from_secs(15))
        .map_err(VerifyError::Client)?;
    let sites = future::join_all(
        target
            .sites
            .iter()
            .map(|s| site_token_checks(&client, target, s)),
    );
    let (org, sites, statuspage) = tokio::join!(
        org_checks(&client, target),
        sites,
        statuspage_checks(&client, target)
    );
    let mut checks = org;
    let account_down = checks
        .iter()
        .find(|c| c.id == "account.directory" && c.status == CheckStatus::Fail)
        .map(|c| c.detail.clone());
    let mut sites: Vec<Check> = sites.into_iter().flatten().collect();
    if let Some(reason) = account_down {
        // A refused token is then a consequence, not a wrong token: point at the real cause.
        for c in sites.iter_mut().filter(|c| c.status == CheckStatus::Fail) {
            c.fix = Some(format!(
                "{reason}; fix `account.directory` first, then run `steward verify` again"
            ));
        }
    }
    checks.extend(sites);
    checks.extend(statuspage);
    Ok(Report { checks })
}

// ---- failure wording ------------------------------------------------------------------------

/// The underlying failure of a client error (past retries).
fn root(err: &ClientError) -> &ClientError {
    match err {
        ClientError::RetriesExhausted { last, .. } => root(last),
        other => other,
    }
}

fn status_of(err: &ClientError) -> Option<u16> {
    root(err).status().map(|s| s.as_u16())
}

/// A one-line description of a failure that names the URL for transport problems (client
/// errors never carry credentials).
fn describe(err: &ClientError, base: &url::Url) -> String {
    match root(err) {
        ClientError::Transport { kind, message, .. } => match kind {
            TransportKind::Connect => format!("cannot reach {base}: connection failed ({message})"),
            TransportKind::Timeout => format!("{base} did not answer in time"),
            TransportKind::Interrupted | TransportKind::Other => {
                format!("request to {base} failed: {kind}: {message}")
            }
        },
        other => other.to_string(),
    }
}

fn is_transport(err: &ClientError) -> bool {
    matches!(root(err), ClientError::Transport { .. })
}

fn unreachable_fix(base: &url::Url, key: &str) -> String {
    format!(
        "check that {base} is reachable from this machine (proxy, firewall, DNS) and that `{key}` in the configuration is right"
    )
}

// ---- org-level checks -----------------------------------------------------------------------

const KEY_FIX: &str = "create one at admin.atlassian.com → Settings → API keys → Create API key, then set `atlassian.org_api_key` (or `org_api_key_file`)";

async fn org_checks(client: &Client, t: &Target) -> Vec<Check> {
    let org = client.org();
    let mut out = vec![];
    const KEY: &str = "org.api_key";
    const KEY_TITLE: &str = "Org API key is valid";
    const FOUND: &str = "org.found";
    let found_title = format!("Organization {} is reachable with the key", t.org_id);
    let orgs: Result<Vec<_>, _> = org.orgs().try_collect().await;
    let orgs = match orgs {
        Ok(orgs) => {
            out.push(Check::pass(
                KEY,
                KEY_TITLE,
                format!("the key sees {} organization(s)", orgs.len()),
            ));
            orgs
        }
        Err(e) => {
            out.push(if is_transport(&e) {
                Check::fail(
                    KEY,
                    KEY_TITLE,
                    describe(&e, &t.api_url),
                    unreachable_fix(&t.api_url, "atlassian.api_url"),
                )
            } else if status_of(&e) == Some(401) || status_of(&e) == Some(403) {
                Check::fail(
                    KEY,
                    KEY_TITLE,
                    "the org API key is invalid or expired",
                    KEY_FIX,
                )
            } else {
                Check::fail(KEY, KEY_TITLE, describe(&e, &t.api_url), KEY_FIX)
            });
            out.push(Check::skipped(FOUND, found_title, KEY));
            out.extend(after_org_skipped(t, KEY));
            return out;
        }
    };
    if !orgs.iter().any(|o| o.id == t.org_id) {
        let seen: Vec<String> = orgs
            .iter()
            .map(|o| format!("{} ({})", o.id, o.attributes.name))
            .collect();
        out.push(Check::fail(
            FOUND,
            found_title,
            format!(
                "organization {} is not among the organizations of this API key: {}",
                t.org_id,
                if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
            ),
            "set `atlassian.org_id` to the id in the address admin.atlassian.com/o/<org id>/overview, or create the API key in that organization: admin.atlassian.com → Settings → API keys",
        ));
        out.extend(after_org_skipped(t, FOUND));
        return out;
    }
    out.push(Check::pass(FOUND, found_title, "found"));

    let account = find_account(client, t);
    let workspaces = async {
        org.workspaces(&WorkspaceSearch::default())
            .try_collect::<Vec<Workspace>>()
            .await
    };
    let directories = async {
        org.directories(&DirectoryFilter::default())
            .try_collect::<Vec<_>>()
            .await
    };
    let (account, workspaces, directories) = tokio::join!(account, workspaces, directories);

    // user-management experience: information only
    const UM: &str = "org.user_management";
    const UM_TITLE: &str = "User-management experience";
    // One directory normally means centralized user management; under the original experience
    // an org with one site also has one directory, named after that site.
    let per_site = |d: &atlassian_client::models::org::Directory| {
        d.name.as_deref().is_some_and(|n| {
            t.sites.iter().any(|s| {
                s.name.eq_ignore_ascii_case(n)
                    || s.url
                        .host_str()
                        .is_some_and(|h| h.split('.').next() == Some(n))
            })
        })
    };
    out.push(match directories {
        Ok(dirs) if dirs.len() == 1 && dirs.iter().all(per_site) => Check::pass(
            UM,
            UM_TITLE,
            "original user management (one directory per site; this organization has one site)",
        ),
        Ok(dirs) if dirs.len() == 1 => Check::pass(
            UM,
            UM_TITLE,
            "centralized user management (one directory for the whole organization)",
        ),
        Ok(dirs) if !dirs.is_empty() => Check::pass(
            UM,
            UM_TITLE,
            format!(
                "original user management ({} directories, one per site)",
                dirs.len()
            ),
        ),
        Ok(_) => Check::warn(
            UM,
            UM_TITLE,
            "the organization has no directory",
            "add a product to the organization: admin.atlassian.com → Products → Add product",
        ),
        Err(e) => Check::fail(UM, UM_TITLE, describe(&e, &t.api_url), KEY_FIX),
    });

    // the integration account
    let (account_checks, account) = account_checks(client, t, account).await;
    out.extend(account_checks);

    // products and sites
    match workspaces {
        Ok(ws) => {
            out.extend(product_checks(&ws));
            let sites = future::join_all(
                t.sites
                    .iter()
                    .map(|site| site_org_checks(client, t, site, &ws, account.as_ref())),
            )
            .await;
            out.extend(sites.into_iter().flatten());
        }
        Err(e) => {
            out.push(Check::fail(
                "products",
                "Products discovered through workspaces",
                describe(&e, &t.api_url),
                KEY_FIX,
            ));
            for site in &t.sites {
                out.push(Check::skipped(
                    format!("site.{}.url", site.name),
                    format!("Site {} is a workspace of the organization", site.name),
                    "products",
                ));
                out.push(site_admin_skipped(site, "products"));
            }
        }
    }
    out
}

fn site_admin_skipped(site: &SiteTarget, needs: &str) -> Check {
    Check::skipped(
        format!("site.{}.site_admin", site.name),
        format!("Integration account is Site admin of {}", site.name),
        needs,
    )
}

/// The org checks that follow `org.found`, all skipped.
fn after_org_skipped(t: &Target, needs: &str) -> Vec<Check> {
    let mut out = vec![
        Check::skipped("org.user_management", "User-management experience", needs),
        Check::skipped(
            "account.directory",
            format!(
                "Integration account {} is in the directory",
                t.integration_email
            ),
            needs,
        ),
        Check::skipped(
            "account.org_admin",
            format!(
                "Integration account {} is an Organization admin",
                t.integration_email
            ),
            needs,
        ),
        Check::skipped("products", "Products discovered through workspaces", needs),
    ];
    for site in &t.sites {
        out.push(Check::skipped(
            format!("site.{}.url", site.name),
            format!("Site {} is a workspace of the organization", site.name),
            needs,
        ));
        out.push(site_admin_skipped(site, needs));
    }
    out
}

async fn find_account(client: &Client, t: &Target) -> Result<Option<DirectoryUser>, ClientError> {
    let search = UserSearch {
        emails: vec![t.integration_email.clone()],
        expand: vec![UserExpand::PlatformRoles],
        ..UserSearch::default()
    };
    let users: Vec<DirectoryUser> = client
        .org()
        .search_users(ALL_DIRECTORIES, &search)
        .try_collect()
        .await?;
    // Under the original experience an account shows once per directory: prefer an active row.
    let matching = users.into_iter().filter(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&t.integration_email))
    });
    let mut best: Option<DirectoryUser> = None;
    for user in matching {
        let active = user.status == Some(UserStatus::Active);
        if best.is_none() || active {
            best = Some(user);
        }
    }
    Ok(best)
}

async fn account_checks(
    client: &Client,
    t: &Target,
    account: Result<Option<DirectoryUser>, ClientError>,
) -> (Vec<Check>, Option<DirectoryUser>) {
    let email = &t.integration_email;
    const DIR: &str = "account.directory";
    const ADMIN: &str = "account.org_admin";
    let dir_title = format!("Integration account {email} is in the directory and active");
    let admin_title = format!("Integration account {email} is an Organization admin");
    let user = match account {
        Err(e) => {
            return (
                vec![
                    Check::fail(DIR, dir_title, describe(&e, &t.api_url), KEY_FIX),
                    Check::skipped(ADMIN, admin_title, DIR),
                ],
                None,
            );
        }
        Ok(None) => {
            return (
                vec![
                    Check::fail(
                        DIR,
                        dir_title,
                        format!(
                            "no account with the email {email} in the organization's directory"
                        ),
                        format!(
                            "invite the integration account: admin.atlassian.com → Directory → Users → Invite users → {email}, or set `atlassian.integration_email` to the account Steward uses"
                        ),
                    ),
                    Check::skipped(ADMIN, admin_title, DIR),
                ],
                None,
            );
        }
        Ok(Some(user)) => user,
    };
    let mut out = vec![];
    let status = user.status.clone();
    out.push(match status {
        Some(UserStatus::Active) => Check::pass(DIR, dir_title, format!("account {} is active", user.account_id)),
        Some(UserStatus::Suspended) => Check::fail(
            DIR,
            dir_title,
            format!("the integration account {email} is suspended: its API tokens do not work"),
            "admin.atlassian.com → Directory → Users → the account → ⋯ → Restore user access",
        ),
        Some(UserStatus::Deactivated) => Check::fail(
            DIR,
            dir_title,
            format!("the integration account {email} is deactivated: it cannot log in and its API tokens do not work"),
            "admin.atlassian.com → Directory → Managed accounts → the account → Activate account",
        ),
        Some(UserStatus::ForDeletion) => Check::fail(
            DIR,
            dir_title,
            format!("the integration account {email} is scheduled for deletion"),
            "admin.atlassian.com → Directory → Managed accounts → the account → Cancel deletion",
        ),
        Some(UserStatus::NotInvited) => Check::fail(
            DIR,
            dir_title,
            format!("the integration account {email} is a managed account outside every directory"),
            format!("admin.atlassian.com → Directory → Users → Invite users → {email}"),
        ),
        Some(UserStatus::Unknown(s)) => Check::warn(
            DIR,
            dir_title,
            format!("the integration account has the unknown status {s:?}"),
            "check the account at admin.atlassian.com → Directory → Users",
        ),
        None => Check::warn(
            DIR,
            dir_title,
            "the directory did not say the account's status",
            "check the account at admin.atlassian.com → Directory → Users",
        ),
    });
    // `platformRoles` answers in the same call; without it, read the role assignments.
    let is_admin = match &user.platform_roles {
        Some(roles) => Ok(roles.contains(&RoleId::OrgAdmin)),
        None => client
            .org()
            .user_role_assignments(
                ALL_DIRECTORIES,
                &user.account_id,
                &RoleAssignmentFilter::default(),
            )
            .try_collect::<Vec<_>>()
            .await
            .map(|list| list.iter().any(|a| a.roles.contains(&RoleId::OrgAdmin))),
    };
    let is_admin = match is_admin {
        Ok(is_admin) => is_admin,
        Err(e) => {
            out.push(Check::fail(
                ADMIN,
                admin_title,
                describe(&e, &t.api_url),
                KEY_FIX,
            ));
            return (out, Some(user));
        }
    };
    out.push(if is_admin {
        Check::pass(ADMIN, admin_title, "holds atlassian/org-admin")
    } else {
        Check::fail(
            ADMIN,
            admin_title,
            format!("the integration account {email} is not an Organization admin"),
            "admin.atlassian.com → Directory → Users → the account → ⋯ → Assign org admin role",
        )
    });
    (out, Some(user))
}

/// The products Steward manages, with their names.
const PRODUCTS: [(&str, &str); 5] = [
    ("jira-software", "Jira"),
    ("confluence", "Confluence"),
    ("jira-servicedesk", "Jira Service Management"),
    ("jira-product-discovery", "Jira Product Discovery"),
    ("statuspage", "Statuspage"),
];

fn product_checks(ws: &[Workspace]) -> Vec<Check> {
    PRODUCTS
        .iter()
        .map(|(key, name)| {
            let id = format!("product.{key}");
            let title = format!("{name} discovered through workspaces");
            let found: Vec<&Workspace> = ws
                .iter()
                .filter(|w| w.attributes.type_key.as_ref().map(ProductKey::as_str) == Some(*key))
                .collect();
            if found.is_empty() {
                Check::warn(
                    id,
                    title,
                    format!("the organization has no {name} workspace: Steward will not manage {name}"),
                    format!("add {name} to the organization: admin.atlassian.com → Products → Add product → {name}"),
                )
            } else {
                let hosts: Vec<String> = found
                    .iter()
                    .map(|w| w.attributes.host_url.clone().unwrap_or_else(|| w.id.clone()))
                    .collect();
                Check::pass(id, title, hosts.join(", "))
            }
        })
        .collect()
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// The cloud id in a resource ARI (`ari:cloud:<product>::site/<cloudId>`).
fn cloud_id(ari: &str) -> Option<&str> {
    ari.split_once("::site/").map(|(_, id)| id)
}

async fn site_org_checks(
    client: &Client,
    t: &Target,
    site: &SiteTarget,
    ws: &[Workspace],
    account: Option<&DirectoryUser>,
) -> Vec<Check> {
    let url_id = format!("site.{}.url", site.name);
    let url_title = format!("Site {} is a workspace of the organization", site.name);
    let cloud = ws
        .iter()
        .filter(|w| {
            w.attributes
                .host_url
                .as_deref()
                .is_some_and(|h| same_url(h, site.url.as_str()))
        })
        .find_map(|w| cloud_id(&w.id));
    let Some(cloud) = cloud else {
        let hosts: Vec<String> = ws
            .iter()
            .filter_map(|w| w.attributes.host_url.clone())
            .collect();
        return vec![
            Check::fail(
                url_id,
                url_title,
                format!(
                    "{} is not the URL of any workspace of the organization (workspaces: {})",
                    site.url,
                    hosts.join(", ")
                ),
                format!(
                    "set `url` of [[atlassian.sites]] {} to the site's address as shown at admin.atlassian.com → Products, or add the site to this organization",
                    site.name
                ),
            ),
            site_admin_skipped(site, &format!("site.{}.url", site.name)),
        ];
    };
    let mut out = vec![Check::pass(url_id, url_title, format!("cloud id {cloud}"))];
    let admin_id = format!("site.{}.site_admin", site.name);
    let admin_title = format!("Integration account is Site admin of {}", site.name);
    let Some(account) = account else {
        out.push(site_admin_skipped(site, "account.directory"));
        return out;
    };
    let resource = format!("ari:cloud:platform::site/{cloud}");
    let filter = RoleAssignmentFilter {
        resource_ids: vec![resource.clone()],
        ..RoleAssignmentFilter::default()
    };
    let assignments: Result<Vec<_>, _> = client
        .org()
        .user_role_assignments(ALL_DIRECTORIES, &account.account_id, &filter)
        .try_collect()
        .await;
    out.push(match assignments {
        Ok(list) => {
            let grant = list
                .iter()
                .filter(|a| a.resource_id == resource)
                .flat_map(|a| a.role_assignments.iter())
                .find(|g| g.role.as_ref() == Some(&RoleId::SiteAdmin));
            let in_roles = list
                .iter()
                .any(|a| a.resource_id == resource && a.roles.contains(&RoleId::SiteAdmin));
            match grant {
                Some(g) => {
                    let how: Vec<String> = g
                        .role_assignment_methods
                        .iter()
                        .map(|m| m.as_str().to_owned())
                        .collect();
                    Check::pass(admin_id, admin_title, format!("atlassian/site-admin ({})", how.join(", ")))
                }
                None if in_roles => Check::pass(admin_id, admin_title, "atlassian/site-admin"),
                None => Check::fail(
                    admin_id,
                    admin_title,
                    format!(
                        "the integration account {} is not a Site admin of {}",
                        t.integration_email, site.url
                    ),
                    format!(
                        "admin.atlassian.com → Directory → Users → the account → ⋯ → Assign org admin role (which makes it Site admin of every site), or Grant access → {} → Site admin",
                        site.name
                    ),
                ),
            }
        }
        Err(e) => Check::fail(admin_id, admin_title, describe(&e, &t.api_url), KEY_FIX),
    });
    out
}

// ---- site tokens ----------------------------------------------------------------------------

fn token_fix(t: &Target, site: &SiteTarget) -> String {
    format!(
        "log in as {} and create an API token at id.atlassian.com → Security → Create and manage API tokens → Create API token, then set `api_token` (or `api_token_file`) of [[atlassian.sites]] {}",
        t.integration_email, site.name
    )
}

fn token_check(
    t: &Target,
    site: &SiteTarget,
    product: &str,
    label: &str,
    result: Result<String, ClientError>,
) -> Check {
    let id = format!("site.{}.{product}", site.name);
    let title = format!("Site token of {} works for {label}", site.name);
    match result {
        Ok(detail) => Check::pass(id, title, detail),
        Err(e) if is_transport(&e) => Check::fail(
            id,
            title,
            describe(&e, &site.url),
            unreachable_fix(&site.url, "atlassian.sites[].url"),
        ),
        Err(e) => match status_of(&e) {
            Some(401) => Check::fail(
                id,
                title,
                format!(
                    "{label} at {} refused the API token of {}",
                    site.url, t.integration_email
                ),
                token_fix(t, site),
            ),
            Some(403) => Check::fail(
                id,
                title,
                format!(
                    "{} has no {label} access on {}",
                    t.integration_email, site.url
                ),
                format!(
                    "admin.atlassian.com → Directory → Users → the account → ⋯ → Assign org admin role, or Grant access → {label} on {}",
                    site.name
                ),
            ),
            Some(404) => Check::warn(
                id,
                title,
                format!("{} has no {label}", site.url),
                format!("add {label} to the site: admin.atlassian.com → Products → Add product"),
            ),
            _ => Check::fail(id, title, describe(&e, &site.url), token_fix(t, site)),
        },
    }
}

async fn site_token_checks(client: &Client, t: &Target, site: &SiteTarget) -> Vec<Check> {
    let jira = async {
        let roles = client.jira(&site.name)?.application_roles().await?;
        Ok(format!("{} Jira application(s)", roles.len()))
    };
    let confluence = async {
        let user = client.confluence(&site.name)?.current_user().await?;
        Ok(format!(
            "authenticated as account {}",
            user.account_id.unwrap_or_default()
        ))
    };
    let jsm = async {
        let api = client.jsm(&site.name)?;
        let first = Box::pin(api.service_desks()).try_next().await?;
        Ok(match first {
            Some(_) => "service desks readable".to_owned(),
            None => "no service desk yet".to_owned(),
        })
    };
    let (jira, confluence, jsm) = tokio::join!(jira, confluence, jsm);
    vec![
        token_check(t, site, "jira", "Jira", jira),
        token_check(t, site, "confluence", "Confluence", confluence),
        token_check(t, site, "jsm", "Jira Service Management", jsm),
    ]
}

// ---- Statuspage -----------------------------------------------------------------------------

const SP_KEY_FIX: &str = "create a key at manage.statuspage.io → your avatar → API info → Create key, then set `statuspage.api_key` (or `api_key_file`)";

async fn statuspage_checks(client: &Client, t: &Target) -> Vec<Check> {
    const KEY: &str = "statuspage.api_key";
    const KEY_TITLE: &str = "Statuspage API key is valid";
    const ORG: &str = "statuspage.organization";
    const ORG_TITLE: &str = "Statuspage organization is readable";
    let Some(sp) = &t.statuspage else {
        return vec![Check {
            detail: "no [statuspage] section in the configuration".into(),
            fix: Some("add a [statuspage] section with `api_key` and `organization_id` to manage Statuspage".into()),
            ..Check::new(KEY, KEY_TITLE, CheckStatus::Skipped)
        }];
    };
    let api = match client.statuspage() {
        Ok(api) => api,
        Err(e) => {
            return vec![Check::fail(KEY, KEY_TITLE, e.to_string(), SP_KEY_FIX)];
        }
    };
    let key = match api.pages().await {
        Ok(pages) => Check::pass(KEY, KEY_TITLE, format!("{} page(s)", pages.len())),
        Err(e) if is_transport(&e) => Check::fail(
            KEY,
            KEY_TITLE,
            describe(&e, &sp.url),
            unreachable_fix(&sp.url, "statuspage.url"),
        ),
        Err(e) if matches!(status_of(&e), Some(401 | 403)) => Check::fail(
            KEY,
            KEY_TITLE,
            "the Statuspage API key is invalid or revoked",
            SP_KEY_FIX,
        ),
        Err(e) => Check::fail(KEY, KEY_TITLE, describe(&e, &sp.url), SP_KEY_FIX),
    };
    if key.status != CheckStatus::Pass {
        return vec![key, Check::skipped(ORG, ORG_TITLE, KEY)];
    }
    let org = match Box::pin(api.team_members()).try_next().await {
        Ok(_) => Check::pass(
            ORG,
            ORG_TITLE,
            format!("organization {}", sp.organization_id),
        ),
        Err(e) if matches!(status_of(&e), Some(401 | 403 | 404)) => Check::fail(
            ORG,
            ORG_TITLE,
            format!(
                "the Statuspage organization {} is unknown to this key, or the key may not manage its team",
                sp.organization_id
            ),
            "copy the Organization ID from manage.statuspage.io → your avatar → API info, and use a key of an owner of that organization",
        ),
        Err(e) => Check::fail(ORG, ORG_TITLE, describe(&e, &sp.url), SP_KEY_FIX),
    };
    vec![key, org]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_id_is_read_from_a_site_ari() {
        assert_eq!(
            cloud_id("ari:cloud:jira-software::site/abc-1"),
            Some("abc-1")
        );
        assert_eq!(cloud_id("ari:cloud:statuspage::page/x"), None);
    }

    #[test]
    fn urls_compare_without_trailing_slash_or_case() {
        assert!(same_url(
            "https://Acme.atlassian.net/",
            "https://acme.atlassian.net"
        ));
        assert!(!same_url(
            "https://acme.atlassian.net",
            "https://acme-eu.atlassian.net"
        ));
    }

    #[test]
    fn a_report_passes_iff_no_check_failed() {
        let mut report = Report {
            checks: vec![Check::pass("a", "A", ""), Check::warn("b", "B", "", "")],
        };
        assert!(report.passed());
        report.checks.push(Check::fail("c", "C", "", ""));
        assert!(!report.passed());
    }
}
