//! Verdicts of the index advisor (pure): every examined statement gets one,
//! a candidate or why not, with a stable code (the wire contract of
//! `v1::IndexVerdict.verdict`) and one sentence for a person that names
//! the table, the estimate its size came from or the covering index, and
//! never a literal of the statement (statements are normalised; a database
//! error contributes its message only, never its detail or position).

use headroom_proto::v1;

use super::Found;
use super::candidate::{Candidate, Unserved, Unsupported};

/// Why a statement has (or has no) index candidate. The order is the
/// priority when a statement's tables disagree: the most actionable first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Candidate,
    PlannerWouldNotUse,
    AlreadyCovered,
    TableTooSmall,
    NotExplainable,
    TableNotFound,
    NoUsablePredicate,
    NoPredicate,
    NoTable,
    UnsupportedOr,
    NotSelect,
    ParseError,
}

impl Code {
    /// The code as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Candidate => "candidate",
            Code::PlannerWouldNotUse => "planner_would_not_use",
            Code::AlreadyCovered => "already_covered",
            Code::TableTooSmall => "table_too_small",
            Code::NotExplainable => "not_explainable",
            Code::TableNotFound => "table_not_found",
            Code::NoUsablePredicate => "no_usable_predicate",
            Code::NoPredicate => "no_predicate",
            Code::NoTable => "no_table",
            Code::UnsupportedOr => "unsupported_or",
            Code::NotSelect => "not_select",
            Code::ParseError => "parse_error",
        }
    }
}

/// One statement's verdict (or one table's, before [`combine`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub code: Code,
    pub reason: String,
    pub schema: String,
    pub table: String,
    pub table_rows: Option<u64>,
    pub definition: String,
}

impl Verdict {
    /// A verdict about no table.
    pub fn plain(code: Code, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            schema: String::new(),
            table: String::new(),
            table_rows: None,
            definition: String::new(),
        }
    }

    /// A verdict about `table`.
    pub fn on(code: Code, table: &v1::PgTable, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            schema: table.schema.clone(),
            table: table.table.clone(),
            table_rows: Some(rows(table)),
            definition: String::new(),
        }
    }

    /// With the definition of the index it is about.
    pub fn with_definition(mut self, definition: impl Into<String>) -> Self {
        self.definition = definition.into();
        self
    }

    /// The wire record.
    pub fn to_wire(&self, database: &str, queryid: &str, now_ms: i64) -> v1::IndexVerdict {
        v1::IndexVerdict {
            timestamp_ms: now_ms,
            database: database.to_owned(),
            queryid: queryid.to_owned(),
            verdict: self.code.as_str().to_owned(),
            reason: self.reason.clone(),
            schema: self.schema.clone(),
            table: self.table.clone(),
            table_rows: self.table_rows,
            definition: self.definition.clone(),
        }
    }
}

/// A table's rows for every size gate: the planner's estimate or
/// n_live_tup, whichever is larger (an agent's own tables always carry
/// `estimated_rows`; 0 there means nothing is known beyond n_live_tup).
pub fn rows(table: &v1::PgTable) -> u64 {
    table.estimated_rows.max(table.n_live_tup)
}

/// `schema.table`.
pub fn qualified(table: &v1::PgTable) -> String {
    format!("{}.{}", table.schema, table.table)
}

/// "public.cart has about 800 rows (planner estimate; n_live_tup 0)", or
/// "… has 1200 rows (n_live_tup; planner estimate 900)".
pub fn size_phrase(table: &v1::PgTable) -> String {
    if table.estimated_rows > table.n_live_tup {
        format!(
            "{} has about {} rows (planner estimate; n_live_tup {})",
            qualified(table),
            table.estimated_rows,
            table.n_live_tup
        )
    } else {
        format!(
            "{} has {} rows (n_live_tup; planner estimate {})",
            qualified(table),
            table.n_live_tup,
            table.estimated_rows
        )
    }
}

/// The table is below `index_advice_min_rows`.
pub fn too_small(table: &v1::PgTable, min_rows: u64) -> Verdict {
    Verdict::on(
        Code::TableTooSmall,
        table,
        format!(
            "{}, fewer than index_advice_min_rows ({min_rows}): a sequential scan serves it",
            size_phrase(table)
        ),
    )
}

/// Why the candidate parser gave nothing.
pub fn unsupported(reason: &Unsupported) -> Verdict {
    let code = match reason {
        Unsupported::Parse(_) => Code::ParseError,
        Unsupported::NotSelect(_) => Code::NotSelect,
        Unsupported::NoTable => Code::NoTable,
        Unsupported::Or(_) => Code::UnsupportedOr,
    };
    Verdict::plain(code, reason.to_string())
}

