//! The Org API's user writes against the simulator: invitations (and what happens when their
//! answer is lost), role grants, org roles, suspend / restore / remove.

use std::time::Duration;

use atlassian_client::api::org::{ALL_DIRECTORIES, InviteRequest, UserSearch};
use atlassian_client::models::RoleId;
use atlassian_client::models::org::{
    InviteStatus, MembershipStatus, PermissionRule, RoleAssignmentMethod, UserExpand, UserStatus,
};
use atlassian_sim::SimConfig;
use atlassian_sim::state::{Product, Role};
use futures::TryStreamExt;
use reqwest::Method;
use serde_json::json;

use crate::org::{ari, events_about, people_without, requests};
use crate::support::TestEnv;

/// Scripts a fault for the next `count` matching requests.
async fn fault(env: &TestEnv, spec: serde_json::Value) {
    let answer = env
        .control(Method::POST, "/faults")
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
}

fn accounts_with_email(env: &TestEnv, email: &str) -> Vec<String> {
    env.sim.app().read(|w| {
        w.accounts
            .iter()
            .filter(|a| a.email.as_deref() == Some(email))
            .map(|a| a.id.clone())
            .collect()
    })
}

fn group_id(env: &TestEnv, name: &str) -> String {
    env.sim.app().read(|w| {
        w.live_groups()
            .find(|(_, g)| g.name == name)
            .map(|(_, g)| g.id.clone())
            .unwrap()
    })
}

fn holds(env: &TestEnv, account: &str, product: Product, role: Role) -> bool {
    env.sim.app().read(|w| {
        let ax = w.account_ix(account).unwrap();
        let rx = w
            .resources
            .iter()
            .position(|r| r.product == product)
            .unwrap() as u16;
        w.holds(ax, rx, role)
    })
}

fn invitation(env: &TestEnv, email: &str) -> InviteRequest {
    InviteRequest {
        emails: vec![email.to_owned()],
        permission_rules: vec![PermissionRule {
            resource: ari(env, Product::JiraSoftware),
            role: RoleId::User,
        }],
        additional_groups: vec![group_id(env, "legal")],
        send_notification: Some(false),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_invited_person_can_be_found_with_their_roles_and_groups() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let email = "new.hire@acme.com";
    let results = org.invite(&invitation(&env, email)).await.unwrap();
    assert_eq!(results.len(), 1);
    let invited = &results[0];
    assert!(invited.is_success(), "{:?}", invited.failures());
    assert!(!invited.confirmed_by_read);
    assert_eq!(invited.email, email);
    let id = invited.id.clone().unwrap();
    assert_eq!(
        invited.results[0].role_assignment_result[0].status,
        Some(InviteStatus::Invited)
    );

    let found: Vec<_> = org
        .search_users(
            ALL_DIRECTORIES,
            &UserSearch {
                emails: vec![email.into()],
                expand: vec![UserExpand::Groups],
                ..Default::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].account_id, id);
    assert_eq!(found[0].status, Some(UserStatus::Active));
    assert!(
        found[0]
            .groups
            .iter()
            .flatten()
            .any(|g| g.name.as_deref() == Some("legal"))
    );
    let roles: Vec<_> = org
        .user_role_assignments(ALL_DIRECTORIES, &id, &Default::default())
        .try_collect()
        .await
        .unwrap();
    let jira = roles
        .iter()
        .find(|a| a.resource_id == ari(&env, Product::JiraSoftware))
        .unwrap();
    assert!(jira.role_assignments.iter().any(|g| {
        g.role == Some(RoleId::User)
            && g.role_assignment_methods
                .contains(&RoleAssignmentMethod::Direct)
    }));

    // Inviting the same email again is not an error and makes no second account.
    let again = org.invite(&invitation(&env, email)).await.unwrap();
    assert!(again[0].is_success());
    assert_eq!(again[0].id.as_deref(), Some(id.as_str()));
    assert_eq!(accounts_with_email(&env, email), vec![id]);
    env.finish().await;
}

#[tokio::test]
async fn an_invitation_beyond_the_seats_reports_the_failed_item() {
    let env = TestEnv::start().await;
    // JSM on acme has 5 seats and 4 in use: one of two new agents fits.
    let request = InviteRequest {
        emails: vec!["agent.one@acme.com".into(), "agent.two@acme.com".into()],
        permission_rules: vec![PermissionRule {
            resource: ari(&env, Product::JiraServiceDesk),
            role: RoleId::User,
        }],
        ..Default::default()
    };
    let results = env.client.org().invite(&request).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.email.as_str()).collect::<Vec<_>>(),
        ["agent.one@acme.com", "agent.two@acme.com"]
    );
    assert!(results[0].is_success());
    let failures = results[1].failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].0.contains("jira-servicedesk"));
    assert!(failures[0].1.is_some(), "the reason is given");
    assert!(
        results[1].id.is_some(),
        "the account exists without the role"
    );
    env.finish().await;
}

