//! The user management API (`/users/{account_id}/manage…`): lifecycle, profile, email, API
//! tokens and privileges of managed accounts, with the spec's error keys and contexts.

// Test helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::expect_used)]

use atlassian_sim::state::{AccountIx, AccountStatus, ManagementSource, World};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A managed, active, invited (not IdP-synced) account that is not an org admin.
fn plain_managed(w: &World) -> AccountIx {
    (0..w.accounts.len() as AccountIx)
        .find(|ax| {
            let a = w.account(*ax);
            w.is_managed(*ax)
                && w.composite_status(*ax) == "active"
                && !a.org_admin
                && a.source == ManagementSource::Invited
        })
        .expect("a plain managed account")
}

fn id_of(env: &TestEnv, pick: impl FnOnce(&World) -> AccountIx) -> (AccountIx, String) {
    env.read(|w| {
        let ax = pick(w);
        (ax, w.account(ax).id.clone())
    })
}

fn manage(id: &str, rest: &str) -> String {
    format!("/users/{id}/manage{rest}")
}

#[tokio::test]
async fn disable_deactivates_the_account_and_enable_restores_it() {
    let env = TestEnv::start().await;
    let (ax, id) = id_of(&env, plain_managed);
    let resp = env
        .org(Method::POST, &manage(&id, "/lifecycle/disable"))
        .json(&json!({"message": "On 6-month suspension"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    env.read(|w| {
        assert_eq!(w.account(ax).status, AccountStatus::Inactive);
        assert_eq!(w.composite_status(ax), "deactivated");
        assert!(w.account(ax).deactivated_on.is_some());
        assert!(
            w.events
                .iter()
                .any(|e| e.action == "user_deactivated" && e.message.contains("6-month"))
        );
    });
    // Again, and without a body: still 204.
    let resp = env
        .org(Method::POST, &manage(&id, "/lifecycle/disable"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let (status, profile) = json_of(
        env.org(Method::GET, &manage(&id, "/profile"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["account"]["account_status"], "inactive");

    let resp = env
        .org(Method::POST, &manage(&id, "/lifecycle/enable"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    env.read(|w| {
        assert_eq!(w.account(ax).status, AccountStatus::Active);
        assert_eq!(w.composite_status(ax), "active");
    });
    env.finish().await;
}

#[tokio::test]
async fn delete_schedules_deletion_with_a_grace_period_and_cancel_restores() {
    let env = TestEnv::start().await;
    let (ax, id) = id_of(&env, plain_managed);
    let (status, body) = json_of(
        env.org(Method::POST, &manage(&id, "/lifecycle/delete"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"message": "Success"}));
    env.read(|w| {
        assert_eq!(w.composite_status(ax), "for_deletion");
        let after = w.account(ax).delete_after.expect("scheduled");
        let days = (after - chrono::Utc::now()).num_hours() as f64 / 24.0;
        assert!((13.9..=14.0).contains(&days), "{days}");
    });

    // Enabling needs the deletion cancelled first: 409 with the lifecycle context.
    let (status, body) = json_of(
        env.org(Method::POST, &manage(&id, "/lifecycle/enable"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["key"], "conflict.lifecycleErrors");
    assert_eq!(body["context"]["accountId"], id.as_str());
    assert!(body["context"]["errorCodes"][0]["code"].is_string());

    let (status, body) = json_of(
        env.org(Method::POST, &manage(&id, "/lifecycle/cancel-delete"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Success");
    env.read(|w| {
        assert!(w.account(ax).delete_after.is_none());
        assert_eq!(w.composite_status(ax), "active");
    });
    // Nothing pending: still 200, nothing changes.
    let (status, _) = json_of(
        env.org(Method::POST, &manage(&id, "/lifecycle/cancel-delete"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    env.finish().await;
}

#[tokio::test]
async fn org_admins_cannot_be_deleted_or_disabled() {
    let env = TestEnv::start().await;
    let (ax, id) = id_of(&env, |w| {
        (0..w.accounts.len() as AccountIx)
            .find(|ax| {
                w.account(*ax).org_admin && *ax != w.integration_account() && w.is_managed(*ax)
            })
            .expect("another org admin")
    });
    for action in ["/lifecycle/delete", "/lifecycle/disable"] {
        let (status, body) = json_of(
            env.org(Method::POST, &manage(&id, action))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}");
        assert_eq!(body["key"], "conflict.lifecycleErrors");
        let ctx = &body["context"];
        assert_eq!(ctx["accountId"], id.as_str());
        assert!(ctx["message"].is_string());
        assert_eq!(ctx["errorCodes"][0]["code"], "ORG_ADMIN");
        assert!(ctx["errorCodes"][0]["link"].is_string());
    }
    env.read(|w| assert_eq!(w.composite_status(ax), "active"));
    env.finish().await;
}

#[tokio::test]
async fn unmanaged_unknown_and_scoped_are_refused_in_the_spec_shape() {
    let env = TestEnv::start().await;
    let (_, unmanaged) = id_of(&env, |w| {
        (0..w.accounts.len() as AccountIx)
            .find(|ax| {
                w.account(*ax)
                    .email
                    .as_deref()
                    .is_some_and(|e| e.ends_with("@contractor.io") || e.ends_with(".example"))
            })
            .expect("an unmanaged person")
    });
    for (method, rest) in [
        (Method::GET, "/profile"),
        (Method::POST, "/lifecycle/disable"),
        (Method::POST, "/lifecycle/delete"),
        (Method::GET, ""),
    ] {
        let (status, body) = json_of(
            env.org(method.clone(), &manage(&unmanaged, rest))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {rest}");
        assert_eq!(body, json!({"key": "forbidden.targetUnverified"}));
    }

    for rest in ["/profile", "/lifecycle/enable"] {
        let method = if rest == "/profile" {
            Method::GET
        } else {
            Method::POST
        };
        let (status, body) = json_of(
            env.org(method, &manage("557058:no-such-account", rest))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({"key": "accountNotFound"}));
    }

    let (_, id) = id_of(&env, plain_managed);
    let (status, body) = json_of(
        env.org_scoped(Method::POST, &manage(&id, "/lifecycle/disable"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["key"], "forbidden");
    assert_eq!(
        env.read(|w| w.composite_status(w.account_ix(&id).expect("ax"))),
        "active"
    );

    let base = &env.sim.info().admin_base_url;
    let (status, body) = json_of(
        env.http
            .get(format!("{base}{}", manage(&id, "/profile")))
            .bearer_auth("not-a-key")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["key"], "unauthorized");
    env.finish().await;
}

#[tokio::test]
async fn profile_is_read_and_patched_with_field_constraints() {
    let env = TestEnv::start().await;
    let (ax, id) = id_of(&env, plain_managed);
    let (status, profile) = json_of(
        env.org(Method::GET, &manage(&id, "/profile"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let account = &profile["account"];
    assert_eq!(account["account_id"], id.as_str());
    assert_eq!(account["account_type"], "atlassian");
    assert!(
        account["email"]
            .as_str()
            .expect("email")
            .ends_with("@acme.com")
    );
    assert!(account["nickname"].is_string() && account["picture"].is_string());

    let (status, patched) = json_of(
        env.org(Method::PATCH, &manage(&id, "/profile"))
            .json(&json!({"nickname": "rocket", "extended_profile": {"job_title": "Chief Rocketeer"}, "locale": "fr-FR"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["account"]["nickname"], "rocket");
    assert_eq!(
        patched["account"]["extended_profile"]["job_title"],
        "Chief Rocketeer"
    );
    assert_eq!(patched["account"]["locale"], "fr-FR");
    env.read(|w| {
        assert_eq!(w.account(ax).nickname, "rocket");
        assert_eq!(
            w.account(ax).profile.job_title.as_deref(),
            Some("Chief Rocketeer")
        );
    });

    let (status, body) = json_of(
        env.org(Method::PATCH, &manage(&id, "/profile"))
            .json(&json!({"nickname": "x".repeat(31), "name": ""}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["key"], "fieldConstraintsViolated");
    let fields: Vec<&str> = body["context"]["fieldViolations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "nickname"]);

    for bad in ["{nope", r#"{"nickname": 5}"#] {
        let (status, body) = json_of(
            env.org(Method::PATCH, &manage(&id, "/profile"))
                .header("content-type", "application/json")
                .body(bad)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["key"], "bodyParseFailure");
    }
    env.finish().await;
}

#[tokio::test]
async fn idp_synced_accounts_are_read_only_here() {
    let env = TestEnv::start().await;
    let (_, id) = id_of(&env, |w| {
        (0..w.accounts.len() as AccountIx)
            .find(|ax| {
                let a = w.account(*ax);
                a.source == ManagementSource::Synced
                    && w.is_managed(*ax)
                    && a.status == AccountStatus::Active
            })
            .expect("an IdP-synced account")
    });
    let (status, body) = json_of(
        env.org(Method::PATCH, &manage(&id, "/profile"))
            .json(&json!({"name": "Renamed"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["key"], "forbidden.fieldMutation");
    assert_eq!(
        body["context"]["name"],
        json!({"allowed": false, "reason": {"key": "externalDirectory.scim"}})
    );

    let (status, body) = json_of(
        env.org(Method::POST, &manage(&id, "/lifecycle/disable"))
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["key"], "forbidden.action");
    assert_eq!(body["context"]["allowed"], false);

    let (status, body) = json_of(
        env.org(Method::PUT, &manage(&id, "/email"))
            .json(&json!({"email": "renamed@acme.com"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["key"], "forbidden.action");

    let (status, privileges) = json_of(
        env.org(Method::GET, &manage(&id, ""))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(privileges["email.set"]["allowed"], false);
    assert_eq!(
        privileges["email.set"]["reason"]["key"],
        "externalDirectory.scim"
    );
    assert_eq!(privileges["lifecycle.delete"], json!({"allowed": true}));
    assert_eq!(privileges["profile.write"]["name"]["allowed"], false);
    env.finish().await;
}

#[tokio::test]
async fn privileges_can_be_asked_for_one_by_one() {
    let env = TestEnv::start().await;
    let (_, id) = id_of(&env, plain_managed);
    let (status, body) = json_of(
        env.org(
            Method::GET,
            &manage(&id, "?privileges=email.set&privileges=lifecycle.enablement"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"email.set": {"allowed": true}, "lifecycle.enablement": {"allowed": true}})
    );
    let (_, all) = json_of(
        env.org(Method::GET, &manage(&id, ""))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(all.as_object().expect("object").len(), 8);
    env.finish().await;
}

#[tokio::test]
async fn email_changes_only_to_a_verified_domain() {
    let env = TestEnv::start().await;
    let (ax, id) = id_of(&env, plain_managed);
    let resp = env
        .org(Method::PUT, &manage(&id, "/email"))
        .json(&json!({"email": "New.Address@acme.com"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    env.read(|w| {
        assert_eq!(w.account(ax).email.as_deref(), Some("new.address@acme.com"));
        assert_eq!(w.account_by_email("new.address@acme.com"), Some(ax));
    });

    let (status, body) = json_of(
        env.org(Method::PUT, &manage(&id, "/email"))
            .json(&json!({"email": "me@gmail.com"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"key": "forbidden.unclaimedDomain", "context": {"domain": "gmail.com"}})
    );

    let taken = env.read(|w| {
        w.account(w.integration_account())
            .email
            .clone()
            .expect("email")
    });
    for (bad, key) in [
        (json!({"email": taken}), "fieldConstraintsViolated"),
        (json!({"email": "nope"}), "fieldConstraintsViolated"),
    ] {
        let (status, body) = json_of(
            env.org(Method::PUT, &manage(&id, "/email"))
                .json(&bad)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["key"], key);
    }
    let (status, body) = json_of(
        env.org(Method::PUT, &manage(&id, "/email"))
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["key"], "bodyParseFailure");
    env.finish().await;
}

#[tokio::test]
async fn api_tokens_list_what_the_model_has() {
    let env = TestEnv::start().await;
    let integration = env.sim.info().integration_account_id.clone();
    let (status, tokens) = json_of(
        env.org(Method::GET, &manage(&integration, "/api-tokens"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tokens = tokens.as_array().expect("array").clone();
    assert_eq!(tokens.len(), env.sim.info().sites.len());
    assert!(
        tokens
            .iter()
            .all(|t| t["id"].is_string() && t["label"].is_string() && t["createdAt"].is_string())
    );

    let token = tokens[0]["id"].as_str().expect("id");
    let (status, body) = json_of(
        env.org(
            Method::DELETE,
            &manage(&integration, &format!("/api-tokens/{token}")),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["key"], "forbidden.action");
    assert_eq!(body["context"]["reason"]["key"], "administrative.notMyself");

    let (_, id) = id_of(&env, plain_managed);
    let (status, none) = json_of(
        env.org(Method::GET, &manage(&id, "/api-tokens"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none, json!([]));
    let (status, body) = json_of(
        env.org(Method::DELETE, &manage(&id, "/api-tokens/no-such-token"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["key"], "notFound");
    env.finish().await;
}
