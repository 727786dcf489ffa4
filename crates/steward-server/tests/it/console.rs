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
            } else if path == "/requests/999999" {
                assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
                assert!(
                    html.contains("access request 999999 does not exist"),
                    "{html}"
                );
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

// ---------------------------------------------------------------------------------------
// Access requests: the form, the queue, a request's page and its actions.

/// The id of the request a `/requests/{id}…` redirect points to.
fn request_id(response: &reqwest::Response) -> i64 {
    let location = response.headers()[LOCATION].to_str().unwrap();
    location
        .trim_start_matches("/requests/")
        .split(['?', '/'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not a request page: {location}"))
}

impl Browser {
    /// Submits the request form (with the CSRF token) and returns the response.
    async fn ask(&self, subject: &str, entitlements: &[&str], duration: &str) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("subject", subject),
            ("justification", "quarter close"),
            ("duration", duration),
        ];
        for e in entitlements {
            form.push(("entitlements", e));
        }
        self.post("/requests", &form).await
    }

    /// Posts an action form of request `id` with the CSRF token.
    async fn act(&self, id: i64, action: &str, comment: &str) -> reqwest::Response {
        let csrf = self.csrf().await;
        self.post(
            &format!("/requests/{id}/{action}"),
            &[("csrf_token", csrf.as_str()), ("comment", comment)],
        )
        .await
    }
}

/// Plays a worker for job `job`: claims it and finishes it, succeeded (every step done) or
/// failed with `error`.
async fn finish_job(app: &TestApp, job: steward_store::JobId, error: Option<&str>) {
    let jobs = app.store.jobs();
    let owner = "console-test-worker";
    let claimed = jobs
        .claim(owner, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a queued job");
    assert_eq!(
        claimed.job.id, job,
        "the oldest queued job is the one meant"
    );
    match error {
        None => {
            for step in &claimed.steps {
                jobs.step_done(job, owner, step.seq, &serde_json::json!({"summary": "ok"}))
                    .await
                    .unwrap();
            }
            jobs.finish(job, owner, steward_store::JobOutcome::Succeeded, None, None)
                .await
                .unwrap();
        }
        Some(e) => {
            jobs.finish(job, owner, steward_store::JobOutcome::Failed, Some(e), None)
                .await
                .unwrap();
        }
    }
}

async fn sweep(app: &TestApp) -> steward_engine::requests::SweepReport {
    steward_engine::requests::Workflow::new(app.store.clone(), Default::default(), None)
        .sweep(chrono::Utc::now())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_request_form_keeps_what_was_typed_and_says_what_is_wrong_next_to_each_field() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "requester@steward.test").await;
    let (status, html) = b.page("/requests/new").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // The signed-in user's email by default; the catalog grouped, with accessible labels.
    assert!(
        html.contains("name=\"subject\" type=\"email\" value=\"requester@steward.test\""),
        "{html}"
    );
    assert!(
        html.contains("<legend>Groups and organization</legend>"),
        "{html}"
    );
    assert!(html.contains("value=\"group:team-a\""), "{html}");
    let checkbox = html.find("value=\"group:team-a\"").unwrap();
    let id = html[..checkbox]
        .rsplit("id=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(html.contains(&format!("<label for=\"{id}\">")), "{html}");

    // Everything wrong at once: every field says so, every value is kept.
    let r = b.ask("not-an-email", &["group:team-a"], "3x").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"subject-error\""), "{html}");
    assert!(html.contains("is not an email address"), "{html}");
    assert!(html.contains("value=\"not-an-email\""), "{html}");
    assert!(html.contains("id=\"duration-error\""), "{html}");
    assert!(html.contains("value=\"3x\""), "{html}");
    assert!(html.contains("value=\"group:team-a\" checked"), "{html}");
    assert!(html.contains(">quarter close</textarea>"), "{html}");
    assert!(!html.contains("id=\"justification-error\""), "{html}");
    // No entitlement, no justification.
    let csrf = b.csrf().await;
    let r = b
        .post(
            "/requests",
            &[
                ("csrf_token", csrf.as_str()),
                ("subject", "person1@acme.com"),
                ("justification", "  "),
                ("duration", "8h"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("choose at least one entitlement"), "{html}");
    assert!(html.contains("say why the access is needed"), "{html}");
    assert!(html.contains("value=\"person1@acme.com\""), "{html}");
    assert!(html.contains("value=\"8h\""), "{html}");
    // An entitlement the catalog does not have (a forged form) is named.
    let r = b.ask("person1@acme.com", &["group:nope"], "").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"entitlements-error\""), "{html}");
    assert!(html.contains("group:nope"), "{html}");
    // A date in the past.
    let r = b
        .ask("person1@acme.com", &["group:team-a"], "2020-01-01")
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("in the past"));
    assert!(
        app.store
            .requests()
            .list(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );

    // The filter box (htmx) answers with the catalog alone, keeping what is ticked.
    let r = b
        .client
        .get(app.url("/requests/new?filter=zzz&entitlements=group%3Ateam-a"))
        .header(COOKIE, &b.cookie)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<div id=\"catalog\""), "{html}");
    assert!(html.contains("data-filter=\"zzz\""), "{html}");
    assert!(html.contains("value=\"group:team-a\" checked"), "{html}");

    // Valid: recorded, and its page says it waits, with the expiry to come.
    let r = b.ask(" person1@acme.com ", &["group:team-a"], "7d").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = request_id(&r);
    let (status, html) = b.page(&format!("/requests/{id}?created=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("it waits for approval"), "{html}");
    assert!(html.contains("7d once provisioned"), "{html}");
    assert!(html.contains("quarter close"), "{html}");
    // The requester may cancel it, not approve it.
    assert!(html.contains("id=\"cancel\""), "{html}");
    assert!(!html.contains("id=\"approve\""), "{html}");
    let request = app
        .store
        .requests()
        .get(steward_store::RequestId(id))
        .await
        .unwrap();
    assert_eq!(request.request.subject, "person1@acme.com");
    assert_eq!(request.request.duration_secs, Some(7 * 86_400));
    assert_eq!(request.request.requested_by, "requester@steward.test");
    app.stop().await;
}

#[tokio::test]
async fn request_forms_need_the_csrf_token_and_the_role() {
    let app = spawn_app().await;
    let requester = Browser::sign_in(&app, "requester@steward.test").await;
    // No token: refused, nothing recorded.
    let r = requester
        .post(
            "/requests",
            &[
                ("subject", "person1@acme.com"),
                ("entitlements", "group:team-a"),
                ("justification", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        app.store
            .requests()
            .list(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    let r = requester
        .ask("person1@acme.com", &["group:team-a"], "")
        .await;
    let id = request_id(&r);
    // A viewer sees requests but may not ask for access.
    let viewer = Browser::sign_in(&app, "viewer@steward.test").await;
    assert_eq!(viewer.page("/requests").await.0, StatusCode::OK);
    assert_eq!(viewer.page("/requests/new").await.0, StatusCode::FORBIDDEN);
    let r = viewer.ask("person1@acme.com", &["group:team-a"], "").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A requester may not approve (the route needs an approver), even with the token.
    let r = requester.act(id, "approve", "").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("Forbidden"));
    // An approver without the token is refused too.
    let approver = Browser::sign_in(&app, "approver@steward.test").await;
    let r = approver
        .post(&format!("/requests/{id}/approve"), &[("comment", "ok")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Retrying a revocation is for admins.
    let r = approver.act(id, "revocation/retry", "").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let request = app
        .store
        .requests()
        .get(steward_store::RequestId(id))
        .await
        .unwrap();
    assert_eq!(request.state, steward_store::RequestState::Pending);
    assert!(request.approvals.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_queue_offers_decisions_only_where_the_policy_allows_and_says_why_elsewhere() {
    let app = spawn_app().await;
    let requester = Browser::sign_in(&app, "requester@steward.test").await;
    let theirs = request_id(
        &requester
            .ask("person1@acme.com", &["group:team-a"], "")
            .await,
    );
    let approver = Browser::sign_in(&app, "approver@steward.test").await;
    // The approver asks for someone too: they may not approve their own request.
    let own = request_id(
        &approver
            .ask("person2@acme.com", &["group:team-a"], "")
            .await,
    );
    // … nor one that gives them access.
    let for_them = request_id(
        &requester
            .ask("approver@steward.test", &["group:team-a"], "")
            .await,
    );
    let (status, html) = approver.page("/requests?scope=all").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("id=\"approve-{theirs}\"")), "{html}");
    assert!(html.contains(&format!("id=\"deny-{theirs}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"approve-{own}\"")), "{html}");
    assert!(html.contains("you made this request"), "{html}");
    assert!(
        !html.contains(&format!("id=\"approve-{for_them}\"")),
        "{html}"
    );
    assert!(html.contains("it gives you access"), "{html}");
    // "Waiting for my approval" lists only the one they may decide.
    let (_, html) = approver.page("/requests?scope=to-approve").await;
    assert!(html.contains(&format!("id=\"request-{theirs}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"request-{own}\"")), "{html}");
    // "Mine": the requester's own.
    let (_, html) = requester.page("/requests?scope=mine").await;
    assert!(html.contains(&format!("id=\"request-{theirs}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"request-{own}\"")), "{html}");
    // A bad filter is explained on the page.
    let (status, html) = approver.page("/requests?state=nope").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("state `nope` is not one of"), "{html}");
    // Self-approval is refused even when forced.
    let r = approver.act(own, "approve", "").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("nobody approves a request they made")
    );
    // The dashboard links the pending ones.
    let (_, html) = approver.page("/").await;
    assert!(
        html.contains("<strong>3</strong> pending approvals"),
        "{html}"
    );
    assert!(html.contains("href=\"/requests?state=pending\""), "{html}");

    // Approve from the queue: the grant job is queued, the page shows it.
    let r = approver.act(theirs, "approve", "fine").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = approver.page(&format!("/requests/{theirs}")).await;
    assert!(html.contains(">provisioning</span>"), "{html}");
    assert!(html.contains("id=\"grant-job\""), "{html}");
    assert!(html.contains("approver@steward.test"), "{html}");
    // Approving again is a no-op (no second job).
    let r = approver.act(theirs, "approve", "").await;
    assert!(
        r.status().is_success() || r.status() == StatusCode::SEE_OTHER,
        "{}",
        r.status()
    );
    app.stop().await;
}

#[tokio::test]
async fn deny_asks_a_reason_and_cancel_is_the_requesters() {
    let app = spawn_app().await;
    let requester = Browser::sign_in(&app, "requester@steward.test").await;
    let approver = Browser::sign_in(&app, "approver@steward.test").await;
    let first = request_id(
        &requester
            .ask("person1@acme.com", &["group:team-a"], "")
            .await,
    );
    let second = request_id(
        &requester
            .ask("person2@acme.com", &["group:team-a"], "")
            .await,
    );
    // Deny without a reason: refused, still pending.
    let r = approver.act(first, "deny", " ").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("say why the request is denied")
    );
    let r = approver
        .act(first, "deny", "not needed for that team")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = requester.page(&format!("/requests/{first}")).await;
    assert!(html.contains(">denied</span>"), "{html}");
    assert!(html.contains("not needed for that team"), "{html}");
    assert!(!html.contains("id=\"cancel\""), "{html}");
    // The approver (not the requester, not an admin) may not cancel it.
    let r = approver.act(second, "cancel", "").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("only the requester"));
    let r = requester.act(second, "cancel", "asked by mistake").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = requester.page(&format!("/requests/{second}")).await;
    assert!(html.contains(">cancelled</span>"), "{html}");
    // Cancelling again: a conflict, said on a page.
    let r = requester.act(second, "cancel", "").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "already cancelled: a no-op"
    );
    let r = requester.act(first, "cancel", "").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("is denied"));
    // Both decisions are in the audit log.
    let (_, html) = approver.page("/audit").await;
    assert!(
        html.contains("request.denied") && html.contains("request.cancelled"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn revoke_then_a_failed_revocation_is_shown_everywhere_and_an_admin_retries_it() {
    let app = spawn_app().await;
    let requester = Browser::sign_in(&app, "requester@steward.test").await;
    let approver = Browser::sign_in(&app, "approver@steward.test").await;
    let admin = Browser::sign_in(&app, "admin@steward.test").await;
    let id = request_id(
        &requester
            .ask("person3@acme.com", &["group:team-a"], "8h")
            .await,
    );
    assert_eq!(
        approver.act(id, "approve", "").await.status(),
        StatusCode::SEE_OTHER
    );
    let rid = steward_store::RequestId(id);
    let grant = app
        .store
        .requests()
        .get(rid)
        .await
        .unwrap()
        .grant_job
        .unwrap();
    finish_job(&app, grant, None).await;
    assert_eq!(sweep(&app).await.provisioned, 1);
    let (_, html) = approver.page(&format!("/requests/{id}")).await;
    assert!(html.contains(">provisioned</span>"), "{html}");
    assert!(html.contains("until "), "the expiry: {html}");
    assert!(html.contains("id=\"revoke\""), "{html}");
    // The expiry shows on the person's page and in the list too.
    let (_, html) = requester.page("/people/person3@acme.com").await;
    assert!(
        html.contains(&format!("href=\"/requests/{id}\"")) && html.contains("until "),
        "{html}"
    );
    let (_, html) = requester.page("/requests").await;
    assert!(html.contains("<strong>until "), "{html}");
    // A requester can't revoke; an approver can.
    assert!(
        !requester
            .page(&format!("/requests/{id}"))
            .await
            .1
            .contains("id=\"revoke\"")
    );
    assert_eq!(
        requester.act(id, "revoke", "").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        approver.act(id, "revoke", "project over").await.status(),
        StatusCode::SEE_OTHER
    );
    let revoked = app.store.requests().get(rid).await.unwrap();
    assert_eq!(revoked.state, steward_store::RequestState::Revoked);
    let first_job = revoked.revocation.as_ref().unwrap().job;
    assert_eq!(
        revoked.revocation.as_ref().unwrap().status,
        steward_store::RevocationStatus::InProgress
    );

    // The revocation job fails: the sweep records it on the request.
    finish_job(&app, first_job, Some("the org API answered 503 five times")).await;
    assert_eq!(sweep(&app).await.revocations_failed, 1);
    assert_eq!(sweep(&app).await, Default::default(), "recorded once");
    let (_, api) = app
        .get_json(Role::Viewer, &format!("/api/v1/requests/{id}"))
        .await;
    assert_eq!(api["revocation"]["status"], "failed", "{api}");
    assert_eq!(api["revocation"]["job"], first_job.0, "{api}");
    assert_eq!(
        api["revocation"]["error"],
        "the org API answered 503 five times"
    );
    let (_, listed) = app
        .get_json(Role::Viewer, "/api/v1/requests?revocation=failed")
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    // Shown on the request, in the list, and on the dashboard as needing attention.
    let (_, html) = approver.page(&format!("/requests/{id}")).await;
    assert!(html.contains("id=\"revocation-failed\""), "{html}");
    assert!(
        html.contains("the org API answered 503 five times"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"retry-revocation\""),
        "only admins retry: {html}"
    );
    let (_, html) = approver.page("/requests?revocation=failed").await;
    assert!(html.contains("revocation failed"), "{html}");
    let (_, html) = approver.page("/").await;
    assert!(html.contains("id=\"failed-revocations\""), "{html}");
    assert!(html.contains(&format!("href=\"/requests/{id}\"")), "{html}");
    let (_, html) = approver.page("/people/person3@acme.com").await;
    assert!(html.contains("revocation failed"), "{html}");

    // An admin retries: a new job, audited; the failure is cleared while it runs.
    let (_, html) = admin.page(&format!("/requests/{id}")).await;
    assert!(html.contains("id=\"retry-revocation\""), "{html}");
    let r = admin
        .act(id, "revocation/retry", "the org API is back")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let retried = app.store.requests().get(rid).await.unwrap();
    let second_job = retried.revocation.as_ref().unwrap().job;
    assert_ne!(second_job, first_job);
    assert_eq!(
        retried.revocation.as_ref().unwrap().status,
        steward_store::RevocationStatus::InProgress
    );
    assert_eq!(retried.state, steward_store::RequestState::Revoked);
    let detail = app.store.jobs().get(second_job).await.unwrap();
    assert_eq!(detail.job.kind, "revoke");
    assert_eq!(detail.job.requested_by, "admin@steward.test");
    // Retrying again while it runs: a conflict, no third job.
    let r = admin.act(id, "revocation/retry", "").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("only a failed revocation is queued again")
    );
    let (_, html) = admin.page("/").await;
    assert!(html.contains("id=\"no-failed-revocations\""), "{html}");
    let (_, html) = admin.page("/audit").await;
    assert!(html.contains("request.revocation_failed"), "{html}");
    assert!(html.contains("request.revocation_retried"), "{html}");
    // The new job succeeds: recorded.
    finish_job(&app, second_job, None).await;
    assert_eq!(sweep(&app).await.revocations_succeeded, 1);
    let (_, api) = app
        .get_json(Role::Viewer, &format!("/api/v1/requests/{id}"))
        .await;
    assert_eq!(api["revocation"]["status"], "succeeded", "{api}");
    assert_eq!(api["revocation"]["job"], second_job.0, "{api}");
    assert!(api["revocation"]["error"].is_null(), "{api}");
    app.stop().await;
}

#[tokio::test]
async fn auto_approved_requests_say_so_on_the_form_and_their_page() {
    let mut config = test_config();
    config.approvals = steward_engine::requests::ApprovalPolicy {
        rules: vec![steward_engine::requests::PolicyRule {
            entitlements: vec!["group:team-*".to_owned()],
            risk: None,
            role: None,
            approvers: vec![],
            approvals: 1,
            auto_approve: true,
        }],
    };
    let app = spawn_with(config, false).await;
    let b = Browser::sign_in(&app, "requester@steward.test").await;
    let (_, html) = b.page("/requests/new").await;
    assert!(html.contains("approved automatically"), "{html}");
    let r = b.ask("person1@acme.com", &["group:team-a"], "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = request_id(&r);
    let (_, html) = b.page(&format!("/requests/{id}?created=1")).await;
    assert!(html.contains("approved automatically"), "{html}");
    assert!(html.contains(">provisioning</span>"), "{html}");
    assert!(html.contains("id=\"grant-job\""), "{html}");
    // Its page refreshes itself while the grant job runs.
    assert!(html.contains("hx-trigger=\"every 2s\""), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn submitting_the_same_request_form_twice_records_one_request() {
    let app = spawn_app().await;
    let b = Browser::sign_in(&app, "requester@steward.test").await;
    let (_, html) = b.page("/requests/new").await;
    let nonce = field(&html, "nonce");
    let csrf = field(&html, "csrf_token");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("nonce", nonce.as_str()),
        ("subject", "person1@acme.com"),
        ("entitlements", "group:team-a"),
        ("justification", "double click"),
    ];
    let first = b.post("/requests", &form).await;
    let second = b.post("/requests", &form).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(request_id(&first), request_id(&second));
    assert_eq!(
        app.store
            .requests()
            .list(&Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    // A form shown again after a mistake keeps its nonce; fixing it records the request.
    let (_, html) = b.page("/requests/new").await;
    let nonce = field(&html, "nonce");
    let bad = b
        .post(
            "/requests",
            &[
                ("csrf_token", csrf.as_str()),
                ("nonce", nonce.as_str()),
                ("subject", "x"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&bad.text().await.unwrap(), "nonce"), nonce);
    let mut fixed = form;
    fixed[1] = ("nonce", nonce.as_str());
    let r = b.post("/requests", &fixed).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_ne!(request_id(&r), request_id(&first));
    app.stop().await;
}
