//! `atlassian_response`: what Atlassian answers, through the client's real send path.
//!
//! A loopback HTTP server (built once per process) answers every request with the status,
//! headers and body the input describes; the fuzz input picks which client operation to run
//! (every family: Org API users, groups, role assignments, events, user management, Jira, JSM,
//! Confluence v1 and v2, Statuspage). So the bytes go through exactly what production runs:
//! reqwest, the error-body parser (`error.rs`), `Retry-After`/`X-RateLimit-Reset` and `Link`
//! header parsing, `serde_path_to_error` decoding into the models, and the pagination that
//! follows cursors and offsets out of the body.
//!
//! Input layout: byte 0 picks the operation, byte 1 the status, byte 2 which headers to send
//! (bit 0 `Retry-After`, bit 1 `X-RateLimit-Reset`, bit 2 `Link`, bit 3 no JSON content type);
//! when any header is sent, byte 3 is the length of the header value that follows; the rest is
//! the body. The answer is served to the first two requests of the operation (so a second page
//! repeats the first), then every request gets a 404.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use atlassian_client::api::org::{
    DirectoryFilter, EventFilter, EventStreamFilter, GroupSearch, RoleAssignmentFilter, UserFilter,
    UserSearch, WorkspaceSearch,
};
use atlassian_client::models::ProductKey;
use atlassian_client::models::jira::{GroupFilter, ProjectFilter};
use atlassian_client::{Client, Error, Rate, RateLimits, RetryPolicy};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use futures::{Stream, StreamExt, TryStreamExt};
use secrecy::SecretString;
use url::Url;

/// Secrets the client holds; no error may ever show them.
const ORG_KEY: &str = "fuzz-org-key-CANARY-7f3a";
const SITE_TOKEN: &str = "fuzz-site-token-CANARY-91bc";
const STATUSPAGE_KEY: &str = "fuzz-statuspage-key-CANARY-55de";

/// The statuses an answer may have (byte 1 picks one).
const STATUSES: [u16; 18] = [
    200, 200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 409, 420, 429, 500, 502, 503, 504,
];

/// What the loopback server answers.
#[derive(Debug, Default)]
struct Canned {
    status: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
    served: u32,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    client: Client,
    canned: Arc<Mutex<Canned>>,
}

type Outcome = Result<usize, Error>;
type Op = for<'a> fn(&'a Client) -> Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// Collects a stream (at most a few pages: the server stops answering after two requests).
async fn count<T>(stream: impl Stream<Item = Result<T, Error>>) -> Outcome {
    let items: Vec<T> = std::pin::pin!(stream.take(100_000)).try_collect().await?;
    Ok(items.len())
}

macro_rules! ops {
    ($($name:literal => |$c:ident| $body:expr),* $(,)?) => {
        /// (name, operation), in the order byte 0 picks them.
        pub(crate) const OPS: &[(&str, Op)] = &[
            $(($name, |$c: &Client| Box::pin(async move { $body }))),*
        ];
    };
}

#[allow(
    deprecated,
    reason = "the deprecated lists still decode Atlassian's answers"
)]
mod table {
    use super::*;