#[tokio::test]
async fn an_invitation_whose_answer_is_lost_creates_one_account_and_reports_success() {
    let env = TestEnv::start().await;
    let email = "lost.answer@acme.com";
    fault(
        &env,
        json!({"family": "org", "method": "POST", "path_prefix": "/v2/orgs/",
               "kind": "reset_after_apply", "count": 1}),
    )
    .await;
    let results = env
        .client
        .org()
        .invite(&invitation(&env, email))
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].is_success(), "{:?}", results[0].failures());
    assert!(
        results[0].confirmed_by_read,
        "established by reading, not by a second invite"
    );
    let accounts = accounts_with_email(&env, email);
    assert_eq!(accounts.len(), 1, "exactly one account");
    assert_eq!(results[0].id.as_ref(), Some(&accounts[0]));
    assert_eq!(
        requests(&env, "POST", "/users/invite").len(),
        1,
        "never sent twice"
    );
    assert_eq!(events_about(&env, "user_invited", &accounts[0]), 1);
    assert!(holds(&env, &accounts[0], Product::JiraSoftware, Role::User));
    env.finish().await;
}

#[tokio::test]
async fn an_invitation_dropped_before_it_was_applied_is_sent_once_more() {
    let env = TestEnv::start().await;
    let email = "dropped@acme.com";
    fault(
        &env,
        json!({"family": "org", "method": "POST", "path": "/v2/orgs/{orgId}/users/invite",
               "kind": "reset", "count": 1}),
    )
    .await;
    let results = env
        .client
        .org()
        .invite(&invitation(&env, email))
        .await
        .unwrap();
    assert!(results[0].is_success());
    assert!(
        !results[0].confirmed_by_read,
        "answered by the second invitation"
    );
    assert_eq!(requests(&env, "POST", "/users/invite").len(), 2);
    assert_eq!(accounts_with_email(&env, email).len(), 1);
    env.finish().await;
}

#[tokio::test]
async fn an_invitation_that_times_out_after_applying_is_not_repeated() {
    let env = TestEnv::start_with(SimConfig::default(), |b| {
        b.timeout(Duration::from_millis(500))
    })
    .await;
    let email = "slow.answer@acme.com";
    fault(
        &env,
        json!({"family": "org", "method": "POST", "path": "/v2/orgs/{orgId}/users/invite",
               "kind": "timeout_after_apply", "hold_ms": 2000, "count": 1}),
    )
    .await;
    let results = env
        .client
        .org()
        .invite(&invitation(&env, email))
        .await
        .unwrap();
    assert!(results[0].is_success() && results[0].confirmed_by_read);
    assert_eq!(accounts_with_email(&env, email).len(), 1);
    assert_eq!(requests(&env, "POST", "/users/invite").len(), 1);
    env.finish().await;
}

