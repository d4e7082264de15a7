//! Index advice for the postgres source: the slowest SELECTs of the scrape
//! (by execution time in the interval, at most `index_advice_max_statements`
//! per pass) are examined in the scrape where they first appear, again when
//! their mean time, calls per interval or table's rows moved twofold since
//! (`schedule`), and at least every `index_advice_interval`. Each is parsed
//! into index candidates (`candidate`: conditions classified by
//! `predicate`, expressions walked and deparsed by `expr`, key elements and
//! DDL rendered by `keys`, a `reason` for each table without a candidate);
//! those on tables smaller than `index_advice_min_rows` (the planner's
//! estimate or n_live_tup, whichever is larger: a statistics reset does not
//! hide a big table) or that an existing index already covers (`covered`)
//! are dropped, and the rest are verified on the source's own connection:
//!
//! - with the `hypopg` extension installed in the database: the generic
//!   plan's cost without the index, then with a hypothetical index
//!   (`hypopg_create_index`), and whether that plan uses it (`plan`);
//!   method `hypopg`;
//! - without it: the generic plan's cost only; method `explain`.
//!
//! The generic plan is `EXPLAIN (GENERIC_PLAN, FORMAT JSON)` from
//! PostgreSQL 16; before that the statement is prepared under
//! `plan_cache_mode = force_generic_plan` and explained as `EXECUTE` with a
//! NULL per parameter. Each statement is examined in its own transaction
//! (`SET LOCAL statement_timeout`, rolled back), then the prepared statement
//! and hypothetical indexes are removed. Only SELECTs are ever explained,
//! never executed. A statement that fails to parse, prepare or explain (no
//! SELECT privilege, a timeout) is skipped with a DEBUG line, never a failed
//! scrape. Privileges: SELECT on the tables examined (EXPLAIN reads no
//! row); hypopg's functions are executable by anyone by default.
//!
//! Verified candidates are cached per queryid and sent with every scrape as
//! `v1::IndexCandidate` records while no index covers them, so the
//! collector sees them as fresh; once the index exists they stop. Every
//! examined statement also gets a `verdict` (a candidate, or why not), logged
//! at DEBUG when made and sent with every scrape as a `v1::IndexVerdict`
//! for the statements of that scrape (at most [`VERDICTS_PER_STATEMENT`] ×
//! `index_advice_max_statements`, slowest first).

use std::collections::HashMap;
use std::time::Duration;

use headroom_proto::v1;
use tokio_postgres::{Client, SimpleQueryMessage};

pub mod candidate;
#[cfg(test)]
mod corpus_tests;
pub mod covered;
pub mod expr;
pub mod keys;
pub mod plan;
pub mod predicate;
pub mod reason;
pub mod schedule;
pub mod verdict;

use super::own::{mark, own_sql};
use candidate::Candidate;
use schedule::Measure;
use verdict::Verdict;

/// Verdicts sent per scrape: this many per statement examined per pass.
pub const VERDICTS_PER_STATEMENT: usize = 3;

/// Name of the statement prepared for a generic plan (PostgreSQL < 16).
const PREPARED: &str = "headroom_candidate";
/// `statement_timeout` of each examination, in milliseconds.
const STATEMENT_TIMEOUT_MS: u64 = 3_000;
/// A statement absent from the scrapes this long is forgotten, with its
/// candidates (at least one `interval`).
const FORGET_AFTER: Duration = Duration::from_secs(3_600);
/// First server version with `EXPLAIN (GENERIC_PLAN)`.
const GENERIC_PLAN_VERSION: i32 = 160_000;

const Q_SERVER: &str = own_sql!(
    "SELECT current_setting('server_version_num')::int4, \
     (SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
      WHERE e.extname = 'hypopg')"
);

/// The kind of a relation (`pg_class.relkind`).
const Q_RELKIND: &str = own_sql!(
    "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2"
);
/// `relkind` of a partitioned table.
const RELKIND_PARTITIONED: i8 = b'p' as i8;

/// Method names as sent.
pub const METHOD_HYPOPG: &str = "hypopg";
pub const METHOD_EXPLAIN: &str = "explain";

