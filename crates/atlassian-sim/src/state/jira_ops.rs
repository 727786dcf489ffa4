//! Mutations that Jira's own REST API makes on the [`World`]: the site-level create and remove
//! user operations and project-role actors. They follow the contract of [`super::ops`]: rules
//! are checked before anything changes, repeating a successful call changes nothing more, and
//! each effective change records an audit event attributed to `actor`.

use super::ops::{is_plausible_email, user_ctx};
use super::*;

/// What `POST /rest/api/3/user` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JiraUserOutcome {
    /// A new Atlassian account was created (or an existing account joined this site) and was
    /// granted the requested products.
    Created(AccountIx),
    /// The account already was a user of this site's Jira with product access; nothing changed.
    Existing(AccountIx),
}

impl JiraUserOutcome {
    /// The account either way.
    pub fn account(self) -> AccountIx {
        match self {
            JiraUserOutcome::Created(ax) | JiraUserOutcome::Existing(ax) => ax,
        }
    }
}

impl World {
    /// The Jira-family resources (Jira, JSM, JPD) of a site, in product order.
    pub fn jira_resources(&self, site: SiteIx) -> Vec<ResourceIx> {
        Product::ALL
            .iter()
            .filter(|p| p.is_jira_family())
            .filter_map(|p| self.site_resource(site, *p))
            .collect()
    }

    /// Whether the account currently has product access (user or admin) to one of the site's
    /// Jira-family applications.
    pub fn has_jira_access(&self, ax: AccountIx, site: SiteIx) -> bool {
        self.jira_resources(site)
            .into_iter()
            .any(|rx| self.has_product_access(ax, rx))
    }

    /// Whether the account is part of the site's user base (what Jira's user endpoints list).
    pub fn is_site_account(&self, ax: AccountIx, site: SiteIx) -> bool {
        let a = self.account(ax);
        match a.kind {
            AccountType::Customer => a.customer_site == Some(site),
            AccountType::App => true,
            AccountType::Atlassian => a.directories.contains_key(&self.directory_of_site(site)),
        }
    }

    /// Jira's legacy `POST /rest/api/3/user`: makes `email` a user of the site and grants
    /// `atlassian/user` on each of `products` (Jira-family resources of `site`).
    ///
    /// - An account that is already on the site with Jira access is returned unchanged
    ///   ([`JiraUserOutcome::Existing`]); one on the site without Jira access is refused
    ///   ([`ModelError::Invalid`], Jira's documented 400).
    /// - Otherwise the account is created if needed, given membership of the site's directory,
    ///   and granted each product through [`World::grant_role`] (a direct role under centralized
    ///   user management, the product's default group under the original experience).
    /// - Every product's seats are checked before anything changes: one product over its
    ///   licence refuses the whole request ([`ModelError::LicenceExceeded`]).
    pub fn jira_create_user(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        email: &str,
        products: &[ResourceIx],
    ) -> ModelResult<JiraUserOutcome> {
        let email = email.trim().to_lowercase();
        if !is_plausible_email(&email) {
            return Err(ModelError::Invalid(format!(
                "{email} is not a valid email address."
            )));
        }
        for rx in products {
            if !self.resource(*rx).product.is_jira_family() || self.resource(*rx).site != Some(site)
            {
                return Err(ModelError::RoleNotAllowed {
                    role: Role::User.id().to_owned(),
                    resource: self.resource(*rx).ari(),
                });
            }
        }
        let dir = self.directory_of_site(site);
        let existing = self.account_by_email(&email);
        if let Some(ax) = existing {
            let account = self.account(ax);
            if account.kind != AccountType::Atlassian {
                return Err(ModelError::WrongAccountType(
                    account.id.clone(),
                    "portal-only customer",
                ));
            }
            if account.directories.contains_key(&dir) {
                if self.has_jira_access(ax, site) {
                    return Ok(JiraUserOutcome::Existing(ax));
                }
                return Err(ModelError::Invalid(format!(
                    "A user with email {email} already exists on this site but has no access to Jira."
                )));
            }
        }
        for rx in products {
            let has = existing.is_some_and(|ax| self.has_product_access(ax, *rx));
            if let Some(seats) = self.resource(*rx).seats
                && !has
                && self.seats_used(*rx) + 1 > seats
            {
                return Err(ModelError::LicenceExceeded {
                    product: self.resource(*rx).product.key(),
                });
            }
        }
        let ax = self.create_account(&email, None)?;
        self.accounts[ax as usize]
            .directories
            .entry(dir)
            .or_insert(Membership::Active);
        let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
        let msg = format!(
            "Created {email} as a user of site {} through Jira",
            self.site(site).name
        );
        self.record(
            actor,
            "user_invited",
            vec![user_ctx(self, ax)],
            container,
            msg,
        );
        for rx in products {
            self.grant_role(actor, ax, *rx, Role::User)?;
        }
        Ok(JiraUserOutcome::Created(ax))
    }

