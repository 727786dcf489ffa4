//! The entitlement catalog: everything Steward can grant, derived from the latest snapshot.
//!
//! An [`Entitlement`] is one grantable thing (a product role on one site, a JSM service desk's
//! customers, a Statuspage page role, a directory group, and with [`CatalogConfig::platform_roles`]
//! site and org administration) with a stable, readable [`EntitlementId`]:
//!
//! | id | what |
//! |---|---|
//! | `jira:<site>/user\|admin` | Jira (`atlassian/user`, `atlassian/admin` on `jira-software`) |
//! | `confluence:<site>/user\|admin\|guest` | Confluence |
//! | `jsm:<site>/agent\|admin\|customer\|stakeholder` | JSM (agent = `atlassian/user`); `stakeholder` only where the snapshot shows the plan has it |
//! | `jsm:<site>/customer@<desk id>` | customer of one service desk |
//! | `jpd:<site>/creator\|contributor\|admin` | JPD (creator = `atlassian/user`) |
//! | `statuspage:<page id>/user\|admin\|page_configuration\|incident_manager\|maintenance_manager` | Statuspage team access to one page; the three page roles only where the snapshot shows the page has role-based access |
//! | `group:<name>` | membership of a directory group (`group:<name>@<directory id>` when the name is not unique) |
//! | `platform:<site>/site-admin`, `platform:org/org-admin` | platform roles, only when enabled |
//!
//! The catalog is a pure function of snapshot rows ([`Catalog::build`]); [`Catalog::from_snapshot`]
//! reads them. Ids print with [`EntitlementId`]'s `Display` and parse back with `FromStr`.
//! Each entitlement carries a [`Risk`] for auto-approval (low: JSM customer and stakeholder,
//! JPD contributor, Confluence guest; high: every admin role, platform roles and groups that
//! grant one; normal: the rest).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use steward_store::{
    GroupRoleRow, GroupRow, JsmCustomerRow, ResourceRow, RoleAssignmentRow, SiteRow, Snapshot,
    StatuspagePermissionRow,
};

use super::op::ORG_ADMIN;
use crate::access::Product;

/// `atlassian/user`: product access (Jira user, JSM agent, JPD creator, Statuspage user).
pub const ROLE_USER: &str = "atlassian/user";
/// `atlassian/admin`: product administration.
pub const ROLE_ADMIN: &str = "atlassian/admin";
/// `atlassian/guest`: Confluence guest.
pub const ROLE_GUEST: &str = "atlassian/guest";
/// `atlassian/customer`: JSM help-center customer.
pub const ROLE_CUSTOMER: &str = "atlassian/customer";
/// `atlassian/stakeholder`: JSM stakeholder (Premium and Enterprise plans).
pub const ROLE_STAKEHOLDER: &str = "atlassian/stakeholder";
/// `atlassian/contributor`: JPD contributor.
pub const ROLE_CONTRIBUTOR: &str = "atlassian/contributor";
/// `atlassian/site-admin`: site administration (on `ari:cloud:platform::site/<cloud id>`).
pub const ROLE_SITE_ADMIN: &str = "atlassian/site-admin";

/// The valid id forms, for error messages.
pub const ID_FORMS: &str = "jira:<site>/user|admin, confluence:<site>/user|admin|guest, \
     jsm:<site>/agent|admin|customer|stakeholder, jsm:<site>/customer@<desk id>, \
     jpd:<site>/creator|contributor|admin, \
     statuspage:<page>/user|admin|page_configuration|incident_manager|maintenance_manager, \
     group:<name>, platform:<site>/site-admin, platform:org/org-admin";

/// A role within a site product (the part after the `/` of a product id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProductRole {
    /// Jira or Confluence user.
    User,
    /// Product admin.
    Admin,
    /// Confluence guest.
    Guest,
    /// JSM agent.
    Agent,
    /// JSM customer (the role on the whole site).
    Customer,
    /// JSM stakeholder.
    Stakeholder,
    /// JPD creator.
    Creator,
    /// JPD contributor.
    Contributor,
}

