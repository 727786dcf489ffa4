//! Who can do what: a read model of people and their access over one completed snapshot.
//!
//! The store keeps what Atlassian said, table by table (accounts, role assignments with their
//! source, groups, Statuspage team, JSM customers, last activity). This module joins those
//! tables into one [`Person`] per account: every grant with its product, site, role and where it
//! comes from, the groups, Statuspage membership and page permissions, the JSM service desks the
//! person is a customer of, and when the person was last active, per product and overall.
//! `steward users` / `steward user` print it and the web console's people × products matrix and
//! person page build on it.
//!
//! [`people`] reads each table of the snapshot once and joins in memory (a handful of queries
//! whatever the size of the org, linear in the number of rows); [`person`] reads only what one
//! account needs. Both are read-only and may run concurrently with a sync: a
//! [`Snapshot`] is pinned to a completed run, so they always see one consistent picture.
//!
//! # JSON shape
//!
//! A [`Person`] serializes as (fields always present, `null` when unknown):
//!
//! ```json
//! {
//!   "account_id": "5b10ac8d82e05b22cc7d4ef5",
//!   "email": "ada@acme.com",
//!   "name": "Ada Lovelace",
//!   "account_type": "atlassian",
//!   "status": "active",
//!   "account_status": "active",
//!   "claim_status": "managed",
//!   "management_source": "scim",
//!   "grants": [
//!     {"product": "jira", "product_key": "jira-software",
//!      "resource": "ari:cloud:jira-software::site/…", "site": "acme",
//!      "role": "atlassian/user",
//!      "source": {"type": "group", "group_id": "…", "group_name": "engineering"}},
//!     {"product": "confluence", "product_key": "confluence", "resource": "…", "site": "acme",
//!      "role": "atlassian/admin", "source": {"type": "direct"}}
//!   ],
//!   "groups": [{"group_id": "…", "name": "engineering"}],
//!   "statuspage": {"user_id": "…", "email": "ada@acme.com",
//!                  "pages": [{"page_id": "…", "page_configuration": true,
//!                             "incident_manager": true, "maintenance_manager": false}]},
//!   "jsm_customer_of": [{"site": "acme", "cloud_id": "…", "service_desk_id": "1"}],
//!   "last_active": {"jira": "2026-11-20T08:00:00Z", "confluence": "2026-11-02T12:00:00Z"},
//!   "last_active_at": "2026-11-20T08:00:00Z"
//! }
//! ```
//!
//! `source.type` is `direct`, `group` (with `group_id` and `group_name`, `null` if the group is
//! not in the snapshot) or `inferred`. `product` is one of `jira`, `confluence`, `jsm`, `jpd`,
//! `statuspage`, `platform` (site and org administration), or `null` for a resource of a
//! product Steward does not know (its raw key stays in `product_key`). `statuspage` is `null`
//! when the person is not on the Statuspage team. People are sorted by email (accounts without
//! one last) then account id; grants by product, site, resource, role and source; groups by
//! name; desks by site and id.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use steward_store::{
    AccountFilter, AccountRow, GrantSource, GroupMembershipRow, GroupRow, JsmCustomerRow,
    LastActiveRow, ResourceRow, RoleAssignmentRow, SiteRow, Snapshot, StatuspageMemberRow,
    StatuspagePermissionRow,
};

/// A product as Steward presents it, whatever key the Atlassian API used for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// Jira (`jira-software`; also the older `jira-core`).
    Jira,
    /// Confluence (`confluence`).
    Confluence,
    /// Jira Service Management (`jira-servicedesk`, `jira-service-desk` in the v1 APIs).
    Jsm,
    /// Jira Product Discovery (`jira-product-discovery`).
    Jpd,
    /// Statuspage (`statuspage`).
    Statuspage,
    /// Site and organization administration (`platform`).
    Platform,
}

impl Product {
    /// Every product, in display order.
    pub const ALL: [Product; 6] = [
        Product::Jira,
        Product::Confluence,
        Product::Jsm,
        Product::Jpd,
        Product::Statuspage,
        Product::Platform,
    ];

