//! The console's read-only pages: dashboard, the people × products matrix, a person, jobs,
//! one job, the audit log. Lists reuse the API's handlers (same filters, same paging), so the
//! console and the API can't disagree.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use steward_engine::provision::OffboardLevel;
use steward_engine::{Person, Product};
use steward_store::{
    AuditEntry, AuditQuery, AuditVerification, ChangeEvent, ChangeQuery, Job, JobDetail, JobId,
    JobQuery, JobStatus, Role, SyncRun,
};

use super::{Me, encode_component, error_page, is_htmx, render, when, when_or_never};
use crate::api::Page;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// One sync run as the dashboard shows it.
#[derive(Debug)]
pub struct RunView {
    /// Run id.
    pub id: i64,
    /// Started, formatted.
    pub started: String,
    /// Finished, formatted (`running` while it runs).
    pub finished: String,
    /// `running`, `completed`, `failed`, `abandoned`.
    pub status: String,
    /// Why it failed.
    pub error: String,
}

/// A product's status in the latest run.
#[derive(Debug)]
pub struct ProductStatus {
    /// The product.
    pub product: String,
    /// `ok`, or what failed.
    pub status: String,
    /// Whether it is `ok`.
    pub ok: bool,
}

/// A change event as tables show it.
#[derive(Debug)]
pub struct ChangeView {
    /// Detected, formatted.
    pub at: String,
    /// The kind (`role_granted`, …).
    pub kind: String,
    /// Account, group, resource and role, as far as known.
    pub what: String,
    /// Made outside Steward (drift).
    pub out_of_band: bool,
    /// Who made it, when known.
    pub actor: String,
}

impl ChangeView {
    fn of(c: &ChangeEvent) -> ChangeView {
        let e = &c.event;
        let what = [
            e.account_id.as_deref(),
            e.group_id.as_deref().map(|_| "group"),
            e.group_id.as_deref(),
            e.role.as_deref(),
            e.resource.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        ChangeView {
            at: when(&e.detected_at),
            kind: e.kind.as_str().to_owned(),
            what,
            out_of_band: e.out_of_band,
            actor: e
                .actor_name
                .clone()
                .or_else(|| e.actor_id.clone())
                .unwrap_or_else(|| "unknown".to_owned()),
        }
    }
}

/// A job as tables show it.
#[derive(Debug)]
pub struct JobView {
    /// Job id.
    pub id: i64,
    /// `grant`, `offboard`, …
    pub kind: String,
    /// Whom it concerns.
    pub subject: String,
    /// Who asked.
    pub requested_by: String,
    /// `queued`, `running`, …
    pub status: String,
    /// Why it failed.
    pub error: String,
    /// Created, formatted.
    pub created: String,
}

impl JobView {
    fn of(j: &Job) -> JobView {
        JobView {
            id: j.id.0,
            kind: j.kind.clone(),
            subject: j.subject.clone(),
            requested_by: j.requested_by.clone(),
            status: j.status.as_str().to_owned(),
            error: j.error.clone().unwrap_or_default(),
            created: when(&j.created_at),
        }
    }
}

/// The dashboard.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The newest runs.
    pub runs: Vec<RunView>,
    /// Per-product status of the newest run.
    pub products: Vec<ProductStatus>,
    /// The newest changes, newest first.
    pub changes: Vec<ChangeView>,
    /// How many of them were made outside Steward.
    pub drift: usize,
    /// Queued and running jobs.
    pub active_jobs: Vec<JobView>,
    /// Failed jobs.
    pub failed_jobs: Vec<JobView>,
    /// Requests waiting for approval.
    pub pending_approvals: usize,
    /// Whether the viewer approves (the "waiting for me" link).
    pub can_approve: bool,
    /// Requests whose revocation failed (the access may still be there).
    pub failed_revocations: Vec<super::requests::RequestView>,
}