impl ProductRole {
    /// The name in ids (`user`, `agent`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProductRole::User => "user",
            ProductRole::Admin => "admin",
            ProductRole::Guest => "guest",
            ProductRole::Agent => "agent",
            ProductRole::Customer => "customer",
            ProductRole::Stakeholder => "stakeholder",
            ProductRole::Creator => "creator",
            ProductRole::Contributor => "contributor",
        }
    }

    /// The Atlassian role id the Org API uses for it.
    pub fn role_id(self) -> &'static str {
        match self {
            ProductRole::User | ProductRole::Agent | ProductRole::Creator => ROLE_USER,
            ProductRole::Admin => ROLE_ADMIN,
            ProductRole::Guest => ROLE_GUEST,
            ProductRole::Customer => ROLE_CUSTOMER,
            ProductRole::Stakeholder => ROLE_STAKEHOLDER,
            ProductRole::Contributor => ROLE_CONTRIBUTOR,
        }
    }

    /// The roles a product offers, in display order (empty for Statuspage and Platform, which
    /// have their own id forms).
    pub fn of(product: Product) -> &'static [ProductRole] {
        match product {
            Product::Jira => &[ProductRole::User, ProductRole::Admin],
            Product::Confluence => &[ProductRole::User, ProductRole::Admin, ProductRole::Guest],
            Product::Jsm => &[
                ProductRole::Agent,
                ProductRole::Admin,
                ProductRole::Customer,
                ProductRole::Stakeholder,
            ],
            Product::Jpd => &[
                ProductRole::Creator,
                ProductRole::Contributor,
                ProductRole::Admin,
            ],
            Product::Statuspage | Product::Platform => &[],
        }
    }

    fn risk(self) -> Risk {
        match self {
            ProductRole::Admin => Risk::High,
            ProductRole::Guest
            | ProductRole::Customer
            | ProductRole::Stakeholder
            | ProductRole::Contributor => Risk::Low,
            ProductRole::User | ProductRole::Agent | ProductRole::Creator => Risk::Normal,
        }
    }
}

/// What a Statuspage entitlement gives on its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatuspageRole {
    /// Team member with access to the page (Statuspage `atlassian/user`).
    User,
    /// Statuspage product admin (`atlassian/admin`) with access to the page.
    Admin,
    /// May configure the page.
    PageConfiguration,
    /// May manage incidents.
    IncidentManager,
    /// May manage maintenances.
    MaintenanceManager,
}

impl StatuspageRole {
    /// Every role, in display order.
    pub const ALL: [StatuspageRole; 5] = [
        StatuspageRole::User,
        StatuspageRole::Admin,
        StatuspageRole::PageConfiguration,
        StatuspageRole::IncidentManager,
        StatuspageRole::MaintenanceManager,
    ];

    /// The name in ids.
    pub fn as_str(self) -> &'static str {
        match self {
            StatuspageRole::User => "user",
            StatuspageRole::Admin => "admin",
            StatuspageRole::PageConfiguration => "page_configuration",
            StatuspageRole::IncidentManager => "incident_manager",
            StatuspageRole::MaintenanceManager => "maintenance_manager",
        }
    }
}

/// The stable, readable id of an entitlement (see the module docs for the forms).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntitlementId {
    /// A role of a site product (`jira`, `confluence`, `jsm`, `jpd`).
    Product {
        /// The product (never Statuspage or Platform).
        product: Product,
        /// The site name.
        site: String,
        /// The role.
        role: ProductRole,
    },
    /// Customer of one JSM service desk.
    JsmDesk {
        /// The site name.
        site: String,
        /// The service desk id.
        service_desk_id: String,
    },
    /// Access to one Statuspage page.
    Statuspage {
        /// The page id.
        page: String,
        /// What on the page.
        role: StatuspageRole,
    },
    /// Membership of a group (`name` may end in `@<directory id>` when names repeat).
    Group {
        /// The group name as the id shows it.
        name: String,
    },
    /// Site admin of one site.
    SiteAdmin {
        /// The site name.
        site: String,
    },
    /// Organization admin.
    OrgAdmin,
}

impl fmt::Display for EntitlementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntitlementId::Product {
                product,
                site,
                role,
            } => write!(f, "{product}:{site}/{}", role.as_str()),
            EntitlementId::JsmDesk {
                site,
                service_desk_id,
            } => write!(f, "jsm:{site}/customer@{service_desk_id}"),
            EntitlementId::Statuspage { page, role } => {
                write!(f, "statuspage:{page}/{}", role.as_str())
            }
            EntitlementId::Group { name } => write!(f, "group:{name}"),
            EntitlementId::SiteAdmin { site } => write!(f, "platform:{site}/site-admin"),
            EntitlementId::OrgAdmin => f.write_str("platform:org/org-admin"),
        }
    }
}

