//! Jira Service Management (customers, service desks, customer organizations) against the
//! simulator.

use std::collections::BTreeSet;

use atlassian_client::Error;
use atlassian_client::models::jsm::{CreateCustomerOutcome, Customer, Organization};
use futures::TryStreamExt;
use serde_json::Value;

use crate::support::TestEnv;
use crate::user_management::{
    account, accounts_where, fault, finish_with_known_deviations, ground_truth, requests_to,
};

/// The ground-truth JSM data of the first site.
fn jsm_truth(truth: &Value) -> &Value {
    &truth["jsm"][0]
}

/// The ground-truth service desk with this project key.
fn desk<'v>(truth: &'v Value, key: &str) -> &'v Value {
    jsm_truth(truth)["service_desks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["project_key"] == key)
        .unwrap()
}

fn strings(values: &Value) -> BTreeSet<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect()
}

fn ids(customers: &[Customer]) -> BTreeSet<String> {
    customers.iter().map(|c| c.account_id.clone()).collect()
}

/// Portal-only customers of the site.
fn portal_customers(truth: &Value) -> Vec<String> {
    accounts_where(truth, |a| {
        a["type"] == "customer" && a["status"] != "deactivated"
    })
}

#[tokio::test]
async fn creating_a_customer_twice_gives_created_then_already_exists() {
    let env = TestEnv::start().await;
    let jsm = env.client.jsm(&env.site()).unwrap();

    let created = match jsm
        .create_customer("fred@example.com", "Fred F. User")
        .await
        .unwrap()
    {
        CreateCustomerOutcome::Created(customer) => customer,
        other => panic!("expected a new customer, got {other:?}"),
    };
    assert_eq!(created.display_name, "Fred F. User");
    assert_eq!(created.email_address.as_deref(), Some("fred@example.com"));
    assert!(
        created.account_id.starts_with("qm:"),
        "a portal-only account"
    );

    let again = jsm
        .create_customer("fred@example.com", "Fred Again")
        .await
        .unwrap();
    assert_eq!(
        again,
        CreateCustomerOutcome::AlreadyExists {
            email: "fred@example.com".into(),
            account_id: Some(created.account_id.clone()),
        }
    );
    let truth = ground_truth(&env).await;
    let fred = accounts_where(&truth, |a| a["email"] == "fred@example.com");
    assert_eq!(fred, vec![created.account_id.clone()]);
    assert_eq!(account(&truth, &fred[0])["type"], "customer");
    env.finish().await;
}

#[tokio::test]
async fn create_customer_makes_one_customer_even_when_the_answer_is_lost() {
    let env = TestEnv::start().await;
    let jsm = env.client.jsm(&env.site()).unwrap();
    fault(
        &env,
        "jsm",
        "POST",
        "/rest/servicedeskapi/customer",
        "reset_after_apply",
    )
    .await;

    let outcome = jsm
        .create_customer("wilma@example.com", "Wilma")
        .await
        .unwrap();
    let truth = ground_truth(&env).await;
    let wilma = accounts_where(&truth, |a| a["email"] == "wilma@example.com");
    assert_eq!(wilma.len(), 1, "exactly one customer");
    assert_eq!(
        outcome,
        CreateCustomerOutcome::AlreadyExists {
            email: "wilma@example.com".into(),
            account_id: Some(wilma[0].clone()),
        },
        "the repeat met the duplicate check"
    );
    assert_eq!(
        requests_to(&env, "POST", "/rest/servicedeskapi/customer").len(),
        2
    );
    env.finish().await;
}

