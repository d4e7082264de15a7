//! Rule `drop_index`: unused and duplicate indexes, with their write cost.
//!
//! Symptom: an index no query has scanned for a week or more, or an index
//! whose columns are a leading prefix of another index on the same table
//! (same method, same predicate). Why it matters: every insert writes one
//! entry into every index of the table (updates too, unless HOT), vacuum
//! reads it, and it takes disk and cache. The fix: `DROP INDEX
//! CONCURRENTLY`, which does not block writes.
//!
//! Unique and primary-key indexes are never proposed (they enforce
//! constraints). Scans are counted by this server only: an index used on a
//! read replica looks unused here, which every finding says.
//!
//! The index's shape (key elements, INCLUDE columns, predicate, method,
//! uniqueness) comes from the agent, which parsed the definition with
//! PostgreSQL's parser (`pg_index` texts, [`IndexText`]); nothing here reads
//! SQL. An index from an agent that sent no parsed fields is checked for
//! use only, never as a duplicate; a text that does not decode is skipped.

use std::collections::BTreeMap;

use headroom_proto::signals::postgres::{PG_INDEX_BYTES, PG_INDEX_SCANS, PG_TABLE_N_TUP_INS};

use serde::{Deserialize, Serialize};

use crate::advisor::needs::{Need, lookback, recent};
use crate::advisor::{Context, Evidence, Finding, RecKind, Series, Severity, Snapshot};
use crate::analysis::DAY_MS;
use crate::store::model::IndexText;

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.5: an index silent for exactly `unused_days` scores 0.5; duplicates, proven by their definitions, 0.8.
/// The series this rule reads (scans and inserts over the look-back: an index unused for weeks).
pub const NEEDS: &[Need] = &[
    lookback(&PG_INDEX_SCANS),
    recent(&PG_INDEX_BYTES),
    lookback(&PG_TABLE_N_TUP_INS),
];

pub const MIN_CONFIDENCE: f64 = 0.5;

/// Thresholds of the `drop_index` rule (`[advisor.drop_index]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// An index with no scan over this many days (and at least this much
    /// history) is unused. Default 7.
    pub unused_days: f64,
    /// Indexes smaller than this (bytes) are not worth a recommendation,
    /// unused or duplicate. Default 10 MiB.
    pub min_size_bytes: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            unused_days: 7.0,
            min_size_bytes: 10.0 * 1024.0 * 1024.0,
        }
    }
}

/// One index as the rule sees it.
#[derive(Debug)]
struct Index<'a> {
    agent: &'a str,
    database: &'a str,
    schema: &'a str,
    table: &'a str,
    name: &'a str,
    text: IndexText,
    bytes: f64,
    scans: &'a Series,
}

impl Index<'_> {
    fn key(&self) -> String {
        format!("{}/{}.{}", self.database, self.schema, self.name)
    }

    fn protected(&self) -> bool {
        self.name.ends_with("_pkey") || self.text.unique
    }

    fn definition(&self) -> &str {
        &self.text.definition
    }

    fn labels(&self) -> BTreeMap<String, String> {
        [
            ("agent", self.agent),
            ("database", self.database),
            ("schema", self.schema),
            ("table", self.table),
            ("index", self.name),
        ]
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.drop_index;
    let snapshot = ctx.snapshot;
    let now = snapshot.now_ms;
    let stale = ctx.config.stale_ms();
    let indexes: Vec<Index> = snapshot
        .named(PG_INDEX_SCANS.name)
        .filter(|s| s.fresh(now, stale).is_some())
        .filter_map(|scans| {
            let (database, schema, name) = (
                scans.label("database"),
                scans.label("schema"),
                scans.label("index"),
            );
            let stored = snapshot.text(IndexText::KIND, &format!("{database}/{schema}.{name}"))?;
            let text: IndexText = serde_json::from_str(&stored.text).ok()?;
            let bytes = snapshot
                .find(
                    PG_INDEX_BYTES.name,
                    &[
                        ("agent", scans.label("agent")),
                        ("database", database),
                        ("schema", schema),
                        ("index", name),
                    ],
                )?
                .fresh(now, stale)?;
            Some(Index {
                agent: scans.label("agent"),
                database,
                schema,
                table: scans.label("table"),
                name,
                text,
                bytes,
                scans,
            })
        })
        .collect();

    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    for index in &indexes {
        if let Some(finding) = unused(ctx, index) {
            findings.insert(finding.key.clone(), finding);
        }
    }
    for (shorter, longer) in duplicates(&indexes) {
        if shorter.bytes < config.min_size_bytes {
            continue;
        }
        let note = format!(
            "Its columns are a leading prefix of {}.{} ({}), with the same predicate: that index answers the same lookups.",
            longer.schema,
            longer.name,
            longer.definition()
        );
        match findings.get_mut(&shorter.key()) {
            Some(existing) => existing.evidence.notes.push(note),
            None => {
                let finding = duplicate(ctx, shorter, longer, note);
                findings.insert(finding.key.clone(), finding);
            }
        }
    }
    findings.into_values().collect()
}

