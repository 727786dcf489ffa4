//! Jira REST v3 (users, groups, application roles, projects and project roles) against the
//! simulator.

use std::collections::BTreeSet;

use atlassian_client::models::ProductKey;
use atlassian_client::models::jira::{
    GroupAccessType, GroupFilter, ProjectFilter, RoleActorRef, RoleActors,
};
use atlassian_client::{Error, models::jira::User};
use atlassian_sim::SimConfig;
use futures::TryStreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestEnv;
use crate::user_management::{
    UNKNOWN_ACCOUNT, account, accounts_where, fault, finish_with_known_deviations, ground_truth,
    managed_person, requests_to,
};

/// Accounts the site's Jira lists: directory members, apps and the site's portal-only
/// customers (the small org has one directory, the site's).
fn site_account_ids(truth: &Value, site: &str) -> BTreeSet<String> {
    accounts_where(truth, |a| match a["type"].as_str() {
        Some("atlassian") => !a["directories"].as_array().unwrap().is_empty(),
        Some("app") => true,
        Some("customer") => a["customer_site"] == site,
        _ => false,
    })
    .into_iter()
    .collect()
}

/// An active managed person (not an org admin) who holds Jira Software.
fn jira_software_user(truth: &Value) -> String {
    accounts_where(truth, |a| {
        a["type"] == "atlassian"
            && a["managed"] == true
            && a["org_admin"] == false
            && a["source"] == "invited"
            && a["status"] == "active"
            && a["roles"].as_array().unwrap().iter().any(|r| {
                r["role"] == "atlassian/user"
                    && r["resource"]
                        .as_str()
                        .unwrap()
                        .starts_with("ari:cloud:jira-software::")
            })
    })
    .remove(0)
}

fn ids(users: &[User]) -> BTreeSet<String> {
    users.iter().map(|u| u.account_id.clone()).collect()
}

/// The ground-truth group with this name.
fn group<'v>(truth: &'v Value, name: &str) -> &'v Value {
    truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap()
}

/// The ground-truth actors of a project role: (user account ids, group ids).
fn role_actors(truth: &Value, project: &str, role: u64) -> (BTreeSet<String>, BTreeSet<String>) {
    let project = truth["jira"][0]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == project)
        .unwrap();
    let actors = project["role_actors"][role.to_string()]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of = |kind: &str| {
        actors
            .iter()
            .filter(|a| a["type"] == kind)
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    (of("user"), of("group"))
}

