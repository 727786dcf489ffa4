//! API families and rate-limit scopes.

use std::fmt;

/// One Atlassian API family (its own error shape and pagination style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Organization admin REST API.
    Org,
    /// User management API (account lifecycle).
    UserManagement,
    /// Jira Cloud platform REST v3.
    Jira,
    /// Jira Service Management REST.
    Jsm,
    /// Confluence REST v1.
    ConfluenceV1,
    /// Confluence REST v2.
    ConfluenceV2,
    /// Statuspage REST v1.
    Statuspage,
}

impl Family {
    /// Stable lower-case name (metrics label).
    pub fn name(self) -> &'static str {
        match self {
            Family::Org => "org",
            Family::UserManagement => "user-management",
            Family::Jira => "jira",
            Family::Jsm => "jsm",
            Family::ConfluenceV1 => "confluence-v1",
            Family::ConfluenceV2 => "confluence-v2",
            Family::Statuspage => "statuspage",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rate-limit scope: requests in one scope share one limiter and one concurrency budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `api.atlassian.com` with the org key (Org API and user management).
    Org,
    /// One site's Jira and JSM.
    Jira(String),
    /// One site's Confluence.
    Confluence(String),
    /// One Statuspage key.
    Statuspage,
}

impl Scope {
    /// Label for metrics and logs.
    pub fn label(&self) -> String {
        match self {
            Scope::Org => "org".to_owned(),
            Scope::Jira(site) => format!("jira:{site}"),
            Scope::Confluence(site) => format!("confluence:{site}"),
            Scope::Statuspage => "statuspage".to_owned(),
        }
    }
}
