//! The user management API (`https://api.atlassian.com/users/{account_id}/manage…`): what the
//! org may do to a **managed** account (one on a verified domain), its profile, email and API
//! tokens, and its lifecycle (disable, enable, delete, cancel the deletion).
//!
//! Authenticated with the org API key, which must be a key **without scopes** (scoped keys get
//! 403). Accounts the org does not manage answer 403 `forbidden.targetUnverified`; unknown
//! accounts 404 (`accountNotFound`). Errors carry Atlassian's `key` as [`Error::code`].
//!
//! Every operation here is idempotent: lifecycle calls set a state, so repeating one after an
//! ambiguous failure cannot apply it twice, and the transport retries them.
//!
//! ```no_run
//! # async fn demo(client: atlassian_client::Client) -> Result<(), atlassian_client::Error> {
//! use atlassian_client::models::user_management::Privilege;
//! let um = client.user_management();
//! let account = "712020:4f9acfd2-6155-419b-8de5-5b5cf27a59a0";
//! let privileges = um.privileges(account, &[Privilege::LifecycleEnablement]).await?;
//! if privileges.lifecycle_enablement.is_some_and(|rule| rule.allowed) {
//!     um.disable(account, Some("Left the company")).await?;
//! }
//! # Ok(()) }
//! ```

use reqwest::Method;

use crate::client::{Call, segment};
use crate::error::Result;
use crate::family::{Family, Scope};
use crate::models::user_management::{
    ApiToken, DisableBody, EmailBody, Privilege, Privileges, Profile, ProfileEnvelope,
    ProfileUpdate,
};
use crate::{Client, Error};

/// Handler of the user management API. Get one with [`Client::user_management`].
#[derive(Debug, Clone)]
pub struct UserManagementApi<'a> {
    pub(crate) client: &'a Client,
}

impl Client {
    /// The user management API (account lifecycle of managed accounts), with the org API key.
    pub fn user_management(&self) -> UserManagementApi<'_> {
        UserManagementApi { client: self }
    }
}

impl<'a> UserManagementApi<'a> {
    /// A call on `https://api.atlassian.com/users/{account_id}/manage<suffix>`.
    fn call(
        &self,
        method: Method,
        route: &'static str,
        account_id: &str,
        suffix: &str,
    ) -> Result<Call> {
        if account_id.trim().is_empty() {
            return Err(Error::InvalidInput("an account id is required".into()));
        }
        let url = self
            .client
            .api_url(&format!("/users/{}/manage{suffix}", segment(account_id)))?;
        Ok(Call::new(
            Family::UserManagement,
            Scope::Org,
            method,
            route,
            url,
        ))
    }

    /// What the org key may do to the account (`GET /users/{account_id}/manage`): the
    /// `privileges` asked for, or every privilege when `privileges` is empty. Read-only.
    pub async fn privileges(
        &self,
        account_id: &str,
        privileges: &[Privilege],
    ) -> Result<Privileges> {
        let mut call = self.call(Method::GET, "/users/{account_id}/manage", account_id, "")?;
        for privilege in privileges {
            call = call.query("privileges", privilege);
        }
        self.client.json(call).await
    }

    /// The account's profile (`GET /users/{account_id}/manage/profile`). Read-only.
    pub async fn profile(&self, account_id: &str) -> Result<Profile> {
        let call = self.call(
            Method::GET,
            "/users/{account_id}/manage/profile",
            account_id,
            "/profile",
        )?;
        let body: ProfileEnvelope = self.client.json(call).await?;
        Ok(body.account)
    }

    /// Changes profile fields (`PATCH /users/{account_id}/manage/profile`) and returns the
    /// profile after the change. Only the fields set in `update` are sent; which fields may
    /// change is what [`Privileges::profile_write`] reports (IdP-synced accounts: none, 403
    /// `forbidden.fieldMutation`). Idempotent: it sets values.
    pub async fn update_profile(
        &self,
        account_id: &str,
        update: &ProfileUpdate,
    ) -> Result<Profile> {
        if update.is_empty() {
            return Err(Error::InvalidInput(
                "a profile update needs at least one field".into(),
            ));
        }
        let call = self
            .call(
                Method::PATCH,
                "/users/{account_id}/manage/profile",
                account_id,
                "/profile",
            )?
            .json(update)?
            .idempotent();
        let body: ProfileEnvelope = self.client.json(call).await?;
        Ok(body.account)
    }

