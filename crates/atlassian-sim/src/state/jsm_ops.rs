//! Mutations that the Jira Service Management REST API makes on the [`World`]: service-desk
//! customers, JSM customer organizations, and revoking a portal-only customer's portal login.
//! They follow the contract of [`super::ops`]: rules are checked before anything changes,
//! repeating a successful call changes nothing more, and each effective change records an audit
//! event attributed to `actor`.
//!
//! Customer access: adding an Atlassian account (not a portal-only customer) to a service desk
//! grants it `atlassian/customer` on the site's JSM resource, unless it already holds a JSM
//! role that covers the portal (user, admin or customer); this is how the "Atlassian accounts
//! with customer access" of the access model come to be. Removing it from the last desk of the
//! site it was a customer of revokes the direct `atlassian/customer` assignment again.

use super::ops::user_ctx;
use super::*;

/// Longest JSM organization name (the spec: "Must contain 1-200 characters").
pub const JSM_ORG_NAME_MAX: usize = 200;

fn site_ctx(w: &World, site: SiteIx) -> Vec<(String, String)> {
    vec![(w.site(site).cloud_id.clone(), "sites".to_owned())]
}

fn org_ctx(id: u64) -> (String, String) {
    (id.to_string(), "organizations".to_owned())
}

impl World {
    /// Records an audit event in the container of `site`.
    fn record_on_site(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        action: &str,
        context: Vec<(String, String)>,
        message: String,
    ) {
        let container = site_ctx(self, site);
        self.record(actor, action, context, container, message);
    }

    /// Checks that an account can be a JSM customer or organization member on `site`: a
    /// portal-only customer of this site, or an Atlassian account. Apps are refused.
    pub fn check_jsm_customer(&self, site: SiteIx, ax: AccountIx) -> ModelResult<()> {
        let a = self.account(ax);
        match a.kind {
            AccountType::Customer if a.customer_site == Some(site) => Ok(()),
            AccountType::Customer => Err(ModelError::NotFound {
                what: "user",
                id: a.id.clone(),
            }),
            AccountType::App => Err(ModelError::WrongAccountType(a.id.clone(), "app")),
            AccountType::Atlassian if a.status == AccountStatus::Closed => {
                Err(ModelError::NotFound {
                    what: "user",
                    id: a.id.clone(),
                })
            }
            AccountType::Atlassian => Ok(()),
        }
    }

    fn jsm_desk(&self, site: SiteIx, desk: usize) -> ModelResult<()> {
        if desk < self.site(site).service_desks.len() {
            Ok(())
        } else {
            Err(ModelError::NotFound {
                what: "service desk",
                id: desk.to_string(),
            })
        }
    }

    /// The index in [`Site::jsm_orgs`] of the live JSM organization with this id.
    pub fn jsm_org_ix(&self, site: SiteIx, id: u64) -> ModelResult<usize> {
        self.site(site)
            .jsm_orgs
            .iter()
            .position(|o| o.id == id && !o.deleted)
            .ok_or_else(|| ModelError::NotFound {
                what: "organization",
                id: id.to_string(),
            })
    }

    /// Adds customers to a service desk (`desk` indexes [`Site::service_desks`]). Accounts
    /// already on the desk are skipped. Atlassian accounts without JSM access get
    /// `atlassian/customer` on the site's JSM resource (see the module docs).
    pub fn add_desk_customers(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        desk: usize,
        accounts: &[AccountIx],
    ) -> ModelResult<bool> {
        self.jsm_desk(site, desk)?;
        for ax in accounts {
            self.check_jsm_customer(site, *ax)?;
        }
        let jsm = self.site_resource(site, Product::JiraServiceDesk);
        let mut changed = false;
        for ax in accounts {
            if !self.sites[site as usize].service_desks[desk]
                .customers
                .insert(*ax)
            {
                continue;
            }
            changed = true;
            let d = &self.site(site).service_desks[desk];
            let msg = format!(
                "Added {} as a customer of service desk {}",
                self.account(*ax).id,
                d.project_key
            );
            let ctx = vec![user_ctx(self, *ax)];
            self.record_on_site(actor, site, "jsm_customer_added", ctx, msg);
            if let Some(rx) = jsm
                && self.account(*ax).kind == AccountType::Atlassian
                && ![Role::User, Role::Admin, Role::Customer]
                    .iter()
                    .any(|r| self.holds(*ax, rx, *r))
            {
                self.grant_role(actor, *ax, rx, Role::Customer)?;
            }
        }
        Ok(changed)
    }

