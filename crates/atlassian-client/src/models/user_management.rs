//! User management API wire types (`specs/admin-user-management.2026.json`): what the org key
//! may do to a managed account, its profile, and its API tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::AccountType;

string_enum! {
    /// A privilege `GET /users/{account_id}/manage?privileges=` can report.
    pub enum Privilege {
        /// Deprecated alias of `profile.write`.
        Profile => "profile",
        /// Which profile fields may be changed (`PATCH …/profile`).
        ProfileWrite => "profile.write",
        /// Whether the profile may be read (`GET …/profile`).
        ProfileRead => "profile.read",
        /// Whether the email may be set (`PUT …/email`).
        EmailSet => "email.set",
        /// Whether the account may be disabled and enabled.
        LifecycleEnablement => "lifecycle.enablement",
        /// Whether the account may be deleted and its deletion cancelled.
        LifecycleDelete => "lifecycle.delete",
        /// Whether the account's API tokens may be listed.
        ApiTokenRead => "apiToken.read",
        /// Whether the account's API tokens may be deleted.
        ApiTokenDelete => "apiToken.delete",
    }
}

string_enum! {
    /// Why an action or property is restricted (`Manageability.RestrictionReason.key`).
    pub enum RestrictionKey {
        /// Reserved for administrative use.
        Administrative => "administrative",
        /// Administrative use, but not on oneself (e.g. the key owner's own tokens).
        AdministrativeNotMyself => "administrative.notMyself",
        /// Set by SAML on login.
        AuthPolicySaml => "authPolicy.saml",
        /// The account is blocked by US export control.
        BlockedExportControl => "blocked.exportControl",
        /// The account is managed by an external SCIM directory.
        ExternalDirectoryScim => "externalDirectory.scim",
        /// The account is managed by an external Google directory.
        ExternalDirectoryGoogle => "externalDirectory.google",
        /// Only the account's owner may do it.
        MyselfOnly => "myselfOnly",
        /// Only the account's organization admin may do it.
        ManagedAccount => "managedAccount",
    }
}

string_enum! {
    /// The lifecycle status of an account (`account_status`).
    pub enum AccountStatus {
        /// Can log in.
        Active => "active",
        /// Deactivated (also during the grace period of a pending deletion).
        Inactive => "inactive",
        /// Deleted.
        Closed => "closed",
    }
}

/// Why something is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestrictionReason {
    /// The reason.
    pub key: RestrictionKey,
}

/// Whether one action or property is allowed (`Manageability.Rule.Simple`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Whether it is allowed.
    pub allowed: bool,
    /// Why not, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RestrictionReason>,
}

/// What the org key may do to an account (`GET /users/{account_id}/manage`). Only the
/// privileges asked for are present (all of them when none was asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    /// Deprecated: per-field rules of the profile, as `profile.write`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<BTreeMap<String, Rule>>,
    /// Per-field rules for `PATCH …/profile`, keyed by JSON path (`name`,
    /// `extended_profile.job_title`, …).
    #[serde(
        rename = "profile.write",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_write: Option<BTreeMap<String, Rule>>,
    /// `GET …/profile`.
    #[serde(
        rename = "profile.read",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_read: Option<Rule>,
    /// `PUT …/email`.
    #[serde(rename = "email.set", default, skip_serializing_if = "Option::is_none")]
    pub email_set: Option<Rule>,
    /// `POST …/lifecycle/enable` and `…/disable`.
    #[serde(
        rename = "lifecycle.enablement",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lifecycle_enablement: Option<Rule>,
    /// `POST …/lifecycle/delete` and `…/cancel-delete`.
    #[serde(
        rename = "lifecycle.delete",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lifecycle_delete: Option<Rule>,
    /// `GET …/api-tokens`.
    #[serde(
        rename = "apiToken.read",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_token_read: Option<Rule>,
    /// `DELETE …/api-tokens/{tokenId}`.
    #[serde(
        rename = "apiToken.delete",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_token_delete: Option<Rule>,
}

/// Extended profile fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProfile {
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Team type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_type: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Physical location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// A managed account's profile (`AtlassianAccountUser`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Account id.
    pub account_id: String,
    /// Account type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    /// Lifecycle status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_status: Option<AccountStatus>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Nickname (public name).
    #[serde(default)]
    pub nickname: String,
    /// Email address.
    #[serde(default)]
    pub email: String,
    /// Whether the email is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// BCP 47 locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Extended profile.
    #[serde(default)]
    pub extended_profile: ExtendedProfile,
}

/// `{account: …}` around a profile.
#[derive(Debug, Deserialize)]
pub(crate) struct ProfileEnvelope {
    pub(crate) account: Profile,
}

/// Extended profile fields to change (`None` leaves a field as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtendedProfileUpdate {
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Physical location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl ExtendedProfileUpdate {
    fn is_empty(&self) -> bool {
        *self == ExtendedProfileUpdate::default()
    }
}

/// Profile fields to change (`PATCH …/profile`); `None` leaves a field as it is. Which fields
/// may change is what [`Privileges::profile_write`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProfileUpdate {
    /// Display name (at most 100 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Nickname (1–30 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// BCP 47 locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Extended profile fields.
    #[serde(skip_serializing_if = "ExtendedProfileUpdate::is_empty")]
    pub extended_profile: ExtendedProfileUpdate,
}

impl ProfileUpdate {
    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        *self == ProfileUpdate::default()
    }
}

/// An API token of an account (`ApiTokenModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Token id.
    pub id: String,
    /// Human-readable label.
    #[serde(default)]
    pub label: String,
    /// When it was created (UTC ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it expires (UTC ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// When it was last used (UTC ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_access: Option<String>,
}

/// Body of `POST …/lifecycle/disable`.
#[derive(Debug, Serialize)]
pub(crate) struct DisableBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<&'a str>,
}

/// Body of `PUT …/email`.
#[derive(Debug, Serialize)]
pub(crate) struct EmailBody<'a> {
    pub(crate) email: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_parse_simple_and_per_field_rules() {
        let p: Privileges = serde_json::from_str(
            r#"{"profile.write":{"name":{"allowed":false,"reason":{"key":"externalDirectory.scim"}}},
                "lifecycle.enablement":{"allowed":true},
                "apiToken.delete":{"allowed":false,"reason":{"key":"brand.new"}}}"#,
        )
        .unwrap();
        let name = &p.profile_write.as_ref().unwrap()["name"];
        assert!(!name.allowed);
        assert_eq!(
            name.reason.as_ref().unwrap().key,
            RestrictionKey::ExternalDirectoryScim
        );
        assert!(p.lifecycle_enablement.unwrap().allowed);
        assert_eq!(
            p.api_token_delete.unwrap().reason.unwrap().key,
            RestrictionKey::Unknown("brand.new".into())
        );
        assert!(p.email_set.is_none());
    }

    #[test]
    fn a_profile_update_sends_only_what_changes() {
        let update = ProfileUpdate {
            nickname: Some("ace".into()),
            ..ProfileUpdate::default()
        };
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            r#"{"nickname":"ace"}"#
        );
        let update = ProfileUpdate {
            extended_profile: ExtendedProfileUpdate {
                department: Some("R&D".into()),
                ..ExtendedProfileUpdate::default()
            },
            ..ProfileUpdate::default()
        };
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            r#"{"extended_profile":{"department":"R&D"}}"#
        );
        assert_eq!(
            serde_json::to_string(&DisableBody { message: None }).unwrap(),
            "{}"
        );
    }
}
