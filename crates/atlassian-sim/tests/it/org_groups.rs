//! Org API v2 groups through HTTP: search, list, count, stats, details, create, delete,
//! memberships and group role assignments.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use atlassian_sim::state::{AccountStatus, AccountType, Membership, Product, Role, World};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

fn groups_path(env: &TestEnv, directory: &str) -> String {
    format!(
        "/admin/v2/orgs/{}/directories/{directory}/groups",
        env.org_id()
    )
}

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

fn error_code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

/// The directory id of the org's first directory.
fn first_directory(env: &TestEnv) -> String {
    env.read(|w| w.directories[0].id.clone())
}

/// Follows `links.next` cursors of a group search to the end, returning every item.
async fn search_all(env: &TestEnv, first: Value) -> Vec<Value> {
    let path = format!("{}/search", groups_path(env, "-"));
    let mut items = vec![];
    let mut body = first;
    loop {
        let (status, page) = send(env.org(Method::POST, &path).json(&body)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(
            page["data"]
                .as_array()
                .expect("data is a list")
                .iter()
                .cloned(),
        );
        match page["links"]["next"].as_str() {
            Some(next) => body = json!({"cursor": next}),
            None => break,
        }
    }
    items
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|g| g["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Accounts that could join a group of directory 0 and take a seat on `rx`: active Atlassian
/// accounts with active membership and no access there yet.
fn seat_candidates(w: &World, rx: u16) -> Vec<String> {
    (0..w.accounts.len() as u32)
        .filter(|ax| {
            let a = w.account(*ax);
            a.kind == AccountType::Atlassian
                && a.status == AccountStatus::Active
                && a.delete_after.is_none()
                && a.directories.get(&0) == Some(&Membership::Active)
                && !w.has_product_access(*ax, rx)
        })
        .map(|ax| w.account(ax).id.clone())
        .collect()
}

#[tokio::test]
async fn search_pages_through_every_group_with_counts_and_filters() {
    let env = TestEnv::start().await;
    let expected: BTreeSet<String> =
        env.read(|w| w.live_groups().map(|(_, g)| g.id.clone()).collect());

    let all = search_all(
        &env,
        json!({"limit": 2, "expand": ["counts.users", "counts.resources"]}),
    )
    .await;
    assert_eq!(
        all.len(),
        expected.len(),
        "no group is repeated or skipped across pages"
    );
    assert_eq!(ids(&all), expected);
    for g in &all {
        let (users, resources) = env.read(|w| {
            let gx = w
                .group_ix(g["id"].as_str().unwrap_or_default())
                .expect("group exists");
            let group = w.group(gx);
            (
                group.members.len(),
                group
                    .roles
                    .iter()
                    .map(|(rx, _)| *rx)
                    .collect::<BTreeSet<_>>()
                    .len(),
            )
        });
        assert_eq!(g["counts"]["users"], json!(users), "{g}");
        assert_eq!(g["counts"]["resources"], json!(resources), "{g}");
        assert_eq!(g["managementAccess"]["readable"], json!(true));
    }
    let names: Vec<String> = all
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "groups come sorted by name");

    // Without expand there are no counts; sortBy name desc reverses the order.
    let desc = search_all(
        &env,
        json!({"limit": 100, "sortBy": [{"field": "name", "direction": "desc"}]}),
    )
    .await;
    assert!(desc.iter().all(|g| g.get("counts").is_none()));
    let desc_names: Vec<String> = desc
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    assert_eq!(desc_names, sorted.iter().rev().cloned().collect::<Vec<_>>());

    // searchTerm matches part of the name, case-insensitively.
    let name = env.read(|w| {
        w.live_groups()
            .map(|(_, g)| g.name.clone())
            .next()
            .expect("a group")
    });
    let term = name[..name.len().min(4)].to_uppercase();
    let found = search_all(&env, json!({"searchTerm": term})).await;
    assert!(found.iter().any(|g| g["name"] == json!(name)));
    assert!(found.iter().all(|g| {
        g["name"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase()
            .contains(&term)
    }));

    // accountIds: only groups the account is a member of.
    let (member, member_groups) = env.read(|w| {
        let (_, g) = w
            .live_groups()
            .find(|(_, g)| !g.members.is_empty())
            .expect("a group with members");
        let ax = *g.members.iter().next().expect("a member");
        let groups: BTreeSet<String> = w
            .account(ax)
            .groups
            .iter()
            .map(|gx| w.group(*gx).id.clone())
            .collect();
        (w.account(ax).id.clone(), groups)
    });
    let found = search_all(&env, json!({"accountIds": [member]})).await;
    assert_eq!(ids(&found), member_groups);

    // roleIds + resourceIds: groups granting that role on that resource.
    let (ari, role, granting) = env.read(|w| {
        let (_, g) = w
            .live_groups()
            .find(|(_, g)| !g.roles.is_empty())
            .expect("a group with a role");
        let (rx, role) = *g.roles.iter().next().expect("a role");
        let granting: BTreeSet<String> = w
            .live_groups()
            .filter(|(_, g)| g.roles.contains(&(rx, role)))
            .map(|(_, g)| g.id.clone())
            .collect();
        (w.resource(rx).ari(), role.id(), granting)
    });
    let found = search_all(&env, json!({"roleIds": [role], "resourceIds": [ari]})).await;
    assert_eq!(ids(&found), granting);

    // groupNames is exact (case-insensitive); groupIds picks by id.
    let found = search_all(&env, json!({"groupNames": [name.to_uppercase()]})).await;
    assert_eq!(found.len(), 1);
    let id = found[0]["id"].as_str().unwrap_or_default().to_owned();
    let found = search_all(&env, json!({"groupIds": [id]})).await;
    assert_eq!(found[0]["name"], json!(name));

    // An empty body is the first page of everything.
    let path = format!("{}/search", groups_path(&env, "-"));
    let (status, page) = send(env.org(Method::POST, &path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["data"].as_array().map(Vec::len),
        Some(expected.len().min(20))
    );
    assert!(
        page["links"].get("prev").is_none(),
        "no prev link on the first page"
    );

    env.finish().await;
}

#[tokio::test]
async fn search_refuses_contradictory_filters_and_foreign_cursors() {
    let env = TestEnv::start().await;
    let path = format!("{}/search", groups_path(&env, "-"));
    for body in [
        json!({"groupIds": ["a"], "groupNames": ["b"]}),
        json!({"groupNames": ["b"], "searchTerm": "c"}),
        json!({"expand": ["members"]}),
        json!({"sortBy": [{"field": "id", "direction": "asc"}]}),
        json!({"limit": 0}),
        json!({"accountIds": []}),
        json!({"cursor": "not-a-cursor"}),
        json!({"limit": "ten"}),
    ] {
        let (status, err) = send(env.org(Method::POST, &path).json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {err}");
        assert!(error_code(&err).starts_with("ADMIN-"), "{err}");
    }
    // A cursor from the all-directories search does not work for one directory.
    let (_, page) = send(env.org(Method::POST, &path).json(&json!({"limit": 1}))).await;
    let next = page["links"]["next"]
        .as_str()
        .expect("more than one group")
        .to_owned();
    let one_dir = format!("{}/search", groups_path(&env, &first_directory(&env)));
    let (status, _) = send(
        env.org(Method::POST, &one_dir)
            .json(&json!({"cursor": next})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    env.finish().await;
}

#[tokio::test]
async fn deprecated_list_count_and_stats_agree_with_the_model() {
    let env = TestEnv::start().await;
    let (total, synced) = env.read(|w| {
        (
            w.live_groups().count(),
            w.live_groups().filter(|(_, g)| g.external).count(),
        )
    });

    let mut seen = BTreeSet::new();
    let mut url = format!("{}?limit=3&includeUsers=true", groups_path(&env, "-"));
    loop {
        let (status, page) = send(env.org(Method::GET, &url)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for g in page["data"].as_array().expect("data") {
            assert!(g["counts"]["users"].is_number());
            assert!(g["counts"].get("resources").is_none());
            assert!(seen.insert(g["id"].as_str().unwrap_or_default().to_owned()));
        }
        match page["links"]["next"].as_str() {
            Some(next) => url = format!("{}?cursor={next}", groups_path(&env, "-")),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);

    let (status, count) =
        send(env.org(Method::GET, &format!("{}/count", groups_path(&env, "-")))).await;
    assert_eq!(
        (status, count["count"].as_u64()),
        (StatusCode::OK, Some(total as u64))
    );
    let (_, stats) = send(env.org(
        Method::GET,
        &format!("{}/stats", groups_path(&env, &first_directory(&env))),
    ))
    .await;
    assert_eq!(stats["totals"]["synced"], json!(synced));
    assert_eq!(stats["totals"]["all"], json!(total));

    env.finish().await;
}

#[tokio::test]
async fn created_group_appears_in_search_and_details_and_names_are_unique() {
    let env = TestEnv::start().await;
    let dir = first_directory(&env);
    let (status, created) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "release-managers", "description": "Ship it"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"]
        .as_str()
        .expect("the new group's id")
        .to_owned();

    let (status, details) =
        send(env.org(Method::GET, &format!("{}/{id}", groups_path(&env, "-")))).await;
    assert_eq!(status, StatusCode::OK);
    let g = &details["data"];
    assert_eq!(
        (g["name"].as_str(), g["description"].as_str()),
        (Some("release-managers"), Some("Ship it"))
    );
    assert_eq!(g["directoryId"], json!(dir));
    assert_eq!(
        g["managementAccess"],
        json!({"deletable": true, "modifiable": true, "readable": true})
    );
    assert_eq!(
        (g["externalSynced"].as_bool(), g["managedBy"].as_str()),
        (Some(false), Some("admins"))
    );
    assert_eq!(g["counts"], json!({"users": 0, "resources": 0}));

    let found = search_all(&env, json!({"searchTerm": "release-man"})).await;
    assert_eq!(ids(&found), BTreeSet::from([id.clone()]));

    let (status, err) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "Release-Managers"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["errors"][0]["status"], json!("409"));
    let (status, _) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"description": "no name"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "  "})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert!(env.read(|w| {
        w.events
            .iter()
            .any(|e| e.action == "group_created" && e.context.iter().any(|(c, _)| *c == id))
    }));
    env.finish().await;
}

#[tokio::test]
async fn default_admin_and_synced_groups_cannot_be_deleted_but_others_can() {
    let env = TestEnv::start().await;
    let (default_group, admin_group, synced_group) = env.read(|w| {
        let find = |f: &dyn Fn(&atlassian_sim::state::Group) -> bool| {
            w.live_groups()
                .find(|(_, g)| f(g))
                .map(|(_, g)| g.id.clone())
        };
        (
            find(&|g| g.default_for.is_some() && !g.external && !g.protected)
                .expect("a default group"),
            find(&|g| g.protected && !g.external).expect("an admin group"),
            find(&|g| g.external).expect("an IdP-synced group"),
        )
    });
    for (group, code) in [
        (&default_group, "ADMIN-403-6"),
        (&admin_group, "ADMIN-403-7"),
        (&synced_group, "ADMIN-UAM-403-1"),
    ] {
        let (status, err) = send(env.org(
            Method::DELETE,
            &format!("{}/{group}", groups_path(&env, "-")),
        ))
        .await;
        assert_eq!(
            (status, error_code(&err)),
            (StatusCode::FORBIDDEN, code),
            "{err}"
        );
        assert!(
            env.read(|w| w.group_ix(group).is_ok()),
            "the group is still there"
        );
        let (_, details) =
            send(env.org(Method::GET, &format!("{}/{group}", groups_path(&env, "-")))).await;
        assert_eq!(
            details["data"]["managementAccess"]["deletable"],
            json!(false)
        );
    }

    let dir = first_directory(&env);
    let (_, created) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "temp"})),
    )
    .await;
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let (status, _) =
        send(env.org(Method::DELETE, &format!("{}/{id}", groups_path(&env, &dir)))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) =
        send(env.org(Method::GET, &format!("{}/{id}", groups_path(&env, "-")))).await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::NOT_FOUND, "ADMIN-404-10")
    );
    let (status, _) =
        send(env.org(Method::DELETE, &format!("{}/{id}", groups_path(&env, &dir)))).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "deleting twice finds nothing"
    );
    env.finish().await;
}

