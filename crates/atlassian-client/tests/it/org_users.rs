//! The Org API's directory-user reads against the simulator: the search (the main sync read),
//! the deprecated list, details, count, stats, role assignments and last-active dates.

use std::collections::BTreeSet;

use atlassian_client::api::org::{
    ALL_DIRECTORIES, RoleAssignmentFilter, UserFilter, UserSearch, UserSort,
};
use atlassian_client::models::RoleId;
use atlassian_client::models::org::{
    ClaimStatus, RoleAssignmentMethod, SortDirection, UserExpand, UserStatus, V1ProductKey,
};
use atlassian_sim::state::{AccountType, Product, Role};
use futures::{StreamExt, TryStreamExt};

use crate::org::{ari, directory_users, requests};
use crate::support::TestEnv;

const UNKNOWN_ACCOUNT: &str = "712020:00000000-0000-0000-0000-000000000000";

async fn search(
    env: &TestEnv,
    search: &UserSearch,
) -> Vec<atlassian_client::models::org::DirectoryUser> {
    env.client
        .org()
        .search_users(ALL_DIRECTORIES, search)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_search_in_small_pages_yields_every_directory_user_exactly_once() {
    let env = TestEnv::start().await;
    let users = search(
        &env,
        &UserSearch {
            limit: Some(7),
            ..Default::default()
        },
    )
    .await;
    let ids: Vec<String> = users.iter().map(|u| u.account_id.clone()).collect();
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(distinct.len(), ids.len(), "no duplicates");
    assert_eq!(distinct, directory_users(&env), "no gaps");
    assert!(ids.len() > 7 * 3, "several pages were read");

    let bodies: Vec<serde_json::Value> = requests(&env, "POST", "/users/search")
        .into_iter()
        .filter_map(|e| e.request_body)
        .collect();
    assert_eq!(bodies.len(), ids.len().div_ceil(7));
    assert_eq!(bodies[0], serde_json::json!({"limit": 7}));
    for body in &bodies[1..] {
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["cursor"],
            "later pages send the cursor alone: {body}"
        );
    }
    env.finish().await;
}

