//! The planner and its guard rails: hand-written cases for each kind of plan and each
//! refusal, properties over random people and requests (no operation twice, nothing
//! destructive before the restore bundle, the integration account never touched
//! destructively, applying a plan converges), and plans over a synced sandbox under both
//! user-management experiences.

use std::collections::{BTreeMap, BTreeSet};

use atlassian_sim::state::Mode;
use proptest::prelude::*;
use steward_engine::provision::catalog::{CatalogInput, ROLE_ADMIN, ROLE_USER};
use steward_engine::provision::guard::GuardError;
use steward_engine::provision::{
    AccountState, Catalog, CatalogConfig, DeskRef, Entitlement, Experience, GroupFacts, HeldRole,
    HeldSource, ORG_ADMIN, OffboardLevel, Op, OrgFacts, PageFlags, PersonState, Plan, PlanError,
    RestoreBundle, apply_op, person_state, plan_grant, plan_offboard, plan_restore, plan_revoke,
};
use steward_store::{
    DirectoryRow, GroupRoleRow, GroupRow, JsmCustomerRow, ResourceRow, SiteRow,
    StatuspagePermissionRow,
};

use crate::catalog::synced;
use crate::support::sqlite;

const JIRA: &str = "ari:cloud:jira-software::site/c1";
const CONF: &str = "ari:cloud:confluence::site/c1";
const JSM: &str = "ari:cloud:jira-servicedesk::site/c1";
const SP: &str = "ari:cloud:statuspage::site/sp1";
const ORG: &str = "ari:cloud:platform::org/o1";
const INTEGRATION: &str = "int-1";

/// A test group: (id, name, external_synced, roles).
type TestGroup = (
    &'static str,
    &'static str,
    bool,
    &'static [(&'static str, &'static str)],
);

const GROUPS: &[TestGroup] = &[
    (
        "g-jira",
        "jira-software-users-acme",
        false,
        &[(JIRA, ROLE_USER)],
    ),
    (
        "g-conf",
        "confluence-users-acme",
        false,
        &[(CONF, ROLE_USER)],
    ),
    ("g-jadm", "jira-admins-acme", false, &[(JIRA, ROLE_ADMIN)]),
    ("g-sp", "statuspage-users", false, &[(SP, ROLE_USER)]),
    (
        "g-okta",
        "okta-engineering",
        true,
        &[(JIRA, ROLE_USER), (CONF, ROLE_USER)],
    ),
    ("g-team", "team-platform", false, &[]),
];

fn facts(experience: Experience) -> OrgFacts {
    OrgFacts {
        experience,
        org_resource: ORG.into(),
        integration_account_id: Some(INTEGRATION.into()),
        org_admins: BTreeSet::from([INTEGRATION.to_owned(), "boss".to_owned()]),
        groups: GROUPS
            .iter()
            .map(|(id, name, synced, roles)| {
                (
                    (*id).to_owned(),
                    GroupFacts {
                        group_id: (*id).into(),
                        name: (*name).into(),
                        directory_id: Some("d1".into()),
                        external_synced: *synced,
                        managed_by: synced.then(|| "external".to_owned()),
                        roles: roles
                            .iter()
                            .map(|(r, role)| ((*r).to_owned(), (*role).to_owned()))
                            .collect(),
                    },
                )
            })
            .collect(),
        directories: vec![DirectoryRow {
            directory_id: "d1".into(),
            name: "Acme".into(),
        }],
    }
}

