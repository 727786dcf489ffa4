//! Jira Cloud platform REST v3 through HTTP: users, groups, application roles and project
//! roles, and how they share the one model with the Org API.

// Test helpers (not only #[test] functions) may unwrap: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use atlassian_sim::SimConfig;
use atlassian_sim::record::Exchange;
use atlassian_sim::state::{
    AccountIx, AccountStatus, AccountType, GroupIx, Membership, Mode, Product, ResourceIx, Role,
    SiteIx, World,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.expect("request is sent");
    let status = resp.status();
    let text = resp.text().await.expect("body is read");
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("body is JSON")
        },
    )
}

/// A request to the first site's Jira with the integration account's credentials.
fn jira(env: &TestEnv, method: Method, path: &str) -> reqwest::RequestBuilder {
    env.site(method, &env.site_name(), path)
}

fn site_ix(w: &World) -> SiteIx {
    w.site_by_name("acme").expect("the acme site")
}

fn rx(w: &World, product: Product) -> ResourceIx {
    w.site_resource(site_ix(w), product)
        .expect("the site has the product")
}

/// Asserts a Jira `ErrorCollection` body.
fn assert_error_collection(body: &Value) {
    assert!(
        body["errorMessages"].is_array(),
        "ErrorCollection has errorMessages: {body}"
    );
    assert!(
        body["errors"].is_object(),
        "ErrorCollection has errors: {body}"
    );
}

fn account_ids(users: &Value) -> Vec<String> {
    users
        .as_array()
        .expect("a list of users")
        .iter()
        .map(|u| u["accountId"].as_str().expect("accountId").to_owned())
        .collect()
}

/// Removes exchanges from the recording before the conformance check: the ones a test makes on
/// purpose with a status the spec does not declare (documented deviations).
fn forget(env: &TestEnv, unwanted: impl Fn(&Exchange) -> bool) {
    let recorder = env.sim.app().recorder();
    for exchange in recorder.take() {
        if !unwanted(&exchange) {
            recorder.push(exchange);
        }
    }
}

/// Active Atlassian accounts of the site's directory without usable access to `rx`.
fn without_access(w: &World, rx: ResourceIx) -> Vec<AccountIx> {
    let site = site_ix(w);
    w.site_accounts(site)
        .filter(|ax| {
            let a = w.account(*ax);
            a.kind == AccountType::Atlassian
                && w.active_on_site(*ax, site)
                && !a.org_admin
                && !w.has_product_access(*ax, rx)
                && !w.role_assignments(*ax).keys().any(|(r, _)| *r == rx)
        })
        .collect()
}

fn group_named(w: &World, name: &str) -> GroupIx {
    w.group_by_name(w.directory_of_site(site_ix(w)), name)
        .unwrap_or_else(|| panic!("group {name}"))
}

// ---- users ------------------------------------------------------------------------------------------

