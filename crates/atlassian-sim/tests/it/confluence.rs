//! Confluence v1 and v2 through the site routes: groups (shared with Jira and the Org API),
//! users, user search, classic space permissions, spaces, bulk users, access checks and invites.

// Test helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::expect_used)]

use atlassian_sim::state::ops::PermissionRule;
use atlassian_sim::state::{AccountIx, AccountType, Actor, Product, Role, World};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn site_ix(env: &TestEnv) -> u16 {
    let name = env.site_name();
    env.read(|w| w.site_by_name(&name).expect("site"))
}

fn account_id(w: &World, ax: AccountIx) -> String {
    w.account(ax).id.clone()
}

/// A v1 error body: `{statusCode, data:{…}, message}`.
fn assert_v1_error(body: &Value, status: u16) {
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(body["data"]["successful"], false, "{body}");
}

/// A v2 error body: `{errors:[{status, code, title, detail}]}`.
fn assert_v2_error(body: &Value, status: u16) {
    assert_eq!(body["errors"][0]["status"], status, "{body}");
    assert!(body["errors"][0]["code"].is_string(), "{body}");
}

/// Follows v1 `_links.next` (relative to `/wiki`) from `first`, returning every result.
async fn walk_v1(env: &TestEnv, site: &str, first: &str) -> (Vec<Value>, usize) {
    let mut results = vec![];
    let mut pages = 0;
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let (status, body) = json_of(
            env.site(Method::GET, site, &path)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        pages += 1;
        results.extend(body["results"].as_array().expect("results").iter().cloned());
        next = body["_links"]["next"].as_str().map(|n| format!("/wiki{n}"));
        assert!(pages < 100, "paging does not end");
    }
    (results, pages)
}

/// Follows v2 `_links.next` from `first`, checking the `Link` header on every page with a next.
async fn walk_v2(env: &TestEnv, site: &str, first: &str) -> (Vec<Value>, usize) {
    let mut results = vec![];
    let mut pages = 0;
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let resp = env
            .site(Method::GET, site, &path)
            .send()
            .await
            .expect("send");
        let link = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let (status, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        pages += 1;
        results.extend(body["results"].as_array().expect("results").iter().cloned());
        next = body["_links"]["next"].as_str().map(str::to_owned);
        match &next {
            Some(n) => {
                let link = link.expect("a Link header while a next page exists");
                assert!(link.contains(&format!("<{n}>; rel=\"next\"")), "{link}");
                assert!(
                    n.starts_with("/wiki/api/v2/") && n.contains("cursor="),
                    "{n}"
                );
            }
            None => assert!(link.is_none()),
        }
        assert!(
            body["_links"]["base"]
                .as_str()
                .expect("base")
                .ends_with("/wiki")
        );
        assert!(pages < 100, "paging does not end");
    }
    (results, pages)
}

