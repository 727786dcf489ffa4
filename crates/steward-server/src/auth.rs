//! Authentication and authorization: who is calling ([`Principal`]), found by an
//! [`Authenticator`] (API tokens, session cookies; OIDC later adds its own), and whether their
//! [`Role`] reaches the least role a route declares.
//!
//! Secrets the client holds (session ids, API tokens) are stored as SHA-256 hex only;
//! passwords as argon2id PHC strings. A failed sign-in always costs one argon2 verification
//! (against a dummy hash when the user is unknown), so its timing and its answer say nothing
//! about which part was wrong.

use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use sha2::{Digest, Sha256};
use steward_store::{ApiToken, Role, Session, Store, TokenId, UserId};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorCode};

/// The session cookie's name when it is `Secure` (the `__Host-` prefix makes browsers insist
/// on `Secure`, `Path=/` and no `Domain`).
pub const SESSION_COOKIE: &str = "__Host-steward_session";
/// The session cookie's name on plain-http loopback (browsers refuse `__Host-` without
/// `Secure`).
pub const SESSION_COOKIE_INSECURE: &str = "steward_session";
/// The header carrying the CSRF token on cookie-authenticated mutating requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// What every API token starts with.
pub const TOKEN_PREFIX: &str = "stw_";
/// Hex digits of a token's public lookup part.
const LOOKUP_LEN: usize = 12;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl Default for PasswordParams {
    /// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        PasswordParams {
            m_cost: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// How sign-in and sessions behave.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session unused this long ends (default 30 min).
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in whatever its use (default 12 h).
    pub absolute_timeout: Duration,
    /// Mark the cookie `Secure` and use the `__Host-` name. Off only on plain-http loopback.
    pub secure_cookie: bool,
    /// argon2id costs for new password hashes.
    pub password: PasswordParams,
    /// Sign-in attempts allowed per minute per (client IP, email); the burst is the same.
    pub sign_in_per_minute: NonZeroU32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            secure_cookie: true,
            password: PasswordParams::default(),
            sign_in_per_minute: NonZeroU32::MIN.saturating_add(4),
        }
    }
}

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A console session (cookie); mutating requests need its CSRF token.
    Session {
        /// The user.
        user: UserId,
        /// SHA-256 hex of the session id.
        id_hash: String,
        /// The CSRF token.
        csrf_token: String,
    },
    /// An API token.
    Token {
        /// The token.
        id: TokenId,
    },
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// A stable name for audit and idempotency: the user's email, or `token:<name>#<id>`.
    pub name: String,
    /// The role.
    pub role: Role,
    /// How they authenticated.
    pub credential: Credential,
}

/// What an authenticator needs to look at.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The store.
    pub store: &'a Store,
    /// The configuration.
    pub config: &'a AuthConfig,
}

/// A boxed future returned by [`Authenticator::authenticate`].
pub type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Principal>, ApiError>> + Send + 'a>>;

/// One way of authenticating a request. `Ok(None)`: this authenticator's credential is not
/// present (the next one is tried); `Err`: it is present but invalid (the request is refused,
/// no other authenticator is tried).
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// Authenticates `request`.
    fn authenticate<'a>(&'a self, request: AuthRequest<'a>) -> AuthFuture<'a>;
}

/// `Authorization: Bearer stw_…` API tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerTokens;

/// Session cookies set by `POST /api/v1/session`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionCookies;

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

impl Authenticator for BearerTokens {
    fn authenticate<'a>(&'a self, request: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let Some(value) = request.headers.get(header::AUTHORIZATION) else {
                return Ok(None);
            };
            let bad = || {
                unauthenticated(
                    "the Authorization header must be `Bearer stw_…` with a valid, unrevoked API token",
                )
            };
            let value = value.to_str().map_err(|_| bad())?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or_else(bad)?
                .trim();
            let lookup = token_lookup(token).ok_or_else(bad)?;
            let stored = request
                .store
                .accounts()
                .token_by_prefix(lookup)
                .await?
                .ok_or_else(bad)?;
            let presented = sha256_hex(token.as_bytes());
            let matches: bool = presented
                .as_bytes()
                .ct_eq(stored.token_hash.as_bytes())
                .into();
            if !matches || stored.revoked_at.is_some() {
                return Err(bad());
            }
            request
                .store
                .accounts()
                .touch_token(stored.id, Utc::now())
                .await?;
            Ok(Some(token_principal(&stored)))
        })
    }
}

