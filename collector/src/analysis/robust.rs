//! Robust building blocks shared by the analysis: input cleaning, medians,
//! MAD-based spread and bucket-median downsampling.

use std::borrow::Cow;

/// Scale that turns a median absolute deviation into a standard deviation
/// for normally distributed data.
pub(crate) const MAD_TO_SD: f64 = 1.4826;

/// `points` without non-finite values, sorted by time (borrowed when the
/// input already is both).
pub(crate) fn clean(points: &[(i64, f64)]) -> Cow<'_, [(i64, f64)]> {
    let finite = points.iter().all(|p| p.1.is_finite());
    let sorted = points.is_sorted_by_key(|p| p.0);
    if finite && sorted {
        return Cow::Borrowed(points);
    }
    let mut owned: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    owned.sort_by_key(|p| p.0);
    Cow::Owned(owned)
}

/// Slices up to this long are medianed by sorting keys on the stack.
const SMALL_MEDIAN: usize = 64;

/// The median of `values`, or `None` when empty. (Takes `&mut` so that
/// callers can hand over scratch buffers; the values are left as they
/// are.)
pub(crate) fn median_mut(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    if n > SMALL_MEDIAN {
        let mut keys: Vec<i64> = values.iter().map(|&v| order_key(v)).collect();
        return median_keys(&mut keys);
    }
    let mut buffer = [0i64; SMALL_MEDIAN];
    let keys = &mut buffer[..n];
    for (key, &value) in keys.iter_mut().zip(values.iter()) {
        *key = order_key(value);
    }
    keys.sort_unstable();
    Some(middle_value(keys[(n - 1) / 2], keys[n / 2], n))
}

/// The median of a large owned `values`: selection on integer keys with
/// the same total order, markedly faster than comparing floats.
pub(crate) fn median_owned(values: Vec<f64>) -> Option<f64> {
    let mut keys: Vec<i64> = values.into_iter().map(order_key).collect();
    median_keys(&mut keys)
}

/// The median of the values behind [`order_key`]s `keys` (reordered in
/// place), or `None` when empty.
pub(crate) fn median_keys(keys: &mut [i64]) -> Option<f64> {
    let n = keys.len();
    if n == 0 {
        return None;
    }
    let (lower, upper) = middle_keys(keys);
    Some(middle_value(lower, upper, n))
}

/// The median of `n` values whose middle keys (ranks ⌊(n−1)/2⌋ and ⌊n/2⌋)
/// are `lower` and `upper`.
fn middle_value(lower: i64, upper: i64, n: usize) -> f64 {
    let upper = from_order_key(upper);
    if n % 2 == 1 {
        upper
    } else {
        (from_order_key(lower) + upper) / 2.0
    }
}

/// The keys of ranks ⌊(n−1)/2⌋ and ⌊n/2⌋ of non-empty `keys`.
fn middle_keys(keys: &mut [i64]) -> (i64, i64) {
    let n = keys.len();
    let (lo_rank, hi_rank) = ((n - 1) / 2, n / 2);
    let (low, upper, _) = keys.select_nth_unstable(hi_rank);
    let upper = *upper;
    let lower = if lo_rank == hi_rank {
        upper
    } else {
        low.iter().copied().max().unwrap_or(upper)
    };
    (lower, upper)
}

/// `f64` to `i64` such that integer order is `f64::total_cmp` order (the
/// transform `total_cmp` itself uses).
pub(crate) fn order_key(value: f64) -> i64 {
    let bits = value.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// The inverse of [`order_key`].
fn from_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ (((key >> 63) as u64) >> 1) as i64) as u64)
}

/// The median of `values`, or `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    median_mut(&mut values.to_vec())
}

/// The `k`-th smallest values (0-based) behind the [`order_key`]s `keys`
/// for each `k` in `ranks`; `None` when a rank is out of range.
pub(crate) fn order_statistics<const N: usize>(
    mut keys: Vec<i64>,
    ranks: [usize; N],
) -> Option<[f64; N]> {
    let mut out = [0.0; N];
    for (slot, k) in out.iter_mut().zip(ranks) {
        if k >= keys.len() {
            return None;
        }
        let (_, key, _) = keys.select_nth_unstable(k);
        *slot = from_order_key(*key);
    }
    Some(out)
}

/// Robust standard deviation of `residuals` around zero: 1.4826 × the
/// median absolute residual (0 when empty).
pub(crate) fn spread_about_zero(residuals: impl Iterator<Item = f64>) -> f64 {
    let mut abs: Vec<f64> = residuals.map(f64::abs).collect();
    median_mut(&mut abs).map_or(0.0, |m| MAD_TO_SD * m)
}

/// The index range of bucket `bucket` when `n` points are split into
/// `buckets` consecutive buckets of (nearly) equal counts.
pub(crate) fn bucket_range(n: usize, buckets: usize, bucket: usize) -> std::ops::Range<usize> {
    (bucket * n / buckets)..((bucket + 1) * n / buckets)
}

/// At most `max` points: the input itself when it is short enough,
/// otherwise consecutive equal-count buckets, each reduced to
/// (middle time, median value).
pub(crate) fn downsample(points: &[(i64, f64)], max: usize) -> Vec<(i64, f64)> {
    let n = points.len();
    if n <= max || max == 0 {
        return points.to_vec();
    }
    let mut values = Vec::with_capacity(n / max + 1);
    (0..max)
        .filter_map(|bucket| {
            let slice = &points[bucket_range(n, max, bucket)];
            let first = slice.first()?.0;
            let last = slice.last()?.0;
            values.clear();
            values.extend(slice.iter().map(|p| p.1));
            let value = median_mut(&mut values)?;
            Some((first + (last - first) / 2, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_owned_matches_median() {
        let values = vec![3.5, -1.0, 0.0, -0.0, 7.25, -3.0, 2.0, 1e9];
        assert_eq!(median_owned(values.clone()), median(&values));
        assert_eq!(median_owned(values[..7].to_vec()), median(&values[..7]));
        assert_eq!(median_owned(Vec::new()), None);
    }

    #[test]
    fn spread_ignores_a_single_outlier() {
        let sd = spread_about_zero([1.0, -2.0, 1.5, -1.0, 2.0, 1000.0].into_iter());
        assert!(sd > 1.0 && sd < 3.5, "{sd}");
    }

    #[test]
    fn downsample_keeps_short_series_and_buckets_long_ones() {
        let points: Vec<(i64, f64)> = (0..10).map(|i| (i, i as f64)).collect();
        assert_eq!(downsample(&points, 20), points);
        let reduced = downsample(&points, 5);
        assert_eq!(reduced.len(), 5);
        assert_eq!(reduced[0], (0, 0.5));
        assert_eq!(reduced[4], (8, 8.5));
    }

    #[test]
    fn clean_drops_non_finite_values_and_sorts() {
        let points = [(3, 1.0), (1, f64::NAN), (2, 2.0)];
        assert_eq!(clean(&points).into_owned(), vec![(2, 2.0), (3, 1.0)]);
    }
}
