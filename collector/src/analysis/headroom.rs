//! How much room a resource has left: utilisation of its limit now, its
//! growth, when it will run out and how much to trust that.

use super::{Analysis, DAY_MS, HOUR_MS, forecast};

/// Days of history at which the history factor of [`confidence`] is ½.
pub const HALF_CONFIDENCE_DAYS: f64 = 7.0;

/// The headroom of one resource against its limit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Headroom {
    pub resource: String,
    /// The level now (see [`Analysis::current`]).
    pub current: f64,
    pub limit: f64,
    /// `current / limit`; 0 when the limit is not a positive number.
    pub utilization: f64,
    /// Growth per day when the trend is significant, else `None`.
    pub trend_per_day: Option<f64>,
    /// When the seasonal peak reaches the limit (see [`forecast::eta`]).
    pub eta_ms: Option<i64>,
    pub eta_earliest_ms: Option<i64>,
    pub eta_latest_ms: Option<i64>,
    /// See [`confidence`].
    pub confidence: f64,
    pub samples: usize,
    /// The span of history behind the figures.
    pub history_ms: i64,
}

/// Below this [`confidence`] a forecast is shown but not acted on: an ETA
/// drawn from minutes of history (a store warming up) is noise, not growth.
pub const MIN_FORECAST_CONFIDENCE: f64 = 0.2;

/// Whether a forecast's confidence is at [`MIN_FORECAST_CONFIDENCE`], and
/// if not, what it still needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Readiness {
    /// Confident enough: the trend and the ETA may be shown.
    Ready,
    /// About this much more history (ms) lifts the confidence to the floor,
    /// if the coverage and noise seen so far hold.
    Collecting { more_ms: i64 },
    /// Gaps or noise keep the confidence under the floor however long the
    /// history grows.
    Unsteady,
}

/// What a forecast of `confidence` over `history_ms` of history still
/// needs. [`confidence`] is `h(d) × q`, with `h(d) = d / (d + 7)` the
/// history factor and `q` the coverage and noise factor: `q` is read back
/// as `confidence / h(d)` (1 when there is no history yet, as for a fresh
/// steady series), and the days `d'` with `h(d') × q` at the floor are
/// `7 × f / (1 − f)` with `f = floor / q`.
pub fn readiness(confidence: f64, history_ms: i64) -> Readiness {
    if confidence >= MIN_FORECAST_CONFIDENCE {
        return Readiness::Ready;
    }
    let days = history_ms.max(0) as f64 / DAY_MS as f64;
    let history = days / (days + HALF_CONFIDENCE_DAYS);
    let quality = if history > 0.0 {
        (confidence / history).min(1.0)
    } else {
        1.0
    };
    let needed = MIN_FORECAST_CONFIDENCE / quality;
    if !needed.is_finite() || needed >= 1.0 {
        return Readiness::Unsteady;
    }
    let needed_days = HALF_CONFIDENCE_DAYS * needed / (1.0 - needed);
    let more_ms = ((needed_days - days) * DAY_MS as f64).ceil() as i64;
    Readiness::Collecting {
        more_ms: more_ms.max(HOUR_MS / 60),
    }
}

impl Headroom {
    /// The ETA when the forecast behind it is confident enough to act on.
    pub fn credible_eta_ms(&self) -> Option<i64> {
        self.eta_ms
            .filter(|_| self.confidence >= MIN_FORECAST_CONFIDENCE)
    }
}

/// The headroom of `resource` given its `analysis` and upper `limit`.
pub fn headroom(resource: &str, analysis: &Analysis, limit: f64) -> Headroom {
    let usable = limit.is_finite() && limit > 0.0;
    let eta = usable.then(|| forecast::eta(analysis, limit)).flatten();
    Headroom {
        resource: resource.to_owned(),
        current: analysis.current,
        limit,
        utilization: if usable {
            analysis.current / limit
        } else {
            0.0
        },
        trend_per_day: analysis
            .trend
            .as_ref()
            .filter(|t| t.significant)
            .map(|t| t.slope_per_day),
        eta_ms: eta.as_ref().map(|e| e.t_ms),
        eta_earliest_ms: eta.as_ref().map(|e| e.earliest_ms),
        eta_latest_ms: eta.as_ref().and_then(|e| e.latest_ms),
        confidence: confidence(analysis),
        samples: analysis.samples,
        history_ms: analysis.span_ms,
    }
}

