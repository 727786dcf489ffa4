//! The one model behind every API family.
//!
//! [`World`] holds the organization: directories, sites, resources (one per product and site),
//! accounts, groups, role assignments, Statuspage, JSM and Confluence data, and the audit log.
//! Route handlers never keep their own copies: they read and write the world under one lock, so
//! a change made through one API is visible through every other.
//!
//! Mutations live in [`ops`]; each one checks the documented rules (licence seats, IdP-synced
//! groups, protected groups, org admins, managed accounts), records an audit [`Event`], and
//! returns a [`ModelError`] that each family renders in its own error shape.

mod confluence_ops;
pub mod jira_ops;
pub mod jsm_ops;
mod model;
pub mod ops;
mod statuspage_ops;
pub mod um_ops;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use model::*;

/// A rule of the model refused a change, or something named does not exist. Each API family maps
/// these to its own status codes and error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The named thing does not exist (`what` says which kind, `id` which one).
    #[error("{what} {id} was not found")]
    NotFound {
        /// Kind of thing: "user", "group", "resource", "directory", ...
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// Granting the role would exceed the product's licence seats.
    #[error("The user limit for {product} has been reached.")]
    LicenceExceeded {
        /// Product key.
        product: &'static str,
    },
    /// The group is synced from an identity provider and cannot be changed through the API.
    #[error("Group {0} is synced from an identity provider and can only be changed there.")]
    GroupIdpSynced(String),
    /// The account is managed by an identity provider and cannot be changed through the API.
    #[error("Account {0} is synced from an identity provider and can only be changed there.")]
    AccountIdpSynced(String),
    /// Default, org-admin and site-admin groups cannot be deleted.
    #[error("Group {0} is a default or admin group and cannot be deleted.")]
    GroupProtected(String),
    /// A group with that name already exists.
    #[error("A group named {0} already exists.")]
    GroupNameTaken(String),
    /// The account is an org admin and the action is refused for org admins.
    #[error("Account {0} is an organization admin; remove the org admin role first.")]
    OrgAdmin(String),
    /// Removing the last org admin would leave the org without one.
    #[error("Account {0} is the last organization admin.")]
    LastOrgAdmin(String),
    /// Only managed accounts (on a verified domain) can be changed this way.
    #[error("Account {0} is not managed by this organization (its email domain is not verified).")]
    NotManaged(String),
    /// Portal-only customers and apps cannot join groups or hold this role.
    #[error("Account {0} is a {1} account and cannot be used here.")]
    WrongAccountType(String, &'static str),
    /// The account is not a member of the directory the operation needs.
    #[error("Account {0} is not a member of directory {1}.")]
    NotInDirectory(String, String),
    /// The role cannot be granted on that resource.
    #[error("Role {role} cannot be granted on {resource}.")]
    RoleNotAllowed {
        /// Role id.
        role: String,
        /// Resource ARI.
        resource: String,
    },
    /// The account's current lifecycle state does not allow the action.
    #[error("{0}")]
    LifecycleConflict(String),
    /// The request is malformed in a way the model detects.
    #[error("{0}")]
    Invalid(String),
}

/// Result of a model operation.
pub type ModelResult<T> = Result<T, ModelError>;

/// The organization itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Org {
    /// Org id (UUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// Verified (claimed) email domains: accounts on these are managed.
    pub domains: Vec<String>,
    /// Whether the org has at least one paid subscription (needed by the v2 invite API).
    pub paid: bool,
}

/// Credentials the simulator accepts. Printed once in the ready line; never logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// Org API key without scopes (full org-admin power).
    pub org_api_key: String,
    /// Org API key with read scopes only: the Org API reads work, writes and the user
    /// management API answer 403.
    pub scoped_org_api_key: String,
    /// The integration account (org admin) that owns the keys and the site API tokens.
    pub integration_account: String,
    /// Token for the simulator's control API.
    pub control_token: String,
}

/// How a role reaches an account (`roleAssignmentMethods`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Methods {
    /// Granted to the account itself.
    pub direct: bool,
    /// Granted to a group the account is in.
    pub group: bool,
    /// Derived from another role (org admin implies site admin on every site).
    pub inferred: bool,
}

/// A role change waiting to become visible (the "delayed visibility" fault).
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    pub(crate) due: Instant,
    pub(crate) change: DeferredChange,
}

