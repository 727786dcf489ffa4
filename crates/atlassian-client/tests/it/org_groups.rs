//! The Org API's groups against the simulator: search, the deprecated list, details, count,
//! stats, create, delete, memberships and group role assignments.

use std::collections::{BTreeMap, BTreeSet};

use atlassian_client::api::org::{
    ALL_DIRECTORIES, GroupFilter, GroupSearch, GroupSort, UserFilter, UserSearch,
};
use atlassian_client::models::RoleId;
use atlassian_client::models::org::{GroupExpand, RoleAssignmentMethod, SortDirection};
use atlassian_sim::state::{Product, Role};
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::json;

use crate::org::{ari, events_about, people_without, requests};
use crate::support::TestEnv;

const UNKNOWN_GROUP: &str = "00000000-0000-4000-8000-000000000000";

fn live_groups(env: &TestEnv) -> BTreeMap<String, (String, usize, bool)> {
    env.sim.app().read(|w| {
        w.live_groups()
            .map(|(_, g)| (g.id.clone(), (g.name.clone(), g.members.len(), g.external)))
            .collect()
    })
}

fn members_of(env: &TestEnv, group: &str) -> BTreeSet<String> {
    env.sim.app().read(|w| {
        let gx = w.group_ix(group).unwrap();
        w.group(gx)
            .members
            .iter()
            .map(|ax| w.account(*ax).id.clone())
            .collect()
    })
}

