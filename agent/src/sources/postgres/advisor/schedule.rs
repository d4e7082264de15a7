//! When a statement is (re-)examined for indexes (pure): in the scrape
//! where it first appears among the slowest, again as soon as what the
//! examination depended on has moved by [`FACTOR`] or more (up or down)
//! since then, its mean time, its calls per interval or the rows of a table
//! it was examined on, and at the latest every `index_advice_interval`
//! (the floor: a plan can change without any of these moving).
//!
//! A value that was 0 and is not now (or the reverse) has moved; both 0
//! has not. The comparison is always against the values of the last
//! examination, never the previous scrape, so a slow drift is caught too.
//! A rare statement's figures are noise (one call of 2 ms, then two of
//! 5 ms): calls count only when either interval had [`MIN_CALLS`], the mean
//! only when both had.

/// How much a value must move (×, either way) to re-examine the statement.
pub const FACTOR: f64 = 2.0;
/// Calls in an interval below which its mean (and a move of its calls) is
/// not worth a new examination.
pub const MIN_CALLS: f64 = 5.0;

/// What an examination depended on, as measured in one scrape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measure {
    /// Mean execution time in the scrape's interval, ms.
    pub mean_ms: f64,
    /// Calls in the scrape's interval.
    pub calls: f64,
    /// Rows of each table the statement was examined on, by
    /// `schema.table` (empty before the first examination).
    pub tables: Vec<(String, u64)>,
}

/// Why a statement is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Never examined (or forgotten).
    New,
    /// The mean time moved by [`FACTOR`].
    Mean,
    /// The calls per interval moved by [`FACTOR`].
    Calls,
    /// A table's rows moved by [`FACTOR`] (or the table vanished).
    Table,
    /// `index_advice_interval` passed.
    Interval,
}

impl Trigger {
    /// The word logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::New => "new",
            Trigger::Mean => "mean_time_moved",
            Trigger::Calls => "calls_moved",
            Trigger::Table => "table_rows_moved",
            Trigger::Interval => "interval",
        }
    }
}

/// The last examination of a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Last<'a> {
    pub examined_ms: i64,
    pub measure: &'a Measure,
}

/// Whether (and why) a statement measured `now` at `now_ms` is due, given
/// its last examination. `rows_now` gives the current rows of a table
/// named in the last measure (`None`: no longer among the tables read).
pub fn due(
    last: Option<Last<'_>>,
    now: &Measure,
    rows_now: impl Fn(&str) -> Option<u64>,
    now_ms: i64,
    interval_ms: i64,
) -> Option<Trigger> {
    let Some(last) = last else {
        return Some(Trigger::New);
    };
    let (calls_then, calls_now) = (last.measure.calls, now.calls);
    if calls_then.min(calls_now) >= MIN_CALLS && moved(last.measure.mean_ms, now.mean_ms) {
        return Some(Trigger::Mean);
    }
    if calls_then.max(calls_now) >= MIN_CALLS && moved(calls_then, calls_now) {
        return Some(Trigger::Calls);
    }
    let table_moved = last
        .measure
        .tables
        .iter()
        .any(|(name, rows)| rows_now(name).is_none_or(|now| moved(*rows as f64, now as f64)));
    if table_moved {
        return Some(Trigger::Table);
    }
    (now_ms.saturating_sub(last.examined_ms) >= interval_ms).then_some(Trigger::Interval)
}

