//! A latency histogram as a chart line: the quantile per step of the
//! requests that step saw, from the cumulative `<name>_bucket{le}` counters
//! (summed across the series that share a bound, so agents and origins
//! merge exactly).

use std::collections::BTreeMap;

use crate::advisor::snapshot::quantile_of_buckets;
use crate::store::query::SeriesPoints;

/// The `q` quantile per step of the histogram whose bucket counters are
/// `buckets` (each carrying an `le` label), read at aligned steps. A step
/// with no new requests, or a counter that went down (a reset), gives no
/// point.
pub fn quantile_per_step(buckets: &[SeriesPoints], q: f64) -> Vec<(i64, f64)> {
    // step → le (as ordered bits) → increase since the previous step.
    let mut steps: BTreeMap<i64, BTreeMap<u64, f64>> = BTreeMap::new();
    let mut reset: BTreeMap<i64, bool> = BTreeMap::new();
    for series in buckets {
        let Some(bound) = series.labels.get("le").and_then(|le| parse_le(le)) else {
            continue;
        };
        for pair in series.points.windows(2) {
            let [(_, before), (at, after)] = [pair[0], pair[1]];
            let increase = after - before;
            if increase < 0.0 {
                reset.insert(at, true);
                continue;
            }
            *steps
                .entry(at)
                .or_default()
                .entry(ordered(bound))
                .or_insert(0.0) += increase;
        }
    }
    steps
        .into_iter()
        .filter(|(at, _)| !reset.contains_key(at))
        .filter_map(|(at, by_bound)| {
            let cumulative: Vec<(f64, f64)> = by_bound
                .into_iter()
                .map(|(bits, count)| (from_ordered(bits), count))
                .collect();
            let (value, total) = quantile_of_buckets(&cumulative, q)?;
            (total > 0.0).then_some((at, value))
        })
        .collect()
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "inf" | "Inf" => Some(f64::INFINITY),
        other => other.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

/// Non-negative floats keep their order as integers of their bits.
fn ordered(bound: f64) -> u64 {
    bound.max(0.0).to_bits()
}

fn from_ordered(bits: u64) -> f64 {
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Kind;

    fn bucket(le: &str, agent: &str, points: &[(i64, f64)]) -> SeriesPoints {
        SeriesPoints {
            name: "http_route_latency_ms_bucket".into(),
            labels: [
                ("le".to_owned(), le.to_owned()),
                ("agent".to_owned(), agent.to_owned()),
            ]
            .into_iter()
            .collect(),
            kind: Kind::Counter,
            points: points.to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn the_median_of_one_step_lies_in_the_bucket_holding_half_the_requests() {
        // Step 2: 10 requests ≤ 100 ms, 10 more ≤ 200 ms, none slower.
        let buckets = [
            bucket("100", "a", &[(1, 0.0), (2, 10.0)]),
            bucket("200", "a", &[(1, 0.0), (2, 20.0)]),
            bucket("+Inf", "a", &[(1, 0.0), (2, 20.0)]),
        ];
        let line = quantile_per_step(&buckets, 0.5);
        assert_eq!(line.len(), 1);
        assert_eq!(line[0].0, 2);
        assert!((line[0].1 - 100.0).abs() < 1e-9, "{line:?}");
        let p95 = quantile_per_step(&buckets, 0.95);
        assert!(p95[0].1 > 100.0 && p95[0].1 <= 200.0, "{p95:?}");
    }

    #[test]
    fn agents_sharing_a_bound_merge_and_idle_steps_and_resets_give_no_point() {
        let buckets = [
            // Agent a: 4 fast requests in step 2; nothing in step 3; reset in step 4.
            bucket("100", "a", &[(1, 0.0), (2, 4.0), (3, 4.0), (4, 1.0)]),
            bucket("+Inf", "a", &[(1, 0.0), (2, 4.0), (3, 4.0), (4, 1.0)]),
            // Agent b: 4 slow requests in step 2.
            bucket("100", "b", &[(1, 0.0), (2, 0.0), (3, 0.0), (4, 0.0)]),
            bucket("+Inf", "b", &[(1, 0.0), (2, 4.0), (3, 4.0), (4, 4.0)]),
        ];
        let line = quantile_per_step(&buckets, 0.5);
        assert_eq!(line.len(), 1, "{line:?}");
        assert_eq!(line[0].0, 2);
        assert!(
            (line[0].1 - 100.0).abs() < 1e-9,
            "half of 8 are ≤ 100 ms: {line:?}"
        );
    }
}
