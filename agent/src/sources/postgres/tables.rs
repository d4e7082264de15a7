//! Tables and indexes of the connected database: `pg_stat_user_tables`
//! with table and index sizes as `v1::PgTable` records, the largest
//! `tables_top` only (a database may hold thousands), and
//! `pg_stat_user_indexes` of those tables with each index's definition as
//! `v1::PgIndex` records, the definition parsed with `pg_query`
//! (`advisor::keys::IndexShape`) into its key elements, predicate, method
//! and INCLUDE columns, so that no reader scans SQL by hand. Counters are cumulative, as PostgreSQL reports
//! them; the collector stores them as counters.
//!
//! Sizes come from `pg_table_size` and `pg_indexes_size`: catalog lookups
//! and a `stat` per file, no table is read.
//!
//! Rows (`estimated_rows`) are the planner's estimate, which survives a
//! statistics reset (`pg_stat_reset()`, crash recovery, a failover, where
//! `n_live_tup` reads 0 for hours): the larger of `n_live_tup` and
//! `pg_class.reltuples`. A table never analysed nor vacuumed has
//! `reltuples` = -1, and no rows-per-page ratio of its own then; like the
//! planner (`table_block_relation_estimate_size`), its current pages
//! (`pg_relation_size / block_size`) are multiplied by the tuples a page
//! holds at its row width: the sum of its columns' fixed lengths, 32 bytes
//! per variable-length column (the planner's default when it has no
//! statistics, which such a table has not), plus 24 bytes of tuple header
//! and 4 of line pointer, aligned to 8, into the page less its 24-byte
//! header. Unlike the planner, an empty table is not assumed 10 pages.

use headroom_proto::v1;
use tokio_postgres::{Client, Row};

use super::advisor::keys::IndexShape;
use super::own::own_sql;

/// Every user table with its sizes, largest first, cut at `$1`; the last
/// column counts every user table (before the cut).
/// The planner's inputs follow: `reltuples`, the current pages of the main
/// fork, and, only for a table never analysed, its row width.
const Q_TABLES: &str = own_sql!(
    "WITH t AS (\
       SELECT relid, schemaname::text AS schema, relname::text AS name, seq_scan, seq_tup_read, \
       coalesce(idx_scan, 0) AS idx_scan, n_live_tup, n_dead_tup, n_tup_ins, \
       coalesce(pg_table_size(relid), 0) AS table_bytes, coalesce(pg_indexes_size(relid), 0) AS index_bytes \
       FROM pg_stat_user_tables) \
     SELECT t.relid, t.schema, t.name, t.seq_scan, t.seq_tup_read, t.idx_scan, t.n_live_tup, t.n_dead_tup, \
       t.n_tup_ins, t.table_bytes, t.index_bytes, count(*) OVER (), \
       c.reltuples::float8, \
       coalesce(pg_relation_size(t.relid), 0) / current_setting('block_size')::int8, \
       CASE WHEN c.reltuples < 0 THEN (SELECT coalesce(sum(CASE WHEN a.attlen > 0 THEN a.attlen ELSE 32 END), 0)::int8 \
         FROM pg_attribute a WHERE a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped) END, \
       current_setting('block_size')::int8 \
     FROM t JOIN pg_class c ON c.oid = t.relid \
     ORDER BY t.table_bytes + t.index_bytes DESC, t.schema, t.name LIMIT $1"
);

/// Bytes of a heap page's header (`SizeOfPageHeaderData`).
const PAGE_HEADER_BYTES: i64 = 24;
/// Bytes each tuple costs beyond its data: the aligned tuple header
/// (`SizeofHeapTupleHeader`) and its line pointer (`ItemIdData`).
const TUPLE_OVERHEAD_BYTES: i64 = 24 + 4;
/// `MAXALIGN` of 64-bit platforms.
const MAX_ALIGN: i64 = 8;

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
    /// The planner's inputs: see [`planner_rows`].
    pub planner: PlannerInputs,
}

/// What the catalog says about a table's size, for [`planner_rows`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlannerInputs {
    /// `pg_class.reltuples`: -1 when never analysed nor vacuumed.
    pub reltuples: f64,
    /// Current pages of the main fork.
    pub pages: i64,
    /// The row's data width in bytes (asked for only when `reltuples` < 0).
    pub width: Option<i64>,
    /// `block_size`, 8192 unless PostgreSQL was built otherwise.
    pub block_size: i64,
}

