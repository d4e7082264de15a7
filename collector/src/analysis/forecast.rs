//! Where a series is heading: the level at a future time with an 80%
//! prediction interval, and when it will cross an (upper) limit.
//!
//! Forecasts extend the deseasonalised level now (`current` minus the
//! season's offset at the last point) along the trend. A trend that is not
//! significant counts as flat, but its confidence interval still widens the
//! prediction interval: the standard deviation at horizon `h` days is
//! `√(residual_sd² + (slope_sd · h)²)` with `slope_sd` the half-width of
//! the slope's 90% interval divided by z₀.₉₅. Without any trend (too little
//! data) `slope_sd` is taken as one `residual_sd` per day of history.

use statrs::distribution::{ContinuousCDF, Normal};

use super::trend::SLOPE_CONFIDENCE;
use super::{Analysis, DAY_MS};

/// Coverage of the prediction interval.
pub const INTERVAL_COVERAGE: f64 = 0.80;

/// The predicted level at one time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Forecast {
    pub t_ms: i64,
    /// Point forecast.
    pub value: f64,
    /// Lower bound of the 80% prediction interval.
    pub low: f64,
    /// Upper bound of the 80% prediction interval.
    pub high: f64,
}

/// When the level is expected to reach a limit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Eta {
    /// At the trend's slope.
    pub t_ms: i64,
    /// At the upper bound of the slope's interval.
    pub earliest_ms: i64,
    /// At the lower bound of the slope's interval; `None` when that bound
    /// is not growth.
    pub latest_ms: Option<i64>,
}

/// The deseasonalised level at `t_ms`. The season's offset is **not**
/// added: this is the typical level around that time, not the level at
/// that hour of the day (see [`at_seasonal_peak`] for capacity).
pub fn at(analysis: &Analysis, t_ms: i64) -> Forecast {
    let days = (t_ms - analysis.last_ms) as f64 / DAY_MS as f64;
    let value = level_now(analysis) + slope_per_day(analysis) * days;
    let sd = (analysis.residual_sd.powi(2) + (slope_sd_per_day(analysis) * days).powi(2)).sqrt();
    let z = Normal::standard().inverse_cdf(0.5 + INTERVAL_COVERAGE / 2.0);
    Forecast {
        t_ms,
        value,
        low: value - z * sd,
        high: value + z * sd,
    }
}

/// [`at`] plus the season's largest offset: the level at the busiest hour
/// around `t_ms`, which is what capacity has to cover.
pub fn at_seasonal_peak(analysis: &Analysis, t_ms: i64) -> Forecast {
    let peak = peak_offset(analysis);
    let base = at(analysis, t_ms);
    Forecast {
        t_ms,
        value: base.value + peak,
        low: base.low + peak,
        high: base.high + peak,
    }
}

/// When the seasonal peak reaches `limit` (an upper limit). Already at or
/// over it: every time is `last_ms`. Otherwise only a significant upward
/// trend gives an ETA: `t_ms` at the Theil–Sen slope, `earliest_ms` at the
/// upper bound of its interval, `latest_ms` at the lower bound (`None` when
/// that bound is ≤ 0). `None` without data or with a non-finite limit.
pub fn eta(analysis: &Analysis, limit: f64) -> Option<Eta> {
    if analysis.samples == 0 || !limit.is_finite() {
        return None;
    }
    let last = analysis.last_ms;
    let gap = limit - (level_now(analysis) + peak_offset(analysis));
    if gap <= 0.0 {
        return Some(Eta {
            t_ms: last,
            earliest_ms: last,
            latest_ms: Some(last),
        });
    }
    let trend = analysis.trend.as_ref().filter(|t| t.significant)?;
    if trend.slope_per_day <= 0.0 {
        return None;
    }
    let crossing = |slope_per_day: f64| {
        let ms = gap / slope_per_day * DAY_MS as f64;
        // `as` saturates: a crossing beyond i64 ms is "never" in practice.
        last.saturating_add(ms.ceil() as i64)
    };
    Some(Eta {
        t_ms: crossing(trend.slope_per_day),
        earliest_ms: crossing(trend.slope_high_per_day.max(trend.slope_per_day)),
        latest_ms: (trend.slope_low_per_day > 0.0).then(|| crossing(trend.slope_low_per_day)),
    })
}

/// The deseasonalised level at `last_ms`.
fn level_now(analysis: &Analysis) -> f64 {
    let offset = analysis
        .season
        .as_ref()
        .map_or(0.0, |s| s.offset_at(analysis.last_ms));
    analysis.current - offset
}

fn peak_offset(analysis: &Analysis) -> f64 {
    analysis.season.as_ref().map_or(0.0, |s| s.max_offset())
}

/// The slope forecasts follow: the trend's when significant, else 0.
fn slope_per_day(analysis: &Analysis) -> f64 {
    analysis
        .trend
        .as_ref()
        .filter(|t| t.significant)
        .map_or(0.0, |t| t.slope_per_day)
}

