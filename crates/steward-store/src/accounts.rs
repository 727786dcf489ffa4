//! Who may use the service: console users, their sessions, API tokens, and the idempotency
//! keys of mutating API calls (migration `0004_server`).
//!
//! The store never sees a secret in plaintext: a password arrives as an argon2id PHC string,
//! a session id and an API token as the lowercase hex SHA-256 of the secret the client holds.
//! The caller (the server) hashes; the store compares hashes by equality in SQL, which is safe
//! because the hashed secrets carry 256 bits of randomness (nothing to learn from timing).
//!
//! Emails of console users are kept lowercased (ASCII), so lookups ignore case.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Store, now, with_pool};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(24);

/// How long a reservation without a response holds its key: after this, the request that
/// reserved it is taken as abandoned (its process was killed, or its client went away and the
/// handler was dropped) and the key may be used again. Without it, a key reserved by a
/// process killed mid-request answered `409` for 24 hours (found by the crash test of
/// `steward serve`). Handlers answer in well under this.
pub const IDEMPOTENCY_ABANDONED: TimeDelta = TimeDelta::seconds(30);

/// A console role. Roles are ordered: each one may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything (people, entitlements, jobs, runs, changes, audit).
    Viewer,
    /// A viewer who may ask for access.
    Requester,
    /// A requester who may approve or deny requests.
    Approver,
    /// Manages users, tokens and syncs.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Requester, Role::Approver, Role::Admin];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Requester => "requester",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::InvalidArgument {
                what: "role",
                detail: format!("`{s}` is not one of viewer, requester, approver, admin"),
            })
    }
}

fn role_from_column(s: &str, column: &'static str) -> Result<Role> {
    Role::from_str(s).map_err(|_| Error::Corrupt {
        column,
        detail: s.to_owned(),
    })
}

/// Identifier of a console user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A console user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Email (stored lowercased).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string; `None` for a user who signs in otherwise (later: OIDC).
    pub password_hash: Option<String>,
}

/// A console user. The password hash is not part of it (see [`Accounts::credentials`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Email, lowercased.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A disabled user can't sign in and its sessions are gone.
    pub disabled: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// Changes to a console user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Disable (ends every session of the user) or enable.
    pub disabled: Option<bool>,
    /// New argon2id PHC string.
    pub password_hash: Option<String>,
}

/// A session to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 hex of the session id the client holds.
    pub id_hash: String,
    /// Whose session.
    pub user: UserId,
    /// The CSRF token the client must echo on mutating requests.
    pub csrf_token: String,
    /// The absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// A session with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 hex of the session id.
    pub id_hash: String,
    /// The user (as it is now: role changes apply at once).
    pub user: User,
    /// The CSRF token.
    pub csrf_token: String,
    /// When signed in.
    pub created_at: DateTime<Utc>,
    /// The absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// When last used (idle expiry counts from here).
    pub last_seen_at: DateTime<Utc>,
}

/// Identifier of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TokenId(pub i64);

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An API token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// The public lookup part of the token (`stw_<prefix>_…`), unique.
    pub prefix: String,
    /// A name saying what uses it.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// SHA-256 hex of the whole token.
    pub token_hash: String,
    /// Who created it.
    pub created_by: String,
}

/// An API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Its id.
    pub id: TokenId,
    /// The public lookup part.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// SHA-256 hex of the token (for the server's comparison; never serialized).
    #[serde(skip)]
    pub token_hash: String,
    /// Who created it.
    pub created_by: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last used to authenticate.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What [`Accounts::idempotency_begin`] found for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its previous use expired): it is now reserved for this request, which
    /// must end with [`Accounts::idempotency_complete`] or [`Accounts::idempotency_release`].
    New,
    /// The same request was answered before: replay this response.
    Replay {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
    /// The key was used with another request body.
    Mismatch,
    /// The same request is being handled right now.
    InProgress,
}

/// Console users, sessions, API tokens and idempotency keys (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Accounts<'a> {
    pub(crate) store: &'a Store,
}

