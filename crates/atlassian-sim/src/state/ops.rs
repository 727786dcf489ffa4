//! Mutations of the [`World`]. Every API family calls these, never touching the data directly,
//! so the documented rules hold whichever API makes the change.
//!
//! Contract shared by every operation here:
//! - it checks its rules first and changes nothing when it returns an error;
//! - it is idempotent: repeating a successful call changes nothing more and returns
//!   `Ok(false)` ("already a member" and "not a member" are successes);
//! - it records one audit [`Event`](super::Event) per effective change, attributed to `actor`.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::*;

/// One role to grant when inviting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionRule {
    /// Where.
    pub resource: ResourceIx,
    /// Which role.
    pub role: Role,
}

/// Outcome of inviting one email.
#[derive(Debug, Clone)]
pub struct InviteOutcome {
    /// The (new or existing) account.
    pub account: AccountIx,
    /// Whether the account was created by this invite.
    pub created: bool,
    /// Per rule: `Ok(())` or the reason it failed.
    pub roles: Vec<(PermissionRule, Result<(), ModelError>)>,
    /// Per group: `Ok(())` or the reason it failed.
    pub groups: Vec<(GroupIx, Result<(), ModelError>)>,
}

/// The grace period of a lifecycle delete.
pub const DELETE_GRACE_DAYS: i64 = 14;

pub(super) fn user_ctx(w: &World, ax: AccountIx) -> (String, String) {
    (w.account(ax).id.clone(), "users".to_owned())
}

pub(super) fn group_ctx(w: &World, gx: GroupIx) -> (String, String) {
    (w.group(gx).id.clone(), "groups".to_owned())
}

fn resource_ctx(w: &World, rx: ResourceIx) -> (String, String) {
    (w.resource(rx).ari(), "resources".to_owned())
}

impl World {
    /// The audit context of a user or group (project-role actors, space-permission principals).
    pub(super) fn actor_ctx(&self, who: Actor) -> (String, String) {
        match who {
            Actor::User(ax) => user_ctx(self, ax),
            Actor::Group(gx) => group_ctx(self, gx),
        }
    }

    /// Records an audit event about the account `ax` alone, in the org's container.
    pub(super) fn record_user(
        &mut self,
        actor: AccountIx,
        action: &str,
        ax: AccountIx,
        message: String,
    ) {
        let context = vec![user_ctx(self, ax)];
        self.record(actor, action, context, vec![], message);
    }

    /// Checks that granting `role` on `resource` to the accounts in `targets` keeps within the
    /// product's seats. Accounts that already hold a billable role there do not count twice.
    fn check_seats(
        &self,
        resource: ResourceIx,
        role: Role,
        targets: &[AccountIx],
    ) -> ModelResult<()> {
        if !role.is_billable() {
            return Ok(());
        }
        let Some(seats) = self.resource(resource).seats else {
            return Ok(());
        };
        let newcomers = targets
            .iter()
            .filter(|ax| {
                self.can_access(**ax, resource) && !self.has_product_access(**ax, resource)
            })
            .count() as u32;
        if newcomers > 0 && self.seats_used(resource) + newcomers > seats {
            return Err(ModelError::LicenceExceeded {
                product: self.resource(resource).product.key(),
            });
        }
        Ok(())
    }

    fn check_role_allowed(&self, resource: ResourceIx, role: Role) -> ModelResult<()> {
        if self
            .resource(resource)
            .product
            .grantable_roles()
            .contains(&role)
        {
            Ok(())
        } else {
            Err(ModelError::RoleNotAllowed {
                role: role.id().to_owned(),
                resource: self.resource(resource).ari(),
            })
        }
    }

    fn check_person(&self, ax: AccountIx) -> ModelResult<()> {
        match self.account(ax).kind {
            AccountType::Atlassian | AccountType::App => Ok(()),
            AccountType::Customer => Err(ModelError::WrongAccountType(
                self.account(ax).id.clone(),
                "portal-only customer",
            )),
        }
    }

