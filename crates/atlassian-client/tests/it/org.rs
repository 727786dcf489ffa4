//! The Org API against the simulator: orgs, directories, workspaces, and helpers the other
//! `org_*` test modules share.

use std::collections::BTreeSet;

use atlassian_client::api::org::{DirectoryFilter, WorkspaceQuery, WorkspaceSearch};
use atlassian_client::models::ProductKey;
use atlassian_sim::record::Exchange;
use atlassian_sim::state::{AccountType, ManagementSource, Product};
use futures::TryStreamExt;

use crate::support::TestEnv;

// ---- shared helpers ---------------------------------------------------------------------------

/// The ARI of the first resource of `product`.
pub(crate) fn ari(env: &TestEnv, product: Product) -> String {
    env.sim.app().read(|w| {
        w.resources
            .iter()
            .find(|r| r.product == product)
            .map(|r| r.ari())
            .expect("the seeded org has the product")
    })
}

/// Account ids of every directory user as the model holds them: Atlassian accounts in a
/// directory, and managed accounts outside every directory (listed as `not_invited`).
pub(crate) fn directory_users(env: &TestEnv) -> BTreeSet<String> {
    env.sim.app().read(|w| {
        w.accounts
            .iter()
            .enumerate()
            .filter(|(ax, a)| {
                a.kind == AccountType::Atlassian
                    && (!a.directories.is_empty() || w.is_managed(*ax as u32))
            })
            .map(|(_, a)| a.id.clone())
            .collect()
    })
}

/// Active, invited (not IdP-synced), non-admin people in a directory holding no role at all on
/// the first resource of `product`.
pub(crate) fn people_without(env: &TestEnv, product: Product) -> Vec<String> {
    env.sim.app().read(|w| {
        let rx = w
            .resources
            .iter()
            .position(|r| r.product == product)
            .expect("the seeded org has the product") as u16;
        w.accounts
            .iter()
            .enumerate()
            .filter(|(ax, a)| {
                let ax = *ax as u32;
                a.kind == AccountType::Atlassian
                    && a.source == ManagementSource::Invited
                    && !a.org_admin
                    && w.composite_status(ax) == "active"
                    && !w.role_assignments(ax).keys().any(|(r, _)| *r == rx)
            })
            .map(|(_, a)| a.id.clone())
            .collect()
    })
}

/// Recorded Atlassian requests with `method` whose path ends with `suffix`.
pub(crate) fn requests(env: &TestEnv, method: &str, suffix: &str) -> Vec<Exchange> {
    env.sim
        .exchanges()
        .into_iter()
        .filter(|e| e.method == method && e.spec_path.replace("%3A", ":").ends_with(suffix))
        .collect()
}

/// How many audit events with `action` name `id` in their context.
pub(crate) fn events_about(env: &TestEnv, action: &str, id: &str) -> usize {
    env.sim.app().read(|w| {
        w.events
            .iter()
            .filter(|e| e.action == action && e.context.iter().any(|(c, _)| c == id))
            .count()
    })
}

// ---- orgs, directories, workspaces -----------------------------------------------------------

#[tokio::test]
async fn orgs_lists_the_simulated_org_and_get_org_finds_it() {
    let env = TestEnv::start().await;
    let orgs: Vec<_> = env.client.org().orgs().try_collect().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].id, env.sim.info().org_id);
    let org = env.client.org().get_org(&orgs[0].id).await.unwrap();
    assert_eq!(org.attributes.name, orgs[0].attributes.name);
    let missing = env
        .client
        .org()
        .get_org("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    env.finish().await;
}