/// Whether `before` → `after` is a move by [`FACTOR`] or more.
pub fn moved(before: f64, after: f64) -> bool {
    let (low, high) = if before <= after {
        (before, after)
    } else {
        (after, before)
    };
    if high <= 0.0 {
        return false;
    }
    low <= 0.0 || high / low >= FACTOR
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::postgres::advisor::test_support::{advisor, statement};

    const INTERVAL: i64 = 300_000;

    fn measure(mean_ms: f64, calls: f64, rows: u64) -> Measure {
        Measure {
            mean_ms,
            calls,
            tables: vec![("public.cart".into(), rows)],
        }
    }

    fn due_with(last: &Measure, now: Measure, rows: Option<u64>, now_ms: i64) -> Option<Trigger> {
        due(
            Some(Last {
                examined_ms: 0,
                measure: last,
            }),
            &now,
            |name| {
                assert_eq!(name, "public.cart");
                rows
            },
            now_ms,
            INTERVAL,
        )
    }

    #[test]
    fn a_statement_never_examined_is_due_at_once() {
        assert_eq!(
            due(None, &Measure::default(), |_| None, 0, INTERVAL),
            Some(Trigger::New)
        );
    }

    #[test]
    fn nothing_moved_means_due_only_when_the_interval_passed() {
        let last = measure(10.0, 100.0, 50_000);
        let same = || measure(10.0, 100.0, 50_000);
        assert_eq!(due_with(&last, same(), Some(50_000), 15_000), None);
        assert_eq!(due_with(&last, same(), Some(50_000), INTERVAL - 1), None);
        assert_eq!(
            due_with(&last, same(), Some(50_000), INTERVAL),
            Some(Trigger::Interval)
        );
    }

    #[test]
    fn the_mean_time_moving_twofold_either_way_makes_it_due() {
        let last = measure(10.0, 100.0, 50_000);
        for (mean, expected) in [
            (19.9, None),
            (20.0, Some(Trigger::Mean)),
            (5.1, None),
            (5.0, Some(Trigger::Mean)),
            (140.0, Some(Trigger::Mean)),
        ] {
            assert_eq!(
                due_with(&last, measure(mean, 100.0, 50_000), Some(50_000), 15_000),
                expected,
                "{mean}"
            );
        }
    }

    #[test]
    fn the_calls_per_interval_moving_twofold_either_way_makes_it_due() {
        let last = measure(10.0, 100.0, 50_000);
        for (calls, expected) in [
            (199.0, None),
            (200.0, Some(Trigger::Calls)),
            (51.0, None),
            (50.0, Some(Trigger::Calls)),
        ] {
            assert_eq!(
                due_with(&last, measure(10.0, calls, 50_000), Some(50_000), 15_000),
                expected,
                "{calls}"
            );
        }
    }

    #[test]
    fn the_table_growing_shrinking_or_vanishing_makes_it_due() {
        let last = measure(10.0, 100.0, 50_000);
        let now = || measure(10.0, 100.0, 0);
        assert_eq!(due_with(&last, now(), Some(99_999), 15_000), None);
        assert_eq!(
            due_with(&last, now(), Some(100_000), 15_000),
            Some(Trigger::Table)
        );
        assert_eq!(
            due_with(&last, now(), Some(25_000), 15_000),
            Some(Trigger::Table)
        );
        assert_eq!(
            due_with(&last, now(), None, 15_000),
            Some(Trigger::Table),
            "the table is no longer read"
        );
        // A table first seen empty (e.g. a statistics reset before the
        // planner's estimate): any rows now are a move.
        let empty = measure(10.0, 100.0, 0);
        assert_eq!(
            due_with(&empty, now(), Some(800_000), 15_000),
            Some(Trigger::Table)
        );
        assert_eq!(due_with(&empty, now(), Some(0), 15_000), None);
    }

    #[test]
    fn a_rare_statements_noise_does_not_make_it_due() {
        let last = measure(2.0, 1.0, 50_000);
        // One call of 2 ms, then two of 5 ms: neither is a move.
        assert_eq!(
            due_with(&last, measure(5.0, 2.0, 50_000), Some(50_000), 15_000),
            None
        );
        // Its calls reaching MIN_CALLS and doubling is one.
        assert_eq!(
            due_with(&last, measure(2.0, MIN_CALLS, 50_000), Some(50_000), 15_000),
            Some(Trigger::Calls)
        );
        // A mean moves only between intervals of MIN_CALLS calls each.
        let busy = measure(2.0, MIN_CALLS, 50_000);
        assert_eq!(
            due_with(&busy, measure(5.0, MIN_CALLS, 50_000), Some(50_000), 15_000),
            Some(Trigger::Mean)
        );
    }

    #[test]
    fn zero_to_something_is_a_move_and_zero_to_zero_is_not() {
        assert!(moved(0.0, 1.0));
        assert!(moved(3.0, 0.0));
        assert!(!moved(0.0, 0.0));
        assert!(!moved(1.0, 1.5));
    }

    fn table(schema: &str, name: &str, rows: u64) -> headroom_proto::v1::PgTable {
        headroom_proto::v1::PgTable {
            database: "shop".into(),
            schema: schema.into(),
            table: name.into(),
            estimated_rows: rows,
            ..headroom_proto::v1::PgTable::default()
        }
    }

    fn examined(
        advisor: &mut super::super::Advisor,
        id: &str,
        measure: Measure,
        verdict: super::super::Verdict,
    ) {
        advisor.cache.insert(
            ("shop".into(), id.into()),
            super::super::Entry {
                examined_ms: 0,
                seen_ms: 0,
                found: Vec::new(),
                verdict,
                measure,
            },
        );
    }

    fn ids(due: Vec<(&headroom_proto::v1::PgStatement, Trigger)>) -> Vec<String> {
        due.iter().map(|(s, _)| s.queryid.clone()).collect()
    }

    #[test]
    fn statements_are_due_slowest_first_once_per_interval() {
        let mut advisor = advisor(2);
        let statements = [
            statement("1", "shop", 1.0),
            statement("2", "shop", 3.0),
            statement("3", "shop", 2.0),
            statement("4", "other", 9.0),
            headroom_proto::v1::PgStatement {
                other: true,
                ..statement("5", "shop", 99.0)
            },
        ];
        assert_eq!(ids(advisor.due("shop", &statements, &[], 0)), ["2", "3"]);
        for id in ["2", "3"] {
            examined(
                &mut advisor,
                id,
                Measure::default(),
                super::super::verdict::no_usable_predicate(),
            );
        }
        assert_eq!(ids(advisor.due("shop", &statements, &[], 1_000)), ["1"]);
        assert_eq!(
            ids(advisor.due("shop", &statements, &[], 60_000)),
            ["2", "3"]
        );
    }

    #[test]
    fn a_statement_whose_mean_or_table_moved_is_due_before_the_interval() {
        let mut advisor = advisor(10);
        let slow = |mean_exec_ms: f64| headroom_proto::v1::PgStatement {
            mean_exec_ms,
            calls: 100,
            ..statement("7", "shop", 50.0)
        };
        let last = Measure {
            mean_ms: 10.0,
            calls: 100.0,
            tables: vec![("public.orders".into(), 800)],
        };
        examined(
            &mut advisor,
            "7",
            last,
            too_small_verdict(&table("public", "orders", 800)),
        );
        let tables = [table("public", "orders", 800)];
        assert!(
            advisor
                .due("shop", &[slow(12.0)], &tables, 15_000)
                .is_empty()
        );
        let slower = [slow(25.0)];
        let due = advisor.due("shop", &slower, &tables, 15_000);
        assert_eq!(due[0].1, Trigger::Mean);
        // The planner's estimate arrives (e.g. ANALYZE after a reset).
        let grown = [table("public", "orders", 600_000)];
        let same = [slow(12.0)];
        let due = advisor.due("shop", &same, &grown, 15_000);
        assert_eq!(due[0].1, Trigger::Table);
    }

    fn too_small_verdict(table: &headroom_proto::v1::PgTable) -> super::super::Verdict {
        super::super::verdict::too_small(table, 1_000)
    }
}