/// The advisor's settings (from the source's `index_advice*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: bool,
    pub interval: Duration,
    pub min_rows: u64,
    pub max_statements: usize,
    /// The source's `tables_top`, named when a table is not found.
    pub tables_top: usize,
}

/// What one scrape's advice sends.
#[derive(Debug, Default)]
pub struct Advice {
    pub candidates: Vec<v1::IndexCandidate>,
    pub verdicts: Vec<v1::IndexVerdict>,
}

/// A verified candidate of one statement.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    schema: String,
    table: String,
    columns: Vec<String>,
    predicate: String,
    /// Trailing sort keys of `columns` (see `Candidate::sorted`).
    sorted: usize,
    method: &'static str,
    cost_before: f64,
    cost_after: Option<f64>,
    uses_index: Option<bool>,
}

/// One examined statement.
#[derive(Debug)]
struct Entry {
    examined_ms: i64,
    seen_ms: i64,
    found: Vec<Found>,
    verdict: Verdict,
    /// What the examination depended on (`schedule`).
    measure: Measure,
}

/// What examining one statement concluded.
#[derive(Debug)]
struct Examination {
    found: Vec<Found>,
    verdict: Verdict,
    /// Rows of each table examined, by `schema.table`.
    tables: Vec<(String, u64)>,
}

impl Examination {
    fn only(verdict: Verdict) -> Self {
        Self {
            found: Vec::new(),
            verdict,
            tables: Vec::new(),
        }
    }
}

/// What the server offers for verification.
#[derive(Debug, Clone)]
struct Server {
    version: i32,
    /// hypopg's schema, quoted, when installed.
    hypopg: Option<String>,
}

/// The per-source advisor state: examined statements by (database, queryid).
#[derive(Debug)]
pub struct Advisor {
    source: String,
    settings: Settings,
    cache: HashMap<(String, String), Entry>,
}

impl Advisor {
    pub fn new(source: String, settings: Settings) -> Self {
        Self {
            source,
            settings,
            cache: HashMap::new(),
        }
    }

    /// Examines the statements due and returns every cached candidate still
    /// uncovered, and the verdicts of this scrape's statements.
    /// `statements`, `tables` and `indexes` are this scrape's records of the
    /// connected `database`. Only a failing connection is an error.
    pub async fn read(
        &mut self,
        client: &Client,
        database: &str,
        statements: &[v1::PgStatement],
        tables: &[v1::PgTable],
        indexes: &[v1::PgIndex],
        now_ms: i64,
    ) -> Result<Advice, tokio_postgres::Error> {
        if !self.settings.enabled {
            return Ok(Advice::default());
        }
        let due = self.due(database, statements, tables, now_ms);
        if !due.is_empty() {
            let row = client.query_one(Q_SERVER, &[]).await?;
            let server = Server {
                version: row.get(0),
                hypopg: row
                    .get::<_, Option<String>>(1)
                    .map(|schema| candidate::quote_ident(&schema)),
            };
            for (statement, trigger) in due {
                let examination = self
                    .examine(client, &server, statement, tables, indexes)
                    .await?;
                tracing::debug!(
                    source = %self.source,
                    database = %database,
                    queryid = %statement.queryid,
                    trigger = trigger.as_str(),
                    verdict = examination.verdict.code.as_str(),
                    reason = %examination.verdict.reason,
                    "index advice verdict"
                );
                self.cache.insert(
                    (database.to_owned(), statement.queryid.clone()),
                    Entry {
                        examined_ms: now_ms,
                        seen_ms: now_ms,
                        found: examination.found,
                        verdict: examination.verdict,
                        measure: Measure {
                            tables: examination.tables,
                            ..measure(statement)
                        },
                    },
                );
            }
        }
        let forget_ms =
            i64::try_from(FORGET_AFTER.max(self.settings.interval).as_millis()).unwrap_or(i64::MAX);
        self.cache
            .retain(|_, entry| now_ms.saturating_sub(entry.seen_ms) <= forget_ms);
        Ok(Advice {
            candidates: emit(
                &self.cache,
                database,
                tables,
                indexes,
                self.settings.min_rows,
                now_ms,
            ),
            verdicts: self.verdicts(database, statements, tables, indexes, now_ms),
        })
    }