/// An index with no scan over `unused_days`.
fn unused(ctx: &Context, index: &Index) -> Option<Finding> {
    let config = &ctx.config.drop_index;
    let now = ctx.snapshot.now_ms;
    let window_ms = (config.unused_days * DAY_MS as f64) as i64;
    let first = index.scans.points.first()?.0;
    let history_ms = now - first;
    if index.protected() || index.bytes < config.min_size_bytes || history_ms < window_ms {
        return None;
    }
    let scans = index.scans.increase_since(now - window_ms);
    if scans > 0.0 {
        return None;
    }
    let (inserts_per_day, ins_labels) = inserts_per_day(ctx.snapshot, index, window_ms);
    let days = config.unused_days;
    let size = mib(index.bytes);
    let mut evidence = Evidence::default()
        .against(
            &format!("index scans over the last {days} days"),
            scans,
            "scans",
            0.0,
        )
        .against("index size", index.bytes, "bytes", config.min_size_bytes)
        .fact("history", history_ms as f64 / DAY_MS as f64, "days")
        .series(PG_INDEX_SCANS.name, &index.labels(), Some(0.0))
        .series(
            PG_INDEX_BYTES.name,
            &index.labels(),
            Some(config.min_size_bytes),
        );
    if let (Some(per_day), Some(labels)) = (inserts_per_day, &ins_labels) {
        evidence = evidence
            .fact(
                "index entries written per day (table inserts)",
                per_day,
                "entries/day",
            )
            .series(PG_TABLE_N_TUP_INS.name, labels, None);
    }
    evidence = evidence
        .note(format!("Definition: {}", index.definition()))
        .note(REPLICA_NOTE);
    let history_days = history_ms as f64 / DAY_MS as f64;
    Some(Finding {
        kind: RecKind::DropIndex,
        key: index.key(),
        severity: Severity::Info,
        title: format!("Drop unused index {}.{}", index.schema, index.name),
        summary: format!(
            "No query has scanned {}.{} on {}.{} in {days} days, yet it takes {size:.0} MiB and {}. Kept, it keeps costing writes, vacuum time and cache space for nothing.",
            index.schema,
            index.name,
            index.schema,
            index.table,
            write_cost(inserts_per_day)
        ),
        action: drop_statement(index),
        evidence,
        // A week of silence is fair evidence; a month is strong.
        confidence: (0.5 + 0.4 * ((history_days - days) / (3.0 * days)).clamp(0.0, 1.0)).min(0.9),
    })
}

