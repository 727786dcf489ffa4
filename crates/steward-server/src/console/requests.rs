//! Access requests in the console: the request form, the approval queue, one request's page,
//! and the actions (approve, deny, cancel, revoke, retry a failed revocation).
//!
//! Every action is a form POST with the session's CSRF token (checked by the console's guard)
//! and goes through the same [`steward_engine::requests::Workflow`] methods as the API, so the
//! policy (self-approval, named approvers, states) is enforced in one place. The pages only
//! decide which buttons to show, from [`Workflow::approval_refusals`] and the roles: where the
//! policy forbids an action, the page says why instead.
//!
//! A form with invalid input is shown again with the message next to the field and every
//! value kept (HTTP 422).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use steward_engine::Product;
use steward_engine::provision::{Catalog, CatalogError, Entitlement};
use steward_engine::requests::{
    MAX_DURATION_SECS, MAX_JUSTIFICATION, RequestError, RequestInput, Workflow, parse_email,
};
use steward_store::{
    AccessRequest, JobId, RequestId, RequestQuery, RequestState, RevocationStatus, Role,
};

use super::{Me, encode_component, error_page, is_htmx, redirect, render, render_status, when};
use crate::api::requests::actor;
use crate::auth::{Principal, random_token};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiPath;
use crate::state::AppState;

