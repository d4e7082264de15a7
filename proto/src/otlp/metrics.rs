//! Pure conversion of OTLP metrics: keeps `http.server.request.duration`
//! (explicit-bucket histograms, by `http.route`, method and status class,
//! re-bucketed into the fixed millisecond bounds of `histogram.rs`) and
//! `http.server.active_requests` (an up-down counter, summed into one
//! gauge); every other metric is only counted (`otlp_metrics_ignored_total`).
//!
//! Cumulative streams are turned into deltas against the stream's previous
//! point (a reset, i.e. a lower count or a new start time, counts from zero).
//! A stream is identified by a 64-bit hash of its metric, resource and point
//! attributes and start time: values of non-allowlisted attributes are
//! hashed, never stored. At most `max_streams` streams are remembered; points
//! of further streams are dropped and counted (`otlp_metric_points_dropped_total`).
//!
//! Re-bucketing puts each source bucket into the fixed bucket holding its
//! upper bound, so a source bucket that straddles a fixed bound is counted
//! in the higher one: the error bound is the wider of the two buckets.
//! Routes from metrics carry `origin = "otlp_metrics"`, so an application
//! sending both traces and metrics is not counted twice.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::v1;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, HistogramDataPoint, metric, number_data_point,
};
use prost::Message;

use super::attributes::{Allowed, OTHER, RequestKey};
use super::histogram::{BOUNDS_MS, LatencyHistogram, drain_routes};
use crate::samples::{counter, gauge};
use crate::signals::otlp::{
    OTLP_HTTP_SERVER_ACTIVE_REQUESTS, OTLP_METRIC_EXPORTS_TOTAL, OTLP_METRIC_POINTS_DROPPED_TOTAL,
    OTLP_METRICS_IGNORED_TOTAL,
};

/// The request duration histogram (semantic conventions).
pub const REQUEST_DURATION: &str = "http.server.request.duration";
/// The in-flight requests up-down counter (semantic conventions).
pub const ACTIVE_REQUESTS: &str = "http.server.active_requests";

/// The last point seen of one cumulative histogram stream.
#[derive(Debug, Clone, Default)]
struct Previous {
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

/// Accumulates OTLP metrics between scrapes.
#[derive(Debug)]
pub struct MetricsAggregator {
    max_streams: usize,
    max_routes: usize,
    histograms: HashMap<u64, Previous>,
    active: HashMap<u64, f64>,
    /// Delta histograms per request key since the last drain.
    routes: BTreeMap<RequestKey, LatencyHistogram>,
    exports: u64,
    ignored: u64,
    dropped: u64,
}

fn stream_id(metric: &str, resource: &[u8], point: &[KeyValue], start: u64) -> u64 {
    let mut hasher = DefaultHasher::new();
    metric.hash(&mut hasher);
    resource.hash(&mut hasher);
    for attribute in point {
        attribute.encode_to_vec().hash(&mut hasher);
    }
    start.hash(&mut hasher);
    hasher.finish()
}

/// Milliseconds per unit of a duration metric (`s` by the conventions).
fn ms_per_unit(unit: &str) -> Option<f64> {
    match unit {
        "s" => Some(1000.0),
        "ms" => Some(1.0),
        "us" => Some(0.001),
        _ => None,
    }
}

impl MetricsAggregator {
    pub fn new(max_streams: usize, max_routes: usize) -> Self {
        Self {
            max_streams,
            max_routes,
            histograms: HashMap::new(),
            active: HashMap::new(),
            routes: BTreeMap::new(),
            exports: 0,
            ignored: 0,
            dropped: 0,
        }
    }

    /// Takes in one export.
    /// Exports received since start.
    pub fn exports(&self) -> u64 {
        self.exports
    }

