//! Statuspage team members and their page permissions.
//!
//! A team member is an account that holds a Statuspage role (`atlassian/user` or
//! `atlassian/admin` on the Statuspage resource) and has a [`StatuspageMember`] record (its
//! Statuspage user id, names and page permissions). A role granted through another API (the
//! Org API, a group) gets its record lazily, from [`World::sync_statuspage_members`].

use std::collections::BTreeMap;

use super::ops::PermissionRule;
use super::*;

/// The Statuspage roles that make an account a team member.
const STATUSPAGE_ROLES: [Role; 2] = [Role::User, Role::Admin];

impl World {
    /// Whether the account holds (or is about to hold, under delayed visibility) a Statuspage
    /// role, and is not closed.
    pub fn holds_statuspage_role(&self, ax: AccountIx) -> bool {
        let Some(rx) = self.statuspage_resource() else {
            return false;
        };
        if self.account(ax).status == AccountStatus::Closed {
            return false;
        }
        STATUSPAGE_ROLES
            .iter()
            .any(|role| self.holds(ax, rx, *role))
            || self.deferred.iter().any(|d| {
                matches!(d.change, DeferredChange::Grant(a, r, role)
                    if a == ax && r == rx && STATUSPAGE_ROLES.contains(&role))
            })
    }

    /// Whether the account is currently a Statuspage team member.
    pub fn is_statuspage_member(&self, ax: AccountIx) -> bool {
        self.statuspage.members.contains_key(&ax) && self.holds_statuspage_role(ax)
    }

    /// Creates the missing member record of every account that holds a Statuspage role (a new
    /// user id, names from the display name, no page permissions yet). Returns whether any
    /// record was created.
    pub fn sync_statuspage_members(&mut self) -> bool {
        let missing: Vec<AccountIx> = (0..self.accounts.len() as AccountIx)
            .filter(|ax| {
                !self.statuspage.members.contains_key(ax) && self.holds_statuspage_role(*ax)
            })
            .collect();
        for ax in &missing {
            let name = self.account(*ax).name.clone();
            let (first, last) = split_name(&name);
            self.insert_statuspage_member(*ax, first, last);
        }
        !missing.is_empty()
    }

    fn insert_statuspage_member(&mut self, ax: AccountIx, first_name: String, last_name: String) {
        let id = loop {
            let id = self.new_short_id();
            if !self.statuspage.members.values().any(|m| m.id == id) {
                break id;
            }
        };
        let t = now();
        self.statuspage.members.insert(
            ax,
            StatuspageMember {
                id,
                first_name,
                last_name,
                created_at: t,
                updated_at: t,
                pages: BTreeMap::new(),
            },
        );
    }

    /// Team members, oldest first (then by user id).
    pub fn statuspage_team(&self) -> Vec<AccountIx> {
        let mut team: Vec<AccountIx> = self
            .statuspage
            .members
            .keys()
            .copied()
            .filter(|ax| self.is_statuspage_member(*ax))
            .collect();
        team.sort_by(|a, b| {
            let (ma, mb) = (&self.statuspage.members[a], &self.statuspage.members[b]);
            ma.created_at
                .cmp(&mb.created_at)
                .then_with(|| ma.id.cmp(&mb.id))
        });
        team
    }

    /// The team member with this Statuspage user id.
    pub fn statuspage_member_by_id(&self, user_id: &str) -> Option<AccountIx> {
        self.statuspage
            .members
            .iter()
            .find(|(ax, m)| m.id == user_id && self.is_statuspage_member(**ax))
            .map(|(ax, _)| *ax)
    }

