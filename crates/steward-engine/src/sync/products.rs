//! The product slices of the sync, each its own scope: Statuspage team members and their page
//! permissions; each site's JSM service desks and their customers.
//!
//! A product is read concurrently with the org-level data and its failure does not fail the
//! run: it is recorded in the run's per-product status instead (`"ok"`, `"failed: …"`,
//! `"not configured"`). Its rows are written only once it has been read whole, so a completed
//! run never holds half a product.

use std::collections::{BTreeMap, BTreeSet};

use atlassian_client::Client;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use steward_store::{
    ChangeKind, Checkpoint, JsmCustomerRow, NewChangeEvent, RunId, SiteRow, StatuspageMemberRow,
    StatuspagePermissionRow, Store,
};

use super::progress::Progress;
use crate::target::SiteTarget;

/// Rows per store batch of the product slices.
pub const PRODUCT_BATCH: usize = 100;

/// The per-product status key of the org-level data.
pub const ORG: &str = "org";
/// The per-product status key of Statuspage.
pub const STATUSPAGE: &str = "statuspage";
/// The per-product status key of a site's JSM: `jsm:<site name>` (the name in the target).
pub fn jsm_key(site: &str) -> String {
    format!("jsm:{site}")
}
/// A product that was read and written whole.
pub const OK: &str = "ok";
/// A product the target has no settings for.
pub const NOT_CONFIGURED: &str = "not configured";

/// Rows written by the product slices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProductCounts {
    /// Statuspage team members.
    pub statuspage_members: usize,
    /// Statuspage (member, page) permissions.
    pub statuspage_permissions: usize,
    /// JSM (site, service desk, customer) rows, all sites.
    pub jsm_customers: usize,
}

/// One site's JSM customers as read: (service desk id, account id).
pub(crate) type DeskCustomers = Vec<(String, String)>;

/// Reads every service desk of `site` and each desk's customers.
///
/// # Errors
/// The site not configured on the client, or a read failing after the client's retries.
pub(crate) async fn fetch_jsm(
    client: &Client,
    site: &str,
    progress: &Progress,
) -> atlassian_client::Result<DeskCustomers> {
    let key = jsm_key(site);
    progress.start(&key, None);
    let api = client.jsm(site)?;
    let desks: Vec<_> = api.service_desks().try_collect().await?;
    let mut rows = vec![];
    for desk in &desks {
        let customers: Vec<_> = api.desk_customers(&desk.id, None).try_collect().await?;
        progress.advance(&key, customers.len() as u64);
        rows.extend(
            customers
                .into_iter()
                .map(|c| (desk.id.clone(), c.account_id)),
        );
    }
    tracing::info!(
        site,
        desks = desks.len(),
        customers = rows.len(),
        "jsm read"
    );
    Ok(rows)
}

