//! Console users, sessions, API tokens and idempotency keys (migration 0004_server).

use chrono::TimeDelta;
use steward_store::{Error, IdempotencyBegin, NewApiToken, NewSession, NewUser, Role, UserUpdate};

use crate::db::TestDb;

fn user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.to_owned(),
        display_name: format!("User {email}"),
        role,
        password_hash: Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".to_owned()),
    }
}

pub async fn console_users_are_unique_by_email_in_any_case(db: &TestDb) -> anyhow::Result<()> {
    let accounts = db.store.accounts();
    assert_eq!(accounts.enabled_admins().await?, 0);
    let ada = accounts
        .create_user(&user("Ada@Acme.com", Role::Admin))
        .await?;
    assert_eq!(ada.email, "ada@acme.com");
    assert!(ada.has_password);
    assert_eq!(accounts.enabled_admins().await?, 1);
    let again = accounts
        .create_user(&user("ADA@acme.com", Role::Viewer))
        .await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "{again:?}"
    );
    let (found, hash) = accounts.credentials("ada@ACME.com").await?.unwrap();
    assert_eq!(found.id, ada.id);
    assert!(hash.unwrap().starts_with("$argon2id$"));
    assert!(accounts.credentials("nobody@acme.com").await?.is_none());
    let bob = accounts
        .create_user(&user("bob@acme.com", Role::Viewer))
        .await?;
    let users = accounts.users().await?;
    assert_eq!(
        users.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ada.id, bob.id]
    );
    Ok(())
}

pub async fn disabling_a_user_ends_its_sessions(db: &TestDb) -> anyhow::Result<()> {
    let accounts = db.store.accounts();
    let bob = accounts
        .create_user(&user("bob@acme.com", Role::Requester))
        .await?;
    let expires = chrono::Utc::now() + TimeDelta::hours(12);
    accounts
        .create_session(&NewSession {
            id_hash: "h1".to_owned(),
            user: bob.id,
            csrf_token: "csrf".to_owned(),
            expires_at: expires,
        })
        .await?;
    let session = accounts.session("h1").await?.unwrap();
    assert_eq!(session.user.id, bob.id);
    assert_eq!(session.csrf_token, "csrf");
    assert_eq!(session.created_at, session.last_seen_at);
    let later = session.last_seen_at + TimeDelta::minutes(5);
    accounts.touch_session("h1", later).await?;
    assert_eq!(accounts.session("h1").await?.unwrap().last_seen_at, later);

    let updated = accounts
        .update_user(
            bob.id,
            &UserUpdate {
                role: Some(Role::Approver),
                ..UserUpdate::default()
            },
        )
        .await?
        .unwrap();
    assert_eq!(updated.role, Role::Approver);
    assert_eq!(updated.display_name, bob.display_name);
    assert_eq!(
        accounts.session("h1").await?.unwrap().user.role,
        Role::Approver
    );

    accounts
        .update_user(
            bob.id,
            &UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await?;
    assert!(accounts.session("h1").await?.is_none());
    assert!(!accounts.delete_session("h1").await?);
    assert!(
        accounts
            .update_user(steward_store::UserId(9999), &UserUpdate::default())
            .await?
            .is_none()
    );
    Ok(())
}

pub async fn api_tokens_are_found_by_prefix_and_revoked_once(db: &TestDb) -> anyhow::Result<()> {
    let accounts = db.store.accounts();
    let new = NewApiToken {
        prefix: "abcd1234".to_owned(),
        name: "ci".to_owned(),
        role: Role::Viewer,
        token_hash: "f".repeat(64),
        created_by: "ada@acme.com".to_owned(),
    };
    let token = accounts.create_token(&new).await?;
    assert!(token.revoked_at.is_none() && token.last_used_at.is_none());
    assert!(matches!(
        accounts.create_token(&new).await,
        Err(Error::AlreadyExists { .. })
    ));
    let found = accounts.token_by_prefix("abcd1234").await?.unwrap();
    assert_eq!(found.token_hash, "f".repeat(64));
    accounts.touch_token(token.id, found.created_at).await?;
    let revoked = accounts.revoke_token(token.id).await?.unwrap();
    let first = revoked.revoked_at.unwrap();
    let again = accounts.revoke_token(token.id).await?.unwrap();
    assert_eq!(again.revoked_at, Some(first));
    assert_eq!(again.last_used_at, Some(found.created_at));
    assert!(
        accounts
            .revoke_token(steward_store::TokenId(999))
            .await?
            .is_none()
    );
    assert_eq!(accounts.tokens().await?.len(), 1);
    // Token JSON never carries the hash.
    assert!(!serde_json::to_string(&again)?.contains(&"f".repeat(64)));
    Ok(())
}

pub async fn idempotency_keys_replay_reject_mismatches_and_release(
    db: &TestDb,
) -> anyhow::Result<()> {
    let accounts = db.store.accounts();
    let begin = |hash: &'static str| accounts.idempotency_begin("ada", "POST /tokens", "k1", hash);
    assert_eq!(begin("h1").await?, IdempotencyBegin::New);
    assert_eq!(begin("h1").await?, IdempotencyBegin::InProgress);
    assert_eq!(begin("h2").await?, IdempotencyBegin::Mismatch);
    accounts
        .idempotency_complete("ada", "POST /tokens", "k1", 201, "{\"id\":1}")
        .await?;
    assert_eq!(
        begin("h1").await?,
        IdempotencyBegin::Replay {
            status: 201,
            body: "{\"id\":1}".to_owned()
        }
    );
    assert_eq!(begin("h2").await?, IdempotencyBegin::Mismatch);
    // Another principal or route has its own key space.
    assert_eq!(
        accounts
            .idempotency_begin("bob", "POST /tokens", "k1", "h2")
            .await?,
        IdempotencyBegin::New
    );
    // A released reservation runs again; a completed one is kept.
    accounts
        .idempotency_release("bob", "POST /tokens", "k1")
        .await?;
    assert_eq!(
        accounts
            .idempotency_begin("bob", "POST /tokens", "k1", "h3")
            .await?,
        IdempotencyBegin::New
    );
    accounts
        .idempotency_release("ada", "POST /tokens", "k1")
        .await?;
    assert!(matches!(
        begin("h1").await?,
        IdempotencyBegin::Replay { .. }
    ));
    // After 24 hours the key is forgotten.
    let pruned = accounts
        .prune(chrono::Utc::now() + TimeDelta::hours(25))
        .await?;
    assert_eq!(pruned, 2);
    assert_eq!(begin("h2").await?, IdempotencyBegin::New);
    Ok(())
}
