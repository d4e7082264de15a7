//! Signals of the agent's `postgres` source: server settings and activity
//! (samples), `pg_stat_database` counters, and the series the collector
//! makes of its typed records (`PgStatement`, `PgTable`, `PgIndex`).

use super::{Signal, signal};

pub const PG_MAX_CONNECTIONS: Signal = signal!(
    Postgres,
    gauge "pg_max_connections",
    Count,
    [],
    "The server's max_connections setting."
);
pub const PG_SUPERUSER_RESERVED_CONNECTIONS: Signal = signal!(
    Postgres,
    gauge "pg_superuser_reserved_connections",
    Count,
    [],
    "The server's superuser_reserved_connections setting: slots clients cannot take."
);
pub const PG_LOCK_WAITS: Signal = signal!(
    Postgres,
    gauge "pg_lock_waits",
    Count,
    [],
    "Sessions waiting on a lock now (pg_stat_activity wait_event_type = Lock)."
);
pub const PG_DATABASE_SIZE_BYTES: Signal = signal!(
    Postgres,
    gauge "pg_database_size_bytes",
    Bytes,
    ["database"],
    "Size of the connected database on disk, read with the catalog."
);
pub const PG_CONNECTIONS: Signal = signal!(
    Postgres,
    gauge "pg_connections",
    Count,
    ["state"],
    "Client backends by state (active, idle, idle in transaction, unknown)."
);
pub const PG_CONNECTIONS_TOTAL: Signal = signal!(
    Postgres,
    gauge "pg_connections_total",
    Count,
    [],
    "Client backends connected to the server, in every state."
);
pub const PG_DATABASE_BACKENDS: Signal = signal!(
    Postgres,
    gauge "pg_database_backends",
    Count,
    ["database"],
    "Backends connected to each database (pg_stat_database numbackends)."
);
pub const PG_DATABASE_XACT_COMMIT: Signal = signal!(
    Postgres,
    counter "pg_database_xact_commit",
    Count,
    ["database"],
    "Transactions committed in the database (pg_stat_database)."
);
pub const PG_DATABASE_XACT_ROLLBACK: Signal = signal!(
    Postgres,
    counter "pg_database_xact_rollback",
    Count,
    ["database"],
    "Transactions rolled back in the database (pg_stat_database)."
);
pub const PG_DATABASE_BLKS_READ: Signal = signal!(
    Postgres,
    counter "pg_database_blks_read",
    Count,
    ["database"],
    "Blocks read from disk or the OS cache, not found in shared buffers (pg_stat_database)."
);
pub const PG_DATABASE_BLKS_HIT: Signal = signal!(
    Postgres,
    counter "pg_database_blks_hit",
    Count,
    ["database"],
    "Blocks found in shared buffers (pg_stat_database)."
);
pub const PG_DATABASE_TUP_RETURNED: Signal = signal!(
    Postgres,
    counter "pg_database_tup_returned",
    Count,
    ["database"],
    "Rows read by sequential scans and index entries read (pg_stat_database)."
);
pub const PG_DATABASE_TUP_FETCHED: Signal = signal!(
    Postgres,
    counter "pg_database_tup_fetched",
    Count,
    ["database"],
    "Rows fetched by index scans (pg_stat_database)."
);
pub const PG_DATABASE_TUP_INSERTED: Signal = signal!(
    Postgres,
    counter "pg_database_tup_inserted",
    Count,
    ["database"],
    "Rows inserted (pg_stat_database)."
);
pub const PG_DATABASE_TUP_UPDATED: Signal = signal!(
    Postgres,
    counter "pg_database_tup_updated",
    Count,
    ["database"],
    "Rows updated (pg_stat_database)."
);
pub const PG_DATABASE_TUP_DELETED: Signal = signal!(
    Postgres,
    counter "pg_database_tup_deleted",
    Count,
    ["database"],
    "Rows deleted (pg_stat_database)."
);
pub const PG_DATABASE_TEMP_FILES: Signal = signal!(
    Postgres,
    counter "pg_database_temp_files",
    Count,
    ["database"],
    "Temporary files written by queries that outgrew work_mem (pg_stat_database)."
);
pub const PG_DATABASE_TEMP_BYTES: Signal = signal!(
    Postgres,
    counter "pg_database_temp_bytes",
    Bytes,
    ["database"],
    "Bytes written to temporary files (pg_stat_database)."
);
pub const PG_DATABASE_DEADLOCKS: Signal = signal!(
    Postgres,
    counter "pg_database_deadlocks",
    Count,
    ["database"],
    "Deadlocks detected (pg_stat_database)."
);
pub const PG_STAT_STATEMENTS_AVAILABLE: Signal = signal!(
    Postgres,
    gauge "pg_stat_statements_available",
    Bool,
    ["database"],
    "1 when the agent can read pg_stat_statements in the database, else 0."
);
pub const PG_USER_TABLES: Signal = signal!(
    Postgres,
    gauge "pg_user_tables",
    Count,
    ["database"],
    "User tables in the database, read with the catalog."
);

