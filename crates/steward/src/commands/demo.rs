//! `steward demo`: with no input and no credentials, Steward end to end against the built-in
//! sandbox: verify → sync → a change made in Atlassian by another admin → sync again, which
//! records that change as out-of-band and says who made it → a grant (creating the account) →
//! an offboarding → a last sync recording Steward's own changes as its own. Exits 0 when every
//! step did what it should.

use anyhow::Context;
use atlassian_sim::state::{AccountType, ManagementSource, World};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use steward_store::{ChangeKind, ChangeQuery, Store};

use steward_engine::provision::OffboardLevel;

use crate::cli::{ApplyFlags, Cli, DemoArgs, Output, PlanAction};
use crate::commands::entitlements::PlanRequest;
use crate::commands::{EXIT_FAILED, changes, provision, sandbox, sync};
use crate::output;

/// What the demo's "other admin" did, to look for in the second sync's changes.
struct Change {
    actor_name: String,
    account_id: String,
    group_id: String,
    said: String,
}

pub async fn run(cli: &Cli, args: &DemoArgs) -> anyhow::Result<u8> {
    println!(
        "Steward demo: a simulated Atlassian organization ({:?} profile, seed {}, {:?} user \
         management), connected at the org level.",
        args.sim.profile, args.sim.seed, args.sim.mode
    );
    let sim = Simulator::spawn(sandbox::sim_config(&args.sim, SimConfig::default().addr))
        .await
        .context("cannot start the sandbox")?;
    let result = steps(cli, args, &sim).await;
    sim.shutdown().await;
    result
}

async fn steps(cli: &Cli, args: &DemoArgs, sim: &SimHandle) -> anyhow::Result<u8> {
    let target = sandbox::target(sim.info())?;
    let mut _temp_dir = None;
    let database_url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
            let url = format!("sqlite://{}", dir.path().join("steward.db").display());
            _temp_dir = Some(dir);
            url
        }
    };
    let store = Store::open(&database_url)
        .await
        .context("cannot open the database")?;

    println!("\n== 1/7 steward verify: is every prerequisite of the connection in place?\n");
    let report = steward_engine::verify(&target).await?;
    print!("{}", output::report(&report, Output::Table)?);
    if !report.passed() {
        println!("\nThe sandbox failed its own verification: please report this as a bug.");
        return Ok(EXIT_FAILED);
    }

    println!("\n== 2/7 steward sync: every user and what they can do, in every product\n");
    let first = sync::run_once(&target, &store, args.quiet).await;
    print!("{}", sync::render(&first, Output::Table)?);
    if !first.succeeded() {
        println!(
            "\nThe first sync failed: {}",
            first.error.unwrap_or_default()
        );
        return Ok(EXIT_FAILED);
    }

    println!(
        "\n== 3/7 meanwhile, another admin changes access in Atlassian, not through Steward\n"
    );
    let change = sim.app().write(other_admin_changes_access)?;
    println!("{}", change.said);

    println!("\n== 4/7 steward sync again: the change is found, flagged out-of-band, attributed\n");
    let second = sync::run_once(&target, &store, args.quiet).await;
    print!("{}", sync::render(&second, Output::Table)?);
    if !second.succeeded() {
        println!(
            "\nThe second sync failed: {}",
            second.error.unwrap_or_default()
        );
        return Ok(EXIT_FAILED);
    }
    let events = store
        .changes()
        .list(&ChangeQuery {
            run: second.run,
            ..ChangeQuery::default()
        })
        .await
        .context("cannot read the change events")?;
    println!("\nsteward changes (this run):\n");
    print!("{}", changes::render(&events, cli.output)?);
    let found = events.iter().any(|e| {
        let ev = &e.event;
        ev.kind == ChangeKind::GroupMembershipAdded
            && ev.account_id.as_deref() == Some(change.account_id.as_str())
            && ev.group_id.as_deref() == Some(change.group_id.as_str())
            && ev.out_of_band
            && ev.actor_name.as_deref() == Some(change.actor_name.as_str())
    });
    if !found {
        println!("\nThe second sync did not record the change as expected: please report this.");
        return Ok(EXIT_FAILED);
    }

    let Some(snapshot) = store.latest_snapshot().await? else {
        println!("\nNo snapshot after two syncs: please report this.");
        return Ok(EXIT_FAILED);
    };
    let site = &sim.info().sites[0].name;
    let flags = |reason: &str| ApplyFlags {
        reason: Some(reason.to_owned()),
        requested_by: Some("demo@steward".to_owned()),
        dry_run: false,
        yes: false,
        no_wait: false,
        database_url: None,
    };
    println!(
        "\n== 5/7 steward grant {NEW_HIRE} jira:{site}/user confluence:{site}/user: the \
         account is created, then given both products, as a journaled job\n"
    );
    let grant = PlanRequest {
        action: PlanAction::Grant,
        email: NEW_HIRE.to_owned(),
        entitlements: vec![
            format!("jira:{site}/user"),
            format!("confluence:{site}/user"),
        ],
        level: None,
        platform_roles: false,
    };
    let integration = Some(target.integration_email.as_str());
    let code = provision::apply_to(
        Output::Table,
        &store,
        &snapshot,
        Some(&target),
        integration,
        &grant,
        &flags("new starter"),
        &Default::default(),
    )
    .await?;
    if code != 0 {
        println!("\nThe grant did not succeed: please report this.");
        return Ok(EXIT_FAILED);
    }

    let leaver = sim.app().read(someone_to_offboard)?;
    println!(
        "\n== 6/7 steward offboard {leaver} --level suspend: a restore bundle first, then the \
         account suspended (`steward restore` gives it all back)\n"
    );
    let offboard = PlanRequest {
        action: PlanAction::Offboard,
        email: leaver.clone(),
        entitlements: vec![],
        level: Some(OffboardLevel::Suspend),
        platform_roles: false,
    };
    let code = provision::apply_to(
        Output::Table,
        &store,
        &snapshot,
        Some(&target),
        integration,
        &offboard,
        &flags("left the company"),
        &Default::default(),
    )
    .await?;
    if code != 0 {
        println!("\nThe offboarding did not succeed: please report this.");
        return Ok(EXIT_FAILED);
    }

    println!("\n== 7/7 steward sync: Steward's own changes are recorded, and are not drift\n");
    let third = sync::run_once(&target, &store, args.quiet).await;
    print!("{}", sync::render(&third, Output::Table)?);
    let events = store
        .changes()
        .list(&ChangeQuery {
            run: third.run,
            ..ChangeQuery::default()
        })
        .await
        .context("cannot read the change events")?;
    store.close().await;
    print!("{}", changes::render(&events, cli.output)?);
    let drift = events.iter().filter(|e| e.event.out_of_band).count();
    if !third.succeeded() || events.is_empty() || drift > 0 {
        println!(
            "\nThe last sync should record Steward's changes, none out-of-band ({drift} were): \
             please report this."
        );
        return Ok(EXIT_FAILED);
    }
    println!(
        "\nDone: Steward saw {}'s change as out-of-band, granted {NEW_HIRE} Jira and Confluence, \
         offboarded {leaver}, and recorded its own {} changes as its own.\n\
         Next: `steward sandbox` keeps a sandbox running with a config for every command; the \
         README's setup guide connects your own organization.",
        change.actor_name,
        events.len()
    );
    Ok(0)
}