    /// The default group that grants `role` on `resource` (original user management).
    pub fn default_group(&self, resource: ResourceIx, role: Role) -> Option<GroupIx> {
        self.live_groups()
            .find(|(_, g)| g.default_for == Some((resource, role)))
            .map(|(ix, _)| ix)
    }

    /// Grants `role` on `resource` to an account. Under centralized user management this is a
    /// direct assignment; under the original experience it adds the account to the product's
    /// default group for that role (which is how Atlassian grants access there). Gives the
    /// account membership in the resource's directory if it had none (as the admin UI does).
    pub fn grant_role(
        &mut self,
        actor: AccountIx,
        ax: AccountIx,
        resource: ResourceIx,
        role: Role,
    ) -> ModelResult<bool> {
        self.check_role_allowed(resource, role)?;
        if role != Role::Customer {
            self.check_person(ax)?;
        }
        // Idempotent on what this call itself grants: a role also held through a group is
        // still granted directly, so the person keeps it when the group membership goes.
        let default_group = match self.mode {
            Mode::Original => self.default_group(resource, role),
            Mode::Centralized => None,
        };
        let already = match default_group {
            Some(gx) => self.group(gx).members.contains(&ax),
            None => {
                self.account(ax).direct_roles.contains(&(resource, role))
                    || self.deferred.iter().any(|d| {
                        matches!(d.change, DeferredChange::Grant(a, r, x) if a == ax && r == resource && x == role)
                    })
            }
        };
        if already {
            return Ok(false);
        }
        let dir = self.directory_of_resource(resource);
        let joined = self.account(ax).kind == AccountType::Atlassian
            && !self.account(ax).directories.contains_key(&dir);
        if !joined {
            self.check_seats(resource, role, &[ax])?;
        } else if role.is_billable()
            && let Some(seats) = self.resource(resource).seats
            && self.seats_used(resource) + 1 > seats
        {
            return Err(ModelError::LicenceExceeded {
                product: self.resource(resource).product.key(),
            });
        }
        if joined {
            self.accounts[ax as usize]
                .directories
                .insert(dir, Membership::Active);
        }
        match default_group {
            Some(gx) => {
                self.groups[gx as usize].members.insert(ax);
                self.accounts[ax as usize].groups.insert(gx);
            }
            _ if self.visibility_delay_ms > 0 => {
                self.deferred.push(Deferred {
                    due: Instant::now() + Duration::from_millis(self.visibility_delay_ms),
                    change: DeferredChange::Grant(ax, resource, role),
                });
            }
            _ => {
                self.accounts[ax as usize]
                    .direct_roles
                    .insert((resource, role));
            }
        }
        let ctx = vec![user_ctx(self, ax), resource_ctx(self, resource)];
        let msg = format!(
            "Granted {} on {} to {}",
            role.id(),
            self.resource(resource).ari(),
            self.account(ax).id
        );
        self.record(actor, "user_granted_role", ctx, vec![], msg);
        Ok(true)
    }

    /// Revokes `role` on `resource` from an account: removes the direct assignment and, under
    /// the original experience, membership of the product's default group for that role.
    /// Access the account holds through other groups stays (as documented).
    pub fn revoke_role(
        &mut self,
        actor: AccountIx,
        ax: AccountIx,
        resource: ResourceIx,
        role: Role,
    ) -> ModelResult<bool> {
        let mut changed = false;
        if self.account(ax).direct_roles.contains(&(resource, role)) {
            if self.visibility_delay_ms > 0 {
                self.deferred.push(Deferred {
                    due: Instant::now() + Duration::from_millis(self.visibility_delay_ms),
                    change: DeferredChange::Revoke(ax, resource, role),
                });
            } else {
                self.accounts[ax as usize]
                    .direct_roles
                    .remove(&(resource, role));
            }
            changed = true;
        }
        if self.mode == Mode::Original
            && let Some(gx) = self.default_group(resource, role)
            && self.groups[gx as usize].members.remove(&ax)
        {
            self.accounts[ax as usize].groups.remove(&gx);
            changed = true;
        }
        if changed {
            let ctx = vec![user_ctx(self, ax), resource_ctx(self, resource)];
            let msg = format!(
                "Revoked {} on {} from {}",
                role.id(),
                self.resource(resource).ari(),
                self.account(ax).id
            );
            self.record(actor, "user_revoked_role", ctx, vec![], msg);
        }
        Ok(changed)
    }

