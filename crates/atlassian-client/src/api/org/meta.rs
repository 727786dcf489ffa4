//! Directories and workspaces.

use futures::Stream;
use serde::Serialize;

use super::users::page_limit;
use super::{OrgApi, V2_MAX_LIMIT, at_most, push_each};
use crate::Error;
use crate::error::Result;
use crate::models::org::{Directory, SortDirection, Workspace};

/// Filters of the directories list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectoryFilter {
    /// Directories this account belongs to.
    pub account_id: Option<String>,
    /// These directories (at most 10).
    pub directory_ids: Vec<String>,
    /// Free text on the name.
    pub search_term: Option<String>,
    /// Page size to ask for (1–100; default 100).
    pub limit: Option<u32>,
}

/// A workspaces query (`QueryVariants`): operators nest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkspaceQuery {
    /// Every nested query matches.
    And(Vec<WorkspaceQuery>),
    /// No nested query matches.
    Nor(Vec<WorkspaceQuery>),
    /// A field has one of the values.
    Field(WorkspaceField),
    /// The name or URL contains the text.
    SearchWorkspaces(String),
    /// The workspace has these features.
    Features(Vec<String>),
    /// The workspace has these policies.
    Policies(Vec<String>),
}

impl WorkspaceQuery {
    /// Workspaces of these products (`attributes.typeKey`).
    pub fn type_keys<I: IntoIterator<Item = S>, S: Into<String>>(keys: I) -> WorkspaceQuery {
        WorkspaceQuery::Field(WorkspaceField {
            name: "attributes.typeKey".into(),
            values: keys.into_iter().map(Into::into).collect(),
        })
    }
}

/// `{name, values}` of a field query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceField {
    /// Field name, e.g. `attributes.typeKey`, `attributes.name`, `id`.
    pub name: String,
    /// Accepted values.
    pub values: Vec<String>,
}

/// One sort key of the workspaces search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceSort {
    /// Field name, e.g. `attributes.name`.
    pub field: String,
    /// Direction.
    pub order: SortDirection,
}

/// The workspaces search (`SearchWorkspacesRequestV2`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkspaceSearch {
    /// What to match (everything when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<WorkspaceQuery>,
    /// Order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<WorkspaceSort>,
    /// Page size to ask for (1–1000; default the maximum, 1000).
    #[serde(skip)]
    pub limit: Option<u32>,
}

/// Largest page of the workspaces search.
const WORKSPACES_MAX_LIMIT: u32 = 1000;

impl WorkspaceSearch {
    fn body(&self) -> Result<serde_json::Value> {
        let limit = self.limit.unwrap_or(WORKSPACES_MAX_LIMIT);
        if !(1..=WORKSPACES_MAX_LIMIT).contains(&limit) {
            return Err(Error::InvalidInput(format!(
                "the page size must be 1 to {WORKSPACES_MAX_LIMIT}, got {limit}"
            )));
        }
        let mut body = serde_json::to_value(self)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the search: {e}")))?;
        body["limit"] = serde_json::json!(limit);
        Ok(body)
    }
}

impl<'a> OrgApi<'a> {
    /// Every directory of the org (`GET /v2/orgs/{orgId}/directories`): one under centralized
    /// user management, one per site under the original experience. Read-only.
    pub fn directories(
        &self,
        filter: &DirectoryFilter,
    ) -> impl Stream<Item = Result<Directory>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/directories";
        let mut query = vec![];
        if let Some(account) = &filter.account_id {
            query.push(("accountId".to_owned(), account.clone()));
        }
        push_each(&mut query, "directoryIds", &filter.directory_ids);
        if let Some(term) = &filter.search_term {
            query.push(("searchTerm".to_owned(), term.clone()));
        }
        let path = at_most("directoryIds", filter.directory_ids.len(), 10)
            .and_then(|()| page_limit(filter.limit))
            .and_then(|_| Ok(format!("{}/directories", self.org_path("v2")?)));
        self.v2_list(
            ROUTE,
            path,
            query,
            page_limit(filter.limit).unwrap_or(V2_MAX_LIMIT),
        )
    }

    /// Every workspace (product instance: Jira Software, JSM, JPD, Confluence of each site,
    /// Statuspage, …) matching `search` (`POST /v2/orgs/{orgId}/workspaces`). Each id is the
    /// resource ARI that role grants and filters take.
    ///
    /// Pages of up to 1000; paging is cursor-only: after the first page the body is
    /// `{"cursor": …}` and nothing else (Atlassian refuses anything more). The spec calls
    /// `links.next` a URL; Atlassian uses it as an opaque cursor, and so does this. Read-only
    /// and idempotent.
    pub fn workspaces(
        &self,
        search: &WorkspaceSearch,
    ) -> impl Stream<Item = Result<Workspace>> + 'a {
        const ROUTE: &str = "/v2/orgs/{orgId}/workspaces";
        let path = self.org_path("v2").map(|p| format!("{p}/workspaces"));
        self.v2_search(ROUTE, path, search.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_queries_serialize_as_the_query_variants() {
        let search = WorkspaceSearch {
            query: Some(WorkspaceQuery::And(vec![
                WorkspaceQuery::type_keys(["jira-software", "confluence"]),
                WorkspaceQuery::SearchWorkspaces("acme".into()),
            ])),
            sort: vec![WorkspaceSort {
                field: "attributes.name".into(),
                order: SortDirection::Asc,
            }],
            limit: None,
        };
        assert_eq!(
            search.body().unwrap(),
            serde_json::json!({
                "query": {"and": [
                    {"field": {"name": "attributes.typeKey", "values": ["jira-software", "confluence"]}},
                    {"searchWorkspaces": "acme"}
                ]},
                "sort": [{"field": "attributes.name", "order": "asc"}],
                "limit": 1000
            })
        );
    }
}