fn product_status(run: &SyncRun) -> Vec<ProductStatus> {
    let Some(map) = run.product_status.as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(product, v)| {
            let status = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Object(o) => o
                    .get("error")
                    .and_then(|e| e.as_str())
                    .map_or_else(|| v.to_string(), |e| format!("error: {e}")),
                other => other.to_string(),
            };
            ProductStatus {
                product: product.clone(),
                ok: status == "ok",
                status,
            }
        })
        .collect()
}

async fn jobs_with(state: &AppState, status: JobStatus) -> Result<Vec<JobView>, ApiError> {
    Ok(state
        .store()
        .jobs()
        .list(&JobQuery {
            status: Some(status),
            limit: Some(1000),
            ..JobQuery::default()
        })
        .await?
        .iter()
        .rev()
        .take(20)
        .map(JobView::of)
        .collect())
}

/// Change events, newest first, at most `n`, optionally of one account.
async fn newest_changes(
    state: &AppState,
    account_id: Option<String>,
    n: usize,
) -> Result<Vec<ChangeEvent>, ApiError> {
    // The store lists oldest first: walk forward from a window of the last 30 days.
    let since = chrono::Utc::now() - chrono::TimeDelta::days(30);
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store()
            .changes()
            .list(&ChangeQuery {
                since: Some(since),
                after_id: after,
                account_id: account_id.clone(),
                limit: Some(1000),
                ..ChangeQuery::default()
            })
            .await?;
        let full = page.len() == 1000;
        after = page.last().map(|c| c.id);
        all.extend(page);
        if all.len() > n {
            all.drain(..all.len() - n);
        }
        if !full {
            break;
        }
    }
    all.reverse();
    Ok(all)
}

async fn dashboard_page(state: &AppState, me: Me) -> Result<DashboardPage, ApiError> {
    let runs = state.store().runs().list(5).await?;
    let products = runs.first().map(product_status).unwrap_or_default();
    let changes: Vec<ChangeView> = newest_changes(state, None, 15)
        .await?
        .iter()
        .map(ChangeView::of)
        .collect();
    let (pending_approvals, failed_revocations) = super::requests::attention(state).await?;
    let me_can_approve = me.can(Role::Approver);
    let mut active_jobs = jobs_with(state, JobStatus::Running).await?;
    active_jobs.extend(jobs_with(state, JobStatus::Queued).await?);
    Ok(DashboardPage {
        me: Some(me),
        runs: runs
            .iter()
            .map(|r| RunView {
                id: r.id.0,
                started: when(&r.started_at),
                finished: r
                    .finished_at
                    .as_ref()
                    .map_or_else(|| "running".to_owned(), when),
                status: r.status.as_str().to_owned(),
                error: r.error.clone().unwrap_or_default(),
            })
            .collect(),
        products,
        drift: changes.iter().filter(|c| c.out_of_band).count(),
        changes,
        active_jobs,
        failed_jobs: jobs_with(state, JobStatus::Failed).await?,
        pending_approvals,
        failed_revocations,
        can_approve: me_can_approve,
    })
}

/// `GET /`: sync health, pending approvals, failed revocations, recent changes (drift
/// highlighted), running and failed jobs.
pub async fn dashboard(State(state): State<AppState>, principal: Principal) -> Response {
    match dashboard_page(&state, Me::of(&principal)).await {
        Ok(page) => render(&page),
        Err(e) => error_page(Some(&principal), &e),
    }
}

/// Filters of `GET /people` (the API's, as typed in the form: empty means "any").
#[derive(Debug, Default, Deserialize)]
pub struct PeopleForm {
    /// Product.
    #[serde(default)]
    pub product: String,
    /// Role.
    #[serde(default)]
    pub role: String,
    /// Status.
    #[serde(default)]
    pub status: String,
    /// Inactive for at least this many days.
    #[serde(default)]
    pub inactive_for_days: String,
    /// Paging cursor.
    #[serde(default)]
    pub cursor: String,
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// One row of the matrix.
#[derive(Debug)]
pub struct MatrixRow {
    /// Email (or the account id when the email is hidden).
    pub email: String,
    /// Link to the person's page (empty when there is no email).
    pub href: String,
    /// Display name.
    pub name: String,
    /// Composite status.
    pub status: String,
    /// Roles per product of [`MatrixPage::products`], `""` for none.
    pub cells: Vec<String>,
    /// Last active, formatted.
    pub last_active: String,
}

/// The people × products matrix.
#[derive(Template)]
#[template(path = "people.html")]
pub struct MatrixPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The filters as typed.
    pub filter: PeopleForm,
    /// Column headings.
    pub products: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<MatrixRow>,
    /// The query string of the next page, if any.
    pub next: Option<String>,
    /// Why the list could not be shown (bad filter, nothing synced).
    pub error: Option<String>,
}

