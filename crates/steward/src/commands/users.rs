//! `steward users [filters]` and `steward user <EMAIL>`: people and their access, as the
//! latest completed sync saw them. The joining lives in `steward_engine::access`; this module
//! finds the store and renders.

use std::fmt::Write;

use anyhow::Context;
use chrono::{DateTime, Utc};
use steward_engine::access::{self, PeopleFilter, Person, Source};

use super::EXIT_FAILED;
use crate::cli::{Cli, Output, UserArgs, UsersArgs};
use crate::output::{csv, table};

/// `steward users`.
pub async fn list(cli: &Cli, args: &UsersArgs) -> anyhow::Result<u8> {
    let filter = PeopleFilter {
        product: args.product,
        role: args.role.clone(),
        status: args.status.clone(),
        inactive_for_days: args.inactive_for,
        now: None,
    };
    let Some((store, snapshot)) = super::open_snapshot(cli, args.database_url.as_deref()).await?
    else {
        return Ok(EXIT_FAILED);
    };
    let people = access::people(&snapshot, &filter).await;
    store.close().await;
    let people = people.context("cannot read the people of the latest sync")?;
    print!("{}", render_list(&people, cli.output)?);
    Ok(0)
}

/// `steward user <EMAIL>`.
pub async fn show(cli: &Cli, args: &UserArgs) -> anyhow::Result<u8> {
    let Some((store, snapshot)) = super::open_snapshot(cli, args.database_url.as_deref()).await?
    else {
        return Ok(EXIT_FAILED);
    };
    let person = access::person(&snapshot, &args.email).await;
    store.close().await;
    let Some(person) = person.context("cannot read the person from the latest sync")? else {
        eprintln!(
            "no account with the email {:?} in the latest sync (run {}); `steward users` lists \
             them",
            args.email,
            snapshot.run()
        );
        return Ok(EXIT_FAILED);
    };
    print!("{}", render_one(&person, cli.output)?);
    Ok(0)
}

fn day(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d").to_string())
}

fn rfc3339(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The people as a JSON array of `Person`, one CSV row per account, or a table.
fn render_list(people: &[Person], output: Output) -> anyhow::Result<String> {
    Ok(match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(people)?),
        Output::Csv => {
            let rows: Vec<Vec<String>> = people
                .iter()
                .map(|p| {
                    vec![
                        p.account_id.clone(),
                        p.email.clone().unwrap_or_default(),
                        p.name.clone(),
                        p.status.clone(),
                        p.access_summary().join(", "),
                        p.groups
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        rfc3339(p.last_active_at),
                    ]
                })
                .collect();
            csv(
                &[
                    "account_id",
                    "email",
                    "name",
                    "status",
                    "products",
                    "groups",
                    "last_active",
                ],
                &rows,
            )
        }
        Output::Table => {
            if people.is_empty() {
                return Ok("no accounts match\n".to_owned());
            }
            let rows: Vec<Vec<String>> = people
                .iter()
                .map(|p| {
                    vec![
                        p.email.clone().unwrap_or_else(|| p.account_id.clone()),
                        p.name.clone(),
                        p.status.clone(),
                        p.access_summary().join(", "),
                        day(p.last_active_at),
                    ]
                })
                .collect();
            let mut out = table(
                &["EMAIL", "NAME", "STATUS", "PRODUCTS", "LAST ACTIVE"],
                &rows,
                "",
            );
            let _ = writeln!(out, "\n{} account(s)", people.len());
            out
        }
    })
}

