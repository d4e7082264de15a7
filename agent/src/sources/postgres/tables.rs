//! Tables and indexes of the connected database: `pg_stat_user_tables`
//! with table and index sizes as `v1::PgTable` records, the largest
//! `tables_top` only (a database may hold thousands), and
//! `pg_stat_user_indexes` of those tables with each index's definition as
//! `v1::PgIndex` records. Counters are cumulative, as PostgreSQL reports
//! them; the collector stores them as counters.
//!
//! Sizes come from `pg_table_size` and `pg_indexes_size`: catalog lookups
//! and a `stat` per file, no table is read.

use headroom_proto::v1;
use tokio_postgres::{Client, Row};

use super::own::own_sql;

/// Every user table with its sizes, largest first, cut at `$1`; the last
/// column counts every user table (before the cut).
const Q_TABLES: &str = own_sql!(
    "WITH t AS (\
       SELECT relid, schemaname::text AS schema, relname::text AS name, seq_scan, seq_tup_read, \
       coalesce(idx_scan, 0) AS idx_scan, n_live_tup, n_dead_tup, n_tup_ins, \
       coalesce(pg_table_size(relid), 0) AS table_bytes, coalesce(pg_indexes_size(relid), 0) AS index_bytes \
       FROM pg_stat_user_tables) \
     SELECT relid, schema, name, seq_scan, seq_tup_read, idx_scan, n_live_tup, n_dead_tup, n_tup_ins, \
       table_bytes, index_bytes, count(*) OVER () \
     FROM t ORDER BY table_bytes + index_bytes DESC, schema, name LIMIT $1"
);

/// The indexes of the tables `$1` (an array of oids).
const Q_INDEXES: &str = own_sql!(
    "SELECT s.schemaname::text, s.relname::text, s.indexrelname::text, \
       coalesce(pg_get_indexdef(s.indexrelid), ''), coalesce(s.idx_scan, 0), coalesce(s.idx_tup_read, 0), \
       coalesce(pg_relation_size(s.indexrelid), 0), i.indisunique \
     FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid \
     WHERE s.relid = ANY($1) ORDER BY 1, 2, 3"
);

/// One row of `Q_TABLES`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableRow {
    pub schema: String,
    pub table: String,
    pub seq_scan: i64,
    pub seq_tup_read: i64,
    pub idx_scan: i64,
    pub n_live_tup: i64,
    pub n_dead_tup: i64,
    pub n_tup_ins: i64,
    pub table_bytes: i64,
    pub index_bytes: i64,
}

/// One row of `Q_INDEXES`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexRow {
    pub schema: String,
    pub table: String,
    pub index: String,
    pub definition: String,
    pub idx_scan: i64,
    pub idx_tup_read: i64,
    pub size_bytes: i64,
    pub is_unique: bool,
}

/// Tables and indexes of one scrape.
#[derive(Debug, Default)]
pub struct Reading {
    pub tables: Vec<v1::PgTable>,
    pub indexes: Vec<v1::PgIndex>,
    /// User tables in the database, including those cut by `tables_top`.
    pub total_tables: i64,
}

/// Reads the `top` largest tables of the connected database `database` and
/// their indexes.
pub async fn read(
    client: &Client,
    database: &str,
    top: usize,
    now_ms: i64,
) -> Result<Reading, tokio_postgres::Error> {
    let limit = i64::try_from(top).unwrap_or(i64::MAX);
    let rows = client.query(Q_TABLES, &[&limit]).await?;
    let total_tables = rows.first().map_or(0, |row| row.get(11));
    let relids: Vec<u32> = rows.iter().map(|row| row.get(0)).collect();
    let tables = rows
        .iter()
        .map(|row| table_record(&table_row(row), database, now_ms))
        .collect();
    let indexes = if relids.is_empty() {
        Vec::new()
    } else {
        client
            .query(Q_INDEXES, &[&relids])
            .await?
            .iter()
            .map(|row| index_record(&index_row(row), database, now_ms))
            .collect()
    };
    Ok(Reading {
        tables,
        indexes,
        total_tables,
    })
}

