//! Which routes run a statement: the join of a `pg_stat_statements` entry
//! with the store's traces, for the evidence of database advice.
//!
//! The agent's postgres source sends each statement's fingerprint (a hash
//! of PostgreSQL's parse tree without values, `headroom_proto::fingerprint`);
//! the collector keeps it as a text of kind [`FINGERPRINT_TEXT`] keyed
//! `database/queryid` beside the statement's normalised text (a label on
//! the `pg_statement_*` series would split them whenever it changes). The
//! OTLP receivers (agent and collector) send, per route and fingerprint,
//! the calls and time of the statements its requests ran
//! (`headroom_proto::otlp::statements`). Over the recent window, for each
//! route: calls per request = statement calls / the route's requests, and
//! share = statement time / the route's time, both from the route's latency
//! histogram (`http_route_latency_ms_count` / `_sum`, `origin = otlp`) of
//! the same traces. Routes are matched by fingerprint only: the traces do
//! not say which database a statement ran against.
//!
//! Pure: reads the snapshot it is given.

use std::collections::{BTreeMap, BTreeSet};

use headroom_proto::otlp::attributes::OTHER;
use headroom_proto::otlp::statements::{CALLS, MS};
use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use headroom_proto::signals::postgres::{PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS};

use super::needs::{Need, recent};
use super::{Context, Evidence, Series};

/// The series this module reads (for every rule that calls it).
pub const NEEDS: &[Need] = &[
    recent(CALLS),
    recent(MS),
    recent(&HTTP_ROUTE_LATENCY_MS),
    recent(&PG_STATEMENT_CALLS),
    recent(&PG_STATEMENT_EXEC_MS),
];

/// Text kind holding a statement's fingerprint (16 hex digits), keyed
/// `database/queryid`.
pub const FINGERPRINT_TEXT: &str = "pg_query_fingerprint";

/// Routes named per statement, by the statement's time in them.
pub const MAX_ROUTES: usize = 3;

/// The traced requests' latency histogram, its count and sum.
const ROUTE_LATENCY: &str = HTTP_ROUTE_LATENCY_MS.name;
const ROUTE_LATENCY_COUNT: &str = HTTP_ROUTE_LATENCY_MS.count();
const ROUTE_LATENCY_SUM: &str = HTTP_ROUTE_LATENCY_MS.sum();

/// One route that runs the statement, over the recent window.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteUse {
    pub method: String,
    pub route: String,
    /// The statement's calls in the route's requests.
    pub calls: f64,
    /// Their time, in ms.
    pub statement_ms: f64,
    /// The route's requests.
    pub requests: f64,
    /// The route's total time, in ms.
    pub route_ms: f64,
}

impl RouteUse {
    pub fn calls_per_request(&self) -> f64 {
        self.calls / self.requests
    }

    /// The share of the route's time spent in the statement, at most 1
    /// (calls that overlap can sum beyond the request's time).
    pub fn share(&self) -> f64 {
        (self.statement_ms / self.route_ms).min(1.0)
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.route)
    }
}

/// What the traces say about a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Routes {
    /// No traced request in the window.
    NoTraces,
    /// Requests are traced but no statement in them has a fingerprint.
    NoTracedStatements,
    /// The statement has no fingerprint (unreadable text, or one that does
    /// not parse, or an agent that predates fingerprints).
    NoFingerprint,
    /// Traced requests and fingerprints, but none ran this statement.
    NotTraced,
    /// The routes that ran it, the most time first (at most [`MAX_ROUTES`]).
    Traced(Vec<RouteUse>),
}

