//! Confluence v1 and v2 against the simulator.

use std::collections::BTreeSet;

use atlassian_client::models::confluence::{
    GroupAccessType, NewSpacePermission, OperationKey, OperationTarget, PermissionSubject,
    SpaceOperation, SpaceQuery, SpaceRoleMode, SpaceType, UserSearch,
};
use atlassian_client::{Error, Family};
use atlassian_sim::state::{AccountType, Actor, Product, Role};
use futures::TryStreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestEnv;

/// Every live group of the first site, as `(id, name)`.
fn site_groups(env: &TestEnv) -> BTreeSet<(String, String)> {
    env.sim.app().read(|w| {
        let dir = w.directory_of_site(0);
        w.live_groups()
            .filter(|(_, g)| g.directory == dir)
            .map(|(_, g)| (g.id.clone(), g.name.clone()))
            .collect()
    })
}

/// Account ids of the first site's licensed Confluence users (user or admin role).
fn licensed_users(env: &TestEnv) -> BTreeSet<String> {
    env.sim.app().read(|w| {
        let Some(rx) = w.site_resource(0, Product::Confluence) else {
            return BTreeSet::new();
        };
        w.site_accounts(0)
            .filter(|ax| w.account(*ax).kind != AccountType::Customer)
            .filter(|ax| w.holds(*ax, rx, Role::User) || w.holds(*ax, rx, Role::Admin))
            .map(|ax| w.account(ax).id.clone())
            .collect()
    })
}

/// How many times the simulator applied a mutation whose wire path contains `needle`.
async fn applied(env: &TestEnv, needle: &str) -> u64 {
    let counters: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counters["applied_mutations"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.contains(needle))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

/// How many requests got an injected fault.
async fn injected(env: &TestEnv) -> u64 {
    let counters: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counters["faults_injected"].as_u64().unwrap()
}

async fn script_fault(env: &TestEnv, fault: Value) {
    let response = env
        .control(Method::POST, "/faults")
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

#[tokio::test]
async fn groups_paged_three_at_a_time_are_exactly_the_sites_groups() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let paged: Vec<_> = conf
        .clone()
        .page_size(3)
        .groups(None)
        .try_collect()
        .await
        .unwrap();
    let truth = site_groups(&env);
    assert!(
        truth.len() > 6,
        "the seed has enough groups to need several pages"
    );
    let got: BTreeSet<_> = paged
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    assert_eq!(got.len(), paged.len(), "no group is listed twice");
    assert_eq!(got, truth);
    let names: Vec<String> = paged.iter().map(|g| g.name.to_lowercase()).collect();
    assert!(names.is_sorted(), "groups come alphabetically");
    let at_once: Vec<_> = conf.groups(None).try_collect().await.unwrap();
    assert_eq!(at_once, paged);
    let admins: Vec<_> = conf
        .groups(Some(GroupAccessType::SiteAdmin))
        .try_collect()
        .await
        .unwrap();
    assert!(!admins.is_empty() && admins.len() < paged.len());
    let pages = env
        .sim
        .exchanges()
        .iter()
        .filter(|e| e.spec_path == "/wiki/rest/api/group" && e.query.contains("limit=3"))
        .count();
    assert_eq!(pages, truth.len().div_ceil(3));
    env.finish().await;
}

#[tokio::test]
async fn a_group_is_created_found_given_a_member_and_deleted() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let created = conf.create_group("steward-contractors").await.unwrap();
    assert_eq!(created.name, "steward-contractors");
    assert_eq!(conf.group(&created.id).await.unwrap(), created);
    assert_eq!(
        conf.find_group_by_name("Steward-Contractors")
            .await
            .unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        conf.find_group_by_name("no-such-group").await.unwrap(),
        None
    );

    let member = licensed_users(&env).into_iter().next().unwrap();
    conf.add_member(&created.id, &member).await.unwrap();
    conf.add_member(&created.id, &member)
        .await
        .expect("adding a member twice changes nothing");
    let members: Vec<_> = conf.group_members(&created.id).try_collect().await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].account_id.as_deref(), Some(member.as_str()));
    let groups: Vec<_> = conf.member_of(&member).try_collect().await.unwrap();
    assert!(groups.contains(&created));

    conf.remove_member(&created.id, &member).await.unwrap();
    let members: Vec<_> = conf.group_members(&created.id).try_collect().await.unwrap();
    assert!(members.is_empty());

    conf.delete_group(&created.id).await.unwrap();
    let gone = conf.group(&created.id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    assert!(!site_groups(&env).iter().any(|(id, _)| *id == created.id));
    env.finish().await;
}

