//! Rule `app`: checkout latency against its SLO, chatty routes, latency
//! regressions, the server/worker split and instrumentation overhead.
//!
//! Symptoms and fixes, from what slows real Medusa stores (MEDUSA.md):
//! - checkout p95 (`POST /store/carts/:id/complete`) near or over its
//!   objective: every slow checkout is an abandoned cart in waiting;
//! - routes issuing dozens of SQL statements per request (refetching whole
//!   entities after updates), each paying a round trip: batch, stop
//!   refetching. Whether the app and the database are far apart is never
//!   asserted: spans carry the client-side time of each statement but not
//!   its server-side execution time, and `pg_stat_statements` cannot say
//!   which statements a route ran, so the finding states both figures and
//!   what to check;
//! - a route's p95 stepping up at a changepoint (an upgrade, a deploy);
//! - background workflow steps on a busy CPU: run Medusa as a server and a
//!   worker (`MEDUSA_WORKER_MODE`). Background work must be seen: workflow
//!   step time in intervals (and their neighbours) where no request was
//!   served; steps inside requests never count as background;
//! - the app exporting one span per request to the collector
//!   (`registerOtel`'s default SimpleSpanProcessor), which added about 60%
//!   to request latency in the lab: batch the export.

use std::collections::{BTreeMap, BTreeSet};

use headroom_proto::signals::host::HOST_CPU_SECONDS_TOTAL;
use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use headroom_proto::signals::otlp::{
    OTLP_EXPORTS_TOTAL, OTLP_ROUTE_DB_STATEMENTS_TOTAL, OTLP_ROUTE_DB_TIME_MS_TOTAL,
    OTLP_ROUTE_REQUESTS_TOTAL, OTLP_SPANS_RECEIVED_TOTAL, OTLP_STEP_DURATION_MS_TOTAL,
};

use serde::{Deserialize, Serialize};

use super::helpers::labels;
use crate::advisor::needs::{Need, lookback, recent};
use crate::advisor::snapshot::Series;
use crate::advisor::{
    Context, Evidence, Finding, RecKind, Severity, describe_eta, level_confidence, resources,
    routes, statements,
};
use crate::analysis::{self, DAY_MS, MINUTE_MS};
use crate::timefmt::rfc3339_seconds;

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.3: below it a finding rests on a handful of points: checkout p95 needs `checkout_min_points`, chatty routes `chatty_min_requests`, the worker split several request-free intervals with background work.
/// The series this rule reads (p95 regressions over the look-back).
pub const NEEDS: &[Need] = &[
    lookback(&HTTP_ROUTE_LATENCY_MS),
    recent(&HOST_CPU_SECONDS_TOTAL),
    recent(&OTLP_ROUTE_REQUESTS_TOTAL),
    recent(&OTLP_ROUTE_DB_STATEMENTS_TOTAL),
    recent(&OTLP_ROUTE_DB_TIME_MS_TOTAL),
    recent(&OTLP_STEP_DURATION_MS_TOTAL),
    recent(&OTLP_EXPORTS_TOTAL),
    recent(&OTLP_SPANS_RECEIVED_TOTAL),
];

pub const MIN_CONFIDENCE: f64 = 0.3;

/// Key prefix of the checkout-SLO finding (`checkout_slo:<route>`), a
/// symptom the fold folds into an advised cause.
pub const CHECKOUT_SLO_KEY: &str = "checkout_slo:";
/// Key prefix of a route's regression finding (`regression:<route>`).
pub const REGRESSION_KEY: &str = "regression:";
/// Key of the server/worker split finding.
pub const WORKER_SPLIT_KEY: &str = "worker_split";

/// Statement calls a route's round trip must be measured on (traced and
/// recorded by pg_stat_statements) before its figure replaces the
/// unattributed comparison with every statement's mean.
const MIN_ROUND_TRIP_CALLS: f64 = 20.0;

/// The label of routes beyond the agents' label caps: a mix, not a route.
const OTHER_ROUTE: &str = "other";

/// Thresholds of the `app` rule (`[advisor.app]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Checkout p95 forecast to reach the SLO within this many days is a
    /// warning. Default 14.
    pub checkout_eta_days: f64,
    /// Checkout p95 at this share of the SLO or more is a warning (over the
    /// SLO is critical). Default 0.8.
    pub checkout_warn_utilization: f64,
    /// Fewer p95 points than this say nothing about checkout. Default 6.
    pub checkout_min_points: usize,
    /// A route issuing this many SQL statements per request or more is
    /// chatty. Default 50.
    pub chatty_statements_per_request: f64,
    /// … judged only with at least this many requests in the recent window.
    /// Default 20.
    pub chatty_min_requests: f64,
    /// Client-seen time per statement (spans) exceeding PostgreSQL's mean
    /// execution time (bulk work excluded) by this much (ms) is pointed out
    /// as worth checking (network distance, pool waits, slower statements);
    /// never asserted as a cause. Default 1.
    pub remote_database_gap_ms: f64,
    /// A changepoint this recent (days) can be a regression. Default 7.
    pub regression_window_days: f64,
    /// p95 after / before a changepoint at or above this is a regression.
    /// Default 1.5.
    pub regression_ratio: f64,
    /// Host CPU utilization (of its headroom) from which background work
    /// competes with requests. Default 0.7.
    pub worker_cpu_utilization: f64,
    /// Share of the app's time (requests + background steps) spent in
    /// background workflow steps from which they are worth a worker of their
    /// own. Default 0.25.
    pub worker_background_share: f64,
    /// Fewer request-free intervals with workflow step time than this are
    /// no evidence that background work exists. Default 3.
    pub worker_min_background_intervals: usize,
    /// At most this many spans per OTLP export means one export per span.
    /// Default 1.5.
    pub max_spans_per_export: f64,
    /// … judged only with at least this many exports in the recent window.
    /// Default 100.
    pub min_exports: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            checkout_eta_days: 14.0,
            checkout_warn_utilization: 0.8,
            checkout_min_points: 6,
            chatty_statements_per_request: 50.0,
            chatty_min_requests: 20.0,
            remote_database_gap_ms: 1.0,
            regression_window_days: 7.0,
            regression_ratio: 1.5,
            worker_cpu_utilization: 0.7,
            worker_background_share: 0.25,
            worker_min_background_intervals: 3,
            max_spans_per_export: 1.5,
            min_exports: 100.0,
        }
    }
}

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(checkout_slo(ctx));
    out.extend(chatty_routes(ctx));
    out.extend(regressions(ctx));
    out.extend(worker_split(ctx));
    out.extend(span_export(ctx));
    out
}

