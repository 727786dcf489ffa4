//! Confluence classic space permissions: lookups and the two mutations the v1 REST API offers
//! (add one permission, remove one by id), with the rules Confluence documents for them.

use super::*;

/// The `(operation, target)` pairs the v1 space-permission API accepts (the list in the spec's
/// `SpacePermissionRequest` description).
pub const SPACE_PERMISSION_PAIRS: [(&str, &str); 14] = [
    ("create", "page"),
    ("create", "blogpost"),
    ("create", "comment"),
    ("create", "attachment"),
    ("read", "space"),
    ("delete", "page"),
    ("delete", "blogpost"),
    ("delete", "comment"),
    ("delete", "attachment"),
    ("delete", "space"),
    ("export", "space"),
    ("administer", "space"),
    ("archive", "page"),
    ("restrict_content", "space"),
];

impl World {
    /// Index (in [`Site::spaces`]) of the space with `key` on `site`.
    pub fn space_by_key(&self, site: SiteIx, key: &str) -> Option<usize> {
        self.site(site).spaces.iter().position(|s| s.key == key)
    }

    /// Index (in [`Site::spaces`]) of the space with numeric `id` on `site`.
    pub fn space_by_id(&self, site: SiteIx, id: u64) -> Option<usize> {
        self.site(site).spaces.iter().position(|s| s.id == id)
    }

    /// Whether `principal` itself (not through groups) holds `operation` on `target` in the space.
    pub fn principal_has_space_permission(
        &self,
        site: SiteIx,
        space: usize,
        principal: Actor,
        operation: &str,
        target: &str,
    ) -> bool {
        self.site(site).spaces[space]
            .permissions
            .iter()
            .any(|p| p.principal == principal && p.operation == operation && p.target == target)
    }

    /// Whether the account may change the space's permissions: it holds `administer` on the
    /// space (itself or through a group it belongs to), or it is a site admin.
    pub fn can_administer_space(&self, site: SiteIx, space: usize, ax: AccountIx) -> bool {
        if self.is_site_admin(ax, site) {
            return true;
        }
        let account = self.account(ax);
        self.site(site).spaces[space].permissions.iter().any(|p| {
            p.operation == "administer"
                && p.target == "space"
                && match p.principal {
                    Actor::User(u) => u == ax,
                    Actor::Group(g) => account.groups.contains(&g) && !self.group(g).deleted,
                }
        })
    }

    /// Adds one classic space permission and returns its id. Refused (`Invalid`, which
    /// Confluence answers 400) when the pair is not a valid space permission, when the
    /// principal already holds it, or when the principal lacks `read space` (which every other
    /// permission needs first).
    pub fn add_space_permission(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        space: usize,
        principal: Actor,
        operation: &str,
        target: &str,
    ) -> ModelResult<u64> {
        if !SPACE_PERMISSION_PAIRS.contains(&(operation, target)) {
            return Err(ModelError::Invalid(format!(
                "'{operation}' on '{target}' is not a valid space permission."
            )));
        }
        if self.principal_has_space_permission(site, space, principal, operation, target) {
            return Err(ModelError::Invalid(
                "Permission already exists for the given user or group.".to_owned(),
            ));
        }
        let is_read = operation == "read" && target == "space";
        if !is_read && !self.principal_has_space_permission(site, space, principal, "read", "space")
        {
            return Err(ModelError::Invalid(
                "'read space' permission doesn't exist for the given user or group; grant it first."
                    .to_owned(),
            ));
        }
        let id = self.next_site_id(site);
        let s = &mut self.sites[site as usize].spaces[space];
        s.permissions.push(SpacePermission {
            id,
            principal,
            operation: operation.to_owned(),
            target: target.to_owned(),
        });
        let key = s.key.clone();
        let ctx = vec![
            self.actor_ctx(principal),
            (key.clone(), "spaces".to_owned()),
        ];
        let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
        let msg = format!(
            "Granted {operation} {target} in space {key} to {}",
            self.actor_ctx(principal).0
        );
        self.record(actor, "space_permission_added", ctx, container, msg);
        Ok(id)
    }

    /// Removes the space permission with `id`. `NotFound` when there is none; `Invalid` when it
    /// is the space's last `administer` permission (Confluence refuses to leave a space without
    /// admins).
    pub fn remove_space_permission(
        &mut self,
        actor: AccountIx,
        site: SiteIx,
        space: usize,
        id: u64,
    ) -> ModelResult<()> {
        let s = &self.site(site).spaces[space];
        let Some(pos) = s.permissions.iter().position(|p| p.id == id) else {
            return Err(ModelError::NotFound {
                what: "space permission",
                id: id.to_string(),
            });
        };
        let perm = s.permissions[pos].clone();
        if perm.operation == "administer"
            && perm.target == "space"
            && s.permissions
                .iter()
                .filter(|p| p.operation == "administer" && p.target == "space")
                .count()
                <= 1
        {
            return Err(ModelError::Invalid(
                "All of the admin permissions cannot be removed from a space.".to_owned(),
            ));
        }
        let key = s.key.clone();
        self.sites[site as usize].spaces[space]
            .permissions
            .remove(pos);
        let ctx = vec![
            self.actor_ctx(perm.principal),
            (key.clone(), "spaces".to_owned()),
        ];
        let container = vec![(self.site(site).cloud_id.clone(), "sites".to_owned())];
        let msg = format!(
            "Removed {} {} in space {key} from {}",
            perm.operation,
            perm.target,
            self.actor_ctx(perm.principal).0
        );
        self.record(actor, "space_permission_removed", ctx, container, msg);
        Ok(())
    }
}
