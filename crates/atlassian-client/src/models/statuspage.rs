//! Statuspage wire types (`specs/statuspage.2026-07.json`): pages, team members (organization
//! users) and their page permissions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A status page (`GET /v1/pages`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Page id (e.g. `m2b91t7vwhzx`): the key of [`UserPermissions::pages`].
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `<subdomain>.statuspage.io`.
    #[serde(default)]
    pub subdomain: Option<String>,
    /// Custom domain (CNAME), if any.
    #[serde(default)]
    pub domain: Option<String>,
    /// The company website the page links to.
    #[serde(default)]
    pub url: Option<String>,
    /// Time zone of the page.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Whether viewers must be team members (an audience-specific page).
    #[serde(default)]
    pub viewers_must_be_team_members: Option<bool>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A team member (`User` of `/v1/organizations/{organization_id}/users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    /// Statuspage user id (what the permission calls take), not the Atlassian account id.
    pub id: String,
    /// The organization.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Email: how a team member is matched to an Atlassian account.
    #[serde(default)]
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A team member to create (`POST /v1/organizations/{organization_id}/users`, sent as
/// `{"user": {…}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTeamMember {
    /// Email (required; one team member per email).
    pub email: String,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

impl NewTeamMember {
    /// A team member with names.
    pub fn new(
        email: impl Into<String>,
        first_name: impl Into<String>,
        last_name: impl Into<String>,
    ) -> NewTeamMember {
        NewTeamMember {
            email: email.into(),
            first_name: Some(first_name.into()),
            last_name: Some(last_name.into()),
        }
    }
}

/// A user's roles on one page. On pages without role-based access control every flag is
/// `None` (the wire value `{}`, which just grants access to the page); on RBAC pages the flags
/// say which roles the user holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRoles {
    /// Page configuration role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_configuration: Option<bool>,
    /// Incident manager role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_manager: Option<bool>,
    /// Maintenance manager role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_manager: Option<bool>,
}

impl PageRoles {
    /// Access to a page without role-based access control (`{}`).
    pub fn access() -> PageRoles {
        PageRoles::default()
    }

    /// Every role on an RBAC page.
    pub fn all() -> PageRoles {
        PageRoles::new(true, true, true)
    }

    /// These roles on an RBAC page.
    pub fn new(
        page_configuration: bool,
        incident_manager: bool,
        maintenance_manager: bool,
    ) -> PageRoles {
        PageRoles {
            page_configuration: Some(page_configuration),
            incident_manager: Some(incident_manager),
            maintenance_manager: Some(maintenance_manager),
        }
    }
}

/// A user's page permissions (`GET|PUT /v1/organizations/{organization_id}/permissions/{user_id}`).
/// A page missing from `pages` is a page the user cannot access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserPermissions {
    /// Statuspage user id.
    pub user_id: String,
    /// Roles per page id.
    pub pages: BTreeMap<String, PageRoles>,
}

/// One change for [`merge_permissions`](crate::api::statuspage::StatuspageApi::merge_permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageChange {
    /// Give access to the page with exactly these roles (replacing the page's current roles).
    Set(PageRoles),
    /// Take away access to the page.
    Remove,
}

impl<'de> Deserialize<'de> for UserPermissions {
    /// Reads the documented `{"data":{"user_id","pages":{<page_id>:{…}}}}`, and tolerates what
    /// the spec's examples show instead: no `data` wrapper, `pages` as a list of
    /// `{page_id, …roles}`, or one flat `{page_id, …roles}` object.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let body = value
            .get("data")
            .filter(|v| v.is_object())
            .unwrap_or(&value);
        let user_id = body
            .get("user_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let roles = |v: &Value| -> Result<PageRoles, D::Error> {
            match v {
                Value::Null => Ok(PageRoles::default()),
                other => PageRoles::deserialize(other).map_err(serde::de::Error::custom),
            }
        };
        let mut pages = BTreeMap::new();
        match body.get("pages") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    if let Some(id) = item.get("page_id").and_then(Value::as_str) {
                        pages.insert(id.to_owned(), roles(item)?);
                    }
                }
            }
            Some(Value::Object(map)) => {
                let flat = map.get("page_id").and_then(Value::as_str);
                match flat {
                    Some(id) if map.values().all(|v| !v.is_object()) => {
                        pages.insert(id.to_owned(), roles(&Value::Object(map.clone()))?);
                    }
                    _ => {
                        for (id, v) in map {
                            pages.insert(id.clone(), roles(v)?);
                        }
                    }
                }
            }
            Some(_) => {
                return Err(serde::de::Error::custom(
                    "pages is neither an object nor a list",
                ));
            }
        }
        Ok(UserPermissions { user_id, pages })
    }
}

/// An RFC 3339 time, or `None` when absent, null or unreadable.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(value.and_then(|s| {
        DateTime::parse_from_rfc3339(&s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_read_every_shape_atlassian_documents() {
        let documented: UserPermissions = serde_json::from_str(
            r#"{"data":{"user_id":"u1","pages":{"p1":{"page_configuration":true,"incident_manager":true,"maintenance_manager":false},"p2":{}}}}"#,
        )
        .unwrap();
        assert_eq!(documented.user_id, "u1");
        assert_eq!(documented.pages["p1"], PageRoles::new(true, true, false));
        assert_eq!(documented.pages["p2"], PageRoles::access());
        let listed: UserPermissions = serde_json::from_str(
            r#"{"user_id":"u1","pages":[{"page_id":"p1","page_configuration":false,"incident_manager":true,"maintenance_manager":true}]}"#,
        )
        .unwrap();
        assert_eq!(listed.pages["p1"], PageRoles::new(false, true, true));
        let flat: UserPermissions = serde_json::from_str(
            r#"{"data":{"user_id":"u1","pages":{"page_id":"p9","incident_manager":true}}}"#,
        )
        .unwrap();
        assert_eq!(flat.pages.len(), 1);
        assert_eq!(flat.pages["p9"].incident_manager, Some(true));
    }

    #[test]
    fn page_roles_serialize_as_the_put_body_expects() {
        assert_eq!(serde_json::to_string(&PageRoles::access()).unwrap(), "{}");
        assert_eq!(
            serde_json::to_string(&PageRoles::new(true, false, true)).unwrap(),
            r#"{"page_configuration":true,"incident_manager":false,"maintenance_manager":true}"#
        );
    }
}
