//! The false-alarm suite: the whole rule set (every rule, the confidence
//! floors, the fold, `none`) on synthetic stores built after what went
//! wrong on a real one: a missing index under load, a bulk insert's
//! foreign-key checks, app and database on one host, a store without
//! background jobs, fifteen minutes of data. Each scenario asserts that
//! nothing is raised, or that the one right recommendation is, with the
//! symptoms folded into it as evidence.

use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use headroom_proto::signals::otlp::{
    OTLP_ROUTE_DB_STATEMENTS_TOTAL, OTLP_ROUTE_DB_TIME_MS_TOTAL, OTLP_ROUTE_REQUESTS_TOTAL,
    OTLP_STEP_DURATION_MS_TOTAL,
};
use headroom_proto::signals::postgres::{
    PG_DATABASE_BLKS_HIT, PG_DATABASE_BLKS_READ, PG_DATABASE_TUP_DELETED, PG_DATABASE_TUP_FETCHED,
    PG_DATABASE_TUP_INSERTED, PG_DATABASE_TUP_RETURNED, PG_DATABASE_TUP_UPDATED,
    PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS, PG_STATEMENT_ROWS, PG_STATEMENT_SHARED_BLKS_HIT,
    PG_STATEMENT_SHARED_BLKS_READ, PG_TABLE_ROWS, PG_TABLE_SEQ_TUP_READ,
};

use super::{
    AdvisorConfig, Context, Finding, RecKind, Series, Severity, Snapshot, load, plan, rules,
};
use crate::analysis::headroom::Headroom;
use crate::analysis::{DAY_MS, MINUTE_MS};
use crate::store::model::Kind;

const NOW: i64 = 30 * DAY_MS;
const DB: &[(&str, &str)] = &[("agent", "db"), ("database", "shop")];
const CART: &[(&str, &str)] = &[
    ("agent", "db"),
    ("database", "shop"),
    ("schema", "public"),
    ("table", "cart"),
];
const COMPLETE: &str = "/store/carts/:id/complete";

fn advise(snap: &Snapshot, headroom: &[Headroom]) -> Vec<Finding> {
    let config = AdvisorConfig::default();
    let evaluate = |snapshot: &Snapshot| {
        rules::evaluate_all(&Context {
            snapshot,
            headroom,
            config: &config,
        })
    };
    let findings = evaluate(snap);
    // What the loader would have read gives the same advice: the rules
    // declare every series they read, over the span they read it.
    let loaded = plan::restrict(snap, load::recent_start(&config, snap.now_ms));
    assert_eq!(
        evaluate(&loaded),
        findings,
        "the rules read undeclared series"
    );
    findings
}

/// Findings at warning or above, and any read-replica advice.
fn loud(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning || f.key.starts_with("read_replica/"))
        .collect()
}

/// A counter over the last hour (a point every five minutes) growing by
/// `per_hour` in total, evenly.
fn hourly_counter(name: &str, labels: &[(&str, &str)], per_hour: f64) -> Series {
    let points = (0..=12)
        .map(|i| {
            (
                NOW - (12 - i) * 5 * MINUTE_MS,
                1e9 + per_hour * i as f64 / 12.0,
            )
        })
        .collect();
    Series::new(name, labels, Kind::Counter, points)
}

/// A delta gauge over the last hour (a point every five minutes) summing
/// to `per_hour`.
fn hourly_delta(name: &str, labels: &[(&str, &str)], per_hour: f64) -> Series {
    let points = (1..=12)
        .map(|i| (NOW - (12 - i) * 5 * MINUTE_MS, per_hour / 12.0))
        .collect();
    Series::new(name, labels, Kind::Gauge, points)
}

/// A host with `busy` of its 2 CPUs in use, measured for 15 minutes only.
fn young_cpu(busy: f64) -> Headroom {
    Headroom {
        resource: "host cpu (db)".to_owned(),
        current: busy,
        limit: 2.0,
        utilization: busy / 2.0,
        trend_per_day: None,
        eta_ms: None,
        eta_earliest_ms: None,
        eta_latest_ms: None,
        confidence: 0.0,
        samples: 90,
        history_ms: 15 * MINUTE_MS,
    }
}