/// Standard deviation of the slope per day, from its confidence interval.
fn slope_sd_per_day(analysis: &Analysis) -> f64 {
    match &analysis.trend {
        Some(trend) => {
            let z = Normal::standard().inverse_cdf(0.5 + SLOPE_CONFIDENCE / 2.0);
            (trend.slope_high_per_day - trend.slope_low_per_day).max(0.0) / (2.0 * z)
        }
        None => {
            let history_days = (analysis.span_ms as f64 / DAY_MS as f64).max(1.0);
            analysis.residual_sd / history_days
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::seasonal::Season;
    use crate::analysis::trend::Trend;

    const LAST: i64 = 1_800_000_000_000;

    fn analysis(trend: Option<Trend>, season: Option<Season>) -> Analysis {
        Analysis {
            samples: 720,
            span_ms: 30 * DAY_MS,
            last_ms: LAST,
            current: 100.0,
            season,
            changepoints: Vec::new(),
            trend,
            residual_sd: 5.0,
        }
    }

    fn growing(slope: f64, low: f64, high: f64, significant: bool) -> Trend {
        Trend {
            slope_per_day: slope,
            slope_low_per_day: low,
            slope_high_per_day: high,
            level_at_last: 100.0,
            p_value: if significant { 0.001 } else { 0.5 },
            significant,
            samples: 720,
        }
    }

    fn daily(offset_at_last: f64, peak: f64) -> Season {
        let mut profile = vec![0.0; 24];
        let hour = (LAST.rem_euclid(DAY_MS) / crate::analysis::HOUR_MS) as usize;
        profile[hour] = offset_at_last;
        profile[(hour + 12) % 24] = peak;
        Season {
            period_ms: DAY_MS,
            buckets: 24,
            profile,
            strength: 0.8,
        }
    }

    #[test]
    fn forecast_follows_a_significant_slope_and_widens() {
        let a = analysis(Some(growing(2.0, 1.5, 2.5, true)), None);
        let now = at(&a, LAST);
        let later = at(&a, LAST + 10 * DAY_MS);
        assert!((now.value - 100.0).abs() < 1e-9);
        assert!((later.value - 120.0).abs() < 1e-9);
        assert!(later.high - later.low > now.high - now.low);
        // 80% interval of residual spread alone: ±1.2816 × 5.
        assert!((now.high - now.value - 1.2816 * 5.0).abs() < 1e-3);
    }

    #[test]
    fn insignificant_trend_is_flat_but_still_uncertain() {
        let a = analysis(Some(growing(2.0, -1.0, 5.0, false)), None);
        let later = at(&a, LAST + 10 * DAY_MS);
        assert!((later.value - 100.0).abs() < 1e-9);
        assert!(later.high - later.value > 20.0);
    }

    #[test]
    fn forecasts_are_deseasonalised_and_the_peak_adds_the_largest_offset() {
        let a = analysis(None, Some(daily(10.0, 30.0)));
        let plain = at(&a, LAST + DAY_MS);
        assert!((plain.value - 90.0).abs() < 1e-9);
        let peak = at_seasonal_peak(&a, LAST + DAY_MS);
        assert!((peak.value - 120.0).abs() < 1e-9);
    }

    #[test]
    fn eta_of_a_growing_series_uses_the_slope_interval() {
        let a = analysis(Some(growing(2.0, 1.0, 4.0, true)), None);
        let eta = eta(&a, 140.0).expect("eta");
        assert_eq!(eta.t_ms, LAST + 20 * DAY_MS);
        assert_eq!(eta.earliest_ms, LAST + 10 * DAY_MS);
        assert_eq!(eta.latest_ms, Some(LAST + 40 * DAY_MS));
    }

    #[test]
    fn eta_without_a_lower_bound_has_no_latest() {
        let a = analysis(Some(growing(2.0, -0.5, 4.0, true)), None);
        assert_eq!(eta(&a, 140.0).and_then(|e| e.latest_ms), None);
    }

    #[test]
    fn eta_counts_from_the_seasonal_peak() {
        let a = analysis(Some(growing(2.0, 1.0, 4.0, true)), Some(daily(0.0, 20.0)));
        let eta = eta(&a, 140.0).expect("eta");
        assert_eq!(eta.t_ms, LAST + 10 * DAY_MS);
    }

    #[test]
    fn no_eta_without_significant_growth() {
        assert_eq!(eta(&analysis(None, None), 200.0), None);
        let flat = analysis(Some(growing(2.0, -1.0, 5.0, false)), None);
        assert_eq!(eta(&flat, 200.0), None);
        let shrinking = analysis(Some(growing(-2.0, -3.0, -1.0, true)), None);
        assert_eq!(eta(&shrinking, 200.0), None);
    }

    #[test]
    fn already_over_the_limit_is_now() {
        let a = analysis(None, Some(daily(0.0, 20.0)));
        let eta = eta(&a, 110.0).expect("eta");
        assert_eq!(
            (eta.t_ms, eta.earliest_ms, eta.latest_ms),
            (LAST, LAST, Some(LAST))
        );
    }
}
