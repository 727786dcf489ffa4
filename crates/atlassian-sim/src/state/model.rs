//! The simulated organization's data types. One [`World`](super::World) holds all of them; every
//! API family reads and writes the same values, so a change made through one API is visible
//! through every other.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Index of an account in [`World::accounts`](super::World).
pub type AccountIx = u32;
/// Index of a group in [`World::groups`](super::World).
pub type GroupIx = u32;
/// Index of a resource (one product on one site) in [`World::resources`](super::World).
pub type ResourceIx = u16;
/// Index of a site in [`World::sites`](super::World).
pub type SiteIx = u16;
/// Index of a directory in [`World::directories`](super::World).
pub type DirIx = u16;

/// Which user-management experience the org uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Centralized user management: one directory, access expressed as roles on resources,
    /// granted directly or through groups.
    Centralized,
    /// Original user management: one directory per site, access through each product's default
    /// groups (e.g. `jira-software-users-<site>`).
    Original,
}

/// A product whose access is expressed as roles on a resource `ari:cloud:<key>::site/<cloudId>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Product {
    /// Jira (Software); key `jira-software`.
    JiraSoftware,
    /// Jira Service Management; key `jira-servicedesk`.
    JiraServiceDesk,
    /// Jira Product Discovery; key `jira-product-discovery`.
    JiraProductDiscovery,
    /// Confluence; key `confluence`.
    Confluence,
    /// Statuspage; key `statuspage`.
    Statuspage,
    /// The site itself (site admin role); key `platform`.
    Platform,
}

impl Product {
    /// Every product, in a stable order.
    pub const ALL: [Product; 6] = [
        Product::JiraSoftware,
        Product::JiraServiceDesk,
        Product::JiraProductDiscovery,
        Product::Confluence,
        Product::Statuspage,
        Product::Platform,
    ];

    /// The product key used in ARIs, `resourceOwner`, `typeKey` and Jira application keys.
    pub fn key(self) -> &'static str {
        match self {
            Product::JiraSoftware => "jira-software",
            Product::JiraServiceDesk => "jira-servicedesk",
            Product::JiraProductDiscovery => "jira-product-discovery",
            Product::Confluence => "confluence",
            Product::Statuspage => "statuspage",
            Product::Platform => "platform",
        }
    }

    /// Parses a product key (`jira-software`, ...). The Org v1 spelling `jira-service-desk` is
    /// accepted too.
    pub fn from_key(key: &str) -> Option<Product> {
        Some(match key {
            "jira-software" => Product::JiraSoftware,
            "jira-servicedesk" | "jira-service-desk" => Product::JiraServiceDesk,
            "jira-product-discovery" => Product::JiraProductDiscovery,
            "confluence" => Product::Confluence,
            "statuspage" => Product::Statuspage,
            "platform" => Product::Platform,
            _ => return None,
        })
    }

    /// Human product name, as the workspaces API and Jira's applicationrole show it.
    pub fn display_name(self) -> &'static str {
        match self {
            Product::JiraSoftware => "Jira",
            Product::JiraServiceDesk => "Jira Service Management",
            Product::JiraProductDiscovery => "Jira Product Discovery",
            Product::Confluence => "Confluence",
            Product::Statuspage => "Statuspage",
            Product::Platform => "Platform",
        }
    }

    /// Whether this is one of the Jira-family applications (served by a site's Jira).
    pub fn is_jira_family(self) -> bool {
        matches!(
            self,
            Product::JiraSoftware | Product::JiraServiceDesk | Product::JiraProductDiscovery
        )
    }

    /// The roles that can be granted on this product's resource.
    pub fn grantable_roles(self) -> &'static [Role] {
        match self {
            Product::JiraSoftware => &[Role::User, Role::Admin, Role::UserAccessAdmin],
            Product::JiraServiceDesk => &[
                Role::User,
                Role::Admin,
                Role::Customer,
                Role::Stakeholder,
                Role::UserAccessAdmin,
            ],
            Product::JiraProductDiscovery => &[
                Role::User,
                Role::Admin,
                Role::Contributor,
                Role::UserAccessAdmin,
            ],
            Product::Confluence => &[Role::User, Role::Admin, Role::Guest, Role::UserAccessAdmin],
            Product::Statuspage => &[Role::User, Role::Admin],
            Product::Platform => &[Role::SiteAdmin],
        }
    }
}

