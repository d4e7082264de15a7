//! Pure time-series analysis of one metric series: season, level shifts,
//! robust trend, the level now, forecasts and headroom against a limit.
//!
//! Points are `(unix ms, value)` sorted by time, possibly irregular;
//! non-finite values are ignored. [`analyze`] runs the steps in order:
//! 1. [`seasonal::detect`] a daily or weekly profile and remove it;
//! 2. [`changepoint::detect`] level shifts in the deseasonalised series;
//! 3. [`trend::trend`] on the deseasonalised points after the last shift;
//! 4. the level now and the residual spread around trend + season.
//!
//! [`forecast`] and [`headroom`] then read the resulting [`Analysis`].

pub mod changepoint;
pub mod forecast;
pub mod headroom;
pub mod seasonal;
pub mod trend;

mod robust;
#[cfg(test)]
mod scenarios;

use robust::{clean, median, median_mut, spread_about_zero};

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// The recent window whose median is the level now …
pub const CURRENT_WINDOW_MS: i64 = DAY_MS;
/// … holding at least this many points when there are that many.
pub const CURRENT_MIN_POINTS: usize = 5;

/// Everything the advisor needs to know about one series.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    /// Points used (finite values).
    pub samples: usize,
    /// Last t − first t.
    pub span_ms: i64,
    pub last_ms: i64,
    /// The level now: the median of the deseasonalised points of the last
    /// [`CURRENT_WINDOW_MS`] after the last changepoint (at least
    /// [`CURRENT_MIN_POINTS`]), each carried to `last_ms` along the trend
    /// when it is significant, plus the seasonal offset at `last_ms`.
    /// 0 without points.
    pub current: f64,
    pub season: Option<seasonal::Season>,
    pub changepoints: Vec<changepoint::Changepoint>,
    /// On the deseasonalised points after the last changepoint.
    pub trend: Option<trend::Trend>,
    /// Robust spread (1.4826 × MAD) of the residuals around trend + season
    /// after the last changepoint.
    pub residual_sd: f64,
}

/// Analyses one series (see the module documentation for the steps).
pub fn analyze(points: &[(i64, f64)]) -> Analysis {
    let points = clean(points);
    let (Some(&(first_ms, _)), Some(&(last_ms, _))) = (points.first(), points.last()) else {
        return Analysis {
            samples: 0,
            span_ms: 0,
            last_ms: 0,
            current: 0.0,
            season: None,
            changepoints: Vec::new(),
            trend: None,
            residual_sd: 0.0,
        };
    };
    let season = seasonal::detect(&points);
    let deseasonalised = match &season {
        Some(season) => seasonal::remove(&points, season),
        None => points.to_vec(),
    };
    let changepoints = changepoint::detect(&deseasonalised);
    let start = changepoints
        .last()
        .map_or(0, |c| deseasonalised.partition_point(|p| p.0 < c.t_ms));
    let tail = &deseasonalised[start..];
    let trend = trend::trend(tail);

    let per_ms = |slope_per_day: f64| slope_per_day / DAY_MS as f64;
    let residual_sd =
        match &trend {
            Some(t) => spread_about_zero(tail.iter().map(|&(ts, v)| {
                v - t.level_at_last - per_ms(t.slope_per_day) * (ts - last_ms) as f64
            })),
            None => {
                let values: Vec<f64> = tail.iter().map(|p| p.1).collect();
                let center = median(&values).unwrap_or(0.0);
                spread_about_zero(values.iter().map(|v| v - center))
            }
        };

    let slope = trend
        .as_ref()
        .filter(|t| t.significant)
        .map_or(0.0, |t| per_ms(t.slope_per_day));
    let window_start = tail.partition_point(|p| p.0 < last_ms - CURRENT_WINDOW_MS);
    let window_start = window_start.min(tail.len().saturating_sub(CURRENT_MIN_POINTS));
    let mut recent: Vec<f64> = tail[window_start..]
        .iter()
        .map(|&(t, v)| v + slope * (last_ms - t) as f64)
        .collect();
    let level = median_mut(&mut recent).unwrap_or(0.0);
    let offset = season.as_ref().map_or(0.0, |s| s.offset_at(last_ms));

    Analysis {
        samples: points.len(),
        span_ms: last_ms - first_ms,
        last_ms,
        current: level + offset,
        season,
        changepoints,
        trend,
        residual_sd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_points_is_an_empty_analysis() {
        let analysis = analyze(&[(1, f64::NAN)]);
        assert_eq!(analysis.samples, 0);
        assert_eq!(analysis.current, 0.0);
        assert_eq!(analysis.trend, None);
    }

    #[test]
    fn a_few_points_give_a_level_without_trend() {
        let points = [(0, 10.0), (HOUR_MS, 12.0), (2 * HOUR_MS, 11.0)];
        let analysis = analyze(&points);
        assert_eq!(analysis.samples, 3);
        assert_eq!(analysis.span_ms, 2 * HOUR_MS);
        assert_eq!(analysis.last_ms, 2 * HOUR_MS);
        assert_eq!(analysis.current, 11.0);
        assert_eq!(analysis.trend, None);
        assert_eq!(analysis.season, None);
        assert!(analysis.changepoints.is_empty());
    }

    #[test]
    fn the_level_now_follows_a_significant_trend_to_the_last_point() {
        let points: Vec<(i64, f64)> = (0..240).map(|h| (h * HOUR_MS, h as f64)).collect();
        let analysis = analyze(&points);
        assert!(
            (analysis.current - 239.0).abs() < 1e-6,
            "{}",
            analysis.current
        );
        assert!(analysis.residual_sd < 1e-6);
    }
}
