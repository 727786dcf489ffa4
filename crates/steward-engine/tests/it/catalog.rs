//! The entitlement catalog of a synced sandbox, under both user-management experiences: every
//! product role of every site, the JSM desks, Statuspage pages and groups the sync found; every
//! id resolves to itself and round-trips through `Display` / `FromStr`; unknown ids get
//! suggestions; stakeholder only where the snapshot shows it.

use std::collections::BTreeSet;

use atlassian_sim::state::Mode;
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use steward_engine::provision::catalog::{CatalogInput, ROLE_STAKEHOLDER};
use steward_engine::provision::{
    Catalog, CatalogConfig, CatalogError, EntitlementId, EntitlementKind, Risk,
};
use steward_engine::sync;
use steward_store::{ResourceRow, RoleAssignmentRow, SiteRow, Snapshot, Store};

use crate::support::{sqlite, target};

/// A sandbox in `mode`, synced into `store`.
pub async fn synced(mode: Mode, store: &Store) -> anyhow::Result<(SimHandle, Snapshot)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig {
        mode,
        users: Some(120),
        ..SimConfig::default()
    })
    .await?;
    let report = sync::run_all(&target(&sim)?, store).await;
    assert!(report.succeeded(), "{report:#?}");
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    Ok((sim, snapshot))
}

