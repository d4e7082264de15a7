//! Reading `pg_stat_statements`: finds the extension in the connected
//! database (its schema and version decide the column names), reads the
//! counters every scrape without texts (`pg_stat_statements(false)`), turns
//! them into deltas (`deltas`), and reads texts only for queries sent for
//! the first time, made safe (`text`) and cached with their fingerprint
//! (`headroom_proto::fingerprint`, of the whole normalised text: the key a
//! span's statement meets it by).
//!
//! The agent's own statements (those carrying `own::MARKER`, from every
//! source and every database of the server) are never sent as records, so
//! no rule or index advice sees them: they are classified once per
//! (database, queryid) when first seen with calls (one read of
//! `pg_stat_statements(true)` for the new ones only, answering a boolean
//! per statement, not its text) and summed, per database, into the counters
//! `headroom_agent_pg_calls_total`, `headroom_agent_pg_exec_ms_total` and
//! `headroom_agent_pg_rows_total` (cumulative since the agent started).
//!
//! Bounds: the counters are one row per statement, at most
//! `pg_stat_statements.max` (5,000 by default); the texts are read only
//! for statements not seen before.
//!
//! A missing extension (not created in this database) or one that cannot be
//! read (not in `shared_preload_libraries`, or any other error PostgreSQL
//! answers) is not a failed scrape: it is logged as one WARN until it comes
//! back and reported as unavailable. A failing connection is an error.

use std::collections::{BTreeMap, HashMap};

use headroom_proto::signals::postgres::{
    HEADROOM_AGENT_PG_CALLS_TOTAL, HEADROOM_AGENT_PG_EXEC_MS_TOTAL, HEADROOM_AGENT_PG_ROWS_TOTAL,
};
use headroom_proto::v1;

use crate::sources::counter;
use tokio_postgres::Client;

use super::deltas::{Counters, Delta, Key, StatRow, Tracker, keep_top, record};
use super::own::{EXTENSION_STATEMENTS, MARKER, mark, own_sql};
use super::text::safe_text;

/// Texts that stay cached this many scrapes after they were last sent.
const TEXT_CACHE_SCRAPES: u64 = 20;
/// Classifications (own or not) kept this many scrapes after their
/// statement last ran: longer than texts, so that the agent's rarer
/// statements (plan detection, index advice) are not read again each time.
const CLASSIFIED_SCRAPES: u64 = 1_000;

/// Whether per-query statistics can be read, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Unknown,
    Available,
    Missing,
}

/// The extension as installed in the connected database.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extension {
    /// The schema, quoted as an identifier.
    schema: String,
    version: (u32, u32),
}

impl Extension {
    fn new(schema: &str, version: &str) -> Self {
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        Self {
            schema: format!("\"{}\"", schema.replace('"', "\"\"")),
            version: (parts.next().unwrap_or(0), parts.next().unwrap_or(0)),
        }
    }

    /// Counters without texts; column names as of this version (1.8
    /// renamed `total_time`, 1.9 added `toplevel` and the info view).
    fn stats_query(&self) -> String {
        let time = if self.version >= (1, 8) {
            "total_exec_time"
        } else {
            "total_time"
        };
        let toplevel = if self.version >= (1, 9) {
            "s.toplevel"
        } else {
            "true"
        };
        mark(&format!(
            "SELECT s.dbid::int8, s.userid::int8, s.queryid, {toplevel}, coalesce(d.datname::text, ''), \
             s.calls, s.{time}::float8, s.rows, s.shared_blks_hit, s.shared_blks_read, s.temp_blks_written \
             FROM {}.pg_stat_statements(false) s LEFT JOIN pg_database d ON d.oid = s.dbid \
             WHERE s.queryid IS NOT NULL",
            self.schema
        ))
    }

    fn reset_query(&self) -> Option<String> {
        (self.version >= (1, 9)).then(|| {
            mark(&format!(
                "SELECT (extract(epoch FROM stats_reset) * 1000)::int8 FROM {}.pg_stat_statements_info",
                self.schema
            ))
        })
    }

    /// Whether each of `$1` (queryids) in each database is the agent's own
    /// (its text holds `$2`, the marker).
    fn own_query(&self) -> String {
        mark(&format!(
            "SELECT s.dbid::int8, s.queryid, coalesce(bool_or(position($2 in s.query) > 0 OR s.query = ANY($3)), false) \
             FROM {}.pg_stat_statements(true) s WHERE s.queryid = ANY($1) GROUP BY 1, 2",
            self.schema
        ))
    }