#[tokio::test]
async fn service_desks_and_their_customers_are_streamed() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jsm = env.client.jsm(&env.site()).unwrap();

    let desks: Vec<_> = jsm.service_desks().try_collect().await.unwrap();
    let keys: BTreeSet<String> = desks.iter().map(|d| d.project_key.clone()).collect();
    let truth_keys: BTreeSet<String> = jsm_desks(&truth)
        .map(|d| d["project_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, truth_keys);
    let help = desks.iter().find(|d| d.project_key == "HELP").unwrap();
    assert_eq!(help.id, desk(&truth, "HELP")["id"].to_string());
    assert_eq!(
        &jsm.service_desk("HELP").await.unwrap(),
        help,
        "by project key"
    );
    assert_eq!(&jsm.service_desk(&help.id).await.unwrap(), help, "by id");

    let customers: Vec<Customer> = jsm
        .desk_customers(&help.id, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        customers.len(),
        strings(&desk(&truth, "HELP")["customers"]).len()
    );
    assert_eq!(ids(&customers), strings(&desk(&truth, "HELP")["customers"]));
    let first = &customers[0];
    let word = first
        .display_name
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let matching: Vec<Customer> = jsm
        .desk_customers(&help.id, Some(&word))
        .try_collect()
        .await
        .unwrap();
    assert!(matching.iter().any(|c| c.account_id == first.account_id));
    assert!(matching.len() <= customers.len());
    env.finish().await;
}

fn jsm_desks(truth: &Value) -> impl Iterator<Item = &Value> {
    jsm_truth(truth)["service_desks"].as_array().unwrap().iter()
}

#[tokio::test]
async fn desk_customers_are_added_and_removed() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jsm = env.client.jsm(&env.site()).unwrap();
    let it = desk(&truth, "IT");
    assert_eq!(it["closed_access"], true, "removal needs a closed desk");
    let desk_id = it["id"].to_string();
    let newcomer = portal_customers(&truth)
        .into_iter()
        .find(|id| !strings(&it["customers"]).contains(id))
        .unwrap();

    jsm.add_desk_customers(&desk_id, std::slice::from_ref(&newcomer))
        .await
        .unwrap();
    jsm.add_desk_customers(&desk_id, std::slice::from_ref(&newcomer))
        .await
        .unwrap();
    let listed: Vec<Customer> = jsm
        .desk_customers(&desk_id, None)
        .try_collect()
        .await
        .unwrap();
    assert!(ids(&listed).contains(&newcomer));
    assert_eq!(
        listed.len(),
        strings(&it["customers"]).len() + 1,
        "added once"
    );
    assert!(strings(&desk(&ground_truth(&env).await, "IT")["customers"]).contains(&newcomer));

    jsm.remove_desk_customers(&desk_id, std::slice::from_ref(&newcomer))
        .await
        .unwrap();
    let listed: Vec<Customer> = jsm
        .desk_customers(&desk_id, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&listed), strings(&it["customers"]));
    env.finish().await;
}

