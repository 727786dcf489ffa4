//! Statuspage against the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use atlassian_client::models::statuspage::{NewTeamMember, PageChange, PageRoles};
use atlassian_client::{Error, RateLimits};
use atlassian_sim::SimConfig;
use atlassian_sim::faults::{FaultConfig, LimitConfig, RateLimitConfig};
use futures::TryStreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestEnv;

/// Statuspage user ids of the simulated team.
fn team(env: &TestEnv) -> BTreeSet<String> {
    env.sim.app().write(|w| {
        w.sync_statuspage_members();
        w.statuspage_team()
            .iter()
            .map(|ax| w.statuspage.members[ax].id.clone())
            .collect()
    })
}

/// Team members (by account) whose email is `email`.
fn members_with_email(env: &TestEnv, email: &str) -> usize {
    env.sim.app().write(|w| {
        w.sync_statuspage_members();
        w.statuspage_team()
            .iter()
            .filter(|ax| w.account(**ax).email.as_deref() == Some(email))
            .count()
    })
}

/// The simulator's record of a member's page permissions, as page id → (configuration,
/// incident, maintenance).
fn held_pages(env: &TestEnv, user_id: &str) -> BTreeMap<String, (bool, bool, bool)> {
    env.sim.app().read(|w| {
        let member = w
            .statuspage
            .members
            .values()
            .find(|m| m.id == user_id)
            .unwrap();
        member
            .pages
            .iter()
            .map(|(id, p)| {
                (
                    id.clone(),
                    (
                        p.page_configuration,
                        p.incident_manager,
                        p.maintenance_manager,
                    ),
                )
            })
            .collect()
    })
}

async fn script_fault(env: &TestEnv, fault: Value) {
    let response = env
        .control(Method::POST, "/faults")
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

async fn applied_creates(env: &TestEnv) -> u64 {
    let counters: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counters["applied_mutations"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.starts_with("POST ") && key.ends_with("/users"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

/// How many requests got an injected fault.
async fn injected(env: &TestEnv) -> u64 {
    let counters: Value = env
        .control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counters["faults_injected"].as_u64().unwrap()
}

#[tokio::test]
async fn pages_are_listed_and_read_one_by_one() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    let pages = sp.pages().await.unwrap();
    let truth: Vec<(String, String)> = env.sim.app().read(|w| {
        w.statuspage
            .pages
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    });
    let got: Vec<_> = pages
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    assert_eq!(got, truth);
    assert_eq!(sp.page(&pages[0].id).await.unwrap(), pages[0]);
    assert!(sp.page("nosuchpage00").await.unwrap_err().is_not_found());
    env.finish().await;
}

#[tokio::test]
async fn team_members_paged_two_at_a_time_are_exactly_the_team() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    let paged: Vec<_> = sp
        .clone()
        .page_size(2)
        .team_members()
        .try_collect()
        .await
        .unwrap();
    let ids: BTreeSet<_> = paged.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), paged.len(), "no member is listed twice");
    let truth = team(&env);
    assert!(truth.len() > 2);
    assert_eq!(ids, truth);
    let at_once: Vec<_> = sp.team_members().try_collect().await.unwrap();
    assert_eq!(at_once, paged);
    let organization = env.sim.info().statuspage.organization_id.clone();
    assert!(
        paged
            .iter()
            .all(|m| m.organization_id.as_deref() == Some(organization.as_str()))
    );
    env.finish().await;
}

#[tokio::test]
async fn a_team_member_is_created_found_given_pages_and_deleted() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    let new = NewTeamMember::new("riley.status@acme.com", "Riley", "Status");
    let created = sp.create_team_member(&new).await.unwrap();
    assert_eq!(created.email, "riley.status@acme.com");
    assert_eq!(created.first_name.as_deref(), Some("Riley"));
    assert_eq!(
        sp.find_team_member_by_email("Riley.Status@acme.com")
            .await
            .unwrap(),
        Some(created.clone())
    );
    let again = sp.create_team_member(&new).await.unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(422), "{again}");

    let pages = sp.pages().await.unwrap();
    let all: BTreeMap<_, _> = pages
        .iter()
        .map(|p| (p.id.clone(), PageRoles::all()))
        .collect();
    let written = sp.set_permissions(&created.id, &all).await.unwrap();
    assert_eq!(written.user_id, created.id);
    assert_eq!(written.pages.len(), pages.len());
    assert_eq!(sp.permissions(&created.id).await.unwrap(), written);

    let deleted = sp.delete_team_member(&created.id).await.unwrap();
    assert_eq!(deleted.id, created.id);
    assert_eq!(
        sp.find_team_member_by_email(&new.email).await.unwrap(),
        None
    );
    assert!(
        sp.permissions(&created.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    env.finish().await;
}

#[tokio::test]
async fn a_team_member_create_whose_answer_is_lost_yields_exactly_one_member() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    script_fault(
        &env,
        json!({"family":"statuspage","method":"POST","path":"/organizations/{organization_id}/users",
               "kind":"reset_after_apply","count":1}),
    )
    .await;
    let created = sp
        .create_team_member(&NewTeamMember::new(
            "lost.answer@acme.com",
            "Lost",
            "Answer",
        ))
        .await
        .unwrap();
    assert_eq!(created.email, "lost.answer@acme.com");
    assert_eq!(members_with_email(&env, "lost.answer@acme.com"), 1);
    assert_eq!(applied_creates(&env).await, 1, "the create was sent once");
    assert_eq!(injected(&env).await, 1, "the fault was injected");
    env.finish().await;
}

