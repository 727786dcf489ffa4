//! Creating console users outside the API: the first admin when there is none, and the
//! sandbox's demo people.

use secrecy::{ExposeSecret, SecretString};
use steward_store::{NewUser, Role, User};

use crate::auth::random_token;
use crate::error::ApiError;
use crate::state::AppState;

/// What [`ensure_admin`] did.
#[derive(Debug)]
pub enum Bootstrap {
    /// An enabled admin already exists: nothing changed.
    AdminExists,
    /// The admin was created; `generated` holds the password when none was given (print it
    /// once, it is not stored anywhere in plaintext).
    Created {
        /// The new admin.
        user: User,
        /// The generated password, if one was generated.
        generated: Option<SecretString>,
    },
}

/// Creates an admin with `email` when no enabled admin exists, with `password` or a random
/// one. Idempotent: with an admin present it does nothing.
///
/// # Errors
/// A store error, or 409 when `email` exists but is not an enabled admin.
pub async fn ensure_admin(
    state: &AppState,
    email: &str,
    password: Option<SecretString>,
) -> Result<Bootstrap, ApiError> {
    if state.store().accounts().enabled_admins().await? > 0 {
        return Ok(Bootstrap::AdminExists);
    }
    crate::api::admin::check_email(email)?;
    let (password, generated) = match password {
        Some(p) => (p, None),
        None => {
            let p = SecretString::from(random_token(18));
            (p.clone(), Some(p))
        }
    };
    let user = create_user(state, email, "Administrator", Role::Admin, &password).await?;
    Ok(Bootstrap::Created { user, generated })
}

/// Creates a console user with a password.
///
/// # Errors
/// A store error (409 when the email is taken).
pub async fn create_user(
    state: &AppState,
    email: &str,
    display_name: &str,
    role: Role,
    password: &SecretString,
) -> Result<User, ApiError> {
    let hash = state.passwords().hash(password.expose_secret())?;
    Ok(state
        .store()
        .accounts()
        .create_user(&NewUser {
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            role,
            password_hash: Some(hash),
        })
        .await?)
}