impl Serialize for EntitlementId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A malformed entitlement id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an entitlement id: {reason} (valid forms: {ID_FORMS})")]
pub struct EntitlementIdError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl EntitlementId {
    /// Parses an id (same as `FromStr`).
    ///
    /// # Errors
    /// [`EntitlementIdError`] naming what is wrong and listing the valid forms.
    pub fn parse(input: &str) -> Result<Self, EntitlementIdError> {
        let fail = |reason: String| EntitlementIdError {
            input: input.to_owned(),
            reason,
        };
        let (scheme, rest) = input
            .split_once(':')
            .ok_or_else(|| fail("it has no `<kind>:` prefix".to_owned()))?;
        if rest.is_empty() {
            return Err(fail(format!("nothing follows `{scheme}:`")));
        }
        let target_role = || {
            rest.rsplit_once('/')
                .filter(|(t, r)| !t.is_empty() && !r.is_empty())
                .ok_or_else(|| fail(format!("expected `{scheme}:<name>/<role>`")))
        };
        match scheme {
            "group" => Ok(EntitlementId::Group {
                name: rest.to_owned(),
            }),
            "platform" => {
                let (site, role) = target_role()?;
                match (site, role) {
                    ("org", "org-admin") => Ok(EntitlementId::OrgAdmin),
                    (site, "site-admin") => Ok(EntitlementId::SiteAdmin {
                        site: site.to_owned(),
                    }),
                    (_, role) => Err(fail(format!(
                        "unknown platform role {role:?} (site-admin on a site, org-admin on org)"
                    ))),
                }
            }
            "statuspage" => {
                let (page, role) = target_role()?;
                let role = StatuspageRole::ALL
                    .into_iter()
                    .find(|r| r.as_str() == role)
                    .ok_or_else(|| {
                        fail(format!(
                            "unknown Statuspage role {role:?} (one of {})",
                            StatuspageRole::ALL.map(StatuspageRole::as_str).join(", ")
                        ))
                    })?;
                Ok(EntitlementId::Statuspage {
                    page: page.to_owned(),
                    role,
                })
            }
            "jira" | "confluence" | "jsm" | "jpd" => {
                let product = Product::parse(scheme)
                    .ok_or_else(|| fail(format!("unknown product {scheme:?}")))?;
                let (site, role) = target_role()?;
                if product == Product::Jsm
                    && let Some(desk) = role.strip_prefix("customer@")
                {
                    if desk.is_empty() {
                        return Err(fail("no service desk id after `customer@`".to_owned()));
                    }
                    return Ok(EntitlementId::JsmDesk {
                        site: site.to_owned(),
                        service_desk_id: desk.to_owned(),
                    });
                }
                let roles = ProductRole::of(product);
                let role = roles
                    .iter()
                    .copied()
                    .find(|r| r.as_str() == role)
                    .ok_or_else(|| {
                        fail(format!(
                            "unknown {product} role {role:?} (one of {})",
                            roles
                                .iter()
                                .map(|r| r.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                Ok(EntitlementId::Product {
                    product,
                    site: site.to_owned(),
                    role,
                })
            }
            other => Err(fail(format!(
                "unknown kind {other:?} (one of jira, confluence, jsm, jpd, statuspage, group, \
                 platform)"
            ))),
        }
    }
}

impl FromStr for EntitlementId {
    type Err = EntitlementIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntitlementId::parse(s)
    }
}

/// How risky granting an entitlement is (drives auto-approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Non-billable, customer-level access (JSM customer, JPD contributor, Confluence guest).
    Low,
    /// Ordinary product access.
    Normal,
    /// Administration (admin roles, platform roles, groups granting them).
    High,
}

impl Risk {
    /// `low`, `normal`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Normal => "normal",
            Risk::High => "high",
        }
    }
}

/// What granting an entitlement does, in Atlassian's terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntitlementKind {
    /// A role on a resource (product roles, site admin, org admin on the org's ARI).
    Role {
        /// The resource ARI.
        resource: String,
        /// The role id (`atlassian/user`, …).
        role: String,
    },
    /// Customer of one JSM service desk.
    JsmCustomer {
        /// The site name.
        site: String,
        /// The service desk id.
        service_desk_id: String,
    },
    /// Statuspage: the product role, team membership, and access to one page with roles.
    StatuspagePage {
        /// The Statuspage resource ARI.
        resource: String,
        /// The Statuspage product role (`atlassian/user` or `atlassian/admin`).
        product_role: String,
        /// The page id.
        page_id: String,
        /// Grants page configuration.
        page_configuration: bool,
        /// Grants incident management.
        incident_manager: bool,
        /// Grants maintenance management.
        maintenance_manager: bool,
    },
    /// Membership of a directory group.
    Group {
        /// The group id.
        group_id: String,
        /// The group name.
        group_name: String,
    },
}