#[tokio::test]
async fn a_group_create_whose_answer_is_lost_is_verified_not_repeated() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    script_fault(
        &env,
        json!({"family":"confluence-v1","method":"POST","path":"/wiki/rest/api/group",
               "kind":"reset_after_apply","count":1}),
    )
    .await;
    let group = conf.create_group("steward-lost-answer").await.unwrap();
    assert_eq!(group.name, "steward-lost-answer");
    let same_name = site_groups(&env)
        .iter()
        .filter(|(_, name)| name == "steward-lost-answer")
        .count();
    assert_eq!(same_name, 1);
    assert_eq!(applied(&env, "/wiki/rest/api/group").await, 1);
    assert_eq!(injected(&env).await, 1, "the fault was injected");
    env.finish().await;
}

#[tokio::test]
async fn a_group_create_that_never_arrived_is_sent_again_once() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    script_fault(
        &env,
        json!({"family":"confluence-v1","method":"POST","path":"/wiki/rest/api/group",
               "kind":"reset","count":1}),
    )
    .await;
    let group = conf.create_group("steward-second-try").await.unwrap();
    assert!(site_groups(&env).contains(&(group.id.clone(), group.name.clone())));
    assert_eq!(applied(&env, "/wiki/rest/api/group").await, 1);
    assert_eq!(injected(&env).await, 1, "the fault was injected");
    env.finish().await;
}

#[tokio::test]
async fn users_are_read_one_by_one_in_bulk_and_as_the_caller() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let me = conf.current_user().await.unwrap();
    assert_eq!(
        me.account_id.as_deref(),
        Some(env.sim.info().integration_account_id.as_str())
    );
    let ids: Vec<String> = licensed_users(&env).into_iter().take(3).collect();
    let one = conf.user(&ids[0]).await.unwrap();
    assert_eq!(one.account_id.as_deref(), Some(ids[0].as_str()));
    assert!(!one.public_name.is_empty());
    let missing = conf
        .user("712020:00000000-0000-0000-0000-000000000000")
        .await;
    assert!(missing.unwrap_err().is_not_found());

    let mut asked = ids.clone();
    asked.insert(1, "712020:00000000-0000-0000-0000-000000000001".into());
    let bulk = conf.users_bulk_v1(&asked).await.unwrap();
    let got: Vec<_> = bulk.iter().filter_map(|u| u.account_id.clone()).collect();
    assert_eq!(got, ids, "unknown ids are left out, the order is kept");
    env.finish().await;
}

#[tokio::test]
async fn the_user_search_pages_by_offset_and_finds_every_licensed_user() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let truth = licensed_users(&env);
    assert!(truth.len() > 7);
    let paged: Vec<_> = conf
        .clone()
        .page_size(7)
        .search_users(&UserSearch::default())
        .try_collect()
        .await
        .unwrap();
    let ids: BTreeSet<_> = paged.iter().filter_map(|u| u.account_id.clone()).collect();
    assert_eq!(ids.len(), paged.len(), "no user is listed twice");
    assert_eq!(ids, truth);
    let at_once: Vec<_> = conf
        .search_users(&UserSearch::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(at_once, paged);
    let everyone: Vec<_> = conf
        .search_users(&UserSearch::everyone())
        .try_collect()
        .await
        .unwrap();
    assert!(everyone.len() > paged.len(), "guests are added");
    assert!(everyone.iter().any(|u| u.is_guest()));
    assert!(!paged.iter().any(|u| u.is_guest()));
    env.finish().await;
}