#[tokio::test]
async fn users_search_across_small_pages_equals_the_ground_truth() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let site = env.site();
    let jira = env.client.jira(&site).unwrap();

    let paged: Vec<User> = jira.users_with_page_size(7).try_collect().await.unwrap();
    let expected = site_account_ids(&truth, &site);
    assert_eq!(paged.len(), expected.len(), "no user twice");
    assert_eq!(ids(&paged), expected);
    let pages = requests_to(&env, "GET", "/rest/api/3/users/search").len();
    assert!(pages >= expected.len().div_ceil(7), "{pages} pages");

    let whole: Vec<User> = jira.users().try_collect().await.unwrap();
    assert_eq!(
        ids(&whole),
        expected,
        "one page of up to 1000 gives the same users"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_user_is_read_with_their_groups_and_application_roles() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let id = accounts_where(&truth, |a| {
        a["type"] == "atlassian"
            && a["status"] == "active"
            && a["groups"].as_array().unwrap().len() >= 2
    })
    .remove(0);
    let expected = account(&truth, &id);

    let user = jira.user(&id).await.unwrap();
    assert_eq!(user.account_id, id);
    assert!(user.active);
    assert_eq!(user.email_address.as_deref(), expected["email"].as_str());
    let groups = user.groups.unwrap();
    assert_eq!(groups.size as usize, groups.items.len(), "expanded");
    let group_ids: BTreeSet<String> = groups
        .items
        .iter()
        .map(|g| g.group_id.clone().unwrap())
        .collect();
    let truth_groups: BTreeSet<String> = expected["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(group_ids, truth_groups);
    let listed: BTreeSet<String> = jira
        .user_groups(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.group_id.unwrap())
        .collect();
    assert_eq!(listed, truth_groups);

    let roles = user.application_roles.unwrap();
    let keys: BTreeSet<String> = roles.items.iter().map(|r| r.key.to_string()).collect();
    let truth_keys: BTreeSet<String> = expected["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "atlassian/user" || r["role"] == "atlassian/admin")
        .filter_map(|r| {
            let product = r["resource"].as_str()?.strip_prefix("ari:cloud:")?;
            let product = product.split("::").next()?;
            product.starts_with("jira-").then(|| product.to_owned())
        })
        .collect();
    assert_eq!(keys, truth_keys);
    env.finish().await;
}

#[tokio::test]
async fn users_bulk_returns_the_named_users_and_leaves_unknown_ids_out() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let wanted: Vec<String> = site_account_ids(&truth, &env.site())
        .into_iter()
        .take(60)
        .collect();
    let mut asked = wanted.clone();
    asked.push(UNKNOWN_ACCOUNT.to_owned());

    let found: Vec<User> = jira.users_bulk(&asked).try_collect().await.unwrap();
    assert_eq!(found.len(), wanted.len());
    assert_eq!(ids(&found), wanted.into_iter().collect());
    assert_eq!(
        requests_to(&env, "GET", "/rest/api/3/user/bulk").len(),
        2,
        "61 ids go 50 at a time"
    );
    env.finish().await;
}

#[tokio::test]
async fn create_user_makes_one_account_even_when_the_answer_is_lost() {
    let env = TestEnv::start().await;
    let jira = env.client.jira(&env.site()).unwrap();
    fault(
        &env,
        "jira",
        "POST",
        "/rest/api/3/user",
        "reset_after_apply",
    )
    .await;

    let user = jira
        .create_user("new.hire@acme.com", &[ProductKey::JiraSoftware])
        .await
        .unwrap();
    let truth = ground_truth(&env).await;
    let made = accounts_where(&truth, |a| a["email"] == "new.hire@acme.com");
    assert_eq!(made, vec![user.account_id.clone()], "exactly one account");
    let roles = user.application_roles.unwrap().items;
    assert!(roles.iter().any(|r| r.key == ProductKey::JiraSoftware));
    assert_eq!(
        requests_to(&env, "POST", "/rest/api/3/user").len(),
        1,
        "the applied create is not sent again"
    );
    assert!(!requests_to(&env, "GET", "/rest/api/3/user/search").is_empty());
    env.finish().await;
}

#[tokio::test]
async fn create_user_is_sent_again_when_the_first_attempt_never_arrived() {
    let env = TestEnv::start().await;
    let jira = env.client.jira(&env.site()).unwrap();
    fault(&env, "jira", "POST", "/rest/api/3/user", "reset").await;

    let user = jira.create_user("second.try@acme.com", &[]).await.unwrap();
    let truth = ground_truth(&env).await;
    let made = accounts_where(&truth, |a| a["email"] == "second.try@acme.com");
    assert_eq!(made, vec![user.account_id.clone()]);
    assert_eq!(requests_to(&env, "POST", "/rest/api/3/user").len(), 2);
    env.finish().await;
}

#[tokio::test]
async fn create_user_returns_an_existing_jira_user_and_refuses_one_without_jira() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let accounts_before = truth["accounts"].as_array().unwrap().len();

    let id = jira_software_user(&truth);
    let email = account(&truth, &id)["email"].as_str().unwrap().to_owned();
    assert!(
        !jira
            .user(&id)
            .await
            .unwrap()
            .application_roles
            .unwrap()
            .items
            .is_empty()
    );
    let existing = jira
        .create_user(&email, &[ProductKey::JiraSoftware])
        .await
        .unwrap();
    assert_eq!(
        existing.account_id, id,
        "Jira answers 201 with the existing user"
    );

    let bare = jira.create_user("no.access@acme.com", &[]).await.unwrap();
    assert_eq!(bare.application_roles.map(|r| r.size), Some(0));
    let again = jira
        .create_user("no.access@acme.com", &[])
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(StatusCode::BAD_REQUEST), "{again}");

    let truth = ground_truth(&env).await;
    assert_eq!(
        truth["accounts"].as_array().unwrap().len(),
        accounts_before + 1
    );
    env.finish().await;
}