    /// Makes the account an org admin.
    pub fn grant_org_admin(&mut self, actor: AccountIx, ax: AccountIx) -> ModelResult<bool> {
        self.check_person(ax)?;
        if self.account(ax).org_admin {
            return Ok(false);
        }
        self.accounts[ax as usize].org_admin = true;
        let msg = format!("Granted organization admin to {}", self.account(ax).id);
        self.record_user(actor, "org_admin_granted", ax, msg);
        Ok(true)
    }

    /// Removes the org-admin role. Refused for the last org admin.
    pub fn revoke_org_admin(&mut self, actor: AccountIx, ax: AccountIx) -> ModelResult<bool> {
        if !self.account(ax).org_admin {
            return Ok(false);
        }
        if self
            .accounts
            .iter()
            .filter(|a| a.org_admin && a.status == AccountStatus::Active)
            .count()
            <= 1
        {
            return Err(ModelError::LastOrgAdmin(self.account(ax).id.clone()));
        }
        self.accounts[ax as usize].org_admin = false;
        let msg = format!("Revoked organization admin from {}", self.account(ax).id);
        self.record_user(actor, "org_admin_revoked", ax, msg);
        Ok(true)
    }

    /// Adds an account to a group. Refused for IdP-synced groups, portal-only customers,
    /// accounts outside the group's directory, and when a role the group grants has no seat left.
    pub fn add_member(
        &mut self,
        actor: AccountIx,
        gx: GroupIx,
        ax: AccountIx,
    ) -> ModelResult<bool> {
        let group = self.group(gx);
        if group.external {
            return Err(ModelError::GroupIdpSynced(group.id.clone()));
        }
        self.check_person(ax)?;
        if group.members.contains(&ax) {
            return Ok(false);
        }
        if !self.account(ax).directories.contains_key(&group.directory) {
            return Err(ModelError::NotInDirectory(
                self.account(ax).id.clone(),
                self.directories[group.directory as usize].id.clone(),
            ));
        }
        for (rx, role) in group.roles.clone() {
            self.check_seats(rx, role, &[ax])?;
        }
        self.groups[gx as usize].members.insert(ax);
        self.accounts[ax as usize].groups.insert(gx);
        let msg = format!(
            "Added {} to group {}",
            self.account(ax).id,
            self.group(gx).name
        );
        self.record(
            actor,
            "user_added_to_group",
            vec![user_ctx(self, ax), group_ctx(self, gx)],
            vec![],
            msg,
        );
        Ok(true)
    }

    /// Removes an account from a group. Refused for IdP-synced groups.
    pub fn remove_member(
        &mut self,
        actor: AccountIx,
        gx: GroupIx,
        ax: AccountIx,
    ) -> ModelResult<bool> {
        if self.group(gx).external {
            return Err(ModelError::GroupIdpSynced(self.group(gx).id.clone()));
        }
        if !self.groups[gx as usize].members.remove(&ax) {
            return Ok(false);
        }
        self.accounts[ax as usize].groups.remove(&gx);
        let msg = format!(
            "Removed {} from group {}",
            self.account(ax).id,
            self.group(gx).name
        );
        self.record(
            actor,
            "user_removed_from_group",
            vec![user_ctx(self, ax), group_ctx(self, gx)],
            vec![],
            msg,
        );
        Ok(true)
    }

