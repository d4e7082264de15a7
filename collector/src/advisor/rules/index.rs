//! Rule `index`: missing indexes. The agent parses each slow statement with
//! PostgreSQL's own parser, checks existing indexes and verifies a
//! candidate with hypopg (or the generic plan's cost); this rule decides
//! which candidates are worth an index: a large table, a statement that
//! runs often enough and is slow enough, and a verified gain.

use std::collections::BTreeMap;

use headroom_proto::signals::postgres::{
    PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS, PG_STATEMENT_MEAN_EXEC_MS, PG_STATEMENT_ROWS,
    PG_TABLE_ROWS,
};

use serde::{Deserialize, Serialize};

use crate::advisor::needs::{Need, recent};
use crate::advisor::routes::{self, Routes};
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity};
use crate::analysis::HOUR_MS;

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.3: the least an unverified candidate at `min_calls` scores (0.6 × 0.55); a hypopg-verified one starts at 0.45.
/// The series this rule reads.
pub const NEEDS: &[Need] = &[
    recent(&PG_STATEMENT_CALLS),
    recent(&PG_STATEMENT_EXEC_MS),
    recent(&PG_STATEMENT_MEAN_EXEC_MS),
    recent(&PG_STATEMENT_ROWS),
    recent(&PG_TABLE_ROWS),
];

pub const MIN_CONFIDENCE: f64 = 0.3;

/// Thresholds of the `index` rule (`[advisor.index]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Tables with fewer rows (`pg_table_rows`: the planner's estimate or
    /// n_live_tup, whichever is larger) are left to sequential scans
    /// (default 10,000).
    pub min_table_rows: f64,
    /// The plan cost must drop by at least this share with the index
    /// (default 0.5, as Dexter).
    pub min_gain: f64,
    /// Calls of the statement in the recent window (default 10).
    pub min_calls: f64,
    /// Mean execution time of the statement in ms (default 5).
    pub min_mean_ms: f64,
    /// Above this mean time in ms the advice is critical (default 500).
    pub critical_mean_ms: f64,
    /// A candidate not refreshed by the agent while the same database's
    /// other statistics were is stale (the index now exists), after this
    /// many seconds (default 120).
    pub candidate_grace_seconds: f64,
    /// A candidate hypopg verified (the plan uses the hypothetical index)
    /// whose cost drops by at least this share opens in the first pass
    /// that sees it rather than after `open_after` passes (default 0.9;
    /// above 1 never).
    pub open_at_once_gain: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_table_rows: 10_000.0,
            min_gain: 0.5,
            min_calls: 10.0,
            min_mean_ms: 5.0,
            critical_mean_ms: 500.0,
            candidate_grace_seconds: 120.0,
            open_at_once_gain: 0.9,
        }
    }
}

/// What the agent sends for one candidate (text kind `pg_index_candidate`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Candidate {
    pub database: String,
    pub queryid: String,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub predicate: String,
    pub definition: String,
    pub method: String,
    pub cost_before: f64,
    pub cost_after: Option<f64>,
    #[serde(default)]
    pub uses_index: Option<bool>,
    #[serde(default)]
    pub table_rows: f64,
}

/// Statistics of one statement over the recent window.
struct Statement {
    queryid: String,
    text: String,
    calls: f64,
    mean_ms: f64,
    rows_per_call: f64,
}

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let cfg = &ctx.config.index;
    let snap = ctx.snapshot;
    let since = snap.now_ms - ctx.config.recent_ms();
    let grace = (cfg.candidate_grace_seconds * 1000.0) as i64;
    // The newest statistics per database: a candidate older than them by
    // more than the grace was not re-sent, so it is covered now.
    let mut newest: BTreeMap<String, i64> = BTreeMap::new();
    for text in snap.texts("pg_index").chain(snap.texts("pg_query")) {
        let database = text.key.split('/').next().unwrap_or_default().to_owned();
        let entry = newest.entry(database).or_insert(i64::MIN);
        *entry = (*entry).max(text.last_seen_ms);
    }
    // Candidates grouped by the index they propose.
    let mut groups: BTreeMap<String, Vec<(Candidate, Statement)>> = BTreeMap::new();
    for text in snap.texts("pg_index_candidate") {
        let Ok(candidate) = serde_json::from_str::<Candidate>(&text.text) else {
            continue;
        };
        if snap.now_ms - text.last_seen_ms > ctx.config.stale_ms()
            || newest
                .get(&candidate.database)
                .is_some_and(|&n| n - text.last_seen_ms > grace)
        {
            continue;
        }
        let Some(statement) = statement(ctx, &candidate, since) else {
            continue;
        };
        if statement.calls < cfg.min_calls || statement.mean_ms < cfg.min_mean_ms {
            continue;
        }
        if table_rows(ctx, &candidate) < cfg.min_table_rows {
            continue;
        }
        if gain(&candidate, &statement).is_none_or(|g| g < cfg.min_gain) {
            continue;
        }
        if candidate.uses_index == Some(false) {
            continue;
        }
        let key = format!(
            "{}/{}.{}({}){}",
            candidate.database,
            candidate.schema,
            candidate.table,
            candidate.columns.join(","),
            if candidate.predicate.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", candidate.predicate)
            }
        );
        groups.entry(key).or_default().push((candidate, statement));
    }
    groups
        .into_iter()
        .filter_map(|(key, group)| finding(ctx, key, group))
        .collect()
}

