//! What the client tells operators: one `atlassian.request` span per attempt (family, method,
//! route template, attempt, status or error, the backoff before it and the wait for the scope's
//! limiter), and metrics for requests, retries, waits and latency labelled by family, route and
//! status.
//!
//! Spans go to a small recording layer and metrics to a small recorder, both installed for the
//! current thread only; the tests run on the current-thread runtime so every task of the client
//! (and of the in-process simulator) reports there.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::resilience::script;
use crate::secrets::scoped_subscriber;
use crate::support::TestEnv;

// ---- spans --------------------------------------------------------------------------------------

/// Fields of a span or event, as text.
type Fields = BTreeMap<String, String>;

struct FieldText<'a>(&'a mut Fields);

impl Visit for FieldText<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// Records every closed `atlassian.request` span with its final fields, and every event of the
/// client.
#[derive(Clone, Default)]
struct Recorded {
    spans: Arc<Mutex<Vec<Fields>>>,
    events: Arc<Mutex<Vec<Fields>>>,
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorded {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "atlassian.request" {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut FieldText(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(&mut FieldText(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target().starts_with("atlassian_client") {
            let mut fields = Fields::new();
            event.record(&mut FieldText(&mut fields));
            self.events.lock().unwrap().push(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(fields) = span.extensions().get::<Fields>()
        {
            self.spans.lock().unwrap().push(fields.clone());
        }
    }
}

impl Recorded {
    /// The closed request spans of one route, oldest first.
    fn spans_of(&self, route: &str) -> Vec<Fields> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f.get("route").map(String::as_str) == Some(route))
            .cloned()
            .collect()
    }
}

// ---- metrics ------------------------------------------------------------------------------------

/// One recorded value: metric name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A recorder keeping every counter increment and histogram value.
#[derive(Clone, Default)]
struct TestRecorder {
    samples: Arc<Mutex<Vec<Sample>>>,
}

struct Handle {
    key: Key,
    samples: Arc<Mutex<Vec<Sample>>>,
}

impl Handle {
    fn push(&self, value: f64) {
        self.samples.lock().unwrap().push(Sample {
            name: self.key.name().to_owned(),
            labels: self
                .key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
            value,
        });
    }
}

impl metrics::CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.push(value as f64);
    }

    fn absolute(&self, value: u64) {
        self.push(value as f64);
    }
}

impl metrics::GaugeFn for Handle {
    fn increment(&self, value: f64) {
        self.push(value);
    }

    fn decrement(&self, value: f64) {
        self.push(-value);
    }

    fn set(&self, value: f64) {
        self.push(value);
    }
}

impl metrics::HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.push(value);
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(self.handle(key)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(self.handle(key)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(self.handle(key)))
    }
}

impl TestRecorder {
    fn handle(&self, key: &Key) -> Handle {
        Handle {
            key: key.clone(),
            samples: self.samples.clone(),
        }
    }

    /// Values of `name` whose labels include every one of `labels`.
    fn values(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.samples
            .lock()
            .unwrap()
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect()
    }

    /// The total of a counter over the matching label sets.
    fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.values(name, labels).iter().sum()
    }
}

// ---- tests --------------------------------------------------------------------------------------

const ORGS: &str = "/v1/orgs";
const ORG: &str = "/v1/orgs/{orgId}";