fn catalog() -> Catalog {
    let resource = |ari: &str, product: &str, site: Option<&str>| ResourceRow {
        ari: ari.into(),
        product: product.into(),
        site: site.map(str::to_owned),
        seats: None,
    };
    let input = CatalogInput {
        org_id: Some("o1".into()),
        sites: vec![SiteRow {
            cloud_id: "c1".into(),
            name: "acme".into(),
            url: "https://acme.atlassian.net".into(),
        }],
        resources: vec![
            resource(JIRA, "jira-software", Some("c1")),
            resource(CONF, "confluence", Some("c1")),
            resource(JSM, "jira-servicedesk", Some("c1")),
            resource(SP, "statuspage", None),
            resource("ari:cloud:platform::site/c1", "platform", Some("c1")),
        ],
        groups: GROUPS
            .iter()
            .map(|(id, name, synced, _)| GroupRow {
                group_id: (*id).into(),
                name: (*name).into(),
                directory_id: Some("d1".into()),
                external_synced: *synced,
                managed_by: synced.then(|| "external".to_owned()),
            })
            .collect(),
        group_roles: GROUPS
            .iter()
            .flat_map(|(id, _, _, roles)| {
                roles.iter().map(|(r, role)| GroupRoleRow {
                    group_id: (*id).into(),
                    resource_ari: (*r).into(),
                    role: (*role).into(),
                })
            })
            .collect(),
        // Someone manages incidents on p1 (so it has role-based access, and page roles).
        statuspage_permissions: ["p1", "p2"]
            .map(|page| StatuspagePermissionRow {
                sp_user_id: "sp-x".into(),
                page_id: page.into(),
                page_configuration: false,
                incident_manager: page == "p1",
                maintenance_manager: false,
            })
            .to_vec(),
        jsm_customers: vec![JsmCustomerRow {
            site: "c1".into(),
            service_desk_id: "7".into(),
            account_id: "x".into(),
        }],
        ..CatalogInput::default()
    };
    Catalog::build(
        &input,
        &CatalogConfig {
            platform_roles: true,
        },
    )
}

fn ents(ids: &[&str]) -> Vec<Entitlement> {
    catalog()
        .resolve_all(ids)
        .unwrap_or_else(|e| unreachable!("{e}"))
}

/// An active, invited (not IdP-managed), managed account holding `direct` roles and `groups`
/// (with their roles).
fn person(id: &str, direct: &[(&str, &str)], groups: &[&str], facts: &OrgFacts) -> PersonState {
    let mut roles: BTreeSet<HeldRole> = direct
        .iter()
        .map(|(r, role)| HeldRole {
            resource: (*r).into(),
            role: (*role).into(),
            source: HeldSource::Direct,
        })
        .collect();
    let mut names = BTreeMap::new();
    for g in groups {
        if let Some(facts) = facts.groups.get(*g) {
            names.insert((*g).to_owned(), facts.name.clone());
            for (r, role) in &facts.roles {
                roles.insert(HeldRole {
                    resource: r.clone(),
                    role: role.clone(),
                    source: HeldSource::Group {
                        group_id: (*g).to_owned(),
                    },
                });
            }
        }
    }
    PersonState {
        email: format!("{id}@acme.com"),
        account: Some(AccountState {
            account_id: id.into(),
            account_type: "atlassian".into(),
            status: "active".into(),
            claim_status: "managed".into(),
            management_source: Some("invited".into()),
            directories: BTreeSet::from(["d1".to_owned()]),
            roles,
            groups: names,
        }),
        statuspage: None,
        jsm_desks: BTreeSet::new(),
    }
}

fn ops(plan: &Plan) -> Vec<Op> {
    plan.ops.iter().map(|p| p.op.clone()).collect()
}

fn apply(state: &PersonState, plan: &Plan, facts: &OrgFacts) -> PersonState {
    let mut state = state.clone();
    for p in &plan.ops {
        apply_op(&mut state, &p.op, facts);
    }
    state
}

fn grant_role(resource: &str, role: &str) -> Op {
    Op::GrantRole {
        resource: resource.into(),
        role: role.into(),
    }
}

#[test]
fn grant_to_an_unknown_email_invites_first_then_grants_and_verifies() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let state = PersonState::unknown("new@acme.com");
    let plan = plan_grant(
        &state,
        &ents(&["jira:acme/user", "jsm:acme/customer@7"]),
        &facts,
    )?;
    assert_eq!(
        ops(&plan),
        vec![
            Op::InviteAccount,
            grant_role(JIRA, ROLE_USER),
            Op::AddJsmCustomer {
                site: "acme".into(),
                service_desk_id: "7".into()
            },
            Op::Verify,
        ]
    );
    assert_eq!(plan.subject.account_id, None);
    assert_eq!(plan.ops[1].why, "requested: jira:acme/user");
    Ok(())
}

#[test]
fn original_experience_grants_through_the_default_group() -> anyhow::Result<()> {
    let facts = facts(Experience::Original);
    let state = person("ada", &[], &[], &facts);
    let plan = plan_grant(
        &state,
        &ents(&["jira:acme/user", "jira:acme/admin"]),
        &facts,
    )?;
    assert_eq!(
        ops(&plan),
        vec![
            Op::AddToGroup {
                group_id: "g-jadm".into(),
                group_name: "jira-admins-acme".into()
            },
            Op::AddToGroup {
                group_id: "g-jira".into(),
                group_name: "jira-software-users-acme".into()
            },
            Op::Verify,
        ]
    );
    Ok(())
}

