//! Pure derivation from OTLP spans: which span is a request, what its trace
//! spent in the database, workflow step durations and the export pattern.
//! No I/O; the server in `mod.rs` feeds `TraceAggregator::ingest` and each
//! scrape calls `drain`.
//!
//! Privacy: a span is reduced to its `Role` the moment it arrives, reading
//! only the attributes in `attributes::ALLOWED_ATTRIBUTES`. Header attributes
//! (`http.request.header.*`), `http.url` and everything else are never read,
//! stored or logged. A database span's `db.statement` (full SQL with its
//! literals) is read only when the aggregator was given a [`Fingerprinter`],
//! and only to hash it then and there: what is kept is a 64-bit hash of the
//! statement's parse tree without its values (`crate::fingerprint`); the
//! text is never stored, logged or sent.
//!
//! Memory: child spans are folded into per-trace counters as they arrive, so
//! a buffered trace costs a few dozen bytes plus 32 per distinct statement
//! fingerprint (at most `statements::MAX_PER_TRACE`) whatever its span count;
//! at most `Limits::max_traces` traces are buffered, and spans of a trace
//! that does not fit are dropped and counted (`otlp_spans_dropped_total`).
//! Per-route statement figures are bounded as `statements.rs` says.

use std::collections::{BTreeMap, HashMap};

use crate::v1;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::attributes::{Allowed, OTHER, RequestKey, step_label};
use super::histogram::{LatencyHistogram, drain_routes};
use super::own::{self, OwnSpans};
use super::statements::{RouteStatements, TraceStatements};
use crate::samples::{counter, gauge};
use crate::signals::otlp::{
    OTLP_EXPORTS_TOTAL, OTLP_ROUTE_DB_STATEMENTS_TOTAL, OTLP_ROUTE_DB_TIME_MS_TOTAL,
    OTLP_ROUTE_REQUESTS_TOTAL, OTLP_SPANS_DROPPED_TOTAL, OTLP_SPANS_RECEIVED_TOTAL,
    OTLP_STEP_COUNT_TOTAL, OTLP_STEP_DURATION_MS_TOTAL, OTLP_TRACES_BUFFERED,
};

/// Bounds on what the aggregator keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// How long after its root span arrives a trace waits for late children.
    pub grace_ms: i64,
    /// How long a trace without a root is kept before its spans are dropped.
    pub max_age_ms: i64,
    /// Traces buffered at once.
    pub max_traces: usize,
    /// Distinct routes (and, separately, steps) kept as labels; the rest
    /// become `other`.
    pub max_labels: usize,
}

/// Turns a statement's text into its fingerprint (`None`: it has none).
pub type Fingerprinter = fn(&str) -> Option<u64>;

/// What one span says, once the allowlist has been applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// No parent and an `http.route`: one request.
    Request(RequestKey),
    /// No parent and no `http.route`: a trace that is not a request.
    OtherRoot,
    /// A PostgreSQL statement (`pg.query:*` or `db.system = postgresql`),
    /// with its fingerprint when it has one.
    Db(Option<u64>),
    /// A workflow step, by its action.
    Step(String),
    /// Anything else.
    Other,
}

/// Classifies a span; reads its name, parent and allowlisted attributes,
/// and lends a database span's statement to `fingerprinter`.
pub fn role(span: &Span, fingerprinter: Option<Fingerprinter>) -> Role {
    let allowed = Allowed::read(&span.attributes);
    if span.parent_span_id.is_empty() {
        return match RequestKey::from_allowed(&allowed) {
            Some(key) => Role::Request(key),
            None => Role::OtherRoot,
        };
    }
    if span.name.starts_with("pg.query:") || allowed.db_system.as_deref() == Some("postgresql") {
        let fingerprint = fingerprinter
            .and_then(|f| super::attributes::statement_fingerprint(&span.attributes, f));
        return Role::Db(fingerprint);
    }
    match step_label(&span.name) {
        Some(step) => Role::Step(step),
        None => Role::Other,
    }
}

/// A span's duration in milliseconds (0 when its clock went backwards).
pub fn duration_ms(span: &Span) -> f64 {
    span.end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e6
}

#[derive(Debug, Default)]
struct PendingTrace {
    first_seen_ms: i64,
    /// The root's key and duration (None for a non-request root) and when it arrived.
    root: Option<(Option<(RequestKey, f64)>, i64)>,
    spans: u64,
    db_statements: u64,
    db_ms: f64,
    statements: TraceStatements,
}

/// Cumulative per-label totals, capped in distinct labels.
#[derive(Debug, Default)]
struct Totals {
    values: BTreeMap<String, f64>,
}