/// PostgreSQL reading `reads` rows and writing `writes` in the last hour,
/// with `blocks` buffer accesses (a tenth from disk).
fn database(snap: &mut Snapshot, reads: f64, writes: f64, blocks: f64) {
    snap.push(hourly_counter(
        PG_DATABASE_TUP_RETURNED.name,
        DB,
        reads * 0.9,
    ));
    snap.push(hourly_counter(
        PG_DATABASE_TUP_FETCHED.name,
        DB,
        reads * 0.1,
    ));
    snap.push(hourly_counter(PG_DATABASE_TUP_INSERTED.name, DB, writes));
    snap.push(hourly_counter(PG_DATABASE_TUP_UPDATED.name, DB, 0.0));
    snap.push(hourly_counter(PG_DATABASE_TUP_DELETED.name, DB, 0.0));
    snap.push(hourly_counter(PG_DATABASE_BLKS_HIT.name, DB, blocks * 0.9));
    snap.push(hourly_counter(PG_DATABASE_BLKS_READ.name, DB, blocks * 0.1));
}

/// A statement with `calls` calls in the last hour at `mean_ms`, reading
/// `blocks` buffers per call (a tenth from disk).
fn statement(
    snap: &mut Snapshot,
    queryid: &str,
    text: &str,
    calls: f64,
    mean_ms: f64,
    blocks: f64,
) {
    let labels = [("agent", "db"), ("database", "shop"), ("queryid", queryid)];
    for (name, total) in [
        (PG_STATEMENT_CALLS.name, calls),
        (PG_STATEMENT_EXEC_MS.name, calls * mean_ms),
        (PG_STATEMENT_ROWS.name, calls),
        (PG_STATEMENT_SHARED_BLKS_HIT.name, calls * blocks * 0.9),
        (PG_STATEMENT_SHARED_BLKS_READ.name, calls * blocks * 0.1),
    ] {
        snap.push(hourly_delta(name, &labels, total));
    }
    snap.push_text("pg_query", &format!("shop/{queryid}"), text, NOW);
}

/// One missing index: `SELECT … FROM cart WHERE customer_id = $1` scans
/// the 300,000-row cart table 600 times an hour, verified with hypopg;
/// its scans read `scan_share` of the rows PostgreSQL reads.
fn missing_index(scan_share: f64) -> Snapshot {
    let mut snap = Snapshot::at(NOW);
    let scanned = 600.0 * 300_000.0;
    database(&mut snap, scanned / scan_share, 200_000.0, 1e7);
    statement(
        &mut snap,
        "42",
        "SELECT * FROM cart WHERE customer_id = $1 AND deleted_at IS NULL",
        600.0,
        80.0,
        1e7 * scan_share / 600.0,
    );
    snap.push(hourly_counter(PG_TABLE_SEQ_TUP_READ.name, CART, scanned));
    snap.push(hourly_delta(PG_TABLE_ROWS.name, CART, 12.0 * 300_000.0));
    let candidate = serde_json::json!({
        "database": "shop", "queryid": "42", "schema": "public", "table": "cart",
        "columns": ["customer_id"], "predicate": "deleted_at IS NULL",
        "definition": "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_cart_customer_id_idx ON public.cart (customer_id) WHERE deleted_at IS NULL",
        "method": "hypopg", "cost_before": 9000.0, "cost_after": 8.0,
        "uses_index": true, "table_rows": 300000.0
    });
    snap.push_text("pg_index_candidate", "shop/42", &candidate.to_string(), NOW);
    snap
}