/// One grantable thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    /// Its id.
    pub id: EntitlementId,
    /// The product (`None` for groups).
    pub product: Option<Product>,
    /// The site name (`None` for Statuspage, groups and org admin).
    pub site: Option<String>,
    /// The resource ARI (`None` for groups).
    pub resource: Option<String>,
    /// What granting it does.
    pub kind: EntitlementKind,
    /// A human title (`Jira user on acme`).
    pub title: String,
    /// How risky it is.
    pub risk: Risk,
}

/// What the catalog includes beyond the snapshot's products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogConfig {
    /// Offer site admin and org admin (default off).
    pub platform_roles: bool,
}

/// The snapshot rows a catalog is derived from.
#[derive(Debug, Clone, Default)]
pub struct CatalogInput {
    /// The org id (for the org ARI of org admin), if known.
    pub org_id: Option<String>,
    /// Sites.
    pub sites: Vec<SiteRow>,
    /// Resources.
    pub resources: Vec<ResourceRow>,
    /// Groups.
    pub groups: Vec<GroupRow>,
    /// Group role assignments (a group's risk; stakeholder evidence).
    pub group_roles: Vec<GroupRoleRow>,
    /// Account role assignments (stakeholder evidence).
    pub role_assignments: Vec<RoleAssignmentRow>,
    /// Statuspage permissions (the pages).
    pub statuspage_permissions: Vec<StatuspagePermissionRow>,
    /// JSM customers (the service desks).
    pub jsm_customers: Vec<JsmCustomerRow>,
}

/// Why an entitlement could not be found or the catalog read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The id is malformed.
    #[error(transparent)]
    InvalidId(#[from] EntitlementIdError),
    /// The id is well formed but the catalog has no such entitlement.
    #[error("no entitlement {id} in this org{}; `steward entitlements` lists them", did_you_mean(.suggestions))]
    Unknown {
        /// What was asked for.
        id: String,
        /// The closest ids that exist.
        suggestions: Vec<String>,
    },
    /// The snapshot could not be read.
    #[error("cannot read the snapshot")]
    Store(#[source] steward_store::Error),
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(" or "))
    }
}

/// Every entitlement of one snapshot, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    entitlements: Vec<Entitlement>,
    /// The org's ARI (`ari:cloud:platform::org/<org id>`), when known.
    org_resource: Option<String>,
}

impl Catalog {
    /// Reads the latest snapshot's rows and builds the catalog.
    ///
    /// # Errors
    /// [`CatalogError::Store`].
    pub async fn from_snapshot(
        snapshot: &Snapshot,
        config: &CatalogConfig,
    ) -> Result<Catalog, CatalogError> {
        let input = async {
            Ok::<_, steward_store::Error>(CatalogInput {
                org_id: snapshot.org().await?.map(|o| o.org_id),
                sites: snapshot.sites().await?,
                resources: snapshot.resources().await?,
                groups: snapshot.groups().await?,
                group_roles: snapshot.group_roles().await?,
                role_assignments: snapshot.role_assignments().await?,
                statuspage_permissions: snapshot.statuspage_permissions().await?,
                jsm_customers: snapshot.jsm_customers().await?,
            })
        }
        .await
        .map_err(CatalogError::Store)?;
        Ok(Catalog::build(&input, config))
    }