    ops! {
        "org.orgs" => |c| count(c.org().orgs()).await,
        "org.get_org" => |c| c.org().get_org("org-1").await.map(|_| 1),
        "org.search_users" => |c| count(c.org().search_users("dir-1", &UserSearch::default())).await,
        "org.list_users" => |c| count(c.org().list_users("dir-1", &UserFilter::default(), None)).await,
        "org.user" => |c| c.org().user("dir-1", "acc-1").await.map(|_| 1),
        "org.count_users" => |c| c.org().count_users("dir-1", &UserFilter::default()).await.map(|n| n as usize),
        "org.user_stats" => |c| c.org().user_stats("dir-1").await.map(|_| 1),
        "org.user_role_assignments" => |c| count(c.org().user_role_assignments("dir-1", "acc-1", &RoleAssignmentFilter::default())).await,
        "org.search_groups" => |c| count(c.org().search_groups("dir-1", &GroupSearch::default())).await,
        "org.group" => |c| c.org().group("dir-1", "grp-1").await.map(|_| 1),
        "org.group_directory" => |c| c.org().group_directory("grp-1").await.map(|d| d.len()),
        "org.count_groups" => |c| c.org().count_groups("dir-1", &atlassian_client::api::org::GroupFilter::default()).await.map(|n| n as usize),
        "org.group_stats" => |c| c.org().group_stats("dir-1").await.map(|_| 1),
        "org.create_group" => |c| c.org().create_group("dir-1", "team", None).await.map(|_| 1),
        "org.group_role_assignments" => |c| count(c.org().group_role_assignments("dir-1", "grp-1", &RoleAssignmentFilter::default())).await,
        "org.directories" => |c| count(c.org().directories(&DirectoryFilter::default())).await,
        "org.workspaces" => |c| count(c.org().workspaces(&WorkspaceSearch::default())).await,
        "org.events" => |c| count(c.org().events(&EventFilter::default())).await,
        "org.events_stream" => |c| count(c.org().events_stream(&EventStreamFilter::default())).await,
        "org.poll_events" => |c| c.org().poll_events(&EventStreamFilter::default(), Some("cur")).await.map(|p| p.events.len()),
        "org.event" => |c| c.org().event("ev-1").await.map(|_| 1),
        "org.event_actions" => |c| c.org().event_actions().await.map(|a| a.len()),
        "org.managed_accounts" => |c| count(c.org().managed_accounts()).await,
        "org.last_active_dates" => |c| c.org().last_active_dates("acc-1").await.map(|_| 1),
        "um.privileges" => |c| c.user_management().privileges("acc-1", &[]).await.map(|_| 1),
        "um.profile" => |c| c.user_management().profile("acc-1").await.map(|_| 1),
        "um.api_tokens" => |c| c.user_management().api_tokens("acc-1").await.map(|t| t.len()),
        "um.disable" => |c| c.user_management().disable("acc-1", None).await.map(|()| 0),
        "jira.users" => |c| count(c.jira("acme")?.users()).await,
        "jira.search_users" => |c| count(c.jira("acme")?.search_users("a")).await,
        "jira.user" => |c| c.jira("acme")?.user("acc-1").await.map(|_| 1),
        "jira.user_groups" => |c| c.jira("acme")?.user_groups("acc-1").await.map(|g| g.len()),
        "jira.users_bulk" => |c| count(c.jira("acme")?.users_bulk(&["acc-1".to_owned()])).await,
        "jira.find_user_by_email" => |c| c.jira("acme")?.find_user_by_email("a@acme.com").await.map(|u| usize::from(u.is_some())),
        "jira.groups" => |c| count(c.jira("acme")?.groups(GroupFilter::default())).await,
        "jira.group_members" => |c| count(c.jira("acme")?.group_members("grp-1", true)).await,
        "jira.create_group" => |c| c.jira("acme")?.create_group("team").await.map(|_| 1),
        "jira.add_user_to_group" => |c| c.jira("acme")?.add_user_to_group("grp-1", "acc-1").await.map(|_| 1),
        "jira.application_roles" => |c| c.jira("acme")?.application_roles().await.map(|r| r.len()),
        "jira.application_role" => |c| c.jira("acme")?.application_role(&ProductKey::JiraSoftware).await.map(|_| 1),
        "jira.projects" => |c| count(c.jira("acme")?.projects(ProjectFilter::default())).await,
        "jira.all_project_roles" => |c| c.jira("acme")?.all_project_roles().await.map(|r| r.len()),
        "jira.project_roles" => |c| c.jira("acme")?.project_roles("PRJ").await.map(|r| r.len()),
        "jira.project_role" => |c| c.jira("acme")?.project_role("PRJ", 10002, false).await.map(|_| 1),
        "jsm.service_desks" => |c| count(c.jsm("acme")?.service_desks()).await,
        "jsm.service_desk" => |c| c.jsm("acme")?.service_desk("1").await.map(|_| 1),
        "jsm.desk_customers" => |c| count(c.jsm("acme")?.desk_customers("1", None)).await,
        "jsm.desk_organizations" => |c| count(c.jsm("acme")?.desk_organizations("1", None)).await,
        "jsm.organizations" => |c| count(c.jsm("acme")?.organizations(None)).await,
        "jsm.organization" => |c| c.jsm("acme")?.organization(1).await.map(|_| 1),
        "jsm.organization_users" => |c| count(c.jsm("acme")?.organization_users(1)).await,
        "jsm.create_customer" => |c| c.jsm("acme")?.create_customer("a@acme.com", "A").await.map(|_| 1),
        "confluence.groups" => |c| count(c.confluence("acme")?.groups(None)).await,
        "confluence.group" => |c| c.confluence("acme")?.group("grp-1").await.map(|_| 1),
        "confluence.find_group_by_name" => |c| c.confluence("acme")?.find_group_by_name("team").await.map(|g| usize::from(g.is_some())),
        "confluence.group_members" => |c| count(c.confluence("acme")?.group_members("grp-1")).await,
        "confluence.group_picker" => |c| count(c.confluence("acme")?.group_picker("te")).await,
        "confluence.user" => |c| c.confluence("acme")?.user("acc-1").await.map(|_| 1),
        "confluence.current_user" => |c| c.confluence("acme")?.current_user().await.map(|_| 1),
        "confluence.member_of" => |c| count(c.confluence("acme")?.member_of("acc-1")).await,
        "confluence.users_bulk_v1" => |c| c.confluence("acme")?.users_bulk_v1(&["acc-1"]).await.map(|u| u.len()),
        "confluence.search_users" => |c| count(c.confluence("acme")?.search_users(&atlassian_client::models::confluence::UserSearch::default())).await,
        "confluence.users_bulk" => |c| c.confluence("acme")?.users_bulk(&["acc-1"]).await.map(|u| u.len()),
        "confluence.spaces" => |c| count(c.confluence("acme")?.spaces(&atlassian_client::models::confluence::SpaceQuery::default())).await,
        "confluence.space" => |c| c.confluence("acme")?.space("1").await.map(|_| 1),
        "confluence.space_by_key" => |c| c.confluence("acme")?.space_by_key("ENG").await.map(|s| usize::from(s.is_some())),
        "confluence.space_permissions" => |c| count(c.confluence("acme")?.space_permissions("1")).await,
        "confluence.space_role_mode" => |c| c.confluence("acme")?.space_role_mode().await.map(|m| usize::from(m.is_some())),
        "confluence.check_access_by_email" => |c| c.confluence("acme")?.check_access_by_email(&["a@acme.com"]).await.map(|_| 1),
        "statuspage.pages" => |c| c.statuspage()?.pages().await.map(|p| p.len()),
        "statuspage.page" => |c| c.statuspage()?.page("pg-1").await.map(|_| 1),
        "statuspage.team_members" => |c| count(c.statuspage()?.team_members()).await,
        "statuspage.find_team_member_by_email" => |c| c.statuspage()?.find_team_member_by_email("a@acme.com").await.map(|m| usize::from(m.is_some())),
        "statuspage.delete_team_member" => |c| c.statuspage()?.delete_team_member("u-1").await.map(|_| 1),
        "statuspage.permissions" => |c| c.statuspage()?.permissions("u-1").await.map(|_| 1),
    }
}

