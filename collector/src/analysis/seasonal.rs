//! Daily and weekly seasonality: an hourly profile of additive offsets,
//! found after removing a robust linear trend (alternating the two fits)
//! so that growth does not pass for a cycle.
//!
//! Phases are in UTC (hour of the day, hour of the unix week); daylight
//! saving shifts are not modelled. The weekly profile is the daily shape by
//! hour plus a level per day of the week: 30 parameters rather than 168,
//! each estimated from many more samples. The strength of a profile is its
//! variance explained, adjusted for the number of parameters it fits (like
//! an adjusted R²), so that a profile fitted to noise does not look like a
//! season.

use super::robust::{clean, median_mut};
use super::{DAY_MS, HOUR_MS, WEEK_MS, trend::theil_sen};

/// Below this strength there is no season worth removing.
pub const MIN_STRENGTH: f64 = 0.3;
/// The weekly profile replaces the daily one only when it explains at
/// least this much more variance.
pub const WEEKLY_MARGIN: f64 = 0.1;
/// Share of a profile's buckets that need data (≥ 2 samples each).
pub const MIN_COVERAGE: f64 = 0.9;
/// Rounds of alternating trend and profile fits.
const BACKFIT_ROUNDS: usize = 3;

/// A repeating pattern of the series.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Season {
    /// [`DAY_MS`] or [`WEEK_MS`].
    pub period_ms: i64,
    /// Buckets per period (hourly: 24 or 168).
    pub buckets: usize,
    /// Additive offset per bucket; the median offset is 0.
    pub profile: Vec<f64>,
    /// Share of the detrended variance the profile explains, in 0..1.
    pub strength: f64,
}

impl Season {
    /// The offset of the bucket that `t_ms` falls in (0 for an empty
    /// profile).
    pub fn offset_at(&self, t_ms: i64) -> f64 {
        bucket_of(t_ms, self.period_ms, self.buckets)
            .and_then(|b| self.profile.get(b).copied())
            .unwrap_or(0.0)
    }

    /// The largest offset: how far above the deseasonalised level the peak
    /// of each period goes.
    pub fn max_offset(&self) -> f64 {
        self.profile.iter().copied().fold(0.0, f64::max)
    }
}

/// The daily or weekly season of `points`, or `None` when there is less
/// than two full periods of data, the profile is too sparse, or the
/// strongest candidate explains less than [`MIN_STRENGTH`] of the variance.
pub fn detect(points: &[(i64, f64)]) -> Option<Season> {
    let points = clean(points);
    let first = points.first()?.0;
    let span = points.last()?.0 - first;
    if span < 2 * DAY_MS {
        return None;
    }
    // The first round of both backfits fits the same trend to the raw
    // points; and each point's bucket is the same in every round.
    let first_fit = theil_sen(&points)?;
    let phases = Phases::new(&points, span >= 2 * WEEK_MS);
    let daily = backfit(&points, &phases, DAY_MS, first_fit);
    let weekly = if span >= 2 * WEEK_MS {
        backfit(&points, &phases, WEEK_MS, first_fit)
    } else {
        None
    };
    let best = match (daily, weekly) {
        (Some(daily), Some(weekly)) if weekly.strength > daily.strength + WEEKLY_MARGIN => weekly,
        (Some(daily), _) => daily,
        (None, weekly) => weekly?,
    };
    (best.strength >= MIN_STRENGTH).then_some(best)
}

/// The bucket of each point for the profiles, computed once.
struct Phases {
    /// Hour of the day.
    day_hour: Vec<usize>,
    /// Hour of the week (empty when the weekly profile is not tried).
    week_hour: Vec<usize>,
    /// Day of the week (likewise).
    week_day: Vec<usize>,
}

impl Phases {
    fn new(points: &[(i64, f64)], weekly: bool) -> Self {
        let buckets = |period_ms: i64, buckets: usize| -> Vec<usize> {
            points
                .iter()
                .map(|&(t, _)| phase_bucket(t, period_ms, buckets))
                .collect()
        };
        Phases {
            day_hour: buckets(DAY_MS, 24),
            week_hour: if weekly {
                buckets(WEEK_MS, 168)
            } else {
                Vec::new()
            },
            week_day: if weekly {
                buckets(WEEK_MS, 7)
            } else {
                Vec::new()
            },
        }
    }

    /// The hourly bucket of each point for a profile of `period_ms`.
    fn hourly(&self, period_ms: i64) -> &[usize] {
        if period_ms == WEEK_MS {
            &self.week_hour
        } else {
            &self.day_hour
        }
    }
}