#[tokio::test]
async fn single_item_pages_and_empty_results_end_cleanly() {
    let env = TestEnv::start().await;
    let suspended = UserFilter {
        status: vec![UserStatus::Suspended],
        ..Default::default()
    };
    let one_by_one = search(
        &env,
        &UserSearch {
            filter: suspended.clone(),
            limit: Some(1),
            ..Default::default()
        },
    )
    .await;
    let at_once = search(
        &env,
        &UserSearch {
            filter: suspended.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(!at_once.is_empty(), "the seeded org has suspended people");
    assert_eq!(one_by_one, at_once);
    assert!(
        at_once
            .iter()
            .all(|u| u.status == Some(UserStatus::Suspended))
    );
    let count = env
        .client
        .org()
        .count_users(ALL_DIRECTORIES, &suspended)
        .await
        .unwrap();
    assert_eq!(count as usize, at_once.len());

    let nobody = search(
        &env,
        &UserSearch {
            filter: UserFilter {
                search_term: Some("zz-nobody-is-called-this".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    assert!(nobody.is_empty());
    env.finish().await;
}

#[tokio::test]
async fn the_search_applies_role_resource_status_and_email_filters_and_expands() {
    let env = TestEnv::start().await;
    let jira = ari(&env, Product::JiraSoftware);
    let expected: BTreeSet<String> = env.sim.app().read(|w| {
        let rx = w.resource_ix(&jira).unwrap();
        (0..w.accounts.len() as u32)
            .filter(|ax| {
                w.account(*ax).kind == AccountType::Atlassian
                    && w.composite_status(*ax) == "active"
                    && w.role_assignments(*ax).contains_key(&(rx, Role::User))
            })
            .map(|ax| w.account(ax).id.clone())
            .collect()
    });
    let jira_users = search(
        &env,
        &UserSearch {
            filter: UserFilter {
                resource_ids: vec![jira.clone()],
                role_ids: vec![RoleId::User],
                status: vec![UserStatus::Active],
                ..Default::default()
            },
            expand: vec![
                UserExpand::PlatformRoles,
                UserExpand::CountsResources,
                UserExpand::ProductAccess,
                UserExpand::Groups,
            ],
            limit: Some(10),
            ..Default::default()
        },
    )
    .await;
    let ids: BTreeSet<String> = jira_users.iter().map(|u| u.account_id.clone()).collect();
    assert_eq!(ids, expected);
    for user in &jira_users {
        assert!(user.platform_roles.is_some() && user.groups.is_some());
        assert!(user.counts.as_ref().and_then(|c| c.resources).unwrap_or(0) >= 1);
        let access = user.product_access.as_ref().unwrap();
        assert!(
            access
                .iter()
                .any(|p| p.id.as_deref() == Some(jira.as_str()))
        );
    }
    let plain = search(&env, &UserSearch::default()).await;
    assert!(
        plain
            .iter()
            .all(|u| u.groups.is_none() && u.product_access.is_none())
    );

    // Exact email, case-insensitively.
    let (id, email) = env.sim.app().read(|w| {
        let a = w
            .accounts
            .iter()
            .rev()
            .find(|a| {
                a.kind == AccountType::Atlassian && a.email.is_some() && !a.directories.is_empty()
            })
            .unwrap();
        (a.id.clone(), a.email.clone().unwrap())
    });
    let found = search(
        &env,
        &UserSearch {
            emails: vec![email.to_uppercase()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].account_id, id);

    // Unmanaged accounts only, sorted by nickname, newest letters first.
    let unmanaged = search(
        &env,
        &UserSearch {
            filter: UserFilter {
                claim_status: Some(ClaimStatus::Unmanaged),
                ..Default::default()
            },
            sort_by: Some(UserSort {
                direction: SortDirection::Desc,
            }),
            ..Default::default()
        },
    )
    .await;
    assert!(!unmanaged.is_empty());
    assert!(
        unmanaged
            .iter()
            .all(|u| u.claim_status == Some(ClaimStatus::Unmanaged))
    );
    let nicknames: Vec<String> = unmanaged
        .iter()
        .map(|u| u.nickname.clone().unwrap_or_default().to_lowercase())
        .collect();
    let mut sorted = nicknames.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(nicknames, sorted);
    env.finish().await;
}

#[tokio::test]
#[allow(deprecated)]
async fn the_deprecated_list_count_stats_and_details_agree_with_the_search() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let active = UserFilter {
        status: vec![UserStatus::Active],
        mfa_enabled: Some(true),
        ..Default::default()
    };
    let listed: Vec<_> = org
        .list_users(ALL_DIRECTORIES, &active, Some(4))
        .try_collect()
        .await
        .unwrap();
    let searched = search(
        &env,
        &UserSearch {
            filter: active.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(listed.len() > 4, "several pages");
    assert_eq!(
        listed.iter().map(|u| &u.account_id).collect::<Vec<_>>(),
        searched.iter().map(|u| &u.account_id).collect::<Vec<_>>()
    );
    let later_pages = requests(&env, "GET", "/directories/-/users");
    assert!(
        later_pages[1..]
            .iter()
            .all(|e| e.query.starts_with("cursor=") && !e.query.contains('&'))
    );
    assert_eq!(
        org.count_users(ALL_DIRECTORIES, &active).await.unwrap() as usize,
        listed.len()
    );

    let everyone = org
        .count_users(ALL_DIRECTORIES, &UserFilter::default())
        .await
        .unwrap();
    assert_eq!(everyone as usize, directory_users(&env).len());
    let stats = org.user_stats(ALL_DIRECTORIES).await.unwrap();
    assert_eq!(
        stats.account_status.iter().map(|s| s.count).sum::<u64>(),
        everyone
    );
    assert!(
        stats
            .roles
            .iter()
            .any(|r| r.role_id == Some(RoleId::OrgAdmin) && r.count >= 1)
    );

    let admin = env.sim.info().integration_account_id.clone();
    let details = org.user(ALL_DIRECTORIES, &admin).await.unwrap();
    assert_eq!(details.account_id, admin);
    assert_eq!(details.status, Some(UserStatus::Active));
    assert!(
        details
            .platform_roles
            .unwrap_or_default()
            .contains(&RoleId::OrgAdmin)
    );
    let directory = env.sim.app().read(|w| w.directories[0].id.clone());
    let in_directory = org.user(&directory, &admin).await.unwrap();
    assert_eq!(in_directory.email, details.email);
    env.finish().await;
}

#[tokio::test]
async fn role_assignments_say_how_each_role_is_held() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let admin = env.sim.info().integration_account_id.clone();
    let held: Vec<_> = org
        .user_role_assignments(ALL_DIRECTORIES, &admin, &RoleAssignmentFilter::default())
        .try_collect()
        .await
        .unwrap();
    let org_admin = held
        .iter()
        .find(|a| a.holds(&RoleId::OrgAdmin))
        .expect("the integration account is an org admin");
    assert_eq!(
        org_admin.role_assignments[0].role_assignment_methods,
        vec![RoleAssignmentMethod::Direct]
    );
    assert_eq!(org_admin.directory_id, None);
    let site_admin = held.iter().find(|a| a.holds(&RoleId::SiteAdmin)).unwrap();
    assert!(
        site_admin.role_assignments[0]
            .role_assignment_methods
            .contains(&RoleAssignmentMethod::Inferred)
    );

    // Someone holding roles both directly and through groups: every (resource, role, method)
    // matches the model.
    let (person, truth) = env.sim.app().read(|w| {
        let ax = (0..w.accounts.len() as u32)
            .find(|ax| {
                let roles = w.role_assignments(*ax);
                !w.account(*ax).org_admin
                    && roles.values().any(|m| m.direct)
                    && roles.values().any(|m| m.group)
            })
            .unwrap();
        let truth: BTreeSet<(String, String, bool, bool)> = w
            .role_assignments(ax)
            .into_iter()
            .map(|((rx, role), m)| {
                (
                    w.resource(rx).ari(),
                    role.id().to_owned(),
                    m.direct,
                    m.group,
                )
            })
            .collect();
        (w.account(ax).id.clone(), truth)
    });
    let one_per_page: Vec<_> = org
        .user_role_assignments(
            ALL_DIRECTORIES,
            &person,
            &RoleAssignmentFilter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    let seen: BTreeSet<(String, String, bool, bool)> = one_per_page
        .iter()
        .flat_map(|a| {
            a.role_assignments.iter().map(|g| {
                let m = &g.role_assignment_methods;
                (
                    a.resource_id.clone(),
                    g.role.clone().unwrap().to_string(),
                    m.contains(&RoleAssignmentMethod::Direct),
                    m.contains(&RoleAssignmentMethod::GroupDirect),
                )
            })
        })
        .collect();
    assert_eq!(seen, truth);

    let first = truth.iter().next().unwrap().0.clone();
    let only_first: Vec<_> = org
        .user_role_assignments(
            ALL_DIRECTORIES,
            &person,
            &RoleAssignmentFilter {
                resource_ids: vec![first.clone()],
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(only_first.len(), 1);
    assert_eq!(only_first[0].resource_id, first);
    env.finish().await;
}

#[tokio::test]
async fn last_active_dates_list_each_product_used() {
    let env = TestEnv::start().await;
    let (person, products) = env.sim.app().read(|w| {
        let ax = (0..w.accounts.len() as u32)
            .find(|ax| {
                let a = w.account(*ax);
                a.kind == AccountType::Atlassian
                    && a.last_active
                        .keys()
                        .any(|rx| w.resource(*rx).product == Product::JiraSoftware)
                    && a.last_active
                        .keys()
                        .any(|rx| w.resource(*rx).product == Product::JiraServiceDesk)
            })
            .unwrap();
        (w.account(ax).id.clone(), w.account(ax).last_active.len())
    });
    let dates = env.client.org().last_active_dates(&person).await.unwrap();
    let keys: BTreeSet<_> = dates
        .product_access
        .iter()
        .filter_map(|p| p.key.clone())
        .collect();
    assert!(keys.contains(&V1ProductKey::JiraSoftware));
    assert!(
        keys.contains(&V1ProductKey::JiraServiceDesk),
        "JSM is jira-service-desk in v1"
    );
    assert!(dates.product_access.len() <= products);
    assert!(dates.product_access.iter().all(|p| p.last_active.is_some()));
    assert!(
        dates.added_to_org.is_some(),
        "centralized orgs report added_to_org"
    );
    env.finish().await;
}

#[tokio::test]
async fn unknown_users_are_not_found() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let err = org
        .user(ALL_DIRECTORIES, UNKNOWN_ACCOUNT)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let mut assignments = Box::pin(org.user_role_assignments(
        ALL_DIRECTORIES,
        UNKNOWN_ACCOUNT,
        &RoleAssignmentFilter::default(),
    ));
    let err = assignments.next().await.unwrap().unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        assignments.next().await.is_none(),
        "the stream ends after the error"
    );
    drop(assignments);
    let err = org.last_active_dates(UNKNOWN_ACCOUNT).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = org
        .user(
            "00000000-0000-0000-0000-000000000000",
            &env.sim.info().integration_account_id,
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "an unknown directory: {err}");
    env.finish().await;
}