fn token_principal(token: &ApiToken) -> Principal {
    Principal {
        name: format!("token:{}#{}", token.name, token.id),
        role: token.role,
        credential: Credential::Token { id: token.id },
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The session cookie's name under `config`.
pub fn session_cookie_name(config: &AuthConfig) -> &'static str {
    if config.secure_cookie {
        SESSION_COOKIE
    } else {
        SESSION_COOKIE_INSECURE
    }
}

/// Whether `session` is still valid at `now` under `config` (idle and absolute limits).
pub fn session_is_live(session: &Session, config: &AuthConfig, now: DateTime<Utc>) -> bool {
    // An idle timeout too large to add never ends a session by idleness.
    let idle_ok = chrono::Duration::from_std(config.idle_timeout)
        .ok()
        .and_then(|idle| session.last_seen_at.checked_add_signed(idle))
        .is_none_or(|end| end > now);
    !session.user.disabled && session.expires_at > now && idle_ok
}

impl Authenticator for SessionCookies {
    fn authenticate<'a>(&'a self, request: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let Some(id) = cookie(request.headers, session_cookie_name(request.config)) else {
                return Ok(None);
            };
            let expired = || unauthenticated("the session has expired or ended: sign in again");
            let id_hash = sha256_hex(id.as_bytes());
            let accounts = request.store.accounts();
            let session = accounts.session(&id_hash).await?.ok_or_else(expired)?;
            let now = Utc::now();
            if !session_is_live(&session, request.config, now) {
                accounts.delete_session(&id_hash).await?;
                return Err(expired());
            }
            if now - session.last_seen_at >= chrono::TimeDelta::seconds(1) {
                accounts.touch_session(&id_hash, now).await?;
            }
            Ok(Some(Principal {
                name: session.user.email.clone(),
                role: session.user.role,
                credential: Credential::Session {
                    user: session.user.id,
                    id_hash,
                    csrf_token: session.csrf_token,
                },
            }))
        })
    }
}

/// Runs `authenticators` in order; the first that recognises its credential decides.
///
/// # Errors
/// [`ErrorCode::Unauthenticated`] when none finds a credential or one finds it invalid.
pub async fn authenticate(
    authenticators: &[Arc<dyn Authenticator>],
    request: AuthRequest<'_>,
) -> Result<Principal, ApiError> {
    for a in authenticators {
        if let Some(p) = a.authenticate(request).await? {
            return Ok(p);
        }
    }
    Err(unauthenticated(
        "authentication required: send `Authorization: Bearer stw_…` (an API token) or sign in with POST /api/v1/session",
    ))
}

/// Checks what a route demands of `principal`: at least `least`, and the CSRF token on a
/// cookie-authenticated mutating request.
///
/// # Errors
/// [`ErrorCode::Forbidden`], [`ErrorCode::CsrfFailed`].
pub fn authorize(
    principal: &Principal,
    least: Role,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if principal.role < least {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "this needs the {least} role or higher; you are {}",
                principal.role
            ),
        ));
    }
    if let Credential::Session { csrf_token, .. } = &principal.credential
        && is_mutating(method)
    {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let ok: bool = sent.as_bytes().ct_eq(csrf_token.as_bytes()).into();
        if sent.is_empty() || !ok {
            return Err(ApiError::new(
                ErrorCode::CsrfFailed,
                "a signed-in browser request that changes something must send the X-CSRF-Token header with the token from sign-in",
            ));
        }
    }
    Ok(())
}