#[tokio::test]
async fn directories_list_the_one_directory_of_a_centralized_org() {
    let env = TestEnv::start().await;
    let expected: Vec<String> = env
        .sim
        .app()
        .read(|w| w.directories.iter().map(|d| d.id.clone()).collect());
    let org = env.client.org();
    let all: Vec<_> = org
        .directories(&DirectoryFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|d| d.directory_id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(all[0].name.is_some());
    let of_account: Vec<_> = org
        .directories(&DirectoryFilter {
            account_id: Some(env.sim.info().integration_account_id.clone()),
            limit: Some(1),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(of_account, all);
    let none: Vec<_> = org
        .directories(&DirectoryFilter {
            search_term: Some("no directory is called this".into()),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    env.finish().await;
}

#[tokio::test]
async fn workspaces_list_every_product_with_cursor_only_paging() {
    let env = TestEnv::start().await;
    let expected: BTreeSet<String> = env.sim.app().read(|w| {
        w.resources
            .iter()
            .filter(|r| r.product != Product::Platform)
            .map(|r| r.ari())
            .collect()
    });
    let org = env.client.org();
    let every: Vec<_> = org
        .workspaces(&WorkspaceSearch::default())
        .try_collect()
        .await
        .unwrap();
    let one_by_one: Vec<_> = org
        .workspaces(&WorkspaceSearch {
            limit: Some(1),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(one_by_one, every, "single-item pages give the same list");
    let ids: BTreeSet<String> = every.iter().map(|w| w.id.clone()).collect();
    assert_eq!(ids, expected, "every product is listed once");
    assert_eq!(ids.len(), every.len());
    let products: BTreeSet<ProductKey> = every.iter().filter_map(|w| w.product()).collect();
    for product in [
        ProductKey::JiraSoftware,
        ProductKey::JiraServiceDesk,
        ProductKey::JiraProductDiscovery,
        ProductKey::Confluence,
        ProductKey::Statuspage,
    ] {
        assert!(products.contains(&product), "{product} is listed");
    }
    let site = env.sim.info().sites[0].cloud_id.clone();
    let jira = every
        .iter()
        .find(|w| w.product() == Some(ProductKey::JiraSoftware))
        .unwrap();
    assert_eq!(jira.cloud_id(), Some(site.as_str()));
    assert!(!jira.plans().is_empty());

    // After the first page, the body is the cursor and nothing else.
    let bodies: Vec<serde_json::Value> = requests(&env, "POST", "/workspaces")
        .into_iter()
        .filter_map(|e| e.request_body)
        .collect();
    assert_eq!(bodies.len(), 1 + every.len(), "one request per page of one");
    assert_eq!(bodies[1]["limit"], 1);
    for body in &bodies[2..] {
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["cursor"], "{body}");
    }

    let confluence_only: Vec<_> = org
        .workspaces(&WorkspaceSearch {
            query: Some(WorkspaceQuery::type_keys(["confluence"])),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(confluence_only.len(), 1);
    assert_eq!(confluence_only[0].product(), Some(ProductKey::Confluence));
    let nothing: Vec<_> = org
        .workspaces(&WorkspaceSearch {
            query: Some(WorkspaceQuery::SearchWorkspaces("no such workspace".into())),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(nothing.is_empty());
    env.finish().await;
}

#[tokio::test]
async fn managed_accounts_are_every_account_on_a_verified_domain() {
    let env = TestEnv::start().await;
    let expected: BTreeSet<String> = env.sim.app().read(|w| {
        (0..w.accounts.len() as u32)
            .filter(|ax| w.is_managed(*ax))
            .map(|ax| w.account(ax).id.clone())
            .collect()
    });
    let accounts: Vec<_> = env
        .client
        .org()
        .managed_accounts()
        .try_collect()
        .await
        .unwrap();
    let ids: BTreeSet<String> = accounts.iter().map(|a| a.account_id.clone()).collect();
    assert_eq!(ids, expected);
    assert_eq!(ids.len(), accounts.len(), "no duplicates");
    assert!(
        accounts
            .iter()
            .all(|a| a.email.as_deref().is_some_and(|e| e.ends_with("@acme.com")))
    );
    assert!(accounts.iter().any(|a| !a.product_access.is_empty()));
    env.finish().await;
}