fn table_row(row: &Row) -> TableRow {
    TableRow {
        schema: row.get(1),
        table: row.get(2),
        seq_scan: row.get(3),
        seq_tup_read: row.get(4),
        idx_scan: row.get(5),
        n_live_tup: row.get(6),
        n_dead_tup: row.get(7),
        n_tup_ins: row.get(8),
        table_bytes: row.get(9),
        index_bytes: row.get(10),
    }
}

fn index_row(row: &Row) -> IndexRow {
    IndexRow {
        schema: row.get(0),
        table: row.get(1),
        index: row.get(2),
        definition: row.get(3),
        idx_scan: row.get(4),
        idx_tup_read: row.get(5),
        size_bytes: row.get(6),
        is_unique: row.get(7),
    }
}

/// PostgreSQL's counters are signed; they are never negative.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A table row as the wire record.
pub fn table_record(row: &TableRow, database: &str, now_ms: i64) -> v1::PgTable {
    v1::PgTable {
        timestamp_ms: now_ms,
        database: database.to_owned(),
        schema: row.schema.clone(),
        table: row.table.clone(),
        seq_scan: count(row.seq_scan),
        seq_tup_read: count(row.seq_tup_read),
        idx_scan: count(row.idx_scan),
        n_live_tup: count(row.n_live_tup),
        n_dead_tup: count(row.n_dead_tup),
        table_bytes: count(row.table_bytes),
        index_bytes: count(row.index_bytes),
        n_tup_ins: count(row.n_tup_ins),
    }
}

/// An index row as the wire record.
pub fn index_record(row: &IndexRow, database: &str, now_ms: i64) -> v1::PgIndex {
    v1::PgIndex {
        timestamp_ms: now_ms,
        database: database.to_owned(),
        schema: row.schema.clone(),
        table: row.table.clone(),
        index: row.index.clone(),
        definition: row.definition.clone(),
        idx_scan: count(row.idx_scan),
        idx_tup_read: count(row.idx_tup_read),
        size_bytes: count(row.size_bytes),
        is_unique: row.is_unique,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_row_becomes_a_record_of_its_database() {
        let row = TableRow {
            schema: "public".into(),
            table: "orders".into(),
            seq_scan: 3,
            seq_tup_read: 3_000,
            idx_scan: 7,
            n_live_tup: 1_000,
            n_dead_tup: 5,
            n_tup_ins: 1_005,
            table_bytes: 8_192,
            index_bytes: 16_384,
        };
        let record = table_record(&row, "shop", 42);
        assert_eq!(record.timestamp_ms, 42);
        assert_eq!(
            (
                record.database.as_str(),
                record.schema.as_str(),
                record.table.as_str()
            ),
            ("shop", "public", "orders")
        );
        assert_eq!(
            (record.seq_scan, record.seq_tup_read, record.idx_scan),
            (3, 3_000, 7)
        );
        assert_eq!(
            (record.n_live_tup, record.n_dead_tup, record.n_tup_ins),
            (1_000, 5, 1_005)
        );
        assert_eq!((record.table_bytes, record.index_bytes), (8_192, 16_384));
    }

    #[test]
    fn negative_counters_become_zero() {
        let row = TableRow {
            n_live_tup: -1,
            ..TableRow::default()
        };
        assert_eq!(table_record(&row, "shop", 0).n_live_tup, 0);
    }

    #[test]
    fn an_index_row_keeps_its_definition_and_uniqueness() {
        let row = IndexRow {
            schema: "public".into(),
            table: "orders".into(),
            index: "orders_pkey".into(),
            definition: "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)".into(),
            idx_scan: 12,
            idx_tup_read: 12,
            size_bytes: 65_536,
            is_unique: true,
        };
        let record = index_record(&row, "shop", 7);
        assert_eq!(record.definition, row.definition);
        assert!(record.is_unique);
        assert_eq!(
            (record.idx_scan, record.idx_tup_read, record.size_bytes),
            (12, 12, 65_536)
        );
        assert_eq!(
            (record.database.as_str(), record.index.as_str()),
            ("shop", "orders_pkey")
        );
    }
}