#[tokio::test]
async fn users_search_pages_through_every_site_account_without_gaps() {
    let env = TestEnv::start().await;
    let expected: Vec<String> = env.read(|w| {
        w.site_accounts(site_ix(w))
            .map(|ax| w.account(ax).id.clone())
            .collect()
    });
    assert!(
        expected.len() > 50,
        "the small org has more accounts than one default page"
    );

    let mut seen: Vec<String> = vec![];
    let mut start = 0;
    loop {
        let (status, page) = send(jira(
            &env,
            Method::GET,
            &format!("/rest/api/3/users/search?startAt={start}&maxResults=25"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        let ids = account_ids(&page);
        assert!(ids.len() <= 25);
        seen.extend(ids.iter().cloned());
        if ids.len() < 25 {
            break;
        }
        start += 25;
    }
    assert_eq!(
        seen, expected,
        "pages follow each other with no gap and no repeat"
    );

    // Active and inactive accounts, apps and portal-only customers are all listed.
    let (status, all) = send(jira(&env, Method::GET, "/rest/api/3/users?maxResults=5000")).await;
    assert_eq!(status, StatusCode::OK);
    let all = all.as_array().expect("bare array").clone();
    assert_eq!(
        all.len(),
        expected.len().min(1000),
        "maxResults is capped at 1000"
    );
    let types: BTreeSet<&str> = all
        .iter()
        .filter_map(|u| u["accountType"].as_str())
        .collect();
    assert_eq!(types, BTreeSet::from(["app", "atlassian", "customer"]));
    assert!(
        all.iter().any(|u| u["active"] == json!(false)),
        "inactive accounts are listed"
    );
    let first = &all[0];
    for field in [
        "self",
        "accountId",
        "accountType",
        "avatarUrls",
        "displayName",
        "active",
        "timeZone",
    ] {
        assert!(first.get(field).is_some(), "user has {field}: {first}");
    }
    let site_url = env.sim.info().sites[0].base_url.clone();
    assert!(
        first["self"]
            .as_str()
            .expect("self")
            .starts_with(&format!("{site_url}/rest/api/3/user?accountId="))
    );

    // Past the end: an empty array.
    let (status, empty) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/users/search?startAt=100000",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty, json!([]));

    // Bad paging input: the ErrorCollection.
    let (status, body) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/users/search?maxResults=lots",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    env.finish().await;
}

#[tokio::test]
async fn user_search_finds_active_users_by_query_or_account_id() {
    let env = TestEnv::start().await;
    let (id, name, email) = env.read(|w| {
        let site = site_ix(w);
        let ax = w
            .site_accounts(site)
            .find(|ax| w.account(*ax).kind == AccountType::Atlassian && w.active_on_site(*ax, site))
            .expect("an active user");
        let a = w.account(ax);
        (
            a.id.clone(),
            a.name.clone(),
            a.email.clone().expect("email"),
        )
    });
    let first_name = name
        .split_whitespace()
        .next()
        .expect("a first name")
        .to_owned();
    let (status, found) = send(jira(
        &env,
        Method::GET,
        &format!(
            "/rest/api/3/user/search?query={}",
            first_name.to_lowercase()
        ),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        account_ids(&found).contains(&id),
        "query matches the display name prefix"
    );
    assert!(
        found
            .as_array()
            .expect("array")
            .iter()
            .all(|u| u["active"] == json!(true)),
        "active users only"
    );

    let prefix = &email[..4];
    let (_, found) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user/search?query={prefix}"),
    ))
    .await;
    assert!(
        account_ids(&found).contains(&id),
        "query matches the email prefix"
    );

    let (_, found) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user/search?accountId={id}"),
    ))
    .await;
    assert_eq!(account_ids(&found), vec![id.clone()]);

    // An inactive account is never found.
    let inactive = env.read(|w| {
        let site = site_ix(w);
        w.site_accounts(site)
            .find(|ax| !w.active_on_site(*ax, site))
            .map(|ax| w.account(ax).id.clone())
    });
    if let Some(inactive) = inactive {
        let (_, found) = send(jira(
            &env,
            Method::GET,
            &format!("/rest/api/3/user/search?accountId={inactive}"),
        ))
        .await;
        assert_eq!(found, json!([]));
    }

    // Neither query nor accountId, or both: 400.
    let (status, body) = send(jira(&env, Method::GET, "/rest/api/3/user/search")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    let (status, _) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user/search?query=a&accountId={id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    env.finish().await;
}

#[tokio::test]
async fn get_user_expands_groups_and_application_roles() {
    let env = TestEnv::start().await;
    let (id, groups, roles) = env.read(|w| {
        let site = site_ix(w);
        let ax = w
            .site_accounts(site)
            .find(|ax| {
                w.account(*ax).kind == AccountType::Atlassian
                    && !w.account(*ax).groups.is_empty()
                    && w.has_jira_access(*ax, site)
            })
            .expect("a Jira user with groups");
        let dir = w.directory_of_site(site);
        let groups: BTreeSet<String> = w
            .account(ax)
            .groups
            .iter()
            .filter(|gx| w.group(**gx).directory == dir)
            .map(|gx| w.group(*gx).id.clone())
            .collect();
        let roles: BTreeSet<String> = w
            .jira_resources(site)
            .into_iter()
            .filter(|rx| w.has_product_access(ax, *rx))
            .map(|rx| w.resource(rx).product.key().to_owned())
            .collect();
        (w.account(ax).id.clone(), groups, roles)
    });
    let (status, user) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user?accountId={id}&expand=groups,applicationRoles"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["accountId"], json!(id));
    let got: BTreeSet<String> = user["groups"]["items"]
        .as_array()
        .expect("groups expanded")
        .iter()
        .map(|g| g["groupId"].as_str().expect("groupId").to_owned())
        .collect();
    assert_eq!(got, groups);
    assert_eq!(user["groups"]["size"], json!(groups.len()));
    let got: BTreeSet<String> = user["applicationRoles"]["items"]
        .as_array()
        .expect("roles expanded")
        .iter()
        .map(|r| r["key"].as_str().expect("key").to_owned())
        .collect();
    assert_eq!(got, roles);

    // Without expand only the sizes.
    let (_, plain) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user?accountId={id}"),
    ))
    .await;
    assert_eq!(plain["groups"]["items"], json!([]));
    assert_eq!(plain["groups"]["size"], json!(groups.len()));

    // user/groups: the same groups, as a bare array of GroupName.
    let (status, list) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user/groups?accountId={id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let got: BTreeSet<String> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|g| g["groupId"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(got, groups);

    // user/bulk: a PageBean of the known ids.
    let other = env.read(|w| {
        w.site_accounts(site_ix(w))
            .map(|ax| w.account(ax).id.clone())
            .find(|x| *x != id)
            .expect("another")
    });
    let (status, page) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user/bulk?accountId={id}&accountId={other}&accountId=unknown-id&maxResults=1"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], json!(2));
    assert_eq!(page["isLast"], json!(false));
    assert_eq!(account_ids(&page["values"]), vec![id.clone()]);
    let next = page["nextPage"].as_str().expect("nextPage").to_owned();
    let (_, page2) = send(env.http.get(&next).basic_auth(
        &env.sim.info().sites[0].email,
        Some(&env.sim.info().sites[0].api_token),
    ))
    .await;
    assert_eq!(account_ids(&page2["values"]), vec![other]);
    assert_eq!(page2["isLast"], json!(true));
    let (status, body) = send(jira(&env, Method::GET, "/rest/api/3/user/bulk")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);

    // Unknown users: 404.
    let (status, body) = send(jira(&env, Method::GET, "/rest/api/3/user?accountId=nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_collection(&body);
    let (status, _) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/user/groups?accountId=nobody",
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.finish().await;
}

#[tokio::test]
async fn create_user_makes_a_site_user_with_the_products() {
    let env = TestEnv::start().await;
    let (status, user) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "New.Hire@acme.com", "products": ["jira-software", "jira-product-discovery"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["emailAddress"], json!("new.hire@acme.com"));
    assert_eq!(user["accountType"], json!("atlassian"));
    assert_eq!(user["active"], json!(true));
    assert_eq!(user["applicationRoles"]["size"], json!(2));
    let id = user["accountId"].as_str().expect("accountId").to_owned();

    // The one model: a directory member with direct roles the Org API sees.
    env.read(|w| {
        let ax = w.account_ix(&id).expect("account exists");
        let a = w.account(ax);
        assert_eq!(
            a.directories.get(&w.directory_of_site(site_ix(w))),
            Some(&Membership::Active)
        );
        assert!(
            a.direct_roles
                .contains(&(rx(w, Product::JiraSoftware), Role::User))
        );
        assert!(
            a.direct_roles
                .contains(&(rx(w, Product::JiraProductDiscovery), Role::User))
        );
        assert!(!w.has_product_access(ax, rx(w, Product::Confluence)));
    });

    // Again: the user exists with Jira access, 201 and nothing new.
    let (status, again) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "new.hire@acme.com", "products": []})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["accountId"], json!(id));

    // An existing site user without Jira access: 400.
    let (status, body) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "no.access@acme.com", "products": []})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a user without products is created: {body}"
    );
    let (status, body) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "no.access@acme.com", "products": ["jira-software"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);

    // products is required; unknown products and jira-core (no such app here) are refused.
    for (body, field) in [
        (json!({"emailAddress": "x1@acme.com"}), "products"),
        (json!({"products": ["jira-software"]}), "emailAddress"),
        (
            json!({"emailAddress": "x2@acme.com", "products": ["confluence"]}),
            "products",
        ),
        (
            json!({"emailAddress": "x3@acme.com", "products": ["jira-core"]}),
            "products",
        ),
    ] {
        let (status, answer) = send(jira(&env, Method::POST, "/rest/api/3/user").json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_error_collection(&answer);
        assert!(answer["errors"].get(field).is_some(), "{answer}");
    }
    let (status, answer) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "not-an-email", "products": []})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&answer);
    assert!(env.read(|w| w.account_by_email("x1@acme.com").is_none()
        && w.account_by_email("x3@acme.com").is_none()));
    env.finish().await;
}