fn normalized(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

/// The cloud id of `site` among the run's sites: by URL, else by name.
pub(crate) fn cloud_id(sites: &[SiteRow], site: &SiteTarget) -> Option<String> {
    let url = normalized(site.url.as_str());
    sites
        .iter()
        .find(|s| normalized(&s.url) == url)
        .or_else(|| sites.iter().find(|s| s.name == site.name))
        .map(|s| s.cloud_id.clone())
}

/// Writes one site's JSM customers into `run`, in batches.
///
/// # Errors
/// A store write failing.
pub(crate) async fn write_jsm(
    store: &Store,
    run: RunId,
    cloud_id: &str,
    site: &str,
    customers: DeskCustomers,
) -> steward_store::Result<usize> {
    let rows: Vec<_> = customers
        .into_iter()
        .map(|(service_desk_id, account_id)| JsmCustomerRow {
            site: cloud_id.to_owned(),
            service_desk_id,
            account_id,
        })
        .collect();
    let writer = store.writer(run);
    // What a crashed attempt left is replaced, not added to.
    writer.clear_jsm_site(cloud_id).await?;
    for chunk in rows.chunks(PRODUCT_BATCH) {
        writer.write_jsm_customers(chunk).await?;
    }
    let done = ProductCounts {
        jsm_customers: rows.len(),
        ..ProductCounts::default()
    };
    store
        .runs()
        .set_checkpoint(run, &done_checkpoint(&product_scope(&jsm_key(site)), done))
        .await?;
    Ok(rows.len())
}

/// The checkpoint scope of a product (`product.statuspage`, `product.jsm:<site>`).
pub(crate) fn product_scope(key: &str) -> String {
    format!("product.{key}")
}

/// The checkpoint saying a product is stored whole, with what it wrote.
fn done_checkpoint(scope: &str, counts: ProductCounts) -> Checkpoint {
    Checkpoint {
        scope: scope.to_owned(),
        value: json!({ "done": true, "counts": counts }),
    }
}

/// What a product stored whole by an earlier attempt of the run wrote, if it did.
pub(crate) fn done_before(checkpoints: &[Checkpoint], key: &str) -> Option<ProductCounts> {
    let scope = product_scope(key);
    let value = &checkpoints.iter().find(|c| c.scope == scope)?.value;
    if value.get("done").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    serde_json::from_value(value.get("counts")?.clone()).ok()
}

/// The JSM change events of `run` against `previous` for the sites (cloud ids) both runs
/// synced whole: `jsm_customer_added` / `jsm_customer_removed` per (site, desk, account), with
/// `resource` = the service desk id and `after` / `before` `{site, service_desk_id}`.
///
/// # Errors
/// A store read failing.
pub(crate) async fn diff_jsm(
    store: &Store,
    previous: RunId,
    run: RunId,
    sites: &BTreeSet<String>,
    detected_at: DateTime<Utc>,
) -> steward_store::Result<Vec<NewChangeEvent>> {
    let of = |rows: Vec<JsmCustomerRow>| -> BTreeSet<(String, String, String)> {
        rows.into_iter()
            .filter(|r| sites.contains(&r.site))
            .map(|r| (r.site, r.service_desk_id, r.account_id))
            .collect()
    };
    let before = of(store.snapshot(previous).jsm_customers().await?);
    let after = of(store.snapshot(run).jsm_customers().await?);
    let event = |kind, (site, desk, account): &(String, String, String)| {
        let state = Some(json!({ "site": site, "service_desk_id": desk }));
        let added = kind == ChangeKind::JsmCustomerAdded;
        NewChangeEvent {
            run_id: Some(run),
            detected_at,
            kind,
            account_id: Some(account.clone()),
            group_id: None,
            resource: Some(desk.clone()),
            role: None,
            before: if added { None } else { state.clone() },
            after: if added { state } else { None },
            // Steward makes no writes yet: every change is someone else's.
            out_of_band: true,
            actor_id: None,
            actor_name: None,
        }
    };
    let mut events: Vec<_> = after
        .difference(&before)
        .map(|k| event(ChangeKind::JsmCustomerAdded, k))
        .collect();
    events.extend(
        before
            .difference(&after)
            .map(|k| event(ChangeKind::JsmCustomerRemoved, k)),
    );
    Ok(events)
}

/// The Statuspage team as read, before it is linked to accounts.
pub(crate) struct StatuspageTeam {
    /// (Statuspage user id, email).
    members: Vec<(String, String)>,
    permissions: Vec<StatuspagePermissionRow>,
}

/// Reads every team member, then each member's page permissions (one call per member; the
/// client paces them at the Statuspage key's rate).
///
/// # Errors
/// Statuspage not configured on the client, or a read failing after the client's retries.
pub(crate) async fn fetch_statuspage(
    client: &Client,
    progress: &Progress,
) -> atlassian_client::Result<StatuspageTeam> {
    progress.start(STATUSPAGE, None);
    let api = client.statuspage()?;
    let members: Vec<_> = api.team_members().try_collect().await?;
    progress.start(STATUSPAGE, Some(members.len() as u64));
    let mut permissions = vec![];
    for m in &members {
        let granted = api.permissions(&m.id).await?;
        progress.advance(STATUSPAGE, 1);
        for (page_id, roles) in granted.pages {
            permissions.push(StatuspagePermissionRow {
                sp_user_id: m.id.clone(),
                page_id,
                page_configuration: roles.page_configuration.unwrap_or(false),
                incident_manager: roles.incident_manager.unwrap_or(false),
                maintenance_manager: roles.maintenance_manager.unwrap_or(false),
            });
        }
    }
    tracing::info!(
        members = members.len(),
        permissions = permissions.len(),
        "statuspage read"
    );
    Ok(StatuspageTeam {
        members: members.into_iter().map(|m| (m.id, m.email)).collect(),
        permissions,
    })
}

/// Writes the team into `run`, each member linked by email (case-insensitively) to the
/// account of the run's snapshot, which must already be written.
///
/// # Errors
/// A store read or write failing.
pub(crate) async fn write_statuspage(
    store: &Store,
    run: RunId,
    team: StatuspageTeam,
) -> steward_store::Result<ProductCounts> {
    let snapshot = store.snapshot(run);
    let writer = store.writer(run);
    let mut members = Vec::with_capacity(team.members.len());
    for (sp_user_id, email) in team.members {
        let account_id = if email.trim().is_empty() {
            None
        } else {
            snapshot
                .account_by_email(email.trim())
                .await?
                .map(|a| a.account_id)
        };
        members.push(StatuspageMemberRow {
            sp_user_id,
            email,
            account_id,
        });
    }
    // What a crashed attempt left is replaced, not added to.
    writer.clear_statuspage().await?;
    for chunk in members.chunks(PRODUCT_BATCH) {
        writer.write_statuspage_members(chunk).await?;
    }
    for chunk in team.permissions.chunks(PRODUCT_BATCH) {
        writer.write_statuspage_permissions(chunk).await?;
    }
    let counts = ProductCounts {
        statuspage_members: members.len(),
        statuspage_permissions: team.permissions.len(),
        jsm_customers: 0,
    };
    store
        .runs()
        .set_checkpoint(run, &done_checkpoint(&product_scope(STATUSPAGE), counts))
        .await?;
    Ok(counts)
}

/// Whether `product` was synced whole in a run of this per-product status.
pub(crate) fn synced(product_status: &Value, product: &str) -> bool {
    product_status.get(product).and_then(Value::as_str) == Some(OK)
}

fn flags(p: &StatuspagePermissionRow) -> Value {
    json!({
        "page_configuration": p.page_configuration,
        "incident_manager": p.incident_manager,
        "maintenance_manager": p.maintenance_manager,
    })
}

/// The Statuspage change events of `run` against `previous` (both must have synced
/// Statuspage). A member who joined or left the team gives one `statuspage_member_added` /
/// `statuspage_member_removed` without `resource`, `before` / `after` `{sp_user_id, email}`;
/// a page
/// permission that appeared, disappeared or changed flags gives one
/// `statuspage_permission_changed` with `resource` =
/// the page id and `before` / `after` the flags (`null` for no access). `account_id` is the
/// linked account, when there is one.
///
/// # Errors
/// A store read failing.
pub(crate) async fn diff_statuspage(
    store: &Store,
    previous: RunId,
    run: RunId,
    detected_at: DateTime<Utc>,
) -> steward_store::Result<Vec<NewChangeEvent>> {
    let (old, new) = (store.snapshot(previous), store.snapshot(run));
    let old_members: BTreeMap<String, StatuspageMemberRow> = old
        .statuspage_members()
        .await?
        .into_iter()
        .map(|m| (m.sp_user_id.clone(), m))
        .collect();
    let new_members: BTreeMap<String, StatuspageMemberRow> = new
        .statuspage_members()
        .await?
        .into_iter()
        .map(|m| (m.sp_user_id.clone(), m))
        .collect();
    let account = |sp_user_id: &str| {
        new_members
            .get(sp_user_id)
            .or_else(|| old_members.get(sp_user_id))
            .and_then(|m| m.account_id.clone())
    };
    let event = |kind, sp_user_id: &str, resource: Option<&str>, before, after| NewChangeEvent {
        run_id: Some(run),
        detected_at,
        kind,
        account_id: account(sp_user_id),
        group_id: None,
        resource: resource.map(str::to_owned),
        role: None,
        before,
        after,
        // Steward makes no writes yet: every change is someone else's.
        out_of_band: true,
        actor_id: None,
        actor_name: None,
    };
    let member = |m: &StatuspageMemberRow| json!({ "sp_user_id": m.sp_user_id, "email": m.email });
    let mut events = vec![];
    for (id, m) in &new_members {
        if !old_members.contains_key(id) {
            events.push(event(
                ChangeKind::StatuspageMemberAdded,
                id,
                None,
                None,
                Some(member(m)),
            ));
        }
    }
    for (id, m) in &old_members {
        if !new_members.contains_key(id) {
            events.push(event(
                ChangeKind::StatuspageMemberRemoved,
                id,
                None,
                Some(member(m)),
                None,
            ));
        }
    }
    let by_key = |rows: Vec<StatuspagePermissionRow>| {
        rows.into_iter()
            .map(|p| ((p.sp_user_id.clone(), p.page_id.clone()), p))
            .collect::<BTreeMap<_, _>>()
    };
    let before = by_key(old.statuspage_permissions().await?);
    let after = by_key(new.statuspage_permissions().await?);
    let keys: BTreeSet<_> = before.keys().chain(after.keys()).collect();
    for key @ (user, page) in keys {
        let (b, a) = (before.get(key), after.get(key));
        if b != a {
            events.push(event(
                ChangeKind::StatuspagePermissionChanged,
                user,
                Some(page),
                b.map(flags),
                a.map(flags),
            ));
        }
    }
    Ok(events)
}
