//! Rule `big_scans`: count(*) and deep-offset pagination over large, growing tables.
//!
//! Symptom: a statement that counts rows (`SELECT count(*) FROM "product"
//! WHERE …`) or pages with `OFFSET $n` over a large table, already slow on
//! average. Medusa's admin list pages issue both (a count for the total and
//! an offset page). Why it matters: both read every row they count or skip,
//! so their time grows with the table; a list page that takes 100 ms at
//! 250,000 orders takes a second at 2.5 million. The fix: estimated counts
//! (`pg_class.reltuples`) or a capped count, and keyset pagination.
//!
//! The statement's text (PostgreSQL-normalized) is only searched for
//! `count(` and `OFFSET $n` and for the tables after `FROM` / `JOIN`;
//! tables are matched by name to the `pg_table_*` series of the same
//! database. The projection assumes time proportional to rows.

use headroom_proto::signals::postgres::{
    PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS, PG_STATEMENT_MEAN_EXEC_MS, PG_TABLE_ROWS,
};

use serde::{Deserialize, Serialize};

use crate::advisor::needs::{Need, lookback, recent};
use crate::advisor::snapshot::Series;
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity, describe_eta};
use crate::analysis::{self, DAY_MS, forecast};

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.35: a statement at `min_calls` with no usable table trend scores 0.36: below that, too few calls stand behind the mean.
/// The series this rule reads (table growth over the look-back).
pub const NEEDS: &[Need] = &[
    recent(&PG_STATEMENT_CALLS),
    recent(&PG_STATEMENT_EXEC_MS),
    recent(&PG_STATEMENT_MEAN_EXEC_MS),
    lookback(&PG_TABLE_ROWS),
];

pub const MIN_CONFIDENCE: f64 = 0.35;

/// Key prefix of this rule's findings (`big_scans/<shape>/<db>/<queryid>`):
/// the fold reads them as causes.
pub const KEY_PREFIX: &str = "big_scans/";

/// Thresholds of the `big_scans` rule (`[advisor.big_scans]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// A table with fewer rows than this is not large (`pg_table_rows`:
    /// the planner's estimate or n_live_tup, whichever is larger; the key
    /// keeps its historical name). Default 100,000.
    pub min_live_tuples: f64,
    /// A statement faster than this on average (recent window, ms) is not
    /// a problem yet. Default 50 ms.
    pub min_mean_ms: f64,
    /// The mean time the projection looks for: when the table's growth
    /// brings the statement to this, it is too slow. Default 500 ms.
    pub target_mean_ms: f64,
    /// Reaching `target_mean_ms` within this many days (or being there
    /// already) makes the finding a warning rather than info. Default 30.
    pub warn_within_days: f64,
    /// Fewer calls than this in the recent window give no mean worth
    /// trusting. Default 5.
    pub min_calls: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_live_tuples: 100_000.0,
            min_mean_ms: 50.0,
            target_mean_ms: 500.0,
            warn_within_days: 30.0,
            min_calls: 5.0,
        }
    }
}

/// What makes a statement's time grow with its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Count,
    Offset,
}