/// The matrix table alone (htmx swaps it when a filter changes).
#[derive(Template)]
#[template(path = "people_table.html")]
pub struct MatrixTable<'a> {
    /// The page whose table it is.
    pub page: &'a MatrixPage,
}

fn matrix_row(p: &Person) -> MatrixRow {
    let cells = Product::ALL
        .iter()
        .map(|product| {
            let mut roles: Vec<String> = Vec::new();
            for g in p.grants.iter().filter(|g| g.product == Some(*product)) {
                let label = match &g.site {
                    Some(site) => format!("{} ({site})", g.short_role()),
                    None => g.short_role().to_owned(),
                };
                if !roles.contains(&label) {
                    roles.push(label);
                }
            }
            roles.join(", ")
        })
        .collect();
    MatrixRow {
        email: p.email.clone().unwrap_or_else(|| p.account_id.clone()),
        href: p
            .email
            .as_deref()
            .map(|e| format!("/people/{}", encode_component(e)))
            .unwrap_or_default(),
        name: p.name.clone(),
        status: p.status.clone(),
        cells,
        last_active: when_or_never(p.last_active_at.as_ref()),
    }
}

async fn matrix_page(state: &AppState, me: Me, filter: PeopleForm) -> MatrixPage {
    let inactive = match non_empty(&filter.inactive_for_days).map(|d| d.parse::<u32>()) {
        None => Ok(None),
        Some(Ok(d)) => Ok(Some(d)),
        Some(Err(_)) => Err(ApiError::parameter(
            "inactive days must be a whole number of days",
        )),
    };
    let listed = match inactive {
        Ok(inactive_for_days) => crate::api::people::list(
            State(state.clone()),
            ApiQuery(crate::api::people::PeopleQuery {
                product: non_empty(&filter.product),
                role: non_empty(&filter.role),
                status: non_empty(&filter.status),
                inactive_for_days,
                cursor: non_empty(&filter.cursor),
                limit: Some(50),
            }),
        )
        .await
        .map(|j| j.0),
        Err(e) => Err(e),
    };
    let (rows, next, error) = match listed {
        Ok(Page { items, next_cursor }) => {
            let next = next_cursor.map(|c| {
                format!(
                    "product={}&role={}&status={}&inactive_for_days={}&cursor={}",
                    encode_component(&filter.product),
                    encode_component(&filter.role),
                    encode_component(&filter.status),
                    encode_component(&filter.inactive_for_days),
                    encode_component(&c)
                )
            });
            (items.iter().map(matrix_row).collect(), next, None)
        }
        Err(e) => (Vec::new(), None, Some(e.message)),
    };
    MatrixPage {
        me: Some(me),
        filter,
        products: Product::NAMES.to_vec(),
        rows,
        next,
        error,
    }
}

/// `GET /people`: everyone's access per product, filtered and paged; htmx gets the table
/// alone.
pub async fn people(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    Query(filter): Query<PeopleForm>,
) -> Response {
    let page = matrix_page(&state, Me::of(&principal), filter).await;
    if is_htmx(&headers) {
        render(&MatrixTable { page: &page })
    } else {
        render(&page)
    }
}

/// One grant on the person page.
#[derive(Debug)]
pub struct GrantView {
    /// Product key.
    pub product: String,
    /// Site, if any.
    pub site: String,
    /// Role.
    pub role: String,
    /// Where it comes from.
    pub source: String,
}