impl Totals {
    fn add(&mut self, label: &str, max: usize, value: f64) {
        let label = if self.values.contains_key(label) || self.values.len() < max {
            label
        } else {
            OTHER
        };
        *self.values.entry(label.to_owned()).or_default() += value;
    }
}

/// Accumulates spans between scrapes.
#[derive(Debug)]
pub struct TraceAggregator {
    limits: Limits,
    fingerprinter: Option<Fingerprinter>,
    traces: HashMap<Vec<u8>, PendingTrace>,
    /// Delta histograms per request key since the last drain.
    routes: BTreeMap<RequestKey, LatencyHistogram>,
    requests: Totals,
    db_statements: Totals,
    db_ms: Totals,
    step_ms: Totals,
    steps: Totals,
    statements: RouteStatements,
    own: OwnSpans,
    exports: u64,
    spans_received: u64,
    spans_dropped: u64,
}

impl TraceAggregator {
    /// An aggregator within `limits`; with a `fingerprinter`, statements are
    /// also broken out per route by fingerprint.
    pub fn new(limits: Limits, fingerprinter: Option<Fingerprinter>) -> Self {
        Self {
            limits,
            fingerprinter,
            traces: HashMap::new(),
            routes: BTreeMap::new(),
            requests: Totals::default(),
            db_statements: Totals::default(),
            db_ms: Totals::default(),
            step_ms: Totals::default(),
            steps: Totals::default(),
            statements: RouteStatements::default(),
            own: OwnSpans::default(),
            exports: 0,
            spans_received: 0,
            spans_dropped: 0,
        }
    }

    /// Traces buffered now.
    pub fn buffered_traces(&self) -> usize {
        self.traces.len()
    }

    /// Exports received since start (Headroom's own included).
    pub fn exports(&self) -> u64 {
        self.exports + self.own.exports()
    }

    /// Takes in one export, received at `now_ms`. Headroom's own spans
    /// (`own.rs`) are counted apart and stay out of the store's figures: an
    /// export of only those is not one of the store's exports.
    pub fn ingest(&mut self, request: &ExportTraceServiceRequest, now_ms: i64) {
        let mut stores = false;
        for resource in &request.resource_spans {
            let spans = resource.scope_spans.iter().flat_map(|scope| &scope.spans);
            match own::service(resource.resource.as_ref()) {
                Some(service) => spans.for_each(|span| self.own.record(service, span)),
                None => {
                    stores = true;
                    spans.for_each(|span| self.ingest_span(span, now_ms));
                }
            }
        }
        if stores || request.resource_spans.is_empty() {
            self.exports += 1;
        } else {
            self.own.export();
        }
    }

    fn ingest_span(&mut self, span: &Span, now_ms: i64) {
        self.spans_received += 1;
        let role = role(span, self.fingerprinter);
        let duration = duration_ms(span);
        if let Role::Step(step) = &role {
            self.steps.add(step, self.limits.max_labels, 1.0);
            self.step_ms.add(step, self.limits.max_labels, duration);
            return;
        }
        if matches!(role, Role::Other) {
            return;
        }
        if !self.traces.contains_key(&span.trace_id) && self.traces.len() >= self.limits.max_traces
        {
            self.spans_dropped += 1;
            return;
        }
        let trace = self
            .traces
            .entry(span.trace_id.clone())
            .or_insert_with(|| PendingTrace {
                first_seen_ms: now_ms,
                ..PendingTrace::default()
            });
        trace.spans += 1;
        match role {
            Role::Request(key) => trace.root = Some((Some((key, duration)), now_ms)),
            Role::OtherRoot => trace.root = Some((None, now_ms)),
            Role::Db(fingerprint) => {
                trace.db_statements += 1;
                trace.db_ms += duration;
                trace.statements.add(fingerprint, duration);
            }
            Role::Step(_) | Role::Other => {}
        }
    }