    /// Marks this scrape's statements as seen and returns those to examine
    /// with why (`schedule::due`), the slowest first, at most
    /// `max_statements`.
    fn due<'a>(
        &mut self,
        database: &str,
        statements: &'a [v1::PgStatement],
        tables: &[v1::PgTable],
        now_ms: i64,
    ) -> Vec<(&'a v1::PgStatement, schedule::Trigger)> {
        let interval_ms = i64::try_from(self.settings.interval.as_millis()).unwrap_or(i64::MAX);
        let rows_now = |name: &str| {
            tables
                .iter()
                .find(|t| verdict::qualified(t) == name)
                .map(verdict::rows)
        };
        let mut due = Vec::new();
        for statement in slowest(database, statements) {
            let key = (database.to_owned(), statement.queryid.clone());
            let entry = self.cache.get_mut(&key);
            let last = entry.as_ref().map(|entry| schedule::Last {
                examined_ms: entry.examined_ms,
                measure: &entry.measure,
            });
            let trigger = schedule::due(last, &measure(statement), rows_now, now_ms, interval_ms);
            if let Some(entry) = entry {
                entry.seen_ms = now_ms;
            }
            if let Some(trigger) = trigger
                && due.len() < self.settings.max_statements
            {
                due.push((statement, trigger));
            }
        }
        due
    }

    /// Candidates of one statement that survive the size and coverage
    /// checks, verified, and the statement's verdict.
    async fn examine(
        &self,
        client: &Client,
        server: &Server,
        statement: &v1::PgStatement,
        tables: &[v1::PgTable],
        indexes: &[v1::PgIndex],
    ) -> Result<Examination, tokio_postgres::Error> {
        let examined = match candidate::examine(&statement.query) {
            Ok(examined) => examined,
            Err(reason) => {
                tracing::debug!(source = %self.source, queryid = %statement.queryid, code = reason.code(), reason = %reason, "statement not examined for indexes");
                return Ok(Examination::only(verdict::unsupported(&reason)));
            }
        };
        let mut verdicts: Vec<Verdict> = examined.unserved.iter().map(verdict::unserved).collect();
        if examined.candidates.is_empty() {
            return Ok(Examination::only(if verdicts.is_empty() {
                verdict::no_usable_predicate()
            } else {
                verdict::combine(verdicts)
            }));
        }
        let mut examined_tables: Vec<(String, u64)> = Vec::new();
        let mut wanted: Vec<(Candidate, &v1::PgTable)> = Vec::new();
        for c in examined.candidates {
            let Some(table) = resolve(&c, tables) else {
                verdicts.push(verdict::table_not_found(
                    c.schema.as_deref(),
                    &c.table,
                    self.settings.tables_top,
                ));
                continue;
            };
            let name = verdict::qualified(table);
            if !examined_tables.iter().any(|(n, _)| *n == name) {
                examined_tables.push((name, verdict::rows(table)));
            }
            if verdict::rows(table) < self.settings.min_rows {
                verdicts.push(verdict::too_small(table, self.settings.min_rows));
            } else if let Some(index) = verdict::covering(indexes, table, &c) {
                verdicts.push(verdict::already_covered(table, index, &c.columns));
            } else {
                wanted.push((c, table));
            }
        }
        let mut found = Vec::new();
        if !wanted.is_empty() {
            match verify(client, server, &statement.query, examined.params, &wanted).await {
                Ok(verified) if verified.is_empty() => {
                    verdicts.push(verdict::not_explainable("the plan carried no total cost"))
                }
                Ok(verified) => {
                    verdicts.extend(verified.iter().filter_map(|f| verdict::found(f, tables)));
                    found = verified;
                }
                // The message only: a detail or position may quote the
                // statement.
                Err(error) if error.as_db_error().is_some() => {
                    let message = error
                        .as_db_error()
                        .map(|db| db.message())
                        .unwrap_or_default();
                    verdicts.push(verdict::not_explainable(message));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(Examination {
            found,
            verdict: verdict::combine(verdicts),
            tables: examined_tables,
        })
    }
}

/// This scrape's statements of `database` that can be examined, slowest
/// (by execution time in the interval) first.
fn slowest<'a>(database: &str, statements: &'a [v1::PgStatement]) -> Vec<&'a v1::PgStatement> {
    let mut mine: Vec<&v1::PgStatement> = statements
        .iter()
        .filter(|s| !s.other && s.database == database && !s.query.is_empty())
        .collect();
    mine.sort_by(|a, b| b.total_exec_ms.total_cmp(&a.total_exec_ms));
    mine
}