/// Alternates the Theil–Sen trend and the profile: a trend fitted through
/// the raw seasonal data is biased by where the cycles happen to start and
/// end, and that bias would leak into the profile as a saw-tooth.
/// `first_fit` is the Theil–Sen fit of the raw `points`.
fn backfit(
    points: &[(i64, f64)],
    phases: &Phases,
    period_ms: i64,
    first_fit: (f64, f64),
) -> Option<Season> {
    let first = points.first()?.0;
    let index = phases.hourly(period_ms);
    let mut season: Option<Season> = None;
    let mut deseasonalised: Vec<(i64, f64)> = Vec::with_capacity(points.len());
    let mut detrended: Vec<f64> = Vec::with_capacity(points.len());
    for _ in 0..BACKFIT_ROUNDS {
        let (slope, intercept) = match &season {
            Some(season) => {
                deseasonalised.clear();
                deseasonalised.extend(
                    points
                        .iter()
                        .zip(index)
                        .map(|(&(t, v), &b)| (t, v - season.profile[b])),
                );
                theil_sen(&deseasonalised)?
            }
            None => first_fit,
        };
        detrended.clear();
        detrended.extend(
            points
                .iter()
                .map(|&(t, v)| v - intercept - slope * (t - first) as f64),
        );
        season = Some(fit(&detrended, phases, period_ms)?);
    }
    season
}

/// `points` minus the season's offset at each time.
pub fn remove(points: &[(i64, f64)], season: &Season) -> Vec<(i64, f64)> {
    points
        .iter()
        .map(|&(t, v)| (t, v - season.offset_at(t)))
        .collect()
}

fn bucket_of(t_ms: i64, period_ms: i64, buckets: usize) -> Option<usize> {
    if period_ms <= 0 || buckets == 0 {
        return None;
    }
    Some(phase_bucket(t_ms, period_ms, buckets))
}

/// The bucket of `t_ms` among `buckets` equal parts of `period_ms` (> 0),
/// in 64-bit arithmetic unless that would overflow.
fn phase_bucket(t_ms: i64, period_ms: i64, buckets: usize) -> usize {
    let phase = t_ms.rem_euclid(period_ms);
    match i64::try_from(buckets)
        .ok()
        .and_then(|b| phase.checked_mul(b))
    {
        Some(scaled) => (scaled / period_ms) as usize,
        None => (i128::from(phase) * buckets as i128 / i128::from(period_ms)) as usize,
    }
}

/// The hourly profile for `period_ms` of the `detrended` values of the
/// points behind `phases`, with its adjusted strength, or `None` when
/// coverage is too thin.
fn fit(detrended: &[f64], phases: &Phases, period_ms: i64) -> Option<Season> {
    let buckets = (period_ms / HOUR_MS) as usize;
    let index = phases.hourly(period_ms);
    let mut counts = vec![0usize; buckets];
    for &b in index {
        counts[b] += 1;
    }
    let covered = counts.iter().filter(|&&c| c >= 2).count();
    if (covered as f64) < MIN_COVERAGE * buckets as f64 {
        return None;
    }
    let (mut profile, parameters) = if period_ms == WEEK_MS {
        // Hour of the day plus day of the week: 30 parameters instead of
        // 168, each from many more samples, so the profile does not chase
        // the noise of four or five weeks.
        let hours = bucket_medians(detrended, &phases.day_hour, 24)?;
        let rest: Vec<f64> = detrended
            .iter()
            .zip(&phases.day_hour)
            .map(|(&v, &h)| v - hours[h])
            .collect();
        let days = bucket_medians(&rest, &phases.week_day, 7)?;
        let profile = (0..buckets).map(|b| hours[b % 24] + days[b / 24]).collect();
        (profile, 24 + 7 - 1)
    } else {
        (bucket_medians(detrended, index, buckets)?, buckets)
    };
    let center = median_mut(&mut profile.clone())?;
    profile.iter_mut().for_each(|p| *p -= center);

    let n = detrended.len() as f64;
    let mean = detrended.iter().sum::<f64>() / n;
    let total: f64 = detrended.iter().map(|v| (v - mean).powi(2)).sum();
    let left: Vec<f64> = detrended
        .iter()
        .zip(index)
        .map(|(&v, &b)| v - profile[b])
        .collect();
    let left_mean = left.iter().sum::<f64>() / n;
    let residual: f64 = left.iter().map(|v| (v - left_mean).powi(2)).sum();
    let dof = n - parameters as f64;
    let strength = if total <= 0.0 || dof <= 1.0 {
        0.0
    } else {
        (1.0 - (residual / dof) / (total / (n - 1.0))).clamp(0.0, 1.0)
    };
    Some(Season {
        period_ms,
        buckets,
        profile,
        strength,
    })
}