    pub fn ingest(&mut self, request: &ExportMetricsServiceRequest) {
        self.exports += 1;
        for resource in &request.resource_metrics {
            let resource_id = resource
                .resource
                .as_ref()
                .map(Message::encode_to_vec)
                .unwrap_or_default();
            for metric in resource.scope_metrics.iter().flat_map(|s| &s.metrics) {
                match (metric.name.as_str(), &metric.data) {
                    (REQUEST_DURATION, Some(metric::Data::Histogram(histogram))) => {
                        let Some(scale) = ms_per_unit(&metric.unit) else {
                            self.ignored += 1;
                            continue;
                        };
                        let cumulative = histogram.aggregation_temporality
                            == AggregationTemporality::Cumulative as i32;
                        for point in &histogram.data_points {
                            let id = stream_id(
                                &metric.name,
                                &resource_id,
                                &point.attributes,
                                point.start_time_unix_nano,
                            );
                            self.histogram_point(id, point, cumulative, scale);
                        }
                    }
                    (ACTIVE_REQUESTS, Some(metric::Data::Sum(sum))) => {
                        for point in &sum.data_points {
                            let id = stream_id(&metric.name, &resource_id, &point.attributes, 0);
                            let value = match point.value {
                                Some(number_data_point::Value::AsInt(value)) => value as f64,
                                Some(number_data_point::Value::AsDouble(value)) => value,
                                None => continue,
                            };
                            if self.active.contains_key(&id) || self.active.len() < self.max_streams
                            {
                                self.active.insert(id, value);
                            } else {
                                self.dropped += 1;
                            }
                        }
                    }
                    _ => self.ignored += 1,
                }
            }
        }
    }

    fn histogram_point(
        &mut self,
        id: u64,
        point: &HistogramDataPoint,
        cumulative: bool,
        scale: f64,
    ) {
        let Some(key) = RequestKey::from_allowed(&Allowed::read(&point.attributes)) else {
            self.ignored += 1;
            return;
        };
        let sum = point.sum.unwrap_or_default();
        let mut delta_counts = point.bucket_counts.clone();
        let mut delta_sum = sum;
        if cumulative {
            if !self.histograms.contains_key(&id) && self.histograms.len() >= self.max_streams {
                self.dropped += 1;
                return;
            }
            let previous = self.histograms.insert(
                id,
                Previous {
                    counts: point.bucket_counts.clone(),
                    count: point.count,
                    sum,
                },
            );
            if let Some(previous) = previous
                .filter(|p| p.count <= point.count && p.counts.len() == point.bucket_counts.len())
            {
                for (delta, before) in delta_counts.iter_mut().zip(&previous.counts) {
                    *delta = delta.saturating_sub(*before);
                }
                delta_sum -= previous.sum;
            }
        }
        if delta_counts.iter().all(|count| *count == 0) {
            return;
        }
        let known = self.routes.keys().any(|k| k.route == key.route)
            || self
                .routes
                .keys()
                .map(|k| &k.route)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                < self.max_routes;
        let key = if known {
            key
        } else {
            RequestKey {
                route: OTHER.into(),
                ..key
            }
        };
        let histogram = self.routes.entry(key).or_default();
        let total: u64 = delta_counts.iter().sum();
        for (index, count) in delta_counts.iter().enumerate() {
            let upper = point
                .explicit_bounds
                .get(index)
                .map_or(f64::INFINITY, |bound| bound * scale);
            let bucket = LatencyHistogram::bucket(upper);
            // The sum is shared out in proportion to the counts.
            let share = if total == 0 {
                0.0
            } else {
                delta_sum * scale * *count as f64 / total as f64
            };
            histogram.add(bucket.min(BOUNDS_MS.len()), *count, share);
        }
    }