pub(crate) use table::OPS;

async fn answer(State(canned): State<Arc<Mutex<Canned>>>) -> Response {
    let mut c = canned.lock().unwrap_or_else(|e| e.into_inner());
    c.served += 1;
    let mut response = if c.served <= 2 {
        let mut r = Response::new(Body::from(c.body.clone()));
        *r.status_mut() = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
        for (name, value) in &c.headers {
            r.headers_mut().append(name.clone(), value.clone());
        }
        r
    } else {
        let mut r = Response::new(Body::from(r#"{"message":"no more pages"}"#));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    };
    if !response.headers().contains_key("content-type") {
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
    }
    response
}

fn harness() -> &'static Mutex<Harness> {
    static HARNESS: OnceLock<Mutex<Harness>> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        #[allow(
            clippy::expect_used,
            reason = "the harness cannot run without its runtime"
        )]
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let canned = Arc::new(Mutex::new(Canned::default()));
        #[allow(
            clippy::expect_used,
            reason = "the harness cannot run without its server"
        )]
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        #[allow(clippy::expect_used, reason = "a bound listener has an address")]
        let addr = listener.local_addr().expect("local address");
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(canned.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        #[allow(clippy::expect_used, reason = "a loopback URL parses")]
        let base = Url::parse(&format!("http://{addr}")).expect("URL");
        let fast = Rate {
            per_second: 1_000_000.0,
            burst: 1_000_000,
        };
        #[allow(clippy::expect_used, reason = "the configuration is complete")]
        let client = Client::builder()
            .api_url(base.clone())
            .org_api_key(SecretString::from(ORG_KEY))
            .org_id("org-1")
            .site(
                "acme",
                base.clone(),
                "steward@acme.com",
                SecretString::from(SITE_TOKEN),
            )
            .statuspage(base, SecretString::from(STATUSPAGE_KEY), "sp-org-1")
            .retry(RetryPolicy {
                max_retry_after: Duration::ZERO,
                ..RetryPolicy::none()
            })
            .rate_limits(RateLimits {
                org: fast,
                jira: fast,
                confluence: fast,
                statuspage: fast,
                max_concurrency: 16,
                initial_concurrency: 16,
            })
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Mutex::new(Harness {
            runtime,
            client,
            canned,
        })
    })
}