/// The change a [`Deferred`] applies.
#[derive(Debug, Clone)]
pub(crate) enum DeferredChange {
    Grant(AccountIx, ResourceIx, Role),
    Revoke(AccountIx, ResourceIx, Role),
}

/// The simulated organization. See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    /// The seed the world was generated from.
    pub seed: u64,
    /// The org.
    pub org: Org,
    /// User-management experience.
    pub mode: Mode,
    /// Directories.
    pub directories: Vec<Directory>,
    /// Sites.
    pub sites: Vec<Site>,
    /// Resources (product × site), including one `platform` resource per site and the
    /// Statuspage resource.
    pub resources: Vec<Resource>,
    /// Every account, including deleted ones (status `closed`).
    pub accounts: Vec<Account>,
    /// Every group, including deleted tombstones.
    pub groups: Vec<Group>,
    /// Statuspage.
    pub statuspage: Statuspage,
    /// Audit log, oldest first.
    pub events: Vec<Event>,
    /// Accepted credentials.
    pub credentials: Credentials,
    /// Counter for new ids (deterministic: ids derive from the seed and this counter).
    pub id_counter: u64,
    /// How long role changes stay invisible to reads (0 = immediately visible).
    #[serde(skip)]
    pub visibility_delay_ms: u64,
    #[serde(skip)]
    pub(crate) deferred: Vec<Deferred>,
    #[serde(skip)]
    index: Index,
}

#[derive(Debug, Clone, Default)]
struct Index {
    account_by_id: HashMap<String, AccountIx>,
    account_by_email: HashMap<String, AccountIx>,
    group_by_id: HashMap<String, GroupIx>,
    resource_by_ari: HashMap<String, ResourceIx>,
    site_by_name: HashMap<String, SiteIx>,
    site_by_cloud_id: HashMap<String, SiteIx>,
}

impl World {
    /// An empty world for `mode` with `seed` (no org data, no credentials): the starting point of
    /// the seed generator.
    pub fn empty(seed: u64, mode: Mode) -> World {
        World {
            seed,
            org: Org {
                id: String::new(),
                name: String::new(),
                domains: vec![],
                paid: false,
            },
            mode,
            directories: vec![],
            sites: vec![],
            resources: vec![],
            accounts: vec![],
            groups: vec![],
            statuspage: Statuspage {
                organization_id: String::new(),
                api_key: String::new(),
                pages: vec![],
                members: Default::default(),
            },
            events: vec![],
            credentials: Credentials {
                org_api_key: String::new(),
                scoped_org_api_key: String::new(),
                integration_account: String::new(),
                control_token: String::new(),
            },
            id_counter: 0,
            visibility_delay_ms: 0,
            deferred: vec![],
            index: Index::default(),
        }
    }

    /// Rebuilds the lookup indexes; call after deserializing or bulk construction.
    pub fn reindex(&mut self) {
        let mut index = Index::default();
        for (ix, account) in self.accounts.iter().enumerate() {
            let ix = ix as AccountIx;
            index.account_by_id.insert(account.id.clone(), ix);
            // Portal-only customers live per site; Atlassian accounts win the email lookup.
            if let Some(email) = &account.email
                && (account.kind != AccountType::Customer
                    || !index.account_by_email.contains_key(email))
            {
                index.account_by_email.insert(email.clone(), ix);
            }
        }
        for (ix, group) in self.groups.iter().enumerate() {
            if !group.deleted {
                index.group_by_id.insert(group.id.clone(), ix as GroupIx);
            }
        }
        for (ix, resource) in self.resources.iter().enumerate() {
            index
                .resource_by_ari
                .insert(resource.ari(), ix as ResourceIx);
        }
        for (ix, site) in self.sites.iter().enumerate() {
            index.site_by_name.insert(site.name.clone(), ix as SiteIx);
            index
                .site_by_cloud_id
                .insert(site.cloud_id.clone(), ix as SiteIx);
        }
        self.index = index;
    }

    // ---- lookups ----------------------------------------------------------------------------

    /// The account with this id.
    pub fn account_ix(&self, id: &str) -> ModelResult<AccountIx> {
        self.index
            .account_by_id
            .get(id)
            .copied()
            .ok_or_else(|| ModelError::NotFound {
                what: "user",
                id: id.to_owned(),
            })
    }