/// The routes that ran any of `statements` (`(database, queryid)`, all one
/// recommendation's) over the recent window.
pub fn for_statements(ctx: &Context, statements: &[(&str, &str)]) -> Routes {
    let snap = ctx.snapshot;
    let since = ctx.since();
    let recent = |s: &Series| s.sum_since(since) > 0.0;
    if !snap
        .matching(ROUTE_LATENCY_COUNT, &[("origin", "otlp")])
        .any(recent)
    {
        return Routes::NoTraces;
    }
    if !snap.named(CALLS.name).any(recent) {
        return Routes::NoTracedStatements;
    }
    let fingerprints: BTreeSet<&str> = statements
        .iter()
        .filter_map(|(database, queryid)| {
            snap.text(FINGERPRINT_TEXT, &format!("{database}/{queryid}"))
        })
        .map(|text| text.text.as_str())
        .filter(|text| !text.is_empty())
        .collect();
    if fingerprints.is_empty() {
        return Routes::NoFingerprint;
    }
    let mut by_route: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    for (name, is_calls) in [(CALLS, true), (MS, false)] {
        for series in snap
            .named(name.name)
            .filter(|s| fingerprints.contains(s.label("fingerprint")))
        {
            let entry = by_route
                .entry((series.label("method"), series.label("route")))
                .or_default();
            let value = series.sum_since(since);
            if is_calls {
                entry.0 += value;
            } else {
                entry.1 += value;
            }
        }
    }
    let mut uses: Vec<RouteUse> = by_route
        .into_iter()
        .filter(|(_, (calls, _))| *calls > 0.0)
        .filter_map(|((method, route), (calls, statement_ms))| {
            let labels = [("origin", "otlp"), ("method", method), ("route", route)];
            let sum = |name: &str| -> f64 {
                snap.matching(name, &labels)
                    .map(|s| s.sum_since(since))
                    .sum()
            };
            let requests = sum(ROUTE_LATENCY_COUNT);
            let route_ms = sum(ROUTE_LATENCY_SUM);
            (requests > 0.0 && route_ms > 0.0).then(|| RouteUse {
                method: method.to_owned(),
                route: route.to_owned(),
                calls,
                statement_ms,
                requests,
                route_ms,
            })
        })
        .collect();
    if uses.is_empty() {
        return Routes::NotTraced;
    }
    uses.sort_by(|a, b| {
        b.statement_ms
            .total_cmp(&a.statement_ms)
            .then_with(|| a.name().cmp(&b.name()))
    });
    uses.truncate(MAX_ROUTES);
    Routes::Traced(uses)
}

/// Where a route's statements spend their time, measured on the
/// statements that both its traces and `pg_stat_statements` recorded (met
/// by fingerprint), over the recent window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundTrip {
    /// The route's calls of those statements.
    pub calls: f64,
    /// Their time as the app sees it (the spans), in ms.
    pub app_ms: f64,
    /// Their execution time in PostgreSQL: each statement's mean execution
    /// time there times the route's calls of it, in ms.
    pub server_ms: f64,
}

impl RoundTrip {
    /// Time per statement spent outside PostgreSQL's execution: network
    /// round trips and waits for a pool connection, in ms.
    pub fn gap_per_statement(&self) -> f64 {
        (self.app_ms - self.server_ms) / self.calls
    }
}

/// [`RoundTrip`] of `route` (every method), `None` when none of its traced
/// statements meets a `pg_stat_statements` entry with calls in the window.
pub fn round_trip(ctx: &Context, route: &str) -> Option<RoundTrip> {
    let snap = ctx.snapshot;
    let since = ctx.since();
    // fingerprint -> (calls, ms) in the route's requests.
    let mut traced: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (name, is_calls) in [(CALLS, true), (MS, false)] {
        for series in snap
            .named(name.name)
            .filter(|s| s.label("route") == route && !matches!(s.label("fingerprint"), "" | OTHER))
        {
            let entry = traced.entry(series.label("fingerprint")).or_default();
            let value = series.sum_since(since);
            if is_calls {
                entry.0 += value;
            } else {
                entry.1 += value;
            }
        }
    }
    // fingerprint -> (calls, execution ms) in PostgreSQL, every entry.
    let mut server: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for text in snap.texts(FINGERPRINT_TEXT) {
        let fingerprint = text.text.as_str();
        if !traced.contains_key(fingerprint) {
            continue;
        }
        let Some((database, queryid)) = text.key.rsplit_once('/') else {
            continue;
        };
        let labels = [("database", database), ("queryid", queryid)];
        let sum = |name: &str| -> f64 {
            snap.matching(name, &labels)
                .map(|s| s.sum_since(since))
                .sum()
        };
        let entry = server.entry(fingerprint).or_default();
        entry.0 += sum(PG_STATEMENT_CALLS.name);
        entry.1 += sum(PG_STATEMENT_EXEC_MS.name);
    }
    let mut out = RoundTrip {
        calls: 0.0,
        app_ms: 0.0,
        server_ms: 0.0,
    };
    for (fingerprint, (calls, app_ms)) in traced {
        let Some((server_calls, server_ms)) = server.get(fingerprint).copied() else {
            continue;
        };
        if calls <= 0.0 || server_calls <= 0.0 {
            continue;
        }
        out.calls += calls;
        out.app_ms += app_ms;
        out.server_ms += calls * server_ms / server_calls;
    }
    (out.calls > 0.0).then_some(out)
}