    /// Removes customers from a service desk. Refused ([`ModelError::Invalid`]) unless the desk
    /// has closed access, as JSM documents. Accounts not on the desk are ignored.
    pub fn remove_desk_customers(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        desk: usize,
        accounts: &[AccountIx],
    ) -> ModelResult<bool> {
        self.jsm_desk(site, desk)?;
        if !self.site(site).service_desks[desk].closed_access {
            return Err(ModelError::Invalid(
                "Customers can only be removed from a service desk that has closed access (no public signup).".to_owned(),
            ));
        }
        let jsm = self.site_resource(site, Product::JiraServiceDesk);
        let mut changed = false;
        for ax in accounts {
            if !self.sites[site as usize].service_desks[desk]
                .customers
                .remove(ax)
            {
                continue;
            }
            changed = true;
            let d = &self.site(site).service_desks[desk];
            let msg = format!(
                "Removed {} as a customer of service desk {}",
                self.account(*ax).id,
                d.project_key
            );
            let ctx = vec![user_ctx(self, *ax)];
            self.record_on_site(actor, site, "jsm_customer_removed", ctx, msg);
            let still_customer = self
                .site(site)
                .service_desks
                .iter()
                .any(|d| d.customers.contains(ax));
            if let Some(rx) = jsm
                && !still_customer
                && self.account(*ax).kind == AccountType::Atlassian
                && self
                    .account(*ax)
                    .direct_roles
                    .contains(&(rx, Role::Customer))
            {
                self.revoke_role(actor, *ax, rx, Role::Customer)?;
            }
        }
        Ok(changed)
    }

