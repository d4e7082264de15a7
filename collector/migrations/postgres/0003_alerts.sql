-- Alerts: the state of each (receiver, group) between notifications, the
-- outbox of decided notifications (kept after delivery as the notification
-- log), and silences.
CREATE TABLE alert_groups (
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    pending_since_ms BIGINT,
    last_notified_ms BIGINT,
    -- JSON object: recommendation id -> severity last notified as firing.
    notified TEXT NOT NULL,
    PRIMARY KEY (receiver, group_key)
);

CREATE TABLE alert_outbox (
    id TEXT PRIMARY KEY,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    notification TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_attempt_ms BIGINT,
    delivered_ms BIGINT,
    last_status BIGINT,
    last_error TEXT NOT NULL,
    platform_ref TEXT
);
CREATE INDEX alert_outbox_by_status ON alert_outbox (status, next_attempt_ms);
CREATE INDEX alert_outbox_by_receiver ON alert_outbox (receiver, created_ms);
CREATE INDEX alert_outbox_by_created ON alert_outbox (created_ms);

CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    kind TEXT,
    severity TEXT,
    recommendation_id TEXT,
    receiver TEXT,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    starts_ms BIGINT NOT NULL,
    ends_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