    /// Builds the catalog from snapshot rows (pure). Resources on a site the snapshot does not
    /// know, and of products Steward does not manage, are left out. `jsm:<site>/stakeholder`
    /// is offered only when some account or group holds `atlassian/stakeholder` on that JSM
    /// (the snapshot does not record the plan; a stakeholder shows the plan has the role).
    /// Statuspage pages are those with at least one permission in the snapshot, named by id;
    /// their page roles (`page_configuration`, `incident_manager`, `maintenance_manager`) are
    /// offered only where some member holds one: a page without role-based access control has
    /// no roles to grant (every member with access can do everything, and Statuspage answers
    /// `{}` for its roles, which the sync stores as all `false`), and the snapshot does not
    /// record which pages have it, so a role holder is the proof, as for stakeholders.
    pub fn build(input: &CatalogInput, config: &CatalogConfig) -> Catalog {
        let site_names: BTreeMap<&str, &str> = input
            .sites
            .iter()
            .map(|s| (s.cloud_id.as_str(), s.name.as_str()))
            .collect();
        let stakeholders: BTreeSet<&str> = input
            .role_assignments
            .iter()
            .map(|r| (r.resource_ari.as_str(), r.role.as_str()))
            .chain(
                input
                    .group_roles
                    .iter()
                    .map(|r| (r.resource_ari.as_str(), r.role.as_str())),
            )
            .filter(|(_, role)| *role == ROLE_STAKEHOLDER)
            .map(|(ari, _)| ari)
            .collect();
        let mut out = Vec::new();
        for resource in &input.resources {
            let Some(product) = Product::from_key(&resource.product) else {
                continue;
            };
            let site = resource
                .site
                .as_deref()
                .and_then(|c| site_names.get(c).copied());
            match (product, site) {
                (Product::Statuspage, _) => {
                    statuspage_entitlements(&mut out, resource, &input.statuspage_permissions);
                }
                (Product::Platform, Some(site)) if config.platform_roles => {
                    out.push(Entitlement {
                        id: EntitlementId::SiteAdmin {
                            site: site.to_owned(),
                        },
                        product: Some(Product::Platform),
                        site: Some(site.to_owned()),
                        resource: Some(resource.ari.clone()),
                        kind: EntitlementKind::Role {
                            resource: resource.ari.clone(),
                            role: ROLE_SITE_ADMIN.to_owned(),
                        },
                        title: format!("Site admin of {site}"),
                        risk: Risk::High,
                    });
                }
                (Product::Platform, _) => {}
                (_, None) => {}
                (product, Some(site)) => {
                    for role in ProductRole::of(product) {
                        if *role == ProductRole::Stakeholder
                            && !stakeholders.contains(resource.ari.as_str())
                        {
                            continue;
                        }
                        out.push(Entitlement {
                            id: EntitlementId::Product {
                                product,
                                site: site.to_owned(),
                                role: *role,
                            },
                            product: Some(product),
                            site: Some(site.to_owned()),
                            resource: Some(resource.ari.clone()),
                            kind: EntitlementKind::Role {
                                resource: resource.ari.clone(),
                                role: role.role_id().to_owned(),
                            },
                            title: format!(
                                "{} {} on {site}",
                                product_title(product),
                                role.as_str()
                            ),
                            risk: role.risk(),
                        });
                    }
                    if product == Product::Jsm {
                        let desks: BTreeSet<&str> = input
                            .jsm_customers
                            .iter()
                            .filter(|c| resource.site.as_deref() == Some(c.site.as_str()))
                            .map(|c| c.service_desk_id.as_str())
                            .collect();
                        for desk in desks {
                            out.push(Entitlement {
                                id: EntitlementId::JsmDesk {
                                    site: site.to_owned(),
                                    service_desk_id: desk.to_owned(),
                                },
                                product: Some(Product::Jsm),
                                site: Some(site.to_owned()),
                                resource: Some(resource.ari.clone()),
                                kind: EntitlementKind::JsmCustomer {
                                    site: site.to_owned(),
                                    service_desk_id: desk.to_owned(),
                                },
                                title: format!("Customer of service desk {desk} on {site}"),
                                risk: Risk::Low,
                            });
                        }
                    }
                }
            }
        }
        let org_resource = input.org_id.as_ref().map(|o| org_ari(o));
        if config.platform_roles
            && let Some(org) = &org_resource
        {
            out.push(Entitlement {
                id: EntitlementId::OrgAdmin,
                product: Some(Product::Platform),
                site: None,
                resource: Some(org.clone()),
                kind: EntitlementKind::Role {
                    resource: org.clone(),
                    role: ORG_ADMIN.to_owned(),
                },
                title: "Organization admin".to_owned(),
                risk: Risk::High,
            });
        }
        group_entitlements(&mut out, input);
        out.sort_by_cached_key(|e| e.id.to_string());
        out.dedup_by(|a, b| a.id == b.id);
        Catalog {
            entitlements: out,
            org_resource,
        }
    }

