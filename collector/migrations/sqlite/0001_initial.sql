-- Agents, the per-epoch de-duplication watermark, series, and point blocks.
-- Layout and sizing: docs/adr/001-storage-layout.md.
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    sources TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    spool_epoch INTEGER NOT NULL DEFAULT 0,
    last_sequence INTEGER NOT NULL DEFAULT 0,
    batches INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    dropped_spool_full_batches INTEGER NOT NULL DEFAULT 0,
    dropped_spool_full_points INTEGER NOT NULL DEFAULT 0,
    dropped_corrupt_batches INTEGER NOT NULL DEFAULT 0,
    dropped_queue_full_samples INTEGER NOT NULL DEFAULT 0,
    dropped_rejected_batches INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE agent_epochs (
    agent_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL,
    PRIMARY KEY (agent_id, epoch)
) WITHOUT ROWID;

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    kind INTEGER NOT NULL,
    UNIQUE (name, labels)
);

-- resolution_ms: 0 = raw points (1 column), 60000 and 3600000 = rollups
-- (4 columns: count, sum, min, max). data: Gorilla-encoded (store/codec.rs).
CREATE TABLE blocks (
    id INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL,
    resolution_ms INTEGER NOT NULL,
    window_ms INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    points INTEGER NOT NULL,
    compacted INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX blocks_by_series ON blocks (series_id, resolution_ms, window_ms);
CREATE INDEX blocks_to_compact ON blocks (series_id, window_ms) WHERE compacted = 0;
CREATE INDEX blocks_by_age ON blocks (resolution_ms, end_ms);

-- Text that belongs to a series but must not be a label (normalized query
-- text, index definitions), by kind and key.
CREATE TABLE texts (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- /healthz writes here to prove the store is writable.
CREATE TABLE health (
    id INTEGER PRIMARY KEY,
    checked_ms BIGINT NOT NULL
);