/// An audit entry as tables show it.
#[derive(Debug)]
pub struct AuditView {
    /// Chain position.
    pub seq: i64,
    /// When, formatted.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Whom.
    pub subject: String,
    /// Outcome.
    pub result: String,
    /// The related job.
    pub job: Option<i64>,
}

impl AuditView {
    fn of(e: &AuditEntry) -> AuditView {
        AuditView {
            seq: e.seq,
            at: when(&e.at),
            actor: e.entry.actor.clone(),
            action: e.entry.action.clone(),
            subject: e.entry.subject.clone().unwrap_or_default(),
            result: e.entry.result.clone(),
            job: e.entry.job.map(|j| j.0),
        }
    }
}

/// A person's page.
#[derive(Template)]
#[template(path = "person.html")]
pub struct PersonPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The person's email.
    pub email: String,
    /// URL-encoded email (for form actions).
    pub email_path: String,
    /// Name.
    pub name: String,
    /// Account id.
    pub account_id: String,
    /// Composite status.
    pub status: String,
    /// `managed` or `unmanaged`.
    pub claim_status: String,
    /// Last active anywhere, formatted.
    pub last_active: String,
    /// Last active per product, formatted.
    pub last_active_by_product: Vec<(String, String)>,
    /// Every grant and its source.
    pub grants: Vec<GrantView>,
    /// Group names.
    pub groups: Vec<String>,
    /// Statuspage membership, described.
    pub statuspage: String,
    /// JSM desks as `site #id`.
    pub jsm: Vec<String>,
    /// Changes that concern the person, newest first.
    pub history: Vec<ChangeView>,
    /// Their jobs, newest first.
    pub jobs: Vec<JobView>,
    /// Audit entries about them, newest first.
    pub audit: Vec<AuditView>,
    /// Offboarding levels (admins see the form).
    pub levels: Vec<&'static str>,
    /// Whether the viewer may offboard.
    pub can_offboard: bool,
    /// Access requests for this person, newest first, with their expiry.
    pub requests: Vec<super::requests::RequestView>,
}