#[test]
fn a_missing_index_under_load_opens_the_index_with_the_read_pressure_folded_in() {
    let findings = advise(&missing_index(0.9), &[young_cpu(1.8)]);
    let loud = loud(&findings);
    assert_eq!(loud.len(), 1, "{findings:#?}");
    let index = loud[0];
    assert_eq!(index.kind, RecKind::Index);
    assert!(
        index.summary.contains("It also explains \"Reads dominate"),
        "{}",
        index.summary
    );
    assert!(
        index
            .summary
            .contains("sequential scans of public.cart read"),
        "{}",
        index.summary
    );
    let share = index
        .evidence
        .facts
        .iter()
        .find(|f| f.name.starts_with("share of \"Reads dominate"))
        .expect("the folded share");
    assert!(share.value >= 0.89, "{share:?}");
    assert!(
        index
            .evidence
            .notes
            .iter()
            .any(|n| n.starts_with("Folded in, not raised on its own")),
        "{:#?}",
        index.evidence.notes
    );
    assert!(
        index
            .evidence
            .series
            .iter()
            .any(|s| s.name == PG_DATABASE_TUP_RETURNED.name),
        "the symptom's series go with it"
    );
}

#[test]
fn without_an_advised_cause_the_same_read_pressure_is_a_replica_question() {
    // Control for the fold: the same reads, no index candidate.
    let mut snap = missing_index(0.9);
    snap.texts.retain(|t| t.kind != "pg_index_candidate");
    let findings = advise(&snap, &[young_cpu(1.8)]);
    let replica: Vec<_> = findings
        .iter()
        .filter(|f| f.key == "read_replica/db")
        .collect();
    assert_eq!(replica.len(), 1, "{findings:#?}");
    assert_eq!(replica[0].severity, Severity::Info);
    assert!(replica[0].action.starts_with("First find what reads"));
}

#[test]
fn an_index_explaining_a_tenth_of_the_reads_leaves_the_replica_question_with_a_note() {
    let findings = advise(&missing_index(0.1), &[young_cpu(1.8)]);
    let replica = findings
        .iter()
        .find(|f| f.key == "read_replica/db")
        .expect("the reads are not explained");
    assert!(
        replica
            .evidence
            .notes
            .iter()
            .any(|n| n.starts_with("Advised on the same database: Add an index on public.cart")),
        "{:#?}",
        replica.evidence.notes
    );
    assert!(findings.iter().any(|f| f.kind == RecKind::Index));
}

