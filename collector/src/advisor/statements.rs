//! Per-statement statistics that bulk work cannot bend. A mean over every
//! statement `pg_stat_statements` saw is dominated by whatever ran most
//! often: half a million foreign-key checks from one bulk insert make the
//! server's "mean time per statement" a property of that insert, not of the
//! application's queries. Before a mean is used as evidence, bulk work is
//! set apart and named:
//!
//! - maintenance: `VACUUM`, `ANALYZE`, `CREATE [UNIQUE] INDEX`, `REINDEX`,
//!   `CLUSTER`, `COPY`, `REFRESH MATERIALIZED VIEW`, `TRUNCATE` (by the
//!   statement's leading keywords);
//! - foreign-key checks: PostgreSQL's referential-integrity triggers run
//!   `SELECT 1 FROM ONLY <table> x WHERE … FOR KEY SHARE OF x` once per row
//!   written (seen when `pg_stat_statements.track = all`);
//! - bursts: a statement whose busiest interval holds at least
//!   [`BURST_SHARE`] of its calls in the window *and* at least
//!   [`BURST_SHARE`] of every statement's calls in that interval (a batch
//!   job, an import), with at least [`BURST_MIN_CALLS`] calls, in a window
//!   where statements ran in at least [`BURST_MIN_INTERVALS`] intervals (a
//!   burst stands out from a spread workload; one interval of data is not
//!   a burst).
//!
//! Headroom's own statements are not here: the agent does not send them.
//! The summed rest (`queryid="other"`) cannot be told apart and is kept.
//! Pure; reads the snapshot only.

use std::collections::BTreeMap;

use headroom_proto::signals::postgres::{PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS};

use super::Snapshot;
use super::needs::{Need, recent};

/// A statement is a burst when its busiest interval holds at least this
/// share of its calls and of all calls in that interval.
/// The series [`workload`] reads (for every rule that calls it).
pub const NEEDS: &[Need] = &[recent(&PG_STATEMENT_CALLS), recent(&PG_STATEMENT_EXEC_MS)];

pub const BURST_SHARE: f64 = 0.5;
/// Fewer calls than this in the window are never a burst.
pub const BURST_MIN_CALLS: f64 = 100.0;
/// Fewer intervals with calls (any statement) than this hold no burst.
pub const BURST_MIN_INTERVALS: usize = 3;

/// Why a statement is set apart from the application's statistics.
#[derive(Debug, Clone, PartialEq)]
pub enum Bulk {
    /// A maintenance or bulk-load statement, by its leading keywords.
    Maintenance(&'static str),
    /// A referential-integrity check run once per row written.
    ForeignKeyCheck,
    /// Calls concentrated in one interval: this share of them.
    Burst(f64),
}

impl Bulk {
    /// How the exclusion reads in evidence.
    pub fn describe(&self) -> String {
        match self {
            Bulk::Maintenance(what) => format!("maintenance ({what})"),
            Bulk::ForeignKeyCheck => "foreign-key check (one per row written)".to_owned(),
            Bulk::Burst(share) => format!(
                "a burst ({:.0}% of its calls in one interval)",
                share * 100.0
            ),
        }
    }
}

/// Leading keywords of maintenance and bulk-load statements.
const MAINTENANCE: &[&str] = &[
    "VACUUM",
    "ANALYZE",
    "ANALYSE",
    "CREATE INDEX",
    "CREATE UNIQUE INDEX",
    "REINDEX",
    "CLUSTER",
    "COPY",
    "REFRESH MATERIALIZED VIEW",
    "TRUNCATE",
];

/// Bulk work recognisable from a statement's (normalised) text.
pub fn classify_text(text: &str) -> Option<Bulk> {
    let upper: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    if let Some(&what) = MAINTENANCE.iter().find(|k| {
        upper
            .strip_prefix(**k)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '(', ';', '…']))
    }) {
        return Some(Bulk::Maintenance(what));
    }
    (upper.starts_with("SELECT 1 FROM ONLY ") && upper.contains("FOR KEY SHARE"))
        .then_some(Bulk::ForeignKeyCheck)
}

/// One statement set apart, with what it weighed.
#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    pub database: String,
    pub queryid: String,
    pub why: Bulk,
    pub calls: f64,
    pub exec_ms: f64,
}

impl Excluded {
    /// `query 42 on shop: foreign-key check (…), 498000 calls, 1200 ms`.
    pub fn describe(&self) -> String {
        format!(
            "query {} on {}: {}, {:.0} calls, {:.0} ms",
            self.queryid,
            self.database,
            self.why.describe(),
            self.calls,
            self.exec_ms
        )
    }
}