pub const PG_STATEMENT_CALLS: Signal = signal!(
    Postgres,
    gauge "pg_statement_calls",
    Count,
    ["database", "queryid"],
    "Calls of the statement since the previous scrape (pg_stat_statements delta; queryid other sums the rest)."
);
pub const PG_STATEMENT_EXEC_MS: Signal = signal!(
    Postgres,
    gauge "pg_statement_exec_ms",
    Milliseconds,
    ["database", "queryid"],
    "Execution time of the statement since the previous scrape (pg_stat_statements delta)."
);
pub const PG_STATEMENT_MEAN_EXEC_MS: Signal = signal!(
    Postgres,
    gauge "pg_statement_mean_exec_ms",
    Milliseconds,
    ["database", "queryid"],
    "Mean execution time of one call of the statement over the interval."
);
pub const PG_STATEMENT_ROWS: Signal = signal!(
    Postgres,
    gauge "pg_statement_rows",
    Count,
    ["database", "queryid"],
    "Rows returned or affected by the statement since the previous scrape."
);
pub const PG_STATEMENT_SHARED_BLKS_HIT: Signal = signal!(
    Postgres,
    gauge "pg_statement_shared_blks_hit",
    Count,
    ["database", "queryid"],
    "Shared buffer hits of the statement since the previous scrape."
);
pub const PG_STATEMENT_SHARED_BLKS_READ: Signal = signal!(
    Postgres,
    gauge "pg_statement_shared_blks_read",
    Count,
    ["database", "queryid"],
    "Blocks the statement read outside shared buffers since the previous scrape."
);
pub const PG_STATEMENT_TEMP_BLKS_WRITTEN: Signal = signal!(
    Postgres,
    gauge "pg_statement_temp_blks_written",
    Count,
    ["database", "queryid"],
    "Temporary blocks the statement wrote since the previous scrape."
);

/// The series the collector makes of one `PgStatement` record.
pub const STATEMENT: [&Signal; 7] = [
    &PG_STATEMENT_CALLS,
    &PG_STATEMENT_EXEC_MS,
    &PG_STATEMENT_MEAN_EXEC_MS,
    &PG_STATEMENT_ROWS,
    &PG_STATEMENT_SHARED_BLKS_HIT,
    &PG_STATEMENT_SHARED_BLKS_READ,
    &PG_STATEMENT_TEMP_BLKS_WRITTEN,
];

pub const PG_TABLE_SEQ_SCAN: Signal = signal!(
    Postgres,
    counter "pg_table_seq_scan",
    Count,
    ["database", "schema", "table"],
    "Sequential scans of the table (pg_stat_user_tables)."
);
pub const PG_TABLE_SEQ_TUP_READ: Signal = signal!(
    Postgres,
    counter "pg_table_seq_tup_read",
    Count,
    ["database", "schema", "table"],
    "Rows read by sequential scans of the table (pg_stat_user_tables)."
);
pub const PG_TABLE_IDX_SCAN: Signal = signal!(
    Postgres,
    counter "pg_table_idx_scan",
    Count,
    ["database", "schema", "table"],
    "Index scans of the table (pg_stat_user_tables)."
);
pub const PG_TABLE_N_TUP_INS: Signal = signal!(
    Postgres,
    counter "pg_table_n_tup_ins",
    Count,
    ["database", "schema", "table"],
    "Rows inserted into the table (pg_stat_user_tables)."
);
pub const PG_TABLE_LIVE_TUPLES: Signal = signal!(
    Postgres,
    gauge "pg_table_live_tuples",
    Count,
    ["database", "schema", "table"],
    "Live rows of the table by the statistics collector (n_live_tup; 0 after a stats reset)."
);
pub const PG_TABLE_ROWS: Signal = signal!(
    Postgres,
    gauge "pg_table_rows",
    Count,
    ["database", "schema", "table"],
    "Rows of the table: the planner's estimate or n_live_tup, whichever is larger."
);
pub const PG_TABLE_DEAD_TUPLES: Signal = signal!(
    Postgres,
    gauge "pg_table_dead_tuples",
    Count,
    ["database", "schema", "table"],
    "Dead rows of the table awaiting vacuum (n_dead_tup)."
);
pub const PG_TABLE_BYTES: Signal = signal!(
    Postgres,
    gauge "pg_table_bytes",
    Bytes,
    ["database", "schema", "table"],
    "Size of the table's heap on disk."
);
pub const PG_TABLE_INDEX_BYTES: Signal = signal!(
    Postgres,
    gauge "pg_table_index_bytes",
    Bytes,
    ["database", "schema", "table"],
    "Size of all the table's indexes on disk."
);