/// A canonical Atlassian role id (`atlassian/user`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// `atlassian/user`: app access (billable).
    User,
    /// `atlassian/admin`: app access plus app admin (billable).
    Admin,
    /// `atlassian/guest`: Confluence guest, one space.
    Guest,
    /// `atlassian/customer`: JSM help-center customer (not billable).
    Customer,
    /// `atlassian/user-access-admin`: manages users of the app, no app access.
    UserAccessAdmin,
    /// `atlassian/contributor`: JPD contributor (not billable).
    Contributor,
    /// `atlassian/basic`.
    Basic,
    /// `atlassian/stakeholder`: JSM stakeholder (not billable).
    Stakeholder,
    /// `atlassian/viewer`.
    Viewer,
    /// `atlassian/site-admin` on `ari:cloud:platform::site/<cloudId>`.
    SiteAdmin,
    /// `atlassian/org-admin` (org-level; no resource).
    OrgAdmin,
}

impl Role {
    /// The role id, e.g. `atlassian/user`.
    pub fn id(self) -> &'static str {
        match self {
            Role::User => "atlassian/user",
            Role::Admin => "atlassian/admin",
            Role::Guest => "atlassian/guest",
            Role::Customer => "atlassian/customer",
            Role::UserAccessAdmin => "atlassian/user-access-admin",
            Role::Contributor => "atlassian/contributor",
            Role::Basic => "atlassian/basic",
            Role::Stakeholder => "atlassian/stakeholder",
            Role::Viewer => "atlassian/viewer",
            Role::SiteAdmin => "atlassian/site-admin",
            Role::OrgAdmin => "atlassian/org-admin",
        }
    }

    /// Parses a role id.
    pub fn from_id(id: &str) -> Option<Role> {
        Some(match id {
            "atlassian/user" => Role::User,
            "atlassian/admin" => Role::Admin,
            "atlassian/guest" => Role::Guest,
            "atlassian/customer" => Role::Customer,
            "atlassian/user-access-admin" => Role::UserAccessAdmin,
            "atlassian/contributor" => Role::Contributor,
            "atlassian/basic" => Role::Basic,
            "atlassian/stakeholder" => Role::Stakeholder,
            "atlassian/viewer" => Role::Viewer,
            "atlassian/site-admin" => Role::SiteAdmin,
            "atlassian/org-admin" => Role::OrgAdmin,
            _ => return None,
        })
    }

    /// Whether holding this role takes a licence seat of the product.
    pub fn is_billable(self) -> bool {
        matches!(self, Role::User | Role::Admin)
    }
}

/// `accountType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountType {
    /// A person's Atlassian account.
    Atlassian,
    /// An app (bot) account.
    App,
    /// A JSM portal-only customer (`qm:` account id, one site, cannot join groups).
    Customer,
}

impl AccountType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Atlassian => "atlassian",
            AccountType::App => "app",
            AccountType::Customer => "customer",
        }
    }
}

/// `accountStatus`: the Atlassian account itself, across all orgs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Can log in.
    Active,
    /// Deactivated (lifecycle disable, or pending deletion).
    Inactive,
    /// Closed (deleted).
    Closed,
}

impl AccountStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Inactive => "inactive",
            AccountStatus::Closed => "closed",
        }
    }
}

/// An account's membership in one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// Member with access.
    Active,
    /// Suspended: no access, not billed; roles and groups kept for restore.
    Suspended,
}

/// `managementSource`: how the account entered the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagementSource {
    /// Invited by an admin (changeable through the API).
    Invited,
    /// Synced from an identity provider (SCIM): read-only through the admin APIs.
    Synced,
}