#[derive(sqlx::FromRow)]
struct UserRecord {
    id: i64,
    email: String,
    display_name: String,
    role: String,
    password_hash: Option<String>,
    disabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserRecord {
    fn decode(self) -> Result<User> {
        Ok(User {
            id: UserId(self.id),
            email: self.email,
            display_name: self.display_name,
            role: role_from_column(&self.role, "console_users.role")?,
            disabled: self.disabled,
            has_password: self.password_hash.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const USER_COLUMNS: &str =
    "id, email, display_name, role, password_hash, disabled, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct TokenRecord {
    id: i64,
    prefix: String,
    name: String,
    role: String,
    token_hash: String,
    created_by: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    fn decode(self) -> Result<ApiToken> {
        Ok(ApiToken {
            id: TokenId(self.id),
            prefix: self.prefix,
            name: self.name,
            role: role_from_column(&self.role, "api_tokens.role")?,
            token_hash: self.token_hash,
            created_by: self.created_by,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}

const TOKEN_COLUMNS: &str =
    "id, prefix, name, role, token_hash, created_by, created_at, last_used_at, revoked_at";

fn unique_violation(e: sqlx::Error, what: &'static str, value: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::AlreadyExists {
            what,
            value: value.to_owned(),
        },
        _ => Error::Database(e),
    }
}

impl Accounts<'_> {
    /// Creates a console user.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when the email (in any case) is taken, [`Error::Database`].
    pub async fn create_user(&self, user: &NewUser) -> Result<User> {
        let at = now();
        let email = user.email.to_ascii_lowercase();
        let sql = format!(
            "INSERT INTO console_users (email, display_name, role, password_hash, disabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING {USER_COLUMNS}"
        );
        let row: UserRecord = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&email)
                .bind(&user.display_name)
                .bind(user.role.as_str())
                .bind(user.password_hash.as_deref())
                .bind(at)
                .fetch_one(pool)
                .await
                .map_err(|e| unique_violation(e, "console user", &email))?
        });
        row.decode()
    }

    /// The user with this id.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE id = $1");
        let row: Option<UserRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await?
        });
        row.map(UserRecord::decode).transpose()
    }

    /// The user with this email (any case) and its password hash, for sign-in.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn credentials(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE email = $1");
        let row: Option<UserRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(email.to_ascii_lowercase())
                .fetch_optional(pool)
                .await?
        });
        row.map(|r| {
            let hash = r.password_hash.clone();
            r.decode().map(|u| (u, hash))
        })
        .transpose()
    }

    /// Every console user, by id.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY id");
        let rows: Vec<UserRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        rows.into_iter().map(UserRecord::decode).collect()
    }

    /// How many enabled admins there are (the first-admin bootstrap creates one when 0).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn enabled_admins(&self) -> Result<i64> {
        Ok(with_pool!(self.store, pool => {
            sqlx::query_scalar(
                "SELECT count(*) FROM console_users WHERE role = 'admin' AND disabled = FALSE",
            )
            .fetch_one(pool)
            .await?
        }))
    }

    /// Applies `update` to a user; disabling it also ends its sessions (same transaction).
    /// Returns `None` for an unknown user.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<Option<User>> {
        let at = now();
        let sql = format!(
            "UPDATE console_users SET display_name = COALESCE($2, display_name), \
             role = COALESCE($3, role), disabled = COALESCE($4, disabled), \
             password_hash = COALESCE($5, password_hash), updated_at = $6 \
             WHERE id = $1 RETURNING {USER_COLUMNS}"
        );
        let row: Option<UserRecord> = crate::store::with_tx!(self.store, tx => {
            let row: Option<UserRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(update.display_name.as_deref())
                .bind(update.role.map(Role::as_str))
                .bind(update.disabled)
                .bind(update.password_hash.as_deref())
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            if update.disabled == Some(true) {
                sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            row
        });
        row.map(UserRecord::decode).transpose()
    }

    /// Stores a new session.
    ///
    /// # Errors
    /// [`Error::Database`] (also for an unknown user).
    pub async fn create_session(&self, session: &NewSession) -> Result<()> {
        let at = now();
        with_pool!(self.store, pool => {
            sqlx::query(
                "INSERT INTO console_sessions (id_hash, user_id, csrf_token, created_at, \
                 expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $4)",
            )
            .bind(&session.id_hash)
            .bind(session.user.0)
            .bind(&session.csrf_token)
            .bind(at)
            .bind(session.expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, with its user, whatever its expiry (the
    /// caller applies its idle and absolute limits and deletes what has expired).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id_hash: String,
            csrf_token: String,
            s_created_at: DateTime<Utc>,
            expires_at: DateTime<Utc>,
            last_seen_at: DateTime<Utc>,
            #[sqlx(flatten)]
            user: UserRecord,
        }
        let row: Option<Row> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT s.id_hash, s.csrf_token, s.created_at AS s_created_at, s.expires_at, \
                 s.last_seen_at, u.id, u.email, u.display_name, u.role, u.password_hash, \
                 u.disabled, u.created_at, u.updated_at \
                 FROM console_sessions s JOIN console_users u ON u.id = s.user_id \
                 WHERE s.id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(|r| {
            Ok(Session {
                id_hash: r.id_hash,
                csrf_token: r.csrf_token,
                created_at: r.s_created_at,
                expires_at: r.expires_at,
                last_seen_at: r.last_seen_at,
                user: r.user.decode()?,
            })
        })
        .transpose()
    }

    /// Records that the session was used at `at` (idle expiry restarts).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<()> {
        with_pool!(self.store, pool => {
            sqlx::query("UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Deletes a session; `false` when there was none. Idempotent.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let done = with_pool!(self.store, pool => {
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Stores a new API token.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when the prefix is taken, [`Error::Database`].
    pub async fn create_token(&self, token: &NewApiToken) -> Result<ApiToken> {
        let at = now();
        let sql = format!(
            "INSERT INTO api_tokens (prefix, name, role, token_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        );
        let row: TokenRecord = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&token.prefix)
                .bind(&token.name)
                .bind(token.role.as_str())
                .bind(&token.token_hash)
                .bind(&token.created_by)
                .bind(at)
                .fetch_one(pool)
                .await
                .map_err(|e| unique_violation(e, "API token prefix", &token.prefix))?
        });
        row.decode()
    }

    /// The token with this lookup prefix, revoked or not.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn token_by_prefix(&self, prefix: &str) -> Result<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE prefix = $1");
        let row: Option<TokenRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(prefix).fetch_optional(pool).await?
        });
        row.map(TokenRecord::decode).transpose()
    }

    /// Every token, revoked ones included, by id.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn tokens(&self) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        let rows: Vec<TokenRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        rows.into_iter().map(TokenRecord::decode).collect()
    }

    /// Revokes a token; `None` for an unknown one. Revoking a revoked token keeps its first
    /// revocation time (idempotent).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn revoke_token(&self, id: TokenId) -> Result<Option<ApiToken>> {
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row: Option<TokenRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(now())
                .fetch_optional(pool)
                .await?
        });
        row.map(TokenRecord::decode).transpose()
    }

    /// Records that the token authenticated a request at `at`.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<()> {
        with_pool!(self.store, pool => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Looks up `key` for `principal` on `route` and, when it is new (or expired after
    /// [`IDEMPOTENCY_TTL`], or reserved without a response for [`IDEMPOTENCY_ABANDONED`]),
    /// reserves it for this request (`request_hash`: a hash of the
    /// request body). Safe under concurrency: of two requests with a new key, one gets
    /// [`IdempotencyBegin::New`] and the other [`IdempotencyBegin::InProgress`] (same body)
    /// or [`IdempotencyBegin::Mismatch`].
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn idempotency_begin(
        &self,
        principal: &str,
        route: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<IdempotencyBegin> {
        let at = now();
        let expired = at - IDEMPOTENCY_TTL;
        let found: Option<(String, Option<i64>, Option<String>)> = crate::store::with_tx!(self.store, tx => {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE principal = $1 AND route = $2 AND key = $3 \
                 AND (created_at <= $4 OR (response_status IS NULL AND created_at <= $5))",
            )
            .bind(principal)
            .bind(route)
            .bind(key)
            .bind(expired)
            .bind(at - IDEMPOTENCY_ABANDONED)
            .execute(&mut *tx)
            .await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (principal, route, key, request_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (principal, route, key) DO NOTHING",
            )
            .bind(principal)
            .bind(route)
            .bind(key)
            .bind(request_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 1 {
                None
            } else {
                sqlx::query_as(
                    "SELECT request_hash, response_status, response_body FROM idempotency_keys \
                     WHERE principal = $1 AND route = $2 AND key = $3",
                )
                .bind(principal)
                .bind(route)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
            }
        });
        Ok(match found {
            None => IdempotencyBegin::New,
            Some((hash, _, _)) if hash != request_hash => IdempotencyBegin::Mismatch,
            Some((_, Some(status), Some(body))) => IdempotencyBegin::Replay {
                status: u16::try_from(status).map_err(|_| Error::Corrupt {
                    column: "idempotency_keys.response_status",
                    detail: status.to_string(),
                })?,
                body,
            },
            Some((_, _, _)) => IdempotencyBegin::InProgress,
        })
    }

    /// Stores the response to a request that [`Accounts::idempotency_begin`] reserved.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn idempotency_complete(
        &self,
        principal: &str,
        route: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        with_pool!(self.store, pool => {
            sqlx::query(
                "UPDATE idempotency_keys SET response_status = $4, response_body = $5 \
                 WHERE principal = $1 AND route = $2 AND key = $3",
            )
            .bind(principal)
            .bind(route)
            .bind(key)
            .bind(i64::from(status))
            .bind(body)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Forgets a reservation whose request failed without an answer worth replaying (a
    /// server error), so a retry with the same key runs again.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn idempotency_release(&self, principal: &str, route: &str, key: &str) -> Result<()> {
        with_pool!(self.store, pool => {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE principal = $1 AND route = $2 AND key = $3 \
                 AND response_status IS NULL",
            )
            .bind(principal)
            .bind(route)
            .bind(key)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Deletes expired sessions (absolute expiry before `at`) and idempotency keys older than
    /// [`IDEMPOTENCY_TTL`]; returns how many rows went.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn prune(&self, at: DateTime<Utc>) -> Result<u64> {
        let (a, b) = with_pool!(self.store, pool => {
            let a = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(at)
                .execute(pool)
                .await?;
            let b = sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
                .bind(at - IDEMPOTENCY_TTL)
                .execute(pool)
                .await?;
            (a.rows_affected(), b.rows_affected())
        });
        Ok(a + b)
    }

    /// Whether the database answers (for `/readyz`); migrations are applied by
    /// [`Store::open`], so an open store that answers is ready.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn ping(&self) -> Result<()> {
        let _: i64 = with_pool!(self.store, pool => {
            sqlx::query_scalar("SELECT count(*) FROM console_users").fetch_one(pool).await?
        });
        Ok(())
    }
}