#[tokio::test]
async fn memberships_are_idempotent_and_need_the_real_directory() {
    let env = TestEnv::start().await;
    let dir = first_directory(&env);
    let (_, created) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "on-call"})),
    )
    .await;
    let group = created["data"]["id"].as_str().expect("id").to_owned();
    let account = env.read(|w| {
        seat_candidates(w, 0)
            .into_iter()
            .next()
            .expect("an active member of the directory")
    });
    let members = format!("{}/{group}/memberships", groups_path(&env, &dir));

    for _ in 0..2 {
        let (status, body) = send(
            env.org(Method::POST, &members)
                .json(&json!({"accountId": account})),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let is_member = |env: &TestEnv| {
        env.read(|w| {
            let gx = w.group_ix(&group).expect("group");
            w.group(gx)
                .members
                .contains(&w.account_ix(&account).expect("account"))
        })
    };
    assert!(is_member(&env));
    let added = env.read(|w| {
        w.events
            .iter()
            .filter(|e| e.action == "user_added_to_group")
            .filter(|e| e.context.iter().any(|(c, _)| *c == group))
            .count()
    });
    assert_eq!(added, 1, "adding twice records one event");

    // '-' is not a directory for membership changes.
    let (status, err) = send(
        env.org(
            Method::POST,
            &format!("{}/{group}/memberships", groups_path(&env, "-")),
        )
        .json(&json!({"accountId": account})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    for _ in 0..2 {
        let (status, _) = send(env.org(Method::DELETE, &format!("{members}/{account}"))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert!(!is_member(&env));

    // Portal-only customers cannot join groups.
    if let Some(customer) = env.read(|w| {
        w.accounts
            .iter()
            .find(|a| a.kind == AccountType::Customer)
            .map(|a| a.id.clone())
    }) {
        let (status, err) = send(
            env.org(Method::POST, &members)
                .json(&json!({"accountId": customer})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    }
    // Unknown account: 404.
    let (status, err) = send(
        env.org(Method::POST, &members)
            .json(&json!({"accountId": "5b10ac8d82e05b22cc7dffff"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::NOT_FOUND, "ADMIN-UAM-404-3")
    );
    env.finish().await;
}

#[tokio::test]
async fn synced_group_membership_is_refused() {
    let env = TestEnv::start().await;
    let (group, dir, account) = env.read(|w| {
        let (_, g) = w
            .live_groups()
            .find(|(_, g)| g.external)
            .expect("an IdP-synced group");
        let account = seat_candidates(w, 0)
            .into_iter()
            .next()
            .expect("an account");
        (
            g.id.clone(),
            w.directories[g.directory as usize].id.clone(),
            account,
        )
    });
    let path = format!("{}/{group}/memberships", groups_path(&env, &dir));
    let (status, err) = send(
        env.org(Method::POST, &path)
            .json(&json!({"accountId": account})),
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::FORBIDDEN, "ADMIN-UAM-403-1"),
        "{err}"
    );
    let (status, _) = send(env.org(Method::DELETE, &format!("{path}/{account}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.finish().await;
}

#[tokio::test]
async fn licence_seats_limit_group_members_and_group_grants() {
    let env = TestEnv::start().await;
    let dir = first_directory(&env);
    // The product with seats and the fewest free ones.
    let (rx, ari, free, candidates) = env.read(|w| {
        let (rx, free) = (0..w.resources.len() as u16)
            .filter(|rx| w.directory_of_resource(*rx) == 0)
            .filter_map(|rx| {
                w.resource(rx)
                    .seats
                    .map(|s| (rx, s.saturating_sub(w.seats_used(rx)) as usize))
            })
            .min_by_key(|(_, free)| *free)
            .expect("a product with licence seats");
        (rx, w.resource(rx).ari(), free, seat_candidates(w, rx))
    });
    assert!(
        candidates.len() > free,
        "the seed leaves more people without access than free seats"
    );

    let (_, created) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "licensed"})),
    )
    .await;
    let group = created["data"]["id"].as_str().expect("id").to_owned();
    let base = format!("{}/{group}", groups_path(&env, &dir));
    let (status, body) = send(
        env.org(Method::POST, &format!("{base}/role-assignments/assign"))
            .json(&json!({"resourceId": ari, "roleId": "atlassian/user"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an empty group takes no seat: {body}"
    );

    for account in &candidates[..free] {
        let (status, body) = send(
            env.org(Method::POST, &format!("{base}/memberships"))
                .json(&json!({"accountId": account})),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, err) = send(
        env.org(Method::POST, &format!("{base}/memberships"))
            .json(&json!({"accountId": candidates[free]})),
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::CONFLICT, "ADMIN-UAM-409-3"),
        "{err}"
    );
    assert!(env.read(|w| w.seats_used(rx) <= w.resource(rx).seats.unwrap_or(u32::MAX)));

    // Granting the product to a group whose member has no seat left is refused too.
    let (_, other) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "late-comers"})),
    )
    .await;
    let other = other["data"]["id"].as_str().expect("id").to_owned();
    let other_base = format!("{}/{other}", groups_path(&env, &dir));
    let (status, _) = send(
        env.org(Method::POST, &format!("{other_base}/memberships"))
            .json(&json!({"accountId": candidates[free]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = send(
        env.org(
            Method::POST,
            &format!("{other_base}/role-assignments/assign"),
        )
        .json(&json!({"resourceId": ari, "roleId": "atlassian/user"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::CONFLICT, "ADMIN-UAM-409-3"),
        "{err}"
    );
    env.finish().await;
}

#[tokio::test]
async fn group_role_assignment_reaches_members_as_group_access() {
    let env = TestEnv::start().await;
    let dir = first_directory(&env);
    // The product with the most free seats, and someone without access to it.
    let (rx, ari, account) = env.read(|w| {
        let rx = (0..w.resources.len() as u16)
            .filter(|rx| {
                w.resource(*rx).product != Product::Platform && w.directory_of_resource(*rx) == 0
            })
            .max_by_key(|rx| {
                w.resource(*rx)
                    .seats
                    .map_or(u32::MAX, |s| s.saturating_sub(w.seats_used(*rx)))
            })
            .expect("a product");
        let account = seat_candidates(w, rx)
            .into_iter()
            .next()
            .expect("someone without access");
        (rx, w.resource(rx).ari(), account)
    });
    let (_, created) = send(
        env.org(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "readers"})),
    )
    .await;
    let group = created["data"]["id"].as_str().expect("id").to_owned();
    let base = format!("{}/{group}", groups_path(&env, &dir));
    let (status, _) = send(
        env.org(Method::POST, &format!("{base}/memberships"))
            .json(&json!({"accountId": account})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let grant = json!({"resourceId": ari, "roleId": "atlassian/user"});
    for _ in 0..2 {
        let (status, body) = send(
            env.org(Method::POST, &format!("{base}/role-assignments/assign"))
                .json(&grant),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let (status, roles) = send(env.org(
        Method::GET,
        &format!("{}/{group}/role-assignments", groups_path(&env, "-")),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        roles["data"],
        json!([{"resourceId": ari, "resourceOwner": env.read(|w| w.resource(rx).product.key()), "roles": ["atlassian/user"], "defaultRole": null}])
    );

    let methods = |env: &TestEnv| {
        env.read(|w| {
            w.role_assignments(w.account_ix(&account).expect("account"))
                .get(&(rx, Role::User))
                .copied()
        })
    };
    let held = methods(&env).expect("the member holds the role");
    assert!(
        held.group && !held.direct,
        "held through the group (group_direct), not directly"
    );
    assert!(env.read(|w| w.has_product_access(w.account_ix(&account).expect("account"), rx)));

    for _ in 0..2 {
        let (status, _) = send(
            env.org(Method::POST, &format!("{base}/role-assignments/revoke"))
                .json(&grant),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert_eq!(methods(&env), None);

    // Roles the group API does not take, resources that do not exist.
    for (body, status) in [
        (
            json!({"resourceId": ari, "roleId": "atlassian/org-admin"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"resourceId": ari, "roleId": "atlassian/nope"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"resourceId": "ari:cloud:jira-software::site/none", "roleId": "atlassian/user"}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"resourceId": ari}), StatusCode::BAD_REQUEST),
    ] {
        let (got, err) = send(
            env.org(Method::POST, &format!("{base}/role-assignments/assign"))
                .json(&body),
        )
        .await;
        assert_eq!(got, status, "{body} -> {err}");
    }
    env.finish().await;
}

#[tokio::test]
async fn bad_input_gets_the_org_error_shapes() {
    let env = TestEnv::start().await;
    let dir = first_directory(&env);
    let group = env.read(|w| {
        w.live_groups()
            .find(|(_, g)| !g.external)
            .map(|(_, g)| g.id.clone())
            .expect("a group")
    });
    let members = format!("{}/{group}/memberships", groups_path(&env, &dir));

    let (status, err) = send(
        env.org(Method::POST, &members)
            .header("Content-Type", "application/json")
            .body("{\"accountId\":"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"][0]["status"], json!("400"));
    let (status, err) = send(
        env.org(Method::POST, &members)
            .json(&json!({"accountId": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("accountId"),
        "{err}"
    );

    // Missing or wrong key: the gateway's 401.
    let url = format!(
        "{}{}",
        env.sim.info().admin_base_url,
        groups_path(&env, "-")
    );
    let (status, err) = send(env.http.get(&url)).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401)),
        "{err}"
    );
    let (status, err) = send(env.http.get(&url).bearer_auth("wrong")).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    assert!(err["message"].is_string());

    // Unknown group, directory and org.
    let (status, err) = send(env.org(
        Method::GET,
        &format!("{}/no-such-group", groups_path(&env, "-")),
    ))
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::NOT_FOUND, "ADMIN-404-10")
    );
    let (status, _) = send(env.org(
        Method::GET,
        &format!("{}/{group}", groups_path(&env, "no-such-dir")),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = send(env.org(
        Method::GET,
        "/admin/v2/orgs/no-such-org/directories/-/groups/count",
    ))
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::NOT_FOUND, "ADMIN-404-2")
    );
    let (status, _) = send(env.org(
        Method::GET,
        &format!("{}?limit=lots", groups_path(&env, "-")),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A read-only (scoped) key may search but not change.
    let (status, _) = send(
        env.org_scoped(Method::POST, &format!("{}/search", groups_path(&env, "-")))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        env.org_scoped(Method::POST, &groups_path(&env, &dir))
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.finish().await;
}

#[tokio::test]
async fn original_user_management_keeps_groups_per_site_directory() {
    let env = TestEnv::start_with(atlassian_sim::SimConfig {
        mode: atlassian_sim::state::Mode::Original,
        profile: atlassian_sim::seed::SizeProfile::Medium,
        users: Some(120),
        ..Default::default()
    })
    .await;
    let directories: Vec<String> =
        env.read(|w| w.directories.iter().map(|d| d.id.clone()).collect());
    assert!(directories.len() > 1, "one directory per site");

    let (status, err) = send(
        env.org(Method::POST, &groups_path(&env, "-"))
            .json(&json!({"name": "where-am-i"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "'-' is ambiguous with several directories: {err}"
    );
    let second = &directories[1];
    let (status, created) = send(
        env.org(Method::POST, &groups_path(&env, second))
            .json(&json!({"name": "site-two-team"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["data"]["directoryId"], json!(second));

    let in_second: BTreeSet<String> = env.read(|w| {
        w.live_groups()
            .filter(|(_, g)| g.directory == 1)
            .map(|(_, g)| g.id.clone())
            .collect()
    });
    let path = format!("{}/search", groups_path(&env, second));
    let (_, page) = send(env.org(Method::POST, &path).json(&json!({"limit": 100}))).await;
    assert_eq!(ids(page["data"].as_array().expect("data")), in_second);
    let found = search_all(&env, json!({"directoryIds": [second], "limit": 100})).await;
    assert_eq!(ids(&found), in_second);

    // The group is not in the first directory.
    let id = created["data"]["id"].as_str().expect("id");
    let (status, _) = send(env.org(
        Method::GET,
        &format!("{}/{id}", groups_path(&env, &directories[0])),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.finish().await;
}