#[test]
fn grant_of_what_is_held_from_any_source_is_a_noop() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let state = person("ada", &[(CONF, ROLE_ADMIN)], &["g-okta"], &facts);
    let plan = plan_grant(
        &state,
        &ents(&[
            "jira:acme/user",
            "confluence:acme/user",
            "confluence:acme/admin",
        ]),
        &facts,
    )?;
    assert!(plan.is_noop(), "{plan:#?}");
    assert_eq!(ops(&plan), vec![Op::Verify]);
    Ok(())
}

#[test]
fn statuspage_membership_comes_before_page_permissions_which_merge() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let mut state = person("ada", &[], &[], &facts);
    let plan = plan_grant(
        &state,
        &ents(&[
            "statuspage:p1/incident_manager",
            "statuspage:p1/maintenance_manager",
            "statuspage:p2/user",
        ]),
        &facts,
    )?;
    let set = |page: &str, inc: bool, maint: bool| Op::SetStatuspagePage {
        page_id: page.into(),
        page_configuration: false,
        incident_manager: inc,
        maintenance_manager: maint,
    };
    assert_eq!(
        ops(&plan),
        vec![
            grant_role(SP, ROLE_USER),
            Op::AddStatuspageMember,
            set("p1", true, true),
            set("p2", false, false),
            Op::Verify,
        ]
    );
    // Already on the team with page_configuration on p1: only the missing roles, merged.
    state.statuspage = Some(BTreeMap::from([(
        "p1".to_owned(),
        PageFlags {
            page_configuration: true,
            ..PageFlags::default()
        },
    )]));
    let plan = plan_grant(&state, &ents(&["statuspage:p1/incident_manager"]), &facts)?;
    assert!(ops(&plan).contains(&Op::SetStatuspagePage {
        page_id: "p1".into(),
        page_configuration: true,
        incident_manager: true,
        maintenance_manager: false,
    }));
    assert!(!ops(&plan).contains(&Op::AddStatuspageMember));
    Ok(())
}

#[test]
fn revoke_of_a_role_held_through_a_group_names_the_group() {
    let facts = facts(Experience::Original);
    let state = person("ada", &[], &["g-jira"], &facts);
    let err = plan_revoke(&state, &ents(&["jira:acme/user"]), &facts).err();
    assert!(
        matches!(&err, Some(PlanError::HeldThroughGroup { group, .. }) if group == "jira-software-users-acme"),
        "{err:?}"
    );
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("revoke the membership instead (`group:jira-software-users-acme`)"),
        "{msg}"
    );
}

#[test]
fn revoke_of_a_role_with_its_group_removes_the_membership_after_a_bundle() -> anyhow::Result<()> {
    let facts = facts(Experience::Original);
    let state = person("ada", &[(JIRA, ROLE_USER)], &["g-jira"], &facts);
    let plan = plan_revoke(
        &state,
        &ents(&["jira:acme/user", "group:jira-software-users-acme"]),
        &facts,
    )?;
    assert_eq!(
        ops(&plan),
        vec![
            Op::SaveRestoreBundle,
            Op::RevokeRole {
                resource: JIRA.into(),
                role: ROLE_USER.into()
            },
            Op::RemoveFromGroup {
                group_id: "g-jira".into(),
                group_name: "jira-software-users-acme".into()
            },
            Op::Verify,
        ]
    );
    // Nothing held: nothing to do, not even a bundle.
    let none = person("bob", &[], &[], &facts);
    let plan = plan_revoke(&none, &ents(&["jira:acme/user"]), &facts)?;
    assert_eq!(ops(&plan), vec![Op::Verify]);
    Ok(())
}

