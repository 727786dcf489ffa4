//! Org API wire types (`specs/admin-organization.*.json`).

use serde::{Deserialize, Serialize};

/// An organization (`GET /v1/orgs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    /// Org id.
    pub id: String,
    /// Its attributes.
    #[serde(default)]
    pub attributes: OrgAttributes,
}

/// Org attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgAttributes {
    /// Org name.
    #[serde(default)]
    pub name: String,
}