/// The person the demo hires.
const NEW_HIRE: &str = "new.hire@acme.com";

/// An active person, not an admin, not the integration account, not managed by an identity
/// provider, with a direct role and a group: the demo's leaver.
fn someone_to_offboard(w: &World) -> anyhow::Result<String> {
    let integration = w.integration_account();
    (0..w.accounts.len() as u32)
        .find(|ax| {
            let a = w.account(*ax);
            *ax != integration
                && !a.org_admin
                && a.kind == AccountType::Atlassian
                && a.email.is_some()
                && w.composite_status(*ax) == "active"
                && !a.direct_roles.is_empty()
                && !a.groups.is_empty()
                && a.source == ManagementSource::Invited
        })
        .and_then(|ax| w.account(ax).email.clone())
        .context("the sandbox has nobody to offboard")
}

/// An org admin other than the integration account adds an active member, who is neither an
/// admin nor the integration account, to a group they are not in (the first that accepts
/// them: a group granting a product with no seat left refuses).
fn other_admin_changes_access(w: &mut World) -> anyhow::Result<Change> {
    let integration = w.integration_account();
    let n = w.accounts.len() as u32;
    let is_person = |w: &World, ax| {
        let a = w.account(ax);
        ax != integration && a.kind == AccountType::Atlassian && w.composite_status(ax) == "active"
    };
    let actor = (0..n)
        .find(|ax| is_person(w, *ax) && w.account(*ax).org_admin)
        .context("the sandbox has no org admin besides the integration account")?;
    let groups: Vec<_> = w
        .live_groups()
        .filter(|(_, g)| !g.external)
        .map(|(gx, _)| gx)
        .collect();
    let members: Vec<u32> = (0..n)
        .filter(|ax| is_person(w, *ax) && !w.account(*ax).org_admin)
        .collect();
    for ax in members {
        for gx in &groups {
            if w.account(ax).groups.contains(gx) {
                continue;
            }
            if let Ok(true) = w.add_member(actor, *gx, ax) {
                let (a, g, by) = (w.account(ax), w.group(*gx), w.account(actor));
                return Ok(Change {
                    actor_name: by.name.clone(),
                    account_id: a.id.clone(),
                    group_id: g.id.clone(),
                    said: format!(
                        "{} ({}) added {} to the group {} in admin.atlassian.com.",
                        by.name,
                        by.email.as_deref().unwrap_or("no email"),
                        a.email.as_deref().unwrap_or(&a.id),
                        g.name
                    ),
                });
            }
        }
    }
    anyhow::bail!("no member of the sandbox could be added to a group")
}