    /// The names [`Product::parse`] accepts, in display order.
    pub const NAMES: [&'static str; 6] =
        ["jira", "confluence", "jsm", "jpd", "statuspage", "platform"];

    /// The friendly name (`jira`, `confluence`, `jsm`, `jpd`, `statuspage`, `platform`).
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Jira => "jira",
            Product::Confluence => "confluence",
            Product::Jsm => "jsm",
            Product::Jpd => "jpd",
            Product::Statuspage => "statuspage",
            Product::Platform => "platform",
        }
    }

    /// A friendly name (as [`Product::as_str`] gives it), or `None`.
    pub fn parse(name: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The product of an Atlassian product key as the store keeps it (a resource's `product`,
    /// or a last-active record's product): `jira-software`, `jira-core`, `confluence`,
    /// `jira-servicedesk` / `jira-service-desk`, `jira-product-discovery`, `statuspage`,
    /// `platform`. `None` for any other key.
    pub fn from_key(key: &str) -> Option<Product> {
        match key {
            "jira-software" | "jira-core" => Some(Product::Jira),
            "confluence" => Some(Product::Confluence),
            "jira-servicedesk" | "jira-service-desk" => Some(Product::Jsm),
            "jira-product-discovery" => Some(Product::Jpd),
            "statuspage" => Some(Product::Statuspage),
            "platform" => Some(Product::Platform),
            _ => None,
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a [`Grant`] comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// Given to the account itself.
    Direct,
    /// Held through membership of a group.
    Group {
        /// The group's id.
        group_id: String,
        /// The group's name, if the group is in the snapshot.
        group_name: Option<String>,
    },
    /// Deduced by Atlassian or Steward (e.g. product access implied by another permission).
    Inferred,
}

impl fmt::Display for Source {
    /// `direct`, `inferred`, or `through group <name>` (the id when the name is unknown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Direct => f.write_str("direct"),
            Source::Inferred => f.write_str("inferred"),
            Source::Group {
                group_id,
                group_name,
            } => write!(
                f,
                "through group {}",
                group_name.as_deref().unwrap_or(group_id)
            ),
        }
    }
}

/// One role a person holds on one resource, from one source. A role held both directly and
/// through two groups is three grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The product of the resource, `None` for a product key Steward does not know.
    pub product: Option<Product>,
    /// The resource's product key as Atlassian gave it (`jira-software`, `platform`, …);
    /// `unknown` when the resource is not in the snapshot.
    pub product_key: String,
    /// The resource's ARI.
    pub resource: String,
    /// The name of the resource's site (`acme`), `None` for org-wide resources (Statuspage,
    /// the organization itself) or a site not in the snapshot.
    pub site: Option<String>,
    /// The role (`atlassian/user`, `atlassian/admin`, …).
    pub role: String,
    /// Where it comes from.
    pub source: Source,
}

impl Grant {
    /// The role without the `atlassian/` prefix (`user`, `admin`, `org-admin`).
    pub fn short_role(&self) -> &str {
        short_role(&self.role)
    }
}

/// The role without its `atlassian/` namespace.
fn short_role(role: &str) -> &str {
    role.strip_prefix("atlassian/").unwrap_or(role)
}

/// A group a person belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRef {
    /// Group id.
    pub group_id: String,
    /// Group name.
    pub name: String,
}

/// A person's permissions on one Statuspage page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PagePermission {
    /// The page's id.
    pub page_id: String,
    /// May configure the page.
    pub page_configuration: bool,
    /// May manage incidents.
    pub incident_manager: bool,
    /// May manage maintenances.
    pub maintenance_manager: bool,
}

/// A person's membership of the Statuspage team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatuspageAccess {
    /// Statuspage user id.
    pub user_id: String,
    /// The email Statuspage knows the member by.
    pub email: String,
    /// Permissions per page, by page id.
    pub pages: Vec<PagePermission>,
}

/// A JSM service desk a person is a customer of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct JsmDesk {
    /// The site's name (its cloud id if the site is not in the snapshot).
    pub site: String,
    /// The site's cloud id.
    pub cloud_id: String,
    /// The service desk's id.
    pub service_desk_id: String,
}

/// Everything the snapshot knows about one account's access. See the module docs for the JSON
/// shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Atlassian account id.
    pub account_id: String,
    /// Email, when visible.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// `atlassian`, `app`, `customer`.
    pub account_type: String,
    /// Composite status (`active`, `suspended`, `deactivated`, `for_deletion`, …).
    pub status: String,
    /// Atlassian account status (`active`, `inactive`, `closed`).
    pub account_status: String,
    /// `managed` or `unmanaged`.
    pub claim_status: String,
    /// Who manages the account (e.g. `scim`), when known.
    pub management_source: Option<String>,
    /// Every grant with its source.
    pub grants: Vec<Grant>,
    /// The groups the account is in.
    pub groups: Vec<GroupRef>,
    /// Statuspage team membership and page permissions, if a member (matched by account id,
    /// else by email).
    pub statuspage: Option<StatuspageAccess>,
    /// The JSM service desks where the account is a customer.
    pub jsm_customer_of: Vec<JsmDesk>,
    /// Last activity per product (the latest of that product's records).
    pub last_active: BTreeMap<Product, DateTime<Utc>>,
    /// Last activity in any product (also counting records of unknown products); `None` when
    /// never seen active.
    pub last_active_at: Option<DateTime<Utc>>,
}