#[tokio::test]
async fn users_bulk_sends_250_ids_per_request_and_merges_in_request_order() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let known: Vec<String> = licensed_users(&env).into_iter().collect();
    let unknown = |i: usize| format!("712020:00000000-0000-0000-0000-{i:012}");
    // Known ids straddle the 250-id chunk boundary.
    let mut asked: Vec<String> = (0..230).map(unknown).collect();
    asked.extend(known.iter().cloned());
    asked.extend((230..260).map(unknown));
    asked.push(known[0].clone()); // a duplicate
    assert!(asked.len() > 251);
    let users = conf.users_bulk(&asked).await.unwrap();
    let got: Vec<_> = users.iter().map(|u| u.account_id.clone()).collect();
    assert_eq!(got, known);
    assert!(users.iter().all(|u| u.account_status.is_some()));
    let sizes: Vec<usize> = env
        .sim
        .exchanges()
        .iter()
        .filter(|e| e.spec_path == "/users-bulk")
        .map(|e| {
            e.request_body.as_ref().unwrap()["accountIds"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![250, asked.len() - 1 - 250]);
    env.finish().await;
}

#[tokio::test]
async fn spaces_and_their_permissions_page_by_cursor() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let (truth_spaces, eng_permissions) = env.sim.app().read(|w| {
        let site = w.site(0);
        let spaces: Vec<(String, String)> = site
            .spaces
            .iter()
            .map(|s| (s.id.to_string(), s.key.clone()))
            .collect();
        let eng = site.spaces.iter().find(|s| s.key == "ENG").unwrap();
        let perms: BTreeSet<String> = eng.permissions.iter().map(|p| p.id.to_string()).collect();
        (spaces, perms)
    });
    let small = conf.clone().page_size(2);
    let spaces: Vec<_> = small
        .spaces(&SpaceQuery::default())
        .try_collect()
        .await
        .unwrap();
    let got: Vec<_> = spaces
        .iter()
        .map(|s| (s.id.clone(), s.key.clone()))
        .collect();
    assert_eq!(got, truth_spaces, "every space, in id order, across pages");
    assert!(truth_spaces.len() > 2);

    let eng = conf.space_by_key("ENG").await.unwrap().unwrap();
    assert_eq!(conf.space(&eng.id).await.unwrap().key, "ENG");
    assert_eq!(conf.space_by_key("NOPE").await.unwrap(), None);
    let personal: Vec<_> = conf
        .spaces(&SpaceQuery {
            kind: Some(SpaceType::Personal),
            ..SpaceQuery::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(!personal.is_empty());
    assert!(personal.iter().all(|s| s.kind == Some(SpaceType::Personal)));
    let two: Vec<_> = small
        .spaces(&SpaceQuery {
            keys: vec!["ENG".into(), "HR".into(), "IT".into()],
            ..SpaceQuery::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        two.len(),
        3,
        "filters are kept on the pages after the first"
    );
    let too_many = SpaceQuery {
        ids: (0..251).collect(),
        ..SpaceQuery::default()
    };
    let refused: Result<Vec<_>, _> = conf.spaces(&too_many).try_collect().await;
    assert!(matches!(refused, Err(Error::InvalidInput(_))));

    let permissions: Vec<_> = conf
        .clone()
        .page_size(3)
        .space_permissions(&eng.id)
        .try_collect()
        .await
        .unwrap();
    let ids: BTreeSet<_> = permissions.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids.len(), permissions.len());
    assert_eq!(ids, eng_permissions);
    assert!(eng_permissions.len() > 3);
    let cursor_pages = env
        .sim
        .exchanges()
        .iter()
        .filter(|e| e.spec_path.ends_with("/permissions") && e.query.contains("cursor="))
        .count();
    assert_eq!(cursor_pages, eng_permissions.len().div_ceil(3) - 1);
    assert_eq!(
        conf.space_role_mode().await.unwrap(),
        Some(SpaceRoleMode::PreRoles)
    );
    env.finish().await;
}

#[tokio::test]
async fn a_space_permission_is_added_found_refused_twice_and_removed() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let group = conf.create_group("steward-readers").await.unwrap();
    let read = NewSpacePermission {
        subject: PermissionSubject::group(&group.id),
        operation: SpaceOperation::read_space(),
    };
    let added = conf.add_space_permission("ENG", &read).await.unwrap();
    assert_eq!(added.subject, read.subject);
    assert_eq!(added.operation, read.operation);
    assert_eq!(
        conf.find_space_permission("ENG", &read).await.unwrap(),
        Some(added.clone())
    );
    let twice = conf.add_space_permission("ENG", &read).await.unwrap_err();
    assert_eq!(twice.status().map(|s| s.as_u16()), Some(400), "{twice}");
    let create = NewSpacePermission {
        operation: SpaceOperation::new(OperationKey::Create, OperationTarget::Page),
        ..read.clone()
    };
    let create_added = conf.add_space_permission("ENG", &create).await.unwrap();

    conf.remove_space_permission("ENG", create_added.id)
        .await
        .unwrap();
    conf.remove_space_permission("ENG", added.id).await.unwrap();
    assert_eq!(
        conf.find_space_permission("ENG", &read).await.unwrap(),
        None
    );
    let left = env.sim.app().read(|w| {
        let gx = w.group_ix(&group.id).unwrap();
        w.site(0)
            .spaces
            .iter()
            .flat_map(|s| &s.permissions)
            .filter(|p| p.principal == Actor::Group(gx))
            .count()
    });
    assert_eq!(left, 0);
    conf.delete_group(&group.id).await.unwrap();
    env.finish().await;
}

#[tokio::test]
async fn a_space_permission_add_whose_answer_is_lost_is_verified_not_repeated() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let group = conf.create_group("steward-flaky-readers").await.unwrap();
    script_fault(
        &env,
        json!({"family":"confluence-v1","method":"POST",
               "path":"/wiki/rest/api/space/{spaceKey}/permission",
               "kind":"reset_after_apply","count":1}),
    )
    .await;
    let read = NewSpacePermission {
        subject: PermissionSubject::group(&group.id),
        operation: SpaceOperation::read_space(),
    };
    let added = conf.add_space_permission("HR", &read).await.unwrap();
    let held = env.sim.app().read(|w| {
        let gx = w.group_ix(&group.id).unwrap();
        let hr = w.site(0).spaces.iter().find(|s| s.key == "HR").unwrap();
        hr.permissions
            .iter()
            .filter(|p| p.principal == Actor::Group(gx))
            .map(|p| p.id as i64)
            .collect::<Vec<_>>()
    });
    assert_eq!(held, vec![added.id]);
    assert_eq!(applied(&env, "/permission").await, 1);
    assert_eq!(injected(&env).await, 1, "the fault was injected");
    env.finish().await;
}