#[tokio::test]
async fn a_role_grant_through_a_scripted_503_is_retried_and_applied_once() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let person = people_without(&env, Product::Confluence).remove(0);
    let confluence = ari(&env, Product::Confluence);
    fault(
        &env,
        json!({"family": "org", "method": "POST",
               "path": "/v1/orgs/{orgId}/users/{userId}/roles/assign",
               "kind": "status", "status": 503, "count": 1}),
    )
    .await;
    org.assign_role(&person, &RoleId::User, Some(&confluence))
        .await
        .unwrap();
    assert!(holds(&env, &person, Product::Confluence, Role::User));
    let attempts = requests(&env, "POST", "/roles/assign");
    assert_eq!(
        attempts.iter().map(|e| e.status).collect::<Vec<_>>(),
        [503, 204]
    );
    assert_eq!(
        events_about(&env, "user_granted_role", &person),
        1,
        "applied once"
    );

    org.revoke_role(&person, &RoleId::User, Some(&confluence))
        .await
        .unwrap();
    assert!(!holds(&env, &person, Product::Confluence, Role::User));
    org.revoke_role(&person, &RoleId::User, Some(&confluence))
        .await
        .expect("revoking a role not held changes nothing");
    let err = org
        .assign_role(&person, &RoleId::User, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, atlassian_client::Error::InvalidInput(_)),
        "{err}"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_product_out_of_seats_answers_admin_uam_409_3() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let jsm = ari(&env, Product::JiraServiceDesk);
    let people = people_without(&env, Product::JiraServiceDesk);
    org.assign_role(&people[0], &RoleId::User, Some(&jsm))
        .await
        .expect("the fifth seat is free");
    let err = org
        .assign_role(&people[1], &RoleId::User, Some(&jsm))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ADMIN-UAM-409-3"), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert!(!err.is_retryable());
    assert!(!holds(
        &env,
        &people[1],
        Product::JiraServiceDesk,
        Role::User
    ));
    env.finish().await;
}

#[tokio::test]
async fn the_org_admin_role_is_granted_and_revoked() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let person = people_without(&env, Product::Confluence).remove(0);
    org.assign_org_role(&person, &RoleId::OrgAdmin)
        .await
        .unwrap();
    assert!(
        env.sim
            .app()
            .read(|w| w.account(w.account_ix(&person).unwrap()).org_admin)
    );
    let roles: Vec<_> = org
        .user_role_assignments(ALL_DIRECTORIES, &person, &Default::default())
        .try_collect()
        .await
        .unwrap();
    assert!(roles.iter().any(|a| a.holds(&RoleId::OrgAdmin)));
    org.assign_org_role(&person, &RoleId::OrgAdmin)
        .await
        .expect("granting it again changes nothing");
    org.revoke_org_role(&person, &RoleId::OrgAdmin)
        .await
        .unwrap();
    assert!(
        !env.sim
            .app()
            .read(|w| w.account(w.account_ix(&person).unwrap()).org_admin)
    );
    env.finish().await;
}

#[tokio::test]
async fn suspend_restore_and_remove_change_directory_membership() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let person = people_without(&env, Product::Statuspage).remove(0);
    org.suspend_user(ALL_DIRECTORIES, &person).await.unwrap();
    let user = org.user(ALL_DIRECTORIES, &person).await.unwrap();
    assert_eq!(user.status, Some(UserStatus::Suspended));
    assert_eq!(user.membership_status, Some(MembershipStatus::Suspended));
    org.suspend_user(ALL_DIRECTORIES, &person)
        .await
        .expect("suspending again changes nothing");
    org.restore_user(ALL_DIRECTORIES, &person).await.unwrap();
    assert_eq!(
        org.user(ALL_DIRECTORIES, &person).await.unwrap().status,
        Some(UserStatus::Active)
    );
    org.remove_user(ALL_DIRECTORIES, &person).await.unwrap();
    assert!(env.sim.app().read(|w| {
        w.account(w.account_ix(&person).unwrap())
            .directories
            .is_empty()
    }));
    match org.user(ALL_DIRECTORIES, &person).await {
        Ok(user) => assert_eq!(user.membership_status, Some(MembershipStatus::NoMembership)),
        Err(err) => assert!(err.is_not_found(), "{err}"),
    }
    let err = org
        .suspend_user(
            ALL_DIRECTORIES,
            "712020:00000000-0000-0000-0000-000000000000",
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    env.finish().await;
}

#[tokio::test]
async fn a_removal_whose_answer_is_lost_is_verified_not_repeated() {
    let env = TestEnv::start().await;
    let person = people_without(&env, Product::Statuspage).remove(0);
    fault(
        &env,
        json!({"family": "org", "method": "DELETE",
               "path": "/v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}",
               "kind": "reset_after_apply", "count": 1}),
    )
    .await;
    env.client
        .org()
        .remove_user(ALL_DIRECTORIES, &person)
        .await
        .expect("the removal happened; the lost answer is not an error");
    let removals = requests(&env, "DELETE", &format!("/users/{person}"));
    assert_eq!(removals.len(), 1, "never sent twice");
    assert!(removals[0].fault_injected, "its answer was lost");
    assert_eq!(
        events_about(&env, "user_removed_from_directory", &person),
        1
    );
    env.finish().await;
}