/// The application's statements over a window, bulk work set apart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workload {
    /// Calls and execution time of the kept statements.
    pub calls: f64,
    pub exec_ms: f64,
    /// Distinct kept statements.
    pub statements: usize,
    pub excluded: Vec<Excluded>,
}

impl Workload {
    /// Mean execution time per kept call.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.calls > 0.0).then(|| self.exec_ms / self.calls)
    }

    /// Whether `(database, queryid)` was set apart.
    pub fn is_excluded(&self, database: &str, queryid: &str) -> bool {
        self.excluded
            .iter()
            .any(|e| e.database == database && e.queryid == queryid)
    }

    /// One note naming every exclusion (none when nothing was excluded).
    pub fn exclusion_note(&self) -> Option<String> {
        if self.excluded.is_empty() {
            return None;
        }
        let listed: Vec<String> = self.excluded.iter().map(Excluded::describe).collect();
        Some(format!(
            "Set apart as bulk work, not in the statement statistics above: {}.",
            listed.join("; ")
        ))
    }
}

/// The statements of `pg_stat_statements` since `since`, restricted to the
/// series whose labels include `labels` (e.g. one agent or database).
pub fn workload(snapshot: &Snapshot, since: i64, labels: &[(&str, &str)]) -> Workload {
    // Calls per interval over every statement, for the burst test.
    let mut per_interval: BTreeMap<i64, f64> = BTreeMap::new();
    let calls: Vec<_> = snapshot.matching(PG_STATEMENT_CALLS.name, labels).collect();
    for s in &calls {
        for (&(t, _), sum) in s.points.iter().zip(&s.sums) {
            if t >= since {
                *per_interval.entry(t).or_default() += sum;
            }
        }
    }
    let spread = per_interval.values().filter(|&&n| n > 0.0).count() >= BURST_MIN_INTERVALS;
    let mut out = Workload::default();
    for s in calls {
        let n = s.sum_since(since);
        if n <= 0.0 {
            continue;
        }
        let (database, queryid) = (s.label("database"), s.label("queryid"));
        let exec_ms = snapshot
            .matching(PG_STATEMENT_EXEC_MS.name, labels)
            .find(|e| e.labels == s.labels)
            .map_or(0.0, |e| e.sum_since(since));
        let text = snapshot.statement_text(database, queryid);
        let burst = || -> Option<Bulk> {
            if n < BURST_MIN_CALLS || !spread {
                return None;
            }
            let (t, most) = s
                .points
                .iter()
                .zip(&s.sums)
                .filter(|((t, _), _)| *t >= since)
                .map(|(&(t, _), &sum)| (t, sum))
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let all = per_interval.get(&t).copied().unwrap_or(most);
            (most / n >= BURST_SHARE && all > 0.0 && most / all >= BURST_SHARE)
                .then_some(Bulk::Burst(most / n))
        };
        let why = if queryid == "other" {
            None
        } else {
            text.and_then(classify_text).or_else(burst)
        };
        match why {
            Some(why) => out.excluded.push(Excluded {
                database: database.to_owned(),
                queryid: queryid.to_owned(),
                why,
                calls: n,
                exec_ms,
            }),
            None => {
                out.calls += n;
                out.exec_ms += exec_ms;
                out.statements += 1;
            }
        }
    }
    out.excluded
        .sort_by(|a, b| b.calls.total_cmp(&a.calls).then(a.queryid.cmp(&b.queryid)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::Series;
    use crate::analysis::MINUTE_MS;
    use crate::store::model::Kind;

    const NOW: i64 = 100 * MINUTE_MS;

    /// A statement with `calls[i]` calls and `ms` ms each at minute i of the
    /// last len(calls) minutes.
    fn statement(snap: &mut Snapshot, queryid: &str, text: &str, calls: &[f64], ms: f64) {
        let labels = [("agent", "db"), ("database", "shop"), ("queryid", queryid)];
        let at = |i: usize| NOW - (calls.len() - i) as i64 * MINUTE_MS;
        snap.push(Series::new(
            "pg_statement_calls",
            &labels,
            Kind::Gauge,
            calls.iter().enumerate().map(|(i, &c)| (at(i), c)).collect(),
        ));
        snap.push(Series::new(
            "pg_statement_exec_ms",
            &labels,
            Kind::Gauge,
            calls
                .iter()
                .enumerate()
                .map(|(i, &c)| (at(i), c * ms))
                .collect(),
        ));
        snap.push_text("pg_query", &format!("shop/{queryid}"), text, NOW);
    }

    #[test]
    fn maintenance_and_foreign_key_checks_are_recognised_by_their_text() {
        for (text, what) in [
            ("VACUUM ANALYZE cart", "VACUUM"),
            ("analyze public.cart", "ANALYZE"),
            ("CREATE INDEX CONCURRENTLY x ON y (z)", "CREATE INDEX"),
            ("COPY cart FROM STDIN", "COPY"),
            ("CLUSTER …", "CLUSTER"),
        ] {
            assert_eq!(classify_text(text), Some(Bulk::Maintenance(what)), "{text}");
        }
        assert_eq!(
            classify_text(
                "SELECT 1 FROM ONLY \"public\".\"cart\" x WHERE \"id\" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x"
            ),
            Some(Bulk::ForeignKeyCheck)
        );
        for plain in [
            "SELECT * FROM cart WHERE id = $1",
            "SELECT 1",
            "INSERT INTO copy_log VALUES ($1)",
            "SELECT * FROM vacuum_stats",
        ] {
            assert_eq!(classify_text(plain), None, "{plain}");
        }
    }

    #[test]
    fn half_a_million_foreign_key_checks_cannot_dilute_the_mean() {
        let mut snap = Snapshot::at(NOW);
        // The app: 600 statements a minute at 2 ms for ten minutes.
        statement(
            &mut snap,
            "1",
            "SELECT * FROM cart WHERE id = $1",
            &[600.0; 10],
            2.0,
        );
        // One bulk insert's checks: 500,000 calls at 0.01 ms in one minute.
        let mut fk = [0.0; 10];
        fk[4] = 500_000.0;
        statement(
            &mut snap,
            "2",
            "SELECT 1 FROM ONLY \"public\".\"customer\" x WHERE \"id\" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x",
            &fk,
            0.01,
        );
        let w = workload(&snap, NOW - 60 * MINUTE_MS, &[]);
        assert!((w.mean_ms().expect("a mean") - 2.0).abs() < 1e-9);
        assert_eq!(w.excluded.len(), 1);
        assert_eq!(w.excluded[0].why, Bulk::ForeignKeyCheck);
        let note = w.exclusion_note().expect("named");
        assert!(
            note.contains("query 2 on shop: foreign-key check"),
            "{note}"
        );
        assert!(note.contains("500000 calls"), "{note}");
    }

    #[test]
    fn a_burst_is_set_apart_but_steady_work_at_any_rate_is_not() {
        let mut snap = Snapshot::at(NOW);
        statement(
            &mut snap,
            "1",
            "SELECT a FROM t WHERE id = $1",
            &[600.0; 10],
            2.0,
        );
        let mut import = [0.0; 10];
        import[7] = 20_000.0;
        import[8] = 100.0;
        statement(&mut snap, "2", "INSERT INTO t VALUES ($1)", &import, 0.05);
        // Steady and busy, not a burst.
        statement(
            &mut snap,
            "3",
            "SELECT b FROM u WHERE id = $1",
            &[5_000.0; 10],
            0.1,
        );
        let w = workload(&snap, NOW - 60 * MINUTE_MS, &[]);
        assert_eq!(w.excluded.len(), 1, "{w:#?}");
        assert_eq!(w.excluded[0].queryid, "2");
        assert!(matches!(w.excluded[0].why, Bulk::Burst(s) if s > 0.99));
        assert_eq!(w.statements, 2);
    }

    #[test]
    fn a_short_load_test_where_every_statement_runs_together_is_not_a_burst() {
        let mut snap = Snapshot::at(NOW);
        // Ten checkouts inside one minute: every statement is "bursty" on
        // its own, none dominates its interval.
        for q in 0..5 {
            let mut calls = [0.0; 10];
            calls[9] = 200.0;
            statement(
                &mut snap,
                &q.to_string(),
                "SELECT x FROM y WHERE id = $1",
                &calls,
                1.0,
            );
        }
        let w = workload(&snap, NOW - 60 * MINUTE_MS, &[]);
        assert!(w.excluded.is_empty(), "{w:#?}");
        assert_eq!(w.statements, 5);
    }

    #[test]
    fn one_interval_of_data_holds_no_burst() {
        let mut snap = Snapshot::at(NOW);
        statement(
            &mut snap,
            "1",
            "SELECT a FROM t WHERE id = $1",
            &[0.0, 0.0, 400.0],
            2.0,
        );
        let w = workload(&snap, NOW - 60 * MINUTE_MS, &[]);
        assert!(w.excluded.is_empty(), "{w:#?}");
        assert_eq!(w.mean_ms(), Some(2.0));
    }

    #[test]
    fn few_calls_are_never_a_burst() {
        let mut snap = Snapshot::at(NOW);
        let mut calls = [0.0; 10];
        calls[3] = 99.0;
        statement(&mut snap, "1", "SELECT count(*) FROM t", &calls, 300.0);
        let w = workload(&snap, NOW - 60 * MINUTE_MS, &[]);
        assert!(w.excluded.is_empty());
        assert_eq!(w.mean_ms(), Some(300.0));
    }
}