/// A table of the statement that the parser found no candidate for, with
/// what it saw of its conditions.
pub fn unserved(reason: &Unserved) -> Verdict {
    let code = match reason.code() {
        "no_predicate" => Code::NoPredicate,
        _ => Code::NoUsablePredicate,
    };
    Verdict {
        schema: reason.schema.clone().unwrap_or_default(),
        table: reason.table.clone(),
        ..Verdict::plain(code, reason.to_string())
    }
}

/// A SELECT whose WHERE clause gives no index column.
pub fn no_usable_predicate() -> Verdict {
    Verdict::plain(
        Code::NoUsablePredicate,
        "no predicate of its WHERE clause compares a column of a table to a value an index could look up",
    )
}

/// The table a candidate names is not among those read.
pub fn table_not_found(schema: Option<&str>, table: &str, tables_top: usize) -> Verdict {
    let name = match schema {
        Some(schema) => format!("{schema}.{table}"),
        None => table.to_owned(),
    };
    Verdict {
        schema: schema.unwrap_or_default().to_owned(),
        table: table.to_owned(),
        ..Verdict::plain(
            Code::TableNotFound,
            format!(
                "{name} is not among the {tables_top} largest tables read (tables_top), or is a view, \
                 a partitioned parent or a name found in several schemas"
            ),
        )
    }
}

/// An existing index already serves the candidate's columns.
pub fn already_covered(table: &v1::PgTable, index: &v1::PgIndex, columns: &[String]) -> Verdict {
    Verdict::on(
        Code::AlreadyCovered,
        table,
        format!(
            "index {}.{} already covers ({}) on {}",
            index.schema,
            index.index,
            columns.join(", "),
            qualified(table)
        ),
    )
    .with_definition(index.definition.clone())
}

/// The statement could not be explained: the database's message only.
pub fn not_explainable(message: &str) -> Verdict {
    Verdict::plain(
        Code::NotExplainable,
        format!("EXPLAIN of the statement failed: {message}"),
    )
}

/// One verdict per statement: the highest-priority code's (ties: the
/// first), its reason followed by the others' when they differ.
pub fn combine(mut verdicts: Vec<Verdict>) -> Verdict {
    verdicts.sort_by_key(|v| v.code);
    let mut iter = verdicts.into_iter();
    let Some(mut first) = iter.next() else {
        return no_usable_predicate();
    };
    for other in iter {
        if other.reason != first.reason && !first.reason.contains(&other.reason) {
            first.reason.push_str("; ");
            first.reason.push_str(&other.reason);
        }
    }
    first
}

/// The first index of `table` that covers `candidate`.
pub fn covering<'a>(
    indexes: &'a [v1::PgIndex],
    table: &v1::PgTable,
    candidate: &Candidate,
) -> Option<&'a v1::PgIndex> {
    covering_keys(
        indexes,
        table,
        &candidate.columns,
        candidate.predicate.as_deref().unwrap_or(""),
        candidate.sorted,
    )
}

/// The first index of `table` that covers `columns` (the last `sorted` of
/// them sort keys) under `predicate`.
fn covering_keys<'a>(
    indexes: &'a [v1::PgIndex],
    table: &v1::PgTable,
    columns: &[String],
    predicate: &str,
    sorted: usize,
) -> Option<&'a v1::PgIndex> {
    indexes.iter().find(|i| {
        i.schema == table.schema
            && i.table == table.table
            && super::covered::covers(i, columns, predicate, sorted)
    })
}

/// The verdict of one verified candidate: `candidate`, or
/// `planner_would_not_use` when hypopg's plan ignored it.
pub(super) fn found(found: &Found, tables: &[v1::PgTable]) -> Option<Verdict> {
    let table = tables
        .iter()
        .find(|t| t.schema == found.schema && t.table == found.table)?;
    let definition = super::candidate::definition(
        &found.schema,
        &found.table,
        &found.columns,
        &found.predicate,
    );
    let costs = match found.cost_after {
        Some(after) => format!("plan cost {:.0} → {after:.1} (hypopg)", found.cost_before),
        None => format!(
            "plan cost {:.0} without it (no hypopg to verify)",
            found.cost_before
        ),
    };
    let (code, what) = if found.uses_index == Some(false) {
        (
            Code::PlannerWouldNotUse,
            "the planner would not use a hypothetical index on",
        )
    } else {
        (Code::Candidate, "an index would serve it on")
    };
    Some(
        Verdict::on(
            code,
            table,
            format!(
                "{what} {} ({}); {}; {costs}",
                qualified(table),
                found.columns.join(", "),
                size_phrase(table)
            ),
        )
        .with_definition(definition),
    )
}

