//! `pg_stat_statements` rows → per-interval deltas per normalised query
//! (pure). The previous cumulative row per (dbid, userid, queryid,
//! toplevel) is the baseline; what happened since becomes `v1::PgStatement`
//! records over [previous scrape, now].
//!
//! Rules:
//! - The first reading after the agent starts, reconnects, or finds the
//!   extension again only sets the baseline: nothing is sent for it, so an
//!   agent started on a busy server never sends years of history as one
//!   interval.
//! - After that, a row absent from the previous reading was created since
//!   then (the previous reading held every row), so all its counts belong to
//!   this interval and are sent in full. The same holds for a row whose
//!   counters went down (it was reset or evicted and re-created) and for
//!   every row after a full reset (`pg_stat_statements_info.stats_reset`
//!   changed, PostgreSQL 14+): counting restarts from zero, never negative.
//! - Rows of the same (database, queryid) are summed (several users,
//!   top-level and nested calls); only statements with calls in the interval
//!   are kept; the `top` by execution time are sent on their own and the
//!   rest are summed into one record with `other = true`.

use std::collections::HashMap;

use headroom_proto::v1;

/// The `database` of the `other` record when the rest spans several.
pub const SEVERAL_DATABASES: &str = "*";

/// Identity of one pg_stat_statements row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub dbid: i64,
    pub userid: i64,
    pub queryid: i64,
    pub toplevel: bool,
}

/// The cumulative counters of a row, or their change over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub calls: i64,
    pub total_exec_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    pub temp_blks_written: i64,
}

impl Counters {
    /// True when any counter is below `before`: the row was reset.
    fn went_down(&self, before: &Counters) -> bool {
        self.calls < before.calls
            || self.total_exec_ms < before.total_exec_ms
            || self.rows < before.rows
            || self.shared_blks_hit < before.shared_blks_hit
            || self.shared_blks_read < before.shared_blks_read
            || self.temp_blks_written < before.temp_blks_written
    }

    fn minus(&self, before: &Counters) -> Counters {
        Counters {
            calls: self.calls - before.calls,
            total_exec_ms: self.total_exec_ms - before.total_exec_ms,
            rows: self.rows - before.rows,
            shared_blks_hit: self.shared_blks_hit - before.shared_blks_hit,
            shared_blks_read: self.shared_blks_read - before.shared_blks_read,
            temp_blks_written: self.temp_blks_written - before.temp_blks_written,
        }
    }

    fn add(&mut self, other: &Counters) {
        self.calls += other.calls;
        self.total_exec_ms += other.total_exec_ms;
        self.rows += other.rows;
        self.shared_blks_hit += other.shared_blks_hit;
        self.shared_blks_read += other.shared_blks_read;
        self.temp_blks_written += other.temp_blks_written;
    }
}

/// One row of `pg_stat_statements(false)` joined with `pg_database`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatRow {
    pub key: Key,
    pub database: String,
    pub counters: Counters,
}

/// What one (database, queryid) did over an interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub dbid: i64,
    pub queryid: i64,
    pub database: String,
    pub counters: Counters,
}

/// A complete reading, kept as the next interval's baseline.
#[derive(Debug)]
struct Snapshot {
    at_ms: i64,
    stats_reset: Option<i64>,
    rows: HashMap<Key, Counters>,
}

/// The previous reading, turning cumulative rows into interval deltas.
#[derive(Debug, Default)]
pub struct Tracker {
    previous: Option<Snapshot>,
}

impl Tracker {
    /// Forgets the baseline: the next reading only sets a new one.
    pub fn forget(&mut self) {
        self.previous = None;
    }

    /// Takes a complete reading at `now_ms` and returns the start of the
    /// interval and the deltas with calls in it (per database and queryid,
    /// in no particular order), or `None` for a first reading.
    pub fn observe(
        &mut self,
        now_ms: i64,
        stats_reset: Option<i64>,
        rows: Vec<StatRow>,
    ) -> Option<(i64, Vec<Delta>)> {
        let result = self.previous.as_ref().map(|previous| {
            let reset = matches!(
                (previous.stats_reset, stats_reset),
                (Some(before), Some(now)) if before != now
            );
            let mut merged: HashMap<(i64, i64), Delta> = HashMap::new();
            for row in &rows {
                let delta = match previous.rows.get(&row.key) {
                    Some(before) if !reset && !row.counters.went_down(before) => {
                        row.counters.minus(before)
                    }
                    // Created, re-created or reset since the previous
                    // reading: every count it holds is from this interval.
                    _ => row.counters,
                };
                if delta.calls <= 0 {
                    continue;
                }
                merged
                    .entry((row.key.dbid, row.key.queryid))
                    .or_insert_with(|| Delta {
                        dbid: row.key.dbid,
                        queryid: row.key.queryid,
                        database: row.database.clone(),
                        counters: Counters::default(),
                    })
                    .counters
                    .add(&delta);
            }
            (previous.at_ms, merged.into_values().collect())
        });
        self.previous = Some(Snapshot {
            at_ms: now_ms,
            stats_reset,
            rows: rows
                .into_iter()
                .map(|row| (row.key, row.counters))
                .collect(),
        });
        result
    }
}

