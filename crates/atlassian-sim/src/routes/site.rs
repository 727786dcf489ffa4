//! Helpers the site families (Jira, JSM, Confluence) share: the site's base URL, the site-admin
//! check, query-value encoding and `start`/`limit` offsets.

use crate::app::AppState;
use crate::auth::SiteCaller;
use crate::error::{ApiError, ApiResult};
use crate::paging::clamp_limit;
use crate::state::{AccountIx, GroupIx, SiteIx, World};

/// `https://<site>.atlassian.net` for `site`, as the simulator serves it.
pub(crate) fn site_base(app: &AppState, w: &World, site: SiteIx) -> String {
    app.site_url(&w.site(site).name)
}

/// Percent-encodes a query value.
pub(crate) fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `Ok` when the caller is a site admin of the addressed site, else the family's own 403
/// (`denied`).
pub(crate) fn check_site_admin(
    w: &World,
    caller: &SiteCaller,
    denied: impl FnOnce() -> ApiError,
) -> ApiResult<()> {
    if w.is_site_admin(caller.actor, caller.site) {
        Ok(())
    } else {
        Err(denied())
    }
}

/// The live group with `id` in the site's directory.
pub(crate) fn site_group(w: &World, site: SiteIx, id: &str) -> Option<GroupIx> {
    w.group_ix(id)
        .ok()
        .filter(|gx| w.group(*gx).directory == w.directory_of_site(site))
}

/// The live groups of the site's directory the account belongs to, in the account's order.
pub(crate) fn account_site_groups(w: &World, site: SiteIx, ax: AccountIx) -> Vec<GroupIx> {
    let dir = w.directory_of_site(site);
    w.account(ax)
        .groups
        .iter()
        .copied()
        .filter(|gx| !w.group(*gx).deleted && w.group(*gx).directory == dir)
        .collect()
}

/// A requested start offset: absent or negative is 0.
pub(crate) fn start_offset(start: Option<i64>) -> usize {
    start.unwrap_or(0).max(0) as usize
}

/// Offset and page size of a `startAt`/`maxResults` (Jira) or `start`/`limit` (JSM) request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    /// Offset of the first item.
    pub(crate) start: usize,
    /// Page size.
    pub(crate) limit: usize,
}

/// The page a request asks for: `limit` clamped to `1..=max` (`default` when absent).
pub(crate) fn page(start: Option<i64>, limit: Option<i64>, default: usize, max: usize) -> Page {
    Page {
        start: start_offset(start),
        limit: clamp_limit(limit, default, max),
    }
}
