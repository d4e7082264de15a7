//! Level shifts (a deploy, a migration, a new customer): binary
//! segmentation of the (deseasonalised) series with a robust rank
//! statistic to place each candidate split and strict tests to accept it.
//!
//! The series is reduced to at most [`MAX_POINTS`] bucket medians, which
//! also blunts single-sample outliers. Phase 1 proposes candidates by
//! permissive binary segmentation: a segment is split where the
//! standardised Pettitt statistic of its residuals around its Theil–Sen
//! line peaks, when that peak reaches [`CANDIDATE_SCORE`]. Phase 2 tests
//! each candidate against the segments up to its neighbours and removes the
//! weakest failure until all remaining candidates pass. A candidate passes
//! only when
//! - both sides hold at least max(10 points, 5% of the points), so a spike
//!   of a few hours can never be a segment of its own;
//! - the Theil–Sen lines fitted to each side, evaluated at the boundary,
//!   jump by at least [`MIN_SHIFT_SDS`] robust SDs of the points' residuals
//!   around those lines (a steady ramp has two lines that meet, so it is
//!   never cut into steps), and the segments' medians move the same way by
//!   as much;
//! - the shift persists: each half of each side stays on its side of the
//!   midpoint between the two medians.
//!
//! The accepted split is then placed on the original points, where the
//! fewest points fall on the wrong side of the midpoint.

use std::cell::RefCell;
use std::collections::HashMap;

use super::robust::{bucket_range, clean, downsample, median, spread_about_zero};
use super::trend::theil_sen;

/// At most this many bucket medians enter the segmentation.
pub const MAX_POINTS: usize = 240;
/// A segment has at least this many points …
pub const MIN_SEGMENT_POINTS: usize = 10;
/// … and at least this share of all points.
pub const MIN_SEGMENT_SHARE: f64 = 0.05;
/// Phase 1 proposes a split where the standardised Pettitt statistic on a
/// segment's detrended values reaches this.
pub const CANDIDATE_SCORE: f64 = 3.0;
/// A shift is at least this many robust SDs of the within-segment residuals.
pub const MIN_SHIFT_SDS: f64 = 4.0;
/// The noise taken for noiseless data, relative to the level.
const NOISE_FLOOR: f64 = 1e-9;

/// A lasting change of level.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Changepoint {
    /// Time of the first point at the new level.
    pub t_ms: i64,
    /// Median of the segment before.
    pub before: f64,
    /// Median of the segment after (up to the next changepoint).
    pub after: f64,
}

/// The level shifts of `points`, in time order.
pub fn detect(points: &[(i64, f64)]) -> Vec<Changepoint> {
    let points = clean(points);
    let n = points.len();
    let min_points = MIN_SEGMENT_POINTS.max((MIN_SEGMENT_SHARE * n as f64).ceil() as usize);
    if n < 2 * min_points {
        return Vec::new();
    }
    let reduced = downsample(&points, MAX_POINTS);
    let m = reduced.len();
    let segmenter = Segmenter {
        points: &points,
        reduced: &reduced,
        min_len: (min_points * m).div_ceil(n).max(2),
        fits: RefCell::default(),
        verdicts: RefCell::default(),
    };
    // Phase 1: permissive binary segmentation proposes candidates.
    let mut candidates: Vec<usize> = Vec::new();
    let mut pending = vec![(0, m)];
    while let Some((a, b)) = pending.pop() {
        if let Some(k) = segmenter.candidate(a, b) {
            pending.push((a, k));
            pending.push((k, b));
            candidates.push(k);
        }
    }
    candidates.sort_unstable();
    // Phase 2: test each candidate against its neighbours and drop the
    // weakest failure until every remaining one passes.
    let splits = loop {
        let verdicts: Vec<(f64, Option<Split>)> = (0..candidates.len())
            .map(|i| {
                let a = if i == 0 { 0 } else { candidates[i - 1] };
                let b = candidates.get(i + 1).copied().unwrap_or(m);
                segmenter.evaluate(a, candidates[i], b)
            })
            .collect();
        let weakest = verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.1.is_none())
            .min_by(|x, y| x.1.0.total_cmp(&y.1.0))
            .map(|(i, _)| i);
        match weakest {
            Some(i) => {
                candidates.remove(i);
            }
            None => break verdicts.into_iter().filter_map(|v| v.1).collect::<Vec<_>>(),
        }
    };

    let mut cuts: Vec<usize> = splits.iter().map(|s| segmenter.place(s)).collect();
    cuts.dedup();
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied());
    bounds.push(n);
    let medians: Vec<f64> = bounds
        .windows(2)
        .map(|w| {
            let values: Vec<f64> = points[w[0]..w[1]].iter().map(|p| p.1).collect();
            median(&values).unwrap_or(0.0)
        })
        .collect();
    cuts.iter()
        .enumerate()
        .map(|(i, &cut)| Changepoint {
            t_ms: points[cut].0,
            before: medians[i],
            after: medians[i + 1],
        })
        .collect()
}