/// Checkout p95 against the SLO, from the headroom table.
fn checkout_slo(ctx: &Context) -> Option<Finding> {
    let config = &ctx.config.app;
    let now = ctx.snapshot.now_ms;
    let route = &ctx.config.resources.checkout_route;
    let h = ctx
        .headroom
        .iter()
        .find(|h| h.resource.starts_with("checkout p95 latency"))?;
    if h.samples < config.checkout_min_points {
        return None;
    }
    let horizon_ms = (config.checkout_eta_days * DAY_MS as f64) as i64;
    let soon = h.credible_eta_ms().filter(|&eta| eta - now <= horizon_ms);
    let over = h.current > h.limit;
    if !over && soon.is_none() && h.utilization < config.checkout_warn_utilization {
        return None;
    }
    let slo = h.limit;
    let p95 = h.current;
    let (severity, title, consequence) = if over {
        (
            Severity::Critical,
            "Checkout p95 is over its objective",
            "Shoppers already wait longer than the objective at checkout; slow checkouts turn into abandoned carts, and the tail grows with traffic.".to_owned(),
        )
    } else if let Some(eta) = soon {
        (
            Severity::Warning,
            "Checkout p95 is heading for its objective",
            format!(
                "At its current growth it reaches the objective {} (between {} and {}); after that checkouts slow down for every shopper.",
                describe_eta(now, eta),
                describe_eta(now, h.eta_earliest_ms.unwrap_or(eta)),
                h.eta_latest_ms
                    .map_or_else(|| "later".to_owned(), |t| describe_eta(now, t)),
            ),
        )
    } else {
        (
            Severity::Warning,
            "Checkout p95 is close to its objective",
            "Little margin is left: a traffic peak, a bigger catalog or a slower release takes it over the objective.".to_owned(),
        )
    };
    let mut evidence = Evidence::default()
        .against("checkout p95", p95, "ms", slo)
        .against(
            "share of the objective",
            h.utilization,
            "ratio",
            config.checkout_warn_utilization,
        )
        .fact("history", h.history_ms as f64 / DAY_MS as f64, "days")
        .series(
            HTTP_ROUTE_LATENCY_MS.name,
            &labels(&[("route", route)]),
            Some(slo),
        );
    if let Some(slope) = h.trend_per_day {
        evidence = evidence.fact("growth", slope, "ms/day");
    }
    if let Some(eta) = h.eta_ms {
        evidence = evidence.against(
            "days until the objective",
            (eta - now) as f64 / DAY_MS as f64,
            "days",
            config.checkout_eta_days,
        );
    }
    Some(Finding {
        kind: RecKind::App,
        key: format!("{CHECKOUT_SLO_KEY}{route}"),
        severity,
        title: title.to_owned(),
        summary: format!(
            "p95 of {route} is {p95:.0} ms against an objective of {slo:.0} ms. {consequence}"
        ),
        action: format!(
            "Find where {route} spends its time: its SQL statements per request and their round trips (see the chatty-route findings), cart-completion lock waits, payment-provider calls inside the complete-cart workflow, and span export overhead; fix the largest first, then confirm p95 falls below {slo:.0} ms here."
        ),
        evidence,
        // Over or near the objective is a level measured now; an ETA is a forecast.
        confidence: if soon.is_some() && !over && h.utilization < config.checkout_warn_utilization {
            h.confidence
        } else {
            h.confidence.max(level_confidence(h.samples))
        },
    })
}

/// Routes issuing many statements per request: what the spans measured
/// (statements, their client-side time) beside PostgreSQL's mean execution
/// time with bulk work set apart. The difference is not attributed to a
/// cause: the spans carry no server time, and the server's mean is over
/// every statement, not this route's.
fn chatty_routes(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.app;
    let snap = ctx.snapshot;
    let now = snap.now_ms;
    let since = now - ctx.config.recent_ms();
    let workload = statements::workload(snap, since, &[]);
    let server_mean = workload.mean_ms();
    let mut out = Vec::new();
    for requests in snap.named(OTLP_ROUTE_REQUESTS_TOTAL.name) {
        if requests.fresh(now, ctx.config.stale_ms()).is_none() {
            continue;
        }
        let (agent, route) = (requests.label("agent"), requests.label("route"));
        if route == OTHER_ROUTE {
            continue;
        }
        let pair = [("agent", agent), ("route", route)];
        let n = requests.increase_since(since);
        let Some(statements) = snap.find(OTLP_ROUTE_DB_STATEMENTS_TOTAL.name, &pair) else {
            continue;
        };
        let stmts = statements.increase_since(since);
        if n < config.chatty_min_requests || n <= 0.0 {
            continue;
        }
        let per_request = stmts / n;
        if per_request < config.chatty_statements_per_request {
            continue;
        }
        let db_ms = snap
            .find(OTLP_ROUTE_DB_TIME_MS_TOTAL.name, &pair)
            .map(|s| s.increase_since(since))
            .filter(|_| stmts > 0.0);
        let client_ms = db_ms.map(|ms| ms / stmts);
        // Measured on the same statements when the traces and
        // pg_stat_statements meet by fingerprint; otherwise the route's
        // average against every statement's mean, not attributed.
        let measured = routes::round_trip(ctx, route).filter(|r| r.calls >= MIN_ROUND_TRIP_CALLS);
        let gap = match measured {
            Some(r) => Some(r.gap_per_statement()),
            None => client_ms.zip(server_mean).map(|(c, s)| c - s),
        };
        let worth_checking = gap.is_some_and(|g| g >= config.remote_database_gap_ms);
        let route_labels = labels(&pair);
        let mut evidence = Evidence::default()
            .against(
                "SQL statements per request",
                per_request,
                "statements",
                config.chatty_statements_per_request,
            )
            .against(
                "requests in the recent window",
                n,
                "requests",
                config.chatty_min_requests,
            )
            .series(OTLP_ROUTE_DB_STATEMENTS_TOTAL.name, &route_labels, None)
            .series(OTLP_ROUTE_REQUESTS_TOTAL.name, &route_labels, None);
        if let (Some(total), Some(each)) = (db_ms, client_ms) {
            evidence = evidence
                .fact(
                    "SQL time per request as the app sees it (spans)",
                    total / n,
                    "ms",
                )
                .fact("time per statement as the app sees it (spans)", each, "ms")
                .series(OTLP_ROUTE_DB_TIME_MS_TOTAL.name, &route_labels, None);
        }
        if let Some(s) = server_mean {
            evidence = evidence.fact(
                "PostgreSQL's mean execution time per statement, every route (bulk work excluded)",
                s,
                "ms",
            );
        }
        match (measured, gap) {
            (Some(r), Some(g)) => {
                evidence = evidence
                    .fact(
                        "statement calls seen by both the traces and pg_stat_statements",
                        r.calls,
                        "calls",
                    )
                    .fact(
                        "their time per statement as the app sees it (spans)",
                        r.app_ms / r.calls,
                        "ms",
                    )
                    .fact(
                        "their execution time per statement in PostgreSQL",
                        r.server_ms / r.calls,
                        "ms",
                    )
                    .against(
                        "time per statement between the app and PostgreSQL (measured)",
                        g,
                        "ms",
                        config.remote_database_gap_ms,
                    );
            }
            (None, Some(g)) => {
                evidence = evidence.against(
                    "app-seen minus PostgreSQL mean time per statement (not attributed)",
                    g,
                    "ms",
                    config.remote_database_gap_ms,
                );
            }
            _ => {}
        }
        if let Some(mean) = mean_latency(ctx, route, since) {
            evidence = evidence.fact("mean request time", mean, "ms");
            if let Some(total) = db_ms.filter(|_| mean > 0.0) {
                evidence = evidence.fact(
                    "share of request time in SQL statements (spans)",
                    (total / n / mean).min(1.0),
                    "ratio",
                );
            }
        }
        if let Some(note) = workload.exclusion_note() {
            evidence = evidence.note(note);
        }
        evidence = evidence.note(if measured.is_some() {
            "Measured on the statements this route ran that pg_stat_statements also recorded, met by fingerprint: the spans' time per statement less PostgreSQL's execution time of the same statements is spent between the app and the database (network round trips and waits for a pool connection, which spans do not tell apart)."
        } else {
            "Spans carry each statement's time as the app sees it (network, pool wait and execution together), not PostgreSQL's execution time, and no statement of this route met a pg_stat_statements entry by fingerprint: where the time goes between the two is not measured here."
        });
        let seen = match (db_ms, client_ms) {
            (Some(total), Some(each)) => format!(
                " As the app sees them they take {:.0} ms per request, {each:.2} ms each.",
                total / n
            ),
            _ => String::new(),
        };
        let check = match (measured, client_ms, server_mean, worth_checking) {
            (Some(r), _, _, true) => format!(
                " Measured on {:.0} of its statement calls that pg_stat_statements also recorded, they take {:.2} ms each as the app sees them against {:.2} ms of execution in PostgreSQL: {:.2} ms per statement, about {:.0} ms per request, is spent between the app and the database (network round trips or waits for a pool connection).",
                r.calls,
                r.app_ms / r.calls,
                r.server_ms / r.calls,
                r.gap_per_statement(),
                r.gap_per_statement() * per_request
            ),
            (Some(r), _, _, false) => format!(
                " Measured on {:.0} of its statement calls that pg_stat_statements also recorded, only {:.2} ms per statement is spent between the app and the database: what costs is the number of statements, not the distance to the database.",
                r.calls,
                r.gap_per_statement()
            ),
            (None, Some(c), Some(s), true) => format!(
                " That is {:.2} ms more per statement than PostgreSQL's mean execution time ({s:.2} ms, bulk work excluded): network round trips, waits for a pool connection, or this route's statements being slower than the average. Headroom cannot tell which from here.",
                c - s
            ),
            _ => String::new(),
        };
        let mut action = format!(
            "Reduce the statements {route} issues: load related data in one query.graph call instead of one query per entity, and do not refetch whole entities after updating them (Medusa's variant and cart updates are known to); batch writes in one statement."
        );
        if worth_checking {
            action.push_str(" To see where the per-statement time goes, compare the app's time per statement with pg_stat_statements' mean_exec_time for the statements this route runs; measure the round trip from the app's host (`psql -h <db host> -c '\\timing' -c 'SELECT 1'`) and the pool's waits. If the app runs in another zone or region than the database, moving them together cuts every round trip.");
        }
        out.push(Finding {
            kind: RecKind::App,
            key: format!("chatty:{route}"),
            severity: Severity::Info,
            title: format!("{route} issues {per_request:.0} SQL statements per request"),
            summary: format!(
                "{route} issues {per_request:.0} SQL statements per request (threshold {:.0}), over {n:.0} requests in the recent window.{seen}{check} Left alone, its latency grows with every item, variant and line the request touches.",
                config.chatty_statements_per_request
            ),
            action,
            evidence,
            confidence: 0.4 + 0.5 * (n / 200.0).min(1.0),
        });
    }
    out
}