    /// Creates a JSM customer organization. Names have 1–200 characters and are unique on the
    /// site (case-insensitively).
    pub fn create_jsm_org(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        name: &str,
    ) -> ModelResult<u64> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > JSM_ORG_NAME_MAX {
            return Err(ModelError::Invalid(format!(
                "An organization name must contain 1-{JSM_ORG_NAME_MAX} characters."
            )));
        }
        if self
            .site(site)
            .jsm_orgs
            .iter()
            .any(|o| !o.deleted && o.name.eq_ignore_ascii_case(name))
        {
            return Err(ModelError::Invalid(format!(
                "An organization named '{name}' already exists."
            )));
        }
        let id = self.next_site_id(site);
        self.sites[site as usize].jsm_orgs.push(JsmOrganization {
            id,
            name: name.to_owned(),
            members: Default::default(),
            deleted: false,
        });
        let msg = format!("Created JSM organization {name}");
        self.record_on_site(
            actor,
            site,
            "jsm_organization_created",
            vec![org_ctx(id)],
            msg,
        );
        Ok(id)
    }

    /// Deletes a JSM organization (regardless of its service-desk associations, which go too).
    pub fn delete_jsm_org(&mut self, actor: AccountIx, site: SiteIx, id: u64) -> ModelResult<()> {
        let ix = self.jsm_org_ix(site, id)?;
        let s = &mut self.sites[site as usize];
        s.jsm_orgs[ix].deleted = true;
        s.jsm_orgs[ix].members.clear();
        for desk in &mut s.service_desks {
            desk.organizations.remove(&id);
        }
        let msg = format!(
            "Deleted JSM organization {}",
            self.site(site).jsm_orgs[ix].name
        );
        self.record_on_site(
            actor,
            site,
            "jsm_organization_deleted",
            vec![org_ctx(id)],
            msg,
        );
        Ok(())
    }

    /// Adds members to a JSM organization. Every account is checked first
    /// ([`World::check_jsm_customer`]); members already in it are skipped.
    pub fn add_jsm_org_members(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        id: u64,
        accounts: &[AccountIx],
    ) -> ModelResult<bool> {
        let ix = self.jsm_org_ix(site, id)?;
        for ax in accounts {
            self.check_jsm_customer(site, *ax)?;
        }
        let mut changed = false;
        for ax in accounts {
            if self.sites[site as usize].jsm_orgs[ix].members.insert(*ax) {
                changed = true;
                let msg = format!(
                    "Added {} to JSM organization {}",
                    self.account(*ax).id,
                    self.site(site).jsm_orgs[ix].name
                );
                let ctx = vec![user_ctx(self, *ax), org_ctx(id)];
                self.record_on_site(actor, site, "jsm_organization_member_added", ctx, msg);
            }
        }
        Ok(changed)
    }

    /// Removes members from a JSM organization; accounts not in it are ignored.
    pub fn remove_jsm_org_members(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        id: u64,
        accounts: &[AccountIx],
    ) -> ModelResult<bool> {
        let ix = self.jsm_org_ix(site, id)?;
        let mut changed = false;
        for ax in accounts {
            if self.sites[site as usize].jsm_orgs[ix].members.remove(ax) {
                changed = true;
                let msg = format!(
                    "Removed {} from JSM organization {}",
                    self.account(*ax).id,
                    self.site(site).jsm_orgs[ix].name
                );
                let ctx = vec![user_ctx(self, *ax), org_ctx(id)];
                self.record_on_site(actor, site, "jsm_organization_member_removed", ctx, msg);
            }
        }
        Ok(changed)
    }

    /// Associates a JSM organization with a service desk.
    pub fn attach_jsm_org(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        desk: usize,
        id: u64,
    ) -> ModelResult<bool> {
        self.jsm_desk(site, desk)?;
        self.jsm_org_ix(site, id)?;
        if !self.sites[site as usize].service_desks[desk]
            .organizations
            .insert(id)
        {
            return Ok(false);
        }
        let msg = format!(
            "Added JSM organization {id} to service desk {}",
            self.site(site).service_desks[desk].project_key
        );
        self.record_on_site(
            actor,
            site,
            "jsm_organization_added_to_service_desk",
            vec![org_ctx(id)],
            msg,
        );
        Ok(true)
    }

    /// Removes a JSM organization from a service desk; an organization not associated with the
    /// desk is a success that changes nothing (the organization itself must exist).
    pub fn detach_jsm_org(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        desk: usize,
        id: u64,
    ) -> ModelResult<bool> {
        self.jsm_desk(site, desk)?;
        self.jsm_org_ix(site, id)?;
        if !self.sites[site as usize].service_desks[desk]
            .organizations
            .remove(&id)
        {
            return Ok(false);
        }
        let msg = format!(
            "Removed JSM organization {id} from service desk {}",
            self.site(site).service_desks[desk].project_key
        );
        self.record_on_site(
            actor,
            site,
            "jsm_organization_removed_from_service_desk",
            vec![org_ctx(id)],
            msg,
        );
        Ok(true)
    }

    /// Revokes a portal-only customer's portal login (the deprovision of portal-only
    /// customers): the customer account is deactivated and shows `active: false`. Refused
    /// ([`ModelError::WrongAccountType`]) for Atlassian and app accounts, whose access is
    /// managed through roles instead.
    pub fn revoke_portal_only_access(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        ax: AccountIx,
    ) -> ModelResult<bool> {
        let a = self.account(ax);
        match a.kind {
            AccountType::Customer if a.customer_site == Some(site) => {}
            AccountType::Customer => {
                return Err(ModelError::NotFound {
                    what: "user",
                    id: a.id.clone(),
                });
            }
            AccountType::Atlassian => {
                return Err(ModelError::WrongAccountType(
                    a.id.clone(),
                    "regular Atlassian",
                ));
            }
            AccountType::App => return Err(ModelError::WrongAccountType(a.id.clone(), "app")),
        }
        if a.status != AccountStatus::Active {
            return Ok(false);
        }
        let a = &mut self.accounts[ax as usize];
        a.status = AccountStatus::Inactive;
        a.deactivated_on = Some(now());
        let msg = format!("Revoked portal-only access of {}", self.account(ax).id);
        self.record_on_site(
            actor,
            site,
            "jsm_customer_portal_access_revoked",
            vec![user_ctx(self, ax)],
            msg,
        );
        Ok(true)
    }
}