#[test]
fn offboarding_revoke_roles_keeps_groups_that_grant_nothing() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let mut state = person("ada", &[(CONF, ROLE_ADMIN)], &["g-jira", "g-team"], &facts);
    state.statuspage = Some(BTreeMap::new());
    state.jsm_desks.insert(DeskRef {
        site: "acme".into(),
        service_desk_id: "7".into(),
    });
    let plan = plan_offboard(&state, OffboardLevel::RevokeRoles, &facts)?;
    assert_eq!(
        ops(&plan),
        vec![
            Op::SaveRestoreBundle,
            Op::RevokeRole {
                resource: CONF.into(),
                role: ROLE_ADMIN.into()
            },
            Op::RemoveFromGroup {
                group_id: "g-jira".into(),
                group_name: "jira-software-users-acme".into()
            },
            Op::RemoveStatuspageMember,
            Op::RemoveJsmCustomer {
                site: "acme".into(),
                service_desk_id: "7".into()
            },
            Op::Verify,
        ]
    );
    Ok(())
}

#[test]
fn offboarding_levels_suspend_remove_and_deactivate() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let state = person("ada", &[(JIRA, ROLE_USER)], &[], &facts);
    let level = |l| plan_offboard(&state, l, &facts).map(|p| ops(&p));
    let dir = "d1".to_owned();
    assert_eq!(
        level(OffboardLevel::Suspend)?,
        vec![
            Op::SaveRestoreBundle,
            Op::SuspendAccount {
                directory_id: dir.clone()
            },
            Op::Verify
        ]
    );
    assert_eq!(
        level(OffboardLevel::Remove)?,
        vec![
            Op::SaveRestoreBundle,
            Op::RemoveFromDirectory { directory_id: dir },
            Op::Verify
        ]
    );
    assert_eq!(
        level(OffboardLevel::Deactivate)?,
        vec![Op::SaveRestoreBundle, Op::DeactivateAccount, Op::Verify]
    );
    Ok(())
}

#[test]
fn offboarding_a_portal_only_customer_revokes_portal_access() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let mut state = person("cust", &[], &[], &facts);
    if let Some(a) = &mut state.account {
        a.account_type = "customer".into();
    }
    state.jsm_desks.insert(DeskRef {
        site: "acme".into(),
        service_desk_id: "7".into(),
    });
    let plan = plan_offboard(&state, OffboardLevel::RevokeRoles, &facts)?;
    assert_eq!(
        ops(&plan),
        vec![
            Op::SaveRestoreBundle,
            Op::RevokePortalOnlyAccess {
                site: "acme".into()
            },
            Op::Verify
        ]
    );
    Ok(())
}

#[test]
fn restore_plans_back_what_an_offboarding_took() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let mut state = person("ada", &[(CONF, ROLE_ADMIN)], &["g-jira", "g-team"], &facts);
    state.statuspage = Some(BTreeMap::from([(
        "p1".to_owned(),
        PageFlags {
            incident_manager: true,
            ..PageFlags::default()
        },
    )]));
    let bundle = RestoreBundle::of(&state);
    for level in [OffboardLevel::RevokeRoles, OffboardLevel::Suspend] {
        let off = plan_offboard(&state, level, &facts)?;
        let after = apply(&state, &off, &facts);
        let restore = plan_restore(&after, &bundle, &facts)?;
        let back = apply(&after, &restore, &facts);
        assert_eq!(back, state, "{level}: {restore:#?}");
        assert!(plan_restore(&back, &bundle, &facts)?.is_noop());
    }
    Ok(())
}

#[test]
fn restore_of_a_deactivated_account_is_refused() {
    let facts = facts(Experience::Centralized);
    let mut state = person("ada", &[], &[], &facts);
    if let Some(a) = &mut state.account {
        a.status = "deactivated".into();
    }
    let err = plan_restore(&state, &RestoreBundle::of(&state), &facts).err();
    assert!(
        matches!(err, Some(PlanError::Deactivated { .. })),
        "{err:?}"
    );
}

#[test]
fn guard_refuses_destructive_plans_for_the_integration_account() -> anyhow::Result<()> {
    let facts = facts(Experience::Centralized);
    let state = person(
        INTEGRATION,
        &[(JIRA, ROLE_USER), (ORG, ORG_ADMIN)],
        &[],
        &facts,
    );
    for level in [
        OffboardLevel::RevokeRoles,
        OffboardLevel::Suspend,
        OffboardLevel::Remove,
        OffboardLevel::Deactivate,
    ] {
        let err = plan_offboard(&state, level, &facts).err();
        assert!(
            matches!(
                err,
                Some(PlanError::Guard(GuardError::IntegrationAccount { .. }))
            ),
            "{err:?}"
        );
    }
    let err = plan_revoke(&state, &ents(&["jira:acme/user"]), &facts)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("it is Steward's integration account"), "{err}");
    // Granting it more is fine.
    assert!(plan_grant(&state, &ents(&["confluence:acme/user"]), &facts).is_ok());
    Ok(())
}