/// Mean request time of `route` since `since`, from the latency histogram.
fn mean_latency(ctx: &Context, route: &str, since: i64) -> Option<f64> {
    let total = |name| -> f64 {
        ctx.snapshot
            .matching(name, &[("route", route)])
            .map(|s| s.sum_since(since))
            .sum()
    };
    let count = total(HTTP_ROUTE_LATENCY_MS.count());
    (count > 0.0).then(|| total(HTTP_ROUTE_LATENCY_MS.sum()) / count)
}

/// p95 steps up at a recent changepoint, per route.
fn regressions(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.app;
    let snap = ctx.snapshot;
    let now = snap.now_ms;
    let window_start = now - (config.regression_window_days * DAY_MS as f64) as i64;
    let routes: BTreeSet<&str> = snap
        .named(HTTP_ROUTE_LATENCY_MS.bucket())
        .map(|s| s.label("route"))
        .filter(|r| *r != OTHER_ROUTE)
        .collect();
    let mut out = Vec::new();
    for route in routes {
        let p95 = resources::route_quantile_series(
            snap,
            HTTP_ROUTE_LATENCY_MS.name,
            route,
            0.95,
            ctx.config.resources.min_requests_per_point,
        );
        if p95
            .last()
            .is_none_or(|&(t, _)| now - t > ctx.config.stale_ms())
        {
            continue;
        }
        let analysis = analysis::analyze(&p95);
        let recent: Vec<_> = analysis
            .changepoints
            .iter()
            .filter(|c| c.t_ms >= window_start)
            .collect();
        let (Some(first), Some(last)) = (recent.first(), recent.last()) else {
            continue;
        };
        if first.before <= 0.0 {
            continue;
        }
        let ratio = last.after / first.before;
        if ratio < config.regression_ratio {
            continue;
        }
        let at = recent
            .iter()
            .find(|c| c.after > c.before)
            .map_or(first.t_ms, |c| c.t_ms);
        let points_after = p95.iter().filter(|p| p.0 >= at).count();
        let evidence = Evidence::default()
            .fact("p95 before", first.before, "ms")
            .fact("p95 after", last.after, "ms")
            .against("after / before", ratio, "ratio", config.regression_ratio)
            .fact("points since the change", points_after as f64, "points")
            .series(HTTP_ROUTE_LATENCY_MS.name, &labels(&[("route", route)]), None)
            .note(format!("Changepoint at {} (UTC).", rfc3339_seconds(at)))
            .note("Version labels (service.version) are not collected yet: compare the time with your deploys and upgrades.");
        out.push(Finding {
            kind: RecKind::App,
            key: format!("{REGRESSION_KEY}{route}"),
            severity: Severity::Warning,
            title: format!("{route} got {ratio:.1}× slower"),
            summary: format!(
                "p95 of {route} went from {:.0} ms to {:.0} ms at {} ({ratio:.1}×, threshold {:.1}×) and has stayed there. Left alone, it becomes the new normal and the next regression stacks on top.",
                first.before,
                last.after,
                rfc3339_seconds(at),
                config.regression_ratio
            ),
            action: format!(
                "Compare with your deploys around {}: if a release or a Medusa upgrade went out then, diff its changes to {route} (queries issued, workflows, middleware) or roll back to confirm; otherwise check what else changed then (data volume, a migration, a plugin).",
                rfc3339_seconds(at)
            ),
            evidence,
            confidence: 0.6 + 0.3 * (points_after as f64 / 48.0).min(1.0),
        });
    }
    out
}