/// A header value out of fuzz bytes (control characters dropped: HTTP forbids them).
fn header_value(bytes: &[u8]) -> HeaderValue {
    let clean: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f))
        .collect();
    HeaderValue::from_bytes(&clean).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The target. Panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let (status, rest) = rest.split_first().map_or((200, rest), |(s, r)| {
        (STATUSES[*s as usize % STATUSES.len()], r)
    });
    let (flags, rest) = rest.split_first().map_or((0, rest), |(f, r)| (*f, r));
    let mut headers = vec![];
    let mut body = rest;
    if flags & 0b111 != 0
        && let Some((&len, r)) = rest.split_first()
    {
        let len = usize::from(len).min(r.len());
        let value = header_value(&r[..len]);
        body = &r[len..];
        for (bit, name) in [(1, "retry-after"), (2, "x-ratelimit-reset"), (4, "link")] {
            if flags & bit != 0 {
                headers.push((HeaderName::from_static(name), value.clone()));
            }
        }
    }
    if flags & 8 != 0 {
        headers.push((
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("text/html"),
        ));
    }
    let (name, operation) = OPS[usize::from(op) % OPS.len()];
    let h = harness().lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut c = h.canned.lock().unwrap_or_else(|e| e.into_inner());
        *c = Canned {
            status,
            headers,
            body: body.to_vec(),
            served: 0,
        };
    }
    let outcome = h.runtime.block_on(operation(&h.client));
    // An error may quote Atlassian's answer: a credential is a leak only when the answer did
    // not hold it itself (libFuzzer learns the canaries from the comparisons below).
    let echoed: Vec<&str> = [ORG_KEY, SITE_TOKEN, STATUSPAGE_KEY]
        .into_iter()
        .filter(|secret| {
            data.windows(secret.len().min(8))
                .any(|w| secret.as_bytes().windows(w.len()).any(|p| p == w))
        })
        .collect();
    check(name, status, outcome, &echoed);
}

/// The invariants of an outcome.
fn check(name: &str, status: u16, outcome: Outcome, echoed: &[&str]) {
    let Err(err) = outcome else {
        // A read never succeeds on a refusal, a throttle or a server error (writes may
        // verify with a read and find their effect already there).
        let write = ["create", "add", "delete", "disable"]
            .iter()
            .any(|w| name.contains(w));
        assert!(
            write || !(matches!(status, 401 | 403 | 420 | 429) || status >= 500),
            "{name}: succeeded on a {status} answer"
        );
        return;
    };
    let text = err.to_string();
    let debug = format!("{err:?}");
    assert!(
        !text.trim().is_empty(),
        "{name}: an error without a message"
    );
    for secret in [ORG_KEY, SITE_TOKEN, STATUSPAGE_KEY] {
        if echoed.contains(&secret) {
            continue;
        }
        assert!(
            !text.contains(secret) && !debug.contains(secret),
            "{name}: a credential in an error: {text}"
        );
    }
    if let Some(got) = err.status() {
        assert!(
            !got.is_success(),
            "{name}: an API error with a success status: {text}"
        );
    }
    // Classification reads the same error: a refusal is neither throttling nor ambiguous.
    if matches!(status, 401 | 403) && err.status().is_some_and(|s| s.as_u16() == status) {
        assert!(
            !err.is_rate_limited() && !err.is_ambiguous() && !err.is_retryable(),
            "{name}: a {status} classified as retryable: {text}"
        );
    }
    let _ = (err.retry_after(), err.code());
}
