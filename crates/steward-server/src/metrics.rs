//! Prometheus metrics: one process-wide recorder (installed on first use), rendered by
//! `GET /metrics`.
//!
//! What it exposes:
//! - HTTP: `steward_http_requests_total{method,route,status}`,
//!   `steward_http_request_duration_seconds{method,route}` (every route feeds them);
//! - syncs: `steward_sync_runs_total{trigger,status}`, `steward_sync_duration_seconds`, and
//!   from the store the last completed sync's end time and duration;
//! - work: `steward_jobs{kind,status}`, `steward_access_requests{state}`,
//!   `steward_pending_approvals`, `steward_failed_revocations` (read from the store at each
//!   scrape, see [`store_gauges`]);
//! - Atlassian calls (from `atlassian-client`): `atlassian_client_requests_total{family,route,status}`,
//!   `atlassian_client_request_duration_seconds`, `atlassian_client_retries_total{family,route,reason}`,
//!   `atlassian_client_retry_wait_seconds` and `atlassian_client_rate_limit_wait_seconds{scope,family,route}`.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, formatting};
use steward_engine::SyncReport;
use steward_store::{JobStatus, RequestState, Store};

use crate::state::SyncLauncher;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus handle. The first call installs the recorder globally; if another
/// recorder was installed first, this one still renders what is recorded through it (nothing
/// from the `metrics` macros), which only happens in tests that install their own.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// Counts every request by method, route template and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("steward_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("steward_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Runs one sync through `launcher` and records it: `steward_sync_runs_total` and
/// `steward_sync_duration_seconds`, labelled by what started it (`trigger`: `scheduled`,
/// `on_demand`, `startup`) and how it ended (`completed`, `failed`, or `not_started` when
/// it could not begin a run, e.g. another sync held the lease).
pub async fn timed_sync(
    launcher: &dyn SyncLauncher,
    store: Store,
    trigger: &'static str,
) -> SyncReport {
    let started = Instant::now();
    let report = launcher.launch(store).await;
    let status = match report.run {
        Some(_) => report.status.as_str(),
        None => "not_started",
    };
    metrics::counter!("steward_sync_runs_total", "trigger" => trigger, "status" => status)
        .increment(1);
    metrics::histogram!("steward_sync_duration_seconds", "trigger" => trigger, "status" => status)
        .record(started.elapsed().as_secs_f64());
    report
}

/// The gauges read from the store, in the Prometheus text format: jobs by kind and status,
/// access requests by state, pending approvals, and the last completed sync's end time and
/// duration. They are rendered per scrape from the database (not kept in the process's
/// recorder), so every process sharing it reports the same figures and a label set that
/// disappears from the store disappears from the output.
///
/// # Errors
/// When the store can't be read.
pub async fn store_gauges(store: &Store) -> Result<String, steward_store::Error> {
    let stats = store.stats();
    let mut out = String::new();

    let jobs = stats.jobs_by_status().await?;
    gauge_type(&mut out, "steward_jobs", "Jobs by kind and status.");
    let kinds: BTreeSet<&str> = jobs.iter().map(|(kind, _, _)| kind.as_str()).collect();
    for kind in kinds {
        for status in JobStatus::ALL {
            let n = jobs
                .iter()
                .find(|(k, s, _)| k == kind && s == status.as_str())
                .map_or(0, |(_, _, n)| *n);
            gauge_line(
                &mut out,
                "steward_jobs",
                &[("kind", kind), ("status", status.as_str())],
                n as f64,
            );
        }
    }

    let requests = stats.requests_by_state().await?;
    let count = |state: RequestState| {
        requests
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map_or(0, |(_, n)| *n)
    };
    gauge_type(
        &mut out,
        "steward_access_requests",
        "Access requests by state.",
    );
    for state in RequestState::ALL {
        gauge_line(
            &mut out,
            "steward_access_requests",
            &[("state", state.as_str())],
            count(state) as f64,
        );
    }
    gauge_type(
        &mut out,
        "steward_pending_approvals",
        "Access requests waiting for approval.",
    );
    gauge_line(
        &mut out,
        "steward_pending_approvals",
        &[],
        count(RequestState::Pending) as f64,
    );
    gauge_type(
        &mut out,
        "steward_failed_revocations",
        "Access requests whose revocation job failed: the access is still there.",
    );
    gauge_line(
        &mut out,
        "steward_failed_revocations",
        &[],
        stats.failed_revocations().await? as f64,
    );

    if let Some(run) = store.runs().latest_completed().await?
        && let Some(finished) = run.finished_at
    {
        gauge_type(
            &mut out,
            "steward_sync_last_completed_timestamp_seconds",
            "When the newest completed sync ended (Unix time).",
        );
        gauge_line(
            &mut out,
            "steward_sync_last_completed_timestamp_seconds",
            &[],
            finished.timestamp_millis() as f64 / 1000.0,
        );
        gauge_type(
            &mut out,
            "steward_sync_last_completed_duration_seconds",
            "How long the newest completed sync took.",
        );
        gauge_line(
            &mut out,
            "steward_sync_last_completed_duration_seconds",
            &[],
            (finished - run.started_at).num_milliseconds() as f64 / 1000.0,
        );
    }
    Ok(out)
}

fn gauge_type(out: &mut String, name: &str, help: &str) {
    formatting::write_help_line(out, name, None, None, help);
    formatting::write_type_line(out, name, None, None, "gauge");
}

fn gauge_line(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", formatting::sanitize_label_value(v)))
            .collect();
        out.push('{');
        out.push_str(&labels.join(","));
        out.push('}');
    }
    out.push(' ');
    out.push_str(&value.to_string());
    out.push('\n');
}