/// One account (person, app or portal-only customer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// `accountId`: `5b10ac8d82e05b22cc7d4ef5`, `712020:<uuid>`, or `qm:<uuid>:<hex>`.
    pub id: String,
    /// `accountType`.
    pub kind: AccountType,
    /// Email (lower case). Apps have none.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// Nickname (public name).
    pub nickname: String,
    /// `accountStatus`.
    pub status: AccountStatus,
    /// Membership per directory; absent means no membership.
    pub directories: BTreeMap<DirIx, Membership>,
    /// Pending deletion: when the 14-day grace period ends.
    pub delete_after: Option<DateTime<Utc>>,
    /// When the account was deactivated.
    pub deactivated_on: Option<DateTime<Utc>>,
    /// When the account joined the org.
    pub added_to_org: DateTime<Utc>,
    /// Whether MFA is enrolled.
    pub mfa_enabled: bool,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// How the account entered the org.
    pub source: ManagementSource,
    /// Job title, department, location and time zone (profile fields).
    pub profile: Profile,
    /// Roles granted directly to the account: (resource, role).
    pub direct_roles: BTreeSet<(ResourceIx, Role)>,
    /// Groups the account belongs to.
    pub groups: BTreeSet<GroupIx>,
    /// Holds the org-admin platform role.
    pub org_admin: bool,
    /// Last activity per resource.
    pub last_active: BTreeMap<ResourceIx, DateTime<Utc>>,
    /// For portal-only customers: the site whose help center they belong to.
    pub customer_site: Option<SiteIx>,
    /// For apps: the app type (`service`, `agent`, ...).
    pub app_type: Option<String>,
    /// Locale, e.g. `en_US`.
    pub locale: String,
}

/// Profile fields shown by the user-management and directory APIs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Organization (company) name.
    pub organization: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// IANA time zone.
    pub time_zone: String,
    /// Phone number.
    pub phone_number: Option<String>,
}

/// `managedBy` of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupManagedBy {
    /// Managed by admins.
    Admins,
    /// Synced from an identity provider.
    External,
}

/// One group. Groups are site-wide (shared by Jira and Confluence on a site) and belong to one
/// directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    /// Group id (UUID).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The directory holding the group.
    pub directory: DirIx,
    /// Created by IdP sync: membership and deletion are refused through the API.
    pub external: bool,
    /// A product default group (e.g. `jira-software-users-acme`) or a platform admin group:
    /// cannot be deleted.
    pub default_for: Option<(ResourceIx, Role)>,
    /// The org-admins / site-admins group: cannot be deleted.
    pub protected: bool,
    /// Roles the group grants to its members: (resource, role).
    pub roles: BTreeSet<(ResourceIx, Role)>,
    /// Members.
    pub members: BTreeSet<AccountIx>,
    /// Deleted groups stay as tombstones so indexes remain stable.
    pub deleted: bool,
}

/// A directory ("userbase"): one per org under centralized user management, one per site under
/// the original experience.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Directory {
    /// `directoryId`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// For original-experience orgs, the site this directory belongs to.
    pub site: Option<SiteIx>,
}

/// One product on one site (or the Statuspage "site"): an ARI that roles are granted on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    /// The product.
    pub product: Product,
    /// The cloud id after `site/` in the ARI.
    pub cloud_id: String,
    /// The site (none for Statuspage).
    pub site: Option<SiteIx>,
    /// Licence seats; `None` means unlimited.
    pub seats: Option<u32>,
    /// Workspace name.
    pub name: String,
    /// Plan name (`FREE`, `STANDARD`, `PREMIUM`, `ENTERPRISE`).
    pub plan: String,
    /// When the workspace was created.
    pub created_at: DateTime<Utc>,
}

impl Resource {
    /// `ari:cloud:<product>::site/<cloudId>`.
    pub fn ari(&self) -> String {
        format!("ari:cloud:{}::site/{}", self.product.key(), self.cloud_id)
    }
}