/// One person as JSON, one CSV row per grant, or a sheet with every field and grant.
fn render_one(p: &Person, output: Output) -> anyhow::Result<String> {
    let grant_rows = || -> Vec<Vec<String>> {
        p.grants
            .iter()
            .map(|g| {
                vec![
                    g.product
                        .map_or_else(|| g.product_key.clone(), |x| x.as_str().to_owned()),
                    g.site.clone().unwrap_or_default(),
                    g.role.clone(),
                    g.source.to_string(),
                    g.resource.clone(),
                ]
            })
            .collect()
    };
    Ok(match output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(p)?),
        Output::Csv => {
            let rows: Vec<Vec<String>> = p
                .grants
                .iter()
                .map(|g| {
                    let (source, group_id, group_name) = match &g.source {
                        Source::Direct => ("direct", String::new(), String::new()),
                        Source::Inferred => ("inferred", String::new(), String::new()),
                        Source::Group {
                            group_id,
                            group_name,
                        } => (
                            "group",
                            group_id.clone(),
                            group_name.clone().unwrap_or_default(),
                        ),
                    };
                    vec![
                        p.account_id.clone(),
                        p.email.clone().unwrap_or_default(),
                        g.product
                            .map_or_else(|| g.product_key.clone(), |x| x.as_str().to_owned()),
                        g.site.clone().unwrap_or_default(),
                        g.resource.clone(),
                        g.role.clone(),
                        source.to_owned(),
                        group_id,
                        group_name,
                    ]
                })
                .collect();
            csv(
                &[
                    "account_id",
                    "email",
                    "product",
                    "site",
                    "resource",
                    "role",
                    "source",
                    "group_id",
                    "group_name",
                ],
                &rows,
            )
        }
        Output::Table => {
            let mut out = String::new();
            let email = p.email.as_deref().unwrap_or("(no email)");
            let _ = writeln!(out, "{} <{email}>", p.name);
            let per_product = p
                .last_active
                .iter()
                .map(|(product, at)| format!("{product} {}", day(Some(*at))))
                .collect::<Vec<_>>()
                .join(", ");
            let last_active = if per_product.is_empty() {
                day(p.last_active_at)
            } else {
                format!("{} ({per_product})", day(p.last_active_at))
            };
            let fields = [
                ("account id", p.account_id.clone()),
                ("type", p.account_type.clone()),
                ("status", p.status.clone()),
                ("account status", p.account_status.clone()),
                ("claim", p.claim_status.clone()),
                (
                    "managed by",
                    p.management_source
                        .clone()
                        .unwrap_or_else(|| "-".to_owned()),
                ),
                ("last active", last_active),
            ];
            for (k, v) in fields {
                let _ = writeln!(out, "  {k:<15} {v}");
            }
            let _ = writeln!(out, "\nGrants ({})", p.grants.len());
            if p.grants.is_empty() {
                out.push_str("  none\n");
            } else {
                out.push_str(&table(
                    &["PRODUCT", "SITE", "ROLE", "SOURCE", "RESOURCE"],
                    &grant_rows(),
                    "  ",
                ));
            }
            let _ = writeln!(out, "\nGroups ({})", p.groups.len());
            for g in &p.groups {
                let _ = writeln!(out, "  {} ({})", g.name, g.group_id);
            }
            out.push_str("\nStatuspage\n");
            match &p.statuspage {
                None => out.push_str("  not on the team\n"),
                Some(sp) => {
                    let _ = writeln!(out, "  team member {} ({})", sp.user_id, sp.email);
                    for page in &sp.pages {
                        let mut can = Vec::new();
                        if page.page_configuration {
                            can.push("page configuration");
                        }
                        if page.incident_manager {
                            can.push("incident manager");
                        }
                        if page.maintenance_manager {
                            can.push("maintenance manager");
                        }
                        let can = if can.is_empty() {
                            "no permission".to_owned()
                        } else {
                            can.join(", ")
                        };
                        let _ = writeln!(out, "  page {}: {can}", page.page_id);
                    }
                }
            }
            let _ = writeln!(out, "\nJSM customer of ({})", p.jsm_customer_of.len());
            for d in &p.jsm_customer_of {
                let _ = writeln!(out, "  {} service desk {}", d.site, d.service_desk_id);
            }
            out
        }
    })
}