#[test]
fn guard_refuses_to_lock_out_the_last_org_admin() {
    let mut facts = facts(Experience::Centralized);
    facts.integration_account_id = None;
    facts.org_admins = BTreeSet::from(["boss".to_owned()]);
    let state = person("boss", &[(ORG, ORG_ADMIN)], &[], &facts);
    let err = plan_revoke(&state, &ents(&["platform:org/org-admin"]), &facts).err();
    assert!(
        matches!(err, Some(PlanError::Guard(GuardError::LastOrgAdmin { .. }))),
        "{err:?}"
    );
    let err = plan_offboard(&state, OffboardLevel::Suspend, &facts)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("last org admin; make someone else"), "{err}");
    // With a second admin it goes through.
    facts.org_admins.insert("other".into());
    assert!(plan_revoke(&state, &ents(&["platform:org/org-admin"]), &facts).is_ok());
}

#[test]
fn guard_refuses_idp_synced_groups() {
    let facts = facts(Experience::Centralized);
    let state = person("ada", &[], &[], &facts);
    let err = plan_grant(&state, &ents(&["group:okta-engineering"]), &facts)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("group okta-engineering: it is synced from the identity provider"),
        "{err}"
    );
    assert!(
        err.contains("change the membership in the identity provider"),
        "{err}"
    );
    let member = person("bob", &[], &["g-okta"], &facts);
    let err = plan_offboard(&member, OffboardLevel::RevokeRoles, &facts).err();
    assert!(
        matches!(err, Some(PlanError::Guard(GuardError::GroupSynced { .. }))),
        "{err:?}"
    );
}

#[test]
fn guard_refuses_lifecycle_changes_of_scim_managed_and_unmanaged_accounts() {
    let facts = facts(Experience::Centralized);
    let mut state = person("ada", &[], &[], &facts);
    if let Some(a) = &mut state.account {
        a.management_source = Some("synced".into());
    }
    for level in [
        OffboardLevel::Suspend,
        OffboardLevel::Remove,
        OffboardLevel::Deactivate,
    ] {
        let err = plan_offboard(&state, level, &facts)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("deprovision or suspend the person in the identity provider"),
            "{err}"
        );
    }
    if let Some(a) = &mut state.account {
        a.management_source = None;
        a.claim_status = "unmanaged".into();
    }
    let err = plan_offboard(&state, OffboardLevel::Deactivate, &facts).err();
    assert!(
        matches!(err, Some(PlanError::Guard(GuardError::NotManaged { .. }))),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Properties.

/// Roles a random person may hold directly (JSM agent is only ever inferred).
const DIRECT: &[(&str, &str)] = &[
    (JIRA, ROLE_USER),
    (JIRA, ROLE_ADMIN),
    (CONF, ROLE_USER),
    (CONF, ROLE_ADMIN),
    (SP, ROLE_USER),
    (ORG, ORG_ADMIN),
];

fn arb_state() -> impl Strategy<Value = (PersonState, bool, bool)> {
    (
        prop::option::weighted(
            0.85,
            (
                prop::sample::subsequence(DIRECT.to_vec(), 0..=DIRECT.len()),
                prop::sample::subsequence(GROUPS.iter().map(|g| g.0).collect::<Vec<_>>(), 0..=3),
                prop::bool::weighted(0.2),
                prop::sample::select(vec!["active", "suspended"]),
            ),
        ),
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec!["p1".to_owned(), "p2".to_owned()]),
            (any::<bool>(), any::<bool>(), any::<bool>()),
            0..=2,
        )),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(account, pages, desk, original, integration)| {
            let facts = facts(Experience::Centralized);
            let mut state = match &account {
                Some((direct, groups, _, status)) => {
                    let id = if integration { INTEGRATION } else { "ada" };
                    let mut s = person(id, direct, groups, &facts);
                    if let Some(a) = &mut s.account {
                        a.status = (*status).to_owned();
                    }
                    s
                }
                None => PersonState::unknown("new@acme.com"),
            };
            if let (Some((_, _, true, _)), Some(a)) = (&account, &mut state.account) {
                a.roles.insert(HeldRole {
                    resource: JSM.into(),
                    role: ROLE_USER.into(),
                    source: HeldSource::Inferred,
                });
            }
            state.statuspage = pages.map(|p| {
                p.into_iter()
                    .map(|(page, (c, i, m))| {
                        (
                            page,
                            PageFlags {
                                page_configuration: c,
                                incident_manager: i,
                                maintenance_manager: m,
                            },
                        )
                    })
                    .collect()
            });
            if desk && state.account.is_some() {
                state.jsm_desks.insert(DeskRef {
                    site: "acme".into(),
                    service_desk_id: "7".into(),
                });
            }
            (state, original, integration)
        })
}