    fn texts_query(&self) -> String {
        mark(&format!(
            "SELECT s.dbid::int8, s.queryid, s.query FROM {}.pg_stat_statements(true) s \
             WHERE s.queryid = ANY($1)",
            self.schema
        ))
    }
}

const Q_EXTENSION: &str = own_sql!(
    "SELECT n.nspname::text, e.extversion FROM pg_extension e \
     JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'"
);

/// A cached query text, its fingerprint (hex, "" when the text does not
/// parse) and the scrape that last sent it.
#[derive(Debug)]
struct CachedText {
    text: String,
    fingerprint: String,
    used: u64,
}

/// What one scrape of pg_stat_statements yields.
#[derive(Debug, Default)]
pub struct Reading {
    /// False when the extension is missing or cannot be read.
    pub available: bool,
    /// The application's statements (never the agent's own).
    pub records: Vec<v1::PgStatement>,
    /// The agent's own cost per database, as counters.
    pub own: Vec<v1::Sample>,
}

/// Whether a (database, queryid) is the agent's own, and the scrape that
/// last saw it.
#[derive(Debug)]
struct Classified {
    own: bool,
    used: u64,
}

/// The per-source state of pg_stat_statements collection.
#[derive(Debug)]
pub struct Statements {
    source: String,
    top: usize,
    status: Status,
    tracker: Tracker,
    texts: HashMap<(i64, i64), CachedText>,
    classified: HashMap<(i64, i64), Classified>,
    /// The agent's own (calls, exec ms, rows) per database since it started.
    own: BTreeMap<String, (f64, f64, f64)>,
    scrapes: u64,
}

impl Statements {
    /// Keeps the `top` statements by time per interval.
    pub fn new(source: String, top: usize) -> Self {
        Self {
            source,
            top,
            status: Status::Unknown,
            tracker: Tracker::default(),
            texts: HashMap::new(),
            classified: HashMap::new(),
            own: BTreeMap::new(),
            scrapes: 0,
        }
    }

    /// Forgets the baseline (after an error or on a new connection).
    pub fn forget(&mut self) {
        self.tracker.forget();
    }

    /// Reads pg_stat_statements. A missing or unreadable extension is not an
    /// error (it is logged once and reported as unavailable); a failing
    /// connection is.
    pub async fn read(
        &mut self,
        client: &Client,
        database: &str,
        now_ms: i64,
    ) -> Result<Reading, tokio_postgres::Error> {
        self.scrapes += 1;
        let Some(row) = client.query_opt(Q_EXTENSION, &[]).await? else {
            self.missing(format!(
                "pg_stat_statements is not installed in database {database}; per-query statistics \
                 are off until a superuser runs `CREATE EXTENSION pg_stat_statements` there \
                 (see `headroom-agent check`)"
            ));
            return Ok(Reading::default());
        };
        let extension = Extension::new(row.get(0), row.get(1));
        let counters = match self.counters(client, &extension).await {
            Ok(counters) => counters,
            Err(error) => {
                let Some(db) = error.as_db_error() else {
                    return Err(error);
                };
                let reason = if db.code().code() == "55000" {
                    "pg_stat_statements is installed but not loaded: add it to \
                     shared_preload_libraries and restart PostgreSQL"
                        .to_owned()
                } else {
                    format!("cannot read pg_stat_statements: {}", db.message())
                };
                self.missing(reason);
                return Ok(Reading::default());
            }
        };
        if self.status == Status::Missing {
            tracing::info!(source = %self.source, "pg_stat_statements is readable now");
        }
        self.status = Status::Available;
        self.own.entry(database.to_owned()).or_default();
        let (stats_reset, rows) = counters;
        let Some((start_ms, deltas)) = self.tracker.observe(now_ms, stats_reset, rows) else {
            return Ok(Reading {
                available: true,
                records: Vec::new(),
                own: own_samples(&self.own, now_ms),
            });
        };
        self.classify(client, &extension, &deltas).await?;
        let (own, deltas): (Vec<Delta>, Vec<Delta>) = deltas.into_iter().partition(|delta| {
            self.classified
                .get(&(delta.dbid, delta.queryid))
                .is_some_and(|c| c.own)
        });
        for delta in &own {
            let total = self.own.entry(delta.database.clone()).or_default();
            total.0 += delta.counters.calls as f64;
            total.1 += delta.counters.total_exec_ms;
            total.2 += delta.counters.rows as f64;
        }
        let (top, other) = keep_top(deltas, self.top);
        self.fetch_texts(client, &extension, &top).await?;
        let mut records = Vec::with_capacity(top.len() + 1);
        for delta in &top {
            let (text, fingerprint) = match self.texts.get_mut(&(delta.dbid, delta.queryid)) {
                Some(cached) => {
                    cached.used = self.scrapes;
                    (cached.text.clone(), cached.fingerprint.clone())
                }
                None => (String::new(), String::new()),
            };
            records.push(v1::PgStatement {
                fingerprint,
                ..record(delta, start_ms, now_ms, text, false)
            });
        }
        if let Some(other) = other {
            records.push(record(&other, start_ms, now_ms, String::new(), true));
        }
        let scrapes = self.scrapes;
        self.texts
            .retain(|_, cached| scrapes - cached.used < TEXT_CACHE_SCRAPES);
        self.classified
            .retain(|_, c| scrapes - c.used < CLASSIFIED_SCRAPES);
        Ok(Reading {
            available: true,
            records,
            own: own_samples(&self.own, now_ms),
        })
    }

