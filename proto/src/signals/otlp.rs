//! Signals of the OTLP aggregators (the agent's `otlp` source and the
//! collector's OTLP port): per-route and per-step totals derived from
//! spans, per-route statement figures, and the receivers' own counts.
//! Their route latency is an `HttpRoute` record (in `http`).

use super::{Signal, signal};

pub const OTLP_ROUTE_REQUESTS_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_route_requests_total",
    Count,
    ["route"],
    "Requests served per route, from server spans."
);
pub const OTLP_ROUTE_DB_STATEMENTS_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_route_db_statements_total",
    Count,
    ["route"],
    "Database statements the route's requests ran, from their traces' database spans."
);
pub const OTLP_ROUTE_DB_TIME_MS_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_route_db_time_ms_total",
    Milliseconds,
    ["route"],
    "Time the route's requests spent in database spans."
);
pub const OTLP_STEP_COUNT_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_step_count_total",
    Count,
    ["workflow_step"],
    "Workflow steps run, by step name."
);
pub const OTLP_STEP_DURATION_MS_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_step_duration_ms_total",
    Milliseconds,
    ["workflow_step"],
    "Time spent in workflow steps, by step name."
);
pub const OTLP_ROUTE_STATEMENT_CALLS: Signal = signal!(
    Otlp,
    gauge "otlp_route_statement_calls",
    Count,
    ["method", "route", "fingerprint"],
    "Statements of one fingerprint the route's requests ran over the interval (top 10 by time, the rest as other)."
);
pub const OTLP_ROUTE_STATEMENT_MS: Signal = signal!(
    Otlp,
    gauge "otlp_route_statement_ms",
    Milliseconds,
    ["method", "route", "fingerprint"],
    "Time the route's requests spent in statements of one fingerprint over the interval."
);
pub const OTLP_EXPORTS_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_exports_total",
    Count,
    [],
    "Trace exports received."
);
pub const OTLP_SPANS_RECEIVED_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_spans_received_total",
    Count,
    [],
    "Spans received."
);
pub const OTLP_SPANS_DROPPED_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_spans_dropped_total",
    Count,
    [],
    "Spans dropped because their trace did not fit the buffer."
);
pub const OTLP_TRACES_BUFFERED: Signal = signal!(
    Otlp,
    gauge "otlp_traces_buffered",
    Count,
    [],
    "Traces held waiting for their root span or their grace period."
);
pub const OTLP_HTTP_SERVER_ACTIVE_REQUESTS: Signal = signal!(
    Otlp,
    gauge "otlp_http_server_active_requests",
    Count,
    [],
    "Requests in flight, summed over the streams of http.server.active_requests."
);
pub const OTLP_METRIC_EXPORTS_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_metric_exports_total",
    Count,
    [],
    "Metric exports received."
);
pub const OTLP_METRICS_IGNORED_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_metrics_ignored_total",
    Count,
    [],
    "Metrics received that Headroom does not read."
);
pub const OTLP_METRIC_POINTS_DROPPED_TOTAL: Signal = signal!(
    Otlp,
    counter "otlp_metric_points_dropped_total",
    Count,
    [],
    "Metric points dropped because their stream exceeded max_streams."
);

pub const HEADROOM_SPANS_TOTAL: Signal = signal!(
    Otlp,
    counter "headroom_spans_total",
    Count,
    ["service", "span"],
    "Headroom's own spans received (from a collector or agent whose telemetry points here), by service and span name."
);
pub const HEADROOM_SPAN_DURATION_MS_TOTAL: Signal = signal!(
    Otlp,
    counter "headroom_span_duration_ms_total",
    Milliseconds,
    ["service", "span"],
    "Time in Headroom's own spans received, by service and span name."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    OTLP_ROUTE_REQUESTS_TOTAL,
    OTLP_ROUTE_DB_STATEMENTS_TOTAL,
    OTLP_ROUTE_DB_TIME_MS_TOTAL,
    OTLP_STEP_COUNT_TOTAL,
    OTLP_STEP_DURATION_MS_TOTAL,
    OTLP_ROUTE_STATEMENT_CALLS,
    OTLP_ROUTE_STATEMENT_MS,
    OTLP_EXPORTS_TOTAL,
    OTLP_SPANS_RECEIVED_TOTAL,
    OTLP_SPANS_DROPPED_TOTAL,
    OTLP_TRACES_BUFFERED,
    OTLP_HTTP_SERVER_ACTIVE_REQUESTS,
    OTLP_METRIC_EXPORTS_TOTAL,
    OTLP_METRICS_IGNORED_TOTAL,
    OTLP_METRIC_POINTS_DROPPED_TOTAL,
    HEADROOM_SPANS_TOTAL,
    HEADROOM_SPAN_DURATION_MS_TOTAL,
];