#[tokio::test]
async fn a_team_member_create_that_never_arrived_is_sent_again_once() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    script_fault(
        &env,
        json!({"family":"statuspage","method":"POST","path":"/organizations/{organization_id}/users",
               "kind":"reset","count":1}),
    )
    .await;
    let created = sp
        .create_team_member(&NewTeamMember::new("second.try@acme.com", "Second", "Try"))
        .await
        .unwrap();
    assert!(team(&env).contains(&created.id));
    assert_eq!(members_with_email(&env, "second.try@acme.com"), 1);
    assert_eq!(applied_creates(&env).await, 1);
    assert_eq!(injected(&env).await, 1, "the fault was injected");
    env.finish().await;
}

#[tokio::test]
async fn put_replaces_the_whole_set_and_merge_keeps_the_other_pages() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    let pages = sp.pages().await.unwrap();
    assert!(pages.len() >= 2);
    let (first, second) = (pages[0].id.clone(), pages[1].id.clone());
    let member = std::pin::pin!(sp.team_members())
        .try_next()
        .await
        .unwrap()
        .expect("the seed has a team");
    let before = sp.permissions(&member.id).await.unwrap();
    assert!(before.pages.contains_key(&first) && before.pages.contains_key(&second));

    // PUT with one page: the other page's access is gone.
    let only_first = BTreeMap::from([(first.clone(), PageRoles::new(false, true, false))]);
    let after_put = sp.set_permissions(&member.id, &only_first).await.unwrap();
    assert_eq!(after_put.pages.keys().collect::<Vec<_>>(), vec![&first]);
    assert_eq!(held_pages(&env, &member.id).len(), 1);

    // Merge: give the second page back, keep the first page as it is.
    let give_second = BTreeMap::from([(second.clone(), PageChange::Set(PageRoles::access()))]);
    let merged = sp
        .merge_permissions(&member.id, &give_second)
        .await
        .unwrap();
    assert_eq!(
        merged.pages[&first], after_put.pages[&first],
        "the first page is kept"
    );
    assert!(merged.pages.contains_key(&second));
    let held = held_pages(&env, &member.id);
    assert_eq!(held[&first], (false, true, false));
    assert!(held.contains_key(&second));

    // A merge that changes nothing does not write.
    let puts = |env: &TestEnv| {
        env.sim
            .exchanges()
            .iter()
            .filter(|e| e.method == "PUT")
            .count()
    };
    let writes = puts(&env);
    let same = sp
        .merge_permissions(&member.id, &give_second)
        .await
        .unwrap();
    assert_eq!(same, merged);
    assert_eq!(puts(&env), writes);

    // Remove: only that page goes.
    let drop_first = BTreeMap::from([(first.clone(), PageChange::Remove)]);
    let last = sp.merge_permissions(&member.id, &drop_first).await.unwrap();
    assert_eq!(last.pages.keys().collect::<Vec<_>>(), vec![&second]);
    env.finish().await;
}

#[tokio::test]
async fn a_420_is_waited_out_and_the_call_then_succeeds() {
    let env = TestEnv::start().await;
    let sp = env.client.statuspage().unwrap();
    script_fault(
        &env,
        json!({"family":"statuspage","kind":"rate_limit","retry_after":1,"count":1}),
    )
    .await;
    let started = Instant::now();
    let pages = sp.pages().await.unwrap();
    assert!(!pages.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = env.sim.exchanges().iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![420, 200]);
    env.finish().await;
}

/// A simulator allowing Statuspage at most 2 requests in any rolling second: an unpaced burst
/// of 3 is refused, a burst paced at 1/s is not.
fn strict_statuspage() -> SimConfig {
    SimConfig {
        faults: FaultConfig {
            rate_limits: RateLimitConfig {
                statuspage: LimitConfig::rolling_window(2, 1),
                ..RateLimitConfig::default()
            },
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn default_limits_pace_a_burst_to_one_request_per_second_without_a_420() {
    let env = TestEnv::start_with(strict_statuspage(), |b| {
        b.rate_limits(RateLimits::default())
    })
    .await;
    assert_eq!(RateLimits::default().statuspage.per_second, 1.0);
    let sp = env.client.statuspage().unwrap();
    let started = Instant::now();
    let burst = futures::future::join_all((0..3).map(|_| sp.pages())).await;
    let elapsed = started.elapsed();
    assert!(burst.iter().all(Result::is_ok));
    assert!(
        elapsed >= Duration::from_millis(1950),
        "3 calls took {elapsed:?}"
    );
    let statuses: Vec<u16> = env.sim.exchanges().iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![200, 200, 200], "never throttled");
    env.finish().await;

    // The same burst unpaced (the test client's 50/s) is throttled: the check above means
    // something. The client still succeeds by waiting out the 420.
    let unpaced = TestEnv::start_with(strict_statuspage(), |b| b).await;
    let sp = unpaced.client.statuspage().unwrap();
    let burst = futures::future::join_all((0..3).map(|_| sp.pages())).await;
    assert!(burst.iter().all(Result::is_ok));
    let throttled = unpaced
        .sim
        .exchanges()
        .iter()
        .filter(|e| e.status == 420)
        .count();
    assert!(throttled >= 1);
    unpaced.finish().await;
}

#[tokio::test]
async fn an_unconfigured_statuspage_is_a_configuration_error() {
    let client = atlassian_client::Client::builder().build().unwrap();
    let err = client.statuspage().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}
