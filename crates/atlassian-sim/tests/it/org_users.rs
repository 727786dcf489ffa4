//! The user half of the Org API: search and lists, role assignments, invitations, role grants,
//! suspend / restore / remove, v1 managed accounts and last-active dates. Expectations come from
//! the model (`env.read`), so the tests hold for any seed.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use atlassian_sim::SimConfig;
use atlassian_sim::state::{
    AccountIx, AccountStatus, AccountType, GroupIx, Membership, Product, ResourceIx, Role, World,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

// ---- helpers ------------------------------------------------------------------------------------

/// Whether the account is a directory user under `-` (the simulator's documented rule).
fn listed(w: &World, ax: AccountIx) -> bool {
    let a = w.account(ax);
    a.kind == AccountType::Atlassian && (!a.directories.is_empty() || w.is_managed(ax))
}

/// Ids of listed accounts matching `pred`, in the default (org) order.
fn expected(env: &TestEnv, pred: impl Fn(&World, AccountIx) -> bool) -> Vec<String> {
    env.read(|w| {
        (0..w.accounts.len() as AccountIx)
            .filter(|ax| listed(w, *ax) && pred(w, *ax))
            .map(|ax| w.account(ax).id.clone())
            .collect()
    })
}

/// The first account matching `pred`, with its id.
fn pick(env: &TestEnv, pred: impl Fn(&World, AccountIx) -> bool) -> (AccountIx, String) {
    env.read(|w| {
        let ax = (0..w.accounts.len() as AccountIx)
            .find(|ax| pred(w, *ax))
            .expect("the seed has such an account");
        (ax, w.account(ax).id.clone())
    })
}

/// A plain person: active, active in directory 0, invited (not IdP-synced), not an org admin.
fn plain_person(w: &World, ax: AccountIx) -> bool {
    let a = w.account(ax);
    a.kind == AccountType::Atlassian
        && a.status == AccountStatus::Active
        && a.delete_after.is_none()
        && !a.org_admin
        && a.source == atlassian_sim::state::ManagementSource::Invited
        && a.directories.get(&0) == Some(&Membership::Active)
}

fn users_path(env: &TestEnv, dir: &str) -> String {
    format!("/admin/v2/orgs/{}/directories/{dir}/users", env.org_id())
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = req.send().await.expect("request is sent");
    let status = response.status();
    let text = response.text().await.expect("body is read");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn search(env: &TestEnv, body: Value) -> (StatusCode, Value) {
    send(
        env.org(Method::POST, &format!("{}/search", users_path(env, "-")))
            .json(&body),
    )
    .await
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|u| u["accountId"].as_str().expect("accountId").to_owned())
        .collect()
}

/// Every account id a search returns, following `links.next` with the cursor alone.
async fn search_all(env: &TestEnv, body: Value) -> Vec<String> {
    let (status, mut page) = search(env, body).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut out = ids(&page);
    for _ in 0..200 {
        let Some(next) = page["links"]["next"].as_str().map(str::to_owned) else {
            return out;
        };
        let (status, body) = search(env, json!({"cursor": next})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        out.extend(ids(&body));
        page = body;
    }
    panic!("search paging did not end");
}

fn error_code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

async fn role_assignments(env: &TestEnv, account_id: &str, query: &str) -> (StatusCode, Value) {
    let path = format!(
        "{}/{account_id}/role-assignments{query}",
        users_path(env, "-")
    );
    send(env.org(Method::GET, &path)).await
}

/// `(resourceId, role) -> methods` from a role-assignments page.
fn methods_of(page: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = vec![];
    for item in page["data"].as_array().expect("data") {
        for ra in item["roleAssignments"].as_array().expect("roleAssignments") {
            let methods = ra["roleAssignmentMethods"]
                .as_array()
                .expect("methods")
                .iter()
                .map(|m| m.as_str().expect("method").to_owned())
                .collect();
            out.push((
                item["resourceId"].as_str().expect("resourceId").to_owned(),
                ra["role"].as_str().expect("role").to_owned(),
                methods,
            ));
        }
    }
    out
}

fn resource_of(w: &World, product: Product) -> ResourceIx {
    (0..w.resources.len() as ResourceIx)
        .find(|rx| w.resource(*rx).product == product)
        .expect("the seed has the product")
}

async fn assign(
    env: &TestEnv,
    account_id: &str,
    role: &str,
    resource: &str,
) -> (StatusCode, Value) {
    let path = format!(
        "/admin/v1/orgs/{}/users/{account_id}/roles/assign",
        env.org_id()
    );
    send(
        env.org(Method::POST, &path)
            .json(&json!({"role": role, "resource": resource})),
    )
    .await
}

async fn invite(env: &TestEnv, body: Value) -> (StatusCode, Value) {
    let path = format!("/admin/v2/orgs/{}/users/invite", env.org_id());
    send(env.org(Method::POST, &path).json(&body)).await
}

async fn lifecycle(
    env: &TestEnv,
    method: Method,
    dir: &str,
    account_id: &str,
    action: &str,
) -> StatusCode {
    let path = format!("{}/{account_id}{action}", users_path(env, dir));
    send(env.org(method, &path)).await.0
}

async fn user(env: &TestEnv, account_id: &str) -> Value {
    let (status, page) = search(
        env,
        json!({"accountIds": [account_id], "expand": ["groups"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["data"][0].clone()
}

// ---- search -------------------------------------------------------------------------------------

#[tokio::test]
async fn search_filters_match_the_model() {
    let env = TestEnv::start().await;
    let (dir_id, jira, confluence, group, some_ids, contractor_domain, term, two_emails) = env
        .read(|w| {
            let jira = resource_of(w, Product::JiraSoftware);
            let confluence = resource_of(w, Product::Confluence);
            let group = w
                .live_groups()
                .filter(|(_, g)| g.members.len() >= 2)
                .max_by_key(|(_, g)| g.members.len())
                .map(|(gx, _)| gx)
                .expect("a group with members");
            let people: Vec<AccountIx> = (0..w.accounts.len() as AccountIx)
                .filter(|ax| listed(w, *ax))
                .collect();
            let some_ids: Vec<String> = people
                .iter()
                .step_by(7)
                .take(3)
                .map(|ax| w.account(*ax).id.clone())
                .collect();
            let contractor = people
                .iter()
                .filter_map(|ax| w.account(*ax).email.clone())
                .find(|e| !w.is_managed_email(e))
                .expect("an unmanaged account");
            let domain = contractor
                .rsplit_once('@')
                .map(|(_, d)| d.to_owned())
                .unwrap_or_default();
            let nickname = w.account(people[5]).nickname.clone();
            let term = nickname.chars().take(4).collect::<String>().to_uppercase();
            let emails = vec![
                w.account(people[3])
                    .email
                    .clone()
                    .unwrap_or_default()
                    .to_uppercase(),
                w.account(people[9]).email.clone().unwrap_or_default(),
            ];
            (
                w.directories[0].id.clone(),
                jira,
                confluence,
                group,
                some_ids,
                domain,
                term,
                emails,
            )
        });
    let (jira_ari, confluence_ari, group_id) = env.read(|w| {
        (
            w.resource(jira).ari(),
            w.resource(confluence).ari(),
            w.group(group).id.clone(),
        )
    });

    type Pred = Box<dyn Fn(&World, AccountIx) -> bool>;
    let some = some_ids.clone();
    let term_lc = term.to_lowercase();
    let emails_lc: Vec<String> = two_emails.iter().map(|e| e.to_lowercase()).collect();
    let domain = contractor_domain.clone();
    let cases: Vec<(Value, Pred, bool)> = vec![
        (
            json!({"accountIds": some_ids}),
            Box::new(move |w, ax| some.contains(&w.account(ax).id)),
            true,
        ),
        (
            json!({"directoryIds": [dir_id]}),
            Box::new(|w, ax| w.account(ax).directories.contains_key(&0)),
            true,
        ),
        (
            json!({"resourceIds": [jira_ari]}),
            Box::new(move |w, ax| w.role_assignments(ax).keys().any(|(rx, _)| *rx == jira)),
            true,
        ),
        (
            json!({"resourceIds": [confluence_ari], "roleIds": ["atlassian/user", "atlassian/admin"]}),
            Box::new(move |w, ax| {
                w.role_assignments(ax)
                    .keys()
                    .any(|(rx, r)| *rx == confluence && matches!(r, Role::User | Role::Admin))
            }),
            true,
        ),
        (
            json!({"groupIds": [group_id]}),
            Box::new(move |w, ax| w.account(ax).groups.contains(&group)),
            true,
        ),
        (
            json!({"mfaEnabled": true}),
            Box::new(|w, ax| w.account(ax).mfa_enabled),
            true,
        ),
        (
            json!({"mfaEnabled": false}),
            Box::new(|w, ax| !w.account(ax).mfa_enabled),
            true,
        ),
        (
            json!({"claimStatus": "managed"}),
            Box::new(|w, ax| w.is_managed(ax)),
            true,
        ),
        (
            json!({"claimStatus": "unmanaged"}),
            Box::new(|w, ax| !w.is_managed(ax)),
            true,
        ),
        (
            json!({"status": ["active"]}),
            Box::new(|w, ax| w.composite_status(ax) == "active"),
            true,
        ),
        (
            json!({"status": ["suspended"]}),
            Box::new(|w, ax| w.composite_status(ax) == "suspended"),
            true,
        ),
        (
            json!({"status": ["deactivated", "for_deletion"]}),
            Box::new(|w, ax| matches!(w.composite_status(ax), "deactivated" | "for_deletion")),
            true,
        ),
        (
            json!({"accountStatus": ["inactive"]}),
            Box::new(|w, ax| w.account(ax).status == AccountStatus::Inactive),
            true,
        ),
        (
            json!({"membershipStatus": ["suspended"]}),
            Box::new(|w, ax| w.membership_status(ax) == "suspended"),
            true,
        ),
        (
            json!({"roleIds": ["atlassian/admin"]}),
            Box::new(|w, ax| {
                w.role_assignments(ax)
                    .keys()
                    .any(|(_, r)| *r == Role::Admin)
            }),
            true,
        ),
        (
            json!({"roleIds": ["atlassian/org-admin"]}),
            Box::new(|w, ax| w.account(ax).org_admin),
            true,
        ),
        (
            json!({"roleIds": ["atlassian/ai-access"]}),
            Box::new(|_, _| false),
            false,
        ),
        (
            json!({"emailDomains": [format!("@{}", contractor_domain.to_uppercase())]}),
            Box::new(move |w, ax| {
                w.account(ax)
                    .email
                    .as_deref()
                    .is_some_and(|e| e.ends_with(&format!("@{domain}")))
            }),
            true,
        ),
        (
            json!({"searchTerm": term}),
            Box::new(move |w, ax| {
                let a = w.account(ax);
                [
                    a.name.to_lowercase(),
                    a.nickname.to_lowercase(),
                    a.email.clone().unwrap_or_default(),
                ]
                .iter()
                .any(|f| f.contains(&term_lc))
            }),
            true,
        ),
        (
            json!({"emails": two_emails}),
            Box::new(move |w, ax| {
                w.account(ax)
                    .email
                    .as_ref()
                    .is_some_and(|e| emails_lc.contains(e))
            }),
            true,
        ),
    ];
    for (body, pred, non_empty) in cases {
        let want = expected(&env, pred);
        assert_eq!(
            !want.is_empty(),
            non_empty,
            "the seed should give {body} {} result",
            if non_empty { "some" } else { "no" }
        );
        let got = search_all(&env, body.clone()).await;
        assert_eq!(got, want, "search {body}");
    }
    env.finish().await;
}

#[tokio::test]
async fn search_leaves_out_portal_customers_and_apps() {
    let env = TestEnv::start().await;
    let (customer_email, app_id) = env.read(|w| {
        let customer = w
            .accounts
            .iter()
            .find(|a| a.kind == AccountType::Customer)
            .expect("a customer");
        let app = w
            .accounts
            .iter()
            .find(|a| a.kind == AccountType::App)
            .expect("an app");
        (
            customer.email.clone().expect("customer email"),
            app.id.clone(),
        )
    });
    let (status, page) = search(&env, json!({"emails": [customer_email]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), Vec::<String>::new());
    let (_, page) = search(&env, json!({"accountIds": [app_id]})).await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let all = search_all(&env, json!({"limit": 100})).await;
    assert_eq!(all, expected(&env, |_, _| true));
    env.finish().await;
}

#[tokio::test]
async fn search_expand_adds_each_part() {
    let env = TestEnv::start().await;
    let integration = env.sim.info().integration_account_id.clone();
    let (_, member) = pick(&env, |w, ax| {
        plain_person(w, ax) && !w.account(ax).groups.is_empty()
    });
    let (status, page) = search(&env, json!({"accountIds": [integration, member]})).await;
    assert_eq!(status, StatusCode::OK);
    for u in page["data"].as_array().expect("data") {
        for part in ["platformRoles", "productAccess", "groups", "counts"] {
            assert!(u.get(part).is_none(), "{part} without expand: {u}");
        }
        assert!(u["links"]["self"].is_string());
    }
    let body = json!({"accountIds": [integration, member],
                      "expand": ["platformRoles", "counts.resources", "productAccess", "groups"]});
    let (status, page) = search(&env, body).await;
    assert_eq!(status, StatusCode::OK);
    for u in page["data"].as_array().expect("data") {
        let id = u["accountId"].as_str().expect("id");
        let (groups, resources, access, org_admin) = env.read(|w| {
            let ax = w.account_ix(id).expect("account");
            let groups: BTreeSet<String> = w
                .account(ax)
                .groups
                .iter()
                .map(|g| w.group(*g).id.clone())
                .collect();
            let resources: BTreeSet<ResourceIx> =
                w.role_assignments(ax).keys().map(|(rx, _)| *rx).collect();
            let access: BTreeSet<String> = w
                .role_assignments(ax)
                .keys()
                .filter(|(rx, r)| {
                    w.resource(*rx).product != Product::Platform
                        && matches!(
                            r,
                            Role::User
                                | Role::Admin
                                | Role::Guest
                                | Role::Contributor
                                | Role::Basic
                        )
                        && w.can_access(ax, *rx)
                })
                .map(|(rx, _)| w.resource(*rx).ari())
                .collect();
            (groups, resources.len(), access, w.account(ax).org_admin)
        });
        let got_groups: BTreeSet<String> = u["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(got_groups, groups);
        assert_eq!(u["counts"]["resources"], json!(resources));
        let got_access: BTreeSet<String> = u["productAccess"]
            .as_array()
            .expect("productAccess")
            .iter()
            .map(|p| p["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(got_access, access);
        let roles = u["platformRoles"].as_array().expect("platformRoles");
        assert_eq!(roles.contains(&json!("atlassian/org-admin")), org_admin);
    }
    assert!(
        page["data"][0]["platformRoles"]
            .as_array()
            .expect("roles")
            .contains(&json!("atlassian/org-admin"))
    );
    env.finish().await;
}

#[tokio::test]
async fn search_cursor_traversal_has_no_gaps_or_duplicates_and_is_stable() {
    let env = TestEnv::start().await;
    let everyone = expected(&env, |_, _| true);
    assert!(
        everyone.len() > 20,
        "the small org has enough users to page"
    );
    let first = search_all(&env, json!({"limit": 7})).await;
    assert_eq!(
        first, everyone,
        "limit 7 pages cover everyone once, in order"
    );
    let again = search_all(&env, json!({"limit": 7})).await;
    assert_eq!(again, first, "a second traversal is identical");

    // A cursor alone reproduces the query, and `prev` goes back.
    let filtered = json!({"limit": 3, "claimStatus": "managed", "expand": ["groups"]});
    let (_, page1) = search(&env, filtered.clone()).await;
    let next = page1["links"]["next"].as_str().expect("next").to_owned();
    assert!(
        page1["links"].get("prev").is_none(),
        "the first page has no prev"
    );
    let (_, page2) = search(&env, json!({"cursor": next})).await;
    assert!(
        page2["data"][0]["groups"].is_array(),
        "expand travels in the cursor"
    );
    let (_, back) = search(&env, json!({"cursor": page2["links"]["prev"]})).await;
    assert_eq!(ids(&back), ids(&page1));
    let (_, same) = search(&env, json!({"cursor": page1["links"]["self"]})).await;
    assert_eq!(ids(&same), ids(&page1));
    let managed = search_all(&env, json!({"limit": 3, "claimStatus": "managed"})).await;
    assert_eq!(managed, expected(&env, |w, ax| w.is_managed(ax)));

    // Sorting by nickname, both ways, pages the same as one big page.
    let asc = search_all(
        &env,
        json!({"limit": 9, "sortBy": [{"field": "nick_name", "direction": "asc"}]}),
    )
    .await;
    let desc = search_all(
        &env,
        json!({"limit": 9, "sortBy": [{"field": "nick_name", "direction": "desc"}]}),
    )
    .await;
    let mut reversed = desc.clone();
    reversed.reverse();
    assert_eq!(asc, reversed);
    let nick = |id: &String| {
        env.read(|w| {
            w.account(w.account_ix(id).expect("id"))
                .nickname
                .to_lowercase()
        })
    };
    let nicks: Vec<String> = asc.iter().map(nick).collect();
    let mut sorted = nicks.clone();
    sorted.sort();
    assert_eq!(nicks, sorted);
    env.finish().await;
}

#[tokio::test]
async fn search_rejects_bad_requests() {
    let env = TestEnv::start().await;
    let (_, page) = search(&env, json!({"limit": 2})).await;
    let cursor = page["links"]["next"].as_str().expect("next").to_owned();
    for body in [
        json!({"cursor": cursor, "limit": 2}),
        json!({"cursor": cursor, "searchTerm": "a"}),
        json!({"cursor": "not-a-cursor"}),
        json!({"searchTerm": "alex", "emails": ["alex@acme.com"]}),
        json!({"limit": 0}),
        json!({"status": "active"}),
        json!({"status": ["sleeping"]}),
        json!({"roleIds": ["atlassian/wizard"]}),
        json!({"accountIds": []}),
        json!({"accountIds": (0..11).map(|i| format!("a{i}")).collect::<Vec<_>>()}),
        json!({"emails": ["a@acme.com", "A@acme.com"]}),
        json!({"expand": ["groups", "groups"]}),
        json!({"mfaEnabled": "yes"}),
    ] {
        let (status, err) = search(&env, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["errors"][0]["status"], json!("400"), "{err}");
        assert!(
            err["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{err}"
        );
    }
    let (status, err) = send(
        env.org(Method::POST, &format!("{}/search", users_path(&env, "-")))
            .header("Content-Type", "application/json")
            .body("{\"limit\": "),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["errors"][0]["detail"]
            .as_str()
            .expect("detail")
            .contains("not valid JSON"),
        "{err}"
    );

    // A cursor is bound to its directory.
    let dir = env.read(|w| w.directories[0].id.clone());
    let (status, _) = send(
        env.org(Method::POST, &format!("{}/search", users_path(&env, &dir)))
            .json(&json!({"cursor": cursor})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Oversized pages are clamped, not refused.
    let (status, page) = search(&env, json!({"limit": 500})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids(&page).len() <= 100);

    let (status, err) = send(
        env.org(
            Method::POST,
            &format!("{}/search", users_path(&env, "no-such-dir")),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (status, err) = send(
        env.org(
            Method::POST,
            "/admin/v2/orgs/no-such-org/directories/-/users/search",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&err), "ADMIN-404-2");
    env.finish().await;
}

#[tokio::test]
async fn search_in_one_directory_and_empty_body() {
    let env = TestEnv::start().await;
    let dir = env.read(|w| w.directories[0].id.clone());
    let (status, page) =
        send(env.org(Method::POST, &format!("{}/search", users_path(&env, &dir)))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an empty body is an empty query: {page}"
    );
    assert_eq!(
        ids(&page).len(),
        expected(&env, |w, ax| w.account(ax).directories.contains_key(&0))
            .len()
            .min(50)
    );
    env.finish().await;
}

// ---- deprecated list, details, count, stats ------------------------------------------------------

#[tokio::test]
async fn deprecated_list_filters_and_pages() {
    let env = TestEnv::start().await;
    let base = users_path(&env, "-");
    let (status, page) = send(env.org(Method::GET, &base)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page).len(), 20, "default limit is 20");
    let mut all = ids(&page);
    let mut next = page["links"]["next"].as_str().map(str::to_owned);
    while let Some(cursor) = next {
        // Other parameters next to a cursor are discarded.
        let (status, page) = send(env.org(
            Method::GET,
            &format!("{base}?cursor={cursor}&status=suspended"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        all.extend(ids(&page));
        next = page["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(all, expected(&env, |_, _| true));

    let (status, page) =
        send(env.org(Method::GET, &format!("{base}?status=suspended&limit=100"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&page),
        expected(&env, |w, ax| w.composite_status(ax) == "suspended")
    );
    let pair = expected(&env, |_, _| true)[2..4].to_vec();
    let (_, page) = send(env.org(
        Method::GET,
        &format!("{base}?accountIds={}&accountIds={}", pair[0], pair[1]),
    ))
    .await;
    assert_eq!(ids(&page), pair);
    let (_, page) = send(env.org(
        Method::GET,
        &format!("{base}?accountIds={},{}", pair[0], pair[1]),
    ))
    .await;
    assert_eq!(ids(&page), pair, "comma-separated lists work too");
    let (_, page) = send(env.org(
        Method::GET,
        &format!("{base}?claimStatus=managed&mfaEnabled=true&limit=100"),
    ))
    .await;
    assert_eq!(
        ids(&page),
        expected(&env, |w, ax| w.is_managed(ax) && w.account(ax).mfa_enabled)
    );
    let (_, page) = send(env.org(
        Method::GET,
        &format!("{base}?sortBy=nick_name:desc&limit=100"),
    ))
    .await;
    let mut want = ids(&page);
    want.sort_by_key(|id| {
        env.read(|w| {
            w.account(w.account_ix(id).expect("id"))
                .nickname
                .to_lowercase()
        })
    });
    want.reverse();
    assert_eq!(ids(&page), want);
    for bad in [
        "limit=abc",
        "limit=0",
        "status=sleeping",
        "mfaEnabled=maybe",
        "cursor=zzz",
    ] {
        let (status, err) = send(env.org(Method::GET, &format!("{base}?{bad}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
    }
    env.finish().await;
}

#[tokio::test]
async fn details_count_and_stats_agree_with_the_model() {
    let env = TestEnv::start().await;
    let (ax, id) = pick(&env, plain_person);
    let (status, body) =
        send(env.org(Method::GET, &format!("{}/{id}", users_path(&env, "-")))).await;
    assert_eq!(status, StatusCode::OK);
    let data = &body["data"];
    let (email, name) = env.read(|w| (w.account(ax).email.clone(), w.account(ax).name.clone()));
    assert_eq!(data["accountId"], json!(id));
    assert_eq!(data["email"], json!(email));
    assert_eq!(data["name"], json!(name));
    assert_eq!(data["status"], json!("active"));
    assert!(data["platformRoles"].is_array() && data["counts"]["resources"].is_u64());

    let customer = env.read(|w| {
        w.accounts
            .iter()
            .find(|a| a.kind == AccountType::Customer)
            .map(|a| a.id.clone())
    });
    for missing in [
        "712020:00000000-0000-0000-0000-00000000dead".to_owned(),
        customer.expect("a customer"),
    ] {
        let (status, _) =
            send(env.org(Method::GET, &format!("{}/{missing}", users_path(&env, "-")))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }

    let (status, body) =
        send(env.org(Method::GET, &format!("{}/count", users_path(&env, "-")))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], json!(expected(&env, |_, _| true).len()));
    let (_, body) = send(env.org(
        Method::GET,
        &format!(
            "{}/count?status=deactivated&status=suspended",
            users_path(&env, "-")
        ),
    ))
    .await;
    let want = expected(&env, |w, ax| {
        matches!(w.composite_status(ax), "deactivated" | "suspended")
    })
    .len();
    assert_eq!(body["count"], json!(want));

    let (status, body) =
        send(env.org(Method::GET, &format!("{}/stats", users_path(&env, "-")))).await;
    assert_eq!(status, StatusCode::OK);
    let total: u64 = body["accountStatus"]
        .as_array()
        .expect("accountStatus")
        .iter()
        .map(|s| s["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(total as usize, expected(&env, |_, _| true).len());
    let org_admins = body["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["roleId"] == json!("atlassian/org-admin"))
        .expect("org-admin count")["count"]
        .clone();
    assert_eq!(
        org_admins,
        json!(expected(&env, |w, ax| w.account(ax).org_admin).len())
    );
    env.finish().await;
}

// ---- role assignments -----------------------------------------------------------------------------

#[tokio::test]
async fn role_assignments_report_direct_group_and_inferred_methods() {
    let env = TestEnv::start().await;
    // Someone without Confluence: a direct grant, then a group granting the same role, gives
    // both methods. (The model treats a direct grant of a role a group already gives as done.)
    let (ax, id) = pick(&env, |w, ax| {
        let confluence = resource_of(w, Product::Confluence);
        plain_person(w, ax)
            && !w
                .role_assignments(ax)
                .keys()
                .any(|(rx, _)| *rx == confluence)
    });
    let (rx, ari) = env.read(|w| {
        let rx = resource_of(w, Product::Confluence);
        (rx, w.resource(rx).ari())
    });
    let (status, err) = assign(&env, &id, "atlassian/user", &ari).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{err}");
    env.sim.app().write(|w| {
        let actor = w.integration_account();
        let group = w
            .create_group(actor, 0, "confluence-readers-test", "")
            .expect("group");
        w.grant_group_role(actor, group, rx, Role::User)
            .expect("group role");
        w.add_member(actor, group, ax).expect("member");
    });
    let jpd = env.read(|w| {
        w.resource(resource_of(w, Product::JiraProductDiscovery))
            .ari()
    });
    let (status, _) = assign(&env, &id, "atlassian/contributor", &jpd).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, page) = role_assignments(&env, &id, "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let methods = methods_of(&page);
    let find = |res: &str, role: &str| {
        methods
            .iter()
            .find(|(r, ro, _)| r == res && ro == role)
            .map(|(_, _, m)| m.clone())
            .unwrap_or_default()
    };
    assert_eq!(find(&ari, "atlassian/user"), vec!["direct", "group_direct"]);
    assert_eq!(find(&jpd, "atlassian/contributor"), vec!["direct"]);
    // Every model assignment is listed, and nothing else.
    let want: BTreeSet<(String, String)> = env.read(|w| {
        w.role_assignments(ax)
            .keys()
            .map(|(rx, r)| (w.resource(*rx).ari(), r.id().to_owned()))
            .collect()
    });
    let got: BTreeSet<(String, String)> = methods
        .iter()
        .map(|(r, ro, _)| (r.clone(), ro.clone()))
        .collect();
    assert_eq!(got, want);
    let item = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|i| i["resourceId"] == json!(ari))
        .expect("item");
    let dir = env.read(|w| {
        w.directories[w.directory_of_resource(rx) as usize]
            .id
            .clone()
    });
    assert_eq!(item["directoryId"], json!(dir));
    assert_eq!(item["userDirectoryStatus"], json!("active"));
    assert_eq!(item["resourceOwner"], json!("confluence"));
    assert!(
        item["roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("atlassian/user")),
        "deprecated roles still filled"
    );

    // A seeded member who holds a role through a group only.
    let (group_only_ax, group_only) = pick(&env, |w, ax| {
        plain_person(w, ax)
            && w.role_assignments(ax)
                .values()
                .any(|m| m.group && !m.direct && !m.inferred)
    });
    let (_, page) = role_assignments(&env, &group_only, "?limit=100").await;
    let want = env.read(|w| {
        let ((rx, role), _) = w
            .role_assignments(group_only_ax)
            .into_iter()
            .find(|(_, m)| m.group && !m.direct && !m.inferred)
            .expect("a group-only role");
        (
            w.resource(rx).ari(),
            role.id().to_owned(),
            vec!["group_direct".to_owned()],
        )
    });
    assert!(methods_of(&page).contains(&want), "{want:?}");

    // The org admin: an org-level item, and site admin inferred on every site's platform resource.
    let integration = env.sim.info().integration_account_id.clone();
    let (_, page) = role_assignments(&env, &integration, "").await;
    let platforms: Vec<String> = env.read(|w| {
        w.resources
            .iter()
            .filter(|r| r.product == Product::Platform)
            .map(|r| r.ari())
            .collect()
    });
    let methods = methods_of(&page);
    for platform in &platforms {
        let m = methods
            .iter()
            .find(|(r, ro, _)| r == platform && ro == "atlassian/site-admin")
            .expect("site admin");
        assert!(m.2.contains(&"inferred".to_owned()), "{m:?}");
        let item = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|i| i["resourceId"] == json!(platform))
            .expect("item");
        assert_eq!(item["directoryId"], Value::Null);
        assert_eq!(item["userDirectoryStatus"], Value::Null);
        assert_eq!(item["resourceOwner"], json!("platform"));
    }
    let org_item = &page["data"][0];
    assert_eq!(
        org_item["resourceId"],
        json!(format!("ari:cloud:platform::org/{}", env.org_id()))
    );
    assert_eq!(
        org_item["roleAssignments"][0]["role"],
        json!("atlassian/org-admin")
    );

    // Filters and paging.
    let (_, page) = role_assignments(&env, &integration, "?resourceOwners=platform").await;
    assert!(
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|i| i["resourceOwner"] == json!("platform"))
    );
    let (_, page) = role_assignments(&env, &id, &format!("?resourceIds={ari}")).await;
    assert_eq!(page["data"].as_array().expect("data").len(), 1);
    let (_, page) = role_assignments(&env, &id, "?roleIds=atlassian/contributor").await;
    assert_eq!(methods_of(&page).len(), 1);
    let (_, page) = role_assignments(&env, &id, &format!("?directoryIds={dir}")).await;
    assert!(
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|i| i["directoryId"] == json!(dir))
    );
    let mut paged = vec![];
    let (_, mut page) = role_assignments(&env, &id, "?limit=1").await;
    loop {
        paged.extend(methods_of(&page));
        let Some(next) = page["links"]["next"].as_str().map(str::to_owned) else {
            break;
        };
        page = role_assignments(&env, &id, &format!("?cursor={next}"))
            .await
            .1;
    }
    let (_, whole) = role_assignments(&env, &id, "?limit=100").await;
    assert_eq!(paged, methods_of(&whole));
    let (status, _) = role_assignments(
        &env,
        &integration,
        &format!("?cursor={}", page["links"]["self"].as_str().expect("self")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a cursor is bound to its account"
    );
    let (status, _) = role_assignments(&env, "no-such-account", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.finish().await;
}

// ---- invite ---------------------------------------------------------------------------------------

#[tokio::test]
async fn invite_creates_the_account_grants_roles_and_records_events() {
    let env = TestEnv::start().await;
    let (jira, confluence, group) = env.read(|w| {
        let group = w
            .live_groups()
            .find(|(_, g)| {
                !g.external && g.roles.is_empty() && g.default_for.is_none() && !g.protected
            })
            .map(|(gx, g)| (gx, g.id.clone()))
            .expect("a plain group");
        (
            w.resource(resource_of(w, Product::JiraSoftware)).ari(),
            w.resource(resource_of(w, Product::Confluence)).ari(),
            group,
        )
    });
    let before = env.read(|w| (w.accounts.len(), w.events.len()));
    let body = json!({"emails": ["New.Hire@acme.com"],
        "permissionRules": [{"resource": jira, "role": "atlassian/user"}, {"resource": confluence, "role": "atlassian/user"}],
        "additionalGroups": [group.1], "sendNotification": true, "notificationText": "Welcome"});
    let (status, res) = invite(&env, body).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let item = &res["data"][0];
    assert_eq!(item["email"], json!("new.hire@acme.com"));
    let id = item["id"].as_str().expect("account id").to_owned();
    let results = &item["results"][0];
    assert!(
        results["roleAssignmentResult"]
            .as_array()
            .expect("roles")
            .iter()
            .all(|r| r["status"] == json!("INVITED"))
    );
    assert_eq!(
        results["groupAssignmentResult"][0]["status"],
        json!("INVITED")
    );
    let (ax, events) = env.read(|w| {
        let ax = w.account_ix(&id).expect("created");
        let events: Vec<String> = w.events[before.1..]
            .iter()
            .filter(|e| e.context.iter().any(|(c, _)| *c == id))
            .map(|e| e.action.clone())
            .collect();
        (ax, events)
    });
    assert_eq!(env.read(|w| w.accounts.len()), before.0 + 1);
    for action in ["user_invited", "user_granted_role", "user_added_to_group"] {
        assert!(
            events.contains(&action.to_owned()),
            "{action} in {events:?}"
        );
    }
    assert!(env.read(|w| w.account(ax).groups.contains(&(group.0 as GroupIx))));
    let (_, page) = role_assignments(&env, &id, "").await;
    let methods = methods_of(&page);
    assert!(methods.contains(&(
        jira.clone(),
        "atlassian/user".to_owned(),
        vec!["direct".to_owned()]
    )));
    assert_eq!(user(&env, &id).await["status"], json!("active"));

    // An existing email reuses the account: no duplicate, the role is granted.
    let (existing_ax, existing) = pick(&env, |w, ax| {
        plain_person(w, ax)
            && !w
                .role_assignments(ax)
                .keys()
                .any(|(rx, _)| w.resource(*rx).product == Product::JiraProductDiscovery)
    });
    let (email, jpd) = env.read(|w| {
        (
            w.account(existing_ax).email.clone().expect("email"),
            w.resource(resource_of(w, Product::JiraProductDiscovery))
                .ari(),
        )
    });
    let count = env.read(|w| w.accounts.len());
    let (status, res) = invite(
        &env,
        json!({"emails": [email.to_uppercase()],
        "permissionRules": [{"resource": jpd, "role": "atlassian/contributor"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"][0]["id"], json!(existing));
    assert_eq!(
        env.read(|w| w.accounts.len()),
        count,
        "no duplicate account"
    );
    let (_, page) = role_assignments(&env, &existing, "?roleIds=atlassian/contributor").await;
    assert_eq!(
        methods_of(&page),
        vec![(
            jpd,
            "atlassian/contributor".to_owned(),
            vec!["direct".to_owned()]
        )]
    );
    env.finish().await;
}

#[tokio::test]
async fn invite_refuses_bad_requests_before_changing_anything() {
    let env = TestEnv::start().await;
    let jira = env.read(|w| w.resource(resource_of(w, Product::JiraSoftware)).ari());
    let accounts = env.read(|w| w.accounts.len());
    for (body, status) in [
        (json!({"emails": []}), StatusCode::BAD_REQUEST),
        (json!({"emails": ["not an email"]}), StatusCode::BAD_REQUEST),
        (
            json!({"emails": (0..26).map(|i| format!("p{i}@acme.com")).collect::<Vec<_>>()}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"emails": ["a@acme.com"], "permissionRules": [{"resource": jira, "role": "atlassian/site-admin"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"emails": ["a@acme.com"], "permissionRules": [{"resource": jira, "role": "atlassian/guest"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"emails": ["a@acme.com"], "permissionRules": [{"resource": "ari:cloud:jira-software::site/nope", "role": "atlassian/user"}]}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"emails": ["a@acme.com"], "additionalGroups": ["no-such-group"]}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"emails": "a@acme.com"}), StatusCode::BAD_REQUEST),
        (json!({"permissionRules": []}), StatusCode::BAD_REQUEST),
    ] {
        let (got, err) = invite(&env, body.clone()).await;
        assert_eq!(got, status, "{body}: {err}");
        assert!(err["errors"][0]["code"].is_string(), "{err}");
    }
    assert_eq!(env.read(|w| w.accounts.len()), accounts);
    env.sim.app().write(|w| w.org.paid = false);
    let (status, err) = invite(&env, json!({"emails": ["a@acme.com"]})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{err}");
    env.finish().await;
}

// ---- licence limits -------------------------------------------------------------------------------

#[tokio::test]
async fn licence_exhaustion_is_409_on_assign_and_an_error_item_on_invite() {
    let env = TestEnv::start().await;
    // The product with the fewest free seats (the seed leaves JSM nearly full); fill it.
    let (rx, ari, free) = env.read(|w| {
        (0..w.resources.len() as ResourceIx)
            .filter_map(|rx| {
                w.resource(rx)
                    .seats
                    .map(|s| (rx, w.resource(rx).ari(), s.saturating_sub(w.seats_used(rx))))
            })
            .min_by_key(|(_, _, free)| *free)
            .expect("a product with seats")
    });
    assert!(
        free <= 10,
        "the seed leaves a nearly full product, found {free} free seats"
    );
    let candidates: Vec<String> = expected(&env, |w, ax| {
        plain_person(w, ax) && !w.has_product_access(ax, rx)
    });
    assert!(candidates.len() > free as usize + 1);
    for id in &candidates[..free as usize] {
        let (status, err) = assign(&env, id, "atlassian/user", &ari).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{err}");
    }
    assert_eq!(
        env.read(|w| w.seats_used(rx)),
        env.read(|w| w.resource(rx).seats.expect("seats"))
    );
    let (status, err) = assign(&env, &candidates[free as usize], "atlassian/user", &ari).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(error_code(&err), "ADMIN-UAM-409-3");
    // A non-billable role still fits.
    let (status, _) = assign(
        &env,
        &candidates[free as usize],
        "atlassian/user-access-admin",
        &ari,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, res) = invite(
        &env,
        json!({"emails": ["late.joiner@acme.com"],
        "permissionRules": [{"resource": ari, "role": "atlassian/user"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{res}");
    let result = &res["data"][0]["results"][0]["roleAssignmentResult"][0];
    assert_eq!(result["status"], json!("ERROR"));
    assert!(
        result["statusReason"]
            .as_str()
            .expect("reason")
            .contains("limit"),
        "{result}"
    );
    let id = res["data"][0]["id"]
        .as_str()
        .expect("the account is still created")
        .to_owned();
    assert!(env.read(|w| w.account_ix(&id).is_ok()));
    env.finish().await;
}

// ---- suspend, restore, remove ---------------------------------------------------------------------

#[tokio::test]
async fn suspend_keeps_roles_and_groups_restore_brings_them_back_remove_loses_them() {
    let env = TestEnv::start().await;
    let (ax, id) = pick(&env, |w, ax| {
        plain_person(w, ax)
            && w.is_managed(ax)
            && !w.account(ax).groups.is_empty()
            && !w.role_assignments(ax).is_empty()
    });
    let dir = env.read(|w| w.directories[0].id.clone());
    let (_, before) = role_assignments(&env, &id, "?limit=100").await;
    let groups_before = env.read(|w| w.account(ax).groups.clone());

    assert_eq!(
        lifecycle(&env, Method::POST, &dir, &id, "/suspend").await,
        StatusCode::NO_CONTENT
    );
    let u = user(&env, &id).await;
    assert_eq!(
        (u["status"].as_str(), u["membershipStatus"].as_str()),
        (Some("suspended"), Some("suspended"))
    );
    assert_eq!(u["accountStatus"], json!("active"));
    let (_, during) = role_assignments(&env, &id, "?limit=100").await;
    assert_eq!(
        methods_of(&during),
        methods_of(&before),
        "suspension keeps roles"
    );
    assert!(
        during["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|i| i["userDirectoryStatus"] != json!("active"))
    );
    assert_eq!(
        env.read(|w| w.account(ax).groups.clone()),
        groups_before,
        "suspension keeps groups"
    );
    assert!(
        env.read(|w| (0..w.resources.len() as ResourceIx).all(|rx| !w.has_product_access(ax, rx)))
    );
    assert_eq!(
        lifecycle(&env, Method::POST, &dir, &id, "/suspend").await,
        StatusCode::NO_CONTENT,
        "idempotent"
    );

    assert_eq!(
        lifecycle(&env, Method::POST, "-", &id, "/restore").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(user(&env, &id).await["status"], json!("active"));
    let (_, after) = role_assignments(&env, &id, "?limit=100").await;
    assert_eq!(after, before, "restore brings everything back");

    assert_eq!(
        lifecycle(&env, Method::DELETE, &dir, &id, "").await,
        StatusCode::NO_CONTENT
    );
    let u = user(&env, &id).await;
    assert_eq!(
        (u["status"].as_str(), u["membershipStatus"].as_str()),
        (Some("not_invited"), Some("no_membership"))
    );
    assert_eq!(u["groups"], json!([]));
    let (_, gone) = role_assignments(&env, &id, "").await;
    assert_eq!(gone["data"], json!([]), "removal loses roles");
    assert!(env.read(|w| w.account(ax).groups.is_empty()));
    assert_eq!(
        lifecycle(&env, Method::POST, &dir, &id, "/restore").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        lifecycle(&env, Method::POST, "-", &id, "/suspend").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        lifecycle(&env, Method::POST, &dir, "no-such-user", "/suspend").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        lifecycle(&env, Method::POST, "no-such-dir", &id, "/suspend").await,
        StatusCode::NOT_FOUND
    );
    env.finish().await;
}

#[tokio::test]
async fn org_admins_cannot_be_suspended_or_removed() {
    let env = TestEnv::start().await;
    let integration = env.sim.info().integration_account_id.clone();
    let dir = env.read(|w| w.directories[0].id.clone());
    for (method, action) in [(Method::POST, "/suspend"), (Method::DELETE, "")] {
        let path = format!("{}/{integration}{action}", users_path(&env, &dir));
        let (status, err) = send(env.org(method, &path)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    }
    assert_eq!(user(&env, &integration).await["status"], json!("active"));
    // A scoped (read-only) key may search but not suspend.
    let (_, id) = pick(&env, plain_person);
    let (status, _) = send(
        env.org_scoped(Method::POST, &format!("{}/search", users_path(&env, "-")))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(env.org_scoped(
        Method::POST,
        &format!("{}/{id}/suspend", users_path(&env, &dir)),
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.finish().await;
}

#[tokio::test]
async fn composite_status_follows_account_and_membership() {
    let env = TestEnv::start().await;
    // Make a `not_invited` account: a managed person removed from the directory.
    let (_, removed) = pick(&env, |w, ax| plain_person(w, ax) && w.is_managed(ax));
    let dir = env.read(|w| w.directories[0].id.clone());
    assert_eq!(
        lifecycle(&env, Method::DELETE, &dir, &removed, "").await,
        StatusCode::NO_CONTENT
    );
    let all = search_all(&env, json!({"limit": 100})).await;
    let (_, page) = search(&env, json!({"limit": 100})).await;
    assert_eq!(ids(&page), all);
    let mut seen = BTreeSet::new();
    for u in page["data"].as_array().expect("data") {
        let id = u["accountId"].as_str().expect("id");
        let status = u["status"].as_str().expect("status");
        let (account, membership) = (
            u["accountStatus"].as_str().expect("a"),
            u["membershipStatus"].as_str().expect("m"),
        );
        assert_eq!(
            status,
            env.read(|w| w.composite_status(w.account_ix(id).expect("id")))
        );
        match status {
            "active" => assert_eq!((account, membership), ("active", "active")),
            "suspended" => assert_eq!((account, membership), ("active", "suspended")),
            "not_invited" => assert_eq!((account, membership), ("active", "no_membership")),
            "deactivated" => assert_eq!(account, "inactive"),
            "for_deletion" => {}
            other => panic!("unknown status {other}"),
        }
        seen.insert(status.to_owned());
    }
    for status in [
        "active",
        "suspended",
        "not_invited",
        "deactivated",
        "for_deletion",
    ] {
        assert!(
            seen.contains(status),
            "the seed plus one removal shows {status}: {seen:?}"
        );
    }
    env.finish().await;
}

// ---- v1 role grants -------------------------------------------------------------------------------

#[tokio::test]
async fn v1_role_grants_and_their_errors() {
    let env = TestEnv::start().await;
    let (ax, id) = pick(&env, |w, ax| {
        plain_person(w, ax)
            && !w
                .role_assignments(ax)
                .keys()
                .any(|(rx, r)| *r == Role::Admin && w.resource(*rx).product == Product::Confluence)
    });
    let (rx, confluence, jira) = env.read(|w| {
        let rx = resource_of(w, Product::Confluence);
        (
            rx,
            w.resource(rx).ari(),
            w.resource(resource_of(w, Product::JiraSoftware)).ari(),
        )
    });
    let (status, _) = assign(&env, &id, "atlassian/admin", &confluence).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(env.read(|w| w.holds(ax, rx, Role::Admin)));
    let (status, _) = assign(&env, &id, "atlassian/admin", &confluence).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "granting twice is fine");
    let revoke = format!("/admin/v1/orgs/{}/users/{id}/roles/revoke", env.org_id());
    let (status, _) = send(
        env.org(Method::POST, &revoke)
            .json(&json!({"role": "atlassian/admin", "resource": confluence})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!env.read(|w| w.holds(ax, rx, Role::Admin)));

    let cases = [
        (
            json!({"role": "atlassian/wizard", "resource": jira}),
            StatusCode::BAD_REQUEST,
            "ADMIN-UAM-400-1",
        ),
        (
            json!({"role": "atlassian/user"}),
            StatusCode::BAD_REQUEST,
            "ADMIN-UAM-400-1",
        ),
        (
            json!({"role": "atlassian/user", "resource": "ari:cloud:jira-software::site/nope"}),
            StatusCode::NOT_FOUND,
            "ADMIN-UAM-404-1",
        ),
        (
            json!({"role": "atlassian/guest", "resource": jira}),
            StatusCode::BAD_REQUEST,
            "ADMIN-UAM-400-3",
        ),
        (
            json!({"role": 5, "resource": jira}),
            StatusCode::BAD_REQUEST,
            "ADMIN-400-1",
        ),
        (
            json!({"resource": jira}),
            StatusCode::BAD_REQUEST,
            "ADMIN-400-1",
        ),
    ];
    for (body, status, code) in cases {
        let (got, err) = send(
            env.org(
                Method::POST,
                &format!("/admin/v1/orgs/{}/users/{id}/roles/assign", env.org_id()),
            )
            .json(&body),
        )
        .await;
        assert_eq!((got, error_code(&err)), (status, code), "{body}: {err}");
    }
    let (status, err) = assign(
        &env,
        "712020:00000000-0000-0000-0000-00000000dead",
        "atlassian/user",
        &jira,
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::NOT_FOUND, "ADMIN-UAM-404-3")
    );
    let (status, err) = send(
        env.org(
            Method::POST,
            &format!("/admin/v1/orgs/{}/users/{id}/roles/assign", env.org_id()),
        )
        .header("Content-Type", "application/json")
        .body("{role:"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = send(
        env.org(
            Method::POST,
            &format!("/admin/v1/orgs/no-such-org/users/{id}/roles/assign"),
        )
        .json(&json!({"role": "atlassian/user", "resource": jira})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    // A deactivated account cannot be granted roles.
    let (_, inactive) = pick(&env, |w, ax| {
        w.account(ax).kind == AccountType::Atlassian
            && w.account(ax).status == AccountStatus::Inactive
    });
    let (status, err) = assign(&env, &inactive, "atlassian/user", &jira).await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::BAD_REQUEST, "ADMIN-UAM-400-2")
    );
    env.finish().await;
}

#[tokio::test]
async fn v1_org_role_assign_and_revoke() {
    let env = TestEnv::start().await;
    let (ax, id) = pick(&env, plain_person);
    let base = format!(
        "/admin/v1/orgs/{}/users/{id}/role-assignments",
        env.org_id()
    );
    let (status, _) = send(
        env.org(Method::POST, &format!("{base}/assign"))
            .json(&json!({"role": "atlassian/org-admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(env.read(|w| w.account(ax).org_admin));
    let (_, page) = search(
        &env,
        json!({"accountIds": [id], "expand": ["platformRoles"]}),
    )
    .await;
    assert!(
        page["data"][0]["platformRoles"]
            .as_array()
            .expect("roles")
            .contains(&json!("atlassian/org-admin"))
    );
    let (_, page) = role_assignments(&env, &id, "?roleIds=atlassian/org-admin").await;
    assert_eq!(methods_of(&page).len(), 1);
    // An org admin cannot be suspended until the role is removed.
    let dir = env.read(|w| w.directories[0].id.clone());
    assert_eq!(
        lifecycle(&env, Method::POST, &dir, &id, "/suspend").await,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = send(
        env.org(Method::POST, &format!("{base}/revoke"))
            .json(&json!({"role": "atlassian/org-admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!env.read(|w| w.account(ax).org_admin));
    assert_eq!(
        lifecycle(&env, Method::POST, &dir, &id, "/suspend").await,
        StatusCode::NO_CONTENT
    );
    let (status, err) = send(
        env.org(Method::POST, &format!("{base}/assign"))
            .json(&json!({"role": "atlassian/user"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::BAD_REQUEST, "ADMIN-UAM-400-1")
    );
    env.finish().await;
}

// ---- v1 managed accounts and last-active dates ------------------------------------------------------

#[tokio::test]
async fn v1_managed_accounts_page_with_full_url_cursors() {
    let env = TestEnv::start_with(SimConfig {
        users: Some(260),
        ..SimConfig::default()
    })
    .await;
    let info = env.sim.info().clone();
    let first = format!(
        "{}/admin/v1/orgs/{}/users",
        info.admin_base_url, info.org_id
    );
    let want: Vec<String> = env.read(|w| {
        (0..w.accounts.len() as AccountIx)
            .filter(|ax| w.is_managed(*ax))
            .map(|ax| w.account(ax).id.clone())
            .collect()
    });
    assert!(want.len() > 200, "enough managed accounts for three pages");
    let mut url = first.clone();
    let mut got = vec![];
    let mut pages = 0;
    let mut keys = BTreeSet::new();
    loop {
        let (status, page) = send(env.http.get(&url).bearer_auth(&info.admin_api_key)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["meta"]["total"], json!(want.len()));
        for u in page["data"].as_array().expect("data") {
            got.push(u["account_id"].as_str().expect("id").to_owned());
            assert!(
                u["links"]["self"]
                    .as_str()
                    .expect("self")
                    .starts_with(&first)
            );
            for p in u["product_access"].as_array().expect("product_access") {
                keys.insert(p["key"].as_str().expect("key").to_owned());
            }
        }
        pages += 1;
        let Some(next) = page["links"]["next"].as_str() else {
            break;
        };
        assert!(next.starts_with(&format!("{first}?cursor=")), "{next}");
        url = next.to_owned();
        assert!(pages < 10);
    }
    assert_eq!(pages, want.len().div_ceil(100));
    assert_eq!(got, want);
    assert!(
        keys.contains("jira-service-desk") && !keys.contains("jira-servicedesk"),
        "{keys:?}"
    );
    assert!(!keys.contains("jira-product-discovery"));
    let (status, err) = send(env.org(
        Method::GET,
        &format!("/admin/v1/orgs/{}/users?cursor=garbage", info.org_id),
    ))
    .await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::BAD_REQUEST, "ADMIN-400-1")
    );
    let (status, err) = send(env.org(Method::GET, "/admin/v1/orgs/nope/users")).await;
    assert_eq!(
        (status, error_code(&err)),
        (StatusCode::NOT_FOUND, "ADMIN-404-2")
    );
    env.finish().await;
}

#[tokio::test]
async fn last_active_dates_use_v1_product_keys() {
    let env = TestEnv::start().await;
    let (ax, id) = pick(&env, |w, ax| {
        w.account(ax).kind == AccountType::Atlassian
            && w.account(ax)
                .last_active
                .keys()
                .any(|rx| w.resource(*rx).product == Product::JiraServiceDesk)
    });
    let path = format!(
        "/admin/v1/orgs/{}/directory/users/{id}/last-active-dates",
        env.org_id()
    );
    let (status, body) = send(env.org(Method::GET, &path)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["data"]["product_access"]
        .as_array()
        .expect("product_access");
    let jsm = access
        .iter()
        .find(|p| p["key"] == json!("jira-service-desk"))
        .expect("JSM activity");
    let (cloud_id, day) = env.read(|w| {
        let (rx, at) = w
            .account(ax)
            .last_active
            .iter()
            .find(|(rx, _)| w.resource(**rx).product == Product::JiraServiceDesk)
            .expect("jsm");
        (
            w.resource(*rx).cloud_id.clone(),
            at.format("%Y-%m-%d").to_string(),
        )
    });
    assert_eq!(jsm["id"], json!(cloud_id));
    assert_eq!(jsm["last_active"], json!(day));
    assert!(body["data"]["added_to_org"].is_string());
    let (status, _) = send(env.org(Method::GET, &format!("{path}?cursor=abc"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let missing = format!(
        "/admin/v1/orgs/{}/directory/users/no-such-user/last-active-dates",
        env.org_id()
    );
    let (status, _) = send(env.org(Method::GET, &missing)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.finish().await;
}

// ---- authentication -------------------------------------------------------------------------------

#[tokio::test]
async fn missing_or_wrong_key_is_the_gateway_401() {
    let env = TestEnv::start().await;
    let info = env.sim.info().clone();
    let url = format!(
        "{}/admin/v1/orgs/{}/users",
        info.admin_base_url, info.org_id
    );
    for req in [
        env.http.get(&url),
        env.http.get(&url).bearer_auth("wrong-key"),
    ] {
        let (status, body) = send(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], json!(401));
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let search_url = format!(
        "{}/admin/v2/orgs/{}/directories/-/users/search",
        info.admin_base_url, info.org_id
    );
    let (status, body) = send(env.http.post(&search_url).json(&json!({}))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(401))
    );
    env.finish().await;
}

#[tokio::test]
async fn every_user_route_is_an_operation_of_the_spec() {
    let env = TestEnv::start().await;
    let (_, routes) = atlassian_sim::server::build_router(env.sim.app().clone());
    let specs = atlassian_sim::conformance::Specs::load().expect("specs load");
    let users: Vec<_> = routes
        .iter()
        .filter(|r| r.family == atlassian_sim::family::Family::Org && r.template.contains("/users"))
        .collect();
    assert_eq!(users.len(), 16, "{users:?}");
    for route in users {
        assert!(
            specs.has_route(route.family, route.method, route.template),
            "{} {} is not in the spec",
            route.method,
            route.template
        );
    }
    env.finish().await;
}