/// What the schedule compares of a statement (its tables are added once
/// examined).
fn measure(statement: &v1::PgStatement) -> Measure {
    Measure {
        mean_ms: statement.mean_exec_ms,
        calls: statement.calls as f64,
        tables: Vec::new(),
    }
}

/// The table a candidate names: by schema when qualified, otherwise in
/// `public` or, failing that, the only schema holding a table of that name.
fn resolve<'a>(candidate: &Candidate, tables: &'a [v1::PgTable]) -> Option<&'a v1::PgTable> {
    let named = || tables.iter().filter(|t| t.table == candidate.table);
    match &candidate.schema {
        Some(schema) => named().find(|t| t.schema == *schema),
        None => named().find(|t| t.schema == "public").or_else(|| {
            let mut all = named();
            let first = all.next()?;
            all.next().is_none().then_some(first)
        }),
    }
}

/// The indexes of `table`.
fn indexes_of<'a>(
    indexes: &'a [v1::PgIndex],
    table: &'a v1::PgTable,
) -> impl Iterator<Item = &'a v1::PgIndex> + 'a {
    indexes
        .iter()
        .filter(move |i| i.schema == table.schema && i.table == table.table)
}

/// Every cached candidate of `database` whose table is still large enough
/// and not covered by this scrape's indexes, as wire records (pure).
fn emit(
    cache: &HashMap<(String, String), Entry>,
    database: &str,
    tables: &[v1::PgTable],
    indexes: &[v1::PgIndex],
    min_rows: u64,
    now_ms: i64,
) -> Vec<v1::IndexCandidate> {
    let mut out = Vec::new();
    for ((db, queryid), entry) in cache {
        if db != database {
            continue;
        }
        for found in &entry.found {
            let Some(table) = tables
                .iter()
                .find(|t| t.schema == found.schema && t.table == found.table)
            else {
                continue;
            };
            if verdict::rows(table) < min_rows
                || covered::covered(
                    indexes_of(indexes, table),
                    &found.columns,
                    &found.predicate,
                    found.sorted,
                )
            {
                continue;
            }
            out.push(v1::IndexCandidate {
                timestamp_ms: now_ms,
                database: db.clone(),
                queryid: queryid.clone(),
                schema: found.schema.clone(),
                table: found.table.clone(),
                columns: found.columns.clone(),
                predicate: found.predicate.clone(),
                definition: candidate::definition(
                    &found.schema,
                    &found.table,
                    &found.columns,
                    &found.predicate,
                ),
                method: found.method.to_owned(),
                cost_before: found.cost_before,
                cost_after: found.cost_after,
                uses_index: found.uses_index,
                table_rows: verdict::rows(table),
            });
        }
    }
    out.sort_by(|a, b| (&a.queryid, &a.definition).cmp(&(&b.queryid, &b.definition)));
    out
}

/// Verifies `wanted` for `sql` in a transaction of its own, rolled back;
/// the prepared statement and hypothetical indexes are removed after.
async fn verify(
    client: &Client,
    server: &Server,
    sql: &str,
    params: usize,
    wanted: &[(Candidate, &v1::PgTable)],
) -> Result<Vec<Found>, tokio_postgres::Error> {
    client.batch_execute(own_sql!("BEGIN")).await?;
    let result = verify_in_transaction(client, server, sql, params, wanted).await;
    let rolled_back = client.batch_execute(own_sql!("ROLLBACK")).await;
    let cleaned = clean_up(client, server).await;
    let found = result?;
    rolled_back?;
    cleaned?;
    Ok(found)
}