/// A Theil–Sen line: `(slope per ms, value at the first point)`.
type Line = (f64, f64);
/// `(|jump| / sd, the split when it passes every test)`.
type Verdict = (f64, Option<Split>);

/// An accepted split: the right side starts at reduced index `k`.
#[derive(Clone, Copy)]
struct Split {
    k: usize,
    jump: f64,
    mid: f64,
}

struct Segmenter<'a> {
    points: &'a [(i64, f64)],
    reduced: &'a [(i64, f64)],
    /// Minimum segment length in reduced points.
    min_len: usize,
    /// Theil–Sen fits of reduced ranges `a..b`: both phases fit the same
    /// segments again and again.
    fits: RefCell<HashMap<(usize, usize), Option<Line>>>,
    /// Verdicts of [`Segmenter::evaluate`] by `(a, k, b)`: removing one
    /// candidate changes only its neighbours' segments.
    verdicts: RefCell<HashMap<(usize, usize, usize), Verdict>>,
}

impl Segmenter<'_> {
    /// Original indices behind reduced points `a..b`.
    fn original(&self, a: usize, b: usize) -> std::ops::Range<usize> {
        let (n, m) = (self.points.len(), self.reduced.len());
        bucket_range(n, m, a).start..bucket_range(n, m, b - 1).end
    }

    /// Where to split reduced points `a..b` if anywhere: the maximum of the
    /// standardised Pettitt statistic on the residuals around the segment's
    /// Theil–Sen line, when it reaches [`CANDIDATE_SCORE`].
    fn candidate(&self, a: usize, b: usize) -> Option<usize> {
        if b - a < 2 * self.min_len {
            return None;
        }
        let segment = &self.reduced[a..b];
        let (slope, intercept) = self.fit(a, b)?;
        let t0 = segment.first()?.0;
        let detrended: Vec<f64> = segment
            .iter()
            .map(|&(t, v)| v - intercept - slope * (t - t0) as f64)
            .collect();
        let (score, k) = pettitt_argmax(&detrended, self.min_len)?;
        (score >= CANDIDATE_SCORE).then_some(a + k)
    }

    /// `(|jump| / sd, split)` for splitting `a..b` at `k`; the split is
    /// `Some` only when it passes every test.
    fn evaluate(&self, a: usize, k: usize, b: usize) -> (f64, Option<Split>) {
        if let Some(&verdict) = self.verdicts.borrow().get(&(a, k, b)) {
            return verdict;
        }
        let verdict = self.test(a, k, b).unwrap_or((0.0, None));
        self.verdicts.borrow_mut().insert((a, k, b), verdict);
        verdict
    }

    /// The Theil–Sen fit of reduced points `a..b` (memoised).
    fn fit(&self, a: usize, b: usize) -> Option<(f64, f64)> {
        if let Some(&fit) = self.fits.borrow().get(&(a, b)) {
            return fit;
        }
        let fit = theil_sen(&self.reduced[a..b]);
        self.fits.borrow_mut().insert((a, b), fit);
        fit
    }

    fn test(&self, a: usize, k: usize, b: usize) -> Option<(f64, Option<Split>)> {
        let left = &self.reduced[a..k];
        let right = &self.reduced[k..b];
        let (left_slope, left_intercept) = self.fit(a, k)?;
        let (right_slope, right_intercept) = self.fit(k, b)?;
        let (left_t0, right_t0) = (left.first()?.0, right.first()?.0);
        let left_line = |t: i64| left_intercept + left_slope * (t - left_t0) as f64;
        let right_line = |t: i64| right_intercept + right_slope * (t - right_t0) as f64;
        let boundary = left.last()?.0 + (right_t0 - left.last()?.0) / 2;
        let jump = right_line(boundary) - left_line(boundary);

        let before = &self.points[self.original(a, k)];
        let after = &self.points[self.original(k, b)];
        let sd = spread_about_zero(
            before
                .iter()
                .map(|&(t, v)| v - left_line(t))
                .chain(after.iter().map(|&(t, v)| v - right_line(t))),
        );
        let before_median = median_of(before)?;
        let after_median = median_of(after)?;
        let shift = after_median - before_median;
        // A floor relative to the level keeps floating-point dust on noiseless
        // data from passing for a shift.
        let sd = sd.max(NOISE_FLOOR * (before_median.abs() + after_median.abs()));
        let score = if sd > 0.0 { jump.abs() / sd } else { f64::MAX };
        let threshold = MIN_SHIFT_SDS * sd;
        if jump == 0.0 || jump.abs() <= threshold || shift * jump.signum() <= threshold {
            return Some((score, None));
        }
        let mid = (before_median + after_median) / 2.0;
        let side = jump.signum();
        let persists = halves(before).all(|h| median_of(h).is_some_and(|m| (m - mid) * side < 0.0))
            && halves(after).all(|h| median_of(h).is_some_and(|m| (m - mid) * side > 0.0));
        Some((score, persists.then_some(Split { k, jump, mid })))
    }

    /// The original index where the accepted split's new level starts:
    /// around the reduced boundary, the cut with the fewest points on the
    /// wrong side of the midpoint.
    fn place(&self, split: &Split) -> usize {
        let window = self.original(
            split.k.saturating_sub(1),
            (split.k + 1).min(self.reduced.len()),
        );
        let side = split.jump.signum();
        let is_after = |v: f64| (v - split.mid) * side > 0.0;
        let slice = &self.points[window.clone()];
        let mut wrong_after: usize = slice.iter().filter(|p| !is_after(p.1)).count();
        let mut wrong_before = 0usize;
        let (mut best, mut best_cost) = (window.start, wrong_after);
        for (offset, point) in slice.iter().enumerate() {
            if is_after(point.1) {
                wrong_before += 1;
            } else {
                wrong_after -= 1;
            }
            let cost = wrong_before + wrong_after;
            if cost < best_cost {
                best_cost = cost;
                best = window.start + offset + 1;
            }
        }
        best.clamp(1, self.points.len() - 1)
    }
}