#[tokio::test]
async fn delete_user_removes_jira_access_but_keeps_the_account() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let id = jira_software_user(&truth);
    assert!(
        jira.user(&id)
            .await
            .unwrap()
            .application_roles
            .unwrap()
            .size
            > 0
    );

    jira.delete_user(&id).await.unwrap();
    let user = jira.user(&id).await.unwrap();
    assert_eq!(user.application_roles.unwrap().size, 0);
    let truth = ground_truth(&env).await;
    assert_eq!(account(&truth, &id)["account_status"], "active");
    env.finish().await;
}

#[tokio::test]
async fn groups_stream_every_group_and_the_filters_narrow_them() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();

    let all: Vec<_> = jira
        .groups(GroupFilter::default())
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = all.iter().map(|g| g.name.clone()).collect();
    let truth_names: BTreeSet<String> = truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, truth_names);
    assert_eq!(all.len(), truth_names.len());

    let by_name = GroupFilter {
        group_name: vec!["engineering".into()],
        ..GroupFilter::default()
    };
    let found: Vec<_> = jira.groups(by_name).try_collect().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].group_id.as_deref(),
        group(&truth, "engineering")["id"].as_str()
    );

    let software = GroupFilter {
        application_key: Some(ProductKey::JiraSoftware),
        ..GroupFilter::default()
    };
    let granting: BTreeSet<String> = jira
        .groups(software)
        .map_ok(|g| g.name)
        .try_collect()
        .await
        .unwrap();
    let truth_granting: BTreeSet<String> = truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["roles"].as_array().unwrap().iter().any(|r| {
                r["resource"]
                    .as_str()
                    .unwrap()
                    .starts_with("ari:cloud:jira-software::")
                    && (r["role"] == "atlassian/user" || r["role"] == "atlassian/admin")
            })
        })
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(granting.contains("jira-software-users-acme"));
    assert_eq!(granting, truth_granting);

    let admins = GroupFilter {
        access_type: Some(GroupAccessType::SiteAdmin),
        ..GroupFilter::default()
    };
    let site_admins: Vec<_> = jira.groups(admins).try_collect().await.unwrap();
    assert!(site_admins.iter().any(|g| g.name == "site-admins"));
    env.finish().await;
}

#[tokio::test]
async fn group_members_stream_past_fifty_members_fifty_at_a_time() {
    // 300 users: the engineering group has about a hundred members.
    let config = SimConfig {
        users: Some(300),
        ..SimConfig::default()
    };
    let env = TestEnv::start_with(config, |b| b).await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let engineering = group(&truth, "engineering");
    let group_id = engineering["id"].as_str().unwrap();
    let members: BTreeSet<String> = engineering["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    assert!(members.len() > 50, "{} members", members.len());

    let everyone: Vec<User> = jira
        .group_members(group_id, true)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(everyone.len(), members.len());
    assert_eq!(ids(&everyone), members);
    assert!(
        requests_to(&env, "GET", "/rest/api/3/group/member").len() >= members.len().div_ceil(50)
    );

    let active: Vec<User> = jira
        .group_members(group_id, false)
        .try_collect()
        .await
        .unwrap();
    let truth_active: BTreeSet<String> = members
        .iter()
        .filter(|id| account(&truth, id)["status"] == "active")
        .cloned()
        .collect();
    assert!(active.iter().all(|u| u.active));
    assert_eq!(ids(&active), truth_active);
    env.finish().await;
}

#[tokio::test]
async fn a_group_is_created_filled_emptied_and_deleted() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let person = managed_person(&truth);

    let created = jira.create_group("steward-contractors").await.unwrap();
    assert_eq!(created.name, "steward-contractors");
    let group_id = created.group_id.unwrap();
    let taken = jira.create_group("steward-contractors").await.unwrap_err();
    assert_eq!(taken.status(), Some(StatusCode::BAD_REQUEST), "{taken}");

    let joined = jira.add_user_to_group(&group_id, &person).await.unwrap();
    assert_eq!(joined.group_id.as_deref(), Some(group_id.as_str()));
    jira.add_user_to_group(&group_id, &person).await.unwrap();
    let members: Vec<User> = jira
        .group_members(&group_id, true)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        ids(&members),
        BTreeSet::from([person.clone()]),
        "added once"
    );
    let groups = jira.user_groups(&person).await.unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g.group_id.as_deref() == Some(group_id.as_str()))
    );

    jira.remove_user_from_group(&group_id, &person)
        .await
        .unwrap();
    let members: Vec<User> = jira
        .group_members(&group_id, true)
        .try_collect()
        .await
        .unwrap();
    assert!(members.is_empty());

    jira.delete_group(&group_id, None).await.unwrap();
    let by_name = GroupFilter {
        group_name: vec!["steward-contractors".into()],
        ..GroupFilter::default()
    };
    let left: Vec<_> = jira.groups(by_name).try_collect().await.unwrap();
    assert!(left.is_empty());
    env.finish().await;
}

