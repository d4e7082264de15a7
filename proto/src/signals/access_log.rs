//! Signals of the agent's `access_log` source: cumulative counters since
//! the agent started (its routes are `HttpRoute` records, in `http`).

use super::{Signal, signal};

pub const ACCESS_LOG_REQUESTS_TOTAL: Signal = signal!(
    AccessLog,
    counter "access_log_requests_total",
    Count,
    ["source", "kind"],
    "Requests the log recorded, by kind (static or dynamic)."
);
pub const ACCESS_LOG_BYTES_TOTAL: Signal = signal!(
    AccessLog,
    counter "access_log_bytes_total",
    Bytes,
    ["source", "kind"],
    "Response bytes the log recorded, by kind (static or dynamic)."
);
pub const ACCESS_LOG_LINES_UNPARSED_TOTAL: Signal = signal!(
    AccessLog,
    counter "access_log_lines_unparsed_total",
    Count,
    ["source"],
    "Lines of the log that did not parse."
);
pub const ACCESS_LOG_CACHE_TOTAL: Signal = signal!(
    AccessLog,
    counter "access_log_cache_total",
    Count,
    ["source", "status"],
    "Requests by the upstream cache status the log recorded (HIT, MISS, …)."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    ACCESS_LOG_REQUESTS_TOTAL,
    ACCESS_LOG_BYTES_TOTAL,
    ACCESS_LOG_LINES_UNPARSED_TOTAL,
    ACCESS_LOG_CACHE_TOTAL,
];
