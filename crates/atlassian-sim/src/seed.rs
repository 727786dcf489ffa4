//! Deterministic seed data: "Acme Corp", a realistic company on Atlassian Cloud.
//!
//! [`generate`] builds a whole [`World`] from a [`SeedConfig`]. Every choice comes from one
//! `ChaCha8Rng` seeded with [`SeedConfig::seed`] and from the world's own deterministic id
//! helpers, and every timestamp is [`epoch`] (2026-11-01T00:00:00Z) minus a random offset, so the
//! same configuration always gives the same world (its JSON is byte-identical) and the wall clock
//! is never read.
//!
//! What the world holds:
//! - the org (verified domain `acme.com`, paid) and its credentials; the integration account
//!   `steward-integration@acme.com` is an org admin with active membership in every directory;
//! - one directory ("Acme Corp") under centralized user management, or one per site (named
//!   after the site) under the original experience;
//! - sites `acme` (and `acme-eu` for the medium and large profiles), each with Jira, Jira Service
//!   Management, Jira Product Discovery, Confluence and the `platform` (site admin) resource,
//!   plus one Statuspage resource. Seats are sized from each site's population `p` (people
//!   with access to the site): Jira `0.9p`, Confluence `0.8p`, JSM `max(5, p/20)`, JPD
//!   `max(5, p/10)`; Statuspage 50 (0.35% of the users, in steps of 25, above 10,000 users).
//!   Every product keeps free seats (JSM about 10%, JPD about 30%, Jira and Confluence more);
//! - product default groups per site, `statuspage-users`, `site-admins` and `org-admins`,
//!   department groups (`engineering`, `sales`, ..., with `-emea` twins on `acme-eu`), IdP-synced
//!   groups (`okta-*`) and team, project and office groups filling the profile's group count;
//! - people (about 84% managed `@acme.com` employees, 12% contractors, 4% partners who are
//!   Confluence guests), apps and portal-only JSM customers, with suspended, deactivated, pending
//!   deletion and IdP-synced accounts, org and site admins, app admins, JSM agents and customers,
//!   JPD creators and contributors, and about 15% stale licences (last active months ago);
//! - Jira projects with role actors ([`PROJECT_ROLES`]), JSM service desks and customer
//!   organizations, Confluence spaces with classic permissions, and the Statuspage team with
//!   page permissions.
//!
//! Access follows the experience: under centralized user management mostly through department
//! groups that carry roles, plus some direct roles; under the original experience only through
//! the product default groups (no account holds a direct role). No resource is over its seats.
//!
//! **Licence-limit scenarios:** on the small profile Jira Service Management (`acme`) has 5 seats
//! of which 4 are used by agents: one more agent fits, the second one hits the licence limit.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::state::{
    Account, AccountIx, AccountStatus, AccountType, Actor, Credentials, DirIx, Directory, Event,
    EventActor, Group, GroupIx, JsmOrganization, ManagementSource, Membership, Mode, Org,
    PagePermission, Product, Profile, Project, Resource, ResourceIx, Role, ServiceDesk, Site,
    SiteIx, Space, SpacePermission, StatusPage, StatuspageMember, World,
};

/// How big an org to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SizeProfile {
    /// 60 users, one site (`acme`), 12 custom groups requested: the department, IdP-synced and
    /// role groups alone exceed that, so no team groups are added (16 custom groups and 25 in
    /// all under centralized user management, 14 and 23 under the original experience; about
    /// 1.5 group memberships per user, 3 under the original experience).
    Small,
    /// 5,000 users, two sites (`acme`, `acme-eu`), 300 custom groups, about 6 memberships per
    /// user.
    Medium,
    /// 50,000 users, two sites, 2,000 custom groups, about 400,000 memberships.
    Large,
}

impl SizeProfile {
    /// Number of Atlassian person accounts (including the integration account).
    pub fn users(self) -> usize {
        match self {
            SizeProfile::Small => 60,
            SizeProfile::Medium => 5_000,
            SizeProfile::Large => 50_000,
        }
    }

    /// Number of sites.
    pub fn sites(self) -> usize {
        match self {
            SizeProfile::Small => 1,
            SizeProfile::Medium | SizeProfile::Large => 2,
        }
    }

    /// Number of custom groups (department, IdP-synced, team, project and office groups); the
    /// product default groups and the admin groups come on top.
    pub fn custom_groups(self) -> usize {
        match self {
            SizeProfile::Small => 12,
            SizeProfile::Medium => 300,
            SizeProfile::Large => 2_000,
        }
    }

    /// Target number of group memberships per user. Team groups fill up to it; on the small
    /// profile there are none, so the required memberships are all there is.
    pub fn memberships_per_user(self) -> usize {
        match self {
            SizeProfile::Small => 2,
            SizeProfile::Medium => 6,
            SizeProfile::Large => 8,
        }
    }
}

/// What to generate. The same value always generates the same world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Size profile: number of sites, users, groups and memberships.
    pub profile: SizeProfile,
    /// Overrides the profile's number of users (at least 1). Groups and memberships then scale
    /// with it: custom groups ≈ users / 20 (at most 5,000), memberships ≈ 10 per user.
    pub users: Option<usize>,
    /// User-management experience.
    pub mode: Mode,
}

impl Default for SeedConfig {
    /// Seed 42, small, centralized.
    fn default() -> Self {
        SeedConfig {
            seed: 42,
            profile: SizeProfile::Small,
            users: None,
            mode: Mode::Centralized,
        }
    }
}

impl SeedConfig {
    /// Number of Atlassian person accounts to generate (at least 1: the integration account).
    pub fn user_count(&self) -> usize {
        self.users.unwrap_or(self.profile.users()).max(1)
    }

    /// Target number of custom groups (more are made when the required ones exceed it).
    pub fn custom_group_count(&self) -> usize {
        match self.users {
            Some(users) => (users / 20).min(5_000),
            None => self.profile.custom_groups(),
        }
    }

    /// Target number of group memberships over all groups.
    pub fn membership_target(&self) -> usize {
        let per_user = if self.users.is_some() {
            10
        } else {
            self.profile.memberships_per_user()
        };
        self.user_count() * per_user
    }
}

/// Jira project roles present on every site: (id, name, description).
pub const PROJECT_ROLES: &[(u64, &str, &str)] = &[
    (
        10001,
        "Member",
        "Members can browse, create and work on the project's work items.",
    ),
    (
        10002,
        "Administrators",
        "A project role that represents administrators in a project",
    ),
    (
        10003,
        "Viewer",
        "Viewers can browse the project and comment on its work items.",
    ),
    (
        10100,
        "Service Desk Team",
        "Members of this role are agents: they can work on requests in the service project.",
    ),
    (
        10101,
        "Service Desk Customers",
        "Members of this role can raise requests through the service project's portal.",
    ),
];

const ROLE_MEMBER: u64 = 10001;
const ROLE_ADMINISTRATORS: u64 = 10002;
const ROLE_VIEWER: u64 = 10003;
const ROLE_SD_TEAM: u64 = 10100;
const ROLE_SD_CUSTOMERS: u64 = 10101;

/// Seconds since the Unix epoch of 2026-11-01T00:00:00Z.
const EPOCH_SECS: i64 = 1_793_491_200;

/// The fixed "now" of generated data (2026-11-01T00:00:00Z): every generated timestamp is this
/// minus an offset (deletion dates of accounts pending deletion lie up to 14 days after it).
pub fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(EPOCH_SECS, 0).unwrap_or_default()
}

/// Generates the world described by `cfg`. Deterministic: the same `cfg` gives a world whose
/// `serde_json` serialization is byte-identical. The returned world is indexed.
pub fn generate(cfg: &SeedConfig) -> World {
    let mut g = Gen::new(cfg);
    g.org_sites_and_resources(cfg);
    g.people(cfg);
    g.apps_and_customers(cfg);
    g.seats(cfg);
    g.groups(cfg);
    g.access();
    g.team_memberships(cfg);
    g.activity();
    g.projects();
    g.service_desks();
    g.spaces();
    g.statuspage(cfg);
    g.events();
    let mut world = g.w;
    world.reindex();
    world
}

// ---- static data ------------------------------------------------------------------------------

const SITE_NAMES: [&str; 2] = ["acme", "acme-eu"];

/// Products of each site, in resource order.
const SITE_PRODUCTS: [Product; 5] = [
    Product::JiraSoftware,
    Product::JiraServiceDesk,
    Product::JiraProductDiscovery,
    Product::Confluence,
    Product::Platform,
];
const P_JSW: usize = 0;
const P_JSM: usize = 1;
const P_JPD: usize = 2;
const P_CONF: usize = 3;
const P_PLATFORM: usize = 4;

const JIRA: u8 = 1;
const CONF: u8 = 2;
const JPD: u8 = 4;

struct Dept {
    key: &'static str,
    name: &'static str,
    /// Share of employees (percent).
    employees: u32,
    /// Share of contractors (percent).
    contractors: u32,
    /// Products the whole department uses (JIRA | CONF | JPD).
    products: u8,
    /// Job titles; the last one is the manager title.
    titles: &'static [&'static str],
    /// Team names inside the department.
    teams: &'static [&'static str],
}

const D_ENGINEERING: usize = 0;
const D_PRODUCT: usize = 1;
const D_DESIGN: usize = 2;
const D_SUPPORT: usize = 3;
const D_SECURITY: usize = 8;
const D_IT: usize = 10;