fn statement(ctx: &Context, c: &Candidate, since: i64) -> Option<Statement> {
    let snap = ctx.snapshot;
    let labels = [
        ("database", c.database.as_str()),
        ("queryid", c.queryid.as_str()),
    ];
    let calls = snap
        .find(PG_STATEMENT_CALLS.name, &labels)?
        .sum_since(since);
    let exec = snap
        .find(PG_STATEMENT_EXEC_MS.name, &labels)
        .map_or(0.0, |s| s.sum_since(since));
    let rows = snap
        .find(PG_STATEMENT_ROWS.name, &labels)
        .map_or(0.0, |s| s.sum_since(since));
    if calls <= 0.0 {
        return None;
    }
    let text = snap
        .statement_text(&c.database, &c.queryid)
        .unwrap_or_default()
        .to_owned();
    Some(Statement {
        queryid: c.queryid.clone(),
        text,
        calls,
        mean_ms: exec / calls,
        rows_per_call: rows / calls,
    })
}

/// The table's rows (`pg_table_rows`, which survives a statistics reset),
/// else what the agent measured when it sent the candidate.
fn table_rows(ctx: &Context, c: &Candidate) -> f64 {
    ctx.snapshot
        .find(
            PG_TABLE_ROWS.name,
            &[
                ("database", c.database.as_str()),
                ("schema", c.schema.as_str()),
                ("table", c.table.as_str()),
            ],
        )
        .and_then(|s| s.fresh(ctx.snapshot.now_ms, ctx.config.stale_ms()))
        .unwrap_or(c.table_rows)
}

/// The share of the plan's cost the index removes: hypopg's estimate when
/// the agent had it, else the share of rows a scan reads but does not
/// return.
fn gain(c: &Candidate, s: &Statement) -> Option<f64> {
    match c.cost_after {
        Some(after) if c.cost_before > 0.0 => Some(1.0 - after / c.cost_before),
        Some(_) => None,
        None if c.table_rows > 0.0 => Some((1.0 - s.rows_per_call / c.table_rows).max(0.0)),
        None => None,
    }
}