impl Routes {
    /// One sentence for the recommendation's summary.
    pub fn sentence(&self, window_h: f64) -> String {
        match self {
            Routes::NoTraces => {
                "No traces received: which routes run this statement is not known; \
                 send the store's OpenTelemetry traces to the agent's otlp source."
                    .to_owned()
            }
            Routes::NoTracedStatements => "Traces are received, but none of their database spans \
                 has a `db.statement` Headroom could fingerprint: which routes run this statement \
                 is not known."
                .to_owned(),
            Routes::NoFingerprint => "Which routes run this statement is not known: its text was \
                 not readable or does not parse, so it has no fingerprint to meet the traces' \
                 statements."
                .to_owned(),
            Routes::NotTraced => format!(
                "No traced request ran this statement in the last {window_h:.0} h: it runs \
                 outside the traced routes (a worker, a scheduled job) or in requests that \
                 are not traced."
            ),
            Routes::Traced(uses) => {
                let parts: Vec<String> = uses
                    .iter()
                    .map(|u| {
                        format!(
                            "{} per `{}`, {:.0}% of its time",
                            calls(u.calls_per_request()),
                            u.name(),
                            u.share() * 100.0
                        )
                    })
                    .collect();
                format!("Traced requests run it: {}.", parts.join("; "))
            }
        }
    }

    /// `evidence` with each route's figures and latency chart, or a note
    /// saying why there are none.
    pub fn evidence(&self, mut evidence: Evidence, window_h: f64) -> Evidence {
        let Routes::Traced(uses) = self else {
            return evidence.note(self.sentence(window_h));
        };
        for u in uses {
            let name = u.name();
            evidence = evidence
                .fact(
                    &format!("calls per request of {name}"),
                    u.calls_per_request(),
                    "calls",
                )
                .fact(&format!("share of {name} time"), u.share(), "ratio")
                .fact(&format!("requests of {name}"), u.requests, "requests");
            let labels: BTreeMap<String, String> = [
                ("origin".to_owned(), "otlp".to_owned()),
                ("method".to_owned(), u.method.clone()),
                ("route".to_owned(), u.route.clone()),
            ]
            .into();
            evidence = evidence.series(ROUTE_LATENCY, &labels, None);
        }
        evidence
    }
}

