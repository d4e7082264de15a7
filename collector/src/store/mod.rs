//! The durable store: embedded SQLite (WAL, the default) or PostgreSQL,
//! behind one API. Layout and sizing: docs/adr/001-storage-layout.md.
//!
//! Writes of batches go through one group-committing writer (`writer.rs`);
//! reads (`query.rs`) use their own pool; `maintenance.rs` compacts, rolls up
//! and expires blocks.

mod advice;
mod alerts;
pub mod codec;
pub mod import;
mod maintenance;
pub mod model;
pub mod query;
mod scan;
mod series;
#[cfg(test)]
mod store_tests;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use maintenance::{MaintenanceReport, ResolutionStats, Retention};
pub use model::{NewBlock, Outcome, PreparedBatch, SeriesKey};
pub use scan::{ScanPoint, SeriesMeta};
pub use writer::Writer;

/// Resolution of raw points.
pub const RAW: i64 = 0;
/// Resolution of the per-minute rollup.
pub const MINUTE: i64 = 60_000;
/// Resolution of the per-hour rollup.
pub const HOUR: i64 = 3_600_000;
/// Width of the time window one raw or 1-minute block covers.
pub const RAW_WINDOW: i64 = HOUR;
/// Width of the time window one 1-hour rollup block covers.
pub const HOUR_WINDOW: i64 = 86_400_000;

/// The window a timestamp falls in, for blocks of `resolution`.
pub fn window_of(resolution: i64, timestamp_ms: i64) -> i64 {
    let width = if resolution == HOUR {
        HOUR_WINDOW
    } else {
        RAW_WINDOW
    };
    timestamp_ms.div_euclid(width) * width
}

/// Failures of the store, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while {context}: {source}")]
    Query {
        context: &'static str,
        source: sqlx::Error,
    },
    #[error("stored block of series {series_id} is corrupt: {source}")]
    Corrupt {
        series_id: i64,
        source: codec::CodecError,
    },
    #[error("the batch group was not committed: {0}")]
    GroupFailed(String),
    #[error("the store's writer has stopped")]
    WriterGone,
}

/// Adds the context of a failed query.
pub(crate) trait Context<T> {
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { context, source })
    }
}

/// A connection pool of either backend.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same sqlx code against whichever backend `$pool` holds: the body
/// is compiled once per backend, so SQL written here must be portable
/// (`$1` placeholders, `ON CONFLICT`, no backend-only functions).
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Rows per multi-row INSERT (8 parameters each stays under SQLite's 32,766).
pub(crate) const INSERT_CHUNK: usize = 2_000;

/// Inserts `$blocks` (an iterator of `&NewBlock`) with multi-row INSERTs on
/// the transaction `$tx` (inside `on_pool!`, so once per backend).
macro_rules! insert_blocks {
    ($tx:expr, $blocks:expr) => {{
        let blocks: Vec<&$crate::store::model::NewBlock> = $blocks.into_iter().collect();
        for chunk in blocks.chunks($crate::store::INSERT_CHUNK) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO blocks (series_id, resolution_ms, window_ms, start_ms, end_ms, points, compacted, data) ",
            );
            insert.push_values(chunk, |mut row, block| {
                row.push_bind(block.series_id)
                    .push_bind(block.resolution_ms)
                    .push_bind(block.window_ms)
                    .push_bind(block.start_ms)
                    .push_bind(block.end_ms)
                    .push_bind(block.points)
                    .push_bind(i64::from(block.compacted))
                    .push_bind(block.data.as_slice());
            });
            insert.build().execute(&mut *$tx).await.context("inserting blocks")?;
        }
    }};
}
pub(crate) use insert_blocks;

/// The store: pools, the series cache and the backend's name.
#[derive(Debug, Clone)]
pub struct Store {
    write: Pool,
    read: Pool,
    series: std::sync::Arc<series::SeriesCache>,
    backend: &'static str,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies the migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            url: redact(url),
            source,
        };
        let store = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(open_error)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit is on disk when it returns, so an ack means durable.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", "-65536");
            if let Some(parent) = Path::new(options.get_filename()).parent() {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDir {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
            // One writer connection (SQLite allows one writer at a time); readers
            // run concurrently thanks to WAL.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(open_error)?;
            sqlx::migrate!("migrations/sqlite").run(&write).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.read_only(true))
                .await
                .map_err(open_error)?;
            Store {
                write: Pool::Sqlite(write),
                read: Pool::Sqlite(read),
                series: Default::default(),
                backend: "sqlite",
            }
        } else {
            let options = PgConnectOptions::from_str(url).map_err(open_error)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(open_error)?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Store {
                write: Pool::Postgres(pool.clone()),
                read: Pool::Postgres(pool),
                series: Default::default(),
                backend: "postgres",
            }
        };
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Proves the store is writable (for `/healthz`).
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        let now = now_ms();
        on_pool!(&self.write, pool => sqlx::query(
            "INSERT INTO health (id, checked_ms) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_ms = excluded.checked_ms",
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
        .context("checking that the store is writable"))
    }

    /// Bytes the database occupies (pages in use), for benchmarks and /metrics.
    pub async fn size_bytes(&self) -> Result<i64, StoreError> {
        match &self.read {
            Pool::Sqlite(pool) => sqlx::query_scalar(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )
            .fetch_one(pool)
            .await
            .context("measuring the database size"),
            Pool::Postgres(pool) => {
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await
                    .context("measuring the database size")
            }
        }
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./a.db"), "sqlite://./a.db");
    }

    #[test]
    fn windows_align_to_hours_and_days() {
        assert_eq!(window_of(RAW, 3_600_000 + 5), 3_600_000);
        assert_eq!(window_of(MINUTE, 7_199_999), 3_600_000);
        assert_eq!(window_of(HOUR, 86_400_000 * 3 + 1), 86_400_000 * 3);
        assert_eq!(window_of(RAW, -1), -3_600_000);
    }
}
