//! Constructors of `headroom.v1` samples, shared by every producer of
//! batches (the agent's sources, the collector's OTLP receiver and demo).
//! A sample is made from its catalog [`Signal`]: the name is the catalog's,
//! and in debug builds its kind and labels are checked against it.

use crate::signals::{Kind, Signal};
use crate::v1;

/// A gauge sample: a value that goes up and down.
pub fn gauge(signal: &Signal, labels: &[(&str, &str)], now_ms: i64, value: f64) -> v1::Sample {
    debug_assert_eq!(signal.kind, Kind::Gauge, "{} is no gauge", signal.name);
    sample(signal, labels, now_ms, value)
}

/// A counter sample: a cumulative total since the source's reset.
pub fn counter(signal: &Signal, labels: &[(&str, &str)], now_ms: i64, value: f64) -> v1::Sample {
    debug_assert_eq!(signal.kind, Kind::Counter, "{} is no counter", signal.name);
    sample(signal, labels, now_ms, value)
}

/// A sample of `signal`, of the signal's kind (a histogram's parts travel
/// as `v1::Histogram`, not as samples).
pub fn sample(signal: &Signal, labels: &[(&str, &str)], now_ms: i64, value: f64) -> v1::Sample {
    debug_assert!(
        labels.iter().all(|(key, _)| signal.has_label(key)),
        "{} carries labels {:?}, the catalog says {:?}",
        signal.name,
        labels.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
        signal.labels
    );
    let kind = match signal.kind {
        Kind::Counter => v1::MetricKind::Counter,
        Kind::Gauge | Kind::Histogram => v1::MetricKind::Gauge,
    };
    v1::Sample {
        name: signal.name.into(),
        labels: labels.iter().map(|(k, v)| v1::Label::new(*k, *v)).collect(),
        kind: kind as i32,
        timestamp_ms: now_ms,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{host, postgres};

    #[test]
    fn a_sample_takes_its_name_and_kind_from_the_catalog() {
        let s = sample(&host::HOST_CPU_SECONDS_TOTAL, &[("mode", "user")], 5, 1.5);
        assert_eq!(s.name, "host_cpu_seconds_total");
        assert_eq!(s.kind, v1::MetricKind::Counter as i32);
        let g = gauge(&postgres::PG_CONNECTIONS_TOTAL, &[], 5, 3.0);
        assert_eq!(g.kind, v1::MetricKind::Gauge as i32);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "carries labels")]
    fn a_label_the_catalog_does_not_list_is_caught_in_debug_builds() {
        gauge(
            &postgres::PG_CONNECTIONS_TOTAL,
            &[("state", "idle")],
            5,
            3.0,
        );
    }
}