    /// Every entitlement, sorted by id.
    pub fn entitlements(&self) -> &[Entitlement] {
        &self.entitlements
    }

    /// The org's ARI, when the snapshot recorded the org.
    pub fn org_resource(&self) -> Option<&str> {
        self.org_resource.as_deref()
    }

    /// The entitlement with this id.
    pub fn get(&self, id: &EntitlementId) -> Option<&Entitlement> {
        self.entitlements.iter().find(|e| &e.id == id)
    }

    /// Parses `id` and finds its entitlement.
    ///
    /// # Errors
    /// [`CatalogError::InvalidId`] for a malformed id; [`CatalogError::Unknown`] with the
    /// closest existing ids for one the catalog lacks.
    pub fn resolve(&self, id: &str) -> Result<&Entitlement, CatalogError> {
        let parsed = EntitlementId::parse(id.trim())?;
        self.get(&parsed).ok_or_else(|| CatalogError::Unknown {
            id: parsed.to_string(),
            suggestions: self.suggest(&parsed.to_string()),
        })
    }

    /// Resolves every id, in order.
    ///
    /// # Errors
    /// The first id that does not resolve (see [`Catalog::resolve`]).
    pub fn resolve_all<S: AsRef<str>>(&self, ids: &[S]) -> Result<Vec<Entitlement>, CatalogError> {
        ids.iter()
            .map(|id| self.resolve(id.as_ref()).cloned())
            .collect()
    }

    /// Up to three existing ids closest to `id` (edit distance, ties by id).
    fn suggest(&self, id: &str) -> Vec<String> {
        let mut scored: Vec<(usize, String)> = self
            .entitlements
            .iter()
            .map(|e| {
                let candidate = e.id.to_string();
                (edit_distance(id, &candidate), candidate)
            })
            .filter(|(d, _)| *d <= (id.len() / 3).max(3))
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, id)| id).collect()
    }
}

/// The org's ARI, which Organization admin is held on.
pub fn org_ari(org_id: &str) -> String {
    format!("ari:cloud:platform::org/{org_id}")
}

fn product_title(product: Product) -> &'static str {
    match product {
        Product::Jira => "Jira",
        Product::Confluence => "Confluence",
        Product::Jsm => "JSM",
        Product::Jpd => "JPD",
        Product::Statuspage => "Statuspage",
        Product::Platform => "Platform",
    }
}

fn statuspage_entitlements(
    out: &mut Vec<Entitlement>,
    resource: &ResourceRow,
    permissions: &[StatuspagePermissionRow],
) {
    let pages: BTreeSet<&str> = permissions.iter().map(|p| p.page_id.as_str()).collect();
    let with_roles: BTreeSet<&str> = permissions
        .iter()
        .filter(|p| p.page_configuration || p.incident_manager || p.maintenance_manager)
        .map(|p| p.page_id.as_str())
        .collect();
    for page in pages {
        for role in StatuspageRole::ALL {
            let page_role = match role {
                StatuspageRole::User | StatuspageRole::Admin => false,
                StatuspageRole::PageConfiguration
                | StatuspageRole::IncidentManager
                | StatuspageRole::MaintenanceManager => true,
            };
            if page_role && !with_roles.contains(page) {
                continue;
            }
            let product_role = if role == StatuspageRole::Admin {
                ROLE_ADMIN
            } else {
                ROLE_USER
            };
            out.push(Entitlement {
                id: EntitlementId::Statuspage {
                    page: page.to_owned(),
                    role,
                },
                product: Some(Product::Statuspage),
                site: None,
                resource: Some(resource.ari.clone()),
                kind: EntitlementKind::StatuspagePage {
                    resource: resource.ari.clone(),
                    product_role: product_role.to_owned(),
                    page_id: page.to_owned(),
                    page_configuration: role == StatuspageRole::PageConfiguration,
                    incident_manager: role == StatuspageRole::IncidentManager,
                    maintenance_manager: role == StatuspageRole::MaintenanceManager,
                },
                title: format!("Statuspage {} on page {page}", role.as_str()),
                risk: if role == StatuspageRole::Admin {
                    Risk::High
                } else {
                    Risk::Normal
                },
            });
        }
    }
}