/// Median per bucket of `values`, value `i` falling in bucket `index[i]`
/// (buckets with fewer than two samples filled from their neighbours).
fn bucket_medians(values: &[f64], index: &[usize], buckets: usize) -> Option<Vec<f64>> {
    // Counting sort into one buffer: bucket `b` is `grouped[starts[b]..starts[b + 1]]`.
    let mut starts = vec![0usize; buckets + 1];
    for &b in index {
        starts[b] += 1;
    }
    let mut total = 0;
    for start in &mut starts {
        let count = *start;
        *start = total;
        total += count;
    }
    let mut next = starts.clone();
    let mut grouped = vec![0.0; values.len()];
    for (&v, &b) in values.iter().zip(index) {
        grouped[next[b]] = v;
        next[b] += 1;
    }
    let raw: Vec<Option<f64>> = starts
        .windows(2)
        .map(|w| {
            let group = &mut grouped[w[0]..w[1]];
            if group.len() >= 2 {
                median_mut(group)
            } else {
                None
            }
        })
        .collect();
    raw.iter().any(Option::is_some).then(|| fill_gaps(&raw))
}

/// Missing buckets take the mean of their nearest filled neighbours on the
/// circle.
fn fill_gaps(raw: &[Option<f64>]) -> Vec<f64> {
    let n = raw.len();
    (0..n)
        .map(|i| {
            raw[i].unwrap_or_else(|| {
                let before = (1..n).find_map(|k| raw[(i + n - k) % n]);
                let after = (1..n).find_map(|k| raw[(i + k) % n]);
                match (before, after) {
                    (Some(a), Some(b)) => (a + b) / 2.0,
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => 0.0,
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const START: i64 = 1_700_000_000_000 - 1_700_000_000_000 % WEEK_MS;

    fn hourly(days: i64, f: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..days * 24)
            .map(|h| (START + h * HOUR_MS, f(h)))
            .collect()
    }

    fn wobble(h: i64) -> f64 {
        // Deterministic pseudo-noise in ±1.
        ((h * 7919 % 101) as f64 / 50.0) - 1.0
    }

    #[test]
    fn offset_at_uses_the_hour_of_the_period() {
        let season = Season {
            period_ms: DAY_MS,
            buckets: 24,
            profile: (0..24).map(f64::from).collect(),
            strength: 1.0,
        };
        assert_eq!(season.offset_at(START + 5 * HOUR_MS + 59_000), 5.0);
        assert_eq!(season.offset_at(START + DAY_MS + 23 * HOUR_MS), 23.0);
        assert_eq!(season.offset_at(START - HOUR_MS), 23.0);
        assert_eq!(season.max_offset(), 23.0);
    }

    #[test]
    fn a_daily_sine_is_found_with_its_amplitude() {
        let points = hourly(14, |h| {
            100.0 + 40.0 * (TAU * h as f64 / 24.0).sin() + wobble(h)
        });
        let season = detect(&points).expect("season");
        assert_eq!(season.period_ms, DAY_MS);
        assert_eq!(season.buckets, 24);
        assert!(season.strength > 0.9, "{}", season.strength);
        assert!((season.max_offset() - 40.0).abs() < 3.0);
        let removed = remove(&points, &season);
        assert!(removed.iter().all(|p| (p.1 - 100.0).abs() < 5.0));
    }

    #[test]
    fn growth_alone_is_not_a_season() {
        let points = hourly(21, |h| 100.0 + h as f64 + wobble(h));
        assert_eq!(detect(&points), None);
    }

    #[test]
    fn noise_alone_is_not_a_season() {
        let points = hourly(30, |h| 100.0 + 5.0 * wobble(h));
        assert_eq!(detect(&points), None);
    }

    #[test]
    fn less_than_two_periods_is_not_enough() {
        let points = hourly(1, |h| 100.0 + 40.0 * (TAU * h as f64 / 24.0).sin());
        assert_eq!(detect(&points), None);
    }

    #[test]
    fn sparse_coverage_gives_no_season() {
        let points: Vec<(i64, f64)> = hourly(10, |h| 100.0 + 40.0 * (TAU * h as f64 / 24.0).sin())
            .into_iter()
            .filter(|p| (p.0 - START) / HOUR_MS % 24 < 12)
            .collect();
        assert_eq!(detect(&points), None);
    }

    #[test]
    fn a_weekend_dip_is_a_weekly_season() {
        let points = hourly(28, |h| {
            let weekend = (h / 24) % 7 >= 5;
            (if weekend { 60.0 } else { 100.0 }) + wobble(h)
        });
        let season = detect(&points).expect("season");
        assert_eq!(season.period_ms, WEEK_MS);
        assert_eq!(season.buckets, 168);
    }
}