    /// Classifies the (database, queryid) of `deltas` not seen yet: one read
    /// of pg_stat_statements' texts, for new statements only.
    async fn classify(
        &mut self,
        client: &Client,
        extension: &Extension,
        deltas: &[Delta],
    ) -> Result<(), tokio_postgres::Error> {
        let scrapes = self.scrapes;
        let mut missing = Vec::new();
        for delta in deltas {
            match self.classified.get_mut(&(delta.dbid, delta.queryid)) {
                Some(known) => known.used = scrapes,
                None => missing.push(delta.queryid),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let rows = client
            .query(
                &extension.own_query(),
                &[&missing, &MARKER, &EXTENSION_STATEMENTS.as_slice()],
            )
            .await?;
        let own: HashMap<(i64, i64), bool> = rows
            .iter()
            .map(|row| ((row.get(0), row.get(1)), row.get(2)))
            .collect();
        for delta in deltas {
            let key = (delta.dbid, delta.queryid);
            self.classified.entry(key).or_insert(Classified {
                own: own.get(&key).copied().unwrap_or(false),
                used: scrapes,
            });
        }
        Ok(())
    }

    /// Logs why statements are missing, once until they come back.
    fn missing(&mut self, reason: String) {
        if self.status != Status::Missing {
            tracing::warn!(source = %self.source, reason = %reason, "pg_stat_statements is unavailable; collecting everything else");
        }
        self.status = Status::Missing;
        self.tracker.forget();
    }

    async fn counters(
        &self,
        client: &Client,
        extension: &Extension,
    ) -> Result<(Option<i64>, Vec<StatRow>), tokio_postgres::Error> {
        let stats_reset = match extension.reset_query() {
            Some(query) => client.query_one(&query, &[]).await?.get(0),
            None => None,
        };
        let rows = client
            .query(&extension.stats_query(), &[])
            .await?
            .iter()
            .map(|row| StatRow {
                key: Key {
                    dbid: row.get(0),
                    userid: row.get(1),
                    queryid: row.get::<_, Option<i64>>(2).unwrap_or(0),
                    toplevel: row.get(3),
                },
                database: row.get(4),
                counters: Counters {
                    calls: row.get(5),
                    total_exec_ms: row.get(6),
                    rows: row.get(7),
                    shared_blks_hit: row.get(8),
                    shared_blks_read: row.get(9),
                    temp_blks_written: row.get(10),
                },
            })
            .collect();
        Ok((stats_reset, rows))
    }

    /// Reads the texts of `deltas` not cached yet, made safe.
    async fn fetch_texts(
        &mut self,
        client: &Client,
        extension: &Extension,
        deltas: &[Delta],
    ) -> Result<(), tokio_postgres::Error> {
        let missing: Vec<i64> = deltas
            .iter()
            .filter(|d| !self.texts.contains_key(&(d.dbid, d.queryid)))
            .map(|d| d.queryid)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let rows = client.query(&extension.texts_query(), &[&missing]).await?;
        for row in rows {
            let key = (row.get::<_, i64>(0), row.get::<_, i64>(1));
            let text: Option<String> = row.get(2);
            let (text, fingerprint) = match text.as_deref() {
                None | Some("<insufficient privilege>") => (String::new(), String::new()),
                Some(query) => (safe_text(query), fingerprint_of(query)),
            };
            self.texts.entry(key).or_insert(CachedText {
                text,
                fingerprint,
                used: self.scrapes,
            });
        }
        Ok(())
    }
}

/// The hex fingerprint of a pg_stat_statements text, "" when it does not
/// parse (a utility statement PostgreSQL keeps verbatim parses too: its
/// fingerprint ignores its values like any other).
fn fingerprint_of(query: &str) -> String {
    headroom_proto::fingerprint::statement(query)
        .map(headroom_proto::fingerprint::hex)
        .unwrap_or_default()
}

/// Counters of the agent's own cost: (calls, exec ms, rows) per database
/// (pure).
fn own_samples(own: &BTreeMap<String, (f64, f64, f64)>, now_ms: i64) -> Vec<v1::Sample> {
    let mut out = Vec::with_capacity(own.len() * 3);
    for (database, (calls, exec_ms, rows)) in own {
        let labels = [("database", database.as_str())];
        out.push(counter(
            &HEADROOM_AGENT_PG_CALLS_TOTAL,
            &labels,
            now_ms,
            *calls,
        ));
        out.push(counter(
            &HEADROOM_AGENT_PG_EXEC_MS_TOTAL,
            &labels,
            now_ms,
            *exec_ms,
        ));
        out.push(counter(
            &HEADROOM_AGENT_PG_ROWS_TOTAL,
            &labels,
            now_ms,
            *rows,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normalised_text_carries_the_fingerprint_of_the_statement_with_literals() {
        let normalised = fingerprint_of(
            "select \"p0\".* from \"product_variant\" as \"p0\" where \"p0\".\"sku\" = $1 and \"p0\".\"deleted_at\" is null",
        );
        let literal = headroom_proto::fingerprint::statement(
            "select \"p0\".* from \"product_variant\" as \"p0\" where \"p0\".\"sku\" = 'SHIRT-S-BLACK' and \"p0\".\"deleted_at\" is null",
        )
        .map(headroom_proto::fingerprint::hex);
        assert_eq!(normalised.len(), 16);
        assert_eq!(Some(normalised), literal);
        assert_eq!(fingerprint_of("select from where"), "");
    }

    #[test]
    fn own_cost_is_three_counters_per_database() {
        let mut own = BTreeMap::new();
        own.insert("shop".to_owned(), (3.0, 1.5, 12.0));
        own.insert("postgres".to_owned(), (0.0, 0.0, 0.0));
        let samples = own_samples(&own, 7);
        assert_eq!(samples.len(), 6);
        let shop: Vec<(&str, f64)> = samples
            .iter()
            .filter(|s| {
                s.labels
                    .iter()
                    .any(|l| l.key == "database" && l.value == "shop")
            })
            .map(|s| (s.name.as_str(), s.value))
            .collect();
        assert_eq!(
            shop,
            vec![
                (HEADROOM_AGENT_PG_CALLS_TOTAL.name, 3.0),
                (HEADROOM_AGENT_PG_EXEC_MS_TOTAL.name, 1.5),
                (HEADROOM_AGENT_PG_ROWS_TOTAL.name, 12.0)
            ]
        );
        assert!(
            samples
                .iter()
                .all(|s| s.timestamp_ms == 7 && s.kind == v1::MetricKind::Counter as i32)
        );
    }

    #[test]
    fn column_names_follow_the_extension_version() {
        let old = Extension::new("public", "1.7");
        assert!(old.stats_query().contains("s.total_time"));
        assert!(old.stats_query().contains(", true,"));
        assert_eq!(old.reset_query(), None);
        let new = Extension::new("my\"schema", "1.10");
        assert!(new.stats_query().contains("total_exec_time"));
        assert!(new.stats_query().contains("s.toplevel"));
        assert!(
            new.stats_query()
                .contains("\"my\"\"schema\".pg_stat_statements(false)")
        );
        assert!(new.reset_query().is_some());
    }
}