    /// Creates a group in a directory. Names are unique per directory (case-insensitive).
    pub fn create_group(
        &mut self,
        actor: AccountIx,
        dir: DirIx,
        name: &str,
        description: &str,
    ) -> ModelResult<GroupIx> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ModelError::Invalid("A group name is required.".to_owned()));
        }
        if name.len() > 255 {
            return Err(ModelError::Invalid(
                "A group name can have at most 255 characters.".to_owned(),
            ));
        }
        if self.group_by_name(dir, name).is_some() {
            return Err(ModelError::GroupNameTaken(name.to_owned()));
        }
        let id = self.new_uuid();
        self.groups.push(Group {
            id: id.clone(),
            name: name.to_owned(),
            description: description.to_owned(),
            directory: dir,
            external: false,
            default_for: None,
            protected: false,
            roles: Default::default(),
            members: Default::default(),
            deleted: false,
        });
        let gx = (self.groups.len() - 1) as GroupIx;
        self.index.group_by_id.insert(id, gx);
        let msg = format!("Created group {name}");
        self.record(
            actor,
            "group_created",
            vec![group_ctx(self, gx)],
            vec![],
            msg,
        );
        Ok(gx)
    }

    /// Deletes a group. Refused for IdP-synced, default and admin groups. Members lose what the
    /// group granted.
    pub fn delete_group(&mut self, actor: AccountIx, gx: GroupIx) -> ModelResult<()> {
        let group = self.group(gx);
        if group.external {
            return Err(ModelError::GroupIdpSynced(group.id.clone()));
        }
        if group.protected || group.default_for.is_some() {
            return Err(ModelError::GroupProtected(group.name.clone()));
        }
        let members: Vec<AccountIx> = group.members.iter().copied().collect();
        for ax in members {
            self.accounts[ax as usize].groups.remove(&gx);
        }
        for site in &mut self.sites {
            for project in &mut site.projects {
                for actors in project.role_actors.values_mut() {
                    actors.remove(&Actor::Group(gx));
                }
            }
            for space in &mut site.spaces {
                space
                    .permissions
                    .retain(|p| p.principal != Actor::Group(gx));
            }
        }
        let g = &mut self.groups[gx as usize];
        g.deleted = true;
        g.members.clear();
        g.roles.clear();
        let id = g.id.clone();
        self.index.group_by_id.remove(&id);
        let msg = format!("Deleted group {}", self.group(gx).name);
        self.record(
            actor,
            "group_deleted",
            vec![(id, "groups".to_owned())],
            vec![],
            msg,
        );
        Ok(())
    }

    /// Grants a role to a group (all its members get it). Refused when members would exceed
    /// the product's seats.
    pub fn grant_group_role(
        &mut self,
        actor: AccountIx,
        gx: GroupIx,
        resource: ResourceIx,
        role: Role,
    ) -> ModelResult<bool> {
        self.check_role_allowed(resource, role)?;
        if self.group(gx).roles.contains(&(resource, role)) {
            return Ok(false);
        }
        let members: Vec<AccountIx> = self.group(gx).members.iter().copied().collect();
        self.check_seats(resource, role, &members)?;
        self.groups[gx as usize].roles.insert((resource, role));
        let msg = format!(
            "Granted {} on {} to group {}",
            role.id(),
            self.resource(resource).ari(),
            self.group(gx).name
        );
        self.record(
            actor,
            "group_granted_role",
            vec![group_ctx(self, gx), resource_ctx(self, resource)],
            vec![],
            msg,
        );
        Ok(true)
    }

    /// Revokes a role from a group. Members keep access they get through other groups or directly.
    pub fn revoke_group_role(
        &mut self,
        actor: AccountIx,
        gx: GroupIx,
        resource: ResourceIx,
        role: Role,
    ) -> ModelResult<bool> {
        if !self.groups[gx as usize].roles.remove(&(resource, role)) {
            return Ok(false);
        }
        let msg = format!(
            "Revoked {} on {} from group {}",
            role.id(),
            self.resource(resource).ari(),
            self.group(gx).name
        );
        self.record(
            actor,
            "group_revoked_role",
            vec![group_ctx(self, gx), resource_ctx(self, resource)],
            vec![],
            msg,
        );
        Ok(true)
    }

    fn check_directory_member(&self, dir: DirIx, ax: AccountIx) -> ModelResult<Membership> {
        self.account(ax)
            .directories
            .get(&dir)
            .copied()
            .ok_or_else(|| {
                ModelError::NotInDirectory(
                    self.account(ax).id.clone(),
                    self.directories[dir as usize].id.clone(),
                )
            })
    }

    /// Suspends the account in a directory: no access, not billed, roles and groups kept.
    /// Refused for org admins (documented 400) and IdP-synced accounts.
    pub fn suspend(&mut self, actor: AccountIx, dir: DirIx, ax: AccountIx) -> ModelResult<bool> {
        let membership = self.check_directory_member(dir, ax)?;
        if self.account(ax).org_admin {
            return Err(ModelError::OrgAdmin(self.account(ax).id.clone()));
        }
        if self.account(ax).source == ManagementSource::Synced {
            return Err(ModelError::AccountIdpSynced(self.account(ax).id.clone()));
        }
        if membership == Membership::Suspended {
            return Ok(false);
        }
        self.accounts[ax as usize]
            .directories
            .insert(dir, Membership::Suspended);
        let msg = format!(
            "Suspended {} in directory {}",
            self.account(ax).id,
            self.directories[dir as usize].name
        );
        self.record_user(actor, "user_suspended", ax, msg);
        Ok(true)
    }

    /// Restores a suspended account: roles and groups it kept work again. Restoring needs a
    /// free seat for each billable role it holds.
    pub fn restore(&mut self, actor: AccountIx, dir: DirIx, ax: AccountIx) -> ModelResult<bool> {
        if self.check_directory_member(dir, ax)? == Membership::Active {
            return Ok(false);
        }
        for ((rx, role), _) in self.role_assignments(ax) {
            if role.is_billable()
                && self.directory_of_resource(rx) == dir
                && let Some(seats) = self.resource(rx).seats
                && !self.has_product_access(ax, rx)
                && self.seats_used(rx) + 1 > seats
            {
                return Err(ModelError::LicenceExceeded {
                    product: self.resource(rx).product.key(),
                });
            }
        }
        self.accounts[ax as usize]
            .directories
            .insert(dir, Membership::Active);
        let msg = format!(
            "Restored {} in directory {}",
            self.account(ax).id,
            self.directories[dir as usize].name
        );
        self.record_user(actor, "user_restored", ax, msg);
        Ok(true)
    }

    /// Removes the account from a directory: it loses the roles and group memberships of that
    /// directory (restoring needs a re-invite and re-assignment). Refused for org admins and
    /// IdP-synced accounts.
    pub fn remove_from_directory(
        &mut self,
        actor: AccountIx,
        dir: DirIx,
        ax: AccountIx,
    ) -> ModelResult<()> {
        self.check_directory_member(dir, ax)?;
        if self.account(ax).org_admin {
            return Err(ModelError::OrgAdmin(self.account(ax).id.clone()));
        }
        if self.account(ax).source == ManagementSource::Synced {
            return Err(ModelError::AccountIdpSynced(self.account(ax).id.clone()));
        }
        let groups: Vec<GroupIx> = self
            .account(ax)
            .groups
            .iter()
            .copied()
            .filter(|g| self.group(*g).directory == dir)
            .collect();
        for gx in groups {
            self.groups[gx as usize].members.remove(&ax);
            self.accounts[ax as usize].groups.remove(&gx);
        }
        let roles: Vec<(ResourceIx, Role)> = self
            .account(ax)
            .direct_roles
            .iter()
            .copied()
            .filter(|(rx, _)| self.directory_of_resource(*rx) == dir)
            .collect();
        for key in roles {
            self.accounts[ax as usize].direct_roles.remove(&key);
        }
        self.accounts[ax as usize].directories.remove(&dir);
        if let Some(rx) = self.statuspage_resource()
            && self.directory_of_resource(rx) == dir
        {
            self.statuspage.members.remove(&ax);
        }
        for site in &mut self.sites {
            for project in &mut site.projects {
                for actors in project.role_actors.values_mut() {
                    actors.remove(&Actor::User(ax));
                }
            }
        }
        let msg = format!(
            "Removed {} from directory {}",
            self.account(ax).id,
            self.directories[dir as usize].name
        );
        self.record_user(actor, "user_removed_from_directory", ax, msg);
        Ok(())
    }

    /// Creates an Atlassian account for `email` (not yet in any directory).
    pub fn create_account(&mut self, email: &str, name: Option<&str>) -> ModelResult<AccountIx> {
        let email = email.trim().to_lowercase();
        if !is_plausible_email(&email) {
            return Err(ModelError::Invalid(format!(
                "{email} is not a valid email address."
            )));
        }
        // An email that only belongs to a portal-only customer still gets an Atlassian account.
        if let Some(ax) = self.account_by_email(&email)
            && self.account(ax).kind != AccountType::Customer
        {
            return Ok(ax);
        }
        let id = self.new_account_id();
        let local = email.split('@').next().unwrap_or_default().to_owned();
        let name = name
            .map(str::to_owned)
            .unwrap_or_else(|| display_name_from_local(&local));
        let managed = self.is_managed_email(&email);
        self.accounts.push(Account {
            id: id.clone(),
            kind: AccountType::Atlassian,
            email: Some(email.clone()),
            name,
            nickname: local,
            status: AccountStatus::Active,
            directories: Default::default(),
            delete_after: None,
            deactivated_on: None,
            added_to_org: now(),
            mfa_enabled: false,
            email_verified: managed,
            source: ManagementSource::Invited,
            profile: Profile {
                time_zone: "Etc/UTC".to_owned(),
                ..Default::default()
            },
            direct_roles: Default::default(),
            groups: Default::default(),
            org_admin: false,
            last_active: Default::default(),
            customer_site: None,
            app_type: None,
            locale: "en_US".to_owned(),
        });
        let ax = (self.accounts.len() - 1) as AccountIx;
        self.index.account_by_id.insert(id, ax);
        self.index.account_by_email.insert(email, ax);
        Ok(ax)
    }

    /// Creates a portal-only JSM customer on a site. Refused (`Ok(None)`) when the email already
    /// has an account on that site (customer or Atlassian).
    pub fn create_customer(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        email: &str,
        display_name: &str,
    ) -> ModelResult<Option<AccountIx>> {
        let email = email.trim().to_lowercase();
        if !is_plausible_email(&email) {
            return Err(ModelError::Invalid(format!(
                "{email} is not a valid email address."
            )));
        }
        let taken = self
            .site_accounts(site)
            .any(|ax| self.account(ax).email.as_deref() == Some(email.as_str()))
            || self.account_by_email(&email).is_some();
        if taken {
            return Ok(None);
        }
        let id = self.new_customer_id();
        self.accounts.push(Account {
            id: id.clone(),
            kind: AccountType::Customer,
            email: Some(email.clone()),
            name: if display_name.trim().is_empty() {
                email.clone()
            } else {
                display_name.trim().to_owned()
            },
            nickname: email.split('@').next().unwrap_or_default().to_owned(),
            status: AccountStatus::Active,
            directories: Default::default(),
            delete_after: None,
            deactivated_on: None,
            added_to_org: now(),
            mfa_enabled: false,
            email_verified: false,
            source: ManagementSource::Invited,
            profile: Profile {
                time_zone: "Etc/UTC".to_owned(),
                ..Default::default()
            },
            direct_roles: Default::default(),
            groups: Default::default(),
            org_admin: false,
            last_active: Default::default(),
            customer_site: Some(site),
            app_type: None,
            locale: "en_US".to_owned(),
        });
        let ax = (self.accounts.len() - 1) as AccountIx;
        self.index.account_by_id.insert(id, ax);
        self.index.account_by_email.entry(email).or_insert(ax);
        let msg = format!("Created portal-only customer {}", self.account(ax).id);
        let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
        self.record(
            actor,
            "jsm_customer_created",
            vec![user_ctx(self, ax)],
            container,
            msg,
        );
        Ok(Some(ax))
    }

    /// Invites people by email: creates missing accounts (an existing email is reused, never
    /// duplicated), gives them directory membership, then grants each role and group. Results
    /// are per item, as the v2 invite API reports them.
    pub fn invite(
        &mut self,
        actor: AccountIx,
        email: &str,
        rules: &[PermissionRule],
        groups: &[GroupIx],
    ) -> ModelResult<InviteOutcome> {
        let existed = self
            .account_by_email(email)
            .filter(|ax| self.account(*ax).kind != AccountType::Customer);
        let ax = self.create_account(email, None)?;
        self.check_person(ax)?;
        let created = existed.is_none();
        let dirs: Vec<DirIx> = if rules.is_empty() && groups.is_empty() {
            vec![0]
        } else {
            let mut d: Vec<DirIx> = rules
                .iter()
                .map(|r| self.directory_of_resource(r.resource))
                .collect();
            d.extend(groups.iter().map(|g| self.group(*g).directory));
            d.sort_unstable();
            d.dedup();
            d
        };
        for dir in dirs {
            self.accounts[ax as usize]
                .directories
                .entry(dir)
                .or_insert(Membership::Active);
        }
        if created {
            let msg = format!(
                "Invited {}",
                self.account(ax).email.clone().unwrap_or_default()
            );
            self.record_user(actor, "user_invited", ax, msg);
        }
        let roles = rules
            .iter()
            .map(|rule| {
                (
                    *rule,
                    self.grant_role(actor, ax, rule.resource, rule.role)
                        .map(|_| ()),
                )
            })
            .collect();
        let groups = groups
            .iter()
            .map(|gx| (*gx, self.add_member(actor, *gx, ax).map(|_| ())))
            .collect();
        Ok(InviteOutcome {
            account: ax,
            created,
            roles,
            groups,
        })
    }

    fn check_managed(&self, ax: AccountIx) -> ModelResult<()> {
        if self.is_managed(ax) {
            Ok(())
        } else {
            Err(ModelError::NotManaged(self.account(ax).id.clone()))
        }
    }

    /// Deactivates a managed account everywhere (lifecycle disable).
    pub fn deactivate(
        &mut self,
        actor: AccountIx,
        ax: AccountIx,
        message: Option<&str>,
    ) -> ModelResult<bool> {
        self.check_managed(ax)?;
        if self.account(ax).source == ManagementSource::Synced {
            return Err(ModelError::AccountIdpSynced(self.account(ax).id.clone()));
        }
        if self.account(ax).org_admin {
            return Err(ModelError::OrgAdmin(self.account(ax).id.clone()));
        }
        if self.account(ax).status != AccountStatus::Active {
            return Ok(false);
        }
        let a = &mut self.accounts[ax as usize];
        a.status = AccountStatus::Inactive;
        a.deactivated_on = Some(now());
        let msg = format!(
            "Deactivated {}{}",
            self.account(ax).id,
            message.map(|m| format!(": {m}")).unwrap_or_default()
        );
        self.record_user(actor, "user_deactivated", ax, msg);
        Ok(true)
    }

    /// Re-enables a deactivated managed account. Refused while a deletion is pending.
    pub fn enable(&mut self, actor: AccountIx, ax: AccountIx) -> ModelResult<bool> {
        self.check_managed(ax)?;
        if self.account(ax).delete_after.is_some() {
            return Err(ModelError::LifecycleConflict(
                "The account is scheduled for deletion; cancel the deletion first.".to_owned(),
            ));
        }
        if self.account(ax).status == AccountStatus::Active {
            return Ok(false);
        }
        if self.account(ax).status == AccountStatus::Closed {
            return Err(ModelError::LifecycleConflict(
                "The account is closed and cannot be enabled.".to_owned(),
            ));
        }
        let a = &mut self.accounts[ax as usize];
        a.status = AccountStatus::Active;
        a.deactivated_on = None;
        let msg = format!("Reactivated {}", self.account(ax).id);
        self.record_user(actor, "user_reactivated", ax, msg);
        Ok(true)
    }

    /// Schedules deletion of a managed account after a 14-day grace period (status
    /// `for_deletion`). Refused for org admins.
    pub fn schedule_delete(&mut self, actor: AccountIx, ax: AccountIx) -> ModelResult<bool> {
        self.check_managed(ax)?;
        if self.account(ax).org_admin {
            return Err(ModelError::OrgAdmin(self.account(ax).id.clone()));
        }
        if self.account(ax).delete_after.is_some() {
            return Ok(false);
        }
        let a = &mut self.accounts[ax as usize];
        a.delete_after = Some(Utc::now() + chrono::Duration::days(DELETE_GRACE_DAYS));
        if a.status == AccountStatus::Active {
            a.status = AccountStatus::Inactive;
            a.deactivated_on = Some(now());
        }
        let msg = format!("Scheduled deletion of {}", self.account(ax).id);
        self.record_user(actor, "user_deletion_scheduled", ax, msg);
        Ok(true)
    }

    /// Cancels a pending deletion and re-activates the account (the spec: "Restore and
    /// activate").
    pub fn cancel_delete(&mut self, actor: AccountIx, ax: AccountIx) -> ModelResult<bool> {
        self.check_managed(ax)?;
        if self.account(ax).delete_after.is_none() {
            return Err(ModelError::LifecycleConflict(
                "The account is not scheduled for deletion.".to_owned(),
            ));
        }
        let a = &mut self.accounts[ax as usize];
        a.delete_after = None;
        if a.status == AccountStatus::Inactive {
            a.status = AccountStatus::Active;
            a.deactivated_on = None;
        }
        let msg = format!("Cancelled deletion of {}", self.account(ax).id);
        self.record_user(actor, "user_deletion_cancelled", ax, msg);
        Ok(true)
    }
}