const DEPTS: &[Dept] = &[
    Dept {
        key: "engineering",
        name: "Engineering",
        employees: 35,
        contractors: 60,
        products: JIRA | CONF,
        titles: &[
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Software Engineer",
            "Site Reliability Engineer",
            "QA Engineer",
            "Engineering Manager",
        ],
        teams: &[
            "platform",
            "payments",
            "mobile",
            "web",
            "data",
            "infra",
            "identity",
            "search",
            "billing",
            "api",
            "devex",
            "observability",
            "reliability",
            "frontend",
            "backend",
            "ml",
            "integrations",
            "growth",
            "core",
            "release",
        ],
    },
    Dept {
        key: "product",
        name: "Product Management",
        employees: 6,
        contractors: 0,
        products: JIRA | CONF | JPD,
        titles: &[
            "Product Manager",
            "Senior Product Manager",
            "Product Operations Analyst",
            "Director of Product",
        ],
        teams: &[
            "growth",
            "core",
            "platform",
            "enterprise",
            "insights",
            "mobile",
        ],
    },
    Dept {
        key: "design",
        name: "Design",
        employees: 4,
        contractors: 15,
        products: JIRA | CONF,
        titles: &[
            "Product Designer",
            "Senior Product Designer",
            "UX Researcher",
            "Design Manager",
        ],
        teams: &["systems", "research", "brand", "mobile", "web"],
    },
    Dept {
        key: "support",
        name: "Customer Support",
        employees: 10,
        contractors: 10,
        products: JIRA | CONF,
        titles: &[
            "Support Engineer",
            "Customer Support Specialist",
            "Technical Account Manager",
            "Support Team Lead",
        ],
        teams: &[
            "tier1",
            "tier2",
            "tier3",
            "enterprise",
            "escalations",
            "onboarding",
        ],
    },
    Dept {
        key: "sales",
        name: "Sales",
        employees: 14,
        contractors: 0,
        products: 0,
        titles: &[
            "Account Executive",
            "Sales Development Representative",
            "Sales Engineer",
            "Regional Sales Director",
        ],
        teams: &[
            "enterprise",
            "smb",
            "mid-market",
            "renewals",
            "partners",
            "latam",
            "public-sector",
        ],
    },
    Dept {
        key: "marketing",
        name: "Marketing",
        employees: 8,
        contractors: 15,
        products: JIRA | CONF,
        titles: &[
            "Marketing Manager",
            "Content Strategist",
            "Growth Marketer",
            "Director of Marketing",
        ],
        teams: &[
            "brand",
            "content",
            "demand-gen",
            "events",
            "product-marketing",
            "social",
        ],
    },
    Dept {
        key: "finance",
        name: "Finance",
        employees: 5,
        contractors: 0,
        products: 0,
        titles: &[
            "Financial Analyst",
            "Accountant",
            "Payroll Specialist",
            "Controller",
        ],
        teams: &[
            "fpa",
            "accounting",
            "payroll",
            "procurement",
            "tax",
            "treasury",
        ],
    },
    Dept {
        key: "people",
        name: "People",
        employees: 4,
        contractors: 0,
        products: CONF,
        titles: &[
            "People Partner",
            "Recruiter",
            "People Operations Specialist",
            "Head of Talent",
        ],
        teams: &["recruiting", "people-ops", "learning", "benefits", "dei"],
    },
    Dept {
        key: "security",
        name: "Security",
        employees: 3,
        contractors: 0,
        products: JIRA | CONF,
        titles: &[
            "Security Engineer",
            "Security Analyst",
            "GRC Analyst",
            "Security Manager",
        ],
        teams: &["appsec", "secops", "grc", "red-team", "iam"],
    },
    Dept {
        key: "legal",
        name: "Legal",
        employees: 2,
        contractors: 0,
        products: 0,
        titles: &[
            "Corporate Counsel",
            "Paralegal",
            "Privacy Counsel",
            "General Counsel",
        ],
        teams: &["commercial", "privacy", "corporate", "ip"],
    },
    Dept {
        key: "it",
        name: "IT",
        employees: 5,
        contractors: 0,
        products: JIRA | CONF,
        titles: &[
            "IT Support Specialist",
            "Systems Administrator",
            "IT Operations Engineer",
            "IT Manager",
        ],
        teams: &["helpdesk", "endpoint", "network", "saas-admins", "identity"],
    },
    Dept {
        key: "operations",
        name: "Business Operations",
        employees: 4,
        contractors: 0,
        products: JIRA,
        titles: &[
            "Business Analyst",
            "Program Manager",
            "Chief of Staff",
            "Operations Manager",
        ],
        teams: &["bizops", "revops", "pmo", "strategy"],
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    NorthAmerica,
    Emea,
    Apac,
}

struct City {
    name: &'static str,
    slug: &'static str,
    region: Region,
    tz: &'static str,
    locale: &'static str,
    phone: &'static str,
}

const CITIES: &[City] = &[
    City {
        name: "San Francisco, CA",
        slug: "san-francisco",
        region: Region::NorthAmerica,
        tz: "America/Los_Angeles",
        locale: "en_US",
        phone: "+1 415 555",
    },
    City {
        name: "New York, NY",
        slug: "new-york",
        region: Region::NorthAmerica,
        tz: "America/New_York",
        locale: "en_US",
        phone: "+1 212 555",
    },
    City {
        name: "Austin, TX",
        slug: "austin",
        region: Region::NorthAmerica,
        tz: "America/Chicago",
        locale: "en_US",
        phone: "+1 512 555",
    },
    City {
        name: "Toronto, ON",
        slug: "toronto",
        region: Region::NorthAmerica,
        tz: "America/Toronto",
        locale: "en_CA",
        phone: "+1 416 555",
    },
    City {
        name: "Denver, CO",
        slug: "denver",
        region: Region::NorthAmerica,
        tz: "America/Denver",
        locale: "en_US",
        phone: "+1 303 555",
    },
    City {
        name: "London, UK",
        slug: "london",
        region: Region::Emea,
        tz: "Europe/London",
        locale: "en_GB",
        phone: "+44 20 7946",
    },
    City {
        name: "Berlin, DE",
        slug: "berlin",
        region: Region::Emea,
        tz: "Europe/Berlin",
        locale: "de_DE",
        phone: "+49 30 5550",
    },
    City {
        name: "Amsterdam, NL",
        slug: "amsterdam",
        region: Region::Emea,
        tz: "Europe/Amsterdam",
        locale: "nl_NL",
        phone: "+31 20 555",
    },
    City {
        name: "Dublin, IE",
        slug: "dublin",
        region: Region::Emea,
        tz: "Europe/Dublin",
        locale: "en_IE",
        phone: "+353 1 555",
    },
    City {
        name: "Paris, FR",
        slug: "paris",
        region: Region::Emea,
        tz: "Europe/Paris",
        locale: "fr_FR",
        phone: "+33 1 5555",
    },
    City {
        name: "Sydney, AU",
        slug: "sydney",
        region: Region::Apac,
        tz: "Australia/Sydney",
        locale: "en_AU",
        phone: "+61 2 5550",
    },
    City {
        name: "Singapore",
        slug: "singapore",
        region: Region::Apac,
        tz: "Asia/Singapore",
        locale: "en_SG",
        phone: "+65 5550",
    },
    City {
        name: "Bengaluru, IN",
        slug: "bengaluru",
        region: Region::Apac,
        tz: "Asia/Kolkata",
        locale: "en_IN",
        phone: "+91 80 5555",
    },
    City {
        name: "Tokyo, JP",
        slug: "tokyo",
        region: Region::Apac,
        tz: "Asia/Tokyo",
        locale: "ja_JP",
        phone: "+81 3 5555",
    },
];

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Stephanie",
    "Ryan",
    "Rebecca",
    "Jason",
    "Laura",
    "Jacob",
    "Angela",
    "Nicholas",
    "Anna",
    "Eric",
    "Emma",
    "Jonathan",
    "Olivia",
    "Justin",
    "Nicole",
    "Scott",
    "Samantha",
    "Benjamin",
    "Katherine",
    "Samuel",
    "Rachel",
    "Alexander",
    "Maria",
    "Patrick",
    "Catherine",
    "Tyler",
    "Heather",
    "Aaron",
    "Victoria",
    "Adam",
    "Lauren",
    "Nathan",
    "Kelly",
    "Henry",
    "Christina",
    "Zachary",
    "Hannah",
    "Peter",
    "Megan",
    "Noah",
    "Abigail",
    "Ethan",
    "Sophia",
    "Dylan",
    "Grace",
    "Jordan",
    "Isabella",
    "Logan",
    "Alice",
    "Gabriel",
    "Natalie",
    "Mason",
    "Diana",
    "Alex",
    "Sam",
    "Priya",
    "Arjun",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Kenji",
    "Aiko",
    "Olumide",
    "Chiamaka",
    "Kwame",
    "Amara",
    "Santiago",
    "Valentina",
    "Mateo",
    "Camila",
    "Lukas",
    "Lena",
    "Jonas",
    "Mia",
    "Finn",
    "Sofia",
    "Luca",
    "Giulia",
    "Marco",
    "Chiara",
    "Pierre",
    "Camille",
    "Louis",
    "Chloe",
    "Ingrid",
    "Lars",
    "Sven",
    "Astrid",
    "Mohammed",
    "Fatima",
    "Omar",
    "Layla",
    "Ahmed",
    "Aisha",
    "Raj",
    "Ananya",
    "Vikram",
    "Deepa",
    "Chen",
    "Lin",
    "Hao",
    "Xin",
    "Minh",
    "Linh",
    "Jiho",
    "Seoyeon",
    "Dmitri",
    "Anastasia",
    "Ivan",
    "Olga",
    "Mateus",
    "Beatriz",
    "Tomasz",
    "Zofia",
    "Andrei",
    "Ioana",
    "Niamh",
    "Aoife",
    "Cormac",
    "Siobhan",
    "Emeka",
    "Ngozi",
    "Tariq",
    "Yasmin",
    "Kofi",
    "Zara",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Moreno",
    "Krystof",
    "Tanaka",
    "Suzuki",
    "Yamamoto",
    "Wang",
    "Zhang",
    "Liu",
    "Chen",
    "Huang",
    "Singh",
    "Sharma",
    "Gupta",
    "Iyer",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Becker",
    "Rossi",
    "Russo",
    "Ferrari",
    "Bianchi",
    "Dubois",
    "Laurent",
    "Bernard",
    "Lefebvre",
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Nilsson",
    "Larsson",
    "Andersson",
    "Hansen",
    "Kowalski",
    "Nowak",
    "Novak",
    "Ivanova",
    "Popescu",
    "O'Brien",
    "O'Connor",
    "Byrne",
    "Walsh",
    "Kelleher",
    "Haddad",
    "Khan",
    "Hussain",
    "Rahman",
    "Park",
    "Choi",
    "Tran",
    "Pham",
    "Silva",
    "Santos",
    "Oliveira",
    "Costa",
    "Fernandes",
    "Alves",
];

const APPS: &[&str] = &[
    "Jira Automation",
    "Slack",
    "GitHub for Jira",
    "Microsoft Teams for Jira Cloud",
    "Jira Cloud for Google Sheets",
    "Opsgenie",
    "Zendesk Support for Jira",
    "Confluence Analytics",
];

/// Customer companies of the help desks: (organization name, email domain).
const CUSTOMER_ORGS: &[(&str, &str)] = &[
    ("Globex Corporation", "globex.example"),
    ("Initech", "initech.example"),
    ("Umbrella Health", "umbrella-health.example"),
    ("Hooli", "hooli.example"),
];

const CONTRACTOR_DOMAINS: &[(&str, &str)] = &[
    ("contractor.io", "Contractor.io"),
    ("agency.example", "Agency Example Ltd"),
];
const PARTNER_DOMAINS: &[(&str, &str)] = &[
    ("northwind.example", "Northwind Traders"),
    ("fabrikam.example", "Fabrikam Inc."),
];

const TEAM_ADJECTIVES: &[&str] = &[
    "amber", "arctic", "blue", "bold", "bright", "brave", "calm", "clever", "cosmic", "crimson",
    "desert", "electric", "emerald", "fast", "golden", "green", "hidden", "iron", "jade", "lunar",
    "mighty", "misty", "noble", "north", "orange", "polar", "purple", "quiet", "rapid", "red",
    "silent", "silver", "solar", "steady", "stellar", "swift", "tidal", "violet", "wild", "young",
];
const TEAM_NOUNS: &[&str] = &[
    "falcon", "otter", "panda", "tiger", "phoenix", "comet", "nebula", "orbit", "harbor", "summit",
    "canyon", "glacier", "river", "forest", "meadow", "beacon", "anchor", "compass", "lantern",
    "rocket", "sparrow", "raven", "badger", "bison", "lynx", "koala", "heron", "marlin", "puffin",
    "quokka", "walrus", "yak", "zebra", "cedar", "maple", "willow", "aspen", "granite", "quartz",
    "cobalt",
];
const GUILD_TOPICS: &[&str] = &[
    "rust",
    "frontend",
    "accessibility",
    "testing",
    "data-science",
    "architecture",
    "security",
    "kubernetes",
    "writing",
    "mentoring",
    "open-source",
    "performance",
    "ux-writing",
    "sre",
    "mobile",
    "api-design",
    "ml-ops",
    "analytics",
    "agile",
    "innovation",
];
const DEPT_CIRCLES: &[(&str, &str)] = &[
    ("managers", "People managers"),
    ("leads", "Team leads"),
    ("oncall", "On-call rotation"),
    ("all-hands", "All-hands distribution list"),
    ("contractors", "Contractors and vendors"),
    ("interns", "Interns"),
];
const REGION_SUFFIXES: &[&str] = &["emea", "apac", "na"];

// ---- generator ------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Managed `@acme.com` employee.
    Employee,
    /// External contractor (unmanaged), working in a department.
    Contractor,
    /// External partner (unmanaged), a Confluence guest under centralized user management.
    Partner,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Active,
    Suspended,
    Deactivated,
    ForDeletion,
    /// Removed from every directory (`not_invited`).
    Removed,
}

/// Generation-side facts about one person account.
struct Person {
    ax: AccountIx,
    class: Class,
    dept: Option<usize>,
    manager: bool,
    /// Job title index into the department's titles.
    title: usize,
    sites: [bool; 2],
    city: usize,
    fate: Fate,
    synced: bool,
    org_admin: bool,
}

impl Person {
    fn on_site(&self, s: usize) -> bool {
        self.sites[s]
    }
}

/// Arguments of [`Gen::add_group`].
struct NewGroup<'a> {
    name: &'a str,
    description: &'a str,
    directory: DirIx,
    external: bool,
    default_for: Option<(ResourceIx, Role)>,
    protected: bool,
    roles: &'a [(ResourceIx, Role)],
}

/// Per-site groups that access and projects refer to.
#[derive(Default, Clone)]
struct SiteGroups {
    /// Product default groups, by `SITE_PRODUCTS` index (User role; none for the platform).
    defaults: [Option<GroupIx>; 4],
    jira_admins: Option<GroupIx>,
    confluence_admins: Option<GroupIx>,
    site_admins: Option<GroupIx>,
    /// Department group per department index.
    depts: Vec<GroupIx>,
    /// `service-desk-agents[-emea]` (centralized only).
    agents: Option<GroupIx>,
}

struct Gen {
    rng: ChaCha8Rng,
    w: World,
    mode: Mode,
    epoch: DateTime<Utc>,
    n_sites: usize,
    ids: HashSet<String>,
    emails: HashSet<String>,
    email_next: HashMap<String, u32>,
    group_names: HashSet<String>,
    /// Resources per site, by `SITE_PRODUCTS` index.
    site_res: Vec<[ResourceIx; 5]>,
    statuspage_rx: ResourceIx,
    people: Vec<Person>,
    apps: Vec<AccountIx>,
    portal_customers: Vec<Vec<AccountIx>>,
    // seat book: accounts with usable billable access, per resource
    seat_used: Vec<u32>,
    counted: Vec<Vec<bool>>,
    // groups
    site_groups: Vec<SiteGroups>,
    statuspage_users: GroupIx,
    org_admins_group: GroupIx,
    external_groups: Vec<(Option<usize>, GroupIx)>,
    jpd_contributors: Option<GroupIx>,
    team_groups: Vec<TeamGroup>,
    // who does what, per site
    agents: Vec<Vec<AccountIx>>,
    atl_customers: Vec<Vec<AccountIx>>,
    guests: Vec<Vec<AccountIx>>,
    jira_admins: Vec<Vec<AccountIx>>,
    confluence_admins: Vec<Vec<AccountIx>>,
    statuspage_admins: Vec<AccountIx>,
}

