//! HTTP signals: the agent's `http` probes (samples), and the route
//! records (`HttpRoute`) that `access_log` and the OTLP aggregators send
//! and the collector stores as a latency histogram per route.

use super::{Signal, signal};

pub const HTTP_PROBE_DURATION_MS: Signal = signal!(
    Http,
    gauge "http_probe_duration_ms",
    Milliseconds,
    ["target", "phase"],
    "Time the probe spent in each phase that completed (dns, connect, tls, first_byte, total)."
);
pub const HTTP_PROBE_SUCCESS: Signal = signal!(
    Http,
    gauge "http_probe_success",
    Bool,
    ["target"],
    "1 when the probe got a 2xx or 3xx answer, else 0."
);
pub const HTTP_PROBE_STATUS_CODE: Signal = signal!(
    Http,
    gauge "http_probe_status_code",
    StatusCode,
    ["target"],
    "The HTTP status the probe got."
);
pub const HTTP_PROBE_RESPONSE_BYTES: Signal = signal!(
    Http,
    gauge "http_probe_response_bytes",
    Bytes,
    ["target"],
    "Size of the body the probe got."
);
pub const HTTP_PROBE_CACHE_HIT: Signal = signal!(
    Http,
    gauge "http_probe_cache_hit",
    Bool,
    ["target", "header"],
    "1 when the named cache header says a cache served the answer, 0 when it says a miss."
);
pub const HTTP_PROBE_AGE_SECONDS: Signal = signal!(
    Http,
    gauge "http_probe_age_seconds",
    Seconds,
    ["target"],
    "The answer's Age header: how long a cache has held it."
);
pub const HTTP_ROUTE_LATENCY_MS: Signal = signal!(
    Http,
    histogram "http_route_latency_ms",
    Milliseconds,
    ["origin", "method", "route", "status_class"],
    "Request latency per route over the interval, in the shared log-linear buckets (origin access_log, otlp or otlp_metrics)."
);
pub const HTTP_ROUTE_RESPONSE_BYTES: Signal = signal!(
    Http,
    gauge "http_route_response_bytes",
    Bytes,
    ["origin", "method", "route", "status_class"],
    "Bytes the route's responses carried over the interval."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    HTTP_PROBE_DURATION_MS,
    HTTP_PROBE_SUCCESS,
    HTTP_PROBE_STATUS_CODE,
    HTTP_PROBE_RESPONSE_BYTES,
    HTTP_PROBE_CACHE_HIT,
    HTTP_PROBE_AGE_SECONDS,
    HTTP_ROUTE_LATENCY_MS,
    HTTP_ROUTE_RESPONSE_BYTES,
];
