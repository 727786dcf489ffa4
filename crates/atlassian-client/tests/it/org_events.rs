//! The Org API's audit log against the simulator: events, the events stream (and polling it),
//! one event, and the event actions.

use std::collections::BTreeSet;

use atlassian_client::api::org::{EventFilter, EventStreamFilter};
use atlassian_client::models::RoleId;
use atlassian_client::models::org::SortDirection;
use atlassian_sim::state::Product;
use futures::TryStreamExt;

use crate::org::{ari, people_without};
use crate::support::TestEnv;

/// Grants a Confluence role to someone without one; returns their account id.
async fn make_a_change(env: &TestEnv) -> String {
    let person = people_without(env, Product::Confluence).remove(0);
    env.client
        .org()
        .assign_role(&person, &RoleId::User, Some(&ari(env, Product::Confluence)))
        .await
        .unwrap();
    person
}

#[tokio::test]
async fn the_events_stream_yields_every_event_and_finds_a_new_change() {
    let env = TestEnv::start().await;
    let person = make_a_change(&env).await;
    let org = env.client.org();
    let truth: Vec<String> = env
        .sim
        .app()
        .read(|w| w.events.iter().map(|e| e.id.clone()).collect());

    let all: Vec<_> = org
        .events_stream(&EventStreamFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), truth);
    let newest = all.last().unwrap();
    assert_eq!(newest.attributes.action, "user_granted_role");
    assert!(newest.attributes.context.iter().any(|c| c.id == person));
    assert!(newest.attributes.processed_at.is_some());

    let small_pages: Vec<_> = org
        .events_stream(&EventStreamFilter {
            limit: Some(7),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(small_pages, all);

    let descending: Vec<_> = org
        .events_stream(&EventStreamFilter {
            sort_order: Some(SortDirection::Desc),
            limit: Some(50),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        descending.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        truth.iter().rev().cloned().collect::<Vec<_>>()
    );

    let at = env
        .sim
        .app()
        .read(|w| w.events.last().unwrap().time.timestamp_millis());
    let window: Vec<_> = org
        .events_stream(&EventStreamFilter {
            from: Some(at),
            to: Some(at),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert!(window.iter().any(|e| e.id == newest.id));
    assert!(window.len() < all.len());

    let one = org.event(&newest.id).await.unwrap();
    assert_eq!(one.id, newest.id);
    assert_eq!(one.attributes.action, newest.attributes.action);
    let actions = org.event_actions().await.unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a.id == "user_granted_role" && a.attributes.display_name.is_some())
    );
    let missing = org.event("no-such-event").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    env.finish().await;
}

#[tokio::test]
async fn polling_the_stream_with_the_last_cursor_returns_only_new_events() {
    let env = TestEnv::start().await;
    let org = env.client.org();
    let filter = EventStreamFilter::default();
    let mut page = org.poll_events(&filter, None).await.unwrap();
    let mut seen = page.events.len();
    while !page.events.is_empty() {
        let cursor = page
            .next_cursor
            .clone()
            .expect("ascending pages always continue");
        page = org.poll_events(&filter, Some(&cursor)).await.unwrap();
        seen += page.events.len();
    }
    assert_eq!(seen, env.sim.app().read(|w| w.events.len()));
    let cursor = page
        .next_cursor
        .clone()
        .expect("the last page gives a cursor to poll with");

    let person = make_a_change(&env).await;
    let fresh = org.poll_events(&filter, Some(&cursor)).await.unwrap();
    assert_eq!(fresh.events.len(), 1, "only the new event");
    assert!(
        fresh.events[0]
            .attributes
            .context
            .iter()
            .any(|c| c.id == person)
    );
    env.finish().await;
}

#[tokio::test]
async fn the_events_query_filters_by_action_newest_first() {
    let env = TestEnv::start().await;
    let person = make_a_change(&env).await;
    let expected: usize = env.sim.app().read(|w| {
        w.events
            .iter()
            .filter(|e| e.action == "user_granted_role")
            .count()
    });
    let granted: Vec<_> = env
        .client
        .org()
        .events(&EventFilter {
            action: Some("user_granted_role".into()),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(granted.len(), expected);
    assert!(
        granted
            .iter()
            .all(|e| e.attributes.action == "user_granted_role")
    );
    assert!(
        granted[0].attributes.context.iter().any(|c| c.id == person),
        "newest first"
    );
    let ids: BTreeSet<_> = granted.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), granted.len());
    env.finish().await;
}
