//! Which Atlassian API family a request path belongs to, and where that family lives in the
//! simulator's single listening port.
//!
//! The simulator serves every family on one port, each under its own prefix:
//!
//! | stands for                              | simulator prefix            | family            |
//! |-----------------------------------------|-----------------------------|-------------------|
//! | `https://api.atlassian.com/admin/...`   | `/api/admin/...`            | [`Family::Org`]   |
//! | `https://api.atlassian.com/users/...`   | `/api/users/...`            | [`Family::UserManagement`] |
//! | `https://api.atlassian.com/ex/jira/{cloudId}/rest/...` | `/api/ex/jira/{cloudId}/rest/...` | Jira or JSM (scoped-token gateway) |
//! | `https://api.atlassian.com/ex/confluence/{cloudId}/wiki/...` | `/api/ex/confluence/{cloudId}/wiki/...` | Confluence (gateway) |
//! | `https://<site>.atlassian.net/rest/api/3/...` | `/site/<site>/rest/api/3/...` | [`Family::Jira`] |
//! | `https://<site>.atlassian.net/rest/servicedeskapi/...` | `/site/<site>/rest/servicedeskapi/...` | [`Family::Jsm`] |
//! | `https://<site>.atlassian.net/wiki/rest/api/...` | `/site/<site>/wiki/rest/api/...` | [`Family::ConfluenceV1`] |
//! | `https://<site>.atlassian.net/wiki/api/v2/...` | `/site/<site>/wiki/api/v2/...` | [`Family::ConfluenceV2`] |
//! | `https://api.statuspage.io/v1/...`      | `/statuspage/v1/...`        | [`Family::Statuspage`] |
//! | (the simulator's own control API)       | `/_sim/...`                 | [`Family::Control`] |

use serde::{Deserialize, Serialize};

/// Prefix under which `https://api.atlassian.com` is served.
pub const API_PREFIX: &str = "/api";
/// Prefix under which each site `https://<site>.atlassian.net` is served (`/site/<site>`).
pub const SITE_PREFIX: &str = "/site";
/// Prefix under which `https://api.statuspage.io` is served.
pub const STATUSPAGE_PREFIX: &str = "/statuspage";
/// Prefix of the simulator's control API.
pub const CONTROL_PREFIX: &str = "/_sim";

/// One Atlassian API family: its own credentials, error shape, pagination style and rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Organization admin REST API (`/admin/v1`, `/admin/v2`), Bearer org API key.
    Org,
    /// User management API (`/users/{account_id}/manage...`), Bearer org API key without scopes.
    UserManagement,
    /// Jira Cloud platform REST v3, Basic email:token per site.
    Jira,
    /// Jira Service Management REST (`/rest/servicedeskapi`), Basic per site.
    Jsm,
    /// Confluence REST v1 (`/wiki/rest/api`), Basic per site.
    ConfluenceV1,
    /// Confluence REST v2 (`/wiki/api/v2`), Basic per site.
    ConfluenceV2,
    /// Statuspage REST (`/v1`), `Authorization: OAuth <key>`.
    Statuspage,
    /// The simulator's control API, Bearer control token.
    Control,
}

impl Family {
    /// Every family, in a stable order.
    pub const ALL: [Family; 8] = [
        Family::Org,
        Family::UserManagement,
        Family::Jira,
        Family::Jsm,
        Family::ConfluenceV1,
        Family::ConfluenceV2,
        Family::Statuspage,
        Family::Control,
    ];

    /// Stable lower-case name, as used in counters and the control API.
    pub fn name(self) -> &'static str {
        match self {
            Family::Org => "org",
            Family::UserManagement => "user-management",
            Family::Jira => "jira",
            Family::Jsm => "jsm",
            Family::ConfluenceV1 => "confluence-v1",
            Family::ConfluenceV2 => "confluence-v2",
            Family::Statuspage => "statuspage",
            Family::Control => "control",
        }
    }
}

/// Where a request landed: its family, the site it addresses (site name for `/site/<name>`,
/// cloud id for the `/api/ex/...` gateway), and its path as the family's OpenAPI document
/// writes it (relative to that document's `servers[0].url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The API family.
    pub family: Family,
    /// How the site was addressed, for site families.
    pub site: Option<SiteRef>,
    /// The path relative to the family's OpenAPI server URL, e.g. `/v2/orgs/o1/workspaces` for
    /// the Org API (server `https://api.atlassian.com/admin`), `/rest/api/3/user` for Jira,
    /// `/spaces/1` for Confluence v2 (server `.../wiki/api/v2`), `/pages` for Statuspage.
    pub spec_path: String,
}

