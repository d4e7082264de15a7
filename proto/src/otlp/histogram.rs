//! The latency histogram every otlp route uses: the shared log-linear
//! bounds of [`crate::latency`] in milliseconds (ratio 2^(1/4),
//! a quantile at a bucket's geometric midpoint within ~9%), counts as
//! deltas per interval, so histograms from any agent and any interval merge
//! exactly by adding counts.

use crate::v1;

pub use crate::latency::BOUNDS_MS;
use crate::latency::{self, BUCKETS};
use crate::signals::Signal;

use super::attributes::RequestKey;

/// Counts per bucket, with count and sum.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    pub counts: [u64; BUCKETS],
    pub count: u64,
    pub sum: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            counts: [0; BUCKETS],
            count: 0,
            sum: 0.0,
        }
    }
}

impl LatencyHistogram {
    /// The bucket of `ms`: the first bound it does not exceed.
    pub fn bucket(ms: f64) -> usize {
        latency::bucket(ms)
    }

    /// Adds one value.
    pub fn record(&mut self, ms: f64) {
        self.add(Self::bucket(ms), 1, ms);
    }

    /// Adds `count` values summing to `sum` into bucket `index`.
    pub fn add(&mut self, index: usize, count: u64, sum: f64) {
        if let Some(slot) = self.counts.get_mut(index) {
            *slot += count;
            self.count += count;
            self.sum += sum;
        }
    }

    /// As the wire's `Histogram` of `signal` over `[start_ms, now_ms]`.
    pub fn to_proto(
        &self,
        signal: &Signal,
        labels: &[(&str, &str)],
        start_ms: i64,
        now_ms: i64,
    ) -> v1::Histogram {
        v1::Histogram {
            name: signal.name.into(),
            labels: labels.iter().map(|(k, v)| v1::Label::new(*k, *v)).collect(),
            start_ms,
            timestamp_ms: now_ms,
            bounds: BOUNDS_MS.to_vec(),
            bucket_counts: self.counts.to_vec(),
            count: self.count,
            sum: self.sum,
        }
    }
}

/// Takes every route's histogram out of `routes` as `HttpRoute` records
/// from `origin` over `[start_ms, now_ms]`.
pub fn drain_routes(
    routes: &mut std::collections::BTreeMap<RequestKey, LatencyHistogram>,
    origin: &str,
    start_ms: i64,
    now_ms: i64,
) -> Vec<v1::HttpRoute> {
    std::mem::take(routes)
        .into_iter()
        .map(|(key, histogram)| v1::HttpRoute {
            timestamp_ms: now_ms,
            start_ms,
            origin: origin.into(),
            latency: Some(histogram.to_proto(
                &crate::signals::http::HTTP_ROUTE_LATENCY_MS,
                &[("route", &key.route)],
                start_ms,
                now_ms,
            )),
            method: key.method,
            route: key.route,
            status_class: key.status_class,
            response_bytes: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_in_the_first_bucket_whose_bound_they_do_not_exceed() {
        assert_eq!(LatencyHistogram::bucket(0.0), 0);
        assert_eq!(LatencyHistogram::bucket(108.0), 27);
        assert_eq!(LatencyHistogram::bucket(120.0), 28);
        assert_eq!(LatencyHistogram::bucket(65_500.0), 64);
        assert_eq!(LatencyHistogram::bucket(65_500.1), 65);
    }

    #[test]
    fn the_proto_has_one_more_bucket_than_bounds() {
        let mut histogram = LatencyHistogram::default();
        histogram.record(120.0);
        histogram.record(20_000.0);
        let proto = histogram.to_proto(
            &crate::signals::http::HTTP_ROUTE_LATENCY_MS,
            &[("route", "/a")],
            0,
            1,
        );
        assert_eq!(proto.bucket_counts.len(), proto.bounds.len() + 1);
        assert_eq!(proto.bounds, BOUNDS_MS.to_vec());
        assert_eq!(proto.bucket_counts[28], 1);
        assert_eq!(proto.bucket_counts[58], 1);
        assert_eq!(proto.count, 2);
        assert_eq!(proto.sum, 20_120.0);
    }
}
