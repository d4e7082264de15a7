//! The collector's own figures on `/metrics`: computed when scraped, never
//! stored. `web/prom.rs` renders their HELP and TYPE lines from here, and
//! the Grafana dashboard (`dashboards/grafana/headroom.json`) queries them.

use super::{Kept, Signal, signal};

pub const HEADROOM_INGEST_BATCHES_TOTAL: Signal = signal!(
    Collector,
    counter "headroom_ingest_batches_total",
    Count,
    [],
    "Agent batches stored since the collector started."
)
.kept(Kept::Exposed);
pub const HEADROOM_INGEST_DUPLICATE_BATCHES_TOTAL: Signal = signal!(
    Collector,
    counter "headroom_ingest_duplicate_batches_total",
    Count,
    [],
    "Agent batches received again after they were stored (acknowledged, not stored twice)."
)
.kept(Kept::Exposed);
pub const HEADROOM_INGEST_POINTS_TOTAL: Signal = signal!(
    Collector,
    counter "headroom_ingest_points_total",
    Count,
    [],
    "Points stored since the collector started."
)
.kept(Kept::Exposed);
pub const HEADROOM_STORAGE_SIZE_BYTES: Signal = signal!(
    Collector,
    gauge "headroom_storage_size_bytes",
    Bytes,
    [],
    "Size of the collector's database."
)
.kept(Kept::Exposed);
pub const HEADROOM_SERIES: Signal = signal!(
    Collector,
    gauge "headroom_series",
    Count,
    [],
    "Series stored."
)
.kept(Kept::Exposed);
pub const HEADROOM_AGENTS: Signal = signal!(
    Collector,
    gauge "headroom_agents",
    Count,
    ["state"],
    "Agents known to the collector, by whether one was seen in the last 2 minutes."
)
.kept(Kept::Exposed);
pub const HEADROOM_AGENT_UP: Signal = signal!(
    Collector,
    gauge "headroom_agent_up",
    Bool,
    ["agent_id"],
    "1 when the agent was seen in the last 2 minutes, else 0."
)
.kept(Kept::Exposed);
pub const HEADROOM_AGENT_LAST_SEEN_TIMESTAMP_SECONDS: Signal = signal!(
    Collector,
    gauge "headroom_agent_last_seen_timestamp_seconds",
    UnixSeconds,
    ["agent_id"],
    "When the agent last said hello or sent a batch (unix seconds)."
)
.kept(Kept::Exposed);
pub const HEADROOM_RESOURCE_UTILIZATION_RATIO: Signal = signal!(
    Collector,
    gauge "headroom_resource_utilization_ratio",
    Ratio,
    ["resource"],
    "The resource's current level over its limit."
)
.kept(Kept::Exposed);
pub const HEADROOM_RESOURCE_CURRENT: Signal = signal!(
    Collector,
    gauge "headroom_resource_current",
    Varies,
    ["resource"],
    "The resource's current level, in the resource's unit."
)
.kept(Kept::Exposed);
pub const HEADROOM_RESOURCE_LIMIT: Signal = signal!(
    Collector,
    gauge "headroom_resource_limit",
    Varies,
    ["resource"],
    "The level the resource cannot exceed, in the resource's unit."
)
.kept(Kept::Exposed);
pub const HEADROOM_RESOURCE_ETA_SECONDS: Signal = signal!(
    Collector,
    gauge "headroom_resource_eta_seconds",
    Seconds,
    ["resource"],
    "Seconds from now until the resource reaches its limit at the current trend (absent when it does not)."
)
.kept(Kept::Exposed);
pub const HEADROOM_RECOMMENDATIONS_OPEN: Signal = signal!(
    Collector,
    gauge "headroom_recommendations_open",
    Count,
    ["kind", "severity"],
    "Recommendations in state open, by kind and severity."
)
.kept(Kept::Exposed);
pub const HEADROOM_ADVISOR_LAST_PASS_TIMESTAMP_SECONDS: Signal = signal!(
    Collector,
    gauge "headroom_advisor_last_pass_timestamp_seconds",
    UnixSeconds,
    [],
    "When the advisor last computed the headroom table (unix seconds)."
)
.kept(Kept::Exposed);
pub const HEADROOM_ALERT_DELIVERIES: Signal = signal!(
    Collector,
    gauge "headroom_alert_deliveries",
    Count,
    ["receiver", "status"],
    "Notifications in the alert outbox, by receiver and delivery status (pending, delivered, failed)."
)
.kept(Kept::Exposed);
pub const HEADROOM_ALERT_SILENCES_ACTIVE: Signal = signal!(
    Collector,
    gauge "headroom_alert_silences_active",
    Count,
    [],
    "Alert silences in effect now."
)
.kept(Kept::Exposed);

/// Every signal of this family, in the order `/metrics` shows them.
pub const ALL: &[Signal] = &[
    HEADROOM_INGEST_BATCHES_TOTAL,
    HEADROOM_INGEST_DUPLICATE_BATCHES_TOTAL,
    HEADROOM_INGEST_POINTS_TOTAL,
    HEADROOM_STORAGE_SIZE_BYTES,
    HEADROOM_SERIES,
    HEADROOM_AGENTS,
    HEADROOM_AGENT_UP,
    HEADROOM_AGENT_LAST_SEEN_TIMESTAMP_SECONDS,
    HEADROOM_RESOURCE_UTILIZATION_RATIO,
    HEADROOM_RESOURCE_CURRENT,
    HEADROOM_RESOURCE_LIMIT,
    HEADROOM_RESOURCE_ETA_SECONDS,
    HEADROOM_RECOMMENDATIONS_OPEN,
    HEADROOM_ADVISOR_LAST_PASS_TIMESTAMP_SECONDS,
    HEADROOM_ALERT_DELIVERIES,
    HEADROOM_ALERT_SILENCES_ACTIVE,
];