async fn verify_in_transaction(
    client: &Client,
    server: &Server,
    sql: &str,
    params: usize,
    wanted: &[(Candidate, &v1::PgTable)],
) -> Result<Vec<Found>, tokio_postgres::Error> {
    client
        .batch_execute(&mark(&format!(
            "SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"
        )))
        .await?;
    client
        .batch_execute(own_sql!("SET LOCAL plan_cache_mode = force_generic_plan"))
        .await?;
    let before = explain(client, server, sql, params).await?;
    let Some(cost_before) = plan::total_cost(&before) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(wanted.len());
    for (candidate, table) in wanted {
        // PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned
        // table (its partitions are indexed one by one): no DDL for it.
        let kind: Option<i8> = client
            .query_opt(Q_RELKIND, &[&table.schema, &table.table])
            .await?
            .map(|row| row.get(0));
        if kind == Some(RELKIND_PARTITIONED) {
            tracing::debug!(schema = %table.schema, table = %table.table, "no index candidate for a partitioned table: CREATE INDEX CONCURRENTLY is refused on it");
            continue;
        }
        let predicate = candidate.predicate.clone().unwrap_or_default();
        let mut found = Found {
            schema: table.schema.clone(),
            table: table.table.clone(),
            columns: candidate.columns.clone(),
            predicate,
            sorted: candidate.sorted,
            method: METHOD_EXPLAIN,
            cost_before,
            cost_after: None,
            uses_index: None,
        };
        if let Some(hypopg) = &server.hypopg {
            let create = format!(
                "CREATE INDEX ON {}",
                candidate::index_target(
                    &found.schema,
                    &found.table,
                    &found.columns,
                    &found.predicate
                )
            );
            let row = client
                .query_one(
                    &mark(&format!(
                        "SELECT indexname::text FROM {hypopg}.hypopg_create_index($1)"
                    )),
                    &[&create],
                )
                .await?;
            let name: String = row.get(0);
            let after = explain(client, server, sql, params).await?;
            client
                .batch_execute(&mark(&format!("SELECT {hypopg}.hypopg_reset()")))
                .await?;
            found.method = METHOD_HYPOPG;
            found.cost_after = plan::total_cost(&after);
            found.uses_index = Some(plan::uses_index(&after, &name));
        }
        out.push(found);
    }
    Ok(out)
}

/// The generic plan of `sql` as `EXPLAIN (FORMAT JSON)` text.
async fn explain(
    client: &Client,
    server: &Server,
    sql: &str,
    params: usize,
) -> Result<String, tokio_postgres::Error> {
    if server.version >= GENERIC_PLAN_VERSION {
        return first_value(
            client
                .simple_query(&mark(&format!("EXPLAIN (GENERIC_PLAN, FORMAT JSON) {sql}")))
                .await?,
        );
    }
    client
        .batch_execute(&mark(&format!("PREPARE {PREPARED} AS {sql}")))
        .await?;
    let execute = if params == 0 {
        format!("EXECUTE {PREPARED}")
    } else {
        format!("EXECUTE {PREPARED}({})", vec!["NULL"; params].join(", "))
    };
    let plan = first_value(
        client
            .simple_query(&mark(&format!("EXPLAIN (FORMAT JSON) {execute}")))
            .await?,
    );
    // A new statement per plan: a cached generic plan would not see a
    // hypothetical index created after it.
    client
        .batch_execute(&mark(&format!("DEALLOCATE {PREPARED}")))
        .await?;
    plan
}

/// The first column of the first row ("" when there is none).
fn first_value(messages: Vec<SimpleQueryMessage>) -> Result<String, tokio_postgres::Error> {
    Ok(messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_default())
}

/// Removes what an aborted examination may have left in the session (a
/// prepared statement and a transaction are not rolled back with it).
async fn clean_up(client: &Client, server: &Server) -> Result<(), tokio_postgres::Error> {
    let prepared = client
        .query_one(
            own_sql!("SELECT count(*) FROM pg_prepared_statements WHERE name = $1"),
            &[&PREPARED],
        )
        .await?
        .get::<_, i64>(0);
    if prepared > 0 {
        client
            .batch_execute(&mark(&format!("DEALLOCATE {PREPARED}")))
            .await?;
    }
    if let Some(hypopg) = &server.hypopg {
        client
            .batch_execute(&mark(&format!("SELECT {hypopg}.hypopg_reset()")))
            .await?;
    }
    Ok(())
}

/// Fixtures the advisor's test modules share.
#[cfg(test)]
mod test_support {
    use super::*;