#[tokio::test]
async fn every_attempt_has_a_span_with_method_route_status_attempt_and_waits() {
    let recorded = Recorded::default();
    let _guard = scoped_subscriber(tracing_subscriber::registry().with(recorded.clone()));
    let env = TestEnv::start().await;
    let org_id = env.sim.info().org_id.clone();
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": ORGS, "kind": "rate_limit", "retry_after": 1}),
    )
    .await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": ORG, "kind": "reset"}),
    )
    .await;
    env.client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    env.client.org().get_org(&org_id).await.unwrap();
    env.client.org().get_org("missing").await.unwrap_err();

    let orgs = recorded.spans_of(ORGS);
    assert_eq!(orgs.len(), 2, "one span per attempt: {orgs:#?}");
    for (i, span) in orgs.iter().enumerate() {
        assert_eq!(span["family"], "org");
        assert_eq!(span["method"], "GET");
        assert_eq!(span["attempt"], (i + 1).to_string());
        assert!(span.contains_key("wait_ms"), "{span:?}");
    }
    assert_eq!(orgs[0]["status"], "429");
    assert_eq!(orgs[0]["error"], "429");
    assert_eq!(orgs[0]["backoff_ms"], "0");
    assert_eq!(orgs[1]["status"], "200");
    assert!(!orgs[1].contains_key("error"), "{:?}", orgs[1]);
    let backoff: u64 = orgs[1]["backoff_ms"].parse().unwrap();
    assert!(
        backoff >= 1000,
        "the retry waited Retry-After: {backoff} ms"
    );

    let org = recorded.spans_of(ORG);
    assert_eq!(org.len(), 3, "{org:#?}");
    assert_eq!(org[0]["error"], "interrupted");
    assert!(!org[0].contains_key("status"), "no answer, no status");
    assert_eq!(org[1]["status"], "200");
    assert_eq!(org[1]["attempt"], "2");
    assert_eq!(org[2]["status"], "404");
    assert_eq!(org[2]["attempt"], "1", "a 404 is not retried");

    let events = recorded.events.lock().unwrap().clone();
    let retries: Vec<_> = events
        .iter()
        .filter(|e| e.get("message").map(String::as_str) == Some("retrying"))
        .collect();
    assert_eq!(retries.len(), 2, "{events:#?}");
    assert_eq!(retries[0]["route"], ORGS);
    assert!(retries[0]["backoff_ms"].parse::<u64>().unwrap() >= 1000);
    env.finish().await;
}

#[tokio::test]
async fn requests_retries_waits_and_latency_are_measured_per_family_route_and_status() {
    let recorder = TestRecorder::default();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let env = TestEnv::start().await;
    let org_id = env.sim.info().org_id.clone();
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": ORGS, "kind": "rate_limit", "retry_after": 1}),
    )
    .await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": ORG, "kind": "reset"}),
    )
    .await;
    env.client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    env.client.org().get_org(&org_id).await.unwrap();
    env.client.org().get_org("missing").await.unwrap_err();

    let requests = "atlassian_client_requests_total";
    let org = ("family", "org");
    for (route, status, n) in [
        (ORGS, "429", 1.0),
        (ORGS, "200", 1.0),
        (ORG, "error", 1.0),
        (ORG, "200", 1.0),
        (ORG, "404", 1.0),
    ] {
        assert_eq!(
            recorder.count(requests, &[org, ("route", route), ("status", status)]),
            n,
            "{route} {status}"
        );
    }

    let retries = "atlassian_client_retries_total";
    assert_eq!(
        recorder.count(retries, &[org, ("route", ORGS), ("reason", "429")]),
        1.0
    );
    assert_eq!(
        recorder.count(retries, &[org, ("route", ORG), ("reason", "interrupted")]),
        1.0
    );
    assert_eq!(
        recorder.count(retries, &[org]),
        2.0,
        "the 404 was not retried"
    );

    let retry_waits = recorder.values(
        "atlassian_client_retry_wait_seconds",
        &[org, ("route", ORGS)],
    );
    assert_eq!(retry_waits.len(), 1);
    assert!(retry_waits[0] >= 1.0, "Retry-After: 1 → {retry_waits:?}");

    let pacing = recorder.values(
        "atlassian_client_rate_limit_wait_seconds",
        &[("scope", "org"), org, ("route", ORGS)],
    );
    assert_eq!(pacing.len(), 2, "one pacing wait per attempt");
    assert!(
        pacing.iter().all(|w| *w < 1.0),
        "the scope's pause ended before the retry: {pacing:?}"
    );

    let latency = "atlassian_client_request_duration_seconds";
    for (route, status) in [(ORGS, "429"), (ORGS, "200"), (ORG, "error"), (ORG, "404")] {
        let values = recorder.values(latency, &[org, ("route", route), ("status", status)]);
        assert_eq!(values.len(), 1, "{route} {status}");
        assert!(values[0] > 0.0 && values[0] < 1.0, "{values:?}");
    }
    env.finish().await;
}