/// How much to trust the figures, in 0..1, in the spirit of the Kubernetes
/// VPA recommender (confidence grows with the history behind it):
///
/// `confidence = d / (d + 7) × coverage × 1 / (1 + cv)`
///
/// - `d`: days of history (`span_ms / DAY_MS`);
/// - `coverage`: share of the hours in the span that hold at least one
///   sample (approximated as `min(1, samples / hours)`, so gaps count
///   against it whatever the scrape interval);
/// - `cv`: residual noise relative to the level, `residual_sd / |current|`
///   (infinite when the level is 0 and the residuals are not).
///
/// No samples give 0.
pub fn confidence(analysis: &Analysis) -> f64 {
    if analysis.samples == 0 {
        return 0.0;
    }
    let days = analysis.span_ms.max(0) as f64 / DAY_MS as f64;
    let history = days / (days + HALF_CONFIDENCE_DAYS);
    let hours = (analysis.span_ms.max(0) / HOUR_MS + 1) as f64;
    let coverage = (analysis.samples as f64 / hours).min(1.0);
    let cv = if analysis.residual_sd <= 0.0 {
        0.0
    } else if analysis.current == 0.0 {
        f64::INFINITY
    } else {
        analysis.residual_sd / analysis.current.abs()
    };
    (history * coverage / (1.0 + cv)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::trend::Trend;

    fn analysis(days: i64, samples: usize, residual_sd: f64, trend: Option<Trend>) -> Analysis {
        Analysis {
            samples,
            span_ms: days * DAY_MS,
            last_ms: 1_800_000_000_000,
            current: 100.0,
            season: None,
            changepoints: Vec::new(),
            trend,
            residual_sd,
        }
    }

    fn growth() -> Trend {
        Trend {
            slope_per_day: 5.0,
            slope_low_per_day: 4.0,
            slope_high_per_day: 6.0,
            level_at_last: 100.0,
            p_value: 0.001,
            significant: true,
            samples: 720,
        }
    }

    #[test]
    fn confidence_grows_with_history() {
        let week = confidence(&analysis(7, 7 * 24, 0.0, None));
        let month = confidence(&analysis(30, 30 * 24, 0.0, None));
        assert!((week - 0.5).abs() < 0.01, "{week}");
        assert!(month > week && month < 1.0);
    }

    #[test]
    fn confidence_drops_with_gaps_and_noise() {
        let dense = confidence(&analysis(30, 30 * 24, 0.0, None));
        let sparse = confidence(&analysis(30, 30 * 6, 0.0, None));
        let noisy = confidence(&analysis(30, 30 * 24, 100.0, None));
        assert!((sparse - dense / 4.0).abs() < 0.01);
        assert!((noisy - dense / 2.0).abs() < 0.01);
        assert_eq!(confidence(&analysis(0, 0, 0.0, None)), 0.0);
    }

    #[test]
    fn a_steady_young_series_needs_about_42_hours_before_a_forecast() {
        // h(d) × 1 = 0.2 at d = 7 × 0.25 = 1.75 days.
        let fifteen_minutes = 15 * 60_000;
        let a = Analysis {
            span_ms: fifteen_minutes,
            samples: 60,
            ..analysis(0, 60, 0.0, None)
        };
        let Readiness::Collecting { more_ms } = readiness(confidence(&a), a.span_ms) else {
            panic!("a young series is collecting");
        };
        let expected = 42 * HOUR_MS - fifteen_minutes;
        assert!(
            (more_ms - expected).abs() < 60_000,
            "{more_ms} vs {expected}"
        );
        assert_eq!(
            readiness(0.0, 0),
            Readiness::Collecting {
                more_ms: 42 * HOUR_MS
            }
        );
    }

    #[test]
    fn at_the_floor_a_forecast_is_ready_and_the_estimate_lands_there() {
        assert_eq!(readiness(MIN_FORECAST_CONFIDENCE, DAY_MS), Readiness::Ready);
        // Half coverage: the floor needs h(d) = 0.4, d = 7 × 0.4 / 0.6 days.
        let a = analysis(1, 12, 0.0, None);
        let Readiness::Collecting { more_ms } = readiness(confidence(&a), a.span_ms) else {
            panic!("collecting");
        };
        let at = Analysis {
            span_ms: a.span_ms + more_ms,
            samples: ((a.span_ms + more_ms) / HOUR_MS + 1) as usize / 2,
            ..a
        };
        assert!(
            (confidence(&at) - MIN_FORECAST_CONFIDENCE).abs() < 0.01,
            "{}",
            confidence(&at)
        );
    }

    #[test]
    fn noise_that_history_cannot_outweigh_is_unsteady() {
        // cv = 5: the quality factor is 1/6, under the floor of 0.2.
        let a = analysis(3, 72, 500.0, None);
        assert_eq!(readiness(confidence(&a), a.span_ms), Readiness::Unsteady);
    }

    #[test]
    fn headroom_reports_utilisation_growth_and_eta() {
        let a = analysis(30, 720, 2.0, Some(growth()));
        let h = headroom("postgres.connections", &a, 200.0);
        assert_eq!(h.resource, "postgres.connections");
        assert!((h.utilization - 0.5).abs() < 1e-12);
        assert_eq!(h.trend_per_day, Some(5.0));
        assert_eq!(h.eta_ms, Some(a.last_ms + 20 * DAY_MS));
        let earliest = h.eta_earliest_ms.unwrap_or_default() - a.last_ms;
        assert!((earliest - DAY_MS * 100 / 6).abs() <= 1, "{earliest}");
        assert_eq!(h.eta_latest_ms, Some(a.last_ms + 25 * DAY_MS));
        assert_eq!((h.samples, h.history_ms), (720, 30 * DAY_MS));
    }

    #[test]
    fn headroom_without_growth_has_no_eta_and_no_trend() {
        let a = analysis(30, 720, 2.0, None);
        let h = headroom("redis.memory", &a, 1000.0);
        assert_eq!((h.trend_per_day, h.eta_ms), (None, None));
    }

    #[test]
    fn a_non_positive_limit_gives_no_utilisation_or_eta() {
        let a = analysis(30, 720, 2.0, Some(growth()));
        let h = headroom("disk", &a, 0.0);
        assert_eq!((h.utilization, h.eta_ms), (0.0, None));
    }
}