impl super::Advisor {
    /// The verdicts of this scrape's statements, slowest first, bounded. A
    /// candidate an index now covers says so until re-examined.
    pub(super) fn verdicts(
        &self,
        database: &str,
        statements: &[v1::PgStatement],
        tables: &[v1::PgTable],
        indexes: &[v1::PgIndex],
        now_ms: i64,
    ) -> Vec<v1::IndexVerdict> {
        let most = self
            .settings
            .max_statements
            .saturating_mul(super::VERDICTS_PER_STATEMENT);
        super::slowest(database, statements)
            .into_iter()
            .filter_map(|statement| {
                let entry = self
                    .cache
                    .get(&(database.to_owned(), statement.queryid.clone()))?;
                let current = match entry.verdict.code {
                    Code::Candidate => entry
                        .found
                        .iter()
                        .find_map(|found| {
                            let table = tables
                                .iter()
                                .find(|t| t.schema == found.schema && t.table == found.table)?;
                            let index = covering_keys(
                                indexes,
                                table,
                                &found.columns,
                                &found.predicate,
                                found.sorted,
                            )?;
                            Some(already_covered(table, index, &found.columns))
                        })
                        .unwrap_or_else(|| entry.verdict.clone()),
                    _ => entry.verdict.clone(),
                };
                Some(current.to_wire(database, &statement.queryid, now_ms))
            })
            .take(most)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::postgres::advisor::test_support::{advisor, statement};

    fn table(estimated_rows: u64, n_live_tup: u64) -> v1::PgTable {
        v1::PgTable {
            schema: "public".into(),
            table: "cart".into(),
            estimated_rows,
            n_live_tup,
            ..v1::PgTable::default()
        }
    }

    #[test]
    fn too_small_says_which_estimate_the_size_came_from() {
        let after_reset = too_small(&table(800, 0), 1_000);
        assert_eq!(after_reset.code.as_str(), "table_too_small");
        assert!(
            after_reset
                .reason
                .starts_with("public.cart has about 800 rows (planner estimate; n_live_tup 0)"),
            "{}",
            after_reset.reason
        );
        assert_eq!(after_reset.table_rows, Some(800));
        let live = too_small(&table(700, 900), 1_000);
        assert!(
            live.reason
                .starts_with("public.cart has 900 rows (n_live_tup; planner estimate 700)"),
            "{}",
            live.reason
        );
        assert_eq!(live.table_rows, Some(900));
    }

    #[test]
    fn parser_reasons_map_to_their_codes() {
        for (reason, code) in [
            (Unsupported::Parse("syntax error".into()), "parse_error"),
            (Unsupported::NotSelect("an UPDATE"), "not_select"),
            (Unsupported::NoTable, "no_table"),
            (Unsupported::Or("email, phone".into()), "unsupported_or"),
        ] {
            assert_eq!(unsupported(&reason).code.as_str(), code);
        }
        assert_eq!(no_usable_predicate().code.as_str(), "no_usable_predicate");
    }

    #[test]
    fn already_covered_names_the_index() {
        let index = v1::PgIndex {
            schema: "public".into(),
            index: "cart_customer_id_idx".into(),
            definition:
                "CREATE INDEX cart_customer_id_idx ON public.cart USING btree (customer_id)".into(),
            ..v1::PgIndex::default()
        };
        let verdict = already_covered(&table(90_000, 0), &index, &["customer_id".into()]);
        assert_eq!(verdict.code.as_str(), "already_covered");
        assert!(
            verdict
                .reason
                .contains("index public.cart_customer_id_idx already covers (customer_id)"),
            "{}",
            verdict.reason
        );
        assert_eq!(verdict.definition, index.definition);
    }

    #[test]
    fn a_statement_gets_its_most_actionable_verdict_with_the_others_reasons() {
        let combined = combine(vec![
            too_small(&table(10, 10), 1_000),
            Verdict::plain(Code::Candidate, "an index would serve it"),
        ]);
        assert_eq!(combined.code, Code::Candidate);
        assert!(
            combined
                .reason
                .starts_with("an index would serve it; public.cart")
        );
        assert_eq!(combine(Vec::new()).code, Code::NoUsablePredicate);
    }

    #[test]
    fn the_wire_record_carries_every_field() {
        let wire = too_small(&table(800, 0), 1_000).to_wire("shop", "-9", 5);
        assert_eq!(
            (
                wire.timestamp_ms,
                wire.database.as_str(),
                wire.queryid.as_str(),
                wire.verdict.as_str(),
                wire.schema.as_str(),
                wire.table.as_str(),
                wire.table_rows,
                wire.definition.as_str()
            ),
            (
                5,
                "shop",
                "-9",
                "table_too_small",
                "public",
                "cart",
                Some(800),
                ""
            )
        );
    }

    fn examined(advisor: &mut super::super::Advisor, id: &str, verdict: Verdict) {
        advisor.cache.insert(
            ("shop".into(), id.into()),
            super::super::Entry {
                examined_ms: 0,
                seen_ms: 0,
                found: Vec::new(),
                verdict,
                measure: super::super::Measure::default(),
            },
        );
    }

    fn orders(rows: u64) -> v1::PgTable {
        v1::PgTable {
            schema: "public".into(),
            table: "orders".into(),
            estimated_rows: rows,
            ..v1::PgTable::default()
        }
    }

    fn a_found() -> Found {
        Found {
            schema: "public".into(),
            table: "orders".into(),
            columns: vec!["email".into()],
            predicate: String::new(),
            sorted: 0,
            method: super::super::METHOD_HYPOPG,
            cost_before: 1_000.0,
            cost_after: Some(8.0),
            uses_index: Some(true),
        }
    }

    #[test]
    fn verdicts_are_sent_for_this_scrapes_statements_slowest_first_and_bounded() {
        let mut advisor = advisor(1);
        let statements: Vec<v1::PgStatement> = (0..6)
            .map(|i| statement(&i.to_string(), "shop", f64::from(i)))
            .collect();
        for s in &statements {
            examined(&mut advisor, &s.queryid, no_usable_predicate());
        }
        let sent = advisor.verdicts("shop", &statements, &[], &[], 9);
        let queryids: Vec<&str> = sent.iter().map(|v| v.queryid.as_str()).collect();
        assert_eq!(
            queryids,
            ["5", "4", "3"],
            "1 × {}",
            super::super::VERDICTS_PER_STATEMENT
        );
        assert!(sent.iter().all(|v| v.timestamp_ms == 9
            && v.database == "shop"
            && v.verdict == "no_usable_predicate"));
        // A statement absent from this scrape has no verdict sent.
        assert!(advisor.verdicts("shop", &[], &[], &[], 10).is_empty());
    }

    #[test]
    fn a_candidate_an_index_now_covers_is_sent_as_already_covered() {
        let mut advisor = advisor(10);
        let tables = [orders(50_000)];
        let f = a_found();
        let candidate = found(&f, &tables).expect("table known");
        assert_eq!(candidate.code, Code::Candidate);
        assert!(
            candidate
                .definition
                .starts_with("CREATE INDEX CONCURRENTLY"),
            "{}",
            candidate.definition
        );
        advisor.cache.insert(
            ("shop".into(), "42".into()),
            super::super::Entry {
                examined_ms: 0,
                seen_ms: 0,
                found: vec![f],
                verdict: candidate,
                measure: super::super::Measure::default(),
            },
        );
        let statements = [statement("42", "shop", 5.0)];
        let sent = advisor.verdicts("shop", &statements, &tables, &[], 1);
        assert_eq!(sent[0].verdict, "candidate");
        assert_eq!(sent[0].table_rows, Some(50_000));
        let index = v1::PgIndex {
            schema: "public".into(),
            table: "orders".into(),
            index: "orders_email_idx".into(),
            definition: "CREATE INDEX orders_email_idx ON public.orders USING btree (email)".into(),
            ..v1::PgIndex::default()
        };
        let sent = advisor.verdicts("shop", &statements, &tables, &[index], 2);
        assert_eq!(sent[0].verdict, "already_covered");
        assert!(
            sent[0].reason.contains("public.orders_email_idx"),
            "{}",
            sent[0].reason
        );
    }

    #[test]
    fn a_candidate_the_planner_ignores_gets_that_verdict() {
        let tables = [orders(50_000)];
        let ignored = super::super::Found {
            uses_index: Some(false),
            cost_after: Some(1_000.0),
            ..a_found()
        };
        let v = found(&ignored, &tables).expect("table known");
        assert_eq!(v.code.as_str(), "planner_would_not_use");
        assert!(v.reason.contains("public.orders (email)"), "{}", v.reason);
    }
}
