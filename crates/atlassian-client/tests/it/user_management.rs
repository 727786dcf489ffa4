//! The user management API (account lifecycle of managed accounts) against the simulator.
//! Also holds the ground-truth and fault helpers the Jira and JSM tests share.

use atlassian_client::models::user_management::{
    AccountStatus, ExtendedProfileUpdate, Privilege, ProfileUpdate, RestrictionKey,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use atlassian_sim::conformance::Specs;
use atlassian_sim::family::Family;
use atlassian_sim::faults::path_matches;
use atlassian_sim::record::Exchange;

use crate::support::TestEnv;

/// The simulator's whole org (`GET /_sim/ground-truth`).
pub(crate) async fn ground_truth(env: &TestEnv) -> Value {
    env.control(Method::GET, "/ground-truth")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The ground-truth account with this id.
pub(crate) fn account<'v>(truth: &'v Value, id: &str) -> &'v Value {
    truth["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == id)
        .unwrap()
}

/// Ids of accounts matching `keep`.
pub(crate) fn accounts_where(truth: &Value, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    truth["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| keep(a))
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect()
}

/// An active, managed, API-managed person who is not an org admin.
pub(crate) fn managed_person(truth: &Value) -> String {
    accounts_where(truth, |a| {
        a["type"] == "atlassian"
            && a["managed"] == true
            && a["org_admin"] == false
            && a["source"] == "invited"
            && a["status"] == "active"
    })
    .remove(0)
}

/// Scripts a fault for the next matching request (`POST /_sim/faults`), e.g.
/// `fault(&env, "jira", "POST", "/rest/api/3/user", "reset_after_apply")`.
pub(crate) async fn fault(env: &TestEnv, family: &str, method: &str, path: &str, kind: &str) {
    let response = env
        .control(Method::POST, "/faults")
        .json(&json!({"family": family, "method": method, "path": path, "kind": kind, "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "the fault is scripted"
    );
}

/// The recorded requests with this method whose spec path matches `spec_path` (`{x}` matches
/// one segment), faulted ones included.
pub(crate) fn requests_to(env: &TestEnv, method: &str, spec_path: &str) -> Vec<Exchange> {
    env.sim
        .exchanges()
        .into_iter()
        .filter(|e| e.method == method && path_matches(spec_path, &e.spec_path))
        .collect()
}

/// `env.finish()` for a test that makes exchanges the specs cannot judge: those `known`
/// selects must be flagged by the spec check (so the test notices when the spec or the
/// simulator changes) and are left out; every other exchange is checked as `finish` does.
pub(crate) async fn finish_with_known_deviations(env: TestEnv, known: impl Fn(&Exchange) -> bool) {
    let exchanges = env.sim.exchanges();
    env.sim.shutdown().await;
    let specs = Specs::load().expect("specs load");
    let (deviations, checked): (Vec<Exchange>, Vec<Exchange>) = exchanges
        .into_iter()
        .filter(|e| e.family != Family::Control && !e.fault_injected)
        .partition(|e| known(e));
    assert!(!deviations.is_empty(), "the known deviation was exercised");
    for e in &deviations {
        assert!(
            specs.check_request(e).is_err() || specs.check_response(e).is_err(),
            "{} {} now conforms to the spec",
            e.method,
            e.spec_path
        );
    }
    let mut problems = vec![];
    for e in &checked {
        if let Err(v) = specs.check_request(e) {
            problems.push(format!("request: {v}"));
        }
        if let Err(v) = specs.check_response(e) {
            problems.push(format!("response: {v}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} spec violation(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

pub(crate) const UNKNOWN_ACCOUNT: &str = "712020:00000000-0000-0000-0000-000000000000";

#[tokio::test]
async fn privileges_and_profile_describe_a_managed_account() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let id = managed_person(&truth);
    let um = env.client.user_management();

    let all = um.privileges(&id, &[]).await.unwrap();
    assert!(all.lifecycle_enablement.unwrap().allowed);
    assert!(all.lifecycle_delete.unwrap().allowed);
    assert!(all.profile_write.unwrap()["name"].allowed);

    let some = um
        .privileges(&id, &[Privilege::EmailSet, Privilege::LifecycleDelete])
        .await
        .unwrap();
    assert!(some.email_set.is_some() && some.lifecycle_delete.is_some());
    assert!(
        some.profile_write.is_none() && some.lifecycle_enablement.is_none(),
        "only what was asked for"
    );

    let synced = accounts_where(&truth, |a| a["source"] == "synced" && a["managed"] == true);
    let rule = um
        .privileges(&synced[0], &[Privilege::LifecycleEnablement])
        .await
        .unwrap()
        .lifecycle_enablement
        .unwrap();
    assert!(!rule.allowed);
    assert_eq!(
        rule.reason.unwrap().key,
        RestrictionKey::ExternalDirectoryScim
    );

    let profile = um.profile(&id).await.unwrap();
    let expected = account(&truth, &id);
    assert_eq!(profile.account_id, id);
    assert_eq!(profile.email, expected["email"].as_str().unwrap());
    assert_eq!(profile.name, expected["name"].as_str().unwrap());
    assert_eq!(profile.account_status, Some(AccountStatus::Active));
    env.finish().await;
}

#[tokio::test]
async fn a_profile_update_and_a_new_email_are_read_back() {
    let env = TestEnv::start().await;
    let id = managed_person(&ground_truth(&env).await);
    let um = env.client.user_management();

    // The spec's PATCH schema requires `name` and `nickname` (see the report), so both are sent.
    let update = ProfileUpdate {
        name: Some("Renamed Person".into()),
        nickname: Some("renamed".into()),
        extended_profile: ExtendedProfileUpdate {
            job_title: Some("Staff Engineer".into()),
            ..ExtendedProfileUpdate::default()
        },
        ..ProfileUpdate::default()
    };
    let changed = um.update_profile(&id, &update).await.unwrap();
    assert_eq!(changed.name, "Renamed Person");
    assert_eq!(changed.nickname, "renamed");
    assert_eq!(
        changed.extended_profile.job_title.as_deref(),
        Some("Staff Engineer")
    );
    assert_eq!(um.profile(&id).await.unwrap(), changed);

    um.set_email(&id, "renamed.person@acme.com").await.unwrap();
    assert_eq!(
        um.profile(&id).await.unwrap().email,
        "renamed.person@acme.com"
    );
    let truth = ground_truth(&env).await;
    assert_eq!(account(&truth, &id)["email"], "renamed.person@acme.com");

    let empty = um
        .update_profile(&id, &ProfileUpdate::default())
        .await
        .unwrap_err();
    assert!(matches!(empty, atlassian_client::Error::InvalidInput(_)));
    env.finish().await;
}

#[tokio::test]
async fn api_tokens_are_listed_and_deleting_them_reports_atlassians_refusals() {
    let env = TestEnv::start().await;
    let info = env.sim.info().clone();
    let um = env.client.user_management();

    let tokens = um.api_tokens(&info.integration_account_id).await.unwrap();
    assert_eq!(tokens.len(), info.sites.len(), "one token per site");
    assert_eq!(tokens[0].id, info.sites[0].cloud_id);
    assert!(tokens[0].created_at.is_some());

    let own = um
        .delete_api_token(&info.integration_account_id, &tokens[0].id)
        .await
        .unwrap_err();
    assert_eq!(own.code(), Some("forbidden.action"), "{own}");
    let missing = um
        .delete_api_token(&info.integration_account_id, "no-such-token")
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let someone = managed_person(&ground_truth(&env).await);
    assert!(um.api_tokens(&someone).await.unwrap().is_empty());
    env.finish().await;
}

#[tokio::test]
async fn disable_and_enable_are_reflected_in_the_jira_user() {
    let env = TestEnv::start().await;
    let id = managed_person(&ground_truth(&env).await);
    let um = env.client.user_management();
    let jira = env.client.jira(&env.site()).unwrap();
    assert!(jira.user(&id).await.unwrap().active);

    um.disable(&id, Some("On 6-month suspension"))
        .await
        .unwrap();
    assert!(!jira.user(&id).await.unwrap().active);
    assert_eq!(
        um.profile(&id).await.unwrap().account_status,
        Some(AccountStatus::Inactive)
    );
    um.disable(&id, None).await.unwrap();
    assert!(
        !jira.user(&id).await.unwrap().active,
        "disabling twice is harmless"
    );

    um.enable(&id).await.unwrap();
    assert!(jira.user(&id).await.unwrap().active);
    assert_eq!(
        account(&ground_truth(&env).await, &id)["account_status"],
        "active"
    );
    env.finish().await;
}

#[tokio::test]
async fn delete_schedules_the_deletion_and_cancel_delete_restores_the_account() {
    let env = TestEnv::start().await;
    let id = managed_person(&ground_truth(&env).await);
    let um = env.client.user_management();

    um.delete(&id).await.unwrap();
    let truth = ground_truth(&env).await;
    assert_eq!(account(&truth, &id)["status"], "for_deletion");
    assert!(!account(&truth, &id)["delete_after"].is_null());
    let blocked = um.enable(&id).await.unwrap_err();
    assert_eq!(blocked.status(), Some(StatusCode::CONFLICT));
    assert_eq!(blocked.code(), Some("conflict.lifecycleErrors"));

    um.cancel_delete(&id).await.unwrap();
    let truth = ground_truth(&env).await;
    assert_eq!(account(&truth, &id)["status"], "active");
    assert!(account(&truth, &id)["delete_after"].is_null());
    env.finish().await;
}

#[tokio::test]
async fn unknown_accounts_are_not_found_and_unmanaged_ones_are_refused() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let um = env.client.user_management();

    let unknown = um.profile(UNKNOWN_ACCOUNT).await.unwrap_err();
    assert!(unknown.is_not_found(), "{unknown}");
    assert!(
        um.privileges(UNKNOWN_ACCOUNT, &[])
            .await
            .unwrap_err()
            .is_not_found()
    );

    let unmanaged = accounts_where(&truth, |a| {
        a["type"] == "atlassian" && a["managed"] == false
    });
    let refused = um.disable(&unmanaged[0], None).await.unwrap_err();
    assert_eq!(refused.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        refused.code(),
        Some("forbidden.targetUnverified"),
        "{refused}"
    );
    assert_eq!(
        um.delete(&unmanaged[0]).await.unwrap_err().code(),
        Some("forbidden.targetUnverified")
    );

    let admin = accounts_where(&truth, |a| a["org_admin"] == true && a["managed"] == true);
    let conflict = um.disable(&admin[0], None).await.unwrap_err();
    assert_eq!(
        conflict.code(),
        Some("conflict.lifecycleErrors"),
        "{conflict}"
    );

    let empty = um.profile(" ").await.unwrap_err();
    assert!(matches!(empty, atlassian_client::Error::InvalidInput(_)));
    env.finish().await;
}