/// An index made redundant by `longer`.
fn duplicate(ctx: &Context, shorter: &Index, longer: &Index, note: String) -> Finding {
    let config = &ctx.config.drop_index;
    let (inserts_per_day, ins_labels) =
        inserts_per_day(ctx.snapshot, shorter, ctx.config.recent_ms().max(DAY_MS));
    let mut evidence = Evidence::default()
        .against("index size", shorter.bytes, "bytes", config.min_size_bytes)
        .fact("covering index size", longer.bytes, "bytes")
        .series(
            PG_INDEX_BYTES.name,
            &shorter.labels(),
            Some(config.min_size_bytes),
        )
        .series(PG_INDEX_SCANS.name, &shorter.labels(), None)
        .series(PG_INDEX_SCANS.name, &longer.labels(), None);
    if let (Some(per_day), Some(labels)) = (inserts_per_day, &ins_labels) {
        evidence = evidence
            .fact(
                "index entries written per day (table inserts)",
                per_day,
                "entries/day",
            )
            .series(PG_TABLE_N_TUP_INS.name, labels, None);
    }
    evidence = evidence
        .note(note)
        .note(format!("Definition: {}", shorter.definition()))
        .note("Queries that used it will use the longer index instead: slightly larger, as fast for these lookups.")
        .note("If the index comes from Medusa's own migrations, a later migration may recreate it.");
    Finding {
        kind: RecKind::DropIndex,
        key: shorter.key(),
        severity: Severity::Info,
        title: format!("Drop duplicate index {}.{}", shorter.schema, shorter.name),
        summary: format!(
            "{}.{} ({:.0} MiB) duplicates the leading columns of {}.{} on {}.{}, and {}. Kept, every write pays for two indexes where one serves.",
            shorter.schema,
            shorter.name,
            mib(shorter.bytes),
            longer.schema,
            longer.name,
            shorter.schema,
            shorter.table,
            write_cost(inserts_per_day)
        ),
        action: drop_statement(shorter),
        evidence,
        // The definitions prove the redundancy; only the planner's choices are unknown.
        confidence: 0.8,
    }
}

const REPLICA_NOTE: &str = "Scans are counted on this server only: if read replicas serve queries, check the index is unused there too before dropping it.";

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn write_cost(inserts_per_day: Option<f64>) -> String {
    match inserts_per_day {
        Some(n) => format!("every insert adds an entry to it (about {n:.0} a day)"),
        None => "every insert adds an entry to it".to_owned(),
    }
}

/// The table's inserts per day over the last `window_ms` (capped at the
/// history there is), with the series' labels.
fn inserts_per_day(
    snapshot: &Snapshot,
    index: &Index,
    window_ms: i64,
) -> (Option<f64>, Option<BTreeMap<String, String>>) {
    let Some(series) = snapshot.find(
        PG_TABLE_N_TUP_INS.name,
        &[
            ("agent", index.agent),
            ("database", index.database),
            ("schema", index.schema),
            ("table", index.table),
        ],
    ) else {
        return (None, None);
    };
    let since = snapshot.now_ms - window_ms;
    // `increase_since` counts from the point just before the window.
    let baseline = series
        .points
        .partition_point(|&(t, _)| t < since)
        .saturating_sub(1);
    let (Some(&(from, _)), Some((to, _))) = (series.points.get(baseline), series.last()) else {
        return (None, None);
    };
    let span_ms = to - from;
    let per_day =
        (span_ms > 0).then(|| series.increase_since(since) * DAY_MS as f64 / span_ms as f64);
    (per_day, Some(series.labels.clone()))
}

/// `DROP INDEX CONCURRENTLY` with identifiers quoted when they need it.
fn drop_statement(index: &Index) -> String {
    format!(
        "DROP INDEX CONCURRENTLY {}.{};",
        quote_ident(index.schema),
        quote_ident(index.name)
    )
}

fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Pairs `(redundant, covering)` on the same table: same method and
/// predicate, no INCLUDE on the redundant one, its key elements a leading
/// prefix of the covering one's (btree) or equal (any method). The
/// redundant one is never unique or a primary key; of two identical
/// indexes, the later name is the redundant one. Only indexes whose
/// parsed fields the agent sent take part.
fn duplicates<'a, 'b>(indexes: &'b [Index<'a>]) -> Vec<(&'b Index<'a>, &'b Index<'a>)> {
    let mut out = Vec::new();
    for a in indexes {
        let sa = &a.text;
        if !sa.parsed() || a.protected() || !sa.include.is_empty() {
            continue;
        }
        let covering = indexes.iter().find(|b| {
            let sb = &b.text;
            if std::ptr::eq(*b, a)
                || !sb.parsed()
                || (b.agent, b.database, b.schema, b.table)
                    != (a.agent, a.database, a.schema, a.table)
                || sb.method != sa.method
                || sb.predicate != sa.predicate
                || !sb.keys.starts_with(&sa.keys)
            {
                return false;
            }
            if sb.keys.len() == sa.keys.len() {
                // Identical: keep the protected one, else the first name.
                b.protected() || b.name < a.name
            } else {
                sa.method == "btree"
            }
        });
        if let Some(b) = covering {
            out.push((a, b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::testing::{keys, run_rule};
    use crate::analysis::HOUR_MS;
    use crate::store::model::Kind;

    const NOW: i64 = 60 * DAY_MS;
    const MIB: f64 = 1024.0 * 1024.0;

    /// Adds an index with hourly scan counts over `history_days`, scanned
    /// `recent_scans` times in the last day.
    fn add_index(
        snap: &mut Snapshot,
        name: &str,
        text: IndexText,
        bytes: f64,
        history_days: i64,
        recent_scans: f64,
    ) {
        let labels = [
            ("agent", "db"),
            ("database", "shop"),
            ("schema", "public"),
            ("table", "order"),
            ("index", name),
        ];
        let hours = history_days * 24;
        let scans = (0..=hours)
            .map(|h| {
                let t = NOW - (hours - h) * HOUR_MS;
                (
                    t,
                    if t > NOW - DAY_MS {
                        100.0 + recent_scans
                    } else {
                        100.0
                    },
                )
            })
            .collect();
        snap.push(Series::new("pg_index_scans", &labels, Kind::Counter, scans));
        snap.push(Series::new(
            "pg_index_bytes",
            &labels,
            Kind::Gauge,
            vec![(NOW, bytes)],
        ));
        snap.push_text(
            IndexText::KIND,
            &format!("shop/public.{name}"),
            &text.to_json(),
            NOW,
        );
    }

    fn add_inserts(snap: &mut Snapshot, per_day: f64) {
        let points = (0..=30)
            .map(|d| (NOW - (30 - d) * DAY_MS, d as f64 * per_day))
            .collect();
        snap.push(Series::new(
            "pg_table_n_tup_ins",
            &[
                ("agent", "db"),
                ("database", "shop"),
                ("schema", "public"),
                ("table", "order"),
            ],
            Kind::Counter,
            points,
        ));
    }

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_rule(evaluate, snap, &[])
    }

    /// An index text as the agent parses `definition`: btree, not unique.
    fn idx(definition: &str, keys: &[&str], predicate: &str) -> IndexText {
        IndexText {
            definition: definition.to_owned(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            include: vec![],
            predicate: predicate.to_owned(),
            method: "btree".to_owned(),
            unique: false,
        }
    }

    fn plain() -> IndexText {
        idx(
            "CREATE INDEX idx_order_email ON public.\"order\" USING btree (email) WHERE (deleted_at IS NULL)",
            &["email"],
            "deleted_at IS NULL",
        )
    }

    #[test]
    fn an_unscanned_large_index_is_dropped_with_its_write_cost() {
        let mut snap = Snapshot::at(NOW);
        add_index(&mut snap, "idx_order_email", plain(), 64.0 * MIB, 30, 0.0);
        add_inserts(&mut snap, 2_000.0);
        let findings = run(&snap);
        assert_eq!(keys(&findings), ["shop/public.idx_order_email"]);
        let f = &findings[0];
        assert_eq!(f.kind, RecKind::DropIndex);
        assert_eq!(f.action, "DROP INDEX CONCURRENTLY public.idx_order_email;");
        assert!(f.summary.contains("about 2000 a day"), "{}", f.summary);
        assert!(f.evidence.notes.iter().any(|n| n.contains("replicas")));
        assert!(f.confidence > 0.8);
    }

    #[test]
    fn one_scan_in_the_window_keeps_the_index() {
        let mut snap = Snapshot::at(NOW);
        add_index(&mut snap, "idx_order_email", plain(), 64.0 * MIB, 30, 1.0);
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn history_below_at_and_above_the_unused_window() {
        let mut short = Snapshot::at(NOW);
        add_index(&mut short, "idx_order_email", plain(), 64.0 * MIB, 6, 0.0);
        assert!(run(&short).is_empty(), "6 days of history is too little");
        let mut at = Snapshot::at(NOW);
        add_index(&mut at, "idx_order_email", plain(), 64.0 * MIB, 7, 0.0);
        let findings = run(&at);
        assert_eq!(keys(&findings), ["shop/public.idx_order_email"]);
        assert!(findings[0].confidence <= 0.5 + 1e-9);
        let mut long = Snapshot::at(NOW);
        add_index(&mut long, "idx_order_email", plain(), 64.0 * MIB, 8, 0.0);
        assert_eq!(run(&long).len(), 1);
    }

    #[test]
    fn size_below_at_and_above_the_minimum() {
        for (bytes, expected) in [
            (10.0 * MIB - 1.0, 0),
            (10.0 * MIB, 1),
            (10.0 * MIB + 1.0, 1),
        ] {
            let mut snap = Snapshot::at(NOW);
            add_index(&mut snap, "idx_order_email", plain(), bytes, 30, 0.0);
            assert_eq!(run(&snap).len(), expected, "{bytes}");
        }
    }

    #[test]
    fn unique_and_primary_key_indexes_are_never_proposed() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "IDX_order_handle_unique",
            IndexText {
                unique: true,
                ..idx(
                    "CREATE UNIQUE INDEX \"IDX_order_handle_unique\" ON public.\"order\" USING btree (handle)",
                    &["handle"],
                    "",
                )
            },
            64.0 * MIB,
            30,
            0.0,
        );
        add_index(
            &mut snap,
            "order_pkey",
            idx(
                "CREATE INDEX order_pkey ON public.\"order\" USING btree (id)",
                &["id"],
                "",
            ),
            64.0 * MIB,
            30,
            0.0,
        );
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn a_stale_or_undefined_index_says_nothing() {
        let mut snap = Snapshot::at(NOW);
        add_index(&mut snap, "idx_order_email", plain(), 64.0 * MIB, 30, 0.0);
        snap.now_ms = NOW + DAY_MS;
        assert!(run(&snap).is_empty());
        let mut undefined = Snapshot::at(NOW);
        add_index(
            &mut undefined,
            "idx_order_email",
            plain(),
            64.0 * MIB,
            30,
            0.0,
        );
        undefined.texts.clear();
        assert!(run(&undefined).is_empty());
    }

    #[test]
    fn a_leading_prefix_with_the_same_predicate_is_a_duplicate() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "IDX_order_customer",
            idx(
                "CREATE INDEX \"IDX_order_customer\" ON public.\"order\" USING btree (customer_id) WHERE (deleted_at IS NULL)",
                &["customer_id"],
                "deleted_at IS NULL",
            ),
            20.0 * MIB,
            2,
            50.0,
        );
        add_index(
            &mut snap,
            "IDX_order_customer_created",
            idx(
                "CREATE INDEX \"IDX_order_customer_created\" ON public.\"order\" USING btree (customer_id, created_at) WHERE (deleted_at IS NULL)",
                &["customer_id", "created_at"],
                "deleted_at IS NULL",
            ),
            30.0 * MIB,
            2,
            50.0,
        );
        add_inserts(&mut snap, 500.0);
        let findings = run(&snap);
        assert_eq!(keys(&findings), ["shop/public.IDX_order_customer"]);
        let f = &findings[0];
        assert_eq!(
            f.action,
            "DROP INDEX CONCURRENTLY public.\"IDX_order_customer\";"
        );
        assert!(f.summary.contains("about 500 a day"), "{}", f.summary);
        assert!(f.title.starts_with("Drop duplicate index"));
    }

    #[test]
    fn a_different_predicate_or_a_non_prefix_is_not_a_duplicate() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "a",
            idx(
                "CREATE INDEX a ON public.\"order\" USING btree (customer_id)",
                &["customer_id"],
                "",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "b",
            idx(
                "CREATE INDEX b ON public.\"order\" USING btree (customer_id, created_at) WHERE (deleted_at IS NULL)",
                &["customer_id", "created_at"],
                "deleted_at IS NULL",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "c",
            idx(
                "CREATE INDEX c ON public.\"order\" USING btree (created_at, customer_id)",
                &["created_at", "customer_id"],
                "",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "d",
            idx(
                "CREATE INDEX d ON public.\"order\" USING btree (customer_id DESC, email)",
                &["customer_id DESC", "email"],
                "",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn a_unique_prefix_is_kept() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "a",
            IndexText {
                unique: true,
                ..idx(
                    "CREATE UNIQUE INDEX a ON public.\"order\" USING btree (customer_id)",
                    &["customer_id"],
                    "",
                )
            },
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "b",
            idx(
                "CREATE INDEX b ON public.\"order\" USING btree (customer_id, created_at)",
                &["customer_id", "created_at"],
                "",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn of_two_identical_indexes_one_is_dropped() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "a",
            IndexText {
                method: "gin".into(),
                ..idx(
                    "CREATE INDEX a ON public.\"order\" USING gin (tags)",
                    &["tags"],
                    "",
                )
            },
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "b",
            IndexText {
                method: "gin".into(),
                ..idx(
                    "CREATE INDEX b ON public.\"order\" USING gin (tags)",
                    &["tags"],
                    "",
                )
            },
            20.0 * MIB,
            2,
            5.0,
        );
        assert_eq!(keys(&run(&snap)), ["shop/public.b"]);
    }

    #[test]
    fn a_small_duplicate_is_not_worth_a_recommendation() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "a",
            idx(
                "CREATE INDEX a ON public.\"order\" USING btree (customer_id)",
                &["customer_id"],
                "",
            ),
            10.0 * MIB - 1.0,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "b",
            idx(
                "CREATE INDEX b ON public.\"order\" USING btree (customer_id, created_at)",
                &["customer_id", "created_at"],
                "",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn an_unused_duplicate_is_one_finding_with_both_reasons() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "a",
            idx(
                "CREATE INDEX a ON public.\"order\" USING btree (customer_id)",
                &["customer_id"],
                "",
            ),
            20.0 * MIB,
            30,
            0.0,
        );
        add_index(
            &mut snap,
            "b",
            idx(
                "CREATE INDEX b ON public.\"order\" USING btree (customer_id, created_at)",
                &["customer_id", "created_at"],
                "",
            ),
            20.0 * MIB,
            30,
            5.0,
        );
        let findings = run(&snap);
        assert_eq!(keys(&findings), ["shop/public.a"]);
        assert!(
            findings[0]
                .evidence
                .notes
                .iter()
                .any(|n| n.contains("leading prefix of public.b"))
        );
    }

    #[test]
    fn an_index_with_include_or_without_parsed_fields_is_never_a_duplicate() {
        let mut snap = Snapshot::at(NOW);
        add_index(
            &mut snap,
            "a",
            IndexText {
                include: vec!["name".into()],
                ..idx(
                    "CREATE INDEX a ON public.\"order\" USING btree (customer_id) INCLUDE (name)",
                    &["customer_id"],
                    "",
                )
            },
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "b",
            idx(
                "CREATE INDEX b ON public.\"order\" USING btree (customer_id, created_at)",
                &["customer_id", "created_at"],
                "",
            ),
            20.0 * MIB,
            2,
            5.0,
        );
        add_index(
            &mut snap,
            "c",
            IndexText {
                keys: vec![],
                method: String::new(),
                ..idx(
                    "CREATE INDEX c ON public.\"order\" USING btree (customer_id)",
                    &["customer_id"],
                    "",
                )
            },
            20.0 * MIB,
            2,
            5.0,
        );
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn a_pg_index_text_that_does_not_decode_is_skipped() {
        let mut snap = Snapshot::at(NOW);
        add_index(&mut snap, "idx_order_email", plain(), 64.0 * MIB, 30, 0.0);
        snap.texts.clear();
        snap.push_text(
            IndexText::KIND,
            "shop/public.idx_order_email",
            "CREATE INDEX idx_order_email ON public.\"order\" USING btree (email)",
            NOW,
        );
        assert!(run(&snap).is_empty());
    }
}
