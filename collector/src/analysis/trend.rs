//! Robust linear trend of a series: the Theil–Sen slope with Sen's (1968)
//! rank-based confidence interval and the Mann–Kendall test of whether the
//! series goes anywhere at all.
//!
//! Both are O(n²), so long series are first reduced to bucket medians: at
//! most [`MAX_SLOPE_POINTS`] points for the slope itself and at most
//! [`MAX_TEST_BLOCKS`] blocks for the test and the interval. Coarse blocks
//! matter for honesty as much as for speed: neighbouring samples of real
//! metrics are autocorrelated, and Mann–Kendall on raw samples would call a
//! flat but wandering series a significant trend.

use statrs::distribution::{ContinuousCDF, Normal};

use super::DAY_MS;
use super::robust::{clean, downsample, median_keys, median_owned, order_key, order_statistics};

/// At most this many bucket medians enter the Theil–Sen slope (≈5k pairs,
/// a few tens of µs; the slope's error is dominated by the data's noise
/// long before the bucketing matters).
pub const MAX_SLOPE_POINTS: usize = 100;
/// At most this many block medians enter Mann–Kendall and the slope's
/// confidence interval.
pub const MAX_TEST_BLOCKS: usize = 60;
/// Fewer points than this give no trend at all.
pub const MIN_TREND_POINTS: usize = 8;
/// A trend is significant when Mann–Kendall's two-sided p-value is below
/// this.
pub const SIGNIFICANCE: f64 = 0.05;
/// Coverage of the slope's confidence interval.
pub const SLOPE_CONFIDENCE: f64 = 0.90;

/// Theil–Sen line through `points` (unix ms, value): `(slope per ms,
/// intercept)`, where the intercept is the fitted value **at the time of
/// the first point** (not at the unix epoch, which would lose precision),
/// so the line is `intercept + slope × (t − points[0].0)`.
///
/// Non-finite values are ignored; series longer than
/// [`MAX_SLOPE_POINTS`] are reduced to bucket medians for the slope, the
/// intercept is the median over all points. `None` without two distinct
/// timestamps.
pub fn theil_sen(points: &[(i64, f64)]) -> Option<(f64, f64)> {
    let points = clean(points);
    let t0 = points.first()?.0;
    let reduced = downsample(&points, MAX_SLOPE_POINTS);
    let slope = median_keys(&mut pair_slope_keys(&reduced))?;
    let offsets: Vec<f64> = points
        .iter()
        .map(|&(t, v)| v - slope * (t - t0) as f64)
        .collect();
    let intercept = median_owned(offsets)?;
    Some((slope, intercept))
}

/// The Mann–Kendall trend test on `values` in time order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MannKendall {
    /// Σ sign(xⱼ − xᵢ) over all pairs i < j.
    pub s: f64,
    /// Continuity-corrected normal score of `s`.
    pub z: f64,
    /// Two-sided p-value of "no monotonic trend".
    pub p_value: f64,
}

/// Mann–Kendall test with the tie-corrected variance
/// `[n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18` and the normal approximation.
/// Non-finite values are ignored; `None` below 3 values. A constant series
/// has `s = 0`, `z = 0`, `p = 1`.
pub fn mann_kendall(values: &[f64]) -> Option<MannKendall> {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.len() < 3 {
        return None;
    }
    let mut s = 0.0;
    for (i, a) in values.iter().enumerate() {
        for b in &values[i + 1..] {
            s += sign(b - a);
        }
    }
    let variance = mk_variance(&values);
    let z = if variance <= 0.0 || s == 0.0 {
        0.0
    } else {
        (s - s.signum()) / variance.sqrt()
    };
    let p_value = (2.0 * Normal::standard().sf(z.abs())).clamp(0.0, 1.0);
    Some(MannKendall { s, z, p_value })
}

/// A robust linear trend with its uncertainty.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trend {
    /// Theil–Sen slope, in value units per day.
    pub slope_per_day: f64,
    /// Lower bound of the ~90% confidence interval of the slope (Sen 1968,
    /// on block medians), per day.
    pub slope_low_per_day: f64,
    /// Upper bound of that interval, per day.
    pub slope_high_per_day: f64,
    /// The fitted value at the last point.
    pub level_at_last: f64,
    /// Mann–Kendall two-sided p-value on block medians.
    pub p_value: f64,
    /// `p_value < 0.05`.
    pub significant: bool,
    /// Points used (after dropping non-finite values).
    pub samples: usize,
}

