//! Statuspage through `/statuspage/v1`: pages, team members (1-based pages, JSON and
//! form-encoded creation), page permissions, auth by header and by `?api_key=`.

// Test helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::expect_used)]

use atlassian_sim::state::{AccountIx, Role, World};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn org_id(env: &TestEnv) -> String {
    env.sim.info().statuspage.organization_id.clone()
}

fn users_path(env: &TestEnv) -> String {
    format!("/v1/organizations/{}/users", org_id(env))
}

/// A form-encoded body (`application/x-www-form-urlencoded`).
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn assert_error(body: &Value) {
    assert!(body["message"].is_string(), "ErrorEntity expected: {body}");
}

/// Team member emails as the model has them.
fn team_emails(w: &World) -> Vec<String> {
    w.statuspage_team()
        .iter()
        .map(|ax| w.account(*ax).email.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn pages_are_listed_and_read_by_id() {
    let env = TestEnv::start().await;
    let (status, pages) = json_of(
        env.statuspage(Method::GET, "/v1/pages")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pages = pages.as_array().expect("a bare array").clone();
    assert_eq!(pages.len(), env.read(|w| w.statuspage.pages.len()));
    let id = pages[0]["id"].as_str().expect("id");
    assert_eq!(id.len(), 12);
    let (status, page) = json_of(
        env.statuspage(Method::GET, &format!("/v1/pages/{id}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["name"], pages[0]["name"]);
    let (status, body) = json_of(
        env.statuspage(Method::GET, "/v1/pages/nope12345678")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body);
    env.finish().await;
}

#[tokio::test]
async fn api_key_works_in_the_query_and_a_wrong_key_is_401() {
    let env = TestEnv::start().await;
    let sp = env.sim.info().statuspage.clone();
    let resp = env
        .http
        .get(format!("{}/v1/pages?api_key={}", sp.base_url, sp.api_key))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    for req in [
        env.http
            .get(format!("{}/v1/pages", sp.base_url))
            .header("Authorization", "OAuth wrong-key"),
        env.http
            .get(format!("{}/v1/pages?api_key=wrong", sp.base_url)),
        env.http.get(format!("{}/v1/pages", sp.base_url)),
    ] {
        let (status, body) = json_of(req.send().await.expect("send")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_error(&body);
    }
    env.finish().await;
}

#[tokio::test]
async fn team_members_page_from_one_with_at_most_one_hundred() {
    let env = TestEnv::start().await;
    let expected = env.read(|w| {
        let mut e = team_emails(w);
        e.sort();
        e
    });
    assert!(expected.len() >= 3, "the seed has a Statuspage team");
    let mut got = vec![];
    let mut page = 1;
    loop {
        let (status, body) = json_of(
            env.statuspage(
                Method::GET,
                &format!("{}?page={page}&per_page=2", users_path(&env)),
            )
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let items = body.as_array().expect("a bare array");
        assert!(items.len() <= 2);
        for u in items {
            assert_eq!(u["organization_id"], org_id(&env).as_str());
            got.push(u["email"].as_str().expect("email").to_owned());
        }
        if items.len() < 2 {
            break;
        }
        page += 1;
    }
    assert_eq!(page, expected.len() / 2 + 1);
    got.sort();
    assert_eq!(got, expected);

    // page=0 is page 1; a page past the end is empty.
    let (_, first) = json_of(
        env.statuspage(
            Method::GET,
            &format!("{}?page=0&per_page=1", users_path(&env)),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    let (_, one) = json_of(
        env.statuspage(
            Method::GET,
            &format!("{}?page=1&per_page=1", users_path(&env)),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(first, one);
    let (_, past) = json_of(
        env.statuspage(
            Method::GET,
            &format!("{}?page=99&per_page=100", users_path(&env)),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(past, json!([]));

    // per_page is capped at 100: grow the team past it through the model.
    env.sim.app().write(|w| {
        let rx = w.statuspage_resource().expect("statuspage");
        w.resources[rx as usize].seats = None;
        let actor = w.integration_account();
        for i in 0..(105 - expected.len()) {
            w.add_statuspage_member(actor, &format!("oncall{i}@acme.com"), None, None)
                .expect("added");
        }
    });
    let (status, big) = json_of(
        env.statuspage(Method::GET, &format!("{}?per_page=500", users_path(&env)))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(big.as_array().expect("array").len(), 100);
    let (_, rest) = json_of(
        env.statuspage(
            Method::GET,
            &format!("{}?page=2&per_page=500", users_path(&env)),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(rest.as_array().expect("array").len(), 5);
    let (_, default) = json_of(
        env.statuspage(Method::GET, &users_path(&env))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(default.as_array().expect("array").len(), 100);
    env.finish().await;
}

#[tokio::test]
async fn users_are_created_from_json_or_form_and_duplicates_are_422() {
    let env = TestEnv::start().await;
    let (status, user) = json_of(
        env.statuspage(Method::POST, &users_path(&env))
            .json(&json!({"user": {"email": "Ops.Lead@acme.com", "password": "x", "first_name": "Ops", "last_name": "Lead"}}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["email"], "ops.lead@acme.com");
    assert_eq!(user["first_name"], "Ops");
    assert_eq!(user["organization_id"], org_id(&env).as_str());
    assert_eq!(user["id"].as_str().expect("id").len(), 12);
    env.read(|w| {
        let ax = w
            .account_by_email("ops.lead@acme.com")
            .expect("account created");
        let rx = w.statuspage_resource().expect("statuspage");
        assert!(w.holds(ax, rx, Role::User));
        assert!(w.is_statuspage_member(ax));
    });

    let resp = env
        .statuspage(Method::POST, &users_path(&env))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("user[email]", "night.shift@acme.com"),
            ("user[first_name]", "Night"),
            ("user[last_name]", "Shift"),
        ]))
        .send()
        .await
        .expect("send");
    let (status, form_user) = json_of(resp).await;
    assert_eq!(status, StatusCode::CREATED, "{form_user}");
    assert_eq!(form_user["last_name"], "Shift");

    // Listed among the team members.
    let (_, list) = json_of(
        env.statuspage(Method::GET, &format!("{}?per_page=100", users_path(&env)))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .any(|u| u["id"] == user["id"])
    );

    for (body, ctype) in [
        (
            json!({"user": {"email": "ops.lead@acme.com"}}).to_string(),
            "application/json",
        ),
        (
            json!({"user": {"first_name": "No Email"}}).to_string(),
            "application/json",
        ),
        (
            json!({"user": {"email": "not an email"}}).to_string(),
            "application/json",
        ),
        (
            json!({"user": {"email": 42}}).to_string(),
            "application/json",
        ),
        ("{broken".to_owned(), "application/json"),
        // Content type and body disagree: the body is not understood.
        (
            json!({"user": {"email": "x@acme.com"}}).to_string(),
            "application/x-www-form-urlencoded",
        ),
        ("user[email]=y@acme.com".to_owned(), "text/plain"),
    ] {
        let (status, err) = json_of(
            env.statuspage(Method::POST, &users_path(&env))
                .header("content-type", ctype)
                .body(body.clone())
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} ({ctype}): {err}"
        );
        assert_error(&err);
    }
    env.finish().await;
}

#[tokio::test]
async fn deleting_a_user_returns_it_and_removes_statuspage_access() {
    let env = TestEnv::start().await;
    // A seeded member (most hold the role through the statuspage-users default group).
    let (user_id, ax) = env.read(|w| {
        let ax = *w
            .statuspage_team()
            .iter()
            .find(|ax| w.statuspage_granting_groups(**ax).is_empty())
            .expect("a member");
        (w.statuspage.members[&ax].id.clone(), ax)
    });
    let path = format!("{}/{user_id}", users_path(&env));
    let (status, deleted) = json_of(
        env.statuspage(Method::DELETE, &path)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["id"], user_id.as_str());
    env.read(|w: &World| {
        let rx = w.statuspage_resource().expect("statuspage");
        assert!(!w.holds(ax, rx, Role::User) && !w.holds(ax, rx, Role::Admin));
        assert!(!w.is_statuspage_member(ax));
    });
    let (status, body) = json_of(
        env.statuspage(Method::DELETE, &path)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body);
    let (status, _) = json_of(
        env.statuspage(
            Method::GET,
            &format!("/v1/organizations/{}/permissions/{user_id}", org_id(&env)),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.finish().await;
}

#[tokio::test]
async fn put_permissions_replaces_the_whole_set() {
    let env = TestEnv::start().await;
    let (user_id, rbac_page, plain_page) = env.read(|w| {
        let rbac = w
            .statuspage
            .pages
            .iter()
            .find(|p| p.rbac)
            .expect("an RBAC page")
            .id
            .clone();
        let plain = w
            .statuspage
            .pages
            .iter()
            .find(|p| !p.rbac)
            .expect("a plain page")
            .id
            .clone();
        let ax = *w
            .statuspage_team()
            .iter()
            .find(|ax| w.statuspage.members[*ax].pages.len() >= 2)
            .expect("a member with two pages");
        (w.statuspage.members[&ax].id.clone(), rbac, plain)
    });
    let path = format!("/v1/organizations/{}/permissions/{user_id}", org_id(&env));
    let (status, before) = json_of(
        env.statuspage(Method::GET, &path)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before["data"]["user_id"], user_id.as_str());
    assert_eq!(before["data"]["pages"][&plain_page], json!({}));
    assert!(before["data"]["pages"][&rbac_page]["incident_manager"].is_boolean());

    // Only the RBAC page: the plain page is lost.
    let (status, after) = json_of(
        env.statuspage(Method::PUT, &path)
            .json(&json!({"pages": {rbac_page.clone(): {"page_configuration": false, "incident_manager": true, "maintenance_manager": false}}}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let pages = after["data"]["pages"].as_object().expect("pages");
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[&rbac_page],
        json!({"page_configuration": false, "incident_manager": true, "maintenance_manager": false})
    );
    let (_, again) = json_of(
        env.statuspage(Method::GET, &path)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(again, after);

    // Form-encoded, with the plain page mapped to an empty value.
    let resp = env
        .statuspage(Method::PUT, &path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            (&format!("pages[{rbac_page}][page_configuration]"), "true"),
            (&format!("pages[{plain_page}]"), ""),
        ]))
        .send()
        .await
        .expect("send");
    let (status, form) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(form["data"]["pages"][&plain_page], json!({}));
    assert_eq!(
        form["data"]["pages"][&rbac_page]["page_configuration"],
        true
    );
    assert_eq!(form["data"]["pages"][&rbac_page]["incident_manager"], false);

    for bad in [
        json!({"pages": {"nosuchpage01": {}}}),
        json!({"pages": {rbac_page.clone(): {"incident_manager": "maybe"}}}),
        json!({"pages": []}),
        json!({}),
    ] {
        let (status, body) = json_of(
            env.statuspage(Method::PUT, &path)
                .json(&bad)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_error(&body);
    }
    let (status, body) = json_of(
        env.statuspage(Method::PUT, &path)
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body);
    env.finish().await;
}

#[tokio::test]
async fn unknown_organization_or_user_is_404() {
    let env = TestEnv::start().await;
    for (method, path) in [
        (
            Method::GET,
            "/v1/organizations/wrongorg1234/users".to_owned(),
        ),
        (
            Method::GET,
            format!(
                "/v1/organizations/{}/permissions/nobody123456",
                org_id(&env)
            ),
        ),
        (
            Method::DELETE,
            format!("/v1/organizations/{}/users/nobody123456", org_id(&env)),
        ),
        (
            Method::DELETE,
            "/v1/organizations/wrongorg1234/users/nobody123456".to_owned(),
        ),
    ] {
        let (status, body) = json_of(
            env.statuspage(method.clone(), &path)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_error(&body);
    }
    let (status, body) = json_of(
        env.statuspage(Method::POST, "/v1/organizations/wrongorg1234/users")
            .json(&json!({"user": {"email": "a@acme.com"}}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body);
    env.finish().await;
}

#[tokio::test]
async fn a_statuspage_role_granted_elsewhere_makes_a_team_member() {
    let env = TestEnv::start().await;
    // Someone in the org without Statuspage access gets atlassian/user as the Org API grants it.
    let (ax, email): (AccountIx, String) = env.sim.app().write(|w| {
        let rx = w.statuspage_resource().expect("statuspage");
        w.resources[rx as usize].seats = None;
        let ax = (0..w.accounts.len() as AccountIx)
            .find(|ax| {
                w.is_managed(*ax)
                    && w.composite_status(*ax) == "active"
                    && !w.holds_statuspage_role(*ax)
                    && !w.statuspage.members.contains_key(ax)
            })
            .expect("someone without Statuspage");
        let actor = w.integration_account();
        w.grant_role(actor, ax, rx, Role::User).expect("granted");
        (ax, w.account(ax).email.clone().expect("email"))
    });
    let (status, list) = json_of(
        env.statuspage(Method::GET, &format!("{}?per_page=100", users_path(&env)))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let user = list
        .as_array()
        .expect("array")
        .iter()
        .find(|u| u["email"] == email.as_str())
        .expect("listed")
        .clone();
    assert!(env.read(|w| w.is_statuspage_member(ax)));
    let (status, perms) = json_of(
        env.statuspage(
            Method::GET,
            &format!(
                "/v1/organizations/{}/permissions/{}",
                org_id(&env),
                user["id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        perms["data"]["pages"],
        json!({}),
        "no page access until set in Statuspage"
    );

    // Revoked elsewhere: no longer a member.
    env.sim.app().write(|w| {
        let rx = w.statuspage_resource().expect("statuspage");
        let actor = w.integration_account();
        w.revoke_role(actor, ax, rx, Role::User).expect("revoked");
    });
    let (_, list) = json_of(
        env.statuspage(Method::GET, &format!("{}?per_page=100", users_path(&env)))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert!(
        !list
            .as_array()
            .expect("array")
            .iter()
            .any(|u| u["email"] == email.as_str())
    );
    env.finish().await;
}

#[tokio::test]
async fn original_user_management_grants_statuspage_through_the_default_group() {
    let env = TestEnv::start_with(atlassian_sim::SimConfig {
        mode: atlassian_sim::state::Mode::Original,
        ..Default::default()
    })
    .await;
    let (status, user) = json_of(
        env.statuspage(Method::POST, &users_path(&env))
            .json(&json!({"user": {"email": "pager@acme.com"}}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let ax = env.read(|w| {
        let ax = w.account_by_email("pager@acme.com").expect("account");
        let rx = w.statuspage_resource().expect("statuspage");
        let gx = w
            .live_groups()
            .find(|(_, g)| g.default_for == Some((rx, Role::User)))
            .map(|(gx, _)| gx)
            .expect("statuspage-users");
        assert!(
            w.group(gx).members.contains(&ax),
            "access through the default group"
        );
        ax
    });
    let (status, deleted) = json_of(
        env.statuspage(
            Method::DELETE,
            &format!("{}/{}", users_path(&env), user["id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    env.read(|w| assert!(!w.holds_statuspage_role(ax)));
    env.finish().await;
}