/// How a site-level request named its site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteRef {
    /// `/site/<name>/...`: the site's own host, Basic auth.
    Name(String),
    /// `/api/ex/<product>/<cloudId>/...`: the api.atlassian.com gateway, Bearer scoped token.
    Gateway(String),
}

/// Classifies a wire path (as received by the simulator) into its family and spec path.
/// Returns `None` for paths that belong to no family (the simulator answers those 404).
pub fn classify(path: &str) -> Option<Route> {
    if let Some(rest) = path.strip_prefix(CONTROL_PREFIX)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Some(Route {
            family: Family::Control,
            site: None,
            spec_path: rest.to_owned(),
        });
    }
    if let Some(rest) = path.strip_prefix(STATUSPAGE_PREFIX) {
        let spec = rest.strip_prefix("/v1")?;
        if !(spec.is_empty() || spec.starts_with('/')) {
            return None;
        }
        return Some(Route {
            family: Family::Statuspage,
            site: None,
            spec_path: spec.to_owned(),
        });
    }
    if let Some(rest) = path.strip_prefix(API_PREFIX) {
        if let Some(spec) = rest.strip_prefix("/admin")
            && spec.starts_with('/')
        {
            return Some(Route {
                family: Family::Org,
                site: None,
                spec_path: spec.to_owned(),
            });
        }
        if rest.starts_with("/users/") {
            return Some(Route {
                family: Family::UserManagement,
                site: None,
                spec_path: rest.to_owned(),
            });
        }
        if let Some(ex) = rest.strip_prefix("/ex/") {
            let mut parts = ex.splitn(3, '/');
            let _product = parts.next()?;
            let cloud_id = parts.next()?;
            let site_path = format!("/{}", parts.next()?);
            return classify_site_path(&site_path, SiteRef::Gateway(cloud_id.to_owned()));
        }
        return None;
    }
    if let Some(rest) = path.strip_prefix(SITE_PREFIX)
        && let Some(rest) = rest.strip_prefix('/')
    {
        let (name, site_path) = rest.split_once('/')?;
        return classify_site_path(&format!("/{site_path}"), SiteRef::Name(name.to_owned()));
    }
    None
}

fn classify_site_path(site_path: &str, site: SiteRef) -> Option<Route> {
    let (family, spec_path) = if site_path.starts_with("/rest/api/3/") {
        (Family::Jira, site_path.to_owned())
    } else if site_path.starts_with("/rest/servicedeskapi/") {
        (Family::Jsm, site_path.to_owned())
    } else if site_path.starts_with("/wiki/rest/api/") {
        (Family::ConfluenceV1, site_path.to_owned())
    } else if let Some(v2) = site_path.strip_prefix("/wiki/api/v2") {
        (Family::ConfluenceV2, v2.to_owned())
    } else {
        return None;
    };
    Some(Route {
        family,
        site: Some(site),
        spec_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_prefix() {
        let org = classify("/api/admin/v2/orgs/o/workspaces").unwrap();
        assert_eq!(
            (org.family, org.spec_path.as_str()),
            (Family::Org, "/v2/orgs/o/workspaces")
        );
        let um = classify("/api/users/abc/manage/lifecycle/disable").unwrap();
        assert_eq!(um.family, Family::UserManagement);
        assert_eq!(um.spec_path, "/users/abc/manage/lifecycle/disable");
        let jira = classify("/site/acme/rest/api/3/user").unwrap();
        assert_eq!(jira.site, Some(SiteRef::Name("acme".into())));
        assert_eq!(jira.spec_path, "/rest/api/3/user");
        let v2 = classify("/site/acme/wiki/api/v2/spaces/1").unwrap();
        assert_eq!(
            (v2.family, v2.spec_path.as_str()),
            (Family::ConfluenceV2, "/spaces/1")
        );
        let gw = classify("/api/ex/jira/c1/rest/servicedeskapi/customer").unwrap();
        assert_eq!(
            (gw.family, gw.site),
            (Family::Jsm, Some(SiteRef::Gateway("c1".into())))
        );
        let sp = classify("/statuspage/v1/pages").unwrap();
        assert_eq!(
            (sp.family, sp.spec_path.as_str()),
            (Family::Statuspage, "/pages")
        );
        assert_eq!(
            classify("/_sim/ground-truth").unwrap().family,
            Family::Control
        );
        assert!(classify("/nothing").is_none());
        assert!(classify("/site/acme/secure/Dashboard.jspa").is_none());
    }
}
