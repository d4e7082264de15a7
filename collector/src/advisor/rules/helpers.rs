//! What several rules compute the same way, defined once: the
//! time-weighted mean of a gauge (with the one gap policy every rule
//! follows), label maps for evidence, and hit ratios over the recent window
//! from a pair of counters.

use std::collections::BTreeMap;

use crate::advisor::{Context, Series};
use crate::analysis::{HOUR_MS, MINUTE_MS};

/// The longest time one point may stand for in [`weighted_mean`]: an hour,
/// the spacing of the coarsest points the store keeps (its hourly rollup).
/// A longer gap between two points is missing data (an agent or collector
/// down), not the earlier value holding: capping it keeps an outage from
/// stretching the last value seen before it over hours or days.
pub const MAX_GAP_MS: i64 = HOUR_MS;

/// The mean of a gauge weighted by the time each point stands for: the gap
/// to the next point, at most [`MAX_GAP_MS`]. The last point stands for as
/// long as the one before it (the series is sampled regularly; its next
/// gap is not known yet), a lone point for a minute. Points that are not
/// finite are left out. `None` without a finite point.
pub fn weighted_mean(points: &[(i64, f64)]) -> Option<f64> {
    let gap = |i: usize| -> f64 {
        let d = if i + 1 < points.len() {
            points[i + 1].0 - points[i].0
        } else if i > 0 {
            points[i].0 - points[i - 1].0
        } else {
            MINUTE_MS
        };
        d.clamp(0, MAX_GAP_MS) as f64
    };
    let (mut sum, mut weight) = (0.0, 0.0);
    for (i, &(_, v)) in points.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        let w = gap(i);
        sum += v * w;
        weight += w;
    }
    (weight > 0.0).then(|| sum / weight)
}

/// A label map from `(name, value)` pairs, for evidence series.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A hit ratio over the recent window, from a hits and a misses counter.
#[derive(Debug, Clone, Copy)]
pub struct HitRatio<'a> {
    pub hits: &'a Series,
    pub misses: &'a Series,
    /// Hits over the recent window.
    pub hit_count: f64,
    /// Misses over the recent window.
    pub miss_count: f64,
    /// `hit_count / (hit_count + miss_count)`.
    pub ratio: f64,
}

/// Every `hits` counter with its `misses` counter of the same `agent` and
/// `label`, both usable, and at least `min_total` hits and misses together
/// over the recent window: their hit ratio.
pub fn hit_ratios<'a>(
    ctx: &Context<'a>,
    hits: &'a str,
    misses: &str,
    label: &str,
    min_total: f64,
) -> Vec<HitRatio<'a>> {
    let snapshot: &'a crate::advisor::Snapshot = ctx.snapshot;
    snapshot
        .named(hits)
        .filter_map(|hit_series| {
            let (agent, value) = (hit_series.label("agent"), hit_series.label(label));
            let miss_series = snapshot.find(misses, &[("agent", agent), (label, value)])?;
            if !ctx.usable(hit_series) || !ctx.usable(miss_series) {
                return None;
            }
            let hit_count = hit_series.increase_since(ctx.since());
            let miss_count = miss_series.increase_since(ctx.since());
            let total = hit_count + miss_count;
            (total >= min_total).then(|| HitRatio {
                hits: hit_series,
                misses: miss_series,
                hit_count,
                miss_count,
                ratio: hit_count / total,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_point_weighs_the_gap_to_the_next_and_the_last_the_gap_before() {
        // 10 for one minute, then 40 for three minutes (the last point
        // stands for as long as the one before it).
        let points = [(0, 10.0), (MINUTE_MS, 40.0), (2 * MINUTE_MS, 40.0)];
        assert_eq!(weighted_mean(&points), Some(30.0));
        assert_eq!(weighted_mean(&[(5, 7.0)]), Some(7.0));
        assert_eq!(weighted_mean(&[]), None);
        assert_eq!(weighted_mean(&[(0, f64::NAN)]), None);
    }

    #[test]
    fn a_gap_longer_than_an_hour_counts_as_an_hour() {
        // A day-long outage after the 100: it weighs one hour, not 24.
        let points = [(0, 100.0), (24 * HOUR_MS, 0.0), (25 * HOUR_MS, 0.0)];
        let mean = weighted_mean(&points).expect("mean");
        assert!((mean - 100.0 / 3.0).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn labels_become_a_sorted_map() {
        let map = labels(&[("route", "/cart"), ("agent", "a")]);
        assert_eq!(
            map.into_iter().collect::<Vec<_>>(),
            vec![
                ("agent".to_owned(), "a".to_owned()),
                ("route".to_owned(), "/cart".to_owned())
            ]
        );
    }
}