async fn person_page(state: &AppState, me: Me, email: String) -> Result<PersonPage, ApiError> {
    let person = crate::api::people::show(State(state.clone()), ApiPath(email))
        .await?
        .0;
    let email = person.email.clone().unwrap_or_default();
    let history = newest_changes(state, Some(person.account_id.clone()), 50)
        .await?
        .iter()
        .map(ChangeView::of)
        .collect();
    let jobs = state
        .store()
        .jobs()
        .list(&JobQuery {
            subject: Some(email.clone()),
            limit: Some(1000),
            ..JobQuery::default()
        })
        .await?
        .iter()
        .rev()
        .take(50)
        .map(JobView::of)
        .collect();
    let mut audit: Vec<AuditView> = state
        .store()
        .audit()
        .list(&AuditQuery {
            subject: Some(email.clone()),
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await?
        .iter()
        .map(AuditView::of)
        .collect();
    audit.reverse();
    audit.truncate(50);
    let statuspage = match &person.statuspage {
        None => String::new(),
        Some(sp) => format!("team member on {} page(s)", sp.pages.len()),
    };
    let requests = super::requests::of_person(state, &me, &email).await?;
    Ok(PersonPage {
        requests,
        can_offboard: me.can(Role::Admin),
        me: Some(me),
        email_path: encode_component(&email),
        email,
        name: person.name.clone(),
        account_id: person.account_id.clone(),
        status: person.status.clone(),
        claim_status: person.claim_status.clone(),
        last_active: when_or_never(person.last_active_at.as_ref()),
        last_active_by_product: person
            .last_active
            .iter()
            .map(|(p, at)| (p.as_str().to_owned(), when(at)))
            .collect(),
        grants: person
            .grants
            .iter()
            .map(|g| GrantView {
                product: g.product_key.clone(),
                site: g.site.clone().unwrap_or_default(),
                role: g.short_role().to_owned(),
                source: g.source.to_string(),
            })
            .collect(),
        groups: person.groups.iter().map(|g| g.name.clone()).collect(),
        statuspage,
        jsm: person
            .jsm_customer_of
            .iter()
            .map(|d| format!("{} #{}", d.site, d.service_desk_id))
            .collect(),
        history,
        jobs,
        audit,
        levels: OffboardLevel::ALL.iter().map(|l| l.as_str()).collect(),
    })
}

/// `GET /people/{email}`: a person's access and where it comes from, activity, history, jobs;
/// for admins, the offboarding form.
pub async fn person(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(email): ApiPath<String>,
) -> Response {
    match person_page(&state, Me::of(&principal), email).await {
        Ok(page) => render(&page),
        Err(e) => error_page(Some(&principal), &e),
    }
}

/// Filters of `GET /jobs`.
#[derive(Debug, Default, Deserialize)]
pub struct JobsForm {
    /// Status.
    #[serde(default)]
    pub status: String,
    /// Subject email.
    #[serde(default)]
    pub subject: String,
    /// Paging cursor.
    #[serde(default)]
    pub cursor: String,
}

/// The jobs list.
#[derive(Template)]
#[template(path = "jobs.html")]
pub struct JobsPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The filters as typed.
    pub filter: JobsForm,
    /// The jobs.
    pub jobs: Vec<JobView>,
    /// The query string of the next page.
    pub next: Option<String>,
    /// Why the list could not be shown.
    pub error: Option<String>,
    /// Status choices.
    pub statuses: Vec<&'static str>,
}

/// `GET /jobs`: jobs, oldest first, filtered by status and subject, paged.
pub async fn jobs(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<JobsForm>,
) -> Response {
    let listed = crate::api::jobs::list(
        State(state.clone()),
        ApiQuery(crate::api::jobs::JobsQuery {
            status: non_empty(&filter.status),
            subject: non_empty(&filter.subject),
            cursor: non_empty(&filter.cursor),
            limit: Some(50),
        }),
    )
    .await;
    let (jobs, next, error) = match listed {
        Ok(page) => {
            let next = page.0.next_cursor.map(|c| {
                format!(
                    "status={}&subject={}&cursor={}",
                    encode_component(&filter.status),
                    encode_component(&filter.subject),
                    encode_component(&c)
                )
            });
            (page.0.items.iter().map(JobView::of).collect(), next, None)
        }
        Err(e) => (Vec::new(), None, Some(e.message)),
    };
    render(&JobsPage {
        me: Some(Me::of(&principal)),
        filter,
        jobs,
        next,
        error,
        statuses: vec!["queued", "running", "succeeded", "failed", "cancelled"],
    })
}

/// One step of a job's journal.
#[derive(Debug)]
pub struct StepView {
    /// Position.
    pub seq: i64,
    /// What it does.
    pub name: String,
    /// The API call.
    pub api_call: String,
    /// `pending`, `running`, `done`, `failed`, `skipped`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// What it found or did (the journal's summary).
    pub result: String,
    /// Why it failed.
    pub error: String,
    /// Finished, formatted.
    pub finished: String,
}

/// One job.
#[derive(Template)]
#[template(path = "job.html")]
pub struct JobPage {
    /// The viewer.
    pub me: Option<Me>,
    /// The job.
    pub job: JobView,
    /// Why it was asked for.
    pub reason: String,
    /// Attempts.
    pub attempts: i64,
    /// Finished, formatted (empty while it runs).
    pub finished: String,
    /// Whether it is final (else the page refreshes itself).
    pub is_final: bool,
    /// The step journal.
    pub steps: Vec<StepView>,
}

fn step_result(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(v) => v
            .get("summary")
            .and_then(|s| s.as_str())
            .map_or_else(|| v.to_string(), str::to_owned),
    }
}

fn job_page(me: Me, detail: &JobDetail) -> JobPage {
    JobPage {
        me: Some(me),
        job: JobView::of(&detail.job),
        reason: detail.job.reason.clone(),
        attempts: detail.job.attempts,
        finished: detail
            .job
            .finished_at
            .as_ref()
            .map(when)
            .unwrap_or_default(),
        is_final: detail.job.status.is_final(),
        steps: detail
            .steps
            .iter()
            .map(|s| StepView {
                seq: s.seq,
                name: s.name.clone(),
                api_call: s.api_call.clone(),
                status: s.status.as_str().to_owned(),
                attempts: s.attempts,
                result: step_result(s.result.as_ref()),
                error: s.error.clone().unwrap_or_default(),
                finished: s.finished_at.as_ref().map(when).unwrap_or_default(),
            })
            .collect(),
    }
}

