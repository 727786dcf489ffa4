//! One model behind every family: a change made through one API is visible through the others,
//! checked only through the real HTTP routes.

use atlassian_sim::state::{AccountStatus, AccountType, Membership, Product};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn json_of(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ari(env: &TestEnv, product: Product) -> String {
    env.read(|w| w.resource(w.site_resource(0, product).unwrap()).ari())
}

/// A managed, active, invited person in the org directory who is not an org admin.
fn plain_managed_person(env: &TestEnv) -> String {
    env.read(|w| {
        (0..w.accounts.len() as u32)
            .find(|ax| {
                let a = w.account(*ax);
                a.kind == AccountType::Atlassian
                    && a.status == AccountStatus::Active
                    && a.delete_after.is_none()
                    && !a.org_admin
                    && a.source == atlassian_sim::state::ManagementSource::Invited
                    && a.directories.get(&0) == Some(&Membership::Active)
                    && w.is_managed(*ax)
            })
            .map(|ax| w.account(ax).id.clone())
            .unwrap()
    })
}

async fn invite(env: &TestEnv, email: &str, rules: Value) -> String {
    let (status, body) = json_of(
        env.org(
            Method::POST,
            &format!("/admin/v2/orgs/{}/users/invite", env.org_id()),
        )
        .json(&json!({"emails": [email], "permissionRules": rules})),
    )
    .await;
    assert!(status.is_success(), "invite: {status} {body}");
    body["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn jira_user(env: &TestEnv, account_id: &str) -> Value {
    let site = env.site_name();
    let (status, body) = json_of(env.site(
        Method::GET,
        &site,
        &format!("/rest/api/3/user?accountId={account_id}&expand=groups,applicationRoles"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn application_roles(user: &Value) -> Vec<String> {
    user["applicationRoles"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_org_api_role_grant_shows_in_jira_application_roles_and_user_count() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let jpd_count = |body: &Value| body["userCount"].as_i64().unwrap();
    let (_, before) = json_of(env.site(
        Method::GET,
        &site,
        "/rest/api/3/applicationrole/jira-product-discovery",
    ))
    .await;
    let id = invite(&env, "new.creator@acme.com", json!([])).await;
    assert!(
        !application_roles(&jira_user(&env, &id).await)
            .contains(&"jira-product-discovery".to_owned())
    );

    let (status, body) = json_of(
        env.org(Method::POST, &format!("/admin/v1/orgs/{}/users/{id}/roles/assign", env.org_id()))
            .json(&json!({"role": "atlassian/user", "resource": ari(&env, Product::JiraProductDiscovery)})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(
        application_roles(&jira_user(&env, &id).await)
            .contains(&"jira-product-discovery".to_owned())
    );
    let (_, after) = json_of(env.site(
        Method::GET,
        &site,
        "/rest/api/3/applicationrole/jira-product-discovery",
    ))
    .await;
    assert_eq!(jpd_count(&after), jpd_count(&before) + 1);
    env.finish().await;
}

#[tokio::test]
async fn a_jira_group_add_shows_in_org_api_and_confluence_groups() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let person = plain_managed_person(&env);
    let (status, group) = json_of(
        env.site(Method::POST, &site, "/rest/api/3/group")
            .json(&json!({"name": "release-captains"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["groupId"].as_str().unwrap().to_owned();
    let (status, _) = json_of(
        env.site(
            Method::POST,
            &site,
            &format!("/rest/api/3/group/user?groupId={group_id}"),
        )
        .json(&json!({"accountId": person})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The Org API sees the member through a users search by group…
    let (status, page) = json_of(
        env.org(
            Method::POST,
            &format!("/admin/v2/orgs/{}/directories/-/users/search", env.org_id()),
        )
        .json(&json!({"groupIds": [group_id]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["accountId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![person.as_str()]);
    // …and Confluence, on the same site, sees the same group and member.
    let (status, members) = json_of(env.site(
        Method::GET,
        &site,
        &format!("/wiki/rest/api/group/{group_id}/membersByGroupId"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(members["results"][0]["accountId"], json!(person));
    // The change is in the audit log as a group membership event.
    let (_, events) = json_of(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{}/events-stream?limit=500", env.org_id()),
    ))
    .await;
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["attributes"]["action"] == "user_added_to_group"),
        "no user_added_to_group event"
    );
    env.finish().await;
}

#[tokio::test]
async fn lifecycle_disable_deactivates_everywhere_and_enable_restores() {
    let env = TestEnv::start().await;
    let person = plain_managed_person(&env);
    let status_of = |env: &TestEnv, id: String| {
        let req = env.org(
            Method::GET,
            &format!("/admin/v2/orgs/{}/directories/-/users/{id}", env.org_id()),
        );
        async move {
            json_of(req).await.1["data"]["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(jira_user(&env, &person).await["active"], json!(true));

    let resp = env
        .org(
            Method::POST,
            &format!("/users/{person}/manage/lifecycle/disable"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(jira_user(&env, &person).await["active"], json!(false));
    assert_eq!(status_of(&env, person.clone()).await, "deactivated");
    let (_, bulk) = json_of(
        env.site(Method::POST, &env.site_name(), "/wiki/api/v2/users-bulk")
            .json(&json!({"accountIds": [person]})),
    )
    .await;
    assert_eq!(bulk["results"][0]["accountStatus"], json!("inactive"));

    let resp = env
        .org(
            Method::POST,
            &format!("/users/{person}/manage/lifecycle/enable"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(jira_user(&env, &person).await["active"], json!(true));
    assert_eq!(status_of(&env, person.clone()).await, "active");

    let resp = env
        .org(
            Method::POST,
            &format!("/users/{person}/manage/lifecycle/delete"),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(status_of(&env, person.clone()).await, "for_deletion");
    env.finish().await;
}

#[tokio::test]
async fn suspension_hides_access_in_jira_and_restore_brings_it_back() {
    let env = TestEnv::start().await;
    let id = invite(
        &env,
        "on.leave@acme.com",
        json!([{"resource": ari(&env, Product::JiraSoftware), "role": "atlassian/user"}]),
    )
    .await;
    let dir = env.read(|w| w.directories[0].id.clone());
    let path = |action: &str| {
        format!(
            "/admin/v2/orgs/{}/directories/{dir}/users/{id}/{action}",
            env.org_id()
        )
    };
    assert_eq!(jira_user(&env, &id).await["active"], json!(true));
    assert_eq!(
        env.org(Method::POST, &path("suspend"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let suspended = jira_user(&env, &id).await;
    assert_eq!(suspended["active"], json!(false));
    assert_eq!(
        env.org(Method::POST, &path("restore"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let restored = jira_user(&env, &id).await;
    assert_eq!(restored["active"], json!(true));
    assert!(
        application_roles(&restored).contains(&"jira-software".to_owned()),
        "roles come back on restore"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_statuspage_team_member_created_there_holds_the_statuspage_role_in_the_org_api() {
    let env = TestEnv::start().await;
    let org = env.sim.info().statuspage.organization_id.clone();
    let (status, user) = json_of(env.statuspage(Method::POST, &format!("/v1/organizations/{org}/users")).json(
        &json!({"user": {"email": "status.writer@acme.com", "first_name": "Status", "last_name": "Writer"}}),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let account = env.read(|w| {
        w.account(w.account_by_email("status.writer@acme.com").unwrap())
            .id
            .clone()
    });
    let (status, roles) = json_of(env.org(
        Method::GET,
        &format!(
            "/admin/v2/orgs/{}/directories/-/users/{account}/role-assignments",
            env.org_id()
        ),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{roles}");
    assert!(
        roles["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["resourceOwner"] == "statuspage"),
        "no Statuspage role: {roles}"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_portal_only_customer_cannot_join_a_group_through_any_api() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let (status, customer) = json_of(
        env.site(
            Method::POST,
            &site,
            "/rest/servicedeskapi/customer?strictConflictStatusCode=true",
        )
        .json(&json!({"email": "portal.only@customer.example", "displayName": "Portal Only"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    let customer_id = customer["accountId"].as_str().unwrap().to_owned();
    assert!(customer_id.starts_with("qm:"));
    let group = env.read(|w| {
        w.live_groups()
            .find(|(_, g)| !g.external && g.default_for.is_none() && !g.protected)
            .map(|(_, g)| g.id.clone())
    });
    let group = group.unwrap();
    let (jira_status, _) = json_of(
        env.site(
            Method::POST,
            &site,
            &format!("/rest/api/3/group/user?groupId={group}"),
        )
        .json(&json!({"accountId": customer_id})),
    )
    .await;
    assert!(
        jira_status.is_client_error(),
        "Jira let a portal-only customer join: {jira_status}"
    );
    let dir = env.read(|w| w.directories[0].id.clone());
    let (org_status, _) = json_of(
        env.org(
            Method::POST,
            &format!(
                "/admin/v2/orgs/{}/directories/{dir}/groups/{group}/memberships",
                env.org_id()
            ),
        )
        .json(&json!({"accountId": customer_id})),
    )
    .await;
    assert!(
        org_status.is_client_error(),
        "the Org API let a portal-only customer join: {org_status}"
    );
    env.finish().await;
}