    /// Everything since the last drain: route histograms over
    /// `[start_ms, now_ms]`, the active requests gauge and the counters.
    pub fn drain(&mut self, start_ms: i64, now_ms: i64) -> v1::Batch {
        let mut batch = v1::Batch {
            http_routes: drain_routes(&mut self.routes, "otlp_metrics", start_ms, now_ms),
            ..v1::Batch::default()
        };
        if !self.active.is_empty() {
            batch.samples.push(gauge(
                &OTLP_HTTP_SERVER_ACTIVE_REQUESTS,
                &[],
                now_ms,
                self.active.values().sum(),
            ));
        }
        for (signal, value) in [
            (&OTLP_METRIC_EXPORTS_TOTAL, self.exports),
            (&OTLP_METRICS_IGNORED_TOTAL, self.ignored),
            (&OTLP_METRIC_POINTS_DROPPED_TOTAL, self.dropped),
        ] {
            batch
                .samples
                .push(counter(signal, &[], now_ms, value as f64));
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    };

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// Seconds, semantic-convention bounds; `counts` per bucket.
    fn duration(counts: Vec<u64>, sum: f64, temporality: AggregationTemporality) -> Metric {
        let bounds = vec![0.05, 0.1, 0.25];
        Metric {
            name: REQUEST_DURATION.into(),
            unit: "s".into(),
            data: Some(metric::Data::Histogram(Histogram {
                aggregation_temporality: temporality as i32,
                data_points: vec![HistogramDataPoint {
                    attributes: vec![
                        kv("http.route", any_value::Value::StringValue("/a".into())),
                        kv(
                            "http.request.method",
                            any_value::Value::StringValue("GET".into()),
                        ),
                        kv("http.response.status_code", any_value::Value::IntValue(200)),
                        kv(
                            "url.full",
                            any_value::Value::StringValue("/a?token=SECRET".into()),
                        ),
                    ],
                    count: counts.iter().sum(),
                    sum: Some(sum),
                    bucket_counts: counts,
                    explicit_bounds: bounds,
                    start_time_unix_nano: 1,
                    ..Default::default()
                }],
            })),
            ..Default::default()
        }
    }

    #[test]
    fn cumulative_histograms_become_deltas_in_fixed_buckets() {
        let mut aggregator = MetricsAggregator::new(10, 10);
        let cumulative = AggregationTemporality::Cumulative;
        aggregator.ingest(&request(vec![duration(vec![0, 0, 2, 0], 0.24, cumulative)]));
        let first = aggregator.drain(0, 1_000);
        aggregator.ingest(&request(vec![duration(vec![0, 1, 5, 0], 0.9, cumulative)]));
        let second = aggregator.drain(1_000, 2_000);
        let latency = |batch: &v1::Batch| batch.http_routes[0].latency.clone().unwrap_or_default();
        assert_eq!(latency(&first).count, 2);
        // (0.1, 0.25] s lands in the bucket holding its upper bound,
        // (215, 256] ms.
        assert_eq!(latency(&first).bucket_counts[32], 2);
        assert_eq!(latency(&second).count, 4);
        assert_eq!(latency(&second).bucket_counts[27], 1);
        assert_eq!(latency(&second).bucket_counts[32], 3);
        assert!((latency(&second).sum - 660.0).abs() < 1e-6);
        assert_eq!(second.http_routes[0].route, "/a");
        assert_eq!(second.http_routes[0].status_class, "2xx");
        assert!(!format!("{second:?}").contains("SECRET"));
    }

    #[test]
    fn delta_histograms_are_added_as_they_come() {
        let mut aggregator = MetricsAggregator::new(10, 10);
        let delta = AggregationTemporality::Delta;
        aggregator.ingest(&request(vec![duration(vec![1, 0, 0, 0], 0.01, delta)]));
        aggregator.ingest(&request(vec![duration(vec![1, 0, 0, 1], 1.01, delta)]));
        let batch = aggregator.drain(0, 1_000);
        let latency = batch.http_routes[0].latency.clone().unwrap_or_default();
        assert_eq!(latency.count, 3);
        assert_eq!(latency.bucket_counts[23], 2);
        assert_eq!(latency.bucket_counts[65], 1);
    }

    #[test]
    fn active_requests_are_kept_and_other_metrics_only_counted() {
        let mut aggregator = MetricsAggregator::new(10, 10);
        let active = Metric {
            name: ACTIVE_REQUESTS.into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    value: Some(number_data_point::Value::AsInt(3)),
                    ..Default::default()
                }],
                ..Default::default()
            })),
            ..Default::default()
        };
        let other = Metric {
            name: "process.cpu.time".into(),
            ..Default::default()
        };
        aggregator.ingest(&request(vec![active, other]));
        let batch = aggregator.drain(0, 1_000);
        let value = |name: &str| {
            batch
                .samples
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.value)
        };
        assert_eq!(value("otlp_http_server_active_requests"), Some(3.0));
        assert_eq!(value("otlp_metrics_ignored_total"), Some(1.0));
        assert_eq!(value("otlp_metric_exports_total"), Some(1.0));
    }

    #[test]
    fn streams_beyond_the_cap_are_dropped_and_counted() {
        let mut aggregator = MetricsAggregator::new(1, 10);
        let cumulative = AggregationTemporality::Cumulative;
        let mut second = duration(vec![1, 0, 0, 0], 0.01, cumulative);
        if let Some(metric::Data::Histogram(histogram)) = &mut second.data {
            histogram.data_points[0].start_time_unix_nano = 2;
        }
        aggregator.ingest(&request(vec![
            duration(vec![1, 0, 0, 0], 0.01, cumulative),
            second,
        ]));
        let batch = aggregator.drain(0, 1_000);
        let dropped = batch
            .samples
            .iter()
            .find(|s| s.name == "otlp_metric_points_dropped_total")
            .map(|s| s.value);
        assert_eq!(dropped, Some(1.0));
    }
}
