//! Org API orgs, directories, workspaces and the audit log through HTTP.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use atlassian_sim::state::{AccountStatus, AccountType, Membership, Product};
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

/// The current time in epoch milliseconds, strictly after every event so far and before every
/// later one (event times have millisecond precision).
async fn after_a_tick() -> i64 {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let now = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    now
}

fn assert_all_before(page: &Value, ms: i64) {
    for e in page["data"].as_array().expect("data") {
        let time =
            chrono::DateTime::parse_from_rfc3339(e["attributes"]["time"].as_str().expect("time"))
                .expect("ISO time");
        assert!(time.timestamp_millis() < ms, "{e}");
    }
}

#[tokio::test]
async fn orgs_are_listed_and_fetched_with_full_url_links() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    let api = env.sim.info().admin_base_url.clone();

    let (status, page) = send(env.org(Method::GET, "/admin/v1/orgs")).await;
    assert_eq!(status, StatusCode::OK);
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 1);
    assert_eq!(
        (data[0]["id"].as_str(), data[0]["type"].as_str()),
        (Some(org.as_str()), Some("orgs"))
    );
    assert_eq!(
        data[0]["attributes"]["name"],
        json!(env.read(|w| w.org.name.clone()))
    );
    assert_eq!(
        data[0]["links"]["self"],
        json!(format!("{api}/admin/v1/orgs/{org}"))
    );
    assert_eq!(page["links"]["self"], json!(format!("{api}/admin/v1/orgs")));

    let (status, one) = send(env.org(Method::GET, &format!("/admin/v1/orgs/{org}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        one["data"]["relationships"]["users"]["links"]["related"],
        json!(format!("{api}/admin/v1/orgs/{org}/users"))
    );
    assert_eq!(one["data"], data[0]);

    let (status, err) = send(env.org(Method::GET, "/admin/v1/orgs/not-this-org")).await;
    assert_eq!(
        (status, err["errors"][0]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ADMIN-404-2"))
    );
    let (status, _) = send(env.org(Method::GET, "/admin/v1/orgs?cursor=garbage")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    env.finish().await;
}

#[tokio::test]
async fn directories_are_listed_and_filtered() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    let (directories, member) = env.read(|w| {
        let dirs: BTreeSet<String> = w.directories.iter().map(|d| d.id.clone()).collect();
        let member = w
            .accounts
            .iter()
            .find(|a| a.directories.contains_key(&0))
            .map(|a| a.id.clone())
            .expect("a member");
        (dirs, member)
    });
    let (status, page) =
        send(env.org(Method::GET, &format!("/admin/v2/orgs/{org}/directories"))).await;
    assert_eq!(status, StatusCode::OK);
    let got: BTreeSet<String> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| d["directoryId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, directories);
    assert!(page["links"].get("next").is_none());

    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v2/orgs/{org}/directories?accountId={member}"),
    ))
    .await;
    let first = env.read(|w| w.directories[0].id.clone());
    assert!(
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|d| d["directoryId"] == json!(first))
    );
    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v2/orgs/{org}/directories?searchTerm=zzzz-nothing"),
    ))
    .await;
    assert_eq!(page["data"], json!([]));

    let (status, err) = send(env.org(Method::GET, "/admin/v2/orgs/someone-else/directories")).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    env.finish().await;
}