impl Person {
    /// Whether the person holds any grant on `product`.
    pub fn has_product(&self, product: Product) -> bool {
        self.grants.iter().any(|g| g.product == Some(product))
    }

    /// What the person can do, one label per distinct (product, site, role) whatever the
    /// sources, in grant order: `jira:acme user`, `confluence:acme admin`, `statuspage user`,
    /// `platform org-admin`. A product Steward does not know shows its raw key.
    pub fn access_summary(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in &self.grants {
            let product: &str = match g.product {
                Some(p) => p.as_str(),
                None => &g.product_key,
            };
            let label = match &g.site {
                Some(site) => format!("{product}:{site} {}", g.short_role()),
                None => format!("{product} {}", g.short_role()),
            };
            if !out.contains(&label) {
                out.push(label);
            }
        }
        out
    }
}

/// Selects people for [`people`]; every condition set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleFilter {
    /// Holds a grant on a resource of this product. With `role`: holds that role on it.
    pub product: Option<Product>,
    /// Holds this role (through any source); `user` matches `atlassian/user` too.
    pub role: Option<String>,
    /// Has this composite status (`active`, `suspended`, …), compared exactly.
    pub status: Option<String>,
    /// No activity in any product during the last this many days before `now` (activity
    /// exactly that many days ago counts as inactive), or never active.
    pub inactive_for_days: Option<u32>,
    /// The instant inactivity is measured from; `None` means the current time.
    pub now: Option<DateTime<Utc>>,
}

impl PeopleFilter {
    fn matches(&self, p: &Person, now: DateTime<Utc>) -> bool {
        if self.status.as_ref().is_some_and(|s| *s != p.status) {
            return false;
        }
        if self.product.is_some() || self.role.is_some() {
            let role_ok = |role: &str| {
                self.role
                    .as_deref()
                    .is_none_or(|want| role == want || short_role(role) == want)
            };
            let held = p.grants.iter().any(|g| {
                self.product.is_none_or(|want| g.product == Some(want)) && role_ok(&g.role)
            });
            if !held {
                return false;
            }
        }
        if let Some(days) = self.inactive_for_days {
            let cutoff = now - Duration::days(i64::from(days));
            if p.last_active_at.is_some_and(|at| at > cutoff) {
                return false;
            }
        }
        true
    }
}

/// Errors of the access views.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The store could not be read.
    #[error("cannot read the snapshot")]
    Store(#[source] steward_store::Error),
}

impl From<steward_store::Error> for AccessError {
    fn from(e: steward_store::Error) -> Self {
        AccessError::Store(e)
    }
}

/// Every account of the snapshot matching `filter`, with its access, sorted by email (accounts
/// without one last) then account id.
///
/// Reads each table of the snapshot once (about ten queries whatever the org's size) and
/// joins them in memory. Read-only; safe to run while a sync writes a newer run.
///
/// # Errors
/// [`AccessError::Store`] when a table cannot be read.
pub async fn people(
    snapshot: &Snapshot,
    filter: &PeopleFilter,
) -> Result<Vec<Person>, AccessError> {
    let accounts = snapshot.accounts(&AccountFilter::default()).await?;
    let tables = Tables {
        sites: snapshot.sites().await?,
        resources: snapshot.resources().await?,
        groups: snapshot.groups().await?,
        memberships: snapshot.group_memberships().await?,
        grants: snapshot.role_assignments().await?,
        sp_members: snapshot.statuspage_members().await?,
        sp_permissions: snapshot.statuspage_permissions().await?,
        jsm: snapshot.jsm_customers().await?,
        last_active: snapshot.last_active().await?,
    };
    let now = filter.now.unwrap_or_else(Utc::now);
    Ok(tables
        .join(accounts)
        .into_iter()
        .filter(|p| filter.matches(p, now))
        .collect())
}