/// A light email check: one `@`, a non-empty local part and a dotted domain, no spaces.
pub fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
                && email.len() <= 254
        }
        None => false,
    }
}

fn display_name_from_local(local: &str) -> String {
    local
        .split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{SeedConfig, SizeProfile, generate};

    fn small(mode: Mode) -> World {
        generate(&SeedConfig {
            seed: 7,
            profile: SizeProfile::Small,
            users: None,
            mode,
        })
    }

    fn jira(w: &World) -> ResourceIx {
        w.site_resource(0, Product::JiraSoftware).unwrap()
    }

    #[test]
    fn direct_grant_survives_leaving_a_group_that_also_grants_it() {
        let mut w = small(Mode::Centralized);
        let actor = w.integration_account();
        let rx = jira(&w);
        let ax = w.create_account("pat.lee@acme.com", None).unwrap();
        w.accounts[ax as usize]
            .directories
            .insert(0, Membership::Active);
        let gx = w.create_group(actor, 0, "jira-people", "").unwrap();
        w.grant_group_role(actor, gx, rx, Role::User).unwrap();
        w.add_member(actor, gx, ax).unwrap();
        assert!(
            w.grant_role(actor, ax, rx, Role::User).unwrap(),
            "the direct grant is recorded"
        );
        assert!(
            !w.grant_role(actor, ax, rx, Role::User).unwrap(),
            "and is idempotent"
        );
        w.remove_member(actor, gx, ax).unwrap();
        assert!(w.holds(ax, rx, Role::User));
    }

    #[test]
    fn inviting_a_portal_customer_email_creates_an_atlassian_account() {
        let mut w = small(Mode::Centralized);
        let actor = w.integration_account();
        let customer = w
            .create_customer(actor, 0, "fred@customer.example", "Fred")
            .unwrap()
            .unwrap();
        let rules = [PermissionRule {
            resource: jira(&w),
            role: Role::User,
        }];
        let outcome = w
            .invite(actor, "fred@customer.example", &rules, &[])
            .unwrap();
        assert!(outcome.created);
        assert_ne!(outcome.account, customer);
        assert_eq!(w.account(outcome.account).kind, AccountType::Atlassian);
        assert_eq!(
            w.account_by_email("fred@customer.example"),
            Some(outcome.account)
        );
    }

    #[test]
    fn original_experience_grants_through_the_default_group() {
        let mut w = small(Mode::Original);
        let actor = w.integration_account();
        let rx = jira(&w);
        let ax = w.create_account("sam.roe@acme.com", None).unwrap();
        assert!(w.grant_role(actor, ax, rx, Role::User).unwrap());
        let gx = w.default_group(rx, Role::User).unwrap();
        assert!(w.group(gx).members.contains(&ax));
        assert!(w.account(ax).direct_roles.is_empty());
        assert!(w.revoke_role(actor, ax, rx, Role::User).unwrap());
        assert!(!w.holds(ax, rx, Role::User));
    }
}