fn finding(ctx: &Context, key: String, group: Vec<(Candidate, Statement)>) -> Option<Finding> {
    let cfg = &ctx.config.index;
    let (first, _) = group.first()?;
    let calls: f64 = group.iter().map(|(_, s)| s.calls).sum();
    let worst = group
        .iter()
        .max_by(|a, b| a.1.mean_ms.total_cmp(&b.1.mean_ms))?;
    let (c, s) = (&worst.0, &worst.1);
    let rows = table_rows(ctx, c);
    let gain = gain(c, s)?;
    let verified = c.method == "hypopg" && c.cost_after.is_some();
    let severity = if s.mean_ms >= cfg.critical_mean_ms {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let window_h = ctx.config.recent_ms() as f64 / HOUR_MS as f64;
    let verification = if verified {
        format!(
            "hypopg estimates the plan cost drops from {:.0} to {:.1} ({:.0}% lower)",
            c.cost_before,
            c.cost_after.unwrap_or_default(),
            gain * 100.0
        )
    } else {
        format!(
            "the generic plan costs {:.0}; without hypopg the gain is estimated from rows returned vs scanned ({:.0}%)",
            c.cost_before,
            gain * 100.0
        )
    };
    let statement = if s.text.is_empty() {
        format!("queryid {}", s.queryid)
    } else {
        format!("`{}`", shorten(&s.text, 160))
    };
    let table = format!("{}.{}", c.schema, c.table);
    let summary = format!(
        "{statement} reads {table} ({rows:.0} rows) without a usable index: mean {:.1} ms over {calls:.0} calls in the last {window_h:.0} h. {verification}. If nothing is done, its time grows with the table.",
        s.mean_ms
    );
    let routes = statement_routes(ctx, &group);
    let summary = format!("{summary} {}", routes.sentence(window_h));
    let mut evidence = Evidence::default()
        .against("table rows", rows, "rows", cfg.min_table_rows)
        .against("mean execution time", s.mean_ms, "ms", cfg.min_mean_ms)
        .against("calls in the recent window", calls, "calls", cfg.min_calls)
        .against("estimated cost reduction", gain, "ratio", cfg.min_gain)
        .fact("plan cost before", c.cost_before, "cost")
        .note(format!("verified with {}", c.method));
    if let Some(after) = c.cost_after {
        evidence = evidence.fact("plan cost after (hypothetical index)", after, "cost");
    }
    for (candidate, statement) in &group {
        let labels: BTreeMap<String, String> = [
            ("database".to_owned(), candidate.database.clone()),
            ("queryid".to_owned(), statement.queryid.clone()),
        ]
        .into();
        evidence = evidence.series(PG_STATEMENT_MEAN_EXEC_MS.name, &labels, None);
    }
    let table_labels: BTreeMap<String, String> = [
        ("database".to_owned(), c.database.clone()),
        ("schema".to_owned(), c.schema.clone()),
        ("table".to_owned(), c.table.clone()),
    ]
    .into();
    evidence = evidence.series(PG_TABLE_ROWS.name, &table_labels, Some(cfg.min_table_rows));
    evidence = routes.evidence(evidence, window_h);
    evidence = evidence
        .opening_at_once(verified && c.uses_index == Some(true) && gain >= cfg.open_at_once_gain);
    let support = (calls / (10.0 * cfg.min_calls)).min(1.0);
    let confidence = if verified { 0.9 } else { 0.6 } * (0.5 + 0.5 * support);
    Some(Finding {
        kind: RecKind::Index,
        key,
        severity,
        title: format!("Add an index on {table} ({})", first.columns.join(", ")),
        summary,
        action: format!("{};", c.definition.trim_end_matches(';')),
        evidence,
        confidence,
    })
}

/// Which traced routes run the group's statements (`advisor::routes`).
fn statement_routes(ctx: &Context, group: &[(Candidate, Statement)]) -> Routes {
    let statements: Vec<(&str, &str)> = group
        .iter()
        .map(|(c, s)| (c.database.as_str(), s.queryid.as_str()))
        .collect();
    routes::for_statements(ctx, &statements)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::testing::run_rule_with;
    use crate::advisor::{AdvisorConfig, Series, Snapshot};
    use crate::store::model::Kind;

    const NOW: i64 = 10 * HOUR_MS;

    fn candidate(cost_after: Option<f64>, method: &str) -> String {
        serde_json::json!({
            "database": "shop", "queryid": "42", "schema": "public", "table": "order",
            "columns": ["status"], "predicate": "deleted_at IS NULL",
            "definition": "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_order_status_idx ON public.\"order\" (status) WHERE deleted_at IS NULL",
            "method": method, "cost_before": 5000.0, "cost_after": cost_after,
            "uses_index": cost_after.map(|_| true), "table_rows": 200000.0, "timestamp_ms": NOW
        })
        .to_string()
    }

    /// A snapshot with the statement's stats in the recent window.
    fn snapshot(calls: f64, mean_ms: f64, rows: f64, text: &str) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let labels = [("agent", "db"), ("database", "shop"), ("queryid", "42")];
        let t = NOW - 60_000;
        snap.push(Series::new(
            "pg_statement_calls",
            &labels,
            Kind::Gauge,
            vec![(t, calls)],
        ));
        snap.push(Series::new(
            "pg_statement_exec_ms",
            &labels,
            Kind::Gauge,
            vec![(t, calls * mean_ms)],
        ));
        snap.push(Series::new(
            "pg_statement_rows",
            &labels,
            Kind::Gauge,
            vec![(t, calls * 3.0)],
        ));
        snap.push(Series::new(
            "pg_table_rows",
            &[
                ("agent", "db"),
                ("database", "shop"),
                ("schema", "public"),
                ("table", "order"),
            ],
            Kind::Gauge,
            vec![(t, rows)],
        ));
        snap.push_text(
            "pg_query",
            "shop/42",
            "SELECT * FROM \"order\" WHERE status = $1 AND deleted_at IS NULL",
            NOW,
        );
        snap.push_text("pg_index_candidate", "shop/42", text, NOW);
        snap
    }

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_with(snap, &AdvisorConfig::default())
    }

    fn run_with(snap: &Snapshot, config: &AdvisorConfig) -> Vec<Finding> {
        run_rule_with(evaluate, snap, &[], config)
    }

    #[test]
    fn a_verified_candidate_on_a_large_table_becomes_the_exact_create_index() {
        let out = run(&snapshot(
            100.0,
            40.0,
            200_000.0,
            &candidate(Some(10.0), "hypopg"),
        ));
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(
            f.action,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_order_status_idx ON public.\"order\" (status) WHERE deleted_at IS NULL;"
        );
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.summary
                .contains("hypopg estimates the plan cost drops from 5000 to 10.0"),
            "{}",
            f.summary
        );
        assert!(f.confidence > 0.8, "{}", f.confidence);
        assert_eq!(f.key, "shop/public.order(status) WHERE deleted_at IS NULL");
    }

    #[test]
    fn only_a_hypopg_verified_large_gain_opens_at_once() {
        let at_once = |text: &str| {
            run(&snapshot(100.0, 40.0, 200_000.0, text))[0]
                .evidence
                .opens_at_once
        };
        // 5000 → 500 is a 90% drop: at the default threshold.
        assert!(at_once(&candidate(Some(500.0), "hypopg")));
        assert!(at_once(&candidate(Some(10.0), "hypopg")));
        assert!(!at_once(&candidate(Some(501.0), "hypopg")));
        assert!(!at_once(&candidate(None, "explain")), "not verified");
    }

    #[test]
    fn a_statistics_reset_does_not_hide_the_table_the_planner_knows() {
        // pg_table_rows carries the planner's estimate; n_live_tup (0 after
        // pg_stat_reset) is not read.
        let mut snap = snapshot(100.0, 40.0, 600_000.0, &candidate(Some(10.0), "hypopg"));
        snap.push(Series::new(
            "pg_table_live_tuples",
            &[
                ("agent", "db"),
                ("database", "shop"),
                ("schema", "public"),
                ("table", "order"),
            ],
            Kind::Gauge,
            vec![(NOW - 60_000, 0.0)],
        ));
        let out = run(&snap);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].summary.contains("(600000 rows)"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn table_rows_at_the_threshold_qualify_and_below_do_not() {
        let text = candidate(Some(10.0), "hypopg");
        assert_eq!(run(&snapshot(100.0, 40.0, 10_000.0, &text)).len(), 1);
        assert_eq!(run(&snapshot(100.0, 40.0, 20_000.0, &text)).len(), 1);
        assert!(
            run(&snapshot(100.0, 40.0, 9_999.0, &text)).is_empty(),
            "a small table is left to seq scans"
        );
    }

    #[test]
    fn calls_and_mean_time_thresholds_hold_at_below_and_above() {
        let text = candidate(Some(10.0), "hypopg");
        assert_eq!(run(&snapshot(10.0, 40.0, 200_000.0, &text)).len(), 1);
        assert!(run(&snapshot(9.0, 40.0, 200_000.0, &text)).is_empty());
        assert_eq!(run(&snapshot(100.0, 5.0, 200_000.0, &text)).len(), 1);
        assert!(run(&snapshot(100.0, 4.9, 200_000.0, &text)).is_empty());
        let critical = run(&snapshot(100.0, 600.0, 200_000.0, &text));
        assert_eq!(critical[0].severity, Severity::Critical);
    }

    #[test]
    fn the_gain_must_reach_min_gain() {
        assert_eq!(
            run(&snapshot(
                100.0,
                40.0,
                200_000.0,
                &candidate(Some(2_500.0), "hypopg")
            ))
            .len(),
            1
        );
        assert!(
            run(&snapshot(
                100.0,
                40.0,
                200_000.0,
                &candidate(Some(2_600.0), "hypopg")
            ))
            .is_empty()
        );
        assert!(
            run(&snapshot(
                100.0,
                40.0,
                200_000.0,
                &candidate(Some(100.0), "hypopg")
            ))
            .len()
                == 1
        );
    }

    #[test]
    fn without_hypopg_the_advice_stands_with_lower_confidence() {
        let out = run(&snapshot(
            100.0,
            40.0,
            200_000.0,
            &candidate(None, "explain"),
        ));
        assert_eq!(out.len(), 1);
        assert!(out[0].confidence < 0.7, "{}", out[0].confidence);
        assert!(
            out[0].summary.contains("without hypopg"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn a_candidate_the_agent_stopped_sending_is_not_advice() {
        let mut snap = snapshot(100.0, 40.0, 200_000.0, &candidate(Some(10.0), "hypopg"));
        snap.texts.retain(|t| t.kind != "pg_index_candidate");
        snap.push_text(
            "pg_index_candidate",
            "shop/42",
            &candidate(Some(10.0), "hypopg"),
            NOW - 200_000,
        );
        assert!(run(&snap).is_empty(), "the index exists now");
    }

    #[test]
    fn no_statement_statistics_means_no_advice() {
        let mut snap = snapshot(100.0, 40.0, 200_000.0, &candidate(Some(10.0), "hypopg"));
        snap.series.retain(|s| !s.name.starts_with("pg_statement"));
        assert!(run(&snap).is_empty());
        let garbage = snapshot(100.0, 40.0, 200_000.0, "not json");
        assert!(run(&garbage).is_empty());
    }
}
