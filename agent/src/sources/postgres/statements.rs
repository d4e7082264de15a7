//! Reading `pg_stat_statements`: finds the extension in the connected
//! database (its schema and version decide the column names), reads the
//! counters every scrape without texts (`pg_stat_statements(false)`), turns
//! them into deltas (`deltas`), and reads texts only for queries sent for
//! the first time, made safe (`text`) and cached.
//!
//! A missing extension (not created in this database) or one that cannot be
//! read (not in `shared_preload_libraries`, or any other error PostgreSQL
//! answers) is not a failed scrape: it is logged as one WARN until it comes
//! back and reported as unavailable. A failing connection is an error.

use std::collections::HashMap;

use headroom_proto::v1;
use tokio_postgres::Client;

use super::deltas::{Counters, Delta, Key, StatRow, Tracker, keep_top, record};
use super::own::{mark, own_sql};
use super::text::safe_text;

/// Texts that stay cached this many scrapes after they were last sent.
const TEXT_CACHE_SCRAPES: u64 = 20;

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

/// A cached query text and the scrape that last sent it.
#[derive(Debug)]
struct CachedText {
    text: String,
    used: u64,
}

/// What one scrape of pg_stat_statements yields.
#[derive(Debug, Default)]
pub struct Reading {
    /// False when the extension is missing or cannot be read.
    pub available: bool,
    pub records: Vec<v1::PgStatement>,
}

/// The per-source state of pg_stat_statements collection.
#[derive(Debug)]
pub struct Statements {
    source: String,
    top: usize,
    status: Status,
    tracker: Tracker,
    texts: HashMap<(i64, i64), CachedText>,
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
        let (stats_reset, rows) = counters;
        let Some((start_ms, deltas)) = self.tracker.observe(now_ms, stats_reset, rows) else {
            return Ok(Reading {
                available: true,
                records: Vec::new(),
            });
        };
        let (top, other) = keep_top(deltas, self.top);
        self.fetch_texts(client, &extension, &top).await?;
        let mut records = Vec::with_capacity(top.len() + 1);
        for delta in &top {
            let text = match self.texts.get_mut(&(delta.dbid, delta.queryid)) {
                Some(cached) => {
                    cached.used = self.scrapes;
                    cached.text.clone()
                }
                None => String::new(),
            };
            records.push(record(delta, start_ms, now_ms, text, false));
        }
        if let Some(other) = other {
            records.push(record(&other, start_ms, now_ms, String::new(), true));
        }
        let scrapes = self.scrapes;
        self.texts
            .retain(|_, cached| scrapes - cached.used < TEXT_CACHE_SCRAPES);
        Ok(Reading {
            available: true,
            records,
        })
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
            let text = match text.as_deref() {
                None | Some("<insufficient privilege>") => String::new(),
                Some(query) => safe_text(query),
            };
            self.texts.entry(key).or_insert(CachedText {
                text,
                used: self.scrapes,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