fn arb_request() -> impl Strategy<Value = Vec<Entitlement>> {
    let all = catalog().entitlements().to_vec();
    prop::sample::subsequence(all.clone(), 0..=6.min(all.len())).prop_shuffle()
}

/// No operation twice; `Verify` exactly once, last.
fn well_formed(plan: &Plan) -> Result<(), TestCaseError> {
    let all = ops(plan);
    for (i, op) in all.iter().enumerate() {
        prop_assert!(!all[i + 1..].contains(op), "{op:?} twice in {all:#?}");
    }
    prop_assert_eq!(all.last(), Some(&Op::Verify));
    prop_assert_eq!(all.iter().filter(|o| **o == Op::Verify).count(), 1);
    Ok(())
}

/// Nothing destructive before `SaveRestoreBundle`; nothing destructive at all on the
/// integration account.
fn safe(plan: &Plan, state: &PersonState, facts: &OrgFacts) -> Result<(), TestCaseError> {
    let all = ops(plan);
    let bundle = all.iter().position(|o| *o == Op::SaveRestoreBundle);
    for (i, op) in all.iter().enumerate() {
        if op.is_destructive() {
            prop_assert!(
                bundle.is_some_and(|b| b < i),
                "{op:?} before the bundle: {all:#?}"
            );
        }
    }
    let integration = state.account.as_ref().map(|a| a.account_id.as_str())
        == facts.integration_account_id.as_deref();
    if integration {
        prop_assert!(!all.iter().any(Op::is_destructive), "{all:#?}");
    }
    Ok(())
}

