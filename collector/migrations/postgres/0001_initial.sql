-- Agents, the per-epoch de-duplication watermark, series, and point blocks.
-- Layout and sizing: docs/adr/001-storage-layout.md.
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    sources TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    spool_epoch BIGINT NOT NULL DEFAULT 0,
    last_sequence BIGINT NOT NULL DEFAULT 0,
    batches BIGINT NOT NULL DEFAULT 0,
    points BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    dropped_spool_full_batches BIGINT NOT NULL DEFAULT 0,
    dropped_spool_full_points BIGINT NOT NULL DEFAULT 0,
    dropped_corrupt_batches BIGINT NOT NULL DEFAULT 0,
    dropped_queue_full_samples BIGINT NOT NULL DEFAULT 0,
    dropped_rejected_batches BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE agent_epochs (
    agent_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    last_sequence BIGINT NOT NULL,
    PRIMARY KEY (agent_id, epoch)
);

CREATE TABLE series (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    kind BIGINT NOT NULL,
    UNIQUE (name, labels)
);

-- resolution_ms: 0 = raw points (1 column), 60000 and 3600000 = rollups
-- (4 columns: count, sum, min, max). data: Gorilla-encoded (store/codec.rs).
CREATE TABLE blocks (
    id BIGSERIAL PRIMARY KEY,
    series_id BIGINT NOT NULL,
    resolution_ms BIGINT NOT NULL,
    window_ms BIGINT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    points BIGINT NOT NULL,
    compacted BIGINT NOT NULL,
    data BYTEA NOT NULL
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
    last_seen_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);

-- /healthz writes here to prove the store is writable.
CREATE TABLE health (
    id INTEGER PRIMARY KEY,
    checked_ms BIGINT NOT NULL
);
