//! Profile and email changes of managed accounts (the user management API's `profile` and
//! `email` resources). Lifecycle changes (deactivate, enable, delete) live in [`super::ops`].

use super::*;

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// Display name.
    pub name: Option<String>,
    /// Nickname (public name).
    pub nickname: Option<String>,
    /// IANA time zone (`zoneinfo`).
    pub time_zone: Option<String>,
    /// Locale (`en-US` or `en_US`; stored as `en_US`).
    pub locale: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Location.
    pub location: Option<String>,
}

impl ProfileUpdate {
    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        *self == ProfileUpdate::default()
    }
}

impl World {
    fn check_changeable(&self, ax: AccountIx) -> ModelResult<()> {
        if !self.is_managed(ax) {
            return Err(ModelError::NotManaged(self.account(ax).id.clone()));
        }
        if self.account(ax).source == ManagementSource::Synced {
            return Err(ModelError::AccountIdpSynced(self.account(ax).id.clone()));
        }
        Ok(())
    }

    /// Changes profile fields of a managed account. Refused for unmanaged and IdP-synced
    /// accounts (their profile comes from the identity provider).
    pub fn update_profile(
        &mut self,
        actor: AccountIx,
        ax: AccountIx,
        update: &ProfileUpdate,
    ) -> ModelResult<bool> {
        if update.is_empty() {
            return Ok(false);
        }
        self.check_changeable(ax)?;
        let a = &mut self.accounts[ax as usize];
        if let Some(v) = &update.name {
            a.name = v.trim().to_owned();
        }
        if let Some(v) = &update.nickname {
            a.nickname = v.trim().to_owned();
        }
        if let Some(v) = &update.time_zone {
            a.profile.time_zone = v.trim().to_owned();
        }
        if let Some(v) = &update.locale {
            a.locale = v.trim().replace('-', "_");
        }
        let opt = |v: &String| Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(v) = &update.job_title {
            a.profile.job_title = opt(v);
        }
        if let Some(v) = &update.department {
            a.profile.department = opt(v);
        }
        if let Some(v) = &update.organization {
            a.profile.organization = opt(v);
        }
        if let Some(v) = &update.location {
            a.profile.location = opt(v);
        }
        let msg = format!("Updated the profile of {}", self.account(ax).id);
        self.record_user(actor, "user_profile_updated", ax, msg);
        Ok(true)
    }

    /// Sets the email of a managed account. The new address must be plausible, on one of the
    /// org's verified domains (it is then considered verified) and not used by another account.
    pub fn set_email(&mut self, actor: AccountIx, ax: AccountIx, email: &str) -> ModelResult<bool> {
        let email = email.trim().to_lowercase();
        if !ops::is_plausible_email(&email) {
            return Err(ModelError::Invalid(format!(
                "{email} is not a valid email address."
            )));
        }
        self.check_changeable(ax)?;
        if !self.is_managed_email(&email) {
            return Err(ModelError::Invalid(format!(
                "The domain of {email} is not verified by this organization."
            )));
        }
        if self.account(ax).email.as_deref() == Some(email.as_str()) {
            return Ok(false);
        }
        if self
            .account_by_email(&email)
            .is_some_and(|other| other != ax)
        {
            return Err(ModelError::Invalid(format!(
                "{email} is already used by another account."
            )));
        }
        let old = self.accounts[ax as usize].email.replace(email.clone());
        self.accounts[ax as usize].email_verified = true;
        if let Some(old) = old
            && self.index.account_by_email.get(&old) == Some(&ax)
        {
            self.index.account_by_email.remove(&old);
        }
        self.index.account_by_email.insert(email.clone(), ax);
        let msg = format!("Changed the email of {} to {email}", self.account(ax).id);
        self.record_user(actor, "user_email_updated", ax, msg);
        Ok(true)
    }
}