/// A job a request points to, with its status.
#[derive(Debug, Clone)]
pub struct JobLink {
    /// Job id.
    pub id: i64,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` (`unknown` if it vanished).
    pub status: String,
    /// Why it failed.
    pub error: String,
}

/// A request's revocation, as shown.
#[derive(Debug, Clone)]
pub struct RevocationView {
    /// The (latest) revocation job.
    pub job: JobLink,
    /// `in_progress`, `succeeded`, `failed`.
    pub status: String,
    /// Why it failed.
    pub error: String,
    /// Whether it failed (the access may still be there).
    pub failed: bool,
}

/// One approval.
#[derive(Debug, Clone)]
pub struct ApprovalView {
    /// Who.
    pub approver: String,
    /// Their role then.
    pub role: String,
    /// When, formatted.
    pub at: String,
    /// What they said.
    pub comment: String,
}

/// A request as lists and its page show it, with what the viewer may do.
#[derive(Debug, Clone)]
pub struct RequestView {
    /// Id.
    pub id: i64,
    /// Whom the access is for.
    pub subject: String,
    /// Link to the person's page.
    pub subject_href: String,
    /// Entitlement ids.
    pub entitlements: Vec<String>,
    /// Why.
    pub justification: String,
    /// State.
    pub state: String,
    /// Who asked.
    pub requested_by: String,
    /// Created, formatted.
    pub created: String,
    /// The expiry, described (`until 2026-12-01 10:00 UTC`, `8h once provisioned`, `none`).
    pub expiry: String,
    /// Whether the expiry is a real instant (highlighted).
    pub time_bound: bool,
    /// Approvals so far.
    pub approvals: Vec<ApprovalView>,
    /// Who made the last decision.
    pub decided_by: String,
    /// Why it was denied, cancelled, revoked, or why its grant failed.
    pub reason: String,
    /// The grant job.
    pub grant_job: Option<JobLink>,
    /// The revocation.
    pub revocation: Option<RevocationView>,
    /// Approve / Deny shown.
    pub can_decide: bool,
    /// Why there is no Approve button on a pending request (empty: none to explain).
    pub no_decide_why: String,
    /// Cancel shown.
    pub can_cancel: bool,
    /// Revoke shown.
    pub can_revoke: bool,
    /// Retry the revocation shown.
    pub can_retry: bool,
}

/// `8h`, `7d`, `90m`, `45s` for a number of seconds.
pub fn human_duration(secs: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    if secs >= 3600 {
        return format!("{}h {}m", secs / 3600, (secs % 3600) / 60);
    }
    format!("{secs}s")
}

fn expiry_of(r: &AccessRequest) -> (String, bool) {
    match (r.expires_at, r.request.duration_secs, r.state) {
        (Some(at), _, RequestState::Expired) => (format!("expired {} UTC", when(&at)), true),
        (Some(at), _, _) => (format!("until {} UTC", when(&at)), true),
        (
            None,
            Some(d),
            RequestState::Pending | RequestState::Approved | RequestState::Provisioning,
        ) => (format!("{} once provisioned", human_duration(d)), true),
        (None, Some(d), _) => (format!("{} (never provisioned)", human_duration(d)), false),
        (None, None, _) => ("none (until revoked)".to_owned(), false),
    }
}

async fn job_link(state: &AppState, id: JobId) -> JobLink {
    match state.store().jobs().get(id).await {
        Ok(d) => JobLink {
            id: id.0,
            status: d.job.status.as_str().to_owned(),
            error: d.job.error.unwrap_or_default(),
        },
        Err(_) => JobLink {
            id: id.0,
            status: "unknown".to_owned(),
            error: String::new(),
        },
    }
}

/// Why the viewer gets no Approve/Deny buttons on a pending request, in words.
fn refusal_words(me: &Me, r: &AccessRequest, refusal: Option<&RequestError>) -> String {
    let who = me.name.to_lowercase();
    if r.approvals.iter().any(|a| a.approver == who) {
        return "you approved it; it waits for other approvals".to_owned();
    }
    match refusal {
        None => String::new(),
        Some(RequestError::SelfApproval { .. })
            if r.request.requested_by.eq_ignore_ascii_case(&who) =>
        {
            "you made this request: someone else approves it".to_owned()
        }
        Some(RequestError::SelfApproval { .. }) => {
            "it gives you access: someone else approves it".to_owned()
        }
        Some(RequestError::NotAnApprover { detail, .. }) => {
            format!("the approval policy names other approvers ({detail})")
        }
        Some(other) => other.to_string(),
    }
}

async fn views(
    state: &AppState,
    me: &Me,
    requests: &[AccessRequest],
    with_jobs: bool,
) -> Result<Vec<RequestView>, ApiError> {
    let actor = steward_engine::requests::Actor {
        name: me.name.clone(),
        role: me.role,
    };
    // The policy check reads the catalog: only when the viewer could decide something here.
    let refusals =
        if me.can(Role::Approver) && requests.iter().any(|r| r.state == RequestState::Pending) {
            state
                .workflow()
                .approval_refusals(&actor, requests)
                .await
                .map_err(ApiError::from)?
        } else {
            requests.iter().map(|_| None).collect()
        };
    let mut out = Vec::with_capacity(requests.len());
    for (r, refusal) in requests.iter().zip(refusals) {
        let pending = r.state == RequestState::Pending;
        let may_decide = pending && me.can(Role::Approver);
        let can_decide = may_decide
            && refusal.is_none()
            && !r
                .approvals
                .iter()
                .any(|a| a.approver == me.name.to_lowercase());
        let no_decide_why = if may_decide && !can_decide {
            refusal_words(me, r, refusal.as_ref())
        } else if pending && !me.can(Role::Approver) {
            "it waits for an approver's decision".to_owned()
        } else {
            String::new()
        };
        let grant_job = match (with_jobs, r.grant_job) {
            (true, Some(j)) => Some(job_link(state, j).await),
            (false, Some(j)) => Some(JobLink {
                id: j.0,
                status: String::new(),
                error: String::new(),
            }),
            (_, None) => None,
        };
        let revocation = match &r.revocation {
            Some(rev) => Some(RevocationView {
                job: if with_jobs {
                    job_link(state, rev.job).await
                } else {
                    JobLink {
                        id: rev.job.0,
                        status: String::new(),
                        error: String::new(),
                    }
                },
                status: rev.status.as_str().to_owned(),
                error: rev.error.clone().unwrap_or_default(),
                failed: rev.status == RevocationStatus::Failed,
            }),
            None => None,
        };
        let (expiry, time_bound) = expiry_of(r);
        out.push(RequestView {
            id: r.id.0,
            subject: r.request.subject.clone(),
            subject_href: format!("/people/{}", encode_component(&r.request.subject)),
            entitlements: r.request.entitlements.clone(),
            justification: r.request.justification.clone(),
            state: r.state.as_str().to_owned(),
            requested_by: r.request.requested_by.clone(),
            created: when(&r.created_at),
            expiry,
            time_bound,
            approvals: r
                .approvals
                .iter()
                .map(|a| ApprovalView {
                    approver: a.approver.clone(),
                    role: a.role.as_str().to_owned(),
                    at: when(&a.at),
                    comment: a.comment.clone().unwrap_or_default(),
                })
                .collect(),
            decided_by: r.decided_by.clone().unwrap_or_default(),
            reason: r.reason.clone().unwrap_or_default(),
            grant_job,
            can_decide,
            no_decide_why,
            can_cancel: pending
                && me.can(Role::Requester)
                && (me.can(Role::Admin) || r.request.requested_by.eq_ignore_ascii_case(&me.name)),
            can_revoke: r.state == RequestState::Provisioned && me.can(Role::Approver),
            can_retry: revocation.as_ref().is_some_and(|v| v.failed) && me.can(Role::Admin),
            revocation,
        });
    }
    Ok(out)
}

/// Requests of one person, for their page (newest first, at most 50).
pub(crate) async fn of_person(
    state: &AppState,
    me: &Me,
    email: &str,
) -> Result<Vec<RequestView>, ApiError> {
    let mut all = state
        .store()
        .requests()
        .list(&RequestQuery {
            subject: Some(email.to_owned()),
            ..RequestQuery::default()
        })
        .await?;
    all.reverse();
    all.truncate(50);
    views(state, me, &all, false).await
}

/// How many requests wait for approval, and the requests whose revocation failed (for the
/// dashboard).
pub(crate) async fn attention(state: &AppState) -> Result<(usize, Vec<RequestView>), ApiError> {
    let pending = state
        .store()
        .requests()
        .list(&RequestQuery {
            state: Some(RequestState::Pending),
            ..RequestQuery::default()
        })
        .await?
        .len();
    let failed = state
        .store()
        .requests()
        .list(&RequestQuery {
            revocation: Some(RevocationStatus::Failed),
            limit: Some(20),
            ..RequestQuery::default()
        })
        .await?;
    let me = Me {
        name: String::new(),
        role: Role::Viewer,
        csrf: String::new(),
    };
    Ok((pending, views(state, &me, &failed, false).await?))
}

// ---------------------------------------------------------------------------------------
// The request form.

/// One entitlement the form offers.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Its id (the checkbox's value).
    pub id: String,
    /// Its title.
    pub title: String,
    /// `low`, `normal`, `high`.
    pub risk: String,
    /// Approved by itself under the policy.
    pub auto: bool,
    /// Ticked.
    pub checked: bool,
    /// The checkbox's element id.
    pub html_id: String,
}

/// The entitlements of one product.
#[derive(Debug, Clone)]
pub struct ChoiceGroup {
    /// Heading (`Jira`, `Groups`, …).
    pub heading: String,
    /// The group's element id.
    pub html_id: String,
    /// Its entitlements.
    pub choices: Vec<Choice>,
}

/// The form's fields as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RequestForm {
    /// Whom the access is for.
    #[serde(default)]
    pub subject: String,
    /// Entitlement ids ticked.
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// Why.
    #[serde(default)]
    pub justification: String,
    /// `8h`, `7d`, an end date, or empty.
    #[serde(default)]
    pub duration: String,
    /// The catalog filter box.
    #[serde(default)]
    pub filter: String,
    /// The form's random nonce: submitting the same form twice (a double click, a reload)
    /// records one request.
    #[serde(default)]
    pub nonce: String,
}

/// Field errors of the form.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    /// Of the person's email.
    pub subject: Option<String>,
    /// Of the entitlements.
    pub entitlements: Option<String>,
    /// Of the justification.
    pub justification: Option<String>,
    /// Of the duration.
    pub duration: Option<String>,
    /// Not about one field.
    pub general: Option<String>,
}

impl FormErrors {
    fn any(&self) -> bool {
        self.subject.is_some()
            || self.entitlements.is_some()
            || self.justification.is_some()
            || self.duration.is_some()
            || self.general.is_some()
    }
}

/// The request form.
#[derive(Template)]
#[template(path = "request_new.html")]
pub struct NewRequestPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The values as typed.
    pub form: RequestForm,
    /// The errors, per field.
    pub errors: FormErrors,
    /// The catalog, grouped by product.
    pub groups: Vec<ChoiceGroup>,
    /// Longest justification.
    pub max_justification: usize,
}

/// The catalog part of the form alone (htmx swaps it as the filter changes).
#[derive(Template)]
#[template(path = "request_catalog.html")]
pub struct CatalogFragment<'a> {
    /// The page whose catalog it is.
    pub page: &'a NewRequestPage,
}

fn heading(product: Option<Product>) -> &'static str {
    match product.map(Product::as_str) {
        Some("jira") => "Jira",
        Some("confluence") => "Confluence",
        Some("jsm") => "Jira Service Management",
        Some("jpd") => "Jira Product Discovery",
        Some("statuspage") => "Statuspage",
        Some(_) => "Platform",
        None => "Groups and organization",
    }
}

fn choice_groups(workflow: &Workflow, catalog: &Catalog, form: &RequestForm) -> Vec<ChoiceGroup> {
    let filter = form.filter.trim().to_lowercase();
    let mut groups: Vec<ChoiceGroup> = Vec::new();
    let entitlements: &[Entitlement] = catalog.entitlements();
    for (n, e) in entitlements.iter().enumerate() {
        let id = e.id.to_string();
        let checked = form.entitlements.contains(&id);
        let matches = filter.is_empty()
            || id.to_lowercase().contains(&filter)
            || e.title.to_lowercase().contains(&filter);
        if !matches && !checked {
            continue;
        }
        let head = heading(e.product);
        let choice = Choice {
            auto: workflow.policy.requirement(&id, e.risk).auto,
            risk: e.risk.as_str().to_owned(),
            title: e.title.clone(),
            checked,
            html_id: format!("ent-{n}"),
            id,
        };
        match groups.iter_mut().find(|g| g.heading == head) {
            Some(g) => g.choices.push(choice),
            None => groups.push(ChoiceGroup {
                heading: head.to_owned(),
                html_id: format!("grp-{}", groups.len()),
                choices: vec![choice],
            }),
        }
    }
    groups
}

async fn catalog(state: &AppState, workflow: &Workflow) -> Result<Catalog, ApiError> {
    let snapshot = crate::api::latest_snapshot(state.store()).await?;
    Catalog::from_snapshot(&snapshot, &workflow.catalog)
        .await
        .map_err(|e| match e {
            CatalogError::Store(e) => ApiError::from(e),
            other => ApiError::internal(&other),
        })
}

async fn form_page(
    state: &AppState,
    me: Me,
    form: RequestForm,
    mut errors: FormErrors,
) -> NewRequestPage {
    let mut form = form;
    if form.nonce.is_empty() {
        form.nonce = random_token(16);
    }
    let workflow = state.workflow();
    let groups = match catalog(state, &workflow).await {
        Ok(c) => choice_groups(&workflow, &c, &form),
        Err(e) => {
            errors.general.get_or_insert(e.message);
            Vec::new()
        }
    };
    NewRequestPage {
        me: Some(me),
        form,
        errors,
        groups,
        max_justification: MAX_JUSTIFICATION,
    }
}

/// Parses the duration field: empty (no expiry), `90m`, `8h`, `7d`, `2w`, an end date
/// (`2026-12-31`: until the end of that day, UTC) or an end time (`2026-12-31T17:00`, UTC, or
/// RFC 3339). An end counts from `now`, so the access ends about then (it starts at
/// provisioning).
///
/// # Errors
/// What is wrong and what is accepted.
pub fn parse_duration(input: &str, now: DateTime<Utc>) -> Result<Option<i64>, String> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let accepted = "use a length like 90m, 8h, 7d or 2w, or an end date like 2026-12-31";
    let secs = if let Some(unit) = s.chars().last().filter(char::is_ascii_alphabetic) {
        let number = &s[..s.len() - 1];
        let n: i64 = number
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a duration: {accepted}"))?;
        let size = match unit.to_ascii_lowercase() {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(format!("`{s}`: unknown unit `{unit}`: {accepted}")),
        };
        n.checked_mul(size)
            .ok_or_else(|| format!("`{s}` is too long: at most a year"))?
    } else {
        let end = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            d.succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        } else if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") {
            Some(t.and_utc())
        } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            Some(t.with_timezone(&Utc))
        } else {
            None
        };
        let end = end.ok_or_else(|| format!("`{s}` is not a duration or a date: {accepted}"))?;
        if end <= now {
            return Err(format!("{s} is in the past: give a date to come"));
        }
        (end - now).num_seconds()
    };
    if !(1..=MAX_DURATION_SECS).contains(&secs) {
        return Err(format!(
            "`{s}` is out of range: from one minute to a year ({})",
            human_duration(MAX_DURATION_SECS)
        ));
    }
    Ok(Some(secs))
}

/// `GET /requests/new` (requesters and above): the form; htmx gets the catalog alone (the
/// filter box), keeping what is ticked.
pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    uri: axum::http::Uri,
) -> Response {
    let mut form: RequestForm = match uri.query() {
        None => RequestForm::default(),
        Some(q) => match serde_html_form::from_str(q) {
            Ok(f) => f,
            Err(e) => {
                return error_page(
                    Some(&principal),
                    &ApiError::parameter(format!("invalid form query: {e}")),
                );
            }
        },
    };
    if form.subject.is_empty() && !is_htmx(&headers) {
        form.subject = principal.name.clone();
    }
    let page = form_page(&state, Me::of(&principal), form, FormErrors::default()).await;
    if is_htmx(&headers) {
        render(&CatalogFragment { page: &page })
    } else {
        render(&page)
    }
}

/// `POST /requests` (requesters and above): checks the form; invalid input shows the form
/// again with each message next to its field (422), else records the request through the
/// workflow and goes to its page.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    body: Bytes,
) -> Response {
    let form: RequestForm = match serde_html_form::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => {
            return error_page(
                Some(&principal),
                &ApiError::parameter(format!("invalid form: {e}")),
            );
        }
    };
    let mut errors = FormErrors::default();
    if let Err(e) = parse_email(&form.subject) {
        errors.subject = Some(e);
    }
    if form.justification.trim().is_empty() {
        errors.justification = Some("say why the access is needed".to_owned());
    }
    if form.entitlements.is_empty() {
        errors.entitlements = Some("choose at least one entitlement".to_owned());
    }
    let duration = match parse_duration(&form.duration, Utc::now()) {
        Ok(d) => d,
        Err(e) => {
            errors.duration = Some(e);
            None
        }
    };
    if !errors.any() {
        match submit(&state, &principal, &form, duration).await {
            Ok(id) => return redirect(&headers, &format!("/requests/{id}?created=1")),
            Err(Submitted::Field(field, message)) => match field {
                "subject" => errors.subject = Some(message),
                "justification" => errors.justification = Some(message),
                "entitlements" => errors.entitlements = Some(message),
                "duration_secs" => errors.duration = Some(message),
                _ => errors.general = Some(message),
            },
            Err(Submitted::Page(e)) => return error_page(Some(&principal), &e),
        }
    }
    let page = form_page(&state, Me::of(&principal), form, errors).await;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// Why a submitted form recorded no request.
enum Submitted {
    /// A field's (or, with `general`, the form's) error: the form is shown again.
    Field(&'static str, String),
    /// An error page.
    Page(ApiError),
}

const CREATE_ROUTE: &str = "POST /requests (console)";

/// Records the request once per form nonce (the API's idempotency keys, scoped to the user):
/// a second submit of the same form gets the first one's request.
async fn submit(
    state: &AppState,
    principal: &Principal,
    form: &RequestForm,
    duration: Option<i64>,
) -> Result<i64, Submitted> {
    use steward_store::IdempotencyBegin;
    let accounts = state.store().accounts();
    let nonce = form.nonce.trim();
    let keyed = !nonce.is_empty() && nonce.len() <= 64;
    if keyed {
        let begin = accounts
            .idempotency_begin(&principal.name, CREATE_ROUTE, nonce, "console-form")
            .await
            .map_err(|e| Submitted::Page(ApiError::from(e)))?;
        match begin {
            IdempotencyBegin::New => {}
            IdempotencyBegin::Replay { body, .. } => {
                return body
                    .parse::<i64>()
                    .map_err(|e| Submitted::Page(ApiError::internal(&e)));
            }
            IdempotencyBegin::InProgress | IdempotencyBegin::Mismatch => {
                return Err(Submitted::Field(
                    "general",
                    "this form is being submitted already: wait a moment, then look at Requests"
                        .to_owned(),
                ));
            }
        }
    }
    let input = RequestInput {
        subject: form.subject.clone(),
        entitlements: form.entitlements.clone(),
        justification: form.justification.clone(),
        duration_secs: duration,
    };
    let outcome = match state.workflow().create(&actor(principal), &input).await {
        Ok(created) => Ok(created.id.0),
        Err(RequestError::Invalid { field, message }) => Err(Submitted::Field(field, message)),
        Err(RequestError::UnknownEntitlement(e)) => {
            Err(Submitted::Field("entitlements", e.to_string()))
        }
        Err(RequestError::NotSynced) => Err(Submitted::Field(
            "general",
            RequestError::NotSynced.to_string(),
        )),
        Err(e) => Err(Submitted::Page(ApiError::from(e))),
    };
    if keyed {
        let done = match &outcome {
            Ok(id) => {
                accounts
                    .idempotency_complete(
                        &principal.name,
                        CREATE_ROUTE,
                        nonce,
                        303,
                        &id.to_string(),
                    )
                    .await
            }
            Err(_) => {
                accounts
                    .idempotency_release(&principal.name, CREATE_ROUTE, nonce)
                    .await
            }
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "cannot record the request form's nonce");
        }
    }
    outcome
}

// ---------------------------------------------------------------------------------------
// The queue.

/// Filters of `GET /requests`.
#[derive(Debug, Default, Deserialize)]
pub struct QueueForm {
    /// State (empty: any).
    #[serde(default)]
    pub state: String,
    /// `all`, `mine` (I asked), `to-approve` (pending ones I may approve).
    #[serde(default)]
    pub scope: String,
    /// `failed`: only requests whose revocation failed.
    #[serde(default)]
    pub revocation: String,
    /// Paging cursor (an id).
    #[serde(default)]
    pub cursor: String,
}

/// The approval queue.
#[derive(Template)]
#[template(path = "requests.html")]
pub struct QueuePage {
    /// The viewer.
    pub me: Option<Me>,
    /// Filters as typed.
    pub filter: QueueForm,
    /// State choices.
    pub states: Vec<&'static str>,
    /// The requests.
    pub requests: Vec<RequestView>,
    /// The query string of the next page.
    pub next: Option<String>,
    /// Why the list could not be shown.
    pub error: Option<String>,
    /// Whether the viewer may ask for access.
    pub can_request: bool,
}

const QUEUE_PAGE: i64 = 50;

async fn queue_items(
    state: &AppState,
    me: &Me,
    filter: &QueueForm,
) -> Result<(Vec<RequestView>, Option<String>), ApiError> {
    let wanted = match filter.state.trim() {
        "" => None,
        s => Some(RequestState::parse(s).map_err(|_| {
            ApiError::parameter(format!(
                "state `{s}` is not one of {}",
                RequestState::ALL.map(RequestState::as_str).join(", ")
            ))
        })?),
    };
    let revocation = match filter.revocation.trim() {
        "" => None,
        s => Some(RevocationStatus::parse(s).map_err(|_| {
            ApiError::parameter(format!(
                "revocation `{s}` is not one of {}",
                RevocationStatus::ALL
                    .map(RevocationStatus::as_str)
                    .join(", ")
            ))
        })?),
    };
    let (wanted, mine) = match filter.scope.trim() {
        "" | "all" => (wanted, None),
        "mine" => (wanted, Some(me.name.clone())),
        "to-approve" => (Some(RequestState::Pending), None),
        other => {
            return Err(ApiError::parameter(format!(
                "scope `{other}` is not one of all, mine, to-approve"
            )));
        }
    };
    let after = crate::api::numeric_cursor(match filter.cursor.trim() {
        "" => None,
        c => Some(c),
    })?;
    let items = state
        .store()
        .requests()
        .list(&RequestQuery {
            state: wanted,
            subject: None,
            requested_by: mine,
            revocation,
            after_id: after.map(RequestId),
            limit: Some(QUEUE_PAGE),
        })
        .await?;
    let next = (items.len() == QUEUE_PAGE as usize)
        .then(|| items.last().map(|r| r.id.0))
        .flatten()
        .map(|c| {
            format!(
                "state={}&scope={}&revocation={}&cursor={c}",
                encode_component(&filter.state),
                encode_component(&filter.scope),
                encode_component(&filter.revocation),
            )
        });
    let mut views = views(state, me, &items, false).await?;
    if filter.scope.trim() == "to-approve" {
        views.retain(|v| v.can_decide);
    }
    Ok((views, next))
}

/// `GET /requests`: requests with filters (state; all, mine, or those I may approve; failed
/// revocations), with Approve / Deny where the viewer may decide and the reason where not.
pub async fn queue(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<QueueForm>,
) -> Response {
    let me = Me::of(&principal);
    let (requests, next, error) = match queue_items(&state, &me, &filter).await {
        Ok((r, n)) => (r, n, None),
        Err(e) if e.code.status().is_client_error() => (Vec::new(), None, Some(e.message)),
        Err(e) => return error_page(Some(&principal), &e),
    };
    render(&QueuePage {
        can_request: me.can(Role::Requester),
        me: Some(me),
        filter,
        states: RequestState::ALL.map(RequestState::as_str).to_vec(),
        requests,
        next,
        error,
    })
}

// ---------------------------------------------------------------------------------------
// One request and its actions.

/// One request's page.
#[derive(Template)]
#[template(path = "request.html")]
pub struct RequestPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The request.
    pub r: RequestView,
    /// Said once after creating it.
    pub notice: Option<String>,
    /// Whether something is still moving (a job queued or running): the page refreshes its
    /// request section every two seconds (htmx).
    pub settling: bool,
}

/// Query of the request page.
#[derive(Debug, Default, Deserialize)]
pub struct RequestPageQuery {
    /// Set right after creating it.
    #[serde(default)]
    pub created: Option<String>,
}

/// `GET /requests/{id}`: everything about one request, and the actions the viewer may take.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    Query(q): Query<RequestPageQuery>,
) -> Response {
    let me = Me::of(&principal);
    let request = match state.store().requests().get(RequestId(id)).await {
        Ok(r) => r,
        Err(e) => {
            return error_page(Some(&principal), &ApiError::from(RequestError::from(e)));
        }
    };
    let notice = q.created.map(|_| match request.state {
        RequestState::Pending => "Request recorded: it waits for approval.".to_owned(),
        RequestState::Failed => "Request recorded and approved automatically, but it cannot be provisioned (see why below).".to_owned(),
        _ => "Request recorded and approved automatically (the approval policy approves these entitlements by themselves): its grant job is queued.".to_owned(),
    });
    match views(&state, &me, std::slice::from_ref(&request), true).await {
        Ok(mut v) => render(&RequestPage {
            me: Some(me),
            settling: matches!(
                request.state,
                RequestState::Approved | RequestState::Provisioning
            ) || request
                .revocation
                .as_ref()
                .is_some_and(|r| r.status == RevocationStatus::InProgress),
            r: v.remove(0),
            notice,
        }),
        Err(e) => error_page(Some(&principal), &e),
    }
}

/// The fields of an action form (besides `csrf_token`).
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// The comment or reason.
    #[serde(default)]
    pub comment: String,
    /// Where to go afterwards (a local `/requests…` path; default: the request's page).
    #[serde(default)]
    pub back: String,
}

fn after_action(headers: &HeaderMap, id: i64, back: &str) -> Response {
    let local = back.starts_with("/requests") && !back.contains("//") && !back.contains('\\');
    if local {
        redirect(headers, back)
    } else {
        redirect(headers, &format!("/requests/{id}"))
    }
}

async fn act(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
    id: i64,
    body: &Bytes,
    action: &'static str,
) -> Response {
    let form: ActionForm = match serde_html_form::from_bytes(body) {
        Ok(f) => f,
        Err(e) => {
            return error_page(
                Some(principal),
                &ApiError::parameter(format!("invalid form: {e}")),
            );
        }
    };
    let comment = Some(form.comment.as_str()).filter(|c| !c.trim().is_empty());
    let workflow = state.workflow();
    let who = actor(principal);
    let id = RequestId(id);
    let done = match action {
        "approve" => workflow.approve(&who, id, comment).await,
        "deny" => match comment {
            None => {
                return error_page(
                    Some(principal),
                    &ApiError::new(
                        ErrorCode::InvalidValue,
                        "say why the request is denied (the reason is shown to the requester and kept in the audit log)",
                    ),
                );
            }
            Some(c) => workflow.deny(&who, id, Some(c)).await,
        },
        "cancel" => workflow.cancel(&who, id, comment).await,
        "revoke" => workflow.revoke(&who, id, comment).await,
        _ => workflow.retry_revocation(&who, id, comment).await,
    };
    match done {
        Ok(r) => after_action(headers, r.id.0, &form.back),
        Err(e) => error_page(Some(principal), &ApiError::from(e)),
    }
}

/// `POST /requests/{id}/approve` (approvers): approves, as the API does.
pub async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    act(&state, &headers, &principal, id, &body, "approve").await
}

/// `POST /requests/{id}/deny` (approvers): denies, with the reason given.
pub async fn deny(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    act(&state, &headers, &principal, id, &body, "deny").await
}

/// `POST /requests/{id}/cancel` (the requester, or an admin): cancels a pending request.
pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    act(&state, &headers, &principal, id, &body, "cancel").await
}

/// `POST /requests/{id}/revoke` (approvers): revokes provisioned access (a revocation job).
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    act(&state, &headers, &principal, id, &body, "revoke").await
}

/// `POST /requests/{id}/revocation/retry` (admins): queues a failed revocation again.
pub async fn retry_revocation(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    act(&state, &headers, &principal, id, &body, "retry").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_end_dates_are_parsed() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_duration("", now), Ok(None));
        assert_eq!(parse_duration(" 8h ", now), Ok(Some(8 * 3600)));
        assert_eq!(parse_duration("7d", now), Ok(Some(7 * 86_400)));
        assert_eq!(parse_duration("90m", now), Ok(Some(5400)));
        assert_eq!(parse_duration("2W", now), Ok(Some(14 * 86_400)));
        assert_eq!(parse_duration("2026-11-28", now), Ok(Some(36 * 3600)));
        assert_eq!(parse_duration("2026-11-27T18:00", now), Ok(Some(6 * 3600)));
        for bad in [
            "8x",
            "h",
            "abc",
            "2026-11-01",
            "0h",
            "400d",
            "99999999999999w",
        ] {
            assert!(parse_duration(bad, now).is_err(), "{bad}");
        }
        assert_eq!(human_duration(8 * 3600), "8h");
        assert_eq!(human_duration(7 * 86_400), "7d");
        assert_eq!(human_duration(5400), "90m");
        assert_eq!(human_duration(3 * 86_400), "3d");
    }
}