    /// Finalizes traces whose grace has passed (or that waited too long for
    /// a root) and returns everything accumulated since the last drain:
    /// route histograms over `[start_ms, now_ms]` and cumulative totals.
    pub fn drain(&mut self, start_ms: i64, now_ms: i64) -> v1::Batch {
        let limits = self.limits;
        let mut finished = Vec::new();
        self.traces.retain(|id, trace| {
            let done = match trace.root {
                Some((_, root_ms)) => now_ms - root_ms >= limits.grace_ms,
                None => now_ms - trace.first_seen_ms >= limits.max_age_ms,
            };
            if done {
                finished.push((id.clone(), std::mem::take(trace)));
            }
            !done
        });
        finished.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, trace) in finished {
            match trace.root {
                Some((Some((key, duration)), _)) => {
                    let route = key.route.clone();
                    let known = self.routes.contains_key(&key)
                        || self.requests.values.contains_key(&route)
                        || self.requests.values.len() < limits.max_labels;
                    let key = if known {
                        key
                    } else {
                        RequestKey {
                            route: OTHER.into(),
                            ..key
                        }
                    };
                    self.requests.add(&key.route, limits.max_labels, 1.0);
                    self.db_statements.add(
                        &key.route,
                        limits.max_labels,
                        trace.db_statements as f64,
                    );
                    self.db_ms.add(&key.route, limits.max_labels, trace.db_ms);
                    self.statements
                        .add(&key.method, &key.route, trace.statements);
                    self.routes.entry(key).or_default().record(duration);
                }
                Some((None, _)) => {}
                None => self.spans_dropped += trace.spans,
            }
        }
        let mut batch = v1::Batch {
            http_routes: drain_routes(&mut self.routes, "otlp", start_ms, now_ms),
            ..v1::Batch::default()
        };
        for (signal, label, totals) in [
            (&OTLP_ROUTE_REQUESTS_TOTAL, "route", &self.requests),
            (
                &OTLP_ROUTE_DB_STATEMENTS_TOTAL,
                "route",
                &self.db_statements,
            ),
            (&OTLP_ROUTE_DB_TIME_MS_TOTAL, "route", &self.db_ms),
            (&OTLP_STEP_COUNT_TOTAL, "workflow_step", &self.steps),
            (&OTLP_STEP_DURATION_MS_TOTAL, "workflow_step", &self.step_ms),
        ] {
            for (value_label, value) in &totals.values {
                batch
                    .samples
                    .push(counter(signal, &[(label, value_label)], now_ms, *value));
            }
        }
        self.statements.drain(now_ms, &mut batch.samples);
        self.own.drain(now_ms, &mut batch.samples);
        for (signal, value) in [
            (&OTLP_EXPORTS_TOTAL, self.exports),
            (&OTLP_SPANS_RECEIVED_TOTAL, self.spans_received),
            (&OTLP_SPANS_DROPPED_TOTAL, self.spans_dropped),
        ] {
            batch
                .samples
                .push(counter(signal, &[], now_ms, value as f64));
        }
        batch.samples.push(gauge(
            &OTLP_TRACES_BUFFERED,
            &[],
            now_ms,
            self.buffered_traces() as f64,
        ));
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::super::statements::{CALLS, MS};
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, span::SpanKind};

    const LIMITS: Limits = Limits {
        grace_ms: 5_000,
        max_age_ms: 60_000,
        max_traces: 3,
        max_labels: 2,
    };

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn text(key: &str, value: &str) -> KeyValue {
        kv(key, any_value::Value::StringValue(value.into()))
    }

    fn span(trace: u8, parent: bool, name: &str, ms: u64, attributes: Vec<KeyValue>) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![trace, 1, 2, 3, 4, 5, 6, 7],
            parent_span_id: if parent { vec![9; 8] } else { vec![] },
            name: name.into(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_000_000_000 + ms * 1_000_000,
            attributes,
            ..Default::default()
        }
    }

    fn root(trace: u8, route: &str, ms: u64) -> Span {
        span(
            trace,
            false,
            route,
            ms,
            vec![
                text("http.route", route),
                text("http.method", "post"),
                kv("http.status_code", any_value::Value::IntValue(200)),
                text("http.url", "/store/carts/cart_01SECRET/complete"),
                text("http.request.header.authorization", "Bearer sk_secret"),
            ],
        )
    }

    fn query(trace: u8, ms: u64) -> Span {
        span(
            trace,
            true,
            "pg.query:SELECT medusa",
            ms,
            vec![
                text("db.system", "postgresql"),
                text(
                    "db.statement",
                    "SELECT * FROM customer WHERE email = 'a@b.c'",
                ),
            ],
        )
    }

    fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn total(batch: &v1::Batch, name: &str, label: &str) -> Option<f64> {
        batch
            .samples
            .iter()
            .find(|s| s.name == name && s.labels.iter().any(|l| l.value == label))
            .map(|s| s.value)
    }

    fn plain(batch: &v1::Batch, name: &str) -> f64 {
        batch
            .samples
            .iter()
            .find(|s| s.name == name)
            .map_or(f64::NAN, |s| s.value)
    }

    #[test]
    fn an_internal_root_with_a_route_is_a_request() {
        let role = role(&root(1, "/store/carts/:id/complete", 10), None);
        assert_eq!(
            role,
            Role::Request(RequestKey {
                method: "POST".into(),
                route: "/store/carts/:id/complete".into(),
                status_class: "2xx".into(),
            })
        );
    }

    #[test]
    fn a_span_with_a_parent_is_not_a_request() {
        let mut child = root(1, "/store/carts", 10);
        child.parent_span_id = vec![1; 8];
        assert_eq!(role(&child, None), Role::Other);
    }

    #[test]
    fn a_server_root_without_a_route_is_not_a_request() {
        let mut server = span(1, false, "GET", 10, vec![text("http.method", "GET")]);
        server.kind = SpanKind::Server as i32;
        assert_eq!(role(&server, None), Role::OtherRoot);
    }

    #[test]
    fn what_a_span_becomes_holds_no_url_header_or_statement() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        aggregator.ingest(&export(vec![query(1, 1), root(1, "/a", 1)]), 0);
        let kept = format!("{aggregator:?} {:?}", aggregator.drain(0, 5_000));
        for secret in ["SECRET", "sk_secret", "a@b.c", "customer"] {
            assert!(!kept.contains(secret), "{secret} in {kept}");
        }
        assert!(kept.contains("/a"));
    }

    /// Stands in for pg_query: one fingerprint per table named.
    fn by_table(sql: &str) -> Option<u64> {
        ["customer", "cart"]
            .iter()
            .position(|table| sql.contains(table))
            .map(|i| i as u64 + 1)
    }

    fn statement_figure(batch: &v1::Batch, name: &str, fingerprint: &str) -> Option<f64> {
        batch
            .samples
            .iter()
            .find(|s| s.name == name && s.labels.iter().any(|l| l.value == fingerprint))
            .map(|s| s.value)
    }

    #[test]
    fn each_routes_statements_are_counted_and_timed_by_fingerprint_without_their_text() {
        let mut aggregator = TraceAggregator::new(LIMITS, Some(by_table));
        let mut cart = query(1, 1);
        cart.attributes[1] = text("db.statement", "SELECT * FROM cart WHERE id = 'cart_9'");
        aggregator.ingest(
            &export(vec![query(1, 3), query(1, 3), cart, root(1, "/a", 20)]),
            0,
        );
        aggregator.ingest(&export(vec![query(2, 3), root(2, "/a", 10)]), 0);
        let batch = aggregator.drain(0, 5_000);
        let customer = "0000000000000001";
        assert_eq!(statement_figure(&batch, CALLS.name, customer), Some(3.0));
        assert_eq!(statement_figure(&batch, MS.name, customer), Some(9.0));
        assert_eq!(
            statement_figure(&batch, CALLS.name, "0000000000000002"),
            Some(1.0)
        );
        let sample = batch.samples.iter().find(|s| s.name == CALLS.name);
        let labels: Vec<(&str, &str)> = sample
            .map(|s| {
                s.labels
                    .iter()
                    .map(|l| (l.key.as_str(), l.value.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            labels,
            [
                ("method", "POST"),
                ("route", "/a"),
                ("fingerprint", customer)
            ]
        );
        let latency = batch.http_routes[0].latency.clone().unwrap_or_default();
        assert_eq!(
            (latency.count, latency.sum),
            (2, 30.0),
            "the route's requests and time"
        );
        let kept = format!("{aggregator:?} {batch:?}");
        for secret in ["a@b.c", "cart_9", "SELECT"] {
            assert!(!kept.contains(secret), "{secret} in {kept}");
        }
    }

    #[test]
    fn children_before_and_after_the_root_are_counted_once_grace_passes() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        aggregator.ingest(&export(vec![query(1, 3)]), 0);
        aggregator.ingest(&export(vec![root(1, "/a", 40)]), 100);
        aggregator.ingest(&export(vec![query(1, 2)]), 200);
        let early = aggregator.drain(0, 1_000);
        assert!(early.http_routes.is_empty(), "still within the grace");
        assert_eq!(total(&early, "otlp_route_requests_total", "/a"), None);
        let batch = aggregator.drain(1_000, 5_100);
        assert_eq!(batch.http_routes.len(), 1);
        let latency = batch.http_routes[0].latency.clone().unwrap_or_default();
        assert_eq!(latency.count, 1);
        assert_eq!(total(&batch, "otlp_route_requests_total", "/a"), Some(1.0));
        assert_eq!(
            total(&batch, "otlp_route_db_statements_total", "/a"),
            Some(2.0)
        );
        assert_eq!(
            total(&batch, "otlp_route_db_time_ms_total", "/a"),
            Some(5.0)
        );
        assert_eq!(plain(&batch, "otlp_exports_total"), 3.0);
        assert_eq!(plain(&batch, "otlp_spans_received_total"), 3.0);
        assert_eq!(aggregator.buffered_traces(), 0);
    }

    #[test]
    fn route_histograms_are_deltas_and_totals_are_cumulative() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        aggregator.ingest(&export(vec![root(1, "/a", 40)]), 0);
        let first = aggregator.drain(0, 5_000);
        aggregator.ingest(&export(vec![root(2, "/a", 40)]), 5_000);
        let second = aggregator.drain(5_000, 10_000);
        assert_eq!(
            first.http_routes[0].latency.as_ref().map(|l| l.count),
            Some(1)
        );
        assert_eq!(
            second.http_routes[0].latency.as_ref().map(|l| l.count),
            Some(1)
        );
        assert_eq!(total(&second, "otlp_route_requests_total", "/a"), Some(2.0));
        let third = aggregator.drain(10_000, 15_000);
        assert!(third.http_routes.is_empty());
    }

    #[test]
    fn a_trace_without_root_is_dropped_and_counted_after_max_age() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        aggregator.ingest(&export(vec![query(1, 1), query(1, 1)]), 0);
        assert_eq!(
            plain(&aggregator.drain(0, 59_000), "otlp_spans_dropped_total"),
            0.0
        );
        let batch = aggregator.drain(59_000, 60_000);
        assert_eq!(plain(&batch, "otlp_spans_dropped_total"), 2.0);
        assert_eq!(aggregator.buffered_traces(), 0);
    }

    #[test]
    fn traces_beyond_the_cap_are_dropped_and_counted() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        for trace in 1..=5 {
            aggregator.ingest(&export(vec![query(trace, 1)]), 0);
        }
        aggregator.ingest(&export(vec![root(1, "/a", 1)]), 0);
        assert_eq!(aggregator.buffered_traces(), 3);
        let batch = aggregator.drain(0, 0);
        assert_eq!(plain(&batch, "otlp_spans_dropped_total"), 2.0);
    }

    #[test]
    fn routes_beyond_the_cap_become_other() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        for (trace, route) in [(1, "/a"), (2, "/b"), (3, "/c")] {
            aggregator.ingest(&export(vec![root(trace, route, 1)]), 0);
        }
        let batch = aggregator.drain(0, 5_000);
        assert_eq!(
            total(&batch, "otlp_route_requests_total", "other"),
            Some(1.0)
        );
        assert!(batch.http_routes.iter().any(|r| r.route == OTHER));
    }

    #[test]
    fn headrooms_own_spans_stay_out_of_the_stores_figures() {
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        let mut own = export(vec![
            span(1, false, crate::telemetry::span::ADVISOR_PASS, 30, vec![]),
            span(1, true, crate::telemetry::span::ADVISOR_RULE, 1, vec![]),
        ]);
        own.resource_spans[0].resource = Some(opentelemetry_proto::tonic::resource::v1::Resource {
            attributes: vec![text("service.name", "headroom-collector")],
            ..Default::default()
        });
        aggregator.ingest(&own, 0);
        aggregator.ingest(&export(vec![root(2, "/a", 1)]), 0);
        assert_eq!(aggregator.exports(), 2, "both exports were received");
        let batch = aggregator.drain(0, 5_000);
        assert_eq!(plain(&batch, "otlp_exports_total"), 1.0);
        assert_eq!(plain(&batch, "otlp_spans_received_total"), 1.0);
        assert_eq!(
            total(
                &batch,
                super::own::SPANS.name,
                crate::telemetry::span::ADVISOR_PASS
            ),
            Some(1.0)
        );
    }

    #[test]
    fn steps_are_timed_by_action_without_ids() {
        assert_eq!(
            step_label("step:create-carts:invoke"),
            Some("create-carts".into())
        );
        assert_eq!(
            step_label("step:01HZX9ABCDEF12345:invoke"),
            Some(OTHER.into())
        );
        assert_eq!(step_label("workflow:complete-cart"), None);
        let mut aggregator = TraceAggregator::new(LIMITS, None);
        let step = span(1, true, "step:reserve:invoke", 12, vec![]);
        aggregator.ingest(&export(vec![step.clone(), step]), 0);
        let batch = aggregator.drain(0, 0);
        assert_eq!(total(&batch, "otlp_step_count_total", "reserve"), Some(2.0));
        assert_eq!(
            total(&batch, "otlp_step_duration_ms_total", "reserve"),
            Some(24.0)
        );
    }
}