/// Counter growth per point time since `since`, summed over `series`
/// (through resets); every point time in the window is present.
fn increases<'a>(series: impl Iterator<Item = &'a Series>, since: i64) -> BTreeMap<i64, f64> {
    let mut out: BTreeMap<i64, f64> = BTreeMap::new();
    for s in series {
        let start = s.points.partition_point(|&(t, _)| t < since);
        if let Some(&(t, _)) = s.points.get(start).filter(|_| start == 0) {
            out.entry(t).or_default();
        }
        for pair in s.points[start.saturating_sub(1)..].windows(2) {
            let ((_, before), (t, after)) = (pair[0], pair[1]);
            *out.entry(t).or_default() += if after >= before {
                after - before
            } else {
                after
            };
        }
    }
    out
}

/// Background workflow steps on a busy host. Background work must be seen:
/// workflow step time in intervals where neither they nor their
/// neighbours served a request (steps run inside requests, and the few
/// seconds a request's trace waits before it is counted, never count).
fn worker_split(ctx: &Context) -> Option<Finding> {
    let config = &ctx.config.app;
    let snap = ctx.snapshot;
    let now = snap.now_ms;
    let recent_ms = ctx.config.recent_ms();
    let since = now - recent_ms;
    let cpu = ctx
        .headroom
        .iter()
        .filter(|h| h.resource.starts_with("host cpu ("))
        .max_by(|a, b| a.utilization.total_cmp(&b.utilization))?;
    if cpu.utilization < config.worker_cpu_utilization {
        return None;
    }
    let steps: Vec<&Series> = snap
        .named(OTLP_STEP_DURATION_MS_TOTAL.name)
        .filter(|s| s.fresh(now, ctx.config.stale_ms()).is_some())
        .collect();
    let step_ms: f64 = steps.iter().map(|s| s.increase_since(since)).sum();
    let request_ms: f64 = snap
        .matching(HTTP_ROUTE_LATENCY_MS.sum(), &[("origin", "otlp")])
        .map(|s| s.sum_since(since))
        .sum();
    if step_ms <= 0.0 || request_ms <= 0.0 {
        return None;
    }
    let step_by_t = increases(steps.iter().copied(), since);
    let requests_by_t = increases(snap.named(OTLP_ROUTE_REQUESTS_TOTAL.name), since);
    let times: Vec<i64> = requests_by_t.keys().copied().collect();
    let idle = |i: usize| requests_by_t.get(&times[i]).is_some_and(|&n| n <= 0.0);
    let mut background_ms = 0.0;
    let mut intervals = 0usize;
    for i in 0..times.len() {
        let quiet = idle(i) && (i == 0 || idle(i - 1)) && (i + 1 == times.len() || idle(i + 1));
        let step = step_by_t.get(&times[i]).copied().unwrap_or(0.0);
        if quiet && step > 0.0 {
            background_ms += step;
            intervals += 1;
        }
    }
    if intervals < config.worker_min_background_intervals {
        return None;
    }
    let share = background_ms / (background_ms + request_ms);
    if share < config.worker_background_share {
        return None;
    }
    let minutes = recent_ms as f64 / MINUTE_MS as f64;
    let mut evidence = Evidence::default()
        .against("host CPU utilization", cpu.utilization, "ratio", config.worker_cpu_utilization)
        .against(
            "request-free intervals with workflow step time",
            intervals as f64,
            "intervals",
            config.worker_min_background_intervals as f64,
        )
        .fact("workflow step time with no request in flight, per minute", background_ms / minutes, "ms/min")
        .fact("request time per minute", request_ms / minutes, "ms/min")
        .against("background share of app time (at least)", share, "ratio", config.worker_background_share)
        .series(HTTP_ROUTE_LATENCY_MS.name, &labels(&[("origin", "otlp")]), None)
        .series(HOST_CPU_SECONDS_TOTAL.name, &labels(&[("agent", agent_of(&cpu.resource))]), None)
        .note("Background work counts only workflow step time in intervals where neither they nor their neighbours served a request, so it is a lower bound; steps run inside requests never count.")
        .note("If server and worker already run apart on this host, the split needs another host to help.");
    for s in steps.iter().take(5) {
        evidence = evidence.series(OTLP_STEP_DURATION_MS_TOTAL.name, &s.labels, None);
    }
    let k = intervals as f64;
    Some(Finding {
        kind: RecKind::App,
        key: WORKER_SPLIT_KEY.to_owned(),
        severity: Severity::Warning,
        title: "Background workflows run on a busy CPU".to_owned(),
        summary: format!(
            "Workflow steps ran with no request in flight in {intervals} intervals of the recent window, at least {:.0}% of the app's time, while the host's CPU is at {:.0}% (threshold {:.0}%). Whenever subscribers, scheduled jobs or imports run, they take CPU that requests need.",
            share * 100.0,
            cpu.utilization * 100.0,
            config.worker_cpu_utilization * 100.0
        ),
        action: "Run Medusa as two processes: one with MEDUSA_WORKER_MODE=server (HTTP only) and one with MEDUSA_WORKER_MODE=worker (subscribers, scheduled jobs, workflows), with the Redis event bus and workflow engine modules so they share work; give the worker its own CPU (another host or container limits). Check first which process uses the CPU (`top`, per process): if it is PostgreSQL, the split will not help.".to_owned(),
        evidence,
        confidence: (k / (k + 3.0))
            .min(level_confidence(cpu.samples))
            .min(0.7),
    })
}

/// `"kind (agent)"` → `agent`.
fn agent_of(resource: &str) -> &str {
    resource
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or("")
}