    /// Jira's `DELETE /rest/api/3/user`: removes the account from the site's Jira. Every role it
    /// holds directly on the site's Jira-family resources is revoked, it leaves every group of
    /// the site's directory that grants a Jira-family role on this site (including the
    /// products' default groups), and it stops being an actor of the site's project roles. The
    /// Atlassian account, its directory membership and its other products stay.
    ///
    /// Refused with [`ModelError::GroupIdpSynced`] (nothing changed) when one of those groups is
    /// synced from an identity provider; [`ModelError::NotFound`] when the account is not on the
    /// site.
    pub fn remove_from_jira(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        ax: AccountIx,
    ) -> ModelResult<bool> {
        if !self.is_site_account(ax, site) {
            return Err(ModelError::NotFound {
                what: "user",
                id: self.account(ax).id.clone(),
            });
        }
        let jira = self.jira_resources(site);
        let dir = self.directory_of_site(site);
        let groups: Vec<GroupIx> = self
            .account(ax)
            .groups
            .iter()
            .copied()
            .filter(|gx| {
                let g = self.group(*gx);
                !g.deleted && g.directory == dir && g.roles.iter().any(|(rx, _)| jira.contains(rx))
            })
            .collect();
        if let Some(gx) = groups.iter().find(|gx| self.group(**gx).external) {
            return Err(ModelError::GroupIdpSynced(self.group(*gx).id.clone()));
        }
        let mut changed = false;
        let direct: Vec<(ResourceIx, Role)> = self
            .account(ax)
            .direct_roles
            .iter()
            .copied()
            .filter(|(rx, _)| jira.contains(rx))
            .collect();
        for (rx, role) in direct {
            changed |= self.revoke_role(actor, ax, rx, role)?;
        }
        // A grant still waiting for its visibility delay must not resurface afterwards.
        self.deferred.retain(|d| !matches!(d.change, DeferredChange::Grant(a, rx, _) if a == ax && jira.contains(&rx)));
        for gx in groups {
            changed |= self.remove_member(actor, gx, ax)?;
        }
        let who = Actor::User(ax);
        let mut removed_from_roles = false;
        for project in &mut self.sites[site as usize].projects {
            for actors in project.role_actors.values_mut() {
                removed_from_roles |= actors.remove(&who);
            }
        }
        if removed_from_roles {
            let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
            let msg = format!(
                "Removed {} from the project roles of site {}",
                self.account(ax).id,
                self.site(site).name
            );
            self.record(
                actor,
                "project_role_actor_removed",
                vec![user_ctx(self, ax)],
                container,
                msg,
            );
            changed = true;
        }
        Ok(changed)
    }

    /// Adds actors to a project role of a project on `site` (`project` indexes
    /// [`Site::projects`]). Users must be Atlassian or app accounts of the site, groups live
    /// groups of the site's directory. Refused with [`ModelError::Invalid`] when an actor
    /// already holds the role (Jira answers 400 "already a member of the project role"); nothing
    /// changes then.
    pub fn add_project_role_actors(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        project: usize,
        role: u64,
        actors: &[Actor],
    ) -> ModelResult<bool> {
        self.check_project_role(site, project, role)?;
        for who in actors {
            self.check_role_actor(site, *who)?;
        }
        let current = self.sites[site as usize].projects[project]
            .role_actors
            .get(&role);
        if let Some(who) = actors
            .iter()
            .find(|a| current.is_some_and(|c| c.contains(a)))
        {
            return Err(ModelError::Invalid(format!(
                "'{}' is already a member of the project role.",
                self.actor_label(*who)
            )));
        }
        if actors.is_empty() {
            return Ok(false);
        }
        let set = self.sites[site as usize].projects[project]
            .role_actors
            .entry(role)
            .or_default();
        set.extend(actors.iter().copied());
        let key = self.site(site).projects[project].key.clone();
        let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
        for who in actors {
            let msg = format!(
                "Added {} to project role {role} of project {key}",
                self.actor_label(*who)
            );
            let ctx = vec![self.actor_ctx(*who)];
            self.record(
                actor,
                "project_role_actor_added",
                ctx,
                container.clone(),
                msg,
            );
        }
        Ok(true)
    }

    /// Removes one actor from a project role of a project on `site`. Refused with
    /// [`ModelError::NotFound`] when the actor does not hold the role.
    pub fn remove_project_role_actor(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        project: usize,
        role: u64,
        who: Actor,
    ) -> ModelResult<()> {
        self.check_project_role(site, project, role)?;
        let removed = self.sites[site as usize].projects[project]
            .role_actors
            .get_mut(&role)
            .is_some_and(|set| set.remove(&who));
        if !removed {
            return Err(ModelError::NotFound {
                what: "project role actor",
                id: self.actor_label(who),
            });
        }
        let key = self.site(site).projects[project].key.clone();
        let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
        let msg = format!(
            "Removed {} from project role {role} of project {key}",
            self.actor_label(who)
        );
        let ctx = vec![self.actor_ctx(who)];
        self.record(actor, "project_role_actor_removed", ctx, container, msg);
        Ok(())
    }

    fn check_project_role(&self, site: SiteIx, project: usize, role: u64) -> ModelResult<()> {
        if project >= self.site(site).projects.len() {
            return Err(ModelError::NotFound {
                what: "project",
                id: project.to_string(),
            });
        }
        if !crate::seed::PROJECT_ROLES.iter().any(|r| r.0 == role) {
            return Err(ModelError::NotFound {
                what: "project role",
                id: role.to_string(),
            });
        }
        Ok(())
    }

    fn check_role_actor(&self, site: SiteIx, who: Actor) -> ModelResult<()> {
        match who {
            Actor::User(ax) => {
                let a = self.account(ax);
                if a.kind == AccountType::Customer {
                    return Err(ModelError::WrongAccountType(
                        a.id.clone(),
                        "portal-only customer",
                    ));
                }
                if !self.is_site_account(ax, site) {
                    return Err(ModelError::NotFound {
                        what: "user",
                        id: a.id.clone(),
                    });
                }
                Ok(())
            }
            Actor::Group(gx) => {
                let g = self.group(gx);
                if g.deleted || g.directory != self.directory_of_site(site) {
                    return Err(ModelError::NotFound {
                        what: "group",
                        id: g.id.clone(),
                    });
                }
                Ok(())
            }
        }
    }

    fn actor_label(&self, who: Actor) -> String {
        match who {
            Actor::User(ax) => self.account(ax).id.clone(),
            Actor::Group(gx) => self.group(gx).name.clone(),
        }
    }
}