#[tokio::test]
async fn access_is_checked_in_chunks_of_100_and_an_invite_grants_it() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    let licensed = licensed_users(&env).into_iter().next().unwrap();
    let licensed_email = env.sim.app().read(|w| {
        let ax = w.account_ix(&licensed).unwrap();
        w.account(ax).email.clone().unwrap()
    });
    let mut emails: Vec<String> = (0..148).map(|i| format!("newcomer{i}@acme.com")).collect();
    emails.push(licensed_email.clone());
    emails.push("not-an-email".into());
    let check = conf.check_access_by_email(&emails).await.unwrap();
    assert_eq!(check.emails_without_access.len(), 148);
    assert!(!check.emails_without_access.contains(&licensed_email));
    assert_eq!(check.invalid_emails, vec!["not-an-email".to_owned()]);
    let checks = env
        .sim
        .exchanges()
        .iter()
        .filter(|e| e.spec_path == "/user/access/check-access-by-email")
        .count();
    assert_eq!(checks, 2);

    conf.invite_by_email(&["newcomer0@acme.com"]).await.unwrap();
    let after = conf
        .check_access_by_email(&["newcomer0@acme.com", "newcomer1@acme.com"])
        .await
        .unwrap();
    assert_eq!(
        after.emails_without_access,
        vec!["newcomer1@acme.com".to_owned()]
    );
    env.finish().await;
}

#[tokio::test]
async fn an_invite_whose_answer_is_lost_is_verified_not_repeated() {
    let env = TestEnv::start().await;
    let conf = env.client.confluence(&env.site()).unwrap();
    script_fault(
        &env,
        json!({"family":"confluence-v2","method":"POST","path":"/user/access/invite-by-email",
               "kind":"reset_after_apply","count":1}),
    )
    .await;
    conf.invite_by_email(&["late.answer@acme.com"])
        .await
        .unwrap();
    let accounts = env.sim.app().read(|w| {
        w.accounts
            .iter()
            .filter(|a| a.email.as_deref() == Some("late.answer@acme.com"))
            .count()
    });
    assert_eq!(accounts, 1);
    assert_eq!(applied(&env, "invite-by-email").await, 1);
    assert_eq!(injected(&env).await, 1, "the fault was injected");
    env.finish().await;
}

#[tokio::test]
async fn an_unknown_site_is_a_configuration_error() {
    let env = TestEnv::start().await;
    let err = env.client.confluence("nowhere").unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let not_found = env
        .client
        .confluence(&env.site())
        .unwrap()
        .group("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &not_found,
            Error::Api {
                family: Family::ConfluenceV1,
                ..
            }
        ),
        "{not_found}"
    );
    env.finish().await;
}

#[tokio::test]
async fn the_gateway_with_a_scoped_token_reaches_the_same_confluence() {
    let env = TestEnv::start().await;
    let site = env.sim.info().sites[0].clone();
    let gateway = crate::support::builder_for(&env.sim)
        .gateway_site(
            "via-gateway",
            &site.cloud_id,
            secrecy::SecretString::from(site.api_token.clone()),
        )
        .build()
        .unwrap();
    let through_gateway = gateway.confluence("via-gateway").unwrap();
    let direct = env.client.confluence(&env.site()).unwrap();
    let groups: Vec<_> = through_gateway.groups(None).try_collect().await.unwrap();
    assert_eq!(
        groups,
        direct.groups(None).try_collect::<Vec<_>>().await.unwrap()
    );
    let spaces: Vec<_> = through_gateway
        .clone()
        .page_size(2)
        .spaces(&SpaceQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(spaces.len(), env.sim.app().read(|w| w.site(0).spaces.len()));
    let counters: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let via_gateway: u64 = counters["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.contains(&format!("/api/ex/confluence/{}/wiki/", site.cloud_id)))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert!(
        via_gateway >= 3,
        "{via_gateway} requests went through the gateway"
    );
    env.finish().await;
}
