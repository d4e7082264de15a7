//! Constructors of `headroom.v1` samples, shared by every producer of
//! batches (the agent's sources, the collector's OTLP receiver).

use crate::v1;

/// A gauge sample: a value that goes up and down.
pub fn gauge(name: &str, labels: &[(&str, &str)], now_ms: i64, value: f64) -> v1::Sample {
    sample(name, labels, v1::MetricKind::Gauge, now_ms, value)
}

/// A counter sample: a cumulative total since the source's reset.
pub fn counter(name: &str, labels: &[(&str, &str)], now_ms: i64, value: f64) -> v1::Sample {
    sample(name, labels, v1::MetricKind::Counter, now_ms, value)
}

/// A sample of `kind`.
pub fn sample(
    name: &str,
    labels: &[(&str, &str)],
    kind: v1::MetricKind,
    now_ms: i64,
    value: f64,
) -> v1::Sample {
    v1::Sample {
        name: name.into(),
        labels: labels.iter().map(|(k, v)| v1::Label::new(*k, *v)).collect(),
        kind: kind as i32,
        timestamp_ms: now_ms,
        value,
    }
}