#[tokio::test]
async fn create_user_beyond_the_licence_is_refused() {
    let env = TestEnv::start().await;
    let (seats, used) = env.read(|w| {
        let r = rx(w, Product::JiraServiceDesk);
        (w.resource(r).seats.expect("JSM has seats"), w.seats_used(r))
    });
    let free = seats - used;
    for i in 0..free {
        let (status, body) = send(
            jira(&env, Method::POST, "/rest/api/3/user")
                .json(&json!({"emailAddress": format!("agent{i}@acme.com"), "products": ["jira-servicedesk"]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "one.too.many@acme.com", "products": ["jira-software", "jira-servicedesk"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_collection(&body);
    assert!(
        env.read(|w| w.account_by_email("one.too.many@acme.com").is_none()),
        "nothing was created"
    );

    // applicationrole shows the licence full.
    let (status, role) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/applicationrole/jira-servicedesk",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(role["numberOfSeats"], json!(seats));
    assert_eq!(role["userCount"], json!(seats));
    assert_eq!(role["remainingSeats"], json!(0));
    env.finish().await;
}

#[tokio::test]
async fn delete_user_removes_jira_access_and_keeps_the_account() {
    let env = TestEnv::start().await;
    let (id, kept_groups) = env.read(|w| {
        let site = site_ix(w);
        let jira = w.jira_resources(site);
        let ax = w
            .site_accounts(site)
            .find(|ax| {
                let a = w.account(*ax);
                a.kind == AccountType::Atlassian
                    && !a.org_admin
                    && w.has_jira_access(*ax, site)
                    && w.has_product_access(*ax, rx(w, Product::Confluence))
                    && a.groups.iter().all(|gx| !w.group(*gx).external)
            })
            .expect("a Jira and Confluence user");
        let kept: BTreeSet<GroupIx> = w
            .account(ax)
            .groups
            .iter()
            .copied()
            .filter(|gx| !w.group(*gx).roles.iter().any(|(r, _)| jira.contains(r)))
            .collect();
        (w.account(ax).id.clone(), kept)
    });
    // Confluence held directly (not only through a group that also grants Jira) must survive.
    env.sim.app().write(|w| {
        let ax = w.account_ix(&id).expect("user");
        let conf = rx(w, Product::Confluence);
        w.accounts[ax as usize]
            .direct_roles
            .insert((conf, Role::User));
    });
    let (status, body) = send(jira(
        &env,
        Method::DELETE,
        &format!("/rest/api/3/user?accountId={id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    env.read(|w| {
        let site = site_ix(w);
        let ax = w.account_ix(&id).expect("the Atlassian account stays");
        assert!(!w.has_jira_access(ax, site), "no Jira-family access left");
        assert!(
            w.jira_resources(site)
                .iter()
                .all(|r| !w.role_assignments(ax).keys().any(|(x, _)| x == r))
        );
        assert!(
            w.has_product_access(ax, rx(w, Product::Confluence)),
            "Confluence access stays"
        );
        assert_eq!(w.account(ax).status, AccountStatus::Active);
        assert!(
            w.account(ax)
                .directories
                .contains_key(&w.directory_of_site(site))
        );
        let groups: BTreeSet<GroupIx> = w.account(ax).groups.iter().copied().collect();
        assert_eq!(
            groups, kept_groups,
            "only the groups that grant Jira were left"
        );
        assert!(w.site(site).projects.iter().all(|p| {
            p.role_actors
                .values()
                .all(|a| !a.contains(&atlassian_sim::state::Actor::User(ax)))
        }));
    });
    let (_, user) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user?accountId={id}&expand=applicationRoles"),
    ))
    .await;
    assert_eq!(user["applicationRoles"]["items"], json!([]));

    let (status, body) = send(jira(
        &env,
        Method::DELETE,
        "/rest/api/3/user?accountId=nobody",
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_collection(&body);
    let (status, _) = send(jira(&env, Method::DELETE, "/rest/api/3/user")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    env.finish().await;
}

// ---- groups -----------------------------------------------------------------------------------------

#[tokio::test]
async fn groups_can_be_created_filled_emptied_and_deleted() {
    let env = TestEnv::start().await;
    let (status, group) =
        send(jira(&env, Method::POST, "/rest/api/3/group").json(&json!({"name": "power-users"})))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["name"], json!("power-users"));
    let gid = group["groupId"].as_str().expect("groupId").to_owned();
    assert!(
        group["self"]
            .as_str()
            .expect("self")
            .ends_with(&format!("/rest/api/3/group?groupId={gid}"))
    );
    let (status, body) =
        send(jira(&env, Method::POST, "/rest/api/3/group").json(&json!({"name": "Power-Users"})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the name is taken");
    assert_error_collection(&body);

    let member = env.read(|w| {
        w.account(without_access(w, rx(w, Product::JiraSoftware))[0])
            .id
            .clone()
    });
    let (status, group) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={gid}"),
        )
        .json(&json!({"accountId": member})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["users"]["size"], json!(1));
    let (status, page) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/group/member?groupId={gid}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account_ids(&page["values"]), vec![member.clone()]);
    assert_eq!(
        (page["total"].clone(), page["isLast"].clone()),
        (json!(1), json!(true))
    );
    // By name too (the deprecated groupname parameter).
    let (status, page) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/member?groupname=power-users",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], json!(1));

    let (status, body) = send(jira(
        &env,
        Method::DELETE,
        &format!("/rest/api/3/group/user?groupId={gid}&accountId={member}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/group/member?groupId={gid}"),
    ))
    .await;
    assert_eq!(page["values"], json!([]));
    assert_eq!(page["isLast"], json!(true));

    // Delete, with a swap group.
    let swap = env.read(|w| w.group(group_named(w, "engineering")).id.clone());
    let (status, _) = send(jira(
        &env,
        Method::DELETE,
        &format!("/rest/api/3/group?groupId={gid}&swapGroupId={swap}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(env.read(|w| w.group_ix(&gid).is_err()));
    let (status, body) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/group/member?groupId={gid}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_collection(&body);

    // Default and admin groups cannot be deleted.
    let default = env.read(|w| {
        w.group(group_named(w, "jira-software-users-acme"))
            .id
            .clone()
    });
    let (status, body) = send(jira(
        &env,
        Method::DELETE,
        &format!("/rest/api/3/group?groupId={default}"),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    let (status, _) = send(jira(&env, Method::DELETE, "/rest/api/3/group")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "groupId or groupname is needed"
    );
    let (status, _) = send(jira(
        &env,
        Method::DELETE,
        "/rest/api/3/group?groupId=no-such-group",
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.finish().await;
}

#[tokio::test]
async fn group_add_in_jira_shows_in_the_org_model_and_back() {
    let env = TestEnv::start().await;
    let (gid, jsw) = env.read(|w| {
        (
            w.group(group_named(w, "jira-software-users-acme"))
                .id
                .clone(),
            rx(w, Product::JiraSoftware),
        )
    });
    let member = env.read(|w| w.account(without_access(w, jsw)[0]).id.clone());
    let (status, _) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={gid}"),
        )
        .json(&json!({"accountId": member})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    env.read(|w| {
        let ax = w.account_ix(&member).expect("member");
        let gx = w.group_ix(&gid).expect("group");
        assert!(
            w.group(gx).members.contains(&ax),
            "the Org model has the membership"
        );
        assert!(
            w.has_product_access(ax, jsw),
            "the group's role reaches the member"
        );
        assert!(
            w.events.iter().any(|e| e.action == "user_added_to_group"
                && e.context.iter().any(|(id, _)| *id == member))
        );
    });

    // Vice versa: a membership made through the model shows in Jira.
    let other = env.read(|w| without_access(w, jsw)[0]);
    let engineering = env.read(|w| group_named(w, "engineering"));
    let (other_id, in_engineering) = env.read(|w| {
        (
            w.account(other).id.clone(),
            w.group(engineering).members.contains(&other),
        )
    });
    let actor = env.read(World::integration_account);
    if !in_engineering {
        env.sim
            .app()
            .write(|w| w.add_member(actor, engineering, other))
            .expect("model add");
    }
    let eng_id = env.read(|w| w.group(engineering).id.clone());
    let mut found = vec![];
    let mut start = 0;
    loop {
        let (status, page) = send(jira(
            &env,
            Method::GET,
            &format!("/rest/api/3/group/member?groupId={eng_id}&includeInactiveUsers=true&startAt={start}"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        found.extend(account_ids(&page["values"]));
        if page["isLast"] == json!(true) {
            break;
        }
        start += 50;
    }
    assert!(found.contains(&other_id));
    env.finish().await;
}

#[tokio::test]
async fn group_member_pages_hold_at_most_fifty() {
    let env = TestEnv::start().await;
    let actor = env.read(World::integration_account);
    let (gx, members) = env.sim.app().write(|w| {
        let site = site_ix(w);
        let dir = w.directory_of_site(site);
        let gx = w
            .create_group(actor, dir, "everyone-big", "")
            .expect("group");
        let people: Vec<AccountIx> = w
            .site_accounts(site)
            .filter(|ax| w.account(*ax).kind == AccountType::Atlassian)
            .collect();
        for ax in &people {
            w.add_member(actor, gx, *ax).expect("member");
        }
        (gx, people)
    });
    assert!(
        members.len() > 50,
        "enough members for two pages ({})",
        members.len()
    );
    let gid = env.read(|w| w.group(gx).id.clone());
    let expected: BTreeSet<String> =
        env.read(|w| members.iter().map(|ax| w.account(*ax).id.clone()).collect());

    let (status, first) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/group/member?groupId={gid}&includeInactiveUsers=true&maxResults=500"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        first["maxResults"],
        json!(50),
        "the page size is capped at 50"
    );
    assert_eq!(first["values"].as_array().map(Vec::len), Some(50));
    assert_eq!(first["total"], json!(members.len()));
    assert_eq!(first["isLast"], json!(false));
    let next = first["nextPage"].as_str().expect("nextPage").to_owned();
    assert!(next.contains("startAt=50"), "{next}");
    let info = env.sim.info().sites[0].clone();
    let (status, second) = send(
        env.http
            .get(&next)
            .basic_auth(&info.email, Some(&info.api_token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["isLast"], json!(true));
    assert!(second.get("nextPage").is_none());
    let mut all: Vec<String> = account_ids(&first["values"]);
    all.extend(account_ids(&second["values"]));
    assert_eq!(all.len(), members.len(), "no repeats across pages");
    assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let names: Vec<String> = first["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|u| u["displayName"].as_str().expect("name").to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "members are ordered by name");

    // Inactive members are left out unless asked for.
    let active = env.read(|w| {
        members
            .iter()
            .filter(|ax| w.active_on_site(**ax, site_ix(w)))
            .count()
    });
    let (_, page) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/group/member?groupId={gid}&maxResults=1"),
    ))
    .await;
    assert_eq!(page["total"], json!(active));
    // Past the end.
    let (_, page) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/group/member?groupId={gid}&startAt=1000"),
    ))
    .await;
    assert_eq!(page["values"], json!([]));
    assert_eq!(page["isLast"], json!(true));
    // Neither groupId nor groupname.
    let (status, body) = send(jira(&env, Method::GET, "/rest/api/3/group/member")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    env.finish().await;
}

#[tokio::test]
async fn group_bulk_filters_by_id_name_access_and_application() {
    let env = TestEnv::start().await;
    let (all, jsw_granting, admin_groups) = env.read(|w| {
        let site = site_ix(w);
        let dir = w.directory_of_site(site);
        let jsw = rx(w, Product::JiraSoftware);
        let all: BTreeSet<String> = w
            .live_groups()
            .filter(|(_, g)| g.directory == dir)
            .map(|(_, g)| g.id.clone())
            .collect();
        let granting: BTreeSet<String> = w
            .live_groups()
            .filter(|(_, g)| g.directory == dir && g.roles.contains(&(jsw, Role::User)))
            .map(|(_, g)| g.id.clone())
            .collect();
        let platform = w.site_resource(site, Product::Platform).expect("platform");
        let admins: BTreeSet<String> = w
            .live_groups()
            .filter(|(_, g)| g.directory == dir && g.roles.contains(&(platform, Role::SiteAdmin)))
            .map(|(_, g)| g.id.clone())
            .collect();
        (all, granting, admins)
    });
    let collect = |pages: Vec<Value>| -> BTreeSet<String> {
        pages
            .iter()
            .flat_map(|p| p["values"].as_array().cloned().unwrap_or_default())
            .map(|g| g["groupId"].as_str().expect("groupId").to_owned())
            .collect()
    };
    // Every group, five a page.
    let mut pages = vec![];
    let mut start = 0;
    loop {
        let (status, page) = send(jira(
            &env,
            Method::GET,
            &format!("/rest/api/3/group/bulk?startAt={start}&maxResults=5"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], json!(all.len()));
        let last = page["isLast"] == json!(true);
        pages.push(page);
        if last {
            break;
        }
        start += 5;
    }
    assert_eq!(
        pages
            .iter()
            .map(|p| p["values"].as_array().map_or(0, Vec::len))
            .sum::<usize>(),
        all.len()
    );
    assert_eq!(collect(pages), all);

    let (_, page) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/bulk?accessType=user&applicationKey=jira-software",
    ))
    .await;
    assert_eq!(collect(vec![page]), jsw_granting);
    let (_, page) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/bulk?accessType=site-admin",
    ))
    .await;
    assert_eq!(collect(vec![page]), admin_groups);
    let (_, page) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/bulk?applicationKey=jira-core",
    ))
    .await;
    assert_eq!(
        page["values"],
        json!([]),
        "no jira-core on the simulated sites"
    );
    let (_, page) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/bulk?groupName=ENGINEERING&groupName=sales",
    ))
    .await;
    let names: BTreeSet<&str> = page["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(["engineering", "sales"]));
    let (status, body) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/bulk?accessType=owner",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    env.finish().await;
}

#[tokio::test]
async fn synced_groups_customers_and_non_admins_are_refused() {
    let env = TestEnv::start().await;
    let (okta, person, customer) = env.read(|w| {
        let site = site_ix(w);
        let okta = w
            .live_groups()
            .find(|(_, g)| g.external)
            .map(|(_, g)| g.id.clone())
            .expect("an IdP-synced group");
        let person = w
            .account(without_access(w, rx(w, Product::JiraSoftware))[0])
            .id
            .clone();
        let customer = w
            .site_accounts(site)
            .find(|ax| w.account(*ax).kind == AccountType::Customer)
            .map(|ax| w.account(ax).id.clone())
            .expect("a portal-only customer");
        (okta, person, customer)
    });
    let (status, body) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={okta}"),
        )
        .json(&json!({"accountId": person})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "IdP-synced groups change only in the IdP"
    );
    assert_error_collection(&body);
    let engineering = env.read(|w| w.group(group_named(w, "engineering")).id.clone());
    let (status, body) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={engineering}"),
        )
        .json(&json!({"accountId": customer})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "portal-only customers cannot join groups"
    );
    assert_error_collection(&body);
    let (status, _) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={engineering}"),
        )
        .json(&json!({"accountId": "nobody"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={engineering}"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"].get("accountId").is_some());

    // Without site admin, writes are refused with 403.
    env.sim.app().write(|w| {
        let me = w.integration_account();
        w.accounts[me as usize].org_admin = false;
        let admin_groups: Vec<GroupIx> = w
            .account(me)
            .groups
            .iter()
            .copied()
            .filter(|gx| {
                w.group(*gx)
                    .roles
                    .iter()
                    .any(|(_, r)| *r == Role::SiteAdmin)
            })
            .collect();
        for gx in admin_groups {
            w.groups[gx as usize].members.remove(&me);
            w.accounts[me as usize].groups.remove(&gx);
        }
        let direct: Vec<(ResourceIx, Role)> = w
            .account(me)
            .direct_roles
            .iter()
            .copied()
            .filter(|(_, r)| *r == Role::SiteAdmin)
            .collect();
        for key in direct {
            w.accounts[me as usize].direct_roles.remove(&key);
        }
    });
    let (status, body) =
        send(jira(&env, Method::POST, "/rest/api/3/group").json(&json!({"name": "not-allowed"})))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error_collection(&body);
    let (status, _) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "z@acme.com", "products": []})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.finish().await;
}

// ---- application roles ------------------------------------------------------------------------------

#[tokio::test]
async fn application_roles_count_roles_granted_through_the_org_model() {
    let env = TestEnv::start().await;
    let (status, roles) = send(jira(&env, Method::GET, "/rest/api/3/applicationrole")).await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&str> = roles
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        vec![
            "jira-software",
            "jira-servicedesk",
            "jira-product-discovery"
        ]
    );
    let jpd = roles.as_array().expect("array")[2].clone();
    assert_eq!(jpd["platform"], json!(false));
    assert_eq!(
        jpd["defaultGroups"],
        json!(["jira-product-discovery-users-acme"])
    );
    let before = jpd["userCount"].as_i64().expect("userCount");
    assert_eq!(
        before,
        env.read(|w| i64::from(w.seats_used(rx(w, Product::JiraProductDiscovery))))
    );
    assert_eq!(
        jpd["remainingSeats"].as_i64(),
        jpd["numberOfSeats"].as_i64().map(|s| s - before)
    );

    // A direct grant made through the Org model counts and shows in the user's roles.
    let (who, id) = env.read(|w| {
        let ax = without_access(w, rx(w, Product::JiraProductDiscovery))[0];
        (ax, w.account(ax).id.clone())
    });
    let actor = env.read(World::integration_account);
    env.sim
        .app()
        .write(|w| {
            let r = rx(w, Product::JiraProductDiscovery);
            w.grant_role(actor, who, r, Role::User)
        })
        .expect("grant");
    let (_, jpd) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/applicationrole/jira-product-discovery",
    ))
    .await;
    assert_eq!(jpd["userCount"].as_i64(), Some(before + 1));
    let (_, user) = send(jira(
        &env,
        Method::GET,
        &format!("/rest/api/3/user?accountId={id}&expand=applicationRoles"),
    ))
    .await;
    assert!(
        user["applicationRoles"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|r| r["key"] == json!("jira-product-discovery")),
        "{user}"
    );

    // A group granted a role through the model appears in the role's groups.
    let (group, group_name) = env.sim.app().write(|w| {
        let dir = w.directory_of_site(site_ix(w));
        let gx = w
            .create_group(actor, dir, "jpd-creators", "")
            .expect("group");
        let r = rx(w, Product::JiraProductDiscovery);
        w.grant_group_role(actor, gx, r, Role::User)
            .expect("group grant");
        (w.group(gx).id.clone(), w.group(gx).name.clone())
    });
    let (_, jpd) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/applicationrole/jira-product-discovery",
    ))
    .await;
    assert!(
        jpd["groups"]
            .as_array()
            .expect("groups")
            .contains(&json!(group_name))
    );
    assert!(
        jpd["groupDetails"]
            .as_array()
            .expect("details")
            .iter()
            .any(|g| g["groupId"] == json!(group))
    );

    for key in ["jira-core", "confluence", "nothing"] {
        let (status, body) = send(jira(
            &env,
            Method::GET,
            &format!("/rest/api/3/applicationrole/{key}"),
        ))
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{key}");
        assert_error_collection(&body);
    }
    env.finish().await;
}

#[tokio::test]
async fn original_mode_default_group_membership_grants_the_app() {
    let env = TestEnv::start_with(SimConfig {
        mode: Mode::Original,
        ..Default::default()
    })
    .await;
    let (gid, jsw, person) = env.read(|w| {
        let jsw = rx(w, Product::JiraSoftware);
        let person = w.account(without_access(w, jsw)[0]).id.clone();
        (
            w.group(group_named(w, "jira-software-users-acme"))
                .id
                .clone(),
            jsw,
            person,
        )
    });
    let (_, before) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/applicationrole/jira-software",
    ))
    .await;
    assert_eq!(before["defaultGroups"], json!(["jira-software-users-acme"]));
    let (status, _) = send(
        jira(
            &env,
            Method::POST,
            &format!("/rest/api/3/group/user?groupId={gid}"),
        )
        .json(&json!({"accountId": person})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(env.read(|w| w.has_product_access(w.account_ix(&person).expect("person"), jsw)));
    let (_, after) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/applicationrole/jira-software",
    ))
    .await;
    assert_eq!(
        after["userCount"].as_i64(),
        before["userCount"].as_i64().map(|n| n + 1)
    );

    // Creating a user puts them in the product's default group (no direct role).
    let (status, user) =
        send(jira(&env, Method::POST, "/rest/api/3/user").json(
            &json!({"emailAddress": "original.hire@acme.com", "products": ["jira-software"]}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    env.read(|w| {
        let ax = w
            .account_by_email("original.hire@acme.com")
            .expect("created");
        let gx = w.group_ix(&gid).expect("default group");
        assert!(w.group(gx).members.contains(&ax));
        assert!(w.account(ax).direct_roles.is_empty());
        assert!(w.has_product_access(ax, jsw));
    });

    // Removing the user from Jira takes them out of the default group again.
    let id = user["accountId"].as_str().expect("id").to_owned();
    let (status, _) = send(jira(
        &env,
        Method::DELETE,
        &format!("/rest/api/3/user?accountId={id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    env.read(|w| {
        let ax = w.account_ix(&id).expect("account stays");
        assert!(
            !w.group(w.group_ix(&gid).expect("group"))
                .members
                .contains(&ax)
        );
        assert!(!w.has_product_access(ax, jsw));
    });
    env.finish().await;
}

// ---- project roles ------------------------------------------------------------------------------------

#[tokio::test]
async fn project_role_actors_can_be_added_and_removed() {
    let env = TestEnv::start().await;
    let (status, roles) = send(jira(&env, Method::GET, "/rest/api/3/role")).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = roles
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Administrators") && names.contains(&"Member"),
        "{names:?}"
    );

    let (status, map) = send(jira(&env, Method::GET, "/rest/api/3/project/ENG/role")).await;
    assert_eq!(status, StatusCode::OK);
    let member_url = map["Member"].as_str().expect("Member role URL").to_owned();
    assert!(
        member_url.ends_with("/rest/api/3/project/ENG/role/10001"),
        "{member_url}"
    );
    let (status, by_id) = send(jira(&env, Method::GET, "/rest/api/3/project/10000/role")).await;
    assert_eq!(status, StatusCode::OK, "projects are found by id too");
    assert_eq!(by_id, map);

    let (status, role) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/project/ENG/role/10001",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(role["id"], json!(10001));
    let actors = role["actors"].as_array().expect("actors").clone();
    assert!(
        actors
            .iter()
            .any(|a| a["type"] == json!("atlassian-group-role-actor")
                && a["actorGroup"]["groupId"].is_string())
    );
    assert!(
        actors
            .iter()
            .any(|a| a["type"] == json!("atlassian-user-role-actor")
                && a["actorUser"]["accountId"].is_string())
    );

    let (person, group) = env.read(|w| {
        let site = site_ix(w);
        let project = w
            .site(site)
            .projects
            .iter()
            .find(|p| p.key == "ENG")
            .expect("ENG");
        let current = project.role_actors.get(&10001).cloned().unwrap_or_default();
        let person = w
            .site_accounts(site)
            .find(|ax| {
                w.account(*ax).kind == AccountType::Atlassian
                    && w.active_on_site(*ax, site)
                    && !current.contains(&atlassian_sim::state::Actor::User(*ax))
            })
            .expect("someone not in the role");
        let group = w
            .live_groups()
            .find(|(gx, g)| {
                g.directory == w.directory_of_site(site)
                    && !current.contains(&atlassian_sim::state::Actor::Group(*gx))
            })
            .map(|(_, g)| g.id.clone())
            .expect("a group not in the role");
        (w.account(person).id.clone(), group)
    });
    let path = "/rest/api/3/project/ENG/role/10001";
    let (status, role) =
        send(jira(&env, Method::POST, path).json(&json!({"user": [person]}))).await;
    assert_eq!(status, StatusCode::OK, "{role}");
    assert!(
        role["actors"]
            .as_array()
            .expect("actors")
            .iter()
            .any(|a| a["actorUser"]["accountId"] == json!(person))
    );
    let (status, body) =
        send(jira(&env, Method::POST, path).json(&json!({"user": [person]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "already a member");
    assert_error_collection(&body);
    let (status, role) =
        send(jira(&env, Method::POST, path).json(&json!({"groupId": [group]}))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        role["actors"]
            .as_array()
            .expect("actors")
            .iter()
            .any(|a| a["actorGroup"]["groupId"] == json!(group))
    );
    let in_model = env.read(|w| {
        let site = site_ix(w);
        let ax = w.account_ix(&person).expect("person");
        w.site(site)
            .projects
            .iter()
            .find(|p| p.key == "ENG")
            .expect("ENG")
            .role_actors[&10001]
            .contains(&atlassian_sim::state::Actor::User(ax))
    });
    assert!(in_model);

    let (status, _) = send(jira(&env, Method::DELETE, &format!("{path}?user={person}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(jira(
        &env,
        Method::DELETE,
        &format!("{path}?groupId={group}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, role) = send(jira(&env, Method::GET, path)).await;
    assert!(
        role["actors"]
            .as_array()
            .expect("actors")
            .iter()
            .all(|a| a["actorUser"]["accountId"] != json!(person))
    );
    let (status, body) = send(jira(&env, Method::DELETE, &format!("{path}?user={person}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer an actor");
    assert_error_collection(&body);

    // Unknown project, role, user; bad bodies.
    for (method, p) in [
        (Method::GET, "/rest/api/3/project/NOPE/role"),
        (Method::GET, "/rest/api/3/project/ENG/role/424242"),
        (Method::GET, "/rest/api/3/project/ENG/role/abc"),
    ] {
        let (status, body) = send(jira(&env, method, p)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{p}");
        assert_error_collection(&body);
    }
    let (status, _) = send(jira(&env, Method::POST, path).json(&json!({"user": ["nobody"]}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) =
        send(jira(&env, Method::POST, path).json(&json!({"user": "not-a-list"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    let (status, _) = send(jira(&env, Method::DELETE, path)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // project/search finds the seeded projects.
    let (status, page) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/project/search?maxResults=2",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["values"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["isLast"], json!(false));
    let total = env.read(|w| w.site(site_ix(w)).projects.len());
    assert_eq!(page["total"], json!(total));
    env.finish().await;
}

// ---- credentials and bad input --------------------------------------------------------------------------

#[tokio::test]
async fn wrong_credentials_are_refused_and_the_gateway_takes_the_bearer_token() {
    let env = TestEnv::start().await;
    let info = env.sim.info().clone();
    let site = &info.sites[0];
    let url = format!("{}/rest/api/3/user/search?query=a", site.base_url);

    let (status, body) = send(
        env.http
            .get(&url)
            .basic_auth(&site.email, Some("wrong-token")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_collection(&body);
    let (status, _) = send(env.http.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no credentials");
    let (status, body) = send(env.http.get(&url).bearer_auth(&info.admin_api_key)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the org API key does not work on a site"
    );
    assert_error_collection(&body);

    let gateway = format!(
        "{}/ex/jira/{}/rest/api/3/user/search?query=a",
        info.admin_base_url, site.cloud_id
    );
    let (status, found) = send(env.http.get(&gateway).bearer_auth(&site.api_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(found.is_array());
    let (status, _) = send(env.http.get(&gateway).bearer_auth("not-the-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    env.finish().await;
}

#[tokio::test]
async fn bad_input_answers_the_error_collection() {
    let env = TestEnv::start().await;
    let (status, body) = send(
        jira(&env, Method::POST, "/rest/api/3/group")
            .header("Content-Type", "application/json")
            .body("{\"name\": "),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    assert!(
        !body["errorMessages"][0]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    let (status, body) =
        send(jira(&env, Method::POST, "/rest/api/3/group").json(&json!({"name": 7}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);
    let (status, body) = send(
        jira(&env, Method::POST, "/rest/api/3/user")
            .json(&json!({"emailAddress": "a@acme.com", "products": "jira-software"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"].get("products").is_some(), "{body}");
    let (status, body) = send(jira(&env, Method::POST, "/rest/api/3/group").json(&json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"].get("name").is_some());
    let (status, body) = send(jira(
        &env,
        Method::GET,
        "/rest/api/3/group/member?groupId=x&includeInactiveUsers=maybe",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_collection(&body);

    // An oversized body: 413 in the same shape (the spec declares no 413; left out of the check).
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(6 * 1024 * 1024));
    let (status, body) = send(
        jira(&env, Method::POST, "/rest/api/3/group")
            .header("Content-Type", "application/json")
            .body(big),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error_collection(&body);
    forget(&env, |e| e.status == 413);
    env.finish().await;
}