async fn catalog_covers_the_synced_org(mode: Mode) -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    let (_sim, snapshot) = synced(mode, &store).await?;
    let config = CatalogConfig {
        platform_roles: true,
    };
    let catalog = Catalog::from_snapshot(&snapshot, &config).await?;
    let ids: BTreeSet<String> = catalog
        .entitlements()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(ids.len(), catalog.entitlements().len(), "ids are unique");

    for site in snapshot.sites().await? {
        let s = &site.name;
        for id in [
            format!("jira:{s}/user"),
            format!("jira:{s}/admin"),
            format!("confluence:{s}/user"),
            format!("confluence:{s}/admin"),
            format!("confluence:{s}/guest"),
            format!("jsm:{s}/agent"),
            format!("jsm:{s}/admin"),
            format!("jsm:{s}/customer"),
            format!("jpd:{s}/creator"),
            format!("jpd:{s}/contributor"),
            format!("jpd:{s}/admin"),
            format!("platform:{s}/site-admin"),
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:#?}");
        }
    }
    assert!(ids.contains("platform:org/org-admin"));

    // Every id resolves to itself and round-trips.
    for e in catalog.entitlements() {
        let printed = e.id.to_string();
        let parsed: EntitlementId = printed.parse()?;
        assert_eq!(parsed, e.id);
        assert_eq!(catalog.resolve(&printed)?.id, e.id);
    }

    // Desks, pages and groups are the ones the sync found.
    let desks: BTreeSet<String> = snapshot
        .jsm_customers()
        .await?
        .into_iter()
        .map(|c| c.service_desk_id)
        .collect();
    assert!(!desks.is_empty());
    let catalog_desks: BTreeSet<String> = catalog
        .entitlements()
        .iter()
        .filter_map(|e| match &e.kind {
            EntitlementKind::JsmCustomer {
                service_desk_id, ..
            } => Some(service_desk_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(catalog_desks, desks);
    let permissions = snapshot.statuspage_permissions().await?;
    let pages: BTreeSet<String> = permissions.iter().map(|p| p.page_id.clone()).collect();
    // Page roles only where someone holds one (a page without role-based access has none).
    let with_roles: BTreeSet<String> = permissions
        .iter()
        .filter(|p| p.page_configuration || p.incident_manager || p.maintenance_manager)
        .map(|p| p.page_id.clone())
        .collect();
    assert!(!pages.is_empty());
    assert!(!with_roles.is_empty());
    assert!(
        with_roles.len() < pages.len(),
        "the sandbox has a page without roles"
    );
    for page in &pages {
        for role in ["user", "admin"] {
            assert!(ids.contains(&format!("statuspage:{page}/{role}")));
        }
        for role in [
            "page_configuration",
            "incident_manager",
            "maintenance_manager",
        ] {
            assert_eq!(
                ids.contains(&format!("statuspage:{page}/{role}")),
                with_roles.contains(page),
                "{page}/{role}"
            );
        }
    }
    let groups = snapshot.groups().await?;
    let group_ids: BTreeSet<&str> = catalog
        .entitlements()
        .iter()
        .filter_map(|e| match &e.kind {
            EntitlementKind::Group { group_id, .. } => Some(group_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        group_ids,
        groups.iter().map(|g| g.group_id.as_str()).collect()
    );

    // The sandbox has no JSM stakeholders, so its plan is not known to offer the role.
    assert!(!ids.iter().any(|id| id.ends_with("/stakeholder")));

    // Risks.
    let risk = |id: &str| catalog.resolve(id).map(|e| e.risk).ok();
    let site = snapshot
        .sites()
        .await?
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    assert_eq!(risk(&format!("jira:{site}/admin")), Some(Risk::High));
    assert_eq!(risk(&format!("jira:{site}/user")), Some(Risk::Normal));
    assert_eq!(risk(&format!("jpd:{site}/contributor")), Some(Risk::Low));
    assert_eq!(risk(&format!("confluence:{site}/guest")), Some(Risk::Low));
    assert_eq!(risk("platform:org/org-admin"), Some(Risk::High));

    // Without platform roles, none is offered.
    let plain = Catalog::from_snapshot(&snapshot, &CatalogConfig::default()).await?;
    assert!(
        plain
            .entitlements()
            .iter()
            .all(|e| !e.id.to_string().starts_with("platform:"))
    );
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn catalog_covers_a_centralized_org() -> anyhow::Result<()> {
    catalog_covers_the_synced_org(Mode::Centralized).await
}

#[tokio::test]
async fn catalog_covers_an_original_org() -> anyhow::Result<()> {
    catalog_covers_the_synced_org(Mode::Original).await
}

fn small_input() -> CatalogInput {
    CatalogInput {
        org_id: Some("o1".into()),
        sites: vec![SiteRow {
            cloud_id: "c1".into(),
            name: "acme".into(),
            url: "https://acme.atlassian.net".into(),
        }],
        resources: vec![
            ResourceRow {
                ari: "ari:cloud:jira-software::site/c1".into(),
                product: "jira-software".into(),
                site: Some("c1".into()),
                seats: None,
            },
            ResourceRow {
                ari: "ari:cloud:jira-servicedesk::site/c1".into(),
                product: "jira-servicedesk".into(),
                site: Some("c1".into()),
                seats: None,
            },
        ],
        ..CatalogInput::default()
    }
}

#[test]
fn stakeholder_is_offered_where_someone_holds_it() {
    let mut input = small_input();
    let without = Catalog::build(&input, &CatalogConfig::default());
    assert!(without.resolve("jsm:acme/stakeholder").is_err());
    input.role_assignments.push(RoleAssignmentRow {
        account_id: "a1".into(),
        resource_ari: "ari:cloud:jira-servicedesk::site/c1".into(),
        role: ROLE_STAKEHOLDER.into(),
        source: steward_store::GrantSource::Direct,
    });
    let with = Catalog::build(&input, &CatalogConfig::default());
    let e = with.resolve("jsm:acme/stakeholder");
    assert_eq!(e.map(|e| e.risk).ok(), Some(Risk::Low));
}

#[test]
fn unknown_ids_get_suggestions_and_malformed_ones_the_forms() {
    let catalog = Catalog::build(&small_input(), &CatalogConfig::default());
    let err = catalog.resolve("jira:acem/user").err();
    assert!(
        matches!(&err, Some(CatalogError::Unknown { suggestions, .. }) if suggestions.first().map(String::as_str) == Some("jira:acme/user")),
        "{err:?}"
    );
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("no entitlement jira:acem/user in this org; did you mean jira:acme/user"),
        "{msg}"
    );
    let msg = catalog
        .resolve("jira/acme/user")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("valid forms:"), "{msg}");
    let msg = catalog
        .resolve("confluence:acme/user")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("`steward entitlements` lists them"), "{msg}");
}