/// Splits `deltas` into the `top` by execution time (then calls), largest
/// first, and the sum of the rest, if any.
pub fn keep_top(mut deltas: Vec<Delta>, top: usize) -> (Vec<Delta>, Option<Delta>) {
    deltas.sort_by(|a, b| {
        b.counters
            .total_exec_ms
            .total_cmp(&a.counters.total_exec_ms)
            .then(b.counters.calls.cmp(&a.counters.calls))
            .then((a.dbid, a.queryid).cmp(&(b.dbid, b.queryid)))
    });
    let rest = deltas.split_off(top.min(deltas.len()));
    let Some(first) = rest.first() else {
        return (deltas, None);
    };
    let mut other = Delta {
        dbid: first.dbid,
        queryid: 0,
        database: first.database.clone(),
        counters: Counters::default(),
    };
    for delta in &rest {
        if delta.database != other.database {
            other.database = SEVERAL_DATABASES.to_owned();
        }
        other.counters.add(&delta.counters);
    }
    (deltas, Some(other))
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A delta as the wire record over [`start_ms`, `now_ms`].
pub fn record(
    delta: &Delta,
    start_ms: i64,
    now_ms: i64,
    query: String,
    other: bool,
) -> v1::PgStatement {
    let c = &delta.counters;
    v1::PgStatement {
        timestamp_ms: now_ms,
        start_ms,
        database: delta.database.clone(),
        queryid: if other {
            String::new()
        } else {
            delta.queryid.to_string()
        },
        query,
        calls: count(c.calls),
        total_exec_ms: c.total_exec_ms.max(0.0),
        mean_exec_ms: if c.calls > 0 {
            c.total_exec_ms.max(0.0) / c.calls as f64
        } else {
            0.0
        },
        rows: count(c.rows),
        shared_blks_hit: count(c.shared_blks_hit),
        shared_blks_read: count(c.shared_blks_read),
        temp_blks_written: count(c.temp_blks_written),
        other,
        fingerprint: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(queryid: i64, calls: i64, ms: f64) -> StatRow {
        StatRow {
            key: Key {
                dbid: 1,
                userid: 10,
                queryid,
                toplevel: true,
            },
            database: "shop".into(),
            counters: Counters {
                calls,
                total_exec_ms: ms,
                rows: calls * 2,
                shared_blks_hit: calls * 3,
                shared_blks_read: calls,
                temp_blks_written: 0,
            },
        }
    }

    fn by_query(deltas: &[Delta]) -> Vec<(i64, i64, f64)> {
        let mut out: Vec<_> = deltas
            .iter()
            .map(|d| (d.queryid, d.counters.calls, d.counters.total_exec_ms))
            .collect();
        out.sort_by_key(|d| d.0);
        out
    }

    #[test]
    fn the_first_reading_only_sets_the_baseline() {
        let mut tracker = Tracker::default();
        assert_eq!(
            tracker.observe(1_000, None, vec![row(1, 1_000_000, 9e9)]),
            None
        );
        let (start, deltas) = tracker
            .observe(2_000, None, vec![row(1, 1_000_005, 9e9 + 50.0)])
            .expect("second reading");
        assert_eq!(start, 1_000);
        assert_eq!(by_query(&deltas), vec![(1, 5, 50.0)]);
        assert_eq!(deltas[0].counters.rows, 10);
    }

    #[test]
    fn a_query_new_since_the_previous_reading_counts_in_full() {
        let mut tracker = Tracker::default();
        tracker.observe(1_000, None, vec![row(1, 10, 1.0)]);
        let (_, deltas) = tracker
            .observe(2_000, None, vec![row(1, 10, 1.0), row(2, 7, 3.5)])
            .expect("deltas");
        assert_eq!(
            by_query(&deltas),
            vec![(2, 7, 3.5)],
            "no calls for query 1: not sent"
        );
    }

    #[test]
    fn counters_that_went_down_restart_from_zero() {
        let mut tracker = Tracker::default();
        tracker.observe(1_000, None, vec![row(1, 100, 100.0)]);
        let (_, deltas) = tracker
            .observe(2_000, None, vec![row(1, 3, 2.0)])
            .expect("deltas");
        assert_eq!(by_query(&deltas), vec![(1, 3, 2.0)]);
        let (_, deltas) = tracker
            .observe(3_000, None, vec![row(1, 4, 2.5)])
            .expect("deltas");
        assert_eq!(
            by_query(&deltas),
            vec![(1, 1, 0.5)],
            "the new baseline holds"
        );
    }

    #[test]
    fn a_full_reset_restarts_every_row_even_one_that_grew() {
        let mut tracker = Tracker::default();
        tracker.observe(1_000, Some(5), vec![row(1, 10, 10.0)]);
        // Reset, then more calls than before: without stats_reset this
        // would look like 2 calls.
        let (_, deltas) = tracker
            .observe(2_000, Some(1_500), vec![row(1, 12, 11.0)])
            .expect("deltas");
        assert_eq!(by_query(&deltas), vec![(1, 12, 11.0)]);
        let (_, deltas) = tracker
            .observe(3_000, Some(1_500), vec![row(1, 13, 12.0)])
            .expect("deltas");
        assert_eq!(by_query(&deltas), vec![(1, 1, 1.0)]);
    }

    #[test]
    fn forgetting_makes_the_next_reading_a_baseline() {
        let mut tracker = Tracker::default();
        tracker.observe(1_000, None, vec![row(1, 10, 1.0)]);
        tracker.forget();
        assert_eq!(tracker.observe(2_000, None, vec![row(1, 20, 2.0)]), None);
    }

    #[test]
    fn rows_of_one_query_for_several_users_and_levels_are_summed() {
        let mut tracker = Tracker::default();
        let nested = |mut r: StatRow| {
            r.key.toplevel = false;
            r
        };
        let other_user = |mut r: StatRow| {
            r.key.userid = 11;
            r
        };
        tracker.observe(1_000, None, vec![row(1, 1, 1.0), nested(row(1, 1, 1.0))]);
        let (_, deltas) = tracker
            .observe(
                2_000,
                None,
                vec![
                    row(1, 2, 2.0),
                    nested(row(1, 3, 3.0)),
                    other_user(row(1, 4, 4.0)),
                ],
            )
            .expect("deltas");
        assert_eq!(by_query(&deltas), vec![(1, 1 + 2 + 4, 1.0 + 2.0 + 4.0)]);
    }

    fn deltas(n: i64) -> Vec<Delta> {
        (1..=n)
            .map(|i| Delta {
                dbid: 1,
                queryid: i,
                database: "shop".into(),
                counters: row(i, i, i as f64).counters,
            })
            .collect()
    }

    #[test]
    fn below_the_cap_every_statement_is_sent_and_there_is_no_other() {
        let (top, other) = keep_top(deltas(3), 5);
        assert_eq!(
            top.iter().map(|d| d.queryid).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
        assert_eq!(other, None);
    }

    #[test]
    fn at_the_cap_every_statement_is_sent_and_there_is_no_other() {
        let (top, other) = keep_top(deltas(5), 5);
        assert_eq!(top.len(), 5);
        assert_eq!(other, None);
    }

    #[test]
    fn above_the_cap_the_slowest_are_summed_into_other() {
        let (top, other) = keep_top(deltas(7), 5);
        assert_eq!(
            top.iter().map(|d| d.queryid).collect::<Vec<_>>(),
            vec![7, 6, 5, 4, 3]
        );
        let other = other.expect("other");
        assert_eq!(other.counters.calls, 1 + 2);
        assert_eq!(other.counters.total_exec_ms, 3.0);
        assert_eq!(other.database, "shop");
        let record = record(&other, 1, 2, String::new(), true);
        assert!(record.other);
        assert_eq!(record.queryid, "");
        assert_eq!(record.mean_exec_ms, 1.0);
    }

    #[test]
    fn other_over_several_databases_names_none_of_them() {
        let mut all = deltas(3);
        all[0].database = "crm".into();
        let (_, other) = keep_top(all, 1);
        assert_eq!(other.expect("other").database, SEVERAL_DATABASES);
        let (top, other) = keep_top(deltas(3), 0);
        assert!(top.is_empty());
        assert_eq!(other.expect("everything is other").counters.calls, 6);
    }

    #[test]
    fn a_record_carries_the_interval_and_the_mean() {
        let delta = Delta {
            dbid: 1,
            queryid: -42,
            database: "shop".into(),
            counters: Counters {
                calls: 4,
                total_exec_ms: 10.0,
                rows: 8,
                shared_blks_hit: 3,
                shared_blks_read: 2,
                temp_blks_written: 1,
            },
        };
        let r = record(&delta, 1_000, 2_000, "SELECT $1".into(), false);
        assert_eq!((r.start_ms, r.timestamp_ms), (1_000, 2_000));
        assert_eq!((r.queryid.as_str(), r.database.as_str()), ("-42", "shop"));
        assert_eq!((r.calls, r.rows, r.mean_exec_ms), (4, 8, 2.5));
        assert_eq!(
            (r.shared_blks_hit, r.shared_blks_read, r.temp_blks_written),
            (3, 2, 1)
        );
    }
}
