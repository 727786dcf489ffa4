//! The control API (`/_sim`): authentication, ground truth, out-of-band changes, delayed
//! visibility, configuration, scripted-fault management and counters.

// Test helpers outside #[test] functions unwrap freely too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use atlassian_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn truth(env: &TestEnv) -> Value {
    let resp = env
        .control(Method::GET, "/ground-truth")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn account<'a>(truth: &'a Value, id: &str) -> &'a Value {
    truth["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == id)
        .unwrap()
}

fn holds(truth: &Value, account_id: &str, ari: &str, role: &str) -> bool {
    account(truth, account_id)["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["resource"] == ari && r["role"] == role)
}

/// A resource ARI of `product` on the first site.
fn ari(truth: &Value, product: &str) -> String {
    truth["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["product"] == product)
        .unwrap()["ari"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An active, managed, invited person who is not an org admin and not `except`.
fn plain_person(truth: &Value, except: &[&str]) -> String {
    truth["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["type"] == "atlassian"
                && a["status"] == "active"
                && a["managed"] == true
                && a["org_admin"] == false
                && a["source"] == "invited"
                && !except.contains(&a["account_id"].as_str().unwrap())
        })
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn control_api_rejects_no_token_wrong_token_and_every_atlassian_credential() {
    let env = TestEnv::start().await;
    let info = env.sim.info().clone();
    let url = format!("{}/health", info.control_url);
    let site = &info.sites[0];
    let attempts = [
        ("no token", env.http.get(&url)),
        (
            "wrong token",
            env.http.get(&url).bearer_auth("not-the-token"),
        ),
        (
            "org key",
            env.http.get(&url).bearer_auth(&info.admin_api_key),
        ),
        (
            "scoped org key",
            env.http.get(&url).bearer_auth(&info.scoped_admin_api_key),
        ),
        (
            "site token as bearer",
            env.http.get(&url).bearer_auth(&site.api_token),
        ),
        (
            "site basic",
            env.http
                .get(&url)
                .basic_auth(&site.email, Some(&site.api_token)),
        ),
        (
            "statuspage key",
            env.http.get(&url).header(
                "Authorization",
                format!("OAuth {}", info.statuspage.api_key),
            ),
        ),
        (
            "control token as basic",
            env.http
                .get(&url)
                .basic_auth("control", Some(&info.control_token)),
        ),
    ];
    for (what, request) in attempts {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("control"),
            "{what}: {body}"
        );
    }
    // A write is refused the same way (and changes nothing).
    let resp = env
        .http
        .put(format!("{}/visibility-delay", info.control_url))
        .bearer_auth(&info.admin_api_key)
        .json(&json!({"ms": 5000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = env.control(Method::GET, "/health").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let health: Value = resp.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["org_id"], info.org_id);
    let delay: Value = env
        .control(Method::GET, "/visibility-delay")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(delay["ms"], 0);
    env.finish().await;
}

#[tokio::test]
async fn ground_truth_is_identical_for_the_same_seed_and_differs_for_another() {
    let a = TestEnv::start().await;
    let b = TestEnv::start().await;
    let c = TestEnv::start_with(SimConfig {
        seed: 7,
        ..SimConfig::default()
    })
    .await;
    let (ta, tb, tc) = (truth(&a).await, truth(&b).await, truth(&c).await);
    assert_eq!(ta, tb);
    assert_ne!(ta, tc);
    assert_eq!(ta["org"]["seed"], 42);
    assert_eq!(tc["org"]["seed"], 7);
    // Byte-identical too (stable key and element order).
    let raw = |env: &TestEnv| {
        let req = env.control(Method::GET, "/ground-truth");
        async move { req.send().await.unwrap().bytes().await.unwrap() }
    };
    assert_eq!(raw(&a).await, raw(&b).await);
    for env in [a, b, c] {
        env.finish().await;
    }
}

#[tokio::test]
async fn ground_truth_holds_accounts_roles_groups_statuspage_jsm_confluence_and_jira() {
    let env = TestEnv::start().await;
    let t = truth(&env).await;
    let info = env.sim.info();
    assert_eq!(t["org"]["id"], info.org_id);
    assert_eq!(t["sites"][0]["name"], info.sites[0].name);
    assert!(!t["directories"].as_array().unwrap().is_empty());
    // Resources carry seats and seats used, and no resource is over its seats.
    for r in t["resources"].as_array().unwrap() {
        assert!(r["ari"].as_str().unwrap().starts_with("ari:cloud:"), "{r}");
        if let Some(seats) = r["seats"].as_u64() {
            assert!(r["seats_used"].as_u64().unwrap() <= seats, "{r}");
        }
    }
    // The integration account is an org admin, with the inferred site-admin role.
    let integration = account(&t, &info.integration_account_id);
    assert_eq!(integration["org_admin"], true);
    assert_eq!(integration["status"], "active");
    let site_admin = ari(&t, "platform");
    let inferred = integration["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == site_admin.as_str() && r["role"] == "atlassian/site-admin")
        .unwrap();
    assert_eq!(inferred["methods"]["inferred"], true);
    // Every account has the documented fields; group members point back to their groups.
    let accounts = t["accounts"].as_array().unwrap();
    for a in accounts {
        for field in [
            "account_id",
            "email",
            "type",
            "account_status",
            "status",
            "managed",
            "org_admin",
            "directories",
            "roles",
            "groups",
        ] {
            assert!(a.get(field).is_some(), "{field} missing in {a}");
        }
    }
    for g in t["groups"].as_array().unwrap() {
        for m in g["members"].as_array().unwrap() {
            let member = account(&t, m.as_str().unwrap());
            assert!(
                member["groups"].as_array().unwrap().contains(&g["id"]),
                "{} in {}",
                m,
                g["name"]
            );
        }
    }
    assert!(
        t["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["external"] == true)
    );
    // Statuspage, JSM, Confluence and Jira are there.
    assert!(!t["statuspage"]["pages"].as_array().unwrap().is_empty());
    assert!(!t["statuspage"]["members"].as_array().unwrap().is_empty());
    assert!(t["statuspage"]["members"][0]["pages"].is_array());
    assert!(!t["jsm"][0]["service_desks"].as_array().unwrap().is_empty());
    assert!(t["jsm"][0]["service_desks"][0]["customers"].is_array());
    assert!(t["jsm"][0]["organizations"].is_array());
    assert!(
        !t["confluence"][0]["spaces"][0]["permissions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(t["jira"][0]["projects"][0]["role_actors"].is_object());
    assert_eq!(t["pending_role_changes"], 0);
    env.finish().await;
}

#[tokio::test]
async fn out_of_band_change_appears_in_ground_truth_with_another_admin_as_actor() {
    let env = TestEnv::start().await;
    let before = truth(&env).await;
    let integration = env.sim.info().integration_account_id.clone();
    let group = before["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["external"] == false
                && g["default_for"].is_null()
                && g["protected"] == false
                && g["roles"].as_array().unwrap().is_empty()
        })
        .unwrap()
        .clone();
    let person = before["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["type"] == "atlassian"
                && a["status"] == "active"
                && a["source"] == "invited"
                && !group["members"]
                    .as_array()
                    .unwrap()
                    .contains(&a["account_id"])
        })
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = env
        .control(Method::POST, "/out-of-band")
        .json(&json!({"op": "add_member", "group_id": group["id"], "account_id": person}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["changed"], true);
    let actor = body["actor"]["account_id"].as_str().unwrap().to_owned();
    assert_ne!(actor, integration);
    assert_eq!(account(&before, &actor)["org_admin"], true);
    assert_eq!(body["events"][0]["action"], "user_added_to_group");
    assert_eq!(body["events"][0]["actor"]["id"], actor.as_str());

    let after = truth(&env).await;
    let g = after["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == group["id"])
        .unwrap();
    assert!(g["members"].as_array().unwrap().contains(&json!(person)));
    assert!(
        account(&after, &person)["groups"]
            .as_array()
            .unwrap()
            .contains(&group["id"])
    );

    // The Org API's audit log names the other admin as the actor.
    let event_id = body["events"][0]["id"].as_str().unwrap();
    let resp = env
        .org(
            Method::GET,
            &format!("/admin/v1/orgs/{}/events/{event_id}", env.org_id()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let event: Value = resp.json().await.unwrap();
    assert_eq!(event["data"]["attributes"]["actor"]["id"], actor.as_str());

    // actor_email picks the actor; a suspension by that admin shows in ground truth.
    let other_admin_email = account(&before, &actor)["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = plain_person(&after, &[&person]);
    let body: Value = env
        .control(Method::POST, "/out-of-band")
        .json(&json!({"op": "suspend", "account_id": target, "actor_email": other_admin_email}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["changed"], true, "{body}");
    assert_eq!(body["actor"]["email"], other_admin_email.as_str());
    let t = truth(&env).await;
    assert_eq!(account(&t, &target)["status"], "suspended");
    let last = env.read(|w| w.events.last().unwrap().clone());
    assert_eq!(last.action, "user_suspended");
    assert_eq!(last.actor.id, actor);

    // set_last_active is visible in ground truth.
    let jira = ari(&t, "jira-software");
    let body: Value = env
        .control(Method::POST, "/out-of-band")
        .json(&json!({"op": "set_last_active", "account_id": person, "resource": jira, "at": "2026-01-02T03:04:05Z"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["changed"], true, "{body}");
    let t = truth(&env).await;
    assert_eq!(
        account(&t, &person)["last_active"][jira.as_str()],
        "2026-01-02T03:04:05Z"
    );
    env.finish().await;
}

#[tokio::test]
async fn out_of_band_rejects_bad_input_naming_the_problem() {
    let env = TestEnv::start().await;
    let t = truth(&env).await;
    let person = plain_person(&t, &[]);
    let cases = [
        (json!({"op": "teleport", "account_id": person}), "teleport"),
        (
            json!({"op": "add_member", "account_id": person}),
            "group_id",
        ),
        (
            json!({"op": "grant_role", "account_id": "nobody", "resource": ari(&t, "confluence"), "role": "atlassian/user"}),
            "nobody",
        ),
        (
            json!({"op": "grant_role", "account_id": person, "resource": "ari:cloud:nothing::site/x", "role": "atlassian/user"}),
            "ari:cloud:nothing",
        ),
        (
            json!({"op": "grant_role", "account_id": person, "resource": ari(&t, "confluence"), "role": "boss"}),
            "boss",
        ),
        (
            json!({"op": "suspend", "account_id": person, "actor_email": "ghost@nowhere.example"}),
            "ghost@nowhere.example",
        ),
        (
            json!({"op": "suspend", "account_id": person, "colour": "red"}),
            "colour",
        ),
        (
            json!({"op": "set_last_active", "account_id": person, "resource": ari(&t, "confluence"), "at": "yesterday"}),
            "at",
        ),
        (json!({"op": 5}), "op"),
    ];
    for (body, needle) in cases {
        let resp = env
            .control(Method::POST, "/out-of-band")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert!(
            err["error"].as_str().unwrap().contains(needle),
            "{body} -> {err}"
        );
    }
    let resp = env
        .control(Method::POST, "/out-of-band")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );
    // A model rule refusing the change is a conflict: org admins cannot be suspended.
    let admin = t["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["org_admin"] == true)
        .unwrap();
    let resp = env
        .control(Method::POST, "/out-of-band")
        .json(&json!({"op": "suspend", "account_id": admin["account_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    // Nothing changed.
    assert_eq!(truth(&env).await["accounts"], t["accounts"]);
    env.finish().await;
}

async fn org_api_shows_role(env: &TestEnv, account_id: &str, ari: &str, role: &str) -> bool {
    let path = format!(
        "/admin/v2/orgs/{}/directories/-/users/{account_id}/role-assignments?limit=100",
        env.org_id()
    );
    let resp = env.org(Method::GET, &path).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["data"].as_array().unwrap().iter().any(|item| {
        item["resourceId"] == ari && item["roles"].as_array().unwrap().iter().any(|r| r == role)
    })
}

#[tokio::test]
async fn delayed_visibility_hides_a_direct_role_grant_until_the_delay_passes() {
    let env = TestEnv::start().await;
    let t = truth(&env).await;
    let jira = ari(&t, "jira-software");
    let role = "atlassian/user-access-admin";
    let person = t["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["type"] == "atlassian"
                && a["status"] == "active"
                && a["org_admin"] == false
                && !holds(&t, a["account_id"].as_str().unwrap(), &jira, role)
        })
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = env
        .control(Method::PUT, "/visibility-delay")
        .json(&json!({"ms": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let granted_at = Instant::now();
    let body: Value = env
        .control(Method::POST, "/out-of-band")
        .json(&json!({"op": "grant_role", "account_id": person, "resource": jira, "role": role}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["changed"], true, "{body}");

    // Not visible yet: not in ground truth, not through the Org API.
    let t = truth(&env).await;
    assert!(!holds(&t, &person, &jira, role));
    assert_eq!(t["pending_role_changes"], 1);
    assert!(!org_api_shows_role(&env, &person, &jira, role).await);

    // Visible once the delay passed.
    loop {
        if holds(&truth(&env).await, &person, &jira, role) {
            break;
        }
        assert!(
            granted_at.elapsed() < Duration::from_secs(5),
            "the grant never became visible"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(granted_at.elapsed() >= Duration::from_millis(300));
    assert!(org_api_shows_role(&env, &person, &jira, role).await);
    assert_eq!(truth(&env).await["pending_role_changes"], 0);

    // Bad input.
    for body in [
        json!({"ms": -1}),
        json!({"ms": "soon"}),
        json!({}),
        json!({"ms": 1_000_000_000u64}),
    ] {
        let resp = env
            .control(Method::PUT, "/visibility-delay")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    env.finish().await;
}

#[tokio::test]
async fn config_merges_changes_and_rejects_bad_values() {
    let env = TestEnv::start().await;
    let config: Value = env
        .control(Method::GET, "/config")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["profile"], "none");
    assert_eq!(config["rate_limits"]["enabled"], true);
    assert_eq!(config["rate_limits"]["statuspage_status"], 420);
    assert_eq!(config["rate_limits"]["statuspage"]["requests"], 60);
    assert_eq!(config["rate_limits"]["statuspage"]["per_seconds"], 60);
    assert_eq!(config["rate_limits"]["org_events"]["requests"], 10);

    let resp = env
        .control(Method::PUT, "/config")
        .json(&json!({"profile": "flaky", "seed": 9, "rate_limits": {"statuspage_status": 429, "org": {"burst": 50}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let updated: Value = resp.json().await.unwrap();
    assert_eq!(updated["profile"], "flaky");
    assert_eq!(updated["seed"], 9);
    assert_eq!(updated["rate_limits"]["statuspage_status"], 429);
    assert_eq!(updated["rate_limits"]["org"]["burst"], 50);
    assert_eq!(
        updated["rate_limits"]["org"]["requests"], 100,
        "untouched fields stay"
    );
    let again: Value = env
        .control(Method::GET, "/config")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, updated);

    let cases = [
        (json!({"profile": "chaotic"}), "profile"),
        (json!({"latency": 5}), "latency"),
        (
            json!({"rate_limits": {"statuspage_status": 503}}),
            "statuspage_status",
        ),
        (
            json!({"rate_limits": {"jira": {"requests": 0}}}),
            "jira.requests",
        ),
        (json!({"rate_limits": {"org": {"kind": "leaky"}}}), "kind"),
        (json!({"latency_ms": "slow"}), "latency_ms"),
        (json!([1, 2]), "object"),
    ];
    for (body, needle) in cases {
        let resp = env
            .control(Method::PUT, "/config")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert!(
            err["error"].as_str().unwrap().contains(needle),
            "{body} -> {err}"
        );
    }
    let unchanged: Value = env
        .control(Method::GET, "/config")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged, updated);
    env.finish().await;
}

#[tokio::test]
async fn scripted_faults_are_listed_and_removed() {
    let env = TestEnv::start().await;
    let resp = env
        .control(Method::POST, "/faults")
        .json(&json!({"family": "jira", "method": "get", "path": "/rest/api/3/user", "kind": "status", "status": 500, "count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first["remaining"], 3);
    assert_eq!(first["match"]["method"], "GET");
    assert_eq!(first["fault"]["kind"], "status");
    let second: Value = env
        .control(Method::POST, "/faults")
        .json(&json!({"path_prefix": "/pages", "kind": "timeout_after_apply"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["fault"]["hold_ms"], 30000);
    let list: Value = env
        .control(Method::GET, "/faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["faults"].as_array().unwrap().len(), 2);

    let resp = env
        .control(
            Method::DELETE,
            &format!("/faults/{}", first["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = env
        .control(Method::DELETE, "/faults/fault-999")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let cleared: Value = env
        .control(Method::DELETE, "/faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["removed"], 1);
    let list: Value = env
        .control(Method::GET, "/faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["faults"], json!([]));

    let cases = [
        (json!({"kind": "explode"}), "explode"),
        (json!({"kind": "status"}), "status is required"),
        (json!({"kind": "status", "status": 99}), "status"),
        (
            json!({"kind": "reset", "status": 500}),
            "status does not apply",
        ),
        (
            json!({"kind": "rate_limit", "retry_after": 0}),
            "retry_after",
        ),
        (json!({"kind": "reset", "family": "control"}), "family"),
        (json!({"kind": "reset", "family": "bitbucket"}), "bitbucket"),
        (json!({"kind": "reset", "path": "rest/api/3/user"}), "path"),
        (json!({"kind": "reset", "count": 0}), "count"),
        (json!({"kind": "reset", "method": "G E T"}), "method"),
        (json!({"kind": "reset", "regex": ".*"}), "regex"),
    ];
    for (body, needle) in cases {
        let resp = env
            .control(Method::POST, "/faults")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert!(
            err["error"].as_str().unwrap().contains(needle),
            "{body} -> {err}"
        );
    }
    env.finish().await;
}

#[tokio::test]
async fn counters_count_routes_families_statuses_and_applied_mutations() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    for _ in 0..2 {
        let resp = env
            .org(Method::GET, &format!("/admin/v1/orgs/{org}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let resp = env
        .org(Method::GET, "/admin/v1/orgs/not-an-org")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = env
        .org(
            Method::POST,
            &format!("/admin/v2/orgs/{org}/directories/-/groups"),
        )
        .json(&json!({"name": "counted-group"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let site = env.site_name();
    let resp = env
        .site(Method::GET, &site, "/rest/api/3/group/bulk")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Control traffic is not counted.
    truth(&env).await;

    let c: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["routes"]["GET org /v1/orgs/{org_id}"], 3, "{c}");
    assert_eq!(
        c["paths"][format!("GET /api/admin/v1/orgs/{org}")],
        2,
        "{c}"
    );
    assert_eq!(c["paths"]["GET /api/admin/v1/orgs/not-an-org"], 1, "{c}");
    assert_eq!(c["routes"]["GET jira /rest/api/3/group/bulk"], 1, "{c}");
    assert_eq!(c["families"]["org"]["total"], 4);
    assert_eq!(c["families"]["org"]["statuses"]["200"], 2);
    assert_eq!(c["families"]["org"]["statuses"]["404"], 1);
    assert_eq!(c["families"]["org"]["statuses"]["201"], 1);
    assert_eq!(c["families"]["jira"]["total"], 1);
    assert!(c["families"].get("control").is_none());
    assert_eq!(
        c["applied_mutations"][format!("POST /api/admin/v2/orgs/{org}/directories/-/groups")],
        1,
        "{c}"
    );
    assert_eq!(c["applied_mutations"].as_object().unwrap().len(), 1);

    let resp = env
        .control(Method::POST, "/counters/reset")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let c: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["routes"], json!({}));
    assert_eq!(c["families"], json!({}));
    assert_eq!(c["applied_mutations"], json!({}));
    env.finish().await;
}