    /// An enabled advisor examining at most `max_statements` per pass.
    pub(super) fn advisor(max_statements: usize) -> Advisor {
        Advisor::new(
            "pg".into(),
            Settings {
                enabled: true,
                interval: Duration::from_secs(60),
                min_rows: 1_000,
                max_statements,
                tables_top: 200,
            },
        )
    }

    /// A statement of `database` that ran `total_exec_ms` in the interval.
    pub(super) fn statement(queryid: &str, database: &str, total_exec_ms: f64) -> v1::PgStatement {
        v1::PgStatement {
            database: database.into(),
            queryid: queryid.into(),
            query: "SELECT 1".into(),
            total_exec_ms,
            ..v1::PgStatement::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &str, name: &str, rows: u64) -> v1::PgTable {
        v1::PgTable {
            database: "shop".into(),
            schema: schema.into(),
            table: name.into(),
            estimated_rows: rows,
            ..v1::PgTable::default()
        }
    }

    fn candidate(schema: Option<&str>, name: &str) -> Candidate {
        Candidate {
            schema: schema.map(str::to_owned),
            table: name.into(),
            columns: vec!["email".into()],
            predicate: None,
            sorted: 0,
        }
    }

    #[test]
    fn unqualified_tables_resolve_to_public_or_the_only_schema() {
        let tables = [
            table("public", "orders", 1),
            table("audit", "orders", 2),
            table("audit", "log", 3),
        ];
        let found = |c: &Candidate| resolve(c, &tables).map(|t| t.estimated_rows);
        assert_eq!(found(&candidate(None, "orders")), Some(1));
        assert_eq!(found(&candidate(Some("audit"), "orders")), Some(2));
        assert_eq!(found(&candidate(None, "log")), Some(3));
        assert_eq!(found(&candidate(Some("public"), "log")), None);
        let ambiguous = [table("a", "t", 1), table("b", "t", 2)];
        assert!(resolve(&candidate(None, "t"), &ambiguous).is_none());
    }

    fn cache_with(found: Found) -> HashMap<(String, String), Entry> {
        HashMap::from([(
            ("shop".to_owned(), "42".to_owned()),
            Entry {
                examined_ms: 0,
                seen_ms: 0,
                found: vec![found],
                verdict: verdict::no_usable_predicate(),
                measure: Measure::default(),
            },
        )])
    }

    fn found() -> Found {
        Found {
            schema: "public".into(),
            table: "orders".into(),
            columns: vec!["email".into()],
            predicate: candidate::SOFT_DELETE_PREDICATE.into(),
            sorted: 0,
            method: METHOD_HYPOPG,
            cost_before: 1_000.0,
            cost_after: Some(8.0),
            uses_index: Some(true),
        }
    }

    #[test]
    fn a_cached_candidate_is_sent_until_an_index_covers_it() {
        let cache = cache_with(found());
        let tables = [table("public", "orders", 50_000)];
        let sent = emit(&cache, "shop", &tables, &[], 1_000, 7);
        assert_eq!(sent.len(), 1);
        let c = &sent[0];
        assert_eq!((c.timestamp_ms, c.table_rows), (7, 50_000));
        assert_eq!(
            c.definition,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_orders_email_idx \
             ON public.orders (email) WHERE deleted_at IS NULL"
        );
        assert_eq!((c.cost_after, c.uses_index), (Some(8.0), Some(true)));
        let index = v1::PgIndex {
            schema: "public".into(),
            table: "orders".into(),
            definition: "CREATE INDEX headroom_orders_email_idx ON public.orders USING btree \
                         (email) WHERE (deleted_at IS NULL)"
                .into(),
            ..v1::PgIndex::default()
        };
        assert!(emit(&cache, "shop", &tables, &[index], 1_000, 8).is_empty());
        // Another database's scrape, a shrunken or vanished table: nothing.
        assert!(emit(&cache, "other", &tables, &[], 1_000, 8).is_empty());
        assert!(
            emit(
                &cache,
                "shop",
                &[table("public", "orders", 10)],
                &[],
                1_000,
                8
            )
            .is_empty()
        );
        assert!(emit(&cache, "shop", &[], &[], 1_000, 8).is_empty());
    }
}