    /// Adds a team member by email: creates (or reuses) the Atlassian account, gives it
    /// membership of the Statuspage resource's directory, grants `atlassian/user` on Statuspage
    /// and creates the member record. Refused (`Invalid`) when the account already is a team
    /// member; licence and account-type refusals come from the role grant.
    pub fn add_statuspage_member(
        &mut self,
        actor: AccountIx,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> ModelResult<AccountIx> {
        let Some(rx) = self.statuspage_resource() else {
            return Err(ModelError::NotFound {
                what: "resource",
                id: "statuspage".to_owned(),
            });
        };
        if let Some(ax) = self.account_by_email(email)
            && self.holds_statuspage_role(ax)
        {
            self.sync_statuspage_members();
            return Err(ModelError::Invalid(
                "Email has already been taken".to_owned(),
            ));
        }
        let outcome = self.invite(
            actor,
            email,
            &[PermissionRule {
                resource: rx,
                role: Role::User,
            }],
            &[],
        )?;
        if let Some((_, Err(err))) = outcome.roles.into_iter().next() {
            return Err(err);
        }
        let ax = outcome.account;
        let (derived_first, derived_last) = split_name(&self.account(ax).name);
        let first = first_name
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or(derived_first, str::to_owned);
        let last = last_name
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or(derived_last, str::to_owned);
        match self.statuspage.members.get_mut(&ax) {
            Some(member) => {
                // A stale record (the role was revoked elsewhere): reuse its id, refresh names.
                member.first_name = first;
                member.last_name = last;
                member.updated_at = now();
            }
            None => self.insert_statuspage_member(ax, first, last),
        }
        let msg = format!("Added {} to the Statuspage team", self.account(ax).id);
        self.record_user(actor, "statuspage_user_added", ax, msg);
        Ok(ax)
    }

    /// Whether the group is a Statuspage product default group (`statuspage-users`).
    fn is_statuspage_default_group(&self, gx: GroupIx, rx: ResourceIx) -> bool {
        self.group(gx)
            .default_for
            .is_some_and(|(r, role)| r == rx && STATUSPAGE_ROLES.contains(&role))
    }

    /// The groups that grant the account a Statuspage role, other than the product's default
    /// groups (removing a team member takes it out of those).
    pub fn statuspage_granting_groups(&self, ax: AccountIx) -> Vec<GroupIx> {
        let Some(rx) = self.statuspage_resource() else {
            return vec![];
        };
        self.account(ax)
            .groups
            .iter()
            .copied()
            .filter(|gx| {
                let g = self.group(*gx);
                !g.deleted
                    && STATUSPAGE_ROLES
                        .iter()
                        .any(|role| g.roles.contains(&(rx, *role)))
                    && !self.is_statuspage_default_group(*gx, rx)
            })
            .collect()
    }

    /// Removes a team member: takes it out of the Statuspage default groups, revokes its direct
    /// Statuspage roles and drops its record, returning the record as it was. Refused
    /// (`Invalid`) while another group still grants it a Statuspage role.
    pub fn remove_statuspage_member(
        &mut self,
        actor: AccountIx,
        ax: AccountIx,
    ) -> ModelResult<StatuspageMember> {
        let Some(rx) = self.statuspage_resource() else {
            return Err(ModelError::NotFound {
                what: "resource",
                id: "statuspage".to_owned(),
            });
        };
        let Some(member) = self.statuspage.members.get(&ax).cloned() else {
            return Err(ModelError::NotFound {
                what: "statuspage user",
                id: self.account(ax).id.clone(),
            });
        };
        if let Some(gx) = self.statuspage_granting_groups(ax).first() {
            return Err(ModelError::Invalid(format!(
                "Statuspage access is granted through the group {}; remove the user from that group instead.",
                self.group(*gx).name
            )));
        }
        let defaults: Vec<GroupIx> = self
            .account(ax)
            .groups
            .iter()
            .copied()
            .filter(|gx| self.is_statuspage_default_group(*gx, rx))
            .collect();
        for gx in defaults {
            self.remove_member(actor, gx, ax)?;
        }
        for role in STATUSPAGE_ROLES {
            self.revoke_role(actor, ax, rx, role)?;
        }
        self.deferred
            .retain(|d| !matches!(d.change, DeferredChange::Grant(a, r, _) if a == ax && r == rx));
        self.statuspage.members.remove(&ax);
        let msg = format!("Removed {} from the Statuspage team", self.account(ax).id);
        self.record_user(actor, "statuspage_user_removed", ax, msg);
        Ok(member)
    }

    /// Replaces the member's page permissions with `pages` (pages left out lose access).
    /// Role flags on pages without role-based access control are dropped. `NotFound` for an
    /// unknown page id.
    pub fn set_statuspage_permissions(
        &mut self,
        actor: AccountIx,
        ax: AccountIx,
        pages: BTreeMap<String, PagePermission>,
    ) -> ModelResult<()> {
        if !self.statuspage.members.contains_key(&ax) {
            return Err(ModelError::NotFound {
                what: "statuspage user",
                id: self.account(ax).id.clone(),
            });
        }
        let mut clean = BTreeMap::new();
        for (page_id, perm) in pages {
            let Some(page) = self.statuspage.pages.iter().find(|p| p.id == page_id) else {
                return Err(ModelError::NotFound {
                    what: "page",
                    id: page_id,
                });
            };
            clean.insert(
                page_id,
                if page.rbac {
                    perm
                } else {
                    PagePermission::default()
                },
            );
        }
        if let Some(member) = self.statuspage.members.get_mut(&ax) {
            member.pages = clean;
            member.updated_at = now();
        }
        let msg = format!(
            "Updated Statuspage page permissions of {}",
            self.account(ax).id
        );
        self.record_user(actor, "statuspage_permissions_updated", ax, msg);
        Ok(())
    }
}

/// Splits a display name into first and last name at the first space.
fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    }
}