#[tokio::test]
async fn organizations_are_created_filled_attached_and_deleted() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jsm = env.client.jsm(&env.site()).unwrap();
    let truth_orgs = jsm_truth(&truth)["organizations"].as_array().unwrap();

    let orgs: Vec<Organization> = jsm.organizations(None).try_collect().await.unwrap();
    let names: BTreeSet<String> = orgs.iter().map(|o| o.name.clone()).collect();
    let truth_names: BTreeSet<String> = truth_orgs
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, truth_names);
    let globex = orgs
        .iter()
        .find(|o| o.name == "Globex Corporation")
        .unwrap();
    let globex_members = strings(
        &truth_orgs
            .iter()
            .find(|o| o["name"] == "Globex Corporation")
            .unwrap()["members"],
    );
    let members: Vec<Customer> = jsm
        .organization_users(globex.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&members), globex_members);
    let member = globex_members.first().unwrap().clone();
    let theirs: Vec<Organization> = jsm
        .organizations(Some(&member))
        .try_collect()
        .await
        .unwrap();
    assert!(theirs.iter().any(|o| o.id == globex.id));

    let partners = jsm.create_organization("Steward Partners").await.unwrap();
    assert_eq!(partners.name, "Steward Partners");
    assert_eq!(jsm.organization(partners.id).await.unwrap(), partners);
    let taken = jsm
        .create_organization("Steward Partners")
        .await
        .unwrap_err();
    assert_eq!(
        taken.status(),
        Some(reqwest::StatusCode::BAD_REQUEST),
        "{taken}"
    );

    let people: Vec<String> = portal_customers(&truth).into_iter().take(2).collect();
    jsm.add_organization_users(partners.id, &people)
        .await
        .unwrap();
    jsm.add_organization_users(partners.id, &people)
        .await
        .unwrap();
    let members: Vec<Customer> = jsm
        .organization_users(partners.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&members), people.iter().cloned().collect());

    let help_id = desk(&truth, "HELP")["id"].to_string();
    jsm.add_desk_organization(&help_id, partners.id)
        .await
        .unwrap();
    let attached: Vec<Organization> = jsm
        .desk_organizations(&help_id, None)
        .try_collect()
        .await
        .unwrap();
    assert!(attached.iter().any(|o| o.id == partners.id));
    assert_eq!(
        attached.len(),
        desk(&truth, "HELP")["organizations"]
            .as_array()
            .unwrap()
            .len()
            + 1
    );
    let for_member: Vec<Organization> = jsm
        .desk_organizations(&help_id, Some(&people[0]))
        .try_collect()
        .await
        .unwrap();
    assert!(for_member.iter().any(|o| o.id == partners.id));
    jsm.remove_desk_organization(&help_id, partners.id)
        .await
        .unwrap();
    let attached: Vec<Organization> = jsm
        .desk_organizations(&help_id, None)
        .try_collect()
        .await
        .unwrap();
    assert!(attached.iter().all(|o| o.id != partners.id));

    jsm.remove_organization_users(partners.id, &people[..1])
        .await
        .unwrap();
    let members: Vec<Customer> = jsm
        .organization_users(partners.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&members), BTreeSet::from([people[1].clone()]));

    jsm.delete_organization(partners.id).await.unwrap();
    let gone = jsm.organization(partners.id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    let left = ground_truth(&env).await;
    assert!(
        jsm_truth(&left)["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["name"] != "Steward Partners")
    );
    env.finish().await;
}

#[tokio::test]
async fn create_organization_makes_one_organization_even_when_the_answer_is_lost() {
    let env = TestEnv::start().await;
    let jsm = env.client.jsm(&env.site()).unwrap();
    fault(
        &env,
        "jsm",
        "POST",
        "/rest/servicedeskapi/organization",
        "reset_after_apply",
    )
    .await;

    let created = jsm.create_organization("Steward Vendors").await.unwrap();
    let truth = ground_truth(&env).await;
    let named: Vec<&Value> = jsm_truth(&truth)["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] == "Steward Vendors")
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0]["id"], created.id);
    assert_eq!(
        requests_to(&env, "POST", "/rest/servicedeskapi/organization").len(),
        1
    );
    env.finish().await;
}

#[tokio::test]
async fn revoking_portal_only_access_deactivates_the_customer() {
    let env = TestEnv::start().await;
    let truth = ground_truth(&env).await;
    let jsm = env.client.jsm(&env.site()).unwrap();
    let customer = portal_customers(&truth).remove(0);
    assert_eq!(account(&truth, &customer)["account_status"], "active");

    jsm.revoke_portal_only_access(&customer).await.unwrap();
    jsm.revoke_portal_only_access(&customer).await.unwrap();
    assert_eq!(
        account(&ground_truth(&env).await, &customer)["account_status"],
        "inactive"
    );
    let help_id = desk(&truth, "HELP")["id"].to_string();
    let listed: Vec<Customer> = jsm
        .desk_customers(&help_id, None)
        .try_collect()
        .await
        .unwrap();
    if let Some(c) = listed.iter().find(|c| c.account_id == customer) {
        assert!(!c.active);
    }
    // The operation is documented but missing from the 2025-09 spec: its two exchanges are
    // asserted to be flagged by the spec check, and left out of the conformance check.
    finish_with_known_deviations(env, |e| e.spec_path.ends_with("/revoke-portal-only-access"))
        .await;
}

#[tokio::test]
async fn unknown_desks_and_organizations_are_not_found_and_unknown_sites_are_configuration_errors()
{
    let env = TestEnv::start().await;
    let jsm = env.client.jsm(&env.site()).unwrap();
    assert!(jsm.service_desk("NOPE").await.unwrap_err().is_not_found());
    assert!(jsm.organization(999_999).await.unwrap_err().is_not_found());
    let missing: Result<Vec<Customer>, _> = jsm.desk_customers("999", None).try_collect().await;
    assert!(missing.unwrap_err().is_not_found());
    assert!(matches!(env.client.jsm("nowhere"), Err(Error::Config(_))));
    assert!(matches!(
        jsm.add_desk_customers("1", &[]).await,
        Err(Error::InvalidInput(_))
    ));
    env.finish().await;
}
