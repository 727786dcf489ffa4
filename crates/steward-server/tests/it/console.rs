//! The web console over HTTP (no browser): every page, sign-in and sign-out through the
//! forms, CSRF on every form, role restrictions, escaping, session expiry, and offboarding
//! (plan, then confirm, then one job).

use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use steward_server::{Access, ROUTES, Surface};
use steward_store::{JobQuery, Role};

use crate::app::{PASSWORD, TestApp, account, spawn_app, spawn_with, test_config};

/// A client that does not follow redirects, so they can be checked.
fn manual() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The value of the first `name="field" value="…"` input of a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// `name=value` of a `Set-Cookie` named `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// A browser-like session: the cookie header and the CSRF token of the console's pages.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Browser {
    /// Signs in through the form as `email`.
    async fn sign_in(app: &TestApp, email: &str) -> Browser {
        let client = manual();
        let form = client.get(app.url("/sign-in")).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let pre = set_cookie(&form, "steward_sign_in").expect("the form sets its token cookie");
        let html = form.text().await.unwrap();
        let r = client
            .post(app.url("/sign-in"))
            .header(COOKIE, &pre)
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", &field(&html, "csrf_token")),
                ("next", "/people"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[LOCATION], "/people");
        let cookie = set_cookie(&r, "steward_session").expect("signed in");
        Browser {
            client,
            base: app.base.clone(),
            cookie,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    async fn csrf(&self) -> String {
        let (status, html) = self.page("/").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        field(&html, "csrf_token")
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

fn console_pages() -> Vec<(&'static str, Role)> {
    ROUTES
        .iter()
        .filter(|r| r.surface == Surface::Console && r.method == Method::GET)
        .filter_map(|r| match r.access {
            Access::Least(role) => Some((r.path, role)),
            Access::Public => None,
        })
        .collect()
}

fn sample(path: &str) -> String {
    path.replace("{email}", "person1@acme.com")
        .replace("{id}", "999999")
}

#[tokio::test]
async fn every_console_page_redirects_to_sign_in_without_a_session() {
    let app = spawn_app().await;
    let client = manual();
    for (path, _) in console_pages() {
        let r = client.get(app.url(&sample(path))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with("/sign-in"), "{path}: {location}");
    }
    // Coming back after signing in.
    let r = client.get(app.url("/jobs")).send().await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/sign-in?next=%2Fjobs");
    // htmx requests are told to change the whole page.
    let r = client
        .get(app.url("/people"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("hx-redirect"));
    // An expired or forged cookie is the same as none.
    let r = client
        .get(app.url("/"))
        .header(COOKIE, "steward_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The stylesheet and htmx are served by Steward itself, to anyone.
    for (path, kind) in [
        ("/static/console.css", "text/css"),
        ("/static/htmx.min.js", "text/javascript"),
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn every_page_renders_for_every_role_that_may_see_it() {
    let app = spawn_app().await;
    for role in Role::ALL {
        let b = Browser::sign_in(&app, &format!("{role}@steward.test")).await;
        for (path, least) in console_pages() {
            let (status, html) = b.page(&sample(path)).await;
            let path = sample(path);
            if path == "/jobs/999999" {
                assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
                assert!(html.contains("job 999999 does not exist"), "{html}");
            } else if role >= least {
                assert_eq!(status, StatusCode::OK, "{path} as {role}: {html}");
                assert!(html.contains("<!doctype html>"), "{path}");
                assert!(html.contains(&format!("{role}@steward.test")), "{path}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{path} as {role}");
                assert!(html.contains("Forbidden"), "{html}");
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn pages_show_what_the_store_holds() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "viewer@steward.test").await;
    let (_, html) = b.page("/").await;
    assert!(
        html.contains("Sync health") && html.contains("completed"),
        "{html}"
    );
    let (_, html) = b.page("/people").await;
    for i in 0..5 {
        assert!(html.contains(&format!("person{i}@acme.com")), "{html}");
    }
    assert!(
        html.contains("href=\"/people/person1%40acme.com\""),
        "{html}"
    );
    let (_, html) = b.page("/people/person1@acme.com").await;
    assert!(
        html.contains("Person acc-1") && html.contains("acc-1"),
        "{html}"
    );
    let (_, html) = b.page("/audit").await;
    assert!(html.contains("Audit log"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn the_matrix_filters_pages_and_answers_htmx_with_the_table_alone() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "viewer@steward.test").await;
    // Nobody in the fake snapshot holds a Jira role.
    let (status, html) = b.page("/people?product=jira").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Nobody matches"), "{html}");
    assert!(html.contains("<option value=\"jira\" selected>"), "{html}");
    // A bad filter is explained on the page.
    let (status, html) = b.page("/people?product=nope").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("product `nope` is not one of"), "{html}");
    let (_, html) = b.page("/people?inactive_for_days=abc").await;
    assert!(html.contains("whole number of days"), "{html}");
    // htmx gets the table, not the page.
    let r = b
        .client
        .get(format!("{}/people?status=active", b.base))
        .header(COOKIE, &b.cookie)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<div id=\"matrix\">"), "{html}");
    assert!(!html.contains("<html"), "{html}");
    assert!(html.contains("person4@acme.com"), "{html}");
    // Paging: 60 more people make two pages of 50.
    let run = app.store.runs().begin().await.unwrap();
    let people: Vec<_> = (0..60)
        .map(|i| account(&format!("p-{i:02}"), &format!("p{i:02}@acme.com")))
        .collect();
    app.store.writer(run).write_accounts(&people).await.unwrap();
    app.store
        .runs()
        .complete(run, &serde_json::json!({}), &[])
        .await
        .unwrap();
    let (_, first) = b.page("/people").await;
    assert!(first.contains("50 people on this page"), "{first}");
    let next = first
        .split("id=\"next-page\"")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    let (_, second) = b.page(&next).await;
    assert!(second.contains("10 people on this page"), "{second}");
    assert!(!second.contains("id=\"next-page\""));
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_refuses_a_forged_post_and_answers_every_failure_alike() {
    let app = spawn_app().await;
    let client = manual();
    // No form token cookie: a cross-site post (login CSRF) is refused.
    let r = client
        .post(app.url("/sign-in"))
        .form(&[
            ("email", "admin@steward.test"),
            ("password", PASSWORD),
            ("csrf_token", "guess"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "steward_session").is_none());
    // A wrong password: the form again, with the API's single answer.
    let form = client.get(app.url("/sign-in")).send().await.unwrap();
    let pre = set_cookie(&form, "steward_sign_in").unwrap();
    let html = form.text().await.unwrap();
    let r = client
        .post(app.url("/sign-in"))
        .header(COOKIE, &pre)
        .form(&[
            ("email", "admin@steward.test"),
            ("password", "wrong"),
            ("csrf_token", &field(&html, "csrf_token")),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(html.contains("wrong email or password"), "{html}");
    // `next` never leaves the site.
    assert!(html.contains("name=\"next\" value=\"/\""), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn every_console_form_needs_the_csrf_token() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "admin@steward.test").await;
    let csrf = b.csrf().await;
    for (path, form) in [
        ("/sign-out", vec![]),
        (
            "/people/person1%40acme.com/offboard",
            vec![("level", "deactivate")],
        ),
        (
            "/people/person1%40acme.com/offboard/confirm",
            vec![
                ("level", "deactivate"),
                ("run", "1"),
                ("nonce", "n"),
                ("reason", "r"),
            ],
        ),
    ] {
        let r = b.post(path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} without a token");
        let mut wrong = form.clone();
        wrong.push(("csrf_token", "wrong"));
        let r = b.post(path, &wrong).await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{path} with a wrong token"
        );
        assert!(r.text().await.unwrap().contains("X-CSRF-Token"));
    }
    // With the token the plan is shown.
    let r = b
        .post(
            "/people/person1%40acme.com/offboard",
            &[("level", "deactivate"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // htmx sends it as a header instead.
    let r = b
        .client
        .post(format!("{}/people/person1%40acme.com/offboard", b.base))
        .header(COOKIE, &b.cookie)
        .header("X-CSRF-Token", &csrf)
        .form(&[("level", "deactivate")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn only_admins_see_and_may_use_the_offboard_form() {
    let app = spawn_app().await;
    for role in Role::ALL {
        let b = Browser::sign_in(&app, &format!("{role}@steward.test")).await;
        let (_, html) = b.page("/people/person1@acme.com").await;
        assert_eq!(
            html.contains("id=\"offboard-form\""),
            role == Role::Admin,
            "{role}"
        );
        let (_, audit) = b.page("/audit").await;
        assert_eq!(
            audit.contains("id=\"verify\""),
            role == Role::Admin,
            "{role}"
        );
        let csrf = b.csrf().await;
        let r = b
            .post(
                "/people/person1%40acme.com/offboard",
                &[("level", "deactivate"), ("csrf_token", &csrf)],
            )
            .await;
        let expected = if role == Role::Admin {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(r.status(), expected, "{role}");
    }
    app.stop().await;
}

#[tokio::test]
async fn offboarding_shows_the_plan_then_queues_one_job_on_confirmation() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "admin@steward.test").await;
    let csrf = b.csrf().await;
    let r = b
        .post(
            "/people/person1%40acme.com/offboard",
            &[("level", "deactivate"), ("csrf_token", &csrf)],
        )
        .await;
    let plan = r.text().await.unwrap();
    assert!(plan.contains("id=\"plan\""), "{plan}");
    assert!(plan.contains("nothing has changed yet"), "{plan}");
    let jobs = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.jobs().list(&JobQuery::default()).await.unwrap() }
    };
    assert!(jobs(&app).await.is_empty(), "planning queues nothing");
    let run = field(&plan, "run");
    let nonce = field(&plan, "nonce");
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("level", "deactivate"),
        ("run", run.as_str()),
        ("nonce", nonce.as_str()),
        ("reason", "left the company"),
    ];
    if plan.contains("id=\"mass-ok\"") {
        form.push(("mass_ok", "yes"));
    }
    // Without a reason: the plan again, nothing queued.
    let no_reason: Vec<_> = form
        .iter()
        .filter(|(k, _)| *k != "reason")
        .cloned()
        .collect();
    let r = b
        .post("/people/person1%40acme.com/offboard/confirm", &no_reason)
        .await;
    assert!(r.text().await.unwrap().contains("Give a reason"));
    // A stale plan is shown again rather than queued.
    let mut stale = form.clone();
    stale[2] = ("run", "0");
    let r = b
        .post("/people/person1%40acme.com/offboard/confirm", &stale)
        .await;
    assert!(r.text().await.unwrap().contains("newer sync"));
    assert!(jobs(&app).await.is_empty());
    // Confirmed: one job, and the page goes to it; a double submit is the same job.
    let r = b
        .post("/people/person1%40acme.com/offboard/confirm", &form)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let r = b
        .post("/people/person1%40acme.com/offboard/confirm", &form)
        .await;
    assert_eq!(r.headers()[LOCATION].to_str().unwrap(), location);
    let all = jobs(&app).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].kind, "offboard");
    assert_eq!(all[0].subject, "person1@acme.com");
    assert_eq!(all[0].requested_by, "admin@steward.test");
    assert_eq!(location, format!("/jobs/{}", all[0].id.0));
    let (status, html) = b.page(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Step journal") && html.contains("queued"),
        "{html}"
    );
    // Queued jobs refresh themselves.
    assert!(html.contains("hx-trigger=\"every 2s\""), "{html}");
    let (_, person) = b.page("/people/person1@acme.com").await;
    assert!(person.contains(&location), "{person}");
    app.stop().await;
}

#[tokio::test]
async fn injected_markup_in_a_name_or_email_renders_inert() {
    let app = spawn_app().await;
    let run = app.store.runs().begin().await.unwrap();
    let mut evil = account("acc-evil", "\"><script>alert(1)</script>@acme.com");
    evil.name = "<img src=x onerror=alert(2)>".to_owned();
    app.store
        .writer(run)
        .write_accounts(&[evil, account("acc-0", "person0@acme.com")])
        .await
        .unwrap();
    app.store
        .runs()
        .complete(run, &serde_json::json!({}), &[])
        .await
        .unwrap();
    let b = Browser::sign_in(&app, "viewer@steward.test").await;
    let (_, html) = b.page("/people").await;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(
        html.contains("&#60;img src=x onerror=alert(2)&#62;"),
        "{html}"
    );
    let (status, html) = b
        .page("/people/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%40acme.com")
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("<script>alert(1)"), "{html}");
    // A 404 echoes what was asked for, escaped too.
    let (status, html) = b.page("/people/%3Cb%3Ebold%3C%2Fb%3E@x.com").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("&#60;b&#62;bold"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session_and_idle_sessions_expire() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "viewer@steward.test").await;
    let csrf = b.csrf().await;
    let r = b.post("/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/sign-in");
    assert!(set_cookie(&r, "steward_session").unwrap() == "steward_session=");
    let r = b.get("/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the old cookie is dead");
    app.stop().await;

    let mut config = test_config();
    config.auth.idle_timeout = Duration::from_secs(1);
    let app = spawn_with(config, false).await;
    let b = Browser::sign_in(&app, "viewer@steward.test").await;
    assert_eq!(b.get("/").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = b.get("/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
    app.stop().await;
}

#[tokio::test]
async fn console_pages_are_not_cached_nor_framed() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "viewer@steward.test").await;
    let r = b.get("/people").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"));
    app.stop().await;
}

#[tokio::test]
async fn malformed_console_forms_get_4xx_never_a_500() {
    let app = spawn_app().await;
    let forms = ROUTES
        .iter()
        .filter(|r| r.surface == Surface::Console && r.method == Method::POST);
    for route in forms {
        let path = sample(route.path).replace('@', "%40");
        for (what, content_type, body) in [
            ("empty", "application/x-www-form-urlencoded", String::new()),
            (
                "wrong type",
                "application/x-www-form-urlencoded",
                "level=deactivate&run=abc&nonce=n".to_owned(),
            ),
            (
                "unknown level",
                "application/x-www-form-urlencoded",
                "level=vaporize&run=1&nonce=n&reason=r".to_owned(),
            ),
            (
                "json",
                "application/json",
                "{\"level\": \"suspend\"}".to_owned(),
            ),
            (
                "oversized",
                "application/x-www-form-urlencoded",
                format!("level={}", "x".repeat(200 * 1024)),
            ),
        ] {
            let r = manual()
                .post(app.url(&path))
                .bearer_auth(app.token(Role::Admin))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            // Sign-out ignores its body (within the size limit).
            if route.path == "/sign-out" && what != "oversized" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{path} {what}");
                continue;
            }
            assert!(!status.is_server_error(), "{path} {what}: {status}");
            // Extra fields are ignored where the form does not have them (`run` on the plan
            // form); everywhere else the form is refused.
            if what != "wrong type" || route.path.ends_with("/confirm") {
                assert!(status.is_client_error(), "{path} {what}: {status}");
            }
        }
    }
    app.stop().await;
}