/// `GET /jobs/{id}`: a job and its step journal; while it is not final the page refreshes its
/// job section every two seconds (htmx).
pub async fn job(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    match state.store().jobs().get(JobId(id)).await {
        Ok(detail) => render(&job_page(Me::of(&principal), &detail)),
        Err(steward_store::Error::UnknownJob(_)) => {
            error_page(Some(&principal), &ApiError::not_found(format!("job {id}")))
        }
        Err(e) => error_page(Some(&principal), &ApiError::from(e)),
    }
}

/// Filters of `GET /audit`.
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    /// Actor.
    #[serde(default)]
    pub actor: String,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// Paging cursor.
    #[serde(default)]
    pub cursor: String,
}

/// The audit log.
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// The viewer.
    pub me: Option<Me>,
    /// Filters as typed.
    pub filter: AuditForm,
    /// Entries in chain order.
    pub entries: Vec<AuditView>,
    /// The query string of the next page.
    pub next: Option<String>,
    /// Why the list could not be shown.
    pub error: Option<String>,
    /// Whether the viewer may verify the chain.
    pub can_verify: bool,
}

/// `GET /audit`: the hash-chained audit log, in chain order, filtered and paged; admins can
/// verify the chain.
pub async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<AuditForm>,
) -> Response {
    let listed = crate::api::audit::list(
        State(state.clone()),
        ApiQuery(crate::api::audit::AuditListQuery {
            since: None,
            actor: non_empty(&filter.actor),
            subject: non_empty(&filter.subject),
            cursor: non_empty(&filter.cursor),
            limit: Some(50),
        }),
    )
    .await;
    let (entries, next, error) = match listed {
        Ok(page) => {
            let next = page.0.next_cursor.map(|c| {
                format!(
                    "actor={}&subject={}&cursor={}",
                    encode_component(&filter.actor),
                    encode_component(&filter.subject),
                    encode_component(&c)
                )
            });
            (page.0.items.iter().map(AuditView::of).collect(), next, None)
        }
        Err(e) => (Vec::new(), None, Some(e.message)),
    };
    let me = Me::of(&principal);
    render(&AuditPage {
        can_verify: me.can(Role::Admin),
        me: Some(me),
        filter,
        entries,
        next,
        error,
    })
}

/// The verification's result as a page.
#[derive(Template)]
#[template(path = "audit_verify_page.html")]
pub struct VerifyPage {
    /// The viewer.
    pub me: Option<Me>,
    /// Entries checked.
    pub entries: u64,
    /// Whether the chain is intact.
    pub ok: bool,
    /// The first bad entry, described.
    pub first_bad: String,
    /// The head's hash.
    pub head: String,
}

/// The verification's result alone (htmx puts it under the link).
#[derive(Template)]
#[template(path = "audit_verify_result.html")]
pub struct VerifyResult<'a> {
    /// The page whose result it is.
    pub page: &'a VerifyPage,
}

/// `GET /audit/verify` (admins): recomputes the whole chain and says whether it is intact.
pub async fn audit_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
) -> Response {
    let result: Result<AuditVerification, ApiError> =
        state.store().audit().verify().await.map_err(ApiError::from);
    match result {
        Ok(v) => {
            let page = VerifyPage {
                me: Some(Me::of(&principal)),
                entries: v.entries,
                ok: v.ok,
                first_bad: v.first_bad.map(|f| f.to_string()).unwrap_or_default(),
                head: v.head.map(|h| h.hash).unwrap_or_default(),
            };
            if is_htmx(&headers) {
                render(&VerifyResult { page: &page })
            } else {
                render(&page)
            }
        }
        Err(e) => error_page(Some(&principal), &e),
    }
}