    /// The Atlassian (or app) account with this email, case-insensitively.
    pub fn account_by_email(&self, email: &str) -> Option<AccountIx> {
        self.index
            .account_by_email
            .get(&email.trim().to_lowercase())
            .copied()
    }

    /// The account at `ix`.
    pub fn account(&self, ix: AccountIx) -> &Account {
        &self.accounts[ix as usize]
    }

    /// The live (not deleted) group with this id.
    pub fn group_ix(&self, id: &str) -> ModelResult<GroupIx> {
        self.index
            .group_by_id
            .get(id)
            .copied()
            .ok_or_else(|| ModelError::NotFound {
                what: "group",
                id: id.to_owned(),
            })
    }

    /// The live group named `name` in directory `dir` (names are unique per directory).
    pub fn group_by_name(&self, dir: DirIx, name: &str) -> Option<GroupIx> {
        self.groups
            .iter()
            .position(|g| !g.deleted && g.directory == dir && g.name.eq_ignore_ascii_case(name))
            .map(|ix| ix as GroupIx)
    }

    /// The group at `ix`.
    pub fn group(&self, ix: GroupIx) -> &Group {
        &self.groups[ix as usize]
    }

    /// Live groups, with their indexes.
    pub fn live_groups(&self) -> impl Iterator<Item = (GroupIx, &Group)> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.deleted)
            .map(|(i, g)| (i as GroupIx, g))
    }

    /// The resource with this ARI.
    pub fn resource_ix(&self, ari: &str) -> ModelResult<ResourceIx> {
        self.index
            .resource_by_ari
            .get(ari)
            .copied()
            .ok_or_else(|| ModelError::NotFound {
                what: "resource",
                id: ari.to_owned(),
            })
    }

    /// The resource at `ix`.
    pub fn resource(&self, ix: ResourceIx) -> &Resource {
        &self.resources[ix as usize]
    }

    /// The resource of `product` on `site`, if the site has that product.
    pub fn site_resource(&self, site: SiteIx, product: Product) -> Option<ResourceIx> {
        self.resources
            .iter()
            .position(|r| r.site == Some(site) && r.product == product)
            .map(|ix| ix as ResourceIx)
    }

    /// The Statuspage resource, if the org has Statuspage.
    pub fn statuspage_resource(&self) -> Option<ResourceIx> {
        self.resources
            .iter()
            .position(|r| r.product == Product::Statuspage)
            .map(|ix| ix as ResourceIx)
    }

    /// The site with this sub-domain name.
    pub fn site_by_name(&self, name: &str) -> Option<SiteIx> {
        self.index.site_by_name.get(name).copied()
    }

    /// The site with this cloud id.
    pub fn site_by_cloud_id(&self, cloud_id: &str) -> Option<SiteIx> {
        self.index.site_by_cloud_id.get(cloud_id).copied()
    }

    /// The site at `ix`.
    pub fn site(&self, ix: SiteIx) -> &Site {
        &self.sites[ix as usize]
    }

    /// The directory with this id. `-` is not accepted here: callers handle "all directories".
    pub fn directory_ix(&self, id: &str) -> ModelResult<DirIx> {
        self.directories
            .iter()
            .position(|d| d.id == id)
            .map(|ix| ix as DirIx)
            .ok_or_else(|| ModelError::NotFound {
                what: "directory",
                id: id.to_owned(),
            })
    }

    /// The directory that governs access to `resource`: the org's only directory under
    /// centralized user management, the site's directory under the original experience.
    pub fn directory_of_resource(&self, resource: ResourceIx) -> DirIx {
        match (self.mode, self.resource(resource).site) {
            (Mode::Original, Some(site)) => self.directory_of_site(site),
            _ => 0,
        }
    }

    /// The directory whose users and groups a site sees.
    pub fn directory_of_site(&self, site: SiteIx) -> DirIx {
        match self.mode {
            Mode::Centralized => 0,
            Mode::Original => self
                .directories
                .iter()
                .position(|d| d.site == Some(site))
                .map_or(0, |ix| ix as DirIx),
        }
    }

    /// The integration account (owner of the credentials).
    pub fn integration_account(&self) -> AccountIx {
        self.account_ix(&self.credentials.integration_account)
            .unwrap_or(0)
    }

    // ---- derived views ----------------------------------------------------------------------

    /// Whether `email` is on one of the org's verified domains.
    pub fn is_managed_email(&self, email: &str) -> bool {
        email.rsplit_once('@').is_some_and(|(_, domain)| {
            self.org
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
        })
    }

    /// Whether the account is managed by the org (`claimStatus`).
    pub fn is_managed(&self, ax: AccountIx) -> bool {
        let account = self.account(ax);
        account.kind == AccountType::Atlassian
            && account
                .email
                .as_deref()
                .is_some_and(|e| self.is_managed_email(e))
    }

    /// The composite `status`: active, suspended, not_invited, deactivated, for_deletion.
    pub fn composite_status(&self, ax: AccountIx) -> &'static str {
        let account = self.account(ax);
        if account.delete_after.is_some() || account.status == AccountStatus::Closed {
            return "for_deletion";
        }
        if account.status == AccountStatus::Inactive {
            return "deactivated";
        }
        match self.membership_status(ax) {
            "active" => "active",
            "suspended" => "suspended",
            _ => "not_invited",
        }
    }

    /// `membershipStatus` across all directories: active if active in any, suspended if
    /// suspended in all it belongs to, else no_membership.
    pub fn membership_status(&self, ax: AccountIx) -> &'static str {
        let dirs = &self.account(ax).directories;
        if dirs.values().any(|m| *m == Membership::Active) {
            "active"
        } else if dirs.is_empty() {
            "no_membership"
        } else {
            "suspended"
        }
    }

    /// Whether the account can currently use what its roles grant on `resource`: the account is
    /// active and its membership in the resource's directory is active.
    pub fn can_access(&self, ax: AccountIx, resource: ResourceIx) -> bool {
        let account = self.account(ax);
        account.status == AccountStatus::Active
            && account.delete_after.is_none()
            && account
                .directories
                .get(&self.directory_of_resource(resource))
                == Some(&Membership::Active)
    }

    /// Every role the account holds, per (resource, role), with how it holds it. Includes
    /// roles held while suspended (suspension keeps roles). Org admin is reported separately
    /// ([`Account::org_admin`]); it implies `atlassian/site-admin` on every site (`inferred`).
    pub fn role_assignments(&self, ax: AccountIx) -> BTreeMap<(ResourceIx, Role), Methods> {
        let account = self.account(ax);
        let mut out: BTreeMap<(ResourceIx, Role), Methods> = BTreeMap::new();
        for key in &account.direct_roles {
            out.entry(*key).or_default().direct = true;
        }
        for gx in &account.groups {
            for key in &self.group(*gx).roles {
                out.entry(*key).or_default().group = true;
            }
        }
        if account.org_admin {
            for (rx, resource) in self.resources.iter().enumerate() {
                if resource.product == Product::Platform {
                    out.entry((rx as ResourceIx, Role::SiteAdmin))
                        .or_default()
                        .inferred = true;
                }
            }
        }
        out
    }

    /// Whether the account holds `role` on `resource` in any way (ignoring suspension).
    pub fn holds(&self, ax: AccountIx, resource: ResourceIx, role: Role) -> bool {
        let account = self.account(ax);
        account.direct_roles.contains(&(resource, role))
            || account
                .groups
                .iter()
                .any(|g| self.group(*g).roles.contains(&(resource, role)))
            || (role == Role::SiteAdmin
                && account.org_admin
                && self.resource(resource).product == Product::Platform)
    }

    /// Whether the account currently has usable product access (user or admin) on `resource`.
    pub fn has_product_access(&self, ax: AccountIx, resource: ResourceIx) -> bool {
        self.can_access(ax, resource)
            && (self.holds(ax, resource, Role::User) || self.holds(ax, resource, Role::Admin))
    }

    /// Whether the account is a site admin of `site` (directly, through a group, or as org admin).
    pub fn is_site_admin(&self, ax: AccountIx, site: SiteIx) -> bool {
        self.site_resource(site, Product::Platform)
            .is_some_and(|rx| self.can_access(ax, rx) && self.holds(ax, rx, Role::SiteAdmin))
    }

    /// Seats in use on `resource`: accounts with usable billable access.
    pub fn seats_used(&self, resource: ResourceIx) -> u32 {
        (0..self.accounts.len() as AccountIx)
            .filter(|ax| self.has_product_access(*ax, resource))
            .count() as u32
    }

    /// Accounts visible on a site's Jira and Confluence: members of the site's directory,
    /// apps, and the site's portal-only customers.
    pub fn site_accounts(&self, site: SiteIx) -> impl Iterator<Item = AccountIx> + '_ {
        let dir = self.directory_of_site(site);
        (0..self.accounts.len() as AccountIx).filter(move |ax| {
            let a = self.account(*ax);
            match a.kind {
                AccountType::Customer => a.customer_site == Some(site),
                AccountType::App => true,
                AccountType::Atlassian => a.directories.contains_key(&dir),
            }
        })
    }

    /// Whether the account looks active to a site product (Jira `active`): account active and
    /// membership in the site's directory active. Portal-only customers and apps are active
    /// while their account is.
    pub fn active_on_site(&self, ax: AccountIx, site: SiteIx) -> bool {
        let a = self.account(ax);
        if a.status != AccountStatus::Active || a.delete_after.is_some() {
            return false;
        }
        match a.kind {
            AccountType::Atlassian => {
                a.directories.get(&self.directory_of_site(site)) == Some(&Membership::Active)
            }
            AccountType::App | AccountType::Customer => true,
        }
    }

    // ---- ids ----------------------------------------------------------------------------

    /// A new deterministic 128-bit value (from the seed and a counter).
    pub fn next_random(&mut self) -> u128 {
        self.id_counter += 1;
        let mut x = (u128::from(self.seed) << 64) ^ u128::from(self.id_counter);
        // splitmix-style finaliser on both halves: stable across versions and platforms.
        let mut out: u128 = 0;
        for _ in 0..2 {
            let mut z = (x as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            out = (out << 64) | u128::from(z);
            x = (x >> 64) ^ u128::from(z);
        }
        out
    }

    /// A new UUID string.
    pub fn new_uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.next_random().to_be_bytes())
            .into_uuid()
            .to_string()
    }

    /// A new Atlassian account id in the modern `712020:<uuid>` form.
    pub fn new_account_id(&mut self) -> String {
        format!("712020:{}", self.new_uuid())
    }

    /// A new portal-only customer id `qm:<uuid>:<hex>`.
    pub fn new_customer_id(&mut self) -> String {
        let tail = self.next_random() as u64;
        format!("qm:{}:{tail:023x}", self.new_uuid())
            .chars()
            .take(64)
            .collect()
    }

    /// A new Statuspage-style id: 12 lower-case alphanumerics.
    pub fn new_short_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut n = self.next_random();
        (0..12)
            .map(|_| {
                let c = ALPHABET[(n % 36) as usize] as char;
                n /= 36;
                c
            })
            .collect()
    }

    /// A new numeric id for site-scoped things (space permissions, JSM orgs, ...).
    pub fn next_site_id(&mut self, site: SiteIx) -> u64 {
        let site = &mut self.sites[site as usize];
        site.next_id += 1;
        site.next_id
    }

    // ---- audit log ----------------------------------------------------------------------

    /// Records an audit event made by `actor`.
    pub fn record(
        &mut self,
        actor: AccountIx,
        action: &str,
        context: Vec<(String, String)>,
        container: Vec<(String, String)>,
        message: String,
    ) {
        let id = self.new_uuid();
        let actor = {
            let a = self.account(actor);
            EventActor {
                id: a.id.clone(),
                name: a.name.clone(),
            }
        };
        let container = if container.is_empty() {
            vec![(self.org.id.clone(), "orgs".to_owned())]
        } else {
            container
        };
        self.events.push(Event {
            id,
            time: now(),
            action: action.to_owned(),
            actor,
            context,
            container,
            ip: "203.0.113.10".to_owned(),
            message,
        });
    }

    // ---- delayed visibility -------------------------------------------------------------

    /// Applies role changes whose visibility delay has passed. Every request calls this before
    /// reading or writing.
    pub fn apply_due(&mut self) {
        if self.deferred.is_empty() {
            return;
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|d| d.due <= now);
        self.deferred = later;
        for d in due {
            match d.change {
                DeferredChange::Grant(ax, rx, role) => {
                    self.accounts[ax as usize].direct_roles.insert((rx, role));
                }
                DeferredChange::Revoke(ax, rx, role) => {
                    self.accounts[ax as usize].direct_roles.remove(&(rx, role));
                }
            }
        }
    }
}

/// The current time, truncated to milliseconds (what Atlassian's timestamps carry).
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