/// Whether `method` may change something (everything but GET, HEAD, OPTIONS).
pub fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `n` random bytes from the thread's CSPRNG, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token: `(token, lookup prefix, sha256 hex)`. The token is
/// `stw_<12 hex lookup>_<43 chars base64url secret>` and is shown once.
pub fn new_api_token() -> (String, String, String) {
    let mut lookup = [0u8; LOOKUP_LEN / 2];
    rand::rng().fill_bytes(&mut lookup);
    let lookup = hex::encode(lookup);
    let token = format!("{TOKEN_PREFIX}{lookup}_{}", random_token(32));
    let hash = sha256_hex(token.as_bytes());
    (token, lookup, hash)
}

/// The lookup part of a well-formed token.
fn token_lookup(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let lookup = rest.get(..LOOKUP_LEN)?;
    let secret = rest.get(LOOKUP_LEN..)?.strip_prefix('_')?;
    (lookup.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty()).then_some(lookup)
}

/// Password hashing and verification with argon2id.
#[derive(Debug, Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of a random password, verified against when the user is unknown.
    dummy: String,
}

impl Passwords {
    /// Hasher with `params`.
    ///
    /// # Errors
    /// [`ErrorCode::Internal`] when the parameters are out of argon2's range.
    pub fn new(params: PasswordParams) -> Result<Self, ApiError> {
        let params = Params::new(params.m_cost, params.t_cost, params.p_cost, None)
            .map_err(|e| ApiError::internal(&e))?;
        let mut me = Passwords {
            params,
            dummy: String::new(),
        };
        me.dummy = me.hash(&random_token(24))?;
        Ok(me)
    }

    /// An argon2id PHC string of `password` with a random salt.
    ///
    /// # Errors
    /// [`ErrorCode::Internal`] if hashing fails.
    pub fn hash(&self, password: &str) -> Result<String, ApiError> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(&e))
    }

    /// Whether `password` matches `phc`; with `None` (unknown user, no password) it verifies
    /// against a dummy hash and returns `false`, taking the same time.
    pub fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        let argon = Argon2::default();
        match phc {
            Some(phc) => argon.verify_password(password.as_bytes(), phc).is_ok(),
            None => {
                let _ = argon.verify_password(password.as_bytes(), self.dummy.as_str());
                false
            }
        }
    }
}

/// Sign-in attempts per (client IP, lowercased email).
#[derive(Debug)]
pub struct SignInLimiter {
    limiter: DefaultKeyedRateLimiter<(IpAddr, String)>,
}

impl SignInLimiter {
    /// `per_minute` attempts per minute per key, as a burst.
    pub fn new(per_minute: NonZeroU32) -> Self {
        SignInLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Takes one attempt for `(ip, email)`.
    ///
    /// # Errors
    /// [`ErrorCode::RateLimited`] when the key has no attempts left.
    pub fn check(&self, ip: IpAddr, email: &str) -> Result<(), ApiError> {
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&(ip, email.to_ascii_lowercase()))
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::RateLimited,
                    "too many sign-in attempts for this email from this address: wait a minute and try again",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_have_a_hex_lookup_and_parse_back() {
        let (token, lookup, hash) = new_api_token();
        assert!(token.starts_with("stw_"));
        assert_eq!(token_lookup(&token), Some(lookup.as_str()));
        assert_eq!(hash, sha256_hex(token.as_bytes()));
        assert_eq!(token_lookup("stw_short"), None);
        assert_eq!(token_lookup("stw_zzzzzzzzzzzz_secret"), None);
        assert_eq!(token_lookup("stw_0123456789ab_"), None);
    }

    #[test]
    fn passwords_verify_and_unknown_users_never_match() {
        let p = Passwords::new(PasswordParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        })
        .unwrap();
        let h = p.hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(p.verify("correct horse", Some(&h)));
        assert!(!p.verify("wrong", Some(&h)));
        assert!(!p.verify("correct horse", None));
        assert!(!p.verify("x", Some("not a phc string")));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; steward_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "steward_session"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