impl Shape {
    fn as_str(self) -> &'static str {
        match self {
            Shape::Count => "count",
            Shape::Offset => "offset",
        }
    }
}

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.big_scans;
    let now = ctx.snapshot.now_ms;
    let stale = ctx.config.stale_ms();
    let start = now - ctx.config.recent_ms();
    let mut out = Vec::new();
    for calls in ctx.snapshot.named(PG_STATEMENT_CALLS.name) {
        let (agent, database, queryid) = (
            calls.label("agent"),
            calls.label("database"),
            calls.label("queryid"),
        );
        if queryid == "other" {
            continue;
        }
        // Calls in the recent window are recent enough: an admin list need
        // not run in every scrape.
        let n = calls.sum_since(start);
        if n < config.min_calls || n <= 0.0 {
            continue;
        }
        let Some(text) = ctx.snapshot.statement_text(database, queryid) else {
            continue;
        };
        let Some(shape) = shape(text) else {
            continue;
        };
        let labels = [
            ("agent", agent),
            ("database", database),
            ("queryid", queryid),
        ];
        let Some(exec_ms) = ctx
            .snapshot
            .find(PG_STATEMENT_EXEC_MS.name, &labels)
            .map(|s| s.sum_since(start))
        else {
            continue;
        };
        let mean_ms = exec_ms / n;
        if mean_ms < config.min_mean_ms {
            continue;
        }
        // The largest fresh table the statement reads.
        let db = [("agent", agent), ("database", database)];
        let Some((table, live)) = tables(text)
            .iter()
            .filter_map(|name| {
                ctx.snapshot
                    .matching(PG_TABLE_ROWS.name, &db)
                    .find(|s| s.label("table") == name)
            })
            .filter_map(|s| s.fresh(now, stale).map(|v| (s, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            continue;
        };
        if live < config.min_live_tuples {
            continue;
        }
        out.push(finding(ctx, shape, calls, table, live, n, mean_ms, text));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn finding(
    ctx: &Context,
    shape: Shape,
    calls: &Series,
    table: &Series,
    live: f64,
    n: f64,
    mean_ms: f64,
    text: &str,
) -> Finding {
    let config = &ctx.config.big_scans;
    let now = ctx.snapshot.now_ms;
    let (database, queryid) = (calls.label("database"), calls.label("queryid"));
    let name = table.label("table");
    let analysis = analysis::analyze(&table.points);
    let growth = analysis
        .trend
        .as_ref()
        .filter(|t| t.significant && t.slope_per_day > 0.0)
        .map(|t| t.slope_per_day);
    // Time ∝ rows: the target is reached at this many rows.
    let rows_at_target = live * config.target_mean_ms / mean_ms;
    let eta = if mean_ms >= config.target_mean_ms {
        Some(now)
    } else {
        growth
            .and(forecast::eta(&analysis, rows_at_target))
            .map(|e| e.t_ms)
    };
    let horizon = now + (config.warn_within_days * DAY_MS as f64) as i64;
    let severity = if eta.is_some_and(|t| t <= horizon) {
        Severity::Warning
    } else {
        Severity::Info
    };
    let outlook = match (eta, growth) {
        (Some(t), _) if mean_ms >= config.target_mean_ms || t <= now => format!(
            "It is already past {:.0} ms, and every new row makes it slower.",
            config.target_mean_ms
        ),
        (Some(t), Some(g)) => format!(
            "The table grows by about {g:.0} rows a day; with time proportional to rows this \
             statement reaches {:.0} ms {} (at about {rows_at_target:.0} rows).",
            config.target_mean_ms,
            describe_eta(now, t)
        ),
        _ => format!(
            "The table is not growing measurably now; the statement reaches {:.0} ms at about \
             {rows_at_target:.0} rows.",
            config.target_mean_ms
        ),
    };
    let (what, action) = match shape {
        Shape::Count => (
            "counts rows",
            format!(
                "Stop counting exactly on every list request: show an estimate from the \
                 planner (`SELECT reltuples::bigint FROM pg_class WHERE oid = 'public.\"{name}\"'::regclass`) \
                 when there is no filter, or a capped count (`SELECT count(*) FROM (SELECT 1 FROM \
                 \"{name}\" WHERE … LIMIT 1001) t`, shown as \"1,000+\"). Find who issues it first \
                 (`SELECT application_name, client_addr FROM pg_stat_activity WHERE query \
                 ILIKE '%count(%'` while it runs): in Medusa, an admin list's total is the usual \
                 caller; fetch the list without its count where the UI allows it."
            ),
        ),
        Shape::Offset => (
            "pages with OFFSET",
            format!(
                "Replace OFFSET paging by keyset pagination: remember the last row's sort key \
                 and id and ask for the next page with `WHERE (created_at, id) < ($1, $2) \
                 ORDER BY created_at DESC, id DESC LIMIT $3`, backed by an index on \
                 \"{name}\" (created_at, id); OFFSET reads and discards every skipped row."
            ),
        ),
    };
    let mut evidence = Evidence::default()
        .against(
            "mean time per call (recent window)",
            mean_ms,
            "ms",
            config.min_mean_ms,
        )
        .against("rows in the table", live, "rows", config.min_live_tuples)
        .fact("calls (recent window)", n, "calls")
        .fact(
            "rows at which the mean reaches the target",
            rows_at_target,
            "rows",
        )
        .series(
            PG_STATEMENT_MEAN_EXEC_MS.name,
            &calls.labels,
            Some(config.target_mean_ms),
        )
        .series(PG_TABLE_ROWS.name, &table.labels, Some(rows_at_target))
        .note(format!("queryid {queryid}: {text}"));
    if let Some(g) = growth {
        evidence = evidence.fact("table growth", g, "rows per day");
    }
    let calls_weight = n / (n + 20.0);
    let confidence =
        (0.3 + 0.3 * calls_weight + 0.3 * analysis::headroom::confidence(&analysis)).min(0.9);
    Finding {
        kind: RecKind::Database,
        key: format!("{KEY_PREFIX}{}/{database}/{queryid}", shape.as_str()),
        severity,
        title: format!("Query {what} over \"{name}\" ({live:.0} rows)"),
        summary: format!(
            "Query {queryid} on {database} {what} over \"{name}\" (about {live:.0} rows) and \
             takes {mean_ms:.0} ms per call on average (threshold {:.0} ms). Its time grows \
             with the table. {outlook} If nothing is done, whatever issues it (Headroom does not \
             see the caller) keeps slowing down, holding a connection for the whole scan.",
            config.min_mean_ms
        ),
        action,
        evidence,
        confidence,
    }
}

/// `Count` for a statement that counts, `Offset` for one that pages with
/// `OFFSET $n`, else `None`. Only for reads.
fn shape(text: &str) -> Option<Shape> {
    let lower = text.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split_whitespace().collect();
    if tokens
        .first()
        .is_none_or(|t| *t != "select" && *t != "with")
    {
        return None;
    }
    if lower.contains("count(") || lower.contains("count (") {
        return Some(Shape::Count);
    }
    tokens
        .windows(2)
        .any(|w| w[0] == "offset" && w[1].starts_with('$'))
        .then_some(Shape::Offset)
}

/// The table names after `FROM` and `JOIN`, unquoted, without schema.
fn tables(text: &str) -> Vec<String> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    for pair in tokens.windows(2) {
        let keyword = pair[0].to_ascii_lowercase();
        if keyword != "from" && keyword != "join" {
            continue;
        }
        let next = pair[1];
        if next.starts_with('(') {
            continue;
        }
        let name = next
            .trim_end_matches([',', ';', ')'])
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .trim_matches('"');
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::Snapshot;
    use crate::advisor::rules::testing::run_rule;
    use crate::analysis::{HOUR_MS, MINUTE_MS};
    use crate::store::model::Kind;

    const NOW: i64 = 40 * DAY_MS;
    const STEP: i64 = 5 * MINUTE_MS;
    const COUNT: &str = r#"SELECT count(*) AS "count" FROM "public"."product" AS "p0" WHERE "p0"."deleted_at" IS NULL"#;
    const PAGE: &str = r#"SELECT "o0".* FROM "order" AS "o0" WHERE "o0"."deleted_at" IS NULL ORDER BY "o0"."created_at" DESC LIMIT $1 OFFSET $2"#;

    /// A statement called `calls_each` times in each of ten recent points,
    /// `mean_ms` per call, over table `table` of `live` rows growing by
    /// `per_day` (hourly points over ten days).
    fn store(
        text: &str,
        calls_each: f64,
        mean_ms: f64,
        table: &str,
        live: f64,
        per_day: f64,
    ) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let stmt = [("agent", "pg"), ("database", "shop"), ("queryid", "1")];
        let points = |v: f64| {
            (0..10)
                .map(|i| (NOW - (9 - i) * STEP, v))
                .collect::<Vec<_>>()
        };
        snap.push(Series::new(
            "pg_statement_calls",
            &stmt,
            Kind::Gauge,
            points(calls_each),
        ));
        snap.push(Series::new(
            "pg_statement_exec_ms",
            &stmt,
            Kind::Gauge,
            points(calls_each * mean_ms),
        ));
        snap.push(Series::new(
            "pg_statement_mean_exec_ms",
            &stmt,
            Kind::Gauge,
            points(mean_ms),
        ));
        snap.push_text("pg_query", "shop/1", text, NOW);
        let hours = 10 * 24;
        let rows = (0..=hours)
            .map(|h| {
                let t = NOW - (hours - h) * HOUR_MS;
                (t, live - per_day * (hours - h) as f64 / 24.0)
            })
            .collect();
        let labels = [
            ("agent", "pg"),
            ("database", "shop"),
            ("schema", "public"),
            ("table", table),
        ];
        snap.push(Series::new("pg_table_rows", &labels, Kind::Gauge, rows));
        snap
    }

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_rule(evaluate, snap, &[])
    }

    #[test]
    fn count_at_both_thresholds_is_reported() {
        let found = run(&store(COUNT, 1.0, 50.0, "product", 100_000.0, 0.0));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].kind, RecKind::Database);
        assert_eq!(found[0].key, "big_scans/count/shop/1");
        assert!(found[0].action.contains("reltuples"));
        assert_eq!(
            found[0].severity,
            Severity::Info,
            "flat table, far from 500 ms"
        );
    }

    #[test]
    fn small_tables_and_fast_statements_are_fine() {
        assert!(run(&store(COUNT, 1.0, 50.0, "product", 99_999.0, 0.0)).is_empty());
        assert!(run(&store(COUNT, 1.0, 49.0, "product", 500_000.0, 0.0)).is_empty());
        assert_eq!(
            run(&store(COUNT, 1.0, 80.0, "product", 500_000.0, 0.0)).len(),
            1,
            "above both"
        );
    }

    #[test]
    fn offset_paging_is_reported_with_keyset_pagination() {
        let found = run(&store(PAGE, 1.0, 120.0, "order", 250_000.0, 0.0));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "big_scans/offset/shop/1");
        assert!(found[0].action.contains("keyset"));
    }

    #[test]
    fn fast_growth_projects_the_target_within_the_horizon() {
        // 100 ms at 100,000 rows: 500 ms at 500,000, reached in about 8 days.
        let found = run(&store(COUNT, 1.0, 100.0, "product", 100_000.0, 50_000.0));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning, "{}", found[0].summary);
        assert!(
            found[0].summary.contains("in 8 days") || found[0].summary.contains("in 9 days"),
            "{}",
            found[0].summary
        );
    }

    #[test]
    fn slow_growth_beyond_the_horizon_is_info() {
        let found = run(&store(COUNT, 1.0, 100.0, "product", 100_000.0, 1_000.0));
        assert_eq!(found[0].severity, Severity::Info, "{}", found[0].summary);
    }

    #[test]
    fn a_statement_already_at_the_target_is_a_warning() {
        let found = run(&store(PAGE, 1.0, 500.0, "order", 300_000.0, 0.0));
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].summary.contains("already past"));
    }

    #[test]
    fn tables_are_matched_by_name_and_database() {
        assert!(run(&store(COUNT, 1.0, 80.0, "product_variant", 500_000.0, 0.0)).is_empty());
        let mut other_db = store(COUNT, 1.0, 80.0, "product", 500_000.0, 0.0);
        for s in &mut other_db.series {
            if s.name == "pg_table_rows" {
                s.labels.insert("database".into(), "other".into());
            }
        }
        assert!(run(&other_db).is_empty());
    }

    #[test]
    fn too_few_calls_or_stale_statements_say_nothing() {
        // 0.4 × 10 points = 4 calls, below 5; 0.5 × 10 = 5 is enough.
        assert!(run(&store(COUNT, 0.4, 80.0, "product", 500_000.0, 0.0)).is_empty());
        assert_eq!(
            run(&store(COUNT, 0.5, 80.0, "product", 500_000.0, 0.0)).len(),
            1
        );
        let mut stale = store(COUNT, 1.0, 80.0, "product", 500_000.0, 0.0);
        stale.now_ms += DAY_MS;
        assert!(run(&stale).is_empty());
    }

    #[test]
    fn plain_reads_and_writes_are_not_big_scans() {
        let plain = r#"SELECT "p0".* FROM "product" AS "p0" WHERE "p0"."id" = $1"#;
        assert!(run(&store(plain, 1.0, 80.0, "product", 500_000.0, 0.0)).is_empty());
        let write =
            r#"UPDATE "product" SET "title" = $1 WHERE (SELECT count(*) FROM "product") > $2"#;
        assert!(run(&store(write, 1.0, 80.0, "product", 500_000.0, 0.0)).is_empty());
    }

    #[test]
    fn table_names_come_from_from_and_join() {
        let text = r#"SELECT count(*) FROM "public"."product" AS "p0" LEFT JOIN "product_variant" AS "v" ON x WHERE y IN (SELECT 1 FROM sales_channel)"#;
        assert_eq!(
            tables(text),
            ["product", "product_variant", "sales_channel"]
        );
        assert_eq!(shape(COUNT), Some(Shape::Count));
        assert_eq!(shape(PAGE), Some(Shape::Offset));
        assert_eq!(shape("SELECT * FROM t LIMIT $1"), None);
    }
}