/// One span per OTLP export: the SimpleSpanProcessor.
fn span_export(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.app;
    let snap = ctx.snapshot;
    let now = snap.now_ms;
    let since = now - ctx.config.recent_ms();
    let mut out = Vec::new();
    for exports in snap.named(OTLP_EXPORTS_TOTAL.name) {
        if exports.fresh(now, ctx.config.stale_ms()).is_none() {
            continue;
        }
        let agent = exports.label("agent");
        let Some(spans) = snap.find(OTLP_SPANS_RECEIVED_TOTAL.name, &[("agent", agent)]) else {
            continue;
        };
        let n = exports.increase_since(since);
        if n < config.min_exports || n <= 0.0 {
            continue;
        }
        let per_export = spans.increase_since(since) / n;
        if per_export > config.max_spans_per_export {
            continue;
        }
        let agent_labels = labels(&[("agent", agent)]);
        out.push(Finding {
            kind: RecKind::App,
            key: format!("span_export:{agent}"),
            severity: Severity::Warning,
            title: "The app exports its traces one span at a time".to_owned(),
            summary: format!(
                "The app sent {n:.0} trace exports carrying {per_export:.2} spans each in the last {:.0} minutes (threshold {:.1}): the pattern of a SimpleSpanProcessor, registerOtel's default, which sends every span as it ends. In the lab this added about 60% to request latency; it stays that way until the processor is changed.",
                ctx.config.recent_ms() as f64 / MINUTE_MS as f64,
                config.max_spans_per_export
            ),
            action: "In instrumentation.ts, keep registerOtel and the exporter you pass it, but also pass the spanProcessors option holding one BatchSpanProcessor that wraps that same exporter (BatchSpanProcessor is exported by @medusajs/framework/opentelemetry/sdk-trace-node; its defaults, up to 512 spans every 5 seconds, are fine): the SDK then uses it instead of the SimpleSpanProcessor. Redeploy and check here that spans per export rises well above 1.".to_owned(),
            evidence: Evidence::default()
                .against("spans per export", per_export, "spans", config.max_spans_per_export)
                .against("exports in the recent window", n, "exports", config.min_exports)
                .series(OTLP_EXPORTS_TOTAL.name, &agent_labels, None)
                .series(OTLP_SPANS_RECEIVED_TOTAL.name, &agent_labels, None),
            confidence: 0.6 + 0.35 * (n / 1_000.0).min(1.0),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::testing::{keys, run_rule_with};
    use crate::advisor::{AdvisorConfig, Series, Snapshot};
    use crate::analysis::HOUR_MS;
    use crate::analysis::headroom::Headroom;
    use crate::store::model::Kind;

    const NOW: i64 = 30 * DAY_MS;
    const CHECKOUT: &str = "/store/carts/:id/complete";

    fn run_with(snap: &Snapshot, headroom: &[Headroom], config: &AdvisorConfig) -> Vec<Finding> {
        run_rule_with(evaluate, snap, headroom, config)
    }

    fn run(snap: &Snapshot, headroom: &[Headroom]) -> Vec<Finding> {
        run_with(snap, headroom, &AdvisorConfig::default())
    }

    fn headroom(
        resource: &str,
        current: f64,
        limit: f64,
        eta_days: Option<f64>,
        samples: usize,
    ) -> Headroom {
        let eta = eta_days.map(|d| NOW + (d * DAY_MS as f64) as i64);
        Headroom {
            resource: resource.to_owned(),
            current,
            limit,
            utilization: current / limit,
            trend_per_day: eta.map(|_| 10.0),
            eta_ms: eta,
            eta_earliest_ms: eta.map(|t| t - DAY_MS),
            eta_latest_ms: eta.map(|t| t + DAY_MS),
            confidence: 0.7,
            samples,
            history_ms: 10 * DAY_MS,
        }
    }

    fn checkout(current: f64, eta_days: Option<f64>) -> Vec<Headroom> {
        vec![headroom(
            &format!("checkout p95 latency ({CHECKOUT})"),
            current,
            2_000.0,
            eta_days,
            240,
        )]
    }

    // --- checkout SLO ---

    #[test]
    fn checkout_over_its_slo_is_critical() {
        let findings = run(&Snapshot::at(NOW), &checkout(2_001.0, None));
        assert_eq!(keys(&findings), [format!("checkout_slo:{CHECKOUT}")]);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.evidence.series[0].name, "http_route_latency_ms");
        assert_eq!(f.evidence.series[0].labels["route"], CHECKOUT);
        assert_eq!(f.evidence.series[0].threshold, Some(2_000.0));
    }

    #[test]
    fn checkout_exactly_at_its_slo_is_a_warning_not_yet_critical() {
        let findings = run(&Snapshot::at(NOW), &checkout(2_000.0, None));
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn checkout_utilization_below_at_and_above_the_warning_share() {
        assert!(run(&Snapshot::at(NOW), &checkout(1_598.0, None)).is_empty());
        let at = run(&Snapshot::at(NOW), &checkout(1_600.0, None));
        assert_eq!(at.len(), 1);
        assert_eq!(at[0].severity, Severity::Warning);
        assert!(at[0].title.contains("close to"));
        assert_eq!(run(&Snapshot::at(NOW), &checkout(1_700.0, None)).len(), 1);
    }

    #[test]
    fn checkout_eta_below_at_and_beyond_the_horizon() {
        let soon = run(&Snapshot::at(NOW), &checkout(1_000.0, Some(13.0)));
        assert_eq!(soon.len(), 1);
        assert!(
            soon[0].summary.contains("in 13 days"),
            "{}",
            soon[0].summary
        );
        assert_eq!(
            run(&Snapshot::at(NOW), &checkout(1_000.0, Some(14.0))).len(),
            1
        );
        assert!(run(&Snapshot::at(NOW), &checkout(1_000.0, Some(15.0))).is_empty());
    }

    #[test]
    fn checkout_with_too_few_points_says_nothing() {
        let mut few = checkout(3_000.0, None);
        few[0].samples = 5;
        assert!(run(&Snapshot::at(NOW), &few).is_empty());
        few[0].samples = 6;
        assert_eq!(run(&Snapshot::at(NOW), &few).len(), 1);
    }

    #[test]
    fn checkout_over_its_slo_on_young_data_is_trusted_from_its_points() {
        let mut young = checkout(2_500.0, None);
        young[0].confidence = 0.0;
        young[0].samples = 60;
        let f = &run(&Snapshot::at(NOW), &young)[0];
        assert!(f.confidence >= MIN_CONFIDENCE, "{}", f.confidence);
        // An ETA alone stays a forecast: its confidence is the table's.
        let mut eta = checkout(1_000.0, Some(10.0));
        eta[0].confidence = 0.25;
        assert_eq!(run(&Snapshot::at(NOW), &eta)[0].confidence, 0.25);
    }

    #[test]
    fn other_resources_are_not_checkout() {
        let other = vec![headroom("host cpu (a)", 3.0, 2.0, None, 240)];
        assert!(run(&Snapshot::at(NOW), &other).is_empty());
    }

    #[test]
    fn checkout_slo_is_read_from_the_computed_headroom() {
        let mut snap = Snapshot::at(NOW);
        // p95 ≈ 2,495 ms for 48 hours: over the 2,000 ms objective.
        add_latency(&mut snap, CHECKOUT, 48, |_| 2_500);
        let config = AdvisorConfig::default();
        let table = resources::compute(&snap, &config.resources, config.stale_ms());
        let findings: Vec<_> = run(&snap, &table)
            .into_iter()
            .filter(|f| f.key.starts_with("checkout_slo"))
            .collect();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Critical);
    }

    // --- chatty routes ---

    /// Counter going from 0 (90 minutes ago) to `value` now.
    fn counter(snap: &mut Snapshot, name: &str, labels: &[(&str, &str)], value: f64) {
        snap.push(Series::new(
            name,
            labels,
            Kind::Counter,
            vec![(NOW - 90 * MINUTE_MS, 0.0), (NOW, value)],
        ));
    }

    /// A route with `requests` requests, `per_request` statements each and
    /// `client_ms` client-seen time per statement; the server's mean is
    /// `server_ms` when given.
    fn chatty(requests: f64, per_request: f64, client_ms: f64, server_ms: Option<f64>) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let route = [("agent", "app"), ("route", "/admin/products/:id/variants")];
        counter(&mut snap, "otlp_route_requests_total", &route, requests);
        counter(
            &mut snap,
            "otlp_route_db_statements_total",
            &route,
            requests * per_request,
        );
        counter(
            &mut snap,
            "otlp_route_db_time_ms_total",
            &route,
            requests * per_request * client_ms,
        );
        if let Some(server) = server_ms {
            let labels = [("agent", "db"), ("database", "shop"), ("queryid", "1")];
            snap.push(Series::new(
                "pg_statement_calls",
                &labels,
                Kind::Gauge,
                vec![(NOW - MINUTE_MS, 400.0)],
            ));
            snap.push(Series::new(
                "pg_statement_exec_ms",
                &labels,
                Kind::Gauge,
                vec![(NOW - MINUTE_MS, 400.0 * server)],
            ));
        }
        snap
    }

    #[test]
    fn statements_per_request_below_at_and_above_the_threshold() {
        assert!(run(&chatty(100.0, 49.0, 0.25, None), &[]).is_empty());
        let at = run(&chatty(100.0, 50.0, 0.25, None), &[]);
        assert_eq!(keys(&at), ["chatty:/admin/products/:id/variants"]);
        assert_eq!(at[0].severity, Severity::Info);
        assert!(at[0].action.contains("refetch"));
        assert_eq!(run(&chatty(100.0, 300.0, 0.25, None), &[]).len(), 1);
    }

    #[test]
    fn too_few_requests_say_nothing_about_chattiness() {
        assert!(run(&chatty(19.0, 300.0, 0.25, None), &[]).is_empty());
        assert_eq!(run(&chatty(20.0, 300.0, 0.25, None), &[]).len(), 1);
        assert_eq!(run(&chatty(21.0, 300.0, 0.25, None), &[]).len(), 1);
    }

    fn fact<'a>(f: &'a Finding, prefix: &str) -> Option<&'a crate::advisor::Fact> {
        f.evidence.facts.iter().find(|x| x.name.starts_with(prefix))
    }

    #[test]
    fn a_chatty_route_states_what_the_spans_measured() {
        let f = &run(&chatty(100.0, 100.0, 0.25, None), &[])[0];
        let each = fact(f, "time per statement as the app sees it").expect("measured");
        assert_eq!(each.value, 0.25);
        let total = fact(f, "SQL time per request as the app sees it").expect("measured");
        assert_eq!(total.value, 25.0);
        assert!(
            f.summary.contains("25 ms per request, 0.25 ms each"),
            "{}",
            f.summary
        );
        assert!(fact(f, "PostgreSQL's mean").is_none());
    }

    #[test]
    fn a_large_gap_is_worth_checking_but_never_called_a_distant_database() {
        let at = run(&chatty(100.0, 60.0, 1.25, Some(0.25)), &[]);
        let f = &at[0];
        assert_eq!(f.severity, Severity::Info);
        for text in [&f.summary, &f.action] {
            assert!(!text.contains("far apart"), "{text}");
            assert!(!text.contains("another zone or region)"), "{text}");
        }
        assert!(
            f.summary.contains("1.00 ms more per statement"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("cannot tell which"), "{}", f.summary);
        assert!(f.action.contains("mean_exec_time"), "{}", f.action);
        let gap = fact(f, "app-seen minus PostgreSQL").expect("gap");
        assert_eq!((gap.value, gap.threshold), (1.0, Some(1.0)));
    }

    /// [`chatty`] plus one fingerprinted statement: the route ran it
    /// `calls` times at `app_ms` each (spans), and PostgreSQL executed it
    /// in `server_ms` on average.
    fn chatty_measured(calls: f64, app_ms: f64, server_ms: f64) -> Snapshot {
        let mut snap = chatty(100.0, 60.0, app_ms, Some(0.05));
        let route = [
            ("agent", "app"),
            ("method", "GET"),
            ("route", "/admin/products/:id/variants"),
            ("fingerprint", "00000000000000aa"),
        ];
        let with = |v: f64| vec![(NOW - MINUTE_MS, v)];
        snap.push(Series::new(
            "otlp_route_statement_calls",
            &route,
            Kind::Gauge,
            with(calls),
        ));
        snap.push(Series::new(
            "otlp_route_statement_ms",
            &route,
            Kind::Gauge,
            with(calls * app_ms),
        ));
        let statement = [("agent", "db"), ("database", "shop"), ("queryid", "7")];
        snap.push(Series::new(
            "pg_statement_calls",
            &statement,
            Kind::Gauge,
            with(500.0),
        ));
        snap.push(Series::new(
            "pg_statement_exec_ms",
            &statement,
            Kind::Gauge,
            with(500.0 * server_ms),
        ));
        snap.push_text(
            crate::advisor::routes::FINGERPRINT_TEXT,
            "shop/7",
            "00000000000000aa",
            NOW,
        );
        snap
    }

    #[test]
    fn the_round_trip_is_measured_on_the_statements_both_sides_saw() {
        // 1.25 ms as the app sees them, 0.25 ms in PostgreSQL: 1 ms each
        // between them, measured (the unattributed comparison would have
        // used every statement's 0.05 ms mean).
        let f = &run(&chatty_measured(300.0, 1.25, 0.25), &[])[0];
        let gap = fact(
            f,
            "time per statement between the app and PostgreSQL (measured)",
        )
        .expect("measured");
        assert_eq!((gap.value, gap.threshold), (1.0, Some(1.0)));
        assert!(
            f.summary
                .contains("1.00 ms per statement, about 60 ms per request"),
            "{}",
            f.summary
        );
        assert!(fact(f, "app-seen minus PostgreSQL").is_none());
        // On loopback: 0.3 ms against 0.25 ms, the distance is measured
        // not to matter.
        let near = &run(&chatty_measured(300.0, 0.3, 0.25), &[])[0];
        assert!(
            near.summary.contains("only 0.05 ms per statement"),
            "{}",
            near.summary
        );
        assert!(!near.action.contains("round trip from the app"));
        // Too few matched calls: the unattributed comparison stands.
        let few = &run(&chatty_measured(19.0, 1.25, 0.25), &[])[0];
        assert!(fact(few, "time per statement between").is_none());
        assert!(fact(few, "app-seen minus PostgreSQL").is_some());
    }

    #[test]
    fn a_gap_below_the_threshold_is_not_pointed_out() {
        let below = &run(&chatty(100.0, 60.0, 1.125, Some(0.25)), &[])[0];
        assert!(
            !below.summary.contains("more per statement"),
            "{}",
            below.summary
        );
        assert!(!below.action.contains("round trip from the app"));
    }

    #[test]
    fn a_bulk_insert_s_foreign_key_checks_do_not_widen_the_gap() {
        // The app's statements take 1.0 ms in PostgreSQL and 1.2 ms as the
        // app sees them: no gap worth checking. 500,000 FK checks at
        // 0.01 ms from one bulk insert would drag the server mean to ~0.02.
        let mut snap = chatty(100.0, 60.0, 1.2, Some(1.0));
        let fk = [("agent", "db"), ("database", "shop"), ("queryid", "9")];
        for name in ["pg_statement_calls", "pg_statement_exec_ms"] {
            let v = if name == "pg_statement_calls" {
                500_000.0
            } else {
                5_000.0
            };
            snap.push(Series::new(
                name,
                &fk,
                Kind::Gauge,
                vec![(NOW - 2 * MINUTE_MS, v)],
            ));
        }
        snap.push_text(
            "pg_query",
            "shop/9",
            "SELECT 1 FROM ONLY \"public\".\"customer\" x WHERE \"id\" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x",
            NOW,
        );
        let f = &run(&snap, &[])[0];
        let mean = fact(f, "PostgreSQL's mean").expect("mean");
        assert!((mean.value - 1.0).abs() < 1e-9, "{}", mean.value);
        assert!(!f.summary.contains("more per statement"), "{}", f.summary);
        assert!(
            f.evidence
                .notes
                .iter()
                .any(|n| n.contains("query 9 on shop: foreign-key check")),
            "{:#?}",
            f.evidence.notes
        );
    }

    #[test]
    fn the_other_route_bucket_is_not_a_route() {
        let mut snap = Snapshot::at(NOW);
        let other = [("agent", "app"), ("route", "other")];
        counter(&mut snap, "otlp_route_requests_total", &other, 100.0);
        counter(
            &mut snap,
            "otlp_route_db_statements_total",
            &other,
            100.0 * 300.0,
        );
        add_latency(&mut snap, "other", 14 * 24, |h| {
            if h < 11 * 24 {
                level(100, h)
            } else {
                level(300, h)
            }
        });
        assert!(run(&snap, &[]).is_empty());
    }

    #[test]
    fn a_stale_route_says_nothing() {
        let mut snap = chatty(100.0, 300.0, 0.25, None);
        snap.now_ms = NOW + HOUR_MS;
        assert!(run(&snap, &[]).is_empty());
    }

    // --- regressions ---

    /// Hourly latency histograms for `route` over the last `hours`, every
    /// request of hour `h` in the 10 ms bucket ending at `bound(h)`, so that
    /// p95 is `bound(h) - 0.5`.
    fn add_latency(snap: &mut Snapshot, route: &str, hours: i64, bound: impl Fn(i64) -> i64) {
        let mut by_le: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        for h in 0..hours {
            let t = NOW - (hours - 1 - h) * HOUR_MS;
            let b = bound(h);
            for le in (10..=3_000).step_by(10) {
                by_le
                    .entry(le)
                    .or_default()
                    .push((t, if le >= b { 100.0 } else { 0.0 }));
            }
        }
        let labels = |le: &str| -> Vec<(&str, String)> {
            vec![
                ("agent", "app".into()),
                ("origin", "otlp".into()),
                ("route", route.into()),
                ("le", le.into()),
            ]
        };
        for (le, points) in &by_le {
            let l = labels(&le.to_string());
            let pairs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            snap.push(Series::new(
                "http_route_latency_ms_bucket",
                &pairs,
                Kind::Gauge,
                points.clone(),
            ));
        }
        let inf = by_le
            .values()
            .next()
            .map(|p| p.iter().map(|&(t, _)| (t, 100.0)).collect())
            .unwrap_or_default();
        let l = labels("+Inf");
        let pairs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
        snap.push(Series::new(
            "http_route_latency_ms_bucket",
            &pairs,
            Kind::Gauge,
            inf,
        ));
    }

    /// Jitter of ±20 ms around a level, deterministic.
    fn level(base: i64, h: i64) -> i64 {
        base + (h * 7_919 % 5) * 10
    }

    const ROUTE: &str = "/store/products";

    fn stepped(step_days_ago: i64, after: i64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let hours = 14 * 24;
        let step = hours - step_days_ago * 24;
        add_latency(&mut snap, ROUTE, hours, |h| {
            if h < step {
                level(100, h)
            } else {
                level(after, h)
            }
        });
        snap
    }

    fn regressions_of(findings: &[Finding]) -> Vec<&Finding> {
        findings
            .iter()
            .filter(|f| f.key.starts_with("regression:"))
            .collect()
    }

    #[test]
    fn a_recent_step_up_is_a_regression_with_its_time() {
        let findings = run(&stepped(3, 200), &[]);
        let found = regressions_of(&findings);
        assert_eq!(found.len(), 1, "{findings:#?}");
        let f = found[0];
        assert_eq!(f.key, format!("regression:{ROUTE}"));
        assert!(
            f.action
                .starts_with("Compare with your deploys around 1970-01-28T"),
            "{}",
            f.action
        );
    }

    #[test]
    fn regression_ratio_below_at_and_above_the_threshold() {
        let snap = stepped(3, 200);
        let p95 =
            resources::route_quantile_series(&snap, "http_route_latency_ms", ROUTE, 0.95, 5.0);
        let cps = analysis::analyze(&p95).changepoints;
        let ratio = cps.last().expect("a changepoint").after / cps.first().expect("one").before;
        let mut config = AdvisorConfig::default();
        config.app.regression_ratio = ratio;
        assert_eq!(regressions_of(&run_with(&snap, &[], &config)).len(), 1);
        config.app.regression_ratio = ratio - 0.01;
        assert_eq!(regressions_of(&run_with(&snap, &[], &config)).len(), 1);
        config.app.regression_ratio = ratio + 0.01;
        assert!(regressions_of(&run_with(&snap, &[], &config)).is_empty());
    }

    #[test]
    fn a_small_step_is_not_a_regression() {
        assert!(regressions_of(&run(&stepped(3, 130), &[])).is_empty());
    }

    #[test]
    fn a_step_before_the_window_is_not_reported() {
        assert!(regressions_of(&run(&stepped(10, 200), &[])).is_empty());
    }

    #[test]
    fn a_speed_up_is_not_a_regression() {
        let mut snap = Snapshot::at(NOW);
        add_latency(&mut snap, ROUTE, 14 * 24, |h| {
            if h < 11 * 24 {
                level(300, h)
            } else {
                level(100, h)
            }
        });
        assert!(regressions_of(&run(&snap, &[])).is_empty());
    }

    #[test]
    fn too_little_latency_history_says_nothing() {
        let mut snap = Snapshot::at(NOW);
        add_latency(&mut snap, ROUTE, 12, |h| {
            if h < 6 { level(100, h) } else { level(400, h) }
        });
        assert!(regressions_of(&run(&snap, &[])).is_empty());
    }

    // --- server/worker split ---

    /// Ten minutes of one-minute points: workflow steps take `step_ms` a
    /// minute throughout; requests (`request_ms` in total) are served in
    /// the minutes where `serving(minute)` holds.
    fn busy_host(
        utilization: f64,
        step_ms: f64,
        request_ms: f64,
        serving: impl Fn(i64) -> bool,
    ) -> (Snapshot, Vec<Headroom>) {
        let mut snap = Snapshot::at(NOW);
        let minutes = 10;
        let at = |m: i64| NOW - (minutes - m) * MINUTE_MS;
        let mut requests = 0.0;
        let mut request_points = Vec::new();
        let mut step_points = Vec::new();
        for m in 0..=minutes {
            if m > 0 && serving(m) {
                requests += 10.0;
            }
            request_points.push((at(m), requests));
            step_points.push((at(m), step_ms * m as f64));
        }
        snap.push(Series::new(
            "otlp_step_duration_ms_total",
            &[("agent", "app"), ("workflow_step", "import-products")],
            Kind::Counter,
            step_points,
        ));
        snap.push(Series::new(
            "otlp_route_requests_total",
            &[("agent", "app"), ("route", ROUTE)],
            Kind::Counter,
            request_points,
        ));
        snap.push(Series::new(
            "http_route_latency_ms_sum",
            &[("agent", "app"), ("origin", "otlp"), ("route", ROUTE)],
            Kind::Gauge,
            vec![
                (NOW - 5 * MINUTE_MS, request_ms / 2.0),
                (NOW, request_ms / 2.0),
            ],
        ));
        (
            snap,
            vec![headroom(
                "host cpu (app)",
                utilization * 4.0,
                4.0,
                None,
                240,
            )],
        )
    }

    fn worker(findings: &[Finding]) -> usize {
        findings
            .iter()
            .filter(|f| f.key == WORKER_SPLIT_KEY)
            .count()
    }

    /// Requests in minutes 1–4 only: minutes 6–10 are request-free with
    /// quiet neighbours (minute 5 borders minute 4).
    fn mornings(m: i64) -> bool {
        m <= 4
    }

    #[test]
    fn background_share_below_at_and_above_the_threshold() {
        // Five quiet minutes × 200 ms = 1,000 ms of background against
        // 3,000 ms of requests: 25%.
        let (snap, h) = busy_host(0.9, 190.0, 3_000.0, mornings);
        assert_eq!(worker(&run(&snap, &h)), 0);
        let (snap, h) = busy_host(0.9, 200.0, 3_000.0, mornings);
        let findings = run(&snap, &h);
        assert_eq!(worker(&findings), 1, "{findings:#?}");
        assert!(findings[0].action.contains("MEDUSA_WORKER_MODE=worker"));
        let (snap, h) = busy_host(0.9, 2_000.0, 3_000.0, mornings);
        assert_eq!(worker(&run(&snap, &h)), 1);
    }

    #[test]
    fn cpu_utilization_below_at_and_above_the_threshold() {
        let (snap, h) = busy_host(0.69, 2_000.0, 3_000.0, mornings);
        assert_eq!(worker(&run(&snap, &h)), 0);
        let (snap, h) = busy_host(0.7, 2_000.0, 3_000.0, mornings);
        assert_eq!(worker(&run(&snap, &h)), 1);
        let (snap, h) = busy_host(0.95, 2_000.0, 3_000.0, mornings);
        assert_eq!(worker(&run(&snap, &h)), 1);
    }

    #[test]
    fn steps_that_only_run_inside_requests_are_not_background_work() {
        // A store with no background jobs: steps whenever requests run, and
        // far more step time than request time (nested and parallel steps).
        let (snap, h) = busy_host(0.95, 50_000.0, 3_000.0, |_| true);
        assert_eq!(worker(&run(&snap, &h)), 0);
        // Requests every other minute: no minute is quiet with quiet
        // neighbours.
        let (snap, h) = busy_host(0.95, 50_000.0, 3_000.0, |m| m % 2 == 0);
        assert_eq!(worker(&run(&snap, &h)), 0);
    }

    #[test]
    fn background_intervals_below_at_and_above_the_minimum() {
        // Requests up to minute 7: quiet minutes with quiet neighbours are
        // 9 and 10 (2 intervals).
        let (snap, h) = busy_host(0.9, 2_000.0, 3_000.0, |m| m <= 7);
        assert_eq!(worker(&run(&snap, &h)), 0);
        let (snap, h) = busy_host(0.9, 2_000.0, 3_000.0, |m| m <= 6);
        assert_eq!(worker(&run(&snap, &h)), 1);
        let (snap, h) = busy_host(0.9, 2_000.0, 3_000.0, |m| m <= 2);
        assert_eq!(worker(&run(&snap, &h)), 1);
    }

    #[test]
    fn without_cpu_headroom_or_request_data_there_is_no_split_advice() {
        let (snap, _) = busy_host(0.9, 2_000.0, 3_000.0, mornings);
        assert_eq!(worker(&run(&snap, &[])), 0);
        let (snap, h) = busy_host(0.9, 2_000.0, 0.0, mornings);
        assert_eq!(worker(&run(&snap, &h)), 0);
    }

    #[test]
    fn young_cpu_data_still_gives_the_split_a_confidence_from_its_evidence() {
        let (snap, mut h) = busy_host(0.9, 2_000.0, 3_000.0, mornings);
        h[0].confidence = 0.0;
        let findings = run(&snap, &h);
        assert!(
            findings[0].confidence >= MIN_CONFIDENCE,
            "{}",
            findings[0].confidence
        );
    }

    // --- instrumentation overhead ---

    fn exports(exports: f64, spans: f64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        counter(
            &mut snap,
            "otlp_exports_total",
            &[("agent", "app")],
            exports,
        );
        counter(
            &mut snap,
            "otlp_spans_received_total",
            &[("agent", "app")],
            spans,
        );
        snap
    }

    #[test]
    fn a_medusa_store_on_register_otel_defaults_is_told_to_batch() {
        // 8 checkouts of ~1,380 spans each, one span per export.
        let findings = run(&exports(11_040.0, 11_040.0), &[]);
        assert_eq!(keys(&findings), ["span_export:app"]);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.contains("SimpleSpanProcessor"));
        assert!(f.summary.contains("60%"));
        assert!(f.action.contains("BatchSpanProcessor"));
        assert!(f.action.contains("instrumentation.ts"));
    }

    #[test]
    fn spans_per_export_below_at_and_above_the_threshold() {
        assert_eq!(run(&exports(200.0, 200.0), &[]).len(), 1);
        assert_eq!(run(&exports(200.0, 300.0), &[]).len(), 1);
        assert!(run(&exports(200.0, 302.0), &[]).is_empty());
    }

    #[test]
    fn a_batching_app_is_left_alone() {
        assert!(run(&exports(200.0, 200.0 * 180.0), &[]).is_empty());
    }

    #[test]
    fn too_few_exports_say_nothing_about_the_processor() {
        assert!(run(&exports(99.0, 99.0), &[]).is_empty());
        assert_eq!(run(&exports(100.0, 100.0), &[]).len(), 1);
        assert_eq!(run(&exports(101.0, 101.0), &[]).len(), 1);
    }

    #[test]
    fn stale_export_counters_say_nothing() {
        let mut snap = exports(11_040.0, 11_040.0);
        snap.now_ms = NOW + HOUR_MS;
        assert!(run(&snap, &[]).is_empty());
    }
}