#[test]
fn a_one_off_report_is_not_read_pressure_that_persists() {
    // All the reads in the last 25 minutes (a report), none before.
    let mut snap = Snapshot::at(NOW);
    database(&mut snap, 0.0, 200_000.0, 1e6);
    let burst = |name, total: f64| {
        let points = (0..=12)
            .map(|i| {
                let t = NOW - (12 - i) * 5 * MINUTE_MS;
                (
                    t,
                    1e9 + if i >= 7 {
                        total * (i - 6) as f64 / 6.0
                    } else {
                        0.0
                    },
                )
            })
            .collect();
        Series::new(name, DB, Kind::Counter, points)
    };
    snap.series
        .retain(|s| s.name != PG_DATABASE_TUP_RETURNED.name);
    snap.push(burst(PG_DATABASE_TUP_RETURNED.name, 1e8));
    snap.series
        .retain(|s| !s.name.starts_with("pg_database_blks"));
    let findings = advise(&snap, &[young_cpu(1.8)]);
    assert!(loud(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn cache_pressure_from_the_unindexed_scan_is_folded_into_the_index() {
    let mut snap = missing_index(0.9);
    // Only 90% of accesses hit shared buffers: below the 99% threshold;
    // the scan's statement read 0.9 × 1e6 of the 1e6 blocks from disk.
    let findings = advise(&snap, &[]);
    let index = findings
        .iter()
        .find(|f| f.kind == RecKind::Index)
        .expect("index");
    assert!(
        index
            .summary
            .contains("It also explains \"PostgreSQL reads shop from disk\""),
        "{}",
        index.summary
    );
    assert!(findings.iter().all(|f| !f.key.starts_with("buffer_cache/")));
    // Without the index advice the cache finding stands.
    snap.texts.retain(|t| t.kind != "pg_index_candidate");
    let findings = advise(&snap, &[]);
    assert!(findings.iter().any(|f| f.key == "buffer_cache/db/shop"));
}

/// Checkout spans: `requests` requests of 60 statements taking
/// `client_ms` each as the app sees them, with request time `request_ms`
/// each.
fn checkout_spans(snap: &mut Snapshot, requests: f64, client_ms: f64, request_ms: f64) {
    let route = [("agent", "app"), ("route", COMPLETE)];
    snap.push(hourly_counter(
        OTLP_ROUTE_REQUESTS_TOTAL.name,
        &route,
        requests,
    ));
    snap.push(hourly_counter(
        OTLP_ROUTE_DB_STATEMENTS_TOTAL.name,
        &route,
        requests * 60.0,
    ));
    snap.push(hourly_counter(
        OTLP_ROUTE_DB_TIME_MS_TOTAL.name,
        &route,
        requests * 60.0 * client_ms,
    ));
    let latency = [("agent", "app"), ("origin", "otlp"), ("route", COMPLETE)];
    snap.push(hourly_delta(
        HTTP_ROUTE_LATENCY_MS.count(),
        &latency,
        requests,
    ));
    snap.push(hourly_delta(
        HTTP_ROUTE_LATENCY_MS.sum(),
        &latency,
        requests * request_ms,
    ));
}

#[test]
fn app_and_database_on_one_host_with_a_bulk_insert_are_never_called_far_apart() {
    let mut snap = Snapshot::at(NOW);
    database(&mut snap, 1e6, 5e5, 1e6);
    // The app's statements: 0.3 ms in PostgreSQL, 0.45 ms as the app sees
    // them over loopback.
    statement(
        &mut snap,
        "1",
        "SELECT * FROM cart WHERE id = $1",
        6_000.0,
        0.3,
        5.0,
    );
    // One bulk insert of 500,000 rows: its foreign-key checks.
    let fk = [("agent", "db"), ("database", "shop"), ("queryid", "7")];
    snap.push(Series::new(
        PG_STATEMENT_CALLS.name,
        &fk,
        Kind::Gauge,
        vec![(NOW - 20 * MINUTE_MS, 500_000.0)],
    ));
    snap.push(Series::new(
        PG_STATEMENT_EXEC_MS.name,
        &fk,
        Kind::Gauge,
        vec![(NOW - 20 * MINUTE_MS, 2_500.0)],
    ));
    snap.push_text(
        "pg_query",
        "shop/7",
        "SELECT 1 FROM ONLY \"public\".\"customer\" x WHERE \"id\" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x",
        NOW,
    );
    checkout_spans(&mut snap, 100.0, 0.45, 250.0);
    snap.series
        .retain(|s| !s.name.starts_with("pg_database_blks"));
    let findings = advise(&snap, &[]);
    assert!(loud(&findings).is_empty(), "{findings:#?}");
    let chatty = findings
        .iter()
        .find(|f| f.key == format!("chatty:{COMPLETE}"))
        .expect("the route is chatty");
    assert_eq!(chatty.severity, Severity::Info);
    for text in [&chatty.title, &chatty.summary, &chatty.action] {
        assert!(!text.contains("far apart"), "{text}");
        assert!(!text.contains("more per statement"), "{text}");
    }
    assert!(
        chatty
            .evidence
            .notes
            .iter()
            .any(|n| n.contains("query 7 on shop: foreign-key check")),
        "the exclusion is named: {:#?}",
        chatty.evidence.notes
    );
}

#[test]
fn a_busy_store_without_background_jobs_gets_no_worker_advice() {
    let mut snap = Snapshot::at(NOW);
    checkout_spans(&mut snap, 100.0, 0.45, 250.0);
    // Workflow steps only inside requests, nested: three times the request
    // time, every interval.
    snap.push(hourly_counter(
        OTLP_STEP_DURATION_MS_TOTAL.name,
        &[("agent", "app"), ("workflow_step", "complete-cart")],
        3.0 * 100.0 * 250.0,
    ));
    let findings = advise(&snap, &[young_cpu(1.9)]);
    assert!(
        findings.iter().all(|f| f.key != "worker_split"),
        "{findings:#?}"
    );
    assert!(loud(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn a_slow_checkout_explained_by_the_unindexed_statement_is_folded_into_the_index() {
    let mut snap = missing_index(0.9);
    // Checkout spends 80% of its 3 s in SQL; the cart scan is nearly all of
    // PostgreSQL's execution time.
    checkout_spans(&mut snap, 100.0, 40.0, 3_000.0);
    let checkout = Headroom {
        resource: format!("checkout p95 latency ({COMPLETE})"),
        current: 3_100.0,
        limit: 2_000.0,
        utilization: 1.55,
        confidence: 0.05,
        samples: 60,
        ..young_cpu(0.0)
    };
    let findings = advise(&snap, &[checkout, young_cpu(1.8)]);
    let loud = loud(&findings);
    assert_eq!(loud.len(), 1, "{findings:#?}");
    let index = loud[0];
    assert_eq!(index.kind, RecKind::Index);
    assert_eq!(index.severity, Severity::Critical, "raised by the checkout");
    assert!(
        index
            .summary
            .contains("It also explains \"Checkout p95 is over its objective\""),
        "{}",
        index.summary
    );
    assert!(
        index.summary.contains("spends 80% of its time in SQL"),
        "{}",
        index.summary
    );
}

#[test]
fn fifteen_minutes_of_data_raise_nothing_at_zero_confidence() {
    // Young data everywhere: a busy CPU with no forecast confidence, steps
    // and requests, a chatty route. Whatever is raised clears its floor.
    let mut snap = Snapshot::at(NOW);
    checkout_spans(&mut snap, 30.0, 0.45, 250.0);
    let findings = advise(&snap, &[young_cpu(1.9)]);
    for f in &findings {
        let floor = rules::RULES
            .iter()
            .map(|r| r.min_confidence)
            .fold(f64::INFINITY, f64::min);
        assert!(f.confidence >= floor, "{f:#?}");
        assert!(f.confidence > 0.0, "{f:#?}");
    }
    assert!(loud(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn a_busy_cpu_burned_by_the_unindexed_statement_is_folded_into_the_index() {
    // Background work is seen (steps with no request in flight for the
    // last half hour) on a busy host; the cart scan's execution time is
    // most of the busy CPU: the index, not a worker process, is the fix.
    let mut snap = missing_index(0.9);
    snap.series.retain(|s| !s.name.starts_with("pg_statement_"));
    statement(
        &mut snap,
        "42",
        "SELECT * FROM cart WHERE customer_id = $1 AND deleted_at IS NULL",
        40_000.0,
        100.0,
        1e7 * 0.9 / 40_000.0,
    );
    let route = [("agent", "app"), ("route", COMPLETE)];
    let points = |f: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> {
        (0..=12)
            .map(|i| (NOW - (12 - i) * 5 * MINUTE_MS, f(i)))
            .collect()
    };
    snap.push(Series::new(
        OTLP_ROUTE_REQUESTS_TOTAL.name,
        &route,
        Kind::Counter,
        points(&|i| 10.0 * i.min(6) as f64),
    ));
    snap.push(Series::new(
        OTLP_STEP_DURATION_MS_TOTAL.name,
        &[("agent", "app"), ("workflow_step", "import-products")],
        Kind::Counter,
        points(&|i| 2_000.0 * i as f64),
    ));
    snap.push(hourly_delta(
        HTTP_ROUTE_LATENCY_MS.sum(),
        &[("agent", "app"), ("origin", "otlp"), ("route", COMPLETE)],
        3_000.0,
    ));
    // Without the index advice, the worker split is raised.
    let mut control = snap.clone();
    control.texts.retain(|t| t.kind != "pg_index_candidate");
    let findings = advise(&control, &[young_cpu(1.8)]);
    assert!(
        findings.iter().any(|f| f.key == "worker_split"),
        "{findings:#?}"
    );
    // With it, the split is folded into the index.
    let findings = advise(&snap, &[young_cpu(1.8)]);
    let loud = loud(&findings);
    assert_eq!(loud.len(), 1, "{findings:#?}");
    assert_eq!(loud[0].kind, RecKind::Index);
    assert!(
        loud[0]
            .summary
            .contains("It also explains \"Background workflows run on a busy CPU\""),
        "{}",
        loud[0].summary
    );
}