/// The trend of `points`, or `None` below [`MIN_TREND_POINTS`] points or
/// without two distinct timestamps.
pub fn trend(points: &[(i64, f64)]) -> Option<Trend> {
    let points = clean(points);
    if points.len() < MIN_TREND_POINTS {
        return None;
    }
    let (slope, intercept) = theil_sen(&points)?;
    let t0 = points.first()?.0;
    let t_last = points.last()?.0;
    let blocks = downsample(&points, MAX_TEST_BLOCKS);
    let block_values: Vec<f64> = blocks.iter().map(|p| p.1).collect();
    let test = mann_kendall(&block_values)?;
    let (low, high) = sen_interval(&blocks, SLOPE_CONFIDENCE).unwrap_or((slope, slope));
    let day = DAY_MS as f64;
    Some(Trend {
        slope_per_day: slope * day,
        slope_low_per_day: low.min(slope) * day,
        slope_high_per_day: high.max(slope) * day,
        level_at_last: intercept + slope * (t_last - t0) as f64,
        p_value: test.p_value,
        significant: test.p_value < SIGNIFICANCE,
        samples: points.len(),
    })
}

/// Slopes (per ms) of every pair with distinct timestamps, as
/// [`order_key`]s (selection on integer keys is markedly faster than on
/// floats). `points` are sorted by time.
fn pair_slope_keys(points: &[(i64, f64)]) -> Vec<i64> {
    let Some(&(t0, _)) = points.first() else {
        return Vec::new();
    };
    let times: Vec<f64> = points.iter().map(|p| (p.0 - t0) as f64).collect();
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let n = points.len();
    let mut keys = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let distinct = times.windows(2).all(|w| w[0] != w[1]);
    for i in 0..n {
        let (ti, vi) = (times[i], values[i]);
        let later = times[i + 1..].iter().zip(&values[i + 1..]);
        if distinct {
            // Exact-size iterator: no per-pair branch, so it vectorises.
            keys.extend(later.map(|(&tj, &vj)| order_key((vj - vi) / (tj - ti))));
        } else {
            keys.extend(
                later
                    .filter(|&(&tj, _)| tj != ti)
                    .map(|(&tj, &vj)| order_key((vj - vi) / (tj - ti))),
            );
        }
    }
    keys
}

/// Sen's distribution-free confidence interval of the Theil–Sen slope
/// (per ms) at `coverage`: the order statistics of the pairwise slopes at
/// `(N ∓ z·√Var(S)) / 2`.
fn sen_interval(points: &[(i64, f64)], coverage: f64) -> Option<(f64, f64)> {
    let slopes = pair_slope_keys(points);
    let count = slopes.len();
    if count == 0 {
        return None;
    }
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let z = Normal::standard().inverse_cdf(0.5 + coverage / 2.0);
    let c = z * mk_variance(&values).max(0.0).sqrt();
    let lower_rank = ((count as f64 - c) / 2.0).round();
    let upper_rank = ((count as f64 + c) / 2.0).round();
    let lower = (lower_rank as i64 - 1).clamp(0, count as i64 - 1) as usize;
    let upper = (upper_rank as i64).clamp(0, count as i64 - 1) as usize;
    let [low, high] = order_statistics(slopes, [lower, upper])?;
    Some((low, high))
}

