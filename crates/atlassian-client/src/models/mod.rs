//! Wire types of every API family, following the official OpenAPI documents. Every struct
//! tolerates unknown fields; every enum keeps values it does not know as `Unknown(String)`
//! (a new product key or role never breaks a sync).

/// Defines a string enum that keeps unknown values: `Unknown(String)` round-trips them.
///
/// ```ignore
/// string_enum! {
///     /// Doc.
///     pub enum AccountStatus { Active => "active", Inactive => "inactive" }
/// }
/// ```
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know yet, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(other) => other.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from(value.as_ref()))
            }
        }
    };
}

pub mod confluence;
pub mod jira;
pub mod jsm;
pub mod org;
pub mod statuspage;
pub mod user_management;

string_enum! {
    /// A canonical Atlassian role id.
    pub enum RoleId {
        /// `atlassian/user`.
        User => "atlassian/user",
        /// `atlassian/admin`.
        Admin => "atlassian/admin",
        /// `atlassian/guest`.
        Guest => "atlassian/guest",
        /// `atlassian/customer`.
        Customer => "atlassian/customer",
        /// `atlassian/user-access-admin`.
        UserAccessAdmin => "atlassian/user-access-admin",
        /// `atlassian/contributor`.
        Contributor => "atlassian/contributor",
        /// `atlassian/basic`.
        Basic => "atlassian/basic",
        /// `atlassian/stakeholder`.
        Stakeholder => "atlassian/stakeholder",
        /// `atlassian/viewer`.
        Viewer => "atlassian/viewer",
        /// `atlassian/site-admin`.
        SiteAdmin => "atlassian/site-admin",
        /// `atlassian/org-admin`.
        OrgAdmin => "atlassian/org-admin",
        /// `atlassian/ai-access`.
        AiAccess => "atlassian/ai-access",
    }
}

string_enum! {
    /// A product key (ARI product, `resourceOwner`, workspace `typeKey`, Jira application key).
    pub enum ProductKey {
        /// `jira-software`.
        JiraSoftware => "jira-software",
        /// `jira-servicedesk`.
        JiraServiceDesk => "jira-servicedesk",
        /// `jira-product-discovery`.
        JiraProductDiscovery => "jira-product-discovery",
        /// `jira-core`.
        JiraCore => "jira-core",
        /// `confluence`.
        Confluence => "confluence",
        /// `statuspage`.
        Statuspage => "statuspage",
        /// `platform` (site and org admin roles).
        Platform => "platform",
    }
}

string_enum! {
    /// `accountType`.
    pub enum AccountType {
        /// A person.
        Atlassian => "atlassian",
        /// An app (bot).
        App => "app",
        /// A JSM portal-only customer.
        Customer => "customer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip_and_known_ones_parse() {
        let roles: Vec<RoleId> =
            serde_json::from_str(r#"["atlassian/user","atlassian/brand-new"]"#).unwrap();
        assert_eq!(roles[0], RoleId::User);
        assert_eq!(roles[1], RoleId::Unknown("atlassian/brand-new".into()));
        assert_eq!(
            serde_json::to_string(&roles).unwrap(),
            r#"["atlassian/user","atlassian/brand-new"]"#
        );
        assert_eq!(ProductKey::from("loom"), ProductKey::Unknown("loom".into()));
    }
}