/// "20 calls", "1 call", "2.5 calls".
fn calls(per_request: f64) -> String {
    let rounded = per_request.round();
    if (per_request - rounded).abs() < 0.05 {
        let plural = if rounded == 1.0 { "call" } else { "calls" };
        format!("{rounded:.0} {plural}")
    } else {
        format!("{per_request:.1} calls")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::index;
    use crate::advisor::{AdvisorConfig, Finding, Snapshot};
    use crate::analysis::HOUR_MS;
    use crate::store::model::Kind;

    const NOW: i64 = 10 * HOUR_MS;
    const FINGERPRINT: &str = "5d3c1a09e2b7f4c8";
    const LINE_ITEMS: &str = "/store/carts/:id/line-items";

    /// A statement the agent proposes an index for: 200 calls of 40 ms in
    /// the recent window, on a 600,000-row table.
    fn store() -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let t = NOW - 60_000;
        let statement = [("agent", "db"), ("database", "shop"), ("queryid", "42")];
        for (name, value) in [
            ("pg_statement_calls", 200.0),
            ("pg_statement_exec_ms", 200.0 * 40.0),
            ("pg_statement_rows", 200.0),
        ] {
            snap.push(Series::new(name, &statement, Kind::Gauge, vec![(t, value)]));
        }
        snap.push(Series::new(
            "pg_table_rows",
            &[
                ("agent", "db"),
                ("database", "shop"),
                ("schema", "public"),
                ("table", "line_item"),
            ],
            Kind::Gauge,
            vec![(t, 600_000.0)],
        ));
        snap.push_text(
            "pg_query",
            "shop/42",
            "SELECT * FROM line_item WHERE cart_id = $1",
            NOW,
        );
        let candidate = serde_json::json!({
            "database": "shop", "queryid": "42", "schema": "public", "table": "line_item",
            "columns": ["cart_id"], "predicate": "",
            "definition": "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_line_item_cart_id_idx ON public.line_item (cart_id)",
            "method": "hypopg", "cost_before": 12000.0, "cost_after": 8.0, "uses_index": true,
            "table_rows": 600000.0, "timestamp_ms": NOW
        });
        snap.push_text("pg_index_candidate", "shop/42", &candidate.to_string(), NOW);
        snap
    }

    /// Traced requests of `method route`: `requests` of `route_ms` in all,
    /// and the statement `fingerprint` run `calls` times for `statement_ms`.
    fn traced(
        snap: &mut Snapshot,
        (method, route): (&str, &str),
        (requests, route_ms): (f64, f64),
        (fingerprint, calls, statement_ms): (&str, f64, f64),
    ) {
        let t = NOW - 30_000;
        for (status, share) in [("2xx", 0.75), ("5xx", 0.25)] {
            let labels = [
                ("agent", "shop-1"),
                ("origin", "otlp"),
                ("method", method),
                ("route", route),
                ("status_class", status),
            ];
            for (name, value) in [
                ("http_route_latency_ms_count", requests * share),
                ("http_route_latency_ms_sum", route_ms * share),
            ] {
                snap.push(Series::new(name, &labels, Kind::Gauge, vec![(t, value)]));
            }
        }
        let labels = [
            ("agent", "shop-1"),
            ("method", method),
            ("route", route),
            ("fingerprint", fingerprint),
        ];
        snap.push(Series::new(
            CALLS.name,
            &labels,
            Kind::Gauge,
            vec![(t, calls)],
        ));
        snap.push(Series::new(
            MS.name,
            &labels,
            Kind::Gauge,
            vec![(t, statement_ms)],
        ));
    }

    fn advice(snap: &Snapshot) -> Finding {
        let config = AdvisorConfig::default();
        let ctx = Context {
            snapshot: snap,
            headroom: &[],
            config: &config,
        };
        let mut found = index::evaluate(&ctx);
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    #[test]
    fn the_index_advice_names_the_routes_that_run_the_statement_with_calls_and_share() {
        let mut snap = store();
        snap.push_text(FINGERPRINT_TEXT, "shop/42", FINGERPRINT, NOW);
        traced(
            &mut snap,
            ("POST", LINE_ITEMS),
            (10.0, 1_000.0),
            (FINGERPRINT, 200.0, 620.0),
        );
        traced(
            &mut snap,
            ("GET", "/store/carts/:id"),
            (40.0, 2_000.0),
            (FINGERPRINT, 40.0, 100.0),
        );
        traced(
            &mut snap,
            ("GET", "/store/products"),
            (50.0, 900.0),
            ("00000000000000aa", 50.0, 50.0),
        );
        let f = advice(&snap);
        assert!(
            f.summary.contains(
                "Traced requests run it: 20 calls per `POST /store/carts/:id/line-items`, 62% of its time; \
                 1 call per `GET /store/carts/:id`, 5% of its time."
            ),
            "{}",
            f.summary
        );
        assert!(!f.summary.contains("/store/products"));
        let charts: Vec<(&str, Option<&str>)> = f
            .evidence
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.labels.get("route").map(String::as_str)))
            .collect();
        assert!(
            charts.contains(&("pg_statement_mean_exec_ms", None)),
            "{charts:?}"
        );
        assert!(
            charts.contains(&("http_route_latency_ms", Some(LINE_ITEMS))),
            "{charts:?}"
        );
        let fact = |name: &str| {
            f.evidence
                .facts
                .iter()
                .find(|x| x.name == name)
                .map(|x| x.value)
        };
        assert_eq!(
            fact("calls per request of POST /store/carts/:id/line-items"),
            Some(20.0)
        );
        assert_eq!(
            fact("share of POST /store/carts/:id/line-items time"),
            Some(0.62)
        );
    }

    #[test]
    fn at_most_three_routes_are_named_the_most_statement_time_first() {
        let mut snap = store();
        snap.push_text(FINGERPRINT_TEXT, "shop/42", FINGERPRINT, NOW);
        for (i, route) in ["/a", "/b", "/c", "/d"].into_iter().enumerate() {
            let ms = 10.0 * (i + 1) as f64;
            traced(
                &mut snap,
                ("GET", route),
                (1.0, 100.0),
                (FINGERPRINT, 1.0, ms),
            );
        }
        let config = AdvisorConfig::default();
        let ctx = Context {
            snapshot: &snap,
            headroom: &[],
            config: &config,
        };
        let Routes::Traced(uses) = for_statements(&ctx, &[("shop", "42")]) else {
            panic!("traced");
        };
        let routes: Vec<&str> = uses.iter().map(|u| u.route.as_str()).collect();
        assert_eq!(routes, ["/d", "/c", "/b"]);
    }

    #[test]
    fn without_traces_the_advice_says_so_and_how_to_send_them() {
        let f = advice(&store());
        assert!(
            f.summary.contains(
                "No traces received: which routes run this statement is not known; \
                 send the store's OpenTelemetry traces to the agent's otlp source."
            ),
            "{}",
            f.summary
        );
        assert!(
            f.evidence
                .notes
                .iter()
                .any(|n| n.starts_with("No traces received"))
        );
        assert!(
            !f.evidence
                .series
                .iter()
                .any(|s| s.name == "http_route_latency_ms")
        );
    }

    #[test]
    fn traces_that_do_not_run_the_statement_or_a_statement_without_fingerprint_are_told_apart() {
        let mut snap = store();
        traced(
            &mut snap,
            ("GET", "/store/products"),
            (50.0, 900.0),
            ("00000000000000aa", 50.0, 50.0),
        );
        assert!(advice(&snap).summary.contains("it has no fingerprint"));
        snap.push_text(FINGERPRINT_TEXT, "shop/42", FINGERPRINT, NOW);
        assert!(
            advice(&snap)
                .summary
                .contains("No traced request ran this statement in the last 1 h")
        );
        let mut untraced_statements = store();
        untraced_statements.push_text(FINGERPRINT_TEXT, "shop/42", FINGERPRINT, NOW);
        traced(
            &mut untraced_statements,
            ("GET", "/a"),
            (5.0, 50.0),
            (FINGERPRINT, 0.0, 0.0),
        );
        untraced_statements.series.retain(|s| s.name != CALLS.name);
        assert!(
            advice(&untraced_statements)
                .summary
                .contains("none of their database spans has a `db.statement`")
        );
    }

    #[test]
    fn calls_per_request_read_as_words() {
        assert_eq!(calls(20.0), "20 calls");
        assert_eq!(calls(1.01), "1 call");
        assert_eq!(calls(2.5), "2.5 calls");
    }
}