fn group_entitlements(out: &mut Vec<Entitlement>, input: &CatalogInput) {
    let mut name_count: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &input.groups {
        *name_count.entry(g.name.as_str()).or_default() += 1;
    }
    for g in &input.groups {
        let roles: Vec<&GroupRoleRow> = input
            .group_roles
            .iter()
            .filter(|r| r.group_id == g.group_id)
            .collect();
        let risk = roles
            .iter()
            .map(|r| role_risk(&r.role))
            .max()
            .unwrap_or(Risk::Normal);
        let name = if name_count.get(g.name.as_str()).copied().unwrap_or(0) > 1 {
            format!(
                "{}@{}",
                g.name,
                g.directory_id.as_deref().unwrap_or(g.group_id.as_str())
            )
        } else {
            g.name.clone()
        };
        out.push(Entitlement {
            id: EntitlementId::Group { name },
            product: None,
            site: None,
            resource: None,
            kind: EntitlementKind::Group {
                group_id: g.group_id.clone(),
                group_name: g.name.clone(),
            },
            title: if g.external_synced {
                format!(
                    "Member of group {} (synced from the identity provider)",
                    g.name
                )
            } else {
                format!("Member of group {}", g.name)
            },
            risk,
        });
    }
}

/// The risk of holding a role id.
pub fn role_risk(role: &str) -> Risk {
    match role {
        ROLE_ADMIN | ROLE_SITE_ADMIN | ORG_ADMIN => Risk::High,
        ROLE_GUEST | ROLE_CUSTOMER | ROLE_STAKEHOLDER | ROLE_CONTRIBUTOR => Risk::Low,
        _ => Risk::Normal,
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        for id in [
            "jira:acme/user",
            "confluence:acme/guest",
            "jsm:acme/agent",
            "jsm:acme/stakeholder",
            "jsm:acme/customer@3",
            "jpd:acme/contributor",
            "statuspage:p1/incident_manager",
            "group:engineering",
            "group:site-admins@d-1",
            "platform:acme/site-admin",
            "platform:org/org-admin",
        ] {
            let parsed = EntitlementId::parse(id).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.to_string(), id);
        }
    }

    #[test]
    fn malformed_ids_say_what_is_wrong_and_list_the_forms() {
        for (id, says) in [
            ("jira", "no `<kind>:` prefix"),
            ("jira:acme", "expected `jira:<name>/<role>`"),
            (
                "jira:acme/guest",
                "unknown jira role \"guest\" (one of user, admin)",
            ),
            ("bitbucket:acme/user", "unknown kind \"bitbucket\""),
            ("jsm:acme/customer@", "no service desk id"),
            ("platform:acme/org-admin", "unknown platform role"),
            ("statuspage:p/viewer", "unknown Statuspage role"),
        ] {
            let err = EntitlementId::parse(id).err().map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(err.contains(says), "{err}");
            assert!(err.contains("valid forms: jira:<site>/user|admin"), "{err}");
        }
    }

    #[test]
    fn page_roles_are_offered_only_on_pages_shown_to_have_role_based_access() {
        let row = |page: &str, incident_manager: bool| StatuspagePermissionRow {
            sp_user_id: format!("sp-{page}"),
            page_id: page.into(),
            page_configuration: false,
            incident_manager,
            maintenance_manager: false,
        };
        let resource = ResourceRow {
            ari: "ari:cloud:statuspage::site/sp".into(),
            product: "statuspage".into(),
            site: None,
            seats: None,
        };
        let mut out = vec![];
        // `rbac` has a member with a role; `plain` (no role-based access) only access.
        statuspage_entitlements(
            &mut out,
            &resource,
            &[row("rbac", true), row("plain", false), row("rbac", false)],
        );
        let ids: Vec<String> = out.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(
            ids,
            [
                "statuspage:plain/user",
                "statuspage:plain/admin",
                "statuspage:rbac/user",
                "statuspage:rbac/admin",
                "statuspage:rbac/page_configuration",
                "statuspage:rbac/incident_manager",
                "statuspage:rbac/maintenance_manager",
            ]
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("jira:acme/user", "jira:acme/user"), 0);
        assert_eq!(edit_distance("jira:acm/user", "jira:acme/user"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