    /// Sets the account's email (`PUT /users/{account_id}/manage/email`). The address must be
    /// on one of the org's verified domains (else 403 `forbidden.unclaimedDomain`) and unused
    /// by any other account. Idempotent.
    pub async fn set_email(&self, account_id: &str, email: &str) -> Result<()> {
        if email.trim().is_empty() {
            return Err(Error::InvalidInput("an email address is required".into()));
        }
        let call = self
            .call(
                Method::PUT,
                "/users/{account_id}/manage/email",
                account_id,
                "/email",
            )?
            .json(&EmailBody { email })?;
        self.client.empty(call).await
    }

    /// The account's API tokens (`GET /users/{account_id}/manage/api-tokens`). Read-only.
    pub async fn api_tokens(&self, account_id: &str) -> Result<Vec<ApiToken>> {
        let call = self.call(
            Method::GET,
            "/users/{account_id}/manage/api-tokens",
            account_id,
            "/api-tokens",
        )?;
        self.client.json(call).await
    }

    /// Deletes (revokes) one API token of the account
    /// (`DELETE /users/{account_id}/manage/api-tokens/{tokenId}`). Idempotent in effect; a
    /// token that no longer exists answers 404.
    pub async fn delete_api_token(&self, account_id: &str, token_id: &str) -> Result<()> {
        if token_id.trim().is_empty() {
            return Err(Error::InvalidInput("a token id is required".into()));
        }
        let call = self.call(
            Method::DELETE,
            "/users/{account_id}/manage/api-tokens/{tokenId}",
            account_id,
            &format!("/api-tokens/{}", segment(token_id)),
        )?;
        self.client.empty(call).await
    }

    /// Deactivates the account everywhere (`POST …/lifecycle/disable`, 204), with an optional
    /// message for the audit log: it can no longer log in and stops being billed. Org admins
    /// cannot be disabled (409 `conflict.lifecycleErrors`). Idempotent: disabling a disabled
    /// account changes nothing.
    pub async fn disable(&self, account_id: &str, message: Option<&str>) -> Result<()> {
        let call = self
            .call(
                Method::POST,
                "/users/{account_id}/manage/lifecycle/disable",
                account_id,
                "/lifecycle/disable",
            )?
            // The spec requires a body; `{}` when there is no message.
            .json(&DisableBody { message })?
            .idempotent();
        self.client.empty(call).await
    }

    /// Re-activates a deactivated account (`POST …/lifecycle/enable`, 204). A pending deletion
    /// must be cancelled first (409). Idempotent.
    pub async fn enable(&self, account_id: &str) -> Result<()> {
        let call = self
            .call(
                Method::POST,
                "/users/{account_id}/manage/lifecycle/enable",
                account_id,
                "/lifecycle/enable",
            )?
            .idempotent();
        self.client.empty(call).await
    }

    /// Schedules the account's deletion (`POST …/lifecycle/delete`): it is deactivated at once
    /// and deleted for good after a 14-day grace period, during which
    /// [`cancel_delete`](Self::cancel_delete) restores it. Org admins cannot be deleted (409).
    /// Idempotent: a pending deletion stays as it is.
    pub async fn delete(&self, account_id: &str) -> Result<()> {
        let call = self
            .call(
                Method::POST,
                "/users/{account_id}/manage/lifecycle/delete",
                account_id,
                "/lifecycle/delete",
            )?
            .idempotent();
        self.client.empty(call).await
    }

    /// Cancels a pending deletion, restoring and re-activating the account
    /// (`POST …/lifecycle/cancel-delete`). Idempotent.
    pub async fn cancel_delete(&self, account_id: &str) -> Result<()> {
        let call = self
            .call(
                Method::POST,
                "/users/{account_id}/manage/lifecycle/cancel-delete",
                account_id,
                "/lifecycle/cancel-delete",
            )?
            .idempotent();
        self.client.empty(call).await
    }
}