#[tokio::test]
async fn create_group_makes_one_group_even_when_the_answer_is_lost() {
    let env = TestEnv::start().await;
    let jira = env.client.jira(&env.site()).unwrap();
    fault(
        &env,
        "jira",
        "POST",
        "/rest/api/3/group",
        "reset_after_apply",
    )
    .await;

    let created = jira.create_group("steward-temps").await.unwrap();
    let truth = ground_truth(&env).await;
    let named: Vec<&Value> = truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] == "steward-temps")
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(created.group_id.as_deref(), named[0]["id"].as_str());
    assert_eq!(requests_to(&env, "POST", "/rest/api/3/group").len(), 1);
    env.finish().await;
}

#[tokio::test]
async fn application_roles_list_and_get_agree() {
    let env = TestEnv::start().await;
    let jira = env.client.jira(&env.site()).unwrap();

    let roles = jira.application_roles().await.unwrap();
    let keys: BTreeSet<ProductKey> = roles.iter().map(|r| r.key.clone()).collect();
    assert!(
        keys.contains(&ProductKey::JiraSoftware) && keys.contains(&ProductKey::JiraServiceDesk)
    );
    for role in &roles {
        assert_eq!(&jira.application_role(&role.key).await.unwrap(), role);
    }
    let software = roles
        .iter()
        .find(|r| r.key == ProductKey::JiraSoftware)
        .unwrap();
    assert!(
        software
            .default_groups
            .contains(&"jira-software-users-acme".to_owned())
    );
    assert!(software.user_count.unwrap() > 0);

    let core = jira
        .application_role(&ProductKey::JiraCore)
        .await
        .unwrap_err();
    assert!(core.is_not_found(), "{core}");
    env.finish().await;
}

#[tokio::test]
async fn projects_stream_every_project_and_the_filters_narrow_them() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let truth_keys: BTreeSet<String> = truth["jira"][0]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect();

    let all: Vec<_> = jira
        .projects(ProjectFilter::default())
        .try_collect()
        .await
        .unwrap();
    let keys: BTreeSet<String> = all.iter().map(|p| p.key.clone()).collect();
    assert_eq!(keys, truth_keys);

    let eng = ProjectFilter {
        keys: vec!["ENG".into()],
        ..ProjectFilter::default()
    };
    let found: Vec<_> = jira.projects(eng).try_collect().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Engineering");
    let query = ProjectFilter {
        query: Some("engineering".into()),
        ..ProjectFilter::default()
    };
    let found: Vec<_> = jira.projects(query).try_collect().await.unwrap();
    assert!(found.iter().any(|p| p.key == "ENG"));
    // The simulator's Jira Product Discovery project has `projectTypeKey: product_discovery`,
    // which real Jira sends but the 2025-12 spec's enum lacks.
    finish_with_known_deviations(env, |e| {
        e.spec_path == "/rest/api/3/project/search"
            && e.response_body.as_ref().is_some_and(|b| {
                b["values"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|p| p["projectTypeKey"] == "product_discovery"))
            })
    })
    .await;
}