#[tokio::test]
async fn a_group_is_created_filled_granted_a_role_emptied_and_deleted() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let directory = env.sim.app().read(|w| w.directories[0].id.clone());
    let confluence = ari(&env, Product::Confluence);
    let person = people_without(&env, Product::Confluence).remove(0);

    let created = org
        .create_group(
            ALL_DIRECTORIES,
            "steward-test-group",
            Some("made by a test"),
        )
        .await
        .unwrap();
    assert!(!created.id.is_empty());
    assert_eq!(created.name.as_deref(), Some("steward-test-group"));
    let fetched = org.group(ALL_DIRECTORIES, &created.id).await.unwrap();
    assert_eq!(fetched.id, created.id);
    assert_eq!(fetched.description.as_deref(), Some("made by a test"));
    assert_eq!(org.group_directory(&created.id).await.unwrap(), directory);
    let by_name: Vec<_> = org
        .search_groups(
            ALL_DIRECTORIES,
            &GroupSearch {
                group_names: vec!["steward-test-group".into()],
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    let duplicate = org
        .create_group(ALL_DIRECTORIES, "steward-test-group", None)
        .await
        .unwrap_err();
    assert_eq!(
        duplicate.status().map(|s| s.as_u16()),
        Some(409),
        "{duplicate}"
    );

    // Membership: `-` is resolved to the group's real directory.
    org.add_member(ALL_DIRECTORIES, &created.id, &person)
        .await
        .unwrap();
    org.add_member(&directory, &created.id, &person)
        .await
        .expect("adding a member again changes nothing");
    assert_eq!(
        members_of(&env, &created.id),
        BTreeSet::from([person.clone()])
    );
    let adds = requests(&env, "POST", &format!("/groups/{}/memberships", created.id));
    assert!(
        adds.iter()
            .all(|e| e.spec_path.contains(&format!("/directories/{directory}/"))),
        "memberships use the real directory"
    );
    let members: Vec<_> = org
        .search_users(
            ALL_DIRECTORIES,
            &UserSearch {
                filter: UserFilter {
                    group_ids: vec![created.id.clone()],
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        members
            .iter()
            .map(|u| u.account_id.as_str())
            .collect::<Vec<_>>(),
        [person.as_str()]
    );

    // A role granted to the group reaches its member through the group.
    org.assign_group_role(ALL_DIRECTORIES, &created.id, &confluence, &RoleId::User)
        .await
        .unwrap();
    let group_roles: Vec<_> = org
        .group_role_assignments(ALL_DIRECTORIES, &created.id, &Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(group_roles.len(), 1);
    assert_eq!(group_roles[0].resource_id, confluence);
    assert_eq!(group_roles[0].roles, [RoleId::User]);
    let held: Vec<_> = org
        .user_role_assignments(ALL_DIRECTORIES, &person, &Default::default())
        .try_collect()
        .await
        .unwrap();
    let on_confluence = held.iter().find(|a| a.resource_id == confluence).unwrap();
    assert_eq!(
        on_confluence.role_assignments[0].role_assignment_methods,
        [RoleAssignmentMethod::GroupDirect]
    );
    org.revoke_group_role(ALL_DIRECTORIES, &created.id, &confluence, &RoleId::User)
        .await
        .unwrap();
    org.revoke_group_role(ALL_DIRECTORIES, &created.id, &confluence, &RoleId::User)
        .await
        .expect("revoking a role the group lacks changes nothing");
    let none: Vec<_> = org
        .group_role_assignments(ALL_DIRECTORIES, &created.id, &Default::default())
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(env.sim.app().read(|w| {
        let ax = w.account_ix(&person).unwrap();
        let rx = w.resource_ix(&confluence).unwrap();
        !w.holds(ax, rx, Role::User)
    }));

    org.remove_member(ALL_DIRECTORIES, &created.id, &person)
        .await
        .unwrap();
    assert!(members_of(&env, &created.id).is_empty());
    org.delete_group(ALL_DIRECTORIES, &created.id)
        .await
        .unwrap();
    let gone = org.group(ALL_DIRECTORIES, &created.id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    env.finish().await;
}

#[tokio::test]
#[allow(deprecated)]
async fn searching_and_listing_groups_yield_every_group_once() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let truth = live_groups(&env);
    let searched: Vec<_> = org
        .search_groups(
            ALL_DIRECTORIES,
            &GroupSearch {
                expand: vec![GroupExpand::CountsUsers],
                limit: Some(3),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = searched.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids.len(), truth.len(), "no duplicates");
    assert_eq!(
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        truth.keys().cloned().collect()
    );
    for group in &searched {
        let (name, members, external) = &truth[&group.id];
        assert_eq!(group.name.as_ref(), Some(name));
        assert_eq!(
            group.counts.as_ref().and_then(|c| c.users),
            Some(*members as u64)
        );
        assert_eq!(group.external_synced, Some(*external));
    }
    let names: Vec<String> = searched
        .iter()
        .map(|g| g.name.clone().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name by default");
    for body in requests(&env, "POST", "/groups/search")
        .iter()
        .skip(1)
        .filter_map(|e| e.request_body.as_ref())
    {
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["cursor"]
        );
    }

    let descending: Vec<_> = org
        .search_groups(
            ALL_DIRECTORIES,
            &GroupSearch {
                sort_by: Some(GroupSort {
                    direction: SortDirection::Desc,
                }),
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        descending.iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
        ids.iter().rev().cloned().collect::<Vec<_>>()
    );

    let listed: Vec<_> = org
        .list_groups(
            ALL_DIRECTORIES,
            &GroupFilter::default(),
            &[GroupExpand::CountsUsers],
            Some(4),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed, searched,
        "the deprecated list gives the same groups and counts"
    );

    let count = org
        .count_groups(ALL_DIRECTORIES, &GroupFilter::default())
        .await
        .unwrap();
    assert_eq!(count as usize, truth.len());
    let stats = org.group_stats(ALL_DIRECTORIES).await.unwrap();
    assert_eq!(stats.totals.all as usize, truth.len());
    assert_eq!(
        stats.totals.synced as usize,
        truth.values().filter(|(_, _, external)| *external).count()
    );

    let jsm_groups: Vec<_> = org
        .search_groups(
            ALL_DIRECTORIES,
            &GroupSearch {
                filter: GroupFilter {
                    resource_ids: vec![ari(&env, Product::JiraServiceDesk)],
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert!(
        jsm_groups
            .iter()
            .any(|g| g.name.as_deref() == Some("service-desk-agents"))
    );
    let nothing: Vec<_> = org
        .search_groups(
            ALL_DIRECTORIES,
            &GroupSearch {
                filter: GroupFilter {
                    search_term: Some("zz-no-group-like-this".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert!(nothing.is_empty());
    env.finish().await;
}

#[tokio::test]
async fn group_writes_whose_answer_is_lost_happen_once() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let fault = |spec: serde_json::Value| {
        let request = env.control(Method::POST, "/faults").json(&spec);
        async move { assert!(request.send().await.unwrap().status().is_success()) }
    };
    fault(json!({"family": "org", "method": "POST",
                 "path": "/v2/orgs/{orgId}/directories/{directoryId}/groups",
                 "kind": "reset_after_apply", "count": 1}))
    .await;
    let created = org
        .create_group(ALL_DIRECTORIES, "lost-answer-group", None)
        .await
        .unwrap();
    assert_eq!(created.name.as_deref(), Some("lost-answer-group"));
    let named: Vec<String> = env.sim.app().read(|w| {
        w.live_groups()
            .filter(|(_, g)| g.name == "lost-answer-group")
            .map(|(_, g)| g.id.clone())
            .collect()
    });
    assert_eq!(named, vec![created.id.clone()], "exactly one group");
    let creations = requests(&env, "POST", "/groups");
    assert_eq!(creations.len(), 1, "never created twice");
    assert!(creations[0].fault_injected, "its answer was lost");

    fault(json!({"family": "org", "method": "DELETE",
                 "path": "/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}",
                 "kind": "reset_after_apply", "count": 1}))
    .await;
    org.delete_group(ALL_DIRECTORIES, &created.id)
        .await
        .expect("the deletion happened; the lost answer is not an error");
    assert_eq!(events_about(&env, "group_deleted", &created.id), 1);
    env.finish().await;
}

#[tokio::test]
async fn unknown_groups_are_not_found() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let person = env.sim.info().integration_account_id.clone();
    assert!(
        org.group(ALL_DIRECTORIES, UNKNOWN_GROUP)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        org.group_directory(UNKNOWN_GROUP)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        org.delete_group(ALL_DIRECTORIES, UNKNOWN_GROUP)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        org.add_member(ALL_DIRECTORIES, UNKNOWN_GROUP, &person)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let mut roles =
        Box::pin(org.group_role_assignments(ALL_DIRECTORIES, UNKNOWN_GROUP, &Default::default()));
    assert!(roles.next().await.unwrap().unwrap_err().is_not_found());
    drop(roles);
    env.finish().await;
}