/// Variance of the Mann–Kendall S with the correction for tied values.
fn mk_variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut run = 1.0_f64;
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            run += 1.0;
        } else {
            ties += run * (run - 1.0) * (2.0 * run + 5.0);
            run = 1.0;
        }
    }
    ties += run * (run - 1.0) * (2.0 * run + 5.0);
    (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::HOUR_MS;

    fn line(n: usize, step_ms: i64, slope_per_ms: f64, at_zero: f64) -> Vec<(i64, f64)> {
        (0..n)
            .map(|i| {
                let t = 1_700_000_000_000 + i as i64 * step_ms;
                (t, at_zero + slope_per_ms * (i as i64 * step_ms) as f64)
            })
            .collect()
    }

    #[test]
    fn theil_sen_recovers_an_exact_line_with_intercept_at_first_point() {
        let points = line(50, HOUR_MS, 2.0 / HOUR_MS as f64, 10.0);
        let (slope, intercept) = theil_sen(&points).expect("fit");
        assert!((slope * HOUR_MS as f64 - 2.0).abs() < 1e-9);
        assert!((intercept - 10.0).abs() < 1e-9);
    }

    #[test]
    fn theil_sen_ignores_outliers() {
        let mut points = line(40, HOUR_MS, 1.0 / HOUR_MS as f64, 0.0);
        points[5].1 = 1e6;
        points[30].1 = -1e6;
        let (slope, _) = theil_sen(&points).expect("fit");
        assert!((slope * HOUR_MS as f64 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn theil_sen_needs_two_distinct_timestamps() {
        assert_eq!(theil_sen(&[]), None);
        assert_eq!(theil_sen(&[(5, 1.0)]), None);
        assert_eq!(theil_sen(&[(5, 1.0), (5, 2.0)]), None);
    }

    #[test]
    fn theil_sen_downsamples_long_series_and_keeps_the_slope() {
        let points = line(10_000, 60_000, 3.0 / DAY_MS as f64, 5.0);
        let (slope, intercept) = theil_sen(&points).expect("fit");
        assert!((slope * DAY_MS as f64 - 3.0).abs() < 1e-6);
        assert!((intercept - 5.0).abs() < 1e-3);
    }

    #[test]
    fn mann_kendall_on_increasing_values_is_significant() {
        let values: Vec<f64> = (0..20).map(f64::from).collect();
        let test = mann_kendall(&values).expect("test");
        assert_eq!(test.s, 190.0);
        assert!(test.z > 5.0);
        assert!(test.p_value < 1e-6);
    }

    #[test]
    fn mann_kendall_corrects_the_variance_for_ties() {
        // n = 6 with one pair of ties: Var = (6·5·17 − 2·1·9) / 18 = 27.333…
        let values = [1.0, 2.0, 2.0, 3.0, 4.0, 5.0];
        let test = mann_kendall(&values).expect("test");
        assert_eq!(test.s, 14.0);
        let expected_z = 13.0 / (492.0_f64 / 18.0).sqrt();
        assert!((test.z - expected_z).abs() < 1e-12);
    }

    #[test]
    fn mann_kendall_of_a_constant_series_finds_nothing() {
        let test = mann_kendall(&[4.0; 10]).expect("test");
        assert_eq!((test.s, test.z, test.p_value), (0.0, 0.0, 1.0));
    }

    #[test]
    fn mann_kendall_needs_three_values() {
        assert_eq!(mann_kendall(&[1.0, 2.0]), None);
        assert_eq!(mann_kendall(&[1.0, f64::NAN, 2.0]), None);
    }

    #[test]
    fn trend_of_a_known_slope_has_it_inside_the_interval() {
        let mut points = line(200, HOUR_MS, 4.0 / DAY_MS as f64, 100.0);
        for (i, point) in points.iter_mut().enumerate() {
            point.1 += if i % 2 == 0 { 1.5 } else { -1.5 };
        }
        let trend = trend(&points).expect("trend");
        assert!((trend.slope_per_day - 4.0).abs() < 0.2, "{trend:?}");
        assert!(trend.slope_low_per_day <= 4.0 && 4.0 <= trend.slope_high_per_day);
        assert!(trend.slope_low_per_day < trend.slope_high_per_day);
        assert!(trend.significant);
        let expected_last = 100.0 + 4.0 * 199.0 / 24.0;
        assert!((trend.level_at_last - expected_last).abs() < 2.0);
        assert_eq!(trend.samples, 200);
    }

    #[test]
    fn trend_needs_eight_points() {
        let points = line(7, HOUR_MS, 1.0, 0.0);
        assert_eq!(trend(&points), None);
        assert!(trend(&line(8, HOUR_MS, 1.0, 0.0)).is_some());
    }

    #[test]
    fn alternating_values_are_not_a_trend() {
        let points: Vec<(i64, f64)> = (0..100)
            .map(|i| (i * HOUR_MS, if i % 2 == 0 { 10.0 } else { 12.0 }))
            .collect();
        let trend = trend(&points).expect("trend");
        assert!(!trend.significant, "{trend:?}");
        assert!(trend.slope_per_day.abs() < 0.1);
    }
}