#[tokio::test]
async fn workspaces_list_every_product_with_its_host_url() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    let path = format!("/admin/v2/orgs/{org}/workspaces");
    let info = env.sim.info().clone();
    let expected: Vec<(String, Option<String>, &'static str)> = env.read(|w| {
        w.resources
            .iter()
            .filter(|r| r.product != Product::Platform)
            .map(|r| {
                (
                    r.ari(),
                    r.site.map(|s| w.site(s).name.clone()),
                    r.product.key(),
                )
            })
            .collect()
    });

    let mut seen = vec![];
    let mut body = json!({"limit": 2});
    let mut pages = 0;
    loop {
        let (status, page) = send(env.org(Method::POST, &path).json(&body)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        assert_eq!(page["meta"]["total"], json!(expected.len()));
        assert_eq!(page["meta"]["pageSize"], json!(2));
        let data = page["data"].as_array().expect("data");
        if let Some(start) = page["meta"]["startIndex"].as_u64() {
            assert_eq!(start as usize, seen.len());
            assert_eq!(
                page["meta"]["endIndex"].as_u64(),
                Some(start + data.len() as u64 - 1)
            );
        }
        seen.extend(data.iter().cloned());
        match page["links"]["next"].as_str() {
            Some(next) => body = json!({"cursor": next}),
            None => break,
        }
    }
    assert_eq!(pages, expected.len().div_ceil(2));
    assert_eq!(seen.len(), expected.len());
    for (ari, site, key) in &expected {
        let ws = seen
            .iter()
            .find(|w| w["id"] == json!(ari))
            .unwrap_or_else(|| panic!("{ari} is listed"));
        assert_eq!(ws["attributes"]["typeKey"], json!(key));
        let host = match site {
            Some(name) => info
                .sites
                .iter()
                .find(|s| &s.name == name)
                .map(|s| s.base_url.clone())
                .expect("site info"),
            None => info.statuspage.base_url.clone(),
        };
        assert_eq!(ws["attributes"]["hostUrl"], json!(host), "{ws}");
        assert_eq!(ws["attributes"]["status"], json!("online"));
    }

    // Filters: a field operand on the type key.
    let (_, page) = send(env.org(Method::POST, &path).json(
        &json!({"query": {"field": {"name": "attributes.typeKey", "values": ["confluence"]}}}),
    ))
    .await;
    let confluence = expected
        .iter()
        .filter(|(_, _, k)| *k == "confluence")
        .count();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(confluence));
    // An empty body is the first page.
    let (status, page) = send(env.org(Method::POST, &path)).await;
    assert_eq!(
        (status, page["meta"]["pageSize"].as_u64()),
        (StatusCode::OK, Some(20))
    );

    // Cursor-only paging; errors are the unwrapped ApplicationError.
    let (_, first) = send(env.org(Method::POST, &path).json(&json!({"limit": 1}))).await;
    let next = first["links"]["next"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    for bad in [
        json!({"cursor": next, "limit": 5}),
        json!({"cursor": "garbage"}),
        json!({"limit": 0}),
        json!({"query": {"field": {"name": "attributes.colour", "values": ["red"]}}}),
        json!({"limit": "many"}),
    ] {
        let (status, err) = send(env.org(Method::POST, &path).json(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            err.get("errors").is_none()
                && err["code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("ADMIN-400")),
            "{err}"
        );
        assert_eq!(err["status"], json!("400"));
    }
    let (status, err) = send(
        env.org(Method::POST, &path)
            .header("Content-Type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ADMIN-400-24"))
    );
    let (status, err) = send(
        env.org(Method::POST, "/admin/v2/orgs/other/workspaces")
            .json(&json!({})),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ADMIN-404-2"))
    );
    let (status, _) = send(env.org_scoped(Method::POST, &path).json(&json!({}))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a read-only key may list workspaces"
    );
    env.finish().await;
}

/// A new plain group and a directory member who is not in it.
fn joinable(env: &TestEnv) -> (String, String, u32, u32) {
    env.sim.app().write(|w| {
        let actor = w.integration_account();
        let gx = w
            .create_group(actor, 0, "audit-trail", "")
            .expect("the group is created");
        let ax = (0..w.accounts.len() as u32)
            .find(|ax| {
                let a = w.account(*ax);
                a.kind == AccountType::Atlassian
                    && a.status == AccountStatus::Active
                    && a.directories.get(&0) == Some(&Membership::Active)
            })
            .expect("someone to add");
        (w.group(gx).id.clone(), w.account(ax).id.clone(), gx, ax)
    })
}

#[tokio::test]
async fn every_change_shows_in_events_and_the_stream() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    let (group, account, gx, ax) = joinable(&env);
    let start = after_a_tick().await;

    // A change made by a site API (the model op a Jira group add uses, with the site's actor).
    let site_actor = env.read(|w| w.integration_account());
    let added = env
        .sim
        .app()
        .write(|w| w.add_member(site_actor, gx, ax))
        .expect("the add is allowed");
    assert!(added);
    // A change through the Org API.
    let dir = env.read(|w| w.directories[0].id.clone());
    let (status, _) = send(env.org(
        Method::DELETE,
        &format!("/admin/v2/orgs/{org}/directories/{dir}/groups/{group}/memberships/{account}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // /events: newest first, filtered by action.
    let (status, page) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{org}/events?action=user_added_to_group&from={start}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["data"].as_array().expect("data");
    assert_eq!(events.len(), 1, "{page}");
    let event = &events[0];
    assert_eq!(event["type"], json!("events"));
    assert_eq!(event["attributes"]["action"], json!("user_added_to_group"));
    assert_eq!(
        event["attributes"]["actor"]["id"],
        json!(env.sim.info().integration_account_id)
    );
    let context: BTreeSet<(String, String)> = event["attributes"]["context"]
        .as_array()
        .expect("context")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(context.contains(&(account.clone(), "users".to_owned())));
    assert!(context.contains(&(group.clone(), "groups".to_owned())));

    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{org}/events?from={start}&limit=1"),
    ))
    .await;
    assert_eq!(
        page["data"][0]["attributes"]["action"],
        json!("user_removed_from_group"),
        "newest first"
    );
    let next = page["links"]["next"].as_str().expect("a next page link");
    assert!(next.starts_with(&env.sim.info().admin_base_url) && next.contains("cursor="));
    let cursor = page["meta"]["next"].as_str().expect("meta.next").to_owned();
    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{org}/events?cursor={cursor}"),
    ))
    .await;
    assert_eq!(
        page["data"][0]["attributes"]["action"],
        json!("user_added_to_group")
    );
    assert!(
        page["links"].get("next").is_none() && page["meta"].get("next").is_none(),
        "{page}"
    );

    // Other filters.
    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{org}/events?q={account}&from={start}"),
    ))
    .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{org}/events?from={start}&product=confluence"),
    ))
    .await;
    assert_eq!(page["data"], json!([]));
    let (_, page) = send(env.org(
        Method::GET,
        &format!(
            "/admin/v1/orgs/{org}/events?from={start}&ip=203.0.113.10&actor={}",
            env.sim.info().integration_account_id
        ),
    ))
    .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let location = r#"[{"city":"Sydney","countryName":"Australia"}]"#;
    let (_, page) = send(
        env.org(Method::GET, &format!("/admin/v1/orgs/{org}/events"))
            .query(&[("from", start.to_string().as_str()), ("location", location)]),
    )
    .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let (_, page) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{org}/events?to={}", start - 1),
    ))
    .await;
    assert!(
        !page["data"].as_array().expect("data").is_empty(),
        "the seeded history is older"
    );
    assert_all_before(&page, start);

    // One event by id.
    let id = event["id"].as_str().expect("id");
    let (status, one) =
        send(env.org(Method::GET, &format!("/admin/v1/orgs/{org}/events/{id}"))).await;
    assert_eq!((status, &one["data"]["id"]), (StatusCode::OK, &json!(id)));
    let (status, err) =
        send(env.org(Method::GET, &format!("/admin/v1/orgs/{org}/events/nope"))).await;
    assert_eq!(
        (status, err["errors"][0]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ADMIN-404-4"))
    );

    // The event actions include what the model records.
    let (_, actions) =
        send(env.org(Method::GET, &format!("/admin/v1/orgs/{org}/event-actions"))).await;
    let keys: BTreeSet<&str> = actions["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(keys.contains("user_added_to_group") && keys.contains("group_created"));
    env.finish().await;
}

#[tokio::test]
async fn the_stream_pages_by_time_and_polls_for_new_events() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    let stream = format!("/admin/v1/orgs/{org}/events-stream");
    let start = after_a_tick().await;
    let dir = env.read(|w| w.directories[0].id.clone());
    for name in ["stream-a", "stream-b", "stream-c"] {
        let (status, _) = send(
            env.org(
                Method::POST,
                &format!("/admin/v2/orgs/{org}/directories/{dir}/groups"),
            )
            .json(&json!({"name": name})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let names = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|e| {
                e["attributes"]["context"][0]["attributes"]["groupName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };

    // Ascending, one per page, from the start time; every page carries processedAt.
    let mut got = vec![];
    let (status, mut page) =
        send(env.org(Method::GET, &format!("{stream}?from={start}&limit=1"))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    loop {
        assert!(
            page["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|e| e["attributes"]["processedAt"].is_string())
        );
        let batch = names(&page);
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
        let cursor = page["meta"]["next"]
            .as_str()
            .expect("ascending pages always have a next cursor")
            .to_owned();
        assert!(
            page["links"]["next"]
                .as_str()
                .is_some_and(|l| l.contains(&cursor))
        );
        page = send(env.org(Method::GET, &format!("{stream}?cursor={cursor}")))
            .await
            .1;
    }
    assert_eq!(got, ["stream-a", "stream-b", "stream-c"]);

    // Polling from the last cursor finds a change made afterwards.
    let cursor = page["meta"]["next"]
        .as_str()
        .expect("the last page keeps a cursor")
        .to_owned();
    let (status, _) = send(
        env.org(
            Method::POST,
            &format!("/admin/v2/orgs/{org}/directories/{dir}/groups"),
        )
        .json(&json!({"name": "stream-d"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, page) = send(env.org(Method::GET, &format!("{stream}?cursor={cursor}"))).await;
    assert_eq!(names(&page), ["stream-d"]);

    // Descending and bounded by `to`.
    let (_, page) = send(env.org(
        Method::GET,
        &format!("{stream}?from={start}&sortOrder=desc&limit=500"),
    ))
    .await;
    assert_eq!(
        names(&page),
        ["stream-d", "stream-c", "stream-b", "stream-a"]
    );
    assert!(page["meta"].get("next").is_none());
    let (_, page) =
        send(env.org(Method::GET, &format!("{stream}?to={}&limit=500", start - 1))).await;
    assert_all_before(&page, start);
    let (_, page) = send(env.org(Method::GET, &format!("{stream}?limit=100000"))).await;
    assert!(page["data"].as_array().expect("data").len() <= 500);
    assert_eq!(page["meta"]["page_size"], json!(500));

    // Bad input.
    for query in [
        "from=yesterday",
        "sortOrder=sideways",
        "cursor=garbage",
        "limit=0",
        &format!("from={start}&to=1"),
    ] {
        let (status, err) = send(env.org(Method::GET, &format!("{stream}?{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            err["errors"][0]["code"]
                .as_str()
                .is_some_and(|c| c.starts_with("ADMIN-400-")),
            "{err}"
        );
    }
    let (status, err) = send(env.org(Method::GET, "/admin/v1/orgs/other/events-stream")).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    let (status, _) = send(
        env.http
            .get(format!("{}{stream}", env.sim.info().admin_base_url)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    env.finish().await;
}
