//! Database URLs never leak their password into errors.

use std::error::Error as _;

use steward_store::{Error, Store};

fn full_chain(err: &Error) -> String {
    let mut out = format!("{err} | {err:?}");
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(&format!(" | {s} | {s:?}"));
        source = s.source();
    }
    out
}

#[tokio::test]
async fn unreachable_postgres_error_redacts_the_password() {
    let err =
        Store::open("postgres://steward:hunter2-secret@127.0.0.1:1/steward?connect_timeout=2")
            .await
            .unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
    let text = full_chain(&err);
    assert!(!text.contains("hunter2-secret"), "{text}");
    assert!(text.contains("steward:***@127.0.0.1"), "{text}");
}

#[tokio::test]
async fn unsupported_url_error_redacts_the_password() {
    let err = Store::open("mysql://root:hunter2-secret@db/steward")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    let text = full_chain(&err);
    assert!(!text.contains("hunter2-secret"), "{text}");
}

#[tokio::test]
async fn wrong_postgres_password_error_redacts_it() {
    let Ok(server) = std::env::var("STEWARD_TEST_DATABASE_URL") else {
        println!("SKIPPED: PostgreSQL test (set STEWARD_TEST_DATABASE_URL to run it)");
        return;
    };
    let Ok(mut url) = url::Url::parse(&server) else {
        return;
    };
    let _ = url.set_username("no_such_role_steward");
    let _ = url.set_password(Some("hunter2-secret"));
    let err = Store::open(url.as_str()).await.unwrap_err();
    let text = full_chain(&err);
    assert!(!text.contains("hunter2-secret"), "{text}");
}

#[tokio::test]
async fn store_debug_and_url_are_redacted() {
    let store = Store::open_in_memory().await.unwrap();
    assert_eq!(store.backend_name(), "sqlite");
    assert!(format!("{store:?}").contains("sqlite::memory:"));
}
