//! `steward users` and `steward user`: after `sync --sandbox`, the JSON list equals the ground
//! truth of a fresh sandbox with the same seed; one person's sheet names where a grant comes
//! from; an unknown email and a store never synced fail clearly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use atlassian_sim::state::{AccountIx, AccountType, Role};
use atlassian_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

use crate::{steward, text};

/// Runs `steward` off the async runtime.
async fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        steward(&dir, &args, &[])
    })
    .await
    .unwrap_or_else(|e| unreachable!("{e}"))
}

/// A temp dir and the URL of a SQLite database in it.
fn database() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().to_owned();
    let url = format!("sqlite://{}", path.join("s.db").display());
    (dir, path, url)
}

/// The sandbox synced into a fresh database.
async fn synced() -> (tempfile::TempDir, PathBuf, String) {
    let (dir, path, url) = database();
    let out = run(&path, &["sync", "--sandbox", "--database-url", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (dir, path, url)
}

/// One person as (email, status, grants, groups, Statuspage pages, JSM desks, last active),
/// each grant as `product|resource|site|role|source` with the source `direct`, `inferred` or
/// `group:<id>:<name>`, last activity as `product|<epoch ms>`.
type Summary = (
    Option<String>,
    String,
    BTreeSet<String>,
    BTreeSet<String>,
    Option<BTreeSet<String>>,
    BTreeSet<String>,
    BTreeSet<String>,
);

/// Roles that make a product usable (what the users search's `productAccess` lists).
const ACCESS: [Role; 6] = [
    Role::User,
    Role::Admin,
    Role::Guest,
    Role::Contributor,
    Role::Basic,
    Role::Viewer,
];

/// The ground truth of a fresh sandbox (seed 42, small, centralized, as `sync --sandbox`).
async fn truth() -> BTreeMap<String, Summary> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig::default())
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    let out = sim.app().read(|w| {
        let mut desks: BTreeMap<AccountIx, BTreeSet<String>> = BTreeMap::new();
        for site in &w.sites {
            for desk in &site.service_desks {
                for ax in &desk.customers {
                    desks
                        .entry(*ax)
                        .or_default()
                        .insert(format!("{}/{}", site.name, desk.id));
                }
            }
        }
        let mut out = BTreeMap::new();
        for (i, a) in w.accounts.iter().enumerate() {
            let ax: AccountIx = i as _;
            if a.kind != AccountType::Atlassian || (a.directories.is_empty() && !w.is_managed(ax)) {
                continue;
            }
            let mut grants = BTreeSet::new();
            if a.org_admin {
                grants.insert(format!(
                    "platform|ari:cloud:platform::org/{}||atlassian/org-admin|direct",
                    w.org.id
                ));
            }
            for ((rx, role), m) in w.role_assignments(ax) {
                let r = w.resource(rx);
                let product = steward_engine::Product::from_key(r.product.key())
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                let site = r.site.map(|s| w.site(s).name.clone()).unwrap_or_default();
                let key =
                    |source: &str| format!("{product}|{}|{site}|{}|{source}", r.ari(), role.id());
                if m.direct {
                    grants.insert(key("direct"));
                }
                if m.inferred {
                    grants.insert(key("inferred"));
                }
                if m.group {
                    for gx in &a.groups {
                        let g = w.group(*gx);
                        if !g.deleted && g.roles.contains(&(rx, role)) {
                            grants.insert(key(&format!("group:{}:{}", g.id, g.name)));
                        }
                    }
                }
            }
            let groups = a
                .groups
                .iter()
                .map(|gx| w.group(*gx))
                .filter(|g| !g.deleted)
                .map(|g| format!("{}:{}", g.id, g.name))
                .collect();
            let statuspage = w.statuspage.members.get(&ax).map(|m| {
                m.pages
                    .iter()
                    .map(|(page, p)| {
                        format!(
                            "{}|{page}|{}|{}|{}",
                            m.id, p.page_configuration, p.incident_manager, p.maintenance_manager
                        )
                    })
                    .collect()
            });
            // Latest activity per product among the products usable now.
            let usable: BTreeSet<_> = w
                .role_assignments(ax)
                .keys()
                .filter(|(rx, role)| ACCESS.contains(role) && w.can_access(ax, *rx))
                .map(|(rx, _)| *rx)
                .collect();
            let mut latest: BTreeMap<String, i64> = BTreeMap::new();
            for (rx, at) in &a.last_active {
                let product = steward_engine::Product::from_key(w.resource(*rx).product.key());
                if let Some(product) = product.filter(|_| usable.contains(rx)) {
                    let ms = latest
                        .entry(product.as_str().to_owned())
                        .or_insert(i64::MIN);
                    *ms = (*ms).max(at.timestamp_millis());
                }
            }
            let last_active = latest
                .into_iter()
                .filter(|(product, _)| product != "platform")
                .map(|(product, ms)| format!("{product}|{ms}"))
                .collect();
            out.insert(
                a.id.clone(),
                (
                    a.email.clone(),
                    w.composite_status(ax).to_owned(),
                    grants,
                    groups,
                    statuspage,
                    desks.remove(&ax).unwrap_or_default(),
                    last_active,
                ),
            );
        }
        out
    });
    sim.shutdown().await;
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The same summary, read from one person of `steward users --output json`.
fn summary(p: &Value) -> Summary {
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let grants = list(&p["grants"])
        .iter()
        .map(|g| {
            let src = &g["source"];
            let source = match src["type"].as_str() {
                Some("group") => format!("group:{}:{}", s(&src["group_id"]), s(&src["group_name"])),
                other => other.unwrap_or("?").to_owned(),
            };
            format!(
                "{}|{}|{}|{}|{source}",
                s(&g["product"]),
                s(&g["resource"]),
                s(&g["site"]),
                s(&g["role"])
            )
        })
        .collect();
    let groups = list(&p["groups"])
        .iter()
        .map(|g| format!("{}:{}", s(&g["group_id"]), s(&g["name"])))
        .collect();
    let sp = &p["statuspage"];
    let statuspage = (!sp.is_null()).then(|| {
        list(&sp["pages"])
            .iter()
            .map(|page| {
                format!(
                    "{}|{}|{}|{}|{}",
                    s(&sp["user_id"]),
                    s(&page["page_id"]),
                    page["page_configuration"],
                    page["incident_manager"],
                    page["maintenance_manager"]
                )
            })
            .collect()
    });
    let desks = list(&p["jsm_customer_of"])
        .iter()
        .map(|d| format!("{}/{}", s(&d["site"]), s(&d["service_desk_id"])))
        .collect();
    let last_active = p["last_active"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(product, at)| {
                    let ms = chrono::DateTime::parse_from_rfc3339(&s(at))
                        .map(|t| t.timestamp_millis())
                        .unwrap_or_default();
                    format!("{product}|{ms}")
                })
                .collect()
        })
        .unwrap_or_default();
    (
        p["email"].as_str().map(str::to_owned),
        s(&p["status"]),
        grants,
        groups,
        statuspage,
        desks,
        last_active,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn users_json_after_a_sandbox_sync_equals_the_ground_truth() {
    let (_dir, path, url) = synced().await;
    let out = run(
        &path,
        &["users", "--database-url", &url, "--output", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| unreachable!("{e}"));
    let people = json.as_array().cloned().unwrap_or_default();
    let got: BTreeMap<String, Summary> = people
        .iter()
        .map(|p| (s(&p["account_id"]), summary(p)))
        .collect();
    let want = truth().await;
    assert_eq!(want.len(), 60);
    assert_eq!(got.len(), people.len(), "one entry per account");
    assert!(
        want.values()
            .any(|p| p.2.iter().any(|g| g.contains("|group:")))
    );
    assert!(
        want.values()
            .any(|p| p.4.as_ref().is_some_and(|s| !s.is_empty()))
    );
    assert!(want.values().any(|p| !p.5.is_empty()));
    assert!(want.values().filter(|p| !p.6.is_empty()).count() > 10);
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (id, p) in &want {
        assert_eq!(Some(p), got.get(id), "account {id}");
    }
    // Every documented field is there.
    for key in [
        "account_id",
        "email",
        "name",
        "account_type",
        "status",
        "account_status",
        "claim_status",
        "management_source",
        "grants",
        "groups",
        "statuspage",
        "jsm_customer_of",
        "last_active",
        "last_active_at",
    ] {
        assert!(people.iter().all(|p| p.get(key).is_some()), "{key} missing");
    }

    // A filter and the CSV form: one row per account, with a header.
    let out = run(
        &path,
        &[
            "users",
            "--database-url",
            &url,
            "--product",
            "jpd",
            "--output",
            "csv",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    let jpd = want
        .values()
        .filter(|p| p.2.iter().any(|g| g.starts_with("jpd|")))
        .count();
    assert!(jpd > 0 && jpd < want.len());
    assert_eq!(csv.lines().count(), jpd + 1, "{csv}");
    assert!(csv.starts_with("account_id,email,name,status,products,groups,last_active\n"));
    assert!(csv.lines().skip(1).all(|l| l.contains("jpd:")), "{csv}");

    // The table names each person's products with site and role.
    let out = run(&path, &["users", "--database-url", &url]).await;
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(table.starts_with("EMAIL"), "{table}");
    assert!(table.contains("jira:acme user"), "{table}");
    assert!(table.contains("60 account(s)"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn user_shows_every_grant_with_its_source() {
    let (_dir, path, url) = synced().await;
    // Someone holding a role through a group, by the ground truth.
    let want = truth().await;
    let (email, grant) = want
        .values()
        .find_map(|p| {
            let g = p.2.iter().find(|g| g.contains("|group:"))?;
            Some((p.0.clone()?, g.clone()))
        })
        .unwrap_or_else(|| unreachable!("no group grant in the sandbox"));
    let group_name = grant.rsplit(':').next().unwrap_or_default().to_owned();
    let out = run(
        &path,
        &["user", &email.to_uppercase(), "--database-url", &url],
    )
    .await;
    let sheet = text(&out);
    assert_eq!(out.status.code(), Some(0), "{sheet}");
    assert!(sheet.contains(&format!("<{email}>")), "{sheet}");
    assert!(
        sheet.contains(&format!("through group {group_name}")),
        "{sheet}"
    );
    for section in ["Grants (", "Groups (", "Statuspage", "JSM customer of ("] {
        assert!(sheet.contains(section), "{section} missing in {sheet}");
    }
    // CSV: one row per grant.
    let out = run(
        &path,
        &["user", &email, "--database-url", &url, "--output", "csv"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let grants = want
        .values()
        .find(|p| p.0.as_deref() == Some(email.as_str()))
        .map(|p| p.2.len())
        .unwrap_or_default();
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(csv.lines().count(), grants + 1, "{csv}");
    assert!(csv.contains(",group,"), "{csv}");
    // JSON: the person.
    let out = run(
        &path,
        &["user", &email, "--database-url", &url, "--output", "json"],
    )
    .await;
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(json["email"], json!(email));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_email_exits_1_with_a_clear_message() {
    let (_dir, path, url) = synced().await;
    let out = run(
        &path,
        &["user", "nobody@nowhere.test", "--database-url", &url],
    )
    .await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("no account with the email \"nobody@nowhere.test\""),
        "{said}"
    );
    assert!(out.stdout.is_empty(), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_before_any_sync_says_to_run_sync() {
    let (_dir, path, url) = database();
    for args in [
        vec!["users", "--database-url", url.as_str()],
        vec!["user", "a@acme.com", "--database-url", url.as_str()],
    ] {
        let out = run(&path, &args).await;
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("run `steward sync` first"), "{said}");
    }
    assert!(
        !path.join("s.db").exists(),
        "a read created the database file"
    );
    // A database that exists but holds no completed sync says the same.
    let store = steward_store::Store::open(&url)
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    store.close().await;
    let out = run(&path, &["users", "--database-url", &url]).await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("run `steward sync` first"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_product_lists_the_valid_ones() {
    let (_dir, path, url) = database();
    let out = run(
        &path,
        &["users", "--product", "bitbucket", "--database-url", &url],
    )
    .await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    for name in steward_engine::Product::NAMES {
        assert!(said.contains(name), "{name} not listed in {said}");
    }
}
