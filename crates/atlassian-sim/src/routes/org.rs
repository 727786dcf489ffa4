//! The Organization admin REST API (`https://api.atlassian.com/admin`), served under
//! `/api/admin`. Bearer org API key; errors `{"errors":[…]}`; v1 lists page with cursor URLs,
//! v2 lists with opaque cursors.

mod common;
mod groups;
mod meta;
mod users;

use super::Table;

/// The routes of this family.
pub fn tables() -> Vec<Table> {
    vec![users::table(), groups::table(), meta::table()]
}
