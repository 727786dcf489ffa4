//! Injection attempts are inert (#8): SQL-looking input in filters, path parameters and
//! bodies (on SQLite and PostgreSQL); markup in names Atlassian sends, through a real sync of
//! the simulator into every console page; CR/LF and huge values in headers. (Names with line
//! breaks in the logs: the `steward` binary's `logging` tests.)

use std::sync::Arc;
use std::time::Duration;

use atlassian_sim::state::AccountType;
use atlassian_sim::{ReadyInfo, SimConfig, Simulator};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use steward_engine::Target;
use steward_server::{AppState, Server, SyncLauncher, TargetSync};
use steward_store::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::{PASSWORD, TestApp, spawn_app, test_config, try_spawn};

/// What an attacker types where a value is expected.
fn payloads() -> Vec<String> {
    vec![
        "' OR 1=1 --".to_owned(),
        "' OR '1'='1".to_owned(),
        "\"; DROP TABLE jobs; --".to_owned(),
        "'); DROP TABLE access_requests; --".to_owned(),
        "1; DELETE FROM audit_log".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
        "%@%".to_owned(),
        "person_@acme.com".to_owned(),
        "\\".to_owned(),
        "a\0b".to_owned(),
        "\0".to_owned(),
        "x".repeat(8_000),
        format!("{}' OR 1=1 --", "é".repeat(3_000)),
        "\u{202e}gnp.exe".to_owned(),
        "$1".to_owned(),
        "?".to_owned(),
    ]
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Never a 5xx; a 2xx list is empty (nothing matches a literal payload).
fn inert(what: &str, status: StatusCode, body: &Value) {
    assert!(
        status.is_client_error() || status.is_success(),
        "{what}: {status} {body}"
    );
    if status.is_success()
        && let Some(items) = body["items"].as_array()
    {
        assert!(items.is_empty(), "{what}: matched {items:?}");
    }
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = app
        .as_role(Role::Admin, Method::GET, path)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let r = app
        .as_role(Role::Admin, Method::POST, path)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Counts that must not move: people, requests, jobs, users, and the audit chain.
async fn census(app: &TestApp) -> (usize, usize, usize, usize) {
    let count = |v: &Value| v["items"].as_array().or(v.as_array()).map_or(0, Vec::len);
    let (s1, people) = get(app, "/api/v1/people?limit=500").await;
    let (s2, requests) = get(app, "/api/v1/requests?limit=500").await;
    let (s3, jobs) = get(app, "/api/v1/jobs?limit=500").await;
    let (s4, users) = get(app, "/api/v1/users").await;
    assert_eq!(
        (s1, s2, s3, s4),
        (
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK
        ),
        "{people} {requests} {jobs} {users}"
    );
    (
        count(&people),
        count(&requests),
        count(&jobs),
        count(&users),
    )
}

async fn sql_injection_is_inert(app: &TestApp) -> usize {
    // Something to find (and to lose, were an injection to work).
    let (status, created) = post(
        app,
        "/api/v1/requests",
        &json!({"subject": "person1@acme.com", "entitlements": ["group:team-a"], "justification": "baseline"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let before = census(app).await;
    let mut tried = 0;
    for p in payloads() {
        let e = enc(&p);
        let filters = [
            format!("/api/v1/people?product={e}"),
            format!("/api/v1/people?role={e}"),
            format!("/api/v1/people?status={e}"),
            format!("/api/v1/people?inactive_for_days={e}"),
            format!("/api/v1/people?cursor={e}"),
            format!("/api/v1/people/{e}"),
            format!("/api/v1/jobs?status={e}"),
            format!("/api/v1/jobs?subject={e}"),
            format!("/api/v1/jobs?cursor={e}"),
            format!("/api/v1/jobs/{e}"),
            format!("/api/v1/requests?state={e}"),
            format!("/api/v1/requests?subject={e}"),
            format!("/api/v1/requests?requester={e}"),
            format!("/api/v1/requests?cursor={e}"),
            format!("/api/v1/requests/{e}"),
            format!("/api/v1/audit?actor={e}"),
            format!("/api/v1/audit?subject={e}"),
            format!("/api/v1/audit?since={e}"),
            format!("/api/v1/changes?since={e}"),
            format!("/api/v1/changes?cursor={e}"),
            format!("/api/v1/sync/runs?limit={e}"),
        ];
        for path in &filters {
            let (status, body) = get(app, path).await;
            let shown = &path[..path.len().min(80)];
            inert(shown, status, &body);
            if path.starts_with("/api/v1/people/") {
                assert!(
                    matches!(status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST),
                    "{shown}: {status} {body}"
                );
            }
            tried += 1;
        }
        // Bodies: refused with a 4xx, or stored and returned literally.
        let (status, body) = post(
            app,
            "/api/v1/requests",
            &json!({"subject": p, "entitlements": ["group:team-a"], "justification": "x"}),
        )
        .await;
        inert("subject", status, &body);
        // Refused, or (an odd but valid address such as `person_@acme.com`) kept literally.
        assert!(
            status.is_client_error() || body["subject"] == json!(p.to_lowercase()),
            "subject {status} {body}"
        );
        let (status, body) = post(
            app,
            "/api/v1/requests",
            &json!({"subject": "person2@acme.com", "entitlements": [p], "justification": "x"}),
        )
        .await;
        assert!(status.is_client_error(), "entitlement {status} {body}");
        let (status, body) = post(
            app,
            "/api/v1/requests",
            &json!({"subject": "person3@acme.com", "entitlements": ["group:team-a"], "justification": p}),
        )
        .await;
        inert("justification", status, &body);
        if status == StatusCode::CREATED {
            assert_eq!(body["justification"], json!(p.trim()), "stored literally");
            let id = body["id"].as_i64().unwrap();
            let (_, again) = get(app, &format!("/api/v1/requests/{id}")).await;
            assert_eq!(again["justification"], json!(p.trim()));
            let (status, _) = post(
                app,
                &format!("/api/v1/requests/{id}/cancel"),
                &json!({"comment": p}),
            )
            .await;
            assert!(!status.is_server_error(), "cancel comment {status}");
        }
        let (status, body) = post(
            app,
            "/api/v1/users",
            &json!({"email": p, "display_name": p, "role": "viewer", "password": "a long enough password"}),
        )
        .await;
        inert("user", status, &body);
        let (status, body) =
            post(app, "/api/v1/tokens", &json!({"name": p, "role": "viewer"})).await;
        inert("token name", status, &body);
        let (status, body) =
            post(app, "/api/v1/session", &json!({"email": p, "password": p})).await;
        assert!(status.is_client_error(), "sign-in {status} {body}");
        tried += 6;
    }
    // The console's sign-in form (not JSON): the same payloads as email and password.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for p in payloads().iter().chain([&"a\0b@acme.com".to_owned()]) {
        let form = browser.get(app.url("/sign-in")).send().await.unwrap();
        let pre = form
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
            .find(|c| c.starts_with("steward_sign_in="))
            .expect("the form sets its token cookie");
        let html = form.text().await.unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let at = html.find(marker).expect("a csrf field") + marker.len();
        let token = html[at..].split('"').next().unwrap().to_owned();
        let r = browser
            .post(app.url("/sign-in"))
            .header("cookie", pre)
            .form(&[
                ("email", p.as_str()),
                ("password", p.as_str()),
                ("csrf_token", token.as_str()),
                ("next", p.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_client_error(), "console sign-in: {status}");
        tried += 1;
    }
    // Very long values in bodies (under the 64 KiB limit): refused with a 4xx.
    let long = "' OR 1=1 --".repeat(5_000);
    for body in [
        json!({"subject": long, "entitlements": ["group:team-a"], "justification": "x"}),
        json!({"subject": "person2@acme.com", "entitlements": [long], "justification": "x"}),
        json!({"subject": "person2@acme.com", "entitlements": ["group:team-a"], "justification": long}),
    ] {
        let (status, answer) = post(app, "/api/v1/requests", &body).await;
        assert!(status.is_client_error(), "{status} {answer}");
        tried += 1;
    }
    // Nothing was deleted or matched by a wildcard; the audit chain holds.
    let after = census(app).await;
    assert_eq!(after.0, before.0, "people");
    assert!(after.1 >= before.1 && after.2 >= before.2 && after.3 >= before.3);
    let (_, page) = get(app, "/api/v1/requests?subject=person1@acme.com").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    let (_, verify) = get(app, "/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    tried
}

#[tokio::test]
async fn sql_looking_input_is_refused_or_taken_literally_on_sqlite() {
    let app = spawn_app().await;
    let tried = sql_injection_is_inert(&app).await;
    println!("SQL injection, SQLite: {tried} attempts inert");
    app.stop().await;
}

#[tokio::test]
async fn sql_looking_input_is_refused_or_taken_literally_on_postgres() {
    let Some(app) = try_spawn(test_config(), true).await.unwrap() else {
        return;
    };
    let tried = sql_injection_is_inert(&app).await;
    println!("SQL injection, PostgreSQL: {tried} attempts inert");
    app.stop().await;
}

fn target(info: &ReadyInfo) -> anyhow::Result<Target> {
    Ok(Target::from_sim(info)?)
}

/// Markup an Atlassian admin could put in a name.
const MARKUP: [&str; 5] = [
    "<script>alert('name')</script>",
    "\"><img src=x onerror=alert(1)>",
    "' onmouseover='alert(2)",
    "</textarea><svg onload=alert(3)>",
    "{{7*7}} ${7*7} hx-get=\"/evil\"",
];

#[tokio::test]
async fn markup_in_names_from_atlassian_renders_as_text_on_every_console_page() -> anyhow::Result<()>
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig {
        users: Some(60),
        ..SimConfig::default()
    })
    .await?;
    // Seed the simulator: display names, nicknames, group names and descriptions, project
    // and Statuspage page names carry markup.
    let victim = sim.app().write(|w| {
        let integration = w.integration_account();
        let people: Vec<u32> = (0..w.accounts.len() as u32)
            .filter(|ax| {
                *ax != integration
                    && w.account(*ax).kind == AccountType::Atlassian
                    && w.account(*ax).email.is_some()
                    && w.composite_status(*ax) == "active"
            })
            .take(MARKUP.len())
            .collect();
        for (ax, evil) in people.iter().zip(MARKUP) {
            let a = &mut w.accounts[*ax as usize];
            a.name = evil.to_owned();
            a.nickname = evil.to_owned();
        }
        for (g, evil) in w.groups.iter_mut().zip(MARKUP) {
            g.name = format!("{evil} group");
            g.description = evil.to_owned();
        }
        for site in &mut w.sites {
            for (p, evil) in site.projects.iter_mut().zip(MARKUP) {
                p.name = evil.to_owned();
            }
        }
        for (p, evil) in w.statuspage.pages.iter_mut().zip(MARKUP) {
            p.name = evil.to_owned();
        }
        w.account(people[0]).email.clone().unwrap_or_default()
    });
    let target = target(sim.info())?;
    let dir = tempfile::tempdir()?;
    let store =
        steward_store::Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await?;
    let mut config = test_config();
    config.integration_email = Some(target.integration_email.clone());
    let state = AppState::new(
        store.clone(),
        config,
        Some(Arc::new(TargetSync(target.clone()))),
    )?;
    let report = TargetSync(target.clone()).launch(store.clone()).await;
    anyhow::ensure!(report.error.is_none(), "{:?}", report.error);
    steward_server::bootstrap::create_user(
        &state,
        "admin@steward.test",
        "The admin",
        Role::Admin,
        &SecretString::from(PASSWORD),
    )
    .await?;
    let server = Server::bind("127.0.0.1:0".parse()?, state.clone()).await?;
    let base = format!("http://{}", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "admin@steward.test", "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == StatusCode::OK);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let csrf = r.json::<Value>().await?["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let victim_path = enc(&victim).replace('+', "%20");
    let mut pages = vec![
        "/".to_owned(),
        "/people".to_owned(),
        "/people?product=jira".to_owned(),
        format!("/people?role={}", enc(MARKUP[1])),
        format!("/people/{victim_path}"),
        "/jobs".to_owned(),
        "/audit".to_owned(),
        "/audit/verify".to_owned(),
        format!("/people/{}", enc(MARKUP[0])),
    ];
    for evil in MARKUP {
        pages.push(format!("/people?cursor={}", enc(evil)));
    }
    let mut rendered = 0;
    let mut check = |what: &str, status: StatusCode, html: &str| {
        assert!(!status.is_server_error(), "{what}: {status}");
        for raw in [
            "<script>alert",
            "<img src=x",
            "<svg onload",
            "' onmouseover='",
            "'onmouseover=",
            "\"><img",
            "hx-get=\"/evil\"",
        ] {
            assert!(!html.contains(raw), "{what}: {raw:?} unescaped in\n{html}");
        }
        rendered += 1;
    };
    for page in &pages {
        let r = client
            .get(format!("{base}{page}"))
            .header("cookie", &cookie)
            .send()
            .await?;
        let status = r.status();
        let html = r.text().await?;
        check(page, status, &html);
    }
    // The person page names the markup, as text.
    let r = client
        .get(format!("{base}/people/{victim_path}"))
        .header("cookie", &cookie)
        .send()
        .await?;
    let html = r.text().await?;
    assert!(
        html.contains("&#60;script&#62;alert(&#39;name&#39;)&#60;/script&#62;"),
        "{html}"
    );
    // The offboarding plan lists the person's groups, projects and pages by name.
    let r = client
        .post(format!("{base}/people/{victim_path}/offboard"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .form(&[("level", "revoke-roles"), ("csrf_token", csrf.as_str())])
        .send()
        .await?;
    let status = r.status();
    let html = r.text().await?;
    check("offboard plan", status, &html);
    println!(
        "markup: {} names seeded in the simulator, synced, {rendered} console pages rendered inert",
        MARKUP.len() * 6
    );
    let _ = stop.send(());
    store.close().await;
    sim.shutdown().await;
    Ok(())
}

/// Sends `head` as raw bytes (no client would send such headers) and returns the status.
async fn raw_status(base: &str, head: &[u8]) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test]
async fn cr_lf_and_huge_values_in_headers_get_4xx() {
    let app = spawn_app().await;
    let token = app.token(Role::Admin).to_owned();
    let request = |extra: &str| {
        format!(
            "POST /api/v1/requests HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n{extra}\r\n{{}}"
        )
        .into_bytes()
    };
    let huge = "x".repeat(100 * 1024);
    let cases = [
        format!("Authorization: Bearer {token}\rX-Injected: 1\r\n"),
        format!("Authorization: Bearer {token}\nX-Injected: 1\r\n"),
        format!("Authorization: Bearer {token}\r\n X-Folded: 1\r\n"),
        format!("Authorization: Bearer {token}\r\nIdempotency-Key: a\rb\r\n"),
        format!("Authorization: Bearer {token}\r\nIdempotency-Key: a\nSet-Cookie: x=1\r\n"),
        format!("Authorization: Bearer {token}\r\nIdempotency-Key: {huge}\r\n"),
        format!("Authorization: Bearer {token}\r\nIdempotency-Key: \tx\r\n"),
        format!("Authorization: Bearer {token}\r\nIdempotency-Key: caf\u{e9}\r\n"),
        format!("Authorization: Bearer {token}{huge}\r\n"),
        format!("Authorization: Bearer {token}\0\r\n"),
        "Cookie: steward_session=abc\rX-Injected: 1\r\n".to_owned(),
        format!("Cookie: steward_session={huge}\r\n"),
        format!("Cookie: steward_session=a; steward_session={huge}\r\n"),
        format!("X-CSRF-Token: {huge}\r\nCookie: steward_session=abc\r\n"),
    ];
    for case in &cases {
        let status = raw_status(&app.base, &request(case)).await;
        assert!(
            (400..500).contains(&status),
            "{:?}: {status}",
            &case[..case.len().min(120)]
        );
    }
    // Response headers never echo what was injected.
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/requests")
        .header("Idempotency-Key", "abc%0d%0aSet-Cookie:%20x=1")
        .json(&json!({"subject": "person1@acme.com", "entitlements": ["group:team-a"], "justification": "x"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert!(r.headers().get("set-cookie").is_none());
    println!(
        "headers: {} CR/LF and oversized headers refused",
        cases.len()
    );
    app.stop().await;
}