fn experience(original: bool) -> Experience {
    if original {
        Experience::Original
    } else {
        Experience::Centralized
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn grant_plans_are_well_formed_and_converge(
        (state, original, _) in arb_state(),
        request in arb_request(),
    ) {
        let facts = facts(experience(original));
        match plan_grant(&state, &request, &facts) {
            Ok(plan) => {
                well_formed(&plan)?;
                safe(&plan, &state, &facts)?;
                prop_assert!(!ops(&plan).iter().any(Op::is_destructive));
                let after = apply(&state, &plan, &facts);
                let again = plan_grant(&after, &request, &facts);
                prop_assert!(
                    again.as_ref().is_ok_and(Plan::is_noop),
                    "after {plan:#?}: {again:#?}"
                );
                // Shuffling the request changes nothing.
                let mut reversed = request.clone();
                reversed.reverse();
                let other = plan_grant(&state, &reversed, &facts);
                prop_assert_eq!(other.ok(), Some(plan));
            }
            Err(e) => prop_assert!(
                matches!(e, PlanError::Guard(GuardError::GroupSynced { .. })),
                "{e}"
            ),
        }
    }

    #[test]
    fn revoke_plans_are_safe_and_converge(
        (state, original, _) in arb_state(),
        request in arb_request(),
    ) {
        let facts = facts(experience(original));
        if let Ok(plan) = plan_revoke(&state, &request, &facts) {
            well_formed(&plan)?;
            safe(&plan, &state, &facts)?;
            let after = apply(&state, &plan, &facts);
            let again = plan_revoke(&after, &request, &facts);
            prop_assert!(again.as_ref().is_ok_and(Plan::is_noop), "after {plan:#?}: {again:#?}");
        }
    }

    #[test]
    fn offboard_plans_are_safe_and_converge(
        (state, original, _) in arb_state(),
        level in prop::sample::select(OffboardLevel::ALL.to_vec()),
    ) {
        let facts = facts(experience(original));
        if let Ok(plan) = plan_offboard(&state, level, &facts) {
            well_formed(&plan)?;
            safe(&plan, &state, &facts)?;
            let after = apply(&state, &plan, &facts);
            let again = plan_offboard(&after, level, &facts);
            prop_assert!(again.as_ref().is_ok_and(Plan::is_noop), "after {plan:#?}: {again:#?}");
        }
    }

    #[test]
    fn granting_what_is_held_is_a_noop(
        (state, original, _) in arb_state(),
    ) {
        let facts = facts(experience(original));
        let catalog = catalog();
        let held: Vec<Entitlement> = catalog
            .entitlements()
            .iter()
            .filter(|e| match &e.kind {
                steward_engine::provision::EntitlementKind::Role { resource, role } => {
                    state.account.as_ref().is_some_and(|a| {
                        a.roles.iter().any(|h| &h.resource == resource && &h.role == role)
                    })
                }
                _ => false,
            })
            .cloned()
            .collect();
        let plan = plan_grant(&state, &held, &facts);
        prop_assert!(plan.as_ref().is_ok_and(Plan::is_noop), "{plan:#?}");
    }
}

// ---------------------------------------------------------------------------------------
// On a synced sandbox.

async fn plans_on_a_synced_org(mode: Mode) -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    let (_sim, snapshot) = synced(mode, &store).await?;
    let catalog = Catalog::from_snapshot(&snapshot, &CatalogConfig::default()).await?;
    let facts = OrgFacts::from_snapshot(&snapshot, Some("steward-integration@acme.com")).await?;
    let want = match mode {
        Mode::Original => Experience::Original,
        Mode::Centralized => Experience::Centralized,
    };
    assert_eq!(facts.experience, want);
    assert!(facts.integration_account_id.is_some());
    assert!(!facts.org_admins.is_empty());
    let site = snapshot
        .sites()
        .await?
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let jira_user = catalog.resolve(&format!("jira:{site}/user"))?.clone();
    let accounts = snapshot
        .accounts(&steward_store::AccountFilter::default())
        .await?;
    let mut checked_grant = false;
    for account in accounts.iter().take(60) {
        let Some(email) = &account.email else {
            continue;
        };
        let state = person_state(&snapshot, email, &facts).await?;
        // Whatever a person holds, granting it again is a no-op.
        let held: Vec<Entitlement> = catalog
            .entitlements()
            .iter()
            .filter(|e| match &e.kind {
                steward_engine::provision::EntitlementKind::Role { resource, role } => {
                    state.account.as_ref().is_some_and(|a| {
                        a.roles
                            .iter()
                            .any(|h| &h.resource == resource && &h.role == role)
                    })
                }
                _ => false,
            })
            .cloned()
            .collect();
        let plan = plan_grant(&state, &held, &facts)?;
        assert!(plan.is_noop(), "{email}: {plan:#?}");
        // Someone without Jira gets it as the experience requires.
        let has_jira = held.iter().any(|e| e.id == jira_user.id);
        if !has_jira && account.status == "active" && !checked_grant {
            let plan = plan_grant(&state, std::slice::from_ref(&jira_user), &facts)?;
            match mode {
                Mode::Original => assert!(
                    matches!(&plan.ops[0].op, Op::AddToGroup { group_name, .. } if *group_name == format!("jira-software-users-{site}")),
                    "{plan:#?}"
                ),
                Mode::Centralized => {
                    assert!(matches!(&plan.ops[0].op, Op::GrantRole { .. }), "{plan:#?}")
                }
            }
            checked_grant = true;
        }
        // Offboarding plans are safe whatever the person.
        for level in OffboardLevel::ALL {
            if let Ok(plan) = plan_offboard(&state, level, &facts) {
                let all = ops(&plan);
                if all.iter().any(Op::is_destructive) {
                    assert_eq!(all.first(), Some(&Op::SaveRestoreBundle));
                }
            }
        }
    }
    assert!(checked_grant);
    // The integration account is never offboarded.
    let integration = person_state(&snapshot, "steward-integration@acme.com", &facts).await?;
    assert!(matches!(
        plan_offboard(&integration, OffboardLevel::Suspend, &facts),
        Err(PlanError::Guard(GuardError::IntegrationAccount { .. }))
    ));
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn plans_on_a_synced_centralized_org() -> anyhow::Result<()> {
    plans_on_a_synced_org(Mode::Centralized).await
}

#[tokio::test]
async fn plans_on_a_synced_original_org() -> anyhow::Result<()> {
    plans_on_a_synced_org(Mode::Original).await
}