/// The account with this email (compared case-insensitively) with its access, or `None`. If
/// several accounts share the address, the smallest account id wins.
///
/// Reads the account's own grants, groups, JSM desks and last-active records, and the small
/// org-wide tables (sites, resources, groups, Statuspage team).
///
/// # Errors
/// [`AccessError::Store`] when a table cannot be read.
pub async fn person(snapshot: &Snapshot, email: &str) -> Result<Option<Person>, AccessError> {
    let Some(account) = snapshot.account_by_email(email).await? else {
        return Ok(None);
    };
    let id = account.account_id.clone();
    let memberships = snapshot
        .groups_of(&id)
        .await?
        .into_iter()
        .map(|g| GroupMembershipRow {
            group_id: g.group_id,
            account_id: id.clone(),
        })
        .collect();
    let jsm = snapshot.jsm_customers_of(&id).await?;
    let last_active = snapshot.last_active_of(&id).await?;
    let tables = Tables {
        sites: snapshot.sites().await?,
        resources: snapshot.resources().await?,
        groups: snapshot.groups().await?,
        memberships,
        grants: snapshot.grants_of(&id).await?,
        sp_members: snapshot.statuspage_members().await?,
        sp_permissions: snapshot.statuspage_permissions().await?,
        jsm,
        last_active,
    };
    Ok(tables.join(vec![account]).into_iter().next())
}

/// The snapshot tables a [`Person`] is joined from (whole, or already narrowed to the
/// accounts being joined).
struct Tables {
    sites: Vec<SiteRow>,
    resources: Vec<ResourceRow>,
    groups: Vec<GroupRow>,
    memberships: Vec<GroupMembershipRow>,
    grants: Vec<RoleAssignmentRow>,
    sp_members: Vec<StatuspageMemberRow>,
    sp_permissions: Vec<StatuspagePermissionRow>,
    jsm: Vec<JsmCustomerRow>,
    last_active: Vec<LastActiveRow>,
}