#[tokio::test]
async fn project_role_actors_are_read_added_and_removed() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();

    let refs = jira.project_roles("ENG").await.unwrap();
    let defined: BTreeSet<u64> = jira
        .all_project_roles()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert!(!refs.is_empty());
    assert!(
        refs.iter()
            .all(|r| r.id.is_some_and(|id| defined.contains(&id)))
    );
    let role_id = refs
        .iter()
        .find_map(|r| {
            r.id.filter(|id| !role_actors(&truth, "ENG", *id).0.is_empty())
        })
        .unwrap();

    let role = jira.project_role("ENG", role_id, false).await.unwrap();
    let users: BTreeSet<String> = role
        .actors
        .iter()
        .filter_map(|a| a.account_id().map(str::to_owned))
        .collect();
    let groups: BTreeSet<String> = role
        .actors
        .iter()
        .filter_map(|a| a.group_id().map(str::to_owned))
        .collect();
    assert_eq!(
        (users.clone(), groups.clone()),
        role_actors(&truth, "ENG", role_id)
    );

    let newcomer = accounts_where(&truth, |a| {
        a["type"] == "atlassian"
            && a["status"] == "active"
            && !users.contains(a["account_id"].as_str().unwrap())
    })
    .remove(0);
    let team = group(&truth, "security")["id"].as_str().unwrap().to_owned();
    assert!(!groups.contains(&team));
    let added = jira
        .add_project_role_actors(
            "ENG",
            role_id,
            &RoleActors {
                user: vec![newcomer.clone()],
                group_id: vec![team.clone()],
            },
        )
        .await
        .unwrap();
    assert!(
        added
            .actors
            .iter()
            .any(|a| a.account_id() == Some(newcomer.as_str()))
    );
    assert!(
        added
            .actors
            .iter()
            .any(|a| a.group_id() == Some(team.as_str()))
    );
    let (truth_users, truth_groups) = role_actors(&ground_truth(&env).await, "ENG", role_id);
    assert!(truth_users.contains(&newcomer) && truth_groups.contains(&team));

    jira.remove_project_role_actor("ENG", role_id, &RoleActorRef::User(newcomer.clone()))
        .await
        .unwrap();
    jira.remove_project_role_actor("ENG", role_id, &RoleActorRef::Group(team.clone()))
        .await
        .unwrap();
    assert_eq!(
        role_actors(&ground_truth(&env).await, "ENG", role_id),
        (users, groups)
    );
    env.finish().await;
}

#[tokio::test]
async fn adding_role_actors_is_applied_once_when_the_answer_is_lost() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jira = env.client.jira(&env.site()).unwrap();
    let team = group(&truth, "security")["id"].as_str().unwrap().to_owned();
    fault(
        &env,
        "jira",
        "POST",
        "/rest/api/3/project/{projectIdOrKey}/role/{id}",
        "reset_after_apply",
    )
    .await;

    let role = jira
        .add_project_role_actors(
            "ENG",
            10_001,
            &RoleActors {
                group_id: vec![team.clone()],
                ..RoleActors::default()
            },
        )
        .await
        .unwrap();
    assert!(
        role.actors
            .iter()
            .any(|a| a.group_id() == Some(team.as_str()))
    );
    assert_eq!(
        requests_to(
            &env,
            "POST",
            "/rest/api/3/project/{projectIdOrKey}/role/{id}"
        )
        .len(),
        1,
        "not sent again once the read shows it applied"
    );
    env.finish().await;
}

#[tokio::test]
async fn unknown_users_are_not_found_and_unknown_sites_are_configuration_errors() {
    let env = TestEnv::start().await;
    let jira = env.client.jira(&env.site()).unwrap();
    let missing = jira.user(UNKNOWN_ACCOUNT).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(
        jira.user_groups(UNKNOWN_ACCOUNT)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let no_group: Result<Vec<User>, _> = jira
        .group_members("no-such-group", false)
        .try_collect()
        .await;
    assert!(no_group.unwrap_err().is_not_found());
    assert!(matches!(env.client.jira("nowhere"), Err(Error::Config(_))));
    assert!(matches!(jira.user("").await, Err(Error::InvalidInput(_))));
    env.finish().await;
}
