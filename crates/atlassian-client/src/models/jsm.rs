//! Jira Service Management wire types (`specs/jira-service-management.2025-09.json`):
//! customers, service desks and customer organizations.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Links of a customer (`UserLinkDTO`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerLinks {
    /// The user in Jira's REST API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_rest: Option<String>,
    /// Avatar URLs by size (`48x48`, …).
    #[serde(default)]
    pub avatar_urls: BTreeMap<String, String>,
    /// This resource.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_url: Option<String>,
}

/// A customer or organization member (`UserDTO`): a portal-only customer (`qm:` account id) or
/// an Atlassian account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Account id.
    pub account_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Email, when the user's privacy settings show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Whether the account is active.
    #[serde(default)]
    pub active: bool,
    /// Time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Links.
    #[serde(rename = "_links", default)]
    pub links: CustomerLinks,
}

/// What creating a customer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateCustomerOutcome {
    /// A new portal-only customer.
    Created(Customer),
    /// An account with this email already exists (Atlassian's 409 with
    /// `strictConflictStatusCode=true`); nothing was created by this call's last attempt.
    AlreadyExists {
        /// The email asked for.
        email: String,
        /// The existing account, when a user search by email found it.
        account_id: Option<String>,
    },
}

/// A service desk (`ServiceDeskDTO`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDesk {
    /// Service desk id.
    pub id: String,
    /// Id of its Jira project.
    #[serde(default)]
    pub project_id: String,
    /// Key of its Jira project.
    #[serde(default)]
    pub project_key: String,
    /// Name of its Jira project.
    #[serde(default)]
    pub project_name: String,
    /// Project type (`service_desk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_type_key: Option<String>,
}

/// A date as JSM renders it (`DateDTO`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsmDate {
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso8601: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_millis: Option<i64>,
}

/// A JSM customer organization (`OrganizationDTO`; not an Atlassian org).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Organization id (a string of digits on the wire; a number in paths and bodies).
    #[serde(deserialize_with = "number_or_string")]
    pub id: u64,
    /// Name (unique on the site).
    #[serde(default)]
    pub name: String,
    /// Whether it is synced by SCIM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_managed: Option<bool>,
    /// Its UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<JsmDate>,
}

/// Reads an id sent as a string of digits or as a number.
fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    match Id::deserialize(d)? {
        Id::Number(n) => Ok(n),
        Id::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("not a numeric id: {s:?}"))),
    }
}

/// Body of `POST /rest/servicedeskapi/customer` (`CustomerCreateDTO`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewCustomer<'a> {
    pub(crate) email: &'a str,
    pub(crate) display_name: &'a str,
}

/// Body with `accountIds` (`ServiceDeskCustomerDTO`, `UsersOrganizationUpdateDTO`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountIds<'a> {
    pub(crate) account_ids: &'a [String],
}

/// Body of `POST /rest/servicedeskapi/organization`.
#[derive(Debug, Serialize)]
pub(crate) struct NewOrganization<'a> {
    pub(crate) name: &'a str,
}

/// Body of the desk organization add/remove (`OrganizationServiceDeskUpdateDTO`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganizationRef {
    pub(crate) organization_id: u64,
}

/// A JSM `PagedDTO` (`start`/`limit`/`size`/`isLastPage`/`values`/`_links`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct PagedDto<T> {
    #[serde(default = "Vec::new")]
    pub(crate) values: Vec<T>,
    #[serde(default)]
    pub(crate) is_last_page: Option<bool>,
    #[serde(rename = "_links", default)]
    pub(crate) links: PagedLinks,
}

/// `_links` of a `PagedDTO`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PagedLinks {
    #[serde(default)]
    pub(crate) next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_ids_parse_from_strings_and_numbers() {
        let a: Organization = serde_json::from_str(r#"{"id":"163841","name":"Globex"}"#).unwrap();
        let b: Organization = serde_json::from_str(r#"{"id":7,"name":"Initech"}"#).unwrap();
        assert_eq!((a.id, b.id), (163_841, 7));
        assert!(serde_json::from_str::<Organization>(r#"{"id":"x1"}"#).is_err());
    }

    #[test]
    fn a_customer_tolerates_missing_and_unknown_fields() {
        let c: Customer =
            serde_json::from_str(r#"{"accountId":"qm:1:2","name":"qm:1:2","surprise":true}"#)
                .unwrap();
        assert_eq!(c.account_id, "qm:1:2");
        assert!(!c.active && c.email_address.is_none());
    }
}