struct TeamGroup {
    gx: GroupIx,
    dept: Option<usize>,
    office: Option<usize>,
}

fn round(x: f64) -> u32 {
    x.round().max(0.0) as u32
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Gen {
    fn new(cfg: &SeedConfig) -> Gen {
        let w = World::empty(cfg.seed, cfg.mode);
        Gen {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            w,
            mode: cfg.mode,
            epoch: epoch(),
            n_sites: cfg.profile.sites(),
            ids: HashSet::new(),
            emails: HashSet::new(),
            email_next: HashMap::new(),
            group_names: HashSet::new(),
            site_res: vec![],
            statuspage_rx: 0,
            people: vec![],
            apps: vec![],
            portal_customers: vec![],
            seat_used: vec![],
            counted: vec![],
            site_groups: vec![],
            statuspage_users: 0,
            org_admins_group: 0,
            external_groups: vec![],
            jpd_contributors: None,
            team_groups: vec![],
            agents: vec![],
            atl_customers: vec![],
            guests: vec![],
            jira_admins: vec![],
            confluence_admins: vec![],
            statuspage_admins: vec![],
        }
    }

    // ---- random helpers -----------------------------------------------------------------

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn hex(&mut self, len: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..len)
            .map(|_| HEX[self.rng.random_range(0..16)] as char)
            .collect()
    }

    /// A time `min_days..max_days` before the epoch, to the second.
    fn ago(&mut self, min_days: i64, max_days: i64) -> DateTime<Utc> {
        let secs = self
            .rng
            .random_range(min_days * 86_400..=max_days.max(min_days) * 86_400);
        self.epoch - TimeDelta::seconds(secs)
    }

    /// A time between `from` and `to` (inclusive), to the second.
    fn between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let span = (to - from).num_seconds();
        if span <= 0 {
            return from;
        }
        from + TimeDelta::seconds(self.rng.random_range(0..=span))
    }

    fn unique_id(&mut self, make: impl Fn(&mut World) -> String) -> String {
        loop {
            let id = make(&mut self.w);
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    /// A person account id: the 24-hex form of older accounts or `712020:<uuid>`.
    fn person_id(&mut self, legacy: bool) -> String {
        if legacy {
            self.unique_id(|w| format!("5{:023x}", w.next_random() & ((1u128 << 92) - 1)))
        } else {
            self.unique_id(World::new_account_id)
        }
    }

    fn unique_email(&mut self, first: &str, last: &str, domain: &str) -> String {
        let base = format!("{}.{}@{domain}", slug(first), slug(last));
        let mut n = self.email_next.get(&base).copied().unwrap_or(1);
        loop {
            let email = if n == 1 {
                base.clone()
            } else {
                format!("{}.{}{n}@{domain}", slug(first), slug(last))
            };
            n += 1;
            if self.emails.insert(email.clone()) {
                self.email_next.insert(base, n);
                return email;
            }
        }
    }

    fn api_token(&mut self) -> String {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let body: String = (0..180)
            .map(|_| B64[self.rng.random_range(0..64)] as char)
            .collect();
        format!("ATATT3xFfGF0{body}={}", self.hex(8).to_uppercase())
    }

    fn shuffled(&mut self, mut v: Vec<usize>) -> Vec<usize> {
        v.shuffle(&mut self.rng);
        v
    }

    // ---- seat book and grants -----------------------------------------------------------

    fn dir_of_resource(&self, rx: ResourceIx) -> DirIx {
        match (self.mode, self.w.resources[rx as usize].site) {
            (Mode::Original, Some(site)) => site as DirIx,
            _ => 0,
        }
    }

    fn dir_of_site(&self, s: usize) -> DirIx {
        match self.mode {
            Mode::Centralized => 0,
            Mode::Original => s as DirIx,
        }
    }

    /// Whether the account would use a seat of `rx` if it held a billable role there (what
    /// [`World::can_access`] checks).
    fn usable(&self, ax: AccountIx, rx: ResourceIx) -> bool {
        let a = &self.w.accounts[ax as usize];
        a.status == AccountStatus::Active
            && a.delete_after.is_none()
            && a.directories.get(&self.dir_of_resource(rx)) == Some(&Membership::Active)
    }

    fn consumes(&self, ax: AccountIx, rx: ResourceIx) -> bool {
        self.usable(ax, rx) && !self.counted[rx as usize][ax as usize]
    }

    fn fits(&self, ax: AccountIx, roles: &[(ResourceIx, Role)]) -> bool {
        roles.iter().all(|&(rx, role)| {
            !role.is_billable()
                || self.w.resources[rx as usize].seats.is_none_or(|seats| {
                    !self.consumes(ax, rx) || self.seat_used[rx as usize] < seats
                })
        })
    }

    fn take(&mut self, ax: AccountIx, roles: &[(ResourceIx, Role)]) {
        for &(rx, role) in roles {
            if role.is_billable() && self.consumes(ax, rx) {
                self.counted[rx as usize][ax as usize] = true;
                self.seat_used[rx as usize] += 1;
            }
        }
    }

    fn has_seat(&self, ax: AccountIx, rx: ResourceIx) -> bool {
        self.counted[rx as usize][ax as usize]
    }

    /// Adds a person to a group if they are in its directory and its roles have seats left.
    fn join(&mut self, gx: GroupIx, ax: AccountIx) -> bool {
        let group = &self.w.groups[gx as usize];
        if group.members.contains(&ax) {
            return true;
        }
        let account = &self.w.accounts[ax as usize];
        if account.kind == AccountType::Customer
            || !account.directories.contains_key(&group.directory)
        {
            return false;
        }
        if !group.roles.is_empty() {
            let roles: Vec<(ResourceIx, Role)> = group.roles.iter().copied().collect();
            if !self.fits(ax, &roles) {
                return false;
            }
            self.take(ax, &roles);
        }
        self.w.groups[gx as usize].members.insert(ax);
        self.w.accounts[ax as usize].groups.insert(gx);
        true
    }

    /// Grants a role directly if the account is in the resource's directory and a seat is left.
    fn grant(&mut self, ax: AccountIx, rx: ResourceIx, role: Role) -> bool {
        let dir = self.dir_of_resource(rx);
        if !self.w.accounts[ax as usize].directories.contains_key(&dir) {
            return false;
        }
        if !self.fits(ax, &[(rx, role)]) {
            return false;
        }
        self.take(ax, &[(rx, role)]);
        self.w.accounts[ax as usize].direct_roles.insert((rx, role));
        true
    }

    /// Gives a person the User role of a site product: a direct role under centralized user
    /// management, the default group under the original experience.
    fn give_product(&mut self, ax: AccountIx, s: usize, p: usize) -> bool {
        match self.mode {
            Mode::Centralized => self.grant(ax, self.site_res[s][p], Role::User),
            Mode::Original => match self.site_groups[s].defaults[p] {
                Some(gx) => self.join(gx, ax),
                None => false,
            },
        }
    }

    // ---- org, sites, resources ----------------------------------------------------------

    fn org_sites_and_resources(&mut self, cfg: &SeedConfig) {
        let org_id = self.w.new_uuid();
        self.w.org = Org {
            id: org_id,
            name: "Acme Corp".to_owned(),
            domains: vec!["acme.com".to_owned()],
            paid: true,
        };
        self.w.credentials = Credentials {
            org_api_key: self.hex(64),
            scoped_org_api_key: self.hex(64),
            integration_account: String::new(),
            control_token: self.hex(48),
        };
        let n_sites = cfg.profile.sites();
        match self.mode {
            Mode::Centralized => {
                let id = self.w.new_uuid();
                self.w.directories.push(Directory {
                    id,
                    name: "Acme Corp".to_owned(),
                    site: None,
                });
            }
            Mode::Original => {
                for (s, name) in SITE_NAMES.iter().enumerate().take(n_sites) {
                    let id = self.w.new_uuid();
                    self.w.directories.push(Directory {
                        id,
                        name: (*name).to_owned(),
                        site: Some(s as SiteIx),
                    });
                }
            }
        }
        for (s, name) in SITE_NAMES.iter().enumerate().take(n_sites) {
            let cloud_id = self.w.new_uuid();
            let api_token = self.api_token();
            let created = self.ago(900 + 700 * (1 - s as i64), 1_600 + 700 * (1 - s as i64));
            self.w.sites.push(Site {
                name: (*name).to_owned(),
                cloud_id: cloud_id.clone(),
                api_token,
                projects: vec![],
                service_desks: vec![],
                jsm_orgs: vec![],
                spaces: vec![],
                next_id: 163_840,
            });
            let mut res = [0; 5];
            for (p, product) in SITE_PRODUCTS.iter().enumerate() {
                let plan = match product {
                    Product::JiraServiceDesk | Product::Confluence => "PREMIUM",
                    _ => "STANDARD",
                };
                let created_at = if p == 0 {
                    created
                } else {
                    self.between(created, self.epoch - TimeDelta::days(120))
                };
                res[p] = self.w.resources.len() as ResourceIx;
                self.w.resources.push(Resource {
                    product: *product,
                    cloud_id: cloud_id.clone(),
                    site: Some(s as SiteIx),
                    seats: None,
                    name: (*name).to_owned(),
                    plan: plan.to_owned(),
                    created_at,
                });
            }
            self.site_res.push(res);
        }
        let cloud_id = self.w.new_uuid();
        let created_at = self.ago(700, 1_200);
        self.statuspage_rx = self.w.resources.len() as ResourceIx;
        self.w.resources.push(Resource {
            product: Product::Statuspage,
            cloud_id,
            site: None,
            seats: None,
            name: "Acme Status".to_owned(),
            plan: "PREMIUM".to_owned(),
            created_at,
        });
        self.portal_customers = vec![vec![]; n_sites];
        self.agents = vec![vec![]; n_sites];
        self.atl_customers = vec![vec![]; n_sites];
        self.guests = vec![vec![]; n_sites];
        self.jira_admins = vec![vec![]; n_sites];
        self.confluence_admins = vec![vec![]; n_sites];
    }

    // ---- accounts -----------------------------------------------------------------------

    fn blank_account(&self, id: String, kind: AccountType, name: String) -> Account {
        Account {
            id,
            kind,
            email: None,
            nickname: name.clone(),
            name,
            status: AccountStatus::Active,
            directories: BTreeMap::new(),
            delete_after: None,
            deactivated_on: None,
            added_to_org: self.epoch,
            mfa_enabled: false,
            email_verified: false,
            source: ManagementSource::Invited,
            profile: Profile {
                time_zone: "Etc/UTC".to_owned(),
                ..Profile::default()
            },
            direct_roles: BTreeSet::new(),
            groups: BTreeSet::new(),
            org_admin: false,
            last_active: BTreeMap::new(),
            customer_site: None,
            app_type: None,
            locale: "en_US".to_owned(),
        }
    }

    fn all_directories(&self) -> BTreeMap<DirIx, Membership> {
        (0..self.w.directories.len())
            .map(|d| (d as DirIx, Membership::Active))
            .collect()
    }

    fn weighted_dept(&mut self, contractor: bool) -> usize {
        let weight = |d: &Dept| {
            if contractor {
                d.contractors
            } else {
                d.employees
            }
        };
        let total: u32 = DEPTS.iter().map(weight).sum();
        let mut r = self.rng.random_range(0..total);
        for (i, d) in DEPTS.iter().enumerate() {
            if r < weight(d) {
                return i;
            }
            r -= weight(d);
        }
        0
    }

    fn random_city(&mut self) -> usize {
        let region = match self.rng.random_range(0..100) {
            0..55 => Region::NorthAmerica,
            55..85 => Region::Emea,
            _ => Region::Apac,
        };
        let choices: Vec<usize> = CITIES
            .iter()
            .enumerate()
            .filter(|(_, c)| c.region == region)
            .map(|(i, _)| i)
            .collect();
        *self.pick(&choices)
    }

    fn people(&mut self, cfg: &SeedConfig) {
        let n = cfg.user_count();
        // The integration account comes first (index 0: the fallback of
        // `World::integration_account`).
        let id = self.person_id(false);
        let mut integration = self.blank_account(
            id.clone(),
            AccountType::Atlassian,
            "Steward Integration".to_owned(),
        );
        let email = "steward-integration@acme.com".to_owned();
        self.emails.insert(email.clone());
        integration.email = Some(email);
        integration.nickname = "steward-integration".to_owned();
        integration.directories = self.all_directories();
        integration.added_to_org = self.ago(30, 60);
        integration.mfa_enabled = true;
        integration.email_verified = true;
        integration.org_admin = true;
        integration.profile = Profile {
            job_title: Some("Integration account".to_owned()),
            department: Some("IT".to_owned()),
            organization: Some("Acme Corp".to_owned()),
            location: None,
            time_zone: "Etc/UTC".to_owned(),
            phone_number: None,
        };
        self.w.accounts.push(integration);
        self.w.credentials.integration_account = id;
        self.people.push(Person {
            ax: 0,
            class: Class::Employee,
            dept: Some(D_IT),
            manager: false,
            title: 0,
            sites: [true, self.n_sites > 1],
            city: 0,
            fate: Fate::Active,
            synced: false,
            org_admin: true,
        });

        let others = n - 1;
        let contractors = round(others as f64 * 0.12) as usize;
        let partners = if others >= 8 {
            round(others as f64 * 0.04).max(1) as usize
        } else {
            0
        };
        let mut classes = vec![Class::Employee; others];
        for (i, class) in classes.iter_mut().enumerate() {
            if i < contractors {
                *class = Class::Contractor;
            } else if i < contractors + partners {
                *class = Class::Partner;
            }
        }
        classes.shuffle(&mut self.rng);
        for class in classes {
            self.person(class);
        }
        self.fates(n);
    }

    fn person(&mut self, class: Class) {
        let first = *self.pick(FIRST_NAMES);
        let last = *self.pick(LAST_NAMES);
        let (dept, domain, organization) = match class {
            Class::Employee => (Some(self.weighted_dept(false)), "acme.com", "Acme Corp"),
            Class::Contractor => {
                let d = self.weighted_dept(true);
                let (domain, org) = if d == D_DESIGN || d == 5 {
                    CONTRACTOR_DOMAINS[1]
                } else {
                    *self.pick(CONTRACTOR_DOMAINS)
                };
                (Some(d), domain, org)
            }
            Class::Partner => {
                let (domain, org) = *self.pick(PARTNER_DOMAINS);
                (None, domain, org)
            }
        };
        let city = self.random_city();
        let sites = if self.n_sites == 1 {
            [true, false]
        } else if CITIES[city].region == Region::Emea {
            if self.chance(0.6) {
                [false, true]
            } else {
                [true, true]
            }
        } else if self.chance(0.08) {
            [true, true]
        } else {
            [true, false]
        };
        let max_age = match class {
            Class::Employee => 2_600,
            Class::Contractor => 700,
            Class::Partner => 400,
        };
        let age_days = self.rng.random_range(1..=max_age);
        let added_to_org = self.ago(age_days, age_days + 1);
        let legacy = (age_days > 1_200 && self.chance(0.8)) || self.chance(0.1);
        let id = self.person_id(legacy);
        let email = self.unique_email(first, last, domain);
        let manager = class != Class::Partner && self.chance(0.1);
        let (title, job_title, department) = match dept {
            Some(d) => {
                let titles = DEPTS[d].titles;
                let t = if manager {
                    titles.len() - 1
                } else {
                    self.rng.random_range(0..titles.len() - 1)
                };
                (
                    t,
                    Some(titles[t].to_owned()),
                    Some(DEPTS[d].name.to_owned()),
                )
            }
            None => (0, Some("External Collaborator".to_owned()), None),
        };
        let c = &CITIES[city];
        let phone_number = if self.chance(0.4) {
            Some(format!(
                "{} {:04}",
                c.phone,
                self.rng.random_range(100..10_000)
            ))
        } else {
            None
        };
        let mut account = self.blank_account(id, AccountType::Atlassian, format!("{first} {last}"));
        account.nickname = email.split('@').next().unwrap_or_default().to_owned();
        account.email = Some(email);
        account.added_to_org = added_to_org;
        account.mfa_enabled = self.chance(if class == Class::Employee { 0.72 } else { 0.6 });
        account.email_verified = class == Class::Employee || self.chance(0.92);
        account.locale = c.locale.to_owned();
        account.profile = Profile {
            job_title,
            department,
            organization: Some(organization.to_owned()),
            location: Some(c.name.to_owned()),
            time_zone: c.tz.to_owned(),
            phone_number,
        };
        account.directories = match self.mode {
            Mode::Centralized => BTreeMap::from([(0, Membership::Active)]),
            Mode::Original => (0..self.n_sites)
                .filter(|s| sites[*s])
                .map(|s| (s as DirIx, Membership::Active))
                .collect(),
        };
        let ax = self.w.accounts.len() as AccountIx;
        self.w.accounts.push(account);
        self.people.push(Person {
            ax,
            class,
            dept,
            manager,
            title,
            sites,
            city,
            fate: Fate::Active,
            synced: false,
            org_admin: false,
        });
    }

    /// Org admins, lifecycle states and IdP sync.
    fn fates(&mut self, n: usize) {
        let count = |share: f64| {
            if n >= 20 {
                round(n as f64 * share).max(1) as usize
            } else {
                round(n as f64 * share) as usize
            }
        };
        // Org admins: 2-4 besides the integration account, from IT and Security.
        let mut candidates: Vec<usize> = (1..self.people.len())
            .filter(|&i| {
                let p = &self.people[i];
                p.class == Class::Employee
                    && p.sites[0]
                    && matches!(p.dept, Some(D_IT | D_SECURITY))
            })
            .collect();
        if candidates.len() < 2 {
            candidates = (1..self.people.len())
                .filter(|&i| self.people[i].class == Class::Employee && self.people[i].sites[0])
                .collect();
        }
        let candidates = self.shuffled(candidates);
        let k = self.rng.random_range(2..=4usize).min(candidates.len());
        for &i in candidates.iter().take(k) {
            self.people[i].org_admin = true;
            let ax = self.people[i].ax;
            self.w.accounts[ax as usize].org_admin = true;
        }

        let managed: Vec<usize> = (1..self.people.len())
            .filter(|&i| self.people[i].class == Class::Employee && !self.people[i].org_admin)
            .collect();
        let mut managed = self.shuffled(managed).into_iter();
        for (fate, share) in [
            (Fate::Deactivated, 0.02),
            (Fate::ForDeletion, 0.005),
            (Fate::Removed, 0.005),
        ] {
            for i in managed.by_ref().take(count(share)) {
                self.people[i].fate = fate;
            }
        }
        let rest: Vec<usize> = (1..self.people.len())
            .filter(|&i| {
                let p = &self.people[i];
                p.class != Class::Partner && !p.org_admin && p.fate == Fate::Active
            })
            .collect();
        let rest = self.shuffled(rest);
        for &i in rest.iter().take(count(0.03)) {
            self.people[i].fate = Fate::Suspended;
        }
        // IdP-synced: managed people in the first directory (where the okta groups live).
        let synced: Vec<usize> = (1..self.people.len())
            .filter(|&i| {
                let p = &self.people[i];
                p.class == Class::Employee
                    && !p.org_admin
                    && p.sites[0]
                    && matches!(p.fate, Fate::Active | Fate::Deactivated)
            })
            .collect();
        let synced = self.shuffled(synced);
        for &i in synced.iter().take(count(0.05)) {
            self.people[i].synced = true;
            let ax = self.people[i].ax;
            let a = &mut self.w.accounts[ax as usize];
            a.source = ManagementSource::Synced;
            a.mfa_enabled = true;
        }

        for i in 1..self.people.len() {
            let ax = self.people[i].ax as usize;
            let added = self.w.accounts[ax].added_to_org;
            match self.people[i].fate {
                Fate::Active => {}
                Fate::Suspended => {
                    for m in self.w.accounts[ax].directories.values_mut() {
                        *m = Membership::Suspended;
                    }
                }
                Fate::Deactivated => {
                    let on = self.between(added, self.epoch - TimeDelta::hours(1));
                    let a = &mut self.w.accounts[ax];
                    a.status = AccountStatus::Inactive;
                    a.deactivated_on = Some(on);
                }
                Fate::ForDeletion => {
                    let from = (self.epoch - TimeDelta::days(13)).max(added);
                    let on = self.between(from, self.epoch - TimeDelta::hours(1));
                    let a = &mut self.w.accounts[ax];
                    a.status = AccountStatus::Inactive;
                    a.deactivated_on = Some(on);
                    a.delete_after = Some(on + TimeDelta::days(14));
                }
                Fate::Removed => {
                    self.w.accounts[ax].directories.clear();
                }
            }
        }
    }

    fn apps_and_customers(&mut self, cfg: &SeedConfig) {
        let n = cfg.user_count();
        let apps = if n >= 1_000 { APPS.len() } else { 4 };
        for name in APPS.iter().take(apps) {
            let id = self.unique_id(|w| format!("557058:{}", w.new_uuid()));
            let mut account = self.blank_account(id, AccountType::App, (*name).to_owned());
            account.app_type = Some("service".to_owned());
            account.added_to_org = self.ago(100, 1_500);
            account.directories = self.all_directories();
            let ax = self.w.accounts.len() as AccountIx;
            self.w.accounts.push(account);
            self.apps.push(ax);
        }
        let per_site = match (cfg.users, cfg.profile) {
            (Some(users), _) => (users / 2_000).clamp(6, 40),
            (None, SizeProfile::Small) => 6,
            (None, SizeProfile::Medium) => 15,
            (None, SizeProfile::Large) => 25,
        };
        for s in 0..self.n_sites {
            for i in 0..per_site {
                let first = *self.pick(FIRST_NAMES);
                let last = *self.pick(LAST_NAMES);
                let (_, domain) = CUSTOMER_ORGS[i % CUSTOMER_ORGS.len()];
                let email = self.unique_email(first, last, domain);
                let id = self.unique_id(World::new_customer_id);
                let mut account =
                    self.blank_account(id, AccountType::Customer, format!("{first} {last}"));
                account.nickname = email.split('@').next().unwrap_or_default().to_owned();
                account.email = Some(email);
                account.customer_site = Some(s as SiteIx);
                account.added_to_org = self.ago(1, 700);
                let city = self.random_city();
                account.profile.time_zone = CITIES[city].tz.to_owned();
                account.locale = CITIES[city].locale.to_owned();
                let ax = self.w.accounts.len() as AccountIx;
                self.w.accounts.push(account);
                self.portal_customers[s].push(ax);
            }
        }
        self.seat_used = vec![0; self.w.resources.len()];
        self.counted = vec![vec![false; self.w.accounts.len()]; self.w.resources.len()];
    }

    /// Seats sized from each site's population, leaving free seats.
    fn seats(&mut self, cfg: &SeedConfig) {
        for s in 0..self.n_sites {
            let pop = self.people.iter().filter(|p| p.on_site(s)).count() as f64;
            let res = self.site_res[s];
            let seats = [
                round(pop * 0.9).max(2),
                round(pop / 20.0).max(5),
                round(pop / 10.0).max(5),
                round(pop * 0.8).max(2),
            ];
            for (p, seats) in seats.into_iter().enumerate() {
                self.w.resources[res[p] as usize].seats = Some(seats);
            }
        }
        let n = cfg.user_count();
        let statuspage = if n <= 10_000 {
            50
        } else {
            round(n as f64 * 0.0035 / 25.0) * 25
        };
        self.w.resources[self.statuspage_rx as usize].seats = Some(statuspage);
    }

    // ---- groups ---------------------------------------------------------------------------

    /// Adds the default group of `role` (which it also grants) in `directory`.
    fn add_default_group(
        &mut self,
        name: &str,
        description: &str,
        directory: DirIx,
        role: (ResourceIx, Role),
        protected: bool,
    ) -> GroupIx {
        self.add_group(NewGroup {
            name,
            description,
            directory,
            external: false,
            default_for: Some(role),
            protected,
            roles: &[role],
        })
    }

    fn add_group(&mut self, g: NewGroup<'_>) -> GroupIx {
        let id = self.w.new_uuid();
        self.group_names.insert(g.name.to_owned());
        self.w.groups.push(Group {
            id,
            name: g.name.to_owned(),
            description: g.description.to_owned(),
            directory: g.directory,
            external: g.external,
            default_for: g.default_for,
            protected: g.protected,
            roles: g.roles.iter().copied().collect(),
            members: BTreeSet::new(),
            deleted: false,
        });
        (self.w.groups.len() - 1) as GroupIx
    }

    fn plain_group(
        &mut self,
        name: &str,
        description: &str,
        directory: DirIx,
        roles: &[(ResourceIx, Role)],
    ) -> GroupIx {
        self.add_group(NewGroup {
            name,
            description,
            directory,
            external: false,
            default_for: None,
            protected: false,
            roles,
        })
    }

    fn groups(&mut self, cfg: &SeedConfig) {
        let centralized = self.mode == Mode::Centralized;
        self.site_groups = vec![SiteGroups::default(); self.n_sites];
        // Product default and admin groups.
        for (s, site) in SITE_NAMES.iter().enumerate().take(self.n_sites) {
            let dir = self.dir_of_site(s);
            let res = self.site_res[s];
            let defaults = [
                (
                    P_JSW,
                    format!("jira-software-users-{site}"),
                    "Grants access to Jira",
                ),
                (
                    P_JSM,
                    format!("jira-servicemanagement-users-{site}"),
                    "Grants access to Jira Service Management",
                ),
                (
                    P_JPD,
                    format!("jira-product-discovery-users-{site}"),
                    "Grants access to Jira Product Discovery",
                ),
                (
                    P_CONF,
                    format!("confluence-users-{site}"),
                    "Grants access to Confluence",
                ),
            ];
            for (p, name, description) in defaults {
                let role = (res[p], Role::User);
                let gx = self.add_default_group(&name, description, dir, role, false);
                self.site_groups[s].defaults[p] = Some(gx);
            }
            for (p, name, description) in [
                (
                    P_JSW,
                    format!("jira-admins-{site}"),
                    "Grants Jira administration",
                ),
                (
                    P_CONF,
                    format!("confluence-admins-{site}"),
                    "Grants Confluence administration",
                ),
            ] {
                let role = (res[p], Role::Admin);
                let gx = self.add_default_group(&name, description, dir, role, false);
                if p == P_JSW {
                    self.site_groups[s].jira_admins = Some(gx);
                } else {
                    self.site_groups[s].confluence_admins = Some(gx);
                }
            }
        }
        let sp = (self.statuspage_rx, Role::User);
        self.statuspage_users = self.add_default_group(
            "statuspage-users",
            "Grants access to Statuspage",
            0,
            sp,
            false,
        );
        if centralized {
            let roles: Vec<(ResourceIx, Role)> = self
                .site_res
                .iter()
                .map(|r| (r[P_PLATFORM], Role::SiteAdmin))
                .collect();
            let gx = self.add_group(NewGroup {
                name: "site-admins",
                description: "Site administrators of every site",
                directory: 0,
                external: false,
                default_for: roles.first().copied(),
                protected: true,
                roles: &roles,
            });
            for sg in &mut self.site_groups {
                sg.site_admins = Some(gx);
            }
        } else {
            for (s, site) in SITE_NAMES.iter().enumerate().take(self.n_sites) {
                let role = (self.site_res[s][P_PLATFORM], Role::SiteAdmin);
                let description = format!("Site administrators of {site}");
                let gx =
                    self.add_default_group("site-admins", &description, s as DirIx, role, true);
                self.site_groups[s].site_admins = Some(gx);
            }
        }
        self.org_admins_group = self.add_group(NewGroup {
            name: "org-admins",
            description: "Organization administrators",
            directory: 0,
            external: false,
            default_for: None,
            protected: true,
            roles: &[],
        });

        // Custom groups: departments (with an -emea twin on the second site).
        let mut custom = 0;
        for s in 0..self.n_sites {
            let dir = self.dir_of_site(s);
            let res = self.site_res[s];
            for d in DEPTS {
                let (name, description) = if s == 0 {
                    (d.key.to_owned(), format!("Everyone in {}", d.name))
                } else {
                    (
                        format!("{}-emea", d.key),
                        format!("Everyone in {} (EMEA)", d.name),
                    )
                };
                let mut roles = vec![];
                if centralized {
                    for (flag, p) in [(JIRA, P_JSW), (CONF, P_CONF), (JPD, P_JPD)] {
                        if d.products & flag != 0 {
                            roles.push((res[p], Role::User));
                        }
                    }
                }
                let gx = self.plain_group(&name, &description, dir, &roles);
                self.site_groups[s].depts.push(gx);
                custom += 1;
            }
        }
        // IdP-synced groups.
        let mut externals: Vec<(Option<usize>, &str, &str)> = vec![
            (
                None,
                "okta-all-employees",
                "All employees (synced from Okta)",
            ),
            (
                Some(D_ENGINEERING),
                "okta-engineering",
                "Engineering (synced from Okta)",
            ),
        ];
        if cfg.user_count() >= 1_000 {
            externals.push((Some(4), "okta-sales", "Sales (synced from Okta)"));
            externals.push((
                Some(D_SUPPORT),
                "okta-support",
                "Customer Support (synced from Okta)",
            ));
        }
        for (dept, name, description) in externals {
            let roles: Vec<(ResourceIx, Role)> = if centralized && dept == Some(D_ENGINEERING) {
                vec![
                    (self.site_res[0][P_JSW], Role::User),
                    (self.site_res[0][P_CONF], Role::User),
                ]
            } else {
                vec![]
            };
            let gx = self.add_group(NewGroup {
                name,
                description,
                directory: 0,
                external: true,
                default_for: None,
                protected: false,
                roles: &roles,
            });
            self.external_groups.push((dept, gx));
            custom += 1;
        }
        // Role-carrying groups of centralized user management.
        if centralized {
            for s in 0..self.n_sites {
                let name = if s == 0 {
                    "service-desk-agents".to_owned()
                } else {
                    "service-desk-agents-emea".to_owned()
                };
                let role = [(self.site_res[s][P_JSM], Role::User)];
                let gx = self.plain_group(&name, "Agents of the service desks", 0, &role);
                self.site_groups[s].agents = Some(gx);
                custom += 1;
            }
            let role = [(self.site_res[0][P_JPD], Role::Contributor)];
            let gx = self.plain_group(
                "jpd-contributors",
                "Jira Product Discovery contributors",
                0,
                &role,
            );
            self.jpd_contributors = Some(gx);
            custom += 1;
        }
        // Team, project, office and interest groups up to the target.
        let target = cfg.custom_group_count();
        let mut fill = target.saturating_sub(custom);
        if fill >= CITIES.len() * 3 {
            for (c, city) in CITIES.iter().enumerate() {
                let dir = if city.region == Region::Emea {
                    self.dir_of_site(self.n_sites - 1)
                } else {
                    0
                };
                let name = format!("office-{}", city.slug);
                let description = format!("Everyone based in {}", city.name);
                let gx = self.plain_group(&name, &description, dir, &[]);
                self.team_groups.push(TeamGroup {
                    gx,
                    dept: None,
                    office: Some(c),
                });
            }
            fill -= CITIES.len();
        }
        for i in 0..fill {
            let (name, description, dept) = self.team_group_name(i);
            let dir = if self.n_sites > 1 && self.chance(0.3) {
                self.dir_of_site(1)
            } else {
                0
            };
            let gx = self.plain_group(&name, &description, dir, &[]);
            self.team_groups.push(TeamGroup {
                gx,
                dept,
                office: None,
            });
        }
    }

    fn team_group_name(&mut self, i: usize) -> (String, String, Option<usize>) {
        for _ in 0..40 {
            let d = self.weighted_dept(false);
            let dept = &DEPTS[d];
            let team = *self.pick(dept.teams);
            let adjective = *self.pick(TEAM_ADJECTIVES);
            let noun = *self.pick(TEAM_NOUNS);
            let (name, description, dept) = match self.rng.random_range(0..12) {
                0..=2 => (
                    format!("{}-{team}", dept.key),
                    format!("{} {team} team", dept.name),
                    Some(d),
                ),
                3 => {
                    let region = *self.pick(REGION_SUFFIXES);
                    (
                        format!("{}-{team}-{region}", dept.key),
                        format!("{} {team} team ({})", dept.name, region.to_uppercase()),
                        Some(d),
                    )
                }
                4 => {
                    let (circle, what) = *self.pick(DEPT_CIRCLES);
                    (
                        format!("{}-{circle}", dept.key),
                        format!("{what} in {}", dept.name),
                        Some(d),
                    )
                }
                5..=7 => (
                    format!("team-{adjective}-{noun}"),
                    format!("Team {} {}", capitalize(adjective), capitalize(noun)),
                    Some(d),
                ),
                8 => (
                    format!("proj-{noun}"),
                    format!("Project {} working group", capitalize(noun)),
                    None,
                ),
                9 => {
                    let topic = *self.pick(GUILD_TOPICS);
                    (
                        format!("guild-{topic}"),
                        format!("Community of practice: {topic}"),
                        None,
                    )
                }
                _ => (
                    format!("{}-{team}-{noun}", dept.key),
                    format!("{} {team} squad {}", dept.name, capitalize(noun)),
                    Some(d),
                ),
            };
            if !self.group_names.contains(&name) {
                return (name, description, dept);
            }
        }
        let adjective = *self.pick(TEAM_ADJECTIVES);
        let noun = *self.pick(TEAM_NOUNS);
        let mut n = i;
        loop {
            let name = format!("team-{adjective}-{noun}-{n}");
            if !self.group_names.contains(&name) {
                return (
                    name,
                    format!("Team {} {} {n}", capitalize(adjective), capitalize(noun)),
                    None,
                );
            }
            n += 1;
        }
    }

    // ---- access ---------------------------------------------------------------------------

    fn access(&mut self) {
        let centralized = self.mode == Mode::Centralized;
        // Org admins.
        let org_admins: Vec<AccountIx> = self
            .people
            .iter()
            .filter(|p| p.org_admin)
            .map(|p| p.ax)
            .collect();
        for ax in org_admins {
            self.join(self.org_admins_group, ax);
        }
        // Departments: the department group, and under the original experience the default
        // groups of the department's products.
        for i in 0..self.people.len() {
            let Some(d) = self.people[i].dept else {
                continue;
            };
            if i == 0 {
                continue;
            }
            let ax = self.people[i].ax;
            for s in 0..self.n_sites {
                if !self.people[i].on_site(s) {
                    continue;
                }
                let gx = self.site_groups[s].depts[d];
                self.join(gx, ax);
                if !centralized {
                    for (flag, p) in [(JIRA, P_JSW), (CONF, P_CONF), (JPD, P_JPD)] {
                        if DEPTS[d].products & flag != 0 {
                            self.give_product(ax, s, p);
                        }
                    }
                }
                // Some people outside the usual departments use Jira or Confluence too.
                if DEPTS[d].products & JIRA == 0 && self.chance(0.2) {
                    self.give_product(ax, s, P_JSW);
                }
                if DEPTS[d].products & CONF == 0 && self.chance(0.15) {
                    self.give_product(ax, s, P_CONF);
                }
            }
        }
        // Jira Product Discovery creators beyond Product Management: designers and
        // engineering managers first, up to about 70% of the seats.
        for s in 0..self.n_sites {
            let rx = self.site_res[s][P_JPD];
            let seats = self.w.resources[rx as usize].seats.unwrap_or(0);
            let target = round(f64::from(seats) * 0.7);
            let cands = self.candidates(s, |p| {
                p.dept == Some(D_DESIGN) || (p.manager && p.dept == Some(D_ENGINEERING))
            });
            for i in cands {
                if self.seat_used[rx as usize] >= target {
                    break;
                }
                let ax = self.people[i].ax;
                if self.usable(ax, rx) && !self.has_seat(ax, rx) {
                    self.give_product(ax, s, P_JPD);
                }
            }
        }
        self.admins();
        self.agents_and_customers();
        // Guests (centralized): partners get guest access to Confluence.
        if centralized {
            for i in 0..self.people.len() {
                if self.people[i].class != Class::Partner {
                    continue;
                }
                let ax = self.people[i].ax;
                let s = usize::from(!self.people[i].on_site(0));
                if self.chance(0.75) && self.grant(ax, self.site_res[s][P_CONF], Role::Guest) {
                    self.guests[s].push(ax);
                }
            }
            // JPD contributors.
            if let Some(gx) = self.jpd_contributors {
                let pop0 = self.people.iter().filter(|p| p.on_site(0)).count();
                let k = (pop0 / 30).max(2);
                let cands: Vec<usize> = (1..self.people.len())
                    .filter(|&i| {
                        let p = &self.people[i];
                        p.on_site(0) && matches!(p.dept, Some(D_ENGINEERING | D_DESIGN | D_SUPPORT))
                    })
                    .collect();
                let cands = self.shuffled(cands);
                for i in cands.into_iter().take(k) {
                    self.join(gx, self.people[i].ax);
                }
            }
        }
        // IdP-synced groups.
        let externals = self.external_groups.clone();
        for i in 0..self.people.len() {
            if !self.people[i].synced {
                continue;
            }
            let ax = self.people[i].ax;
            for &(dept, gx) in &externals {
                if dept.is_none() || dept == self.people[i].dept {
                    self.join(gx, ax);
                }
            }
        }
        // Centralized: recent hires also landed in the default groups of what they use.
        if centralized {
            let recent = self.epoch - TimeDelta::days(60);
            for i in 1..self.people.len() {
                let ax = self.people[i].ax;
                if self.w.accounts[ax as usize].added_to_org < recent {
                    continue;
                }
                for s in 0..self.n_sites {
                    for p in [P_JSW, P_CONF] {
                        if self.has_seat(ax, self.site_res[s][p])
                            && let Some(gx) = self.site_groups[s].defaults[p]
                        {
                            self.join(gx, ax);
                        }
                    }
                }
            }
        }
    }

    /// People of site `s` (excluding the integration account) in a random order, those for
    /// whom `preferred` holds first.
    fn candidates(&mut self, s: usize, preferred: impl Fn(&Person) -> bool) -> Vec<usize> {
        let (first, rest): (Vec<usize>, Vec<usize>) = (1..self.people.len())
            .filter(|&i| self.people[i].on_site(s) && self.people[i].class != Class::Partner)
            .partition(|&i| preferred(&self.people[i]));
        let mut out = self.shuffled(first);
        out.extend(self.shuffled(rest));
        out
    }

    /// Makes up to `k` of the candidates (people indexes, in order) admins of `rx`: under
    /// centralized user management the first by a direct role, the others (all, otherwise)
    /// through `group`. Returns the new admins in order.
    fn appoint_admins(
        &mut self,
        cands: Vec<usize>,
        k: usize,
        rx: ResourceIx,
        centralized: bool,
        group: Option<GroupIx>,
    ) -> Vec<AccountIx> {
        let mut made = vec![];
        for i in cands {
            if made.len() >= k {
                break;
            }
            let ax = self.people[i].ax;
            if !self.usable(ax, rx) {
                continue;
            }
            let ok = match (centralized && made.is_empty(), group) {
                (true, _) => self.grant(ax, rx, Role::Admin),
                (false, Some(gx)) => self.join(gx, ax),
                (false, None) => false,
            };
            if ok {
                made.push(ax);
            }
        }
        made
    }

    fn admins(&mut self) {
        let centralized = self.mode == Mode::Centralized;
        for s in 0..self.n_sites {
            let pop = self.people.iter().filter(|p| p.on_site(s)).count();
            let res = self.site_res[s];
            let sg = self.site_groups[s].clone();
            // Jira admins: engineering managers and IT.
            let cands = self.candidates(s, |p| {
                p.class == Class::Employee
                    && (p.dept == Some(D_IT) || (p.manager && p.dept == Some(D_ENGINEERING)))
            });
            let made = self.appoint_admins(
                cands,
                2 + pop / 1_000,
                res[P_JSW],
                centralized,
                sg.jira_admins,
            );
            self.jira_admins[s].extend(made);
            // Confluence admins: IT and People managers.
            let cands = self.candidates(s, |p| {
                p.class == Class::Employee
                    && (p.dept == Some(D_IT) || (p.manager && p.dept == Some(7)))
            });
            let made = self.appoint_admins(
                cands,
                2 + pop / 1_500,
                res[P_CONF],
                centralized,
                sg.confluence_admins,
            );
            self.confluence_admins[s].extend(made);
            // Site admins: IT. Direct roles under centralized user management (plus one legacy
            // member of the site-admins group on the first site); the group otherwise.
            let cands = self.candidates(s, |p| p.class == Class::Employee && p.dept == Some(D_IT));
            let k = 1 + pop / 2_500;
            let mut made = 0;
            for i in cands {
                if made >= k {
                    break;
                }
                let ax = self.people[i].ax;
                if self.people[i].org_admin || !self.usable(ax, res[P_PLATFORM]) {
                    continue;
                }
                let ok = match (centralized, sg.site_admins) {
                    (true, _) => self.grant(ax, res[P_PLATFORM], Role::SiteAdmin),
                    (false, Some(gx)) => self.join(gx, ax),
                    (false, None) => false,
                };
                if ok {
                    made += 1;
                }
            }
            if centralized
                && s == 0
                && let Some(gx) = sg.site_admins
                && let Some(&ax) = self.jira_admins[0].last()
            {
                self.join(gx, ax);
            }
        }
    }

    fn agents_and_customers(&mut self) {
        let centralized = self.mode == Mode::Centralized;
        for s in 0..self.n_sites {
            let rx = self.site_res[s][P_JSM];
            let seats = self.w.resources[rx as usize].seats.unwrap_or(5) as usize;
            let target = seats - (seats / 10).max(1);
            let group = match self.mode {
                Mode::Centralized => self.site_groups[s].agents,
                Mode::Original => self.site_groups[s].defaults[P_JSM],
            };
            let cands = self.candidates(s, |p| matches!(p.dept, Some(D_SUPPORT | D_IT)));
            let mut usable = 0;
            for i in cands {
                if usable >= target {
                    break;
                }
                let ax = self.people[i].ax;
                let counts = self.usable(ax, rx);
                if let Some(gx) = group
                    && self.join(gx, ax)
                {
                    self.agents[s].push(ax);
                    if counts {
                        usable += 1;
                    }
                }
            }
            // Atlassian accounts that are help-desk customers.
            let pop = self.people.iter().filter(|p| p.on_site(s)).count();
            let k = (pop / 25).max(2);
            let cands = self.candidates(s, |p| p.class == Class::Employee);
            let mut made = 0;
            for i in cands {
                if made >= k {
                    break;
                }
                let ax = self.people[i].ax;
                if self.w.accounts[ax as usize].directories.is_empty() {
                    continue;
                }
                if !centralized || self.grant(ax, rx, Role::Customer) {
                    self.atl_customers[s].push(ax);
                    made += 1;
                }
            }
        }
    }

    // ---- team memberships -----------------------------------------------------------------

    fn team_memberships(&mut self, cfg: &SeedConfig) {
        // Offices: everyone based in the city (and in the group's directory).
        let offices: Vec<(usize, GroupIx)> = self
            .team_groups
            .iter()
            .filter_map(|t| t.office.map(|c| (c, t.gx)))
            .collect();
        if !offices.is_empty() {
            let mut by_city: Vec<Option<GroupIx>> = vec![None; CITIES.len()];
            for (c, gx) in offices {
                by_city[c] = Some(gx);
            }
            for i in 1..self.people.len() {
                if self.people[i].class == Class::Partner {
                    continue;
                }
                if let Some(gx) = by_city[self.people[i].city] {
                    self.join(gx, self.people[i].ax);
                }
            }
        }
        // Pools of team groups per directory, overall and per department.
        let n_dirs = self.w.directories.len();
        // Department teams are joined by people of that department, cross-functional groups
        // (projects, guilds) by anyone.
        let mut cross: Vec<Vec<GroupIx>> = vec![vec![]; n_dirs];
        let mut by_dept: Vec<Vec<Vec<GroupIx>>> = vec![vec![vec![]; DEPTS.len()]; n_dirs];
        for t in &self.team_groups {
            if t.office.is_some() {
                continue;
            }
            let dir = self.w.groups[t.gx as usize].directory as usize;
            match t.dept {
                Some(d) => by_dept[dir][d].push(t.gx),
                None => cross[dir].push(t.gx),
            }
        }
        let current: usize = self.w.groups.iter().map(|g| g.members.len()).sum();
        let remaining = cfg.membership_target().saturating_sub(current);
        let eligible: Vec<usize> = (1..self.people.len())
            .filter(|&i| {
                self.people[i].class != Class::Partner
                    && !self.w.accounts[self.people[i].ax as usize]
                        .directories
                        .is_empty()
            })
            .collect();
        if eligible.is_empty() || remaining == 0 {
            return;
        }
        let avg = remaining as f64 / eligible.len() as f64;
        for i in eligible {
            let ax = self.people[i].ax;
            let dept = self.people[i].dept;
            let pools: Vec<(&[GroupIx], &[GroupIx])> = self.w.accounts[ax as usize]
                .directories
                .keys()
                .map(|d| {
                    let own: &[GroupIx] = match dept {
                        Some(dept) => &by_dept[*d as usize][dept],
                        None => &[],
                    };
                    (own, cross[*d as usize].as_slice())
                })
                .filter(|(own, cross)| !own.is_empty() || !cross.is_empty())
                .collect();
            if pools.is_empty() {
                continue;
            }
            let k = round(avg * 2.0 * self.rng.random::<f64>()) as usize;
            let mut added = 0;
            let mut tries = 0;
            while added < k && tries < k * 3 {
                tries += 1;
                let (own, cross) = *self.pick(&pools);
                let pool = if cross.is_empty() || (!own.is_empty() && self.chance(0.75)) {
                    own
                } else {
                    cross
                };
                // Skewed towards the front: a few big groups, many small ones.
                let u: f64 = self.rng.random();
                let gx = pool[((u.powf(1.8) * pool.len() as f64) as usize).min(pool.len() - 1)];
                if !self.w.groups[gx as usize].members.contains(&ax) && self.join(gx, ax) {
                    added += 1;
                }
            }
        }
    }

    // ---- activity ---------------------------------------------------------------------------

    fn activity(&mut self) {
        for i in 0..self.people.len() {
            let ax = self.people[i].ax as usize;
            let account = &self.w.accounts[ax];
            let mut resources: BTreeSet<ResourceIx> = account
                .direct_roles
                .iter()
                .filter(|(_, role)| *role != Role::UserAccessAdmin)
                .map(|(rx, _)| *rx)
                .collect();
            for gx in &account.groups {
                resources.extend(self.w.groups[*gx as usize].roles.iter().map(|(rx, _)| *rx));
            }
            if account.org_admin {
                resources.extend(self.site_res.iter().map(|r| r[P_PLATFORM]));
            }
            if resources.is_empty() {
                continue;
            }
            let added = account.added_to_org;
            let until = account.deactivated_on.unwrap_or(self.epoch);
            let suspended = self.people[i].fate == Fate::Suspended;
            let class = if i == 0 {
                0.5
            } else if suspended {
                0.1
            } else {
                self.rng.random::<f64>()
            };
            let mut last_active = BTreeMap::new();
            for rx in resources {
                let at = if class < 0.07 {
                    None // never used
                } else if class < 0.22 {
                    // stale licence: months ago
                    let at = self.ago(90, 420);
                    (at > added).then_some(at.min(until))
                } else {
                    let occasional = matches!(
                        self.w.resources[rx as usize].product,
                        Product::JiraProductDiscovery | Product::Statuspage | Product::Platform
                    );
                    if occasional && self.chance(0.25) {
                        None
                    } else {
                        let at = if occasional {
                            self.ago(0, 60)
                        } else {
                            self.ago(0, 14)
                        };
                        Some(at.max(added).min(until))
                    }
                };
                if let Some(at) = at {
                    last_active.insert(rx, at);
                }
            }
            self.w.accounts[ax].last_active = last_active;
        }
    }

    // ---- Jira, JSM, Confluence ------------------------------------------------------------

    /// Up to `k` random people of site `s` holding a seat of `rx`.
    fn seat_holders(&mut self, s: usize, rx: ResourceIx, k: usize) -> Vec<AccountIx> {
        let cands = self.candidates(s, |_| true);
        cands
            .into_iter()
            .map(|i| self.people[i].ax)
            .filter(|ax| self.has_seat(*ax, rx))
            .take(k)
            .collect()
    }

    fn projects(&mut self) {
        for s in 0..self.n_sites {
            let sg = self.site_groups[s].clone();
            let templates: &[(&str, &str, &str, usize)] = if s == 0 {
                &[
                    ("ENG", "Engineering", "software", D_ENGINEERING),
                    ("OPS", "Platform Operations", "software", D_ENGINEERING),
                    ("MKT", "Marketing Campaigns", "software", 5),
                    ("WEB", "Website", "software", D_DESIGN),
                    ("HELP", "Customer Help Desk", "service_desk", D_SUPPORT),
                    ("IT", "IT Service Desk", "service_desk", D_IT),
                    ("IDEA", "Product Ideas", "product_discovery", D_PRODUCT),
                ]
            } else {
                &[
                    ("EUENG", "EU Engineering", "software", D_ENGINEERING),
                    ("GDPR", "GDPR Compliance", "software", 9),
                    ("EUHELP", "EU Help Desk", "service_desk", D_SUPPORT),
                    ("EUIDEA", "EU Product Ideas", "product_discovery", D_PRODUCT),
                ]
            };
            let res = self.site_res[s];
            for (j, &(key, name, type_key, dept)) in templates.iter().enumerate() {
                let mut actors: BTreeMap<u64, BTreeSet<Actor>> = BTreeMap::new();
                let admins = actors.entry(ROLE_ADMINISTRATORS).or_default();
                if let Some(gx) = sg.jira_admins {
                    admins.insert(Actor::Group(gx));
                }
                if let Some(&lead) = self.jira_admins[s].get(j % self.jira_admins[s].len().max(1)) {
                    admins.insert(Actor::User(lead));
                }
                let dept_group = Actor::Group(sg.depts[dept]);
                match type_key {
                    "software" => {
                        let users = self.seat_holders(s, res[P_JSW], 3);
                        let member = actors.entry(ROLE_MEMBER).or_default();
                        member.insert(dept_group);
                        member.extend(users.into_iter().map(Actor::User));
                        actors
                            .entry(ROLE_VIEWER)
                            .or_default()
                            .insert(Actor::Group(sg.depts[D_PRODUCT]));
                    }
                    "service_desk" => {
                        let team = actors.entry(ROLE_SD_TEAM).or_default();
                        let agents_group = match self.mode {
                            Mode::Centralized => sg.agents,
                            Mode::Original => sg.defaults[P_JSM],
                        };
                        if let Some(gx) = agents_group {
                            team.insert(Actor::Group(gx));
                        }
                        team.extend(self.agents[s].iter().take(2).map(|ax| Actor::User(*ax)));
                        let customers = actors.entry(ROLE_SD_CUSTOMERS).or_default();
                        customers.extend(
                            self.atl_customers[s]
                                .iter()
                                .take(3)
                                .map(|ax| Actor::User(*ax)),
                        );
                    }
                    _ => {
                        actors.entry(ROLE_MEMBER).or_default().insert(dept_group);
                        let viewers = match (self.mode, self.jpd_contributors) {
                            (Mode::Centralized, Some(gx)) if s == 0 => Some(gx),
                            _ => sg.defaults[P_JSW],
                        };
                        if let Some(gx) = viewers {
                            actors
                                .entry(ROLE_VIEWER)
                                .or_default()
                                .insert(Actor::Group(gx));
                        }
                    }
                }
                self.w.sites[s].projects.push(Project {
                    id: 10_000 + j as u64,
                    key: key.to_owned(),
                    name: name.to_owned(),
                    type_key: type_key.to_owned(),
                    role_actors: actors,
                });
            }
        }
    }

    fn service_desks(&mut self) {
        for s in 0..self.n_sites {
            // JSM customer organizations, by the customers' email domains.
            let n_orgs = if s == 0 { 3 } else { 2 };
            let mut org_ids = vec![];
            for (name, domain) in CUSTOMER_ORGS.iter().take(n_orgs) {
                let id = self.w.next_site_id(s as SiteIx);
                let suffix = format!("@{domain}");
                let members: BTreeSet<AccountIx> = self.portal_customers[s]
                    .iter()
                    .copied()
                    .filter(|ax| {
                        self.w.accounts[*ax as usize]
                            .email
                            .as_deref()
                            .is_some_and(|e| e.ends_with(&suffix))
                    })
                    .collect();
                self.w.sites[s].jsm_orgs.push(JsmOrganization {
                    id,
                    name: (*name).to_owned(),
                    members,
                    deleted: false,
                });
                org_ids.push(id);
            }
            let desks: Vec<(u64, String, String)> = self.w.sites[s]
                .projects
                .iter()
                .filter(|p| p.type_key == "service_desk")
                .map(|p| (p.id, p.key.clone(), p.name.clone()))
                .collect();
            for (k, (project_id, key, name)) in desks.into_iter().enumerate() {
                let external = k == 0;
                let mut customers: BTreeSet<AccountIx> = BTreeSet::new();
                if external {
                    customers.extend(self.portal_customers[s].iter().copied());
                    customers.extend(self.atl_customers[s].iter().take(2).copied());
                } else {
                    customers.extend(self.atl_customers[s].iter().copied());
                }
                let organizations: BTreeSet<u64> = if external {
                    org_ids.iter().take(2).copied().collect()
                } else {
                    BTreeSet::new()
                };
                self.w.sites[s].service_desks.push(ServiceDesk {
                    id: k as u64 + 1,
                    project_id,
                    project_key: key,
                    project_name: name,
                    customers,
                    organizations,
                    closed_access: !external,
                });
            }
        }
    }

    fn space_permission(
        &mut self,
        s: usize,
        principal: Actor,
        operation: &str,
        target: &str,
    ) -> SpacePermission {
        SpacePermission {
            id: self.w.next_site_id(s as SiteIx),
            principal,
            operation: operation.to_owned(),
            target: target.to_owned(),
        }
    }

    fn spaces(&mut self) {
        for s in 0..self.n_sites {
            let sg = self.site_groups[s].clone();
            let conf_users = sg.defaults[P_CONF];
            let templates: &[(&str, &str, usize, Option<usize>)] = if s == 0 {
                &[
                    ("ENG", "Engineering", D_ENGINEERING, None),
                    ("HR", "People Team", 7, None),
                    ("SALES", "Sales Playbooks", 5, Some(4)),
                    ("IT", "IT Knowledge Base", D_IT, None),
                ]
            } else {
                &[
                    ("EUENG", "EU Engineering", D_ENGINEERING, None),
                    ("EUHR", "EU People", 7, None),
                ]
            };
            let mut spaces = vec![];
            for (j, &(key, name, editors, readers)) in templates.iter().enumerate() {
                let id = self.w.next_site_id(s as SiteIx);
                let created_at = self.ago(300, 1_500);
                let mut permissions = vec![];
                if let Some(gx) = sg.confluence_admins {
                    for op in [("administer", "space"), ("read", "space")] {
                        permissions.push(self.space_permission(s, Actor::Group(gx), op.0, op.1));
                    }
                }
                let editors = Actor::Group(sg.depts[editors]);
                for op in [
                    ("read", "space"),
                    ("create", "page"),
                    ("create", "blogpost"),
                    ("create", "comment"),
                ] {
                    permissions.push(self.space_permission(s, editors, op.0, op.1));
                }
                if let Some(d) = readers {
                    permissions.push(self.space_permission(
                        s,
                        Actor::Group(sg.depts[d]),
                        "read",
                        "space",
                    ));
                }
                if key != "HR"
                    && let Some(gx) = conf_users
                {
                    permissions.push(self.space_permission(s, Actor::Group(gx), "read", "space"));
                }
                if j == 0 {
                    // Guests see only this space.
                    for ax in self.guests[s].clone() {
                        permissions.push(self.space_permission(
                            s,
                            Actor::User(ax),
                            "read",
                            "space",
                        ));
                    }
                }
                spaces.push(Space {
                    id,
                    key: key.to_owned(),
                    name: name.to_owned(),
                    kind: "global".to_owned(),
                    created_at,
                    permissions,
                });
            }
            // Personal spaces.
            let personal = if s == 0 { 2 } else { 1 };
            let owners = self.seat_holders(s, self.site_res[s][P_CONF], personal);
            for ax in owners {
                let account = &self.w.accounts[ax as usize];
                let key = format!("~{}", account.id.replace([':', '-'], ""));
                let name = account.name.clone();
                let from = account.added_to_org;
                let id = self.w.next_site_id(s as SiteIx);
                let created_at = self.between(from, self.epoch - TimeDelta::days(1));
                let mut permissions = vec![];
                for op in [
                    ("read", "space"),
                    ("administer", "space"),
                    ("create", "page"),
                    ("create", "blogpost"),
                ] {
                    permissions.push(self.space_permission(s, Actor::User(ax), op.0, op.1));
                }
                spaces.push(Space {
                    id,
                    key,
                    name,
                    kind: "personal".to_owned(),
                    created_at,
                    permissions,
                });
            }
            self.w.sites[s].spaces = spaces;
        }
    }

    // ---- Statuspage -----------------------------------------------------------------------

    fn statuspage(&mut self, cfg: &SeedConfig) {
        let organization_id = self.w.new_short_id();
        let api_key = self.hex(32);
        let mut pages = vec![];
        let mut templates = vec![
            ("Acme Status", "acme", true),
            ("Acme Internal Systems", "acme-internal", false),
        ];
        if cfg.profile != SizeProfile::Small {
            templates.push(("Acme EU Status", "acme-eu", true));
        }
        for (name, subdomain, rbac) in templates {
            let id = self.w.new_short_id();
            let created_at = self.ago(200, 1_100);
            pages.push(StatusPage {
                id,
                name: name.to_owned(),
                subdomain: subdomain.to_owned(),
                rbac,
                created_at,
            });
        }
        // Team members: people who hold a Statuspage role.
        let rx = self.statuspage_rx;
        let seats = self.w.resources[rx as usize].seats.unwrap_or(50) as usize;
        let target = (seats - (seats / 8).max(2)).min((cfg.user_count() / 300).max(6));
        let cands = self.candidates(0, |p| {
            matches!(p.dept, Some(D_SUPPORT | D_IT))
                || (p.dept == Some(D_ENGINEERING) && p.title == 3)
        });
        let mut usable = 0;
        for i in cands {
            if usable >= target {
                break;
            }
            let ax = self.people[i].ax;
            let counts = self.usable(ax, rx);
            let ok = if self.mode == Mode::Centralized && self.statuspage_admins.len() < 2 && counts
            {
                let ok = self.grant(ax, rx, Role::Admin);
                if ok {
                    self.statuspage_admins.push(ax);
                }
                ok
            } else {
                self.join(self.statuspage_users, ax)
            };
            if ok && counts {
                usable += 1;
            }
        }
        let mut holders: BTreeSet<AccountIx> = self.w.groups[self.statuspage_users as usize]
            .members
            .clone();
        holders.extend(self.statuspage_admins.iter().copied());
        let mut members = BTreeMap::new();
        for ax in holders {
            let account = &self.w.accounts[ax as usize];
            let (first, last) = account
                .name
                .split_once(' ')
                .unwrap_or((account.name.as_str(), ""));
            let (first, last) = (first.to_owned(), last.to_owned());
            let added = account.added_to_org;
            let admin = self.statuspage_admins.contains(&ax);
            let id = self.w.new_short_id();
            let created_at = self.between(added, self.epoch - TimeDelta::days(2));
            let updated_at = self.between(created_at, self.epoch - TimeDelta::days(1));
            let mut page_permissions = BTreeMap::new();
            for page in &pages {
                let permission = if !page.rbac {
                    PagePermission::default()
                } else if admin || self.chance(0.35) {
                    PagePermission {
                        page_configuration: true,
                        incident_manager: true,
                        maintenance_manager: true,
                    }
                } else {
                    let maintenance = self.chance(0.4);
                    PagePermission {
                        page_configuration: false,
                        incident_manager: true,
                        maintenance_manager: maintenance,
                    }
                };
                page_permissions.insert(page.id.clone(), permission);
            }
            members.insert(
                ax,
                StatuspageMember {
                    id,
                    first_name: first,
                    last_name: last,
                    created_at,
                    updated_at,
                    pages: page_permissions,
                },
            );
        }
        self.w.statuspage.organization_id = organization_id;
        self.w.statuspage.api_key = api_key;
        self.w.statuspage.pages = pages;
        self.w.statuspage.members = members;
    }

    // ---- audit events -----------------------------------------------------------------------

    fn event(
        &mut self,
        time: DateTime<Utc>,
        action: &str,
        context: Vec<(String, String)>,
        message: String,
    ) {
        let id = self.w.new_uuid();
        let actor = &self.w.accounts[0];
        let actor = EventActor {
            id: actor.id.clone(),
            name: actor.name.clone(),
        };
        let container = vec![(self.w.org.id.clone(), "orgs".to_owned())];
        self.w.events.push(Event {
            id,
            time,
            action: action.to_owned(),
            actor,
            context,
            container,
            ip: "203.0.113.10".to_owned(),
            message,
        });
    }

    fn events(&mut self) {
        let user =
            |w: &World, ax: AccountIx| (w.accounts[ax as usize].id.clone(), "users".to_owned());
        let group =
            |w: &World, gx: GroupIx| (w.groups[gx as usize].id.clone(), "groups".to_owned());
        if let Some(t) = self.team_groups.first() {
            let gx = t.gx;
            let time = self.ago(20, 28);
            let msg = format!("Created group {}", self.w.groups[gx as usize].name);
            let ctx = vec![group(&self.w, gx)];
            self.event(time, "group_created", ctx, msg);
            if let Some(&ax) = self.w.groups[gx as usize].members.first() {
                let time = time + TimeDelta::minutes(5);
                let msg = format!(
                    "Added {} to group {}",
                    self.w.accounts[ax as usize].id, self.w.groups[gx as usize].name
                );
                let ctx = vec![user(&self.w, ax), group(&self.w, gx)];
                self.event(time, "user_added_to_group", ctx, msg);
            }
        }
        if let Some(&ax) = self.jira_admins.first().and_then(|a| a.first()) {
            let rx = self.site_res[0][P_JSW];
            let time = self.ago(10, 19);
            let ari = self.w.resources[rx as usize].ari();
            let msg = format!(
                "Granted {} on {ari} to {}",
                Role::Admin.id(),
                self.w.accounts[ax as usize].id
            );
            let ctx = vec![user(&self.w, ax), (ari, "resources".to_owned())];
            self.event(time, "user_granted_role", ctx, msg);
        }
        for (fate, action, verb) in [
            (Fate::Suspended, "user_suspended", "Suspended"),
            (Fate::Deactivated, "user_deactivated", "Deactivated"),
            (
                Fate::ForDeletion,
                "user_deletion_scheduled",
                "Scheduled deletion of",
            ),
        ] {
            let Some(p) = self.people.iter().find(|p| p.fate == fate) else {
                continue;
            };
            let ax = p.ax;
            let account = &self.w.accounts[ax as usize];
            let time = match account.deactivated_on {
                Some(on) => on,
                None => {
                    let added = account.added_to_org;
                    self.between(added, self.epoch - TimeDelta::hours(2))
                }
            };
            let msg = match fate {
                Fate::Suspended => format!(
                    "{verb} {} in directory {}",
                    self.w.accounts[ax as usize].id, self.w.directories[0].name
                ),
                _ => format!("{verb} {}", self.w.accounts[ax as usize].id),
            };
            let ctx = vec![user(&self.w, ax)];
            self.event(time, action, ctx, msg);
        }
        self.w
            .events
            .sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn cfg(seed: u64, profile: SizeProfile, users: Option<usize>, mode: Mode) -> SeedConfig {
        SeedConfig {
            seed,
            profile,
            users,
            mode,
        }
    }

    fn json(world: &World) -> String {
        serde_json::to_string(world).unwrap()
    }

    fn memberships(world: &World) -> usize {
        world.groups.iter().map(|g| g.members.len()).sum()
    }

    #[test]
    fn same_seed_gives_identical_worlds() {
        for mode in [Mode::Centralized, Mode::Original] {
            let c = cfg(7, SizeProfile::Small, None, mode);
            assert_eq!(json(&generate(&c)), json(&generate(&c)));
        }
        let c = cfg(7, SizeProfile::Medium, Some(800), Mode::Original);
        assert_eq!(json(&generate(&c)), json(&generate(&c)));
    }

    #[test]
    fn different_seeds_give_different_worlds() {
        let a = generate(&cfg(1, SizeProfile::Small, None, Mode::Centralized));
        let b = generate(&cfg(2, SizeProfile::Small, None, Mode::Centralized));
        assert_ne!(json(&a), json(&b));
        assert_ne!(a.org.id, b.org.id);
        assert_ne!(a.credentials.org_api_key, b.credentials.org_api_key);
    }

    #[test]
    fn world_survives_a_json_round_trip() {
        let world = generate(&SeedConfig::default());
        let mut back: World = serde_json::from_str(&json(&world)).unwrap();
        back.reindex();
        assert_eq!(json(&world), json(&back));
        assert_eq!(back.integration_account(), 0);
    }

    /// Every invariant the simulator relies on.
    fn check_invariants(world: &World) {
        // Ids are unique.
        let mut ids = HashSet::new();
        for a in &world.accounts {
            assert!(ids.insert(a.id.clone()), "duplicate account id {}", a.id);
        }
        let mut emails = HashSet::new();
        for a in world
            .accounts
            .iter()
            .filter(|a| a.kind == AccountType::Atlassian)
        {
            let email = a.email.clone().unwrap();
            assert_eq!(email, email.to_lowercase());
            assert!(emails.insert(email), "duplicate email of {}", a.id);
        }
        let mut group_ids = HashSet::new();
        let mut names = HashSet::new();
        for g in &world.groups {
            assert!(group_ids.insert(g.id.clone()));
            assert!(
                names.insert((g.directory, g.name.to_lowercase())),
                "duplicate group {}",
                g.name
            );
            assert!((g.directory as usize) < world.directories.len());
        }
        for (rx, r) in world.resources.iter().enumerate() {
            assert_eq!(world.resource_ix(&r.ari()).unwrap(), rx as ResourceIx);
        }
        // Memberships are symmetric and within the group's directory.
        for (gx, g) in world.groups.iter().enumerate() {
            for ax in &g.members {
                let a = world.account(*ax);
                assert!(
                    a.groups.contains(&(gx as GroupIx)),
                    "{} not back-linked to {}",
                    a.id,
                    g.name
                );
                assert!(
                    a.directories.contains_key(&g.directory),
                    "{} outside {}'s directory",
                    a.id,
                    g.name
                );
                assert_ne!(a.kind, AccountType::Customer);
            }
        }
        for (ax, a) in world.accounts.iter().enumerate() {
            for gx in &a.groups {
                assert!(world.group(*gx).members.contains(&(ax as AccountIx)));
            }
            for (rx, role) in &a.direct_roles {
                assert!(world.resource(*rx).product.grantable_roles().contains(role));
            }
            if let (Some(on), Some(after)) = (a.deactivated_on, a.delete_after) {
                assert_eq!(after - on, TimeDelta::days(14));
            }
            if a.status == AccountStatus::Inactive {
                assert!(a.deactivated_on.is_some());
            }
            for at in a.last_active.values() {
                assert!(*at >= a.added_to_org && *at <= epoch());
            }
            assert!(a.added_to_org <= epoch());
        }
        // Seats.
        for (rx, r) in world.resources.iter().enumerate() {
            let used = world.seats_used(rx as ResourceIx);
            if let Some(seats) = r.seats {
                assert!(used <= seats, "{} uses {used} of {seats} seats", r.ari());
                if r.product != Product::Platform {
                    assert!(
                        used < seats,
                        "{} has no free seat ({used} of {seats})",
                        r.ari()
                    );
                }
            }
        }
        // Integration account.
        let ix = world.integration_account();
        let integration = world.account(ix);
        assert_eq!(
            integration.email.as_deref(),
            Some("steward-integration@acme.com")
        );
        assert_eq!(integration.name, "Steward Integration");
        assert!(integration.org_admin);
        assert_eq!(world.composite_status(ix), "active");
        assert_eq!(integration.directories.len(), world.directories.len());
        assert!(
            integration
                .directories
                .values()
                .all(|m| *m == Membership::Active)
        );
        for s in 0..world.sites.len() {
            assert!(world.is_site_admin(ix, s as SiteIx));
        }
        let org_admins = world.accounts.iter().filter(|a| a.org_admin).count();
        assert!(
            (3..=5).contains(&org_admins) || world.accounts.len() < 20,
            "{org_admins} org admins"
        );
        // Customers.
        for a in world
            .accounts
            .iter()
            .filter(|a| a.kind == AccountType::Customer)
        {
            assert!(a.directories.is_empty() && a.groups.is_empty() && a.direct_roles.is_empty());
            assert!(a.id.starts_with("qm:") && a.customer_site.is_some());
        }
        for a in world.accounts.iter().filter(|a| a.kind == AccountType::App) {
            assert!(a.email.is_none() && a.app_type.as_deref() == Some("service"));
        }
        // IdP-synced groups exist, and their members are synced.
        let external: Vec<&Group> = world.groups.iter().filter(|g| g.external).collect();
        assert!(!external.is_empty());
        for g in external {
            for ax in &g.members {
                assert_eq!(world.account(*ax).source, ManagementSource::Synced);
            }
        }
        // Default groups grant what they are the default for.
        for g in world.groups.iter().filter(|g| g.default_for.is_some()) {
            assert!(g.roles.contains(&g.default_for.unwrap()));
        }
        if world.mode == Mode::Original {
            for a in &world.accounts {
                assert!(a.direct_roles.is_empty(), "{} holds direct roles", a.id);
            }
            for g in &world.groups {
                let dir = &world.directories[g.directory as usize];
                for (rx, _) in &g.roles {
                    if let Some(site) = world.resource(*rx).site {
                        assert_eq!(dir.site, Some(site), "{} grants outside its site", g.name);
                    }
                }
            }
        }
        // Statuspage team members hold a Statuspage role and carry every page.
        let sp = world.statuspage_resource().unwrap();
        for (ax, m) in &world.statuspage.members {
            assert!(world.holds(*ax, sp, Role::User) || world.holds(*ax, sp, Role::Admin));
            assert_eq!(m.pages.len(), world.statuspage.pages.len());
            for page in &world.statuspage.pages {
                if !page.rbac {
                    assert_eq!(m.pages[&page.id], PagePermission::default());
                }
            }
        }
        for site in &world.sites {
            let mut perm_ids = HashSet::new();
            for space in &site.spaces {
                for p in &space.permissions {
                    assert!(perm_ids.insert(p.id));
                    if let Actor::Group(gx) = p.principal {
                        assert!(!world.group(gx).deleted);
                    }
                }
            }
            for desk in &site.service_desks {
                assert!(
                    site.projects
                        .iter()
                        .any(|p| p.id == desk.project_id && p.type_key == "service_desk")
                );
            }
            for project in &site.projects {
                for role in project.role_actors.keys() {
                    assert!(PROJECT_ROLES.iter().any(|(id, _, _)| id == role));
                }
            }
        }
    }

    #[test]
    fn small_worlds_hold_every_invariant() {
        for mode in [Mode::Centralized, Mode::Original] {
            for seed in [1, 2, 3, 42] {
                let world = generate(&cfg(seed, SizeProfile::Small, None, mode));
                check_invariants(&world);
                assert_eq!(world.sites.len(), 1);
                assert_eq!(world.sites[0].name, "acme");
                let people = world
                    .accounts
                    .iter()
                    .filter(|a| a.kind == AccountType::Atlassian)
                    .count();
                assert_eq!(people, 60);
            }
        }
    }

    #[test]
    fn small_jsm_is_nearly_full() {
        for mode in [Mode::Centralized, Mode::Original] {
            let world = generate(&cfg(42, SizeProfile::Small, None, mode));
            let rx = world.site_resource(0, Product::JiraServiceDesk).unwrap();
            assert_eq!(world.resource(rx).seats, Some(5));
            assert_eq!(world.seats_used(rx), 4);
        }
    }

    #[test]
    fn ten_users_work() {
        for mode in [Mode::Centralized, Mode::Original] {
            for profile in [SizeProfile::Small, SizeProfile::Medium] {
                let world = generate(&cfg(9, profile, Some(10), mode));
                check_invariants(&world);
                let people = world
                    .accounts
                    .iter()
                    .filter(|a| a.kind == AccountType::Atlassian)
                    .count();
                assert_eq!(people, 10);
            }
        }
        for users in [1, 2, 3] {
            let world = generate(&cfg(9, SizeProfile::Small, Some(users), Mode::Centralized));
            assert_eq!(world.integration_account(), 0);
        }
    }

    #[test]
    fn centralized_access_uses_groups_and_direct_roles() {
        let world = generate(&cfg(5, SizeProfile::Small, None, Mode::Centralized));
        let direct = world
            .accounts
            .iter()
            .filter(|a| !a.direct_roles.is_empty())
            .count();
        assert!(direct > 0);
        let guests = world
            .accounts
            .iter()
            .filter(|a| a.direct_roles.iter().any(|(_, r)| *r == Role::Guest))
            .count();
        assert!(guests > 0);
        let engineering = world.group_by_name(0, "engineering").unwrap();
        assert!(!world.group(engineering).roles.is_empty());
    }

    #[test]
    fn lifecycle_states_are_present() {
        let world = generate(&cfg(
            11,
            SizeProfile::Medium,
            Some(2_000),
            Mode::Centralized,
        ));
        let count = |status: &str| {
            (0..world.accounts.len() as AccountIx)
                .filter(|ax| world.composite_status(*ax) == status)
                .count()
        };
        assert!(count("suspended") >= 40, "{}", count("suspended"));
        assert!(count("deactivated") >= 30);
        assert!(count("for_deletion") >= 5);
        assert!(count("not_invited") >= 5);
        let synced = world
            .accounts
            .iter()
            .filter(|a| a.source == ManagementSource::Synced)
            .count();
        assert!((80..=120).contains(&synced), "{synced} synced");
        let managed = (0..world.accounts.len() as AccountIx)
            .filter(|ax| world.is_managed(*ax))
            .count();
        assert!((1_600..=1_750).contains(&managed), "{managed} managed");
        let legacy = world.accounts.iter().filter(|a| a.id.len() == 24).count();
        assert!(legacy > 200 && legacy < 1_800, "{legacy} legacy ids");
    }

    #[test]
    fn medium_sizes_match_the_profile() {
        for mode in [Mode::Centralized, Mode::Original] {
            let world = generate(&cfg(3, SizeProfile::Medium, None, mode));
            check_invariants(&world);
            let people = world
                .accounts
                .iter()
                .filter(|a| a.kind == AccountType::Atlassian)
                .count();
            assert_eq!(people, 5_000);
            assert_eq!(world.sites.len(), 2);
            let custom = world
                .groups
                .iter()
                .filter(|g| g.default_for.is_none() && !g.protected)
                .count();
            assert!((295..=310).contains(&custom), "{custom} custom groups");
            let m = memberships(&world);
            assert!((27_000..=33_000).contains(&m), "{m} memberships");
            assert_eq!(world.statuspage.pages.len(), 3);
            assert!(world.statuspage.pages.iter().any(|p| p.rbac));
        }
    }

    /// Slow in debug builds: `cargo test --release -p atlassian-sim --lib seed -- --ignored`.
    #[test]
    #[ignore]
    fn large_and_scaled_worlds_hold_every_invariant() {
        for (profile, users, groups, members) in [
            (SizeProfile::Large, None, 2_000, 400_000),
            (SizeProfile::Large, Some(100_000), 5_000, 1_000_000),
        ] {
            for mode in [Mode::Centralized, Mode::Original] {
                let c = cfg(42, profile, users, mode);
                let world = generate(&c);
                check_invariants(&world);
                let custom = world
                    .groups
                    .iter()
                    .filter(|g| g.default_for.is_none() && !g.protected)
                    .count();
                assert!(custom.abs_diff(groups) <= 10, "{custom} custom groups");
                let m = memberships(&world);
                assert!(m.abs_diff(members) <= members / 50, "{m} memberships");
                assert!((140..=170).contains(&world.statuspage.members.len()) || users.is_some());
                assert_eq!(json(&world), json(&generate(&c)));
            }
        }
    }
}