fn median_of(points: &[(i64, f64)]) -> Option<f64> {
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    median(&values)
}

fn halves(points: &[(i64, f64)]) -> impl Iterator<Item = &[(i64, f64)]> {
    let (first, second) = points.split_at(points.len() / 2);
    [first, second].into_iter()
}

/// `(score, size of the left side)` (in `min_len..=len − min_len`)
/// maximising the standardised Pettitt / Mann–Whitney statistic
/// `|2·Σ rank − k(n+1)| / √(k(n−k)(n+1)/3)`.
fn pettitt_argmax(values: &[f64], min_len: usize) -> Option<(f64, usize)> {
    let n = values.len();
    if n < 2 * min_len || min_len == 0 {
        return None;
    }
    let ranks = ranks(values);
    let nf = n as f64;
    let mut prefix = 0.0;
    let mut best: Option<(f64, usize)> = None;
    for (i, rank) in ranks.iter().enumerate().take(n - min_len) {
        prefix += rank;
        let k = i + 1;
        if k < min_len {
            continue;
        }
        let kf = k as f64;
        let u = 2.0 * prefix - kf * (nf + 1.0);
        let score = u.abs() / (kf * (nf - kf) * (nf + 1.0) / 3.0).sqrt();
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, k));
        }
    }
    best
}

/// 1-based ranks with ties averaged.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &index in &order[i..=j] {
            ranks[index] = rank;
        }
        i = j + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::HOUR_MS;

    fn wobble(i: i64) -> f64 {
        ((i * 7919 % 101) as f64 / 50.0) - 1.0
    }

    fn hourly(n: i64, f: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..n).map(|i| (i * HOUR_MS, f(i) + wobble(i))).collect()
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 5.0]), vec![2.5, 4.0, 2.5, 1.0]);
    }

    #[test]
    fn pettitt_finds_the_step() {
        let values: Vec<f64> = (0..40).map(|i| if i < 25 { 1.0 } else { 5.0 }).collect();
        assert_eq!(pettitt_argmax(&values, 5).map(|(_, k)| k), Some(25));
        assert_eq!(pettitt_argmax(&values[..8], 5), None);
    }

    #[test]
    fn a_step_is_one_changepoint_at_the_right_time() {
        let points = hourly(300, |i| if i < 170 { 100.0 } else { 150.0 });
        let found = detect(&points);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].t_ms, 170 * HOUR_MS);
        assert!((found[0].before - 100.0).abs() < 1.0);
        assert!((found[0].after - 150.0).abs() < 1.0);
    }

    #[test]
    fn a_step_down_is_found_too() {
        let points = hourly(200, |i| if i < 60 { 80.0 } else { 40.0 });
        let found = detect(&points);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].t_ms, 60 * HOUR_MS);
    }

    #[test]
    fn two_steps_are_two_changepoints() {
        let points = hourly(600, |i| match i {
            0..200 => 100.0,
            200..400 => 130.0,
            _ => 90.0,
        });
        let times: Vec<i64> = detect(&points).iter().map(|c| c.t_ms / HOUR_MS).collect();
        assert_eq!(times, vec![200, 400]);
    }

    #[test]
    fn a_ramp_is_not_cut_into_steps() {
        let points = hourly(720, |i| 100.0 + i as f64 * 0.5);
        assert_eq!(detect(&points), Vec::new());
    }

    #[test]
    fn a_short_spike_is_not_a_changepoint() {
        let points = hourly(720, |i| {
            if (480..486).contains(&i) {
                500.0
            } else {
                100.0
            }
        });
        assert_eq!(detect(&points), Vec::new());
    }

    #[test]
    fn a_shift_within_the_noise_is_ignored() {
        let points = hourly(400, |i| if i < 200 { 100.0 } else { 101.0 });
        assert_eq!(detect(&points), Vec::new());
    }

    #[test]
    fn too_few_points_give_nothing() {
        let points = hourly(15, |i| if i < 7 { 1.0 } else { 100.0 });
        assert_eq!(detect(&points), Vec::new());
    }
}
