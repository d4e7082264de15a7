//! Scenario suite: synthetic series with a known truth (seeded noise), run
//! through [`analyze`], [`forecast`] and [`headroom`] end to end.

use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, analyze, forecast, headroom};

/// 2026-01-01T00:00:00Z, a Thursday.
const START: i64 = 1_767_225_600_000;
const LEVEL: f64 = 100.0;
/// Noise: 5% of the level.
const NOISE: f64 = 5.0;

/// Deterministic Gaussian noise (Box–Muller over a seeded generator).
struct Noise(StdRng);

impl Noise {
    fn new(seed: u64) -> Self {
        Noise(StdRng::seed_from_u64(seed))
    }

    fn sample(&mut self, sd: f64) -> f64 {
        let u1: f64 = 1.0 - self.0.random::<f64>();
        let u2: f64 = self.0.random();
        sd * (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
}

/// `days` of points every `step_ms` from [`START`]: `truth(days since
/// start)` plus Gaussian noise.
fn series(seed: u64, days: i64, step_ms: i64, truth: impl Fn(f64) -> f64) -> Vec<(i64, f64)> {
    let mut noise = Noise::new(seed);
    (0..days * DAY_MS / step_ms)
        .map(|i| {
            let t = START + i * step_ms;
            let day = (t - START) as f64 / DAY_MS as f64;
            (t, truth(day) + noise.sample(NOISE))
        })
        .collect()
}

fn hourly(seed: u64, truth: impl Fn(f64) -> f64) -> Vec<(i64, f64)> {
    series(seed, 30, HOUR_MS, truth)
}

fn daily_cycle(day: f64) -> f64 {
    0.4 * LEVEL * (TAU * day).sin()
}

fn is_weekend(day: f64) -> bool {
    // START is a Thursday: days 2 and 3 of each week are Saturday, Sunday.
    matches!(day.floor() as i64 % 7, 2 | 3)
}

fn no_significant_trend(analysis: &super::Analysis) -> bool {
    analysis.trend.as_ref().is_none_or(|t| !t.significant)
}

/// `|eta − truth| ≤ tolerance × (truth − last)`.
fn assert_eta_near(analysis: &super::Analysis, limit: f64, truth_ms: i64, tolerance: f64) {
    let eta = forecast::eta(analysis, limit).expect("an eta for a growing series");
    let ahead = (truth_ms - analysis.last_ms) as f64;
    let error = (eta.t_ms - truth_ms) as f64;
    assert!(
        error.abs() <= tolerance * ahead,
        "eta off by {:.2} days of {:.2}: {eta:?} {analysis:?}",
        error / DAY_MS as f64,
        ahead / DAY_MS as f64
    );
    assert!(eta.earliest_ms <= eta.t_ms);
    assert!(eta.latest_ms.is_none_or(|latest| latest >= eta.t_ms));
}

#[test]
fn flat_noise_has_no_trend_no_season_and_no_eta() {
    let analysis = analyze(&hourly(1, |_| LEVEL));
    assert!(no_significant_trend(&analysis), "{analysis:?}");
    assert_eq!(analysis.season, None);
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert!((analysis.current - LEVEL).abs() < 3.0);
    assert!((analysis.residual_sd - NOISE).abs() < 1.0);
    assert_eq!(forecast::eta(&analysis, 2.0 * LEVEL), None);
    let h = headroom::headroom("flat", &analysis, 2.0 * LEVEL);
    assert!((h.utilization - 0.5).abs() < 0.02);
    assert!(
        h.confidence > 0.7 && h.confidence < 0.85,
        "{}",
        h.confidence
    );
}

#[test]
fn daily_cycle_is_seasonality_not_growth() {
    let analysis = analyze(&hourly(2, |day| LEVEL + daily_cycle(day)));
    let season = analysis.season.as_ref().expect("a daily season");
    assert_eq!(season.period_ms, DAY_MS);
    assert!(season.strength > 0.8, "{season:?}");
    assert!((season.max_offset() - 0.4 * LEVEL).abs() < 4.0);
    assert!(no_significant_trend(&analysis), "{analysis:?}");
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert!(analysis.residual_sd < 1.5 * NOISE);
    assert_eq!(forecast::eta(&analysis, 2.0 * LEVEL), None);
}

#[test]
fn weekend_dip_is_a_weekly_season_not_a_trend() {
    let points = hourly(3, |day| if is_weekend(day) { 0.6 * LEVEL } else { LEVEL });
    let analysis = analyze(&points);
    let season = analysis.season.as_ref().expect("a weekly season");
    assert_eq!(season.period_ms, WEEK_MS);
    assert!(no_significant_trend(&analysis), "{analysis:?}");
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert_eq!(forecast::eta(&analysis, 2.0 * LEVEL), None);
}

#[test]
fn linear_growth_crosses_the_limit_on_time() {
    // 100 + 2/day reaches 200 on day 50, 20 days after the last point.
    let analysis = analyze(&hourly(4, |day| LEVEL + 2.0 * day));
    let trend = analysis.trend.as_ref().expect("a trend");
    assert!(trend.significant);
    assert!((trend.slope_per_day - 2.0).abs() < 0.1, "{trend:?}");
    assert!(trend.slope_low_per_day < 2.0 && 2.0 < trend.slope_high_per_day);
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert_eq!(analysis.season, None);
    assert_eta_near(&analysis, 2.0 * LEVEL, START + 50 * DAY_MS, 0.15);
    let h = headroom::headroom("growing", &analysis, 2.0 * LEVEL);
    assert!(h.trend_per_day.is_some());
    assert!(h.eta_ms.is_some());
}

#[test]
fn growth_with_a_daily_cycle_crosses_at_the_daily_peak() {
    // Peak = 100 + 2/day + 40 reaches 260 on day 60.
    let analysis = analyze(&hourly(5, |day| LEVEL + 2.0 * day + daily_cycle(day)));
    let season = analysis.season.as_ref().expect("a daily season");
    assert_eq!(season.period_ms, DAY_MS);
    assert!(analysis.trend.as_ref().is_some_and(|t| t.significant));
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert_eta_near(&analysis, 260.0, START + 60 * DAY_MS, 0.25);
    // The plain forecast stays below the peak forecast by the cycle's amplitude.
    let at = START + 40 * DAY_MS;
    let gap = forecast::at_seasonal_peak(&analysis, at).value - forecast::at(&analysis, at).value;
    assert!((gap - 0.4 * LEVEL).abs() < 4.0, "{gap}");
}

#[test]
fn a_one_off_sale_spike_is_neither_a_shift_nor_a_trend() {
    let spike = 20.0..20.25;
    let analysis = analyze(&hourly(6, |day| {
        if spike.contains(&day) {
            5.0 * LEVEL
        } else {
            LEVEL
        }
    }));
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert!(no_significant_trend(&analysis), "{analysis:?}");
    assert!((analysis.current - LEVEL).abs() < 3.0);
    assert_eq!(forecast::eta(&analysis, 2.0 * LEVEL), None);
}

#[test]
fn a_deploy_that_raises_the_level_is_one_changepoint() {
    let shift_ms = START + 18 * DAY_MS;
    let analysis = analyze(&hourly(
        7,
        |day| {
            if day >= 18.0 { 1.6 * LEVEL } else { LEVEL }
        },
    ));
    assert_eq!(analysis.changepoints.len(), 1, "{analysis:?}");
    let change = &analysis.changepoints[0];
    assert!((change.t_ms - shift_ms).abs() <= 6 * HOUR_MS, "{change:?}");
    assert!((change.before - LEVEL).abs() < 2.0, "{change:?}");
    assert!((change.after - 1.6 * LEVEL).abs() < 2.0, "{change:?}");
    assert!(no_significant_trend(&analysis), "{analysis:?}");
    assert!((analysis.current - 1.6 * LEVEL).abs() < 3.0);
    assert_eq!(analysis.season, None);
}

#[test]
fn a_week_of_minute_points_with_growth_and_a_daily_cycle() {
    // Peak = 100 + 3/day + 40 reaches 250 on day 36.7, 29.7 days ahead.
    let points = series(8, 7, MINUTE_MS, |day| LEVEL + 3.0 * day + daily_cycle(day));
    let analysis = analyze(&points);
    assert_eq!(analysis.samples, 7 * 24 * 60);
    let season = analysis.season.as_ref().expect("a daily season");
    assert_eq!(season.period_ms, DAY_MS);
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    let truth = START + (110.0 / 3.0 * DAY_MS as f64) as i64;
    assert_eta_near(&analysis, 250.0, truth, 0.25);
}

#[test]
fn gaps_and_an_outage_do_not_derail_growth() {
    let mut noise = Noise::new(9);
    let points: Vec<(i64, f64)> = hourly(10, |day| LEVEL + 2.0 * day)
        .into_iter()
        .filter(|p| {
            let day = (p.0 - START) / DAY_MS;
            !(12..14).contains(&day) && noise.0.random::<f64>() > 0.2
        })
        .collect();
    let analysis = analyze(&points);
    assert!(analysis.changepoints.is_empty(), "{analysis:?}");
    assert_eta_near(&analysis, 2.0 * LEVEL, START + 50 * DAY_MS, 0.15);
}