impl Tables {
    /// One [`Person`] per account, in the accounts' order. Builds one index per table, then
    /// looks each account up: O(rows + accounts).
    fn join(self, accounts: Vec<AccountRow>) -> Vec<Person> {
        let site_names: HashMap<&str, &str> = self
            .sites
            .iter()
            .map(|s| (s.cloud_id.as_str(), s.name.as_str()))
            .collect();
        let resources: HashMap<&str, &ResourceRow> =
            self.resources.iter().map(|r| (r.ari.as_str(), r)).collect();
        let group_names: HashMap<&str, &str> = self
            .groups
            .iter()
            .map(|g| (g.group_id.as_str(), g.name.as_str()))
            .collect();

        let mut grants: HashMap<&str, Vec<Grant>> = HashMap::new();
        for r in &self.grants {
            let resource = resources.get(r.resource_ari.as_str());
            let product_key = resource.map_or("unknown", |res| res.product.as_str());
            let site = resource
                .and_then(|res| res.site.as_deref())
                .and_then(|cloud| site_names.get(cloud))
                .map(|name| (*name).to_owned());
            let source = match &r.source {
                GrantSource::Direct => Source::Direct,
                GrantSource::Inferred => Source::Inferred,
                GrantSource::Group { group_id } => Source::Group {
                    group_id: group_id.clone(),
                    group_name: group_names.get(group_id.as_str()).map(|n| (*n).to_owned()),
                },
            };
            grants
                .entry(r.account_id.as_str())
                .or_default()
                .push(Grant {
                    product: Product::from_key(product_key),
                    product_key: product_key.to_owned(),
                    resource: r.resource_ari.clone(),
                    site,
                    role: r.role.clone(),
                    source,
                });
        }

        let mut groups: HashMap<&str, Vec<GroupRef>> = HashMap::new();
        for m in &self.memberships {
            groups
                .entry(m.account_id.as_str())
                .or_default()
                .push(GroupRef {
                    group_id: m.group_id.clone(),
                    name: group_names
                        .get(m.group_id.as_str())
                        .map_or_else(|| m.group_id.clone(), |n| (*n).to_owned()),
                });
        }

        let mut pages: HashMap<&str, Vec<PagePermission>> = HashMap::new();
        for p in &self.sp_permissions {
            pages
                .entry(p.sp_user_id.as_str())
                .or_default()
                .push(PagePermission {
                    page_id: p.page_id.clone(),
                    page_configuration: p.page_configuration,
                    incident_manager: p.incident_manager,
                    maintenance_manager: p.maintenance_manager,
                });
        }
        // Linked by account id first; a member Statuspage could not link is matched by email.
        let mut sp_by_account: HashMap<&str, &StatuspageMemberRow> = HashMap::new();
        let mut sp_by_email: HashMap<String, &StatuspageMemberRow> = HashMap::new();
        for m in &self.sp_members {
            match &m.account_id {
                Some(id) => {
                    sp_by_account.entry(id.as_str()).or_insert(m);
                }
                None => {
                    sp_by_email.entry(m.email.to_lowercase()).or_insert(m);
                }
            }
        }

        let mut jsm: HashMap<&str, Vec<JsmDesk>> = HashMap::new();
        for c in &self.jsm {
            jsm.entry(c.account_id.as_str()).or_default().push(JsmDesk {
                site: site_names
                    .get(c.site.as_str())
                    .map_or_else(|| c.site.clone(), |n| (*n).to_owned()),
                cloud_id: c.site.clone(),
                service_desk_id: c.service_desk_id.clone(),
            });
        }

        type Activity = (BTreeMap<Product, DateTime<Utc>>, Option<DateTime<Utc>>);
        let mut activity: HashMap<&str, Activity> = HashMap::new();
        for r in &self.last_active {
            let product = resources
                .get(r.resource.as_str())
                .map_or(r.resource.as_str(), |res| res.product.as_str());
            let entry = activity.entry(r.account_id.as_str()).or_default();
            if let Some(product) = Product::from_key(product) {
                let at = entry.0.entry(product).or_insert(r.at);
                *at = (*at).max(r.at);
            }
            entry.1 = Some(entry.1.map_or(r.at, |at| at.max(r.at)));
        }

        accounts
            .into_iter()
            .map(|a| {
                let id = a.account_id.as_str();
                let mut grants = grants.remove(id).unwrap_or_default();
                grants.sort_by(|x, y| {
                    (x.product, &x.site, &x.resource, &x.role, &x.source).cmp(&(
                        y.product,
                        &y.site,
                        &y.resource,
                        &y.role,
                        &y.source,
                    ))
                });
                let mut groups = groups.remove(id).unwrap_or_default();
                groups.sort_by(|x, y| (&x.name, &x.group_id).cmp(&(&y.name, &y.group_id)));
                let member = sp_by_account.get(id).copied().or_else(|| {
                    a.email
                        .as_ref()
                        .and_then(|e| sp_by_email.get(&e.to_lowercase()).copied())
                });
                let statuspage = member.map(|m| {
                    let mut pages = pages
                        .get(m.sp_user_id.as_str())
                        .cloned()
                        .unwrap_or_default();
                    pages.sort_by(|x, y| x.page_id.cmp(&y.page_id));
                    StatuspageAccess {
                        user_id: m.sp_user_id.clone(),
                        email: m.email.clone(),
                        pages,
                    }
                });
                let mut desks = jsm.remove(id).unwrap_or_default();
                desks.sort();
                let (last_active, last_active_at) = activity.remove(id).unwrap_or_default();
                Person {
                    account_id: a.account_id,
                    email: a.email,
                    name: a.name,
                    account_type: a.account_type,
                    status: a.status,
                    account_status: a.account_status,
                    claim_status: a.claim_status,
                    management_source: a.management_source,
                    grants,
                    groups,
                    statuspage,
                    jsm_customer_of: desks,
                    last_active,
                    last_active_at,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_keys_of_every_api_map_to_one_product() {
        assert_eq!(Product::from_key("jira-software"), Some(Product::Jira));
        assert_eq!(Product::from_key("jira-servicedesk"), Some(Product::Jsm));
        assert_eq!(Product::from_key("jira-service-desk"), Some(Product::Jsm));
        assert_eq!(
            Product::from_key("jira-product-discovery"),
            Some(Product::Jpd)
        );
        assert_eq!(Product::from_key("confluence"), Some(Product::Confluence));
        assert_eq!(Product::from_key("statuspage"), Some(Product::Statuspage));
        assert_eq!(Product::from_key("platform"), Some(Product::Platform));
        assert_eq!(Product::from_key("bitbucket"), None);
        for (p, name) in Product::ALL.into_iter().zip(Product::NAMES) {
            assert_eq!(p.as_str(), name);
            assert_eq!(Product::parse(name), Some(p));
            assert_eq!(serde_json::to_value(p).ok(), Some(serde_json::json!(name)));
        }
    }

    #[test]
    fn a_group_source_names_the_group() {
        let s = Source::Group {
            group_id: "g1".into(),
            group_name: Some("engineering".into()),
        };
        assert_eq!(s.to_string(), "through group engineering");
        assert_eq!(
            serde_json::to_value(&s).ok(),
            Some(
                serde_json::json!({"type": "group", "group_id": "g1", "group_name": "engineering"})
            )
        );
        assert_eq!(
            serde_json::to_value(Source::Direct).ok(),
            Some(serde_json::json!({"type": "direct"}))
        );
    }
}