/// One Atlassian site (`<name>.atlassian.net`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Site {
    /// Sub-domain name, e.g. `acme`.
    pub name: String,
    /// Cloud id (UUID).
    pub cloud_id: String,
    /// The integration account's API token for this site (Basic auth with its email).
    pub api_token: String,
    /// Jira projects.
    pub projects: Vec<Project>,
    /// JSM service desks.
    pub service_desks: Vec<ServiceDesk>,
    /// JSM customer organizations.
    pub jsm_orgs: Vec<JsmOrganization>,
    /// Confluence spaces.
    pub spaces: Vec<Space>,
    /// Next numeric id for Confluence space permissions, JSM organizations, ...
    pub next_id: u64,
}

/// A Jira project with its project-role actors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    /// Numeric id.
    pub id: u64,
    /// Key, e.g. `ENG`.
    pub key: String,
    /// Name.
    pub name: String,
    /// `software`, `service_desk` or `product_discovery`.
    pub type_key: String,
    /// Actors per project role id.
    pub role_actors: BTreeMap<u64, BTreeSet<Actor>>,
}

/// A project-role or space-permission principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Actor {
    /// A user.
    User(AccountIx),
    /// A group.
    Group(GroupIx),
}

/// A JSM service desk (one per service project).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceDesk {
    /// Service desk id.
    pub id: u64,
    /// The Jira project id.
    pub project_id: u64,
    /// Project key.
    pub project_key: String,
    /// Project name.
    pub project_name: String,
    /// Customers of this desk.
    pub customers: BTreeSet<AccountIx>,
    /// JSM organizations attached to this desk.
    pub organizations: BTreeSet<u64>,
    /// Closed access (only listed customers may raise requests): required to remove customers.
    pub closed_access: bool,
}

/// A JSM customer organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsmOrganization {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Member accounts.
    pub members: BTreeSet<AccountIx>,
    /// Deleted (tombstone).
    pub deleted: bool,
}

/// A Confluence space with its classic permissions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Space {
    /// Numeric id.
    pub id: u64,
    /// Key, e.g. `ENG`.
    pub key: String,
    /// Name.
    pub name: String,
    /// `global` or `personal`.
    pub kind: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Permissions.
    pub permissions: Vec<SpacePermission>,
}

/// One classic space permission: a principal may do an operation on a target type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpacePermission {
    /// Id.
    pub id: u64,
    /// Who.
    pub principal: Actor,
    /// Operation key (`read`, `administer`, ...).
    pub operation: String,
    /// Target type (`space`, `page`, ...).
    pub target: String,
}

/// The Statuspage organization (team), its pages, and the page permissions of its members.
/// Team members are the accounts holding a Statuspage role; their permissions live here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statuspage {
    /// `organization_id`.
    pub organization_id: String,
    /// API key (`Authorization: OAuth <key>`).
    pub api_key: String,
    /// Pages.
    pub pages: Vec<StatusPage>,
    /// Team member record per account: Statuspage user id and timestamps.
    pub members: BTreeMap<AccountIx, StatuspageMember>,
}

/// A Statuspage page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusPage {
    /// Page id (12 lower-case alphanumerics).
    pub id: String,
    /// Name.
    pub name: String,
    /// Sub-domain.
    pub subdomain: String,
    /// Whether the page has role-based access control (role booleans in permissions).
    pub rbac: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A Statuspage team member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatuspageMember {
    /// Statuspage user id.
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// Page permissions: page id → the role flags (all false for pages without RBAC).
    pub pages: BTreeMap<String, PagePermission>,
}

/// Role flags on one page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagePermission {
    /// May configure the page.
    pub page_configuration: bool,
    /// May manage incidents.
    pub incident_manager: bool,
    /// May manage maintenances.
    pub maintenance_manager: bool,
}

/// One audit-log event (Org API events and events-stream).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Event id.
    pub id: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Action key, e.g. `user_added_to_group`.
    pub action: String,
    /// Who did it.
    pub actor: EventActor,
    /// What it touched: (id, type), e.g. (accountId, "users"), (groupId, "groups").
    pub context: Vec<(String, String)>,
    /// Where: (id, type), e.g. (cloudId, "sites").
    pub container: Vec<(String, String)>,
    /// Source IP.
    pub ip: String,
    /// Human message.
    pub message: String,
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    /// Account id of the actor.
    pub id: String,
    /// Display name.
    pub name: String,
}