pub const PG_INDEX_SCANS: Signal = signal!(
    Postgres,
    counter "pg_index_scans",
    Count,
    ["database", "schema", "table", "index"],
    "Scans of the index (pg_stat_user_indexes idx_scan)."
);
pub const PG_INDEX_TUP_READ: Signal = signal!(
    Postgres,
    counter "pg_index_tup_read",
    Count,
    ["database", "schema", "table", "index"],
    "Index entries read by scans of the index (pg_stat_user_indexes)."
);
pub const PG_INDEX_BYTES: Signal = signal!(
    Postgres,
    gauge "pg_index_bytes",
    Bytes,
    ["database", "schema", "table", "index"],
    "Size of the index on disk."
);

pub const HEADROOM_AGENT_PG_CALLS_TOTAL: Signal = signal!(
    Postgres,
    counter "headroom_agent_pg_calls_total",
    Count,
    ["database"],
    "Statements the agent itself ran in the database since it started (its own cost)."
);
pub const HEADROOM_AGENT_PG_EXEC_MS_TOTAL: Signal = signal!(
    Postgres,
    counter "headroom_agent_pg_exec_ms_total",
    Milliseconds,
    ["database"],
    "Execution time of the agent's own statements in the database since it started."
);
pub const HEADROOM_AGENT_PG_ROWS_TOTAL: Signal = signal!(
    Postgres,
    counter "headroom_agent_pg_rows_total",
    Count,
    ["database"],
    "Rows the agent's own statements returned since it started."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    PG_MAX_CONNECTIONS,
    PG_SUPERUSER_RESERVED_CONNECTIONS,
    PG_LOCK_WAITS,
    PG_DATABASE_SIZE_BYTES,
    PG_CONNECTIONS,
    PG_CONNECTIONS_TOTAL,
    PG_DATABASE_BACKENDS,
    PG_DATABASE_XACT_COMMIT,
    PG_DATABASE_XACT_ROLLBACK,
    PG_DATABASE_BLKS_READ,
    PG_DATABASE_BLKS_HIT,
    PG_DATABASE_TUP_RETURNED,
    PG_DATABASE_TUP_FETCHED,
    PG_DATABASE_TUP_INSERTED,
    PG_DATABASE_TUP_UPDATED,
    PG_DATABASE_TUP_DELETED,
    PG_DATABASE_TEMP_FILES,
    PG_DATABASE_TEMP_BYTES,
    PG_DATABASE_DEADLOCKS,
    PG_STAT_STATEMENTS_AVAILABLE,
    PG_USER_TABLES,
    PG_STATEMENT_CALLS,
    PG_STATEMENT_EXEC_MS,
    PG_STATEMENT_MEAN_EXEC_MS,
    PG_STATEMENT_ROWS,
    PG_STATEMENT_SHARED_BLKS_HIT,
    PG_STATEMENT_SHARED_BLKS_READ,
    PG_STATEMENT_TEMP_BLKS_WRITTEN,
    PG_TABLE_SEQ_SCAN,
    PG_TABLE_SEQ_TUP_READ,
    PG_TABLE_IDX_SCAN,
    PG_TABLE_N_TUP_INS,
    PG_TABLE_LIVE_TUPLES,
    PG_TABLE_ROWS,
    PG_TABLE_DEAD_TUPLES,
    PG_TABLE_BYTES,
    PG_TABLE_INDEX_BYTES,
    PG_INDEX_SCANS,
    PG_INDEX_TUP_READ,
    PG_INDEX_BYTES,
    HEADROOM_AGENT_PG_CALLS_TOTAL,
    HEADROOM_AGENT_PG_EXEC_MS_TOTAL,
    HEADROOM_AGENT_PG_ROWS_TOTAL,
];