/// The planner's estimate of a table's rows (pure): `reltuples` once
/// known, else the current pages times the tuples a page holds at the row
/// width (see the module's doc).
pub fn planner_rows(inputs: &PlannerInputs) -> u64 {
    if inputs.reltuples >= 0.0 {
        return inputs.reltuples.round() as u64;
    }
    let Some(width) = inputs.width else {
        return 0;
    };
    let tuple = (width.max(0) + TUPLE_OVERHEAD_BYTES + MAX_ALIGN - 1) / MAX_ALIGN * MAX_ALIGN;
    let per_page = (inputs.block_size - PAGE_HEADER_BYTES).max(0) / tuple;
    u64::try_from(inputs.pages.max(0).saturating_mul(per_page)).unwrap_or(0)
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
        planner: PlannerInputs {
            reltuples: row.get(12),
            pages: row.get(13),
            width: row.get(14),
            block_size: row.get(15),
        },
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
        estimated_rows: planner_rows(&row.planner).max(count(row.n_live_tup)),
    }
}

/// An index row as the wire record, its definition parsed (the parsed
/// fields empty when it does not parse).
pub fn index_record(row: &IndexRow, database: &str, now_ms: i64) -> v1::PgIndex {
    let shape = IndexShape::parse(&row.definition);
    v1::PgIndex {
        keys: shape
            .as_ref()
            .map(IndexShape::rendered_keys)
            .unwrap_or_default(),
        predicate: shape
            .as_ref()
            .map(|s| s.predicate.clone())
            .unwrap_or_default(),
        method: shape.as_ref().map(|s| s.method.clone()).unwrap_or_default(),
        include: shape.map(|s| s.include).unwrap_or_default(),
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
            planner: PlannerInputs {
                reltuples: 900.0,
                pages: 1,
                width: None,
                block_size: 8_192,
            },
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
        assert_eq!(record.estimated_rows, 1_000, "the larger of the two");
    }

    #[test]
    fn rows_survive_a_statistics_reset_through_reltuples() {
        let row = TableRow {
            n_live_tup: 0,
            planner: PlannerInputs {
                reltuples: 600_000.0,
                pages: 7_000,
                width: None,
                block_size: 8_192,
            },
            ..TableRow::default()
        };
        let record = table_record(&row, "shop", 0);
        assert_eq!((record.n_live_tup, record.estimated_rows), (0, 600_000));
    }

    #[test]
    fn a_table_never_analysed_is_estimated_from_its_pages_and_row_width() {
        // Two bigints and a text: 8 + 8 + 32 data bytes, + 28 overhead,
        // aligned to 80 bytes; (8192 - 24) / 80 = 102 tuples a page.
        let inputs = PlannerInputs {
            reltuples: -1.0,
            pages: 1_000,
            width: Some(48),
            block_size: 8_192,
        };
        assert_eq!(planner_rows(&inputs), 102_000);
        // No pages yet, or a width never read: no estimate (n_live_tup then).
        assert_eq!(planner_rows(&PlannerInputs { pages: 0, ..inputs }), 0);
        assert_eq!(
            planner_rows(&PlannerInputs {
                width: None,
                ..inputs
            }),
            0
        );
        // Once analysed, reltuples is the estimate, even 0 for an empty table.
        assert_eq!(
            planner_rows(&PlannerInputs {
                reltuples: 0.0,
                ..inputs
            }),
            0
        );
        let row = TableRow {
            n_live_tup: 5,
            planner: inputs,
            ..TableRow::default()
        };
        assert_eq!(table_record(&row, "shop", 0).estimated_rows, 102_000);
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
        assert_eq!(record.keys, ["id"]);
        assert_eq!(
            (record.method.as_str(), record.predicate.as_str()),
            ("btree", "")
        );
    }

    #[test]
    fn an_index_definition_is_sent_parsed() {
        let row = IndexRow {
            definition: "CREATE INDEX \"IDX_cart_email\" ON public.\"Cart\" USING btree \
                         (lower((email)::text), created_at DESC) INCLUDE (id) \
                         WHERE (deleted_at IS NULL)"
                .into(),
            ..IndexRow::default()
        };
        let record = index_record(&row, "shop", 7);
        assert_eq!(record.keys, ["lower(email::text)", "created_at DESC"]);
        assert_eq!(record.predicate, "deleted_at IS NULL");
        assert_eq!(record.method, "btree");
        assert_eq!(record.include, ["id"]);
        let unparsed = index_record(
            &IndexRow {
                definition: "garbage".into(),
                ..IndexRow::default()
            },
            "shop",
            7,
        );
        assert!(unparsed.keys.is_empty() && unparsed.method.is_empty());
    }
}