#[tokio::test]
async fn group_created_in_confluence_is_the_site_group_jira_and_the_org_see() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let resp = env
        .site(Method::POST, &site, "/wiki/rest/api/group")
        .json(&json!({"name": "wiki-gardeners"}))
        .send()
        .await
        .expect("send");
    let (status, group) = json_of(resp).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["type"], "group");
    assert_eq!(group["name"], "wiki-gardeners");
    let id = group["id"].as_str().expect("id").to_owned();

    // One model: the group is the site directory's group, which Jira and the Org API list.
    let s = site_ix(&env);
    env.read(|w| {
        let gx = w.group_ix(&id).expect("group in the model");
        assert_eq!(w.group(gx).name, "wiki-gardeners");
        assert_eq!(w.group(gx).directory, w.directory_of_site(s));
        assert!(w.events.iter().any(|e| e.action == "group_created"));
    });

    let (status, got) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/group/by-id?id={id}"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["name"], "wiki-gardeners");

    let (status, picked) = json_of(
        env.site(
            Method::GET,
            &site,
            "/wiki/rest/api/group/picker?query=GARDEN",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(picked["results"].as_array().expect("results").len(), 1);
    assert_eq!(picked["results"][0]["id"], id.as_str());

    // Names are unique: a second create is a 400 in the v1 shape.
    let (status, dup) = json_of(
        env.site(Method::POST, &site, "/wiki/rest/api/group")
            .json(&json!({"name": "Wiki-Gardeners"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&dup, 400);

    let resp = env
        .site(
            Method::DELETE,
            &site,
            &format!("/wiki/rest/api/group/by-id?id={id}"),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(env.read(|w| w.group_ix(&id).is_err()));
    let (status, gone) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/group/by-id?id={id}"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&gone, 404);
    env.finish().await;
}

#[tokio::test]
async fn default_groups_cannot_be_deleted_and_bad_group_input_is_refused() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let default_id = env.read(|w| {
        w.live_groups()
            .find(|(_, g)| g.default_for.is_some())
            .map(|(_, g)| g.id.clone())
            .expect("a default group")
    });
    let (status, body) = json_of(
        env.site(
            Method::DELETE,
            &site,
            &format!("/wiki/rest/api/group/by-id?id={default_id}"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);

    let (status, body) = json_of(
        env.site(Method::DELETE, &site, "/wiki/rest/api/group/by-id")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing id");
    assert_v1_error(&body, 400);

    let (status, body) = json_of(
        env.site(
            Method::DELETE,
            &site,
            "/wiki/rest/api/group/by-id?id=no-such-group",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&body, 404);

    for bad in [r#"{"name": 7}"#, "{not json", r#"{"title":"x"}"#] {
        let (status, body) = json_of(
            env.site(Method::POST, &site, "/wiki/rest/api/group")
                .header("content-type", "application/json")
                .body(bad)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_v1_error(&body, 400);
    }

    // Wrong credentials: 401 in the v1 shape.
    let base = &env.sim.info().sites[0].base_url;
    let (status, body) = json_of(
        env.http
            .post(format!("{base}/wiki/rest/api/group"))
            .basic_auth("steward-integration@acme.com", Some("wrong"))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_v1_error(&body, 401);
    env.finish().await;
}

#[tokio::test]
async fn groups_list_alphabetically_in_pages_and_filter_by_access_type() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    let expected: Vec<String> = env.read(|w| {
        let dir = w.directory_of_site(s);
        let mut names: Vec<String> = w
            .live_groups()
            .filter(|(_, g)| g.directory == dir)
            .map(|(_, g)| g.name.clone())
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        names
    });
    let (results, pages) = walk_v1(&env, &site, "/wiki/rest/api/group?limit=7").await;
    let names: Vec<String> = results
        .iter()
        .map(|g| g["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, expected);
    assert_eq!(pages, expected.len().div_ceil(7));

    // Past the end: an empty page without next.
    let (status, body) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/group?start={}", expected.len() + 5),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["size"], 0);
    assert!(body["_links"]["next"].is_null());

    // A limit above 200 is capped.
    let (_, body) = json_of(
        env.site(Method::GET, &site, "/wiki/rest/api/group?limit=5000")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(body["limit"], 200);

    let (status, admins) = json_of(
        env.site(Method::GET, &site, "/wiki/rest/api/group?accessType=admin")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let admin_names: Vec<&str> = admins["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    let expected_admins = env.read(|w| {
        let rx = w.site_resource(s, Product::Confluence).expect("confluence");
        w.live_groups()
            .filter(|(_, g)| {
                g.roles.contains(&(rx, Role::Admin)) || g.default_for == Some((rx, Role::Admin))
            })
            .count()
    });
    assert!(expected_admins > 0);
    assert_eq!(admin_names.len(), expected_admins, "{admins}");
    env.finish().await;
}

#[tokio::test]
async fn members_by_group_id_pages_and_membership_changes_reach_the_model() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    // The biggest group of the site.
    let (group_id, members) = env.read(|w| {
        let dir = w.directory_of_site(s);
        let (_, g) = w
            .live_groups()
            .filter(|(_, g)| g.directory == dir)
            .max_by_key(|(_, g)| g.members.len())
            .expect("a group");
        (
            g.id.clone(),
            g.members
                .iter()
                .map(|ax| w.account(*ax).id.clone())
                .collect::<Vec<_>>(),
        )
    });
    assert!(
        members.len() >= 4,
        "the seed has a group with several members"
    );
    let (results, pages) = walk_v1(
        &env,
        &site,
        &format!("/wiki/rest/api/group/{group_id}/membersByGroupId?limit=3"),
    )
    .await;
    assert_eq!(pages, members.len().div_ceil(3));
    let mut got: Vec<String> = results
        .iter()
        .map(|u| u["accountId"].as_str().expect("id").to_owned())
        .collect();
    let mut want = members.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(results[0]["type"], "known");

    let (status, body) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/group/{group_id}/membersByGroupId?limit=201"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "limit over 200");
    assert_v1_error(&body, 400);

    // Add someone who is on the site but not in the group, then remove them again.
    let (outsider, outsider_ix) = env.read(|w| {
        let gx = w.group_ix(&group_id).expect("group");
        let ax = w
            .site_accounts(s)
            .find(|ax| {
                w.account(*ax).kind == AccountType::Atlassian && !w.group(gx).members.contains(ax)
            })
            .expect("an outsider");
        (account_id(w, ax), ax)
    });
    let resp = env
        .site(
            Method::POST,
            &site,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={group_id}"),
        )
        .json(&json!({"accountId": outsider}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(env.read(|w| {
        w.group(w.group_ix(&group_id).expect("g"))
            .members
            .contains(&outsider_ix)
    }));

    let (status, memberof) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/user/memberof?accountId={outsider}&limit=200"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        memberof["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|g| g["id"] == group_id.as_str())
    );

    let remove =
        format!("/wiki/rest/api/group/userByGroupId?groupId={group_id}&accountId={outsider}");
    let resp = env
        .site(Method::DELETE, &site, &remove)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(!env.read(|w| {
        w.group(w.group_ix(&group_id).expect("g"))
            .members
            .contains(&outsider_ix)
    }));
    // Removing a non-member is still 204.
    let resp = env
        .site(Method::DELETE, &site, &remove)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    // Bad input: unknown group, unknown account, malformed body.
    let (status, body) = json_of(
        env.site(
            Method::POST,
            &site,
            "/wiki/rest/api/group/userByGroupId?groupId=nope",
        )
        .json(&json!({"accountId": outsider}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&body, 404);
    let (status, body) = json_of(
        env.site(
            Method::POST,
            &site,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={group_id}"),
        )
        .json(&json!({"accountId": "557058:nobody"}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);
    let (status, body) = json_of(
        env.site(
            Method::POST,
            &site,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={group_id}"),
        )
        .json(&json!({"accountId": 12}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);
    let (status, body) = json_of(
        env.site(
            Method::DELETE,
            &site,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={group_id}&accountId=nobody"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&body, 404);
    env.finish().await;
}

#[tokio::test]
async fn idp_synced_groups_refuse_membership_changes() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    let Some((group_id, account)) = env.read(|w| {
        let dir = w.directory_of_site(s);
        let (gx, g) = w
            .live_groups()
            .find(|(_, g)| g.external && g.directory == dir)?;
        let ax = w.site_accounts(s).find(|ax| {
            w.account(*ax).kind == AccountType::Atlassian && !w.group(gx).members.contains(ax)
        })?;
        Some((g.id.clone(), account_id(w, ax)))
    }) else {
        env.finish().await;
        return;
    };
    let (status, body) = json_of(
        env.site(
            Method::POST,
            &site,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={group_id}"),
        )
        .json(&json!({"accountId": account}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_v1_error(&body, 403);
    env.finish().await;
}

#[tokio::test]
async fn users_are_looked_up_and_searched_with_cql() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    let integration = env.sim.info().integration_account_id.clone();

    let (status, me) = json_of(
        env.site(Method::GET, &site, "/wiki/rest/api/user/current")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["accountId"], integration.as_str());
    assert_eq!(me["email"], "steward-integration@acme.com");

    let (status, user) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/user?accountId={integration}"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["displayName"], "Steward Integration");
    assert_eq!(user["accountType"], "atlassian");

    let (status, body) = json_of(
        env.site(
            Method::GET,
            &site,
            "/wiki/rest/api/user?accountId=557058:nobody",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&body, 404);

    // Licensed Confluence users, walked with start/limit until no next.
    let expected = env.read(|w| {
        let rx = w.site_resource(s, Product::Confluence).expect("confluence");
        w.site_accounts(s)
            .filter(|ax| w.account(*ax).kind != AccountType::Customer)
            .filter(|ax| w.holds(*ax, rx, Role::User) || w.holds(*ax, rx, Role::Admin))
            .count()
    });
    let (results, _) = walk_v1(
        &env,
        &site,
        "/wiki/rest/api/search/user?cql=type%3Duser&limit=10",
    )
    .await;
    assert_eq!(results.len(), expected);
    assert!(
        results
            .iter()
            .all(|r| r["entityType"] == "user" && r["user"]["accountId"].is_string())
    );

    // Narrowed by name; and the bulk lookup.
    let name = results[0]["user"]["displayName"]
        .as_str()
        .expect("name")
        .to_owned();
    let first = name.split(' ').next().expect("first").to_owned();
    let (status, narrowed) = json_of(
        env.site(Method::GET, &site, "/wiki/rest/api/search/user")
            .query(&[("cql", format!("type=user AND user.fullname ~ \"{first}\""))])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lower = first.to_lowercase();
    assert!(
        narrowed["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["title"]
                .as_str()
                .expect("t")
                .to_lowercase()
                .contains(&lower))
    );
    assert!(narrowed["totalSize"].as_u64().expect("total") >= 1);

    let ids: Vec<String> = results
        .iter()
        .take(3)
        .map(|r| r["user"]["accountId"].as_str().expect("id").to_owned())
        .collect();
    let (status, bulk) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!(
                "/wiki/rest/api/user/bulk?accountId={},nobody",
                ids.join(",")
            ),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<&str> = bulk["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|u| u["accountId"].as_str())
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());

    let (status, body) = json_of(
        env.site(
            Method::GET,
            &site,
            "/wiki/rest/api/search/user?cql=type%3Dpage",
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);
    env.finish().await;
}

#[tokio::test]
async fn space_permission_is_added_refused_when_duplicate_and_deleted() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    // Someone on the site without any permission in ENG.
    let (space_id, newcomer, newcomer_ix) = env.read(|w| {
        let space = w.space_by_key(s, "ENG").expect("ENG");
        let sp = &w.site(s).spaces[space];
        let ax = w
            .site_accounts(s)
            .find(|ax| {
                w.account(*ax).kind == AccountType::Atlassian
                    && !sp
                        .permissions
                        .iter()
                        .any(|p| p.principal == Actor::User(*ax))
            })
            .expect("a newcomer");
        (sp.id, account_id(w, ax), ax)
    });
    let url = "/wiki/rest/api/space/ENG/permission";
    let grant = |key: &str, target: &str| json!({"subject": {"type": "user", "identifier": newcomer}, "operation": {"key": key, "target": target}});

    // Creating pages needs 'read space' first.
    let (status, body) = json_of(
        env.site(Method::POST, &site, url)
            .json(&grant("create", "page"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_v1_error(&body, 400);

    let (status, perm) = json_of(
        env.site(Method::POST, &site, url)
            .json(&grant("read", "space"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{perm}");
    assert_eq!(perm["subject"]["identifier"], newcomer.as_str());
    assert_eq!(perm["operation"]["key"], "read");
    let id = perm["id"].as_u64().expect("numeric id");
    assert!(env.read(|w| {
        let sp = &w.site(s).spaces[w.space_by_key(s, "ENG").expect("ENG")];
        sp.permissions
            .iter()
            .any(|p| p.id == id && p.principal == Actor::User(newcomer_ix))
    }));

    let (status, body) = json_of(
        env.site(Method::POST, &site, url)
            .json(&grant("read", "space"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "duplicate: {body}");
    assert_v1_error(&body, 400);

    // The new permission shows in the v2 list.
    let (all, _) = walk_v2(
        &env,
        &site,
        &format!("/wiki/api/v2/spaces/{space_id}/permissions?limit=250"),
    )
    .await;
    assert!(
        all.iter().any(
            |p| p["id"] == id.to_string().as_str() && p["principal"]["id"] == newcomer.as_str()
        )
    );

    let resp = env
        .site(Method::DELETE, &site, &format!("{url}/{id}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, body) = json_of(
        env.site(Method::DELETE, &site, &format!("{url}/{id}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&body, 404);

    // Groups by id (or name); unknown principals, spaces and operations are refused.
    let group = env.read(|w| {
        w.live_groups()
            .find(|(_, g)| g.directory == w.directory_of_site(s) && g.name == "wiki-nobody")
            .map(|(_, g)| g.id.clone())
    });
    assert!(group.is_none());
    let (status, body) = json_of(
        env.site(Method::POST, &site, url)
            .json(&json!({"subject": {"type": "group", "identifier": "wiki-nobody"}, "operation": {"key": "read", "target": "space"}}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);
    let (status, body) = json_of(
        env.site(
            Method::POST,
            &site,
            "/wiki/rest/api/space/NOSUCH/permission",
        )
        .json(&grant("read", "space"))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v1_error(&body, 404);
    let (status, body) = json_of(
        env.site(Method::POST, &site, url)
            .json(&grant("read", "page"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);
    let (status, body) = json_of(
        env.site(Method::POST, &site, url)
            .json(&json!({"subject": {"type": "user"}}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v1_error(&body, 400);

    // The last admin permission of a space cannot go.
    let last_admin = env.read(|w| {
        let sp = &w.site(s).spaces[w.space_by_key(s, "ENG").expect("ENG")];
        let admins: Vec<u64> = sp
            .permissions
            .iter()
            .filter(|p| p.operation == "administer" && p.target == "space")
            .map(|p| p.id)
            .collect();
        (admins.len() == 1).then(|| admins[0])
    });
    if let Some(admin_id) = last_admin {
        let (status, body) = json_of(
            env.site(Method::DELETE, &site, &format!("{url}/{admin_id}"))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_v1_error(&body, 400);
    }
    env.finish().await;
}

#[tokio::test]
async fn space_permissions_page_with_cursors() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    let (space_id, expected) = env.read(|w| {
        let sp = &w.site(s).spaces[w.space_by_key(s, "ENG").expect("ENG")];
        (
            sp.id,
            sp.permissions
                .iter()
                .map(|p| p.id.to_string())
                .collect::<Vec<_>>(),
        )
    });
    assert!(expected.len() > 3);
    let (results, pages) = walk_v2(
        &env,
        &site,
        &format!("/wiki/api/v2/spaces/{space_id}/permissions?limit=2"),
    )
    .await;
    assert_eq!(pages, expected.len().div_ceil(2));
    let got: Vec<String> = results
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(got, expected);
    assert!(
        results
            .iter()
            .all(|p| ["user", "group"].contains(&p["principal"]["type"].as_str().expect("type")))
    );

    // Default page size 25 and an oversized limit capped at 250.
    let (status, body) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/api/v2/spaces/{space_id}/permissions?limit=100000"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["results"].as_array().expect("results").len(),
        expected.len().min(250)
    );

    for (path, want) in [
        (
            format!("/wiki/api/v2/spaces/{space_id}/permissions?cursor=garbage"),
            400,
        ),
        ("/wiki/api/v2/spaces/999999/permissions".to_owned(), 404),
        ("/wiki/api/v2/spaces/abc/permissions".to_owned(), 400),
    ] {
        let (status, body) = json_of(
            env.site(Method::GET, &site, &path)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status.as_u16(), want, "{path}: {body}");
        assert_v2_error(&body, want);
    }
    env.finish().await;
}

#[tokio::test]
async fn spaces_list_in_pages_and_read_by_id() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    let expected: Vec<String> = env.read(|w| {
        let mut spaces: Vec<_> = w
            .site(s)
            .spaces
            .iter()
            .map(|sp| (sp.id, sp.key.clone()))
            .collect();
        spaces.sort();
        spaces.into_iter().map(|(_, k)| k).collect()
    });
    let (results, _) = walk_v2(&env, &site, "/wiki/api/v2/spaces?limit=2").await;
    let keys: Vec<&str> = results.iter().filter_map(|sp| sp["key"].as_str()).collect();
    assert_eq!(
        keys,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );

    let (results, _) = walk_v2(&env, &site, "/wiki/api/v2/spaces?limit=1&type=personal").await;
    assert!(results.iter().all(|sp| sp["type"] == "personal"));
    let (status, body) = json_of(
        env.site(Method::GET, &site, "/wiki/api/v2/spaces?keys=ENG,HR")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"].as_array().expect("results").len(), 2);

    let id = results_first_id(&env, &site).await;
    let (status, space) = json_of(
        env.site(Method::GET, &site, &format!("/wiki/api/v2/spaces/{id}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(space["id"], id.as_str());
    assert!(space["_links"]["base"].is_string());

    let (status, body) = json_of(
        env.site(Method::GET, &site, "/wiki/api/v2/spaces/424242")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_v2_error(&body, 404);
    let (status, body) = json_of(
        env.site(Method::GET, &site, "/wiki/api/v2/spaces?sort=size")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_v2_error(&body, 400);

    let (status, mode) = json_of(
        env.site(Method::GET, &site, "/wiki/api/v2/space-role-mode")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mode["mode"], "PRE_ROLES");

    // Wrong credentials: 401 in the v2 shape.
    let base = &env.sim.info().sites[0].base_url;
    let (status, body) = json_of(
        env.http
            .get(format!("{base}/wiki/api/v2/spaces"))
            .basic_auth("steward-integration@acme.com", Some("nope"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_v2_error(&body, 401);
    env.finish().await;
}

async fn results_first_id(env: &TestEnv, site: &str) -> String {
    let (_, body) = json_of(
        env.site(Method::GET, site, "/wiki/api/v2/spaces?limit=1")
            .send()
            .await
            .expect("send"),
    )
    .await;
    body["results"][0]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn users_bulk_flags_guests_as_external_collaborators() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    // Make a guest through the model (as the Org API would).
    let guest = env.sim.app().write(|w| {
        let rx = w.site_resource(s, Product::Confluence).expect("confluence");
        let actor = w.integration_account();
        let out = w
            .invite(
                actor,
                "pat.partner@partner-agency.example",
                &[PermissionRule {
                    resource: rx,
                    role: Role::Guest,
                }],
                &[],
            )
            .expect("invite");
        w.account(out.account).id.clone()
    });
    let licensed = env.read(|w| {
        let rx = w.site_resource(s, Product::Confluence).expect("confluence");
        let ax = w
            .site_accounts(s)
            .find(|ax| w.has_product_access(*ax, rx))
            .expect("a licensed user");
        account_id(w, ax)
    });
    let (status, body) = json_of(
        env.site(Method::POST, &site, "/wiki/api/v2/users-bulk")
            .json(&json!({"accountIds": [guest, licensed, "557058:nobody"]}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["accountId"], guest.as_str());
    assert_eq!(results[0]["isExternalCollaborator"], true);
    assert_eq!(results[1]["isExternalCollaborator"], false);
    assert_eq!(results[1]["accountStatus"], "active");

    // The v1 user shows the same flag, and the guest search finds them.
    let (_, v1) = json_of(
        env.site(
            Method::GET,
            &site,
            &format!("/wiki/rest/api/user?accountId={guest}"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(v1["isExternalCollaborator"], true);
    let (_, found) = json_of(
        env.site(Method::GET, &site, "/wiki/rest/api/search/user?cql=type%3Duser&sitePermissionTypeFilter=externalCollaborator&limit=100")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert!(
        found["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|r| r["user"]["accountId"] == guest.as_str())
    );

    let too_many: Vec<String> = (0..251).map(|i| format!("id-{i}")).collect();
    for bad in [
        json!({"accountIds": []}),
        json!({"accountIds": too_many}),
        json!({"accountIds": "x"}),
        json!({}),
    ] {
        let (status, body) = json_of(
            env.site(Method::POST, &site, "/wiki/api/v2/users-bulk")
                .json(&bad)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_v2_error(&body, 400);
    }
    env.finish().await;
}

#[tokio::test]
async fn invite_by_email_creates_accounts_with_confluence_access() {
    let env = TestEnv::start().await;
    let site = env.site_name();
    let s = site_ix(&env);
    let licensed = env.read(|w| {
        let rx = w.site_resource(s, Product::Confluence).expect("confluence");
        let ax = w
            .site_accounts(s)
            .find(|ax| w.has_product_access(*ax, rx))
            .expect("a licensed user");
        w.account(ax).email.clone().expect("email")
    });
    let (status, body) = json_of(
        env.site(
            Method::POST,
            &site,
            "/wiki/api/v2/user/access/check-access-by-email",
        )
        .json(&json!({"emails": ["new.writer@acme.com", "not-an-email", licensed]}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["emailsWithoutAccess"], json!(["new.writer@acme.com"]));
    assert_eq!(body["invalidEmails"], json!(["not-an-email"]));

    let resp = env
        .site(
            Method::POST,
            &site,
            "/wiki/api/v2/user/access/invite-by-email",
        )
        .json(&json!({"emails": ["New.Writer@acme.com", "not-an-email"]}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    env.read(|w| {
        let ax = w
            .account_by_email("new.writer@acme.com")
            .expect("account created");
        let rx = w.site_resource(s, Product::Confluence).expect("confluence");
        assert!(w.has_product_access(ax, rx));
        assert_eq!(w.composite_status(ax), "active");
    });

    let (_, body) = json_of(
        env.site(
            Method::POST,
            &site,
            "/wiki/api/v2/user/access/check-access-by-email",
        )
        .json(&json!({"emails": ["new.writer@acme.com"]}))
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(body["emailsWithoutAccess"], json!([]));

    for bad in [
        json!({"emails": []}),
        json!({"emails": [1, 2]}),
        json!({"mails": ["a@b.co"]}),
    ] {
        let (status, body) = json_of(
            env.site(
                Method::POST,
                &site,
                "/wiki/api/v2/user/access/invite-by-email",
            )
            .json(&bad)
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_v2_error(&body, 400);
    }
    env.finish().await;
}

#[tokio::test]
async fn original_user_management_shows_only_the_sites_own_directory() {
    let env = TestEnv::start_with(atlassian_sim::SimConfig {
        mode: atlassian_sim::state::Mode::Original,
        ..Default::default()
    })
    .await;
    let site = env.site_name();
    let s = site_ix(&env);
    let expected = env.read(|w| {
        let dir = w.directory_of_site(s);
        w.live_groups().filter(|(_, g)| g.directory == dir).count()
    });
    let (results, _) = walk_v1(&env, &site, "/wiki/rest/api/group?limit=50").await;
    assert_eq!(results.len(), expected);

    let resp = env
        .site(Method::POST, &site, "/wiki/rest/api/group")
        .json(&json!({"name": "site-local-team"}))
        .send()
        .await
        .expect("send");
    let (status, group) = json_of(resp).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = group["id"].as_str().expect("id").to_owned();
    env.read(|w| {
        let gx = w.group_ix(&id).expect("group");
        assert_eq!(w.group(gx).directory, w.directory_of_site(s));
    });
    env.finish().await;
}

#[tokio::test]
async fn the_api_gateway_serves_confluence_with_a_bearer_token() {
    let env = TestEnv::start().await;
    let info = env.sim.info().clone();
    let site = &info.sites[0];
    let (status, body) = json_of(
        env.http
            .get(format!(
                "{}/ex/confluence/{}/wiki/api/v2/spaces?limit=3",
                info.admin_base_url, site.cloud_id
            ))
            .bearer_auth(&site.api_token)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().expect("results").len(), 3);
    let (status, body) = json_of(
        env.http
            .get(format!(
                "{}/ex/confluence/{}/wiki/rest/api/user/current",
                info.admin_base_url, site.cloud_id
            ))
            .bearer_auth(&site.api_token)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["accountId"], info.integration_account_id.as_str());
    env.finish().await;
}
